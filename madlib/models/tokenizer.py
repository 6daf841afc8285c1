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
    """Characters as tokens, vocabulary from a training text; unknown characters raise."""

    name = "char"

    def __init__(self, text: str):
        if not text:
            raise ValueError("text must be non-empty to build a character vocabulary")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        missing = set(text) - self.index.keys()
        if missing:
            raise ValueError(f"characters not in the vocabulary: {sorted(missing)[:10]}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        if any(not 0 <= v < self.vocab_size for v in values):
            raise ValueError(f"character token ids must lie in [0, {self.vocab_size - 1}]")
        return "".join(self.chars[v] for v in values)


def get_tokenizer(name: str = "byte", text: str | None = None):
    """``byte`` (no text needed) or ``char`` (vocabulary from ``text``)."""
    if name == "byte":
        return ByteTokenizer()
    if name == "char":
        if text is None:
            raise ValueError("tokenizer 'char' needs the training text to build its vocabulary")
        return CharTokenizer(text)
    raise ValueError(f"tokenizer must be one of ('byte', 'char'), got {name!r}")
