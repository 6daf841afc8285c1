"""The self-consuming loop, written once for every model family.

Generation 0 is fitted to ``n_real`` real items. Every later generation t is fitted to a
training set that the *workflow* (:mod:`madlib.core.workflows`) builds from the samples of
model t-1 (optionally curated by a ``curate`` hook).

After each fit an *observer* measures the new model: it returns metrics (one value per
replicate: they go to the tidy table) and, with an :class:`Observation`, *artefacts* of any
kind (sample grids, texts, per-replicate tensors, a model) which the loop keeps per generation
in :attr:`LoopResult.artefacts`. With ``checkpoint_dir`` every finished generation is saved
(artefacts included) and a rerun resumes at the first unfinished one, so an observer never
needs side files.

The loop knows nothing about families: it calls ``family.fit`` and ``model.sample``
(see :mod:`madlib.core.protocol`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import torch

from .cache import digest
from .checkpoint import Checkpointer
from .config import float64_device
from .pace import Pace
from .protocol import Family, GenerativeModel
from .seeding import child_seed
from .sources import RealSource
from .validation import check_choice, check_float, check_fraction, check_int
from .workflows import WORKFLOW_FUNCTIONS, WORKFLOWS, Step, check_workflow_options, synthetic_count

__all__ = ["WORKFLOWS", "LoopResult", "Observation", "run_loop"]


@dataclass
class Observation:
    """What an observer returns: ``metrics`` (name -> one value per replicate, or one value) for
    the table, and ``artefacts`` (name -> anything ``torch.save`` can store) kept per generation."""

    metrics: Mapping[str, Any] = field(default_factory=dict)
    artefacts: Mapping[str, Any] = field(default_factory=dict)


Observe = Callable[[GenerativeModel, torch.Tensor, int, torch.Generator], "Observation | Mapping[str, Any] | None"]
Curate = Callable[..., torch.Tensor]


@dataclass
class LoopResult:
    """What a loop run returns.

    ``table`` is tidy: one row per (generation, replicate, metric) with its value;
    ``artefacts[g]`` holds what the observer kept at generation g; ``model`` is the last model.
    """

    table: pd.DataFrame
    model: GenerativeModel
    artefacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    resumed_from: int | None = None

    def artefact(self, name: str) -> dict[int, Any]:
        """One artefact across generations: ``{generation: value}`` where it was kept."""
        return {g: a[name] for g, a in sorted(self.artefacts.items()) if name in a}


def _to_records(generation: int, values: Mapping[str, Any], replicates: int) -> list[tuple]:
    rows = []
    for metric, value in values.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().to("cpu", torch.float64).numpy()
        arr = np.asarray(value, dtype=float).reshape(-1)
        if arr.size == 1 and replicates > 1:
            arr = np.full(replicates, arr.item())
        if arr.size != replicates:
            raise ValueError(
                f"metric {metric!r} has {arr.size} values, expected one per replicate ({replicates}) or one"
            )
        rows.extend((generation, r, metric, float(v)) for r, v in enumerate(arr))
    return rows


def _as_observation(value: Any) -> Observation:
    if value is None:
        return Observation()
    if isinstance(value, Observation):
        return value
    if isinstance(value, Mapping):
        return Observation(metrics=value)
    raise ValueError(f"an observer must return an Observation, a mapping of metrics or None, got {type(value).__name__}")


@dataclass(frozen=True)
class _Settings:
    workflow: str
    generations: int
    n_real: int
    n_synthetic: int
    n_kept: int
    sampling_bias: float
    seed: int


def _settings(workflow, generations, n_real, n_synthetic, kept_real_fraction, sampling_bias, seed) -> _Settings:
    workflow = check_choice("workflow", workflow, WORKFLOWS)
    generations = check_int("generations", generations, 0)
    n_real = check_int("n_real", n_real, 1)
    n_synthetic = n_real if n_synthetic is None else check_int("n_synthetic", n_synthetic, 0)
    kept_real_fraction = check_fraction("kept_real_fraction", kept_real_fraction)
    sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    seed = check_int("seed", seed, 0)
    if kept_real_fraction > 0 and workflow != "replace":
        raise ValueError("kept_real_fraction applies to workflow='replace' only; "
                         f"got kept_real_fraction={kept_real_fraction} with workflow={workflow!r}")
    n_kept = int(round(kept_real_fraction * n_synthetic))
    if n_kept > n_real:
        raise ValueError(f"kept_real_fraction * n_synthetic ({n_kept}) must not exceed n_real ({n_real})")
    if workflow == "replace" and n_synthetic == 0:
        raise ValueError("n_synthetic must be >= 1 for workflow='replace'")
    return _Settings(workflow, generations, n_real, n_synthetic, n_kept, sampling_bias, seed)


def run_loop(
    family: Family,
    real: RealSource,
    *,
    generations: int,
    n_real: int,
    n_synthetic: int | None = None,
    workflow: str = "replace",
    workflow_options: Mapping[str, Any] | None = None,
    kept_real_fraction: float = 0.0,
    sampling_bias: float = 1.0,
    seed: int = 0,
    observe: Observe | None = None,
    curate: Curate | None = None,
    checkpoint_dir: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> LoopResult:
    """Run the self-consuming loop for ``generations`` generations after generation 0.

    ``n_real`` real items make generation 0 (and each *fresh* generation); ``n_synthetic``
    (default ``n_real``) synthetic items are drawn per generation; ``kept_real_fraction``
    (*replace* only) is the share of each training set that is original real data;
    ``sampling_bias`` (lambda in (0, 1]) is passed to ``model.sample``. ``workflow_options`` are
    the settings of the workflows that take some (``mix``: shares ``original`` and ``previous``;
    ``reset``: ``every``), see :func:`madlib.core.workflows.check_workflow_options`.

    ``observe(model, train_data, generation, generator)`` returns an :class:`Observation`, a
    mapping of metrics, or None; it gets its own random stream, so measuring never changes the
    chains. ``curate(synthetic, generation, generator, model)`` returns weights ``(R, m)`` for the
    synthetic items (0 drops one): verification, filtering, reweighting; a hook of three
    arguments is called without ``model``. ``checkpoint_dir`` saves every finished generation and
    resumes from it; ``config`` (JSON-able) is stored with it so a different run never resumes it.
    """
    s = _settings(workflow, generations, n_real, n_synthetic, kept_real_fraction, sampling_bias, seed)
    options = check_workflow_options(s.workflow, workflow_options, n_real=s.n_real, n_synthetic=s.n_synthetic)
    replicates = real.replicates
    checkpoint = None
    if checkpoint_dir is not None:
        loop_key = list(vars(s).values()) + ([sorted(options.items())] if options else [])
        fingerprint = digest({"config": dict(config or {}), "loop": loop_key}, length=64)
        checkpoint = Checkpointer(checkpoint_dir, fingerprint)

    generator = _generator_for(real, s.seed)
    eval_generator = _generator_for(real, child_seed(s.seed, "evaluation"))
    records: list[tuple] = []
    artefacts: dict[int, dict[str, Any]] = {}
    model = data = weights = original = None
    workflow_state: dict[str, Any] = {}  # what a workflow keeps between generations (accumulate-subsample's pool)
    start, resumed_from = 0, None
    state = checkpoint.load(map_location=_device_of(real)) if checkpoint is not None else None
    if state is not None:
        model, data, weights, original = state["model"], state["data"], state["weights"], state["original"]
        records, artefacts = state["records"], state["artefacts"]
        workflow_state = state.get("workflow_state", {})
        if state["real_state"] is not None:
            real.load_state_dict(state["real_state"])
        generator.set_state(state["generator"])
        eval_generator.set_state(state["eval_generator"])
        resumed_from = state["generation"]
        start = resumed_from + 1

    iterator: Iterable[int] = range(start, s.generations + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=s.generations + 1, initial=start, desc=desc or family.name, leave=False)
    pace = Pace(desc or family.name, s.generations + 1 - start, "generation", resumable=checkpoint is not None)
    for t in iterator:
        if t == 0:
            original = real.draw(s.n_real, generator)
            data, weights = original, None
        else:
            n_new = synthetic_count(s.workflow, s.n_synthetic, s.n_kept, options)
            synthetic = model.sample(n_new, sampling_bias=s.sampling_bias, generator=generator, context=data)
            synthetic_weights = _call_curate(curate, synthetic, t, generator, model) if curate is not None else None
            if synthetic_weights is not None and synthetic_weights.shape != synthetic.shape[:2]:
                raise ValueError(f"curate must return weights of shape {tuple(synthetic.shape[:2])}")
            step = Step(t, original, data, weights, synthetic, synthetic_weights, real, generator, s.n_real, s.n_kept,
                        options, workflow_state)
            data, weights = WORKFLOW_FUNCTIONS[s.workflow](step)
        model = family.fit(data, weights=weights, previous=model, generator=generator)
        if observe is not None:
            observation = _as_observation(observe(model, data, t, eval_generator))
            records.extend(_to_records(t, observation.metrics, replicates))
            if observation.artefacts:
                artefacts[t] = dict(observation.artefacts)
        if checkpoint is not None:
            checkpoint.save({
                "generation": t, "model": model, "data": data, "weights": weights, "original": original,
                "records": records, "artefacts": artefacts, "workflow_state": workflow_state,
                # only stateful sources (a pool dealing items) have something to save
                "real_state": real.state_dict() if hasattr(real, "state_dict") else None,
                "generator": generator.get_state(), "eval_generator": eval_generator.get_state(),
            })
        pace.tick()

    table = pd.DataFrame.from_records(records, columns=["generation", "replicate", "metric", "value"])
    return LoopResult(table=table, model=model, artefacts=artefacts, resumed_from=resumed_from)


def _call_curate(curate, synthetic, generation, generator, model):
    try:
        takes_model = len(inspect.signature(curate).parameters) >= 4
    except (TypeError, ValueError):  # builtins without a signature
        takes_model = True
    if takes_model:
        return curate(synthetic, generation, generator, model)
    return curate(synthetic, generation, generator)


def _device_of(real: RealSource) -> torch.device:
    pool = getattr(real, "pool", None)
    if isinstance(pool, torch.Tensor):
        return pool.device
    return torch.device(getattr(real, "device", "cpu"))


def _generator_for(real: RealSource, seed: int) -> torch.Generator:
    generator = torch.Generator(device=float64_device(_device_of(real)))
    generator.manual_seed(seed)
    return generator
