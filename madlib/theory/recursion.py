r"""One recursion behind every loop of the course, and its three regimes (the theory chapter).

Every self-consuming loop is a stochastic recursion ``theta_t = F(theta_{t-1}, data_t)``: the
parameters of generation t are a function of the last ones and of the data drawn this
generation. What the workflow keeps of the real data decides which of three regimes it is in.

1. **A random walk with absorption** (*replace*). ``F`` has no pull towards the truth: the
   parameters are a martingale (or a supermartingale in a log scale) that wanders until it hits
   an absorbing state. The Gaussian's log-variance drifts down by
   ``psi((n-1)/2) + ln(2/(n-ddof))`` a generation (chapter 1, :mod:`madlib.theory.gaussian`); a
   category's share is a martingale absorbed at 0 or 1 (chapter 2, :mod:`madlib.theory.wright_fisher`).
2. **A contraction to a fixed point** (a kept real fraction, fresh data, a verifier, a corrector).
   The expected update is affine, ``E[v_t] = a + b E[v_{t-1}]`` with ``0 <= b < 1``, so
   ``E[v_t] -> v* = a / (1 - b)`` geometrically, from any start: :func:`affine_fixed_point`,
   :func:`affine_path` (a linear system of two such maps when the mean moves too:
   :func:`anchored_variance_path`). The fixed point is not the truth in general: ``(1-s)/(1-s lambda)``
   for a web scrape whose share s of synthetic content was drawn with sampling bias lambda, about
   ``2 f n / (2 f n + 1)`` for a kept real fraction f of n items (:func:`kept_fraction_fixed_point`).
3. **Summable noise** (*accumulate*). Generation t's new data are a share ``1/(t+1)`` of
   everything, so each step moves the estimate by a noise of variance ``~ 1/(t+1)^2`` times one
   fit's: the errors add up to at most ``sum_k 1/k^2 = pi^2/6`` times the first fit's. This holds
   exactly for any family whose estimator is a sample mean of a sufficient statistic with a
   variance linear in its mean (Poisson: :func:`poisson_mse`), and asymptotically for every
   asymptotically linear estimator (Dey and Donoho 2024): :func:`accumulate_error_ratio`.

Generation numbering is the course's (see the glossary): generation 0 is the first fit, to real data.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from ..core.validation import check_float, check_int

PI2_OVER_6 = math.pi**2 / 6


# ----------------------------------------------------------------------------- regime 2: contraction

def affine_fixed_point(offset: float, slope: float) -> float:
    """The fixed point ``v* = a / (1 - b)`` of the affine map ``v -> a + b v`` (needs ``0 <= b < 1``)."""
    slope = check_float("slope", slope, 0.0)
    if slope >= 1:
        raise ValueError(f"slope must be < 1 for a contraction (a fixed point that attracts), got {slope}")
    return float(offset) / (1.0 - slope)


def affine_path(offset: float, slope: float, start: float, generations: int) -> np.ndarray:
    """``v_0 = start, v_t = a + b v_{t-1}`` for t = 0..generations: ``v* + (start - v*) b^t``."""
    generations = check_int("generations", generations, 0)
    fixed = affine_fixed_point(offset, slope)
    return fixed + (float(start) - fixed) * float(slope) ** np.arange(generations + 1)


def anchored_fixed_point(real_share: float, size: int, sampling_bias: float = 1.0) -> float:
    r"""Fixed point of the Gaussian's expected variance (ddof=0) when each training set of ``size`` items holds a
    share ``a = real_share`` of real N(0, 1) data (fresh, or re-drawn from the original set) and ``s = 1 - a`` of
    synthetic data drawn from the last fit with sampling bias lambda.

    Two things move: the variance v and the squared distance D between the synthetic and the real mean, whose
    spread adds to the pooled variance. With ``N = size``, to first order in the real items' own spread,
    ``E v_t = (1 - 1/N)(a + s lambda v) + a s D`` and ``E D_t = (a + s lambda v)/N + s^2 D``; at the fixed point
    ``v* = c a / (1 - c s lambda)`` with ``c = 1 - 1/(N(1 + s))`` (:func:`anchored_variance_path` iterates it).
    For large N it is ``a / (1 - s lambda)`` (:func:`web_scrape_fixed_point`); for a kept share f of n items and
    lambda = 1 it is about ``2 f n / (2 f n + 1)``: a number of real items, not a share, decides it."""
    a = check_float("real_share", real_share, 0.0, 1.0)
    size = check_int("size", size, 2)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    s = 1 - a
    c = 1 - 1 / (size * (1 + s))
    if a == 0 and lam == 1:
        return 0.0
    return affine_fixed_point(c * a, c * s * lam)


def anchored_variance_path(real_share: float, size: int, generations: int, sampling_bias: float = 1.0, *,
                           start_var: float | None = None, start_mean_sq: float = 0.0) -> np.ndarray:
    """``E[sigma_t^2]`` for t = 0..generations from the recursion of :func:`anchored_fixed_point`. Generation 0 fits
    real data: ``start_var`` (default ``(size - 1)/size``) and ``start_mean_sq``, the squared distance of its mean
    from the real data's mean (0 when the real share is re-drawn from generation 0's own data, ``1/size`` for
    fresh data)."""
    a = check_float("real_share", real_share, 0.0, 1.0)
    size = check_int("size", size, 2)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    s = 1 - a
    out = np.empty(check_int("generations", generations, 0) + 1)
    out[0] = (size - 1) / size if start_var is None else check_float("start_var", start_var, 0.0)
    spread = check_float("start_mean_sq", start_mean_sq, 0.0)
    for t in range(1, out.size):
        pooled = a + s * lam * out[t - 1]
        out[t] = (1 - 1 / size) * pooled + a * s * spread
        spread = pooled / size + s * s * spread
    return out


def kept_fraction_fixed_point(n: int, kept_real_fraction: float, *, approximate: bool = False) -> float:
    """Fixed point of the Gaussian's expected variance when a share f of each training set of n items is original
    real data (:func:`anchored_fixed_point` with ``a = f``); ``approximate=True`` gives ``2 f n / (2 f n + 1)``.

    Chapter 6's ``f n / (f n + 1)`` keeps the synthetic mean on the real one; letting it wander (as it does)
    adds the spread between the two means back, and doubles the effective number of real items."""
    f = check_float("kept_real_fraction", kept_real_fraction, 0.0, 1.0)
    n = check_int("n", n, 2)
    return 2 * f * n / (2 * f * n + 1) if approximate else anchored_fixed_point(f, n)


def web_scrape_fixed_point(synthetic_share: float, sampling_bias: float = 1.0) -> float:
    """Fixed point ``(1 - s) / (1 - s lambda)`` of the variance when a share s of each generation's data is synthetic,
    drawn with sampling bias lambda, and the rest fresh real N(0, 1) data (large n; the map ``v -> (1-s) + s lambda v``)."""
    s = check_float("synthetic_share", synthetic_share, 0.0, 1.0)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    if s * lam >= 1:
        raise ValueError("synthetic_share * sampling_bias must be < 1 for a fixed point; at 1 it is the replace loop")
    return affine_fixed_point(1 - s, s * lam)


def expected_fit_std(n: int, ddof: int = 0) -> float:
    """``c = E[s]`` for the standard deviation s of n draws of N(0, 1) with ``ddof``:
    ``sqrt(2/(n-ddof)) Gamma(n/2) / Gamma((n-1)/2)`` (about ``1 - 3/(4n)`` for ddof=0)."""
    n = check_int("n", n, 2)
    ddof = check_int("ddof", ddof, 0, 1)
    return float(np.exp(0.5 * np.log(2 / (n - ddof)) + gammaln(n / 2) - gammaln((n - 1) / 2)))


def corrector_std_path(n: int, strength: float, generations: int) -> np.ndarray:
    r"""Exact ``E[sigma_t]``, t = 0..generations, of the Gaussian replace loop with a moment corrector of
    ``strength`` gamma (:class:`madlib.remedies.corrector.GaussianCorrector`, truth N(0, 1), ddof=0).

    The corrector moves each synthetic batch a share gamma of the way to mean 0 and standard deviation 1:
    ``x' = (1-gamma) x + gamma (x - xbar)/s``. The batch's standard deviation becomes ``(1-gamma) s + gamma``
    with ``s = sigma_{t-1} s_t``, ``s_t`` the standard deviation of n standard normals, independent of the
    past, so ``E[sigma_t] = c (1-gamma) E[sigma_{t-1}] + gamma`` (c = :func:`expected_fit_std`): a contraction
    with factor ``c (1-gamma)`` to ``gamma / (1 - c (1-gamma))``. Generation 0 fits real data: ``E[sigma_0] = c``.
    """
    gamma = check_float("strength", strength, 0.0, 1.0)
    c = expected_fit_std(n)
    path = np.empty(check_int("generations", generations, 0) + 1)
    path[0] = c
    for t in range(1, path.size):
        path[t] = c * (1 - gamma) * path[t - 1] + gamma
    return path


def corrector_fixed_point(n: int, strength: float) -> float:
    """The fixed point ``gamma / (1 - c (1 - gamma))`` of :func:`corrector_std_path` (0 without correction)."""
    gamma = check_float("strength", strength, 0.0, 1.0)
    return affine_fixed_point(gamma, expected_fit_std(n) * (1 - gamma))


def corrector_var_path(n: int, strength: float, generations: int) -> np.ndarray:
    """Exact ``E[sigma_t^2]`` of the same chain as :func:`corrector_std_path`: with ``sigma_t = (1-gamma) sigma_{t-1} s_t
    + gamma``, ``E[sigma_t^2] = (1-gamma)^2 E[sigma_{t-1}^2] (n-1)/n + 2 gamma (1-gamma) c E[sigma_{t-1}] + gamma^2``."""
    gamma = check_float("strength", strength, 0.0, 1.0)
    n = check_int("n", n, 2)
    first = corrector_std_path(n, gamma, generations)
    out = np.empty_like(first)
    out[0] = (n - 1) / n
    c = expected_fit_std(n)
    for t in range(1, out.size):
        out[t] = (1 - gamma) ** 2 * out[t - 1] * (n - 1) / n + 2 * gamma * (1 - gamma) * c * first[t - 1] + gamma**2
    return out


def share_corrector_variance(p: float, n: int, strength: float, generations: int,
                             start_variance: float | None = None) -> np.ndarray:
    r"""Exact ``Var(p_t)`` of a category's share under the replace loop with a share corrector of ``strength`` gamma
    (:class:`madlib.remedies.corrector.ShareCorrector`, ignoring the rounding to whole items):
    ``p_t = (1-gamma) phat_t + gamma p`` with ``phat_t ~ Bin(n, p_{t-1}) / n``. Then ``E[p_t] = p`` and
    ``V_t = (1-gamma)^2 [V_{t-1} (1 - 1/n) + p(1-p)/n]``, ``V_0 = p(1-p)/n``: a contraction with factor
    ``(1-gamma)^2 (1 - 1/n)`` to a finite spread, where replace (gamma = 0) grows to ``p(1-p)`` (absorption).
    ``start_variance`` is ``V_0`` (default ``p(1-p)/n``; 0 when generation 0 fits exactly the real shares)."""
    p = check_float("p", p, 0.0, 1.0)
    n = check_int("n", n, 1)
    gamma = check_float("strength", strength, 0.0, 1.0)
    out = np.empty(check_int("generations", generations, 0) + 1)
    out[0] = p * (1 - p) / n if start_variance is None else check_float("start_variance", start_variance, 0.0)
    for t in range(1, out.size):
        out[t] = (1 - gamma) ** 2 * (out[t - 1] * (1 - 1 / n) + p * (1 - p) / n)
    return out


# ----------------------------------------------------------------------------- regime 3: summable noise

def accumulate_error_ratio(generations) -> np.ndarray:
    """``sum_{k=1}^{t+1} 1/k^2``: the error of generation t relative to generation 0 under *accumulate* (each
    generation adding as many items as the first), exact for :func:`poisson_mse` and the limit of every
    asymptotically linear estimator (Dey and Donoho 2024). Bounded by pi^2/6."""
    t = np.asarray(generations)
    if np.any(t < 0):
        raise ValueError(f"generations must be >= 0, got {t.min()}")
    partial = np.cumsum(1.0 / np.arange(1, int(t.max()) + 2) ** 2)
    return partial[t.astype(int)]


def replace_error_ratio(generations) -> np.ndarray:
    """``t + 1``: the error of generation t relative to generation 0 under *replace* (the errors of t + 1
    independent fits add up): linear, unbounded."""
    t = np.asarray(generations, dtype=float)
    if np.any(t < 0):
        raise ValueError(f"generations must be >= 0, got {t.min()}")
    return t + 1


def poisson_mse(rate: float, n: int, generations: int, workflow: str = "accumulate") -> np.ndarray:
    r"""Exact ``E[(lambda_t - lambda)^2]``, t = 0..generations, for a Poisson rate refitted (by its MLE, the
    sample mean) on its own samples, n new samples a generation.

    The fitted rate is a martingale and a Poisson sample of size n from rate ``lambda_{t-1}`` has variance
    ``n lambda_{t-1}``, whose mean is ``n lambda``, so the increments are uncorrelated with known variance:
    ``replace``: ``(t + 1) lambda / n``; ``accumulate`` (all ``(t+1) n`` items so far):
    ``(lambda / n) sum_{k=1}^{t+1} 1/k^2 < (pi^2/6) lambda / n``.
    """
    rate = check_float("rate", rate, 0.0, open_minimum=True)
    n = check_int("n", n, 1)
    generations = check_int("generations", generations, 0)
    t = np.arange(generations + 1)
    if workflow == "replace":
        return rate / n * replace_error_ratio(t)
    if workflow == "accumulate":
        return rate / n * accumulate_error_ratio(t)
    raise ValueError(f"workflow must be 'replace' or 'accumulate', got {workflow!r}")


def bernoulli_mse(p: float, n: int, generations: int, workflow: str = "accumulate") -> np.ndarray:
    r"""Exact ``E[(p_t - p)^2]`` for a category's share refitted on n new samples a generation (the cats).

    With ``V_t`` the mean squared error, ``E[p_t (1 - p_t)] = p(1-p) - V_t``, so the increment of generation k
    has variance ``n (p(1-p) - V_{k-1}) / N_k^2`` (N_k the items fitted): ``replace`` (``N_k = n``):
    ``V_t = p(1-p) (1 - (1 - 1/n)^{t+1})``, which tends to ``p(1-p)`` (absorption at 0 or 1); ``accumulate``
    (``N_k = (k+1) n``): bounded, about ``(p(1-p)/n) pi^2/6``.
    """
    p = check_float("p", p, 0.0, 1.0)
    n = check_int("n", n, 1)
    generations = check_int("generations", generations, 0)
    if workflow not in ("replace", "accumulate"):
        raise ValueError(f"workflow must be 'replace' or 'accumulate', got {workflow!r}")
    out = np.empty(generations + 1)
    out[0] = p * (1 - p) / n
    for k in range(1, generations + 1):
        size = n if workflow == "replace" else (k + 1) * n
        out[k] = out[k - 1] + n * (p * (1 - p) - out[k - 1]) / size**2
    return out


# ----------------------------------------------------------------------------- which regime a workflow is in

REGIMES = {
    "replace": "random walk with absorption",
    "augment": "contraction to a fixed point",
    "fresh": "contraction to a fixed point",
    "replace+kept-real": "contraction to a fixed point",
    "verifier": "contraction to a fixed point",
    "corrector": "contraction to a fixed point",
    "accumulate": "summable noise",
}


def regime(workflow: str) -> str:
    """The regime of a workflow or remedy (see the module docstring): one of three names."""
    if workflow not in REGIMES:
        raise ValueError(f"workflow must be one of {tuple(REGIMES)}, got {workflow!r}")
    return REGIMES[workflow]
