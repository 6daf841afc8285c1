"""Checker for chapter 1's "implement it" exercise: one generation of the Gaussian recursion.

The learner writes ``one_generation(mu, sigma, n, rng) -> (new_mu, new_sigma)`` for a batch of
runs (``mu`` and ``sigma`` of shape (runs,)): draw n samples per run from the *fitted*
N(mu, sigma^2) and refit mean and std as the essay does (numpy's default ``ddof=0``).
:func:`check_one_generation` compares its output law with the library's own
(:func:`madlib.simulations.gaussian.one_generation` and the chi-square law of
:mod:`madlib.theory.gaussian`) and names the usual mistakes: a wrong shape, ``ddof=1``,
sampling from the true N(0, 1) instead of the fit, returning the variance, ignoring n.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.seeding import child_seed
from ..simulations.gaussian import one_generation as reference_one_generation
from . import CheckResult, run_learner

EXERCISE = "one generation of the Gaussian recursion"
_RUNS, _N = 20000, 5  # small n makes the ddof=0 shrinkage (n-1)/n = 0.8 easy to tell from 1


def _as_pair(out, runs: int) -> tuple[np.ndarray, np.ndarray] | str:
    """The learner's output as two float arrays of shape (runs,), or what is wrong with it."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return (f"return a pair (new_mu, new_sigma); got {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    arrays = []
    for name, value in zip(("new_mu", "new_sigma"), out):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return f"{name} is not numeric: got {type(value).__name__}"
        if array.shape != (runs,):
            return (f"wrong shape: {name} has shape {array.shape}, expected ({runs},), one value per run; "
                    "take the mean / std of each run's n samples (axis=1), not of all samples together")
        if not np.all(np.isfinite(array)):
            return f"{name} holds NaN or infinite values"
        arrays.append(array)
    return arrays[0], arrays[1]


def check_one_generation(fn: Callable, *, seed: int = 0) -> CheckResult:
    """Check a learner's ``one_generation(mu, sigma, n, rng)`` against the library's law; never raises."""
    rng = np.random.default_rng(seed)
    # 1. shape, on a small batch
    mu, sigma = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    out, failed = run_learner(EXERCISE, fn, mu.copy(), sigma.copy(), 10, np.random.default_rng(seed))
    if failed is not None:  # a CheckResult is falsy when it fails
        return failed
    pair = _as_pair(out, mu.size)
    if isinstance(pair, str):
        return CheckResult(EXERCISE, False, [pair])
    # 2. reproducible from the rng it is given
    again, _ = run_learner(EXERCISE, fn, mu.copy(), sigma.copy(), 10, np.random.default_rng(seed))
    again = _as_pair(again, mu.size)
    if isinstance(again, str) or not all(np.array_equal(a, b) for a, b in zip(pair, again)):
        return CheckResult(EXERCISE, False, ["two calls with the same `rng` seed gave different results: "
                                             "draw the samples with the `rng` argument (rng.normal)"])
    # 3. the law, on many runs with different fits
    mu = rng.uniform(-5.0, 5.0, _RUNS)
    sigma = rng.uniform(0.5, 3.0, _RUNS)
    rng = np.random.default_rng(child_seed(seed, "learner"))
    out, failed = run_learner(EXERCISE, fn, mu.copy(), sigma.copy(), _N, rng)
    if failed is not None:  # a CheckResult is falsy when it fails
        return failed
    pair = _as_pair(out, _RUNS)
    if isinstance(pair, str):
        return CheckResult(EXERCISE, False, [pair])
    new_mu, new_sigma = pair
    if np.any(new_sigma < 0):
        return CheckResult(EXERCISE, False, ["new_sigma has negative values: a standard deviation is >= 0"])
    messages = []
    # The new mean is N(mu, sigma^2 / n): its standardised square averages 1.
    mean_z2 = float(np.mean((new_mu - mu) ** 2 / sigma**2 * _N))
    # ln new_sigma against ln sigma: slope 1 when the samples follow the fit, 0 when drawn from N(0, 1),
    # 2 when the variance is returned instead of the std.
    positive = new_sigma > 0
    slope = float(np.polyfit(np.log(sigma[positive]), np.log(new_sigma[positive]), 1)[0]) if positive.sum() > 10 else 0.0
    if mean_z2 > 10 and abs(slope) < 0.3:
        return CheckResult(EXERCISE, False, [
            "the new fits do not follow the old ones: the samples seem to come from the true N(0, 1). "
            "Draw them from the fitted distribution N(mu, sigma^2) of the previous generation."])
    if abs(slope - 2) < 0.3:
        return CheckResult(EXERCISE, False, ["new_sigma grows like sigma squared: return the standard "
                                             "deviation (x.std), not the variance (x.var)"])
    if abs(slope - 1) > 0.2:
        return CheckResult(EXERCISE, False, [f"new_sigma does not scale with sigma (log-log slope {slope:.2f}, "
                                             "expected 1): draw the samples from N(mu, sigma^2)"])
    if abs(mean_z2 - 1) > 0.15:
        return CheckResult(EXERCISE, False, [
            f"the new mean moves by {np.sqrt(mean_z2 / _N):.3f} sigma per generation, expected 1/sqrt(n) = "
            f"{1 / np.sqrt(_N):.3f}: draw exactly n samples per run and average them"])
    # E[new_sigma^2 / sigma^2] = (n - 1) / (n - ddof): 0.8 with ddof=0, 1 with ddof=1 at n = 5.
    ratio = new_sigma**2 / sigma**2
    mean_ratio, se = float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(ratio.size))
    expected = (_N - 1) / _N
    if abs(mean_ratio - 1.0) < 5 * se:
        return CheckResult(EXERCISE, False, [
            f"E[new_sigma^2 / sigma^2] = {mean_ratio:.3f} (n={_N}): that is the unbiased estimator, ddof=1. "
            f"The essay (and numpy's default) uses ddof=0, which gives (n-1)/n = {expected:.3f}: use x.std(axis=1)."])
    if abs(mean_ratio - expected) > 5 * se:
        return CheckResult(EXERCISE, False, [
            f"E[new_sigma^2 / sigma^2] = {mean_ratio:.3f}, expected (n-1)/n = {expected:.3f} for ddof=0: "
            f"off by a factor {mean_ratio / expected:.2f}"])
    messages.append(f"E[new_sigma^2 / sigma^2] = {mean_ratio:.3f} +- {se:.3f}, theory (n-1)/n = {expected:.3f}")
    messages.append(f"the new mean moves by {np.sqrt(mean_z2 / _N):.3f} sigma, theory 1/sqrt(n) = {1 / np.sqrt(_N):.3f}")
    return CheckResult(EXERCISE, True, messages)


__all__ = ["EXERCISE", "check_one_generation", "reference_one_generation"]
