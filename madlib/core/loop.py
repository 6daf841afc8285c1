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

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch

from .cache import digest
from .checkpoint import Checkpointer
from .pace import Progress
from .protocol import Family, GenerativeModel
from .seeding import generator as make_generator
from .sources import RealSource
from .validation import check_float, check_int
from .workflows import WORKFLOWS, Step, WorkflowChoice, configure

__all__ = ["WORKFLOWS", "LoopCheckpoint", "LoopResult", "Observation", "run_loop"]


@dataclass
class Observation:
    """What an observer returns: ``metrics`` (name -> one value per replicate, or one value) for
    the table, and ``artefacts`` (name -> anything ``torch.save`` can store) kept per generation."""

    metrics: Mapping[str, Any] = field(default_factory=dict)
    artefacts: Mapping[str, Any] = field(default_factory=dict)


Observe = Callable[[GenerativeModel, torch.Tensor, int, torch.Generator], "Observation | Mapping[str, Any] | None"]
#: ``curate(synthetic, generation, generator, model) -> weights (R, m)``: one signature for every hook.
Curate = Callable[[torch.Tensor, int, torch.Generator, GenerativeModel], torch.Tensor]


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

    def stacked(self, name: str) -> torch.Tensor | np.ndarray:
        """One artefact stacked over the generations that kept it: ``(G, ...)`` (a tensor or an array)."""
        values = list(self.artefact(name).values())
        if not values:
            raise ValueError(f"no generation kept an artefact named {name!r}")
        return torch.stack(values) if isinstance(values[0], torch.Tensor) else np.stack(values)

    def wide(self, metric: str) -> pd.DataFrame:
        """One metric as a wide frame: a row per generation, a column per replicate."""
        rows = self.table[self.table.metric == metric]
        if rows.empty:
            raise ValueError(f"the observer recorded no metric named {metric!r}")
        return rows.pivot(index="generation", columns="replicate", values="value").sort_index()


@dataclass(frozen=True)
class LoopCheckpoint:
    """Where the loop saves every finished generation, and the run's configuration (JSON-able): a folder
    that holds a run with another configuration (or other loop settings) is refused, never resumed."""

    directory: str | Path
    config: Mapping[str, Any] = field(default_factory=dict)

    def checkpointer(self, loop_key: list) -> Checkpointer:
        return Checkpointer(self.directory, digest({"config": dict(self.config), "loop": loop_key}, length=64))


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
    workflow: WorkflowChoice
    generations: int
    n_real: int
    n_synthetic: int
    sampling_bias: float
    seed: int

    def key(self) -> list:
        return [self.workflow.key(), self.generations, self.n_real, self.n_synthetic, self.sampling_bias, self.seed]


def _settings(workflow, generations, n_real, n_synthetic, sampling_bias, seed) -> _Settings:
    workflow = configure(workflow)
    n_real = check_int("n_real", n_real, 1)
    n_synthetic = n_real if n_synthetic is None else check_int("n_synthetic", n_synthetic, 0)
    workflow.check(n_real, n_synthetic)
    return _Settings(workflow, check_int("generations", generations, 0), n_real, n_synthetic,
                     check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True),
                     check_int("seed", seed, 0))


@dataclass
class _Chain:
    """The loop's state between generations: what a checkpoint saves and a resumed run loads."""

    model: Any = None
    data: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    original: torch.Tensor | None = None
    records: list = field(default_factory=list)
    artefacts: dict = field(default_factory=dict)
    workflow_state: dict = field(default_factory=dict)
    start: int = 0  # the next generation to run

    def save(self, saver: Checkpointer, t: int, real, generator, eval_generator) -> None:
        saver.save({"generation": t, "model": self.model, "data": self.data, "weights": self.weights,
                    "original": self.original, "records": self.records, "artefacts": self.artefacts,
                    "workflow_state": self.workflow_state,
                    # only stateful sources (a pool dealing items) have something to save
                    "real_state": real.state_dict() if hasattr(real, "state_dict") else None,
                    "generator": generator.get_state(), "eval_generator": eval_generator.get_state()})

    @classmethod
    def load(cls, saver: Checkpointer | None, real, generator, eval_generator, observe) -> "_Chain":
        state = saver.load(map_location=_device_of(real)) if saver is not None else None
        if state is None:
            return cls()
        if state["real_state"] is not None:
            real.load_state_dict(state["real_state"])
        generator.set_state(state["generator"])
        eval_generator.set_state(state["eval_generator"])
        if hasattr(observe, "restore"):  # an observer with memory (of generation 0, say) takes it back
            observe.restore(state["artefacts"])
        return cls(state["model"], state["data"], state["weights"], state["original"], state["records"],
                   state["artefacts"], state.get("workflow_state", {}), state["generation"] + 1)


def run_loop(family: Family, real: RealSource, *, generations: int, n_real: int, n_synthetic: int | None = None,
             workflow: str | WorkflowChoice = "replace", sampling_bias: float = 1.0, seed: int = 0,
             observe: Observe | None = None, curate: Curate | None = None,
             checkpoint: LoopCheckpoint | None = None, progress: Progress | None = None,
             stop: threading.Event | None = None) -> LoopResult:
    """Run the self-consuming loop for ``generations`` generations after generation 0.

    ``n_real`` real items make generation 0 (and each *fresh* generation); ``n_synthetic`` (default
    ``n_real``) is the synthetic part of each training set. ``workflow`` is a name (default options)
    or a :class:`~madlib.core.workflows.WorkflowChoice` from :func:`~madlib.core.workflows.configure`
    (``configure("replace", kept_real_fraction=0.1)``, ``configure("reset", reset_every=5)``).
    ``sampling_bias`` (lambda in (0, 1]) is passed to ``model.sample``.

    ``observe(model, train_data, generation, generator)`` returns an :class:`Observation`, a mapping of
    metrics, or None; it gets its own random stream, so measuring never changes the chains. An observer
    that remembers earlier generations has ``restore(artefacts)``: a resumed run hands it back what it kept.
    ``curate(synthetic, generation, generator, model)`` returns weights ``(R, m)`` for the new samples (0
    drops one): verification, filtering, reweighting. ``checkpoint`` saves every finished generation and
    resumes from it; ``progress`` names the run and may draw a bar. ``stop`` (chains in threads,
    :mod:`madlib.core.chains`): once it is set, the loop raises :class:`~madlib.core.chains.ChainStopped`
    after the generation it is training has been checkpointed.
    """
    s = _settings(workflow, generations, n_real, n_synthetic, sampling_bias, seed)
    saver = checkpoint.checkpointer(s.key()) if checkpoint is not None else None
    generator = make_generator(s.seed, device=_device_of(real))
    eval_generator = make_generator(s.seed, "evaluation", device=_device_of(real))
    c = _Chain.load(saver, real, generator, eval_generator, observe)
    pace = (progress or Progress()).start(s.generations + 1, "generation", done=c.start, resumable=saver is not None,
                                          default_desc=family.name)
    for t in range(c.start, s.generations + 1):
        if t == 0:
            c.original = c.data = real.draw(s.n_real, generator)
        else:
            synthetic = c.model.sample(s.workflow.n_new(s.n_synthetic), sampling_bias=s.sampling_bias,
                                       generator=generator, context=c.data)
            synthetic_weights = None if curate is None else curate(synthetic, t, generator, c.model)
            if synthetic_weights is not None and synthetic_weights.shape != synthetic.shape[:2]:
                raise ValueError(f"curate must return weights of shape {tuple(synthetic.shape[:2])}")
            c.data, c.weights = s.workflow.workflow.build(Step(t, c.original, c.data, c.weights, synthetic,
                                                               synthetic_weights, real, generator, s.n_real,
                                                               s.n_synthetic, s.workflow.options, c.workflow_state))
        c.model = family.fit(c.data, weights=c.weights, previous=c.model, generator=generator)
        if observe is not None:
            observation = _as_observation(observe(c.model, c.data, t, eval_generator))
            c.records.extend(_to_records(t, observation.metrics, real.replicates))
            if observation.artefacts:
                c.artefacts[t] = dict(observation.artefacts)
        if saver is not None:
            c.save(saver, t, real, generator, eval_generator)
        pace.tick()
        if stop is not None and stop.is_set() and t < s.generations:
            from .chains import ChainStopped

            raise ChainStopped(f"stopped after generation {t} of {s.generations}")
    table = pd.DataFrame.from_records(c.records, columns=["generation", "replicate", "metric", "value"])
    return LoopResult(table=table, model=c.model, artefacts=c.artefacts,
                      resumed_from=c.start - 1 if c.start > 0 else None)


def _device_of(real: RealSource) -> torch.device:
    pool = getattr(real, "pool", None)
    if isinstance(pool, torch.Tensor):
        return pool.device
    return torch.device(getattr(real, "device", "cpu"))
