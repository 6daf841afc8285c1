"""The workflows of the self-consuming loop: how generation t's training set is built.

A workflow is one :class:`Workflow` object in one table, :data:`WORKFLOW_TABLE`: its name,
the function that builds the training set from the loop's :class:`Step`, how many new samples
it draws, how large its training set is, and its options (name, default, range). Adding a
workflow is adding one entry; the loop, the experiments' parameters (``madlib list``), the CLI
and the figures read everything else from it.

====================  ==================================================================
replace               the synthetic items; option ``kept_real_fraction``: that share of the
                      training set is original real data re-drawn each generation ("fully
                      synthetic" when 0)
augment               the fixed original real set plus the synthetic items ("synthetic
                      augmentation")
fresh                 ``n_real`` *new* real items plus the synthetic items
accumulate            everything so far plus the synthetic items
accumulate-subsample  everything so far is kept in a pool, but each generation trains on a
                      random ``n_real`` of it (a fixed budget, "Collapse or Thrive?")
mix                   Shumailov et al.'s framework: shares ``mix_original`` (alpha) of original
                      real data, ``mix_previous`` (beta) of the previous training set and
                      gamma = 1 - alpha - beta of new samples, ``n_synthetic`` items in all
reset                 replace, but every ``reset_every`` generations the training set is the
                      pristine snapshot (the original real data) again
====================  ==================================================================

:func:`configure` turns a name and option values into a :class:`WorkflowChoice` (checked
against the option ranges); :func:`workflow_from_config` does it for an experiment's config.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from .params import Param, integer, number
from .select import random_subset
from .sources import RealSource

Weights = torch.Tensor | None


@dataclass
class Step:
    """What a workflow sees when it builds generation ``generation``'s training set."""

    generation: int
    original: torch.Tensor  # the real data of generation 0, (R, n_real, ...)
    previous: torch.Tensor  # the last generation's training set
    previous_weights: Weights
    synthetic: torch.Tensor  # this generation's new samples, (R, m, ...)
    synthetic_weights: Weights  # curation weights of the new samples, or None
    real: RealSource
    generator: torch.Generator
    n_real: int
    n_synthetic: int  # the loop's n_synthetic (mix: the training-set size)
    options: Mapping[str, Any] = field(default_factory=dict)  # the workflow's options, defaults filled in
    state: dict[str, Any] = field(default_factory=dict)  # kept by the loop between generations (and checkpointed)


# --- small helpers the builders share -------------------------------------------------------

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


def kept_real_count(kept_real_fraction: float, n_synthetic: int) -> int:
    """replace: how many original real items a training set of ``n_synthetic`` keeps."""
    return int(round(kept_real_fraction * n_synthetic))


def mix_counts(n_synthetic: int, options: Mapping[str, Any]) -> tuple[int, int, int]:
    """Items of generation t >= 1 under ``mix``: (original, previous, new samples), summing to n_synthetic."""
    n_original = int(round(float(options["mix_original"]) * n_synthetic))
    n_previous = int(round(float(options["mix_previous"]) * n_synthetic))
    return n_original, n_previous, n_synthetic - n_original - n_previous


# --- the builders ---------------------------------------------------------------------------

def _replace(step: Step) -> tuple[torch.Tensor, Weights]:
    n_kept_real = kept_real_count(step.options["kept_real_fraction"], step.n_synthetic)
    if not n_kept_real:
        return step.synthetic, step.synthetic_weights
    R, n_real = step.original.shape[:2]
    index = random_subset(step.generator, R, n_real, n_kept_real, step.original.device)
    return _with_real(step, gather_rows(step.original, index))


def _augment(step: Step) -> tuple[torch.Tensor, Weights]:
    return _with_real(step, step.original)


def _fresh(step: Step) -> tuple[torch.Tensor, Weights]:
    return _with_real(step, step.real.draw(step.n_real, step.generator))


def _accumulate(step: Step) -> tuple[torch.Tensor, Weights]:
    R, old_n = step.previous.shape[:2]
    weights = cat_weights([(old_n, step.previous_weights), (step.synthetic.shape[1], step.synthetic_weights)],
                          R, step.synthetic.device)
    return _cat([step.previous, step.synthetic]), weights


def _accumulate_subsample(step: Step) -> tuple[torch.Tensor, Weights]:
    """A random ``n_real`` items of the pool of every item so far (real and synthetic, as ``accumulate``).

    The pool lives in ``step.state["pool"]`` (the loop keeps and checkpoints it), so the fit sees only
    the fixed-size subsample. Curation weights would have to ride along in the pool; this workflow
    refuses a ``curate`` hook instead.
    """
    if step.synthetic_weights is not None:
        raise ValueError("workflow='accumulate-subsample' does not combine with a curate hook; use curate=None")
    pool = _cat([step.state.get("pool", step.original), step.synthetic])
    step.state["pool"] = pool
    R, size = pool.shape[:2]
    return gather_rows(pool, random_subset(step.generator, R, size, step.n_real, pool.device)), None


def _mix(step: Step) -> tuple[torch.Tensor, Weights]:
    """alpha original real items, beta items of the previous training set, gamma new samples (Shumailov et al.)."""
    n_original, n_previous, _ = mix_counts(step.n_synthetic, step.options)
    R = step.original.shape[0]
    parts, weight_parts = [], []
    if n_original:
        index = random_subset(step.generator, R, step.original.shape[1], n_original, step.original.device)
        parts.append(gather_rows(step.original, index))
        weight_parts.append((n_original, None))
    if n_previous:
        index = random_subset(step.generator, R, step.previous.shape[1], n_previous, step.previous.device)
        parts.append(gather_rows(step.previous, index))
        weight_parts.append((n_previous, None if step.previous_weights is None
                             else gather_rows(step.previous_weights, index.to(step.previous_weights.device))))
    parts.append(step.synthetic)
    weight_parts.append((step.synthetic.shape[1], step.synthetic_weights))
    return _cat(parts), cat_weights(weight_parts, R, step.synthetic.device)


def _reset(step: Step) -> tuple[torch.Tensor, Weights]:
    """Replace, except every ``reset_every`` generations: the training set is the pristine snapshot again."""
    if step.generation % step.options["reset_every"] == 0:
        return step.original, None
    return step.synthetic, step.synthetic_weights


# --- options and checks ---------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One option of a workflow: its name (also the experiments' parameter name), default and range."""

    name: str
    default: float | int
    minimum: float | int
    maximum: float | int
    doc: str

    @property
    def kind(self) -> type:
        return int if isinstance(self.default, int) else float

    def check(self, value: Any, workflow: str) -> float | int:
        what = "an integer" if self.kind is int else "a number"
        ok_type = (isinstance(value, numbers.Integral) if self.kind is int else isinstance(value, numbers.Real))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value) or \
                not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.name} must be {what} in [{self.minimum}, {self.maximum}] for "
                             f"workflow={workflow!r} ({self.doc}), got {value!r}")
        return self.kind(value)


def _check_replace(options: Mapping[str, Any], n_real: int, n_synthetic: int) -> None:
    if n_synthetic < 1:
        raise ValueError("n_synthetic must be >= 1 for workflow='replace'")
    n_kept_real = kept_real_count(options["kept_real_fraction"], n_synthetic)
    if n_kept_real > n_real:
        raise ValueError(f"kept_real_fraction * n_synthetic ({n_kept_real}) must not exceed n_real ({n_real})")


def _check_mix(options: Mapping[str, Any], n_real: int, n_synthetic: int) -> None:
    n_original, n_previous, n_new = mix_counts(n_synthetic, options)
    if n_new < 1:
        raise ValueError(f"mix needs at least one new sample: mix_original + mix_previous "
                         f"({options['mix_original']} + {options['mix_previous']}) leave none of "
                         f"n_synthetic={n_synthetic}")
    if n_original > n_real:
        raise ValueError(f"mix: mix_original * n_synthetic ({n_original}) must not exceed n_real ({n_real})")
    if n_previous > min(n_real, n_synthetic):
        raise ValueError(f"mix: mix_previous * n_synthetic ({n_previous}) must not exceed the previous "
                         f"training set (min(n_real, n_synthetic) = {min(n_real, n_synthetic)})")


def _check_positive(name: str) -> Callable[[Mapping[str, Any], int, int], None]:
    def check(options: Mapping[str, Any], n_real: int, n_synthetic: int) -> None:
        if n_synthetic < 1:
            raise ValueError(f"n_synthetic must be >= 1 for workflow={name!r}")
    return check


def _no_check(options: Mapping[str, Any], n_real: int, n_synthetic: int) -> None:
    return None


# --- the table ------------------------------------------------------------------------------

Builder = Callable[[Step], tuple[torch.Tensor, Weights]]
Count = Callable[[int, Mapping[str, Any]], int]  # (n_synthetic, options) -> new samples per generation
Size = Callable[[int, int, int, Mapping[str, Any]], int]  # (generation >= 1, n_real, n_synthetic, options)


@dataclass(frozen=True)
class Workflow:
    """A workflow: how the loop builds each training set, and everything that depends on it."""

    name: str
    doc: str
    build: Builder
    n_new: Count  # new samples the loop draws per generation
    size: Size  # training-set size at generation t >= 1 (no curation; accumulate-subsample: the subsample)
    options: tuple[Option, ...] = ()
    check: Callable[[Mapping[str, Any], int, int], None] = _no_check  # options against n_real, n_synthetic

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)


def _all(n_synthetic: int, options: Mapping[str, Any]) -> int:
    return n_synthetic


WORKFLOW_TABLE: dict[str, Workflow] = {w.name: w for w in (
    Workflow("replace", "train on the new samples only (fully synthetic), optionally keeping a share of real data",
             _replace,
             n_new=lambda m, o: m - kept_real_count(o["kept_real_fraction"], m),
             size=lambda t, n, m, o: m,
             options=(Option("kept_real_fraction", 0.0, 0.0, 1.0,
                             "share of each training set that is original real data"),),
             check=_check_replace),
    Workflow("augment", "the fixed original real set plus the new samples", _augment,
             n_new=_all, size=lambda t, n, m, o: n + m),
    Workflow("fresh", "n_real new real items plus the new samples", _fresh,
             n_new=_all, size=lambda t, n, m, o: n + m),
    Workflow("accumulate", "everything so far plus the new samples", _accumulate,
             n_new=_all, size=lambda t, n, m, o: n + t * m),
    Workflow("accumulate-subsample", "a random n_real items of everything so far", _accumulate_subsample,
             n_new=_all, size=lambda t, n, m, o: n, check=_check_positive("accumulate-subsample")),
    Workflow("mix", "shares of original data (alpha), previous data (beta) and new samples (Shumailov et al.)",
             _mix,
             n_new=lambda m, o: mix_counts(m, o)[2],
             size=lambda t, n, m, o: m,
             options=(Option("mix_original", 0.1, 0.0, 1.0, "alpha: share of original real data"),
                      Option("mix_previous", 0.0, 0.0, 1.0, "beta: share of the previous training set")),
             check=_check_mix),
    Workflow("reset", "replace, but every reset_every generations train on the pristine real data again", _reset,
             n_new=_all,
             size=lambda t, n, m, o: n if t % o["reset_every"] == 0 else m,
             options=(Option("reset_every", 10, 1, 10**9, "generations between resets to the real data"),),
             check=_check_positive("reset")),
)}
WORKFLOWS = tuple(WORKFLOW_TABLE)
#: Every workflow option by name (they are unique across workflows), with the workflow that owns it.
WORKFLOW_OPTIONS: dict[str, tuple[str, Option]] = {o.name: (w.name, o) for w in WORKFLOW_TABLE.values()
                                                   for o in w.options}


@dataclass(frozen=True)
class WorkflowChoice:
    """A workflow with its option values (defaults filled in): what the loop runs."""

    workflow: Workflow
    options: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.workflow.name

    def n_new(self, n_synthetic: int) -> int:
        return self.workflow.n_new(n_synthetic, self.options)

    def size(self, generation: int, n_real: int, n_synthetic: int) -> int:
        """How many items generation ``generation`` trains on (no curation)."""
        return n_real if generation == 0 else self.workflow.size(generation, n_real, n_synthetic, self.options)

    def check(self, n_real: int, n_synthetic: int) -> None:
        self.workflow.check(self.options, n_real, n_synthetic)

    def key(self) -> list:
        """JSON-able: name and options (for checkpoint fingerprints)."""
        return [self.name, sorted(self.options.items())]


def option_param(name: str) -> Param:
    """The experiment-parameter spec of workflow option ``name``: its range, applying under its workflow only."""
    owner, option = WORKFLOW_OPTIONS[name]
    make = integer if option.kind is int else number
    return make(option.minimum, option.maximum, applies_when={"workflow": (owner,)},
                doc=f"{option.doc} (workflow={owner} only)")


def get_workflow(name: str) -> Workflow:
    if name not in WORKFLOW_TABLE:
        raise ValueError(f"workflow must be one of {list(WORKFLOWS)}, got {name!r}")
    return WORKFLOW_TABLE[name]


def configure(workflow: str | WorkflowChoice, **options: Any) -> WorkflowChoice:
    """The workflow ``workflow`` with ``options`` checked against its ranges and defaults filled in.

    An option the workflow does not take is an error (it would otherwise be silently ignored).
    """
    if isinstance(workflow, WorkflowChoice):
        if options:
            raise ValueError("configure: options are already set on this WorkflowChoice")
        return workflow
    spec = get_workflow(workflow)
    unknown = set(options) - set(spec.option_names)
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} do not apply to workflow={spec.name!r}; "
                         f"it takes {', '.join(spec.option_names) or 'no options'}")
    values = {o.name: o.check(options.get(o.name, o.default), spec.name) for o in spec.options}
    return WorkflowChoice(spec, values)


def workflow_from_config(config: Mapping[str, Any]) -> WorkflowChoice:
    """The configured workflow of an experiment's config: ``workflow`` and the options that belong to it.

    Options of other workflows in the config are ignored here: the experiment registry refuses an
    option set explicitly for a workflow that does not take it, and leaves the rest at their defaults.
    """
    spec = get_workflow(config["workflow"])
    return configure(spec.name, **{name: config[name] for name in spec.option_names if name in config})


def training_set_size(workflow: str | WorkflowChoice, generation: int, n_real: int, n_synthetic: int) -> int:
    """How many items generation ``generation`` trains on under ``workflow`` (default options when a name)."""
    return configure(workflow).size(generation, n_real, n_synthetic)
