"""The self-consuming loop, written once for every model family.

Generation 0 is fitted to ``n_real`` real items. Every later generation t is
fitted to a training set built by the *workflow* from the samples of model t-1:

============  ==========================================================
replace       n_synthetic items; a share ``kept_real_fraction`` of them is
              real data re-drawn from the original set each generation
              ("fully synthetic" when the share is 0)
augment       the fixed original real set plus n_synthetic synthetic items
              ("synthetic augmentation")
fresh         n_real *new* real items plus n_synthetic synthetic items
accumulate    everything so far plus n_synthetic new synthetic items
============  ==========================================================

The loop knows nothing about families: it calls ``family.fit`` and
``model.sample`` (see :mod:`madlib.protocol`). With ``checkpoint_dir`` every
finished generation is saved, and a rerun resumes at the first unfinished one.
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import torch

from .protocol import Family, GenerativeModel
from .sources import RealSource
from .validation import check_choice, check_float, check_fraction, check_int

WORKFLOWS = ("replace", "augment", "fresh", "accumulate")

Evaluate = Callable[[GenerativeModel, torch.Tensor, int, torch.Generator], Mapping[str, Any]]
Curate = Callable[..., torch.Tensor]


@dataclass
class LoopResult:
    """What a loop run returns.

    ``table`` is tidy: one row per (generation, replicate, metric) with its value.
    ``snapshots[g]`` holds the training data of generation g for the requested
    generations (on the CPU); ``model`` is the last generation's model.
    """

    table: pd.DataFrame
    model: GenerativeModel
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    resumed_from: int | None = None


def training_set_size(workflow: str, generation: int, n_real: int, n_synthetic: int) -> int:
    """How many items generation ``generation`` trains on under ``workflow``."""
    if generation == 0:
        return n_real
    return {
        "replace": n_synthetic,
        "augment": n_real + n_synthetic,
        "fresh": n_real + n_synthetic,
        "accumulate": n_real + generation * n_synthetic,
    }[workflow]


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


def _cat(parts: list[torch.Tensor]) -> torch.Tensor:
    parts = [p for p in parts if p.shape[1] > 0]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _cat_weights(parts: list[tuple[int, torch.Tensor | None]], replicates: int, device) -> torch.Tensor | None:
    """Concatenate per-part weights, or None when every part is unweighted."""
    if all(w is None for _, w in parts):
        return None
    out = [
        w if w is not None else torch.ones(replicates, n, device=device, dtype=torch.float64)
        for n, w in parts
    ]
    return torch.cat([w.to(torch.float64) for w in out], dim=1)


def run_loop(
    family: Family,
    real: RealSource,
    *,
    generations: int,
    n_real: int,
    n_synthetic: int | None = None,
    workflow: str = "replace",
    kept_real_fraction: float = 0.0,
    sampling_bias: float = 1.0,
    seed: int = 0,
    evaluate: Evaluate | None = None,
    curate: Curate | None = None,
    snapshot_generations: Iterable[int] = (),
    checkpoint_dir: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> LoopResult:
    """Run the self-consuming loop for ``generations`` generations after generation 0.

    Parameters
    ----------
    family, real:
        the model family and the source of real data (replicates from ``real.replicates``).
    n_real, n_synthetic:
        real items of generation 0 (and of each *fresh* generation); synthetic
        items drawn per generation (default ``n_real``).
    kept_real_fraction:
        *replace* only: the share of each training set that is original real data.
    sampling_bias:
        lambda in (0, 1], passed to ``model.sample``.
    evaluate:
        ``evaluate(model, train_data, generation, eval_generator)`` -> mapping of
        metric name to one value per replicate (or one value). It gets its own
        random stream, so measuring never changes the chains.
    curate:
        ``curate(synthetic, generation, generator, model)`` -> weights ``(R, m)`` for
        the synthetic items (0 drops an item): verification, filtering, reweighting.
        ``model`` is the model that generated them; a hook of three arguments is
        called without it.
    checkpoint_dir:
        save every finished generation there and resume from it; ``config`` (any
        JSON-able mapping) is stored with it so a different run never resumes it.
    """
    workflow = check_choice("workflow", workflow, WORKFLOWS)
    generations = check_int("generations", generations, 0)
    n_real = check_int("n_real", n_real, 1)
    n_synthetic = n_real if n_synthetic is None else check_int("n_synthetic", n_synthetic, 0)
    kept_real_fraction = check_fraction("kept_real_fraction", kept_real_fraction)
    sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    seed = check_int("seed", seed, 0)
    if kept_real_fraction > 0 and workflow != "replace":
        raise ValueError(
            "kept_real_fraction applies to workflow='replace' only; "
            f"got kept_real_fraction={kept_real_fraction} with workflow={workflow!r}"
        )
    n_kept = int(round(kept_real_fraction * n_synthetic))
    if n_kept > n_real:
        raise ValueError(f"kept_real_fraction * n_synthetic ({n_kept}) must not exceed n_real ({n_real})")
    if workflow == "replace" and n_synthetic == 0:
        raise ValueError("n_synthetic must be >= 1 for workflow='replace'")
    snapshot_generations = {check_int("snapshot generation", g, 0) for g in snapshot_generations}
    replicates = real.replicates

    fingerprint = json.dumps(
        {
            "config": dict(config or {}),
            "loop": [workflow, generations, n_real, n_synthetic, kept_real_fraction, sampling_bias, seed],
        },
        sort_keys=True,
        default=str,
    )
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state_path = ckpt / "state.pt" if ckpt else None

    generator = _generator_for(real, seed)
    eval_generator = _generator_for(real, seed + 1_000_003)
    records: list[tuple] = []
    snapshots: dict[int, torch.Tensor] = {}
    resumed_from = None
    start = 0
    model = data = weights = original = None

    if state_path is not None and state_path.exists():
        state = torch.load(state_path, weights_only=False, map_location=_device_of(real))
        if state["fingerprint"] != fingerprint:
            raise ValueError(
                f"checkpoint_dir {str(ckpt)!r} holds a different run; use another directory or delete it"
            )
        model, data, weights, original = state["model"], state["data"], state["weights"], state["original"]
        records, snapshots = state["records"], state["snapshots"]
        if state["real_state"] is not None:
            real.load_state_dict(state["real_state"])
        generator.set_state(state["generator"])
        eval_generator.set_state(state["eval_generator"])
        resumed_from = state["generation"]
        start = resumed_from + 1

    iterator: Iterable[int] = range(start, generations + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=generations + 1, initial=start, desc=desc or family.name, leave=False)

    for t in iterator:
        if t == 0:
            original = real.draw(n_real, generator)
            data, weights = original, None
        else:
            n_new = n_synthetic - n_kept if workflow == "replace" else n_synthetic
            synthetic = model.sample(n_new, sampling_bias=sampling_bias, generator=generator, context=data)
            syn_weights = _call_curate(curate, synthetic, t, generator, model) if curate is not None else None
            if syn_weights is not None and syn_weights.shape != synthetic.shape[:2]:
                raise ValueError(f"curate must return weights of shape {tuple(synthetic.shape[:2])}")
            if workflow == "replace":
                if n_kept:
                    keys = torch.rand(replicates, n_real, generator=generator, device=generator.device)
                    idx = keys.argsort(dim=1)[:, :n_kept].to(original.device)
                    kept = _gather(original, idx)
                    data = _cat([kept, synthetic])
                    weights = _cat_weights([(n_kept, None), (n_new, syn_weights)], replicates, synthetic.device)
                else:
                    data, weights = synthetic, syn_weights
            elif workflow == "augment":
                data = _cat([original, synthetic])
                weights = _cat_weights([(n_real, None), (n_new, syn_weights)], replicates, synthetic.device)
            elif workflow == "fresh":
                new_real = real.draw(n_real, generator)
                data = _cat([new_real, synthetic])
                weights = _cat_weights([(n_real, None), (n_new, syn_weights)], replicates, synthetic.device)
            else:  # accumulate
                old_n = data.shape[1]
                weights = _cat_weights([(old_n, weights), (n_new, syn_weights)], replicates, synthetic.device)
                data = _cat([data, synthetic])
        model = family.fit(data, weights=weights, previous=model, generator=generator)
        if evaluate is not None:
            records.extend(_to_records(t, evaluate(model, data, t, eval_generator), replicates))
        if t in snapshot_generations:
            snapshots[t] = data.detach().to("cpu")
        if state_path is not None:
            _save_generation(ckpt, state_path, t, fingerprint, model, data, weights, original, records,
                             snapshots, real, generator, eval_generator)

    table = pd.DataFrame.from_records(records, columns=["generation", "replicate", "metric", "value"])
    return LoopResult(table=table, model=model, snapshots=snapshots, resumed_from=resumed_from)


def _call_curate(curate, synthetic, generation, generator, model):
    try:
        takes_model = len(inspect.signature(curate).parameters) >= 4
    except (TypeError, ValueError):  # builtins without a signature
        takes_model = True
    if takes_model:
        return curate(synthetic, generation, generator, model)
    return curate(synthetic, generation, generator)


def _gather(data: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """data[r, idx[r]] for every replicate r."""
    rows = torch.arange(data.shape[0], device=data.device)[:, None]
    return data[rows, idx]


def _device_of(real: RealSource) -> torch.device:
    pool = getattr(real, "pool", None)
    if isinstance(pool, torch.Tensor):
        return pool.device
    return torch.device(getattr(real, "device", "cpu"))


def _generator_for(real: RealSource, seed: int) -> torch.Generator:
    device = _device_of(real)
    generator = torch.Generator(device="cpu" if device.type == "mps" else device)
    generator.manual_seed(seed)
    return generator


def _save_generation(ckpt, state_path, t, fingerprint, model, data, weights, original, records, snapshots,
                     real, generator, eval_generator) -> None:
    ckpt.mkdir(parents=True, exist_ok=True)
    gen_records = [r for r in records if r[0] == t]
    torch.save({"generation": t, "model": model, "metrics": gen_records}, ckpt / f"gen_{t:04d}.pt")
    state = {
        "generation": t,
        "fingerprint": fingerprint,
        "model": model,
        "data": data,
        "weights": weights,
        "original": original,
        "records": records,
        "snapshots": snapshots,
        # only stateful sources (a pool dealing items) have something to save
        "real_state": real.state_dict() if hasattr(real, "state_dict") else None,
        "generator": generator.get_state(),
        "eval_generator": eval_generator.get_state(),
    }
    tmp = state_path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, state_path)  # atomic: an interruption never leaves a half-written state
