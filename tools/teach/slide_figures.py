"""The figures of the slide decks, drawn by the library's own plot functions from the book's own presets.

Each entry of :data:`FIGURES` makes one figure exactly as its chapter does (the same ``run_experiment``
preset, the same ``madlib.plots`` call), so a deck built after ``make book`` reads every result from the
experiment cache and shows the book's figures at the book's scale. Each returns ``(figure, values)``: the
values are numbers a deck may print with ``{{name:format}}`` (computed, never typed).

Built at ``MADLIB_SCALE`` (``make slides`` uses ``default``, as ``make book`` does; the tests use ``smoke``).
"""
from __future__ import annotations

from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np

from madlib import run_experiment
from madlib.plots import cats as cats_plots
from madlib.plots import filtering as filtering_plots
from madlib.plots import gaussian as gauss_plots
from madlib.plots import gmm as gmm_plots
from madlib.plots import lm as lm_plots
from madlib.plots import remedies as remedy_plots
from madlib.plots import theory as theory_plots
from madlib.plots import vae as vae_plots
from madlib.plots.loop import plot_loop
from madlib.theory import recursion
from madlib.theory import wright_fisher as wf

Figure = Any
Maker = Callable[[], tuple[Figure, dict[str, float]]]


def _figure(result) -> Figure:
    """A plot function returns a Figure or an Axes (or a list of them): the figure it drew on."""
    if hasattr(result, "savefig"):
        return result
    if hasattr(result, "figure"):
        return result.figure
    if isinstance(result, (list, tuple, np.ndarray)) and len(result):
        return _figure(np.ravel(result)[0])
    return plt.gcf()


# -- introduction and chapter 1 -----------------------------------------------------------------------

def loop() -> tuple[Figure, dict]:
    return plot_loop(3), {}


def gaussian_std_paths():
    headline = run_experiment("gaussian", preset="essay")
    s = headline.summary
    fig = gauss_plots.plot_std_paths(headline.table, n_real=headline.config["n_real"])
    return _figure(fig), {"essay_mean": s["final_std_mean"], "essay_mean_se": s["final_std_mean_se"],
                          "essay_median": s["final_std_median"], "essay_theory_mean": s["theory_std_mean"],
                          "essay_runs": headline.config["replicates"], "essay_generation": s["final_generation"]}


def gaussian_final_distribution():
    headline = run_experiment("gaussian", preset="essay")
    g = headline.summary["final_generation"]
    final = headline.table.query("metric == 'std' and generation == @g")["value"].to_numpy()
    fig = gauss_plots.plot_final_std_distribution(final, n_real=headline.config["n_real"], generations=g,
                                                  reference=0.45, reference_label="essay")
    return _figure(fig), {}


def gaussian_run_averages():
    many = run_experiment("gaussian", preset="run-averages")
    g = many.summary["final_generation"]
    last = many.table.query("metric == 'std' and generation == @g")["value"].to_numpy()
    fig = gauss_plots.plot_run_averages(last, n_real=many.config["n_real"], generation=g, sizes=(10, 100),
                                        reference=0.45)
    return _figure(fig), {}


def gaussian_martingale():
    runs = {f"ddof={d}": run_experiment("gaussian", preset="martingale", ddof=d) for d in (0, 1)}
    fig = gauss_plots.plot_mean_vs_median({k: r.table for k, r in runs.items()},
                                          n_real=runs["ddof=1"].config["n_real"])
    return _figure(fig), {}


def gaussian_workflows():
    tables = {wf_name: run_experiment("gaussian", preset="workflows", workflow=wf_name).table
              for wf_name in ("replace", "augment", "fresh", "accumulate")}
    return _figure(gauss_plots.plot_workflows(tables, title="Only 'replace' collapses (n = 100)")), {}


# -- chapter 2 ---------------------------------------------------------------------------------------

def cats_strip():
    cats = run_experiment("cats", preset="blue-cats")
    share = cats.extras["blue_share"]
    shown = [g for g in (0, 1, 2, 5, 10, 20, 40, 80) if g < share.shape[0]]
    hues = cats_plots.categorical_hues({g: round(share[g, 0] * 100) for g in shown}, 100)
    return _figure(cats_plots.plot_cat_strip(hues, title="One world of 100 cats")), {}


def cats_survival():
    cats = run_experiment("cats", preset="blue-cats")
    p, M, G = cats.config["blue"] / cats.config["n_real"], cats.config["n_real"], cats.config["generations"]
    fig = cats_plots.plot_survival({"simulated (replace)": cats.table["ever_lost"].to_numpy()},
                                   theory=wf.survival_curve_loss(p, M, G),
                                   title="Share of worlds that have lost blue by generation t")
    s = cats.summary
    return _figure(fig), {"p_lost": s["p_blue_lost"], "p_lost_se": s["p_blue_lost_se"],
                          "worlds": cats.config["replicates"]}


def cats_hues():
    gauss = run_experiment("cat-hues", preset="one-gaussian")
    G = gauss.config["generations"]
    shown = [g for g in (0, 1, 2, 10, 50, 100, 200, G) if g <= G]
    fig = cats_plots.plot_cat_strip({g: gauss.extras["hues"][g, 0] for g in sorted(set(shown))},
                                    title="One Gaussian fitted to its own cats (one world)")
    return _figure(fig), {"green_first": gauss.summary["green_share_first_synthetic"]}


def cats_remedies():
    remedies = run_experiment("cat-remedies", preset="blue-cats")
    curves = remedies.extras["curves"]
    fig = cats_plots.plot_survival({label: c["absent"] for label, c in curves.items()},
                                   ylabel="share of worlds with no blue cat in generation t",
                                   title="Which workflow keeps blue cats alive?")
    return _figure(fig), {}


# -- chapter 3 ---------------------------------------------------------------------------------------

def gmm_grid_snapshots():
    grid = run_experiment("gmm", preset="grid25")
    fig = gmm_plots.plot_snapshots(grid.extras["snapshots"], grid.extras["modes"],
                                   title="25 modes, fully synthetic loop, no bias: one chain")
    return _figure(fig), {}


def gmm_grid_bands():
    runs = {"λ = 1": run_experiment("gmm", preset="grid25"), "λ = 0.8": run_experiment("gmm", preset="grid25-biased"),
            "cherry-pick half": run_experiment("gmm", preset="grid25-cherry")}
    fig = gmm_plots.plot_metric_bands({k: r.table for k, r in runs.items()}, ("precision", "recall", "modes_covered"),
                                      title="Fully synthetic loop on 25 modes: quality, diversity, modes")
    return _figure(fig), {}


def gmm_loops():
    runs = {"fully synthetic": run_experiment("gmm", preset="grid25"),
            "augment": run_experiment("gmm", preset="grid25-augment"),
            "fresh, good start": run_experiment("gmm", preset="grid25-fresh"),
            "fresh, collapsed start": run_experiment("gmm", preset="grid25-fresh-collapsed")}
    fig = gmm_plots.plot_metric_bands({k: r.table for k, r in runs.items()}, ("precision", "recall", "modes_covered"),
                                      title="Three loops on 25 modes (n_synthetic = n_real)", logx=True)
    return _figure(fig), {}


def gmm_phase():
    phase = run_experiment("mad-phase", preset="gaussian")
    fig = gmm_plots.plot_phase_diagram(phase.table, distance="W2²",
                                       title=f"Fresh-data loop, Gaussians in d = {phase.config['dim']}")
    return _figure(fig), {}


# -- chapter 4 ---------------------------------------------------------------------------------------

def _vae_runs() -> dict:
    return {"replace": run_experiment("vae", preset="replace"),
            "replace, λ = 0.5": run_experiment("vae", preset="replace-biased"),
            "fresh data": run_experiment("vae", preset="fresh"),
            "accumulate": run_experiment("vae", preset="accumulate")}


def vae_grid():
    replace = run_experiment("vae", preset="replace")
    fig = vae_plots.plot_generation_grid(replace, title="replace: samples by generation (decoder means)")
    return _figure(fig), {}


def vae_metrics():
    return _figure(vae_plots.plot_metric_curves(_vae_runs())), {}


# -- chapter 5 ---------------------------------------------------------------------------------------

def _ngram_runs() -> dict:
    return {"replace": run_experiment("lm", preset="ngram"), "keep 10% real": run_experiment("lm", preset="ngram-keep10"),
            "accumulate": run_experiment("lm", preset="ngram-accumulate")}


def lm_perplexity():
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lm_plots.plot_metric_per_generation(_ngram_runs(), ax=ax, ylabel="perplexity on Macbeth (per character)",
                                        title="5-gram model (median and 5-95% band)")
    return fig, {}


def lm_survival():
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lm_plots.plot_survival(run_experiment("lm", preset="ngram"), ax=ax, title="Word survival vs initial count (5-gram)")
    return fig, {}


def lm_decoders():
    decoders = {"T = 1": run_experiment("lm", preset="ngram"), "T = 0.6": run_experiment("lm", preset="ngram-t06"),
                "beam search (5)": run_experiment("lm", preset="ngram-beam5")}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    lm_plots.plot_metric_per_generation(decoders, "seq_ppl_median", ax=axes[0],
                                        ylabel="median perplexity under generation 0", title="How probable the text is")
    lm_plots.plot_metric_per_generation(decoders, "distinct_2", ax=axes[1], ylabel="distinct-2", title="Diversity")
    fig.tight_layout()
    return fig, {}


# -- chapter 6 ---------------------------------------------------------------------------------------

def remedies_scoreboard():
    board = run_experiment("scoreboard", preset="chapter6")
    return _figure(remedy_plots.plot_scoreboard(board.table, threshold=board.summary["threshold"])), \
        {"threshold": board.summary["threshold"]}


def remedies_keep():
    board = run_experiment("scoreboard", preset="chapter6")
    curves = board.extras["curves"]
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.3))
    for ax, family in zip(axes, ["gaussian", "cats", "mixture"]):
        remedy_plots.plot_remedy_curves(curves, family, ax=ax,
                                        remedies=["none", "keep-real", "accumulate", "accumulate-subsample", "fresh"])
    axes[0].legend(loc="lower left")
    fig.tight_layout()
    return fig, {}


def remedies_regression():
    summaries = {p: run_experiment("regression", preset=p).summary for p in ("replace", "accumulate", "accumulate-subsample")}
    return _figure(remedy_plots.plot_regression(summaries)), \
        {"replace_ratio": summaries["replace"]["ratio_to_generation0"][-1],
         "accumulate_ratio": summaries["accumulate"]["ratio_to_generation0"][-1]}


def remedies_sweeps():
    sweeps = run_experiment("remedy-sweeps", preset="chapter6")
    return _figure(remedy_plots.plot_sweeps(sweeps.table, n_real=100, generations=sweeps.summary["generations"],
                                            sweeps=["kept real fraction"])), {}


# -- chapter 7 ---------------------------------------------------------------------------------------

def filtering_judges():
    board = run_experiment("scoreboard", preset="chapter6")
    curves = board.extras["curves"]
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.3))
    for ax, family in zip(axes, ["gaussian", "cats", "mixture"]):
        filtering_plots.plot_remedy_curves(curves, family, ax=ax,
                                           remedies=["none", "verifier", "learned-verifier", "self-likelihood"])
    axes[0].legend(loc="lower left")
    fig.tight_layout()
    return fig, {}


def filtering_scrape():
    board = run_experiment("scoreboard", preset="chapter6")
    fixed = board.summary["theory_fixed_points"]
    scrape = ["none", "web-scrape", "web-scrape-detector"]
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    filtering_plots.plot_remedy_curves(board.extras["curves"], "gaussian", ax=ax, remedies=scrape,
                                       fixed_points={r: fixed[r]["relative_sigma"] for r in scrape[1:]})
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return fig, {"scrape_theory": fixed["web-scrape"]["relative_sigma"],
                 "detector_theory": fixed["web-scrape-detector"]["relative_sigma"]}


def filtering_sweeps():
    sweeps = run_experiment("remedy-sweeps", preset="chapter6")
    return _figure(filtering_plots.plot_sweeps(sweeps.table, n_real=100, generations=sweeps.summary["generations"],
                                               sweeps=["detector miss rate", "tail reweighting strength"])), {}


# -- chapter 8 ---------------------------------------------------------------------------------------

def theory_random_walk():
    gauss = run_experiment("gaussian", preset="martingale")
    cats = run_experiment("cats", preset="blue-cats")
    fig = theory_plots.plot_random_walk(gauss.table, cats.table, n_real=gauss.config["n_real"],
                                        blue=cats.config["blue"], cats=cats.config["n_real"])
    return _figure(fig), {"p_lost": cats.summary["p_blue_lost"], "p_lost_theory": cats.summary["theory_p_blue_lost"]}


def theory_contraction():
    contraction = run_experiment("contraction", preset="regimes")
    fixed = contraction.summary["fixed_points"]
    return _figure(theory_plots.plot_contraction(contraction.table, fixed)), \
        {"keep5_fixed": fixed["keep 5% real"], "n": contraction.config["n_real"]}


def theory_summable():
    universality = run_experiment("universality", preset="pi2-over-6")
    regression = {w: run_experiment("regression", preset=w).summary for w in ("replace", "accumulate")}
    return _figure(theory_plots.plot_summable(universality.table, regression)), \
        {"pi2_over_6": recursion.PI2_OVER_6}


def theory_strong_collapse():
    strong = run_experiment("strong-collapse", preset="plateau")
    return _figure(theory_plots.plot_strong_collapse(strong.table, strong.summary["plateaus"])), {}


FIGURES: dict[str, Maker] = {
    "loop": loop,
    "gaussian-std-paths": gaussian_std_paths,
    "gaussian-final-distribution": gaussian_final_distribution,
    "gaussian-run-averages": gaussian_run_averages,
    "gaussian-martingale": gaussian_martingale,
    "gaussian-workflows": gaussian_workflows,
    "cats-strip": cats_strip,
    "cats-survival": cats_survival,
    "cats-hues": cats_hues,
    "cats-remedies": cats_remedies,
    "gmm-grid-snapshots": gmm_grid_snapshots,
    "gmm-grid-bands": gmm_grid_bands,
    "gmm-loops": gmm_loops,
    "gmm-phase": gmm_phase,
    "vae-grid": vae_grid,
    "vae-metrics": vae_metrics,
    "lm-perplexity": lm_perplexity,
    "lm-survival": lm_survival,
    "lm-decoders": lm_decoders,
    "remedies-scoreboard": remedies_scoreboard,
    "remedies-keep": remedies_keep,
    "remedies-regression": remedies_regression,
    "remedies-sweeps": remedies_sweeps,
    "filtering-judges": filtering_judges,
    "filtering-scrape": filtering_scrape,
    "filtering-sweeps": filtering_sweeps,
    "theory-random-walk": theory_random_walk,
    "theory-contraction": theory_contraction,
    "theory-summable": theory_summable,
    "theory-strong-collapse": theory_strong_collapse,
}


def facts() -> dict[str, float]:
    """Closed-form numbers the decks quote (``{{facts.name}}``), computed by the library, not typed."""
    from scipy.optimize import brentq

    from madlib.theory import gaussian, mad, recursion

    return {
        "bias_factor_095": (gaussian.median_std_rate(1000) + 0.5 * np.log(1 / 0.95)) / gaussian.median_std_rate(1000),
        "fresh_budget_80": max(s for s in range(1, 1000) if mad.fresh_fixed_point_variance(100, s, 0.7) >= 0.8),
        "kept_items_90": 100 * brentq(lambda f: gaussian.kept_fraction_variance(100, f, 10**6) - 0.9, 1e-9, 1),
        "kept_items_90_exact": 100 * brentq(lambda f: recursion.kept_fraction_fixed_point(100, f) - 0.9, 1e-9, 1),
        "scrape_variance": recursion.web_scrape_fixed_point(0.8, 0.8),
    }


#: Values every deck may quote, as ``{{facts.NAME:format}}``; cheap (closed forms only).
VALUES: dict[str, Callable[[], dict[str, float]]] = {"facts": facts}
