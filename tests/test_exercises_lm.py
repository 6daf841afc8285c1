"""Chapter 5's implement-it checker: accepts the library's decoder, rejects plausible wrong ones by name."""
import torch

from madlib.exercises.lm import check_sample_next, library_sample_next, target_probs


def test_library_decoder_draws_the_target_distribution_and_passes():
    lp = torch.log_softmax(torch.tensor([1.0, 0.0, -1.0, 0.5]), dim=-1)
    draws = library_sample_next(lp.expand(40_000, 4).clone(), 0.5, 3, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).double() / 40_000
    assert torch.allclose(freq, target_probs(lp, 0.5, 3), atol=0.01)
    assert target_probs(lp, 0.5, 3)[2] == 0  # the least probable token is cut by top-3
    result = check_sample_next(library_sample_next)
    assert result.passed, str(result)


def _no_temperature(log_probs, temperature, top_k, generator):
    if temperature == 0:
        return log_probs.argmax(-1)
    logits = log_probs.clone()
    if top_k:
        logits[logits < logits.topk(top_k, dim=-1).values[:, -1:]] = float("-inf")
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]


def _multiplied(log_probs, temperature, top_k, generator):
    if temperature == 0:
        return log_probs.argmax(-1)
    return torch.multinomial(torch.softmax(log_probs * temperature, -1), 1, generator=generator)[:, 0]


def _no_top_k(log_probs, temperature, top_k, generator):
    if temperature == 0:
        return log_probs.argmax(-1)
    return torch.multinomial(torch.softmax(log_probs / temperature, -1), 1, generator=generator)[:, 0]


def _unsqueezed(log_probs, temperature, top_k, generator):
    return library_sample_next(log_probs, temperature, top_k, generator)[:, None]


def _unfinished(log_probs, temperature, top_k, generator):
    raise NotImplementedError


def test_checker_rejects_plausible_wrong_implementations_with_the_right_message():
    cases = {
        _no_temperature: "divide the log-probabilities by the temperature",
        _multiplied: "wrong way round",
        _no_top_k: "outside the",
        _unsqueezed: "shape",
        _unfinished: "NotImplementedError",
    }
    for fn, message in cases.items():
        result = check_sample_next(fn)
        assert not result.passed, fn.__name__
        assert message in str(result), (fn.__name__, str(result))
