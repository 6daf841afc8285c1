"""Gaussians: the simplest family that collapses.

:class:`GaussianFamily` fits mean and covariance to drawn samples; with the generic
loop it simulates by actually drawing ``n`` samples per generation, batched over
replicates (any dimension, on the GPU when present). The exact shortcut for one
dimension (sufficient statistics only) is :func:`madlib.simulations.gaussian.simulate_exact`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.validation import check_float, check_int
from ..core.state import register_state_class

@register_state_class
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
