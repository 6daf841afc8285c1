"""Linear regression on its own labels: the OLS family, its closed forms, the experiment and the CLI."""
import json
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from madlib import run_experiment
from madlib.cli import main as cli_main
from madlib.core.loop import run_loop
from madlib.models.regression import OLSFamily, RegressionModel, default_truth, regression_source_sampler
from madlib.core.sources import DistributionSource
from madlib.theory import regression as theory


def z_scores(samples: np.ndarray, expected) -> np.ndarray:
    """(mean - expected) / standard error, per row of ``samples`` (rows: generations, columns: replicates)."""
    samples = np.atleast_2d(samples)
    se = samples.std(axis=1, ddof=1) / np.sqrt(samples.shape[1])
    return (samples.mean(axis=1) - np.asarray(expected)) / se


def real_data(w_star, noise_std, R, n, seed):
    return regression_source_sampler(w_star, noise_std)(R, n, torch.Generator().manual_seed(seed))


def test_ols_recovers_truth_and_noise_on_lots_of_data():
    w_star = torch.tensor([0.5, -1.0, 2.0, 0.0, 3.0], dtype=torch.float64)
    data = real_data(w_star, 0.7, 4, 50_000, seed=0)
    model = OLSFamily(5, noise_std=None).fit(data)
    assert model.weight.shape == (4, 5)
    assert torch.allclose(model.weight, w_star.expand(4, 5), atol=0.02)
    assert torch.allclose(model.noise_std, torch.full((4,), 0.7, dtype=torch.float64), rtol=0.02)
    # the excess risk is ||w - w*||^2 and shrinks like sigma^2 d / n
    assert float(model.excess_risk(w_star).max()) < 20 * 0.49 * 5 / 50_000


def test_weighted_fit_equals_fit_on_repeated_items():
    d, R, N = 3, 4, 12
    data = real_data(default_truth(d), 1.0, R, N, seed=1)
    counts = torch.randint(0, 4, (R, N), generator=torch.Generator().manual_seed(2))
    counts[:, :d + 2] = 1  # enough distinct items in every replicate for a well-posed fit
    family = OLSFamily(d, noise_std=None)
    weighted = family.fit(data, weights=counts.to(torch.float64))
    for r in range(R):
        repeated = data[r].repeat_interleave(counts[r], dim=0)[None]
        plain = family.fit(repeated)
        assert torch.allclose(weighted.weight[r], plain.weight[0], atol=1e-10)
        assert torch.allclose(weighted.noise_std[r], plain.noise_std[0], atol=1e-10)
    # weights of one are no weights at all
    ones = family.fit(data, weights=torch.ones(R, N, dtype=torch.float64))
    assert torch.allclose(ones.weight, family.fit(data).weight, atol=1e-12)


def test_sample_draws_standard_inputs_and_scaled_label_noise():
    w = torch.tensor([[1.0, -2.0], [0.0, 0.5]], dtype=torch.float64)
    model = RegressionModel(weight=w, noise_std=torch.tensor([1.0, 2.0], dtype=torch.float64))
    items = model.sample(40_000, sampling_bias=0.25, generator=torch.Generator().manual_seed(3))
    assert items.shape == (2, 40_000, 3)
    x, y = items[..., :2], items[..., 2]
    assert torch.allclose(x.mean(dim=1), torch.zeros(2, 2, dtype=torch.float64), atol=0.03)
    assert torch.allclose(x.std(dim=1), torch.ones(2, 2, dtype=torch.float64), atol=0.03)
    residual_std = (y - model.predict(x)).std(dim=1)
    # lambda = 0.25 halves the noise standard deviation
    assert torch.allclose(residual_std, torch.tensor([0.5, 1.0], dtype=torch.float64), rtol=0.03)


def test_log_prob_is_the_gaussian_likelihood_of_the_label():
    w_star = torch.tensor([1.0, 2.0], dtype=torch.float64)
    sampler = regression_source_sampler(w_star, noise_std=0.5)
    items = sampler(3, 7, torch.Generator().manual_seed(4))
    expected = norm.logpdf(items[..., 2].numpy(), loc=(items[..., :2] @ w_star).numpy(), scale=0.5)
    np.testing.assert_allclose(sampler.log_prob(items).numpy(), expected, rtol=1e-12)
    model = RegressionModel(weight=w_star.expand(3, 2).clone(), noise_std=torch.full((3,), 0.5, dtype=torch.float64))
    np.testing.assert_allclose(model.log_prob(items).numpy(), expected, rtol=1e-12)


def test_bad_arguments_are_named():
    family = OLSFamily(3)
    with pytest.raises(ValueError, match="items must have shape"):
        family.fit(torch.zeros(2, 10, 3))
    with pytest.raises(ValueError, match="needs more than 3"):
        family.fit(real_data(default_truth(3), 1.0, 2, 3, seed=0))
    with pytest.raises(ValueError, match="weights must be non-negative"):
        family.fit(real_data(default_truth(3), 1.0, 2, 10, seed=0), weights=-torch.ones(2, 10))
    with pytest.raises(ValueError, match="noise_std"):
        OLSFamily(3, noise_std=0.0)
    with pytest.raises(ValueError, match="n_real must be >= 12"):
        theory.replace_test_error(5, n_real=11, dim=10)
    with pytest.raises(ValueError, match="n_synthetic must be >= dim"):
        run_experiment("regression", n_synthetic=5)
    with pytest.raises(ValueError, match="n_real must be >= dim"):
        run_experiment("regression", n_real=5)


def test_closed_forms_have_the_papers_shapes():
    n, d = 50, 10
    replace = theory.replace_test_error(100, n, d)
    first = theory.ols_excess_risk(n, d)
    assert first == pytest.approx(10 / 39)
    # replace: a straight line through (t, (t + 1) sigma^2 d / (n - d - 1))
    np.testing.assert_allclose(replace, first * np.arange(1, 102))
    # accumulate: increasing, below pi^2/6 times the first fit, converging to the digamma limit
    acc = theory.accumulate_test_error(20_000, n, d)
    assert np.all(np.diff(acc) > 0)
    assert acc[-1] / first < theory.PI2_OVER_6
    limit = theory.accumulate_limit(n, d)
    assert acc[-1] == pytest.approx(limit, rel=1e-4)
    assert limit / first == pytest.approx(1.5412, abs=1e-4)
    # with m = n, lambda = 1 the accumulate sum is sigma^2 d sum_{k=1}^{t+1} 1/(k (k n - d - 1))
    k = np.arange(1, 12)
    np.testing.assert_allclose(theory.accumulate_test_error(10, n, d), np.cumsum(d / (k * (k * n - d - 1))))
    # as n grows, the limit ratio tends to pi^2/6 from below (Gerstgrasser's fixed-design factor)
    big = theory.accumulate_limit(10**6, d) / theory.ols_excess_risk(10**6, d)
    assert big == pytest.approx(theory.PI2_OVER_6, rel=1e-4) and big < theory.PI2_OVER_6
    fixed = theory.fixed_design_accumulate_test_error(10**5, n, d)
    assert fixed[-1] / first == pytest.approx(theory.PI2_OVER_6, rel=1e-4)
    assert np.all(fixed[1:21] > acc[1:21])  # a fixed design accumulates a little more error
    # the general limit agrees with a long partial sum for m != n and lambda < 1
    general = theory.accumulate_test_error(100_000, n, d, n_synthetic=30, sampling_bias=0.7)[-1]
    assert general == pytest.approx(theory.accumulate_limit(n, d, n_synthetic=30, sampling_bias=0.7), rel=1e-4)


def _chain(workflow, d, n, generations, R, seed, **kw):
    """Weights w_0..w_T of a loop run (T + 1, R, d)."""
    weights = []

    def observe(model, data, generation, generator):
        weights.append(model.weight.clone())
        return {}

    family = OLSFamily(d, noise_std=kw.pop("noise_std", 1.0))
    source = DistributionSource(regression_source_sampler(default_truth(d), 1.0), R)
    run_loop(family, source, generations=generations, n_real=n, workflow=workflow, seed=seed, observe=observe, **kw)
    return torch.stack(weights).numpy()


def test_accumulate_increments_match_the_exact_finite_sample_terms():
    """Small n, where the exact term m/(N (N - d - 1)) and the fixed-design 1/k^2 term differ a lot."""
    d, n, T, R = 3, 6, 3, 30_000
    w = _chain("accumulate", d, n, T, R, seed=5)
    increments = ((w[1:] - w[:-1]) ** 2).sum(-1)  # E||w_t - w_{t-1}||^2, free of generation 0's noise
    expected = np.diff(theory.accumulate_test_error(T, n, d))
    assert np.all(np.abs(z_scores(increments, expected)) < 4)
    fixed_design = np.diff(theory.fixed_design_accumulate_test_error(T, n, d))
    assert np.all(np.abs(z_scores(increments, fixed_design)) > 10)  # the test can tell the two apart


def test_replace_with_estimated_noise_and_sampling_bias_matches_closed_form():
    d, n, T, R, lam = 4, 12, 6, 10_000, 0.6
    w = _chain("replace", d, n, T, R, seed=6, noise_std=None, sampling_bias=lam)
    errors = ((w - default_truth(d).numpy()) ** 2).sum(-1)
    expected = theory.replace_test_error(T, n, d, sampling_bias=lam, fit_noise=True)
    assert np.all(np.abs(z_scores(errors, expected)) < 4)
    # with a fixed noise level the same lambda gives a larger (linear) error: the forms differ
    assert theory.replace_test_error(T, n, d, sampling_bias=lam)[-1] > 1.2 * expected[-1]


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_experiment_agrees_with_closed_form(workflow):
    result = run_experiment("regression", workflow=workflow, replicates=2000)
    s = result.summary
    T = len(s["generation"]) - 1
    assert T >= 5 and len(s["test_error"]) == len(s["test_error_se"]) == len(s["theory_test_error"]) == T + 1
    mean, se, expected = map(np.asarray, (s["test_error"], s["test_error_se"], s["theory_test_error"]))
    assert np.all(np.abs(mean - expected) < 4 * se)
    assert s["max_abs_z"] < 4
    first = theory.ols_excess_risk(result.config["n_real"], result.config["dim"])
    assert expected[0] == pytest.approx(first)
    ratio = np.asarray(s["ratio_to_generation0"])
    if workflow == "replace":
        # linear growth: the fitted slope is one generation-0 error per generation
        slope = np.polyfit(np.arange(T + 1), mean, 1)[0]
        assert slope == pytest.approx(first, rel=0.1)
        assert ratio[-1] > 0.8 * (T + 1)
    else:
        assert np.all(ratio < theory.PI2_OVER_6)
        assert mean[-1] < s["theory_limit"] + 4 * se[-1]
        assert s["theory_limit"] / expected[0] < theory.PI2_OVER_6


def test_workflows_without_closed_form_still_run():
    s = run_experiment("regression", workflow="fresh", replicates=200, generations=3).summary
    assert s["theory_test_error"] is None and "max_abs_z" not in s
    # fresh real data each generation keeps the error below the first fit's
    assert s["test_error"][-1] < s["test_error"][0]


def test_cli_prints_json(capsys):
    assert cli_main(["run", "regression", "workflow=accumulate", "replicates=300"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["experiment"] == "regression" and out["workflow"] == "accumulate"
    assert len(out["test_error"]) == len(out["theory_test_error"]) == out["config"]["generations"] + 1
    assert all(math.isfinite(v) for v in out["test_error_se"])


def test_curation_hooks_can_score_regression_items():
    """log_prob lets the loop's verifier score items: rejecting by p_real/p_model stops the linear growth."""
    from madlib.remedies import VerifierFilter

    d, n, R, T = 3, 20, 400, 6
    sampler = regression_source_sampler(default_truth(d), 1.0)
    finals = {}
    for name, curate in (("plain", None), ("verified", VerifierFilter(sampler.log_prob, min_keep=2 * d))):
        result = run_loop(OLSFamily(d), DistributionSource(sampler, R), generations=T, n_real=n, n_synthetic=2 * n,
                          workflow="replace", seed=8, curate=curate,
                          observe=lambda model, data, t, g: {"test_error": model.excess_risk(default_truth(d))})
        finals[name] = result.table[result.table.generation == T].value.mean()
    plain_theory = theory.replace_test_error(T, n, d, n_synthetic=2 * n)[-1]
    assert finals["plain"] == pytest.approx(plain_theory, rel=0.15)
    assert finals["verified"] < 0.6 * finals["plain"]


def test_accumulate_subsample_sits_between_replace_and_accumulate():
    """A fixed budget drawn from everything so far: it grows (unlike accumulate) but slower than replace."""
    kw = dict(replicates=1500, generations=10)
    errors = {preset: np.asarray(run_experiment("regression", preset=preset, **kw).summary["test_error"])
              for preset in ("replace", "accumulate", "accumulate-subsample")}
    sub = errors["accumulate-subsample"]
    assert errors["accumulate"][-1] < sub[-1] < errors["replace"][-1]
    assert sub[0] == pytest.approx(errors["replace"][0])  # same generation 0 (same seed, same real data)
    # its first step equals replace's in law: the subsample of generation 1 is half real, half synthetic,
    # so its increment is smaller than replace's full one
    assert sub[1] - sub[0] < errors["replace"][1] - errors["replace"][0]
