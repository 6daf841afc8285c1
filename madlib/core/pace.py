"""Say so early when a run is on pace to take hours.

A run's duration depends on sizes, the machine and the device in ways no formula
in a config captures, so madlib measures instead of guessing: the loop (per
generation), the sweep (per point) and the transformer's training (per step) keep a
:class:`Pace`, and as soon as the finished units put the remaining time above the
threshold (an hour; ``MADLIB_LONG_RUN_S`` changes it, ``inf`` silences it), one line
goes to standard error, once, while the user can still stop and pick smaller sizes::

    madlib: note: lm (transformer) is on pace to take about 3 h 10 min more (1 of 31 generations
    in 6 min 8 s); finished generations are kept: Ctrl-C stops it and the same command resumes

Memory is different: it is estimated from the config and a run that cannot fit is
refused before it starts (see ``madlib.experiments.check_memory``).
"""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from .params import parse_float

__all__ = ["Pace", "Progress", "long_run_seconds", "quiet", "reporting", "format_duration", "PROGRESS_EVERY_S"]

_QUIET = 0
_REPORT_EVERY: float | None = None
#: How often a long run without a progress bar reports its pace (see :func:`reporting`).
PROGRESS_EVERY_S = 300.0
_MIN_ELAPSED_S = 10.0  # judge the pace only after this much work


def long_run_seconds() -> float:
    """The threshold in seconds: ``MADLIB_LONG_RUN_S`` (a positive number or ``inf``), else 3600."""
    raw = os.environ.get("MADLIB_LONG_RUN_S", "").strip()
    if not raw:
        return 3600.0
    try:
        value = parse_float("MADLIB_LONG_RUN_S", raw)  # ASCII decimal or inf: not 1_000, not Unicode digits
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ValueError(f"MADLIB_LONG_RUN_S must be a positive number of seconds or 'inf', got {raw!r}")
    return value


def format_duration(seconds: float) -> str:
    """``3 h 10 min``, ``6 min 8 s``, ``42 s``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@contextmanager
def quiet() -> Iterator[None]:
    """No pace notes inside (a sweep point's inner loop: the sweep keeps the pace of its points)."""
    global _QUIET
    _QUIET += 1
    try:
        yield
    finally:
        _QUIET -= 1


_PENDING: str | None = None


@contextmanager
def reporting(every: float | None, announcement: str | None = None) -> Iterator[None]:
    """Inside, every :class:`Pace` without a bar prints a progress line with the time left at most every
    ``every`` seconds (None: never): how a long run shows its progress in a log or a notebook built unattended.
    ``announcement`` (a run's estimate) is printed when the first :class:`Pace` starts, that is when the work
    starts, after the run has checked its configuration (a refused run prints its one error line only)."""
    global _REPORT_EVERY, _PENDING
    saved, _REPORT_EVERY = _REPORT_EVERY, every
    pending, _PENDING = _PENDING, announcement
    try:
        yield
    finally:
        _REPORT_EVERY, _PENDING = saved, pending


class Pace:
    """Counts finished units of a run and notes once, on standard error, when it is on pace to take hours.

    what: names the run (``"lm (transformer)"``); total: the units still to do when the
    run starts (a resumed run counts only the rest); unit: their name, singular;
    resumable: whether finished units survive an interruption (checkpoints, a point cache).
    """

    def __init__(self, what: str, total: int, unit: str, *, resumable: bool = False,
                 clock: Callable[[], float] | None = None, stream: TextIO | None = None,
                 threshold: float | None = None, parallel: int = 1):
        self.what, self.total, self.unit, self.resumable = what, max(0, int(total)), unit, resumable
        # units in flight at once (a sweep's workers): they finish together at first, so the pace is judged
        # only after that many have finished (one finished unit of two workers' first pair is not the pace)
        self.parallel = max(1, int(parallel))
        self.clock, self.stream = clock or time.monotonic, stream
        self.threshold = long_run_seconds() if threshold is None else float(threshold)
        self.done, self.start, self.said = 0, self.clock(), _QUIET > 0 or math.isinf(self.threshold)
        global _PENDING
        if _PENDING is not None:
            print(_PENDING, file=self.stream or sys.stderr, flush=True)
            _PENDING = None
        self.bar = None  # a tqdm bar that :meth:`tick` advances (see :class:`Progress`)
        self.report_every = _REPORT_EVERY if _QUIET == 0 else None
        self.reported = self.start

    def remaining(self) -> float | None:
        """Seconds still to go at the pace so far (None before the first unit)."""
        if self.done == 0:
            return None
        return (self.clock() - self.start) / self.done * (self.total - self.done)

    def tick(self, units: int = 1) -> None:
        self.done += units
        if self.bar is not None:
            self.bar.update(units)
            if self.done >= self.total:
                self.bar.close()
        if self.report_every is not None and self.bar is None and self.done < self.total \
                and self.clock() - self.reported >= self.report_every:
            self.reported = self.clock()
            print(f"madlib: progress: {self.what}: {self.done} of {self.total} {self.unit}s, about "
                  f"{format_duration(self.remaining() or 0)} left", file=self.stream or sys.stderr, flush=True)
        if self.said or self.done >= self.total:
            return
        if self.clock() - self.start < _MIN_ELAPSED_S or self.done < self.parallel:  # warm-up, not pace
            return
        remaining = self.remaining()
        if remaining is not None and remaining > self.threshold:
            self.said = True
            plural = "" if self.total == 1 else "s"
            kept = (f"; finished {self.unit}s are kept: Ctrl-C stops it and the same command resumes"
                    if self.resumable else "; Ctrl-C stops it")
            print(f"madlib: note: {self.what} is on pace to take about {format_duration(remaining)} more "
                  f"({self.done} of {self.total} {self.unit}{plural} in {format_duration(self.clock() - self.start)})"
                  f"{kept}", file=self.stream or sys.stderr, flush=True)


class Progress:
    """How a run shows its progress: ``desc`` names it, ``bar`` draws a tqdm bar; :meth:`start` makes its
    :class:`Pace` once the number of units is known (the loop, the sweep and training call it)."""

    def __init__(self, desc: str | None = None, *, bar: bool = False):
        self.desc, self.bar = desc, bool(bar)

    def start(self, total: int, unit: str, *, done: int = 0, resumable: bool = False,
              default_desc: str = "run") -> "Pace":
        """A :class:`Pace` for ``total`` units of which ``done`` are finished already (a resumed run)."""
        pace = Pace(self.desc or default_desc, total - done, unit, resumable=resumable)
        if self.bar:
            from tqdm.auto import tqdm

            pace.bar = tqdm(total=total, initial=done, desc=self.desc or default_desc, leave=False)
        return pace
