"""SIGKILL in the middle of a sweep on two worker processes (the scoreboard's, and a bare one): the rerun
computes only the points that were missing and ends identical to a run that was never interrupted."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from madlib import run_experiment
from madlib.core.state import loads_json
from madlib.remedies import REMEDY_KEYS
from madlib.core.sweep import point_seed

REPO = Path(__file__).resolve().parents[1]
SCOREBOARD = {"families": "gaussian,cats", "generations": 30, "replicates": 60, "seed": 3}


def _start(argv: list[str], cache: Path, **env) -> subprocess.Popen:
    environment = dict(os.environ, MADLIB_CACHE=str(cache), MADLIB_SCALE="default", MADLIB_WORKERS="2", **env)
    return subprocess.Popen(argv, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # its own process group: the workers die with it


def _points(folder: Path) -> list[Path]:
    """The cached points below ``folder`` (a result's summary and manifest are JSON too)."""
    return [p for p in folder.rglob("*.json") if "points" in p.relative_to(folder.parent).parts]


def _kill_after(process: subprocess.Popen, folder: Path, at_least: int, timeout: float = 180) -> None:
    """SIGKILL the run (and its workers) as soon as ``at_least`` points are cached."""
    deadline = time.monotonic() + timeout
    while len(_points(folder)) < at_least:
        assert process.poll() is None, f"the run ended before it was killed: {process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "no point was cached in time"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def _identity(folder: Path) -> dict[str, tuple[int, int]]:
    """Each cached point file's inode and modification time: a recomputed point is a new file."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _points(folder)}


def test_a_scoreboard_killed_on_two_workers_resumes_only_what_was_missing(tmp_path):
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "madlib", "run", "scoreboard", *(f"{k}={v}" for k, v in SCOREBOARD.items())]
    run = _start(argv, cache)
    points = cache / "scoreboard"
    _kill_after(run, points, at_least=2)
    assert run.returncode == -signal.SIGKILL
    before = _identity(points)
    total = 2 * len(REMEDY_KEYS)  # two toy families, every remedy of the registry
    assert 2 <= len(before) < total, len(before)

    resumed = _start(argv, cache)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-2000:]
    after = _identity(points)
    assert len(after) == total and all(after[name] == ident for name, ident in before.items())  # not recomputed

    straight = run_experiment("scoreboard", use_cache=False, scale="default", **SCOREBOARD)  # never interrupted
    summary = json.loads(out)
    assert summary["families"] == straight.summary["families"] and not summary["cached"]
    folder = Path(summary["cache_dir"])
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "table.parquet"), straight.table)


SWEEP = """
import json, sys, time
from madlib.core.sweep import sweep

def point(x, seed):
    time.sleep(0.15)
    return {"x": x, "value": (seed % 1000) / 7 + x}

print(json.dumps(sweep(point, [{"x": x} for x in range(16)], seed=11, backend="processes", workers=2,
                       cache_dir=sys.argv[1], key="bare-sweep")))
"""


def test_a_bare_sweep_killed_on_two_workers_resumes_only_what_was_missing(tmp_path):
    cache = tmp_path / "points"
    argv = [sys.executable, "-c", SWEEP, str(cache)]
    _kill_after(_start(argv, tmp_path / "cache"), cache, at_least=3)
    before = _identity(cache)
    assert 3 <= len(before) < 16
    resumed = _start(argv, tmp_path / "cache")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    after = _identity(cache)
    assert len(after) == 16 and all(after[name] == ident for name, ident in before.items())
    straight = [{"x": x, "value": (point_seed(11, {"x": x}) % 1000) / 7 + x} for x in range(16)]
    assert json.loads(out) == straight  # what an uninterrupted sweep returns: each point from its own seed
    entries = [loads_json(p.read_text()) for p in _points(cache)]
    assert sorted(e["result"]["x"] for e in entries) == list(range(16))  # plain JSON records, one per point
