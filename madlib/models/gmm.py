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
from ..core.state import register_state_class

LOG_2PI = math.log(2 * math.pi)


@register_state_class
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
    chain_iterations: torch.Tensor | None = None  # (R,) EM iterations each replicate ran

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
        K, N = weights.shape[1], x.shape[1]
        # one data set shared by every model (R = 1 or expanded): its features are built once, and
        # all R * K components score it in one plain matmul
        shared = x.shape[0] == 1 or x.stride(0) == 0
        data = x[:1] if shared else x
        centre = data.mean(1, keepdim=True)  # centring keeps the feature expansion free of cancellation
        features_t = _features_t(data - centre)  # (1 or R, F, N)
        precision, log_det, ok = _precision_and_log_det(covs)
        if not bool(ok.all()):
            torch.linalg.cholesky(covs)  # raises for a covariance that is not positive definite, as it always did
        # the E step's one log-density: rows c with c . [1, x, vec(x x')] = log(pi_k N(x | mu_k, Sigma_k))
        coef = _log_joint_coefficients(weights, means - centre, precision, log_det)
        if shared:
            log_joint = (coef.reshape(R * K, -1) @ features_t[0]).view(R, K, N)
        else:
            log_joint = torch.bmm(coef, features_t)
        peak = log_joint.amax(1, keepdim=True)  # (R, 1, N); finite: every model has a live component
        return peak[:, 0] + log_joint.sub_(peak).exp_().sum(1).log_()

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
        if d > 3:
            rows = _rows(component)
            return self.means[rows, component] + (chol[rows, component] @ z)[..., 0]
        # few dimensions: mu + L z coordinate by coordinate from per-item gathers of the (R, K) entries,
        # the same sums in the same order as the matmul, without R * n tiny matrix products
        out = []
        for i in range(d):
            coordinate = self.means[..., i].gather(1, component)
            for j in range(i + 1):
                coordinate = coordinate + chol[..., i, j].gather(1, component) * z[..., j, 0]
            out.append(coordinate)
        return torch.stack(out, -1)


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


def _features_t(x: torch.Tensor) -> torch.Tensor:
    """The same features laid out feature-major, (R, 1 + d + d^2, N), contiguous.

    The E step's matmul (R, K, F) x (R, F, N) runs about twice as fast on this
    layout as on a transposed view of :func:`_features`.
    """
    R, N, d = x.shape
    out = torch.empty(R, 1 + d + d * d, N, dtype=x.dtype, device=x.device)  # filled in place: no cat copy
    out[:, 0] = 1.0
    xt = out[:, 1 : 1 + d]
    xt.copy_(x.transpose(1, 2))
    for i in range(d):  # pair by pair: one broadcast product over (R, d, d, N) iterates far more slowly
        for j in range(d):
            torch.mul(xt[:, i], xt[:, j], out=out[:, 1 + d + i * d + j])
    return out


class GMMFamily:
    """Full-covariance Gaussian mixtures with ``n_components`` components, fitted by batched EM.

    Parameters
    ----------
    n_components: K.
    max_iter, tol: each replicate's EM stops after ``max_iter`` iterations or when
        its mean log-likelihood per item changes by less than ``tol`` (scikit-learn's rule).
        A replicate that has stopped leaves the batch while the others go on.
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
        """Fit one mixture per replicate to ``data`` (R, N, d); ``weights`` (R, N) are frequency weights.

        Each replicate stops on its own, when its mean log-likelihood per item changes by
        less than ``tol`` (or at ``max_iter``): a converged chain is frozen and dropped from
        the batch while the others go on, so a batch costs its chains' mean iteration count,
        not the slowest chain's. ``chain_iterations`` of the result holds each chain's count.
        """
        x = _as_data(data).to(torch.float64)
        R, N, d = x.shape
        K = self.n_components
        unit_weights = weights is None
        if unit_weights:
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
        features_t = _features_t(x)  # (R, F, N) for the E step
        # the M step's moments are one matmul of responsibilities with weight-scaled features
        weighted = features_t if unit_weights else features_t * w[:, None, :]

        if self.init == "previous" and isinstance(previous, GMMModel) and previous.means.shape == (R, K, d):
            pi, mu, cov = previous.weights.clone(), previous.means - centre, previous.covs.clone()
            pi = torch.where(pi > 0, pi, torch.full_like(pi, 1.0 / K))  # give dropped components a new chance
            pi = pi / pi.sum(1, keepdim=True)
        else:
            _, hard = _kmeans(x, w, K, generator, self.kmeans_iterations, features_t, unit_weights)
            resp = _one_hot(hard, K)  # (R, K, N)
            pi, mu, cov = self._m_step(weighted, resp, total, eye, None)
            empty = pi <= 0
            if bool(empty.any()):  # a cluster k-means left empty starts from the data's own covariance
                fallback = _weighted_cov(x, w, total)[:, None] + self.reg * eye
                cov = torch.where(empty[..., None, None], fallback, cov)
        pi, mu, cov, ll, iterations = self._em(x, features_t, weighted, w, total, unit_weights, pi, mu, cov, eye,
                                               generator)
        return GMMModel(weights=pi, means=mu + centre, covs=cov, keep_fraction=self.keep_fraction, log_likelihood=ll,
                        iterations=int(iterations.max()), chain_iterations=iterations)

    def _em(self, x, features_t, weighted, w, total, unit_weights, pi, mu, cov, eye, generator):
        """EM iterations with per-chain stopping; returns (pi, mu, cov, ll, iterations per chain).

        The working batch holds the chains still running plus, for a while, some that
        have stopped (their rows are recomputed but never read again): copying the data
        of the survivors costs about as much as an iteration, so the batch is compacted
        only once a quarter of its rows have stopped.
        """
        R, N, d = x.shape
        device = x.device
        out_pi, out_mu, out_cov = torch.empty_like(pi), torch.empty_like(mu), torch.empty_like(cov)
        out_ll = torch.empty(R, dtype=torch.float64, device=device)
        out_iterations = torch.zeros(R, dtype=torch.long, device=device)
        chains = torch.arange(R, device=device)  # which chain each working row is
        running = torch.ones(R, dtype=torch.bool, device=device)  # working rows whose chain has not stopped
        previous_ll = torch.full((R,), -math.inf, dtype=torch.float64, device=device)
        reseed_until = self.max_iter // 2 if self.dead == "reseed" else 0
        w_all, total_all = w, total  # x, w_all and total_all stay whole; the rest holds working rows only
        for iteration in range(1, self.max_iter + 1):
            precision, log_det, ok = _precision_and_log_det(cov)
            bad = ~ok.all(1) & running
            if bool(bad.any()):  # numerically lost PSD: symmetrise and regularise harder
                fixed = 0.5 * (cov + cov.transpose(-1, -2)) + max(self.reg, 1e-9) * 10 * eye
                cov = torch.where(bad[:, None, None, None], fixed, cov)
                torch.linalg.cholesky(cov[bad])  # raises, as before, when even that is not enough
                precision, log_det, ok = _precision_and_log_det(cov)
            log_joint = torch.bmm(_log_joint_coefficients(pi, mu, precision, log_det), features_t)  # (R', K, N)
            # one exp pass gives both the normaliser and the responsibilities, in place in one (R', K, N) buffer
            peak = log_joint.amax(1, keepdim=True)
            resp = log_joint.sub_(peak).exp_()
            norm = resp.sum(1)  # (R', N)
            resp.div_(norm[:, None])
            log_norm = peak[:, 0] + norm.log_()
            ll = log_norm.mean(1) if unit_weights else (w * log_norm).sum(1) / total
            pi_new, mu, cov = self._m_step(weighted, resp, total, eye, cov)
            dead = (pi_new * total[:, None] < self.min_count) & (pi > 0) & running[:, None]
            reseeded = torch.zeros_like(running)
            if bool(dead.any()):
                if iteration <= reseed_until:
                    pi_new, mu, cov = self._reseed(x, w_all, total_all, chains, dead, pi_new, mu, cov, eye, generator)
                    reseeded = dead.any(1)
                else:
                    # with too little data every component can look dead: the heaviest one always lives on
                    heaviest = torch.nn.functional.one_hot(pi_new.argmax(1), pi_new.shape[1]).bool()
                    dead = dead & ~heaviest
                    pi_new = torch.where(dead, torch.zeros_like(pi_new), pi_new)
                    pi_new = pi_new / pi_new.sum(1, keepdim=True)
            pi = pi_new
            stop = running & ~reseeded & ((ll - previous_ll).abs() < self.tol)
            if iteration == self.max_iter:
                stop = running
            if bool(stop.any()):
                done = chains[stop]
                out_pi[done], out_mu[done], out_cov[done], out_ll[done] = pi[stop], mu[stop], cov[stop], ll[stop]
                out_iterations[done] = iteration
                running = running & ~stop
                alive = int(running.sum())
                if alive == 0:
                    break
                if alive <= 0.75 * running.shape[0]:  # compact: keep only the rows still running
                    keep = running.nonzero()[:, 0]
                    chains, running = chains[keep], running[keep]
                    pi, mu, cov, ll, total = pi[keep], mu[keep], cov[keep], ll[keep], total[keep]
                    features_t = features_t.index_select(0, keep)
                    if unit_weights:
                        weighted = features_t
                    else:
                        w, weighted = w[keep], weighted.index_select(0, keep)
            previous_ll = ll
        return out_pi, out_mu, out_cov, out_ll, out_iterations

    def _m_step(self, weighted_features, resp, total, eye, old_cov):
        """Weights, means and covariances from responsibilities (R, K, N): one matmul gives every moment.

        ``weighted_features`` are the features (R, F, N) times each item's frequency weight.
        """
        d = eye.shape[0]
        moments = torch.bmm(resp, weighted_features.transpose(1, 2))  # (R, K, 1 + d + d^2)
        counts = moments[..., 0]
        safe = counts.clamp_min(1e-12)[..., None]
        mu = moments[..., 1 : 1 + d] / safe
        second = moments[..., 1 + d :].reshape(*counts.shape, d, d) / safe[..., None]
        cov = second - mu[..., :, None] * mu[..., None, :]
        cov = 0.5 * (cov + cov.transpose(-1, -2)) + self.reg * eye
        if old_cov is not None:  # an empty component keeps its last covariance: stays invertible
            cov = torch.where(counts[..., None, None] > 1e-12, cov, old_cov)
        return counts / total[:, None], mu, cov

    def _reseed(self, x, w, total, chains, dead, pi, mu, cov, eye, generator):
        """Move dead components onto random data points with the data's covariance shrunk by K.

        ``x``, ``w`` and ``total`` hold every chain; working row i is chain ``chains[i]``.
        Only the chains with a dead component draw (so that which chains are still
        in the batch does not change anyone's random numbers).
        """
        R, K = dead.shape
        rows = dead.any(1).nonzero()[:, 0]
        source = chains[rows]
        pick = torch.multinomial(w[source], K, replacement=True, generator=generator)  # (R'', K)
        seeds = x[source[:, None], pick]
        spread = _weighted_cov(x[source], w[source], total[source])[:, None] / K + self.reg * eye
        dead_rows = dead[rows]
        mu, cov, pi = mu.clone(), cov.clone(), pi.clone()
        mu[rows] = torch.where(dead_rows[..., None], seeds, mu[rows])
        cov[rows] = torch.where(dead_rows[..., None, None], spread.expand(-1, K, -1, -1), cov[rows])
        pi[rows] = torch.where(dead_rows, torch.full_like(pi[rows], 1.0 / K), pi[rows])
        return pi / pi.sum(1, keepdim=True), mu, cov


def _precision_and_log_det(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse, log-determinant and a positive-definiteness flag of SPD matrices (..., d, d).

    For d = 1 and d = 2 (every toy data set of the course) closed forms replace the
    general Cholesky route: the batched LAPACK calls cost more than the E step itself.
    ``cov`` must be symmetric; where the flag is False the other outputs are meaningless.
    """
    d = cov.shape[-1]
    if d == 1:
        variance = cov[..., 0, 0]
        return (1.0 / variance)[..., None, None], variance.log(), variance > 0
    if d == 2:
        a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
        det = a * c - b * b
        ok = (a > 0) & (det > 0)
        inverse = torch.stack([c, -b, -b, a], -1).div_(det[..., None]).reshape(cov.shape)
        return inverse, det.log(), ok
    chol, info = torch.linalg.cholesky_ex(cov)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return torch.cholesky_inverse(chol), log_det, info == 0


def _log_joint_coefficients(weights: torch.Tensor, means: torch.Tensor, precision: torch.Tensor,
                            log_det: torch.Tensor) -> torch.Tensor:
    """(R, K, F) rows c with c . [1, x, vec(x x')] = log(pi_k N(x | mu_k, Sigma_k)).

    Folding the weight, normaliser and Mahalanobis terms into one row makes the
    E step a single matmul. A dropped component (weight 0) gets a constant so
    negative that its responsibility underflows to exactly 0.
    """
    d = means.shape[-1]
    projected = (precision @ means[..., None])[..., 0]  # P mu
    log_weight = torch.where(weights > 0, weights.clamp_min(1e-300).log(), torch.full_like(weights, -1e300))
    constant = log_weight - 0.5 * (log_det + d * LOG_2PI + (means * projected).sum(-1))
    return torch.cat([constant[..., None], projected, -0.5 * precision.flatten(-2)], -1)


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
    k = check_int("k", k, 1, x.shape[1])
    return _kmeans(x, weights.to(torch.float64), k, generator, iterations)[0]


def _kmeans(x: torch.Tensor, w: torch.Tensor, k: int, generator: torch.Generator | None, iterations: int,
            features_t: torch.Tensor | None = None, unit_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ then up to ``iterations`` Lloyd steps: centres (R, k, d) and each item's nearest centre (R, N).

    ``features_t`` are :func:`_features_t` of ``x`` when the caller has them;
    ``unit_weights`` says that every weight in ``w`` is 1 (which saves a pass).

    A chain leaves Lloyd once a step leaves its centres exactly where they were:
    they are then a fixed point, so the remaining steps would return the same centres.
    """
    R, N, d = x.shape
    if features_t is None:
        features_t = _features_t(x)
    xt = features_t[:, 1 : 1 + d]  # (R, d, N): coordinate rows, contiguous

    def squared_distance(centre: torch.Tensor) -> torch.Tensor:  # (R, N), coordinate by coordinate
        total = (xt[:, 0] - centre[:, :1]) ** 2
        for j in range(1, d):
            total = total + (xt[:, j] - centre[:, j : j + 1]) ** 2
        return total

    rows = torch.arange(R, device=x.device)
    first = torch.multinomial(w, 1, generator=generator)[:, 0]
    centres = [x[rows, first]]
    nearest = squared_distance(centres[0])
    for _ in range(1, k):
        score = w * nearest
        # all points on existing centres (collapsed data): fall back to the weights alone
        score = torch.where(score.sum(1, keepdim=True) > 0, score, w)
        pick = torch.multinomial(score, 1, generator=generator)[:, 0]
        centres.append(x[rows, pick])
        nearest = torch.minimum(nearest, squared_distance(centres[-1]))
    c = torch.stack(centres, 1)
    linear = features_t[:, : 1 + d]  # (R, 1 + d, N): [1, x] per item
    weighted_t = linear if unit_weights else linear * w[:, None, :]  # (R, 1 + d, N): [w, w x]
    weighted = weighted_t.transpose(1, 2)
    assign = _nearest_centre(c, linear)
    if iterations == 0:
        return c, assign
    # Lloyd, chain by chain; settled chains leave the batch once a quarter of it has settled
    out_c, out_assign = c.clone(), assign.clone()
    chains = torch.arange(R, device=x.device)
    running = torch.ones(R, dtype=torch.bool, device=x.device)
    # with two clusters the second's sums are the totals minus the first's: half the matmul
    totals = weighted.sum(1) if k == 2 else None  # (R, 1 + d)
    for step in range(iterations):
        if k == 2:
            second = torch.bmm(assign.to(torch.float64)[:, None, :], weighted)[:, 0]  # (R', 1 + d)
            sums = torch.stack([totals - second, second], 1)
        else:
            sums = torch.bmm(_one_hot(assign, k), weighted)  # (R', k, 1 + d): weighted counts and sums
        counts = sums[..., 0]
        updated = sums[..., 1:] / counts.clamp_min(1e-12)[..., None]
        updated = torch.where(counts[..., None] > 0, updated, c)  # an empty cluster keeps its centre
        settled = running & (updated == c).flatten(1).all(1)  # then ``assign`` is still each item's nearest
        c = updated
        running = running & ~settled
        if not bool(running.any()):
            break
        if step == iterations - 1:
            assign = torch.where(running[:, None], _nearest_centre(c, linear), assign)
            break
        if int(running.sum()) <= 0.75 * running.shape[0]:
            done, keep = ~running, running.nonzero()[:, 0]
            out_c[chains[done]], out_assign[chains[done]] = c[done], assign[done]
            chains, c, assign, running = chains[keep], c[keep], assign[keep], running[keep]
            linear = linear.index_select(0, keep)  # contiguous copies of row blocks
            weighted_t = linear if unit_weights else weighted_t.index_select(0, keep)
            weighted = weighted_t.transpose(1, 2)
            totals = totals[keep] if k == 2 else None
        # settled rows not yet dropped keep their assignment: recomputing it from the same centres changes nothing
        assign = _nearest_centre(c, linear)
    out_c[chains], out_assign[chains] = c, assign
    return out_c, out_assign


def _one_hot(index: torch.Tensor, k: int) -> torch.Tensor:
    """(R, k, N) float64 indicators of ``index`` (R, N); no bool-to-float pass over (R, k, N)."""
    R, N = index.shape
    out = torch.empty(R, k, N, dtype=torch.float64, device=index.device)
    if k == 2:
        out[:, 1] = index
        torch.sub(1.0, out[:, 1], out=out[:, 0])
    else:
        torch.eq(index[:, None, :], torch.arange(k, device=index.device)[:, None], out=out)
    return out


def _nearest_centre(centres: torch.Tensor, linear: torch.Tensor) -> torch.Tensor:
    """Index of each item's nearest centre, (R, N), from ``linear`` = [1, x] as (R, 1 + d, N).

    ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2 and ||x||^2 is the same for every centre,
    so one matmul with rows [||c||^2, -2c] ranks the centres.
    """
    coef = torch.cat([(centres * centres).sum(-1, keepdim=True), -2 * centres], -1)  # (R, k, 1 + d)
    k = centres.shape[1]
    if k > 4:  # argmin along a contiguous last axis; along the middle axis it is ~10x slower
        return torch.bmm(linear.transpose(1, 2), coef.transpose(1, 2)).argmin(-1)
    if k == 2:  # the sign of one score difference: a one-row matmul
        return (torch.bmm(coef[:, 1:] - coef[:, :1], linear)[:, 0] < 0).long()
    scores = torch.bmm(coef, linear)  # (R, k, N)
    # a running minimum over the few centres; a strict < keeps the first on ties, as argmin does
    best, index = scores[:, 0], torch.zeros(scores[:, 0].shape, dtype=torch.long, device=scores.device)
    for j in range(1, k):
        closer = scores[:, j] < best
        best = torch.where(closer, scores[:, j], best)
        index.masked_fill_(closer, j)
    return index


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
