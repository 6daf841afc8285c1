"""Explorers of chapter 2: blue cats under different workflows.

:func:`explorer_figure` and :func:`cats_explorer` need a live kernel for their sliders;
:func:`static_explorer` is the kernel-free version for the static site (a precomputed Plotly
slider over the number of cats, a menu for the blue share).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..simulations.cats import simulate_cats
from ..core.workflows import WORKFLOWS
from ..plots import interactive
from ..plots.cats import plot_blue_trajectories, plot_survival
from ..theory import wright_fisher as wf
from ..core.validation import check_choice, check_fraction, check_int


def explorer_figure(cats: int = 100, blue: int = 10, generations: int = 300, workflow: str = "replace",
                 kept_fraction: float = 0.0, replicates: int = 500, seed: int = 0):
    """Blue-share trajectories and the share of worlds that lost blue, for one setting.

    ``kept_fraction`` is the share of each generation's cats that are original
    real cats (replace workflow only). Returns the figure.
    """
    cats = check_int("cats", cats, 2, 5000)
    blue = check_int("blue", blue, 1, cats - 1)
    generations = check_int("generations", generations, 1, 5000)
    workflow = check_choice("workflow", workflow, WORKFLOWS)
    kept_fraction = check_fraction("kept_fraction", kept_fraction)
    if workflow != "replace":
        kept_fraction = 0.0  # the loop keeps real data only in the replace workflow
    out = simulate_cats(cats, blue, generations, replicates, workflow=workflow, kept_real_fraction=kept_fraction,
                        seed=seed, trajectories=30)
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


def cats_explorer():
    """The ipywidgets explorer: number of cats, blue share, generations, workflow, kept fraction."""
    import ipywidgets as widgets

    def show(cats, blue_percent, generations, workflow, kept_fraction):
        blue = max(1, min(cats - 1, round(cats * blue_percent / 100)))
        explorer_figure(cats=cats, blue=blue, generations=generations, workflow=workflow, kept_fraction=kept_fraction)
        plt.show()

    return widgets.interact(
        show,
        cats=widgets.IntSlider(value=100, min=10, max=1000, step=10, description="cats"),
        blue_percent=widgets.IntSlider(value=10, min=1, max=50, step=1, description="blue %"),
        generations=widgets.IntSlider(value=300, min=20, max=2000, step=20, description="generations"),
        workflow=widgets.Dropdown(options=list(WORKFLOWS), value="replace", description="workflow"),
        kept_fraction=widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="kept real"),
    )


#: Slider and menu values of the kernel-free explorer.
STATIC_CATS = (20, 50, 100, 200, 500, 1000)
STATIC_BLUE_SHARES = (0.05, 0.1, 0.2)


def explorer_frames(cats: Sequence[int] = STATIC_CATS, blue_shares: Sequence[float] = STATIC_BLUE_SHARES,
                    generations: int = 300, replicates: int = 400, seed: int = 0) -> dict:
    """Precomputed frames {(cats, blue share): curves}: the share of worlds that have lost blue by
    generation t (simulated and exact Wright-Fisher), and the blue share averaged over worlds."""
    generations = check_int("generations", generations, 1, 5000)
    replicates = check_int("replicates", replicates, 2)
    if not cats or not blue_shares:
        raise ValueError("cats and blue_shares must be non-empty")
    frames = {}
    gens = np.arange(generations + 1)
    for M in cats:
        for share in blue_shares:
            blue = max(1, min(int(M) - 1, round(int(M) * float(share))))
            out = simulate_cats(int(M), blue, generations, replicates, seed=seed, trajectories=0)
            frames[(int(M), float(share))] = [
                (gens, out["ever_lost"], "worlds without blue (simulated)"),
                (gens, wf.survival_curve_loss(blue / int(M), int(M), generations), "Wright-Fisher, exact"),
                (gens, out["mean_blue_share"], "blue share, averaged over worlds"),
            ]
    return frames


def static_explorer(cats: Sequence[int] = STATIC_CATS, blue_shares: Sequence[float] = STATIC_BLUE_SHARES,
                    generations: int = 300, replicates: int = 400, seed: int = 0):
    """The kernel-free explorer: slider over the number of cats, menu for the starting blue share."""
    frames = explorer_frames(cats, blue_shares, generations, replicates, seed)
    return interactive.slider_figure(
        frames, param_name="cats", dropdown_name="blue share", active=list(cats).index(100) if 100 in cats else 0,
        title=f"Blue cats under replace ({replicates} worlds per setting)", xaxis="generation",
        yaxis="share", log_y=False)

