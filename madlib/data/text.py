"""Text corpora for chapter 5: two frozen offline corpora, local files, wikitext-2, tiny-shakespeare.

Every corpus comes as fixed ``train`` / ``valid`` / ``test`` strings. The default,
``shakespeare``, and the smaller ``pydoc`` are frozen inside the package
(``madlib/data/corpus/<name>/``; provenance, licence and checksums in
``data/corpus/README.md``), so results never depend on the network. The other sources
are read from a local copy (``path=...``) or a cached download; nothing is downloaded
unless ``download=True`` is passed.
"""
from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.cache import cache_root

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"  # package data: works installed or from a checkout
FROZEN = ("shakespeare", "pydoc")
SPLITS = ("train", "valid", "test")
CORPORA = ("shakespeare", "pydoc", "file", "wikitext2", "tinyshakespeare")

_URLS = {
    "tinyshakespeare": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    "wikitext2": "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/{split}.txt",
}


@dataclass
class Corpus:
    """Fixed splits of one corpus."""

    name: str
    train: str
    valid: str
    test: str

    def split(self, name: str) -> str:
        """The text of split ``name`` (train, valid or test)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    @property
    def text(self) -> str:
        """All splits joined (train, valid, test): e.g. for a character vocabulary that covers held-out text."""
        return self.train + self.valid + self.test


def split_text(text: str, valid_fraction: float = 0.05, test_fraction: float = 0.05) -> tuple[str, str, str]:
    """Deterministic split by lines: line i goes to test when i % round(1/test_fraction) == 0,
    else to valid when i % round(1/valid_fraction) == 1, else to train (as the frozen corpus)."""
    if not (0 <= valid_fraction < 1 and 0 <= test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError("valid_fraction and test_fraction must be in [0, 1) with a sum below 1")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        # Too few lines: cut the characters instead (90 / 5 / 5 by position).
        n = len(text)
        a, b = int(n * (1 - valid_fraction - test_fraction)), int(n * (1 - test_fraction))
        return text[:a], text[a:b], text[b:]
    parts: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    test_stride = round(1 / test_fraction) if test_fraction > 0 else 0
    valid_stride = round(1 / valid_fraction) if valid_fraction > 0 else 0
    for i, line in enumerate(lines):
        if test_stride and i % test_stride == 0:
            parts["test"].append(line)
        elif valid_stride and i % valid_stride == 1 % valid_stride:
            parts["valid"].append(line)
        else:
            parts["train"].append(line)
    return tuple("\n".join(parts[s]) + "\n" for s in SPLITS)  # type: ignore[return-value]


def _cache_dir() -> Path:
    return cache_root() / "corpora"


def _fetch(url: str, target: Path, download: bool, how: str) -> str:
    """The cached copy ``target``; without one, download it when ``download`` is true, else say how to supply it."""
    if target.exists():
        return target.read_text(encoding="utf-8")
    if not download:
        raise RuntimeError(f"no local copy of {target.name}: pass path=... to {how}, or download=True "
                           f"(online) to fetch it once into {target.parent}. Offline, the frozen corpora "
                           f"{FROZEN} always work")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https URLs
            text = response.read().decode("utf-8")
    except OSError as error:
        raise RuntimeError(
            f"could not download {url} ({error}). Offline: pass path=... to {how}, "
            f"or use a frozen corpus {FROZEN}"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # atomic: a kill never leaves half a file
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return text


def load_frozen(name: str) -> Corpus:
    """One of the corpora frozen in the package (``shakespeare`` or ``pydoc``)."""
    if name not in FROZEN:
        raise ValueError(f"frozen corpus name must be one of {FROZEN}, got {name!r}")
    folder = CORPUS_DIR / name
    return Corpus(name, *((folder / f"{s}.txt").read_text(encoding="utf-8") for s in SPLITS))


def load_corpus(name: str = "shakespeare", path: str | os.PathLike | None = None, *, download: bool = False) -> Corpus:
    """Load a corpus with fixed train/valid/test splits.

    ``shakespeare`` (default): nine plays to train on, *The Comedy of Errors* to validate,
    *Macbeth* to test (split by play), frozen in the package. ``pydoc``: the frozen Python
    reference prose. ``file``: any local UTF-8 text file ``path``, split by :func:`split_text`.
    ``tinyshakespeare``: ``path`` to ``input.txt``, else a cached copy. ``wikitext2``: ``path``
    to a folder with ``wiki.{train,valid,test}.tokens`` (or ``train.txt`` ...), else a cached
    copy. Without a local or cached copy these two raise ``RuntimeError`` saying how to supply
    one; they touch the network only with ``download=True``.
    """
    if name not in CORPORA:
        raise ValueError(f"corpus name must be one of {CORPORA}, got {name!r}")
    if name in FROZEN:
        return load_frozen(name)
    if name == "file":
        if path is None:
            raise ValueError("corpus 'file' needs path= to a local text file")
        return Corpus(str(path), *split_text(Path(path).read_text(encoding="utf-8")))
    if name == "tinyshakespeare":
        if path is not None:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = _fetch(_URLS[name], _cache_dir() / "tinyshakespeare.txt", download, "a local input.txt")
        return Corpus(name, *split_text(text))
    # wikitext2
    texts = []
    for split in SPLITS:
        if path is not None:
            folder = Path(path)
            candidates = [folder / f"wiki.{split}.tokens", folder / f"wiki.{split}.raw", folder / f"{split}.txt"]
            found = next((c for c in candidates if c.exists()), None)
            if found is None:
                raise ValueError(f"no wikitext-2 {split} split in {folder} (looked for {[c.name for c in candidates]})")
            texts.append(found.read_text(encoding="utf-8"))
        else:
            texts.append(_fetch(_URLS[name].format(split=split), _cache_dir() / f"wikitext2_{split}.txt", download,
                                "a folder with wiki.{train,valid,test}.tokens"))
    return Corpus(name, *texts)


def text_to_blocks(ids: torch.Tensor, block_len: int) -> torch.Tensor:
    """Cut a 1-D token sequence into non-overlapping blocks ``(N_blocks, block_len)`` (the tail is dropped)."""
    if block_len < 2:
        raise ValueError(f"block_len must be >= 2, got {block_len}")
    n_blocks = ids.numel() // block_len
    if n_blocks == 0:
        raise ValueError(f"text of {ids.numel()} tokens is shorter than one block of {block_len}")
    return ids[: n_blocks * block_len].reshape(n_blocks, block_len)
