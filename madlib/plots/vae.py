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


# ---- computed sentences: every comparative sentence of chapter 4 is built here from the results -------------

def by_seed(summary: Mapping, metric: str) -> np.ndarray:
    """``(seeds, generations)``: a vae summary's per-seed curves of ``metric`` (one row when it ran one seed)."""
    if metric not in summary:
        raise ValueError(f"metric {metric!r} is not in the vae summary (it has {sorted(summary)})")
    return np.atleast_2d(np.asarray(summary.get(f"{metric}_by_replicate", [summary[metric]]), dtype=float))


def _seeds(n: int) -> str:
    return "the one seed" if n == 1 else f"all {n} seeds"


def paired_difference(treated: Mapping, control: Mapping, metric: str, generation: int = -1) -> np.ndarray:
    """Per seed, ``treated - control`` at ``generation`` (the last by default): the two runs share their seeds
    (and generation 0), so the difference is the treatment's, not the luck of two seeds."""
    a, b = by_seed(treated, metric), by_seed(control, metric)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"treated and control must have run the same seeds, got {a.shape[0]} and {b.shape[0]}")
    return a[:, generation] - b[:, generation]


def effect_sentence(differences, *, metric: str, higher_is_better: bool, treatment: str, control: str) -> str:
    """One sentence on per-seed differences (treatment minus control) of a metric: the direction when every
    seed agrees (and more than one seed ran), else that the run cannot tell."""
    diff = np.asarray(differences, dtype=float)
    if diff.ndim != 1 or diff.size == 0:
        raise ValueError(f"differences must be a non-empty list of per-seed numbers, got {differences!r}")
    listed = ", ".join(f"{d:+.2f}" for d in diff)
    if diff.size == 1:
        return (f"{metric}: {treatment} minus {control} is {listed} in the one seed that ran, and one seed "
                f"cannot tell an effect from seed noise.")
    if (diff > 0).all() or (diff < 0).all():
        better = bool((diff > 0).all()) == higher_is_better
        return (f"{metric}: {treatment} is {'better' if better else 'worse'} than {control} in {_seeds(diff.size)} "
                f"(by {np.abs(diff).min():.2f} to {np.abs(diff).max():.2f}).")
    return (f"{metric}: the seeds do not agree on the direction ({treatment} minus {control}: {listed}), "
            f"so this run cannot tell.")


def design_vs_workflow_sentence(design, workflow, *, metric: str, design_label: str, workflow_label: str) -> str:
    """Compare two paired effects on one metric (per-seed differences): changing the loop's design against
    changing its workflow. Says which moved the metric more, only when each effect has one sign in every
    seed of a run with more than one seed; never compares effects that the seeds cannot tell apart."""
    d, w = (np.asarray(x, dtype=float) for x in (design, workflow))
    if d.ndim != 1 or w.ndim != 1 or d.size == 0 or d.size != w.size:
        raise ValueError(f"design and workflow must be per-seed differences of the same seeds, got {design!r}, {workflow!r}")
    if np.isnan(d).any() or np.isnan(w).any():
        return (f"{design_label} and {workflow_label}: {metric} cannot be compared, because some seed has nothing "
                f"to lose at generation 0 (a run too small to tell).")
    moved = (f"{design_label} moved {metric} by {d.mean():+.2f} on average, {workflow_label} by {w.mean():+.2f}")
    if d.size == 1:
        return f"{moved}, in one seed: too small a run to compare the two effects."
    undecided = [label for label, x in ((design_label, d), (workflow_label, w)) if not ((x > 0).all() or (x < 0).all())]
    if undecided:
        return f"{moved}, but the seeds disagree on the sign of {' and of '.join(undecided)}: this run cannot compare them."
    ratio = abs(d.mean()) / abs(w.mean())
    if ratio >= 1.5:
        phrase = "more than"
    elif ratio >= 2 / 3:
        phrase = "about as much as"
    elif ratio >= 1 / 3:
        phrase = "less than, but comparably to,"
    else:
        phrase = "far less than"
    return (f"{moved} ({_seeds(d.size)} agree on both signs): the loop's design moved the result {phrase} "
            f"the workflow did (a ratio of {ratio:.1f}).")


def trend_sentence(values_by_seed, *, name: str, metric: str, higher_is_better: bool, steps: int = 2) -> str:
    """Whether a run's metric was still getting worse over its last ``steps`` generations, seed by seed. It never
    claims a level: a handful of generations cannot tell a plateau from a slow decline."""
    values = np.atleast_2d(np.asarray(values_by_seed, dtype=float))
    generations = values.shape[1] - 1
    if values.size == 0 or generations < 1:
        raise ValueError(f"values_by_seed must hold at least two generations per seed, got shape {values.shape}")
    steps = min(steps, generations)
    change = np.diff(values[:, -steps - 1:], axis=1)
    worse = change < 0 if higher_is_better else change > 0
    first, last = values[:, 0].mean(), values[:, -1].mean()
    head = f"Under {name}, {metric} went {first:.2f} → {last:.2f} over {generations} generations"
    if worse.all():
        return (f"{head} and was still getting worse in each of the last {steps} generations in {_seeds(values.shape[0])}: "
                f"no level is in sight, and {generations} generations could not show one.")
    return (f"{head}; it did not get worse at every one of the last {steps} generations in every seed, but "
            f"{generations} generations cannot tell a level from a slow decline.")


def held_sentence(values_by_seed, *, name: str, metric: str, higher_is_better: bool) -> str:
    """Did a run keep ``metric`` near its generation-0 value? "Near" is within the spread of generation 0 over
    seeds (the run's own noise); one seed cannot tell."""
    values = np.atleast_2d(np.asarray(values_by_seed, dtype=float))
    if values.shape[1] < 2:
        raise ValueError(f"values_by_seed must hold at least two generations per seed, got shape {values.shape}")
    loss = (values[:, 0] - values[:, -1]) * (1 if higher_is_better else -1)  # > 0: worse
    head = f"Under {name}, {metric} went {values[:, 0].mean():.2f} → {values[:, -1].mean():.2f}"
    if values.shape[0] == 1:
        return f"{head} in the one seed that ran: too small a run to say whether it held."
    spread = float(np.ptp(values[:, 0]))
    if (loss > spread).all():
        return (f"{head}: worse in {_seeds(values.shape[0])} by more than the seeds' spread at generation 0 "
                f"({spread:.2f}), so it did not hold over these generations.")
    if (np.abs(loss) <= spread).all():
        return (f"{head}: within the seeds' spread at generation 0 ({spread:.2f}) in {_seeds(values.shape[0])}, "
                f"so it held over these generations.")
    return f"{head}: the seeds disagree (losses {', '.join(f'{x:+.2f}' for x in loss)}), so this run cannot tell."


def warm_start_verdict(fid_differences, recall_differences) -> str:
    """What the warm-start control means for the chapter's curves, when FID and recall agree in every seed
    (differences warm minus scratch); an empty string when they do not."""
    fid, recall = np.asarray(fid_differences, dtype=float), np.asarray(recall_differences, dtype=float)
    if fid.size < 2 or recall.size != fid.size:
        return ""
    if (fid < 0).all() and (recall > 0).all():
        return ("So the warm start *slows* the collapse: the default-scale curves below understate how fast a "
                "loop trained from scratch, as in the papers, degrades.")
    if (fid > 0).all() and (recall < 0).all():
        return ("So the warm start *speeds up* the collapse: the default-scale curves below overstate how fast a "
                "loop trained from scratch, as in the papers, degrades.")
    return ""


def mad_bias_sentence(precision, *, tolerance: float = 0.05, sampling_bias: float = 0.5) -> str:
    """MAD's biased loops kept precision (their samples stayed on the real data and legible); say whether ours
    did, from the per-generation precision (mean over seeds)."""
    p = np.asarray(precision, dtype=float)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"precision must be a per-generation list of at least two values, got {precision!r}")
    drop = p[0] - p[-1]
    head = f"With λ = {sampling_bias:g}, precision goes {p[0]:.2f} → {p[-1]:.2f} over the generations"
    if abs(drop) <= tolerance:
        return f"{head}: it holds within {tolerance:g}, as in the MAD study's biased loops."
    if drop < 0:
        return f"{head}: it rises, as quality can under sampling bias."
    if p[-1] < 0.5 * p[0]:
        return (f"{head}: most samples have left the real digits' manifold. This departs from the MAD study's biased "
                f"loops, whose samples kept their quality and stayed on the real data.")
    return (f"{head}: a drop of {drop:.2f}, so precision does *not* hold here, unlike the MAD study's biased loops, "
            f"though most samples stay on the real digits' manifold.")


def kept_real_sentence(kept: Mapping, replace: Mapping) -> str:
    """The 10%-real exercise's answer (kept and replace are vae summaries over the same seeds)."""
    k, r = kept, replace
    seeds = int(k.get("replicates", 1))
    out = (f"At the last generation, 10% real data gives FID {k['fid'][-1]:.0f} (replace, same seeds: {r['fid'][-1]:.0f}) "
           f"and recall {k['recall'][-1]:.2f} (replace: {r['recall'][-1]:.2f}); from generation 0 its recall went "
           f"{k['recall'][0]:.2f} → {k['recall'][-1]:.2f}. ")
    if seeds > 1 and int(r.get("replicates", 1)) == seeds:
        out += effect_sentence(paired_difference(k, r, "recall"), metric="Recall", higher_is_better=True,
                               treatment="keeping 10% real digits", control="replace") + " "
    else:
        out += "One seed each: this run cannot tell a difference from seed noise. "
    out += ("Recall still fell from generation 0: the kept real digits did not stop the loss." if k["recall"][-1] < k["recall"][0]
            else "Recall did not fall from generation 0.")
    return out


def plot_design_curves(pairs: Mapping[str, tuple], metrics: Sequence[str] = ("fid", "recall"),
                       labels: tuple[str, str] = ("decoder means", "Bernoulli draws")):
    """Design against workflow: per workflow (one colour) the run handing on decoder means (solid, circles) and
    the run handing on Bernoulli draws (dashed, squares), mean over seeds with the seeds' full range as a band.

    ``pairs`` maps a workflow label to ``(means_result, binarized_result)``.
    """
    if not pairs:
        raise ValueError("pairs must hold at least one (means, binarized) pair of vae results")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False)
    for i, (workflow, runs) in enumerate(pairs.items()):
        if len(runs) != 2:
            raise ValueError(f"pairs[{workflow!r}] must be (means, binarized), got {len(runs)} results")
        for run, style, marker, design in zip(runs, ("-", "--"), ("o", "s"), labels):
            for ax, metric in zip(axes[0], metrics):
                line = band_plot(ax, run.table, metric, label=f"{workflow}, {design}", color=CYCLE[i % len(CYCLE)],
                                 linestyle=style, center="mean", band=(0.0, 1.0), alpha=0.12)
                line.set_marker(marker)
                line.set_markersize(4)
    first = next(iter(pairs.values()))[0]
    for ax, metric in zip(axes[0], metrics):
        floor = first.summary.get(FLOOR_KEYS.get(metric, ""))
        if floor is not None:
            ax.axhline(floor, color=PALETTE["grey"], linestyle=":", linewidth=1.5, label="real digits")
        ax.set_title(METRIC_LABELS.get(metric, metric), fontsize=10.5)
        ax.set_ylabel(metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, -1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("What the loop hands on (line style) against the workflow (colour)", fontweight="bold")
    fig.tight_layout()
    return fig


def kept_share(summary: Mapping, metric: str) -> np.ndarray:
    """Per seed, the last generation's value of ``metric`` over generation 0's: the share a run keeps (recall)
    or its growth factor (FID), which discounts a difference two runs have from generation 0 on. NaN for a seed
    whose generation-0 value is 0 (a run too small to have anything to lose, as at ``smoke``)."""
    values = by_seed(summary, metric)
    first = values[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(first > 0, values[:, -1] / np.where(first > 0, first, 1.0), np.nan)


def break_sentence(recall, *, workflow: str, sampling_bias: float, reference: Mapping) -> str:
    """The break-it solutions' answer: the share of its generation-0 recall that one biased run (``recall``, one
    seed, as ``check_fresh_breaks``/``check_accumulate_breaks`` ran it) kept, against the same workflow at
    lambda = 1 (``reference``, a cached vae summary) and, for fresh data, against a Gaussian's fixed point
    1/(2 - lambda). Says the run was too small to tell when generation 0 has no recall to lose."""
    if workflow not in ("fresh", "accumulate"):
        raise ValueError(f"workflow must be 'fresh' or 'accumulate', got {workflow!r}")
    if not 0 < sampling_bias <= 1:
        raise ValueError(f"sampling_bias must be in (0, 1], got {sampling_bias!r}")
    values = np.asarray(recall, dtype=float)
    if values.ndim != 1 or values.size < 2 or not values[0] > 0:
        first = f"{values.ravel()[0]:.2f}" if values.size else "none"
        return (f"At this scale the run has no generation-0 recall to lose (recall {first}), "
                f"so it is too small to tell whether λ = {sampling_bias:g} breaks {workflow}; run it at `default`.")
    kept = values[-1] / values[0]
    ref = float(kept_share(reference, "recall").mean())
    seeds = int(reference.get("replicates", 1))
    out = (f"With λ = {sampling_bias:g} the {workflow} loop kept {kept:.0%} of its generation-0 recall after "
           f"{values.size - 1} generation{'s' if values.size > 2 else ''} (one seed), "
           f"{'less' if kept < 0.5 else 'more'} than half")
    out += ("; the run at λ = 1 had no generation-0 recall to compare with. " if np.isnan(ref) else
            f"; at λ = 1 it kept {ref:.0%} (mean over {seeds} seed{'s' if seeds > 1 else ''}). ")
    if workflow == "fresh":
        gaussian = 1 / (2 - sampling_bias)
        if kept < 0.5:
            out += (f"A Gaussian's fixed point would keep {gaussian:.2f} of the variance: the fresh real half anchors "
                    f"a Gaussian, but the VAE loses more, because truncation does not only narrow its samples, it "
                    f"blurs them.")
        else:
            out += (f"The fresh real half still anchors it, as it anchors a Gaussian's variance at {gaussian:.2f} of "
                    f"the truth: try a smaller λ.")
    elif kept < 0.5:
        out += ("Accumulating did not stop the biased loop: every generation adds a narrower batch, and the real "
                "digits' share of the pool falls like 1/(t+1).")
    else:
        out += "Accumulating held this bias within the horizon: try a smaller λ or more generations."
    if not np.isnan(ref) and kept >= ref:
        out += " This run lost no more than the unbiased loop did: one seed cannot tell the bias's cost here."
    return out
