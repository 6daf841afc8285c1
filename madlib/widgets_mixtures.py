"""Chapter 3's explorer: a Gaussian mixture refitted on its own samples, with sliders."""
from __future__ import annotations


def mixture_explorer():
    """Sliders for data set, workflow, lambda, cherry-picking, synthetic share and generations (live kernel only)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .data.toy import TOY_DATASETS
    from .loop import WORKFLOWS
    from .plots.mixtures import explorer_figure

    def show(dataset, workflow, sampling_bias, cherry_pick, synthetic_ratio, generations):
        explorer_figure(dataset=dataset, workflow=workflow, sampling_bias=sampling_bias, cherry_pick=cherry_pick,
                        synthetic_ratio=synthetic_ratio, generations=generations)
        plt.show()

    return widgets.interact_manual(
        show,
        dataset=widgets.Dropdown(options=list(TOY_DATASETS), value="grid25", description="data"),
        workflow=widgets.Dropdown(options=list(WORKFLOWS), value="replace", description="workflow"),
        sampling_bias=widgets.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.05, description="λ"),
        cherry_pick=widgets.FloatSlider(value=1.0, min=0.3, max=1.0, step=0.05, description="keep share"),
        synthetic_ratio=widgets.FloatSlider(value=1.0, min=0.25, max=9.0, step=0.25, description="n_s / n_r"),
        generations=widgets.IntSlider(value=40, min=4, max=200, step=4, description="generations"),
    )
