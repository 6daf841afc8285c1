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
    assert np.allclose(frame["proxy_ratio"], 10 ** -frame["log10_ratio"])
    # n_e read off the measured real-only curve agrees in sign with the paired comparison (anchored inversion)
    assert ((frame["effective_sample_ratio"] > 1) == (frame["log10_ratio"] < 0)).all()
    # a Gaussian's W2^2 falls like 1/n, so the curve's n_e is close to the 1/n proxy
    assert np.allclose(frame["effective_sample_ratio"], frame["proxy_ratio"], rtol=0.25)
    assert -1.2 < result.summary["real_only_slope"] < -0.8
    fig = plot_phase_diagram(frame, distance="W2²")
    texts = [t.get_text().rstrip("*") for ax in fig.axes[:2] for t in ax.texts]
    assert texts == [f"{v:.2g}" for v in frame.sort_values("sampling_bias")["effective_sample_ratio"]]
    from madlib.plots.gmm import plot_real_only_curves
    curves = plot_real_only_curves({"Gaussian": result.summary})
    assert "slope" in curves.axes[0].get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="real_only_curve"):
        plot_real_only_curves({"old": {"distance": "W2"}})
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


def test_effective_sample_size_inverts_the_real_only_curve():
    from madlib.simulations.gmm import curve_slope, effective_sample_size, real_only_sizes
    sizes = real_only_sizes(10, 1000, 9)
    assert sizes[0] == 10 and sizes[-1] == 1000 and sizes == sorted(set(sizes))
    n = np.asarray(sizes, dtype=float)
    # a 1/n curve: n_e is the size whose distance is the target, inside and beyond the curve
    n_e, extrapolated = effective_sample_size(n, 2.0 / n, [2.0 / 50, 2.0 / 4000, 2.0 / 3])
    assert np.allclose(n_e, [50, 4000, 3]) and list(extrapolated) == [False, True, True]
    assert curve_slope(n, 2.0 / n) == pytest.approx(-1)
    # a curve steeper than 1/n (as EM's at small n): the 1/n proxy overstates n_e, the inversion does not
    steep = 5.0 / n**1.5
    target = 5.0 / 100**1.5 / 3  # the loop ends 3 times closer than a fit to 100 items
    n_e, _ = effective_sample_size(n, steep, [target])
    assert n_e[0] == pytest.approx(100 * 3 ** (1 / 1.5), rel=1e-6)  # 208, not the proxy's 300
    # anchored at a cell's own real-only distance: the ratio comes from the curve's shape only
    n_e, _ = effective_sample_size(n, 2.0 / n, [1.1 / 100], anchors=[2.2 / 100], anchor_sizes=[100])
    assert n_e[0] == pytest.approx(200)
    # a noisy, non-monotone curve is made non-increasing before it is read
    noisy = 2.0 / n * np.where(np.arange(n.size) == 4, 1.3, 1.0)
    assert np.isfinite(effective_sample_size(n, noisy, [2.0 / 120])[0]).all()
    for bad in (dict(sizes=[1, 2], distances=[1, 0.5], targets=[0.7]),
                dict(sizes=[3, 2, 1], distances=[1, 2, 3], targets=[1]),
                dict(sizes=n, distances=2.0 / n, targets=[-1.0]),
                dict(sizes=n, distances=-2.0 / n, targets=[1.0])):
        with pytest.raises(ValueError):
            effective_sample_size(**bad)
    with pytest.raises(ValueError, match="anchor"):
        effective_sample_size(n, 2.0 / n, [0.1], anchors=[0.1])
    with pytest.raises(ValueError, match="fall"):
        effective_sample_size(n, np.ones_like(n) * 2, [5.0])
