"""Figures of the questions page (chapters/09_questions.ipynb), each from cached results or closed forms."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..theory import gaussian as theory
from .style import PALETTE, THEORY_STYLE


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


def plot_tail_and_spread(generations: np.ndarray, lost: np.ndarray, sigma: np.ndarray, *, n_real: int, ax=None):
    """The tail (share of worlds that lost the rare category) against the spread (median fitted sigma)."""
    fig, ax = _axes(ax)
    ax.plot(generations, lost, color=PALETTE["orange"], label="P(blue cats lost): the tail, early")
    ax.plot(generations, sigma, color=PALETTE["blue"], linestyle="--", label="median fitted σ: the spread, late")
    ax.set(xlabel="generation", ylabel="probability  |  σ (truth: 1)", ylim=(0, 1.02),
           title=f"n = {n_real}: the tail goes first, the spread later")
    ax.legend()
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
