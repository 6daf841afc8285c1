"""Chapter 6 remedies on the Gaussian family, where the answers are known."""
import numpy as np
import pytest
import torch

from madlib.core.loop import run_loop
from madlib.models.gaussian import GaussianFamily, GaussianModel, gaussian_source_sampler
from madlib.remedies import (ProvenanceFilter, SelfLikelihoodFilter, TailReweighting, VerifierFilter,
                             effective_sample_size, generations_to_collapse)
from madlib.remedies.filters import model_log_prob
from madlib.core.sources import DistributionSource


def standard_normal_log_prob(x):
    return -0.5 * (x[..., 0] ** 2) - 0.5 * np.log(2 * np.pi)


def chain(curate=None, generations=30, n=50, replicates=400, **kw):
    source = DistributionSource(gaussian_source_sampler(), replicates=replicates)
    result = run_loop(GaussianFamily(), source, generations=generations, n_real=n, n_synthetic=kw.pop("n_synthetic", n),
                      curate=curate, seed=3, **kw)
    return result.model.cov[:, 0, 0].numpy(), result.model.mean[:, 0].numpy()


def test_gaussian_log_prob_matches_scipy():
    from scipy.stats import multivariate_normal

    cov = torch.tensor([[[2.0, 0.3], [0.3, 0.5]]], dtype=torch.float64)
    model = GaussianModel(mean=torch.tensor([[1.0, -1.0]], dtype=torch.float64), cov=cov)
    x = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]], dtype=torch.float64)
    expected = multivariate_normal(mean=[1, -1], cov=cov[0].numpy()).logpdf(x[0].numpy())
    assert np.allclose(model_log_prob(model, x)[0].numpy(), expected)


def test_verifier_stops_the_collapse_and_self_likelihood_speeds_it():
    baseline, _ = chain()
    verified, _ = chain(VerifierFilter(standard_normal_log_prob, max_keep=50), n_synthetic=200)
    cherry, _ = chain(SelfLikelihoodFilter(0.8))
    # replace with n=50 for 30 generations: median variance about exp(-30*2/50) = 0.30
    assert 0.2 < np.median(baseline) < 0.45
    # a verifier that knows N(0, 1) turns samples back into (nearly) real ones
    assert np.median(verified) > 0.8
    # keeping the 80% most likely cuts the tails: the variance collapses much faster
    assert np.median(cherry) < 1e-3


def test_importance_verifier_also_holds_the_variance():
    verified, _ = chain(VerifierFilter(standard_normal_log_prob, mode="importance"))
    assert np.median(verified) > 0.7


def test_provenance_filter_leak_controls_the_outcome():
    # fresh real data each generation plus 4x as much synthetic content, made with sampling bias
    # (cherry-picked, lambda = 0.8); the detector decides how much of it leaks into training
    outcomes = {}
    for miss in (0.0, 0.3, 1.0):
        var, _ = chain(ProvenanceFilter(miss), workflow="fresh", n_synthetic=200, generations=25, sampling_bias=0.8)
        outcomes[miss] = np.median(var)
    assert outcomes[0.0] > outcomes[0.3] > outcomes[1.0]
    assert outcomes[0.0] == pytest.approx(1.0, abs=0.1)
    # lambda = 0.8 with a synthetic share s = 200/250: fixed point (1 - s) / (1 - s * lambda) = 0.56
    assert outcomes[1.0] == pytest.approx(0.2 / (1 - 0.8 * 0.8), abs=0.08)


def test_tail_reweighting_cancels_mle_shrinkage_on_average_at_a_cost():
    n = 50
    plain, _ = chain(n=n, generations=40)
    reweighted, _ = chain(TailReweighting(2 / n), n=n, generations=40)
    assert np.median(reweighted) > 2 * np.median(plain)
    weights = TailReweighting(2 / n)(torch.randn(10, n, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
                                     1, torch.Generator().manual_seed(1),
                                     GaussianModel(torch.zeros(10, 1, dtype=torch.float64), torch.ones(10, 1, 1, dtype=torch.float64)))
    ess = effective_sample_size(weights)
    assert bool((ess < n).all()) and bool((ess > 0.8 * n).all())


def test_generations_to_collapse():
    assert generations_to_collapse([0, 1, 2, 3], [1.0, 0.8, 0.4, 0.2], 0.5) == 2
    assert generations_to_collapse([0, 10, 20], [1.0, 0.9, 0.8], 0.5) is None
    with pytest.raises(ValueError, match="threshold"):
        generations_to_collapse([0], [1.0], 0.0)


@pytest.mark.parametrize("factory, name", [
    (lambda: ProvenanceFilter(1.5), "miss_rate"), (lambda: SelfLikelihoodFilter(0), "keep_fraction"),
    (lambda: TailReweighting(-1), "strength"), (lambda: VerifierFilter(lambda x: x, mode="maybe"), "mode"),
    (lambda: VerifierFilter(lambda x: x, max_keep=1), "max_keep"),
])
def test_bad_arguments(factory, name):
    with pytest.raises(ValueError, match=name):
        factory()


def test_kept_fraction_and_leak_theory_match_the_simulated_sweeps():
    from madlib.simulations.remedies import sweep_point
    from madlib.theory import gaussian as theory

    kept = sweep_point("gaussian", "kept real fraction", 0.05, generations=100, replicates=300)
    assert kept["final_relative_quality"] == pytest.approx(np.sqrt(theory.kept_fraction_variance(100, 0.05, 100)), abs=0.05)
    leak = sweep_point("gaussian", "detector miss rate", 1.0, generations=40, replicates=300)
    assert leak["final_relative_quality"] == pytest.approx(np.sqrt(theory.mixed_fixed_point_variance(0.8, 0.8)), abs=0.05)
    assert theory.kept_fraction_variance(100, 0.0, 100) == pytest.approx(0.99**101)  # generation 100: 101 fits


# --- the learned (imperfect) verifier ------------------------------------------------------------------

from madlib.remedies.filters import (LearnedVerifier, acceptance_probability, fit_logistic,  # noqa: E402
                                     one_hot_features, quadratic_features)


def test_acceptance_probability_is_the_ratio_over_its_row_maximum():
    log_real = torch.tensor([[-1.0, -2.0, -3.0], [-1000.0, -1001.0, -1002.0]], dtype=torch.float64)
    log_model = torch.tensor([[-2.0, -2.0, -2.0], [-1000.0, -1000.0, -1000.0]], dtype=torch.float64)
    p = acceptance_probability(log_real, log_model)
    expected = np.exp([[0.0, -1.0, -2.0], [0.0, -1.0, -2.0]])  # per row, no underflow at -1000
    assert np.allclose(p.numpy(), expected)
    with pytest.raises(ValueError, match="log_p_real"):
        acceptance_probability(log_real, log_model[:, :2])


def test_logistic_regression_recovers_a_known_log_ratio():
    # real N(0, 1) against candidates N(0, 2^2): log p_real / p_model = log 2 - x^2 (1/2 - 1/8) exactly quadratic
    g = torch.Generator().manual_seed(0)
    R, n = 4, 20_000
    real = torch.randn(R, n, 1, generator=g, dtype=torch.float64)
    synthetic = 2 * torch.randn(R, n, 1, generator=g, dtype=torch.float64)
    verifier = LearnedVerifier(real, quadratic_features, l2=0.0)
    x = synthetic[..., 0]
    truth = np.log(2) - x**2 * (0.5 - 0.125)
    estimate = verifier.log_ratio(synthetic)
    inside = x.abs() < 2  # where both classes have plenty of data
    assert torch.allclose(estimate[inside], truth[inside], atol=0.1)
    assert float((estimate - truth)[inside].abs().mean()) < 0.03
    # and a plain batched fit agrees with scikit-learn's unpenalised logistic regression
    from sklearn.linear_model import LogisticRegression
    f = torch.cat([quadratic_features(real[:1, :2000]), quadratic_features(synthetic[:1, :2000])], dim=1)
    y = torch.cat([torch.ones(1, 2000), torch.zeros(1, 2000)], dim=1)
    theta = fit_logistic(f, y, torch.ones_like(y, dtype=torch.float64), l2=0.0)[0].numpy()
    sk = LogisticRegression(C=np.inf, fit_intercept=False, max_iter=1000, tol=1e-10).fit(f[0].numpy(), y[0].numpy())
    assert np.allclose(theta, sk.coef_[0], atol=1e-4)


def test_learned_verifier_holds_the_gaussian_but_less_well_than_the_oracle():
    baseline, _ = chain()
    g = torch.Generator().manual_seed(1)
    reference = torch.randn(400, 50, 1, generator=g, dtype=torch.float64)  # 50 real items per world
    learned, _ = chain(LearnedVerifier(reference, quadratic_features, max_keep=50), n_synthetic=200)
    oracle, _ = chain(VerifierFilter(standard_normal_log_prob, max_keep=50), n_synthetic=200)
    assert np.median(learned) > 0.7 > 0.45 > np.median(baseline)
    # it knows N(0, 1) only through 50 items: its worlds scatter more around 1 than the oracle's
    assert np.std(np.log(learned)) > np.std(np.log(oracle))


def test_learned_verifier_restores_the_cats_share():
    # the candidates are 30% blue, the real set 10%: the accepted ones must be close to 10% blue
    g = torch.Generator().manual_seed(2)
    R, m = 200, 400
    real = (torch.rand(R, 200, generator=g) < 0.1).long()
    synthetic = (torch.rand(R, m, generator=g) < 0.3).long()
    verifier = LearnedVerifier(real, one_hot_features(2))
    weights = verifier(synthetic, 1, torch.Generator().manual_seed(3))
    share = ((synthetic == 1) * weights).sum(1) / weights.sum(1)
    assert float(share.mean()) == pytest.approx(0.1, abs=0.015)


def test_learned_verifier_bad_arguments():
    with pytest.raises(ValueError, match="real_items"):
        LearnedVerifier(torch.zeros(3), quadratic_features)
    with pytest.raises(ValueError, match="replicates"):
        LearnedVerifier(torch.zeros(3, 10, 1), quadratic_features).log_ratio(torch.zeros(2, 5, 1))
