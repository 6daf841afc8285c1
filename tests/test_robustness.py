"""Under abuse: nothing lost, nothing stale, and a user's mistake is one line, not a traceback."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from madlib import run_experiment
from madlib.cli import main as cli_main
from madlib.core.cache import cache_root
from madlib.core.config import get_device
from madlib.experiments import cache_key, resolve_config

TINY_GMM = ["generations=3", "replicates=2", "n_real=60", "n_eval=60", "eval_points=2"]


@pytest.mark.parametrize("name, message", [("nonsense", "not a device"), ("meta", "not a compute device"),
                                           ("mps", "no MPS"), ("cuda", "no CUDA")])
def test_unusable_devices_are_named_errors(monkeypatch, name, message):
    if name == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("MADLIB_DEVICE", name)
    with pytest.raises(ValueError, match=message):
        get_device()
    monkeypatch.setenv("MADLIB_DEVICE", "CPU")  # any case
    assert get_device().type == "cpu"


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, message", [
    (["gaussian", "method=sample", "n_real=1000000000", "replicates=3"], "GiB of memory"),
    (["gaussian", "replicates=100000000"], "GiB of memory"),
    (["gaussian", "replicates=1e9"], "replicates must be an integer"),  # integers are digits, never floats
    (["gaussian", "seed=-1"], "seed must be an integer in [0, "),
    (["gaussian", "seed=100000000000000000000"], "seed must be an integer in [0, "),
    (["gaussian", "n_real=5", "n_real=6"], "given twice"),
    (["gaussian", "n_real=2.5"], "n_real must be an integer"),
    (["scoreboard", "families=gaussian,unicorn"], "families"),
    (["nope"], "unknown experiment"),
])
def test_user_errors_are_one_line(capsys, argv, message):
    code, out, err = _cli(capsys, "run", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("madlib: error:") and message in err, err


def test_environment_errors_are_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MADLIB_DEVICE", "nonsense")
    code, _, err = _cli(capsys, "run", "gaussian", "generations=2", "replicates=2")
    assert code == 2 and "MADLIB_DEVICE='nonsense'" in err and err.count("\n") == 1
    monkeypatch.delenv("MADLIB_DEVICE")
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    monkeypatch.setenv("MADLIB_CACHE", str(a_file))
    code, _, err = _cli(capsys, "run", "gaussian", "generations=2", "replicates=2")
    assert code == 2 and "not a folder" in err and "MADLIB_CACHE" in err
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MADLIB_MNIST_DIR", raising=False)
    code, _, err = _cli(capsys, "run", "vae", "data_source=idx")
    assert code == 2 and "MADLIB_MNIST_DIR" in err and err.count("\n") == 1


def test_ctrl_c_is_a_short_message_and_exit_130(capsys, monkeypatch):
    import madlib.cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(madlib.cli, "run_experiment", interrupted)
    code, _, err = _cli(capsys, "run", "gaussian")
    assert code == 130 and "interrupted" in err and "Traceback" not in err


def test_a_refused_run_leaves_no_empty_cache_folder():
    with pytest.raises(ValueError, match="generations"):
        run_experiment("gaussian", generations=-1)
    assert not (cache_root() / "gaussian").exists() or not any((cache_root() / "gaussian").rglob("*"))


@pytest.mark.parametrize("damage", ["table.parquet", "extras.safetensors", "config.json", "summary.json"])
def test_every_damaged_result_file_is_a_miss(damage):
    first = run_experiment("cats", replicates=50, generations=20)
    target = Path(first.cache_dir) / damage
    if not target.exists():
        pytest.skip(f"{damage} is not written by this experiment")
    target.write_bytes(b"\x00garbage")
    with pytest.warns(UserWarning, match="unreadable cached result"):
        again = run_experiment("cats", replicates=50, generations=20)
    assert not again.cached and again.summary["p_blue_lost"] == first.summary["p_blue_lost"]


def test_a_damaged_checkpoint_starts_over(tmp_path):
    from madlib.core.loop import LoopCheckpoint, run_loop
    from madlib.core.sources import DistributionSource
    from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler

    def run():
        return run_loop(GaussianFamily(), DistributionSource(gaussian_source_sampler(), 3), generations=3,
                        n_real=20, observe=lambda m, d, g, gen: {"std": m.std},
                        checkpoint=LoopCheckpoint(tmp_path))

    straight = run()
    (tmp_path / "state.safetensors").write_bytes(b"")  # a kill during a save of the old, non-atomic kind
    with pytest.warns(UserWarning, match="unreadable cached file"):
        again = run()
    assert again.resumed_from is None and again.table.equals(straight.table)


def test_an_empty_pretrained_base_is_retrained_not_an_eof_error(tmp_path):
    from madlib.models.lm import base_model_path, pretrained_base
    from madlib.models.transformer import TrainConfig, TransformerConfig

    model_cfg = TransformerConfig(vocab_size=16, context=8, d_model=8, n_layers=1, n_heads=2)
    train_cfg = TrainConfig(steps=2, batch_size=2, warmup=1)
    blocks = torch.randint(16, (10, 8), generator=torch.Generator().manual_seed(0))
    path = base_model_path(tmp_path, model_cfg, train_cfg, "corpus", 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")  # what a kill during the old torch.save left behind
    with pytest.warns(UserWarning, match="unreadable cached file"):
        model, history = pretrained_base(tmp_path, model_cfg, train_cfg, blocks, "corpus")
    assert path.stat().st_size > 0 and len(history["train_loss"]) == 2
    again, _ = pretrained_base(tmp_path, model_cfg, train_cfg, blocks, "corpus")  # now a hit
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_another_mnist_folder_is_another_cache_key(monkeypatch, tmp_path):
    from madlib.data.mnist import write_idx

    config = resolve_config("vae", {"data_source": "auto"})
    offline = cache_key("vae", config)
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 60), ("t10k", 20)):
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, count, dtype=np.uint8))
    monkeypatch.setenv("MADLIB_MNIST_DIR", str(folder))
    with_folder = cache_key("vae", config)
    assert with_folder != offline
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, 60, dtype=np.uint8))  # edit the data
    assert cache_key("vae", config) != with_folder


def test_two_identical_runs_at_once_both_succeed(tmp_path):
    env = {**os.environ, "MADLIB_CACHE": str(tmp_path / "cache"), "MADLIB_SCALE": "smoke"}
    command = [sys.executable, "-m", "madlib", "run", "gmm", *TINY_GMM]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    summaries = [json.loads(out) for out, _ in outputs]
    assert summaries[0]["final_recall"] == summaries[1]["final_recall"]
    assert not list((tmp_path / "cache").rglob("*.tmp"))
