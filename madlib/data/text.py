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
import stat
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


MAX_CORPUS_BYTES = 256 * 2**20  # 256 MiB: wikitext-103 is 0.5 GB; these chapters train on a few MB


class CorpusNotFoundError(FileNotFoundError, RuntimeError):
    """A corpus that needs a local or downloaded copy has none here (a RuntimeError too, as it used to be)."""


def check_text_file(path: str | os.PathLike, what: str = "corpus_path") -> Path:
    """``path`` if it is a regular file of at most :data:`MAX_CORPUS_BYTES`, checked before a byte is read
    (``/dev/zero``, a FIFO or a folder is refused at once, never read or hashed)."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no such file: {str(path)[:200]}") from None
    except OSError as error:  # a name too long, a loop of links
        raise ValueError(f"{what}: cannot use {str(path)[:200]!r} ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what} must be a regular text file; {str(path)[:200]} is not")
    if info.st_size > MAX_CORPUS_BYTES:
        raise ValueError(f"{what}: {path} holds {info.st_size} bytes, more than the {MAX_CORPUS_BYTES} a corpus "
                         "may have here")
    return path


def read_text_file(path: str | os.PathLike, what: str = "corpus_path") -> str:
    """The UTF-8 text of a checked file (:func:`check_text_file`); other bytes are a ValueError naming it."""
    path = check_text_file(path, what)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        hint = " (a compressed file: unpack it first)" if data[:2] == b"\x1f\x8b" or path.suffix in (".gz", ".zip", ".xz") \
            else ""
        raise ValueError(f"{what}: {path} is not UTF-8 text{hint}") from None


def corpus_files(name: str, path: str | os.PathLike | None = None) -> list[Path]:
    """The files :func:`load_corpus` reads for ``name`` and ``path`` (checked, not read), for a data fingerprint."""
    if name in FROZEN:
        return [CORPUS_DIR / name / f"{s}.txt" for s in SPLITS]
    if path is None:
        folder = _cache_dir(create=False)
        return sorted(folder.glob(f"{name}*.txt")) if folder.exists() else []
    if name == "wikitext2" and Path(path).is_dir():
        return [_wikitext_split(Path(path), split) for split in SPLITS]
    return [check_text_file(path)]


def _wikitext_split(folder: Path, split: str) -> Path:
    candidates = [folder / f"wiki.{split}.tokens", folder / f"wiki.{split}.raw", folder / f"{split}.txt"]
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        raise ValueError(f"no wikitext-2 {split} split in {folder} (looked for {[c.name for c in candidates]})")
    return check_text_file(found)


def _cache_dir(create: bool = True) -> Path:
    return cache_root(create=create) / "corpora"


def _fetch(url: str, target: Path, download: bool, how: str) -> str:
    """The cached copy ``target``; without one, download it when ``download`` is true, else say how to supply it."""
    if target.exists():
        return read_text_file(target, "the cached corpus")
    if not download:
        raise CorpusNotFoundError(
            f"no local copy of {target.name}: pass corpus_path=... ({how}; path=... to load_corpus), or fetch it "
            f"once online into {target.parent} with madlib.data.text.load_corpus(..., download=True); offline, "
            f"corpus={' or corpus='.join(FROZEN)} always work")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https URLs
            text = response.read(MAX_CORPUS_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusNotFoundError(
            f"could not download {url} ({error}). Offline: pass corpus_path=... ({how}; path=... to load_corpus), "
            f"or use corpus={' or corpus='.join(FROZEN)}"
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
    copy. Without a local or cached copy these two raise :class:`CorpusNotFoundError` (a
    ``FileNotFoundError``) saying how to supply one; they touch the network only with ``download=True``.
    Every file is checked before it is read (:func:`check_text_file`: a regular file, at most
    :data:`MAX_CORPUS_BYTES`) and must be UTF-8 text.
    """
    if name not in CORPORA:
        raise ValueError(f"corpus name must be one of {CORPORA}, got {name!r}")
    if name in FROZEN:
        return load_frozen(name)
    if name == "file":
        if path is None:
            raise ValueError("corpus 'file' needs path= to a local text file")
        return Corpus(str(path), *split_text(read_text_file(path)))
    if name == "tinyshakespeare":
        if path is not None:
            text = read_text_file(path)
        else:
            text = _fetch(_URLS[name], _cache_dir() / "tinyshakespeare.txt", download, "a local input.txt")
        return Corpus(name, *split_text(text))
    # wikitext2
    texts = []
    for split in SPLITS:
        if path is not None:
            texts.append(read_text_file(_wikitext_split(Path(path), split)))
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
