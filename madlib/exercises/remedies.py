"""Chapter 6's exercises (keeping real data): two "break it" checkers that run the loop with the learner's
settings, :func:`check_keep_real_breaks` and :func:`check_fresh_breaks`; and, for chapter 7 (whose own module
:mod:`madlib.exercises.filtering` re-exports it), the implement-it checker of a verifier's acceptance probability.

The learner writes ``acceptance_probability(log_p_real, log_p_model)``: for candidates drawn from
a model, the probability that a verifier who knows the real density accepts each one, r(x) / max r
with r = p_real / p_model, per replicate (row). :func:`check_acceptance_probability` runs it
against :func:`madlib.remedies.filters.acceptance_probability` and names the usual mistakes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..core.seeding import generator as make_generator

from ..experiments import run_experiment
from ..remedies.filters import acceptance_probability
from ..theory import recursion
from . import CheckResult, run_learner

EXERCISE = "a verifier's acceptance probability"


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-densities of 3 replicates x 50 candidates; replicate 2 sits near -1000 (naive exp underflows)."""
    g = make_generator(seed)
    log_real = -0.5 * torch.randn(3, 50, generator=g, dtype=torch.float64) ** 2 - 1.0
    log_model = -0.5 * (torch.randn(3, 50, generator=g, dtype=torch.float64) * 1.5) ** 2 - 1.2
    log_model[1] += 0.7  # replicates differ: the per-row maximum matters
    log_real[2] -= 1000.0
    log_model[2] -= 1000.0
    return log_real, log_model


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=1e-6, atol=1e-9))


def check_acceptance_probability(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckResult:
    """Check the learner's ``acceptance_probability(log_p_real, log_p_model) -> (R, m)``; says what is wrong."""
    log_real, log_model = _inputs()
    out, failed = run_learner(EXERCISE, fn, log_real.clone(), log_model.clone())
    if failed is not None:
        return failed
    try:
        out = torch.as_tensor(np.asarray(out, dtype=float) if not isinstance(out, torch.Tensor) else out,
                              dtype=torch.float64)
    except (TypeError, ValueError):
        return CheckResult(EXERCISE, False, [f"return a tensor of probabilities, got {type(out).__name__}"])
    expected = acceptance_probability(log_real, log_model)
    if tuple(out.shape) != tuple(expected.shape):
        return CheckResult(EXERCISE, False, [f"wrong shape: expected {tuple(expected.shape)} (one probability per "
                                             f"candidate and replicate), got {tuple(out.shape)}"])
    if _close(out, expected):
        return CheckResult(EXERCISE, True, ["matches the library's verifier on every candidate, including a "
                                            "replicate whose log-densities are near -1000"])
    messages = []
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        rows = sorted(set(torch.nonzero(~finite)[:, 0].tolist()))
        messages.append(f"non-finite values (nan or inf) in replicate(s) {rows}: compute r / max r in log space, "
                        "exp(log r - max log r), so densities like e^-1000 do not underflow to 0/0")
    elif bool((out > 1 + 1e-9).any()) or bool((out < -1e-12).any()):
        messages.append(f"values outside [0, 1] (largest {float(out.max()):.3g}): these are ratios, not "
                        "probabilities; divide r by its maximum over the replicate's candidates")
    ok_rows = [i for i in range(out.shape[0]) if _close(out[i], expected[i])]
    inverted = acceptance_probability(log_model, log_real)
    real_only = acceptance_probability(log_real, torch.zeros_like(log_model))
    global_max = (log_real - log_model - (log_real - log_model).max()).exp()
    if _close(out, inverted):
        messages.append("the ratio is upside down: you accept what the model OVER-represents (p_model / p_real); "
                        "the verifier keeps items where p_real / p_model is large")
    elif _close(out, real_only):
        messages.append("you used p_real alone: a candidate the model already draws too often is then accepted "
                        "too often; divide by p_model (subtract log_p_model)")
    elif _close(out[:2], global_max[:2]) or (ok_rows == [] and bool(torch.isclose(out.max(), torch.tensor(1.0,
                                                                       dtype=torch.float64)))):
        messages.append("the maximum is taken over all replicates at once: each replicate is its own world with "
                        "its own model, so divide by each row's maximum (dim=1, keepdim=True)")
    if not messages:
        bad = [i for i in range(out.shape[0]) if i not in ok_rows]
        err = float((out - expected).abs().max())
        messages.append(f"replicate(s) {bad} differ from r / max r (largest difference {err:.3g})")
    return CheckResult(EXERCISE, False, messages)


# ----------------------------------------------------------------------------- chapter 6: break it

BREAK_KEEP = "break it: keep real data, and still lose a quarter of the spread"
BREAK_FRESH = "break it: fresh data every generation, and still lose a quarter of the spread"
BREAK_THRESHOLD = 0.75  #: the scoreboard's threshold: a quarter of the spread lost
KEPT_SHARE = 0.1  #: the scoreboard's kept real fraction
_RUNS = 200


def _number(exercise: str, name: str, value, low: float, high: float, *, low_open: bool = False) -> float | CheckResult:
    """``value`` as a float in [low, high] (or (low, high]), or a failed result that names the argument."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and (low < value if low_open else low <= value) and value <= high:
        return float(value)
    bracket = "(" if low_open else "["
    return CheckResult(exercise, False, [f"{name} must be a number in {bracket}{low:g}, {high:g}], got {value!r}"])


def check_keep_real_breaks(n_real, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 6): keep 10% real data in every training set of ``n_real`` items (at least 10, so that
    at least one real item is kept) and find an ``n_real`` at which the Gaussian's median sigma after 200
    generations is below 0.75 of generation 0's anyway. Runs the ``remedy-curve`` experiment; never raises."""
    if isinstance(n_real, bool) or not isinstance(n_real, (int, np.integer)) or not 10 <= n_real <= 10_000:
        return CheckResult(BREAK_KEEP, False, [f"n_real must be an integer in [10, 10000] (10% of it is at least one "
                                               f"real item), got {n_real!r}"])
    n = int(n_real)
    curve = run_experiment("remedy-curve", family="gaussian", remedy="keep-real", n_real=n, generations=200,
                           replicates=_RUNS, seed=seed, progress=False).summary
    final = float(curve["final_relative_quality"])
    kept = KEPT_SHARE * n
    exact = float(np.sqrt(recursion.kept_fraction_fixed_point(n, KEPT_SHARE) / ((n - 1) / n)))
    messages = [f"{n} items a generation, {kept:g} of them real: median sigma after 200 generations {final:.3f} of "
                f"generation 0's ({_RUNS} runs). Chapter 8's fixed point of the expected variance gives "
                f"sqrt(v*) = {exact:.3f} (2fn/(2fn+1) = {2 * kept / (2 * kept + 1):.3f} for v*); with few real items "
                "the variance's distribution is skewed, and the median run lies below that"]
    if final < BREAK_THRESHOLD:
        messages.append("broken: the kept real items still anchor the loop (it settles, it does not go to 0), but "
                        f"{kept:g} real item(s) a generation anchor it low. The share is the same 10%; the count of "
                        "real items is what sets the level")
        return CheckResult(BREAK_KEEP, True, messages)
    messages.append("not broken yet: with this many real items a generation the fixed point is above 0.75. Fewer "
                    "items per generation means fewer real ones at the same share")
    return CheckResult(BREAK_KEEP, False, messages)


def check_fresh_breaks(synthetic_per_real, sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 6): fresh real data every generation (100 items) beside ``synthetic_per_real`` synthetic
    items per real one, drawn with ``sampling_bias``; find settings at which the Gaussian's median sigma after
    100 generations is below 0.75 anyway. Runs the ``gaussian`` experiment; never raises."""
    ratio = _number(BREAK_FRESH, "synthetic_per_real", synthetic_per_real, 0.1, 50)
    lam = _number(BREAK_FRESH, "sampling_bias", sampling_bias, 0.0, 1.0, low_open=True)
    for value in (ratio, lam):
        if isinstance(value, CheckResult):
            return value
    n_real = 100
    n_synthetic = max(1, int(round(ratio * n_real)))
    result = run_experiment("gaussian", workflow="fresh", n_real=n_real, n_synthetic=n_synthetic, sampling_bias=lam,
                            generations=100, replicates=_RUNS, seed=seed, progress=False)
    median = float(result.summary["final_std_median"])
    share = n_synthetic / (n_synthetic + n_real)
    fixed = float(np.sqrt(recursion.web_scrape_fixed_point(share, lam))) if share * lam < 1 else 0.0
    messages = [f"{n_synthetic} synthetic items beside {n_real} fresh real ones, lambda = {lam:g}: median sigma after "
                f"100 generations {median:.3f} ({_RUNS} runs); the fixed point (1-s)/(1-s lambda) with s = {share:.3f} "
                f"gives sqrt(v*) = {fixed:.3f}"]
    if median < BREAK_THRESHOLD:
        messages.append("broken: fresh data still anchor the loop at v* (it settles, it does not go to 0), but "
                        "enough sharpened synthetic data drag the anchor down: a bounded loss, not a collapse")
        return CheckResult(BREAK_FRESH, True, messages)
    messages.append("not broken yet: more synthetic data per real item, or a stronger bias (a smaller lambda), "
                    "lowers v*; with lambda = 1 no amount of synthetic data can")
    return CheckResult(BREAK_FRESH, False, messages)
