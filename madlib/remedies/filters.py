"""Curation hooks for the one loop (chapter 6): filters and reweightings of synthetic items.

Each remedy is a ``curate`` hook for :func:`madlib.core.loop.run_loop`: it sees the
synthetic items of a generation (and the model that made them) and returns a
weight per item, 0 to drop it. Workflow remedies (accumulate, fresh data, a kept
real fraction) are loop settings and need no hook.

* :class:`VerifierFilter` -- an *oracle* verifier that knows the real density accepts
  each item with probability proportional to p_real(x) / p_model(x) (rejection
  sampling towards the truth), or reweights by that ratio: an upper bound on what
  any verifier can do;
* :class:`LearnedVerifier` -- an *imperfect* verifier: a logistic regression trained to tell a
  small real set from the candidates estimates the ratio and accepts by it;
* :class:`SelfLikelihoodFilter` -- keeps the items the generator itself finds most
  likely: curation by the model's own taste, which is sampling bias;
* :class:`ProvenanceFilter` -- a detector of synthetic data with a miss rate: the
  detected items are dropped, the missed ones leak in;
* :class:`TailReweighting` -- upweights items the model finds unlikely,
  w ~ p_model(x)^(-strength), to resist the loss of tails.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..core.select import keep_top, keep_top_fraction
from ..core.validation import check_float, check_fraction, check_int

LogProb = Callable[[torch.Tensor], torch.Tensor]


def model_log_prob(model, items: torch.Tensor) -> torch.Tensor:
    """log p_model(items), ``(R, m)``: every family that can score has ``log_prob`` (the protocol)."""
    if not hasattr(model, "log_prob"):
        raise ValueError(f"{type(model).__name__} has no log_prob; this remedy needs a model that can score items")
    return model.log_prob(items)


def _normalise(weights: torch.Tensor) -> torch.Tensor:
    """Scale weights so each replicate's weights average 1 (the effective data size stays honest)."""
    return weights / weights.mean(dim=1, keepdim=True).clamp_min(1e-300)


def acceptance_probability(log_p_real: torch.Tensor, log_p_model: torch.Tensor) -> torch.Tensor:
    """A verifier's acceptance probability r(x) / max r per candidate, r = p_real / p_model; ``(R, m)``.

    The maximum is taken per replicate (row): each world has its own model. Computed in log
    space, so log-densities of -1000 neither underflow nor overflow. Items the model cannot
    have drawn (log p_model = -inf) or that are impossible under the real data get 0.
    """
    if log_p_real.shape != log_p_model.shape or log_p_real.ndim != 2:
        raise ValueError(f"log_p_real and log_p_model must both be (R, m), got {tuple(log_p_real.shape)} "
                         f"and {tuple(log_p_model.shape)}")
    log_ratio = log_p_real.to(torch.float64) - log_p_model.to(torch.float64)
    log_ratio = torch.nan_to_num(log_ratio, nan=-np.inf, posinf=np.inf)
    return (log_ratio - log_ratio.max(dim=1, keepdim=True).values).exp().nan_to_num(0.0)


def reject_by_log_ratio(log_ratio: torch.Tensor, generator: torch.Generator, max_keep: int | None,
                        min_keep: int) -> torch.Tensor:
    """0/1 weights: accept each candidate with probability r / max r (rejection sampling), keep at most
    ``max_keep`` accepted ones at random and at least ``min_keep`` (the highest ratios) per replicate."""
    ratio = (log_ratio - log_ratio.max(dim=1, keepdim=True).values).exp()
    u = torch.rand(ratio.shape, generator=generator, device=generator.device, dtype=torch.float64)
    accepted = (u.to(ratio.device) < ratio).to(torch.float64)
    if max_keep is not None:
        # keep a random max_keep of the accepted items: the training size stays that of the other loops
        keys = torch.rand(ratio.shape, generator=generator, device=generator.device, dtype=torch.float64)
        keys = keys.to(ratio.device) + (1 - accepted) * 2  # accepted first, in random order
        rank = keys.argsort(dim=1).argsort(dim=1)
        accepted = accepted * (rank < max_keep)
    short = accepted.sum(dim=1) < min_keep
    if bool(short.any()):
        best = keep_top(log_ratio[short], min(min_keep, log_ratio.shape[1]))
        accepted[short] = torch.maximum(accepted[short], best)
    return accepted


class VerifierFilter:
    """A verifier that knows the real distribution's log-density ``reference_log_prob``.

    With r = p_real / p_model, ``mode="reject"`` accepts x with probability
    r(x) / max r (the max over the generation's candidates): rejection sampling,
    so the accepted items follow the real distribution wherever the model still
    puts mass (it cannot bring back what the model lost entirely). Draw more
    candidates than you need (the loop's ``n_synthetic``) and set ``max_keep`` to
    the training size. ``mode="importance"`` keeps every item, weighted by r
    clipped at its ``clip_quantile`` and self-normalised. At least ``min_keep``
    items (default a quarter of ``max_keep``, at least 2) are kept, the highest
    ratios first, so a replicate whose model strayed far never trains on a handful.
    """

    def __init__(self, reference_log_prob: LogProb, mode: str = "reject", max_keep: int | None = None,
                 clip_quantile: float = 0.99, min_keep: int | None = None):
        if mode not in ("reject", "importance"):
            raise ValueError(f"mode must be 'reject' or 'importance', got {mode!r}")
        self.reference_log_prob = reference_log_prob
        self.mode = mode
        self.max_keep = None if max_keep is None else check_int("max_keep", max_keep, 2)
        self.clip_quantile = check_fraction("clip_quantile", clip_quantile)
        default_min = max(2, (self.max_keep or 0) // 4)
        self.min_keep = default_min if min_keep is None else check_int("min_keep", min_keep, 0)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model) -> torch.Tensor:
        log_ratio = (self.reference_log_prob(synthetic).to(torch.float64)
                     - model_log_prob(model, synthetic).to(torch.float64))
        log_ratio = torch.nan_to_num(log_ratio, nan=-np.inf, posinf=np.inf)
        if self.mode == "importance":
            cap = torch.quantile(log_ratio.clamp(-1e300, 1e300), self.clip_quantile, dim=1, keepdim=True)
            return _normalise((log_ratio.clamp(max=cap) - cap).exp())
        return reject_by_log_ratio(log_ratio, generator, self.max_keep, self.min_keep)


Features = Callable[[torch.Tensor], torch.Tensor]


def fit_logistic(features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *, l2: float = 1e-2,
                 iterations: int = 30) -> torch.Tensor:
    """Batched L2-penalised logistic regression by Newton's method: coefficients ``(R, k)``.

    ``features (R, N, k)`` (include a constant column), ``labels (R, N)`` in {0, 1}, ``weights (R, N)``.
    The penalty ``l2`` (on every coefficient but the first) keeps separable data finite.
    """
    features = features.to(torch.float64)
    labels = labels.to(torch.float64)
    weights = weights.to(torch.float64)
    R, N, k = features.shape
    penalty = torch.full((k,), float(l2), dtype=torch.float64, device=features.device)
    penalty[0] = 1e-8  # the intercept is not shrunk
    theta = torch.zeros(R, k, dtype=torch.float64, device=features.device)
    for _ in range(iterations):
        p = torch.sigmoid(torch.einsum("rnk,rk->rn", features, theta))
        gradient = torch.einsum("rn,rnk->rk", weights * (labels - p), features) - penalty * theta
        curvature = weights * p * (1 - p)
        hessian = torch.einsum("rn,rnk,rnj->rkj", curvature, features, features) + torch.diag(penalty)
        step = torch.linalg.solve(hessian, gradient[..., None])[..., 0]
        theta = theta + step
        if float(step.abs().max()) < 1e-9:
            break
    return theta


class LearnedVerifier:
    """An imperfect verifier: a classifier trained to tell a small real set from the candidates.

    Each generation, a logistic regression on ``features(x)`` (a constant column first) learns to
    separate ``real_items`` (a fixed set of real items, ``(R, n_ref, ...)``, or ``(1, n_ref, ...)``
    shared by every replicate) from that generation's synthetic candidates, the two classes weighted
    equally. Its logit then estimates log p_real(x) / p_model(x) (the density-ratio trick), and the
    candidates are accepted by that *estimated* ratio exactly as :class:`VerifierFilter` accepts by the
    true one. It knows only what ``n_ref`` real items and the feature map can tell it: with
    quadratic features it can correct a Gaussian's spread, not shapes beyond second moments.
    """

    def __init__(self, real_items: torch.Tensor, features: Features, max_keep: int | None = None,
                 l2: float = 1e-2, min_keep: int | None = None):
        if real_items.ndim < 2 or real_items.shape[1] < 2:
            raise ValueError(f"real_items must be (R, n_ref, ...) with n_ref >= 2, got {tuple(real_items.shape)}")
        self.real_items = real_items
        self.features = features
        self.max_keep = None if max_keep is None else check_int("max_keep", max_keep, 2)
        self.l2 = check_float("l2", l2, 0.0)
        default_min = max(2, (self.max_keep or 0) // 4)
        self.min_keep = default_min if min_keep is None else check_int("min_keep", min_keep, 0)

    def log_ratio(self, synthetic: torch.Tensor) -> torch.Tensor:
        """The classifier's estimate of log p_real / p_model for each candidate, ``(R, m)``."""
        R, m = synthetic.shape[:2]
        real = self.real_items.to(synthetic.device)
        if real.shape[0] == 1 and R > 1:
            real = real.expand(R, *real.shape[1:])
        if real.shape[0] != R:
            raise ValueError(f"real_items has {real.shape[0]} replicates, the candidates {R}")
        f_real, f_syn = self.features(real).to(torch.float64), self.features(synthetic).to(torch.float64)
        both = torch.cat([f_real, f_syn], dim=1)
        # standardise the non-constant columns per replicate: Newton's steps and the penalty see one scale
        mean = both[..., 1:].mean(dim=1, keepdim=True)
        std = both[..., 1:].std(dim=1, keepdim=True).clamp_min(1e-12)
        both = torch.cat([both[..., :1], (both[..., 1:] - mean) / std], dim=-1)
        n_ref = real.shape[1]
        labels = torch.cat([torch.ones(R, n_ref), torch.zeros(R, m)], dim=1).to(both.device)
        # equal total weight per class: the logit is then the log density ratio, not shifted by m / n_ref
        weights = torch.cat([torch.full((R, n_ref), 0.5 / n_ref), torch.full((R, m), 0.5 / m)], dim=1)
        theta = fit_logistic(both, labels, weights.to(both.device) * (n_ref + m), l2=self.l2)
        return torch.einsum("rmk,rk->rm", both[:, n_ref:], theta)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model=None) -> torch.Tensor:
        return reject_by_log_ratio(self.log_ratio(synthetic), generator, self.max_keep, self.min_keep)


def quadratic_features(items: torch.Tensor) -> torch.Tensor:
    """``[1, x, x x^T (upper triangle)]`` of vector items ``(R, m, d)``: the log-ratio of two Gaussians is quadratic."""
    if items.ndim != 3:
        raise ValueError(f"items must be (R, m, d), got {tuple(items.shape)}")
    x = items.to(torch.float64)
    d = x.shape[-1]
    rows, cols = torch.triu_indices(d, d)
    products = x[..., rows] * x[..., cols]
    return torch.cat([torch.ones_like(x[..., :1]), x, products], dim=-1)


def one_hot_features(num_categories: int) -> Features:
    """``[1, one-hot(category) without the first]`` of categorical items ``(R, m)`` or ``(R, m, 1)``."""
    num_categories = check_int("num_categories", num_categories, 2)

    def features(items: torch.Tensor) -> torch.Tensor:
        codes = (items[..., 0] if items.ndim == 3 else items).long()
        one_hot = torch.nn.functional.one_hot(codes, num_categories).to(torch.float64)
        return torch.cat([torch.ones_like(one_hot[..., :1]), one_hot[..., 1:]], dim=-1)

    return features


class SelfLikelihoodFilter:
    """Keep the ``keep_fraction`` of items the generating model finds most likely (cherry-picking)."""

    def __init__(self, keep_fraction: float = 0.8):
        self.keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, open_minimum=True)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model) -> torch.Tensor:
        return keep_top_fraction(model_log_prob(model, synthetic), self.keep_fraction, generator)


class ProvenanceFilter:
    """A detector of synthetic data that misses a share ``miss_rate`` of it: missed items leak into training."""

    def __init__(self, miss_rate: float):
        self.miss_rate = check_fraction("miss_rate", miss_rate)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model=None) -> torch.Tensor:
        u = torch.rand(synthetic.shape[:2], generator=generator, device=generator.device, dtype=torch.float64)
        weights = (u < self.miss_rate).to(torch.float64).to(synthetic.device)
        if self.miss_rate > 0:
            # never hand a fit an empty replicate: keep one item where the detector caught all
            empty = weights.sum(dim=1) == 0
            weights[empty, 0] = 1.0
        return weights


class TailReweighting:
    """Upweight rare items: w ~ p_model(x)^(-strength), self-normalised (0 = no reweighting).

    For a Gaussian, weighting N(mu, s^2) samples by exp(strength * z^2 / 2) inflates
    the weighted variance by 1 / (1 - strength). strength = 2/n cancels the drift of
    ln sigma^2 (the *median* run's shrinkage by the maximum-likelihood fit), after which
    E[sigma^2] grows by about (1 + 1/n) a generation; strength = 1/n keeps E[sigma^2]
    instead. Either way the fits get noisier (a smaller effective sample size).
    """

    def __init__(self, strength: float, max_weight: float = 50.0):
        self.strength = check_float("strength", strength, 0.0, 0.99)
        self.max_weight = check_float("max_weight", max_weight, 1.0)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model) -> torch.Tensor:
        log_prob = model_log_prob(model, synthetic).to(torch.float64)
        log_w = -self.strength * log_prob
        log_w = log_w - log_w.mean(dim=1, keepdim=True)
        return _normalise(log_w.exp().clamp_max(self.max_weight))


def effective_sample_size(weights: torch.Tensor) -> torch.Tensor:
    """Kish's effective sample size (sum w)^2 / sum w^2 per replicate: what reweighting costs."""
    weights = torch.as_tensor(weights, dtype=torch.float64)
    return weights.sum(dim=1) ** 2 / (weights**2).sum(dim=1).clamp_min(1e-300)


def generations_to_collapse(generations: Sequence[int], relative_quality: Sequence[float],
                            threshold: float = 0.5) -> int | None:
    """First generation whose quality, relative to generation 0 (1.0), falls below ``threshold``; None if never."""
    threshold = check_float("threshold", threshold, 0.0, 1.0, open_minimum=True)
    generations = np.asarray(generations)
    values = np.asarray(relative_quality, dtype=float)
    if generations.shape != values.shape:
        raise ValueError("generations and relative_quality must have the same length")
    below = np.flatnonzero(values < threshold)
    return int(generations[below[0]]) if below.size else None
