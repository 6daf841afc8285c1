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
from ..experiments import run_experiment
from ..simulations.gaussian import one_generation as reference_one_generation
from ..theory import gaussian as theory
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


# -- "break it" exercises: the learner proposes settings, the checker runs the loop and judges ----------

BREAK_AUGMENT = "break augment: drag the median sigma below 0.5"
BREAK_ACCUMULATE = "break accumulate: drag the median sigma below 0.5"
_BREAK_N_REAL, _BREAK_RUNS, _BREAK_THRESHOLD = 100, 200, 0.5


def _number(exercise: str, name: str, value, low: float, high: float, *, low_open: bool = False) -> float | CheckResult:
    """``value`` as a float in [low, high] (or (low, high]), or a failed result that names the argument."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and (low < value if low_open else low <= value) and value <= high:
        return float(value)
    bracket = "(" if low_open else "["
    return CheckResult(exercise, False, [f"{name} must be a number in {bracket}{low:g}, {high:g}], got {value!r}"])


def check_augment_breaks(synthetic_per_real, sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 1): augment keeps the original 100 real items; find a synthetic share
    ``synthetic_per_real`` (synthetic items per real item) and a ``sampling_bias`` at which the median
    sigma after 100 generations is below 0.5 anyway. Runs the loop (exact method, 200 runs); never raises."""
    ratio = _number(BREAK_AUGMENT, "synthetic_per_real", synthetic_per_real, 0.1, 100)
    lam = _number(BREAK_AUGMENT, "sampling_bias", sampling_bias, 0.0, 1.0, low_open=True)
    for value in (ratio, lam):
        if isinstance(value, CheckResult):
            return value
    n_synthetic = max(1, int(round(ratio * _BREAK_N_REAL)))
    result = run_experiment("gaussian", workflow="augment", n_real=_BREAK_N_REAL, n_synthetic=n_synthetic,
                            sampling_bias=lam, generations=100, replicates=_BREAK_RUNS, seed=seed, progress=False)
    median = float(result.summary["final_std_median"])
    share = n_synthetic / (n_synthetic + _BREAK_N_REAL)
    fixed = float(np.sqrt(theory.mixed_fixed_point_variance(share, lam)))
    messages = [f"{n_synthetic} synthetic items beside {_BREAK_N_REAL} real ones, lambda = {lam:g}: median sigma "
                f"after 100 generations {median:.3f} ({_BREAK_RUNS} runs); the fixed point of the variance "
                f"recursion gives sqrt(v*) = {fixed:.3f}, v* = 1 / (1 + (n_s/n_r)(1 - lambda))"]
    if median < _BREAK_THRESHOLD:
        messages.append("broken: the real data still anchor the loop (it settles at v*, it does not go to 0), "
                        "but enough sharpened synthetic data drags that anchor down")
        return CheckResult(BREAK_AUGMENT, True, messages)
    messages.append("not broken yet: sigma stays above 0.5. More synthetic data per real item, or a stronger "
                    "bias (a smaller lambda), lowers v*; with lambda = 1 nothing can")
    return CheckResult(BREAK_AUGMENT, False, messages)


def check_accumulate_breaks(sampling_bias, generations, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 1): accumulate keeps every item so far; find a ``sampling_bias`` and a horizon
    ``generations`` (at most 1,000) at which its median sigma falls below 0.5. Never raises."""
    lam = _number(BREAK_ACCUMULATE, "sampling_bias", sampling_bias, 0.0, 1.0, low_open=True)
    if isinstance(lam, CheckResult):
        return lam
    if isinstance(generations, bool) or not isinstance(generations, (int, np.integer)) or not 1 <= generations <= 1000:
        return CheckResult(BREAK_ACCUMULATE, False, [f"generations must be an integer in [1, 1000], got {generations!r}"])
    result = run_experiment("gaussian", workflow="accumulate", n_real=_BREAK_N_REAL, sampling_bias=lam,
                            generations=int(generations), replicates=_BREAK_RUNS, seed=seed, progress=False)
    median = float(result.summary["final_std_median"])
    power = float(generations) ** (-(1 - lam) / 2)
    messages = [f"lambda = {lam:g}, {int(generations)} generations: median sigma {median:.3f} ({_BREAK_RUNS} runs); "
                f"the accumulated variance obeys (t+1) v_t ~ 1 + lambda sum v_k, so sigma decays like "
                f"t^(-(1-lambda)/2) = {power:.3f} for large t"]
    if median < _BREAK_THRESHOLD:
        messages.append("broken: accumulating stops the collapse of an unbiased loop, not of a biased one; "
                        "every batch is a little narrower, and the narrow batches come to dominate the pool")
        return CheckResult(BREAK_ACCUMULATE, True, messages)
    messages.append("not broken yet: a smaller lambda or a longer horizon; with lambda = 1 accumulate never breaks")
    return CheckResult(BREAK_ACCUMULATE, False, messages)


__all__ = ["BREAK_ACCUMULATE", "BREAK_AUGMENT", "EXERCISE", "check_accumulate_breaks", "check_augment_breaks",
           "check_one_generation", "reference_one_generation"]
