"""Figures of the monitoring page: which early-collapse indicators move, generation by generation."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import CYCLE, LINESTYLES, PALETTE


def plot_monitor(report: pd.DataFrame, *, threshold: float = 3.0, title: str = "Early-collapse indicators", ax=None):
    """Each indicator's z-score (distance from its real-data null, in null standard deviations) per generation,
    with the alarm band; a filled marker where the indicator is moving."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.3))
    for i, (name, part) in enumerate(report.groupby("indicator", sort=False)):
        part = part.sort_values("generation")
        z = np.clip(part["z"].to_numpy(dtype=float), -50, 50)
        colour = CYCLE[i % len(CYCLE)]
        ax.plot(part["generation"], z, color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)], label=name)
        moving = part["moving"].to_numpy()
        ax.scatter(part["generation"][moving], z[moving], color=colour, zorder=3, s=28)
    ax.axhspan(-threshold, threshold, color=PALETTE["grey"], alpha=0.15, linewidth=0,
               label=f"real data of the same size (|z| < {threshold:g})")
    ax.set(xlabel="generation", ylabel="z (null standard deviations; clipped at ±50)", title=title)
    # Below the axes: a collapsed indicator sits at the clip (-50), where a legend inside would cover it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8.5)
    return ax.figure
