"""Chapter 4's chain: MNIST VAEs trained on their own digits, one chain per replicate (seed).

:func:`digit_observer` measures each generation with the digit classifier against held-out real
digits (FID in its feature space, precision/recall with k = 5, the histogram and entropy of the
predicted digit classes) and keeps a grid of decoded digits (fixed latents, so a slot shows one
digit's drift), the classifier features and predicted digits of a few samples as artefacts.
:func:`simulate_vae` runs the chains through the one loop and stacks what they observed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch

from ..core.chains import run_chains
from ..core.loop import LoopCheckpoint, Observation, run_loop
from ..core.pace import Progress
from ..core.seeding import child_seed, generator as make_generator
from ..core.sources import PoolSource
from ..core.workflows import WorkflowChoice
from ..metrics.images import image_metrics


def digit_observer(classifier, reference_features: torch.Tensor, *, n_eval: int, n_embed: int,
                   grid_z: torch.Tensor, sampling_bias: float, binarize: bool, grid_seed: int) -> Callable:
    """An observer for :func:`madlib.core.loop.run_loop` over VAE models (see the module docstring)."""

    def observe(model, data, generation, generator):
        samples = model.sample(n_eval, sampling_bias=sampling_bias, generator=generator)
        features, logits = classifier.embed(samples)
        values = image_metrics(reference_features, features, logits)
        histogram = values.pop("class_histogram")
        grid = model.decode(grid_z.to(samples.device) * math.sqrt(sampling_bias))[:, 0]
        if binarize:  # show what the successor trains on: a Bernoulli draw of each decoder mean
            grid = torch.bernoulli(grid, generator=make_generator(grid_seed, "binarized grid", generation,
                                                                  device=grid.device))
        values.update({f"share_digit_{d}": float(histogram[d]) for d in range(10)})
        values["train_loss"] = model.final_loss
        return Observation(metrics=values, artefacts={
            "grid": (grid.cpu() * 255).round().to(torch.uint8), "histogram": histogram,
            # the first n_embed samples' classifier features and predicted digits: the 2-D embedding's input
            "features": features[:n_embed].cpu().to(torch.float32),
            "predicted": logits[:n_embed].argmax(1).cpu().to(torch.uint8)})

    return observe


@dataclass
class VAEChains:
    """What :func:`simulate_vae` returns: the tidy table (``replicate`` = chain) and, stacked over
    (replicate, generation), the digit grids, class histograms, sample features and predicted digits."""

    table: pd.DataFrame
    grids: torch.Tensor
    histograms: torch.Tensor
    features: torch.Tensor
    predicted: torch.Tensor
    resumed_from: list


def simulate_vae(family, pool: torch.Tensor, classifier, reference_features: torch.Tensor, *, replicates: int,
                 generations: int, n_real: int, n_synthetic: int, workflow: str | WorkflowChoice = "replace",
                 sampling_bias: float = 1.0, curate=None, seed: int = 0, n_eval: int = 500, n_embed: int = 300,
                 grid_size: int = 40, binarize: bool = False,
                 checkpoint: Callable[[int], LoopCheckpoint | None] = lambda replicate: None,
                 progress: Callable[[int], Progress | None] = lambda replicate: None, workers: int = 1) -> VAEChains:
    """``replicates`` independent chains (seeds ``child_seed(seed, "replicate", r)``), each dealing its real
    digits from ``pool`` without replacement; ``n_synthetic`` digits are drawn per generation (curation
    keeps some of them). ``checkpoint(r)`` and ``progress(r)`` give chain r's checkpoint and progress.
    ``workers`` chains train at once, in threads (:mod:`madlib.core.chains`): the same chains, bit for bit,
    as one after another."""

    def chain(replicate: int, stop):
        chain_seed = child_seed(seed, "replicate", replicate)
        grid_z = torch.randn(grid_size, family.latent_dim, generator=make_generator(seed, "grid", replicate))
        observe = digit_observer(classifier, reference_features, n_eval=n_eval, n_embed=n_embed, grid_z=grid_z,
                                 sampling_bias=sampling_bias, binarize=binarize, grid_seed=chain_seed)
        source = PoolSource(pool, 1, generator=make_generator(chain_seed, device=pool.device))
        return run_loop(family, source, generations=generations, n_real=n_real, n_synthetic=n_synthetic,
                        workflow=workflow, sampling_bias=sampling_bias, seed=chain_seed, observe=observe,
                        curate=curate, checkpoint=checkpoint(replicate), progress=progress(replicate), stop=stop)

    results = run_chains(chain, replicates, workers=workers)
    stacks = {k: torch.stack([result.stacked(k) for result in results])
              for k in ("grid", "histogram", "features", "predicted")}
    table = pd.concat([result.table.assign(replicate=r) for r, result in enumerate(results)], ignore_index=True)
    return VAEChains(table, *stacks.values(), [result.resumed_from for result in results])
