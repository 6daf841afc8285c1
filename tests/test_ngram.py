"""The n-gram model: exact counts, proper distributions, known perplexities, replicate batching."""
import math
from collections import Counter

import pytest
import torch

from madlib.models.decoding import Decoding
from madlib.models.lm import NGramFamily
from madlib.models.ngram import NGramModel
from madlib.models.tokenizer import ByteTokenizer

TOK = ByteTokenizer()


def blocks_of(texts, length):
    return torch.stack([TOK.encode(t)[:length] for t in texts])[None]


def test_counts_are_exact_against_a_python_counter():
    texts = ["abracadabra abra", "cadabra abracada"]
    data = blocks_of(texts, 16)
    model = NGramModel(order=3, smoothing="add_k").fit(data)
    counter = Counter(t[i : i + 3] for t in texts for i in range(len(t) - 2))
    for gram, n in counter.items():
        assert model.count(list(gram.encode())) == n
    assert model.count(list(b"zzz")) == 0
    assert model.count(list(b"a")) == sum(t.count("a") for t in texts)


@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
def test_next_token_distributions_sum_to_one_and_match_sequence_scores(smoothing):
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 6, (2, 30, 12), generator=gen)
    model = NGramModel(order=4, vocab_size=6, smoothing=smoothing).fit(data)
    tokens = data[:, :5, :8].reshape(10, 8)
    rep = torch.arange(2).repeat_interleave(5)
    log_probs = model.next_log_probs(tokens, rep)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(10), atol=1e-5)
    full = model.token_log_probs(data[:, :5, :9])  # position 8 given tokens 0..7
    picked = log_probs.double()[torch.arange(10), data[:, :5, 8].reshape(-1)]
    assert torch.allclose(full[:, :, -1].reshape(-1), picked, atol=1e-5)
    # probabilities of every position also normalise for short histories
    short = model.next_log_probs(tokens[:, :1], rep)
    assert torch.allclose(short.exp().sum(-1), torch.ones(10), atol=1e-5)


def test_unigram_perplexity_is_exp_entropy_of_the_counts():
    data = blocks_of(["aaaaaaab", "aaaabbbc"], 8)  # scored tokens exclude each block's first
    model = NGramModel(order=1, smoothing="add_k", add_k=1e-9).fit(data)
    counts = Counter("aaaaaaabaaaabbbc")
    total = sum(counts.values())
    scored = "aaaaaab" + "aaabbbc"
    expected = math.exp(-sum(math.log(counts[c] / total) for c in scored) / len(scored))
    assert model.perplexity(data).item() == pytest.approx(expected, rel=1e-6)


def test_uniform_data_gives_perplexity_near_vocabulary_size():
    gen = torch.Generator().manual_seed(1)
    data = torch.randint(0, 8, (1, 4000, 16), generator=gen)
    model = NGramModel(order=2, vocab_size=8).fit(data)
    held_out = torch.randint(0, 8, (1, 500, 16), generator=gen)
    assert model.perplexity(held_out).item() == pytest.approx(8.0, rel=0.02)


def test_replicates_are_independent_models_and_zero_weight_drops_blocks():
    gen = torch.Generator().manual_seed(2)
    a = torch.randint(0, 5, (1, 20, 10), generator=gen)
    b = torch.randint(0, 5, (1, 20, 10), generator=gen)
    both = NGramModel(order=3, vocab_size=5).fit(torch.cat([a, b]))
    alone = NGramModel(order=3, vocab_size=5).fit(b)
    assert torch.allclose(both.token_log_probs(torch.cat([a, b]))[1], alone.token_log_probs(b)[0])
    weights = torch.ones(1, 40, dtype=torch.float64)
    weights[0, 20:] = 0
    dropped = NGramModel(order=3, vocab_size=5).fit(torch.cat([a, b], dim=1), weights)
    only_a = NGramModel(order=3, vocab_size=5).fit(a)
    assert torch.allclose(dropped.token_log_probs(a), only_a.token_log_probs(a))


def test_greedy_continuation_of_a_periodic_text_repeats_the_period():
    data = blocks_of(["abcdefgh" * 4] * 3, 32)
    family = NGramFamily(order=3, decoding=Decoding(temperature=0.0), prompt_len=16)
    model = family.fit(data)
    out = model.sample(3, context=data, generator=torch.Generator().manual_seed(0))
    assert out.shape == data.shape
    assert torch.equal(out, data)  # prompt kept, continuation is the exact period
    sampled = NGramFamily(order=3, prompt_len=16).fit(data).sample(5, context=data,
                                                                    generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (1, 5, 32) and torch.equal(sampled[..., :16], data[:, :1, :16].expand(1, 5, 16))


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="order"):
        NGramModel(order=0)
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(smoothing="witten_bell")
    with pytest.raises(ValueError, match="discount"):
        NGramModel(discount=1.5)
    with pytest.raises(ValueError, match="shorter than the order"):
        NGramModel(order=5).fit(torch.zeros(1, 3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(R, N, L\)"):
        NGramModel().fit(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="token ids"):
        NGramModel(vocab_size=4).fit(torch.full((1, 2, 6), 7))
