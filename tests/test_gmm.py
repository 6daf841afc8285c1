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


# ---------------------------------------------------------------- the fast EM's internals against references
def _sklearn_agrees(model, data, r, reference, ll_atol, param_atol):
    # the same mean log-likelihood per item, from our fit and from scikit-learn's score
    assert abs(float(model.log_likelihood[r]) - reference.score(data[r].numpy())) < ll_atol
    order = torch.cdist(torch.as_tensor(reference.means_), model.means[r]).argmin(1)
    assert len(set(order.tolist())) == len(order)
    assert torch.allclose(model.weights[r, order], torch.as_tensor(reference.weights_), atol=param_atol)
    assert torch.allclose(model.means[r, order], torch.as_tensor(reference.means_), atol=param_atol)
    assert torch.allclose(model.covs[r, order], torch.as_tensor(reference.covariances_), atol=param_atol)


def test_em_from_the_same_start_follows_scikit_learn():
    """From the same start model, both EMs walk the same path to the same fit (three modes, weighted data)."""
    from sklearn.mixture import GaussianMixture

    data = _truth_batch(3).sample(1500, generator=_gen(20))
    start = GMMModel(torch.full((3, 3), 1 / 3, dtype=torch.float64), TRUE_MEANS.expand(3, -1, -1) + 0.7,
                     torch.eye(2, dtype=torch.float64).expand(3, 3, 2, 2).clone())
    model = GMMFamily(3, tol=1e-11, max_iter=1000, init="previous").fit(data, previous=start)
    for r in range(3):
        reference = GaussianMixture(3, covariance_type="full", tol=1e-11, max_iter=1000, reg_covar=1e-6,
                                    weights_init=start.weights[r].numpy(), means_init=start.means[r].numpy(),
                                    precisions_init=torch.linalg.inv(start.covs[r]).numpy()).fit(data[r].numpy())
        _sklearn_agrees(model, data, r, reference, 1e-9, 1e-6)


def test_em_agrees_with_scikit_learn_on_the_chapter_job():
    """Two blobs, k-means++ starts on both sides: the same optimum to within a tight tolerance."""
    from sklearn.mixture import GaussianMixture

    from madlib.data.toy import blobs

    data = blobs().sampler(6, 1000, _gen(34))
    model = GMMFamily(2, tol=1e-10, max_iter=1000).fit(data, generator=_gen(35))
    for r in range(6):
        reference = GaussianMixture(2, covariance_type="full", tol=1e-10, max_iter=1000, reg_covar=1e-6,
                                    random_state=r).fit(data[r].numpy())
        _sklearn_agrees(model, data, r, reference, 1e-8, 1e-5)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_closed_form_inverse_and_log_det_match_torch_linalg(d):
    from madlib.models.gmm import _precision_and_log_det

    factor = torch.randn(500, 4, d, d, generator=_gen(22), dtype=torch.float64)
    scale = torch.exp(torch.randn(500, 4, 1, 1, generator=_gen(23), dtype=torch.float64) * 3)  # 1e-4 .. 1e4
    spd = scale * (factor @ factor.transpose(-1, -2) + 0.1 * torch.eye(d, dtype=torch.float64))
    precision, log_det, ok = _precision_and_log_det(spd)
    assert ok.all()
    assert torch.allclose(precision @ spd, torch.eye(d, dtype=torch.float64).expand_as(spd), atol=1e-8)
    assert torch.allclose(precision, torch.linalg.inv(spd), rtol=1e-9, atol=0)
    assert torch.allclose(log_det, torch.linalg.slogdet(spd).logabsdet, rtol=0, atol=1e-9)
    # not positive definite: flagged, whatever the other outputs hold
    indefinite = spd.clone()
    indefinite[..., 0, 0] = -1.0
    assert not _precision_and_log_det(indefinite)[2].any()


def _reference_kmeans(x, w, k, generator, iterations):
    """The plain batched k-means++ and Lloyd (cdist, argmin, one-hot), every chain every step."""
    R = x.shape[0]
    rows = torch.arange(R)
    centres = [x[rows, torch.multinomial(w, 1, generator=generator)[:, 0]]]
    nearest = ((x - centres[0][:, None]) ** 2).sum(-1)
    for _ in range(1, k):
        score = w * nearest
        score = torch.where(score.sum(1, keepdim=True) > 0, score, w)
        centres.append(x[rows, torch.multinomial(score, 1, generator=generator)[:, 0]])
        nearest = torch.minimum(nearest, ((x - centres[-1][:, None]) ** 2).sum(-1))
    c = torch.stack(centres, 1)
    for _ in range(iterations):
        assign = torch.nn.functional.one_hot(torch.cdist(x, c).argmin(-1), k).to(torch.float64) * w[..., None]
        counts = assign.sum(1)
        c = torch.where(counts[..., None] > 0, assign.transpose(1, 2) @ x / counts.clamp_min(1e-12)[..., None], c)
    return c


@pytest.mark.parametrize("k", [2, 3, 6])
def test_lloyd_with_settled_chains_leaving_equals_plain_lloyd(k):
    data = _truth_batch(40).sample(300, generator=_gen(26))
    w = torch.rand(40, 300, generator=_gen(27), dtype=torch.float64) + 0.5
    for iterations in (0, 2, 10):
        fast = kmeans_plus_plus(data, w, k, generator=_gen(28), iterations=iterations)
        plain = _reference_kmeans(data, w, k, _gen(28), iterations)
        assert torch.allclose(fast, plain, rtol=0, atol=1e-10)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_sampling_is_mean_plus_cholesky_times_the_same_normals(d):
    """The per-coordinate gather in sampling gives mu + L z with exactly the draws the matmul form used."""
    means = torch.randn(3, 2, d, generator=_gen(29), dtype=torch.float64)
    factor = torch.randn(3, 2, d, d, generator=_gen(30), dtype=torch.float64)
    covs = factor @ factor.transpose(-1, -2) + torch.eye(d, dtype=torch.float64)
    model = GMMModel(torch.tensor([[0.3, 0.7]] * 3, dtype=torch.float64), means, covs)
    samples = model.sample(500, sampling_bias=0.8, generator=_gen(31))
    g = _gen(31)
    component = torch.multinomial(model.weights, 500, replacement=True, generator=g)
    z = torch.randn(3, 500, d, 1, generator=g, dtype=torch.float64)
    rows = torch.arange(3)[:, None]
    expected = means[rows, component] + (torch.linalg.cholesky(0.8 * covs)[rows, component] @ z)[..., 0]
    assert torch.allclose(samples, expected, rtol=0, atol=1e-12)


def test_reseeding_and_dropping_under_per_chain_stopping_stay_clean():
    """Chains with a far-away dead component (reseeded or dropped) next to chains that converge at once."""
    data = _truth_batch(6).sample(400, generator=_gen(32))
    start = _truth_batch(6)
    start.means[:3, 2] = 100.0  # three chains start with a component far from every item
    fits = {}
    for dead in ("reseed", "drop"):
        model = GMMFamily(3, init="previous", dead=dead).fit(data, previous=start, generator=_gen(33))
        assert torch.isfinite(model.means).all() and torch.isfinite(model.covs).all()
        assert torch.allclose(model.weights.sum(1), torch.ones(6, dtype=torch.float64))
        assert torch.isfinite(model.log_likelihood).all()
        fits[dead] = model
    assert torch.all(fits["drop"].weights[:3, 2] == 0) and torch.all(fits["drop"].weights[3:] > 0)
    assert torch.all(fits["reseed"].weights > 0)  # the reseeded components live on
    # a chain's fit does not depend on what happens to the others, nor on the batch around it
    alone = GMMFamily(3, init="previous").fit(data[3:], previous=_truth_batch(3))
    for model in fits.values():
        assert torch.equal(model.chain_iterations[3:], alone.chain_iterations)
        assert torch.allclose(model.means[3:], alone.means, rtol=0, atol=1e-12)
        assert torch.allclose(model.covs[3:], alone.covs, rtol=0, atol=1e-12)
