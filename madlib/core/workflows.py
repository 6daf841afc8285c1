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

Added for chapter 6 (variants studied in the literature; each needs nothing the four above
do not, except ``mix`` and ``reset``, which read ``Step.options``):

====================  ==================================================
accumulate-subsample  everything so far is kept in a pool (``Step.state``),
                      but each generation trains on a random ``n_real`` of
                      it (a fixed budget, "Collapse or Thrive?")
mix                   Shumailov et al.'s framework: shares ``original``
                      (alpha) of original real data, ``previous`` (beta) of
                      the previous training set and gamma = 1 - alpha - beta
                      of new samples, ``n_synthetic`` items in all
reset                 replace, but every ``every`` generations the model is
                      refitted to the pristine snapshot (the original data)
====================  ==================================================
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

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
    options: Mapping[str, Any] = field(default_factory=dict)  # mix, reset: see WORKFLOW_OPTIONS
    state: dict[str, Any] = field(default_factory=dict)  # kept by the loop between generations (and checkpointed)


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


def _random_subset(generator: torch.Generator, replicates: int, size: int, k: int, device) -> torch.Tensor:
    """Indices ``(R, k)`` of a uniform random k-subset of ``range(size)`` per replicate."""
    keys = torch.rand(replicates, size, generator=generator, device=generator.device)
    return keys.argsort(dim=1)[:, :k].to(device)


def accumulate_subsample(step: Step) -> tuple[torch.Tensor, Weights]:
    """A random ``n_real`` items of the pool of every item so far (real and synthetic, as ``accumulate``).

    The pool lives in ``step.state["pool"]`` (the loop keeps and checkpoints it), so the fit sees only
    the fixed-size subsample. Curation weights would have to ride along in the pool; this workflow
    refuses a ``curate`` hook instead.
    """
    if step.synthetic_weights is not None:
        raise ValueError("workflow='accumulate-subsample' does not combine with a curate hook; use curate=None")
    previous_pool = step.state.get("pool", step.original)
    pool = _cat([previous_pool, step.synthetic])
    step.state["pool"] = pool
    R, size = pool.shape[:2]
    # topk of uniform keys is a uniform k-subset, in O(size) rather than a full argsort's O(size log size)
    keys = torch.rand(R, size, generator=step.generator, device=step.generator.device)
    chosen = keys.topk(min(step.n_real, size), dim=1, sorted=False).indices.to(pool.device)
    return gather_rows(pool, chosen), None


def mix_counts(n_synthetic: int, options: Mapping[str, Any]) -> tuple[int, int, int]:
    """Items of generation t >= 1 under ``mix``: (original, previous, new samples), summing to n_synthetic."""
    n_original = int(round(float(options.get("original", 0.0)) * n_synthetic))
    n_previous = int(round(float(options.get("previous", 0.0)) * n_synthetic))
    return n_original, n_previous, n_synthetic - n_original - n_previous


def mix(step: Step) -> tuple[torch.Tensor, Weights]:
    """alpha original real items, beta items of the previous training set, gamma new samples (Shumailov et al.)."""
    # the loop drew exactly the new samples (synthetic_count); n_total is the loop's n_synthetic
    n_original, n_previous, _ = mix_counts(step.options["n_total"], step.options)
    R = step.original.shape[0]
    device = step.synthetic.device
    parts, weight_parts = [], []
    if n_original:
        idx = _random_subset(step.generator, R, step.original.shape[1], n_original, step.original.device)
        parts.append(gather_rows(step.original, idx))
        weight_parts.append((n_original, None))
    if n_previous:
        idx = _random_subset(step.generator, R, step.previous.shape[1], n_previous, step.previous.device)
        parts.append(gather_rows(step.previous, idx))
        weight_parts.append((n_previous, None if step.previous_weights is None
                             else gather_rows(step.previous_weights, idx.to(step.previous_weights.device))))
    parts.append(step.synthetic)
    weight_parts.append((step.synthetic.shape[1], step.synthetic_weights))
    return _cat(parts), cat_weights(weight_parts, R, device)


def reset(step: Step) -> tuple[torch.Tensor, Weights]:
    """Replace, except every ``every`` generations: the training set is the pristine snapshot again."""
    if step.generation % int(step.options["every"]) == 0:
        return step.original, None
    return step.synthetic, step.synthetic_weights


WORKFLOW_FUNCTIONS: dict[str, Callable[[Step], tuple[torch.Tensor, Weights]]] = {
    "replace": replace,
    "augment": augment,
    "fresh": fresh,
    "accumulate": accumulate,
    "accumulate-subsample": accumulate_subsample,
    "mix": mix,
    "reset": reset,
}
WORKFLOWS = tuple(WORKFLOW_FUNCTIONS)

#: The options each workflow reads from ``Step.options`` (the loop's ``workflow_options``).
WORKFLOW_OPTIONS: dict[str, tuple[str, ...]] = {"mix": ("original", "previous"), "reset": ("every",)}


def check_workflow_options(workflow: str, options: Mapping[str, Any] | None, *, n_real: int,
                           n_synthetic: int) -> dict[str, Any]:
    """Validate ``options`` for ``workflow``; returns them as a dict (with ``n_total`` for mix).

    mix: ``original`` (alpha) and ``previous`` (beta) in [0, 1] with alpha + beta <= 1 and at least
    one new sample; alpha * n_synthetic <= n_real. reset: ``every`` an int >= 1.
    """
    options = dict(options or {})
    allowed = WORKFLOW_OPTIONS.get(workflow, ())
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"workflow_options {sorted(unknown)} do not apply to workflow={workflow!r}; "
                         f"it takes {list(allowed) or 'none'}")
    if workflow == "mix":
        for key in ("original", "previous"):
            value = options.setdefault(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"workflow_options[{key!r}] must be a share in [0, 1], got {value!r}")
        n_original, n_previous, n_new = mix_counts(n_synthetic, options)
        if n_new < 1:
            raise ValueError(f"mix needs at least one new sample: original + previous shares "
                             f"({options['original']} + {options['previous']}) leave none of n_synthetic={n_synthetic}")
        if n_original > n_real:
            raise ValueError(f"mix: original share * n_synthetic ({n_original}) must not exceed n_real ({n_real})")
        if n_previous > min(n_real, n_synthetic):
            raise ValueError(f"mix: previous share * n_synthetic ({n_previous}) must not exceed the previous "
                             f"training set (min(n_real, n_synthetic) = {min(n_real, n_synthetic)})")
        options["n_total"] = n_synthetic
    if workflow == "reset":
        every = options.get("every")
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"workflow_options['every'] must be an int >= 1 for workflow='reset', got {every!r}")
        if n_synthetic < 1:
            raise ValueError("n_synthetic must be >= 1 for workflow='reset'")
    return options


def synthetic_count(workflow: str, n_synthetic: int, n_kept: int, options: Mapping[str, Any] | None = None) -> int:
    """How many new samples the loop draws per generation under ``workflow``."""
    if workflow == "replace":
        return n_synthetic - n_kept
    if workflow == "mix":
        return mix_counts(n_synthetic, options or {})[2]
    return n_synthetic


def training_set_size(workflow: str, generation: int, n_real: int, n_synthetic: int,
                      options: Mapping[str, Any] | None = None) -> int:
    """How many items generation ``generation`` trains on under ``workflow`` (no curation).

    For ``accumulate-subsample`` this is the subsample (the items of weight 1), not the pool.
    """
    if generation == 0:
        return n_real
    if workflow == "reset":
        return n_real if generation % int((options or {})["every"]) == 0 else n_synthetic
    return {
        "replace": n_synthetic,
        "augment": n_real + n_synthetic,
        "fresh": n_real + n_synthetic,
        "accumulate": n_real + generation * n_synthetic,
        "accumulate-subsample": min(n_real, n_real + generation * n_synthetic),
        "mix": n_synthetic,
    }[workflow]
