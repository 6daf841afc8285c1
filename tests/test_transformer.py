"""The tiny transformer: known perplexities, decoding options, schedule, exact resume."""
import math

import pytest
import torch

from madlib.models.decoding import Decoding, beam_search, generate
from madlib.models.transformer import (Interrupted, TrainConfig, TransformerConfig, build_model, continue_text,
                                       lr_factor, next_log_probs_fn, perplexity, token_log_probs, train)

torch.set_num_threads(1)
CFG = TransformerConfig(vocab_size=12, context=16, d_model=16, n_layers=1, n_heads=2)


def random_model(seed=0, scale=3.0):
    model = build_model(CFG, seed=seed)
    with torch.no_grad():  # sharpen the random model so decoding choices matter
        model.tok.weight.mul_(scale / 0.02 * 0.1)
    return model.eval()


def test_uniform_model_has_perplexity_equal_to_vocabulary_size():
    model = build_model(TransformerConfig(vocab_size=256, context=8, d_model=8, n_layers=1, n_heads=2))
    with torch.no_grad():
        model.tok.weight.zero_()  # all logits 0: the uniform distribution
    blocks = torch.randint(0, 256, (5, 8), generator=torch.Generator().manual_seed(0))
    assert perplexity(model, blocks) == pytest.approx(256.0, rel=1e-5)


def test_perplexity_of_a_known_bigram_model_on_known_text():
    # p(next = (x + 1) % 4) = 0.7, others 0.1: a text following the rule scores exp(-ln 0.7) per token.
    table = torch.full((4, 4), 0.1)
    table[torch.arange(4), (torch.arange(4) + 1) % 4] = 0.7

    def next_log_probs(tokens):
        return table[tokens[:, -1]].log()

    greedy = generate(next_log_probs, torch.tensor([[0]]), 7, Decoding(temperature=0.0))
    assert greedy.tolist() == [[0, 1, 2, 3, 0, 1, 2, 3]]
    seq_lp = sum(next_log_probs(greedy[:, : t])[0, greedy[0, t]] for t in range(1, 8))
    assert math.exp(-seq_lp / 7) == pytest.approx(1 / 0.7, rel=1e-6)


def test_temperature_to_zero_is_greedy_and_top_k_one_is_greedy():
    model = random_model()
    prompt = torch.randint(0, 12, (6, 4), generator=torch.Generator().manual_seed(1))
    greedy = continue_text(model, prompt, 10, Decoding(temperature=0.0))
    cold = continue_text(model, prompt, 10, Decoding(temperature=1e-4), generator=torch.Generator().manual_seed(3))
    top1 = continue_text(model, prompt, 10, Decoding(top_k=1), generator=torch.Generator().manual_seed(4))
    assert torch.equal(greedy, cold) and torch.equal(greedy, top1)
    warm = continue_text(model, prompt, 10, Decoding(temperature=1.0), generator=torch.Generator().manual_seed(3))
    assert not torch.equal(greedy, warm)  # sampling at temperature 1 differs


def _continuation_log_prob(model, tokens, start):
    return token_log_probs(model, tokens)[:, start - 1 :].sum(-1)


def test_beam_search_beats_greedy_in_likelihood():
    model = random_model(seed=5)
    prompt = torch.randint(0, 12, (20, 3), generator=torch.Generator().manual_seed(2))
    fn = next_log_probs_fn(model)
    greedy = generate(fn, prompt, 8, Decoding(temperature=0.0))
    beam = beam_search(fn, prompt, 8, beams=6)
    assert torch.equal(beam[:, :3], prompt)
    lp_greedy = _continuation_log_prob(model, greedy, 3)
    lp_beam = _continuation_log_prob(model, beam, 3)
    assert (lp_beam >= lp_greedy - 1e-4).all()
    assert (lp_beam > lp_greedy + 1e-3).any()  # and strictly better somewhere
    assert torch.equal(beam_search(fn, prompt, 8, beams=1), greedy)  # one beam is greedy


def test_repetition_penalty_lowers_the_chance_of_seen_tokens():
    model = random_model(seed=6)
    prompt = torch.randint(0, 12, (200, 6), generator=torch.Generator().manual_seed(7))
    plain = continue_text(model, prompt, 1, Decoding(), generator=torch.Generator().manual_seed(8))
    penal = continue_text(model, prompt, 1, Decoding(repetition_penalty=3.0), generator=torch.Generator().manual_seed(8))

    def repeats(out):
        return (out[:, -1:] == out[:, :-1]).any(-1).float().mean()

    assert repeats(penal) < repeats(plain)


def test_learning_rate_warms_up_then_decays_by_cosine():
    cfg = TrainConfig(steps=100, warmup=10, lr=1.0, min_lr_ratio=0.1)
    factors = [lr_factor(s, cfg) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[-1] == pytest.approx(0.1, abs=1e-3)
    assert lr_factor(55, cfg) == pytest.approx(0.55, abs=1e-9)  # half-way: (1 + 0.1) / 2


def test_training_learns_a_deterministic_text_and_reports_validation_perplexity():
    text = torch.arange(12).repeat(40)  # 0 1 2 ... 11 0 1 ...: next token is fully predictable
    blocks = text[: 16 * 30].reshape(30, 16)
    model = build_model(CFG, seed=0)
    history = train(model, blocks, TrainConfig(steps=120, batch_size=8, lr=1e-2, warmup=10, eval_every=40),
                    valid_blocks=blocks[:4])
    assert history["valid_step"] == [40, 80, 120]
    assert history["valid_perplexity"][-1] < 1.3 < 12  # from ~12 (uniform) to near 1
    assert history["train_loss"][-1] < history["train_loss"][0] / 5


def test_training_resumes_after_interruption_exactly(tmp_path):
    gen = torch.Generator().manual_seed(0)
    blocks = torch.randint(0, 12, (40, 16), generator=gen)
    cfg = TrainConfig(steps=20, batch_size=4, warmup=3, checkpoint_every=5)
    straight = build_model(CFG, seed=1)
    h_straight = train(straight, blocks, cfg, seed=3)
    path = tmp_path / "ckpt.pt"
    resumed = build_model(CFG, seed=1)
    with pytest.raises(Interrupted):
        train(resumed, blocks, cfg, seed=3, checkpoint_path=path, stop_after=12)  # killed at step 12
    fresh_process = build_model(CFG, seed=1)  # a new process: weights from the checkpoint (step 10)
    h_resumed = train(fresh_process, blocks, cfg, seed=3, checkpoint_path=path)
    for a, b in zip(straight.parameters(), fresh_process.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert h_resumed["train_loss"] == pytest.approx(h_straight["train_loss"], rel=1e-5)


def test_training_on_a_token_stream_learns_and_resumes_exactly_with_dropout(tmp_path):
    # A tiny corpus: a short phrase repeated, read as one stream (random windows of context + 1).
    from madlib.models.tokenizer import CharTokenizer

    text = "to be or not to be, that is the question. " * 30
    tok = CharTokenizer(text)
    stream = tok.encode(text)
    cfg = TransformerConfig(vocab_size=tok.vocab_size, context=16, d_model=32, n_layers=1, n_heads=2, dropout=0.1)
    tcfg = TrainConfig(steps=60, batch_size=8, lr=1e-2, warmup=5, checkpoint_every=20)
    valid = stream[: 17 * 10].reshape(10, 17)
    torch.manual_seed(123)
    before = torch.rand(3)
    straight = build_model(cfg, seed=2)
    h_straight = train(straight, stream, tcfg, seed=4, valid_blocks=valid)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), before)  # the caller's global random state is left alone
    assert h_straight["valid_loss"][-1] < math.log(tok.vocab_size) / 3  # far below the uniform loss (2.7)
    assert sum(h_straight["train_loss"][-10:]) < sum(h_straight["train_loss"][:10]) / 2.5
    assert h_straight["valid_perplexity"][-1] == pytest.approx(math.exp(h_straight["valid_loss"][-1]))
    path = tmp_path / "run" / "ckpt.pt"
    with pytest.raises(Interrupted):
        train(build_model(cfg, seed=2), stream, tcfg, seed=4, valid_blocks=valid, checkpoint_path=path, stop_after=33)
    assert path.exists() and not list(path.parent.glob("*.tmp"))  # saved at step 20, atomically
    resumed = build_model(cfg, seed=2)
    h_resumed = train(resumed, stream, tcfg, seed=4, valid_blocks=valid, checkpoint_path=path)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)  # dropout masks and batches replayed exactly
    assert h_resumed["train_loss"] == h_straight["train_loss"]
    other = build_model(cfg, seed=2)
    train(other, stream, tcfg, seed=5)
    assert not torch.equal(other.tok.weight, straight.tok.weight)  # the seed matters


def test_weight_decay_spares_biases_and_norms():
    from madlib.models.transformer import make_optimizer

    model = build_model(CFG)
    decayed, spared = make_optimizer(model, TrainConfig(weight_decay=0.1)).param_groups
    assert decayed["weight_decay"] == 0.1 and spared["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in spared["params"])
    assert len(decayed["params"]) + len(spared["params"]) == len(list(model.parameters()))


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        TransformerConfig(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="temperature"):
        Decoding(temperature=-1)
    with pytest.raises(ValueError, match="beams"):
        Decoding(beams=0)
    with pytest.raises(ValueError, match="repetition_penalty"):
        Decoding(repetition_penalty=0.5)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)
    model = build_model(CFG)
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="context \\+ 1"):
        train(model, torch.zeros(10, dtype=torch.long), TrainConfig(steps=1))
    with pytest.raises(ValueError, match="weights need blocks"):
        train(model, torch.zeros(100, dtype=torch.long), TrainConfig(steps=1), weights=torch.ones(100))
    with pytest.raises(ValueError, match=r"\(N, L\) or \(T,\)"):
        train(model, torch.zeros(2, 3, 4, dtype=torch.long), TrainConfig(steps=1))


def test_key_value_cache_gives_the_same_log_probabilities_as_full_recompute():
    model = random_model(seed=9)
    tokens = torch.randint(0, 12, (5, 14), generator=torch.Generator().manual_seed(9))
    full = torch.log_softmax(model(tokens), dim=-1)
    fn = next_log_probs_fn(model)  # called on growing prefixes: uses its cache after the first call
    for t in range(3, 15):
        assert torch.allclose(fn(tokens[:, :t]), full[:, t - 1], atol=1e-5)
    head, cache = model.forward_cached(tokens[:, :6])
    tail, _ = model.forward_cached(tokens[:, 6:], cache)  # several new positions at once
    assert torch.allclose(torch.cat([head, tail], dim=1), model(tokens), atol=1e-5)
