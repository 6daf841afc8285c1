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


# ----------------------------------------------------------------------------- the break-it checkers (5-gram loop)

import pytest  # noqa: E402

from madlib.exercises import lm  # noqa: E402


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lm-break-cache")


def test_keep10_breaks_with_a_hot_decoder_not_with_a_fair_or_mode_seeking_one(shared_cache, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(shared_cache))  # the replace baseline is shared by the calls
    broken = lm.check_keep10_breaks({"temperature": 1.5})
    assert broken.passed, str(broken)
    fair = lm.check_keep10_breaks({"temperature": 1.0})
    assert not fair.passed and "not broken yet" in str(fair)
    assert not lm.check_keep10_breaks({"beams": 5}).passed  # beam text is close to real text: the 10% hold it


def test_real_words_are_fooled_by_a_cool_decoder_not_by_plain_sampling(shared_cache, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(shared_cache))
    fooled = lm.check_real_words_fooled({"temperature": 0.6})
    assert fooled.passed, str(fooled)
    assert not lm.check_real_words_fooled({"temperature": 1.0}).passed  # the share of real words falls: it warns


@pytest.mark.parametrize("decoder, name", [({"temp": 0.5}, "'temp'"), ({"beams": 2.5}, "beams"),
                                           ({"temperature": 0}, "temperature"), ("beams=5", "dict"),
                                           ({"repetition_penalty": True}, "repetition_penalty")])
def test_break_checkers_refuse_bad_decoders_by_name_without_raising(decoder, name):
    for check in (lm.check_keep10_breaks, lm.check_real_words_fooled):
        result = check(decoder)
        assert not result.passed and name in str(result)
