"""Gaussians: the simplest family that collapses.

Two ways to run the chain of chapter 1, both here:

* :class:`GaussianFamily` fits mean and covariance to drawn samples; with the
  generic loop it simulates by actually drawing ``n`` samples per generation,
  batched over replicates (any dimension, on the GPU when present);
* :func:`simulate_exact` draws the *sufficient statistics* directly: the sample
  mean is normal and the scatter is sigma^2 times a chi-square(n - 1), so one
  generation costs two random numbers per replicate whatever n is. It works in
  log space, so it stays sound for 10^5 generations and more.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_choice, check_float, check_int

EXACT_WORKFLOWS = ("replace", "augment", "fresh", "accumulate")


@dataclass
class GaussianModel:
    """R fitted Gaussians: ``mean`` (R, d) and ``cov`` (R, d, d), float64."""

    mean: torch.Tensor
    cov: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.mean.shape[0]

    @property
    def dim(self) -> int:
        return self.mean.shape[1]

    @property
    def std(self) -> torch.Tensor:
        """Per-replicate standard deviation (1-D models) or sqrt of the mean variance."""
        return torch.diagonal(self.cov, dim1=-2, dim2=-1).mean(-1).clamp_min(0).sqrt()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of items ``x`` (R, m, d) (or (R, m) for d=1) under each replicate's Gaussian: (R, m)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim == 2:
            x = x[..., None]
        d = self.dim
        chol = _safe_cholesky(self.cov)
        centred = (x - self.mean[:, None, :]).transpose(-1, -2)  # (R, d, m)
        solved = torch.linalg.solve_triangular(chol, centred, upper=False)
        maha = (solved**2).sum(dim=-2)
        log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        return -0.5 * (maha + log_det[:, None] + d * np.log(2 * np.pi))

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        n = check_int("n", n, 0)
        sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        R, d = self.mean.shape
        device = self.mean.device
        z = torch.randn(R, n, d, generator=generator, device=device, dtype=torch.float64)
        if d == 1:
            scale = (sampling_bias * self.cov[:, 0, 0]).clamp_min(0).sqrt()
            return self.mean[:, None, :] + z * scale[:, None, None]
        chol = _safe_cholesky(sampling_bias * self.cov)
        return self.mean[:, None, :] + z @ chol.transpose(-1, -2)


def _safe_cholesky(cov: torch.Tensor) -> torch.Tensor:
    """Cholesky factor; singular covariances (n <= d, or collapsed) fall back to a symmetric square root."""
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool((info == 0).all()):
        return chol
    eigvals, eigvecs = torch.linalg.eigh(cov)
    return eigvecs * eigvals.clamp_min(0).sqrt()[..., None, :]


class GaussianFamily:
    """Fit one Gaussian per replicate by moments: mean and covariance with ``ddof``.

    ``ddof=0`` is the maximum-likelihood estimate (numpy's default), ``ddof=1``
    the unbiased one. ``weights`` act as frequency weights.
    """

    name = "gaussian"

    def __init__(self, ddof: int = 0):
        self.ddof = check_int("ddof", ddof, 0, 1)

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None) -> GaussianModel:
        if data.ndim == 2:
            data = data[..., None]
        if data.ndim != 3:
            raise ValueError(f"data must have shape (R, N, d), got {tuple(data.shape)}")
        data = data.to(torch.float64)
        R, N, d = data.shape
        if weights is None:
            total = torch.full((R,), float(N), dtype=torch.float64, device=data.device)
            mean = data.mean(dim=1)
            centred = data - mean[:, None, :]
            scatter = torch.einsum("rni,rnj->rij", centred, centred)
        else:
            w = weights.to(torch.float64)
            if w.shape != (R, N) or bool((w < 0).any()):
                raise ValueError(f"weights must be non-negative with shape {(R, N)}")
            total = w.sum(dim=1)
            mean = (w[..., None] * data).sum(dim=1) / total.clamp_min(1e-300)[:, None]
            centred = data - mean[:, None, :]
            scatter = torch.einsum("rn,rni,rnj->rij", w, centred, centred)
        if bool((total - self.ddof <= 0).any()):
            raise ValueError(f"need more than ddof={self.ddof} (weighted) items per replicate to fit, got {N}")
        cov = scatter / (total - self.ddof)[:, None, None]
        return GaussianModel(mean=mean, cov=cov)


class gaussian_source_sampler:
    """A picklable sampler ``(replicates, n, generator) -> (R, n, d)`` for N(mean, std^2 I) or N(mean, cov)."""

    def __init__(self, mean: torch.Tensor | float = 0.0, std: float = 1.0, dim: int = 1,
                 cov: torch.Tensor | None = None):
        self.dim = check_int("dim", dim, 1)
        self.std = check_float("std", std, 0.0, open_minimum=True)
        self.mean = torch.as_tensor(mean, dtype=torch.float64)
        self.chol = _safe_cholesky(torch.as_tensor(cov, dtype=torch.float64)) if cov is not None else None

    def __call__(self, replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        z = torch.randn(replicates, n, self.dim, generator=generator, device=device, dtype=torch.float64)
        if self.chol is not None:
            return self.mean.to(device) + z @ self.chol.to(device).T
        return self.mean.to(device) + self.std * z


@dataclass
class ExactChain:
    """Per-generation results of :func:`simulate_exact` at the recorded generations.

    ``mean`` and ``log_var`` have shape (len(generations), replicates); the
    variance itself is ``exp(log_var)``, kept in log space because it underflows.
    """

    generations: np.ndarray
    mean: np.ndarray
    log_var: np.ndarray

    @property
    def std(self) -> np.ndarray:
        return np.exp(0.5 * self.log_var)

    @property
    def var(self) -> np.ndarray:
        return np.exp(self.log_var)


def record_grid(generations: int, points: int = 201) -> np.ndarray:
    """About ``points`` evenly spaced generations from 0 to ``generations`` (both included)."""
    generations = check_int("generations", generations, 0)
    return np.unique(np.linspace(0, generations, min(points, generations + 1)).round().astype(int))


def simulate_exact(
    n: int,
    generations: int,
    replicates: int,
    *,
    ddof: int = 0,
    workflow: str = "replace",
    sampling_bias: float = 1.0,
    n_synthetic: int | None = None,
    mu0: float = 0.0,
    sigma0: float = 1.0,
    record: np.ndarray | None = None,
    seed: int = 0,
) -> ExactChain:
    """Simulate the 1-D Gaussian chain exactly from sufficient statistics.

    Generation 0 is the truth N(mu0, sigma0^2); generation 1 fits ``n`` real
    draws from it; each later generation draws ``n_synthetic`` (default n) items
    from N(mu, lambda sigma^2) of the last fit and combines them as ``workflow``
    says (see :mod:`madlib.loop`). A batch of m normal draws has mean
    ~ N(mu, s^2/m) and scatter s^2 chi2(m-1), independent, so a generation costs
    two random numbers per replicate whatever n is. ``replace`` runs in log space.
    """
    n = check_int("n", n, 2)
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    ddof = check_int("ddof", ddof, 0, 1)
    workflow = check_choice("workflow", workflow, EXACT_WORKFLOWS)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    m = n if n_synthetic is None else check_int("n_synthetic", n_synthetic, 2)
    sigma0 = check_float("sigma0", sigma0, 0.0, open_minimum=True)
    record = record_grid(generations) if record is None else np.unique(np.asarray(record, dtype=int))
    if record.size and (record.min() < 0 or record.max() > generations):
        raise ValueError(f"record must hold generations in [0, {generations}]")
    rng = np.random.default_rng(seed)
    R = replicates
    keep = np.zeros(generations + 1, dtype=bool)
    keep[record] = True
    out_mean = np.empty((record.size, R))
    out_logvar = np.empty((record.size, R))
    row = 0

    def real_batch():
        """Mean and scatter of n fresh real draws (linear space: real data never collapses)."""
        return mu0 + sigma0 * rng.standard_normal(R) / np.sqrt(n), sigma0**2 * rng.chisquare(n - 1, R)

    mean = np.full(R, float(mu0))
    log_var = np.full(R, 2 * np.log(sigma0))
    real_mean = real_scatter = pool_n = pool_mean = pool_scatter = None
    log_lam = np.log(lam)
    for t in range(0, generations + 1):
        if t == 1:
            real_mean, real_scatter = real_batch()
            pool_n, pool_mean, pool_scatter = float(n), real_mean, real_scatter
            mean, log_var = real_mean, np.log(real_scatter) - np.log(n - ddof)
        elif t >= 2:
            # m synthetic draws from N(mean, lam * var): batch mean and log batch scatter
            log_batch_var = log_lam + log_var
            batch_mean = mean + np.exp(0.5 * log_batch_var) * rng.standard_normal(R) / np.sqrt(m)
            log_batch_scatter = log_batch_var + np.log(rng.chisquare(m - 1, R))
            if workflow == "replace":
                mean, log_var = batch_mean, log_batch_scatter - np.log(m - ddof)
            else:
                if workflow == "accumulate":
                    base_n, base_mean, base_scatter = pool_n, pool_mean, pool_scatter
                elif workflow == "augment":
                    base_n, base_mean, base_scatter = float(n), real_mean, real_scatter
                else:  # fresh: n new real draws each generation
                    base_n = float(n)
                    base_mean, base_scatter = real_batch()
                total = base_n + m
                pool_mean = (base_n * base_mean + m * batch_mean) / total
                pool_scatter = (base_scatter + np.exp(log_batch_scatter)
                                + base_n * m / total * (base_mean - batch_mean) ** 2)
                pool_n = total
                mean, log_var = pool_mean, np.log(pool_scatter) - np.log(total - ddof)
        if keep[t]:
            out_mean[row], out_logvar[row] = mean, log_var
            row += 1
    return ExactChain(generations=record, mean=out_mean, log_var=out_logvar)
