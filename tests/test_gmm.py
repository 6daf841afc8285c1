"""Batched EM for Gaussian mixtures: recovery, weights, dead components, biases, chapter-1 theory."""
import numpy as np
import pytest
import torch

from madlib.core.loop import run_loop
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.models.gmm import GMMFamily, GMMModel, StartFrom, kmeans_plus_plus
from madlib.remedies import SelfLikelihoodFilter
from madlib.core.sources import DistributionSource
from madlib.theory import gaussian as theory


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


TRUE_WEIGHTS = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
TRUE_MEANS = torch.tensor([[-4.0, 0.0], [3.0, 3.0], [3.0, -3.0]], dtype=torch.float64)
TRUE_COVS = torch.stack([
    torch.tensor([[1.0, 0.6], [0.6, 1.0]]),
    torch.tensor([[0.5, 0.0], [0.0, 2.0]]),
    torch.tensor([[1.5, -0.4], [-0.4, 0.3]]),
]).to(torch.float64)
TRUTH = GMMModel(TRUE_WEIGHTS[None], TRUE_MEANS[None], TRUE_COVS[None])


def _truth_batch(replicates):
    return GMMModel(TRUE_WEIGHTS.expand(replicates, -1).clone(), TRUE_MEANS.expand(replicates, -1, -1).clone(),
                    TRUE_COVS.expand(replicates, -1, -1, -1).clone())


def _match(model: GMMModel, r: int):
    """Order replicate r's components like the truth (nearest true mean)."""
    order = torch.cdist(TRUE_MEANS, model.means[r]).argmin(1)
    return model.weights[r, order], model.means[r, order], model.covs[r, order]


def test_em_recovers_a_known_mixture():
    data = _truth_batch(4).sample(4000, generator=_gen(1))
    model = GMMFamily(3).fit(data, generator=_gen(2))
    assert model.weights.shape == (4, 3) and model.covs.shape == (4, 3, 2, 2)
    for r in range(4):
        weights, means, covs = _match(model, r)
        assert torch.allclose(weights, TRUE_WEIGHTS, atol=0.03)
        assert torch.allclose(means, TRUE_MEANS, atol=0.12)
        assert torch.allclose(covs, TRUE_COVS, atol=0.2)
    # the fitted log-likelihood per item is close to the truth's on the same data
    assert torch.allclose(model.log_likelihood, TRUTH.log_prob(data).mean(1), atol=0.02)


def test_log_prob_matches_scipy():
    from scipy.stats import multivariate_normal

    x = torch.randn(1, 50, 2, generator=_gen(3), dtype=torch.float64) * 2
    expected = np.log(sum(float(w) * multivariate_normal(m.numpy(), c.numpy()).pdf(x[0].numpy())
                          for w, m, c in zip(TRUE_WEIGHTS, TRUE_MEANS, TRUE_COVS)))
    assert np.allclose(TRUTH.log_prob(x)[0].numpy(), expected, atol=1e-10)


def test_frequency_weights_equal_repeated_items():
    data = _truth_batch(2).sample(300, generator=_gen(4))
    counts = torch.randint(0, 4, (2, 300), generator=_gen(5)).to(torch.float64)
    start = _truth_batch(2)
    family = GMMFamily(3, init="previous", max_iter=30, tol=0.0)
    weighted = family.fit(data, weights=counts, previous=start)
    for r in range(2):
        repeated = data[r].repeat_interleave(counts[r].long(), dim=0)[None]
        single = GMMModel(start.weights[r:r + 1], start.means[r:r + 1], start.covs[r:r + 1])
        plain = family.fit(repeated, previous=single)
        assert torch.allclose(weighted.means[r], plain.means[0], atol=1e-8)
        assert torch.allclose(weighted.covs[r], plain.covs[0], atol=1e-8)


def test_one_component_equals_the_gaussian_fit_plus_regularisation():
    data = torch.randn(5, 200, 3, generator=_gen(6), dtype=torch.float64)
    gmm = GMMFamily(1, reg=1e-6).fit(data, generator=_gen(7))
    gauss = GaussianFamily(ddof=0).fit(data)
    assert torch.allclose(gmm.means[:, 0], gauss.mean, atol=1e-10)
    assert torch.allclose(gmm.covs[:, 0], gauss.cov + 1e-6 * torch.eye(3, dtype=torch.float64), atol=1e-10)


def test_dead_components_are_dropped_cleanly_and_never_sampled():
    data = torch.randn(3, 400, 2, generator=_gen(8), dtype=torch.float64) * 0.1
    far = GMMModel(torch.full((3, 2), 0.5, dtype=torch.float64),
                   torch.tensor([[0.0, 0.0], [50.0, 50.0]], dtype=torch.float64).expand(3, 2, 2).clone(),
                   torch.eye(2, dtype=torch.float64).expand(3, 2, 2, 2).clone())
    model = GMMFamily(2, init="previous", dead="drop").fit(data, previous=far)
    assert torch.all(model.weights[:, 1] == 0) and torch.allclose(model.weights.sum(1), torch.ones(3, dtype=torch.float64))
    samples = model.sample(2000, generator=_gen(9))
    assert torch.isfinite(samples).all() and samples.abs().max() < 5
    assert torch.isfinite(model.log_prob(samples)).all()


def test_collapsed_data_stays_finite_with_reseeding():
    data = torch.zeros(2, 100, 2, dtype=torch.float64)  # every item identical: only reg keeps covariances invertible
    model = GMMFamily(3).fit(data, generator=_gen(10))
    assert torch.isfinite(model.means).all() and torch.isfinite(model.covs).all()
    assert torch.allclose(model.weights.sum(1), torch.ones(2, dtype=torch.float64))
    assert torch.isfinite(model.sample(10, generator=_gen(11))).all()


def test_sampling_bias_scales_covariances():
    model = GMMModel(torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, 1, 2, dtype=torch.float64),
                     torch.tensor([[[[2.0, 0.5], [0.5, 1.0]]]], dtype=torch.float64))
    samples = model.sample(200_000, sampling_bias=0.5, generator=_gen(12))[0]
    assert torch.allclose(torch.cov(samples.T), 0.5 * model.covs[0, 0], atol=0.02)


def test_cherry_picking_keeps_the_most_likely_samples():
    model = _truth_batch(2)
    plain = model.sample(2000, generator=_gen(13))
    picked = model.sample(2000, generator=_gen(13), keep_fraction=0.5)
    assert picked.shape == plain.shape
    # keeping the top half by likelihood: every kept sample beats the median of a plain batch
    assert model.log_prob(picked).min() > model.log_prob(plain).median() - 0.1
    weights = SelfLikelihoodFilter(0.25)(plain, 1, None, model)
    assert torch.all(weights.sum(1) == 500)
    log_prob = model.log_prob(plain)
    for r in range(2):  # per replicate: every kept sample is at least as likely as every dropped one
        assert log_prob[r][weights[r] == 1].min() >= log_prob[r][weights[r] == 0].max()


def test_kmeans_plus_plus_is_seeded_and_finds_separated_clusters():
    data = _truth_batch(3).sample(900, generator=_gen(14))
    w = torch.ones(3, 900, dtype=torch.float64)
    a = kmeans_plus_plus(data, w, 3, generator=_gen(15))
    b = kmeans_plus_plus(data, w, 3, generator=_gen(15))
    assert torch.equal(a, b)
    assert torch.cdist(TRUE_MEANS, a[0]).min(1).values.max() < 1.0


@pytest.mark.parametrize("sampling_bias", [1.0, 0.9])
def test_single_component_chain_matches_chapter_one_theory(sampling_bias):
    n, loop_generations, replicates = 50, 20, 1000
    source = DistributionSource(gaussian_source_sampler(), replicates)
    variances = {}

    def observe(model, data, generation, generator):
        if generation == loop_generations:
            variances["final"] = model.covs[:, 0, 0, 0] - 1e-6
        return {}

    run_loop(GMMFamily(1), source, generations=loop_generations, n_real=n, sampling_bias=sampling_bias,
             seed=3, observe=observe)
    T = loop_generations  # the theory numbers generations like the loop
    expected = theory.expected_var(n, T, ddof=0, sampling_bias=sampling_bias)
    observed = variances["final"]
    stderr = float(observed.std()) / np.sqrt(replicates)
    assert abs(float(observed.mean()) - expected) < 4 * stderr
    # the log-variance has an exact mean too
    assert abs(float(observed.log().mean()) - theory.log_var_mean(n, T, 0, sampling_bias)) < 4 * float(
        observed.log().std()) / np.sqrt(replicates)


def test_start_from_returns_the_given_first_model():
    start = _truth_batch(2)
    source = DistributionSource(gaussian_source_sampler(dim=2), 2)
    seen = []
    run_loop(StartFrom(GMMFamily(3), start), source, generations=1, n_real=100,
             observe=lambda m, d, g, gen: seen.append(m) or {})
    assert seen[0] is start and seen[1] is not start


@pytest.mark.parametrize("kwargs", [dict(n_components=0), dict(reg=-1.0), dict(init="random"), dict(dead="keep"),
                                    dict(keep_fraction=0.0), dict(keep_fraction=1.5), dict(max_iter=0)])
def test_bad_family_arguments(kwargs):
    with pytest.raises(ValueError):
        GMMFamily(**kwargs)


def test_bad_fit_and_sample_arguments():
    data = torch.randn(2, 10, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="weights"):
        GMMFamily(2).fit(data, weights=torch.ones(2, 9))
    with pytest.raises(ValueError, match="weights"):
        GMMFamily(2).fit(data, weights=-torch.ones(2, 10))
    with pytest.raises(ValueError, match="n_components"):
        GMMFamily(20).fit(data)
    with pytest.raises(ValueError, match="sampling_bias"):
        TRUTH.sample(5, sampling_bias=0.0)
    with pytest.raises(ValueError, match="keep_fraction"):
        SelfLikelihoodFilter(0.0)


def test_a_tiny_weighted_data_set_keeps_one_component_alive():
    """Three items of weight and min_count=2: every component looks dead; the heaviest must survive."""
    import torch

    from madlib.models.gmm import GMMFamily

    g = torch.Generator().manual_seed(0)
    data = torch.randn(2, 50, 2, generator=g, dtype=torch.float64)
    weights = torch.zeros(2, 50, dtype=torch.float64)
    weights[:, :3] = 0.6  # total weight 1.8 < min_count: every component is "dead"
    model = GMMFamily(2, dead="drop").fit(data, weights=weights, generator=g)
    assert torch.isfinite(model.weights).all()
    assert torch.allclose(model.weights.sum(1), torch.ones(2, dtype=torch.float64))
    model.sample(10, generator=g)  # must not raise
