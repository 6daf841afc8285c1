"""The self-consuming loop: workflows build the right training sets, checkpoints resume exactly."""
import numpy as np
import pytest
import torch

from madlib.core.loop import run_loop
from madlib.core.workflows import training_set_size
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.core.sources import DistributionSource, PoolSource


class RecordingFamily:
    """Fits nothing; remembers training-set sizes and where items came from (real items are >= 1000)."""

    name = "recording"

    def __init__(self):
        self.sizes, self.real_counts = [], []

    def fit(self, data, *, weights=None, previous=None, generator=None):
        self.sizes.append(data.shape[1])
        self.real_counts.append(int((data[0] >= 1000).sum()))
        return self

    def sample(self, n, *, sampling_bias=1.0, generator=None, context=None):
        return torch.zeros(2, n)  # synthetic items are 0


def real_source(replicates=2):
    return DistributionSource(lambda r, n, g: 1000 + torch.rand(r, n, generator=g), replicates)


@pytest.mark.parametrize("workflow, sizes, reals", [
    ("replace", [10, 8, 8, 8], [10, 0, 0, 0]),
    ("augment", [10, 18, 18, 18], [10, 10, 10, 10]),
    ("fresh", [10, 18, 18, 18], [10, 10, 10, 10]),
    ("accumulate", [10, 18, 26, 34], [10, 10, 10, 10]),
])
def test_workflows_build_the_documented_training_sets(workflow, sizes, reals):
    family = RecordingFamily()
    run_loop(family, real_source(), generations=3, n_real=10, n_synthetic=8, workflow=workflow)
    assert family.sizes == sizes
    assert family.real_counts == reals
    assert [training_set_size(workflow, g, 10, 8) for g in range(4)] == sizes


def test_kept_real_fraction_mixes_original_data_into_replace():
    family = RecordingFamily()
    run_loop(family, real_source(), generations=2, n_real=10, n_synthetic=10, kept_real_fraction=0.3)
    assert family.sizes == [10, 10, 10]
    assert family.real_counts == [10, 3, 3]


def test_fresh_workflow_from_a_pool_uses_new_items_and_fails_clearly_when_dry():
    pool = torch.arange(30.0)[:, None]
    source = PoolSource(pool, replicates=1, generator=torch.Generator().manual_seed(0))
    seen = []

    class Fam(RecordingFamily):
        def fit(self, data, **kw):
            seen.append(data[0, :5, 0].tolist())
            return self

        def sample(self, n, **kw):
            return torch.full((1, n, 1), -1.0)

    run_loop(Fam(), source, generations=4, n_real=5, workflow="fresh")
    firsts = [x for chunk in seen for x in chunk]
    assert len(set(firsts)) == 25  # every real item is new
    with pytest.raises(ValueError, match="pool"):
        run_loop(Fam(), PoolSource(pool, 1), generations=10, n_real=5, workflow="fresh")


@pytest.mark.parametrize("kwargs, name", [
    (dict(generations=-1), "generations"),
    (dict(n_real=0), "n_real"),
    (dict(workflow="recycle"), "workflow"),
    (dict(kept_real_fraction=1.5), "kept_real_fraction"),
    (dict(sampling_bias=0.0), "sampling_bias"),
    (dict(kept_real_fraction=0.1, workflow="fresh"), "kept_real_fraction"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    args = dict(generations=2, n_real=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        run_loop(RecordingFamily(), real_source(), **args)


def test_evaluate_gets_one_value_per_replicate_and_tidy_table():
    source = DistributionSource(gaussian_source_sampler(), replicates=4)
    result = run_loop(GaussianFamily(), source, generations=3, n_real=50,
                      observe=lambda m, d, g, gen: {"std": m.std, "size": d.shape[1]})
    assert list(result.table.columns) == ["generation", "replicate", "metric", "value"]
    assert len(result.table) == 4 * 4 * 2
    assert set(result.table["generation"]) == {0, 1, 2, 3}


def test_same_seed_same_chain_and_evaluation_does_not_perturb_it():
    source = lambda: DistributionSource(gaussian_source_sampler(), replicates=3)
    a = run_loop(GaussianFamily(), source(), generations=5, n_real=20, seed=7)
    b = run_loop(GaussianFamily(), source(), generations=5, n_real=20, seed=7,
                 observe=lambda m, d, g, gen: {"noise": torch.randn(3, generator=gen)})
    assert torch.equal(a.model.mean, b.model.mean)


def test_interrupted_run_resumes_without_redoing_finished_generations(tmp_path):
    calls = []

    class Counting(GaussianFamily):
        def fit(self, data, **kw):
            calls.append(data.shape[1])
            return super().fit(data, **kw)

    source = lambda: DistributionSource(gaussian_source_sampler(), replicates=3)
    full = run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                    observe=lambda m, d, g, gen: {"std": m.std})
    calls.clear()

    class Interrupt(Exception):
        pass

    def observe(m, d, g, gen):
        if g == 4:
            raise Interrupt
        return {"std": m.std}

    with pytest.raises(Interrupt):
        run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                 observe=observe, checkpoint_dir=tmp_path)
    assert len(calls) == 5  # generations 0..4 fitted, 0..3 saved
    calls.clear()
    resumed = run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                       observe=lambda m, d, g, gen: {"std": m.std}, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 3
    assert len(calls) == 3  # only generations 4, 5, 6
    assert torch.allclose(resumed.model.mean, full.model.mean)
    assert np.allclose(resumed.table["value"], full.table["value"])
    with pytest.raises(ValueError, match="different run"):
        run_loop(Counting(), source(), generations=6, n_real=21, seed=1, workflow="accumulate",
                 checkpoint_dir=tmp_path)


def test_curate_weights_reach_the_fit():
    source = DistributionSource(gaussian_source_sampler(), replicates=200)

    def keep_positive(samples, generation, generator):
        return (samples[..., 0] > 0).to(torch.float64)

    result = run_loop(GaussianFamily(), source, generations=1, n_real=200, curate=keep_positive)
    # keeping only the right half of N(mu, s) moves the mean up by about s * sqrt(2/pi)
    assert result.model.mean.mean().item() == pytest.approx(np.sqrt(2 / np.pi), abs=0.05)


def test_curate_can_see_the_generating_model():
    source = DistributionSource(gaussian_source_sampler(), replicates=50)
    seen = []

    def below_model_mean(samples, generation, generator, model):
        seen.append(model)
        return (samples[..., 0] < model.mean[:, :1]).to(torch.float64)

    result = run_loop(GaussianFamily(), source, generations=2, n_real=400, curate=below_model_mean)
    assert len(seen) == 2 and all(hasattr(m, "cov") for m in seen)
    assert result.model.mean.mean().item() < -0.9  # two halvings to the left
