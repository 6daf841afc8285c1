"""Precision and recall for generative models (Kynkaanniemi et al., 2019).

Each set's *manifold* is the union of balls around its points whose radius is
the distance to the point's k-th nearest neighbour in the same set. Precision is
the share of generated points inside the real manifold (quality), recall the
share of real points inside the generated manifold (diversity).
"""
from __future__ import annotations

import torch

from ..core.config import to_float64
from ..core.validation import check_int


def as_point_batch(x: torch.Tensor, name: str) -> torch.Tensor:
    """Point sets as ``(R, N, d)``: a single ``(N, d)`` set becomes R = 1; half precision is promoted."""
    x = torch.as_tensor(x)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"{name} must have shape (N, d) or (R, N, d), got {tuple(x.shape)}")
    return x.to(torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype)


def knn_radii(points: torch.Tensor, k: int = 5, chunk: int = 2048) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set, ``(R, N)``."""
    points = as_point_batch(points, "points")
    k = check_int("k", k, 1)
    R, N, _ = points.shape
    if N <= k:
        raise ValueError(f"need more than k={k} points per set, got {N}")
    out = torch.empty(R, N, dtype=points.dtype, device=points.device)
    for start in range(0, N, chunk):
        d = torch.cdist(points[:, start : start + chunk], points)
        # the point itself is at distance 0: the (k+1)-th smallest is the k-th neighbour
        # (topk of the k+1 smallest is several times faster than kthvalue on the CPU, same values)
        out[:, start : start + chunk] = d.topk(k + 1, dim=-1, largest=False).values[..., -1]
    return out


def _coverage(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Share of ``queries`` inside at least one ball (centre, radius), per replicate."""
    inside = []
    for start in range(0, queries.shape[1], chunk):
        d = torch.cdist(queries[:, start : start + chunk], centres)
        inside.append((d <= radii[:, None, :]).any(dim=-1))
    return to_float64(torch.cat(inside, dim=1)).mean(dim=1)


def precision_recall(real: torch.Tensor, generated: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision and recall (each ``(R,)``) of ``generated`` against ``real``.

    Both are ``(N, d)`` or batched ``(R, N, d)``; a single real set is shared by all replicates.
    """
    real = as_point_batch(real, "real")
    generated = as_point_batch(generated, "generated")
    dtype = torch.promote_types(real.dtype, generated.dtype)
    real, generated = real.to(dtype), generated.to(dtype)
    if real.shape[-1] != generated.shape[-1]:
        raise ValueError(f"real and generated must have the same dimension, got {real.shape[-1]} and {generated.shape[-1]}")
    if real.shape[0] != generated.shape[0] and real.shape[0] != 1:
        raise ValueError("real and generated must have the same number of replicates (or real just one)")
    real_radii = knn_radii(real, k)  # a shared real set: its radii once, not once per replicate
    if real.shape[0] == 1 and generated.shape[0] > 1:
        real = real.expand(generated.shape[0], -1, -1)
        real_radii = real_radii.expand(generated.shape[0], -1)
    generated_radii = knn_radii(generated, k)
    precision = _coverage(generated, real, real_radii)
    recall = _coverage(real, generated, generated_radii)
    return precision, recall
