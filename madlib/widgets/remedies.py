"""Explorers for chapters 6 and 7: any remedy on any cheap family, computed live (ipywidgets), and a
kernel-free Plotly version over a precomputed grid (family x items per generation). Chapter 6 shows the
remedies that keep real data (:data:`KEEPING`), chapter 7 the filters (:data:`FILTERING`, through
:mod:`madlib.widgets.filtering`)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from ..core.validation import check_int
from ..plots import interactive
from ..plots.remedies import REMEDY_COLOURS, plot_remedy_curves
from ..remedies import REMEDY_KEYS, remedy_label
from ..experiments import run_experiment
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


#: chapter 6: the remedies that keep real data in the loop
KEEPING = ("none", "keep-real", "accumulate", "accumulate-subsample", "fresh", "reset")
#: chapter 7: the remedies that judge, reweight, correct or filter the synthetic data
FILTERING = ("none", "verifier", "learned-verifier", "self-likelihood", "tail-reweighting", "corrector",
             "web-scrape", "web-scrape-detector")
STATIC_REMEDIES = KEEPING + FILTERING[1:]


def static_explorer_grid(families: Sequence[str] = ("gaussian", "cats"), sizes: Sequence[int] = (20, 50, 100, 200, 500),
                         remedies: Sequence[str] = STATIC_REMEDIES, generations: int = 100, replicates: int = 200,
                         seed: int = 0) -> dict:
    """Relative-quality curves ``{(n_real, family): [(generations, curve, label), ...]}`` for the kernel-free
    explorer (``sizes``: the training-set sizes n_real of its slider)."""
    generations = check_int("generations", generations, 1)
    replicates = check_int("replicates", replicates, 2)
    frames = {}
    for n_real in sizes:
        for family in families:
            frames[(int(n_real), family)] = []
            for remedy in remedies:
                # each curve is the cached experiment `madlib run remedy-curve family=F remedy=R n_real=N ...`
                table = run_experiment("remedy-curve", family=family, remedy=remedy, generations=generations,
                                       replicates=replicates, seed=seed, n_real=int(n_real), progress=False).table
                frames[(int(n_real), family)].append((table["generation"].to_numpy(),
                                                      table["relative_quality"].to_numpy(), remedy_label(remedy)))
    return frames


def static_explorer(frames: dict, *, title: str = "Remedies: relative quality per generation"):
    """The kernel-free Plotly figure of :func:`static_explorer_grid`: slider = n, dropdown = family."""
    import plotly.graph_objects as go

    colours = {remedy_label(k): REMEDY_COLOURS.get(k) for k in REMEDY_KEYS}
    styled = {key: [go.Scatter(x=x, y=y, name=label, mode="lines",
                               line=dict(color=colours.get(label), width=2,
                                         dash="dash" if "verifier" in label else "solid"))
                    for x, y, label in series] for key, series in frames.items()}
    sizes = list(dict.fromkeys(key[0] for key in styled))
    return interactive.slider_figure(styled, param_name="items per generation n_real", dropdown_name="family",
                                     title=title, xaxis="generation", yaxis="quality relative to generation 0",
                                     active=sizes.index(100) if 100 in sizes else 0)


def remedy_explorer(remedies: Sequence[str] = ("none", "verifier", "self-likelihood", "keep-real")):
    """Dropdowns and sliders: family, remedies (``remedies`` chosen at first), generations, replicates."""
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
                                        value=tuple(remedies), rows=9, description="remedies"),
        generations=widgets.IntSlider(value=100, min=10, max=400, step=10, description="generations"),
        replicates=widgets.IntSlider(value=200, min=20, max=1000, step=20, description="replicates"),
    )
