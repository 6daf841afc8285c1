"""Explorers of the theory chapter: the contraction regime's closed forms, kernel-free (Plotly) and live (ipywidgets).

The kernel-free explorer precomputes, for every real share (slider) and number of items a generation (menu), the
expected variance of the Gaussian over 200 generations under four loops: replace (the random walk), a kept real
share, fresh real data of that share, and a corrector of that strength; all closed forms of
:mod:`madlib.theory.recursion`, checked against simulation in the chapter and in its tests. The live explorer
adds the simulated chains.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..core.validation import check_float, check_int
from ..plots import interactive
from ..plots.style import PALETTE, THEORY_STYLE
from ..simulations.theory import simulate_contraction
from ..theory import gaussian as gauss
from ..theory import recursion as rec

#: The kernel-free explorer's slider (real share or correction strength) and menu (items a generation).
STATIC_SHARES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
STATIC_SIZES = (20, 100, 1000)


def theory_curves(share: float, n: int, generations: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``(generations, E[sigma_t^2], label)`` for replace, a kept share, fresh data and a corrector of this share."""
    share = check_float("share", share, 0.0, 1.0)
    n, generations = check_int("n", n, 2), check_int("generations", generations, 1)
    t = np.arange(generations + 1)
    return [
        (t, gauss.expected_var(n, t), "replace: random walk"),
        (t, rec.anchored_variance_path(share, n, generations), f"keep {share:g} real"),
        (t, rec.anchored_variance_path(share, n, generations, start_mean_sq=1 / n), f"fresh real share {share:g}"),
        (t, rec.corrector_var_path(n, share, generations), f"corrector, strength {share:g}"),
    ]


def explorer_frames(shares: Sequence[float] = STATIC_SHARES, sizes: Sequence[int] = STATIC_SIZES,
                    generations: int = 200) -> dict:
    """Frames ``{(share, n): curves}`` for :func:`static_explorer` (closed forms: a fraction of a second)."""
    if not shares or not sizes:
        raise ValueError("shares and sizes must be non-empty")
    return {(float(a), int(n)): theory_curves(a, n, generations) for n in sizes for a in shares}


def static_explorer(shares: Sequence[float] = STATIC_SHARES, sizes: Sequence[int] = STATIC_SIZES, generations: int = 200):
    """The kernel-free explorer: slider = the real share (or corrector strength), menu = items per generation."""
    frames = explorer_frames(shares, sizes, generations)
    ordered = {(a, n): frames[(a, n)] for a in map(float, shares) for n in map(int, sizes)}
    return interactive.slider_figure(
        ordered, param_name="real share (or correction strength)", dropdown_name="items per generation n",
        active=list(shares).index(0.05) if 0.05 in shares else 0, xaxis="generation", yaxis="E[sigma_t^2]",
        title="One recursion: the expected variance under four loops (closed forms)", log_y=False)


def explorer_figure(share: float = 0.05, n: int = 100, generations: int = 100, replicates: int = 300, seed: int = 0):
    """The closed forms of :func:`theory_curves` with the simulated mean variance of the kept-share and corrector
    loops (``replicates`` chains each) drawn over them."""
    fig, ax = plt.subplots()
    colours = [PALETTE["grey"], PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"]]
    for (t, curve, label), colour in zip(theory_curves(share, n, generations), colours):
        ax.plot(t, curve, color=colour, label=label)
    for case, colour in ((f"keep {100 * share:g}% real", PALETTE["blue"]), (f"corrector {share:g}", PALETTE["green"])):
        chain = simulate_contraction(case, n=n, generations=generations, replicates=replicates, seed=seed)
        ax.plot(np.arange(generations + 1), chain["var"].mean(axis=1), color=colour, linestyle="none", marker=".",
                markersize=3)
    ax.plot([], [], color=PALETTE["black"], linestyle="none", marker=".", label="simulated means (dots)")
    ax.axhline(1.0, **{**THEORY_STYLE, "linewidth": 0.8})
    ax.set(xlabel="generation", ylabel="$E[\\sigma_t^2]$", title=f"share {share:g}, n = {n}")
    ax.legend(loc="lower left", fontsize=9)
    return fig


def contraction_explorer():
    """Sliders: share, n, generations, replicates (live simulation)."""
    import ipywidgets as widgets

    def show(share, n, generations, replicates):
        explorer_figure(share, n, generations, replicates)
        plt.show()

    return widgets.interact(
        show,
        share=widgets.FloatSlider(value=0.05, min=0.0, max=0.5, step=0.01, description="share"),
        n=widgets.IntSlider(value=100, min=10, max=1000, step=10, description="n"),
        generations=widgets.IntSlider(value=100, min=10, max=400, step=10, description="generations"),
        replicates=widgets.IntSlider(value=300, min=50, max=2000, step=50, description="replicates"),
    )
