"""madlib.core.pace: a run on pace to take hours says so once, early; short runs and sweep points stay silent."""
import io

import pytest

from madlib.core import pace as pace_module
from madlib.core.pace import Pace, format_duration, long_run_seconds, quiet


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_long_run_is_noted_once_after_the_first_units():
    clock, out = Clock(), io.StringIO()
    pace = Pace("lm (transformer)", 31, "generation", resumable=True, clock=clock, stream=out, threshold=3600)
    clock.now = 368.0  # generation 0 took 6 min 8 s: 30 more take about 3 h 4 min
    pace.tick()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.startswith("madlib: note: lm (transformer) is on pace to take about 3 h 4 min")
    assert "(1 of 31 generations in 6 min 8 s)" in text and "the same command resumes" in text
    clock.now = 800.0
    pace.tick()
    assert out.getvalue() == text  # once


def test_short_runs_warm_up_and_quiet_sweep_points_say_nothing():
    clock, out = Clock(), io.StringIO()
    pace = Pace("gmm", 100, "generation", clock=clock, stream=out, threshold=3600)
    for _ in range(99):
        clock.now += 1.0  # 100 s in all
        pace.tick()
    assert out.getvalue() == ""
    # one slow first unit inside the warm-up window is not judged yet
    clock, out = Clock(), io.StringIO()
    pace = Pace("train", 10_000, "step", clock=clock, stream=out, threshold=3600)
    clock.now = 5.0
    pace.tick()
    assert out.getvalue() == ""
    clock.now = 12.0
    pace.tick()
    assert "Ctrl-C stops it" in out.getvalue() and "resumes" not in out.getvalue()
    with quiet():
        clock, out = Clock(), io.StringIO()
        pace = Pace("point", 10, "generation", clock=clock, stream=out, threshold=1)
        clock.now = 100.0
        pace.tick()
    assert out.getvalue() == ""


def test_threshold_from_the_environment(monkeypatch):
    monkeypatch.setenv("MADLIB_LONG_RUN_S", "60")
    assert long_run_seconds() == 60.0
    monkeypatch.setenv("MADLIB_LONG_RUN_S", "inf")
    assert Pace("x", 10, "step").said  # silenced
    for bad in ("0", "-5", "soon", "nan"):
        monkeypatch.setenv("MADLIB_LONG_RUN_S", bad)
        with pytest.raises(ValueError, match="MADLIB_LONG_RUN_S"):
            long_run_seconds()
    assert [format_duration(s) for s in (42, 368, 11040)] == ["42 s", "6 min 8 s", "3 h 4 min"]


def test_the_loop_notes_a_long_run(monkeypatch, capsys):
    from madlib.core.loop import run_loop
    from madlib.core.sources import DistributionSource
    from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler

    ticks = iter(range(0, 10_000, 20))  # every clock reading 20 s later: 11 generations look like minutes each
    monkeypatch.setattr(pace_module.time, "monotonic", lambda: float(next(ticks)))
    monkeypatch.setenv("MADLIB_LONG_RUN_S", "100")
    run_loop(GaussianFamily(), DistributionSource(gaussian_source_sampler(), 2), generations=10, n_real=5, seed=0)
    err = capsys.readouterr().err
    assert err.count("madlib: note:") == 1 and "generations" in err
