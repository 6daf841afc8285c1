"""Chapter 2 experiments: cats, cat-hues, zipf-survival; plots draw."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from madlib import run_experiment
from madlib.data.hues import COLOUR_NAMES, cat_hue_sampler, colour_names
from madlib.models.mixture1d import HueMixtureFamily
from madlib.simulations.cats import simulate_cat_hues, simulate_cats
from madlib.theory import wright_fisher as wf


def test_cats_experiment_reports_loss_against_theory():
    result = run_experiment("cats", replicates=3000, generations=1000, seed=1)
    s = result.summary
    assert {"p_blue_lost", "mean_generations_to_lose_blue", "theory_p_blue_lost"} <= set(s)
    assert abs(s["p_blue_lost"] - 0.9) < 4 * s["p_blue_lost_se"]
    assert abs(s["mean_generations_to_lose_blue"] - s["exact_generations_to_lose_blue"]) < 4 * s["se_generations_to_lose_blue"]
    assert s["p_absorbed"] > 0.999
    assert s["theory_generations_to_lose_blue"] == pytest.approx(51.17, abs=0.01)
    again = run_experiment("cats", replicates=3000, generations=1000, seed=1)
    assert again.cached and again.summary["p_blue_lost"] == s["p_blue_lost"]


def test_remedies_rank_as_expected():
    common = dict(replicates=1500, generations=150, seed=3)
    replace = run_experiment("cats", **common).summary
    kept = run_experiment("cats", kept_real_fraction=0.1, **common).summary
    fresh = run_experiment("cats", workflow="fresh", **common).summary
    accumulate = run_experiment("cats", workflow="accumulate", generations=60, replicates=500, seed=3).summary
    assert accumulate["p_blue_lost"] == 0.0  # the original 10 blue cats stay in the pool
    assert fresh["p_blue_absent_final"] < 0.01
    assert kept["p_blue_absent_final"] < replace["p_blue_absent_final"] - 0.3
    assert kept["p_blue_lost"] > 0.3  # blue does hit zero, the kept real cats bring it back
    assert kept["mean_blue_share_final"] > 0.02


def test_cats_bad_arguments():
    with pytest.raises(ValueError, match="workflow"):
        run_experiment("cats", workflow="nonsense", replicates=10, generations=5)
    with pytest.raises(ValueError, match="blue"):
        run_experiment("cats", blue=100, cats=100, replicates=10, generations=5)
    with pytest.raises(ValueError, match="n_real"):
        simulate_cats(n_real=1, blue=1)


def test_unimodal_hue_model_draws_green_cats_and_the_mixture_does_not():
    gauss = run_experiment("cat-hues", family="gaussian", generations=20, replicates=60, seed=0).summary
    mix = run_experiment("cat-hues", family="mixture", generations=20, replicates=60, seed=0).summary
    assert len(gauss["green_share"]) == 21
    assert gauss["green_share"][0] == 0 and mix["green_share"][0] == 0  # real cats: yellow and blue only
    assert gauss["green_share"][1] > 0.25  # theory for one Gaussian fit: about 0.40
    assert max(mix["green_share"]) < 0.02
    assert mix["blue_share"][1] == pytest.approx(0.1, abs=0.03)
    assert gauss["blue_share"][1] < 0.05  # blue cats turned green at once


def test_unimodal_hue_world_ends_in_one_colour():
    out = simulate_cat_hues("gaussian", generations=600, replicates=40, seed=4)
    present = (out["shares"] > 0).sum(-1)
    assert (present[0] == 2).mean() > 0.95 and present[1].mean() > 4  # real: yellow + blue
    assert (present[-1] == 1).mean() > 0.8


def test_mixture_em_recovers_the_two_clusters():
    g = torch.Generator().manual_seed(0)
    hues = cat_hue_sampler(0.1)(50, 100, g)
    model = HueMixtureFamily(components=2, iterations=20).fit(hues)
    order = model.means.argsort(dim=1)
    means = model.means.gather(1, order)
    weights = model.weights.gather(1, order)
    assert torch.allclose(means[:, 0], torch.full((50,), 55.0, dtype=torch.float64), atol=3)
    assert torch.allclose(means[:, 1], torch.full((50,), 215.0, dtype=torch.float64), atol=6)
    assert torch.allclose(weights[:, 1], torch.full((50,), 0.1, dtype=torch.float64), atol=1e-6)
    draws = model.sample(200, generator=g)
    assert (colour_names(draws.numpy()) == "green").mean() < 0.01
    with pytest.raises(ValueError, match="components"):
        HueMixtureFamily(components=0)


def test_zipf_rare_words_survive_linearly_in_their_count():
    s = run_experiment("zipf-survival", generations=400, replicates=6, seed=0).summary
    assert s["median_linear_fit_slope"] == pytest.approx(2 / np.log(2), rel=0.3)
    assert abs(s["p_lost_count_1_first_generation"] - s["theory_p_lost_count_1_first_generation"]) < 0.15


def test_plots_draw(tmp_path):
    from madlib.plots import cats as pc
    from madlib.widgets.cats import explorer_figure

    out = simulate_cat_hues("gaussian", generations=5, replicates=2)
    figs = [pc.plot_cat_strip({g: out["hues"][g, 0] for g in (0, 1, 5)}),
            pc.plot_hue_histograms({g: out["hues"][g, 0] for g in (0, 5)}),
            pc.plot_colour_shares({n: out["shares"][:, :, i].mean(1) for i, n in enumerate(COLOUR_NAMES)}),
            explorer_figure(n_real=20, blue=2, generations=30, replicates=50)]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="blue"):
        explorer_figure(n_real=20, blue=25)


# ---------------------------------------------------------------- issue 16: tails and scaling laws

def test_tail_cut_data_plateaus_and_clean_data_brings_the_curve_back():
    from madlib.simulations.cats import simulate_zipf_tails
    from madlib.theory import wright_fisher as wf

    sizes = [300, 3000, 30000, 300000, 3000000]
    out = simulate_zipf_tails(vocabulary=20000, exponent=1.5, truncate_rank=500, sizes=sizes, clean_shares=(0.1,),
                              replicates=12, seed=3)
    p, q = out["p"], out["q"]
    plateau = p[500:].sum()
    for label, error in out["error"].items():
        theory = wf.memorization_error(p, [(p, out["clean"][label]), (q, out["synthetic"][label])])
        se = error.std(axis=0, ddof=1) / np.sqrt(error.shape[0])
        assert np.all(np.abs(error.mean(axis=0) - theory) <= 5 * se + 1e-4), label
    # tail-cut data: the error stops falling at the mass of the cut tail
    assert out["error"]["tail-cut"][:, -1].mean() == pytest.approx(plateau, rel=1e-3)
    assert out["error"]["tail-cut"][:, -1].mean() > 5 * out["error"]["clean"][:, -1].mean()
    # 10% clean data: the curve leaves the plateau again at large sizes
    assert out["error"]["10% clean"][:, -1].mean() < 0.6 * plateau
    # the clean scaling law: slope -(1 - 1/beta) = -1/3 while T << vocabulary^beta
    clean = wf.memorization_error(p, [(p, np.array([1e3, 1e4]))])
    assert np.log(clean[1] / clean[0]) / np.log(10) == pytest.approx(-1 / 3, abs=0.07)


def test_zipf_tails_experiment_and_bad_arguments():
    from madlib.simulations.cats import simulate_zipf_tails
    from madlib.theory import wright_fisher as wf

    result = run_experiment("zipf-tails", preset="tails", scale="smoke")
    assert result.summary["final_error"]["tail-cut"] == pytest.approx(result.summary["plateau"], rel=1e-3)
    assert result.summary["clean_slope"] == pytest.approx(result.summary["theory_clean_slope"], abs=0.05)
    with pytest.raises(ValueError, match="sizes"):
        simulate_zipf_tails(sizes=[])
    with pytest.raises(ValueError, match="rank"):
        wf.truncate_tail(wf.zipf_probabilities(10, 1.0), 11)
    with pytest.raises(ValueError, match="sources"):
        wf.memorization_error(np.ones(3) / 3, [(np.ones(2) / 2, 10)])


def test_one_gaussian_hue_fit_keeps_about_two_percent_blue():
    # the first fit to 90 yellow (55 deg) and 10 blue (215 deg) cats still puts ~2% in the blue range
    from madlib.data.hues import COLOUR_RANGES
    from madlib.theory.gaussian import normal_share_in_range

    result = run_experiment("cat-hues", preset="one-gaussian", scale="smoke", generations=1, replicates=400)
    simulated = result.summary["blue_share"][1]
    se = result.summary["blue_share_first_synthetic_se"]
    mean, std = 0.9 * 55 + 0.1 * 215, np.sqrt(36 + 0.09 * 160**2)
    theory = normal_share_in_range(mean, std, *COLOUR_RANGES["blue"])
    assert 0.015 < theory < 0.025
    assert abs(simulated - theory) < 5 * se + 0.003


def test_static_explorer_frames():
    from madlib.widgets.cats import explorer_frames

    frames = explorer_frames(sizes=(50,), blue_shares=(0.1,), generations=40, replicates=50)
    (curves,) = frames.values()
    assert [c[2] for c in curves] == ["worlds without blue (simulated)", "Wright-Fisher, exact",
                                      "blue share, averaged over worlds"]
    assert all(len(c[0]) == 41 for c in curves)


def test_survival_median_counts_survivors_as_never_lost():
    from madlib.simulations.cats import survival_by_count

    # 5 copies of a count-1 word: lost at 1, 2, 3, and two never lost within the horizon (-1)
    table = survival_by_count(np.array([1]), np.array([[1], [2], [3], [-1], [-1]]))
    assert table.loc[0, "median_generations_to_loss"] == 3.0  # not 2.0, the median of the lost ones only
    assert table.loc[0, "mean_generations_to_loss"] == 2.0
    assert np.isnan(survival_by_count(np.array([1]), np.array([[1], [-1], [-1]])).loc[0, "median_generations_to_loss"])
