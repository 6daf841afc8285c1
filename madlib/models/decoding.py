"""Decoding for any next-token model: temperature, top-k, repetition penalty, beam search.

A model is given as ``next_log_probs(tokens (B, T)) -> (B, V)`` log-probabilities of
the next token. The transformer and the n-gram model share these functions, so a
decoding option means the same thing for both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..core.state import register_state_class
from ..core.validation import check_float, check_int

NextLogProbs = Callable[[torch.Tensor], torch.Tensor]


@register_state_class
@dataclass(frozen=True)
class Decoding:
    """Decoding options; each one that is not neutral biases sampling towards probable text.

    ``temperature`` 0 is greedy; ``top_k`` 0 keeps all tokens; ``beams`` > 1 is beam
    search (deterministic: temperature and top-k are then unused); ``repetition_penalty``
    > 1 multiplies the log-probability of tokens already in the sequence (CTRL, Keskar et al. 2019).
    """

    temperature: float = 1.0
    top_k: int = 0
    beams: int = 1
    repetition_penalty: float = 1.0

    def __post_init__(self):
        check_float("temperature", self.temperature, 0.0)
        check_int("top_k", self.top_k, 0)
        check_int("beams", self.beams, 1)
        check_float("repetition_penalty", self.repetition_penalty, 1.0)


def _penalize(log_probs: torch.Tensor, tokens: torch.Tensor, penalty: float) -> torch.Tensor:
    """Multiply the (non-positive) log-probabilities of already-seen tokens by ``penalty`` and renormalize."""
    if penalty == 1.0:
        return log_probs
    seen = torch.zeros_like(log_probs, dtype=torch.bool).scatter_(1, tokens, True)
    out = torch.where(seen, log_probs * penalty, log_probs)
    return torch.log_softmax(out, dim=-1)


def generate(next_log_probs: NextLogProbs, prompt: torch.Tensor, n_new: int, decoding: Decoding = Decoding(), *,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Continue every prompt ``(B, T0)`` by ``n_new`` tokens: returns ``(B, T0 + n_new)``."""
    n_new = check_int("n_new", n_new, 0)
    if prompt.ndim != 2 or prompt.shape[1] < 1:
        raise ValueError(f"prompt must have shape (B, T0) with T0 >= 1, got {tuple(prompt.shape)}")
    if decoding.beams > 1:
        return beam_search(next_log_probs, prompt, n_new, decoding.beams,
                           repetition_penalty=decoding.repetition_penalty)
    tokens = prompt
    for _ in range(n_new):
        log_probs = _penalize(next_log_probs(tokens).float(), tokens, decoding.repetition_penalty)
        if decoding.temperature == 0:
            nxt = log_probs.argmax(dim=-1, keepdim=True)
        else:
            logits = log_probs / decoding.temperature
            if decoding.top_k and decoding.top_k < logits.shape[-1]:
                kth = logits.topk(decoding.top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)
        tokens = torch.cat([tokens, nxt.to(tokens.dtype)], dim=1)
    return tokens


def beam_search(next_log_probs: NextLogProbs, prompt: torch.Tensor, n_new: int, beams: int, *,
                repetition_penalty: float = 1.0) -> torch.Tensor:
    """The highest-scoring of ``beams`` beams (sum of log-probabilities) for every prompt."""
    beams = check_int("beams", beams, 1)
    batch, t0 = prompt.shape
    tokens = prompt[:, None, :].expand(batch, 1, t0).reshape(batch, t0)
    scores = torch.zeros(batch, 1, device=prompt.device)
    width = 1
    for _ in range(n_new):
        log_probs = _penalize(next_log_probs(tokens).float(), tokens, repetition_penalty)
        vocab = log_probs.shape[-1]
        total = (scores[:, :, None] + log_probs.view(batch, width, vocab)).view(batch, width * vocab)
        new_width = min(beams, width * vocab)
        scores, flat = total.topk(new_width, dim=-1)
        parent, token = flat // vocab, flat % vocab
        prev = tokens.view(batch, width, -1)
        prev = prev.gather(1, parent[:, :, None].expand(-1, -1, prev.shape[-1]))
        tokens = torch.cat([prev, token[:, :, None].to(prev.dtype)], dim=2).reshape(batch * new_width, -1)
        width = new_width
    best = scores.argmax(dim=-1) if n_new else torch.zeros(batch, dtype=torch.long, device=prompt.device)
    tokens = tokens.view(batch, width, -1)
    return tokens[torch.arange(batch, device=prompt.device), best]


