"""Chapter 6's supervised chain: linear regression refitted on labels made by its previous fit.

:func:`simulate_regression` runs OLS through the one loop, all replicates at once, and returns the
excess test risk ``||w - w*||^2`` of every replicate at every generation (x ~ N(0, I) makes it exact,
no test set needed). Generation 0 is the OLS fit to real data.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.loop import run_loop
from ..core.pace import Progress
from ..core.sources import DistributionSource
from ..core.workflows import WorkflowChoice
from ..models.regression import OLSFamily, default_truth, regression_source_sampler


def simulate_regression(dim: int, n_real: int, generations: int, replicates: int, *, n_synthetic: int | None = None,
                        noise_std: float = 1.0, fit_noise: bool = False, workflow: str | WorkflowChoice = "replace",
                        sampling_bias: float = 1.0, seed: int = 0, device: torch.device | str = "cpu",
                        progress: Progress | None = None) -> np.ndarray:
    """Excess test risk per generation and replicate, ``(generations + 1, replicates)``.

    ``fit_noise`` makes each generation estimate the label noise (instead of knowing ``noise_std``)."""
    w_star = default_truth(dim).to(device)
    source = DistributionSource(regression_source_sampler(w_star, noise_std), replicates, device=device)
    family = OLSFamily(dim, noise_std=None if fit_noise else noise_std)

    def observe(model, data, generation, generator):
        return {"test_error": model.excess_risk(w_star)}

    result = run_loop(family, source, generations=generations, n_real=n_real, n_synthetic=n_synthetic,
                      workflow=workflow, sampling_bias=sampling_bias, seed=seed, observe=observe,
                      progress=progress or Progress("regression"))
    return result.wide("test_error").to_numpy()
