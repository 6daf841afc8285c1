"""Figures of chapter 1 (the mean/std recursion). Each takes results, returns a Figure."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm

from ..theory import gaussian as theory
from .style import LINESTYLES, PALETTE, THEORY_STYLE, band_plot, per_generation


def _values(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """generation x replicate matrix of one metric."""
    return table[table["metric"] == metric].pivot(index="generation", columns="replicate", values="value")


def plot_std_paths(table: pd.DataFrame, *, n_real: int, ddof: int = 0, sampling_bias: float = 1.0, paths: int = 25,
                   title: str | None = None, log: bool = True):
    """Individual replicate paths of sigma_t, their mean and median, and the theory's mean and median."""
    std = _values(table, "std")
    gens = std.index.to_numpy()
    fig, ax = plt.subplots()
    for column in std.columns[:paths]:
        ax.plot(gens, std[column], color=PALETTE["sky"], alpha=0.35, linewidth=0.8)
    ax.plot(gens, std.mean(axis=1), color=PALETTE["blue"], label="simulated mean of $\\sigma_t$")
    ax.plot(gens, std.median(axis=1), color=PALETTE["vermillion"], linestyle="-.", label="simulated median")
    ax.plot(gens, theory.expected_std(n_real, gens, ddof, sampling_bias), **THEORY_STYLE, label="theory: mean")
    ax.plot(gens, theory.median_std(n_real, gens, ddof, sampling_bias), color=PALETTE["black"], linestyle=":",
            linewidth=1.6, label="theory: median")
    ax.set(xlabel="generation $t$ (number of refits)", ylabel="fitted $\\sigma_t$",
           title=title or f"The standard deviation collapses (n={n_real}, ddof={ddof}, {std.shape[1]} runs)")
    if log:
        ax.set_yscale("log")
    ax.legend(loc="lower left")
    return fig


def plot_final_std_distribution(final_std: np.ndarray, *, n_real: int, generations: int, ddof: int = 0,
                                reference: float | None = None, reference_label: str = "magazine"):
    """Histogram of the final sigma_T over runs with the theoretical (log-normal CLT) density overlaid."""
    final_std = np.asarray(final_std)
    fig, ax = plt.subplots()
    bins = np.geomspace(max(final_std.min(), 1e-300), final_std.max(), 40)
    ax.hist(final_std, bins=bins, density=True, color=PALETTE["sky"], edgecolor="white", label="simulated runs")
    grid = np.geomspace(bins[0], bins[-1], 400)
    mean_log = theory.log_var_mean(n_real, generations, ddof)
    sd_log = np.sqrt(theory.log_var_var(n_real, generations))
    # sigma = exp(L / 2) with L ~ N(mean_log, sd_log^2): density of sigma by change of variables
    density = norm.pdf(2 * np.log(grid), mean_log, sd_log) * 2 / grid
    ax.plot(grid, density, **THEORY_STYLE, label="theory (log-normal)")
    ax.axvline(final_std.mean(), color=PALETTE["blue"], label=f"mean {final_std.mean():.3g}")
    ax.axvline(np.median(final_std), color=PALETTE["vermillion"], linestyle="-.",
               label=f"median {np.median(final_std):.3g}")
    if reference is not None:
        ax.axvline(reference, color=PALETTE["orange"], linestyle=":", linewidth=2.2,
                   label=f"{reference_label} {reference:g}")
    ax.set_xscale("log")
    ax.set(xlabel=f"$\\sigma_T$ at generation {generations:,} ({generations + 1:,} fits)", ylabel="density",
           title=f"Where {len(final_std):,} runs end up (n={n_real}, ddof={ddof})")
    ax.legend()
    return fig


def plot_mean_vs_median(tables: Mapping[str, pd.DataFrame], *, n_real: int):
    """Mean and median of sigma_t^2 for ddof=0 and ddof=1: the martingale whose typical path dies."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (label, table) in zip(axes, tables.items()):
        ddof = int(label[-1])
        var = _values(table, "std") ** 2
        gens = var.index.to_numpy()
        ax.plot(gens, var.mean(axis=1), color=PALETTE["blue"], label="mean of $\\sigma_t^2$ (simulated)")
        ax.plot(gens, var.median(axis=1), color=PALETTE["vermillion"], linestyle="-.",
                label="median of $\\sigma_t^2$ (simulated)")
        ax.plot(gens, theory.expected_var(n_real, gens, ddof), **THEORY_STYLE, label="theory: mean")
        ax.plot(gens, theory.median_std(n_real, gens, ddof) ** 2, color=PALETTE["black"], linestyle=":",
                linewidth=1.6, label="theory: median")
        ax.set(xlabel="generation", title=label, yscale="log")
    axes[0].set_ylabel("$\\sigma_t^2$")
    axes[0].legend(loc="lower left")
    fig.suptitle(f"Mean vs median of the variance (n={n_real})")
    return fig


def plot_drift(tables: Mapping[str, pd.DataFrame], *, n_real: int):
    """Drift of the mean, E[(mu_t - mu_0)^2], and E[W2^2] to the truth, simulated vs theory."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (label, table) in enumerate(tables.items()):
        ddof = int(label[-1])
        mean = _values(table, "mean")
        std = _values(table, "std")
        gens = mean.index.to_numpy()
        color = [PALETTE["blue"], PALETTE["orange"]][i % 2]
        axes[0].plot(gens, (mean**2).mean(axis=1), color=color, linestyle=LINESTYLES[i], label=f"{label}: simulated")
        axes[0].plot(gens, theory.mean_drift(n_real, gens, ddof), **THEORY_STYLE)
        w2 = theory.w2_squared(mean, std).mean(axis=1)
        axes[1].plot(gens, w2, color=color, linestyle=LINESTYLES[i], label=f"{label}: simulated")
        axes[1].plot(gens, theory.expected_w2_squared(n_real, gens, ddof), **THEORY_STYLE)
    axes[0].plot([], [], **THEORY_STYLE, label="theory")
    axes[0].set(xlabel="generation", ylabel="$E[(\\mu_t-\\mu_0)^2]$", title="The mean wanders off")
    axes[1].set(xlabel="generation", ylabel="$E[W_2^2]$ to $N(0,1)$", title="Distance to the truth grows")
    axes[0].legend()
    return fig


def plot_methods(sample_table: pd.DataFrame, exact_table: pd.DataFrame, *, n_real: int, ddof: int = 0):
    """The sampled and the exact chain side by side: medians with 5-95% bands, and theory."""
    fig, ax = plt.subplots()
    band_plot(ax, sample_table, "std", label="drawing the n samples", color=PALETTE["blue"])
    band_plot(ax, exact_table, "std", label="exact (chi-square draws)", color=PALETTE["orange"], linestyle="--")
    gens = per_generation(exact_table, "std").index.to_numpy()
    ax.plot(gens, theory.median_std(n_real, gens, ddof), **THEORY_STYLE, label="theory: median")
    for q in (0.05, 0.95):
        ax.plot(gens, theory.std_quantile(q, n_real, gens, ddof), color=PALETTE["black"], linestyle=":", linewidth=1)
    ax.set(yscale="log", ylabel="$\\sigma_t$ (median, 5-95% band)",
           title=f"Two simulations, one law (n={n_real}, ddof={ddof})")
    ax.legend(loc="lower left")
    return fig


def plot_workflows(tables: Mapping[str, pd.DataFrame], *, metric: str = "std", title: str | None = None,
                   ylabel: str = "$\\sigma_t$ (median, 5-95% band)", log: bool = True,
                   theory_curves: Mapping[str, np.ndarray] | None = None,
                   fixed_point: tuple[float, str] | None = None):
    """One band per workflow (or any labelled tables). ``theory_curves`` maps a table's label to its closed form
    per generation (dashed, in the band's colour); ``fixed_point`` = ``(value, label)`` draws a dotted level."""
    fig, ax = plt.subplots()
    colors = [PALETTE[c] for c in ("vermillion", "blue", "green", "purple", "orange", "sky")]
    for i, (label, table) in enumerate(tables.items()):
        band_plot(ax, table, metric, label=label, color=colors[i % len(colors)], linestyle=LINESTYLES[i % len(LINESTYLES)])
    for i, (label, curve) in enumerate((theory_curves or {}).items()):
        if label not in tables:
            raise ValueError(f"theory_curves: {label!r} names no table (tables: {sorted(tables)})")
        curve = np.asarray(curve, dtype=float)
        ax.plot(np.arange(curve.size), curve, **THEORY_STYLE,
                label="closed form (dashed)" if i == 0 else None)
    if fixed_point is not None:
        ax.axhline(fixed_point[0], color=PALETTE["grey"], linestyle=":", linewidth=1.2, label=fixed_point[1])
    if log:
        ax.set_yscale("log")
    ax.set(ylabel=ylabel, title=title or "Workflows compared")
    ax.legend(loc="lower left")
    return fig


def plot_log_det(table: pd.DataFrame, *, n_real: int, dim: int, ddof: int = 0):
    """ln det of the fitted covariance in d dimensions against the Wishart law."""
    fig, ax = plt.subplots()
    band_plot(ax, table, "log_det_cov", label=f"simulated (d={dim})", color=PALETTE["blue"], center="mean")
    gens = per_generation(table, "log_det_cov").index.to_numpy()
    # generation g is the (g+1)-th fit: g + 1 Wishart steps from the truth (ln det = 0)
    ax.plot(gens, (gens + 1) * theory.log_det_step_mean(n_real, dim, ddof), **THEORY_STYLE, label="theory: mean")
    ax.set(ylabel="$\\ln\\det\\Sigma_t$ (mean, 5-95% band)",
           title=f"The covariance collapses in every direction (n={n_real}, d={dim})")
    ax.legend(loc="lower left")
    return fig


def plot_run_averages(final_std: np.ndarray, *, n_real: int, generation: int, sizes=(10, 100), ddof: int = 0,
                      reference: float | None = None, reference_label: str = "essay", ax=None):
    """How much an average over k runs varies: histograms of many k-run averages of sigma_T, with
    the theory's mean and +-1 standard error (exact moments) for each k."""
    final_std = np.asarray(final_std, dtype=float).ravel()
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["green"]]
    mean = float(theory.expected_std(n_real, generation, ddof))
    top = 0.0
    for i, k in enumerate(sizes):
        groups = final_std.size // int(k)
        if groups < 2:
            raise ValueError(f"sizes: {k} runs per average leaves fewer than 2 averages of {final_std.size} runs")
        averages = final_std[: groups * k].reshape(groups, k).mean(axis=1)
        se = float(theory.mean_std_standard_error(n_real, generation, int(k), ddof))
        heights, _, _ = ax.hist(averages, bins=30, density=True, alpha=0.5, color=colours[i % 3],
                                label=f"averages of {k} runs ({groups}): SE {averages.std(ddof=1):.3f}, theory {se:.3f}")
        top = max(top, heights.max())
        for side in (-1, 1):
            ax.axvline(mean + side * se, color=colours[i % 3], linestyle=LINESTYLES[(i + 1) % len(LINESTYLES)],
                       linewidth=1.2)
    ax.axvline(mean, **THEORY_STYLE, label=f"theory: E[$\\sigma_T$] = {mean:.3f}")
    if reference is not None:
        ax.axvline(reference, color=PALETTE["vermillion"], linestyle=":", linewidth=2.2,
                   label=f"{reference_label} {reference:g}")
    ax.set(xlabel=f"average of $\\sigma_T$ over k runs (T = {generation + 1:,} fits)", ylabel="density",
           title=f"How far an average of k runs can land (n={n_real}; lines: mean $\\pm$ 1 SE)", ylim=(0, top * 1.35))
    ax.legend(loc="upper right", fontsize=8.5)
    return fig
