"""Closed forms for the Gaussian refitting chain (chapter 1).

With n samples a generation, the fitted variance obeys
``sigma_T^2 / sigma_0^2 = lambda^T prod_t Q_t / (n - ddof)``, ``Q_t ~ chi2(n-1)`` iid,
so ``ln sigma_T^2`` is a sum of T iid terms: its mean and variance are exact
(digamma and trigamma), and by the central limit theorem it is close to normal,
which gives medians and quantiles of sigma_T.

Convention (the course's, see the glossary): generation 0 is the first fit, to n real
draws from the truth N(mu_0, sigma_0^2); generation g is the (g+1)-th fit. Every function
here takes the *generation* g and works with the number of fits T = g + 1. The first fit
sees real data, so the sampling bias lambda acts on the g later fits only. The essay's
"after 1,000 iterations" (1,000 fits) is generation 999.
"""
from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, polygamma
from scipy.stats import norm

from ..core.validation import check_float, check_int


def fits(generation):
    """The number of fits behind ``generation`` (array-like): T = generation + 1."""
    generation = np.asarray(generation, dtype=float)
    if np.any(generation < 0):
        raise ValueError(f"generation must be >= 0, got {generation.min()}")
    return generation + 1


def _args(n, generation, ddof, sampling_bias=1.0):
    """Checked arguments, with the generation turned into the number of fits T."""
    n = check_int("n", n, 2)
    ddof = check_int("ddof", ddof, 0, 1)
    sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    return n, fits(generation), ddof, sampling_bias


def log_var_step_mean(n: int, ddof: int = 0, sampling_bias: float = 1.0) -> float:
    """E[ln(sigma_t^2 / sigma_{t-1}^2)] = psi((n-1)/2) + ln(2/(n-ddof)) + ln(lambda)."""
    n, _, ddof, lam = _args(n, 0, ddof, sampling_bias)
    return float(digamma((n - 1) / 2) + np.log(2 / (n - ddof)) + np.log(lam))


def log_var_step_var(n: int) -> float:
    """Var[ln(sigma_t^2 / sigma_{t-1}^2)] = psi'((n-1)/2), about 2/(n-1)."""
    n = check_int("n", n, 2)
    return float(polygamma(1, (n - 1) / 2))


def _biased_steps(T):
    return np.maximum(T - 1, 0)  # every fit after the first sees data drawn with sampling bias


def log_var_mean(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """E[ln sigma_T^2] (exact)."""
    n, T, ddof, lam = _args(n, generation, ddof, sampling_bias)
    return 2 * np.log(sigma0) + T * log_var_step_mean(n, ddof) + _biased_steps(T) * np.log(lam)


def log_var_var(n: int, generation):
    """Var[ln sigma_T^2] (exact)."""
    return fits(generation) * log_var_step_var(n)


def expected_var(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """E[sigma_T^2] = sigma_0^2 ((n-1)/(n-ddof))^T lambda^(T-1): a martingale for ddof=1 and lambda=1."""
    n, T, ddof, lam = _args(n, generation, ddof, sampling_bias)
    return sigma0**2 * np.exp(T * np.log((n - 1) / (n - ddof)) + _biased_steps(T) * np.log(lam))


def expected_std(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """E[sigma_T] = sigma_0 [sqrt(2/(n-ddof)) Gamma(n/2)/Gamma((n-1)/2)]^T lambda^((T-1)/2)."""
    n, T, ddof, lam = _args(n, generation, ddof, sampling_bias)
    log_step = 0.5 * np.log(2 / (n - ddof)) + gammaln(n / 2) - gammaln((n - 1) / 2)
    return sigma0 * np.exp(T * log_step + 0.5 * _biased_steps(T) * np.log(lam))


def std_quantile(q, n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """Quantile q of sigma_T from the normal (CLT) law of ln sigma_T^2; exact at q=0.5 up to the skew."""
    q = np.asarray(q, dtype=float)
    if np.any((q <= 0) | (q >= 1)):
        raise ValueError("q must lie in (0, 1)")
    mean = log_var_mean(n, generation, ddof, sampling_bias, sigma0)
    sd = np.sqrt(log_var_var(n, generation))
    return np.exp(0.5 * (mean + norm.ppf(q) * sd))


def median_std(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """Median of sigma_T (CLT): exp(E[ln sigma_T^2] / 2)."""
    return std_quantile(0.5, n, generation, ddof, sampling_bias, sigma0)


def prob_std_below(threshold: float, n: int, generation, ddof: int = 0, sampling_bias: float = 1.0,
                   sigma0: float = 1.0):
    """P(sigma_T < threshold) from the normal law of ln sigma_T^2."""
    threshold = check_float("threshold", threshold, 0.0, open_minimum=True)
    mean = log_var_mean(n, generation, ddof, sampling_bias, sigma0)
    sd = np.sqrt(np.maximum(log_var_var(n, generation), 1e-300))
    return norm.cdf((2 * np.log(threshold) - mean) / sd)


def mean_drift(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """E[(mu_T - mu_0)^2] = (sigma_0^2/n) [1 + lambda r sum_{s<T-1} (lambda r)^s], r = (n-1)/(n-ddof).

    With lambda = 1 this is (sigma_0^2/n) sum_{t<T} r^t: it grows like T/n for
    ddof=1 (the mean random-walks away) and stays bounded for ddof=0."""
    n, T, ddof, lam = _args(n, generation, ddof, sampling_bias)
    ratio = lam * (n - 1) / (n - ddof)
    steps = _biased_steps(T)
    geometric = steps if ratio == 1.0 else (1 - ratio**steps) / (1 - ratio)
    return sigma0**2 / n * (1 + lam * (n - 1) / (n - ddof) * geometric)


def w2_squared(mean1, std1, mean2=0.0, std2=1.0):
    """Squared 2-Wasserstein distance between N(mean1, std1^2) and N(mean2, std2^2)."""
    return (np.asarray(mean1) - mean2) ** 2 + (np.asarray(std1) - std2) ** 2


def expected_w2_squared(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0):
    """E[W2^2] between the generation-T fit and the truth N(0, 1)."""
    return (
        mean_drift(n, generation, ddof, sampling_bias)
        + expected_var(n, generation, ddof, sampling_bias)
        - 2 * expected_std(n, generation, ddof, sampling_bias)
        + 1.0
    )


def log_det_step_mean(n: int, dim: int, ddof: int = 0, sampling_bias: float = 1.0) -> float:
    """E[ln det Sigma_t - ln det Sigma_{t-1}] in d dimensions (Wishart log-determinant):
    sum_{i=1..d} psi((n-i)/2) + d ln(2 lambda/(n-ddof))."""
    n = check_int("n", n, 2)
    dim = check_int("dim", dim, 1)
    if n <= dim:
        raise ValueError(f"n must exceed dim for a full-rank covariance, got n={n}, dim={dim}")
    i = np.arange(1, dim + 1)
    return float(digamma((n - i) / 2).sum() + dim * np.log(2 * sampling_bias / (n - ddof)))


def kept_fraction_variance(n: int, kept_real_fraction: float, generation, ddof: int = 0):
    """Approximate E[sigma_t^2] when a share f of each training set is real N(0, 1) data:
    v_t = f + (1 - f) r v_{t-1}, r = (n-1)/(n-ddof), so v_t = v* + (1 - v*) ((1-f) r)^t with
    v* = f / (1 - (1-f) r). It ignores the spread between the real and synthetic means."""
    n, T, ddof, _ = _args(n, generation, ddof)
    f = check_float("kept_real_fraction", kept_real_fraction, 0.0, 1.0)
    r = (n - 1) / (n - ddof)
    decay = (1 - f) * r
    fixed = f / (1 - decay) if decay < 1 else 1.0
    return fixed + (1 - fixed) * decay**T


def mixed_fixed_point_variance(synthetic_share: float, sampling_bias: float = 1.0):
    """Stationary variance of a loop whose training data is a share s of synthetic items drawn with
    sampling bias lambda and 1 - s fresh real N(0, 1) items (large n): v* = (1 - s) / (1 - s lambda)."""
    s = check_float("synthetic_share", synthetic_share, 0.0, 1.0)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    return (1 - s) / (1 - s * lam) if s * lam < 1 else float("nan")


# ---------------------------------------------------------------- rates in closed form, to first order in 1/n

def median_std_rate(n: int, ddof: int = 0) -> float:
    """First-order rate r of median(sigma_T) ~ e^{-r T}: 1/n for ddof=0, 1/(2(n-1)) for ddof=1.

    From psi(x) ~ ln x - 1/(2x): the log-variance step is about ln((n-1)/(n-ddof)) - 1/(n-1),
    i.e. -2/n (ddof=0) or -1/(n-1) (ddof=1), and the median of sigma is exp(half the drift)."""
    n, _, ddof, _ = _args(n, 0, ddof)
    return 1.0 / n if ddof == 0 else 1.0 / (2.0 * (n - 1))


def median_std_approx(n: int, generation, ddof: int = 0) -> np.ndarray:
    """median(sigma_T) ~ e^{-r T} with r from :func:`median_std_rate` and T = generation + 1 fits."""
    return np.exp(-median_std_rate(n, ddof) * fits(generation))


def log_det_step_approx(n: int, dim: int, ddof: int = 0) -> float:
    """First-order log-det drift per generation: -d(d+3)/(2n) for ddof=0, -d(d+1)/(2n) for ddof=1.

    Each psi((n-i)/2) ~ ln((n-i)/2) - 1/(n-i); summing ln((n-i)/(n-ddof)) ~ -(i-ddof)/n over i=1..d
    and the d terms -1/n gives -(d(d+1)/2 + d(1-ddof))/n."""
    n = check_int("n", n, 2)
    dim = check_int("dim", dim, 1)
    ddof = check_int("ddof", ddof, 0, 1)
    return -dim * (dim + 3 - 2 * ddof) / (2.0 * n)


def log_det_drift_ratio(n: int, dim: int, ddof: int = 0) -> float:
    """Exact ratio of the d-dimensional log-det drift to the 1-D log-variance drift (same n, ddof).

    To first order d(d+3)/4 for ddof=0 (about 33 at d=10) and d(d+1)/2 for ddof=1."""
    return log_det_step_mean(n, dim, ddof) / log_det_step_mean(n, 1, ddof)


# ---------------------------------------------------------------- Monte-Carlo error of "ours vs the paper"

def std_of_std(n: int, generation, ddof: int = 0, sampling_bias: float = 1.0, sigma0: float = 1.0):
    """Exact spread of sigma_T over runs: sqrt(E[sigma_T^2] - E[sigma_T]^2)."""
    second = expected_var(n, generation, ddof, sampling_bias, sigma0)
    first = expected_std(n, generation, ddof, sampling_bias, sigma0)
    return np.sqrt(np.maximum(second - first**2, 0.0))


def mean_std_standard_error(n: int, generation, runs: int, ddof: int = 0, sampling_bias: float = 1.0,
                            sigma0: float = 1.0):
    """Standard error of the average of sigma_T over ``runs`` independent runs (exact moments).

    sigma_T is close to log-normal with sd(ln sigma_T) = sqrt(T psi'((n-1)/2)) / 2, so its
    relative spread grows with T: at n=1000 and 10,000 fits the average of 1,000 runs carries
    about 40% relative error; at 1,000 fits the average of 10 runs carries about 0.12."""
    runs = check_int("runs", runs, 1)
    return std_of_std(n, generation, ddof, sampling_bias, sigma0) / np.sqrt(runs)


def sample_mean_se(values) -> tuple[float, float]:
    """Mean of ``values`` and its Monte-Carlo standard error, std(ddof=1)/sqrt(count)."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise ValueError(f"values must hold at least 2 numbers for a standard error, got {values.size}")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def normal_share_in_range(mean: float, std: float, low: float, high: float) -> float:
    """P(low < X < high) for X ~ N(mean, std^2): e.g. the share of a one-Gaussian hue fit's cats in a colour range."""
    std = check_float("std", std, 0.0, open_minimum=True)
    if not high > low:
        raise ValueError(f"high must exceed low, got low={low}, high={high}")
    return float(norm.cdf((high - mean) / std) - norm.cdf((low - mean) / std))


def var_mean_standard_error(n: int, generation, runs: int, ddof: int = 0, sampling_bias: float = 1.0):
    """Standard error of the average of sigma_T^2 over ``runs`` runs, from the exact second moment
    E[sigma_T^4] = [(n-1)(n+1)/(n-ddof)^2]^T lambda^(2(T-1)). A sample's own spread understates it
    when the runs that carry the tail are too rare to be drawn."""
    n, T, ddof, lam = _args(n, generation, ddof, sampling_bias)
    runs = check_int("runs", runs, 1)
    log_fourth = T * np.log((n - 1) * (n + 1) / (n - ddof) ** 2) + 2 * _biased_steps(T) * np.log(lam)
    second = expected_var(n, generation, ddof, sampling_bias)
    return np.sqrt(np.maximum(np.exp(log_fourth) - second**2, 0.0) / runs)


def generations_until_median_below(threshold: float, n: int, ddof: int = 0, sampling_bias: float = 1.0,
                                   sigma0: float = 1.0) -> int:
    """The first generation whose median fitted sigma (:func:`median_std`) is below ``threshold``.

    ln(median sigma^2) is linear in the number of fits T = g + 1 (its mean, :func:`log_var_mean`), so the
    crossing is solved exactly: T * (step + ln lambda) < 2 ln(threshold / sigma0) + ln lambda.
    """
    threshold = check_float("threshold", threshold, 0.0, open_minimum=True)
    sigma0 = check_float("sigma0", sigma0, 0.0, open_minimum=True)
    if threshold >= sigma0:
        raise ValueError(f"threshold must be below sigma0={sigma0} (the median only falls), got {threshold}")
    n, _, ddof, lam = _args(n, 0, ddof, sampling_bias)
    rate = log_var_step_mean(n, ddof) + np.log(lam)  # per fit, negative
    fits_needed = (2 * np.log(threshold / sigma0) + np.log(lam)) / rate
    # the smallest T strictly above fits_needed is floor(fits_needed) + 1, i.e. generation floor(fits_needed)
    return max(int(np.floor(fits_needed)), 0)


def replace_summary(n: int, generations: int, replicates: int, ddof: int = 0, sampling_bias: float = 1.0,
                    dim: int = 1) -> dict[str, float]:
    """The closed forms of the plain replace chain at its last generation, as the ``gaussian`` experiment
    reports them beside the simulation: sigma (mean with the standard error of a ``replicates``-run
    average, median), variance, the mean's drift, W2^2 to the truth (1-D), ln det of the covariance (d > 1)."""
    T, lam = generations, sampling_bias
    if dim > 1:
        return {"theory_log_det_cov_mean": float((T + 1) * log_det_step_mean(n, dim, ddof) + T * dim * np.log(lam))}
    return {
        "theory_std_mean": float(expected_std(n, T, ddof, lam)),
        "theory_std_mean_se": float(mean_std_standard_error(n, T, replicates, ddof, lam)),
        "theory_std_median": float(median_std(n, T, ddof, lam)),
        "theory_var_mean": float(expected_var(n, T, ddof, lam)),
        "theory_mean_sq": float(mean_drift(n, T, ddof, lam)),
        "theory_w2_sq_mean": float(expected_w2_squared(n, T, ddof, lam)),
    }
