"""Figures of chapter 2: cat strips, hue histograms, loss times and survival curves.

Colour is never the only cue: every cat carries the letter of its colour name
(Y yellow, G green, B blue, O orange, R red, P purple) and every curve has its
own line style and a label.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patches

from ..data.hues import BLUE_HUE, COLOUR_LETTERS, COLOUR_NAMES, COLOUR_RANGES, YELLOW_HUE, colour_names, hue_to_rgb
from .style import LINESTYLES, PALETTE, THEORY_STYLE

#: Okabe-Ito stand-ins for the colour names, for lines and bars (not fur).
NAME_COLOURS = {"red": PALETTE["vermillion"], "orange": PALETTE["orange"], "yellow": "#C9B800",
                "green": PALETTE["green"], "blue": PALETTE["blue"], "purple": PALETTE["purple"]}
NAME_MARKERS = {"red": "v", "orange": "s", "yellow": "o", "green": "^", "blue": "D", "purple": "P"}


def draw_cat(ax, x: float, y: float, size: float, fur, letter: str | None = None, edge: str = "#222222") -> None:
    """Draw one sitting cat (body, head, ears, tail) centred at (x, y), ``size`` wide, filled with ``fur``."""
    s = size
    lw = 0.6
    # Tail first so the body covers its root.
    tail = patches.FancyArrowPatch((x + 0.28 * s, y - 0.32 * s), (x + 0.48 * s, y + 0.12 * s),
                                   connectionstyle="arc3,rad=0.5", arrowstyle="-", linewidth=3.2 * s / 0.9,
                                   color=edge, capstyle="round", zorder=1)
    ax.add_patch(tail)
    body = patches.Ellipse((x, y - 0.18 * s), 0.62 * s, 0.56 * s, facecolor=fur, edgecolor=edge, linewidth=lw,
                           zorder=2)
    head = patches.Circle((x, y + 0.2 * s), 0.2 * s, facecolor=fur, edgecolor=edge, linewidth=lw, zorder=3)
    ears = [patches.Polygon([(x + sx * 0.19 * s, y + 0.26 * s), (x + sx * 0.17 * s, y + 0.48 * s),
                             (x + sx * 0.04 * s, y + 0.37 * s)], closed=True, facecolor=fur, edgecolor=edge,
                            linewidth=lw, zorder=2.5) for sx in (-1, 1)]
    for patch in (body, head, *ears):
        ax.add_patch(patch)
    for sx in (-1, 1):  # eyes
        ax.add_patch(patches.Circle((x + sx * 0.07 * s, y + 0.22 * s), 0.025 * s, color=edge, zorder=4))
    if letter:
        ax.text(x, y - 0.2 * s, letter, ha="center", va="center", fontsize=max(5.0, 9.0 * s), fontweight="bold",
                color="black", zorder=5)


def representative(hues: np.ndarray, count: int) -> np.ndarray:
    """``count`` cats that stand for the whole generation: every (N/count)-th cat in hue order.

    Shares are kept: with 100 cats of which 10 are blue, 20 representatives show 2 blue.
    """
    h = np.sort(np.asarray(hues, dtype=float).reshape(-1))
    if count >= h.size:
        return h
    index = ((np.arange(count) + 0.5) * h.size / count).astype(int)
    return h[index]


def plot_cat_strip(hues_by_generation: Mapping[int, np.ndarray], *, per_row: int = 20, title: str | None = None,
              ax=None, label_counts: bool = True):
    """One row of cats per generation, each cat filled with its fur hue and lettered by colour name.

    ``hues_by_generation``: generation -> hues (degrees) of that generation's cats.
    Rows show ``per_row`` representative cats (:func:`representative`) and, on
    the right, the counts by colour name of the whole generation.
    """
    generations = list(hues_by_generation)
    rows = len(generations)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(1.0 + 0.42 * per_row, 13), 0.62 * rows + 0.9))
    else:
        fig = ax.figure
    for row, g in enumerate(generations):
        hues = np.asarray(hues_by_generation[g], dtype=float).reshape(-1)
        y = rows - 1 - row
        shown = representative(hues, per_row)
        fur = hue_to_rgb(shown)
        names = colour_names(shown)
        for i, (h, c, name) in enumerate(zip(shown, fur, names)):
            draw_cat(ax, i + 0.5, y + 0.5, 0.85, c, COLOUR_LETTERS[name])
        if label_counts:
            all_names = colour_names(hues)
            text = "  ".join(f"{COLOUR_LETTERS[n]}:{int((all_names == n).sum())}" for n in COLOUR_NAMES
                             if (all_names == n).any())
            ax.text(per_row + 0.3, y + 0.45, text, va="center", ha="left", fontsize=8.5)
    ax.set_xlim(-0.1, per_row + (4.5 if label_counts else 0.1))
    ax.set_ylim(0, rows)
    ax.set_aspect("equal")
    ax.set_yticks([rows - 1 - r + 0.5 for r in range(rows)], [f"gen {g}" for g in generations])
    ax.set_xticks([])
    ax.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "Cats by generation (every cat lettered: Y yellow, G green, B blue, O orange, R red, P purple)",
                 fontsize=10.5)
    return fig


def categorical_hues(blue_counts: Mapping[int, int], cats: int) -> dict[int, np.ndarray]:
    """Hues of a yellow/blue population from its blue counts, for :func:`plot_cat_strip`."""
    return {g: np.r_[np.full(cats - int(b), YELLOW_HUE), np.full(int(b), BLUE_HUE)] for g, b in blue_counts.items()}


def plot_hue_histograms(hues_by_generation: Mapping[int, np.ndarray], *, bins: np.ndarray | None = None,
                   title: str | None = None):
    """Histograms of fur hue at several generations (small multiples), bars filled with their own hue.

    The shaded bands behind the bars are the colour-name ranges, labelled on top.
    """
    generations = list(hues_by_generation)
    bins = np.arange(-60, 300, 5.0) if bins is None else bins
    fig, axes = plt.subplots(len(generations), 1, figsize=(7.8, 1.05 * len(generations) + 0.9), sharex=True)
    axes = np.atleast_1d(axes)
    centres = 0.5 * (bins[1:] + bins[:-1])
    for ax, g in zip(axes, generations):
        h = np.asarray(hues_by_generation[g], dtype=float).reshape(-1)
        counts, _ = np.histogram(h, bins=bins)
        share = counts / max(h.size, 1)
        ax.bar(centres, share, width=np.diff(bins), color=hue_to_rgb(centres), edgecolor="#333333", linewidth=0.3)
        for name in ("yellow", "green", "blue"):
            start, end = COLOUR_RANGES[name]
            ax.axvspan(start, end, color=NAME_COLOURS[name], alpha=0.07, linewidth=0)
        ax.set_ylabel(f"gen {g}", rotation=0, ha="right", va="center")
        ax.set_yticks([])
        ax.grid(False)
    top = axes[0]
    for name in ("orange", "yellow", "green", "blue", "purple"):
        start, end = COLOUR_RANGES[name]
        if bins[0] <= (start + end) / 2 <= bins[-1]:
            top.text((start + end) / 2, 1.02, name, transform=top.get_xaxis_transform(), ha="center",
                     va="bottom", fontsize=8.5)
    axes[-1].set_xlabel("fur hue in degrees on the colour wheel (below 0 wraps round to red / purple)")
    fig.suptitle(title or "Fur hue over generations (one replicate; bar height = share of cats)", fontsize=11.5,
                 fontweight="bold", y=1.0)
    fig.tight_layout()
    return fig


def plot_colour_shares(shares: Mapping[str, Sequence[float]], *, names: Sequence[str] = ("yellow", "green", "blue"),
                      ax=None, title: str | None = None, linestyle_offset: int = 0, label_suffix: str = ""):
    """Share of cats of each colour name per generation (mean over replicates).

    ``shares`` maps a colour name (or ``"<name>_share"``, as in the ``cat-hues`` summary) to a sequence.
    """
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    for i, name in enumerate(names):
        values = np.asarray(shares[name] if name in shares else shares[f"{name}_share"], dtype=float)
        ax.plot(np.arange(values.size), values, color=NAME_COLOURS[name],
                linestyle=LINESTYLES[(i + linestyle_offset) % len(LINESTYLES)], marker=NAME_MARKERS[name],
                markevery=max(values.size // 8, 1), label=f"{name}{label_suffix}")
    ax.set_xlabel("generation (0: fitted to the real cats)")
    ax.set_ylabel("share of cats")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize=9)
    ax.set_title(title or "Colour shares over generations")
    return fig


def plot_blue_trajectories(blue_share: np.ndarray, *, ax=None, title: str | None = None, max_lines: int = 40):
    """Blue share of individual replicate chains over generations (one thin line each)."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    share = np.asarray(blue_share)[:, :max_lines]
    ax.plot(np.arange(share.shape[0]), share, color=PALETTE["blue"], alpha=0.35, linewidth=0.9)
    ax.plot([], [], color=PALETTE["blue"], alpha=0.6, label=f"{share.shape[1]} replicate worlds")
    ax.axhline(share[0, 0], **THEORY_STYLE, label="starting share")
    ax.set_xlabel("generation (0: fitted to the real cats)")
    ax.set_ylabel("share of blue cats")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper right")
    ax.set_title(title or "Blue drifts, then hits 0 (lost) or 1 (takes over)")
    return fig


def plot_loss_times(loss_time: np.ndarray, fixation_time: np.ndarray, *, theory: Mapping[str, float] | None = None,
                         bins: int = 60):
    """Histograms of the generation at which blue is lost and at which it takes over, with theory means."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    lost = loss_time[loss_time >= 0]
    fixed = fixation_time[fixation_time >= 0]
    for ax, values, what, key, colour in ((axes[0], lost, "is lost", "lose", PALETTE["vermillion"]),
                                          (axes[1], fixed, "takes over", "fix", PALETTE["blue"])):
        if values.size:
            ax.hist(values, bins=bins, color=colour, alpha=0.55, density=True, label=f"simulated ({values.size})")
            ax.axvline(values.mean(), color=colour, linestyle="-", label=f"simulated mean {values.mean():.1f}")
        if theory:
            if f"exact_generations_to_{key}_blue" in theory and theory[f"exact_generations_to_{key}_blue"]:
                ax.axvline(theory[f"exact_generations_to_{key}_blue"], color=PALETTE["black"], linestyle=":",
                           label=f"exact chain {theory[f'exact_generations_to_{key}_blue']:.1f}")
            if f"theory_generations_to_{key}_blue" in theory:
                ax.axvline(theory[f"theory_generations_to_{key}_blue"], **THEORY_STYLE,
                           label=f"diffusion formula {theory[f'theory_generations_to_{key}_blue']:.1f}")
        ax.set_xlabel(f"generation at which blue {what}")
        ax.set_ylabel("density")
        ax.legend(fontsize=8.5)
        ax.set_title(f"When blue {what} (given that it does)")
    fig.tight_layout()
    return fig


def plot_survival(curves: Mapping[str, np.ndarray], *, theory: np.ndarray | None = None, ax=None,
                  title: str | None = None, ylabel: str = "P(blue lost at least once by generation t)"):
    """Curves of the share of replicates that lost blue by each generation, one per workflow."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    for i, (label, curve) in enumerate(curves.items()):
        ax.plot(np.arange(len(curve)), curve, linestyle=LINESTYLES[i % len(LINESTYLES)], label=label)
    if theory is not None:
        ax.plot(np.arange(len(theory)), theory, **THEORY_STYLE, label="Wright-Fisher, exact")
        ax.axhline(theory[-1] if len(theory) > 300 else np.nan, color="grey", linewidth=0.8)
    ax.set_xlabel("generation t (0: fitted to the real cats)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize=9)
    ax.set_title(title or "How often blue is lost")
    return fig


def plot_zipf_survival(table: pd.DataFrame, *, ax=None, title: str | None = None):
    """Median generations until a word is lost against its initial count, with the branching-process line."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    usable = table["share_lost"] > 0.5
    ax.plot(table.loc[usable, "initial_count"], table.loc[usable, "median_generations_to_loss"], "o",
            color=PALETTE["blue"], label="simulated median")
    ax.plot(table["initial_count"], table["theory_median_generations_to_loss"], **THEORY_STYLE,
            label=r"theory: median $\approx 2k/\ln 2$")
    ax.plot(table.loc[usable, "initial_count"], table.loc[usable, "mean_generations_to_loss"], "s",
            color=PALETTE["orange"], markersize=4, alpha=0.8, label="simulated mean (heavy tail)")
    ax.set_xlabel("initial count k of the word in the corpus")
    ax.set_ylabel("generations until the word is lost")
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(title or "Rare words die first: survival grows linearly with the count")
    return fig


def plot_zipf_tails(table: pd.DataFrame, *, plateau: float | None = None, ax=None, title: str | None = None):
    """Test error against training-set size (log-log) per kind of training data, simulated (markers with
    standard errors) and exact (lines), with the tail-cut plateau sum_{i>k} p_i."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    colours = [PALETTE["black"], PALETTE["vermillion"], PALETTE["blue"], PALETTE["green"], PALETTE["purple"]]
    markers = ["o", "s", "^", "D", "v"]
    for i, (label, rows) in enumerate(table.groupby("data", sort=False)):
        colour = colours[i % len(colours)]
        ax.errorbar(rows["size"], rows["error"], yerr=rows["error_se"], fmt=markers[i % len(markers)], color=colour,
                    markersize=4.5, capsize=2, label=f"{label} (simulated)")
        ax.plot(rows["size"], rows["theory_error"], color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)],
                linewidth=1.3)
    ax.plot([], [], color="grey", label="lines: exact expectation")
    if plateau is not None:
        ax.axhline(plateau, color="grey", linestyle=":", linewidth=1.2, label=f"tail-cut plateau {plateau:.3g}")
    ax.set(xscale="log", yscale="log", xlabel="training-set size T (items)",
           ylabel="test error (true mass of unseen items)",
           title=title or "Tail-cut training data bends the scaling law to a plateau")
    ax.legend(loc="lower left", fontsize=8.5)
    return fig
