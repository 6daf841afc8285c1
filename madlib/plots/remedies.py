"""Figures of chapter 6 (ways out of collapse)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..remedies import remedy_label
from ..theory import gaussian as theory
from .style import LINESTYLES, PALETTE, THEORY_STYLE

REMEDY_COLOURS = {  # by remedy key (madlib.remedies.registry)
    "none": PALETTE["grey"],
    "keep-real": PALETTE["sky"],
    "accumulate": PALETTE["orange"],
    "fresh": PALETTE["green"],
    "verifier": PALETTE["black"],
    "learned-verifier": PALETTE["blue"],
    "accumulate-subsample": PALETTE["yellow"],
    "reset": PALETTE["purple"],
    "self-likelihood": PALETTE["vermillion"],
    "tail-reweighting": PALETTE["purple"],
    "web-scrape": PALETTE["black"],
    "web-scrape-detector": PALETTE["blue"],
    "corrector": PALETTE["green"],
}


def plot_remedy_curves(curves: pd.DataFrame, family: str, *, remedies: Sequence[str] | None = None,
                       threshold: float = 0.75, ax=None, title: str | None = None, ylabel: str = "relative quality"):
    """Relative quality per generation, one line per remedy, with the collapse threshold."""
    data = curves[curves["family"] == family]
    if data.empty:
        raise ValueError(f"no curves for family {family!r}; it has {sorted(set(curves['family']))}")
    remedies = list(remedies) if remedies is not None else list(dict.fromkeys(data["remedy"]))
    if ax is None:
        _, ax = plt.subplots()
    for i, remedy in enumerate(remedies):
        part = data[data["remedy"] == remedy]
        ax.plot(part["generation"], part["relative_quality"], label=remedy_label(remedy),
                color=REMEDY_COLOURS.get(remedy, None), linestyle=LINESTYLES[i % len(LINESTYLES)],
                marker="o" if len(part) <= 12 else None, markersize=4)
    ax.axhline(threshold, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
    ax.annotate(f"collapse threshold {threshold:g}", (ax.get_xlim()[0], threshold), xytext=(4, 4),
                textcoords="offset points", fontsize=8.5, color=PALETTE["grey"])
    ax.set(xlabel="generation", ylabel=ylabel, title=title or family)
    return ax.figure


def plot_scoreboard(table: pd.DataFrame, *, threshold: float = 0.75):
    """Families x remedies: colour = final relative quality (cividis, colour-blind safe); the text is the
    generation of collapse, or 'held' when quality never fell below the threshold within the horizon."""
    remedies = list(dict.fromkeys(table["remedy"]))
    families = list(dict.fromkeys(table["family"]))
    quality = np.full((len(families), len(remedies)), np.nan)
    text = np.full((len(families), len(remedies)), "not run", dtype=object)
    for row in table.itertuples():
        i, j = families.index(row.family), remedies.index(row.remedy)
        quality[i, j] = row.final_relative_quality
        g = row.generations_to_collapse
        text[i, j] = "held" if g is None or (isinstance(g, float) and np.isnan(g)) else f"gen {int(g)}"
    fig, ax = plt.subplots(figsize=(1.25 * len(remedies) + 2.5, 0.75 * len(families) + 2.2))
    cmap = plt.get_cmap("cividis").copy()
    cmap.set_bad(PALETTE["grey"], alpha=0.25)  # remedies not run for a family
    image = ax.imshow(np.ma.masked_invalid(np.clip(quality, 0, 1.2)), cmap=cmap, vmin=0, vmax=1.2, aspect="auto")
    for i in range(len(families)):
        for j in range(len(remedies)):
            value = quality[i, j]
            colour = "black" if np.isnan(value) or value >= 0.6 else "white"
            label = text[i, j] if np.isnan(value) else f"{text[i, j]}\n{value:.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8.5, color=colour,
                    style="italic" if np.isnan(value) else "normal")
    ax.set_xticks(range(len(remedies)), [_wrap(remedy_label(r)) for r in remedies], rotation=0, fontsize=8.5)
    ax.set_yticks(range(len(families)), families)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="final quality relative to generation 0", shrink=0.8)
    ax.set_title(f"Scoreboard: generation of collapse (quality below {threshold:g}) and final quality")
    return fig


def plot_sweeps(table: pd.DataFrame, *, n_real: int = 100, generations: int | None = None):
    """The three remedy sweeps, one panel each, a line per family; Gaussian theory where it exists."""
    sweeps = list(dict.fromkeys(table["sweep"]))
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.7 * len(sweeps), 4.2), squeeze=False)
    colours = {"gaussian": PALETTE["blue"], "cats": PALETTE["orange"], "mixture": PALETTE["green"]}
    markers = {"gaussian": "o", "cats": "s", "mixture": "^"}
    for ax, sweep in zip(axes[0], sweeps):
        part = table[table["sweep"] == sweep]
        for family, rows in part.groupby("family", sort=False):
            ax.plot(rows["value"], rows["final_relative_quality"], marker=markers.get(family, "o"),
                    color=colours.get(family), label=family)
        grid = np.linspace(part["value"].min(), part["value"].max(), 200)
        if sweep == "kept real fraction" and generations:
            ax.plot(grid, np.sqrt([theory.kept_fraction_variance(n_real, f, generations) for f in grid]),
                    **THEORY_STYLE, label="Gaussian theory")
        if sweep == "detector miss rate":
            share = 4 * grid / (1 + 4 * grid)
            ax.plot(grid, np.sqrt([theory.mixed_fixed_point_variance(s, 0.8) for s in share]), **THEORY_STYLE,
                    label="Gaussian theory")
        if sweep == "tail reweighting strength":
            ax.axvline(2 / n_real, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
            ax.annotate("2/n", (2 / n_real, ax.get_ylim()[1]), xytext=(3, -12), textcoords="offset points", fontsize=9)
            ax.set_yscale("log")
        ax.axhline(1.0, color=PALETTE["grey"], linewidth=0.8)
        ax.set(xlabel=sweep, ylabel="final quality relative to generation 0", title=sweep.capitalize())
        ax.legend()
    fig.tight_layout()
    return fig


def _wrap(label: str, width: int = 12) -> str:
    """Break a tick label into lines of about ``width`` characters."""
    lines, line = [], ""
    for word in label.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def scoreboard_table(table: pd.DataFrame) -> pd.DataFrame:
    """Remedies x families: the generation of collapse, 'held', or 'not run'."""
    labels = table.assign(result=[("held" if g is None or (isinstance(g, float) and np.isnan(g)) else str(int(g)))
                                  for g in table["generations_to_collapse"]])
    out = labels.pivot(index="remedy", columns="family", values="result")
    out = out.reindex(index=list(dict.fromkeys(table["remedy"])), columns=list(dict.fromkeys(table["family"])))
    out.index = [remedy_label(r) for r in out.index]
    return out.fillna("not run")


REGRESSION_COLOURS = {"replace": PALETTE["vermillion"], "accumulate": PALETTE["blue"],
                      "accumulate-subsample": PALETTE["orange"]}


def plot_regression(summaries: dict[str, dict], *, ax=None, pi2_over_6: float = np.pi**2 / 6):
    """Test error relative to generation 0's, per workflow (mean +- 2 standard errors), with the closed
    forms (dashed) where the ``regression`` experiment has them and the pi^2/6 bound of accumulate.

    Without ``ax``: two panels, everything on the left and a zoom on the bounded curves on the right."""
    if not summaries:
        raise ValueError("summaries must map at least one workflow to a regression summary")
    if ax is not None:
        _draw_regression(ax, summaries, pi2_over_6)
        return ax.figure
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.3))
    _draw_regression(left, summaries, pi2_over_6)
    _draw_regression(right, summaries, pi2_over_6, legend=False)
    bounded = [np.asarray(s["ratio_to_generation0"]) for w, s in summaries.items() if w != "replace"]
    top = max([pi2_over_6] + [float(b.max()) for b in bounded]) * 1.15
    right.set_ylim(0.9, top)
    right.set_title("zoom: the bounded curves")
    fig.tight_layout()
    return fig


def _draw_regression(ax, summaries: dict[str, dict], pi2_over_6: float, legend: bool = True) -> None:
    for i, (workflow, s) in enumerate(summaries.items()):
        g = np.asarray(s["generation"])
        mean, se = np.asarray(s["test_error"]), np.asarray(s["test_error_se"])
        first = mean[0]
        colour = REGRESSION_COLOURS.get(workflow)
        ax.plot(g, mean / first, color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)], marker="o", markersize=3,
                label=f"{workflow} (simulated)")
        ax.fill_between(g, (mean - 2 * se) / first, (mean + 2 * se) / first, color=colour, alpha=0.2, linewidth=0)
        if s.get("theory_test_error") is not None:
            ax.plot(g, np.asarray(s["theory_test_error"]) / first, **{**THEORY_STYLE, "color": PALETTE["black"]},
                    label=f"{workflow}: closed form")
    ax.axhline(pi2_over_6, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
    ax.annotate(r"$\pi^2/6$", (0, pi2_over_6), xytext=(2, 4), textcoords="offset points", fontsize=9,
                color=PALETTE["grey"])
    ax.set(xlabel="generation", ylabel="test error / generation 0's", title="Linear regression on its own labels")
    if legend:
        ax.legend(fontsize=8.5)
