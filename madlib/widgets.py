"""Interactive explorers (ipywidgets). Each is backed by a plotting function in
:mod:`madlib.plots`, so the static book can show the same figure for the defaults."""
from __future__ import annotations


def gaussian_explorer():
    """Sliders for n, generations, ddof, workflow and sampling bias over chapter 1's exact simulation."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .loop import WORKFLOWS
    from .plots.gaussian import explorer_figure

    def show(n, generations, ddof, workflow, sampling_bias):
        fig = explorer_figure(n=n, generations=generations, ddof=ddof, workflow=workflow,
                              sampling_bias=sampling_bias)
        plt.show()

    return widgets.interact(
        show,
        n=widgets.IntSlider(value=100, min=5, max=2000, step=5, description="n"),
        generations=widgets.IntSlider(value=200, min=10, max=5000, step=10, description="generations"),
        ddof=widgets.RadioButtons(options=[0, 1], value=0, description="ddof"),
        workflow=widgets.Dropdown(options=list(WORKFLOWS), value="replace", description="workflow"),
        sampling_bias=widgets.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.01, description="λ"),
    )
