"""Tokenizers for the tiny language models: bytes (default) or characters, exact round trip."""
from __future__ import annotations

from typing import Iterable

import torch


class ByteTokenizer:
    """UTF-8 bytes as tokens: vocabulary 256, any text round-trips exactly.

    Decoding a sequence a model invented may meet invalid UTF-8; those bytes become
    U+FFFD (``errors='replace'``) so decoding never fails.
    """

    vocab_size = 256
    name = "byte"

    def encode(self, text: str) -> torch.Tensor:
        """Token ids (int64) of ``text``."""
        return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        """Text of token ids (1-D)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if any(not 0 <= v < 256 for v in values):
            raise ValueError("byte token ids must lie in [0, 255]")
        return bytes(values).decode("utf-8", errors="replace")


class CharTokenizer:
    """Characters as tokens: the sorted distinct characters of ``text``; unknown characters raise.

    Build it from the whole corpus (:meth:`from_corpus`), not the training split alone, so
    that held-out text always encodes; ids are the characters' ranks in code-point order,
    so the same character set always gives the same ids.
    """

    name = "char"

    def __init__(self, text: str):
        if not text:
            raise ValueError("text must be non-empty to build a character vocabulary")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars)
        # a code-point -> id table makes encoding a megabyte one vectorised lookup, not a Python loop
        self._table = torch.full((ord(self.chars[-1]) + 1,), -1, dtype=torch.long)
        self._table[torch.tensor([ord(c) for c in self.chars])] = torch.arange(self.vocab_size)

    @classmethod
    def from_corpus(cls, corpus) -> "CharTokenizer":
        """Vocabulary of all splits of ``corpus`` (anything with ``train``, ``valid`` and ``test`` strings)."""
        return cls(corpus.train + corpus.valid + corpus.test)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids (int64) of ``text``; ``ValueError`` naming the characters outside the vocabulary."""
        if not text:
            return torch.zeros(0, dtype=torch.long)
        codes = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()
        ids = self._table[codes.clamp_max(self._table.numel() - 1)]
        unknown = (codes >= self._table.numel()) | (ids < 0)
        if unknown.any():
            missing = sorted({chr(int(c)) for c in codes[unknown].unique()})
            raise ValueError(f"characters not in the vocabulary: {missing[:10]}")
        return ids

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        """Text of token ids (1-D)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if any(not 0 <= v < self.vocab_size for v in values):
            raise ValueError(f"character token ids must lie in [0, {self.vocab_size - 1}]")
        return "".join(self.chars[v] for v in values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(tuple(self.chars))


def get_tokenizer(name: str = "byte", text: str | None = None):
    """``byte`` (no text needed) or ``char`` (vocabulary from ``text``)."""
    if name == "byte":
        return ByteTokenizer()
    if name == "char":
        if text is None:
            raise ValueError("tokenizer 'char' needs the training text to build its vocabulary")
        return CharTokenizer(text)
    raise ValueError(f"tokenizer must be one of ('byte', 'char'), got {name!r}")
