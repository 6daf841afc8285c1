r"""Closed forms for judged synthetic data: verification, a verifier's own bias, and curation by a reward.

* **A verifier's breakdown point** (our toy in the spirit of Feng et al. 2024, "Beyond Model Collapse"):
  a generator labels synthetic points of a two-Gaussian classification task ``x ~ N(y mu, I_d)`` with a
  label error rate ``p``; a verifier keeps a correct label with probability ``phi`` and a wrong one with
  probability ``psi`` (its *false-accept rate*); a linear classifier is fitted to the kept points. The
  kept labels are wrong at the rate :func:`kept_label_error`, independent of x, so the fitted direction is
  ``(1 - 2 p') mu`` plus noise: with unlimited data the classifier is optimal when ``p' < 1/2`` and the
  worst possible when ``p' > 1/2``, a phase transition at :func:`breakdown_false_accept`
  ``psi* = phi (1 - p) / p``. With N kept points the step is smoothed over a width ~ ``1/sqrt(N)``
  (:func:`verifier_accuracy`, exact up to a deterministic Monte-Carlo integral).
* **A biased verifier converges to its knowledge center** (our toy of Yi, Liu, Cheng and Xu 2025): linear
  regression refitted on its own labels, where a verifier whose own estimate is ``theta_c`` keeps the
  candidates whose residual ``|y - x.theta_c|`` is at most ``tau``. With unlimited data the fit moves
  along ``delta = w - theta_c`` by the factor :func:`band_verifier_contraction` ``kappa(||delta||) < 1``
  each generation: the loop contracts to ``theta_c``, not to the truth ``w*``.
* **Curation is reward maximisation** (Ferbach, Bertrand, Bose and Gidel 2024): keeping one of K candidates
  with Bradley-Terry probabilities ``e^{r(x)} / sum_j e^{r(x_j)}`` turns ``p_t`` into
  ``p_t(x) H_t(x)`` (:func:`pairwise_curation_step` for K = 2, exact); as K grows, ``p_t e^r / E_{p_t}[e^r]``
  (:func:`softmax_curation_step`). Iterated, the distribution piles onto the reward's maximum (bias
  amplification); a share rho of real data each generation holds it at a fixed point (:func:`curation_path`).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..core.validation import check_float, check_int

# ----------------------------------------------------------------------------- verification (Feng et al.)


def kept_label_error(label_error: float, false_accept: float, true_accept: float = 1.0) -> float:
    """The share of wrong labels among the kept ones: ``p psi / (p psi + (1 - p) phi)``."""
    p = check_float("label_error", label_error, 0.0, 1.0)
    psi = check_float("false_accept", false_accept, 0.0, 1.0)
    phi = check_float("true_accept", true_accept, 0.0, 1.0)
    kept = p * psi + (1 - p) * phi
    if kept == 0:
        raise ValueError("the verifier keeps nothing (false_accept and true_accept are both 0 where they matter)")
    return p * psi / kept


def breakdown_false_accept(label_error: float, true_accept: float = 1.0) -> float:
    """The verifier's false-accept rate ``psi* = phi (1 - p) / p`` at which the kept labels are wrong half the
    time: below it the trained classifier tends to the optimum, above it to the worst (``inf`` when p <= 1/2
    and phi = 1: then no verifier, even one that accepts everything, breaks it)."""
    p = check_float("label_error", label_error, 0.0, 1.0)
    phi = check_float("true_accept", true_accept, 0.0, 1.0)
    return float("inf") if p == 0 else phi * (1 - p) / p


def optimal_accuracy(signal: float) -> float:
    """The Bayes accuracy ``Phi(||mu||)`` of the two-Gaussian task ``x ~ N(y mu, I)``, ``signal = ||mu||``."""
    return float(norm.cdf(check_float("signal", signal, 0.0)))


def limit_accuracy(label_error: float, false_accept: float, signal: float, true_accept: float = 1.0) -> float:
    """The test accuracy with unlimited kept data: ``Phi(||mu||)``, 1/2 or ``1 - Phi(||mu||)`` as ``p' <, =, > 1/2``."""
    wrong = kept_label_error(label_error, false_accept, true_accept)
    best = optimal_accuracy(signal)
    return best if wrong < 0.5 else (0.5 if wrong == 0.5 else 1 - best)


def verifier_accuracy(label_error: float, false_accept: float, signal: float, dim: int, kept: int,
                      true_accept: float = 1.0, draws: int = 200_000) -> float:
    """Expected test accuracy of the mean-difference classifier ``w = mean(y' x)`` fitted to ``kept`` points.

    ``w ~ N(a mu, ((1 - a^2) mu mu^T + I) / N)`` with ``a = 1 - 2 p'``, and the accuracy of ``sign(w.x)`` is
    ``Phi(w.mu / ||w||)``; its expectation over w is a two-dimensional integral (the component along mu and the
    squared norm across it), computed here by a fixed-seed Monte Carlo of ``draws`` points (deterministic)."""
    dim = check_int("dim", dim, 1)
    kept = check_int("kept", kept, 1)
    s = check_float("signal", signal, 0.0, open_minimum=True)
    a = 1 - 2 * kept_label_error(label_error, false_accept, true_accept)
    rng = np.random.default_rng(0)
    along = a * s + np.sqrt(((1 - a * a) * s * s + 1) / kept) * rng.standard_normal(draws)
    across = rng.chisquare(dim - 1, draws) / kept if dim > 1 else np.zeros(draws)
    return float(norm.cdf(s * along / np.sqrt(along**2 + across)).mean())


# ----------------------------------------------------------------------------- a biased verifier (Yi et al.)

def band_acceptance(distance: float, tolerance: float, noise_std: float = 1.0) -> float:
    """The share of candidates the band verifier keeps, ``P(|x.delta + e| <= tau) = 2 Phi(tau / s) - 1`` with
    ``s^2 = ||delta||^2 + sigma^2`` (``distance = ||delta|| = ||w - theta_c||``)."""
    s = np.hypot(check_float("distance", distance, 0.0), check_float("noise_std", noise_std, 0.0, open_minimum=True))
    return float(2 * norm.cdf(check_float("tolerance", tolerance, 0.0, open_minimum=True) / s) - 1)


def band_verifier_contraction(distance: float, tolerance: float, noise_std: float = 1.0) -> float:
    r"""The factor ``kappa`` by which one generation shrinks ``||w - theta_c||`` with unlimited data:
    ``kappa = (1 - g)(a^2 + sigma^2) / (a^2 (1 - g) + sigma^2)`` with ``a = ||w - theta_c||``,
    ``g = 2 t phi(t) / (2 Phi(t) - 1)`` and ``t = tau / sqrt(a^2 + sigma^2)`` (0 < kappa < 1).

    Derivation: the kept candidates' noise is biased against ``x.delta`` (a truncated bivariate normal), so least
    squares on them moves w towards theta_c by ``E[x e | kept] / E[(x.delta/a)^2 | kept]`` along delta."""
    a = check_float("distance", distance, 0.0)
    sigma = check_float("noise_std", noise_std, 0.0, open_minimum=True)
    t = check_float("tolerance", tolerance, 0.0, open_minimum=True) / np.hypot(a, sigma)
    g = 2 * t * norm.pdf(t) / (2 * norm.cdf(t) - 1)
    return float((1 - g) * (a * a + sigma * sigma) / (a * a * (1 - g) + sigma * sigma))


def band_verifier_path(start_distance: float, tolerance: float, generations: int, noise_std: float = 1.0) -> np.ndarray:
    """``||w_t - theta_c||`` for t = 0..generations with unlimited data: iterated :func:`band_verifier_contraction`."""
    out = np.empty(check_int("generations", generations, 0) + 1)
    out[0] = check_float("start_distance", start_distance, 0.0)
    for t in range(1, out.size):
        out[t] = out[t - 1] * band_verifier_contraction(out[t - 1], tolerance, noise_std)
    return out


def band_verifier_floor(tolerance: float, dim: int, kept: int, noise_std: float = 1.0) -> float:
    """The root-mean-square distance ``sqrt(E||w - theta_c||^2)`` at which a finite loop settles around the knowledge
    center: each fit on ``kept`` items adds a noise ``sigma^2 (1 - g) d / (kept - d - 1)`` (the kept labels' noise is
    truncated, ``g`` as in :func:`band_verifier_contraction` at ``a = 0``) and the map shrinks the rest by ``kappa``,
    so the squared distance settles at ``V / (1 - kappa^2)``."""
    dim = check_int("dim", dim, 1)
    kept = check_int("kept", kept, dim + 2)
    sigma = check_float("noise_std", noise_std, 0.0, open_minimum=True)
    t = check_float("tolerance", tolerance, 0.0, open_minimum=True) / sigma
    g = 2 * t * norm.pdf(t) / (2 * norm.cdf(t) - 1)
    kappa = band_verifier_contraction(0.0, tolerance, noise_std)
    return float(np.sqrt(sigma**2 * (1 - g) * dim / (kept - dim - 1) / (1 - kappa**2)))


# ----------------------------------------------------------------------------- curation (Ferbach et al.)

def _probs_and_reward(probs, reward) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=float)
    r = np.asarray(reward, dtype=float)
    if p.ndim != 1 or p.size < 2 or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("probs must be a probability vector (>= 2 non-negative entries summing to 1)")
    if r.shape != p.shape or not np.all(np.isfinite(r)):
        raise ValueError(f"reward must hold one finite number per category ({p.size}), got shape {r.shape}")
    return p, r


def pairwise_curation_step(probs, reward) -> np.ndarray:
    """The distribution of the item a curator keeps from two independent draws of ``probs``, choosing x over y
    with the Bradley-Terry probability ``sigmoid(r(x) - r(y))``: ``p(x) sum_y p(y) 2 sigmoid(r(x) - r(y))``."""
    p, r = _probs_and_reward(probs, reward)
    win = 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))  # P(x beats y)
    kept = p * (2 * win @ p)
    return kept / kept.sum()  # sums to 1 exactly in theory; renormalised against rounding over many steps


def softmax_curation_step(probs, reward) -> np.ndarray:
    """The many-candidate limit of curation: ``p e^r / sum p e^r`` (a step of reward tilting, as in RLHF)."""
    p, r = _probs_and_reward(probs, reward)
    tilted = p * np.exp(r - r.max())
    return tilted / tilted.sum()


def curation_path(start, reward, generations: int, *, real_share: float = 0.0, real=None,
                  comparisons: str = "pairwise") -> np.ndarray:
    """``p_t`` for t = 0..generations (rows) of the loop ``p_{t+1} = rho p_real + (1 - rho) C(p_t)`` with the
    curation step C (``comparisons``: "pairwise" or "softmax") and a real share rho of each training set."""
    rho = check_float("real_share", real_share, 0.0, 1.0)
    step = {"pairwise": pairwise_curation_step, "softmax": softmax_curation_step}.get(comparisons)
    if step is None:
        raise ValueError(f"comparisons must be 'pairwise' or 'softmax', got {comparisons!r}")
    p, r = _probs_and_reward(start, reward)
    base = p if real is None else _probs_and_reward(real, reward)[0]
    out = np.empty((check_int("generations", generations, 0) + 1, p.size))
    out[0] = p
    for t in range(1, out.shape[0]):
        out[t] = rho * base + (1 - rho) * step(out[t - 1], r)
    return out


def expected_reward(probs, reward) -> np.ndarray:
    """``E_p[r]`` for one probability vector or for each row of a path from :func:`curation_path`."""
    return np.asarray(probs, dtype=float) @ np.asarray(reward, dtype=float)


# ----------------------------------------------------------------------------- knowledge collapse (a toy)

def knowledge_collapse_distance(ai_share: float, truncation: float = 1.0) -> float:
    r"""Hellinger distance from the truth N(0, 1) of a public distribution that draws a share alpha of its knowledge
    from an AI that returns only the centre, the truth truncated to ``|x| <= c`` (our toy in the spirit of Peterson
    2024, whose agents choose between traditional and discounted AI-assisted learning; this is not his model).

    With ``Z = 2 Phi(c) - 1`` the affinity is ``Z sqrt(1 - alpha + alpha/Z) + (1 - Z) sqrt(1 - alpha)`` and
    ``H = sqrt(1 - affinity)``: 0 without AI, growing with alpha, largest when the AI is the only source."""
    alpha = check_float("ai_share", ai_share, 0.0, 1.0)
    z = 2 * norm.cdf(check_float("truncation", truncation, 0.0, open_minimum=True)) - 1
    affinity = z * np.sqrt(1 - alpha + alpha / z) + (1 - z) * np.sqrt(1 - alpha)
    return float(np.sqrt(max(0.0, 1 - affinity)))
