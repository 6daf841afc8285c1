"""Chapter 1's explorer: the exact Gaussian chain for any n_real, generations, ddof, exact workflow and lambda.

:func:`explorer_figure` draws one setting (so the book can show it without a kernel);
:func:`gaussian_explorer` puts sliders on it (a live kernel); :func:`static_explorer` is the
kernel-free version for the static site: a Plotly slider over n, precomputed.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..core.validation import check_int
from ..plots import interactive
from ..plots.style import PALETTE, THEORY_STYLE
from ..simulations.gaussian import EXACT_WORKFLOWS, simulate_exact
from ..theory import gaussian as theory


def explorer_figure(n_real: int = 100, generations: int = 200, ddof: int = 0, workflow: str = "replace",
                    sampling_bias: float = 1.0, runs: int = 400, seed: int = 0):
    """The explorer's figure: paths, median and band from the exact method, theory where it exists.

    ``workflow`` is one of the exact chain's workflows (:data:`EXACT_WORKFLOWS`, defaults for their
    options); any other is refused, as the exact chain refuses it."""
    n = n_real
    chain = simulate_exact(n, generations, runs, ddof=ddof, workflow=workflow, sampling_bias=sampling_bias,
                           seed=seed)
    gens, std = chain.generations, chain.std
    fig, ax = plt.subplots()
    for r in range(min(15, runs)):
        ax.plot(gens, std[:, r], color=PALETTE["sky"], alpha=0.35, linewidth=0.8)
    ax.plot(gens, np.median(std, axis=1), color=PALETTE["vermillion"], linestyle="-.", label="median")
    ax.plot(gens, std.mean(axis=1), color=PALETTE["blue"], label="mean")
    ax.fill_between(gens, np.quantile(std, 0.05, axis=1), np.quantile(std, 0.95, axis=1),
                    color=PALETTE["blue"], alpha=0.15, linewidth=0, label="5-95% of runs")
    if workflow == "replace":
        ax.plot(gens, theory.median_std(n, gens, ddof, sampling_bias), **THEORY_STYLE, label="theory: median")
    ax.set(yscale="log", xlabel="generation", ylabel="$\\sigma_t$",
           title=f"{workflow}, n_real={n}, ddof={ddof}, $\\lambda$={sampling_bias:g}: "
                 f"median $\\sigma_T$ = {np.median(std[-1]):.3g}")
    ax.legend(loc="lower left")
    return fig



#: The workflows the live explorer offers: exactly those the exact chain implements.
WORKFLOW_MENU = EXACT_WORKFLOWS


def gaussian_explorer():
    """Sliders for n_real, generations, ddof, workflow and sampling bias over chapter 1's exact simulation.

    The workflow menu offers exactly the exact chain's workflows: it computes those correctly."""
    import ipywidgets as widgets

    def show(n_real, generations, ddof, workflow, sampling_bias):
        explorer_figure(n_real=n_real, generations=generations, ddof=ddof, workflow=workflow,
                        sampling_bias=sampling_bias)
        plt.show()

    return widgets.interact(
        show,
        n_real=widgets.IntSlider(value=100, min=5, max=2000, step=5, description="n_real"),
        generations=widgets.IntSlider(value=200, min=10, max=5000, step=10, description="generations"),
        ddof=widgets.RadioButtons(options=[0, 1], value=0, description="ddof"),
        workflow=widgets.Dropdown(options=list(WORKFLOW_MENU), value="replace", description="workflow"),
        sampling_bias=widgets.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.01, description="λ"),
    )


#: The n values of the kernel-free explorer's slider.
STATIC_NS = (20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000)


def explorer_frames(sizes: Sequence[int] = STATIC_NS, generations: int = 200, runs: int = 400,
                    ddofs: Sequence[int] = (0, 1), points: int = 81, seed: int = 0) -> dict:
    """Precomputed frames {(n, ddof): curves} of the exact chain: simulated mean and median of sigma_t
    over ``runs`` runs, and the theory's mean and median, at ``points`` generations."""
    generations = check_int("generations", generations, 1)
    runs = check_int("runs", runs, 2)
    if not sizes or not ddofs:
        raise ValueError("sizes and ddofs must be non-empty")
    record = np.unique(np.linspace(0, generations, check_int("points", points, 2)).round().astype(int))
    frames = {}
    for n in sizes:
        for ddof in ddofs:
            chain = simulate_exact(int(n), generations, runs, ddof=int(ddof), record=record, seed=seed)
            frames[(int(n), int(ddof))] = [
                (record, chain.std.mean(axis=1), "simulated mean"),
                (record, np.median(chain.std, axis=1), "simulated median"),
                (record, theory.expected_std(int(n), record, int(ddof)), "theory: mean"),
                (record, theory.median_std(int(n), record, int(ddof)), "theory: median"),
            ]
    return frames


def static_explorer(sizes: Sequence[int] = STATIC_NS, generations: int = 200, runs: int = 400, seed: int = 0):
    """The kernel-free explorer: a slider over n (and a ddof menu) on the exact chain, with theory."""
    frames = explorer_frames(sizes, generations, runs, seed=seed)
    return interactive.slider_figure(
        frames, param_name="n", dropdown_name="ddof", active=list(sizes).index(100) if 100 in sizes else 0,
        title=f"sigma_t over {generations} generations ({runs} exact runs per n)", xaxis="generation",
        yaxis="sigma_t", log_y=True)

