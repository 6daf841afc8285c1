"""The workflows of the self-consuming loop: how generation t's training set is built.

Each workflow is one small function in :data:`WORKFLOWS` that takes the loop's
:class:`Step` (the original real data, the last training set, this generation's
synthetic items and their curation weights) and returns the new training set and
its weights (None: every item counts once).

============  ==========================================================
replace       the synthetic items; a share ``kept_real_fraction`` of the
              training set is original real data re-drawn each generation
              ("fully synthetic" when the share is 0)
augment       the fixed original real set plus the synthetic items
              ("synthetic augmentation")
fresh         ``n_real`` *new* real items plus the synthetic items
accumulate    everything so far plus the synthetic items
============  ==========================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .sources import RealSource

Weights = torch.Tensor | None


@dataclass
class Step:
    """What a workflow sees when it builds generation ``generation``'s training set."""

    generation: int
    original: torch.Tensor  # the real data of generation 0, (R, n_real, ...)
    previous: torch.Tensor  # the last generation's training set
    previous_weights: Weights
    synthetic: torch.Tensor  # this generation's synthetic items, (R, m, ...)
    synthetic_weights: Weights  # curation weights of the synthetic items, or None
    real: RealSource
    generator: torch.Generator
    n_real: int
    n_kept: int  # replace only: original real items kept in the training set


def _cat(parts: list[torch.Tensor]) -> torch.Tensor:
    parts = [p for p in parts if p.shape[1] > 0]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def cat_weights(parts: list[tuple[int, Weights]], replicates: int, device) -> Weights:
    """Concatenate per-part weights ``(size, weights or None)``; None when every part is unweighted."""
    if all(w is None for _, w in parts):
        return None
    out = [w if w is not None else torch.ones(replicates, n, device=device, dtype=torch.float64) for n, w in parts]
    return torch.cat([w.to(torch.float64) for w in out], dim=1)


def gather_rows(data: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``data[r, index[r]]`` for every replicate r."""
    rows = torch.arange(data.shape[0], device=data.device)[:, None]
    return data[rows, index]


def _with_real(step: Step, real: torch.Tensor) -> tuple[torch.Tensor, Weights]:
    """Real items (weight 1) followed by the synthetic ones."""
    weights = cat_weights([(real.shape[1], None), (step.synthetic.shape[1], step.synthetic_weights)],
                          real.shape[0], step.synthetic.device)
    return _cat([real, step.synthetic]), weights


def replace(step: Step) -> tuple[torch.Tensor, Weights]:
    if not step.n_kept:
        return step.synthetic, step.synthetic_weights
    R, n_real = step.original.shape[:2]
    keys = torch.rand(R, n_real, generator=step.generator, device=step.generator.device)
    kept = gather_rows(step.original, keys.argsort(dim=1)[:, : step.n_kept].to(step.original.device))
    return _with_real(step, kept)


def augment(step: Step) -> tuple[torch.Tensor, Weights]:
    return _with_real(step, step.original)


def fresh(step: Step) -> tuple[torch.Tensor, Weights]:
    return _with_real(step, step.real.draw(step.n_real, step.generator))


def accumulate(step: Step) -> tuple[torch.Tensor, Weights]:
    R, old_n = step.previous.shape[:2]
    weights = cat_weights([(old_n, step.previous_weights), (step.synthetic.shape[1], step.synthetic_weights)],
                          R, step.synthetic.device)
    return _cat([step.previous, step.synthetic]), weights


WORKFLOW_FUNCTIONS: dict[str, Callable[[Step], tuple[torch.Tensor, Weights]]] = {
    "replace": replace,
    "augment": augment,
    "fresh": fresh,
    "accumulate": accumulate,
}
WORKFLOWS = tuple(WORKFLOW_FUNCTIONS)


def training_set_size(workflow: str, generation: int, n_real: int, n_synthetic: int) -> int:
    """How many items generation ``generation`` trains on under ``workflow`` (no curation)."""
    if generation == 0:
        return n_real
    return {
        "replace": n_synthetic,
        "augment": n_real + n_synthetic,
        "fresh": n_real + n_synthetic,
        "accumulate": n_real + generation * n_synthetic,
    }[workflow]
