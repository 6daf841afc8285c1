"""Experiments ``gmm`` (a mixture refitted on its own samples) and ``mad-phase`` (where synthetic data helps).

``gmm`` runs one self-consuming chain per replicate, batched, through
:func:`madlib.core.loop.run_loop`, and measures at about ``eval_points`` generations:
precision and recall (k=5), the true modes still covered, the share of
high-quality samples, the sliced W2^2 to the truth, the total variance and the
number of live components.

``mad-phase`` maps the MAD study's fresh-data loop over a grid of n_real,
n_synthetic / n_real and lambda: for each point it compares the model the loop
ends with (mean over the last ``tail`` generations) with the model fitted on the
n_real real items alone (generation 0 of the same chains). As MAD did, it also
measures the real-only curve (the mean distance of a fit to n real items, for n
on a log grid up to ``curve_span`` times the largest n_real) and inverts it to
read each cell's effective sample size n_e.
"""
from __future__ import annotations

from functools import partial

import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items, loop_peak_items
from ..core.config import float64_device, scaled
from ..core.params import (KEEP_FRACTION, KEPT_REAL_FRACTION, SAMPLING_BIAS, SEED, choice, integer, integers,
                           number, numbers, ref)
from ..core.seeding import child_seed
from ..core.validation import check_float, check_int
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..data.toy import TOY_DATASETS, get_toy
from ..core.sweep import point_seed
from ..simulations.gmm import (GMM_METRICS, PHASE_METHODS, admissible_synthetic, check_phase_method, curve_slope,
                               effective_sample_size, phase_block, phase_block_memory, phase_row, real_only_point,
                               real_only_sizes, replicate_blocks, simulate_mixture)
from . import ExperimentResult, RunContext, experiment

# Chapter 3's figures, one preset each (`python -m madlib run gmm --preset NAME`); sizes follow the scale. At
# `full` the chains are long (grid 400 generations; blobs 2,000, near the 2,050 refits of "The Curse of
# Recursion") and the replicates few (10-50): the chapter's runs then fit in an hour on two CPU cores (measured,
# benchmarks/compute-table.md).
_GRID_GENERATIONS = scaled(smoke=6, default=40, full=400)
# n_eval = n_real: precision and recall compare sets of the training set's size (and fit the 90 s budget)
_GRID = {"dataset": "grid25", "generations": _GRID_GENERATIONS, "replicates": scaled(smoke=3, default=8, full=20),
         "n_real": scaled(smoke=300, default=500, full=1000), "n_eval": scaled(smoke=300, default=500, full=1000)}
_GRID_SNAPSHOTS = scaled(smoke=[0, 1, 6], default=[0, 10, 40], full=[0, 100, 400])
_MOONS = {"dataset": "moons", "generations": scaled(smoke=6, default=40, full=200),
          "replicates": scaled(smoke=3, default=8, full=10), "n_real": 300, "n_eval": 300}
GMM_PRESETS: dict[str, dict] = {
    # "The Curse of Recursion": two blobs, 1,000 points, a two-component mixture refitted on its own samples
    "blobs": {"dataset": "blobs", "workflow": "replace", "replicates": scaled(smoke=6, default=20, full=50),
              "snapshots": scaled(smoke=[0, 1, 12], default=[0, 20, 200], full=[0, 200, 2000])},
    # MAD's 25-mode grid, fully synthetic: no bias, covariances shrunk by lambda = 0.8, cherry-picking half
    "grid25": {**_GRID, "snapshots": _GRID_SNAPSHOTS},
    "grid25-biased": {**_GRID, "sampling_bias": 0.8, "snapshots": _GRID_SNAPSHOTS},
    "grid25-cherry": {**_GRID, "keep_fraction": 0.5},
    # the other loops at n_synthetic = n_real (n_synthetic=0 means "as many as n_real")
    "grid25-augment": {**_GRID, "workflow": "augment"},
    "grid25-fresh": {**_GRID, "workflow": "fresh"},
    "grid25-fresh-collapsed": {**_GRID, "workflow": "fresh", "start": "collapsed",
                               "snapshots": scaled(smoke=[0, 1, 6], default=[0, 1, 40], full=[0, 1, 400])},
    # replace versus accumulate on the two moons
    "moons-replace": {**_MOONS, "workflow": "replace"},
    "moons-accumulate": {**_MOONS, "workflow": "accumulate"},
}

# The phase diagrams of chapter 3: Gaussians (the experiment's defaults) and the two-blob mixture.
MAD_PHASE_PRESETS: dict[str, dict] = {
    "gaussian": {"family": "gaussian"},
    "mixture": {"family": "gmm", "method": "sample", "dataset": "blobs",
                "n_real": scaled(smoke=[20, 100], default=[20, 50, 200], full=[20, 50, 200, 1000]),
                "synthetic_ratio": scaled(smoke=[0.5, 4.0], default=[0.5, 2.0, 9.0], full=[0.5, 1.0, 2.0, 4.0, 9.0]),
                "sampling_bias": scaled(smoke=[0.7, 1.0], default=[0.7, 1.0], full=[0.7, 0.85, 1.0]),
                "generations": scaled(smoke=6, default=20, full=60), "tail": scaled(smoke=3, default=10, full=30),
                "replicates": scaled(smoke=8, default=40, full=100)},
}


def _gmm_memory(config: dict) -> tuple[float, str]:
    """Bytes: EM's per-item tensors for every replicate (the 7 features of a 2-D item, three copies, and
    the responsibilities and log-densities, about five per component, float64) over the largest training
    set; the k-NN distances of precision and recall (replicates x n_eval x up to 2,048 rows, three copies);
    the interpreter and torch (PROCESS_BYTES)."""
    replicates = float(config["replicates"])
    n_synthetic = config["n_synthetic"] or config["n_real"]
    items = loop_peak_items(config["workflow"], config["n_real"], n_synthetic, config["generations"])
    components = config["n_components"] or get_toy(config["dataset"]).n_components
    n_eval = float(config["n_eval"])
    return (PROCESS_BYTES + 8 * replicates * items * (21 + 5 * components)
            + 3 * 8 * replicates * min(n_eval, 2048) * n_eval,
            "lower replicates, n_eval or n_real (or generations, under accumulate)")


def _gmm_cost(config: dict) -> float:
    """Work units: EM over every training item and component (about 30 iterations of a 2-D E- and M-step)
    per replicate and generation, and the k-NN precision and recall (n_eval^2 pairs, three sets) at each
    measured generation."""
    components = config["n_components"] or get_toy(config["dataset"]).n_components
    items = loop_items(config["workflow"], config["n_real"], config["n_synthetic"] or config["n_real"],
                       config["generations"])
    measured = min(config["eval_points"], config["generations"] + 1) + len(config["snapshots"])
    return float(config["replicates"]) * (items * components * 30 + measured * 3 * float(config["n_eval"]) ** 2 / 10)


@experiment(
    "gmm",
    memory=_gmm_memory,
    cost=_gmm_cost,
    calibration={"": [{"dataset": "grid25", "generations": 2, "replicates": 4, "n_real": 500, "n_eval": 500,
                       "eval_points": 2},
                      {"dataset": "grid25", "generations": 6, "replicates": 10, "n_real": 1000, "n_eval": 1000,
                       "eval_points": 4}]},
    defaults={
        "dataset": "blobs",
        "workflow": "replace",
        "generations": scaled(smoke=12, default=200, full=2000),
        "replicates": scaled(smoke=6, default=40, full=200),
        "n_real": scaled(smoke=300, default=1000, full=1000),
        "n_synthetic": 0,
        "sampling_bias": 1.0,
        "keep_fraction": 1.0,
        "kept_real_fraction": 0.0,
        "n_components": 0,
        "start": "fit",
        "eval_points": scaled(smoke=5, default=16, full=30),
        "n_eval": scaled(smoke=300, default=1000, full=1000),
        "snapshots": [],
        "seed": 0,
    },
    choices={"dataset": TOY_DATASETS, "workflow": WORKFLOWS, "start": ("fit", "collapsed")},
    params={"generations": integer(0, 10**6), "replicates": integer(1, 10**6), "n_real": integer(2, 10**7),
            "n_synthetic": integer(0, 10**7, doc="0: as many as n_real"), "sampling_bias": SAMPLING_BIAS,
            "keep_fraction": KEEP_FRACTION, "kept_real_fraction": KEPT_REAL_FRACTION,
            "n_components": integer(0, 1000, doc="0: the data set's number of modes"),
            "eval_points": integer(2, 10_000), "n_eval": integer(6, 10**6),
            "snapshots": integers(0, ref("generations"), doc="generations whose samples are kept"), "seed": SEED},
    presets=GMM_PRESETS,
)
def run_gmm(config: dict, ctx: RunContext) -> ExperimentResult:
    """Refit a Gaussian mixture on its own samples (a toy data set, one of the loop's workflows)."""
    dataset = get_toy(config["dataset"])
    workflow = workflow_from_config(config)
    result, reference = simulate_mixture(
        dataset, generations=config["generations"], replicates=config["replicates"], n_real=config["n_real"],
        n_synthetic=config["n_synthetic"] or config["n_real"], workflow=workflow,
        sampling_bias=config["sampling_bias"], keep_fraction=config["keep_fraction"],
        n_components=config["n_components"], start=config["start"], eval_points=config["eval_points"],
        n_eval=config["n_eval"], snapshots=config["snapshots"], seed=config["seed"],
        device=float64_device(ctx.device), checkpoint=ctx.loop_checkpoint(config),
        progress=ctx.progress_for(f"gmm {config['dataset']} {workflow.name}"))
    means = result.table.groupby(["metric", "generation"])["value"].mean()
    summary: dict = {"generations": sorted(int(g) for g in result.table["generation"].unique()),
                     "n_modes": int(dataset.modes.shape[0]),
                     "n_components": config["n_components"] or dataset.n_components}
    for metric in GMM_METRICS:
        summary[metric] = [float(v) for v in means[metric].sort_index().values]
        summary[f"final_{metric}"] = summary[metric][-1]
    return ExperimentResult(summary=summary, table=result.table,
                            extras={"snapshots": result.artefact("snapshot"), "reference": reference[0].cpu(),
                                    "modes": dataset.modes})


def _phase_points(config: dict) -> list[dict]:
    return [{"n_real": n, "synthetic_ratio": r, "sampling_bias": lam} for n in config["n_real"]
            for r in config["synthetic_ratio"] for lam in config["sampling_bias"]]


def _phase_block_memory(config: dict, point: dict) -> tuple[float, str]:
    return phase_block_memory(family=config["family"], method=config["method"], dim=config["dim"],
                              dataset=config["dataset"], n_real=point["n_real"],
                              synthetic_ratio=point["synthetic_ratio"], replicates=config["replicates"],
                              n_test=config["n_test"])


def _mad_phase_memory(config: dict) -> tuple[float, str]:
    """Bytes: the largest block of one point (the sweep runs as many blocks at once as fit, at least one)."""
    return max((_phase_block_memory(config, point) for point in _phase_points(config)), key=lambda m: m[0])


def _mad_phase_cost(config: dict) -> dict[str, float]:
    """Work units: per replicate and generation, the exact chain's d x d algebra (d^3, and as much again per
    measured generation for the eigenvalues of W2); the sampled Gaussian's items x d^2; a mixture's items x
    components x EM iterations (about 20). The real-only curve (``curve_replicates`` x replicates fits at each
    of its sizes) costs what generation 0 of a chain costs at those sizes, in the same units."""
    R, G, tail, d = config["replicates"], config["generations"] + 1, config["tail"] + 1, config["dim"]
    points = _phase_points(config)
    gaussian = config["family"] == "gaussian"
    min_real = d + 1 if gaussian else 2 * get_toy(config["dataset"]).n_components
    sizes = real_only_sizes(min_real, int(max(config["n_real"]) * config["curve_span"]))
    fits = R * config["curve_replicates"]
    if config["method"] == "exact":
        return {"exact": len(points) * R * d**3 * (G + tail) + fits * len(sizes) * 2 * d**3}
    items = sum(p["n_real"] * (1 + p["synthetic_ratio"]) for p in points)
    if gaussian:
        return {"sample": R * G * items * d * d + len(points) * R * (G + tail) * d**3
                + fits * (sum(sizes) * d * d + len(sizes) * 2 * d**3)}
    toy = get_toy(config["dataset"])
    per_test = config["n_test"] * toy.n_components
    return {"mixture": R * G * (items * toy.n_components * 20 + len(points) * per_test)
            + fits * (sum(sizes) * toy.n_components * 20 + len(sizes) * per_test)}


@experiment(
    "mad-phase",
    memory=_mad_phase_memory,
    cost=_mad_phase_cost,
    parallel=lambda config: len(_phase_points(config)) * len(replicate_blocks(config["replicates"])),
    # the exact chain at two lengths (the same curve): their difference is the chain's rate, the rest start-up
    calibration={"exact": [{"family": "gaussian", "method": "exact", "dim": 100, "n_real": [150],
                            "synthetic_ratio": [1.0], "sampling_bias": [1.0], "generations": 10, "tail": 5,
                            "replicates": 100},
                           {"family": "gaussian", "method": "exact", "dim": 100, "n_real": [150],
                            "synthetic_ratio": [1.0], "sampling_bias": [1.0], "generations": 60, "tail": 30,
                            "replicates": 100}],
                 "sample": {"family": "gaussian", "method": "sample", "dim": 10, "n_real": [100],
                            "synthetic_ratio": [4.0], "sampling_bias": [1.0], "generations": 40, "tail": 20,
                            "replicates": 100},
                 "mixture": {"family": "gmm", "method": "sample", "n_real": [200], "synthetic_ratio": [2.0],
                             "sampling_bias": [1.0], "generations": 20, "tail": 10, "replicates": 40}},
    defaults={
        "family": "gaussian",
        # exact at full, where a point draws up to 25,000 items of 100 dimensions per replicate and generation
        # (out of reach of a CPU); the smaller scales keep the sampled loop the book was built with
        "method": scaled(smoke="sample", default="sample", full="exact"),
        "dim": scaled(smoke=2, default=10, full=100),
        "dataset": "blobs",
        "n_real": scaled(smoke=[20, 100], default=[20, 50, 100, 250], full=[150, 250, 500, 1000, 2500]),
        "synthetic_ratio": scaled(smoke=[0.5, 4.0], default=[0.5, 1.0, 2.0, 4.0, 9.0],
                                  full=[0.25, 0.5, 1.0, 2.0, 4.0, 9.0]),
        "sampling_bias": scaled(smoke=[0.7, 1.0], default=[0.7, 0.85, 1.0], full=[0.5, 0.7, 0.85, 0.95, 1.0]),
        "generations": scaled(smoke=8, default=30, full=100),
        "tail": scaled(smoke=4, default=15, full=50),
        "replicates": scaled(smoke=20, default=100, full=200),
        "n_test": 4000,
        "curve_span": 4.0,
        "curve_replicates": 4,
        "seed": 0,
    },
    choices={"family": ("gaussian", "gmm"), "method": PHASE_METHODS},
    # method="exact" draws the Gaussian chain's sufficient statistics (normal means, Wishart scatters) instead of
    # its samples: a shortcut of the sampled loop, tested against it; it refuses the mixture family by name
    shortcuts={"method": {"exact": "sample"}},
    params={"dim": integer(1, 1000, applies_when={"family": ("gaussian",)}),
            "dataset": choice("blobs", "grid25", applies_when={"family": ("gmm",)}),
            "n_real": integers(2, 10**6), "synthetic_ratio": numbers(0, 1000),
            "sampling_bias": numbers(0, 1, open_minimum=True), "generations": integer(1, 10**5),
            "tail": integer(1, ref("generations"), doc="last generations averaged"), "replicates": integer(1, 10**6),
            "n_test": integer(10, 10**7, applies_when={"family": ("gmm",)}), "seed": SEED,
            "curve_span": number(1, 1000, doc="the real-only curve reaches this multiple of the largest n_real"),
            "curve_replicates": integer(1, 1000, doc="the real-only curve's fits per size, in multiples of replicates")},
    presets=MAD_PHASE_PRESETS,
)
def run_mad_phase(config: dict, ctx: RunContext) -> ExperimentResult:
    """Phase diagram of the fresh-data loop: does synthetic data end better or worse than n_real real items alone?"""
    check_phase_method(config["method"], config["family"])
    generations = check_int("generations", config["generations"], 1)
    seed = check_int("seed", config["seed"], 0)
    fixed = {"family": config["family"], "method": config["method"], "dim": check_int("dim", config["dim"], 1),
             "dataset": config["dataset"], "n_test": check_int("n_test", config["n_test"], 10),
             "test_seed": child_seed(seed, "test set"),
             "generations": generations, "tail": check_int("tail", config["tail"], 1, generations),
             "replicates": check_int("replicates", config["replicates"], 1)}
    if config["family"] == "gaussian":
        label, min_real = "W2^2 to the truth", fixed["dim"] + 1
    else:
        label, min_real = "KL(truth || model)", 2 * get_toy(config["dataset"]).n_components
    points = [{"n_real": check_int("n_real", p["n_real"], min_real),
               "synthetic_ratio": check_float("synthetic_ratio", p["synthetic_ratio"], 0.0),
               "sampling_bias": check_float("sampling_bias", p["sampling_bias"], 0.0, 1.0, open_minimum=True)}
              for p in _phase_points(config)]
    # The sweep's unit is a block of a point's replicates (REPLICATE_BLOCK each), so large points spread over
    # workers and memory bounds how many blocks run at once. Every block gets the run's seed (common_seed) and
    # derives its own from its point's coordinates, exactly as a sweep of the points would, and from its index
    # (block_seed): the numbers are the same whatever the workers, the memory or the order.
    blocks = len(replicate_blocks(fixed["replicates"]))
    tasks = [{**point, "block": b} for point in points for b in range(blocks)]
    exact = config["method"] == "exact"
    results = ctx.sweep(partial(_phase_task, **fixed), tasks, seed=seed, fixed=fixed, common_seed=True,
                        desc=f"mad-phase {config['family']}" + (" (exact)" if exact else ""),
                        memory=lambda task: _phase_block_memory(config, task),
                        # costliest first: the sampled loop's cost grows with the items, the exact chain's does not
                        cost=lambda task: 1.0 if exact else task["n_real"] * (1 + task["synthetic_ratio"]))
    rows = [phase_row(point, results[i * blocks:(i + 1) * blocks]) for i, point in enumerate(points)]
    frame = pd.DataFrame(rows)
    # MAD's effective sample size: invert the measured real-only curve (anchored at each cell's own real-only
    # fit, so that n_e > n_r exactly where the loop ends closer to the truth than generation 0 of its chains)
    curve_fixed = {k: fixed[k] for k in ("family", "dim", "dataset", "n_test", "test_seed")}
    if exact:  # the exact chain's curve from sufficient statistics too (the sampled one keeps its cache key)
        curve_fixed["method"] = "exact"
    curve_fixed["replicates"] = fixed["replicates"] * config["curve_replicates"]
    sizes = real_only_sizes(min_real, int(max(config["n_real"]) * config["curve_span"]))
    curve = pd.DataFrame(ctx.sweep(partial(real_only_point, **curve_fixed), [{"n_real": n} for n in sizes], seed=child_seed(config["seed"],
                                   "real-only curve"), fixed=curve_fixed, desc=f"mad-phase real-only {config['family']}",
                                   backend="inline")).sort_values("n_real")
    n_e, extrapolated = effective_sample_size(curve["n_real"], curve["distance"], frame["loop_end"],
                                              anchors=frame["real_only"], anchor_sizes=frame["n_real"])
    frame = frame.assign(n_effective=n_e, effective_sample_ratio=n_e / frame["n_real"], n_effective_extrapolated=extrapolated)
    summary = {"distance": label, "method": config["method"], "points": frame.to_dict("records"),
               "share_of_grid_where_synthetic_helps": float((frame["log10_ratio"] < 0).mean()),
               # per (lambda, n_real): the largest synthetic ratio of the grid up to which synthetic data helps
               "admissible": admissible_synthetic(frame).to_dict("records"),
               "real_only_curve": curve.to_dict("list"),
               # log-log slope of the real-only curve: -1 is the 1/n law the proxy n_e / n_r = real only / loop end assumes
               "real_only_slope": curve_slope(curve["n_real"], curve["distance"])}
    return ExperimentResult(summary=summary, table=frame)


def _phase_task(*, n_real: int, synthetic_ratio: float, sampling_bias: float, block: int, seed: int,
                **fixed) -> dict:
    """One sweep task: block ``block`` of the point, with the point's own seed derived from the run's."""
    point = {"n_real": n_real, "synthetic_ratio": synthetic_ratio, "sampling_bias": sampling_bias}
    return phase_block(**point, block=block, seed=point_seed(seed, point), **fixed)
