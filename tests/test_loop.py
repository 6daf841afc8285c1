"""The self-consuming loop: workflows build the right training sets, checkpoints resume exactly."""
import numpy as np
import pytest
import torch

from madlib.core.loop import LoopCheckpoint, run_loop
from madlib.core.workflows import configure, training_set_size
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



class Interrupt(Exception):
    """Stands for a kill in the middle of a run."""


def interrupting_observer(at: int):
    """An observer that records the fitted std and raises :class:`Interrupt` at generation ``at``."""
    def observe(m, d, g, gen):
        if g == at:
            raise Interrupt
        return {"std": m.std}
    return observe

def test_kept_real_fraction_mixes_original_data_into_replace():
    family = RecordingFamily()
    run_loop(family, real_source(), generations=2, n_real=10, n_synthetic=10,
             workflow=configure("replace", kept_real_fraction=0.3))
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
    (dict(workflow=("replace", {"kept_real_fraction": 1.5})), "kept_real_fraction"),
    (dict(sampling_bias=0.0), "sampling_bias"),
    (dict(workflow=("fresh", {"kept_real_fraction": 0.1})), "kept_real_fraction"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    args = dict(generations=2, n_real=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        if isinstance(args.get("workflow"), tuple):
            workflow, options = args.pop("workflow")
            args["workflow"] = configure(workflow, **options)
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

    observe = interrupting_observer(at=4)

    with pytest.raises(Interrupt):
        run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                 observe=observe, checkpoint=LoopCheckpoint(tmp_path))
    assert len(calls) == 5  # generations 0..4 fitted, 0..3 saved
    calls.clear()
    resumed = run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                       observe=lambda m, d, g, gen: {"std": m.std}, checkpoint=LoopCheckpoint(tmp_path))
    assert resumed.resumed_from == 3
    assert len(calls) == 3  # only generations 4, 5, 6
    assert torch.allclose(resumed.model.mean, full.model.mean)
    assert np.allclose(resumed.table["value"], full.table["value"])
    with pytest.raises(ValueError, match="different run"):
        run_loop(Counting(), source(), generations=6, n_real=21, seed=1, workflow="accumulate",
                 checkpoint=LoopCheckpoint(tmp_path))
    with pytest.raises(ValueError, match="different run"):  # the same loop for another experiment config
        run_loop(Counting(), source(), generations=6, n_real=20, seed=1, workflow="accumulate",
                 checkpoint=LoopCheckpoint(tmp_path, {"experiment": "other"}))


def test_curate_weights_reach_the_fit():
    source = DistributionSource(gaussian_source_sampler(), replicates=200)

    def keep_positive(samples, generation, generator, model):
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


# --- workflows added for chapter 6: accumulate-subsample, mix, reset --------------------------------------


class WeightRecordingFamily:
    """Fits nothing; remembers the pool size, the weighted (trained-on) size and the real items among them.

    Synthetic items carry their generation (1, 2, ...), real items are >= 1000, so a test can see what
    each training set holds."""

    name = "weight-recording"

    def __init__(self, replicates=2):
        self.replicates = replicates
        self.pool_sizes, self.trained, self.real_trained, self.items = [], [], [], []
        self.generation = 0

    def fit(self, data, *, weights=None, previous=None, generator=None):
        w = torch.ones(data.shape[:2], dtype=torch.float64) if weights is None else weights
        self.pool_sizes.append(data.shape[1])
        self.trained.append(w.sum(dim=1).tolist())
        self.real_trained.append(((data >= 1000) * w).sum(dim=1).tolist())
        self.items.append((data.clone(), w.clone()))
        self.generation += 1
        return self

    def sample(self, n, *, sampling_bias=1.0, generator=None, context=None):
        return torch.full((self.replicates, n), float(self.generation))


def test_accumulate_subsample_trains_on_a_fixed_budget_drawn_from_the_whole_pool():
    family = WeightRecordingFamily()
    generations, n_real, n_synthetic = 6, 10, 10
    run_loop(family, real_source(), generations=generations, n_real=n_real, n_synthetic=n_synthetic,
             workflow="accumulate-subsample")
    # the training set stays at n_real, unweighted
    assert family.pool_sizes == [n_real] * (generations + 1)
    assert all(sizes == [n_real, n_real] for sizes in family.trained)
    assert [training_set_size("accumulate-subsample", t, n_real, n_synthetic) for t in range(generations + 1)] \
        == [n_real] * (generations + 1)
    # no item twice (a subset, not a bootstrap), and items reach back past the newest batch
    data, _ = family.items[-1]
    reals = data[data >= 1000]
    assert reals.unique().numel() == reals.numel()
    assert len(set(data[data < 1000].tolist())) >= 2


def test_accumulate_subsample_draws_uniformly_from_the_pool():
    # over many replicates the real share of the subsample at generation t is n_real / (n_real + t n_synthetic)
    family = WeightRecordingFamily(replicates=400)
    run_loop(family, real_source(400), generations=3, n_real=10, n_synthetic=10, workflow="accumulate-subsample")
    for t in range(1, 4):
        share = np.mean(family.real_trained[t]) / 10
        assert share == pytest.approx(1 / (t + 1), abs=0.03)
    # and generation 3's subsample holds items of each earlier synthetic generation in equal shares
    data, _ = family.items[3]
    for g in (1, 2, 3):
        assert float((data == g).double().mean()) == pytest.approx(0.25, abs=0.03)


def test_accumulate_subsample_resumes_with_its_pool(tmp_path):
    # an interrupted run resumes exactly: the pool (the workflow's state) is checkpointed with the rest
    source = lambda: DistributionSource(gaussian_source_sampler(), replicates=3)
    kw = dict(generations=6, n_real=10, seed=2, workflow="accumulate-subsample")
    full = run_loop(GaussianFamily(), source(), observe=lambda m, d, g, gen: {"std": m.std}, **kw)

    observe = interrupting_observer(at=4)

    with pytest.raises(Interrupt):
        run_loop(GaussianFamily(), source(), observe=observe, checkpoint=LoopCheckpoint(tmp_path), **kw)
    resumed = run_loop(GaussianFamily(), source(), observe=lambda m, d, g, gen: {"std": m.std},
                       checkpoint=LoopCheckpoint(tmp_path), **kw)
    assert resumed.resumed_from == 3
    assert np.allclose(resumed.table["value"], full.table["value"])


def test_accumulate_subsample_refuses_curation():
    with pytest.raises(ValueError, match="accumulate-subsample"):
        run_loop(WeightRecordingFamily(), real_source(), generations=1, n_real=10, workflow="accumulate-subsample",
                 curate=lambda s, g, gen, model: torch.ones(s.shape[:2], dtype=torch.float64))


def test_mix_takes_the_three_shares():
    family = WeightRecordingFamily()
    run_loop(family, real_source(), generations=3, n_real=10, n_synthetic=20,
             workflow=configure("mix", mix_original=0.25, mix_previous=0.25))
    # 5 original, 5 from the previous training set, 10 new samples: 20 in all
    assert family.pool_sizes == [10, 20, 20, 20]
    data, _ = family.items[1]  # generation 1: previous = the original data, so 10 real items
    assert (data >= 1000).sum(dim=1).tolist() == [10, 10]
    data, _ = family.items[3]
    fresh_samples = (data == 3).sum(dim=1)  # generation 3's new samples carry the value 3
    assert fresh_samples.tolist() == [10, 10]
    assert ((data >= 1000).sum(dim=1) >= 5).all()  # at least alpha's 5 original items


def test_mix_special_cases_equal_the_workflows():
    # alpha = beta = 0 is replace; alpha = f, beta = 0 keeps f of original data like kept_real_fraction
    a = RecordingFamily()
    run_loop(a, real_source(), generations=2, n_real=10, n_synthetic=10,
             workflow=configure("mix", mix_original=0.0))
    b = RecordingFamily()
    run_loop(b, real_source(), generations=2, n_real=10, n_synthetic=10, workflow="replace")
    assert a.sizes == b.sizes and a.real_counts == b.real_counts
    c = RecordingFamily()
    run_loop(c, real_source(), generations=2, n_real=10, n_synthetic=10,
             workflow=configure("mix", mix_original=0.2))
    d = RecordingFamily()
    run_loop(d, real_source(), generations=2, n_real=10, n_synthetic=10,
             workflow=configure("replace", kept_real_fraction=0.2))
    assert c.sizes == d.sizes and c.real_counts == d.real_counts == [10, 2, 2]


@pytest.mark.parametrize("options, message", [
    ({"mix_original": 0.6, "mix_previous": 0.5}, "at least one new sample"),
    ({"mix_original": -0.1}, "mix_original"),
    ({"reset_every": 3}, "do not apply"),
])
def test_mix_bad_options_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        run_loop(RecordingFamily(), real_source(), generations=1, n_real=10, workflow=configure("mix", **options))


def test_reset_returns_to_the_pristine_snapshot_every_k_generations():
    family = WeightRecordingFamily()
    run_loop(family, real_source(), generations=7, n_real=10, n_synthetic=8,
             workflow=configure("reset", reset_every=3))
    snapshot = family.items[0][0]
    for t in range(8):
        data, _ = family.items[t]
        if t % 3 == 0:
            assert torch.equal(data, snapshot)  # the same real items, not new ones
        else:
            assert (data == t).all() and data.shape[1] == 8  # replace: the last model's samples only
    assert [training_set_size(configure("reset", reset_every=3), t, 10, 8) for t in range(8)] == \
        [10, 8, 8, 10, 8, 8, 10, 8]


def test_reset_period_is_checked_and_belongs_to_reset():
    assert configure("reset").options == {"reset_every": 10}  # the default period
    for bad in (0, -1, 2.5, True, float("inf")):
        with pytest.raises(ValueError, match="reset_every"):
            configure("reset", reset_every=bad)
    with pytest.raises(ValueError, match="do not apply"):
        configure("replace", reset_every=2)


def test_reset_holds_the_gaussian_between_resets():
    # a Gaussian chain that collapses under replace is pulled back to its generation-0 fit at each reset
    source = DistributionSource(gaussian_source_sampler(), 2000)
    stds = {}

    def observe(model, data, t, generator):
        return {"std": model.std}

    for workflow in (configure("replace"), configure("reset", reset_every=10)):
        result = run_loop(GaussianFamily(ddof=0), DistributionSource(gaussian_source_sampler(), 2000), generations=40,
                          n_real=20, workflow=workflow, observe=observe)
        stds[workflow.name] = result.wide("std")
    reset = stds["reset"]
    assert torch.allclose(torch.tensor(reset.loc[30].values), torch.tensor(reset.loc[0].values))
    # log-variance drift per generation: E ln(chi2_{n-1} / n) = psi((n-1)/2) + ln(2/n) (about -2/n);
    # replace drifts 40 steps, reset only the 9 since the last reset
    from scipy.special import digamma
    drift = digamma(19 / 2) + np.log(2 / 20)
    assert np.mean(np.log(stds["replace"].loc[39] ** 2 / stds["replace"].loc[0] ** 2)) == pytest.approx(39 * drift,
                                                                                                   abs=0.15)
    assert np.mean(np.log(reset.loc[39] ** 2 / reset.loc[0] ** 2)) == pytest.approx(9 * drift, abs=0.08)
    del source
