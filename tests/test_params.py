"""The declarative parameter specs: every parameter of every experiment has one, and it is enforced."""
import pytest

from madlib.cli import main as cli_main
from madlib.core.config import SCALES
from madlib.core.params import Param, check_config, choice, integer, number, ref
from madlib.experiments import cache_key, list_experiments, resolve_config


def test_every_parameter_of_every_experiment_has_a_spec_and_every_preset_passes_it():
    for name, exp in list_experiments().items():
        missing = [key for key in exp.defaults if key not in exp.params]
        assert not missing, f"{name}: parameters without a spec {missing}"
        for key, spec in exp.params.items():
            assert isinstance(spec, Param)
            if spec.kind in ("int", "float", "ints", "floats"):  # every size and number has both bounds
                assert spec.minimum is not None and spec.maximum is not None, (name, key)
        for scale in SCALES:
            resolve_config(name, scale=scale)
            for preset in exp.presets:
                resolve_config(name, scale=scale, preset=preset)


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0660\u0660", "1e308", "1e3", "2.0", "true", "0x10", " ", "+-1"])
def test_integers_are_ascii_digits_only(text):
    with pytest.raises(ValueError, match=r"n_real must be an integer \(ASCII digits\)"):
        resolve_config("gaussian", {"n_real": text})


def test_integers_are_exact_beyond_float_precision():
    assert resolve_config("gaussian", {"seed": "9007199254740993"})["seed"] == 9007199254740993
    assert resolve_config("gaussian", {"seed": 2**63 - 1})["seed"] == 2**63 - 1
    with pytest.raises(ValueError, match="seed must be an integer in"):
        resolve_config("gaussian", {"seed": str(2**63)})
    with pytest.raises(ValueError, match="replicates must be an integer"):
        resolve_config("gaussian", {"replicates": True})  # a bool is not an integer, from Python either


@pytest.mark.parametrize("name, key, value", [
    ("regression", "noise_std", "inf"), ("cat-hues", "spread", "inf"), ("gaussian", "sampling_bias", "nan"),
    ("lm", "temperature", "-inf"), ("scoreboard", "threshold", "1e308"), ("gmm", "keep_fraction", "0"),
    ("zipf-survival", "max_count", "-3"), ("lm", "test_blocks", "100001"), ("mad-phase", "n_real", "[20, 1e308]"),
    ("mad-phase", "synthetic_ratio", "[NaN]"), ("zipf-tails", "clean_shares", "[0.1, Infinity]"),
])
def test_non_finite_and_out_of_range_values_are_refused_naming_the_range(name, key, value):
    with pytest.raises(ValueError, match=rf"{key}(\[\d+\])? must be .*(in|ASCII)"):
        resolve_config(name, {key: value})


def test_a_parameter_that_does_not_apply_is_refused_and_never_changes_the_key():
    with pytest.raises(ValueError, match=r"components applies only when family is mixture \(here family='gaussian'\)"):
        resolve_config("cat-hues", {"family": "gaussian", "components": "-3"})
    with pytest.raises(ValueError, match="d_model applies only when model is transformer"):
        resolve_config("lm", {"model": "ngram", "d_model": 64})
    # the default value, given explicitly, is the same run: accepted, same configuration and key
    plain = resolve_config("cat-hues", {"family": "gaussian"})
    assert resolve_config("cat-hues", {"family": "gaussian", "components": 2}) == plain
    assert cache_key("cat-hues", plain) == cache_key("cat-hues", resolve_config("cat-hues", {"family": "gaussian"}))
    # where it applies it is checked and part of the key
    mixture = resolve_config("cat-hues", {"family": "mixture", "components": 3})
    assert mixture["components"] == 3
    with pytest.raises(ValueError, match=r"components must be an integer in \[1, 50\]"):
        resolve_config("cat-hues", {"family": "mixture", "components": "-3"})


def test_applies_when_expresses_workflow_options():
    """What the lead's workflow options (mix_original, reset_every) need: a parameter of one workflow only."""
    params = {"workflow": choice("replace", "mix", "reset"),
              "reset_every": integer(1, 10**6, applies_when={"workflow": ("reset",)}),
              "mix_original": number(0, 1, applies_when={"workflow": ("mix",)}),
              "n_real": integer(2, 100), "blue": integer(1, ref("n_real", -1))}
    defaults = {"workflow": "replace", "reset_every": 10, "mix_original": 0.5, "n_real": 10, "blue": 1}
    assert check_config("x", params, defaults, {"workflow": "reset", "reset_every": "3"})["reset_every"] == 3
    with pytest.raises(ValueError, match="reset_every applies only when workflow is reset"):
        check_config("x", params, defaults, {"workflow": "mix", "reset_every": 3})
    with pytest.raises(ValueError, match=r"blue must be an integer in \[1, n_real - 1\] \(here \[1, 9\]\)"):
        check_config("x", params, defaults, {"blue": 10})


def test_list_shows_every_range(capsys):
    assert cli_main(["list"]) == 0
    out = capsys.readouterr().out
    assert "spread=6.0" in out and "a number in [0, 180]" in out
    assert "components=2" in out and "(only when family is mixture)" in out
    assert "seed=0" in out and "9,223,372,036,854,775,807" in out
