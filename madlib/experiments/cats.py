"""Experiments of chapter 2: blue and yellow cats, and why the tails die first.

* ``cats``: a categorical model (yellow / blue) refit to its own samples --
  Wright-Fisher resampling -- through the generic loop, batched over replicates.
* ``cat-hues``: fur hue as a continuous quantity, fitted by a too-simple
  (one Gaussian) or a rich-enough (two-component mixture) family.
* ``zipf-survival``: a Zipf vocabulary resampled generation after generation:
  how long a word survives as a function of its initial count.

Generations: the loop's generation 0 is the model fitted to the real data (the
100 given cats); generation t is fitted to the t-th synthetic data set. A
category "lost at generation t" is absent from the data of generation t, which
is time t of the Wright-Fisher chain (t resampling steps after the real cats).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import cpu_threads, scaled
from ..loop import WORKFLOWS, run_loop
from ..models.categorical import CategoricalFamily, CategoricalSource
from ..models.gaussian import GaussianFamily
from ..models.hue import COLOUR_NAMES, HueMixtureFamily, cat_hue_sampler, colour_index
from ..sources import DistributionSource
from ..theory import wright_fisher as wf
from ..validation import check_float, check_fraction, check_int
from . import ExperimentResult, RunContext, experiment

YELLOW, BLUE = 0, 1


def _loop_device(ctx: RunContext) -> torch.device:
    return ctx.device if ctx.device.type != "mps" else torch.device("cpu")  # MPS has no float64


def simulate_cats(cats: int = 100, blue: int = 10, generations: int = 1000, replicates: int = 20000, *,
                  workflow: str = "replace", kept_real_fraction: float = 0.0, sampling_bias: float = 1.0,
                  seed: int = 0, trajectories: int = 50, device: torch.device | str = "cpu",
                  progress: bool = False) -> dict[str, Any]:
    """Run the yellow/blue categorical chain through :func:`madlib.loop.run_loop`.

    Returns numpy arrays: ``loss_time`` and ``fixation_time`` (R,) -- the first
    generation at which the model has no blue (all blue) cats, -1 if never within
    the horizon; ``blue_share`` (generations+1, trajectories) for the first
    replicates; ``ever_lost`` and ``absent`` (generations+1,): share of
    replicates that have lost blue at least once by t / have no blue at t;
    ``mean_blue_share`` (generations+1,).
    """
    cats = check_int("cats", cats, 2)
    blue = check_int("blue", blue, 1, cats - 1)
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    trajectories = min(check_int("trajectories", trajectories, 0), replicates)
    device = torch.device(device)
    source = CategoricalSource(torch.tensor([cats - blue, blue], dtype=torch.float64), replicates, device=device)

    G = generations + 1
    loss_time = torch.full((replicates,), -1, dtype=torch.int64, device=device)
    fixation_time = torch.full((replicates,), -1, dtype=torch.int64, device=device)
    blue_share = torch.zeros(G, trajectories, dtype=torch.float64, device=device)
    absent = torch.zeros(G, dtype=torch.float64, device=device)
    ever_lost = torch.zeros(G, dtype=torch.float64, device=device)
    mean_share = torch.zeros(G, dtype=torch.float64, device=device)

    def evaluate(model, data, t, generator):
        # Everything stays on the device; nothing goes into the (per-replicate) table.
        p_blue = model.probs[:, BLUE]
        is_absent = p_blue <= 0
        is_fixed = p_blue >= 1
        loss_time[(loss_time < 0) & is_absent] = t
        fixation_time[(fixation_time < 0) & is_fixed] = t
        blue_share[t] = p_blue[:trajectories]
        absent[t] = is_absent.double().mean()
        ever_lost[t] = (loss_time >= 0).double().mean()
        mean_share[t] = p_blue.mean()
        return {}

    with cpu_threads(1 if device.type == "cpu" else None):
        run_loop(CategoricalFamily(2), source, generations=generations, n_real=cats, workflow=workflow,
                 kept_real_fraction=kept_real_fraction, sampling_bias=sampling_bias, seed=seed, evaluate=evaluate,
                 progress=progress, desc="cats")
    to_np = lambda x: x.cpu().numpy()  # noqa: E731
    return {
        "loss_time": to_np(loss_time), "fixation_time": to_np(fixation_time), "blue_share": to_np(blue_share),
        "absent": to_np(absent), "ever_lost": to_np(ever_lost), "mean_blue_share": to_np(mean_share),
    }


def _mean_and_se(values: np.ndarray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else None
    return float(values.mean()), se


@experiment(
    "cats",
    defaults={
        "cats": 100,
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
)
def run_cats(config: dict, ctx: RunContext) -> ExperimentResult:
    """Yellow and blue cats: a categorical model refit to its own samples (Wright-Fisher resampling)."""
    cats = check_int("cats", config["cats"], 2)
    blue = check_int("blue", config["blue"], 1, cats - 1)
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    lam = check_float("sampling_bias", config["sampling_bias"], 0.0, 1.0, open_minimum=True)
    out = simulate_cats(cats, blue, config["generations"], config["replicates"], workflow=config["workflow"],
                        kept_real_fraction=kept, sampling_bias=lam, seed=config["seed"],
                        trajectories=config["trajectories"], device=_loop_device(ctx), progress=ctx.progress)
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
    }
    if config["workflow"] == "replace" and kept == 0 and lam == 1.0:
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


# ---------------------------------------------------------------- continuous hue


def hue_family(name: str, components: int = 2, iterations: int = 30):
    """The hue model family by name: ``gaussian`` (too simple) or ``mixture`` (rich enough)."""
    if name == "gaussian":
        return GaussianFamily(ddof=0)
    if name == "mixture":
        return HueMixtureFamily(components=components, iterations=iterations)
    raise ValueError(f"family must be 'gaussian' or 'mixture', got {name!r}")


def simulate_cat_hues(family: str = "gaussian", cats: int = 100, blue: int = 10, generations: int = 200,
                      replicates: int = 100, *, workflow: str = "replace", kept_real_fraction: float = 0.0,
                      sampling_bias: float = 1.0, spread: float = 6.0, components: int = 2, iterations: int = 30,
                      keep_hues: int = 4, seed: int = 0, device: torch.device | str = "cpu",
                      progress: bool = False) -> dict[str, Any]:
    """Run the hue chain through the loop; colour shares per generation and the hues of a few replicates.

    Returns ``shares`` (generations+1, R, colours) -- the share of each colour name in
    the training data of each generation (generation 0: the real cats) -- and
    ``hues`` (generations+1, keep_hues, cats) for the first replicates.
    """
    cats = check_int("cats", cats, 2)
    blue = check_int("blue", blue, 0, cats)
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    keep_hues = min(check_int("keep_hues", keep_hues, 0), replicates)
    source = DistributionSource(cat_hue_sampler(blue / cats, spread=spread), replicates, device=device)
    K = len(COLOUR_NAMES)
    shares = np.zeros((generations + 1, replicates, K))
    hues = np.zeros((generations + 1, keep_hues, cats))

    def evaluate(model, data, t, generator):
        h = data[..., 0].detach().cpu().numpy()
        index = colour_index(h)
        shares[t] = (index[..., None] == np.arange(K)).mean(axis=1)
        hues[t] = h[:keep_hues, :cats]
        return {}

    with cpu_threads(1 if torch.device(device).type == "cpu" else None):
        run_loop(hue_family(family, components, iterations), source, generations=generations, n_real=cats,
                 workflow=workflow, kept_real_fraction=kept_real_fraction, sampling_bias=sampling_bias, seed=seed,
                 evaluate=evaluate, progress=progress, desc=f"cat hues ({family})")
    return {"shares": shares, "hues": hues}


@experiment(
    "cat-hues",
    defaults={
        "family": "gaussian",
        "cats": 100,
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
)
def run_cat_hues(config: dict, ctx: RunContext) -> ExperimentResult:
    """Fur hue on the colour wheel, fitted by one Gaussian (too simple) or a 2-Gaussian mixture (rich enough)."""
    out = simulate_cat_hues(config["family"], config["cats"], config["blue"], config["generations"],
                            config["replicates"], workflow=config["workflow"],
                            kept_real_fraction=config["kept_real_fraction"], sampling_bias=config["sampling_bias"],
                            spread=config["spread"], components=config["components"],
                            iterations=config["iterations"], keep_hues=config["keep_hues"], seed=config["seed"],
                            device=_loop_device(ctx), progress=ctx.progress)
    shares = out["shares"]  # (G, R, K)
    mean_shares = shares.mean(axis=1)
    present = (shares > 0).sum(axis=2)  # colours present per generation and replicate
    final_major = np.asarray(COLOUR_NAMES)[shares[-1].argmax(axis=1)]
    summary: dict[str, Any] = {f"{name}_share": mean_shares[:, i] for i, name in enumerate(COLOUR_NAMES)}
    summary.update({
        "colours_present_mean": present.mean(axis=1),
        "p_one_colour_final": float((present[-1] == 1).mean()),
        "p_blue_absent_final": float((shares[-1, :, COLOUR_NAMES.index("blue")] == 0).mean()),
        "green_share_first_synthetic": float(mean_shares[min(1, len(mean_shares) - 1), COLOUR_NAMES.index("green")]),
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


# ---------------------------------------------------------------- rare categories


def zipf_counts(vocabulary: int, tokens: int, exponent: float = 1.0) -> torch.Tensor:
    """Initial word counts: Zipf shares ``k^-exponent`` rounded to ``tokens`` in total (largest remainders)."""
    from ..models.categorical import exact_counts

    vocabulary = check_int("vocabulary", vocabulary, 2)
    tokens = check_int("tokens", tokens, vocabulary)
    exponent = check_float("exponent", exponent, 0.0)
    ranks = torch.arange(1, vocabulary + 1, dtype=torch.float64)
    return exact_counts(ranks ** (-exponent), tokens)


def simulate_zipf_survival(vocabulary: int = 500, tokens: int = 5000, exponent: float = 1.0,
                           generations: int = 1000, replicates: int = 20, *, workflow: str = "replace",
                           kept_real_fraction: float = 0.0, seed: int = 0, device: torch.device | str = "cpu",
                           progress: bool = False) -> dict[str, np.ndarray]:
    """Resample a Zipf corpus through the loop; the generation each word is first lost (-1: survived)."""
    counts = zipf_counts(vocabulary, tokens, exponent)
    alive = counts > 0
    counts = counts[alive]
    V = counts.numel()
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    device = torch.device(device)
    source = CategoricalSource(counts, replicates, device=device)
    loss_time = torch.full((replicates, V), -1, dtype=torch.int64, device=device)

    def evaluate(model, data, t, generator):
        newly = (loss_time < 0) & (model.probs <= 0)
        loss_time[newly] = t
        return {}

    with cpu_threads(1 if device.type == "cpu" else None):
        run_loop(CategoricalFamily(V), source, generations=generations, n_real=tokens, workflow=workflow,
                 kept_real_fraction=kept_real_fraction, seed=seed, evaluate=evaluate, progress=progress,
                 desc="zipf survival")
    return {"initial_count": counts.numpy(), "loss_time": loss_time.cpu().numpy()}


def survival_by_count(initial_count: np.ndarray, loss_time: np.ndarray, max_count: int | None = None) -> pd.DataFrame:
    """Per initial count k: words, share lost within the horizon, mean and median generations to loss (lost only)."""
    rows = []
    for k in np.unique(initial_count):
        if max_count is not None and k > max_count:
            continue
        times = loss_time[:, initial_count == k].reshape(-1)
        lost = times[times >= 0]
        rows.append({"initial_count": int(k), "words": int((initial_count == k).sum()), "samples": int(times.size),
                     "share_lost": float((times >= 0).mean()),
                     "mean_generations_to_loss": float(lost.mean()) if lost.size else np.nan,
                     "median_generations_to_loss": float(np.median(lost)) if lost.size else np.nan})
    return pd.DataFrame(rows)


@experiment(
    "zipf-survival",
    defaults={
        "vocabulary": 500,
        "tokens": 5000,
        "exponent": 1.0,
        "generations": scaled(smoke=300, default=600, full=3000),
        "replicates": scaled(smoke=6, default=60, full=200),
        "workflow": "replace",
        "kept_real_fraction": 0.0,
        "max_count": 30,
        "seed": 0,
    },
    choices={"workflow": WORKFLOWS},
)
def run_zipf_survival(config: dict, ctx: RunContext) -> ExperimentResult:
    """A Zipf vocabulary resampled each generation: survival time of a word against its initial count."""
    out = simulate_zipf_survival(config["vocabulary"], config["tokens"], config["exponent"], config["generations"],
                                 config["replicates"], workflow=config["workflow"],
                                 kept_real_fraction=config["kept_real_fraction"], seed=config["seed"],
                                 device=_loop_device(ctx), progress=ctx.progress)
    table = survival_by_count(out["initial_count"], out["loss_time"], config["max_count"])
    M = config["tokens"]
    p = table["initial_count"].to_numpy() / M
    table["theory_mean_generations_to_loss"] = wf.mean_time_to_loss(p, M)
    table["theory_median_generations_to_loss"] = wf.rare_median_time_to_loss(table["initial_count"].to_numpy())
    usable = table["share_lost"] > 0.5  # the median is known only where most copies were lost
    # Weight by sqrt(samples): large counts are single words, their medians are noisy.
    slope, intercept = np.polyfit(table.loc[usable, "initial_count"], table.loc[usable, "median_generations_to_loss"],
                                  1, w=np.sqrt(table.loc[usable, "samples"]))
    summary = {
        "initial_count": table["initial_count"].tolist(),
        "median_generations_to_loss": table["median_generations_to_loss"].tolist(),
        "mean_generations_to_loss": table["mean_generations_to_loss"].tolist(),
        "share_lost": table["share_lost"].tolist(),
        "theory_median_generations_to_loss": table["theory_median_generations_to_loss"].tolist(),
        "theory_mean_generations_to_loss": table["theory_mean_generations_to_loss"].tolist(),
        "median_linear_fit_slope": float(slope),
        "median_linear_fit_intercept": float(intercept),
        "theory_median_slope": float(2 / np.log(2)),
        "p_lost_count_1_first_generation": float((out["loss_time"][:, out["initial_count"] == 1] == 1).mean()),
        "theory_p_lost_count_1_first_generation": float(wf.one_step_loss_probability(1 / M, M)),
        "share_vocabulary_lost_final": float((out["loss_time"] >= 0).mean()),
    }
    return ExperimentResult(summary=summary, table=table, extras=out)


# ---------------------------------------------------------------- remedies

REMEDIES = {
    "replace (fully synthetic)": {"workflow": "replace", "kept_real_fraction": 0.0},
    "replace, keep 10% real": {"workflow": "replace", "kept_real_fraction": 0.1},
    "fresh real cats each generation": {"workflow": "fresh", "kept_real_fraction": 0.0},
    "accumulate all data": {"workflow": "accumulate", "kept_real_fraction": 0.0},
}


@experiment(
    "cat-remedies",
    defaults={
        "cats": 100,
        "blue": 10,
        "generations": scaled(smoke=100, default=300, full=1000),
        "replicates": scaled(smoke=400, default=2000, full=20000),
        "kept_real_fraction": 0.1,
        "accumulate_replicates": scaled(smoke=100, default=300, full=2000),
        "seed": 0,
    },
)
def run_cat_remedies(config: dict, ctx: RunContext) -> ExperimentResult:
    """Blue cats under four workflows: fully synthetic, keep a share of real cats, fresh real cats, accumulate."""
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    rows, curves = [], {}
    for label, setting in REMEDIES.items():
        setting = dict(setting)
        if setting["kept_real_fraction"]:
            setting["kept_real_fraction"] = kept
            label = f"replace, keep {kept:.0%} real"
        # Accumulating makes generation t train on (t + 1) * cats items: its cost grows with t, so it
        # runs fewer worlds (``accumulate_replicates``).
        replicates = config["replicates"]
        if setting["workflow"] == "accumulate":
            replicates = min(replicates, check_int("accumulate_replicates", config["accumulate_replicates"], 1))
        out = simulate_cats(config["cats"], config["blue"], config["generations"], replicates,
                            seed=config["seed"], trajectories=0, device=_loop_device(ctx), progress=ctx.progress,
                            **setting)
        curves[label] = {"ever_lost": out["ever_lost"], "absent": out["absent"], "mean_blue_share": out["mean_blue_share"]}
        G = out["absent"].size
        rows.append({"remedy": label, "worlds": replicates, "p_blue_ever_lost": float(out["ever_lost"][-1]),
                     "p_blue_absent_final": float(out["absent"][-1]),
                     "share_of_generations_without_blue": float(out["absent"][1:].mean()) if G > 1 else 0.0,
                     "mean_blue_share_final": float(out["mean_blue_share"][-1])})
    table = pd.DataFrame(rows)
    summary = {"remedies": rows}
    return ExperimentResult(summary=summary, table=table, extras={"curves": curves})
