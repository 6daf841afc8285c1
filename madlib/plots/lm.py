"""Figures of chapter 5: perplexity per generation, per-sequence perplexity under generation 0,
rare-word survival against neutral resampling, diversity, and text side by side.

Every curve has its own colour, line style, marker and label (colour is never the only cue).
"""
from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ..experiments import resolve_config
from ..models.lm import shipped_bases
from ..models.transformer import build_model
from ..simulations.lm_base import base_for, base_setup
from ..theory.wright_fisher import rare_loss_probability_by
from .lm_prose import (analysis_gap_sentence, baseline_sentence, beam_sentence, decoder_sentence, diversity_sentence,
                       faces_sentence, finetune_sentence, losses_sentence, per_generation, percent, prompts_sentence, real_words_sentence, rise,
                       run_size_guard, same_opening, study_comparison_sentence, summary_sentence, survival_sentence,
                       vocabulary_sentence, workflow_sentence)
from .style import CYCLE, LINESTYLES, THEORY_STYLE, band_plot, per_generation as per_generation_stats

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _style(i: int) -> dict:
    return {"color": CYCLE[i % len(CYCLE)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def plot_metric_per_generation(results: Mapping[str, object], metric: str = "test_perplexity", *, ax=None,
                               ylabel: str | None = None, title: str | None = None, reference: float | None = None,
                               reference_label: str = "generation 0"):
    """One curve per labelled experiment result: the per-generation median of ``metric`` over
    replicates with a 5-95 % band (when there are replicates)."""
    if ax is None:
        _, ax = plt.subplots()
    for i, (label, result) in enumerate(results.items()):
        line = band_plot(ax, result.table, metric, label=label, **_style(i))
        line.set_marker(MARKERS[i % len(MARKERS)])
        line.set_markersize(5)
    if reference is not None:
        ax.axhline(reference, **THEORY_STYLE, label=reference_label)
    ax.set_ylabel(ylabel or metric.replace("_", " "))
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax.set_title(title)
    ax.legend()
    return ax.figure


def plot_sequence_perplexity(result, generations: Sequence[int] | None = None, *, ax=None, bins: int = 40,
                             title: str | None = None):
    """Histograms (log x) of the per-sequence perplexity of each generation's text, scored by the
    generation-0 model: the bulk moves to low perplexity while a tail of improbable text grows."""
    seq = result.extras["seq_ppl"]
    if generations is None:
        last = max(seq)
        generations = sorted({0, 1, last // 2, last})
    if ax is None:
        _, ax = plt.subplots()
    values = np.concatenate([seq[g] for g in generations])
    edges = np.geomspace(max(values.min(), 1.0), values.max(), bins + 1)
    width = np.diff(np.log10(edges))
    for i, g in enumerate(generations):
        counts, _ = np.histogram(seq[g], bins=edges)
        label = f"generation {g}" + (" (its real training blocks)" if g == 0 else "")
        ax.stairs(counts / max(counts.sum(), 1) / width, edges, linewidth=2, label=label, **_style(i))
    log_axis_ticks(ax)
    ax.set_xlabel("perplexity of a sequence under the generation-0 model")
    ax.set_ylabel("density per decade of perplexity")
    ax.set_title(title or "Generated text, scored by the generation-0 model")
    ax.legend()
    return ax.figure


def log_axis_ticks(ax) -> None:
    """Label a short log x axis at 1, 2 and 5 times each power of ten, in plain numbers."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def faces(result, generation: int | None = None) -> tuple[float, float]:
    """The shares of a generation's text (default: the last) below generation 0's 1st percentile of sequence
    perplexity and above its 99th: sharpening and the tail of errors."""
    below, above = result.summary["seq_ppl_below_real"], result.summary["seq_ppl_above_real"]
    g = len(below) - 1 if generation is None else generation
    return float(below[g]), float(above[g])


def plot_survival(result, generations: Sequence[int] | None = None, *, ax=None, theory: bool = True,
                  title: str | None = None):
    """Share of generation-0 words still used at generation g, by how often they occurred at
    generation 0; dashed: neutral resampling of a category seen k times (chapter 2)."""
    survival = result.extras["survival"]
    low = result.extras["survival_bins"].astype(float)
    high = np.append(low[1:], low[-1] * 2)
    centre = np.sqrt(low * np.maximum(high - 1, low))  # geometric centre of the bin's counts
    if generations is None:
        last = survival.shape[0] - 1
        generations = sorted({1, max(last // 2, 1), last})
    if ax is None:
        _, ax = plt.subplots()
    for i, g in enumerate(generations):
        ax.plot(centre, survival[g], marker=MARKERS[i % len(MARKERS)], label=f"generation {g}", **_style(i))
        if theory:
            k = np.geomspace(1, centre.max(), 60)
            ax.plot(k, 1 - rare_loss_probability_by(k, g), color=_style(i)["color"], linestyle=":", linewidth=1.3)
    if theory:
        ax.plot([], [], **{**THEORY_STYLE, "linestyle": ":"}, label="neutral resampling (dotted, same colour)")
    real = result.extras.get("real_survival")
    if real is not None and np.isfinite(real).any():
        ax.plot(centre, real, color=THEORY_STYLE["color"], linestyle="--", marker="x", linewidth=1.6,
                label="real text: the true continuations")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("count of the word in generation-0 text (bin centres)")
    ax.set_ylabel("share of words still used")
    ax.set_title(title or "Rare words vanish first")
    ax.legend(fontsize="small", loc="lower right")  # frequent words all survive: the lower right is empty
    return ax.figure


def plot_real_words(results: Mapping[str, object], *, ax=None, title: str | None = None):
    """The share of the words written from the held-out prompts that occur in the training plays, per generation,
    with the ceiling: the same share for the play's own continuations of the same prompts."""
    fig = plot_metric_per_generation(results, "real_word_rate", ax=ax, ylabel="share of written words found in the plays",
                                     title=title or "Real words")
    ax = fig.axes[0] if ax is None else ax
    ceiling = next(iter(results.values())).summary.get("real_word_rate_real_text")
    if ceiling is not None and np.isfinite(ceiling):
        ax.axhline(ceiling, **THEORY_STYLE, label="real text (the play's own continuations)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc="lower left")  # the shares sit well above 0 and the ceiling near 1
    return ax.figure


def plot_diversity(results: Mapping[str, object], orders: Sequence[int] = (0, 1, 2), *, axes=None):
    """The effective vocabulary per generation: the Hill numbers of ``orders`` of each run's training text (on the
    same number of words every generation), as a share of the same number for real text (dashed line at 1); one
    panel per labelled run."""
    if axes is None:
        _, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
        axes = axes[0]
    for ax, (label, result) in zip(axes, results.items()):
        for i, q in enumerate(orders):
            real = result.summary[f"hill_{q}_real_text"]
            stats = per_generation_stats(result.table, f"hill_{q}", quantiles=(0.05, 0.5, 0.95))
            line, = ax.plot(stats.index, stats["q50"] / real, marker=MARKERS[i], markersize=5,
                            label=f"order {q}" + {0: " (distinct words)", 1: " (exp entropy)",
                                                   2: " (inverse Simpson)"}.get(q, ""), **_style(i))
            if stats["count"].max() > 1:
                ax.fill_between(stats.index, stats["q05"] / real, stats["q95"] / real, color=line.get_color(),
                                alpha=0.18, linewidth=0)
        ax.axhline(1.0, **THEORY_STYLE, label="real text")
        ax.set_xlabel("generation")
        ax.set_ylabel("effective vocabulary / real text's")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"Effective vocabulary ({label})")
        ax.legend(fontsize="small")
    return axes[0].figure


def sample_frame(result, generations: Sequence[int] | None = None, prompts: Sequence[int] | None = None,
                 prompt_chars: int = 24) -> pd.DataFrame:
    """The samples to read side by side, as a table (rendered as HTML, so the site never retypes the generated text:
    no smart quotes, no dashes): one row per fixed held-out prompt (its last ``prompt_chars`` characters), one
    column per generation; line breaks are shown as `` / ``."""
    texts = result.extras["sample_texts"]
    if not texts or not texts[0]:
        raise ValueError("this result holds no sample texts (n_sample_texts=0)")
    last = len(texts) - 1
    generations = sorted({0, last // 2, last}) if generations is None else list(generations)
    prompts = range(len(texts[0])) if prompts is None else prompts

    def cell(text: str) -> str:
        return " / ".join(line.strip() for line in text.split("\n"))

    rows = {"…" + cell(result.extras["sample_prompts"][p][-prompt_chars:]):
            {f"generation {g}": cell(texts[g][p]) for g in generations} for p in prompts}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "prompt (end)"
    return frame


def sample_table(result, generations: Sequence[int] | None = None, prompt: int = 0, width: int = 60) -> pd.DataFrame:
    """The same held-out prompt continued by each generation's model, as a table to read side by side."""
    texts = result.extras["sample_texts"]
    if not texts or not texts[0]:
        raise ValueError("this result holds no sample texts (n_sample_texts=0)")
    if not 0 <= prompt < len(texts[0]):
        raise ValueError(f"prompt must be in [0, {len(texts[0]) - 1}], got {prompt}")
    generations = range(len(texts)) if generations is None else generations
    rows = [{"generation": g, "continuation": texts[g][prompt].replace("\n", " ⏎ ")} for g in generations]
    frame = pd.DataFrame(rows).set_index("generation")
    frame.attrs["prompt"] = result.extras["sample_prompts"][prompt]
    return frame


def wrap(text: str, width: int = 70) -> str:
    """Wrap a sample for printing."""
    return "\n".join(textwrap.wrap(text.replace("\n", " ⏎ "), width))


def samples_markdown(result, generations: Sequence[int] | None = None, prompts: Sequence[int] | None = None) -> str:
    """A Markdown table to read side by side: one row per fixed held-out prompt, one column per
    generation, each cell that generation's continuation (line breaks shown as ``/``)."""
    texts = result.extras["sample_texts"]
    if not texts or not texts[0]:
        raise ValueError("this result holds no sample texts (n_sample_texts=0)")
    last = len(texts) - 1
    generations = sorted({0, last // 2, last}) if generations is None else list(generations)
    prompts = range(len(texts[0])) if prompts is None else prompts

    def cell(text: str) -> str:
        text = " / ".join(line.strip() for line in text.split("\n"))
        return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[")

    head = "| prompt (end) | " + " | ".join(f"generation {g}" for g in generations) + " |"
    rows = [head, "|" + "---|" * (len(generations) + 1)]
    for p in prompts:
        prompt = cell(result.extras["sample_prompts"][p][-24:])
        rows.append(f"| …{prompt} | " + " | ".join(cell(texts[g][p]) for g in generations) + " |")
    return "\n".join(rows)


def sequence_perplexity_explorer(results: Mapping[str, object], bins: int = 30):
    """Kernel-free explorer: the histogram of per-sequence perplexity under the generation-0 model,
    one slider step per generation, a dropdown per labelled run (e.g. decoders); generation 0 stays
    drawn as the reference."""
    from .interactive import slider_figure

    runs = list(results.items())
    values = np.concatenate([np.concatenate(list(r.extras["seq_ppl"].values())) for _, r in runs])
    values = values[np.isfinite(values) & (values > 0)]
    edges = np.geomspace(max(values.min(), 1.0), values.max(), bins + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    width = np.diff(np.log10(edges))

    def density(x: np.ndarray) -> np.ndarray:
        counts, _ = np.histogram(x, bins=edges)
        return counts / max(counts.sum(), 1) / width  # density per decade of perplexity

    n_gen = min(len(r.extras["seq_ppl"]) for _, r in runs)
    frames = {}
    for g in range(n_gen):
        for label, result in runs:
            seq = result.extras["seq_ppl"]
            frames[(g, label)] = [(centres, density(seq[0]), "generation 0 (real text)"),
                                  (centres, density(seq[g]), "generation shown")]
    return slider_figure(frames, param_name="generation", dropdown_name="run", log_x=True,
                         xaxis="perplexity of a sequence under the generation-0 model",
                         yaxis="density per decade", title="Generated text, scored by the generation-0 model")


def base_report(progress: bool = False) -> dict:
    """What chapter 5 says about its pre-trained base: where this build's base came from (shipped, cached or
    pre-trained now) and how long that took, the shipped file's record, and the size of a ``full``-scale base.

    Returns the numbers and ``sentence``, the sentence the prose glues."""
    config = resolve_config("lm", preset="transformer")
    base = base_for(config, progress=progress)
    steps = base_setup(config).recipe["train"]["steps"]
    if base.source == "shipped":
        sentence = (f"This build loaded the pre-trained base that ships with madlib ({base.path.name}, "
                    f"{base.nbytes / 1e6:.1f} MB of safetensors) in {base.seconds:.2f} s, instead of pre-training "
                    f"it for {steps:,} steps")
    elif base.source == "cache":
        sentence = (f"At this scale no shipped base matches the recipe; this build loaded the base this machine "
                    f"pre-trained earlier ({steps:,} steps, cached) in {base.seconds:.2f} s")
    else:
        sentence = (f"At this scale no shipped base matches the recipe, so this build pre-trained one "
                    f"({steps:,} steps) in {base.seconds:.0f} s and cached it")
    made = next((b.record for b in shipped_bases() if b.record["name"] == "lm-base-default"), None)
    full = resolve_config("lm", preset="transformer", scale="full")
    return {"sentence": sentence, "source": base.source, "seconds": base.seconds, "file_bytes": base.nbytes,
            "shipped_params": made["n_parameters"] if made else 0,
            "retrain_minutes": made["trained_on"]["seconds"] / 60 if made else float("nan"),
            "full_params": build_model(base_setup(full).model_cfg).n_parameters(), "full_d_model": full["d_model"],
            "full_layers": full["n_layers"], "full_steps": full["base_steps"], "full_batch": full["base_batch_size"]}
