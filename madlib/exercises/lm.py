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
