"""Text metrics: perplexity, distinct-n / type-token ratio, rare word survival.

The neutral-resampling prediction for rare-word survival is
:func:`madlib.theory.wright_fisher.rare_loss_probability_by` (chapter 2).

Lexical metrics work on words (``\\w+`` runs, lower-cased) of decoded text, so they
mean the same for byte- and character-level models.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import torch

from ..core.config import to_float64

_WORD = re.compile(r"\w+")


def perplexity_from_log_probs(token_log_probs: torch.Tensor, dim: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """exp(-mean log p) over ``dim`` (all by default): per-token perplexity."""
    lp = to_float64(token_log_probs)
    mean = lp.mean() if dim is None else lp.mean(dim=dim)
    return torch.exp(-mean)


def sequence_perplexity(token_log_probs: torch.Tensor, start: int = 0) -> torch.Tensor:
    """Perplexity of each sequence (last axis = positions) from position ``start`` on."""
    if not 0 <= start < token_log_probs.shape[-1]:
        raise ValueError(f"start must be in [0, {token_log_probs.shape[-1] - 1}], got {start}")
    return perplexity_from_log_probs(token_log_probs[..., start:], dim=-1)


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Iterable[str], n: int = 2) -> float:
    """Distinct-n (Li et al. 2016): distinct word n-grams / all word n-grams, pooled over
    ``texts`` (n-grams never cross texts). Equal to the type-token ratio over n-grams
    (Guo et al. 2024); it depends on sample size, so compare equal-sized samples."""
    seen: set = set()
    total = 0
    for text in texts:
        grams = ngrams(words(text), n)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else float("nan")


def type_token_ratios(texts: Sequence[str], ns: Sequence[int] = (1, 2, 3)) -> dict[int, float]:
    """Type-token ratio over word 1-, 2-, 3-grams (``ns``)."""
    return {n: distinct_n(texts, n) for n in ns}


def word_counts(texts: Iterable[str]) -> Counter:
    """Word frequencies over ``texts``."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(words(text))
    return counts


def survival_by_frequency(initial: Counter, later: Counter | set, bins: Sequence[int] = (1, 2, 3, 5, 9, 17, 33, 65)
                          ) -> dict[str, np.ndarray]:
    """Share of the words of ``initial`` still present in ``later``, by initial count bin.

    ``bins`` are the left edges (counts ``bins[i] <= k < bins[i+1]``, the last bin open).
    Returns ``low``, ``high`` (bin edges), ``words`` (words per bin) and ``survival`` (NaN where empty).
    """
    edges = list(bins) + [math.inf]
    low, high, n_words, surv = [], [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        members = [w for w, k in initial.items() if lo <= k < hi]
        low.append(lo)
        high.append(hi)
        n_words.append(len(members))
        surv.append(sum(w in later for w in members) / len(members) if members else math.nan)
    return {"low": np.array(low, float), "high": np.array(high, float), "words": np.array(n_words),
            "survival": np.array(surv, float)}


def continuation_words(text: str, start: int) -> list[str]:
    """Lower-cased words lying wholly in ``text[start:]``: a word cut by the prompt boundary at
    ``start`` or by the end of the text (the model stopped mid-word) is left out, so a model is
    not charged for half-words it did not finish or did not begin."""
    if not 0 <= start <= len(text):
        raise ValueError(f"start must be in [0, {len(text)}], got {start}")
    # \w+ runs are maximal: a word cut at ``start`` begins before it
    return [m.group().lower() for m in _WORD.finditer(text) if m.start() >= start and m.end() < len(text)]


def real_word_rate(word_lists: Iterable[Sequence[str]], vocabulary: set[str] | Counter) -> float:
    """Share of the words (pooled over ``word_lists``) that occur in ``vocabulary`` (e.g. the words
    of the training text): how much of what a character model writes is real words. NaN without words."""
    total = found = 0
    for ws in word_lists:
        total += len(ws)
        found += sum(w in vocabulary for w in ws)
    return found / total if total else float("nan")
