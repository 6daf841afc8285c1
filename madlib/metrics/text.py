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


# ---------------------------------------------------------------- diversity (the theory chapter; chapter 5's panels)

def hill_number(counts, order: float = 1.0) -> float:
    """The effective number of types of a frequency table (Hill 1973): order 0 counts the types present, order 1
    is ``exp(Shannon entropy)``, order 2 is ``1 / sum p^2`` (inverse Simpson). Higher orders weigh the common types
    more; a collapsing vocabulary loses its order-0 number first (the rare words go) and its order-2 number last."""
    values = np.asarray(list(counts.values()) if isinstance(counts, Counter) else counts, dtype=float)
    values = values[values > 0]
    if values.size == 0:
        return float("nan")
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    p = values / values.sum()
    if order == 0:
        return float(p.size)
    if order == 1:
        return float(np.exp(-(p * np.log(p)).sum()))
    return float((p**order).sum() ** (1.0 / (1.0 - order)))


def effective_vocabulary(texts: Iterable[str], order: float = 1.0) -> float:
    """The Hill number of ``order`` of the word frequencies of ``texts``: how many equally common words would give
    the same diversity. Like distinct-n it grows with the sample size: compare equal-sized samples."""
    return hill_number(word_counts(texts), order)


def distinct_n_at(texts: Sequence[str], n: int = 2, size: int | None = None) -> float:
    """Distinct-n over the first ``size`` word n-grams of ``texts`` (all when None): distinct-n depends on how many
    n-grams it sees, so two samples compare fairly only at the same ``size``. NaN when there are fewer."""
    grams: list = []
    for text in texts:
        grams.extend(ngrams(words(text), n))
        if size is not None and len(grams) >= size:
            break
    if size is not None:
        if len(grams) < size:
            return float("nan")
        grams = grams[:size]
    return len(set(grams)) / len(grams) if grams else float("nan")


def rare_token_survival(reference: Iterable[str], texts: Iterable[str], max_count: int = 2) -> float:
    """The share of the words that occur at most ``max_count`` times in ``reference`` which still occur in ``texts``:
    the tail of the vocabulary, the first thing a collapsing model forgets. NaN when the reference has none."""
    initial = word_counts(reference)
    rare = [w for w, k in initial.items() if k <= max_count]
    if not rare:
        return float("nan")
    later = word_counts(texts)
    return sum(w in later for w in rare) / len(rare)


def ngram_set(text: str, n: int = 2) -> set:
    """The set of word n-grams of one text."""
    return set(ngrams(words(text), n))


def jaccard(a: set, b: set) -> float:
    """``|a & b| / |a | b|`` (NaN when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else float("nan")


def mean_pairwise_similarity(texts: Sequence[str], n: int = 2) -> float:
    """Mean Jaccard similarity of the word n-gram sets of every pair of ``texts``: the *intra-model repetition*
    of answers one model gives to one prompt (1: identical answers, 0: nothing shared)."""
    sets = [ngram_set(t, n) for t in texts]
    pairs = [jaccard(sets[i], sets[j]) for i in range(len(sets)) for j in range(i + 1, len(sets))]
    return float(np.nanmean(pairs)) if pairs else float("nan")


def cross_similarity(texts_a: Sequence[str], texts_b: Sequence[str], n: int = 2) -> float:
    """Mean Jaccard similarity of the n-gram sets of every answer of model A with every answer of model B (to the
    same prompt): the *inter-model homogeneity* Jiang et al. call the Artificial Hivemind, in its simplest form."""
    sets_a, sets_b = [ngram_set(t, n) for t in texts_a], [ngram_set(t, n) for t in texts_b]
    pairs = [jaccard(a, b) for a in sets_a for b in sets_b]
    return float(np.nanmean(pairs)) if pairs else float("nan")


def hellinger_distance(p, q) -> float:
    """Hellinger distance ``sqrt(1 - sum sqrt(p q))`` between two discrete distributions (normalised here), in [0, 1]:
    the distance Peterson (2024) uses between public knowledge and the true distribution ("knowledge collapse")."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 1 or np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("p and q must be non-negative vectors of the same length with positive sums")
    p, q = p / p.sum(), q / q.sum()
    return float(np.sqrt(max(0.0, 1.0 - np.sqrt(p * q).sum())))
