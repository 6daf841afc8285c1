"""Chapter 3's explorer: a Gaussian mixture refitted on its own samples, with sliders."""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..core.workflows import WORKFLOWS
from ..data.toy import TOY_DATASETS
from ..experiments import run_experiment
from ..plots.gmm import plot_metric_bands, plot_snapshots


def explorer_figure(dataset: str = "grid25", workflow: str = "replace", sampling_bias: float = 1.0,
                    generations: int = 40, synthetic_ratio: float = 1.0, keep_fraction: float = 1.0,
                    n_real: int = 500, replicates: int = 4, seed: int = 0):
    """The explorer's figure: snapshots at three generations above precision, recall and modes covered."""
    snaps = sorted({0, generations // 4, generations})
    result = run_experiment("gmm", dataset=dataset, workflow=workflow, sampling_bias=sampling_bias,
                            generations=generations, n_real=n_real, n_synthetic=max(1, int(synthetic_ratio * n_real)),
                            keep_fraction=keep_fraction, replicates=replicates, n_eval=n_real, eval_points=12,
                            snapshots=snaps, seed=seed)
    fig = plt.figure(figsize=(12, 6.6))
    grid = fig.add_gridspec(2, 3)
    top = [fig.add_subplot(grid[0, i]) for i in range(len(snaps))]
    plot_snapshots(result.extras["snapshots"], result.extras["modes"], axes=top)
    bottom = [fig.add_subplot(grid[1, i]) for i in range(3)]
    plot_metric_bands({f"{workflow}, λ={sampling_bias:g}": result.table}, axes=bottom)
    for ax in bottom:
        ax.get_legend() and ax.get_legend().remove()
    fig.suptitle(f"{dataset}: {workflow} loop, λ = {sampling_bias:g}, keep share {keep_fraction:g}",
                 fontweight="bold")
    fig.tight_layout()
    return fig



#: The workflows the explorer offers (the gmm experiment runs each through the loop, default options).
WORKFLOW_MENU = WORKFLOWS


def mixture_explorer():
    """Sliders for data set, workflow, lambda, the share of candidates kept (cherry-picking), synthetic share and generations (live kernel only)."""
    import ipywidgets as widgets

    def show(dataset, workflow, sampling_bias, keep_fraction, synthetic_ratio, generations):
        explorer_figure(dataset=dataset, workflow=workflow, sampling_bias=sampling_bias, keep_fraction=keep_fraction,
                        synthetic_ratio=synthetic_ratio, generations=generations)
        plt.show()

    return widgets.interact_manual(
        show,
        dataset=widgets.Dropdown(options=list(TOY_DATASETS), value="grid25", description="data"),
        workflow=widgets.Dropdown(options=list(WORKFLOW_MENU), value="replace", description="workflow"),
        sampling_bias=widgets.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.05, description="λ"),
        keep_fraction=widgets.FloatSlider(value=1.0, min=0.3, max=1.0, step=0.05, description="keep share"),
        synthetic_ratio=widgets.FloatSlider(value=1.0, min=0.25, max=9.0, step=0.25, description="n_s / n_r"),
        generations=widgets.IntSlider(value=40, min=4, max=200, step=4, description="generations"),
    )
