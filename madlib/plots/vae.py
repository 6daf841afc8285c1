"""Figures of chapter 4: digit sample grids per generation, metric curves, digit-class histograms."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from ..metrics.images import embed_2d
from . import interactive
from .style import CYCLE, LINESTYLES, PALETTE, band_plot

METRIC_LABELS = {
    "fid": "FID (classifier features) ↓",
    "precision": "precision (quality) ↑",
    "recall": "recall (diversity) ↑",
    "class_entropy": "digit-class entropy (bits) ↑",
}
FLOOR_KEYS = {"fid": "real_fid", "precision": "real_precision", "recall": "real_recall",
              "class_entropy": "real_class_entropy"}
MARKERS = ["o", "s", "^", "D", "v", "P"]


def tile(images: torch.Tensor | np.ndarray, columns: int) -> np.ndarray:
    """Tile images ``(n, 28, 28)`` into one array with ``columns`` per row (1-pixel gaps)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"images must be (n, height, width), got {images.shape}")
    if images.max() > 1.0:
        images = images / 255.0
    n, h, w = images.shape
    rows = -(-n // columns)
    canvas = np.zeros((rows * (h + 1) - 1, columns * (w + 1) - 1), dtype=np.float32)  # blank gaps
    for i in range(n):
        r, c = divmod(i, columns)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = images[i]
    return canvas


def _grids(result) -> torch.Tensor:
    return result.extras["grids"][0]  # first replicate: (generations + 1, n, 28, 28)


def plot_generation_grid(result, *, generations: Sequence[int] | None = None, n_show: int = 12,
                         title: str | None = None, ax=None):
    """One row of samples per generation (rows share latents: a column follows one digit's drift)."""
    grids = _grids(result)
    generations = list(range(grids.shape[0])) if generations is None else list(generations)
    n_show = min(n_show, grids.shape[1])
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * n_show + 1.2, 0.6 * len(generations) + 0.8))
    rows = np.concatenate([tile(grids[g, :n_show], n_show)[None] for g in generations])
    h = rows.shape[1]
    canvas = np.zeros((len(generations) * (h + 3) - 3, rows.shape[2]), dtype=np.float32)
    for i, row in enumerate(rows):
        canvas[i * (h + 3) : i * (h + 3) + h] = row
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([i * (h + 3) + h / 2 for i in range(len(generations))])
    ax.set_yticklabels([f"gen {g}" for g in generations])
    ax.set_xticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title or f"{result.config.get('workflow', '')}: samples by generation")
    return ax.figure


def plot_workflow_grids(results: Mapping[str, object], *, generations: Sequence[int] | None = None,
                        n_show: int = 10, columns: int = 2):
    """Generation grids, one panel per labelled run, ``columns`` panels per row (readable at page width)."""
    columns = max(1, min(columns, len(results)))
    rows = -(-len(results) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    for ax, (label, result) in zip(axes.flat, results.items()):
        plot_generation_grid(result, generations=generations, n_show=n_show, title=label, ax=ax)
    for ax in list(axes.flat)[len(results):]:
        ax.set_visible(False)
    fig.suptitle("Digits, generation after generation (same latent in each column)", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_metric_curves(results: Mapping[str, object], metrics: Sequence[str] = tuple(METRIC_LABELS),
                       show_floor: bool = True, band: tuple[float, float] = (0.0, 1.0)):
    """Per-generation FID, precision, recall and class entropy per run: the mean over replicates (seeds)
    with a band between the ``band`` quantiles of the replicates (default: their full range).

    The dotted grey line is the same metric for real held-out digits: the best a generation can do.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    for i, (label, result) in enumerate(results.items()):
        for ax, metric in zip(axes[0], metrics):
            line = band_plot(ax, result.table, metric, label=label, color=CYCLE[i % len(CYCLE)],
                             linestyle=LINESTYLES[i % len(LINESTYLES)], center="mean", band=band)
            line.set_marker(MARKERS[i % len(MARKERS)])
            line.set_markersize(4)
    for ax, metric in zip(axes[0], metrics):
        if show_floor:
            first = next(iter(results.values()))
            floor = first.summary.get(FLOOR_KEYS.get(metric, ""))
            if floor is not None:
                ax.axhline(floor, color=PALETTE["grey"], linestyle=":", linewidth=1.5, label="real digits")
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=10.5)
        ax.set_ylabel(metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, 0].legend(fontsize=8.5)
    fig.suptitle("Quality and diversity of the samples, by generation", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_class_histograms(result, *, generations: Sequence[int] | None = None, title: str | None = None, ax=None):
    """Share of samples the classifier calls each digit, for a few generations (grouped bars)."""
    histograms = result.extras["histograms"].mean(0).numpy()  # (generations + 1, 10)
    last = histograms.shape[0] - 1
    generations = sorted({0, last // 2, last}) if generations is None else list(generations)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.8 / len(generations)
    hatches = ["", "//", "..", "xx", "\\\\"]
    for i, g in enumerate(generations):
        ax.bar(np.arange(10) + (i - (len(generations) - 1) / 2) * width, histograms[g], width=width,
               color=CYCLE[i % len(CYCLE)], hatch=hatches[i % len(hatches)], edgecolor="white",
               label=f"generation {g}")
    ax.axhline(0.1, color=PALETTE["grey"], linestyle=":", linewidth=1.5, label="real digits (10% each)")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("share of samples")
    if title is None:
        lam = float(result.config.get("sampling_bias", 1.0))
        title = f"Which digits survive? ({result.config.get('workflow', '')}" + (f", λ = {lam:g})" if lam != 1.0 else ")")
    ax.set_title(title)
    ax.legend(fontsize=8.5, ncol=2)
    return ax.figure


def plot_generation_view(results: Mapping[str, object], workflow: str, generation: int, n_show: int = 40):
    """The explorer's view: one run's samples at one generation, beside its digit histogram."""
    if workflow not in results:
        raise ValueError(f"workflow must be one of {list(results)}, got {workflow!r}")
    result = results[workflow]
    grids = _grids(result)
    generation = int(np.clip(generation, 0, grids.shape[0] - 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.2, 1]})
    images = grids[generation, :n_show]
    left.imshow(tile(images, 10), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    left.set_axis_off()
    left.set_title(f"{workflow}, generation {generation}")
    shares = result.extras["histograms"].mean(0)[generation].numpy()
    right.bar(range(10), shares, color=PALETTE["blue"], edgecolor="white")
    right.axhline(0.1, color=PALETTE["grey"], linestyle=":", linewidth=1.5, label="real digits")
    right.set_xticks(range(10))
    right.set_ylim(0, max(0.5, float(shares.max()) * 1.1))
    right.set_xlabel("digit predicted by the classifier")
    right.set_ylabel("share of samples")
    summary = result.summary
    right.set_title(f"FID {summary['fid'][generation]:.1f}, recall {summary['recall'][generation]:.2f}")
    right.legend(fontsize=8.5)
    fig.tight_layout()
    return fig


DIGIT_COLOURS = plt.get_cmap("tab10").colors  # ten digits need ten distinct colours


def embedding_points(results: Mapping[str, object], generations: Sequence[int], *, n_points: int = 300,
                     replicate: int = 0, perplexity: float = 30.0, seed: int = 0) -> dict:
    """The joint 2-D t-SNE map of real digits and each run's samples at ``generations``, from the classifier's
    features the ``vae`` experiment keeps (``extras['features']``).

    Returns ``{"real": (points, labels), (label, generation): (points, predicted digits), ...}``.
    """
    if not results:
        raise ValueError("results must hold at least one vae run")
    first = next(iter(results.values()))
    real = first.extras["reference_features"][:n_points]
    sets, keys, labels = [real], ["real"], [first.extras["reference_labels"][:n_points].numpy()]
    for label, result in results.items():
        features = result.extras["features"]
        if not 0 <= replicate < features.shape[0]:
            raise ValueError(f"replicate must be in [0, {features.shape[0] - 1}], got {replicate}")
        for g in generations:
            if not 0 <= g < features.shape[1]:
                raise ValueError(f"generations must lie in [0, {features.shape[1] - 1}], got {g}")
            sets.append(features[replicate, g, :n_points])
            keys.append((label, g))
            labels.append(result.extras["predicted"][replicate, g, :n_points].numpy())
    points = embed_2d(sets, perplexity=perplexity, seed=seed)
    return {key: (p, lab) for key, p, lab in zip(keys, points, labels)}


def plot_embedding(results: Mapping[str, object], generations: Sequence[int] | None = None, *, n_points: int = 300,
                   replicate: int = 0, seed: int = 0, points: dict | None = None):
    """MAD's picture of modes merging: one row per run, one panel per generation, on one joint t-SNE map of
    the classifier's features; real digits in grey, samples coloured by the digit the classifier sees."""
    if generations is None:
        last = next(iter(results.values())).extras["features"].shape[1] - 1
        generations = sorted({0, last // 2, last})
    generations = list(generations)
    points = points or embedding_points(results, generations, n_points=n_points, replicate=replicate, seed=seed)
    real, _ = points["real"]
    fig, axes = plt.subplots(len(results), len(generations), figsize=(3.1 * len(generations), 3.1 * len(results)),
                             squeeze=False, sharex=True, sharey=True)
    for row, label in enumerate(results):
        for col, g in enumerate(generations):
            ax = axes[row, col]
            ax.scatter(real[:, 0], real[:, 1], s=5, color=PALETTE["grey"], alpha=0.25, linewidths=0)
            xy, digits = points[(label, g)]
            ax.scatter(xy[:, 0], xy[:, 1], s=6, c=[DIGIT_COLOURS[int(d)] for d in digits], linewidths=0, alpha=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_title(f"{label}, generation {g}", fontsize=10)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=DIGIT_COLOURS[d], label=str(d)) for d in range(10)]
    handles.append(plt.Line2D([], [], marker="o", linestyle="", color=PALETTE["grey"], alpha=0.5, label="real"))
    fig.legend(handles=handles, loc="lower center", ncol=11, fontsize=8.5, frameon=False,
               title="digit the classifier sees in a sample (grey: real digits)", title_fontsize=9)
    fig.suptitle("Real and generated digits on one t-SNE map of the classifier's features", fontweight="bold")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def explorer_plotly(results: Mapping[str, object], metrics: Sequence[str] = tuple(METRIC_LABELS)):
    """A kernel-free explorer: a slider over the metrics, one line per run (mean over its replicates) against
    the generation, with the real digits' value as a dotted line."""
    if not results:
        raise ValueError("results must hold at least one vae run")
    frames = {}
    for metric in metrics:
        series = []
        for label, result in results.items():
            values = result.summary.get(metric)
            if values is None:
                raise ValueError(f"run {label!r} has no metric {metric!r}")
            series.append((np.arange(len(values)), np.asarray(values, dtype=float), label))
        floor = next(iter(results.values())).summary.get(FLOOR_KEYS.get(metric, ""))
        if floor is not None:
            n = max(len(r.summary[metric]) for r in results.values())
            series.append(go.Scatter(x=[0, n - 1], y=[floor, floor], mode="lines", name="real digits",
                                     line=dict(color="#888888", dash="dot", width=1.5)))
        frames[METRIC_LABELS.get(metric, metric)] = series
    return interactive.slider_figure(frames, param_name="metric", xaxis="generation", yaxis="value",
                                     fixed_axes=False, title="Chapter 4: each metric by generation, per workflow")


def control_table(warm: Mapping, scratch: Mapping, metrics: Sequence[str] = ("fid", "recall", "precision")):
    """Per metric and generation: the warm-started and from-scratch means over seeds, and each seed's difference.

    ``warm`` and ``scratch`` are ``vae`` summaries (``<metric>_by_replicate`` when they ran several
    seeds, else the one per-generation list); the shorter run sets the generations compared.
    """
    def by_seed(summary, metric):
        if metric not in summary:
            raise ValueError(f"metrics: {metric!r} is not in the vae summary (it has {sorted(summary)})")
        return np.atleast_2d(np.asarray(summary.get(f"{metric}_by_replicate", [summary[metric]]), dtype=float))

    rows = []
    for metric in metrics:
        a, b = by_seed(warm, metric), by_seed(scratch, metric)
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"warm and scratch must have run the same seeds, got {a.shape[0]} and {b.shape[0]}")
        generations = min(a.shape[1], b.shape[1])
        for g in range(generations):
            rows.append({"metric": metric, "generation": g, "warm start (mean)": a[:, g].mean(),
                         "from scratch (mean)": b[:, g].mean(),
                         "difference per seed (warm - scratch)": np.round(a[:, g] - b[:, g], 3).tolist()})
    return pd.DataFrame(rows)


def direction_sentence(differences, worse_if_positive: bool, name: str) -> str:
    """One sentence on the sign of per-seed differences (warm minus scratch): all seeds agreeing, or not."""
    diff = np.asarray(differences, dtype=float)
    if diff.ndim != 1 or diff.size == 0:
        raise ValueError(f"differences must be a non-empty list of per-seed numbers, got {differences!r}")
    seeds = "the one seed" if diff.size == 1 else f"all {diff.size} seeds"
    if (diff > 0).all() or (diff < 0).all():
        warm_worse = bool((diff > 0).all()) == worse_if_positive
        return f"{name}: the warm start is {'worse' if warm_worse else 'better'} than training from scratch in {seeds}."
    return (f"{name}: the seeds do not agree on a direction (warm minus scratch: "
            f"{', '.join(f'{d:+.3g}' for d in diff)}), so the direction is unknown at this size.")
