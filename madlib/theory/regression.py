r"""Closed forms for linear regression trained on its own labels: replace vs accumulate.

Setting (:mod:`madlib.models.regression`): x ~ N(0, I_d), real labels
y = x.w* + sigma eps; generation 0 is OLS on ``n`` real pairs; generation t >= 1
is OLS on pairs whose labels the fit of generation t-1 made, y = x.w_{t-1} + e,
e ~ N(0, lambda sigma^2), on *new* inputs (m = ``n_synthetic`` of them a
generation). The test error is the excess risk

    E_test(t) = E[(x.w_t - x.w*)^2] = E ||w_t - w*||^2      (x ~ N(0, I)),

the label noise sigma^2 of a test point is *not* included (add sigma^2 for the
mean squared prediction error on noisy labels). Both papers use this excess risk.

Derivation (delta_t = w_t - w*, X_t the inputs of generation t, e_t its noise):

* one OLS fit on N Gaussian inputs: E tr((X^T X)^{-1}) = d / (N - d - 1) (mean of
  an inverse Wishart), so E||delta_0||^2 = sigma^2 d / (n - d - 1);
* **replace**: w_t is OLS on labels X_t w_{t-1} + e_t, so
  delta_t = delta_{t-1} + (X_t^T X_t)^{-1} X_t^T e_t. The increment has mean zero
  given everything before, so the errors add:

      E_test(t) = sigma^2 d / (n - d - 1) + t lambda sigma^2 d / (m - d - 1),

  linear growth in t (Dohmatob, Feng and Kempe 2024, their replace result with
  label noise sigma and generator noise lambda sigma^2). With the noise level
  *estimated* each generation by the unbiased RSS / (N - d), E sigma_t^2 =
  lambda^t sigma^2 and the t-th term becomes lambda^t sigma^2 d / (m - d - 1).
* **accumulate**: with S_t = sum_{i<=t} X_i^T X_i (all N_t = n + t m inputs so far),
  the normal equations give S_t delta_t = S_{t-1} delta_{t-1} + X_t^T (X_t delta_{t-1} + e_t),
  i.e. delta_t = delta_{t-1} + S_t^{-1} X_t^T e_t: again uncorrelated increments,
  now shrunk by everything accumulated. The N_t input rows are iid, so by
  exchangeability each row carries the same share of E tr(S_t^{-1}) = d/(N_t - d - 1),
  and the m new rows carry E tr(S_t^{-1} X_t^T X_t S_t^{-1}) = (m / N_t) d / (N_t - d - 1).
  Hence, *exactly*,

      E_test(t) = sigma^2 d / (n - d - 1) + lambda sigma^2 d sum_{k=1}^{t} m / (N_k (N_k - d - 1)).

  For m = n and lambda = 1 this is sigma^2 d sum_{k=1}^{t+1} 1 / (k (k n - d - 1)).
  Each term is at most 1/k^2 times the first, so E_test(t) / E_test(0) < pi^2/6 for
  every t: bounded, the factor of Gerstgrasser et al. 2024. The sum has a closed
  limit (partial fractions and psi(1+z) = -gamma + sum_k (1/k - 1/(k+z))):

      E_test(inf) = sigma^2 d/(n-d-1) + lambda sigma^2 d/(d+1) [psi(1 + n/m) - psi(1 + (n-d-1)/m)].

Gerstgrasser et al. keep a *fixed* design X (only the noise is redrawn); then
S_k = (k+1) X^T X and the sum is exactly sigma^2 d/(n-d-1) sum_{k=1}^{t+1} 1/k^2
(:func:`fixed_design_accumulate_test_error`), a little above ours.

Finite moments: the mean above needs n >= d + 2 (and m >= d + 2 under replace);
the Monte-Carlo standard error of a simulation needs a finite variance of
||w_t - w*||^2, i.e. n >= d + 4 (inverse-Wishart second moments), so keep n well
above d when comparing a simulation with these forms.

Generation numbering: generation 0 is the first fit (to real data), as in the
loop (:mod:`madlib.core.loop`) and in :mod:`madlib.theory.gaussian` (the course's one convention, see
the glossary).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from ..core.validation import check_float, check_int


def _common(n_real: int, dim: int, noise_std: float, n_synthetic: int | None, sampling_bias: float):
    dim = check_int("dim", dim, 1)
    n_real = check_int("n_real", n_real, dim + 2)  # E tr((X^T X)^{-1}) is finite only for n >= d + 2
    m = n_real if n_synthetic is None else check_int("n_synthetic", n_synthetic, 1)
    noise_var = check_float("noise_std", noise_std, 0.0, open_minimum=True) ** 2
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    return n_real, dim, noise_var, m, lam


def ols_excess_risk(n: int, dim: int, noise_std: float = 1.0) -> float:
    """E||w_OLS - w*||^2 = sigma^2 d / (n - d - 1) for OLS on n pairs with x ~ N(0, I_d) (needs n >= d + 2)."""
    dim = check_int("dim", dim, 1)
    n = check_int("n", n, dim + 2)
    noise_var = check_float("noise_std", noise_std, 0.0, open_minimum=True) ** 2
    return noise_var * dim / (n - dim - 1)


def replace_test_error(generations: int, n_real: int, dim: int, noise_std: float = 1.0, *,
                       n_synthetic: int | None = None, sampling_bias: float = 1.0,
                       fit_noise: bool = False) -> np.ndarray:
    """Mean test error E||w_t - w*||^2 for t = 0..generations under *replace*: linear in t.

    ``fit_noise``: the generator's noise level is re-estimated each generation
    (unbiased), so its expected variance shrinks as lambda^t instead of staying lambda sigma^2.
    """
    generations = check_int("generations", generations, 0)
    n_real, dim, noise_var, m, lam = _common(n_real, dim, noise_std, n_synthetic, sampling_bias)
    if m < dim + 2:
        raise ValueError(f"n_synthetic must be >= dim + 2 = {dim + 2} for a finite replace test error, got {m}")
    t = np.arange(generations + 1)
    if fit_noise:
        step_vars = noise_var * lam ** np.arange(1, generations + 1)
    else:
        step_vars = np.full(generations, noise_var * lam)
    added = np.concatenate([[0.0], np.cumsum(step_vars)]) * dim / (m - dim - 1)
    return noise_var * dim / (n_real - dim - 1) + added[t]


def accumulate_test_error(generations: int, n_real: int, dim: int, noise_std: float = 1.0, *,
                          n_synthetic: int | None = None, sampling_bias: float = 1.0) -> np.ndarray:
    """Mean test error E||w_t - w*||^2 for t = 0..generations under *accumulate* (exact; fixed noise level)."""
    generations = check_int("generations", generations, 0)
    n_real, dim, noise_var, m, lam = _common(n_real, dim, noise_std, n_synthetic, sampling_bias)
    sizes = n_real + m * np.arange(1, generations + 1, dtype=float)  # N_k, k = 1..generations
    terms = lam * noise_var * dim * m / (sizes * (sizes - dim - 1))
    return noise_var * dim / (n_real - dim - 1) + np.concatenate([[0.0], np.cumsum(terms)])


def accumulate_limit(n_real: int, dim: int, noise_std: float = 1.0, *, n_synthetic: int | None = None,
                     sampling_bias: float = 1.0) -> float:
    """lim_{t -> inf} of :func:`accumulate_test_error`, in closed form with the digamma function."""
    n_real, dim, noise_var, m, lam = _common(n_real, dim, noise_std, n_synthetic, sampling_bias)
    first = noise_var * dim / (n_real - dim - 1)
    tail = digamma(1 + n_real / m) - digamma(1 + (n_real - dim - 1) / m)
    return float(first + lam * noise_var * dim / (dim + 1) * tail)


def fixed_design_accumulate_test_error(generations: int, n_real: int, dim: int,
                                       noise_std: float = 1.0) -> np.ndarray:
    """Gerstgrasser et al.'s fixed-design accumulate error: sigma^2 d/(n-d-1) sum_{k=1}^{t+1} 1/k^2 (for comparison)."""
    generations = check_int("generations", generations, 0)
    first = ols_excess_risk(n_real, dim, noise_std)
    return first * np.cumsum(1.0 / np.arange(1, generations + 2, dtype=float) ** 2)


PI2_OVER_6 = math.pi**2 / 6  # the bound on E_test(t) / E_test(0) under accumulate (m = n, lambda = 1)


def expected_test_error(workflow: str, generations: int, n_real: int, dim: int, noise_std: float = 1.0, *,
               n_synthetic: int | None = None, sampling_bias: float = 1.0, fit_noise: bool = False,
               kept_real_fraction: float = 0.0) -> np.ndarray | None:
    """The closed-form mean test error per generation, or None where this module has none.

    Closed forms: ``replace`` (without kept real data) and ``accumulate`` (with a
    fixed noise level). ``augment``, ``fresh``, replace with kept real data, and
    accumulate with an estimated noise level have none here.
    """
    kw = {"n_synthetic": n_synthetic, "sampling_bias": sampling_bias}
    if workflow == "replace" and kept_real_fraction == 0:
        return replace_test_error(generations, n_real, dim, noise_std, fit_noise=fit_noise, **kw)
    if workflow == "accumulate" and not fit_noise:
        return accumulate_test_error(generations, n_real, dim, noise_std, **kw)
    return None
