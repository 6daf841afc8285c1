"""Two-dimensional toy data sets for the mixture chapter, as real-data samplers.

Each :class:`ToyDataset` carries a sampler ``(replicates, n, generator) -> (R, n, 2)``
for :class:`madlib.core.sources.DistributionSource`, the centres of its *modes* (for
:func:`madlib.metrics.modes.modes_covered`), the radius within which a sample
counts as near a mode, and a sensible number of mixture components.

* ``blobs``  -- two Gaussian blobs (the "Curse of Recursion" GMM experiment);
* ``grid25`` -- 25 small Gaussians on a 5 x 5 grid (the MAD study's 25-mode GMM);
* ``moons``  -- two interleaved half circles with noise: not a mixture of
  Gaussians at all, so a GMM only approximates it (expressivity error). Its
  "modes" are 16 anchor points along the arcs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..models.gmm import GMMModel
from ..core.validation import check_choice, check_float

TOY_DATASETS = ("blobs", "grid25", "moons")


@dataclass(frozen=True)
class ToyDataset:
    """A named 2-D data set: ``sampler``, ``modes`` (M, 2), ``mode_radius``, ``n_components``."""

    name: str
    sampler: Callable[[int, int, torch.Generator], torch.Tensor]
    modes: torch.Tensor
    mode_radius: float
    n_components: int
    truth: GMMModel | None = None  # the exact mixture (R = 1) when the data set is one


def _truth(centres: torch.Tensor, std: float) -> GMMModel:
    k, d = centres.shape
    covs = (std**2 * torch.eye(d, dtype=torch.float64)).expand(1, k, d, d).clone()
    return GMMModel(torch.full((1, k), 1.0 / k, dtype=torch.float64), centres[None].clone(), covs)


def _mixture_sampler(centres: torch.Tensor, std: float):
    def sampler(replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        which = torch.randint(0, centres.shape[0], (replicates, n), generator=generator, device=device)
        noise = torch.randn(replicates, n, 2, generator=generator, device=device, dtype=torch.float64)
        return centres.to(device)[which] + std * noise

    return sampler


def blobs(separation: float = 4.0, std: float = 1.0) -> ToyDataset:
    """Two equal-weight isotropic Gaussian blobs centred at (+-separation/2, 0)."""
    separation = check_float("separation", separation, 0.0, open_minimum=True)
    std = check_float("std", std, 0.0, open_minimum=True)
    centres = torch.tensor([[-separation / 2, 0.0], [separation / 2, 0.0]], dtype=torch.float64)
    return ToyDataset("blobs", _mixture_sampler(centres, std), centres, 2.0 * std, 2, _truth(centres, std))


def grid25(spacing: float = 2.0, std: float = 0.1) -> ToyDataset:
    """25 equal-weight Gaussians with std ``std`` on a 5 x 5 grid of step ``spacing`` centred at 0."""
    spacing = check_float("spacing", spacing, 0.0, open_minimum=True)
    std = check_float("std", std, 0.0, open_minimum=True)
    axis = (torch.arange(5, dtype=torch.float64) - 2) * spacing
    centres = torch.cartesian_prod(axis, axis)
    return ToyDataset("grid25", _mixture_sampler(centres, std), centres, 3.0 * std, 25, _truth(centres, std))


def moons(noise: float = 0.1) -> ToyDataset:
    """Two interleaved half circles (as scikit-learn's ``make_moons``) plus Gaussian noise."""
    noise = check_float("noise", noise, 0.0)

    def arc(t: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
        upper_xy = torch.stack([torch.cos(t), torch.sin(t)], -1)
        lower_xy = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], -1)
        return torch.where(lower[..., None], lower_xy, upper_xy)

    def sampler(replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        t = math.pi * torch.rand(replicates, n, generator=generator, device=device, dtype=torch.float64)
        lower = torch.rand(replicates, n, generator=generator, device=device) < 0.5
        eps = torch.randn(replicates, n, 2, generator=generator, device=device, dtype=torch.float64)
        return arc(t, lower) + noise * eps

    t = (torch.arange(8, dtype=torch.float64) + 0.5) * math.pi / 8
    anchors = torch.cat([arc(t, torch.zeros(8, dtype=torch.bool)), arc(t, torch.ones(8, dtype=torch.bool))])
    # anchors are pi/8 ~ 0.39 apart along the arc: half of that plus the noise reaches the whole arc
    return ToyDataset("moons", sampler, anchors, 0.2 + 2 * noise, 8)


def get_toy(name: str) -> ToyDataset:
    """The toy data set ``name`` (one of :data:`TOY_DATASETS`) with its default parameters."""
    name = check_choice("dataset", name, TOY_DATASETS)
    return {"blobs": blobs, "grid25": grid25, "moons": moons}[name]()
