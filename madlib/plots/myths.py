"""Figures of the "myths and evidence" page: each public claim against the course figure that decides it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..theory import gaussian as gauss
from ..theory import recursion as rec
from .style import CYCLE, LINESTYLES, PALETTE, THEORY_STYLE

# How the sweep's families read in a legend.
FAMILY_NAMES = {"gaussian": "Gaussian", "cats": "cats"}


def plot_generations_to_lose(sizes=np.logspace(1, 6, 41), biases=(1.0, 0.95, 0.8), threshold: float = 0.9):
    """How many generations a fully synthetic Gaussian loop takes before its median sigma falls below ``threshold``
    of the truth's, against the items a generation n and the sampling bias lambda (closed form, chapter 1)."""
    fig, ax = plt.subplots(figsize=(8, 4.3))
    for i, lam in enumerate(biases):
        generations = [gauss.generations_until_median_below(threshold, int(n), sampling_bias=lam) + 1 for n in sizes]
        ax.plot(sizes, generations, color=CYCLE[i], linestyle=LINESTYLES[i], label=f"sampling bias λ = {lam:g}")
    ax.axhline(5, color=PALETTE["vermillion"], linestyle=":", label="\"five generations\"")
    ax.set(xscale="log", yscale="log", xlabel="items per generation n",
           ylabel=f"generations until median σ < {threshold:g}",
           title="How fast a loop collapses depends on n and λ, not on a universal clock")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def plot_detector(sweeps: pd.DataFrame, *, n_real: int = 100, share_of_synthetic: float = 0.8,
                  sampling_bias: float = 0.8):
    """Chapter 7's detector sweep: final relative quality against the detector's miss rate, for the Gaussian and the
    cats, with the Gaussian's fixed point ``sqrt((1-s)/(1-s lambda))`` for the leaked synthetic share s."""
    fig, ax = plt.subplots(figsize=(8, 4.3))
    part = sweeps[sweeps["sweep"] == "detector miss rate"]
    for i, (family, rows) in enumerate(part.groupby("family", sort=False)):
        ax.plot(rows["value"], rows["final_relative_quality"], marker="o", color=CYCLE[i], linestyle=LINESTYLES[i],
                label=f"{FAMILY_NAMES.get(family, family)} (chapter 7)")
    miss = np.linspace(0, 1, 101)
    ratio = share_of_synthetic / (1 - share_of_synthetic)
    leaked = ratio * miss / (1 + ratio * miss)
    ax.plot(miss, np.sqrt([rec.web_scrape_fixed_point(s, sampling_bias) for s in leaked]), **THEORY_STYLE,
            label="Gaussian: fixed point $\\sqrt{(1-s)/(1-s\\lambda)}$")
    ax.set(xlabel="detector miss rate", ylabel="final quality relative to generation 0", ylim=(-0.05, 1.05),
           title="A detector helps in proportion to what it catches")
    ax.legend(loc="lower left", fontsize=9)
    return fig
