"""Experiments of chapter 2: blue and yellow cats, and why the tails die first.

* ``cats``: a categorical model (yellow / blue) refit to its own samples --
  Wright-Fisher resampling -- through the generic loop, batched over replicates.
* ``cat-hues``: fur hue as a continuous quantity, fitted by a too-simple
  (one Gaussian) or a rich-enough (two-component mixture) family.
* ``zipf-survival``: a Zipf vocabulary resampled generation after generation:
  how long a word survives as a function of its initial count.
* ``cat-remedies``: blue cats under four workflows.
* ``zipf-tails``: error against data size for a memorising model trained on clean, tail-cut
  generated, or mixed Zipf data (Dohmatob et al. 2024, "A tale of tails").

Every figure of chapter 2 comes from a named preset: ``python -m madlib run NAME --preset P``.

The chains themselves live in :mod:`madlib.simulations.cats`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items, loop_peak_items
from ..core.config import float64_device, scaled
from ..core.params import KEPT_REAL_FRACTION, SAMPLING_BIAS, SEED, integer, number, numbers, ref
from ..core.validation import check_float, check_fraction, check_int
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..data.hues import COLOUR_NAMES
from ..remedies import remedy_label, remedy_settings
from ..simulations.cats import (simulate_cat_hues, simulate_cats, simulate_zipf_survival, simulate_zipf_tails,
                                survival_by_count)
from ..theory import wright_fisher as wf
from . import ExperimentResult, RunContext, experiment


def _mean_and_se(values: np.ndarray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else None
    return float(values.mean()), se


def _cats_memory(config: dict) -> float:
    """Bytes: per generation two flags per replicate (kept as artefacts) and a few float64 vectors, the
    training set (six copies of its items) and the interpreter (PROCESS_BYTES)."""
    replicates, generations = float(config["replicates"]), float(config["generations"]) + 1
    items = loop_peak_items(config["workflow"], config["n_real"], config["n_real"], generations)
    return (PROCESS_BYTES + generations * replicates * 2 + 40 * 8 * replicates + 8 * generations * config["trajectories"]
            + 6 * 8 * replicates * items)


def _cats_cost(config: dict) -> float:
    """Work units: every cat drawn and counted, per replicate and generation."""
    return float(config["replicates"]) * loop_items(config["workflow"], config["n_real"], config["n_real"],
                                                    config["generations"])


def _hues_memory(config: dict) -> float:
    """Bytes: the hues (and, for the mixture, EM's responsibilities) of every replicate, six copies; the
    colour shares per generation; the interpreter."""
    R, G = float(config["replicates"]), float(config["generations"]) + 1
    items = loop_peak_items(config["workflow"], config["n_real"], config["n_real"], G)
    components = config["components"] if config["family"] == "mixture" else 1
    return PROCESS_BYTES + 6 * 8 * R * items * (components + 1) + 8 * G * R * 8


def _hues_cost(config: dict) -> dict[str, float]:
    """Work units: hues drawn and fitted (times components and EM iterations for the mixture)."""
    items = float(config["replicates"]) * loop_items(config["workflow"], config["n_real"], config["n_real"],
                                                      config["generations"])
    if config["family"] == "mixture":
        return {"mixture": items * config["components"] * config["iterations"]}
    return {"gaussian": items}


@experiment(
    "cats",
    memory=_cats_memory,
    cost=_cats_cost,
    calibration={"": {"generations": 300, "replicates": 20000}},
    defaults={
        "n_real": 100,
        "blue": 10,
        "generations": scaled(smoke=1000, default=1000, full=1000),
        "replicates": scaled(smoke=3000, default=20000, full=20000),
        "workflow": "replace",
        "kept_real_fraction": 0.0,
        "sampling_bias": 1.0,
        "trajectories": 60,
        "seed": 0,
    },
    choices={"workflow": WORKFLOWS},
    params={"n_real": integer(2, 10**7), "blue": integer(1, ref("n_real", -1)), "generations": integer(0, 10**6),
            "replicates": integer(1, 10**8), "kept_real_fraction": KEPT_REAL_FRACTION, "sampling_bias": SAMPLING_BIAS,
            "trajectories": integer(0, 10_000, doc="blue shares kept per generation for the figure"), "seed": SEED},
    presets={
        "blue-cats": {},  # 100 cats, 10 blue, replace: sections 1-2
        "one-blue-in-1000": {"n_real": 1000, "blue": 1, "generations": 1, "replicates": 4000},
        "sampling-bias": {"sampling_bias": 0.8, "replicates": 2000, "generations": 300},
    },
)
def run_cats(config: dict, ctx: RunContext) -> ExperimentResult:
    """Yellow and blue cats: a categorical model refit to its own samples (Wright-Fisher resampling)."""
    cats = check_int("n_real", config["n_real"], 2)
    blue = check_int("blue", config["blue"], 1, cats - 1)
    workflow = workflow_from_config(config)
    lam = check_float("sampling_bias", config["sampling_bias"], 0.0, 1.0, open_minimum=True)
    out = simulate_cats(cats, blue, config["generations"], config["replicates"], workflow=workflow,
                        sampling_bias=lam, seed=config["seed"], trajectories=config["trajectories"],
                        device=float64_device(ctx.device), progress=ctx.progress_for("cats"))
    loss, fix = out["loss_time"], out["fixation_time"]
    lost, fixed = loss >= 0, fix >= 0
    absorbed_time = np.where(lost, loss, fix)[lost | fixed]
    mean_loss, se_loss = _mean_and_se(loss[lost].astype(float))
    mean_fix, se_fix = _mean_and_se(fix[fixed].astype(float))
    mean_abs, se_abs = _mean_and_se(absorbed_time.astype(float))
    p = blue / cats
    R = loss.size
    summary = {
        "p_blue_lost": float(lost.mean()),
        "p_blue_lost_se": float(np.sqrt(lost.mean() * (1 - lost.mean()) / R)),
        "mean_generations_to_lose_blue": mean_loss,
        "se_generations_to_lose_blue": se_loss,
        "median_generations_to_lose_blue": float(np.median(loss[lost])) if lost.any() else None,
        "p_blue_fixed": float(fixed.mean()),
        "mean_generations_to_fix_blue": mean_fix,
        "se_generations_to_fix_blue": se_fix,
        "p_absorbed": float((lost | fixed).mean()),
        "mean_generations_to_absorb": mean_abs,
        "se_generations_to_absorb": se_abs,
        "p_blue_absent_final": float(out["absent"][-1]),
        "mean_blue_share_final": float(out["mean_blue_share"][-1]),
        "p_lost_first_generation": float((loss == 1).mean()),
        "p_lost_first_generation_se": float(np.sqrt((loss == 1).mean() * (1 - (loss == 1).mean()) / R)),
        "median_generations_to_absorb": float(np.median(absorbed_time)) if absorbed_time.size else None,
    }
    # the Wright-Fisher closed forms hold for the plain replace chain only
    if workflow.name == "replace" and workflow.options["kept_real_fraction"] == 0 and lam == 1.0:
        exact = wf.exact_two_category_times(blue, cats) if cats <= 2000 else None
        summary.update({
            "theory_p_blue_lost": float(wf.loss_probability(p)),
            "theory_p_blue_lost_within_horizon": (
                float(wf.survival_curve_loss(p, cats, config["generations"])[-1]) if cats <= 2000 else None),
            "theory_generations_to_lose_blue": float(wf.mean_time_to_loss(p, cats)),
            "theory_generations_to_fix_blue": float(wf.mean_time_to_fixation(p, cats)),
            "theory_generations_to_absorb": float(wf.mean_time_to_absorption(p, cats)),
            "exact_generations_to_lose_blue": exact.mean_time_to_loss if exact else None,
            "exact_generations_to_fix_blue": exact.mean_time_to_fixation if exact else None,
            "exact_generations_to_absorb": exact.mean_time_to_absorption if exact else None,
            "theory_p_lost_first_generation": float(wf.one_step_loss_probability(p, cats)),
        })
    G = out["absent"].size
    table = pd.DataFrame({"generation": np.arange(G), "ever_lost": out["ever_lost"], "absent": out["absent"],
                          "mean_blue_share": out["mean_blue_share"]})
    extras = {"loss_time": loss, "fixation_time": fix, "blue_share": out["blue_share"]}
    return ExperimentResult(summary=summary, table=table, extras=extras)


@experiment(
    "cat-hues",
    memory=_hues_memory,
    cost=_hues_cost,
    calibration={"gaussian": {"family": "gaussian", "generations": 100, "replicates": 400},
                 "mixture": {"family": "mixture", "generations": 20, "replicates": 400}},
    defaults={
        "family": "gaussian",
        "n_real": 100,
        "blue": 10,
        "generations": scaled(smoke=60, default=300, full=1000),
        "replicates": scaled(smoke=40, default=200, full=2000),
        "workflow": "replace",
        "kept_real_fraction": 0.0,
        "sampling_bias": 1.0,
        "spread": 6.0,
        "components": 2,
        "iterations": 10,
        "keep_hues": 4,
        "seed": 0,
    },
    choices={"family": ("gaussian", "mixture"), "workflow": WORKFLOWS},
    params={"n_real": integer(2, 10**6), "blue": integer(0, ref("n_real")), "generations": integer(0, 10**6),
            "replicates": integer(1, 10**7), "kept_real_fraction": KEPT_REAL_FRACTION, "sampling_bias": SAMPLING_BIAS,
            "spread": number(0, 180, doc="standard deviation of a colour's hue, in degrees"),
            "components": integer(1, 50, applies_when={"family": ("mixture",)}),
            "iterations": integer(1, 10_000, applies_when={"family": ("mixture",)}, doc="EM iterations per fit"),
            "keep_hues": integer(0, 10_000, doc="replicates whose hues are kept for the figures"), "seed": SEED},
    presets={"one-gaussian": {"family": "gaussian"}, "mixture": {"family": "mixture"}},
)
def run_cat_hues(config: dict, ctx: RunContext) -> ExperimentResult:
    """Fur hue on the colour wheel, fitted by one Gaussian (too simple) or a 2-Gaussian mixture (rich enough)."""
    out = simulate_cat_hues(config["family"], config["n_real"], config["blue"], config["generations"],
                            config["replicates"], workflow=workflow_from_config(config),
                            sampling_bias=config["sampling_bias"], spread=config["spread"],
                            components=config["components"], iterations=config["iterations"],
                            keep_hues=config["keep_hues"], seed=config["seed"], device=float64_device(ctx.device),
                            progress=ctx.progress_for(f"cat hues ({config['family']})"))
    shares = out["shares"]  # (G, R, K)
    mean_shares = shares.mean(axis=1)
    present = (shares > 0).sum(axis=2)  # colours present per generation and replicate
    final_major = np.asarray(COLOUR_NAMES)[shares[-1].argmax(axis=1)]
    R = shares.shape[1]
    summary: dict[str, Any] = {f"{name}_share": mean_shares[:, i] for i, name in enumerate(COLOUR_NAMES)}
    summary.update({
        "colours_present_mean": present.mean(axis=1),
        "p_one_colour_final": float((present[-1] == 1).mean()),
        "p_blue_absent_final": float((shares[-1, :, COLOUR_NAMES.index("blue")] == 0).mean()),
        "green_share_first_synthetic": float(mean_shares[min(1, len(mean_shares) - 1), COLOUR_NAMES.index("green")]),
        "green_share_first_synthetic_se": float(shares[min(1, len(shares) - 1), :, COLOUR_NAMES.index("green")].std(ddof=1)
                                                / np.sqrt(R)) if R > 1 else None,
        "blue_share_first_synthetic_se": float(shares[min(1, len(shares) - 1), :, COLOUR_NAMES.index("blue")].std(ddof=1)
                                               / np.sqrt(R)) if R > 1 else None,
        "p_blue_absent_final_se": float(np.sqrt(max((shares[-1, :, COLOUR_NAMES.index("blue")] == 0).mean()
                                                    * (1 - (shares[-1, :, COLOUR_NAMES.index("blue")] == 0).mean()), 0)
                                                / R)),
        "final_majority_colour_share": {name: float((final_major == name).mean()) for name in COLOUR_NAMES},
    })
    rows = []
    G, R, K = shares.shape
    for i, name in enumerate(COLOUR_NAMES):
        rows.append(pd.DataFrame({"generation": np.arange(G), "metric": f"{name}_share",
                                  "value": mean_shares[:, i]}))
    table = pd.concat(rows, ignore_index=True)
    extras = {"hues": out["hues"], "final_shares": shares[-1], "colours_present": present}
    return ExperimentResult(summary=summary, table=table, extras=extras)


@experiment(
    "zipf-survival",
    # the counts of every word per replicate (a few copies) and its loss generation; the interpreter
    memory=lambda config: PROCESS_BYTES + 10 * 8 * float(config["replicates"]) * config["vocabulary"],
    # a multinomial draw of n_real tokens over the vocabulary, per replicate and generation
    cost=lambda config: float(config["replicates"]) * (config["generations"] + 1)
    * (config["vocabulary"] + loop_items(config["workflow"], config["n_real"], config["n_real"], 1) / 2),
    calibration={"": {"generations": 300, "replicates": 20}},
    defaults={
        "vocabulary": 500,
        "n_real": 5000,
        "exponent": 1.0,
        "generations": scaled(smoke=300, default=600, full=3000),
        "replicates": scaled(smoke=6, default=60, full=200),
        "workflow": "replace",
        "kept_real_fraction": 0.0,
        "max_count": 30,
        "seed": 0,
    },
    choices={"workflow": WORKFLOWS},
    params={"vocabulary": integer(2, 10**6), "n_real": integer(ref("vocabulary"), 10**8), "exponent": number(0, 10),
            "generations": integer(0, 10**6), "replicates": integer(1, 10**6), "kept_real_fraction": KEPT_REAL_FRACTION,
            "max_count": integer(1, 10**6, doc="largest initial count in the survival table"), "seed": SEED},
    presets={"zipf": {}},
)
def run_zipf_survival(config: dict, ctx: RunContext) -> ExperimentResult:
    """A Zipf vocabulary resampled each generation: survival time of a word against its initial count."""
    out = simulate_zipf_survival(config["vocabulary"], config["n_real"], config["exponent"], config["generations"],
                                 config["replicates"], workflow=workflow_from_config(config), seed=config["seed"],
                                 device=float64_device(ctx.device), progress=ctx.progress_for("zipf survival"))
    table = survival_by_count(out["initial_count"], out["loss_time"], config["max_count"])
    if table.empty:
        raise ValueError(f"max_count={config['max_count']} is below the smallest initial count "
                         f"{int(out['initial_count'].min())}: raise max_count")
    M = config["n_real"]
    p = table["initial_count"].to_numpy() / M
    table["theory_mean_generations_to_loss"] = wf.mean_time_to_loss(p, M)
    table["theory_median_generations_to_loss"] = wf.rare_median_time_to_loss(table["initial_count"].to_numpy())
    usable = table["share_lost"] > 0.5  # the median is known only where most copies were lost
    # a median of a handful of samples is mostly noise (and skewed up by the horizon): fit on counts with
    # at least 50 samples when there are enough of them
    if (usable & (table["samples"] >= 50)).sum() >= 3:
        usable &= table["samples"] >= 50
    # Weight by sqrt(samples): large counts are single words, their medians are noisy. A line needs four
    # counts whose median is known; under augment or accumulate the real words stay in every training
    # set and none vanishes, and a short fresh run may lose too few: then there is no fit, and the
    # summary says why instead of fitting noise (or nothing).
    slope = intercept = slope_se = None
    if usable.sum() >= 4:
        try:
            (slope, intercept), cov = np.polyfit(table.loc[usable, "initial_count"],
                                                 table.loc[usable, "median_generations_to_loss"], 1,
                                                 w=np.sqrt(table.loc[usable, "samples"]), cov=True)
            slope, intercept, slope_se = float(slope), float(intercept), float(np.sqrt(cov[0, 0]))
        except (np.linalg.LinAlgError, ValueError):
            slope = intercept = slope_se = None
    lost_any = bool((out["loss_time"] >= 0).any())
    count_1 = out["loss_time"][:, out["initial_count"] == 1]
    q1 = float((count_1 == 1).mean()) if count_1.size else None
    summary = {
        "initial_count": table["initial_count"].tolist(),
        "median_generations_to_loss": table["median_generations_to_loss"].tolist(),
        "mean_generations_to_loss": table["mean_generations_to_loss"].tolist(),
        "share_lost": table["share_lost"].tolist(),
        "theory_median_generations_to_loss": table["theory_median_generations_to_loss"].tolist(),
        "theory_mean_generations_to_loss": table["theory_mean_generations_to_loss"].tolist(),
        "median_linear_fit_slope": slope,
        "median_linear_fit_slope_se": slope_se,  # from the fit's residual scatter
        "median_linear_fit_intercept": intercept,
        "fit_note": None if slope is not None else (
            "no word vanished within the horizon" if not lost_any else
            "too few counts lost more than half of their copies to fit a line"),
        "theory_median_slope": float(2 / np.log(2)),
        "p_lost_count_1_first_generation": q1,
        "p_lost_count_1_first_generation_se": None if q1 is None else float(np.sqrt(q1 * (1 - q1) / count_1.size)),
        "theory_p_lost_count_1_first_generation": float(wf.one_step_loss_probability(1 / M, M)),
        "share_vocabulary_lost_final": float((out["loss_time"] >= 0).mean()),
    }
    return ExperimentResult(summary=summary, table=table, extras=out)


# ---------------------------------------------------------------- remedies

#: The workflow remedies of chapter 2 (keys of the remedy registry).
CAT_REMEDIES = ("none", "keep-real", "fresh", "accumulate")


@experiment(
    "cat-remedies",
    # the accumulating worlds keep every generation's cats; the others one training set each
    memory=lambda config: PROCESS_BYTES + 6 * 8 * max(float(config["replicates"]) * config["n_real"],
                                              float(min(config["replicates"], config["accumulate_replicates"]))
                                              * config["n_real"] * (config["generations"] + 1)),
    cost=lambda config: sum(float(min(config["replicates"], config["accumulate_replicates"])
                                  if workflow == "accumulate" else config["replicates"])
                            * loop_items(workflow, config["n_real"], config["n_real"], config["generations"])
                            for workflow in ("replace", "replace", "fresh", "accumulate")),
    # the proportions of full (ten times the worlds of accumulate), long enough for accumulate's growth to show
    calibration={"": {"generations": 300, "replicates": 4000, "accumulate_replicates": 400}},
    defaults={
        "n_real": 100,
        "blue": 10,
        "generations": scaled(smoke=100, default=300, full=1000),
        "replicates": scaled(smoke=400, default=2000, full=20000),
        "kept_real_fraction": 0.1,
        "accumulate_replicates": scaled(smoke=100, default=300, full=2000),
        "seed": 0,
    },
    params={"n_real": integer(2, 10**7), "blue": integer(1, ref("n_real", -1)), "generations": integer(0, 10**6),
            "replicates": integer(1, 10**8), "kept_real_fraction": number(0, 1),
            "accumulate_replicates": integer(1, 10**7, doc="worlds of the accumulate remedy (its cost grows)"),
            "seed": SEED},
    presets={"blue-cats": {}},
)
def run_cat_remedies(config: dict, ctx: RunContext) -> ExperimentResult:
    """Blue cats under four workflows: fully synthetic, keep a share of real cats, fresh real cats, accumulate."""
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    rows, curves = [], {}
    for remedy in CAT_REMEDIES:
        workflow = remedy_settings(remedy, n_real=config["n_real"], kept_real_fraction=kept)["workflow"]
        label = f"keep {kept:.0%} real" if remedy == "keep-real" else remedy_label(remedy)
        # Accumulating makes generation t train on (t + 1) * cats items: its cost grows with t, so it
        # runs fewer worlds (``accumulate_replicates``).
        replicates = config["replicates"]
        if workflow.name == "accumulate":
            replicates = min(replicates, check_int("accumulate_replicates", config["accumulate_replicates"], 1))
        out = simulate_cats(config["n_real"], config["blue"], config["generations"], replicates, workflow=workflow,
                            seed=config["seed"], trajectories=0, device=float64_device(ctx.device),
                            progress=ctx.progress_for(f"cats: {remedy}"))
        curves[remedy] = {"ever_lost": out["ever_lost"], "absent": out["absent"], "mean_blue_share": out["mean_blue_share"]}
        G = out["absent"].size
        rows.append({"remedy": remedy, "label": label, "worlds": replicates, "p_blue_ever_lost": float(out["ever_lost"][-1]),
                     "p_blue_absent_final": float(out["absent"][-1]),
                     "share_of_generations_without_blue": float(out["absent"][1:].mean()) if G > 1 else 0.0,
                     "mean_blue_share_final": float(out["mean_blue_share"][-1])})
    table = pd.DataFrame(rows)
    summary = {"remedies": rows}
    return ExperimentResult(summary=summary, table=table, extras={"curves": curves})


# ---------------------------------------------------------------- tails and scaling laws

@experiment(
    "zipf-tails",
    # per replicate the counts of every word (int64), a few copies, and the shares of the two laws
    memory=lambda config: PROCESS_BYTES + 4 * 8 * float(config["replicates"] + 4) * config["vocabulary"],
    # two multinomial draws over the vocabulary per replicate, size and training set (clean, tail-cut, mixes)
    cost=lambda config: 2.0 * (2 + len(config["clean_shares"])) * config["points"] * config["replicates"]
    * config["vocabulary"],
    calibration={"": {"replicates": 40}},
    defaults={
        "vocabulary": scaled(smoke=20_000, default=100_000, full=1_000_000),
        "exponent": 1.5,
        "truncate_rank": 1000,
        "smallest": 100,
        "largest": scaled(smoke=1_000_000, default=10_000_000, full=100_000_000),
        "points": 16,
        "clean_shares": (0.1, 0.01),
        "replicates": scaled(smoke=4, default=10, full=20),
        "seed": 0,
    },
    params={"vocabulary": integer(2, 10**8), "exponent": number(0, 10, open_minimum=True),
            "truncate_rank": integer(1, ref("vocabulary")), "smallest": integer(1, 10**10),
            "largest": integer(ref("smallest"), 10**10), "points": integer(2, 1000),
            "clean_shares": numbers(0, 1, max_length=16), "replicates": integer(1, 10_000), "seed": SEED},
    presets={"tails": {}},
)
def run_zipf_tails(config: dict, ctx: RunContext) -> ExperimentResult:
    """Error vs data size on Zipf data: clean, tail-cut generated, and mixed training sets (a memorising model)."""
    smallest = check_int("smallest", config["smallest"], 1)
    largest = check_int("largest", config["largest"], smallest)
    sizes = np.unique(np.geomspace(smallest, largest, check_int("points", config["points"], 2)).round().astype(np.int64))
    out = simulate_zipf_tails(config["vocabulary"], config["exponent"], config["truncate_rank"], sizes,
                              tuple(config["clean_shares"]), config["replicates"], config["seed"])
    p, q = out["p"], out["q"]
    rows = []
    for label, error in out["error"].items():
        theory = wf.memorization_error(p, [(p, out["clean"][label]), (q, out["synthetic"][label])])
        se = error.std(axis=0, ddof=1) / np.sqrt(error.shape[0]) if error.shape[0] > 1 else np.full(sizes.size, np.nan)
        rows.append(pd.DataFrame({"data": label, "size": sizes, "error": error.mean(axis=0), "error_se": se,
                                  "theory_error": theory}))
    table = pd.concat(rows, ignore_index=True)
    plateau = float(p[config["truncate_rank"]:].sum())
    clean = table[table["data"] == "clean"]
    # the clean curve's log-log slope over sizes 10^3..10^5: -(1 - 1/exponent) for an infinite vocabulary
    # (Hutter's model); a finite one steepens it once T reaches vocabulary^exponent, so compare with the
    # exact curve over the same sizes too
    middle = (clean["size"] >= 1e3) & (clean["size"] <= 1e5)
    fit = lambda y: float(np.polyfit(np.log(clean.loc[middle, "size"]), np.log(y[middle]), 1)[0])  # noqa: E731
    final = table.groupby("data")["error"].last().to_dict()
    summary = {"plateau": plateau, "clean_slope": fit(clean["error"]), "theory_clean_slope": fit(clean["theory_error"]),
               "asymptotic_clean_slope": float(-(1 - 1 / config["exponent"])),
               "final_error": {k: float(v) for k, v in final.items()}, "largest_size": int(sizes.max())}
    return ExperimentResult(summary=summary, table=table)
