"""Chapter 5's "implement it" exercise: draw the next character with a temperature and top-k.

The learner writes ``sample_next(log_probs, temperature, top_k, generator) -> ids``: for each
row of ``log_probs (B, V)`` (a model's next-character log-probabilities) one token id, drawn
from ``softmax(log_probs / temperature)`` restricted to the ``top_k`` most probable tokens
(``top_k = 0``: all of them); ``temperature = 0`` is greedy (the most probable token).

:func:`check_sample_next` draws many tokens with the learner's function and compares their
frequencies with the exact distribution of the library's decoder
(:func:`madlib.models.decoding.generate`, the one every chain of the chapter uses); when they
differ it says how (temperature ignored or inverted, top-k missing, greedy wrong, wrong shape).
"""
from __future__ import annotations

from typing import Callable

import torch

from ..core.seeding import generator as make_generator

from ..models.decoding import Decoding, generate
from . import CheckResult, run_learner

EXERCISE = "sample the next character with a temperature and top-k"
# A fixed next-character distribution over 6 tokens (log-probabilities), shared by every case.
_LOGITS = torch.tensor([2.0, 1.2, 0.9, 0.3, -0.5, -1.5])
CASES = ((1.0, 0), (0.5, 0), (2.0, 0), (1.0, 3), (0.7, 2), (0.0, 0))
DRAWS = 20_000


def library_sample_next(log_probs: torch.Tensor, temperature: float, top_k: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """The library's answer: one step of :func:`madlib.models.decoding.generate` with these options."""
    decoding = Decoding(temperature=temperature, top_k=top_k)
    start = torch.zeros(log_probs.shape[0], 1, dtype=torch.long)
    return generate(lambda tokens: log_probs, start, 1, decoding, generator=generator)[:, -1]


def target_probs(log_probs: torch.Tensor, temperature: float, top_k: int) -> torch.Tensor:
    """The exact distribution of one row's next token under ``temperature`` and ``top_k``."""
    lp = torch.log_softmax(log_probs.double(), dim=-1)
    if temperature == 0:
        out = torch.zeros_like(lp)
        out[lp.argmax()] = 1.0
        return out
    logits = lp / temperature
    if top_k and top_k < logits.numel():
        logits = logits.masked_fill(logits < logits.topk(top_k).values[-1], float("-inf"))
    return torch.softmax(logits, dim=-1)


def _tv(p: torch.Tensor, q: torch.Tensor) -> float:
    return float(0.5 * (p - q).abs().sum())


def check_sample_next(fn: Callable[..., torch.Tensor], seed: int = 0) -> CheckResult:
    """Run the learner's ``fn(log_probs (B, V), temperature, top_k, generator) -> (B,)`` on seeded
    inputs and compare the frequencies of its draws with the library's exact distribution."""
    log_probs = torch.log_softmax(_LOGITS, dim=-1)
    V = log_probs.numel()
    rows = log_probs.expand(DRAWS, V).clone()
    messages: list[str] = []
    # tolerance: far above the sampling noise of 20,000 draws (TV about 0.01), far below the errors
    tolerance = 0.03
    for temperature, top_k in CASES:
        where = f"temperature={temperature}, top_k={top_k}"
        out, failed = run_learner(EXERCISE, fn, rows.clone(), temperature, top_k, make_generator(seed))
        if failed is not None:
            return failed
        if not isinstance(out, torch.Tensor):
            return CheckResult(EXERCISE, False, [f"{where}: return a tensor of token ids, got {type(out).__name__}"])
        if out.shape != (DRAWS,):
            return CheckResult(EXERCISE, False, [f"{where}: expected one token id per row, shape ({DRAWS},), got "
                                                 f"{tuple(out.shape)} (squeeze the last axis of torch.multinomial?)"])
        if out.dtype.is_floating_point or int(out.min()) < 0 or int(out.max()) >= V:
            return CheckResult(EXERCISE, False, [f"{where}: token ids must be integers in [0, {V - 1}]"])
        freq = torch.bincount(out.long(), minlength=V).double() / DRAWS
        target = target_probs(log_probs, temperature, top_k)
        if _tv(freq, target) <= tolerance:
            continue
        if temperature == 0:
            messages.append(f"{where}: temperature 0 means greedy: always the most probable token "
                            f"(id {int(target.argmax())}); dividing by 0 gives no distribution")
        elif top_k and bool((freq[target == 0] > 0).any()):
            messages.append(f"{where}: tokens outside the {top_k} most probable ones were drawn: "
                            "set the other logits to -inf before the softmax")
        elif temperature != 1 and _tv(freq, target_probs(log_probs, 1.0, top_k)) <= tolerance:
            messages.append(f"{where}: the draws follow the temperature-1 distribution: divide the "
                            "log-probabilities by the temperature before the softmax")
        elif temperature != 1 and _tv(freq, target_probs(log_probs, 1 / temperature, top_k)) <= tolerance:
            messages.append(f"{where}: the temperature acts the wrong way round: divide by it, do not multiply "
                            "(a low temperature must sharpen the distribution)")
        else:
            top = ", ".join(f"{v:.3f}" for v in target.tolist())
            got = ", ".join(f"{v:.3f}" for v in freq.tolist())
            messages.append(f"{where}: the frequencies of your draws ({got}) differ from the target ({top})")
    if messages:
        return CheckResult(EXERCISE, False, messages)
    return CheckResult(EXERCISE, True, [f"{len(CASES)} settings, {DRAWS:,} draws each: the frequencies match the "
                                        "library's decoder (greedy included)"])


# ----------------------------------------------------------------------------- break it (the 5-gram loop)

BREAK_KEEP10 = "make keeping 10% real text fail"
BREAK_REAL_WORDS = "fool the real-word rate"
# The checkers' loop: the 5-gram model at a fixed size, whatever the scale (seconds per run, cached), 3 seeds.
BREAK_SIZE = {"model": "ngram", "n_real": 150, "generations": 5, "replicates": 3, "test_blocks": 100,
              "eval_prompts": 8, "n_sample_texts": 0}
DECODER_RANGES = {"temperature": (0.05, 3.0), "top_k": (0, 76), "beams": (1, 8), "repetition_penalty": (1.0, 5.0)}


def _decoder(exercise: str, decoder) -> dict | CheckResult:
    """``decoder`` as the loop's decoding settings (a dict of temperature, top_k, beams, repetition_penalty), or a
    failed result that names what is wrong."""
    if not isinstance(decoder, dict) or not decoder:
        return CheckResult(exercise, False, ["decoder must be a dict such as {'temperature': 0.6} or {'beams': 5}, "
                                             f"got {decoder!r}"])
    out = {}
    for key, value in decoder.items():
        if key not in DECODER_RANGES:
            return CheckResult(exercise, False, [f"decoder has an unknown setting {key!r}: use "
                                                 f"{', '.join(DECODER_RANGES)}"])
        low, high = DECODER_RANGES[key]
        integer = key in ("top_k", "beams")
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) == float(value)
              and low <= value <= high and (not integer or float(value).is_integer()))
        if not ok:
            kind = "an integer" if integer else "a number"
            return CheckResult(exercise, False, [f"decoder[{key!r}] must be {kind} in [{low:g}, {high:g}], got {value!r}"])
        out[key] = int(value) if integer else float(value)
    return out


def _rise(result) -> float:
    ppl = result.summary["test_perplexity"]
    return 100 * (ppl[-1] / ppl[0] - 1)


def _break_run(decoder: dict | None = None, **settings):
    from ..experiments import run_experiment

    return run_experiment("lm", **BREAK_SIZE, **settings, **(decoder or {}), progress=False)


def _describe(decoder: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in decoder.items())


def check_keep10_breaks(decoder) -> CheckResult:
    """Break it (chapter 5): a decoder with which the 5-gram's keep-10% loop rises *more* than plain replace at
    temperature 1 (relative test perplexity, last generation against generation 0). Never raises."""
    settings = _decoder(BREAK_KEEP10, decoder)
    if isinstance(settings, CheckResult):
        return settings
    keep, plain = _break_run(settings, kept_real_fraction=0.1), _break_run()
    ours, base = _rise(keep), _rise(plain)
    size = f"{BREAK_SIZE['n_real']} real blocks, {BREAK_SIZE['generations']} generations, {BREAK_SIZE['replicates']} seeds"
    messages = [f"keep 10% real with {_describe(settings)}: test perplexity {ours:+.0f}% from generation 0; "
                f"replace at temperature 1: {base:+.0f}% ({size})"]
    if ours > base:
        messages.append("broken: the synthetic 90% is so far from real text that 10% real blocks no longer hold the "
                        "model, and it drifts further than the unprotected loop with a fair decoder")
        return CheckResult(BREAK_KEEP10, True, messages)
    messages.append("not broken yet: the real 10% still holds it below plain replace. Which way of biasing the "
                    "decoder makes the synthetic 90% furthest from real text: towards its most probable text, or away?")
    return CheckResult(BREAK_KEEP10, False, messages)


def check_real_words_fooled(decoder) -> CheckResult:
    """Break it (chapter 5): a decoder under which the 5-gram's *replace* loop writes at least as large a share of
    real words at its last generation as at generation 0, while its test perplexity rises more than at temperature 1:
    the real-word rate, read alone, then says all is well while the model drifts from real text. Never raises."""
    settings = _decoder(BREAK_REAL_WORDS, decoder)
    if isinstance(settings, CheckResult):
        return settings
    ours, plain = _break_run(settings), _break_run()
    words = ours.summary["real_word_rate"]
    messages = [f"replace with {_describe(settings)}: real words {100 * words[0]:.0f}% at generation 0, "
                f"{100 * words[-1]:.0f}% at generation {len(words) - 1}; test perplexity {_rise(ours):+.0f}% "
                f"(at temperature 1: {_rise(plain):+.0f}%, real words {100 * plain.summary['real_word_rate'][-1]:.0f}% "
                f"at the end)"]
    fooled = words[-1] >= words[0] and _rise(ours) > _rise(plain)
    if fooled:
        messages.append("broken: the words look as real as ever (or more), yet the model fits real text worse than "
                        "the plain loop does. A mode-seeking decoder writes the common words and loses the rest: "
                        "watch a measure of the tail (rare-word survival, the Hill number of order 0) beside it")
        return CheckResult(BREAK_REAL_WORDS, True, messages)
    messages.append("not broken yet: either the share of real words falls (the metric does warn) or the test "
                    "perplexity rises no faster than at temperature 1. Try a decoder that favours probable text")
    return CheckResult(BREAK_REAL_WORDS, False, messages)


__all__ = ["BREAK_KEEP10", "BREAK_REAL_WORDS", "EXERCISE", "check_keep10_breaks", "check_real_words_fooled",
           "check_sample_next"]
