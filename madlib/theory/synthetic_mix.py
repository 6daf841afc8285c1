r"""Closed forms for a fixed share of synthetic data in a growing training set ("strong model collapse").

Dohmatob, Feng, Subramonian and Kempe (2024, ICLR 2025) train once on ``n`` items of which a share ``p``
is synthetic: labelled by a teacher ``w_s = w* + Delta`` that differs from the truth ``w*``. Setting of
:mod:`madlib.simulations.theory` (our simplest instance of theirs): inputs ``x ~ N(0, I_d)``, real labels
``y = x.w* + sigma eps``, synthetic labels ``y = x.w_s + sigma eps``, ordinary least squares on the mix,
excess test error ``E||w_hat - w*||^2`` on real data.

**Linear model.** With ``S = X^T X`` (all rows), ``A`` the synthetic rows' part and ``q = n_s / n``::

    w_hat - w* = S^{-1} A Delta + S^{-1} X^T e
    E||w_hat - w*||^2 = sigma^2 d/(n-d-1) + ||Delta||^2 [q^2 + q(1-q)(d+1)/(n-d-1)] + O(n^-2).

The first term is the clean error (the inverse-Wishart mean); the second is the *collapse term*. Its
first-order part: ``S^{-1}A = q(I + (1-q)(E_a - E_b) + ...)`` with ``E`` the Wishart fluctuations
(``E[E^2] = (d+1)/n_k I``), whose second-order mean cancels; the ``n - d - 1`` is the inverse-Wishart's, which
matches simulation to a few parts in a thousand at ``n >= 20 d`` (``tests/test_theory_synthetic.py``). As n
grows the clean error falls like ``d/n`` while the collapse term tends to ``q^2 ||Delta||^2``: **a plateau**.
More data stops helping once ``sigma^2 d/n`` reaches ``q^2 ||Delta||^2``, for any fixed ``q > 0``.

**Random projections (model size).** The model ``f(x) = x^T S v`` with a random ``S`` (d x m, m <= d) and
``v`` fitted by least squares on the n mixed items. ``P`` projects onto the m-dimensional span of S; the part
``x^T (I-P) w`` of a label is independent of the features (Gaussian inputs), so it acts as label noise, and in
the features' own metric the fit is the linear model above in dimension m with shift ``P Delta``. Averaging
over a uniformly random span (``E||P u||^2 = (m/d)||u||^2``), for ``m <= n - 2``::

    E_test = (1 - m/d)||w*||^2                                        bias (the model is too small)
           + [sigma^2 + (1 - m/d)(||w*||^2 + q ||Delta||^2)] m/(n-m-1)  variance
           + (m/d)||Delta||^2 [q^2 + q(1-q)(m+1)/(n-m-1)]              collapse term

(``Delta`` orthogonal to ``w*``). The collapse term grows with the model size m (a larger model fits more of
the synthetic teacher's shift) and diverges at the interpolation threshold ``m -> n``: larger models
amplify the collapse there, as the paper finds; beyond it (``m > n``, minimum-norm fits) this module has no
closed form and the course shows the simulation alone.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_float, check_int


def synthetic_count(n: int, synthetic_share: float) -> int:
    """The number of synthetic items ``round(p n)`` in a training set of n (the simulation's rounding)."""
    n = check_int("n", n, 1)
    return int(round(check_float("synthetic_share", synthetic_share, 0.0, 1.0) * n))


def _share(n: int, synthetic_share: float) -> float:
    return synthetic_count(n, synthetic_share) / n


def mixed_ols_test_error(n, synthetic_share: float, dim: int, shift_sq: float, noise_std: float = 1.0) -> np.ndarray:
    """Expected excess test error of OLS on n items, a share ``synthetic_share`` labelled by a teacher shifted by
    ``||Delta||^2 = shift_sq`` (to first order in 1/n beyond the exact clean term; see the module docstring).

    ``n`` may be an array; each n uses its own rounded synthetic count ``round(p n)``."""
    dim = check_int("dim", dim, 1)
    shift_sq = check_float("shift_sq", shift_sq, 0.0)
    noise_var = check_float("noise_std", noise_std, 0.0) ** 2
    sizes = np.atleast_1d(np.asarray(n))
    if np.any(sizes < dim + 2):
        raise ValueError(f"n must be >= dim + 2 = {dim + 2} for a finite OLS error, got {sizes.min()}")
    q = np.array([_share(int(k), synthetic_share) for k in sizes])
    free = sizes - dim - 1.0
    out = noise_var * dim / free + shift_sq * (q**2 + q * (1 - q) * (dim + 1) / free)
    return out if np.ndim(n) else float(out[0])


def mixed_ols_clean_error(n, dim: int, noise_std: float = 1.0):
    """The error without synthetic data, ``sigma^2 d / (n - d - 1)`` (exact)."""
    return mixed_ols_test_error(n, 0.0, dim, 0.0, noise_std)


def collapse_plateau(synthetic_share: float, shift_sq: float) -> float:
    """``p^2 ||Delta||^2``: where the test error levels off as n grows with a fixed synthetic share p."""
    p = check_float("synthetic_share", synthetic_share, 0.0, 1.0)
    return p * p * check_float("shift_sq", shift_sq, 0.0)


def plateau_size(synthetic_share: float, dim: int, shift_sq: float, noise_std: float = 1.0) -> float:
    """The n at which the clean error ``sigma^2 d / n`` falls to the plateau ``p^2 ||Delta||^2``: beyond it, more data
    hardly helps (infinite without synthetic data)."""
    plateau = collapse_plateau(synthetic_share, shift_sq)
    if plateau == 0:
        return float("inf")
    return check_float("noise_std", noise_std, 0.0) ** 2 * check_int("dim", dim, 1) / plateau


def random_projection_test_error(n: int, model_size, dim: int, synthetic_share: float, shift_sq: float,
                                 target_norm_sq: float = 1.0, noise_std: float = 1.0) -> np.ndarray:
    """Expected excess test error of least squares on m random projections (m = ``model_size``, ``m <= n - 2``,
    ``m <= dim``) of d-dimensional inputs, n training items of which a share p is synthetic (see the module
    docstring; ``shift_sq`` = ``||Delta||^2`` with Delta orthogonal to w*, ``target_norm_sq`` = ``||w*||^2``)."""
    n = check_int("n", n, 3)
    dim = check_int("dim", dim, 1)
    m = np.atleast_1d(np.asarray(model_size, dtype=float))
    if np.any(m < 1) or np.any(m > min(dim, n - 2)):
        raise ValueError(f"model_size must lie in [1, min(dim, n - 2)] = [1, {min(dim, n - 2)}], got {m.min()}..{m.max()}")
    q = _share(n, synthetic_share)
    delta = check_float("shift_sq", shift_sq, 0.0)
    target = check_float("target_norm_sq", target_norm_sq, 0.0)
    noise_var = check_float("noise_std", noise_std, 0.0) ** 2
    kept = m / dim
    free = n - m - 1.0
    bias = (1 - kept) * target
    variance = (noise_var + (1 - kept) * (target + q * delta)) * m / free
    collapse = kept * delta * (q**2 + q * (1 - q) * (m + 1) / free)
    out = bias + variance + collapse
    return out if np.ndim(model_size) else float(out[0])


def random_projection_collapse_term(n: int, model_size, dim: int, synthetic_share: float, shift_sq: float,
                                    target_norm_sq: float = 1.0, noise_std: float = 1.0) -> np.ndarray:
    """What the synthetic share adds to :func:`random_projection_test_error` (mixed minus clean): it grows with m."""
    mixed = random_projection_test_error(n, model_size, dim, synthetic_share, shift_sq, target_norm_sq, noise_std)
    clean = random_projection_test_error(n, model_size, dim, 0.0, shift_sq, target_norm_sq, noise_std)
    return mixed - clean
