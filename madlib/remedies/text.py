"""Curation of generated text (chapter 6 on the language model): a ``curate`` hook for the one loop.

Each generation writes more candidate blocks than it needs; :class:`ContinuationFilter` keeps
the ``n_keep`` whose continuations score the highest per-token log-likelihood -- under a model
of the real training text (the verifier) or under the generator itself (cherry-picking by its
own taste: sampling bias).
"""
from __future__ import annotations

from typing import Callable

import torch

from ..core.select import keep_top
from ..core.validation import check_choice, check_int
from .registry import CURATIONS

TokenLogProbs = Callable[[torch.Tensor], torch.Tensor]


def continuation_log_likelihood(token_log_probs: torch.Tensor, prompt_len: int) -> torch.Tensor:
    """Mean log-probability per token (per byte for byte models) of each block's continuation.

    ``token_log_probs (..., L - 1)`` predicts tokens 1..L-1; the continuation is tokens
    ``prompt_len``..L-1 (the prompt was not written by the model, so it is not judged)."""
    prompt_len = check_int("prompt_len", prompt_len, 1, token_log_probs.shape[-1])
    return token_log_probs[..., prompt_len - 1 :].double().mean(dim=-1)


class ContinuationFilter:
    """A ``curate`` hook: keep the ``n_keep`` candidate blocks whose continuations score highest.

    ``mode="learned-verifier"``: a model that knows real text judges -- ``reference(blocks (R, m, L))``
    returns its token log-probabilities ``(R, m, L - 1)``. ``mode="self-likelihood"``: the model
    that generated the candidates judges them (cherry-picking by its own taste: sampling bias).
    The score is the per-byte log-likelihood of the continuation (:func:`continuation_log_likelihood`).
    """

    def __init__(self, mode: str, n_keep: int, prompt_len: int, reference: TokenLogProbs | None = None):
        self.mode = check_choice("curate", mode, CURATIONS[1:])
        self.n_keep = check_int("n_keep", n_keep, 1)
        self.prompt_len = check_int("prompt_len", prompt_len, 1)
        if self.mode == "learned-verifier" and reference is None:
            raise ValueError("curate='learned-verifier' needs a reference model (token log-probabilities of real text)")
        self.reference = reference

    def scores(self, synthetic: torch.Tensor, model) -> torch.Tensor:
        """Per-byte log-likelihood ``(R, m)`` of each candidate's continuation under the judge."""
        judge = self.reference if self.mode == "learned-verifier" else model.token_log_probs
        return continuation_log_likelihood(judge(synthetic), self.prompt_len).to(synthetic.device)

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model) -> torch.Tensor:
        return keep_top(self.scores(synthetic, model), min(self.n_keep, synthetic.shape[1]), generator)


def shared_reference(token_log_probs: TokenLogProbs) -> TokenLogProbs:
    """Use one model (a single replicate, e.g. fitted on all real training text) to score blocks of every replicate."""
    def score(blocks: torch.Tensor) -> torch.Tensor:
        R, m, L = blocks.shape
        return token_log_probs(blocks.reshape(1, R * m, L)).reshape(R, m, L - 1)
    return score
