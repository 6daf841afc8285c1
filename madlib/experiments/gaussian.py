"""Experiment ``gaussian``: the mean/std recursion of chapter 1."""
from __future__ import annotations

import os
import warnings
from functools import partial

import numpy as np
import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items
from ..core.config import float64_device, scaled
from ..core.params import SAMPLING_BIAS, SEED, integer
from ..core.validation import check_int
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..simulations.gaussian import check_exact_supports, record_grid, simulate_exact, simulate_samples
from ..theory import gaussian as theory
from . import ExperimentResult, RunContext, experiment


def _gaussian_memory(config: dict) -> float:
    """Bytes: the recorded table (points x replicates, a few float64 columns) plus, when sampling,
    the batch of n_real (or n_synthetic) items per replicate and its fit, a few copies."""
    replicates, points, dim = float(config["replicates"]), float(config["points"]), float(config["dim"])
    table = 6 * 8 * replicates * min(points, float(config["generations"]) + 1) * 3
    if config["method"] == "exact":
        return table + 16 * 8 * replicates
    n = float(max(config["n_real"], config["n_synthetic"]))
    return table + 6 * 8 * replicates * n * dim + 8 * 8 * replicates * dim * dim


def _gaussian_cost(config: dict) -> dict[str, float]:
    """Work units: the exact chain draws two numbers per replicate and generation; the sampled one draws and
    fits every item (items x d, plus a d x d covariance per replicate and generation)."""
    R, G, d = float(config["replicates"]), float(config["generations"]), float(config["dim"])
    if config["method"] == "exact":
        return {"exact": R * (G + 1)}
    items = loop_items(config["workflow"], config["n_real"], config["n_synthetic"] or config["n_real"], G)
    return {"sample": R * (items * d + (G + 1) * d**3)}


@experiment(
    "gaussian",
    memory=_gaussian_memory,
    cost=_gaussian_cost,
    calibration={"exact": {"generations": 2000, "replicates": 5000, "points": 51},
                 "sample": {"method": "sample", "n_real": 1000, "generations": 40, "replicates": 500, "points": 41}},
    defaults={
        "n_real": 1000,
        # the essay's 1,000 and 10,000 iterations are 1,000 and 10,000 fits: generations 999 and 9,999
        "generations": scaled(smoke=199, default=999, full=9999),
        "replicates": scaled(smoke=200, default=1000, full=1000),
        "ddof": 0,
        "method": "exact",
        "workflow": "replace",
        "sampling_bias": 1.0,
        "n_synthetic": 0,
        "kept_real_fraction": 0.0,
        "dim": 1,
        "points": 201,
        "seed": 0,
    },
    choices={"method": ("exact", "sample"), "workflow": WORKFLOWS, "ddof": (0, 1)},
    # method="exact" draws sufficient statistics instead of samples: a shortcut of the plain loop; it refuses
    # by name (dim > 1, a kept real share, mix, accumulate-subsample) what it does not implement
    shortcuts={"method": {"exact": "sample"}},
    params={
        "n_real": integer(2, 10**9),
        # the exact method costs two numbers per replicate and generation: a billion generations is hours
        # (the run says so early), not a refusal
        "generations": integer(0, 10**9),
        "replicates": integer(1, 10**8),
        "sampling_bias": SAMPLING_BIAS,
        "n_synthetic": integer(0, 10**9, doc="synthetic items per generation (0: as many as n_real)"),
        "dim": integer(1, 1000),
        "points": integer(2, 100_000, doc="generations recorded, evenly spread"),
        "seed": SEED,
    },
    # One preset per figure or table of chapter 1, so each is one command:
    # python -m madlib run gaussian --preset NAME [key=value ...]
    presets={
        # the essay: 1,000 runs of 1,000 and 10,000 fits (generations 999 and 9,999)
        "essay": {"generations": 999, "replicates": 1000},
        "essay-10000": {"generations": 9999, "replicates": 1000},
        # 10,000 runs at 1,000 fits, only the last generation kept: averages of 10 and 100 runs
        "run-averages": {"generations": 999, "replicates": 10000, "points": 2},
        # both simulators on one grid (method=sample or method=exact)
        "methods": {"n_real": 100, "generations": scaled(smoke=100, default=300),
                    "replicates": scaled(smoke=200, default=500)},
        # ddof=0 against ddof=1 (the martingale), and the mean's drift
        "martingale": {"n_real": 100, "generations": 500, "replicates": 2000},
        # d = 10 dimensions, samples drawn for real
        "many-dims": {"method": "sample", "n_real": 50, "dim": 10,
                      "generations": scaled(smoke=30, default=100), "replicates": 300},
        # sampling bias lambda (sampling_bias=0.99, 0.95)
        "sampling-bias": {"n_real": 1000, "generations": 200, "replicates": 500},
        # the four workflows (workflow=replace|augment|fresh|accumulate)
        "workflows": {"n_real": 100, "generations": 100, "replicates": 1000},
        # the questions page: ddof=1 (unbiased) at n=1000, mean against median of the variance
        "questions-martingale": {"n_real": 1000, "ddof": 1, "generations": scaled(smoke=299, default=999),
                                 "replicates": scaled(smoke=2000, default=10000)},
    },
)
def run_gaussian(config: dict, ctx: RunContext) -> ExperimentResult:
    """Fit a Gaussian, sample from the fit, refit: generation 0 fits 1,000 draws of N(0, 1), generation t the (t+1)-th fit."""
    n, generations, replicates, dim = config["n_real"], config["generations"], config["replicates"], config["dim"]
    n_synthetic = config["n_synthetic"] or n
    record = record_grid(generations, check_int("points", config["points"], 2))
    workflow = workflow_from_config(config)
    lam, ddof = config["sampling_bias"], config["ddof"]
    if config["method"] == "exact":
        check_exact_supports(workflow, dim)
        chain = simulate_exact(n, generations, replicates, ddof=ddof, workflow=workflow, sampling_bias=lam,
                               n_synthetic=n_synthetic, record=record, seed=config["seed"])
        mean, std, log_det = chain.mean, chain.std, chain.log_var
    else:
        if workflow.name == "replace" and theory.median_std(n, generations, ddof, lam) < 1e-12:
            warnings.warn("sigma falls below 1e-12 of the mean's scale: float64 samples can no longer resolve it "
                          "(the spread is lost to rounding). Use method='exact', which works in log space.",
                          stacklevel=2)
        chain = simulate_samples(n, generations, replicates, dim=dim, ddof=ddof, workflow=workflow,
                                 sampling_bias=lam, n_synthetic=n_synthetic, record=record, seed=config["seed"],
                                 device=float64_device(ctx.device), progress=ctx.progress_for("gaussian (sample)"))
        mean, std, log_det = chain.mean, chain.std, chain.log_det
    metrics = {"mean": mean, "std": std, **({"log_det_cov": log_det} if dim > 1 else {})}
    table = pd.concat([tidy(values, record, metric) for metric, values in metrics.items()], ignore_index=True)
    summary = final_summary(mean[-1], std[-1], record, dim)
    if dim > 1:
        summary["final_log_det_cov_mean"] = float(log_det[-1].mean())
    # the closed forms hold for the plain replace chain (no kept share, n_synthetic = n_real)
    if workflow.name == "replace" and workflow.options["kept_real_fraction"] == 0 and n_synthetic == n:
        summary.update(theory.replace_summary(n, generations, replicates, ddof, lam, dim))
    return ExperimentResult(summary=summary, table=table)


def tidy(values: np.ndarray, record: np.ndarray, metric: str) -> pd.DataFrame:
    """A (generations, replicates) array as tidy rows (generation, replicate, metric, value)."""
    frame = pd.DataFrame(values, index=record).stack().reset_index()
    frame.columns = ["generation", "replicate", "value"]
    frame["metric"] = metric
    return frame[["generation", "replicate", "metric", "value"]]


def final_summary(final_mean: np.ndarray, final_std: np.ndarray, record: np.ndarray, dim: int) -> dict:
    """The last recorded generation's statistics over replicates (with the Monte-Carlo error of the mean)."""
    return {
        "final_generation": int(record[-1]),
        "final_std_mean": float(final_std.mean()),
        # Monte-Carlo standard error of that average: sigma_T is heavy-tailed, so it matters
        "final_std_mean_se": float(final_std.std(ddof=1) / np.sqrt(final_std.size)) if final_std.size > 1 else None,
        "final_std_median": float(np.median(final_std)),
        "final_std_q05": float(np.quantile(final_std, 0.05)),
        "final_std_q95": float(np.quantile(final_std, 0.95)),
        "final_var_mean": float((final_std**2).mean()),
        "final_var_median": float(np.median(final_std**2)),
        "final_mean_sq_mean": float((final_mean**2).mean()),
        "final_w2_sq_mean": float(theory.w2_squared(final_mean, final_std).mean()) if dim == 1 else None,
    }


# sigma^2 after 100 iterations / initial, mean / median: the public sweep of the
# "Collapse or Thrive?" study (Kazdan et al. 2024, references.bib: kazdan2024collapse; d=1, MLE,
# 100 iterations, 100 seeds), from its public sweep.
PUBLISHED_SWEEP = {
    ("replace", 32): (0.073, 0.0024), ("replace", 100): (0.309, 0.141), ("replace", 316): (0.703, 0.530),
    ("accumulate", 32): (0.955, 0.869), ("accumulate", 100): (0.997, 0.975), ("accumulate", 316): (1.008, 0.986),
}


def sweep_cell(workflow: str, n: int, *, generations: int, replicates: int, ddof: int, seed: int) -> dict:
    """One cell of the replace-vs-accumulate sweep: the variance after ``generations``, beside theory and the study."""
    pub_mean, pub_median = PUBLISHED_SWEEP[(workflow, n)]
    chain = simulate_exact(n, generations, replicates, ddof=ddof, workflow=workflow, record=[generations], seed=seed)
    var = chain.var[-1]
    replace = workflow == "replace"
    return {"workflow": workflow, "n": n, "var_mean": float(var.mean()), "var_median": float(np.median(var)),
            "theory_mean": float(theory.expected_var(n, generations, ddof)) if replace else None,
            "theory_median": float(theory.median_std(n, generations, ddof) ** 2) if replace else None,
            "published_mean": pub_mean, "published_median": pub_median,
            # the study averaged 100 seeds: the standard error of such a mean, exact for replace,
            # from our runs' spread for accumulate (a lower bound when the tail is heavy)
            "se_of_100_seed_mean": float(theory.var_mean_standard_error(n, generations, 100, ddof))
            if replace else float(var.std(ddof=1) / np.sqrt(100))}


@experiment(
    "gaussian-sweep",
    # six cells of the exact chain, one after another: a few arrays of replicates each
    memory=lambda config: PROCESS_BYTES + 12 * 8 * float(config["replicates"]),
    cost=lambda config: {"exact": 6.0 * config["replicates"] * (config["generations"] + 1)},
    calibration={"exact": {"replicates": 20000}},
    version=3,  # 2: theory columns beside the published ones; 3: the SE of a 100-seed mean
    # the study's 100 iterations are 100 fits: generation 99
    defaults={"generations": 99, "replicates": scaled(smoke=2000, default=20000, full=100000), "ddof": 0, "seed": 0},
    choices={"ddof": (0, 1)},
    params={"generations": integer(0, 10**6), "replicates": integer(1, 10**8), "seed": SEED},
    presets={"collapse-or-thrive": {}},
)
def run_gaussian_sweep(config: dict, ctx: RunContext) -> ExperimentResult:
    """Replace vs accumulate for n = 32, 100, 316, beside the published sweep (variance ratio, mean / median)."""
    fixed = {"generations": check_int("generations", config["generations"], 0),
             "replicates": check_int("replicates", config["replicates"], 1), "ddof": config["ddof"]}
    points = [{"workflow": workflow, "n": n} for workflow, n in PUBLISHED_SWEEP]
    # common random numbers: every (workflow, n) cell runs on the run's seed, as the study's seeds did.
    # In-process (unless a Dask cluster is named): a cell is far cheaper than starting a worker process
    # (benchmarks/README.md has the measurement).
    rows = ctx.sweep(partial(sweep_cell, **fixed), points, seed=config["seed"], fixed=fixed, desc="gaussian-sweep",
                     common_seed=True, backend=None if os.environ.get("MADLIB_DASK_SCHEDULER") else "inline")
    table = pd.DataFrame(rows)
    summary = {f"{r['workflow']}_n{r['n']}": {"var_mean": r["var_mean"], "var_median": r["var_median"]} for r in rows}
    return ExperimentResult(summary=summary, table=table)
