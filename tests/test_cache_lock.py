"""Two processes asking for the same uncached result (two chapters of a parallel book build): one computes
it, the other waits for it and reads it, instead of computing it a second time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SLOW = textwrap.dedent('''
    import time
    from madlib.experiments import ExperimentResult, experiment

    @experiment("slow-lock-test", defaults={"seed": 0})
    def run_slow(config, ctx):
        """Takes two seconds."""
        time.sleep(2)
        return ExperimentResult(summary={"started": time.time()})
''')
RUN = textwrap.dedent('''
    import json, slowexp
    from madlib.experiments import run_experiment
    result = run_experiment("slow-lock-test")
    print(json.dumps({"cached": result.cached, "started": result.summary["started"]}))
''')


@pytest.mark.skipif(os.name == "nt", reason="no flock on Windows: the lock is a no-op there")
def test_the_second_process_waits_for_the_first_and_reads_its_result(tmp_path: Path) -> None:
    (tmp_path / "slowexp.py").write_text(SLOW)
    env = {**os.environ, "MADLIB_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    runs = [subprocess.Popen([sys.executable, "-c", RUN], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    out = [json.loads(run.communicate(timeout=120)[0].strip().splitlines()[-1]) for run in runs]
    assert sorted(o["cached"] for o in out) == [False, True]
    assert out[0]["started"] == out[1]["started"]  # one computation, read by both
    assert not list((tmp_path / "cache").rglob("*.lock"))  # no lock file is left behind
