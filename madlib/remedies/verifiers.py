"""Judges with their own view of the data: a verifier with a knowledge center, and a curator with a reward.

Both are ``curate`` hooks for :func:`madlib.core.loop.run_loop` (weights ``(R, m)``, 0 drops an item):

* :class:`BandVerifier` -- for linear-regression items ``[x, y]``: keeps a candidate when its label is within
  ``tolerance`` of the verifier's own prediction ``x.center``. A verifier that knows ``center = w*`` accepts
  what is plausible under the truth; one with a biased ``center`` (its *knowledge center*, Yi et al. 2025)
  pulls the loop to itself (:func:`madlib.theory.curation.band_verifier_contraction`).
* :class:`PairwiseCurator` -- for categorical items: pairs the candidates at random and keeps one of each pair
  with the Bradley-Terry probability ``sigmoid(r(a) - r(b))``, as a user who picks the better of two images
  (Ferbach et al. 2024; the loop's closed form is :func:`madlib.theory.curation.pairwise_curation_step`).
"""
from __future__ import annotations

import torch

from ..core.validation import check_float, check_int


class BandVerifier:
    """Keep regression candidates ``[x_1..x_d, y]`` with ``|y - x.center| <= tolerance``: at most ``max_keep`` of
    them (a random subset), at least ``min_keep`` (the smallest residuals, so a fit always has enough items)."""

    def __init__(self, center: torch.Tensor, tolerance: float, max_keep: int | None = None, min_keep: int = 0):
        self.center = torch.as_tensor(center, dtype=torch.float64)
        if self.center.ndim != 1 or self.center.numel() == 0:
            raise ValueError(f"center must be a vector (d,), got shape {tuple(self.center.shape)}")
        self.tolerance = check_float("tolerance", tolerance, 0.0, open_minimum=True)
        self.max_keep = None if max_keep is None else check_int("max_keep", max_keep, 1)
        self.min_keep = check_int("min_keep", min_keep, 0)

    def residual(self, items: torch.Tensor) -> torch.Tensor:
        """``|y - x.center|`` per candidate, ``(R, m)``."""
        d = self.center.numel()
        if items.ndim != 3 or items.shape[-1] != d + 1:
            raise ValueError(f"items must be (R, m, {d + 1}) (inputs then label), got {tuple(items.shape)}")
        x, y = items[..., :d].to(torch.float64), items[..., d].to(torch.float64)
        return (y - x @ self.center.to(x.device)).abs()

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model=None) -> torch.Tensor:
        residual = self.residual(synthetic)
        accepted = (residual <= self.tolerance).to(torch.float64)
        if self.max_keep is not None:
            keys = torch.rand(residual.shape, generator=generator, device=generator.device, dtype=torch.float64)
            keys = keys.to(residual.device) + 2 * (1 - accepted)  # accepted ones first, in random order
            rank = keys.argsort(dim=1).argsort(dim=1)
            accepted = accepted * (rank < self.max_keep)
        need = min(self.min_keep, residual.shape[1])
        short = accepted.sum(dim=1) < need
        if bool(short.any()):
            closest = residual[short].argsort(dim=1)[:, :need]
            fill = torch.zeros_like(accepted[short]).scatter_(1, closest, 1.0)
            accepted[short] = torch.maximum(accepted[short], fill)
        return accepted


class PairwiseCurator:
    """Pair the m candidates of each replicate at random and keep one of each pair, ``a`` over ``b`` with
    probability ``sigmoid(r(a) - r(b))`` (``reward``: one number per category): m // 2 items are kept."""

    def __init__(self, reward: torch.Tensor):
        self.reward = torch.as_tensor(reward, dtype=torch.float64)
        if self.reward.ndim != 1 or self.reward.numel() < 2 or not bool(torch.isfinite(self.reward).all()):
            raise ValueError("reward must be a vector of finite numbers, one per category (>= 2)")

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model=None) -> torch.Tensor:
        ids = (synthetic[..., 0] if synthetic.ndim == 3 else synthetic).to(torch.int64)
        R, m = ids.shape
        if m < 2:
            raise ValueError(f"a curator needs at least 2 candidates per replicate, got {m}")
        if int(ids.max()) >= self.reward.numel():
            raise ValueError(f"category ids must be < {self.reward.numel()} (one reward per category)")
        order = torch.rand(R, m, generator=generator, device=generator.device).argsort(dim=1).to(ids.device)
        pairs = order[:, : 2 * (m // 2)].reshape(R, m // 2, 2)  # random pairs of positions
        reward = self.reward.to(ids.device)[torch.gather(ids, 1, pairs.reshape(R, -1))].reshape(R, m // 2, 2)
        u = torch.rand(R, m // 2, generator=generator, device=generator.device, dtype=torch.float64).to(ids.device)
        first_wins = u < torch.sigmoid(reward[..., 0] - reward[..., 1])
        winner = torch.where(first_wins, pairs[..., 0], pairs[..., 1])
        return torch.zeros(R, m, dtype=torch.float64, device=ids.device).scatter_(1, winner, 1.0)
