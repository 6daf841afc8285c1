"""Experiment ``regression``: linear regression trained on its own labels, replace vs accumulate.

The result of Gerstgrasser et al. (2024) and Dohmatob, Feng and Kempe (2024):
under *replace* the test error grows linearly in the generations, under
*accumulate* it stays below pi^2/6 times that of the first fit; *accumulate-subsample*
(a fixed training-set size drawn from everything so far) sits in between. The generic
loop runs all replicates at once; generation 0 is the OLS fit to real data.
"""
from __future__ import annotations

import numpy as np

from ..core.config import cpu_threads, float64_device, scaled
from ..core.params import KEPT_REAL_FRACTION, SAMPLING_BIAS, SEED, integer, number
from ..core.loop import run_loop
from ..core.sources import DistributionSource
from ..core.validation import check_float, check_fraction, check_int
from ..core.workflows import WORKFLOW_OPTIONS, WORKFLOWS
from ..models.regression import OLSFamily, default_truth, regression_source_sampler
from ..theory import regression as theory
from . import ExperimentResult, RunContext, experiment


@experiment(
    "regression",
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
    # workflows that need options (mix, reset) are run through the loop directly (chapter 6)
    choices={"workflow": tuple(w for w in WORKFLOWS if w not in WORKFLOW_OPTIONS), "fit_noise": (False, True)},
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
    dim = check_int("dim", config["dim"], 1)
    n_real = check_int("n_real", config["n_real"], 1)
    if n_real < dim + 2:  # below this the OLS error has no finite mean (inverse Wishart)
        raise ValueError(f"n_real must be >= dim + 2 = {dim + 2}, got {n_real}")
    n_synthetic = check_int("n_synthetic", config["n_synthetic"], 0) or n_real
    noise_std = check_float("noise_std", config["noise_std"], 0.0, open_minimum=True)
    generations = check_int("generations", config["generations"], 0)
    replicates = check_int("replicates", config["replicates"], 2)  # two at least, for a standard error
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    lam = check_float("sampling_bias", config["sampling_bias"], 0.0, 1.0, open_minimum=True)
    workflow, fit_noise = config["workflow"], bool(config["fit_noise"])
    if workflow == "replace" and n_synthetic < dim + 2:
        raise ValueError(f"n_synthetic must be >= dim + 2 = {dim + 2} for workflow='replace', got {n_synthetic}")

    device = float64_device(ctx.device)  # OLS runs in float64, which MPS lacks
    w_star = default_truth(dim).to(device)
    source = DistributionSource(regression_source_sampler(w_star, noise_std), replicates, device=device)
    family = OLSFamily(dim, noise_std=None if fit_noise else noise_std)

    def observe(model, data, generation, generator):
        # x ~ N(0, I): the excess test risk is exactly ||w - w*||^2, no test set needed
        return {"test_error": model.excess_risk(w_star)}

    with cpu_threads(1 if device.type == "cpu" else None):
        result = run_loop(family, source, generations=generations, n_real=n_real, n_synthetic=n_synthetic,
                          workflow=workflow, kept_real_fraction=kept, sampling_bias=lam, seed=config["seed"],
                          observe=observe, progress=ctx.progress, desc=f"regression ({workflow})")

    table = result.table
    errors = (table[table.metric == "test_error"]
              .pivot(index="generation", columns="replicate", values="value").sort_index().to_numpy())
    mean = errors.mean(axis=1)
    se = errors.std(axis=1, ddof=1) / np.sqrt(replicates)
    expected = theory.expected_test_error(workflow, generations, n_real, dim, noise_std, n_synthetic=n_synthetic,
                                          sampling_bias=lam, fit_noise=fit_noise, kept_real_fraction=kept)
    summary = {
        "generation": list(range(generations + 1)),
        "test_error": mean.tolist(),
        "test_error_se": se.tolist(),
        "theory_test_error": None if expected is None else expected.tolist(),
        "ratio_to_generation0": (mean / mean[0]).tolist(),
        # the test error above is the excess risk; add this for the error on noisy test labels
        "label_noise_var": noise_std**2,
        "workflow": workflow,
    }
    if expected is not None:
        # largest deviation from the closed form in standard errors: the agreement in one number
        summary["max_abs_z"] = float(np.max(np.abs(mean - expected) / se))
    if workflow == "accumulate" and not fit_noise:
        summary["theory_limit"] = theory.accumulate_limit(n_real, dim, noise_std, n_synthetic=n_synthetic,
                                                          sampling_bias=lam)
    return ExperimentResult(summary=summary, table=table)
