"""Chapter 1: both simulation methods agree with the closed forms."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from madlib import run_experiment
from madlib.cli import main as cli_main
from madlib.core.loop import run_loop
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.simulations.gaussian import simulate_exact
from madlib.core.sources import DistributionSource
from madlib.theory import gaussian as theory


def z_score(samples, expected):
    samples = np.asarray(samples)
    return abs(samples.mean() - expected) / (samples.std(ddof=1) / np.sqrt(samples.size))


@pytest.mark.parametrize("ddof", [0, 1])
def test_exact_method_matches_log_variance_law(ddof):
    n, T = 50, 40
    chain = simulate_exact(n, T, 20000, ddof=ddof, record=[T], seed=3)
    log_var = chain.log_var[-1]
    assert z_score(log_var, theory.log_var_mean(n, T, ddof)) < 4
    assert log_var.var() == pytest.approx(theory.log_var_var(n, T), rel=0.05)
    assert z_score(chain.std[-1], theory.expected_std(n, T, ddof)) < 4


def test_ddof1_variance_is_a_martingale_that_goes_to_zero():
    n = 20
    chain = simulate_exact(n, 200, 40000, ddof=1, record=[10, 200], seed=5)
    # the mean of sigma^2 stays 1 ...
    assert z_score(chain.var[0], 1.0) < 4
    # ... while its median heads to zero (almost surely)
    assert np.median(chain.var[1]) < 0.01
    assert np.median(chain.var[1]) == pytest.approx(theory.median_std(n, 200, 1) ** 2, rel=0.15)


def test_sample_method_matches_exact_method_and_theory():
    n, T, R = 30, 25, 4000
    source = DistributionSource(gaussian_source_sampler(), replicates=R)
    result = run_loop(GaussianFamily(ddof=0), source, generations=T - 1, n_real=n, seed=2)
    sampled_std = result.model.std.numpy()
    exact_std = simulate_exact(n, T, R, record=[T], seed=2).std[-1]
    expected = theory.expected_std(n, T, 0)
    assert z_score(sampled_std, expected) < 4
    assert z_score(exact_std, expected) < 4
    # the two methods sample the same law: medians agree too
    assert np.median(sampled_std) == pytest.approx(np.median(exact_std), rel=0.06)
    # mean drift E[(mu_T - mu_0)^2]
    assert z_score(result.model.mean[:, 0].numpy() ** 2, theory.mean_drift(n, T, 0)) < 4


def test_sampling_bias_shrinks_variance_by_lambda_per_generation():
    n, T, lam = 100, 10, 0.8
    chain = simulate_exact(n, T, 20000, ddof=1, sampling_bias=lam, record=[T], seed=1)
    assert z_score(chain.var[-1], theory.expected_var(n, T, 1, lam)) < 4
    # generation T is fitted T + 1 times; the T fits after the first see biased samples
    assert theory.expected_var(n, T, 1, lam) == pytest.approx(lam ** T)


def test_magazine_numbers():
    """1,000 samples, 1,000 runs: mean final std about 0.45 after 1,000 iterations, 0.0004 after 10,000.

    1,000 iterations are 1,000 fits: generation 999 in the course's numbering."""
    c1 = simulate_exact(1000, 999, 1000, record=[999], seed=0)
    assert 0.42 < c1.std[-1].mean() < 0.52
    c2 = simulate_exact(1000, 9999, 1000, record=[9999], seed=0)
    assert 2e-4 < c2.std[-1].mean() < 1.2e-3
    assert theory.expected_std(1000, 999) == pytest.approx(0.472, abs=0.0005)
    assert theory.median_std(1000, 999) == pytest.approx(0.368, abs=0.001)
    assert theory.expected_std(1000, 9999) == pytest.approx(5.5e-4, rel=0.01)
    assert theory.median_std(1000, 9999) == pytest.approx(4.5e-5, rel=0.01)
    assert theory.median_std(1000, 1000, ddof=1) == pytest.approx(0.606, abs=0.002)


def test_exact_method_is_sound_at_100000_generations():
    chain = simulate_exact(100, 100_000, 50, record=[100_000], seed=0)
    assert np.isfinite(chain.log_var).all() and np.isfinite(chain.mean).all()
    # sigma itself underflows (e^-1000); log space keeps the law
    assert np.median(chain.log_var[-1]) == pytest.approx(theory.log_var_mean(100, 100_000), rel=0.01)


def test_accumulate_keeps_variance_where_replace_collapses():
    """The public "Collapse or Thrive?" sweep, n=100, 100 iterations: replace 0.309/0.141, accumulate 0.997/0.975."""
    acc = simulate_exact(100, 100, 4000, workflow="accumulate", record=[100], seed=0).var[-1]
    rep = simulate_exact(100, 100, 4000, workflow="replace", record=[100], seed=0).var[-1]
    assert np.median(acc) > 0.93 and 0.9 < acc.mean() < 1.05
    assert 0.11 < np.median(rep) < 0.17


@pytest.mark.parametrize("workflow", ["augment", "fresh", "accumulate"])
def test_exact_pooled_workflows_match_sample_method(workflow):
    n, T, R = 20, 8, 3000
    source = DistributionSource(gaussian_source_sampler(), replicates=R)
    sampled = run_loop(GaussianFamily(), source, generations=T - 1, n_real=n, workflow=workflow, seed=4)
    exact = simulate_exact(n, T, R, workflow=workflow, record=[T], seed=4)
    s_var, e_var = sampled.model.cov[:, 0, 0].numpy(), exact.var[-1]
    pooled_se = np.sqrt(s_var.var() / R + e_var.var() / R)
    assert abs(s_var.mean() - e_var.mean()) < 4 * pooled_se


def test_multivariate_log_det_follows_wishart_law():
    n, d, T, R = 40, 5, 6, 3000
    source = DistributionSource(gaussian_source_sampler(dim=d), replicates=R)
    result = run_loop(GaussianFamily(), source, generations=T - 1, n_real=n, seed=0)
    log_det = torch.logdet(result.model.cov).numpy()
    assert z_score(log_det, T * theory.log_det_step_mean(n, d)) < 4


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_real=1), "n_real"), (dict(generations=-1), "generations"), (dict(replicates=0), "replicates"),
    (dict(ddof=2), "ddof"), (dict(workflow="recycle"), "workflow"), (dict(sampling_bias=1.5), "sampling_bias"),
])
def test_exact_bad_arguments(kwargs, name):
    args = dict(n_real=10, generations=5, replicates=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        simulate_exact(**args)


def test_theory_bad_arguments():
    with pytest.raises(ValueError, match="n"):
        theory.expected_std(1, 10)
    with pytest.raises(ValueError, match="generation"):
        theory.expected_var(10, -1)


def test_gaussian_experiment_is_cached_and_methods_agree():
    exact = run_experiment("gaussian", n_real=100, generations=50, replicates=2000)
    assert not exact.cached
    assert exact.summary["final_std_mean"] == pytest.approx(exact.summary["theory_std_mean"], rel=0.05)
    again = run_experiment("gaussian", n_real=100, generations=50, replicates=2000)
    assert again.cached and again.summary["final_std_mean"] == exact.summary["final_std_mean"]
    sample = run_experiment("gaussian", n_real=100, generations=50, replicates=2000, method="sample")
    assert sample.summary["final_std_median"] == pytest.approx(exact.summary["final_std_median"], rel=0.08)
    assert set(sample.table["metric"]) == {"mean", "std"}


def test_experiment_bad_names_and_parameters():
    with pytest.raises(ValueError, match="experiment name"):
        run_experiment("no-such-experiment")
    with pytest.raises(ValueError, match="wiggles"):
        run_experiment("gaussian", wiggles=3)
    with pytest.raises(ValueError, match="method"):
        run_experiment("gaussian", method="guess")
    with pytest.raises(ValueError, match="generations"):
        run_experiment("gaussian", generations=-1)


def test_cli_prints_one_json_object(capsys):
    assert cli_main(["run", "gaussian", "n_real=50", "generations=20", "replicates=100"]) == 0
    out = capsys.readouterr().out.strip()
    summary = json.loads(out)
    assert summary["config"]["n_real"] == 50 and "final_std_mean" in summary and summary["cached"] is False
    assert cli_main(["run", "gaussian", "n_real=50", "generations=20", "replicates=100"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is True
    assert cli_main(["run", "gaussian", "n_real=x"]) == 2
    assert cli_main(["list"]) == 0
    assert "gaussian" in capsys.readouterr().out


def test_module_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "madlib", "run", "gaussian", "n_real=20", "generations=5",
                           "replicates=10", "--no-cache"], capture_output=True, text=True, check=True,
                          env={**__import__("os").environ, "MADLIB_CACHE": str(tmp_path)})
    assert json.loads(proc.stdout)["final_generation"] == 5


# ---------------------------------------------------------------- issue 13: the corrected formulas

def test_log_det_drift_first_order_against_exact_digamma_sum():
    from scipy.special import digamma

    for ddof in (0, 1):
        for n, dim in ((2000, 3), (5000, 10), (20000, 10)):
            exact = sum(digamma((n - i) / 2) for i in range(1, dim + 1)) + dim * np.log(2 / (n - ddof))
            assert theory.log_det_step_mean(n, dim, ddof) == pytest.approx(exact, rel=1e-12)
            # first order: -d(d+3)/(2n) for ddof=0, -d(d+1)/(2n) for ddof=1; the error is O(d^3/n^2)
            assert theory.log_det_step_approx(n, dim, ddof) == pytest.approx(exact, rel=3 * dim / n)
    # d(d+3)/4 = 32.5 times the 1-D log-variance drift at d=10 (ddof=0), d(d+1)/2 = 55 for ddof=1,
    # not the d(d+1)/2n... "times faster" the chapter once said
    assert theory.log_det_drift_ratio(20000, 10, 0) == pytest.approx(32.5, rel=0.01)
    assert theory.log_det_drift_ratio(20000, 10, 1) == pytest.approx(55.0, rel=0.01)
    assert theory.log_det_step_approx(100, 1, 0) == pytest.approx(-2 / 100)


def test_median_rate_differs_between_ddof0_and_ddof1():
    # median(sigma_T) ~ e^{-T/n} (ddof=0) and e^{-T/(2(n-1))} (ddof=1), T = generation + 1 fits
    for ddof, worked in ((0, (0.368, 4.5e-5)), (1, (0.606, 0.0067))):
        for generation, value in zip((999, 9999), worked):
            exact = theory.median_std(1000, generation, ddof)
            assert exact == pytest.approx(value, rel=0.01)
            assert theory.median_std_approx(1000, generation, ddof) == pytest.approx(exact, rel=0.01)
    assert theory.median_std_rate(1000, 1) == pytest.approx(1 / 1998)
    # the ddof=1 rate is half the ddof=0 one: e^{-T/n} would be far off for ddof=1
    assert theory.median_std(1000, 9999, 1) > 100 * np.exp(-10000 / 1000)
    chain = simulate_exact(200, 399, 20000, ddof=1, record=[399], seed=11)
    assert np.median(chain.std[-1]) == pytest.approx(theory.median_std_approx(200, 399, 1), rel=0.03)


def test_expected_std_with_ddof1_is_not_one():
    # only E[sigma_T^2] stays 1 with ddof=1; E[sigma_T] decays: 0.779 at 1,000 fits, 0.082 at 10,000
    assert theory.expected_var(1000, 9999, 1) == pytest.approx(1.0)
    assert theory.expected_std(1000, 999, 1) == pytest.approx(0.779, abs=5e-4)
    assert theory.expected_std(1000, 9999, 1) == pytest.approx(0.082, abs=5e-4)
    chain = simulate_exact(1000, 999, 20000, ddof=1, record=[999], seed=2)
    assert z_score(chain.std[-1], 0.7786) < 4


def test_monte_carlo_standard_error_of_the_essays_averages():
    # 1,000 runs at 10,000 fits: about 40% relative error, so 4e-4 is within noise of 5.5e-4
    se = theory.mean_std_standard_error(1000, 9999, 1000)
    mean = theory.expected_std(1000, 9999)
    assert se / mean == pytest.approx(0.385, abs=0.01)
    assert abs(4e-4 - mean) < 1 * se
    # "100 or even 10 runs give similar results": a 10-run average at 1,000 fits has SE ~0.12
    assert theory.mean_std_standard_error(1000, 999, 10) == pytest.approx(0.12, abs=0.005)
    # ... and the simulated spread of 10-run averages agrees with it
    chain = simulate_exact(1000, 999, 10 * 2000, record=[999], seed=4)
    averages = chain.std[-1].reshape(2000, 10).mean(axis=1)
    assert averages.std(ddof=1) == pytest.approx(0.1203, rel=0.06)
    mean_hat, se_hat = theory.sample_mean_se(chain.std[-1])
    assert se_hat == pytest.approx(theory.mean_std_standard_error(1000, 999, chain.std[-1].size), rel=0.05)
    assert abs(mean_hat - theory.expected_std(1000, 999)) < 4 * se_hat
    with pytest.raises(ValueError, match="runs"):
        theory.mean_std_standard_error(1000, 999, 0)
    with pytest.raises(ValueError, match="values"):
        theory.sample_mean_se([1.0])


def test_plain_numpy_loop_follows_the_same_law():
    from madlib.simulations.gaussian import simulate_plain

    std = simulate_plain(20, 49, 20000, seed=6)
    assert std.shape == (50, 20000)
    assert z_score(std[-1], theory.expected_std(20, 49)) < 4
    assert z_score(np.log(std[-1] ** 2), theory.log_var_mean(20, 49)) < 4


def test_normal_share_in_range():
    # one Gaussian fitted to 90 yellow cats at 55 and 10 blue ones at 215 (spread 6): ~2% still blue
    share = theory.normal_share_in_range(71.0, np.sqrt(36 + 0.09 * 160**2), 170, 260)
    assert share == pytest.approx(0.0203, abs=5e-4)
    assert theory.normal_share_in_range(0, 1, -1.96, 1.96) == pytest.approx(0.95, abs=1e-3)
    with pytest.raises(ValueError, match="high"):
        theory.normal_share_in_range(0, 1, 1, 0)


def test_standard_error_of_the_mean_variance():
    # E[sigma^4] exact against simulation, and the 100-seed SE of "Collapse or Thrive?" at n=32
    chain = simulate_exact(20, 29, 200000, record=[29], seed=9)
    se = theory.var_mean_standard_error(20, 29, chain.var[-1].size)
    assert chain.var[-1].std(ddof=1) / np.sqrt(chain.var[-1].size) == pytest.approx(se, rel=0.1)
    se32 = theory.var_mean_standard_error(32, 99, 100)
    assert se32 == pytest.approx(0.095, abs=0.002)
    assert abs(0.073 - theory.expected_var(32, 99)) < se32  # the published 0.073 is within noise


@pytest.mark.parametrize("n, ddof, lam", [(10, 0, 1.0), (100, 0, 0.9), (1000, 1, 1.0), (50, 1, 0.8)])
def test_generations_until_median_below_is_the_first_crossing(n, ddof, lam):
    g = theory.generations_until_median_below(0.5, n, ddof, lam)
    assert theory.median_std(n, g, ddof, lam) < 0.5
    assert g == 0 or theory.median_std(n, g - 1, ddof, lam) >= 0.5
    with pytest.raises(ValueError, match="threshold"):
        theory.generations_until_median_below(1.5, n)


@pytest.mark.parametrize("ddof", [0, 1])
def test_prob_std_below_matches_the_exact_chain_and_inverts_the_quantile(ddof):
    n, T = 50, 200
    chain = simulate_exact(n, T, 20000, ddof=ddof, record=[T], seed=5)
    for q in (0.1, 0.5, 0.9):
        threshold = float(theory.std_quantile(q, n, T, ddof))
        assert theory.prob_std_below(threshold, n, T, ddof) == pytest.approx(q, abs=1e-9)
        simulated = (chain.std[-1] < threshold).mean()  # binomial standard error at most 0.0036
        assert simulated == pytest.approx(q, abs=0.02)
    with pytest.raises(ValueError, match="threshold"):
        theory.prob_std_below(0.0, n, T)


def test_the_workflow_figure_draws_each_closed_form_and_the_fixed_point():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from madlib.plots.gaussian import plot_workflows
    from madlib.theory import gaussian as theory

    g = np.arange(11)
    table = pd.DataFrame([{"generation": t, "replicate": r, "metric": "std", "value": 0.9**t + 0.01 * r}
                          for t in g for r in range(3)])
    curve = theory.median_std(100, g, sampling_bias=0.95)
    fig = plot_workflows({"λ = 0.95": table, "fresh": table}, theory_curves={"λ = 0.95": curve},
                         fixed_point=(1.0, "fixed point"))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert np.allclose(lines["closed form (dashed)"].get_ydata(), curve)
    assert np.allclose(lines["fixed point"].get_ydata(), 1.0) and lines["fixed point"].get_linestyle() == ":"
    plt.close(fig)
    with pytest.raises(ValueError, match="theory_curves"):
        plot_workflows({"fresh": table}, theory_curves={"replace": curve})
