"""Metrics for multi-modal data: modes covered, high-quality share, sliced W2.

* :func:`modes_covered` -- how many true modes still have at least ``min_count``
  generated samples within ``radius`` (the MAD study's and the GAN literature's
  "modes recovered");
* :func:`high_quality_share` -- the share of samples within ``radius`` of some mode;
* :func:`sliced_w2_squared` -- a sample-based distance to the truth for any
  distribution: the mean over random directions of the exact 1-D squared W2
  between the projected samples (sorted projections).
"""
from __future__ import annotations

import torch

from ..core.config import float64_device, to_float64
from ..core.validation import check_float, check_int
from .manifold import as_point_batch


def _mode_counts(samples: torch.Tensor, modes: torch.Tensor, radius: float) -> torch.Tensor:
    samples = as_point_batch(samples, "samples")
    modes = torch.as_tensor(modes, dtype=samples.dtype, device=samples.device)
    if modes.ndim != 2 or modes.shape[-1] != samples.shape[-1]:
        raise ValueError(f"modes must have shape (M, {samples.shape[-1]}), got {tuple(modes.shape)}")
    radius = check_float("radius", radius, 0.0, open_minimum=True)
    distance = torch.cdist(samples, modes.expand(samples.shape[0], -1, -1))  # (R, N, M)
    nearest = distance.min(-1)
    near = nearest.values <= radius
    device = float64_device(samples.device)
    counts = torch.zeros(samples.shape[0], modes.shape[0], dtype=torch.float64, device=device)
    return counts.scatter_add_(1, nearest.indices.to(device), to_float64(near)), near


def modes_covered(samples: torch.Tensor, modes: torch.Tensor, radius: float, min_count: int = 5) -> torch.Tensor:
    """Per replicate, the number of ``modes`` (M, d) with at least ``min_count`` of ``samples`` within ``radius``.

    Each sample counts for its nearest mode only. ``samples``: (N, d) or (R, N, d); returns (R,).
    """
    min_count = check_int("min_count", min_count, 1)
    counts, _ = _mode_counts(samples, modes, radius)
    return (counts >= min_count).sum(1)


def high_quality_share(samples: torch.Tensor, modes: torch.Tensor, radius: float) -> torch.Tensor:
    """Per replicate, the share of samples within ``radius`` of their nearest mode: (R,)."""
    _, near = _mode_counts(samples, modes, radius)
    return to_float64(near).mean(1)


def sliced_w2_squared(x: torch.Tensor, y: torch.Tensor, *, projections: int = 64,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Sliced squared W2 between sample sets ``x`` and ``y`` ((N, d) or (R, N, d), same N): (R,).

    For each of ``projections`` random unit directions the 1-D W2^2 between the
    projections is exact (match sorted values); the result is their mean. In one
    dimension it equals W2^2 between the two empirical distributions.
    """
    x, y = to_float64(as_point_batch(x, "x")), to_float64(as_point_batch(y, "y"))
    projections = check_int("projections", projections, 1)
    if y.shape[0] == 1 and x.shape[0] > 1:
        y = y.expand(x.shape[0], -1, -1)
    if x.shape[1:] != y.shape[1:] or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need equal shapes (a shared y may have R=1), got {tuple(x.shape)}, {tuple(y.shape)}")
    d = x.shape[-1]
    device = x.device
    directions = torch.randn(d, projections, generator=generator, device=device, dtype=torch.float64)
    directions = directions / directions.norm(dim=0, keepdim=True)
    px = (x @ directions).sort(dim=1).values
    py = (y @ directions).sort(dim=1).values
    return ((px - py) ** 2).mean(dim=(1, 2))
