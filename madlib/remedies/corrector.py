"""Self-correction (Gillman et al. 2024): move synthetic data towards a known constraint before training.

Gillman et al. stabilise a self-consuming loop with a *corrector* that maps a generated sample to a more
plausible one (a physics simulator for human motion). Here a corrector is a function of a synthetic batch
``(R, m, ...) -> (R, m, ...)`` that projects the batch a share ``strength`` (gamma) of the way onto a
constraint the practitioner knows about the real data:

* :class:`GaussianCorrector` -- the batch's mean and standard deviation (per dimension) are the real ones;
* :class:`ShareCorrector` -- the categories' shares are the real proportions (whole items, largest remainders);
* :class:`MixtureCorrector` -- each sample belongs to its nearest known centre, and each centre's group has the
  known spread.

gamma = 0 changes nothing; gamma = 1 projects onto the constraint. A corrector sees samples only, never the
model that drew them. :class:`CorrectedFamily` applies one to the training data of every generation after the
first, i.e. to the synthetic data of the *replace* loop (the remedy ``corrector`` of the registry); it returns
the family's own model, so every observer measures the model as it is.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..core.validation import check_float
from ..models.categorical import count_items, counts_to_items

Corrector = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]

#: The registry's default correction strength (remedy "corrector").
CORRECTION_STRENGTH = 0.5


def _strength(value: float) -> float:
    return check_float("strength", value, 0.0, 1.0)


class GaussianCorrector:
    """Move each dimension of a batch ``(R, m, d)`` (or ``(R, m)``) towards mean ``mean`` and standard deviation
    ``std``: ``x' = (1 - gamma) x + gamma (mean + std (x - xbar) / s)`` with the batch's ``xbar`` and ``s`` (ddof=0).

    The corrected batch has mean ``(1-gamma) xbar + gamma mean`` and standard deviation ``(1-gamma) s + gamma std``:
    the closed form of the chain is :func:`madlib.theory.recursion.corrector_std_path`."""

    def __init__(self, strength: float = CORRECTION_STRENGTH, mean: float = 0.0, std: float = 1.0):
        self.strength = _strength(strength)
        self.mean = float(mean)
        self.std = check_float("std", std, 0.0, open_minimum=True)

    def __call__(self, items: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = items.to(torch.float64)
        if x.ndim not in (2, 3) or x.shape[1] < 2:
            raise ValueError(f"items must be (R, m) or (R, m, d) with m >= 2, got {tuple(items.shape)}")
        centre = x.mean(dim=1, keepdim=True)
        spread = x.std(dim=1, correction=0, keepdim=True).clamp_min(1e-300)
        projected = self.mean + self.std * (x - centre) / spread
        return (1 - self.strength) * x + self.strength * projected


class ShareCorrector:
    """Relabel a categorical batch ``(R, m)`` of category ids so that its counts move a share gamma of the way to
    ``m * proportions``: target counts ``(1-gamma) c + gamma m q`` rounded by largest remainders (ties broken at
    random when a generator is given).

    The batch comes back in category order (a categorical data set's order carries no information)."""

    def __init__(self, proportions: torch.Tensor, strength: float = CORRECTION_STRENGTH):
        q = torch.as_tensor(proportions, dtype=torch.float64)
        if q.ndim != 1 or q.numel() < 2 or bool((q < 0).any()) or float(q.sum()) <= 0:
            raise ValueError("proportions must be a vector of >= 2 non-negative numbers with a positive sum")
        self.proportions = q / q.sum()
        self.strength = _strength(strength)

    def __call__(self, items: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        ids = items[..., 0] if items.ndim == 3 else items
        if ids.ndim != 2 or ids.is_floating_point():
            raise ValueError(f"items must be integer category ids of shape (R, m), got {tuple(items.shape)}")
        K = self.proportions.numel()
        m = ids.shape[1]
        counts = count_items(ids, K)
        exact = (1 - self.strength) * counts + self.strength * m * self.proportions.to(counts.device)
        whole = exact.floor()
        short = (m - whole.sum(dim=1, keepdim=True)).round()
        remainder = exact - whole
        if generator is not None:  # break ties (x.5 items) at random, not always towards the first category
            remainder = remainder + 1e-9 * torch.rand(remainder.shape, generator=generator, device=generator.device,
                                                      dtype=torch.float64).to(remainder.device)
        rank = torch.argsort(torch.argsort(remainder, dim=1, descending=True, stable=True), dim=1)
        whole = whole + (rank < short).to(whole.dtype)
        return counts_to_items(whole, K).to(ids.device)


class MixtureCorrector:
    """For a batch ``(R, m, d)`` of points: assign each to its nearest known ``centres`` (K, d) and move every
    group's per-dimension mean and standard deviation a share gamma of the way to the centre and ``std``.
    Groups of fewer than 2 points are left as they are."""

    def __init__(self, centres: torch.Tensor, std: float, strength: float = CORRECTION_STRENGTH):
        self.centres = torch.as_tensor(centres, dtype=torch.float64)
        if self.centres.ndim != 2:
            raise ValueError(f"centres must be (K, d), got shape {tuple(self.centres.shape)}")
        self.std = check_float("std", std, 0.0, open_minimum=True)
        self.strength = _strength(strength)

    def __call__(self, items: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = items.to(torch.float64)
        if x.ndim != 3 or x.shape[-1] != self.centres.shape[1]:
            raise ValueError(f"items must be (R, m, {self.centres.shape[1]}), got {tuple(items.shape)}")
        centres = self.centres.to(x.device)
        nearest = torch.cdist(x, centres[None].expand(x.shape[0], -1, -1)).argmin(dim=-1)  # (R, m)
        member = torch.nn.functional.one_hot(nearest, centres.shape[0]).to(torch.float64)  # (R, m, K)
        size = member.sum(dim=1)  # (R, K)
        mean = torch.einsum("rmk,rmd->rkd", member, x) / size.clamp_min(1)[..., None]
        var = torch.einsum("rmk,rmd->rkd", member, x * x) / size.clamp_min(1)[..., None] - mean**2
        spread = var.clamp_min(0).sqrt().clamp_min(1e-300)
        mine = lambda t: torch.gather(t, 1, nearest[..., None].expand(-1, -1, t.shape[-1]))  # noqa: E731
        projected = centres[nearest] + self.std * (x - mine(mean)) / mine(spread)
        corrected = (1 - self.strength) * x + self.strength * projected
        small = torch.gather(size, 1, nearest) < 2
        return torch.where(small[..., None], x, corrected)


class CorrectedFamily:
    """A family whose training data pass through ``corrector`` before every fit after the first (generation 0
    fits the real data as it is). The fit is the wrapped family's, and so is the model it returns."""

    def __init__(self, family, corrector: Corrector):
        if not callable(corrector):
            raise ValueError(f"corrector must be callable, got {type(corrector).__name__}")
        self.family, self.corrector = family, corrector
        self.name = f"{family.name}+corrector"

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None):
        if previous is not None:
            if weights is not None:
                raise ValueError("the corrector reorders and moves items, so it needs unweighted training data "
                                 "(no curate hook beside it)")
            data = self.corrector(data, generator)
        return self.family.fit(data, weights=weights, previous=previous, generator=generator)

