"""Figures of the questions page (chapters/09_questions.ipynb), each from cached results or closed forms."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from scipy.stats import norm

from ..metrics.text import jaccard, mean_pairwise_similarity, ngram_set
from ..theory import gaussian as theory
from ..theory.curation import knowledge_collapse_distance
from .style import PALETTE, THEORY_STYLE


def remedy_setup() -> dict[str, float]:
    """The configuration behind the page's chapter-6 numbers, read from the library (so the prose can glue it):
    items a generation of the toy families, generations between resets, and the web scrape's synthetic share and
    sampling bias (the detector sweep)."""
    from ..remedies.registry import RESET_EVERY
    from ..simulations.remedies import CASES, sweep_settings

    n = CASES["gaussian"]().n_real
    scrape = sweep_settings("detector miss rate", 0.0, n)
    return {"n": n, "cats": CASES["cats"]().n_real, "reset_every": RESET_EVERY,
            "scrape_synthetic_share": scrape["n_synthetic"] / (scrape["n_synthetic"] + n),
            "scrape_bias": scrape["sampling_bias"]}


def _axes(ax=None, size=(6, 3.5)):
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_relative_curves(curves: Mapping[str, pd.Series], *, ylabel: str, title: str, ax=None):
    """Relative-quality curves (label -> series indexed by generation), one line each."""
    fig, ax = _axes(ax)
    for label, curve in curves.items():
        ax.plot(curve.index, curve.to_numpy(), label=label)
    ax.set(xlabel="generation", ylabel=ylabel, title=title)
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig


def plot_martingale(table: pd.DataFrame, *, n_real: int, ddof: int = 1, ax=None):
    """Mean and median of the fitted variance over the runs of a ``gaussian`` result, beside theory."""
    var = table[table.metric == "std"].pivot(index="generation", columns="replicate", values="value") ** 2
    g, runs = var.index.to_numpy(), var.shape[1]
    fig, ax = _axes(ax)
    ax.plot(g, theory.expected_var(n_real, g, ddof=ddof), **THEORY_STYLE, label="mean of σ² (theory)")
    ax.plot(g, var.mean(axis=1), color=PALETTE["blue"], alpha=0.8, label=f"mean of σ², {runs:,} runs")
    ax.plot(g, theory.median_std(n_real, g, ddof=ddof) ** 2, color=PALETTE["black"], linestyle=":",
            label="median of σ² (theory)")
    ax.plot(g, var.median(axis=1), color=PALETTE["vermillion"], linestyle="--", label=f"median of σ², {runs:,} runs")
    ax.set(yscale="log", xlabel="generation", ylabel="fitted variance σ²",
           title=f"ddof={ddof}, n={n_real}: the mean stays, the median falls")
    ax.legend(fontsize=8)
    return fig


def plot_detector(table: pd.DataFrame, *, generations: int, ax=None):
    """Final relative quality against the detector's miss rate, one line per family (remedy-sweeps rows)."""
    fig, ax = _axes(ax)
    for family, rows in table[table["sweep"] == "detector miss rate"].groupby("family"):
        ax.plot(rows["value"], rows["final_relative_quality"], marker="o", label=family)
    ax.set(xlabel="detector miss rate", ylabel=f"relative quality at generation {generations}",
           title="A detector helps as much as it catches")
    ax.set_ylim(bottom=0)
    ax.legend()
    return fig


# ----------------------------------------------------------------------------- early and late collapse, one model

def tail_share(std, threshold: float = 2.0):
    """The mass a fitted N(mu, std^2) puts more than ``threshold`` true standard deviations from its own centre,
    2 Phi(-threshold/std), as a share of the truth's 2 Phi(-threshold): how likely the model still finds an event as
    rare as the truth's 2-sigma ones. A monotone function of std, so the median over runs is its value at the
    median std."""
    std = np.asarray(std, dtype=float)
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0 (in units of the true sigma), got {threshold}")
    if np.any(std <= 0):
        raise ValueError("std must be > 0")
    return norm.cdf(-threshold / std) / norm.cdf(-threshold)


def early_late(table: pd.DataFrame, *, n_real: int, threshold: float = 2.0, ddof: int = 0) -> pd.DataFrame:
    """Per generation of a ``gaussian`` result (metric ``std``): the median fitted sigma and the median tail mass
    beyond +-threshold of the model's centre (as a share of the truth's), simulated, beside their closed forms
    (the median sigma of :func:`madlib.theory.gaussian.median_std` and the tail mass at that sigma)."""
    if "std" not in set(table.metric):
        raise ValueError("table must hold the metric 'std' (a gaussian result)")
    std = table[table.metric == "std"].pivot(index="generation", columns="replicate", values="value")
    g = std.index.to_numpy()
    sigma_theory = theory.median_std(n_real, g, ddof=ddof)
    return pd.DataFrame({"sigma": std.median(axis=1).to_numpy(),
                         "tail": np.median(tail_share(std.to_numpy(), threshold), axis=1),
                         "sigma_theory": sigma_theory, "tail_theory": tail_share(sigma_theory, threshold)},
                        index=pd.Index(g, name="generation"))


def plot_early_late(frame: pd.DataFrame, *, n_real: int, threshold: float = 2.0):
    """Early and late collapse in one model (the Gaussian): left, the tail mass beyond +-threshold (true sigmas, from
    the model's centre) and the spread sigma against generation, each as a share of the truth's; right, the tail kept
    against the spread kept (a closed form), beside the line on which both would be lost at the same rate."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    g = frame.index.to_numpy()
    t = f"{threshold:g}"
    left.plot(g, frame["tail"], color=PALETTE["orange"], label=f"tail: mass beyond ±{t}σ₀ (early)")
    left.plot(g, frame["sigma"], color=PALETTE["blue"], linestyle="-.", label="spread σ (late)")
    left.plot(g, frame["tail_theory"], **THEORY_STYLE, label="closed forms")
    left.plot(g, frame["sigma_theory"], **THEORY_STYLE)
    left.set(xlabel="generation", ylabel="share of the truth's value\n(median over runs)", ylim=(0, 1.05),
             title=f"One Gaussian, n = {n_real}: the tails go first")
    left.legend(fontsize=8, loc="upper right")
    sigma = np.linspace(1e-3, 1.0, 400)
    right.plot(sigma, tail_share(sigma, threshold), color=PALETTE["orange"], label="tail kept = 2Φ(−2/σ) / 2Φ(−2)")
    right.plot([0, 1], [0, 1], color=PALETTE["grey"], linestyle=":", label="both lost at the same rate")
    right.set(xlabel="spread kept: σ / σ₀", ylabel=f"tail mass kept\n(beyond ±{t}σ₀)", xlim=(1.0, 0.3), ylim=(0, 1.05),
              title="Tail against spread")
    right.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def early_late_facts(frame: pd.DataFrame, *, n_real: int, ddof: int = 0, threshold: float = 2.0,
                     spread: float = 0.9) -> dict[str, float]:
    """The numbers the early/late sentence quotes: the first generation at which the median run has lost half its
    tail mass (NaN if not within the run), sigma there, the first at which sigma has halved (simulated, or NaN), the
    closed form's halving generation, and the tail kept when sigma is ``spread`` (closed form)."""
    tail_half = frame.index[frame["tail"].to_numpy() <= 0.5]
    sigma_half = frame.index[frame["sigma"].to_numpy() <= 0.5]
    first_tail = float(tail_half[0]) if len(tail_half) else float("nan")
    return {"tail_half": first_tail,
            "sigma_at_tail_half": float(frame["sigma"].loc[int(first_tail)]) if len(tail_half) else float("nan"),
            "sigma_half": float(sigma_half[0]) if len(sigma_half) else float("nan"),
            "sigma_half_theory": float(theory.generations_until_median_below(0.5, n_real, ddof)),
            "generations": float(frame.index[-1]),
            "spread": spread, "tail_at_spread": float(tail_share(spread, threshold))}


def early_late_sentence(facts: dict[str, float]) -> str:
    """The computed sentence under the early/late figure: which goes first, from the run's own numbers."""
    last = int(facts["generations"])
    if np.isnan(facts["tail_half"]):
        return (f"In these {last + 1} generations the median run has not yet lost half of its tail mass: the run is "
                f"too short to show the order (the closed form puts the spread's halving at generation "
                f"{facts['sigma_half_theory']:.0f}).")
    where = (f"at generation {facts['sigma_half']:.0f}" if not np.isnan(facts["sigma_half"])
             else f"after the {last + 1} generations simulated (closed form: generation {facts['sigma_half_theory']:.0f})")
    if not np.isnan(facts["sigma_half"]) and facts["sigma_half"] <= facts["tail_half"]:
        return (f"Here the spread halves first (generation {facts['sigma_half']:.0f}), before the tail mass does "
                f"(generation {facts['tail_half']:.0f}): this run does not show early collapse before late.")
    return (f"The median run has lost half of its tail mass by generation {facts['tail_half']:.0f}, when its σ is "
            f"still {facts['sigma_at_tail_half']:.2f}; σ itself halves only {where}. Early collapse (the tails) "
            f"comes long before late collapse (the spread), in one and the same model.")


# ----------------------------------------------------------------------------- knowledge collapse (a toy)

def knowledge_curves(shares: np.ndarray, truncations=(0.5, 1.0, 2.0)) -> pd.DataFrame:
    """Hellinger distance from the truth of public knowledge that takes a share of its content from an AI returning
    only the centre ``|x| <= c`` (:func:`madlib.theory.curation.knowledge_collapse_distance`), one column per c."""
    shares = np.asarray(shares, dtype=float)
    return pd.DataFrame({c: [knowledge_collapse_distance(a, c) for a in shares] for c in truncations},
                        index=pd.Index(shares, name="AI share"))


def plot_knowledge(curves: pd.DataFrame):
    """The distance from the truth against the AI share, one line per truncation."""
    fig, ax = _axes(None)
    colours = [PALETTE["vermillion"], PALETTE["blue"], PALETTE["green"], PALETTE["purple"]]
    for i, c in enumerate(curves.columns):
        ax.plot(curves.index, curves[c], color=colours[i % 4], linestyle=["-", "--", "-."][i % 3],
                label=f"AI returns |x| ≤ {c:g}σ")
    ax.set(xlabel="share of public knowledge drawn from the AI", ylabel="Hellinger distance\nto the truth",
           title="Knowledge collapse (a toy): a narrower AI, a farther public")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- do models start to sound the same?

def homogeneity(samples: Mapping[str, Sequence[Sequence[str]]], *, n: int = 2) -> pd.DataFrame:
    """Word n-gram Jaccard similarity of language-model samples, per generation: for each model (label -> one list of
    continuations per generation, one continuation per fixed prompt) the mean similarity of its continuations of
    *different* prompts (1: it writes the same whatever it is asked), and for each pair of models the mean similarity
    of their continuations of the *same* prompt (the Artificial Hivemind's inter-model homogeneity, simplest form)."""
    labels = list(samples)
    if not labels:
        raise ValueError("samples must name at least one model")
    generations = min(len(v) for v in samples.values())
    rows = []
    for g in range(generations):
        for label in labels:
            rows.append({"generation": g, "what": label, "kind": "across prompts",
                         "similarity": mean_pairwise_similarity(list(samples[label][g]), n)})
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                pairs = [jaccard(ngram_set(x, n), ngram_set(y, n)) for x, y in zip(samples[a][g], samples[b][g])]
                rows.append({"generation": g, "what": f"{a} vs {b}", "kind": "between models",
                             "similarity": float(np.nanmean(pairs)) if pairs else float("nan")})
    return pd.DataFrame(rows)


def plot_homogeneity(frame: pd.DataFrame, *, prompts: int):
    """Two panels against generation: each model's similarity across prompts, and each pair's on the same prompt."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["vermillion"], PALETTE["purple"]]
    for ax, kind, title in zip(axes, ("across prompts", "between models"),
                               (f"One model, {prompts} different prompts", "Two models, the same prompt")):
        for i, (what, rows) in enumerate(frame[frame.kind == kind].groupby("what", sort=False)):
            ax.plot(rows["generation"], rows["similarity"], marker="o", color=colours[i % 5],
                    linestyle=["-", "--", "-.", ":"][i % 4], label=what)
        ax.set(xlabel="generation", title=title)
        ax.legend(fontsize=8)
    axes[0].set(ylabel="word-bigram similarity\n(Jaccard, 1 = identical)", ylim=(-0.02, 1.02))
    fig.tight_layout()
    return fig


def homogeneity_sentence(frame: pd.DataFrame, *, rise: float = 0.1) -> str:
    """The computed sentence under the homogeneity figure: which models came to write the same text for different
    prompts (similarity up by more than ``rise`` from the first generation to the last), and whether different
    models came to write like each other."""
    first, last = frame.generation.min(), frame.generation.max()
    if last == first:
        return "The run has a single generation: too short to tell whether the models came to sound the same."

    def change(kind):
        rows = frame[frame.kind == kind].pivot(index="what", columns="generation", values="similarity")
        return {what: (rows.loc[what, first], rows.loc[what, last]) for what in rows.index}

    within, between = change("across prompts"), change("between models")
    same = [f"{w} ({a:.2f} → {b:.2f})" for w, (a, b) in within.items() if b - a > rise]
    not_same = [f"{w} ({a:.2f} → {b:.2f})" for w, (a, b) in within.items() if b - a <= rise]
    pairs_up = [f"{w} ({a:.2f} → {b:.2f})" for w, (a, b) in between.items() if b - a > rise]
    if same:
        head = (f"By generation {last} these loops write nearly the same continuation whatever the prompt: "
                + ", ".join(same) + ("; not " + ", ".join(not_same) if not_same else "") + ". A loop that "
                "settles on a few likely phrases repeats them, whatever it is asked.")
    else:
        head = (f"No loop's continuations of different prompts grew more alike by more than {rise:g} over these "
                f"{last + 1} generations: the run is too short, or too small, to show it.")
    if pairs_up:
        tail = " Different loops also came to write like each other: " + ", ".join(pairs_up) + "."
    elif between:
        top = max(b for _, b in between.values())
        tail = (f" But different loops did not converge on each other (the largest similarity on the same prompt "
                f"at generation {last} is {top:.2f}): each falls into phrases of its own, since after generation 0 "
                f"they share no data.")
    else:
        tail = ""
    return head + tail
