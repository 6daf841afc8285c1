"""Explorer for chapter 6: any remedy on any cheap family, computed live."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..plots.remedies import plot_remedy_curves
from ..remedies import REMEDY_KEYS, remedy_label
from ..simulations.remedies import remedy_curve


def explorer_figure(family: str = "cats", remedies=("none", "verifier", "self-likelihood", "keep-real"),
                    generations: int = 100, replicates: int = 200, threshold: float = 0.75, seed: int = 0):
    """Curves of relative quality for the chosen remedies (registry keys) on one toy family."""
    frames = []
    for remedy in remedies:
        curve = remedy_curve(family, remedy, generations=generations, replicates=replicates, seed=seed,
                             every=max(1, generations // 40) if family == "mixture" else 1)
        frames.append(pd.DataFrame({"family": family, "remedy": remedy, "label": remedy_label(remedy),
                                    "generation": curve.index,
                                    "relative_quality": curve.to_numpy()}))
    fig, ax = plt.subplots()
    plot_remedy_curves(pd.concat(frames), family, threshold=threshold, ax=ax,
                       title=f"{family}: {generations} generations, {replicates} replicates")
    ax.legend(loc="lower left")
    return fig


def remedy_explorer():
    """Dropdowns and sliders: family, remedies, generations, replicates."""
    import ipywidgets as widgets

    def show(family, remedies, generations, replicates):
        if not remedies:
            print("pick at least one remedy")
            return
        explorer_figure(family, remedies, generations, replicates if family != "mixture" else min(replicates, 24))
        plt.show()

    return widgets.interact(
        show,
        family=widgets.Dropdown(options=["gaussian", "cats", "mixture"], value="cats", description="family"),
        remedies=widgets.SelectMultiple(options=[(remedy_label(k), k) for k in REMEDY_KEYS],
                                        value=("none", "verifier", "self-likelihood", "keep-real"),
                                        rows=9, description="remedies"),
        generations=widgets.IntSlider(value=100, min=10, max=400, step=10, description="generations"),
        replicates=widgets.IntSlider(value=200, min=20, max=1000, step=20, description="replicates"),
    )
