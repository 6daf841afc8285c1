"""Chapter 4's explorer: browse generations and workflows of cached VAE runs (no retraining on a slider)."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt

from ..plots.vae import plot_generation_view


def digit_explorer(results: Mapping[str, object], n_show: int = 40):
    """An ``ipywidgets.interact`` over the workflows in ``results`` (label -> cached ``vae`` result)
    and their generations; each change only redraws figures from the stored grids and histograms."""
    if not results:
        raise ValueError("results must hold at least one finished vae run")
    import ipywidgets as widgets

    labels = list(results)
    last = max(len(r.summary["fid"]) - 1 for r in results.values())

    def show(workflow: str, generation: int):
        fig = plot_generation_view(results, workflow, generation, n_show=n_show)
        plt.show()
        return fig

    return widgets.interact(
        show,
        workflow=widgets.Dropdown(options=labels, value=labels[0], description="run"),
        generation=widgets.IntSlider(min=0, max=last, step=1, value=last, description="generation",
                                     continuous_update=False),
    )
