"""Experiments gmm and mad-phase, and the fresh-data closed forms."""
import numpy as np
import pytest

from madlib.experiments import run_experiment
from madlib.simulations.gmm import eval_grid
from madlib.simulations.gaussian import simulate_exact
from madlib.theory import mad

KEYS = ("precision", "recall", "modes_covered", "sliced_w2", "spread", "components")


def test_gmm_json_has_per_generation_lists():
    result = run_experiment("gmm", generations=4, replicates=3, n_real=200, n_eval=200, snapshots=[0, 4])
    summary = result.summary
    assert summary["generations"] == eval_grid(4, 5)
    for key in KEYS:
        assert len(summary[key]) == len(summary["generations"])
    assert set(result.extras["snapshots"]) == {0, 4}
    assert result.extras["snapshots"][4].shape == (200, 2)


def test_fully_synthetic_grid_loses_modes():
    summary = run_experiment("gmm", dataset="grid25", generations=10, replicates=4, n_real=300, n_eval=300).summary
    assert summary["modes_covered"][0] > 20  # the first fit finds most of the 25 modes (21.5 to 23.75 over seeds 0-2)
    assert summary["modes_covered"][-1] < summary["modes_covered"][0] - 4
    assert summary["recall"][-1] < summary["recall"][0] - 0.1


def test_sampling_bias_keeps_quality_and_loses_diversity():
    common = dict(dataset="moons", generations=8, replicates=4, n_real=300, n_eval=300)
    plain = run_experiment("gmm", sampling_bias=1.0, **common).summary
    biased = run_experiment("gmm", sampling_bias=0.7, **common).summary
    assert biased["recall"][-1] < plain["recall"][-1] - 0.2
    assert biased["precision"][-1] > plain["precision"][-1] - 0.02
    assert biased["spread"][-1] < plain["spread"][-1]


def test_fresh_loop_forgets_its_first_generation():
    common = dict(workflow="fresh", generations=12, replicates=4, n_real=300, n_synthetic=300, n_eval=300)
    good = run_experiment("gmm", start="fit", **common).summary
    bad = run_experiment("gmm", start="collapsed", **common).summary
    assert bad["recall"][0] < 0.1 and good["recall"][0] > 0.9  # very different starts
    assert abs(bad["recall"][-1] - good["recall"][-1]) < 0.05
    assert bad["sliced_w2"][-1] < 0.2 and good["sliced_w2"][-1] < 0.2


def test_fresh_fixed_point_matches_the_exact_chain():
    n_real, n_synthetic, lam = 100, 400, 0.7
    chain = simulate_exact(n_real, 300, 2000, workflow="fresh", sampling_bias=lam, n_synthetic=n_synthetic,
                           record=np.arange(100, 301), seed=1)
    stationary = chain.var.mean()
    assert abs(stationary / mad.fresh_fixed_point_variance(n_real, n_synthetic, lam) - 1) < 0.03
    unbiased = simulate_exact(n_real, 300, 2000, workflow="fresh", n_synthetic=n_synthetic,
                              record=np.arange(100, 301), seed=2)
    mean_error = (unbiased.mean**2).mean()
    assert abs(mean_error / mad.fresh_stationary_mean_error(n_real, n_synthetic) - 1) < 0.1
    assert mad.fresh_stationary_mean_error(n_real, n_synthetic) < 1 / n_real  # better than real data alone


def test_replace_cov_scale():
    assert np.isclose(mad.replace_cov_scale(3, 0.5), 0.125)
    assert np.isclose(mad.replace_cov_scale(2, 1.0, n=11, ddof=0), (10 / 11) ** 2)


def test_mad_phase_gaussian_boundary():
    result = run_experiment("mad-phase", family="gaussian", dim=2, n_real=[50], synthetic_ratio=[4.0],
                            sampling_bias=[0.7, 1.0], generations=15, tail=8, replicates=300)
    frame = result.table.set_index("sampling_bias")
    assert frame.loc[0.7, "log10_ratio"] > 0.2  # biased synthetic data hurts
    assert frame.loc[1.0, "log10_ratio"] < 0.05  # unbiased synthetic data does not hurt
    assert 0 <= result.summary["share_of_grid_where_synthetic_helps"] <= 1


def test_mad_phase_mixture_runs():
    result = run_experiment("mad-phase", family="gmm", n_real=[50], synthetic_ratio=[4.0], sampling_bias=[0.7],
                            generations=4, tail=2, replicates=6)
    assert result.summary["distance"].startswith("KL")
    assert np.isfinite(result.table["loop_end"]).all() and result.table["loop_end"].iloc[0] > 0


@pytest.mark.parametrize("overrides", [dict(dataset="spiral"), dict(start="middle"), dict(replicates=0),
                                       dict(snapshots=[99]), dict(keep_fraction=0.0)])
def test_gmm_bad_arguments(overrides):
    with pytest.raises(ValueError):
        run_experiment("gmm", generations=3, **overrides)


def test_mad_phase_bad_arguments():
    with pytest.raises(ValueError, match="n_real"):
        run_experiment("mad-phase", dim=10, n_real=[5])
    with pytest.raises(ValueError, match="tail"):
        run_experiment("mad-phase", generations=3, tail=5)


def test_admissible_synthetic_reads_the_threshold():
    import pandas as pd
    from madlib.simulations.gmm import admissible_synthetic
    frame = pd.DataFrame({
        "sampling_bias": [0.7] * 6 + [1.0] * 2,
        "n_real": [20, 20, 20, 200, 200, 200, 20, 20],
        "synthetic_ratio": [0.5, 2.0, 9.0, 0.5, 2.0, 9.0, 0.5, 9.0],
        "log10_ratio": [-0.1, -0.05, 0.2, 0.1, 0.3, 0.5, -0.1, -0.2],
    })
    table = admissible_synthetic(frame).set_index(["sampling_bias", "n_real"])
    assert table.loc[(0.7, 20), "admissible_ratio"] == 2.0 and table.loc[(0.7, 20), "admissible_n_synthetic"] == 40
    assert table.loc[(0.7, 20), "bounded"]
    assert table.loc[(0.7, 200), "admissible_ratio"] == 0.0
    assert not table.loc[(1.0, 20), "bounded"] and table.loc[(1.0, 20), "admissible_ratio"] == 9.0
    with pytest.raises(ValueError, match="columns"):
        admissible_synthetic(frame.drop(columns="log10_ratio"))


def test_mad_phase_effective_sample_size_and_plots():
    import matplotlib
    matplotlib.use("Agg")
    from madlib.plots.gmm import explorer_plotly, plot_phase_diagram
    result = run_experiment("mad-phase", family="gaussian", dim=2, n_real=[50], synthetic_ratio=[4.0],
                            sampling_bias=[0.7, 1.0], generations=15, tail=8, replicates=300)
    frame = result.table
    assert np.allclose(frame["effective_sample_ratio"], 10 ** -frame["log10_ratio"])
    fig = plot_phase_diagram(frame, distance="W2²")
    texts = [t.get_text() for ax in fig.axes[:2] for t in ax.texts]
    assert texts == [f"{v:.2g}" for v in frame.sort_values("sampling_bias")["effective_sample_ratio"]]
    runs = {"a": run_experiment("gmm", generations=3, replicates=2, n_real=100, n_eval=100).table}
    plotly_fig = explorer_plotly(runs, n_modes=2)
    assert len(plotly_fig.data) == 3 and max(max(t.y) for t in plotly_fig.data) <= 1.0
    with pytest.raises(ValueError, match="runs"):
        explorer_plotly({})


def test_presets_resolve():
    from madlib.experiments import resolve_config
    config = resolve_config("gmm", {}, "default", "grid25-fresh-collapsed")
    assert config["workflow"] == "fresh" and config["start"] == "collapsed" and config["snapshots"] == [0, 1, 40]
    assert resolve_config("mad-phase", {}, "smoke", "mixture")["family"] == "gmm"
