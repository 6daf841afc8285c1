"""Local edges: Apple's MPS cannot hold float64, so no metric may ask it to; the CPU fallback is documented."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from madlib.core.config import float64_device, to_float64
from madlib.metrics.frechet import frechet_distance
from madlib.metrics.images import class_entropy

REPO = Path(__file__).resolve().parents[1]


def test_to_float64_converts_and_sends_mps_tensors_to_the_cpu() -> None:
    x = torch.arange(6, dtype=torch.float32).reshape(3, 2)
    y = to_float64(x)
    assert y.dtype == torch.float64 and y.device.type == "cpu" and torch.equal(y, x.double())
    assert float64_device("mps") == torch.device("cpu") and float64_device("cpu") == torch.device("cpu")
    assert to_float64([0.25, 0.75]).dtype == torch.float64


def test_no_metric_converts_to_float64_on_the_tensor_s_own_device() -> None:
    """Every float64 conversion in madlib/metrics goes through to_float64 or float64_device: a direct
    ``.to(torch.float64)`` or ``as_tensor(..., dtype=torch.float64)`` of a model's output would raise
    "Cannot convert a MPS Tensor to float64" on a Mac (chapters 4 and 6)."""
    direct = re.compile(r"\.to\(torch\.float64\)|as_tensor\([^)]*dtype=torch\.float64|\.double\(\)")
    offenders = []
    for path in sorted((REPO / "madlib" / "metrics").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # a bincount of argmax().cpu() is on the CPU already
            if direct.search(line) and ".cpu()" not in line:
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "use madlib.core.config.to_float64:\n" + "\n".join(offenders)


def test_metrics_still_agree_with_their_definitions() -> None:
    a = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert float(frechet_distance(a, a + torch.tensor([3.0, 4.0]))) == 25.0  # |mean shift|^2, equal covariances
    assert abs(class_entropy(torch.full((4,), 0.25)) - 2.0) < 1e-12


def test_the_cpu_fallback_is_documented_where_a_mac_user_looks() -> None:
    for page in ("README.md", "run-it-yourself.md"):
        text = (REPO / page).read_text()
        assert "MADLIB_DEVICE=cpu" in text and "MPS" in text, page
