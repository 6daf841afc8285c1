"""Every numeric parameter of every experiment, through hostile values: run correctly, or refused in one line.

The spec (``madlib.core.params``) decides without running anything; a value it accepts is run for real
through the command line and must give its JSON summary (none of the values below is accepted today).
"""
import json

import pytest

from madlib.cli import main as cli_main
from madlib.experiments import list_experiments, resolve_config

HOSTILE = ["nan", "inf", "-1e308", "1e308", "true", "\u0663", "12345678901234567890"]
NUMERIC = ("int", "float", "ints", "floats")


def _cases():
    for name, exp in list_experiments().items():
        for key, spec in exp.params.items():
            if spec.kind not in NUMERIC:
                continue
            # set what makes the parameter apply (components needs family=mixture)
            context = {condition: allowed[0] for condition, allowed in spec.applies_when}
            values = HOSTILE + ([f"[{v}]" for v in HOSTILE] if spec.kind in ("ints", "floats") else [])
            yield name, key, context, values


def test_every_numeric_parameter_runs_or_is_refused_in_one_line(capsys):
    cases = list(_cases())
    assert len(cases) > 100  # every experiment's numbers, not a sample
    accepted = []
    for name, key, context, values in cases:
        for value in values:
            argv = ["run", name, *(f"{k}={v}" for k, v in context.items()), f"{key}={value}"]
            try:
                resolve_config(name, {**context, key: value})
            except ValueError:
                code = cli_main(argv)
                out = capsys.readouterr()
                assert code == 2 and out.out == "", (argv, out)
                assert out.err.count("\n") == 1 and out.err.startswith("madlib: error: "), (argv, out.err)
                assert key in out.err, (argv, out.err)
                continue
            accepted.append(argv)
    for argv in accepted:  # a value the spec lets through must then run
        code = cli_main(argv)
        out = capsys.readouterr()
        assert code == 0 and json.loads(out.out)["experiment"] == argv[1], (argv, out.err[-2000:])


@pytest.mark.parametrize("value", HOSTILE)
def test_the_python_api_refuses_them_too(value):
    """The same values as Python objects (float('nan'), True, 10**20, ...) through run_experiment's resolver."""
    python = {"nan": float("nan"), "inf": float("inf"), "-1e308": -1e308, "1e308": 1e308, "true": True,
              "\u0663": "\u0663", "12345678901234567890": 12345678901234567890}[value]
    for name, exp in list_experiments().items():
        for key, spec in exp.params.items():
            if spec.kind in ("int", "float"):
                context = {condition: allowed[0] for condition, allowed in spec.applies_when}
                with pytest.raises(ValueError, match=key):
                    resolve_config(name, {**context, key: python})
