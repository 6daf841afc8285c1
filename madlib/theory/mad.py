"""Closed forms for the three self-consuming loops of the MAD study (Gaussian case).

With sampling bias lambda the model of generation t samples N(mu_{t-1}, lambda Sigma_{t-1}).

* fully synthetic: E[mu_t | mu_{t-1}] = mu_{t-1} and, to leading order in 1/n,
  E[Sigma_t | Sigma_{t-1}] = lambda Sigma_{t-1}: the covariance decays like lambda^t
  (times ((n-1)/n)^t for the maximum-likelihood fit, see :mod:`madlib.theory.gaussian`);
* fresh data: each generation pools n_r new real items with n_s synthetic ones.
  To leading order the covariance settles at the fixed point
  ``Sigma* = Sigma n_r / (n_r + (1 - lambda) n_s)`` whatever the first generation
  was, and the error of the mean settles at ``(sigma^2 / n_r) N / (N + n_s)`` per
  dimension (``N = n_r + n_s``): slightly *better* than n_r real items alone.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_float, check_int


def _lam(sampling_bias: float) -> float:
    return check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)


def replace_cov_scale(generations, sampling_bias: float = 1.0, n: int | None = None, ddof: int = 1):
    """E[Sigma_t] / Sigma_0 in the fully synthetic loop: lambda^t, times ((n-1)/(n-ddof))^t when ``n`` is given."""
    lam = _lam(sampling_bias)
    t = np.asarray(generations, dtype=float)
    factor = lam if n is None else lam * (check_int("n", n, 2) - 1) / (n - check_int("ddof", ddof, 0, 1))
    return factor**t


def fresh_fixed_point_variance(n_real: int, n_synthetic: int, sampling_bias: float = 1.0,
                               sigma2: float = 1.0) -> float:
    """Leading-order fixed point of E[Sigma_t] in the fresh-data loop: sigma^2 n_r / (n_r + (1 - lambda) n_s)."""
    n_real = check_int("n_real", n_real, 1)
    n_synthetic = check_int("n_synthetic", n_synthetic, 0)
    lam = _lam(sampling_bias)
    return sigma2 * n_real / (n_real + (1 - lam) * n_synthetic)


def fresh_stationary_mean_error(n_real: int, n_synthetic: int, sigma2: float = 1.0) -> float:
    """Stationary E[(mu_t - mu)^2] per dimension in the fresh-data loop with lambda = 1 and a known variance.

    From mu_t = (n_r m_real + n_s m_syn) / N with m_syn ~ N(mu_{t-1}, sigma^2 / n_s):
    V = (sigma^2 / n_r) N / (N + n_s), at most the real-only error sigma^2 / n_r.
    """
    n_real = check_int("n_real", n_real, 1)
    n_synthetic = check_int("n_synthetic", n_synthetic, 0)
    total = n_real + n_synthetic
    return sigma2 / n_real * total / (total + n_synthetic)
