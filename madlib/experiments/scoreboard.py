"""Chapter 6: every remedy on every family, on one footing.

For each model family a *quality* per replicate and generation is measured and
divided by its generation-0 value; the family has *collapsed* at the first
generation where that relative quality falls below ``threshold`` (default 0.75:
a quarter of the quality or diversity lost).

* gaussian -- the fitted sigma (median over replicates), truth N(0, 1);
* cats     -- the share of worlds where blue cats still exist (90 yellow, 10 blue);
* mixture  -- recall (k-NN, k=5) of two Gaussian blobs (median over replicates);
* vae, lm  -- the cached runs of chapters 4 and 5 (recall; 1 / test perplexity),
  for the workflow remedies those experiments support.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from ..config import cpu_threads, scaled
from ..loop import run_loop
from ..metrics.manifold import precision_recall
from ..models.categorical import CategoricalFamily, CategoricalSource
from ..models.gaussian import GaussianFamily, gaussian_source_sampler
from ..models.gmm import GMMFamily
from ..remedies import REMEDY_NAMES, generations_to_collapse, remedy_settings
from ..sources import DistributionSource
from ..validation import check_float, check_int
from . import ExperimentResult, RunContext, experiment, run_experiment

TOY_FAMILIES = ("gaussian", "cats", "mixture")


@dataclass
class FamilyCase:
    """How to run and measure one cheap family in the scoreboard."""

    name: str
    n: int
    make_family: Callable[[], Any]
    make_source: Callable[[int], Any]
    reference_log_prob: Callable[[torch.Tensor], torch.Tensor]
    quality: Callable[[Any, torch.Generator], torch.Tensor]  # per-replicate quality of a model
    aggregate: str  # "median" or "mean" over replicates
    what: str


def _gaussian_case() -> FamilyCase:
    return FamilyCase(
        name="gaussian", n=100, make_family=lambda: GaussianFamily(ddof=0),
        make_source=lambda R: DistributionSource(gaussian_source_sampler(), R),
        reference_log_prob=lambda x: -0.5 * x[..., 0] ** 2 - 0.5 * np.log(2 * np.pi),
        quality=lambda model, gen: model.std, aggregate="median",
        what="fitted sigma (median over replicates)")


CAT_PROPORTIONS = torch.tensor([0.9, 0.1], dtype=torch.float64)  # yellow, blue


def _cats_case() -> FamilyCase:
    log_p = torch.log(CAT_PROPORTIONS)
    return FamilyCase(
        name="cats", n=100, make_family=lambda: CategoricalFamily(2),
        make_source=lambda R: CategoricalSource(CAT_PROPORTIONS, R),
        reference_log_prob=lambda items: log_p.to(items.device)[(items[..., 0] if items.ndim == 3 else items).long()],
        # blue's share of the fur, relative to the true 10% and capped at 1, averaged over worlds:
        # 0 in a world without blue, 1 in a world with at least its fair share
        quality=lambda model, gen: (model.probs[:, 1] / CAT_PROPORTIONS[1]).clamp_max(1.0), aggregate="mean",
        what="blue cats' representation (share of the true 10%, capped at 1; mean over worlds)")


def _mixture_case() -> FamilyCase:
    from ..data.toy import blobs

    data = blobs()
    reference = data.sampler(1, 500, torch.Generator().manual_seed(12345))

    def recall(model, gen):
        samples = model.sample(500, generator=gen)
        return precision_recall(reference.to(samples.device), samples, k=5)[1]

    return FamilyCase(
        name="mixture", n=100, make_family=lambda: GMMFamily(2, max_iter=40, init="previous"),
        make_source=lambda R: DistributionSource(data.sampler, R),
        reference_log_prob=lambda x: data.truth.log_prob(x[:, :, :]) if x.shape[0] == 1 else
        data.truth.log_prob(x.reshape(1, -1, x.shape[-1])).reshape(x.shape[:2]),
        quality=recall, aggregate="median",
        what="recall of the two blobs (median over replicates)")


CASES = {"gaussian": _gaussian_case, "cats": _cats_case, "mixture": _mixture_case}


def remedy_curve(family: str, remedy: str, *, generations: int, replicates: int, seed: int = 0,
                 every: int = 1, progress: bool = False) -> pd.Series:
    """Relative quality per generation (generation 0 = 1) of one family under one remedy."""
    if family not in CASES:
        raise ValueError(f"family must be one of {tuple(CASES)}, got {family!r}")
    case = CASES[family]()
    settings = remedy_settings(remedy, n=case.n, reference_log_prob=case.reference_log_prob)
    every = check_int("every", every, 1)

    def evaluate(model, data, t, generator):
        if t % every and t != generations:
            return {}
        return {"quality": case.quality(model, generator)}

    with cpu_threads(1):  # small per-generation ops: threads only contend (see madlib.config.cpu_threads)
        result = run_loop(case.make_family(), case.make_source(replicates), generations=generations, n_real=case.n,
                          seed=seed, evaluate=evaluate, progress=progress, desc=f"{family}: {remedy}", **settings)
    values = result.table.pivot(index="generation", columns="replicate", values="value")
    curve = values.median(axis=1) if case.aggregate == "median" else values.mean(axis=1)
    return curve / curve.iloc[0]


@experiment(
    "scoreboard",
    version=2,  # 2: curation filters for the VAE and the language model
    defaults={
        "families": "gaussian,cats,mixture,vae,lm",
        "generations": scaled(smoke=20, default=200, full=1000),
        "mixture_generations": scaled(smoke=8, default=40, full=300),
        "replicates": scaled(smoke=100, default=400, full=2000),
        "mixture_replicates": scaled(smoke=8, default=16, full=100),
        "threshold": 0.75,
        "seed": 0,
    },
)
def run_scoreboard(config: dict, ctx: RunContext) -> ExperimentResult:
    """Generations until each family loses a share of its quality, under each remedy (null: never, in the horizon)."""
    threshold = check_float("threshold", config["threshold"], 0.0, 1.0, open_minimum=True)
    families = [f.strip() for f in str(config["families"]).split(",") if f.strip()]
    known = TOY_FAMILIES + ("vae", "lm")
    for family in families:
        if family not in known:
            raise ValueError(f"families must be a comma-separated subset of {known}, got {family!r}")
    rows, curves = [], []
    for family in families:
        if family in TOY_FAMILIES:
            mixture = family == "mixture"
            generations = config["mixture_generations"] if mixture else config["generations"]
            replicates = config["mixture_replicates"] if mixture else config["replicates"]
            family_curves = {remedy: remedy_curve(family, remedy, generations=generations, replicates=replicates,
                                                  seed=config["seed"], progress=ctx.progress,
                                                  every=max(1, generations // 20) if mixture else 1)
                             for remedy in REMEDY_NAMES}
        else:
            family_curves = _expensive_family_curves(family)
        for remedy, curve in family_curves.items():
            curves.append(pd.DataFrame({"family": family, "remedy": remedy, "generation": curve.index,
                                        "relative_quality": curve.to_numpy()}))
            rows.append({"family": family, "remedy": remedy, "horizon": int(curve.index[-1]),
                         "generations_to_collapse": generations_to_collapse(curve.index, curve.to_numpy(), threshold),
                         "final_relative_quality": float(curve.iloc[-1])})
    table = pd.DataFrame(rows)
    summary = {"threshold": threshold, "families": {}}
    for row in rows:
        summary["families"].setdefault(row["family"], {})[row["remedy"]] = {
            "generations_to_collapse": row["generations_to_collapse"],
            "final_relative_quality": row["final_relative_quality"], "horizon": row["horizon"]}
    return ExperimentResult(summary=summary, table=table, extras={"curves": pd.concat(curves, ignore_index=True)})


# The VAE and the language model are too costly for every remedy on a CPU: the
# scoreboard reuses the workflow runs of chapters 4 and 5 (same configs, so the
# cache answers) and adds the missing ones.
EXPENSIVE_REMEDIES = {
    "none (replace)": {"workflow": "replace"},
    "keep 10% real": {"workflow": "replace", "kept_real_fraction": 0.1},
    "accumulate": {"workflow": "accumulate"},
    "fresh data": {"workflow": "fresh"},
    # curation: the classifier trained on real digits / a model of real text as the verifier,
    # against the generator's own likelihood (see the vae and lm experiments' `curate`)
    "verifier filter": {"workflow": "replace", "curate": "verifier"},
    "self-likelihood filter": {"workflow": "replace", "curate": "self-likelihood"},
}
EXPENSIVE_QUALITY = {
    "vae": "digit-class entropy of the samples, relative to generation 0",
    "lm": "1 / perplexity on real test text (5-gram model), relative to generation 0",
}


def expensive_curve(family: str, summary: dict) -> pd.Series:
    """Relative quality per generation from a ``vae`` or ``lm`` experiment summary."""
    if family == "vae":
        values = np.asarray(summary["class_entropy"], dtype=float)
        curve = values / values[0]
    elif family == "lm":
        values = np.asarray(summary["test_perplexity"], dtype=float)
        curve = values[0] / values
    else:
        raise ValueError(f"family must be 'vae' or 'lm', got {family!r}")
    return pd.Series(curve, index=np.arange(len(curve)))


def _expensive_family_curves(family: str) -> dict[str, pd.Series]:
    curves = {}
    for remedy, overrides in EXPENSIVE_REMEDIES.items():
        try:
            result = run_experiment(family, **overrides)
        except ValueError as error:  # e.g. the fresh workflow running out of real data
            warnings.warn(f"scoreboard: {family} / {remedy} skipped: {error}", stacklevel=2)
            continue
        curves[remedy] = expensive_curve(family, result.summary)
    return curves


def sweep_settings(sweep: str, value: float, n: int, reference_log_prob=None) -> dict:
    """Loop settings for one point of a remedy sweep (see :func:`run_remedy_sweeps`)."""
    from ..remedies import ProvenanceFilter, TailReweighting

    if sweep == "kept real fraction":
        return {"workflow": "replace", "kept_real_fraction": value}
    if sweep == "detector miss rate":
        # the web-scrape world: 80% of each scrape is cherry-picked synthetic content
        return {"workflow": "fresh", "n_synthetic": 4 * n, "sampling_bias": 0.8, "curate": ProvenanceFilter(value)}
    if sweep == "tail reweighting strength":
        return {"workflow": "replace", "curate": TailReweighting(value) if value > 0 else None}
    raise ValueError(f"sweep must be one of {SWEEPS}, got {sweep!r}")


SWEEPS = {
    "kept real fraction": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    "detector miss rate": (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0),
    "tail reweighting strength": (0.0, 0.005, 0.01, 0.02, 0.04, 0.08),
}


def sweep_point(family: str, sweep: str, value: float, *, generations: int, replicates: int, seed: int = 0) -> dict:
    """Final relative quality (and, for reweighting, the effective sample size) at one sweep point."""
    case = CASES[family]()
    settings = sweep_settings(sweep, value, case.n, case.reference_log_prob)
    settings.setdefault("n_synthetic", case.n)
    ess = []
    curate = settings.get("curate")
    if sweep == "tail reweighting strength" and curate is not None:
        from ..remedies import effective_sample_size

        inner = curate

        def curate(synthetic, generation, generator, model):  # noqa: F811 - records the cost, then delegates
            weights = inner(synthetic, generation, generator, model)
            ess.append(float(effective_sample_size(weights).mean()) / synthetic.shape[1])
            return weights

        settings["curate"] = curate

    def evaluate(model, data, t, generator):
        return {"quality": case.quality(model, generator)} if t in (0, generations) else {}

    with cpu_threads(1):
        result = run_loop(case.make_family(), case.make_source(replicates), generations=generations, n_real=case.n,
                          seed=seed, evaluate=evaluate, **settings)
    values = result.table.pivot(index="generation", columns="replicate", values="value")
    curve = values.median(axis=1) if case.aggregate == "median" else values.mean(axis=1)
    return {"family": family, "sweep": sweep, "value": value,
            "final_relative_quality": float(curve.iloc[-1] / curve.iloc[0]),
            "relative_ess": float(np.mean(ess)) if ess else 1.0}


@experiment(
    "remedy-sweeps",
    defaults={
        "families": "gaussian,cats",
        "generations": scaled(smoke=20, default=200, full=1000),
        "replicates": scaled(smoke=60, default=400, full=2000),
        "seed": 0,
    },
)
def run_remedy_sweeps(config: dict, ctx: RunContext) -> ExperimentResult:
    """How much real data is enough, how good must a detector be, how much tail reweighting helps."""
    families = [f.strip() for f in str(config["families"]).split(",") if f.strip()]
    for family in families:
        if family not in CASES:
            raise ValueError(f"families must be a comma-separated subset of {tuple(CASES)}, got {family!r}")
    generations = check_int("generations", config["generations"], 1)
    replicates = check_int("replicates", config["replicates"], 1)
    rows = [sweep_point(family, sweep, value, generations=generations, replicates=replicates, seed=config["seed"])
            for family in families for sweep, values in SWEEPS.items() for value in values]
    table = pd.DataFrame(rows)
    summary = {family: {sweep: {str(r["value"]): r["final_relative_quality"] for r in rows
                                if r["family"] == family and r["sweep"] == sweep} for sweep in SWEEPS}
               for family in families}
    return ExperimentResult(summary={"generations": generations, "sweeps": summary}, table=table)
