"""VAE chapter: image metrics on known cases, the VAE family, and resuming an interrupted run."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from madlib.experiments import run_experiment
from madlib.experiments.vae import capped_n_real, vanished_digits
from madlib.metrics.images import class_entropy, class_histogram, image_metrics
from madlib.models import vae as vae_module
from madlib.models.vae import VAEFamily


def test_fid_of_a_set_against_itself_is_zero_and_shift_is_known():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(500, 8, generator=gen, dtype=torch.float64)
    logits = torch.randn(500, 10, generator=gen)
    same = image_metrics(features, features, logits)
    assert same["fid"] == pytest.approx(0.0, abs=1e-8)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    # a pure shift by a in every one of d dimensions: FID = d a^2 exactly (covariances are equal)
    shifted = image_metrics(features, features + 0.5, logits)
    assert shifted["fid"] == pytest.approx(8 * 0.25, rel=1e-8)
    # samples squeezed onto a point: precision stays high, recall collapses
    squeezed = image_metrics(features, 0.05 * features, logits)
    assert squeezed["precision"] > 0.9 and squeezed["recall"] < 0.2


def test_class_histogram_and_entropy():
    logits = torch.eye(10).repeat(3, 1)  # three of each digit
    histogram = class_histogram(logits)
    assert torch.allclose(histogram, torch.full((10,), 0.1, dtype=torch.float64))
    assert class_entropy(histogram) == pytest.approx(math.log2(10))
    one_digit = class_histogram(torch.eye(10)[[7] * 20])
    assert one_digit[7] == 1.0 and class_entropy(one_digit) == 0.0
    assert class_entropy(torch.tensor([0.5, 0.5] + [0.0] * 8)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probability"):
        class_entropy(torch.tensor([0.5, 0.7]))
    with pytest.raises(ValueError, match="logits"):
        class_histogram(torch.zeros(0, 10))


def test_vanished_digits_in_order():
    shares = torch.full((4, 10), 0.1, dtype=torch.float64)
    shares[2:, 3] = 0.0  # digit 3 gone from generation 2
    shares[1:, 8] = 0.01  # digit 8 below 2% from generation 1
    assert list(vanished_digits(shares).items()) == [("8", 1), ("3", 2)]
    with pytest.raises(ValueError):
        vanished_digits(torch.zeros(3, 9))


def test_n_real_is_capped_loudly_so_the_pool_is_never_exhausted():
    assert capped_n_real(500, 4000, "replace", 5) == 500
    with pytest.warns(UserWarning, match="n_real=10000"):
        assert capped_n_real(10000, 4000, "fresh", 9) == 400  # ten generations of fresh digits
    assert capped_n_real(123, 4000, "fresh", 5) == 123  # a request that fits is kept


def test_vae_family_sampling_and_bias():
    gen = torch.Generator().manual_seed(0)
    data = torch.rand(1, 64, 1, 28, 28, generator=gen).round()
    family = VAEFamily(epochs=1, batch_size=32, channels=4, hidden=16, device="cpu")
    model = family.fit(data, generator=gen)
    samples = model.sample(50, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (1, 50, 1, 28, 28) and 0.0 <= float(samples.min()) and float(samples.max()) <= 1.0
    wide = model.sample(200, generator=torch.Generator().manual_seed(2))[0].var(0).mean()
    narrow = model.sample(200, sampling_bias=0.05, generator=torch.Generator().manual_seed(2))[0].var(0).mean()
    assert narrow < wide  # latent truncation lowers diversity
    # the same loop generator state gives the same model, trained afresh (memo cleared) ...
    vae_module._COLD_FITS.clear()
    again = family.fit(data, generator=torch.Generator().manual_seed(0))
    vae_module._COLD_FITS.clear()
    first = family.fit(data, generator=torch.Generator().manual_seed(0))
    z = torch.randn(5, 20)
    assert torch.equal(again.decode(z), first.decode(z))
    # ... or served from the memo of from-scratch fits, identical and a separate network
    memo = family.fit(data, generator=torch.Generator().manual_seed(0))
    assert memo.network is not first.network and torch.equal(memo.decode(z), first.decode(z))
    other_seed = family.fit(data, generator=torch.Generator().manual_seed(5))
    assert not torch.equal(other_seed.decode(z), first.decode(z))
    other_data = family.fit(1.0 - data, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(other_data.decode(z), first.decode(z))
    with pytest.raises(ValueError, match="sampling_bias"):
        model.sample(5, sampling_bias=0.0)
    with pytest.raises(ValueError, match="shape"):
        family.fit(data[0])
    with pytest.raises(ValueError, match="epochs"):
        VAEFamily(epochs=0)


def test_experiment_rejects_bad_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="workflow"):
        run_experiment("vae", workflow="recycle")
    with pytest.raises(ValueError, match="sampling_bias"):
        run_experiment("vae", sampling_bias=1.5, generations=0)


SMALL = dict(generations=2, n_real=100, epochs=2, warm_start_epochs=1, n_eval=100, grid_size=8,
             classifier_epochs=1, classifier_train_size=600, channels=4, hidden=32, scale="smoke")


def test_interrupted_run_resumes_at_first_unfinished_generation(tmp_path_factory, monkeypatch):
    calls = {"n": 0, "fail_at": None}
    original_fit = vae_module.VAEFamily.fit

    def counting_fit(self, *args, **kwargs):
        calls["n"] += 1
        if calls["fail_at"] is not None and calls["n"] == calls["fail_at"]:
            raise KeyboardInterrupt("simulated interruption")
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(vae_module.VAEFamily, "fit", counting_fit)

    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path_factory.mktemp("uninterrupted")))
    reference = run_experiment("vae", progress=False, **SMALL)
    assert calls["n"] == 3 and reference.summary["resumed_from"] == [None]

    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path_factory.mktemp("interrupted")))
    calls.update(n=0, fail_at=3)  # dies while fitting generation 2
    with pytest.raises(KeyboardInterrupt):
        run_experiment("vae", progress=False, **SMALL)
    calls.update(n=0, fail_at=None)
    resumed = run_experiment("vae", progress=False, **SMALL)
    assert calls["n"] == 1  # generations 0 and 1 were loaded, only generation 2 was trained
    assert resumed.summary["resumed_from"] == [1]
    for metric in ("fid", "precision", "recall", "class_entropy"):
        assert resumed.summary[metric] == pytest.approx(reference.summary[metric], rel=1e-6), metric
        assert len(resumed.summary[metric]) == 3
    assert torch.equal(resumed.extras["grids"], reference.extras["grids"])
    # and a finished run is served from the cache without training at all
    calls.update(n=0)
    cached = run_experiment("vae", progress=False, **SMALL)
    assert cached.cached and calls["n"] == 0


# ---- chapter 6 on MNIST: verification and curation -------------------------------------------------------

from madlib.core.select import largest_remainder, n_candidates  # noqa: E402
from madlib.remedies.images import ClassifierVerifier, image_curator, keep_per_class  # noqa: E402


def class_quotas(n_keep, shares):
    return largest_remainder(shares, n_keep)


def test_class_quotas_follow_the_shares_and_sum_to_n_keep():
    assert class_quotas(500, torch.full((10,), 0.1)).tolist() == [50] * 10
    quotas = class_quotas(7, torch.tensor([0.5, 0.3, 0.2]))
    assert quotas.tolist() == [4, 2, 1] and int(quotas.sum()) == 7  # 3.5, 2.1, 1.4: the largest remainder wins
    with pytest.raises(ValueError, match="shares"):
        class_quotas(5, torch.tensor([-0.1, 1.1]))


def test_keep_per_class_keeps_the_most_confident_within_quota_and_fills_a_shortfall():
    gen = torch.Generator().manual_seed(0)
    m = 400
    # 60% of the candidates look like a 0, class 9 has only 3 candidates, the rest are spread out
    predicted = torch.cat([torch.zeros(240, dtype=torch.int64), torch.full((3,), 9),
                           torch.randint(1, 9, (m - 243,), generator=gen)])[torch.randperm(m, generator=gen)]
    confidence = torch.rand(m, generator=gen, dtype=torch.float64) * 0.9 + 0.1
    quotas = class_quotas(100, torch.full((10,), 0.1))
    weights = keep_per_class(confidence[None], predicted[None], quotas)[0]
    assert weights.sum() == 100 and set(weights.unique().tolist()) <= {0.0, 1.0}
    kept = torch.bincount(predicted[weights == 1], minlength=10)
    assert kept[9] == 3  # every candidate of the starved class is kept
    assert kept[0] >= 10 and (kept[1:9] >= 10).all()  # every class has its quota; the 7 spare go elsewhere
    assert int(kept[0]) <= 17
    # inside a class the kept ones are the most confident ones
    for c in range(9):
        in_class = predicted == c
        if kept[c] == quotas[c]:
            assert confidence[in_class & (weights == 1)].min() >= confidence[in_class & (weights == 0)].max()
    # batched over replicates: each row is filtered on its own
    both = keep_per_class(torch.stack([confidence, confidence.flip(0)]), torch.stack([predicted, predicted.flip(0)]),
                          quotas)
    assert torch.equal(both[0], weights) and torch.equal(both[1], weights.flip(0))


class _LabelReader:
    """A stand-in classifier that reads the class from pixel (0, 0) and the confidence from pixel (0, 1)."""

    def embed(self, images):
        cls = (images[:, 0, 0, 0] * 10).long().clamp(0, 9)
        conf = images[:, 0, 0, 1].clamp(0.11, 0.99)
        rest = (1 - conf) / 9
        probs = rest[:, None].expand(-1, 10).clone()
        probs[torch.arange(len(cls)), cls] = conf
        return None, probs.log()


def test_verifier_keeps_class_proportions_near_uniform_on_a_skewed_set():
    gen = torch.Generator().manual_seed(1)
    m = 1000
    # a generator that has drifted: digit 1 is 40% of the candidates, digit 7 only 3%
    shares = torch.tensor([0.08, 0.40, 0.07, 0.07, 0.07, 0.07, 0.07, 0.03, 0.07, 0.07])
    labels = torch.multinomial(shares, m, replacement=True, generator=gen)
    images = torch.zeros(1, m, 1, 28, 28)
    images[0, :, 0, 0, 0] = (labels.float() + 0.5) / 10
    images[0, :, 0, 0, 1] = torch.rand(m, generator=gen)
    verifier = ClassifierVerifier(_LabelReader(), torch.full((10,), 0.1), n_keep=250)
    weights = verifier(images, 1, gen)
    assert weights.shape == (1, m) and weights.sum() == 250
    kept_shares = torch.bincount(labels[weights[0] == 1], minlength=10) / 250
    assert (kept_shares - 0.1).abs().max() <= 0.012  # 40% -> 10%, 3% (30 candidates) -> 10% (25 kept)
    # the no-filter entropy was well below log2(10); the kept set's is at the maximum
    assert class_entropy(kept_shares.double()) == pytest.approx(math.log2(10), abs=1e-3)


def test_self_likelihood_keeps_the_highest_elbo_items_and_elbo_prefers_training_like_digits():
    gen = torch.Generator().manual_seed(0)
    # "digits": a bright vertical bar with a little noise
    data = torch.zeros(1, 96, 1, 28, 28)
    data[..., 6:22, 12:16] = 1.0
    data = (data + 0.1 * torch.rand(data.shape, generator=gen)).clamp(0, 1)
    family = VAEFamily(epochs=4, batch_size=16, channels=4, hidden=32, device="cpu")
    model = family.fit(data, generator=gen)
    noise = torch.rand(1, 32, 1, 28, 28, generator=gen)
    candidates = torch.cat([data[:, :32], noise], dim=1)
    elbo = model.elbo(candidates)
    assert elbo.shape == (1, 64) and torch.equal(elbo, model.log_prob(candidates))  # deterministic
    assert elbo[0, :32].min() > elbo[0, 32:].max()  # training-like digits beat noise
    hook = image_curator("self-likelihood", n_keep=20, n_drawn=64)
    weights = hook(candidates, 1, torch.Generator().manual_seed(3), model)
    assert weights.sum() == 20
    assert torch.equal(weights[0].nonzero()[:, 0].sort().values, elbo[0].topk(20).indices.sort().values)
    # weight 0 drops an item: the fit equals one on the kept items alone (memo cleared between the fits)
    warm = VAEFamily(epochs=2, batch_size=16, channels=4, hidden=32, device="cpu")
    vae_module._COLD_FITS.clear()
    dropped = warm.fit(candidates, weights=weights.double(), generator=torch.Generator().manual_seed(4))
    vae_module._COLD_FITS.clear()
    subset = warm.fit(candidates[:, weights[0] == 1], generator=torch.Generator().manual_seed(4))
    z = torch.randn(5, 20, generator=gen)
    assert torch.equal(dropped.decode(z), subset.decode(z))


def test_curation_arguments_are_checked(tmp_path, monkeypatch):
    assert n_candidates(500, 0.5) == 1000 and n_candidates(500, 1.0) == 500 and n_candidates(500, 0.3) == 1667
    assert image_curator("none", n_keep=5, n_drawn=10) is None
    with pytest.raises(ValueError, match="curate"):
        image_curator("best", n_keep=5, n_drawn=10)
    with pytest.raises(ValueError, match="classifier"):
        image_curator("learned-verifier", n_keep=5, n_drawn=10)
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="curate"):
        run_experiment("vae", curate="best-looking")
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="keep_fraction"):
            run_experiment("vae", curate="learned-verifier", keep_fraction=bad)
    with pytest.raises(ValueError, match="kept_real_fraction"):
        run_experiment("vae", curate="learned-verifier", kept_real_fraction=0.1)


def test_curated_runs_draw_more_candidates_and_share_generation_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    small = dict(SMALL, generations=1)
    verified = run_experiment("vae", progress=False, curate="learned-verifier", keep_fraction=0.25, **small)
    assert verified.summary["n_synthetic"] == 100 and verified.summary["n_candidates"] == 400
    selfish = run_experiment("vae", progress=False, curate="self-likelihood", **small)
    assert selfish.summary["n_candidates"] == 200
    # generation 0 is the same model (no curation before it)
    assert verified.summary["fid"][0] == pytest.approx(selfish.summary["fid"][0])


# ---- chapter 4: the 2-D embedding, the kernel-free explorer, the presets ---------------------------------

def test_embed_2d_keeps_clusters_apart_and_splits_per_set():
    from madlib.metrics.images import embed_2d
    g = torch.Generator().manual_seed(0)
    centres = 6.0 * torch.eye(3, 64)
    labels = torch.arange(3).repeat_interleave(60)
    a = centres[labels] + torch.randn(180, 64, generator=g)
    b = centres[labels[:90]] + torch.randn(90, 64, generator=g)
    first, second = embed_2d([a, b], perplexity=20, seed=0)
    assert first.shape == (180, 2) and second.shape == (90, 2)
    points = np.concatenate([first, second])
    every = torch.cat([labels, labels[:90]]).numpy()
    # each point's nearest neighbour in the map has the same cluster: neighbourhoods survive the map
    distance = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    assert (every[distance.argmin(1)] == every).mean() > 0.97
    with pytest.raises(ValueError, match="perplexity"):
        embed_2d([a[:10]], perplexity=30)
    with pytest.raises(ValueError, match="feature_sets"):
        embed_2d([a, b[:, :10]])


def test_small_run_keeps_features_and_draws_embedding_and_explorer(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from madlib.plots.vae import embedding_points, explorer_plotly, plot_embedding
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    result = run_experiment("vae", progress=False, n_embed=50, **dict(SMALL, generations=1))
    assert result.extras["features"].shape == (1, 2, 50, 64)
    assert result.extras["predicted"].shape == (1, 2, 50) and int(result.extras["predicted"].max()) <= 9
    assert result.extras["reference_features"].shape == (50, 64)
    points = embedding_points({"a": result}, [0, 1], n_points=40)
    assert set(points) == {"real", ("a", 0), ("a", 1)} and points[("a", 1)][0].shape == (40, 2)
    fig = plot_embedding({"a": result}, [0, 1], points=points)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    with pytest.raises(ValueError, match="generations"):
        embedding_points({"a": result}, [5])
    explorer = explorer_plotly({"a": result, "b": result})
    assert len(explorer.data) == 4 * 3  # four metrics x (two runs + the real digits' line)
    binarized = run_experiment("vae", progress=False, binarize=True, **dict(SMALL, generations=0))
    assert set(torch.unique(binarized.extras["grids"]).tolist()) <= {0, 255}  # grids show 0/1 digits


def test_vae_presets_resolve():
    from madlib.experiments import resolve_config
    scratch = resolve_config("vae", {}, "default", "replace-scratch")
    assert scratch["warm_start_epochs"] == 0 and scratch["replicates"] == 3 and scratch["generations"] == 2
    assert resolve_config("vae", {}, "smoke", "replace-biased")["replicates"] == 1


def test_the_estimates_count_the_digits_the_run_will_use(monkeypatch):
    """At ``full`` offline the pool has 4,000 digits, not the 10,000 asked for: the run uses 4,000 (capped),
    so its time and memory estimates must count 4,000 too (they said 1 h 40 min for a 6 min 36 s run)."""
    from madlib.experiments import resolve_config
    from madlib.experiments import vae as vae_experiment

    monkeypatch.setattr(vae_experiment, "_training_pool", lambda source: 4000)
    config = resolve_config("vae", None, "full", preset="replace")
    assert config["n_real"] == 10_000
    as_used = dict(config, n_real=4000)
    assert vae_experiment._vae_cost(config) == vae_experiment._vae_cost(as_used)
    assert vae_experiment._vae_memory(config) == vae_experiment._vae_memory(as_used)
    fresh = dict(config, workflow="fresh")  # eleven generations of new digits share the pool
    assert vae_experiment._vae_cost(fresh) == vae_experiment._vae_cost(dict(fresh, n_real=4000 // 11))
    monkeypatch.setattr(vae_experiment, "_training_pool", lambda source: None)  # no digits readable here
    assert vae_experiment._vae_cost(config) > vae_experiment._vae_cost(as_used)  # the configuration as asked
    # the compute table estimates what the configuration asks, whatever this machine holds
    monkeypatch.setattr(vae_experiment, "_training_pool", lambda source: 4000)
    with vae_experiment.nominal_data():
        assert vae_experiment._vae_cost(config) > vae_experiment._vae_cost(as_used)
    assert vae_experiment._vae_cost(config) == vae_experiment._vae_cost(as_used)
