"""Experiments of chapter 6: every remedy on every family, on one footing.

For each model family a *quality* per replicate and generation is measured and
divided by its generation-0 value; the family has *collapsed* at the first
generation where that relative quality falls below ``threshold`` (default 0.75:
a quarter of the quality or diversity lost).

* gaussian -- the fitted sigma (median over replicates), truth N(0, 1);
* cats     -- blue cats' share relative to 10%, uncapped, in the median world (see
  :mod:`madlib.simulations.remedies`: the mean is a martingale and hides collapse);
* mixture  -- recall (k-NN, k=5) of two Gaussian blobs (median over replicates);
* vae      -- recall (k-NN, k=5) of real digits by generated ones, from chapter 4's runs;
* lm       -- 1 / perplexity on real test text, from chapter 5's runs
  (the cache answers when the chapters ran them; otherwise the scoreboard runs them).

Remedies are named by their registry keys (:mod:`madlib.remedies.registry`); tables carry
the labels beside them. Each curve also gets a *verdict* (:func:`madlib.remedies.collapse_verdict`): held,
a bounded loss that settled, still falling, or lost; and where chapter 8's recursion has a closed form, the
scoreboard's summary carries the Gaussian's fixed point (:func:`theory_fixed_points`).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items
from ..core.cache import code_fingerprint
from ..core.config import scaled
from ..core.params import SEED, integer, number, subset
from ..core.validation import check_float, check_int
from ..remedies import REMEDY_KEYS, collapse_verdict, generations_to_collapse, remedy_label
from ..remedies.registry import DETECTOR_MISS_RATE, WEB_SCRAPE_BIAS, WEB_SCRAPE_RATIO
from ..theory import recursion as recursion_theory
from ..simulations.remedies import CASES, SWEEPS, TOY_FAMILIES, mix_final_quality, remedy_curve, sweep_point
from . import ExperimentResult, RunContext, experiment, get_experiment, resolve_config, run_experiment

def toy_units(family: str, remedy: str, generations: int, replicates: int, n_real: int = 100,
              measured: int | None = None) -> float:
    """Work units of one toy family's chain under one remedy: items drawn and fitted per replicate and generation
    (the growing training set of accumulate; the verifiers' four candidates per item), EM's iterations and
    components for the mixture, and its k-NN recall (500 x 500 pairs) at each of ``measured`` generations."""
    workflow = remedy if remedy in ("accumulate", "fresh", "accumulate-subsample") else "replace"
    items = loop_items(workflow, n_real, n_real * (4 if remedy in ("verifier", "learned-verifier") else 1), generations)
    if family == "mixture":
        checks = generations + 1 if measured is None else measured
        return float(replicates) * (items * 2 * 40 + checks * 500 * 500 * 3 / 10)
    return float(replicates) * items


def _toy_points(config: dict) -> list[tuple[str, str]]:
    return [(f.strip(), remedy) for f in str(config["families"]).split(",") if f.strip() in TOY_FAMILIES
            for remedy in REMEDY_KEYS]


def _scoreboard_cost(config: dict) -> float:
    units = 0.0
    for family, remedy in _toy_points(config):
        if family == "mixture":
            generations = config["mixture_generations"]
            units += toy_units(family, remedy, generations, config["mixture_replicates"],
                               measured=generations // max(1, generations // 20) + 2)
        else:
            units += toy_units(family, remedy, config["generations"], config["replicates"])
    return units


def _scoreboard_memory(config: dict) -> float:
    """Bytes of the largest toy point: the accumulating chain's training set, six copies, and the recorded
    qualities; the interpreter (PROCESS_BYTES). The vae and lm rows are their own runs (their own estimates)."""
    largest = max([config["replicates"] * 100 * (config["generations"] + 1) if f != "mixture"
                   else config["mixture_replicates"] * 100 * (config["mixture_generations"] + 1) * 3
                   for f, _ in _toy_points(config)] or [0])
    return PROCESS_BYTES + 6 * 8 * float(largest)


def toy_remedy_curve(family: str, remedy: str, *, seed: int, generations: int, replicates: int,
                     mixture_generations: int, mixture_replicates: int) -> pd.Series:
    """One toy family's relative-quality curve under one remedy (the mixture on its own, shorter horizon)."""
    if family == "mixture":
        return remedy_curve(family, remedy, generations=mixture_generations, replicates=mixture_replicates,
                            seed=seed, every=max(1, mixture_generations // 20))
    return remedy_curve(family, remedy, generations=generations, replicates=replicates, seed=seed)


def _sub_experiment_versions(config: dict) -> dict:
    """The scoreboard's inputs: the version and code fingerprint of the vae and lm experiments it
    runs, so a change to either never serves a stale scoreboard."""
    families = [f.strip() for f in str(config["families"]).split(",")]
    return {f: [get_experiment(f).version, code_fingerprint(get_experiment(f).fn.__module__)]
            for f in ("vae", "lm") if f in families}



@experiment(
    "scoreboard",
    memory=_scoreboard_memory,
    cost=_scoreboard_cost,
    calibration={"": {"families": "gaussian,cats,mixture"}},
    parallel=lambda config: len(_toy_points(config)),
    # the vae and lm rows: the chapters' presets (cached when chapters 4 and 5 ran)
    subruns=lambda config: [(f, preset) for f in ("vae", "lm") if f in str(config["families"]).split(",")
                            for preset in EXPENSIVE_PRESETS[f].values()],
    version=6,  # 6: verdicts, seed bands and theory fixed points; 5: vae and lm rows from the chapters' presets
    inputs=_sub_experiment_versions,
    defaults={
        "families": "gaussian,cats,mixture,vae,lm",
        # full: a horizon five times default's; accumulate's training sets grow to 100,000 items a chain, so 500
        # chains (20 of the mixture) keep the toy rows within an hour on two CPU cores
        "generations": scaled(smoke=20, default=200, full=1000),
        "mixture_generations": scaled(smoke=8, default=40, full=300),
        "replicates": scaled(smoke=100, default=400, full=500),
        "mixture_replicates": scaled(smoke=8, default=16, full=20),
        "threshold": 0.75,
        "seed": 0,
    },
    params={"families": subset(*TOY_FAMILIES, "vae", "lm"), "generations": integer(1, 10**6),
            "mixture_generations": integer(1, 10**5), "replicates": integer(1, 10**7),
            "mixture_replicates": integer(1, 10**5),
            "threshold": number(0, 1, open_minimum=True, doc="share of generation 0's quality that counts as kept"),
            "seed": SEED},
    presets={
        # the chapter's figures: every family (vae and lm re-use chapters 4 and 5's runs)
        "chapter6": {},
        # the toy families only: minutes on a laptop, no VAE or language model
        "toys": {"families": "gaussian,cats,mixture"},
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
    toy = {"generations": config["generations"], "replicates": config["replicates"],
           "mixture_generations": config["mixture_generations"], "mixture_replicates": config["mixture_replicates"]}
    points = [{"family": family, "remedy": remedy} for family in families if family in TOY_FAMILIES
              for remedy in REMEDY_KEYS]
    # the toy families: every (family, remedy) on the run's seed (common random numbers), on every core
    toy_curves = ctx.sweep(partial(toy_remedy_curve, **toy), points, seed=config["seed"], fixed=toy,
                           desc="scoreboard", cost=lambda p: 50.0 if p["family"] == "mixture" else 1.0,
                           common_seed=True)
    by_point = {(p["family"], p["remedy"]): curve for p, curve in zip(points, toy_curves)}
    rows, curves = [], []
    for family in families:
        bands, seeds = {}, {}
        if family in TOY_FAMILIES:
            family_curves = {remedy: by_point[family, remedy] for remedy in REMEDY_KEYS}
        else:
            family_curves, bands, seeds = _expensive_family_curves(family, use_cache=ctx.use_cache,
                                                                   progress=ctx.progress)
        for remedy, curve in family_curves.items():
            low, high = bands.get(remedy, (np.full(len(curve), np.nan), np.full(len(curve), np.nan)))
            curves.append(pd.DataFrame({"family": family, "remedy": remedy, "label": remedy_label(remedy),
                                        "generation": curve.index, "relative_quality": curve.to_numpy(),
                                        "low": low, "high": high}))
            verdict = collapse_verdict(curve.index, curve.to_numpy(), threshold)
            rows.append({"family": family, "remedy": remedy, "label": remedy_label(remedy),
                         "horizon": int(curve.index[-1]), "seeds": seeds.get(remedy),
                         "generations_to_collapse": generations_to_collapse(curve.index, curve.to_numpy(), threshold),
                         "final_relative_quality": float(curve.iloc[-1]), "verdict": verdict.kind,
                         "lowest_relative_quality": float(curve.iloc[1:].min()) if len(curve) > 1 else float(curve.iloc[-1]),
                         "settled_level": verdict.level, "verdict_label": verdict.short()})
    table = pd.DataFrame(rows)
    summary = {"threshold": threshold, "families": {}, "theory_fixed_points": theory_fixed_points(),
               "measures": {f: CASES[f]().what if f in CASES else EXPENSIVE_QUALITY[f] for f in families},
               # what the expensive rows cost when their runs were first computed (each result keeps its time)
               "row_minutes": {f: sum(expensive_run(f, r, progress=False).summary["elapsed_s"]
                                      for r in EXPENSIVE_PRESETS[f]) / 60 for f in families if f in EXPENSIVE_PRESETS}}
    for row in rows:
        summary["families"].setdefault(row["family"], {})[row["remedy"]] = {
            "generations_to_collapse": row["generations_to_collapse"],
            "final_relative_quality": row["final_relative_quality"], "horizon": row["horizon"],
            "verdict": row["verdict"], "settled_level": row["settled_level"], "seeds": row["seeds"],
            "lowest_relative_quality": row["lowest_relative_quality"]}
    return ExperimentResult(summary=summary, table=table, extras={"curves": pd.concat(curves, ignore_index=True)})


# The VAE and the language model are too costly for every remedy on a CPU: the scoreboard runs the
# chapters' own presets (chapter 4's `vae --preset ...`, chapter 5's `lm --preset ngram...`, three seeds
# or more at default), so the cache answers with the runs the chapters made, and adds the missing ones.
EXPENSIVE_PRESETS = {
    "vae": {"none": "replace", "keep-real": "replace-kept10", "accumulate": "accumulate", "fresh": "fresh",
            # the classifier trained on real digits as the verifier (a judge trained on real data, not an
            # oracle: the scoreboard files it as the learned verifier), against the VAE's own likelihood
            "learned-verifier": "replace-verifier", "self-likelihood": "replace-self-likelihood"},
    "lm": {"none": "ngram", "keep-real": "ngram-keep10", "accumulate": "ngram-accumulate", "fresh": "ngram-fresh",
           # a model of real text (the n-gram of all the training plays) as the verifier, against the generator's own
           "learned-verifier": "ngram-verifier", "self-likelihood": "ngram-self-likelihood"},
}
# The same, as overrides of each experiment's defaults (what a preset sets besides its seeds).
EXPENSIVE_REMEDIES = {
    "none": {"workflow": "replace"},
    "keep-real": {"workflow": "replace", "kept_real_fraction": 0.1},
    "accumulate": {"workflow": "accumulate"},
    "fresh": {"workflow": "fresh"},
    "learned-verifier": {"workflow": "replace", "curate": "learned-verifier"},
    "self-likelihood": {"workflow": "replace", "curate": "self-likelihood"},
}


def expensive_run(family: str, remedy: str, *, use_cache: bool = True, progress: bool = False) -> ExperimentResult:
    """The ``vae`` or ``lm`` run behind one cell of the scoreboard: the chapter's preset for ``remedy``."""
    if family not in EXPENSIVE_PRESETS:
        raise ValueError(f"family must be one of {tuple(EXPENSIVE_PRESETS)}, got {family!r}")
    if remedy not in EXPENSIVE_PRESETS[family]:
        raise ValueError(f"remedy must be one of {tuple(EXPENSIVE_PRESETS[family])}, got {remedy!r}")
    return run_experiment(family, preset=EXPENSIVE_PRESETS[family][remedy], use_cache=use_cache, progress=progress)


EXPENSIVE_QUALITY = {
    "vae": "recall of real digits by the samples (k-NN, k=5), relative to generation 0",
    "lm": "1 / perplexity on a held-out play (5-gram over characters), relative to generation 0",
}


def expensive_curve(family: str, summary: dict) -> pd.Series:
    """Relative quality per generation from a ``vae`` or ``lm`` experiment summary."""
    if family == "vae":
        # recall, not class entropy: entropy only sees which classes are drawn, recall sees whether
        # the real digits' variety is still covered (chapter 4 shows entropy is too coarse)
        values = np.asarray(summary["recall"], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):  # recall 0 at generation 0 (smoke scale): nan
            curve = values / values[0]
    elif family == "lm":
        values = np.asarray(summary["test_perplexity"], dtype=float)
        curve = values[0] / values
    else:
        raise ValueError(f"family must be 'vae' or 'lm', got {family!r}")
    return pd.Series(curve, index=np.arange(len(curve)))


def expensive_band(family: str, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Lowest and highest relative quality per generation over the seeds (replicates) of a ``vae`` or ``lm``
    result's long table, each seed relative to its own generation 0; and the number of seeds."""
    metric = {"vae": "recall", "lm": "test_perplexity"}.get(family)
    if metric is None:
        raise ValueError(f"family must be 'vae' or 'lm', got {family!r}")
    wide = table[table["metric"] == metric].pivot(index="generation", columns="replicate", values="value")
    values = wide.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):  # a smoke-scale recall of 0 at generation 0 gives nan
        relative = values / values[0] if family == "vae" else values[0] / values
    return relative.min(axis=1), relative.max(axis=1), int(values.shape[1])


def theory_fixed_points(n: int = 100) -> dict[str, dict[str, float]]:
    """Chapter 8's fixed points of the Gaussian's variance for the scoreboard's remedies that have one, as a
    relative sigma (sqrt(v*) over generation 0's sqrt((n-1)/n)), with the formula each comes from.

    * keep 10% real: :func:`madlib.theory.recursion.kept_fraction_fixed_point` (about 2fn/(2fn+1)), and the
      cruder fn/(fn+1) that keeps the synthetic mean on the real one;
    * web scrape, without and with a detector: (1-s)/(1-s lambda) with s the synthetic share left."""
    start = (n - 1) / n
    out = {}
    kept = recursion_theory.kept_fraction_fixed_point(n, 0.1)
    out["keep-real"] = {"relative_sigma": float(np.sqrt(kept / start)), "variance": kept,
                        "formula": "2fn/(2fn+1) (exact recursion)",
                        "cruder": float(np.sqrt((0.1 * n / (0.1 * n + 1)) / start))}
    for remedy, miss in (("web-scrape", 1.0), ("web-scrape-detector", DETECTOR_MISS_RATE)):
        share = WEB_SCRAPE_RATIO * miss / (1 + WEB_SCRAPE_RATIO * miss)
        v = recursion_theory.web_scrape_fixed_point(share, WEB_SCRAPE_BIAS)
        out[remedy] = {"relative_sigma": float(np.sqrt(v)), "variance": v, "synthetic_share": share,
                       "formula": "(1-s)/(1-s lambda)"}
    return out


def _expensive_family_curves(family: str, use_cache: bool = True, progress: bool = False):
    """Curves of the vae or lm runs of each remedy; a failing sub-run fails the scoreboard (nothing is cached).

    Every sub-run's configuration is checked first (a refused one names the remedy, in one line); a
    failure inside a run then propagates as itself, its type and traceback intact, with a note
    naming the remedy: a real failure is never dressed up as a configuration error."""
    for remedy, preset in EXPENSIVE_PRESETS[family].items():
        try:
            resolve_config(family, preset=preset)
        except ValueError as error:
            raise ValueError(f"scoreboard: the {family} run for remedy {remedy!r} (--preset {preset}) is refused: "
                             f"{error}") from None
    curves, bands, seeds = {}, {}, {}
    # The runs only this chapter makes first: in a parallel book build, chapters 4 and 5 meanwhile make
    # theirs, which the rest then reads from the cache (or waits for: see run_experiment).
    presets = EXPENSIVE_PRESETS[family]
    order = sorted(presets, key=lambda remedy: remedy not in ("learned-verifier", "self-likelihood"))
    for remedy in order:
        preset = presets[remedy]
        try:
            result = expensive_run(family, remedy, use_cache=use_cache, progress=progress)
        except Exception as error:
            error.add_note(f"in the scoreboard's {family} run for remedy {remedy!r} (--preset {preset})")
            raise
        curves[remedy] = expensive_curve(family, result.summary)
        low, high, seeds[remedy] = expensive_band(family, result.table)
        bands[remedy] = (low, high)
    return {remedy: curves[remedy] for remedy in presets}, bands, seeds


def _sweep_points(config: dict) -> list[tuple[str, str, float]]:
    return [(f.strip(), sweep, value) for f in str(config["families"]).split(",") if f.strip()
            for sweep, values in SWEEPS.items() for value in values]


@experiment(
    "remedy-sweeps",
    # one point at a time per worker: a training set of 100 items (and a detector's features) per replicate
    memory=lambda config: PROCESS_BYTES + 20 * 8 * float(config["replicates"]) * 100,
    cost=lambda config: sum(toy_units(f, "none", config["generations"], config["replicates"], measured=2)
                            for f, _, _ in _sweep_points(config)),
    parallel=lambda config: len(_sweep_points(config)),
    defaults={
        "families": "gaussian,cats",
        "generations": scaled(smoke=20, default=200, full=1000),
        "replicates": scaled(smoke=60, default=400, full=2000),
        "seed": 0,
    },
    params={"families": subset(*CASES), "generations": integer(1, 10**6), "replicates": integer(1, 10**7),
            "seed": SEED},
    presets={"chapter6": {}},
)
def run_remedy_sweeps(config: dict, ctx: RunContext) -> ExperimentResult:
    """How much real data is enough, how good must a detector be, how much tail reweighting helps."""
    families = [f.strip() for f in str(config["families"]).split(",") if f.strip()]
    for family in families:
        if family not in CASES:
            raise ValueError(f"families must be a comma-separated subset of {tuple(CASES)}, got {family!r}")
    generations = check_int("generations", config["generations"], 1)
    replicates = check_int("replicates", config["replicates"], 1)
    points = [{"family": family, "sweep": sweep, "value": value}
              for family in families for sweep, values in SWEEPS.items() for value in values]
    # common random numbers: every point runs on the run's seed, so two settings differ by the setting alone
    rows = ctx.sweep(partial(sweep_point, generations=generations, replicates=replicates), points,
                     seed=config["seed"], fixed={"generations": generations, "replicates": replicates},
                     desc="remedy-sweeps", common_seed=True)
    table = pd.DataFrame(rows)
    summary = {family: {sweep: {str(r["value"]): r["final_relative_quality"] for r in rows
                                if r["family"] == family and r["sweep"] == sweep} for sweep in SWEEPS}
               for family in families}
    return ExperimentResult(summary={"generations": generations, "sweeps": summary}, table=table)


@experiment(
    "remedy-curve",
    memory=lambda config: PROCESS_BYTES + 6 * 8 * float(config["replicates"]) * (config["n_real"] or 100)
    * (config["generations"] + 1 if config["remedy"] in ("accumulate", "accumulate-subsample") else 4),
    cost=lambda config: {config["family"]: toy_units(config["family"], config["remedy"], config["generations"],
                                                     config["replicates"], config["n_real"] or 100,
                                                     measured=config["generations"] // config["every"] + 2)},
    calibration={"gaussian": {"family": "gaussian", "generations": 200, "replicates": 2000},
                 "cats": {"family": "cats", "generations": 1000, "replicates": 4000},
                 "mixture": {"family": "mixture", "generations": 10, "replicates": 20}},
    defaults={
        "family": "cats",
        "remedy": "none",
        "generations": scaled(smoke=20, default=200, full=1000),
        "replicates": scaled(smoke=100, default=400, full=2000),
        "n_real": 0,  # 0: the family's own size (100)
        "aggregate": "family",  # "family": the family's own average (see madlib.simulations.remedies.CASES)
        "every": 1,
        "seed": 0,
    },
    choices={"family": TOY_FAMILIES, "remedy": REMEDY_KEYS, "aggregate": ("family", "median", "mean")},
    params={"generations": integer(1, 10**6), "replicates": integer(2, 10**7),
            "n_real": integer(0, 10**6, doc="items per generation (0: the family's own, 100)"),
            "every": integer(1, 10**6, doc="measure every this many generations (and the last)"), "seed": SEED},
    presets={
        # chapter 6: the cats with 10% kept real data, averaged over worlds as in chapter 2 (the mean)
        "cats-keep-real-mean": {"family": "cats", "remedy": "keep-real", "aggregate": "mean"},
        "cats-none-mean": {"family": "cats", "remedy": "none", "aggregate": "mean"},
        # the questions page: a verifier for the cats, a snapshot against fresh data for the Gaussian
        "cats-none": {"family": "cats", "remedy": "none", "generations": scaled(smoke=30, default=100)},
        "cats-verifier": {"family": "cats", "remedy": "verifier", "generations": scaled(smoke=30, default=100)},
        "gaussian-none": {"family": "gaussian", "remedy": "none", "generations": scaled(smoke=30, default=100)},
        "gaussian-reset": {"family": "gaussian", "remedy": "reset", "generations": scaled(smoke=30, default=100)},
        "gaussian-fresh": {"family": "gaussian", "remedy": "fresh", "generations": scaled(smoke=30, default=100)},
        # the theory chapter: self-correction (Gillman et al.) on the fully synthetic loop
        "gaussian-corrector": {"family": "gaussian", "remedy": "corrector", "generations": scaled(smoke=30, default=100)},
        "cats-corrector": {"family": "cats", "remedy": "corrector", "generations": scaled(smoke=30, default=100)},
    },
)
def run_remedy_curve(config: dict, ctx: RunContext) -> ExperimentResult:
    """One toy family under one remedy: quality per generation relative to generation 0."""
    curve = remedy_curve(config["family"], config["remedy"], generations=config["generations"],
                         replicates=config["replicates"], seed=config["seed"], every=config["every"],
                         n_real=config["n_real"] or None,
                         aggregate=None if config["aggregate"] == "family" else config["aggregate"],
                         progress=ctx.progress_for(f"{config['family']}: {config['remedy']}"))
    table = pd.DataFrame({"generation": curve.index.to_numpy(), "relative_quality": curve.to_numpy()})
    return ExperimentResult(summary={"relative_quality": curve.tolist(), "generation": curve.index.tolist(),
                                     "final_relative_quality": float(curve.iloc[-1]),
                                     "lowest_relative_quality": float(curve.min())}, table=table)


#: Shumailov et al.'s (alpha, beta) shares of chapter 6's mixing table (gamma = 1 - alpha - beta).
MIX_POINTS = ((0.0, 0.0), (0.0, 0.5), (0.0, 0.9), (0.1, 0.0), (0.1, 0.5))


@experiment(
    "mix-grid",
    memory=lambda config: PROCESS_BYTES + 3 * 6 * 8 * float(config["replicates"]) * config["n_real"],
    cost=lambda config: float(len(MIX_POINTS)) * config["replicates"] * (config["generations"] + 1) * config["n_real"],
    calibration={"": {"generations": 200, "replicates": 2000}},
    defaults={"generations": scaled(smoke=20, default=200, full=1000),
              "replicates": scaled(smoke=100, default=400, full=2000), "n_real": 100, "seed": 0},
    params={"generations": integer(1, 10**6), "replicates": integer(2, 10**7), "n_real": integer(20, 10**6),
            "seed": SEED},
    presets={"chapter6": {}},
)
def run_mix_grid(config: dict, ctx: RunContext) -> ExperimentResult:
    """The Gaussian under Shumailov's mix of original (alpha), previous (beta) and new (gamma) data."""
    rows = [{"alpha": a, "beta": b, "gamma": round(1 - a - b, 10),
             "relative_sigma": mix_final_quality(a, b, generations=config["generations"],
                                                 replicates=config["replicates"], n_real=config["n_real"],
                                                 seed=config["seed"])}
            for a, b in MIX_POINTS]
    return ExperimentResult(summary={"points": rows, "generations": config["generations"]}, table=pd.DataFrame(rows))
