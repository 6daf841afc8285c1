"""Chapter 3's "implement it" exercise: the M step of EM for a Gaussian mixture.

The learner writes ``m_step(x, resp) -> (weights, means, covs)`` for one data set ``x`` ``(n, d)``
and responsibilities ``resp`` ``(n, K)`` (each row sums to 1): the maximum-likelihood mixture
weights, means and covariances given the responsibilities (no regularisation). The reference is
the library's own weighted maximum-likelihood Gaussian fit
(:class:`madlib.models.gaussian.GaussianFamily` with ``ddof=0``, each component weighted by its
responsibilities), which is exactly what the M step computes for one component.

:func:`check_m_step` runs the learner's function on seeded inputs and names the usual mistakes:
weights that are counts (not divided by n), means or covariances divided by n instead of the
component's count N_k, covariances centred on the overall mean instead of the component's, the
unbiased (N_k - 1) divisor, and wrong shapes.

Two "break it" checkers run the loop with the learner's settings (through the cache): :func:`check_fresh_hurts`
(a synthetic share and a sampling bias at which the fresh-data loop on ``blobs`` ends with a lower recall than
its generation 0 in most chains) and :func:`check_augment_loses_modes` (a sampling bias, and a synthetic share,
at which the augmentation loop on ``grid25`` loses a quarter of the modes it covered at generation 0, in the median
chain).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..core.seeding import generator as make_generator
from ..experiments import run_experiment
from ..models.gaussian import GaussianFamily
from ..theory.mad import fresh_fixed_point_variance
from . import CheckResult, run_learner

EXERCISE = "the M step of EM"


def reference_m_step(x: torch.Tensor, resp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The M step by the library: component k is the ML Gaussian fit of ``x`` with weights ``resp[:, k]``."""
    x = torch.as_tensor(x, dtype=torch.float64)
    resp = torch.as_tensor(resp, dtype=torch.float64)
    if x.ndim != 2 or resp.ndim != 2 or resp.shape[0] != x.shape[0]:
        raise ValueError(f"x must be (n, d) and resp (n, K) with the same n, got {tuple(x.shape)} and {tuple(resp.shape)}")
    k = resp.shape[1]
    # one "replicate" per component: the same points, weighted by that component's responsibilities
    model = GaussianFamily(ddof=0).fit(x.expand(k, -1, -1), weights=resp.T.contiguous())
    counts = resp.sum(0)
    return counts / x.shape[0], model.mean, model.cov


def _problem(seed: int, n: int = 400, d: int = 2, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Three clusters of unequal size and soft (not one-hot) responsibilities, so every mistake shows."""
    g = make_generator(seed)
    centres = torch.tensor([[-3.0, 0.0], [2.0, 2.0], [1.0, -3.0]], dtype=torch.float64)[:k, :d]
    which = torch.multinomial(torch.tensor([0.55, 0.3, 0.15])[:k], n, replacement=True, generator=g)
    x = centres[which] + torch.randn(n, d, generator=g, dtype=torch.float64) * torch.tensor([1.0, 0.6], dtype=torch.float64)[:d]
    logits = -0.5 * ((x[:, None, :] - centres[None]) ** 2).sum(-1) / 2.0
    return x, torch.softmax(logits, dim=1)


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=1e-9))


def check_m_step(fn: Callable[[torch.Tensor, torch.Tensor], tuple], seed: int = 0) -> CheckResult:
    """Run the learner's ``m_step(x, resp)`` against :func:`reference_m_step` and say what is wrong."""
    x, resp = _problem(seed)
    n, d = x.shape
    k = resp.shape[1]
    out, crash = run_learner(EXERCISE, fn, x.clone(), resp.clone())
    if crash is not None:
        return crash
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        return CheckResult(EXERCISE, False, ["return three things: (weights, means, covs)"])
    try:
        weights, means, covs = (torch.as_tensor(v, dtype=torch.float64) for v in out)
    except (TypeError, ValueError, RuntimeError) as error:
        return CheckResult(EXERCISE, False, [f"could not read your result as tensors: {error}"])
    ref_w, ref_mu, ref_cov = reference_m_step(x, resp)
    messages: list[str] = []
    shapes = {"weights": (weights, (k,)), "means": (means, (k, d)), "covs": (covs, (k, d, d))}
    for name, (value, shape) in shapes.items():
        if tuple(value.shape) != shape:
            messages.append(f"{name} has shape {tuple(value.shape)}; expected {shape} for n={n}, d={d}, K={k}")
    if messages:
        return CheckResult(EXERCISE, False, messages)

    counts = resp.sum(0)
    if not _close(weights, ref_w):
        if _close(weights, counts):
            messages.append("the weights are the counts N_k; divide them by n so they sum to 1")
        elif abs(float(weights.sum()) - 1.0) > 1e-6:
            messages.append(f"the weights sum to {float(weights.sum()):.4g}, not 1: pi_k = N_k / n")
        else:
            messages.append("the weights are off: pi_k = N_k / n with N_k = sum_n r_nk")
    if not _close(means, ref_mu):
        if _close(means, ref_mu * (counts / n)[:, None]):
            messages.append("the means are divided by n; divide sum_n r_nk x_n by the component's count N_k")
        elif _close(means, x.mean(0).expand(k, d)):
            messages.append("every mean is the overall mean: weight each point by its responsibility r_nk")
        else:
            messages.append("the means are off: mu_k = sum_n r_nk x_n / N_k")
    if not _close(covs, ref_cov):
        centred = x - x.mean(0)
        around_global = torch.einsum("nk,ni,nj->kij", resp, centred, centred) / counts[:, None, None]
        if _close(covs, ref_cov * (counts / n)[:, None, None]):
            messages.append("the covariances are divided by n; divide by the component's count N_k")
        elif _close(covs, ref_cov * (counts / (counts - 1))[:, None, None]):
            messages.append("the covariances use N_k - 1 (the unbiased divisor); the M step's maximum-likelihood "
                            "estimate divides by N_k")
        elif _close(covs, around_global):
            messages.append("the covariances are centred on the overall mean; centre each on its own mean mu_k")
        elif _close(covs.transpose(-1, -2), ref_cov) or not _close(covs, covs.transpose(-1, -2)):
            messages.append("the covariances are not symmetric: use the outer product (x_n - mu_k)(x_n - mu_k)^T")
        else:
            messages.append("the covariances are off: Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k")
    if messages:
        return CheckResult(EXERCISE, False, messages)
    return CheckResult(EXERCISE, True, [f"weights, means and covariances agree with the library's fit "
                                        f"(n={n}, K={k}) to within 1e-6"])


# -- "break it" exercises: the learner proposes settings, the checker runs the loop and judges ----------

BREAK_FRESH = "break fresh data: a lower recall at the end than at generation 0, in most chains"
BREAK_AUGMENT = "break augment: lose a quarter of the modes covered at generation 0"
_FRESH_N_REAL, _FRESH_GENERATIONS, _FRESH_CHAINS = 100, 40, 8
_AUGMENT_N_REAL, _AUGMENT_GENERATIONS, _AUGMENT_CHAINS, _MODES_KEPT = 200, 40, 4, 0.75


def _number(exercise: str, name: str, value, low: float, high: float, *, low_open: bool = False,
            integer: bool = False) -> float | CheckResult:
    """``value`` as a number in [low, high] (or (low, high]), or a failed result that names the argument."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (low < value if low_open else low <= value) and value <= high:
        return int(value) if integer else float(value)
    what = "an integer" if integer else "a number"
    return CheckResult(exercise, False, [f"{name} must be {what} in {'(' if low_open else '['}{low:g}, {high:g}], "
                                         f"got {value!r}"])


def _per_chain(table, metric: str):
    """``(first, last)`` per chain of ``metric`` from a gmm result's long table."""
    wide = table[table["metric"] == metric].pivot_table(index="generation", columns="replicate", values="value")
    return wide.iloc[0].to_numpy(dtype=float), wide.iloc[-1].to_numpy(dtype=float), int(wide.index[-1])


def check_fresh_hurts(n_synthetic, sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 3): ``n_synthetic`` synthetic points beside 100 fresh real ones every generation, drawn
    with ``sampling_bias``, at which the fresh-data loop on ``blobs`` ends (40 generations, 8 chains) with a lower
    recall than at generation 0 in most chains. Never raises."""
    n_s = _number(BREAK_FRESH, "n_synthetic", n_synthetic, 1, 10_000, integer=True)
    lam = _number(BREAK_FRESH, "sampling_bias", sampling_bias, 0.0, 1.0, low_open=True)
    for value in (n_s, lam):
        if isinstance(value, CheckResult):
            return value
    result = run_experiment("gmm", dataset="blobs", workflow="fresh", n_real=_FRESH_N_REAL, n_synthetic=n_s,
                            sampling_bias=lam, generations=_FRESH_GENERATIONS, replicates=_FRESH_CHAINS, seed=seed,
                            progress=False)
    first, last, generation = _per_chain(result.table, "recall")
    fell = int((last < first).sum())
    fixed = fresh_fixed_point_variance(_FRESH_N_REAL, n_s, lam)
    messages = [f"{n_s} synthetic points beside {_FRESH_N_REAL} real ones, lambda = {lam:g}: recall fell from "
                f"generation 0 to generation {generation} in {fell} of {first.size} chains (median "
                f"{np.median(first):.2f} -> {np.median(last):.2f}); the fixed point of a Gaussian's variance is "
                f"n_r / (n_r + (1 - lambda) n_s) = {fixed:.2f} of the truth"]
    if fell > first.size / 2:
        messages.append("broken: the fresh real data are an anchor, not a guarantee; with enough biased synthetic "
                        "data the anchor sits far inside the truth's spread")
        return CheckResult(BREAK_FRESH, True, messages)
    messages.append("not broken yet: more synthetic points per real one, or a stronger bias (a smaller lambda), "
                    "lower the fixed point; with lambda = 1 the fixed point is the truth's variance")
    return CheckResult(BREAK_FRESH, False, messages)


def check_augment_loses_modes(sampling_bias, n_synthetic=0, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 3): a ``sampling_bias`` (and ``n_synthetic`` synthetic points per generation, 0 for as many
    as the 200 real ones) at which the augmentation loop on ``grid25`` (40 generations, 4 chains, 200 evaluation
    samples; a few seconds at any scale) loses at least a quarter of the modes it covered at generation 0, in the
    median chain. Never raises."""
    lam = _number(BREAK_AUGMENT, "sampling_bias", sampling_bias, 0.0, 1.0, low_open=True)
    n_s = _number(BREAK_AUGMENT, "n_synthetic", n_synthetic, 0, 100_000, integer=True)
    for value in (lam, n_s):
        if isinstance(value, CheckResult):
            return value
    result = run_experiment("gmm", dataset="grid25", workflow="augment", n_real=_AUGMENT_N_REAL,
                            n_eval=_AUGMENT_N_REAL, n_synthetic=n_s, sampling_bias=lam,
                            generations=_AUGMENT_GENERATIONS, replicates=_AUGMENT_CHAINS, seed=seed, progress=False)
    n_s = n_s or _AUGMENT_N_REAL
    first, last, generation = _per_chain(result.table, "modes_covered")
    kept = float(np.median(np.where(first > 0, last / np.where(first > 0, first, 1.0), 1.0)))
    fixed = fresh_fixed_point_variance(_AUGMENT_N_REAL, n_s, lam)
    messages = [f"{n_s} synthetic points beside the {_AUGMENT_N_REAL} original real ones, lambda = {lam:g}: the median "
                f"chain keeps {kept:.0%} of the modes it covered at generation 0 after {generation} generations "
                f"(median {float(np.median(first)):g} -> {float(np.median(last)):g} of 25; {first.size} chains); each "
                f"component keeps about {fixed:.2f} of its variance at the fixed point n_r / (n_r + (1 - lambda) n_s)"]
    if kept <= _MODES_KEPT:
        messages.append("broken: augmentation anchors the loop on the original real set, but with most of each "
                        "training set sharpened synthetic data the components shrink and modes go")
        return CheckResult(BREAK_AUGMENT, True, messages)
    messages.append("not broken yet: a stronger bias (a smaller lambda) or more synthetic points per real one "
                    "shrink the components further")
    return CheckResult(BREAK_AUGMENT, False, messages)
