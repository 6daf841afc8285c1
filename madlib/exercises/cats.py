"""Checker for chapter 2's "implement it" exercise: one Wright-Fisher step.

The learner writes ``wright_fisher_step(counts, rng) -> new_counts`` for a batch of populations
(``counts`` of shape (runs, K), each row summing to its population M): fit the category shares
and draw M new items from the fit. :func:`check_wright_fisher_step` compares the output law
with the library's (:func:`madlib.simulations.cats.wright_fisher_step`: a multinomial, so each
count keeps its mean and has the binomial variance M p (1 - p)) and names the usual mistakes:
shares instead of counts, a wrong shape, a population that changes size, no randomness,
drawing from the original shares instead of the current ones, a sharpened (biased) draw, the
wrong number of draws.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.seeding import child_seed
from ..experiments import run_experiment
from ..simulations.cats import wright_fisher_step as reference_wright_fisher_step
from . import CheckResult, run_learner

EXERCISE = "one Wright-Fisher step"
_RUNS = 20000


def _counts(out, shape: tuple[int, int]) -> np.ndarray | str:
    """The learner's output as a float array of ``shape``, or what is wrong with it."""
    try:
        array = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        return f"return an array of counts; got {type(out).__name__}"
    if array.shape != shape:
        return (f"wrong shape: got {array.shape}, expected {shape} (one row of K counts per population); "
                "draw each row from its own shares")
    if not np.all(np.isfinite(array)):
        return "the counts hold NaN or infinite values"
    return array


def check_wright_fisher_step(fn: Callable, *, seed: int = 0) -> CheckResult:
    """Check a learner's ``wright_fisher_step(counts, rng)`` against the multinomial law; never raises."""
    rng = np.random.default_rng(seed)
    # 1. shape and type on a small batch of different populations
    small = np.array([[90, 10], [50, 50], [199, 1]])
    out, failed = run_learner(EXERCISE, fn, small.copy(), np.random.default_rng(seed))
    if failed is not None:  # a CheckResult is falsy when it fails
        return failed
    new = _counts(out, small.shape)
    if isinstance(new, str):
        return CheckResult(EXERCISE, False, [new])
    if np.allclose(new.sum(axis=1), 1.0):
        return CheckResult(EXERCISE, False, ["each row sums to 1: return the new *counts* (M items drawn from "
                                             "the fitted shares), not the shares"])
    if np.any(new < 0) or not np.allclose(new, np.round(new)):
        return CheckResult(EXERCISE, False, ["counts must be non-negative whole numbers: draw items, do not "
                                             "scale shares"])
    if not np.array_equal(new.sum(axis=1), small.sum(axis=1)):
        return CheckResult(EXERCISE, False, [
            f"the population size changed (rows sum to {new.sum(axis=1).astype(int).tolist()}, expected "
            f"{small.sum(axis=1).tolist()}): Wright-Fisher draws exactly M items, M = the row's total "
            "(a multinomial, not independent Poisson or binomial draws per category)"])
    again, _ = run_learner(EXERCISE, fn, small.copy(), np.random.default_rng(seed))
    if isinstance(_counts(again, small.shape), str) or not np.array_equal(np.asarray(again), np.asarray(out)):
        return CheckResult(EXERCISE, False, ["two calls with the same `rng` seed gave different results: "
                                             "draw with the `rng` argument (rng.multinomial)"])
    # 2. the law: many populations of M = 100, blue counts spread over 5..60
    M = 100
    blue = rng.integers(5, 61, _RUNS)
    counts = np.stack([M - blue, blue], axis=1)
    out, failed = run_learner(EXERCISE, fn, counts.copy(), np.random.default_rng(child_seed(seed, "learner")))
    if failed is not None:
        return failed
    new = _counts(out, counts.shape)
    if isinstance(new, str):
        return CheckResult(EXERCISE, False, [new])
    change = new[:, 1] - blue
    if np.all(change == 0):
        return CheckResult(EXERCISE, False, ["the counts never change: the next generation must be *drawn* "
                                             "at random from the fitted shares, not copied"])
    p = blue / M
    # E[new blue] = blue: the fit is unbiased. A draw from fixed (original) shares ignores the current counts.
    slope = float(np.polyfit(blue, new[:, 1], 1)[0])
    if abs(slope) < 0.3:
        return CheckResult(EXERCISE, False, ["the new counts do not depend on the current ones: draw from the "
                                             "shares of *this* generation (counts / M), not the original ones"])
    bias = float(change.mean())
    se = float(change.std(ddof=1) / np.sqrt(change.size))
    if abs(bias) > 5 * se:
        return CheckResult(EXERCISE, False, [
            f"the blue count moves by {bias:+.2f} on average (standard error {se:.2f}); a fitted categorical "
            "model is unbiased, E[new count] = old count. Did you sharpen or round the shares?"])
    # Var[new blue | blue] = M p (1 - p) for a multinomial (binomial margin).
    ratio = float((change**2).mean() / (M * p * (1 - p)).mean())
    if abs(ratio - 1) > 0.1:
        return CheckResult(EXERCISE, False, [
            f"the counts spread {ratio:.2f} times as much as drawing M items would (variance M p (1-p)): "
            "draw exactly M items from the shares"])
    return CheckResult(EXERCISE, True, [
        f"E[change in blue] = {bias:+.3f} +- {se:.3f} (theory 0)",
        f"variance / (M p (1-p)) = {ratio:.3f} (theory 1)"])


# -- "break it" exercises: the learner proposes settings, the checker runs the loop and judges ----------

BREAK_BIAS = "break fairness: a mild sampling bias that loses blue in 99% of the worlds"
BREAK_KEEP_REAL = "break keep-real: a kept share of real cats too small to keep blue"
_WORLDS = 2000


def _fraction(exercise: str, name: str, value, low: float, high: float) -> float | CheckResult:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low < value <= high:
        return float(value)
    return CheckResult(exercise, False, [f"{name} must be a number in ({low:g}, {high:g}], got {value!r}"])


def check_bias_always_loses(sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 2): without bias blue is lost in 1 - p = 90% of the worlds. Find the mildest
    ``sampling_bias`` (at least 0.95) at which 100 cats, 10 blue, lose blue in at least 99% of 2,000 worlds
    within 100 generations. Runs the ``cats`` experiment; never raises."""
    lam = _fraction(BREAK_BIAS, "sampling_bias", sampling_bias, 0.0, 1.0)
    if isinstance(lam, CheckResult):
        return lam
    result = run_experiment("cats", n_real=100, blue=10, sampling_bias=lam, generations=100, replicates=_WORLDS,
                            seed=seed, progress=False)
    lost, se = float(result.summary["p_blue_lost"]), float(result.summary["p_blue_lost_se"])
    messages = [f"lambda = {lam:g}: blue lost within 100 generations in {lost:.3f} +- {se:.3f} of {_WORLDS} worlds "
                f"(no bias: about 0.9, and 1 - p = 0.9 eventually)"]
    if lost < 0.99:
        messages.append("not broken yet: a smaller lambda sharpens every generation towards yellow")
        return CheckResult(BREAK_BIAS, False, messages)
    if lam < 0.95:
        messages.append(f"broken, but lambda = {lam:g} is far from mild: find one of at least 0.95")
        return CheckResult(BREAK_BIAS, False, messages)
    messages.append("broken: a bias too small to see in one generation turns a fair martingale into a sure loss, "
                    "because it pushes the same way every generation")
    return CheckResult(BREAK_BIAS, True, messages)


def check_keep_real_breaks(kept_real_fraction, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 2): keeping 10% real cats keeps blue nearly always present. Find a kept fraction
    (above 0) at which 100 cats, 10 blue, still lack blue in at least 20% of the (world, generation) pairs
    over 300 generations. Never raises."""
    f = _fraction(BREAK_KEEP_REAL, "kept_real_fraction", kept_real_fraction, 0.0, 0.5)
    if isinstance(f, CheckResult):
        return f
    kept = int(round(f * 100))
    if kept == 0:
        return CheckResult(BREAK_KEEP_REAL, False, [f"kept_real_fraction = {f:g} keeps round({f:g} * 100) = 0 real "
                                                     "cats: that is no remedy at all; keep at least one real cat"])
    result = run_experiment("cats", n_real=100, blue=10, kept_real_fraction=f, generations=300,
                            replicates=_WORLDS, seed=seed, progress=False)
    absent = float(result.table["absent"].iloc[1:].mean())
    messages = [f"keeping {kept} real cat(s) per generation ({0.1 * kept:.1f} blue on average): blue absent in "
                f"{absent:.1%} of the (world, generation) pairs over 300 generations, {_WORLDS} worlds"]
    if absent >= 0.2:
        messages.append("broken: the kept real cats are an immigration of blue; when f M p, the blue cats it "
                        "brings per generation, is well below 1, drift wins between arrivals")
        return CheckResult(BREAK_KEEP_REAL, True, messages)
    messages.append("not broken yet: keep fewer real cats (the blue ones arrive at f M p per generation)")
    return CheckResult(BREAK_KEEP_REAL, False, messages)


__all__ = ["BREAK_BIAS", "BREAK_KEEP_REAL", "EXERCISE", "check_bias_always_loses", "check_keep_real_breaks",
           "check_wright_fisher_step", "reference_wright_fisher_step"]
