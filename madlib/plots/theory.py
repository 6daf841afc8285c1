"""Figures of the theory chapter: the three regimes, the 2024-2026 results, and the notation concordance.

Every figure draws a simulation (mean with a band of two Monte-Carlo standard errors, or a 5-95% replicate band)
and, dashed in black, the closed form it is checked against.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..theory import gaussian as gauss
from ..theory import recursion as rec
from ..theory import wright_fisher as wf
from .style import CYCLE, LINESTYLES, PALETTE, THEORY_STYLE

THEORY_LABEL = "closed form"


def _mean_band(ax, x, mean, se, *, label: str, color: str, linestyle="-", marker=None):
    """A mean with a +-2 SE band."""
    x, mean, se = (np.asarray(v, dtype=float) for v in (x, mean, se))
    ax.plot(x, mean, color=color, linestyle=linestyle, label=label, marker=marker, markersize=4)
    ax.fill_between(x, mean - 2 * se, mean + 2 * se, color=color, alpha=0.2, linewidth=0)


def _theory(ax, x, y, label: str | None = THEORY_LABEL, **style):
    ax.plot(x, y, **{**THEORY_STYLE, **style}, label=label)


def plot_random_walk(gaussian_table: pd.DataFrame, cats_table: pd.DataFrame, *, n_real: int, blue: int, cats: int):
    """Regime 1: the Gaussian's log-variance drifts down as a random walk (mean and 5-95% band against the
    chi-square law); a category's share is absorbed at 0 (share of worlds that lost blue against Wright-Fisher)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    ax = axes[0]
    rows = gaussian_table[gaussian_table["metric"] == "std"]
    log_var = np.log(rows["value"].to_numpy() ** 2)
    frame = pd.DataFrame({"generation": rows["generation"].to_numpy(), "log_var": log_var})
    stats = frame.groupby("generation")["log_var"].describe(percentiles=[0.05, 0.95])
    g = stats.index.to_numpy()
    ax.plot(g, stats["mean"], color=PALETTE["blue"], label="simulated: mean")
    ax.fill_between(g, stats["5%"], stats["95%"], color=PALETTE["blue"], alpha=0.18, linewidth=0,
                    label="5-95% of runs")
    mean = gauss.log_var_mean(n_real, g)
    spread = np.sqrt(gauss.log_var_var(n_real, g))
    _theory(ax, g, mean, label="closed form: drift $T\\,[\\psi(\\frac{n-1}{2}) + \\ln\\frac{2}{n}]$")
    _theory(ax, g, mean - 1.645 * spread, label=None, linewidth=1.0)
    _theory(ax, g, mean + 1.645 * spread, label=None, linewidth=1.0)
    ax.set(xlabel="generation", ylabel="$\\ln \\sigma_t^2$", title=f"Gaussian, n = {n_real}: a random walk that drifts down")
    ax.legend(loc="lower left", fontsize=9)
    ax = axes[1]
    t = cats_table["generation"].to_numpy()
    ax.plot(t, cats_table["ever_lost"], color=PALETTE["vermillion"], label="simulated: worlds that lost blue")
    _theory(ax, t, wf.survival_curve_loss(blue / cats, cats, int(t.max())), label="Wright-Fisher (exact)")
    ax.axhline(wf.loss_probability(blue / cats), color=PALETTE["grey"], linestyle=":",
               label=f"absorbed at 0 with probability {wf.loss_probability(blue / cats):.1f}")
    ax.set(xlabel="generation", ylabel="share of worlds", xscale="log",
           title=f"Cats, {blue} blue of {cats}: absorption at an edge")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


CONTRACTION_COLOURS = {"replace": PALETTE["grey"], "keep 5% real": PALETTE["sky"], "keep 20% real": PALETTE["blue"],
                       "web scrape": PALETTE["vermillion"], "corrector 0.2": PALETTE["green"],
                       "corrector 0.5": PALETTE["orange"]}


def plot_contraction(table: pd.DataFrame, fixed_points: dict):
    """Regime 2: the Gaussian's variance (or, for the corrector, its sigma) contracting to a fixed point, each case
    beside its closed form; dotted: the fixed points."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), sharey=False)
    for ax, measure, title in ((axes[0], "var", "Real data anchors the variance"),
                               (axes[1], "std", "A corrector anchors it too")):
        cases = [c for c in dict.fromkeys(table["case"]) if (table[table["case"] == c]["measure"] == measure).all()]
        if measure == "std":
            part = table[table["case"] == "replace"]
            ax.plot(part["generation"], np.sqrt(part["mean"]), color=PALETTE["grey"], label="replace (for comparison)")
        for i, case in enumerate(cases):
            part = table[table["case"] == case]
            _mean_band(ax, part["generation"], part["mean"], part["se"], label=case,
                       color=CONTRACTION_COLOURS.get(case, CYCLE[i % len(CYCLE)]), linestyle=LINESTYLES[i % 4])
            _theory(ax, part["generation"], part["theory"], label=THEORY_LABEL if i == 0 else None)
            if case in fixed_points:
                ax.axhline(fixed_points[case], color=CONTRACTION_COLOURS.get(case, "grey"), linestyle=":", linewidth=1)
        ax.set(xlabel="generation", ylabel="$E[\\sigma_t^2]$" if measure == "var" else "$E[\\sigma_t]$", title=title)
        ax.legend(loc="lower left", fontsize=9)
    fig.tight_layout()
    return fig


def plot_summable(universality: pd.DataFrame, regression: dict[str, dict]):
    """Regime 3: the error of generation t over generation 0's, under accumulate (left, bounded by pi^2/6) and
    replace (right, growing like t + 1), for linear regression (chapter 6), a Poisson rate and a logistic fit."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    colours = {"linear regression": PALETTE["blue"], "poisson": PALETTE["orange"], "logistic": PALETTE["green"]}
    for ax, workflow in zip(axes, ("accumulate", "replace")):
        series = []
        if workflow in regression:
            s = regression[workflow]
            mean, se = np.asarray(s["test_error"]), np.asarray(s["test_error_se"])
            series.append(("linear regression", np.asarray(s["generation"]), mean / mean[0], se / mean[0]))
        for family in ("poisson", "logistic"):
            part = universality[(universality["family"] == family) & (universality["workflow"] == workflow)]
            m0 = part["mean"].iloc[0]
            series.append((family, part["generation"].to_numpy(), part["mean"].to_numpy() / m0, part["se"].to_numpy() / m0))
        horizon = max(int(g.max()) for _, g, _, _ in series)
        for i, (name, g, ratio, se) in enumerate(series):
            _mean_band(ax, g, ratio, se, label=name, color=colours[name], linestyle=LINESTYLES[i])
        t = np.arange(horizon + 1)
        if workflow == "accumulate":
            _theory(ax, t, rec.accumulate_error_ratio(t), label="$\\sum_{k=1}^{t+1} 1/k^2$")
            ax.axhline(rec.PI2_OVER_6, color=PALETTE["grey"], linestyle=":", label="$\\pi^2/6$")
            ax.set(ylim=(0.8, 2.2), title="Accumulate: summable noise, bounded")
        else:
            _theory(ax, t, rec.replace_error_ratio(t), label="$t + 1$")
            top = 4 * (horizon + 1)
            ax.set(yscale="log", ylim=(0.5, top), title="Replace: the errors add up")
            escaped = [name for name, _, ratio, _ in series if np.nanmax(ratio) > top]
            if escaped:
                ax.annotate(f"{', '.join(escaped)}: the mean leaves the chart\n(replicates whose fits ran off)",
                            (0.98, 0.04), xycoords="axes fraction", ha="right", fontsize=8.5, color=PALETTE["grey"])
        ax.set(xlabel="generation", ylabel="error / error of generation 0")
        ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def plot_strong_collapse(table: pd.DataFrame, plateaus: dict):
    """Test error against training-set size n (log-log) for fixed synthetic shares p, with the closed form and the
    plateaus ``p^2 ||Delta||^2``: with any p > 0 more data stops helping."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, (share, part) in enumerate(table.groupby("share", sort=True)):
        colour = [PALETTE["black"], PALETTE["green"], PALETTE["orange"], PALETTE["vermillion"], PALETTE["blue"]][i % 5]
        label = "real data only" if share == 0 else f"synthetic share {share:g}"
        ax.errorbar(part["n"], part["mean"], yerr=2 * part["se"], color=colour, marker="o", markersize=4,
                    linestyle="none", label=label)
        ax.plot(part["n"], part["theory"], color=colour, linestyle="--", linewidth=1.2)
        plateau = plateaus.get(str(share), 0.0)
        if plateau:
            ax.axhline(plateau, color=colour, linestyle=":", linewidth=1)
    ax.plot([], [], **THEORY_STYLE, label="closed form (dashed); plateau $p^2\\|\\Delta\\|^2$ (dotted)")
    ax.set(xscale="log", yscale="log", xlabel="training-set size n", ylabel="excess test error",
           title="A fixed synthetic share stops the scaling law")
    ax.legend(loc="lower left", fontsize=9)
    return fig


def plot_model_size(table: pd.DataFrame, collapse_term: pd.DataFrame, n_real: int):
    """Random projections of size m on n mixed items: test error with and without the synthetic share (left) and
    the collapse term, their paired difference (right); dashed: closed forms below the interpolation threshold."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    ax = axes[0]
    for name, colour in (("clean", PALETTE["blue"]), ("mixed", PALETTE["vermillion"])):
        part = table[table["data"] == name]
        _mean_band(ax, part["model_size"], part["mean"], part["se"], marker="o",
                   label="real data only" if name == "clean" else "with the synthetic share", color=colour)
        ax.plot(part["model_size"], part["theory"], **THEORY_STYLE)
    ax.set(yscale="log", xlabel="model size m (random features)", ylabel="excess test error",
           title="Error against model size (n = %d)" % n_real)
    ax = axes[1]
    _mean_band(ax, collapse_term["model_size"], collapse_term["collapse_term"], collapse_term["collapse_term_se"],
               marker="o", label="simulated: mixed minus clean", color=PALETTE["purple"])
    clean, mixed = (table[table["data"] == name].set_index("model_size")["theory"] for name in ("clean", "mixed"))
    ax.plot(mixed.index, (mixed - clean).to_numpy(), **THEORY_STYLE, label=THEORY_LABEL + " (m < n)")
    ax.set(yscale="log", xlabel="model size m", ylabel="collapse term", title="Larger models amplify the collapse")
    for ax in axes:
        ax.axvline(n_real, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
        ax.annotate("interpolation threshold m = n", (n_real, ax.get_ylim()[1]), xytext=(4, -14),
                    textcoords="offset points", fontsize=8.5, color=PALETTE["grey"])
    axes[1].legend(loc="lower right", fontsize=9)
    axes[0].plot([], [], **THEORY_STYLE, label=THEORY_LABEL + " (m < n)")
    axes[0].legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


def plot_verifier_transition(table: pd.DataFrame, breakdown: float, optimal: float):
    """Test accuracy of a classifier trained on verified synthetic labels against the verifier's accuracy, for
    growing numbers of candidates N: the curves sharpen into a step at the breakdown point."""
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for i, (count, part) in enumerate(table.groupby("candidates", sort=True)):
        colour = CYCLE[i % len(CYCLE)]
        _mean_band(ax, part["accuracy_of_verifier"], part["mean"], part["se"], marker="o",
                   label=f"N = {count:,} candidates", color=colour)
        ax.plot(part["accuracy_of_verifier"], part["theory"], **{**THEORY_STYLE, "linewidth": 1.0})
    q = np.sort(table["accuracy_of_verifier"].unique())
    limit = table[table["candidates"] == table["candidates"].max()].sort_values("accuracy_of_verifier")["limit"]
    ax.step(q, limit, where="mid", color=PALETTE["grey"], linestyle=":", label="unlimited data")
    ax.axvline(breakdown, color=PALETTE["black"], linewidth=0.8)
    ax.annotate(f"breakdown: q = {breakdown:g}", (breakdown, 0.52), xytext=(5, 0), textcoords="offset points",
                fontsize=9)
    ax.axhline(optimal, color=PALETTE["grey"], linewidth=0.8, linestyle="--")
    ax.plot([], [], **THEORY_STYLE, label=THEORY_LABEL)
    ax.set(xlabel="verifier accuracy q", ylabel="test accuracy of the trained classifier",
           title="Verification has a breakdown point")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def plot_biased_verifier(table: pd.DataFrame):
    """Regression retrained on verified labels: the error to the truth (left) settles at the verifier's own error
    ``||theta_c - w*||^2``, from below or above; the distance to the verifier's center (right) contracts, as with
    unlimited data (dashed), down to the floor that the finite fits' noise holds it at (dotted)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    for i, (case, part) in enumerate(table.groupby("case", sort=False)):
        colour = CYCLE[i % len(CYCLE)]
        _mean_band(axes[0], part["generation"], part["to_truth"], part["to_truth_se"], label=case, color=colour,
                   linestyle=LINESTYLES[i])
        level = part["knowledge_center_error"].iloc[0]
        if level > 0:
            axes[0].axhline(level, color=colour, linestyle=":", linewidth=1)
        _mean_band(axes[1], part["generation"], part["to_center"], part["to_center_se"], label=case, color=colour,
                   linestyle=LINESTYLES[i])
        axes[1].plot(part["generation"], part["to_center_limit"], **{**THEORY_STYLE, "linewidth": 1.0})
    axes[1].axhline(table["to_center_floor"].iloc[0], color=PALETTE["grey"], linestyle=":",
                    label="where finite samples hold it (closed form)")
    axes[0].set(yscale="log", xlabel="generation", ylabel="$\\|w_t - w^*\\|^2$",
                title="Gains, then a plateau at the verifier's own error")
    axes[1].set(yscale="log", xlabel="generation", ylabel="$\\|w_t - \\theta_c\\|$",
                title="The loop contracts to the knowledge center",
                ylim=(table["to_center_floor"].iloc[0] / 10, None))
    axes[1].plot([], [], **THEORY_STYLE, label="unlimited data (closed form)")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    return fig


def plot_curation(table: pd.DataFrame, reward, start_reward: float):
    """Pairwise curation by a reward: the most rewarded category's share (left) and the expected reward (right)
    per generation, for several real shares, against the closed-form map."""
    reward = np.asarray(reward, dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    top = int(np.argmax(reward))
    for i, (rho, part) in enumerate(table.groupby("real_share", sort=True)):
        colour = CYCLE[i % len(CYCLE)]
        label = "replace (no real data)" if rho == 0 else f"real share {rho:g}"
        best = part[part["category"] == top]
        _mean_band(axes[0], best["generation"], best["mean"], best["se"], label=label, color=colour,
                   linestyle=LINESTYLES[i])
        axes[0].plot(best["generation"], best["theory"], **{**THEORY_STYLE, "linewidth": 1.0})
        wide = part.pivot(index="generation", columns="category", values="mean").to_numpy()
        theory = part.pivot(index="generation", columns="category", values="theory").to_numpy()
        g = np.sort(part["generation"].unique())
        axes[1].plot(g, wide @ reward, color=colour, linestyle=LINESTYLES[i], label=label)
        axes[1].plot(g, theory @ reward, **{**THEORY_STYLE, "linewidth": 1.0})
    axes[0].set(xlabel="generation", ylabel="share of the most rewarded category",
                title="Bias amplification: the curator's favourite takes over")
    axes[1].axhline(reward.max(), color=PALETTE["grey"], linestyle=":", label="the reward's maximum")
    axes[1].axhline(start_reward, color=PALETTE["grey"], linestyle="--", linewidth=0.8, label="real data")
    axes[1].set(xlabel="generation", ylabel="expected reward", title="Curation maximises the reward")
    for ax in axes:
        ax.plot([], [], **THEORY_STYLE, label=THEORY_LABEL)
        ax.legend(loc="center right", fontsize=9)
    fig.tight_layout()
    return fig


#: The notation concordance: what each symbol means in each paper and in the course, as we read the papers'
#: abstracts and setups ("-" where a paper has no such symbol or we did not find one).
CONCORDANCE = [
    ("symbol", "the course (madlib)", "Shumailov et al. (Nature 2024)", "Alemohammad et al. (MAD)",
     "Bertrand et al.", "Gerstgrasser et al.; Dey & Donoho", "Dohmatob et al. (strong collapse)", "Gillman et al.",
     "Ferbach et al."),
    ("lambda", "sampling bias (lambda <= 1 shrinks the spread of samples): `sampling_bias`", "-",
     "sampling bias, the same knob", "the amount of synthetic relative to real data in a training set", "-",
     "-", "the ratio of synthetic to real data (up to 100%)",
     "the amount of synthetic relative to real data (finite when real data are mixed in)"),
    ("workflow names", "replace, augment, fresh, accumulate, mix (`madlib.core.workflows`)",
     "no original data kept / 10% kept", "fully synthetic, synthetic augmentation, fresh data",
     "fully synthetic to mixed", "replace or *discard* = our replace; accumulate or *augment* = our accumulate",
     "a single mixed training set", "a mix of real and (corrected) synthetic data", "curated synthetic, with or "
     "without real data"),
    ("n", "real items per generation: `n_real`; n_synthetic the synthetic ones", "data set size (1,000 GMM points)",
     "n_r real, n_s synthetic items", "training-set size", "items per model fit (n)", "total training items, a share "
     "p synthetic", "training-set size", "samples per generation"),
    ("alpha, beta, gamma", "shares of the mix workflow: `mix_original`, `mix_previous`, the rest new", "alpha original, "
     "beta previous, gamma new data", "-", "-", "-", "-", "gamma: the correction strength", "-"),
    ("generation", "generation 0 = the first fit, to real data; generation t is t synthetic rounds away",
     "model 0 on data 0, then model i on data i", "generation t of the loop", "retraining step t", "iteration / model-"
     "fitting generation; the first fit is on real data", "no loop: one training on a mixed set", "generation t",
     "retraining step t"),
    ("p", "a category's share; or the synthetic share of a training set (strong collapse)", "-", "-", "-", "-",
     "the synthetic share (p2 in their figures)", "-", "-"),
]


def notation_concordance() -> pd.DataFrame:
    """The concordance as a table: one row per symbol, one column per source (see :data:`CONCORDANCE`)."""
    header, *rows = CONCORDANCE
    return pd.DataFrame(rows, columns=header).set_index("symbol")
