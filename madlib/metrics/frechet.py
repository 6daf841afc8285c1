"""Frechet distance: the squared 2-Wasserstein distance between Gaussians.

``W2^2(N(m1, C1), N(m2, C2)) = |m1 - m2|^2 + tr(C1 + C2 - 2 (C2^1/2 C1 C2^1/2)^1/2)``.
Between Gaussians fitted to classifier features it is the FID (Heusel et al., 2017);
between the model of a generation and the truth it is chapter 1's W2^2.
"""
from __future__ import annotations

import torch

from ..core.config import to_float64


def _sqrtm_psd(mat: torch.Tensor) -> torch.Tensor:
    eigvals, eigvecs = torch.linalg.eigh(mat)
    return (eigvecs * eigvals.clamp_min(0).sqrt()[..., None, :]) @ eigvecs.transpose(-1, -2)


def gaussian_w2_squared(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor) -> torch.Tensor:
    """Squared W2 between Gaussians; batched over leading dimensions (means (..., d), covs (..., d, d))."""
    mean1, mean2 = to_float64(mean1), to_float64(mean2)
    cov1, cov2 = to_float64(cov1), to_float64(cov2)
    if cov1.shape[-1] != mean1.shape[-1] or cov2.shape[-1] != mean2.shape[-1]:
        raise ValueError("means (..., d) and covariances (..., d, d) must agree in d")
    root2 = _sqrtm_psd(cov2)
    cross = _sqrtm_psd(root2 @ cov1 @ root2)
    trace = (torch.diagonal(cov1, dim1=-2, dim2=-1).sum(-1) + torch.diagonal(cov2, dim1=-2, dim2=-1).sum(-1)
             - 2 * torch.diagonal(cross, dim1=-2, dim2=-1).sum(-1))
    return ((mean1 - mean2) ** 2).sum(-1) + trace.clamp_min(0)


def frechet_distance(features1: torch.Tensor, features2: torch.Tensor) -> torch.Tensor:
    """Frechet distance between two feature sets ``(N, d)`` (FID when the features are a classifier's)."""
    f1 = to_float64(features1)
    f2 = to_float64(features2)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError("features must be (N, d) arrays with the same d")
    if min(f1.shape[0], f2.shape[0]) < 2:
        raise ValueError("need at least 2 feature vectors per set")
    return gaussian_w2_squared(f1.mean(0), torch.cov(f1.T).reshape(f1.shape[1], -1),
                               f2.mean(0), torch.cov(f2.T).reshape(f2.shape[1], -1))
