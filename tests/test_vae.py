"""VAE chapter: image metrics on known cases, the VAE family, and resuming an interrupted run."""
from __future__ import annotations

import math

import pytest
import torch

from madlib.experiments import run_experiment
from madlib.experiments.vae import auto_n_real, vanished_digits
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


def test_auto_n_real_never_exhausts_the_pool():
    assert auto_n_real(0, 500, 4000, "replace", 5) == 500
    assert auto_n_real(0, 10000, 4000, "fresh", 9) == 400  # ten generations of fresh digits
    assert auto_n_real(123, 500, 4000, "fresh", 5) == 123  # an explicit request is kept


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
