"""Experiment lm: collapse trends, resume without loss, the family recipe, text metrics."""
from collections import Counter

import numpy as np
import pytest
import torch

from madlib.experiments import run_experiment
from madlib.loop import run_loop
from madlib.metrics.text import distinct_n, sequence_perplexity, survival_by_frequency, type_token_ratios, words
from madlib.models.decoding import Decoding
from madlib.models.lm_family import NGramFamily, TransformerFamily
from madlib.models.transformer import TrainConfig, TransformerConfig, build_model
from madlib.sources import PoolSource

torch.set_num_threads(1)
SMALL = dict(n_blocks=150, test_blocks=40, replicates=2, generations=3, n_sample_texts=2)


def test_ngram_replace_degrades_and_accumulate_degrades_less():
    replace = run_experiment("lm", **SMALL)
    accumulate = run_experiment("lm", workflow="accumulate", **SMALL)
    s = replace.summary
    for key in ("test_perplexity", "distinct_2", "seq_ppl_q95", "word_survival"):
        assert len(s[key]) == SMALL["generations"] + 1
    assert s["test_perplexity"][-1] > s["test_perplexity"][0] * 1.1  # steady degradation without real data
    assert accumulate.summary["test_perplexity"][-1] < s["test_perplexity"][-1]
    assert s["word_survival"][0] == 1.0 and s["word_survival"][-1] < 0.8  # words are forgotten
    assert s["seq_ppl_q95"][-1] > s["seq_ppl_q95"][0]  # a tail of improbable text grows
    assert len(replace.extras["sample_texts"]) == SMALL["generations"] + 1
    assert len(replace.extras["sample_texts"][0]) == 2


def test_greedy_decoding_collapses_diversity_faster_than_sampling():
    sampled = run_experiment("lm", **SMALL)
    greedy = run_experiment("lm", temperature=0.0, **SMALL)
    assert greedy.summary["distinct_2"][-1] < sampled.summary["distinct_2"][-1]


def test_bad_parameters_raise_value_errors():
    with pytest.raises(ValueError, match="model"):
        run_experiment("lm", model="rnn")
    with pytest.raises(ValueError, match="temperature"):
        run_experiment("lm", temperature=-1.0, **SMALL)
    with pytest.raises(ValueError, match="n_blocks"):
        run_experiment("lm", n_blocks=10**6)


class Crash(RuntimeError):
    pass


def _blocks():
    text = ("the cat sat on the mat and the dog sat on the log while the bird sang " * 40).encode()
    ids = torch.tensor(list(text))
    return ids[: 32 * (len(ids) // 32)].reshape(-1, 32)


@pytest.mark.parametrize("kind", ["ngram", "transformer"])
def test_loop_resumes_after_interruption_without_loss(tmp_path, kind):
    blocks = _blocks()

    def family():
        if kind == "ngram":
            return NGramFamily(order=3, prompt_len=16)
        base = build_model(TransformerConfig(vocab_size=256, context=32, d_model=16, n_layers=1, n_heads=2), seed=0)
        return TransformerFamily(base, TrainConfig(steps=3, batch_size=4, warmup=1), Decoding(), prompt_len=16)

    def evaluate(model, data, t, generator):
        if crash_at is not None and t == crash_at:
            raise Crash
        return {"mean_token": data.double().mean()}

    def run(directory):
        pool = PoolSource(blocks, 1, generator=torch.Generator().manual_seed(0))
        return run_loop(family(), pool, generations=3, n_real=20, seed=1, evaluate=evaluate,
                        snapshot_generations=range(4), checkpoint_dir=directory)

    crash_at = None
    straight = run(tmp_path / "a")
    crash_at = 2
    with pytest.raises(Crash):
        run(tmp_path / "b")
    crash_at = None
    resumed = run(tmp_path / "b")
    assert resumed.resumed_from == 1
    assert resumed.table.equals(straight.table)
    for g in range(4):
        assert torch.equal(resumed.snapshots[g], straight.snapshots[g])


def test_sampling_prompts_with_the_first_or_the_rolling_last_half():
    blocks = _blocks()[None, :10]
    model = NGramFamily(order=3, prompt_len=16, prompt_mode="first").fit(blocks)
    out = model.sample(10, context=blocks, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., :16], blocks[..., :16])
    assert not torch.equal(out, blocks)
    rolling = NGramFamily(order=3, prompt_len=16).fit(blocks)
    out = rolling.sample(10, context=blocks, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[..., :16], blocks[..., 16:])  # the predecessor's last half opens the new block
    with pytest.raises(ValueError, match="prompt_mode"):
        NGramFamily(prompt_mode="middle")
    fewer = model.sample(4, context=blocks, generator=torch.Generator().manual_seed(0))
    assert fewer.shape == (1, 4, 32)
    with pytest.raises(ValueError, match="context"):
        model.sample(3)


def test_text_metrics_known_values():
    assert words("The cat, the CAT!") == ["the", "cat", "the", "cat"]
    assert distinct_n(["a b a b"], 1) == pytest.approx(0.5)
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert distinct_n(["a b", "a b"], 2) == pytest.approx(0.5)  # n-grams do not cross texts
    assert type_token_ratios(["x y z"], (1, 3)) == {1: 1.0, 3: 1.0}
    initial = Counter({"rare": 1, "once": 1, "common": 10})
    out = survival_by_frequency(initial, Counter({"common": 3, "once": 1}), bins=(1, 5))
    assert out["words"].tolist() == [2, 1] and out["survival"].tolist() == [0.5, 1.0]
    lp = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    assert sequence_perplexity(lp).item() == pytest.approx(2 ** (5 / 3))
    assert sequence_perplexity(lp, start=1).item() == pytest.approx(4.0)
    with pytest.raises(ValueError):
        sequence_perplexity(lp, start=3)


def test_interrupted_experiment_resumes_with_identical_results(monkeypatch):
    from madlib.models import lm_family

    config = dict(SMALL, replicates=1)
    straight = run_experiment("lm", use_cache=False, **config).summary
    original = lm_family._LMModel.sample
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # killed while writing generation 3's text
            raise Crash
        return original(self, *args, **kwargs)

    monkeypatch.setattr(lm_family._LMModel, "sample", flaky)
    with pytest.raises(Crash):
        run_experiment("lm", use_cache=False, **config)
    monkeypatch.setattr(lm_family._LMModel, "sample", original)
    # rerun with the cache on: the checkpoints of generations 0-2 are reused
    resumed = run_experiment("lm", **config).summary
    assert resumed["resumed_from"] == 2
    for key in ("test_perplexity", "distinct_2", "seq_ppl_median", "word_survival"):
        assert resumed[key] == pytest.approx(straight[key])
