"""Experiment ``regression``: linear regression trained on its own labels, replace vs accumulate.

The result of Gerstgrasser et al. (2024) and Dohmatob, Feng and Kempe (2024):
under *replace* the test error grows linearly in the generations, under
*accumulate* it stays below pi^2/6 times that of the first fit; *accumulate-subsample*
(a fixed training-set size drawn from everything so far) sits in between. The generic
loop runs all replicates at once; generation 0 is the OLS fit to real data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items, loop_peak_items
from ..core.config import float64_device, scaled
from ..core.params import KEPT_REAL_FRACTION, SAMPLING_BIAS, SEED, integer, number
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..simulations.regression import simulate_regression
from ..theory import regression as theory
from . import ExperimentResult, RunContext, experiment


def _regression_memory(config: dict) -> float:
    """Bytes: the largest training set (features and labels, float64, four copies) per replicate."""
    n_synthetic = config["n_synthetic"] or config["n_real"]
    items = loop_peak_items(config["workflow"], config["n_real"], n_synthetic, config["generations"])
    return PROCESS_BYTES + 4 * 8 * float(config["replicates"]) * items * (config["dim"] + 1)


def _regression_cost(config: dict) -> float:
    """Work units: an OLS fit (items x d^2) per replicate and generation."""
    n_synthetic = config["n_synthetic"] or config["n_real"]
    items = loop_items(config["workflow"], config["n_real"], n_synthetic, config["generations"])
    return float(config["replicates"]) * items * config["dim"] ** 2


@experiment(
    "regression",
    memory=_regression_memory,
    cost=_regression_cost,
    calibration={"": {"workflow": "accumulate", "generations": 30, "replicates": 2000}},
    defaults={
        "dim": 10,
        "n_real": 50,
        "n_synthetic": 0,  # 0: as many as n_real
        "noise_std": 1.0,
        "fit_noise": False,
        "generations": scaled(smoke=10, default=30, full=100),
        # accumulate keeps (n_real + t n_synthetic) items per replicate in memory: R x 1550 x 11
        # float64 is 270 MB at default scale
        "replicates": scaled(smoke=1000, default=2000, full=5000),
        "workflow": "replace",
        "kept_real_fraction": 0.0,
        "sampling_bias": 1.0,
        "seed": 0,
    },
    choices={"workflow": WORKFLOWS, "fit_noise": (False, True)},
    params={"dim": integer(1, 10_000), "n_real": integer(3, 10**7), "n_synthetic": integer(0, 10**7, doc="0: as many as n_real"),
            "noise_std": number(0, 10**6, open_minimum=True), "generations": integer(0, 10**5),
            "replicates": integer(2, 10**7), "kept_real_fraction": KEPT_REAL_FRACTION, "sampling_bias": SAMPLING_BIAS,
            "seed": SEED},
    # chapter 6's figure: one preset per curve
    presets={"replace": {"workflow": "replace"}, "accumulate": {"workflow": "accumulate"},
             "accumulate-subsample": {"workflow": "accumulate-subsample"}},
)
def run_regression(config: dict, ctx: RunContext) -> ExperimentResult:
    """OLS refitted on labels made by its previous fit: test error per generation beside its closed form."""
    dim, n_real, noise_std = config["dim"], config["n_real"], config["noise_std"]  # ranges: the params above
    if n_real < dim + 2:  # below this the OLS error has no finite mean (inverse Wishart)
        raise ValueError(f"n_real must be >= dim + 2 = {dim + 2}, got {n_real}")
    n_synthetic = config["n_synthetic"] or n_real
    workflow, lam, fit_noise = workflow_from_config(config), config["sampling_bias"], bool(config["fit_noise"])
    if workflow.name == "replace" and n_synthetic < dim + 2:
        raise ValueError(f"n_synthetic must be >= dim + 2 = {dim + 2} for workflow='replace', got {n_synthetic}")
    errors = simulate_regression(dim, n_real, config["generations"], config["replicates"], n_synthetic=n_synthetic,
                                 noise_std=noise_std, fit_noise=fit_noise, workflow=workflow, sampling_bias=lam,
                                 seed=config["seed"], device=float64_device(ctx.device),  # OLS needs float64
                                 progress=ctx.progress_for(f"regression ({workflow.name})"))
    mean, se = errors.mean(axis=1), errors.std(axis=1, ddof=1) / np.sqrt(errors.shape[1])
    expected = theory.expected_test_error(workflow.name, config["generations"], n_real, dim, noise_std,
                                          n_synthetic=n_synthetic, sampling_bias=lam, fit_noise=fit_noise,
                                          kept_real_fraction=workflow.options.get("kept_real_fraction", 0.0))
    summary = {
        "generation": list(range(errors.shape[0])),
        "test_error": mean.tolist(),
        "test_error_se": se.tolist(),
        "theory_test_error": None if expected is None else expected.tolist(),
        "ratio_to_generation0": (mean / mean[0]).tolist(),
        # the test error above is the excess risk; add this for the error on noisy test labels
        "label_noise_var": noise_std**2,
        "workflow": workflow.name,
    }
    if expected is not None:
        # largest deviation from the closed form in standard errors: the agreement in one number
        summary["max_abs_z"] = float(np.max(np.abs(mean - expected) / se))
    if workflow.name == "accumulate" and not fit_noise:
        summary["theory_limit"] = theory.accumulate_limit(n_real, dim, noise_std, n_synthetic=n_synthetic,
                                                          sampling_bias=lam)
    table = tidy_wide(errors, "test_error")
    return ExperimentResult(summary=summary, table=table)


def tidy_wide(values: np.ndarray, metric: str) -> pd.DataFrame:
    """A (generations, replicates) array as the loop's tidy table (generation, replicate, metric, value)."""
    G, R = values.shape
    return pd.DataFrame({"generation": np.repeat(np.arange(G), R), "replicate": np.tile(np.arange(R), G),
                         "metric": metric, "value": values.reshape(-1)})
