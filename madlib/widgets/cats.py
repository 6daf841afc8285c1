"""Explorers of chapter 2: blue cats under different workflows.

:func:`explorer_figure` and :func:`cats_explorer` need a live kernel for their sliders;
:func:`static_explorer` is the kernel-free version for the static site (a precomputed Plotly
slider over the number of cats, a menu for the blue share).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..core.validation import check_int
from ..core.workflows import WORKFLOWS, configure
from ..plots import interactive
from ..plots.cats import plot_blue_trajectories, plot_survival
from ..simulations.cats import simulate_cats
from ..theory import wright_fisher as wf


def explorer_figure(n_real: int = 100, blue: int = 10, generations: int = 300, workflow: str = "replace",
                    kept_real_fraction: float = 0.0, replicates: int = 500, seed: int = 0):
    """Blue-share trajectories and the share of worlds that lost blue, for one setting.

    ``kept_real_fraction`` is the share of each generation's cats that are original real cats: an option of
    the replace workflow, refused with any other (the loop would otherwise ignore it). Returns the figure.
    """
    cats = check_int("n_real", n_real, 2, 5000)
    blue = check_int("blue", blue, 1, cats - 1)
    generations = check_int("generations", generations, 1, 5000)
    choice = configure(workflow, **({"kept_real_fraction": kept_real_fraction} if kept_real_fraction else {}))
    kept_fraction = choice.options.get("kept_real_fraction", 0.0)
    out = simulate_cats(cats, blue, generations, replicates, workflow=choice, seed=seed, trajectories=30)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    plot_blue_trajectories(out["blue_share"], ax=axes[0], title=f"{cats} cats, {blue} blue: 30 worlds")
    theory = wf.survival_curve_loss(blue / cats, cats, generations) if cats <= 2000 else None
    label = workflow + (f", keep {kept_fraction:.0%} real" if kept_fraction else "")
    plot_survival({label: out["ever_lost"], f"{label}: blue absent now": out["absent"]},
                  theory=theory if (workflow == "replace" and kept_fraction == 0) else None, ax=axes[1],
                  ylabel="share of worlds", title="Worlds without blue cats")
    fig.suptitle(f"blue absent in {out['absent'][-1]:.0%} of {replicates} worlds after {generations} generations "
                 f"(Wright-Fisher, replace: eventually {1 - blue / cats:.0%})", fontsize=11)
    fig.tight_layout()
    return fig


#: The workflows the explorer offers (the chain runs each through the loop, with its default options).
WORKFLOW_MENU = WORKFLOWS


def cats_explorer():
    """The ipywidgets explorer: number of cats, blue share, generations, workflow, kept real share (replace)."""
    import ipywidgets as widgets

    def show(n_real, blue_percent, generations, workflow, kept_real_fraction):
        blue = max(1, min(n_real - 1, round(n_real * blue_percent / 100)))
        if kept_real_fraction and workflow != "replace":
            print("the kept real share is an option of the replace workflow: set it to 0 for", workflow)
            return
        explorer_figure(n_real=n_real, blue=blue, generations=generations, workflow=workflow,
                        kept_real_fraction=kept_real_fraction)
        plt.show()

    return widgets.interact(
        show,
        n_real=widgets.IntSlider(value=100, min=10, max=1000, step=10, description="cats"),
        blue_percent=widgets.IntSlider(value=10, min=1, max=50, step=1, description="blue %"),
        generations=widgets.IntSlider(value=300, min=20, max=2000, step=20, description="generations"),
        workflow=widgets.Dropdown(options=list(WORKFLOW_MENU), value="replace", description="workflow"),
        kept_real_fraction=widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="kept real"),
    )


#: Slider and menu values of the kernel-free explorer.
STATIC_CATS = (20, 50, 100, 200, 500, 1000)
STATIC_BLUE_SHARES = (0.05, 0.1, 0.2)


def explorer_frames(sizes: Sequence[int] = STATIC_CATS, blue_shares: Sequence[float] = STATIC_BLUE_SHARES,
                    generations: int = 300, replicates: int = 400, seed: int = 0) -> dict:
    """Precomputed frames {(n_real, blue share): curves}: the share of worlds that have lost blue by
    generation t (simulated and exact Wright-Fisher), and the blue share averaged over worlds."""
    generations = check_int("generations", generations, 1, 5000)
    replicates = check_int("replicates", replicates, 2)
    if not sizes or not blue_shares:
        raise ValueError("sizes and blue_shares must be non-empty")
    frames = {}
    gens = np.arange(generations + 1)
    for M in sizes:
        for share in blue_shares:
            blue = max(1, min(int(M) - 1, round(int(M) * float(share))))
            out = simulate_cats(int(M), blue, generations, replicates, seed=seed, trajectories=0)
            frames[(int(M), float(share))] = [
                (gens, out["ever_lost"], "worlds without blue (simulated)"),
                (gens, wf.survival_curve_loss(blue / int(M), int(M), generations), "Wright-Fisher, exact"),
                (gens, out["mean_blue_share"], "blue share, averaged over worlds"),
            ]
    return frames


def static_explorer(sizes: Sequence[int] = STATIC_CATS, blue_shares: Sequence[float] = STATIC_BLUE_SHARES,
                    generations: int = 300, replicates: int = 400, seed: int = 0):
    """The kernel-free explorer: slider over the number of cats, menu for the starting blue share."""
    frames = explorer_frames(sizes, blue_shares, generations, replicates, seed)
    return interactive.slider_figure(
        frames, param_name="cats", dropdown_name="blue share", active=list(sizes).index(100) if 100 in sizes else 0,
        title=f"Blue cats under replace ({replicates} worlds per setting)", xaxis="generation",
        yaxis="share", log_y=False)

