"""Gaussian mixtures fitted by EM, batched over replicate chains.

One call to :meth:`GMMFamily.fit` runs EM for R independent data sets at once:
every tensor carries a leading replicate axis ``R`` and a component axis ``K``,
so hundreds of chains cost about as much as one (and run on the GPU when the
data live there). Details that matter for a self-consuming loop:

* **initialisation** by k-means++ (seeded from the generator the loop passes)
  followed by a few batched Lloyd steps, so every generation starts sound;
* **covariance regularisation**: ``reg * I`` is added to every covariance, so a
  component sitting on a handful of identical points stays invertible;
* **dead components** (effective count below ``min_count``) are re-seeded on a
  random data point during the first half of EM and *dropped* after that (their
  weight becomes exactly 0, so they are never sampled). A mode that vanished
  from the data therefore vanishes from the model, cleanly, without NaNs;
* **frequency weights** (from the loop's ``curate`` hook) weight every item;
* two kinds of **sampling bias**: ``sampling_bias`` lambda scales every
  covariance (the MAD study's Gaussian bias), and ``keep_fraction`` keeps only the
  most likely share of a larger batch of candidates (what a person who keeps the
  "best-looking" samples does).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core.validation import check_choice, check_float, check_int
from ..core.select import n_candidates, top_indices

LOG_2PI = math.log(2 * math.pi)


@dataclass
class GMMModel:
    """R fitted mixtures: ``weights`` (R, K), ``means`` (R, K, d), ``covs`` (R, K, d, d), float64.

    A dropped component has weight exactly 0. ``keep_fraction`` (in (0, 1]) is the
    share of candidates :meth:`sample` keeps by likelihood (1 keeps all).
    """

    weights: torch.Tensor
    means: torch.Tensor
    covs: torch.Tensor
    keep_fraction: float = 1.0
    log_likelihood: torch.Tensor | None = None
    iterations: int = 0

    @property
    def replicates(self) -> int:
        return self.weights.shape[0]

    @property
    def n_components(self) -> int:
        return self.weights.shape[1]

    @property
    def dim(self) -> int:
        return self.means.shape[-1]

    @property
    def alive(self) -> torch.Tensor:
        """(R, K) bool: components with positive weight."""
        return self.weights > 0

    @property
    def mean(self) -> torch.Tensor:
        """Mixture mean (R, d)."""
        return (self.weights[..., None] * self.means).sum(1)

    @property
    def cov(self) -> torch.Tensor:
        """Mixture covariance (R, d, d): within- plus between-component spread."""
        centred = self.means - self.mean[:, None, :]
        between = torch.einsum("rk,rki,rkj->rij", self.weights, centred, centred)
        return torch.einsum("rk,rkij->rij", self.weights, self.covs) + between

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log density of items ``x`` (R, N, d) under each replicate's mixture: (R, N).

        A model with R = 1 scores every data set, and a data set with R = 1 is scored by every model.
        """
        x = _as_data(x).to(self.means.dtype)
        weights, means, covs = self.weights, self.means, self.covs
        R = max(x.shape[0], weights.shape[0])
        if weights.shape[0] != R:  # one model scoring R data sets, or R models scoring one shared set
            weights, means, covs = weights.expand(R, -1), means.expand(R, -1, -1), covs.expand(R, -1, -1, -1)
        if x.shape[0] != R:
            x = x.expand(R, -1, -1)
        model = GMMModel(weights, means, covs)
        centre = model.mean[:, None, :]  # centring keeps the feature expansion free of cancellation
        chol = torch.linalg.cholesky(covs)
        return torch.logsumexp(_component_log_prob(x - centre, weights, means - centre, chol), 1)

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None, keep_fraction: float | None = None) -> torch.Tensor:
        """Draw ``n`` items per replicate, ``(R, n, d)``.

        ``sampling_bias`` lambda scales every covariance (1: the fitted model as it is).
        ``keep_fraction`` (default: the model's) draws ``ceil(n / keep_fraction)`` candidates
        and keeps the ``n`` most likely under the unbiased model.
        """
        n = check_int("n", n, 0)
        lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        keep = self.keep_fraction if keep_fraction is None else keep_fraction
        keep = check_float("keep_fraction", keep, 0.0, 1.0, open_minimum=True)
        if keep < 1.0 and n > 0:
            candidates = self._draw(n_candidates(n, keep), lam, generator)
            return candidates[_rows(candidates), top_indices(self.log_prob(candidates), n)]
        return self._draw(n, lam, generator)

    def _draw(self, n: int, lam: float, generator: torch.Generator | None) -> torch.Tensor:
        R, K, d = self.means.shape
        device = self.means.device
        if n == 0:
            return torch.empty(R, 0, d, dtype=self.means.dtype, device=device)
        # multinomial wants rows that sum to something positive; dead components have weight 0
        component = torch.multinomial(self.weights.to(torch.float64), n, replacement=True, generator=generator)
        z = torch.randn(R, n, d, 1, generator=generator, device=device, dtype=self.means.dtype)
        chol = torch.linalg.cholesky(lam * self.covs)
        rows = _rows(component)
        return self.means[rows, component] + (chol[rows, component] @ z)[..., 0]


def _rows(x: torch.Tensor) -> torch.Tensor:
    return torch.arange(x.shape[0], device=x.device)[:, None]


def _as_data(data: torch.Tensor) -> torch.Tensor:
    if data.ndim == 2:
        data = data[..., None]
    if data.ndim != 3:
        raise ValueError(f"data must have shape (R, N, d), got {tuple(data.shape)}")
    return data


def _features(x: torch.Tensor) -> torch.Tensor:
    """[1, x, vec(x x^T)] per item, (R, N, 1 + d + d^2): with them the E and M steps are single batched matmuls."""
    R, N, d = x.shape
    return torch.cat([torch.ones(R, N, 1, dtype=x.dtype, device=x.device), x,
                      (x[..., :, None] * x[..., None, :]).reshape(R, N, d * d)], -1)


def _component_log_prob(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, chol: torch.Tensor,
                        features: torch.Tensor | None = None) -> torch.Tensor:
    """log(pi_k N(x_n | mu_k, Sigma_k)) for every replicate, component and item: (R, K, N).

    The Mahalanobis term x'Px - 2 x'P mu + mu'P mu is linear in the features
    [1, x, x x'], so all components cost one (R, K, F) x (R, F, N) matmul instead
    of an (R, K, N, d) tensor of differences (callers centre x to avoid cancellation).
    """
    d = x.shape[-1]
    eye = torch.eye(d, dtype=chol.dtype, device=chol.device).expand_as(chol)
    chol_inv = torch.linalg.solve_triangular(chol, eye, upper=False)
    precision = chol_inv.transpose(-1, -2) @ chol_inv  # (R, K, d, d)
    projected = (precision @ means[..., None])[..., 0]  # P mu
    coef = torch.cat([(means * projected).sum(-1, keepdim=True), -2 * projected, precision.flatten(-2)], -1)
    if features is None:
        features = _features(x)
    mahalanobis = torch.bmm(coef, features.transpose(1, 2)).clamp_min(0)  # (R, K, N)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (R, K)
    log_weight = torch.where(weights > 0, weights.clamp_min(1e-300).log(), torch.full_like(weights, -math.inf))
    return (log_weight - 0.5 * (log_det + d * LOG_2PI))[..., None] - 0.5 * mahalanobis


class GMMFamily:
    """Full-covariance Gaussian mixtures with ``n_components`` components, fitted by batched EM.

    Parameters
    ----------
    n_components: K.
    max_iter, tol: EM stops after ``max_iter`` iterations or when the mean
        log-likelihood per item changes by less than ``tol`` in every replicate.
    reg: added to every covariance's diagonal (as scikit-learn's ``reg_covar``).
    init: ``"kmeans++"`` (fresh each generation) or ``"previous"`` (warm start
        from the last generation's model when there is one).
    kmeans_iterations: Lloyd steps after k-means++ seeding.
    min_count: a component with a smaller effective (weighted) count is dead.
    dead: ``"reseed"`` (re-seed during the first half of EM, drop after) or ``"drop"``.
    keep_fraction: share of candidates the fitted models keep by likelihood when sampling.
    """

    name = "gmm"

    def __init__(self, n_components: int = 2, *, max_iter: int = 100, tol: float = 1e-4, reg: float = 1e-6,
                 init: str = "kmeans++", kmeans_iterations: int = 10, min_count: float = 2.0,
                 dead: str = "reseed", keep_fraction: float = 1.0):
        self.n_components = check_int("n_components", n_components, 1)
        self.max_iter = check_int("max_iter", max_iter, 1)
        self.tol = check_float("tol", tol, 0.0)
        self.reg = check_float("reg", reg, 0.0)
        self.init = check_choice("init", init, ("kmeans++", "previous"))
        self.kmeans_iterations = check_int("kmeans_iterations", kmeans_iterations, 0)
        self.min_count = check_float("min_count", min_count, 0.0)
        self.dead = check_choice("dead", dead, ("reseed", "drop"))
        self.keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, open_minimum=True)

    # ------------------------------------------------------------------ fit
    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous: GMMModel | None = None,
            generator: torch.Generator | None = None) -> GMMModel:
        """Fit one mixture per replicate to ``data`` (R, N, d); ``weights`` (R, N) are frequency weights."""
        x = _as_data(data).to(torch.float64)
        R, N, d = x.shape
        K = self.n_components
        if weights is None:
            w = torch.ones(R, N, dtype=torch.float64, device=x.device)
        else:
            w = weights.to(device=x.device, dtype=torch.float64)
            if w.shape != (R, N) or bool((w < 0).any()):
                raise ValueError(f"weights must be non-negative with shape {(R, N)}")
        total = w.sum(1)
        if bool((total <= 0).any()):
            raise ValueError("every replicate needs a positive total weight")
        if N < K:
            raise ValueError(f"need at least n_components={K} items per replicate, got {N}")
        eye = torch.eye(d, dtype=torch.float64, device=x.device)
        # work on centred data (moments via features cancel badly far from the origin); shift back at the end
        centre = ((w[..., None] * x).sum(1) / total[:, None])[:, None, :]
        x = x - centre
        features = _features(x)

        if self.init == "previous" and isinstance(previous, GMMModel) and previous.means.shape == (R, K, d):
            pi, mu, cov = previous.weights.clone(), previous.means - centre, previous.covs.clone()
            pi = torch.where(pi > 0, pi, torch.full_like(pi, 1.0 / K))  # give dropped components a new chance
            pi = pi / pi.sum(1, keepdim=True)
        else:
            centres = kmeans_plus_plus(x, w, K, generator=generator, iterations=self.kmeans_iterations)
            hard = torch.cdist(x, centres).argmin(-1)  # (R, N)
            resp = torch.nn.functional.one_hot(hard, K).to(torch.float64).transpose(1, 2)  # (R, K, N)
            pi, mu, cov = self._m_step(features, w, resp, total, eye, None)
            fallback = _weighted_cov(x, w, total)[:, None] + self.reg * eye
            cov = torch.where((resp * w[:, None]).sum(-1)[..., None, None] > 0, cov, fallback)

        previous_ll = torch.full((R,), -math.inf, dtype=torch.float64, device=x.device)
        ll = previous_ll
        reseed_until = self.max_iter // 2 if self.dead == "reseed" else 0
        iteration = 0
        for iteration in range(1, self.max_iter + 1):
            chol, info = torch.linalg.cholesky_ex(cov)
            if bool((info != 0).any()):  # numerically lost PSD: symmetrise and regularise harder
                cov = 0.5 * (cov + cov.transpose(-1, -2)) + max(self.reg, 1e-9) * 10 * eye
                chol = torch.linalg.cholesky(cov)
            log_joint = _component_log_prob(x, pi, mu, chol, features)
            # one exp pass gives both the normaliser and the responsibilities (cheaper than logsumexp + exp)
            peak = log_joint.amax(1, keepdim=True)
            unnormalised = torch.exp(log_joint - peak)
            norm = unnormalised.sum(1, keepdim=True)
            resp = unnormalised / norm
            log_norm = (peak + norm.log())[:, 0]  # (R, N)
            ll = (w * log_norm).sum(1) / total
            pi_new, mu, cov = self._m_step(features, w, resp, total, eye, cov)
            dead = (pi_new * total[:, None] < self.min_count) & (pi > 0)
            if bool(dead.any()):
                if iteration <= reseed_until:
                    pi_new, mu, cov = self._reseed(x, w, total, dead, pi_new, mu, cov, eye, generator)
                else:
                    # with too little data every component can look dead: the heaviest one always lives on
                    heaviest = torch.nn.functional.one_hot(pi_new.argmax(1), pi_new.shape[1]).bool()
                    dead = dead & ~heaviest
                    pi_new = torch.where(dead, torch.zeros_like(pi_new), pi_new)
                    pi_new = pi_new / pi_new.sum(1, keepdim=True)
            reseeded = bool(dead.any()) and iteration <= reseed_until
            pi = pi_new
            if not reseeded and bool(((ll - previous_ll).abs() < self.tol).all()):
                break
            previous_ll = ll
        return GMMModel(weights=pi, means=mu + centre, covs=cov, keep_fraction=self.keep_fraction, log_likelihood=ll,
                        iterations=iteration)

    def _m_step(self, features, w, resp, total, eye, old_cov):
        """Weights, means and covariances from responsibilities: one matmul gives every moment."""
        d = eye.shape[0]
        moments = torch.bmm(resp * w[:, None, :], features)  # (R, K, 1 + d + d^2)
        counts = moments[..., 0]
        safe = counts.clamp_min(1e-12)[..., None]
        mu = moments[..., 1 : 1 + d] / safe
        second = moments[..., 1 + d :].reshape(*counts.shape, d, d) / safe[..., None]
        cov = second - mu[..., :, None] * mu[..., None, :]
        cov = 0.5 * (cov + cov.transpose(-1, -2)) + self.reg * eye
        if old_cov is not None:  # an empty component keeps its last covariance: stays invertible
            cov = torch.where(counts[..., None, None] > 1e-12, cov, old_cov)
        return counts / total[:, None], mu, cov

    def _reseed(self, x, w, total, dead, pi, mu, cov, eye, generator):
        """Move dead components onto random data points with the data's covariance shrunk by K."""
        R, K = dead.shape
        pick = torch.multinomial(w, K, replacement=True, generator=generator)  # (R, K)
        seeds = x[_rows(pick), pick]
        spread = _weighted_cov(x, w, total)[:, None] / K + self.reg * eye
        mu = torch.where(dead[..., None], seeds, mu)
        cov = torch.where(dead[..., None, None], spread.expand_as(cov), cov)
        pi = torch.where(dead, torch.full_like(pi, 1.0 / K), pi)
        return pi / pi.sum(1, keepdim=True), mu, cov


def _weighted_cov(x: torch.Tensor, w: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
    mean = (w[..., None] * x).sum(1) / total[:, None]
    centred = x - mean[:, None]
    return torch.einsum("rn,rni,rnj->rij", w, centred, centred) / total[:, None, None]


def kmeans_plus_plus(x: torch.Tensor, weights: torch.Tensor, k: int, *, generator: torch.Generator | None = None,
                     iterations: int = 10) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007) then ``iterations`` Lloyd steps, batched: (R, k, d).

    Each next centre is a data point drawn with probability proportional to its
    weight times its squared distance to the nearest centre so far.
    """
    x = _as_data(x).to(torch.float64)
    R, N, d = x.shape
    k = check_int("k", k, 1, N)
    w = weights.to(torch.float64)
    rows = torch.arange(R, device=x.device)
    first = torch.multinomial(w, 1, generator=generator)[:, 0]
    centres = [x[rows, first]]
    nearest = ((x - centres[0][:, None]) ** 2).sum(-1)
    for _ in range(1, k):
        score = w * nearest
        # all points on existing centres (collapsed data): fall back to the weights alone
        score = torch.where(score.sum(1, keepdim=True) > 0, score, w)
        pick = torch.multinomial(score, 1, generator=generator)[:, 0]
        centres.append(x[rows, pick])
        nearest = torch.minimum(nearest, ((x - centres[-1][:, None]) ** 2).sum(-1))
    c = torch.stack(centres, 1)
    for _ in range(iterations):
        assign = torch.nn.functional.one_hot(torch.cdist(x, c).argmin(-1), k).to(torch.float64) * w[..., None]
        counts = assign.sum(1)  # (R, k)
        updated = assign.transpose(1, 2) @ x / counts.clamp_min(1e-12)[..., None]
        c = torch.where(counts[..., None] > 0, updated, c)  # an empty cluster keeps its centre
    return c


class StartFrom:
    """Wrap a family so that generation 0 is a given model instead of a fit to real data.

    Used to show that the fresh-data loop forgets where it started: run it once
    from a good first model and once from a collapsed one.
    """

    def __init__(self, family, start_model):
        self.family = family
        self.start_model = start_model
        self.name = f"{family.name} (from a given start)"

    def fit(self, data, *, weights=None, previous=None, generator=None):
        if previous is None:
            return self.start_model
        return self.family.fit(data, weights=weights, previous=previous, generator=generator)
