"""No tracebacks left: every user or environment error is one line `madlib: error: ...` with exit 2."""
import errno
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from madlib import run_experiment
from madlib.cli import main as cli_main


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (the /dev/zero case used to hang forever)."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def _cli(capsys, *argv):
    with deadline(120):
        code = cli_main(["run", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(capsys, *argv) -> str:
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("madlib: error: "), err
    assert "Traceback" not in err
    return err


def test_a_full_disk_is_one_line(capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    err = _one_line_error(capsys, "gaussian", "generations=2", "replicates=2")
    assert "No space left on device (ENOSPC)" in err and "MADLIB_CACHE" in err


def test_names_too_long_are_one_line(capsys, monkeypatch, tmp_path):
    err = _one_line_error(capsys, "lm", "corpus=file", "corpus_path=/" + "a" * 300)
    assert "corpus_path" in err and "File name too long" in err
    err = _one_line_error(capsys, "lm", "corpus=file", "corpus_path=/" + "a" * 5000)
    assert "corpus_path must be text of at most 1024 characters" in err and len(err) < 400
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / ("c" * 300)))
    err = _one_line_error(capsys, "gaussian", "generations=2", "replicates=2")
    assert "File name too long (ENAMETOOLONG)" in err


@pytest.mark.parametrize("corpus", ["wikitext2", "tinyshakespeare"])
def test_offline_corpora_are_one_line_naming_what_the_cli_can_pass(capsys, corpus):
    err = _one_line_error(capsys, "lm", f"corpus={corpus}")
    assert "corpus_path=" in err and "corpus=shakespeare" in err and "download=True (online)" not in err


def test_garbage_files_and_devices_are_refused_before_they_are_read(capsys, monkeypatch, tmp_path):
    garbage = tmp_path / "corpus.txt.gz"
    garbage.write_bytes(b"\x1f\x8b" + bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)))
    assert "not UTF-8 text (a compressed file" in _one_line_error(capsys, "lm", "corpus=file",
                                                                    f"corpus_path={garbage}")
    assert "must be a regular text file; /dev/zero is not" in _one_line_error(capsys, "lm", "corpus=file",
                                                                              "corpus_path=/dev/zero")
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (mnist / f"{name}.gz").write_bytes(garbage.read_bytes())
    monkeypatch.setenv("MADLIB_MNIST_DIR", str(mnist))
    assert "is not a readable IDX file" in _one_line_error(capsys, "vae", "data_source=idx")


@pytest.mark.parametrize("workflow", ["augment", "accumulate", "fresh"])
def test_zipf_survival_says_no_word_vanished_instead_of_crashing(workflow):
    summary = run_experiment("zipf-survival", workflow=workflow, generations=30, replicates=2).summary
    if summary["median_linear_fit_slope"] is None:
        assert summary["fit_note"] in ("no word vanished within the horizon",
                                       "too few counts lost more than half of their copies to fit a line")
    if workflow != "fresh":  # the real words stay in every training set
        assert summary["share_vocabulary_lost_final"] == 0.0
        assert summary["fit_note"] == "no word vanished within the horizon"


def test_a_billion_generations_get_the_early_long_run_note(monkeypatch, capsys):
    import sys

    import madlib.core.pace as pace

    monkeypatch.setattr(pace, "_MIN_ELAPSED_S", 0.5)
    monkeypatch.setenv("MADLIB_LONG_RUN_S", "60")

    class Stop(Exception):
        pass

    class Stderr:
        text = ""

        def write(self, text):
            Stderr.text += text
            if "on pace to take" in Stderr.text:
                raise Stop

        def flush(self):
            pass

        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stderr", Stderr())
    with deadline(60), pytest.raises(Stop):
        run_experiment("gaussian", generations=10**9, replicates=2, use_cache=False)
    assert "madlib: note: gaussian (exact) is on pace to take about" in Stderr.text


def test_the_scoreboard_never_dresses_a_real_failure_as_a_configuration_error(monkeypatch):
    import madlib.experiments.remedies as remedies

    bug = ValueError("operands could not be broadcast together")  # what a bug deep in a run raises

    def failing(*args, **kwargs):
        raise bug

    monkeypatch.setattr(remedies, "run_experiment", failing)
    with pytest.raises(ValueError) as caught:
        remedies._expensive_family_curves("vae")
    assert caught.value is bug and "in the scoreboard's vae run for remedy '" in caught.value.__notes__[0]


def test_lm_test_blocks_beyond_the_corpus_are_refused_not_clamped(capsys):
    err = _one_line_error(capsys, "lm", "test_blocks=100000", "corpus=pydoc")
    assert "test_blocks must be at most" in err


def test_warnings_are_one_madlib_line(capsys):
    first = run_experiment("gaussian", generations=2, replicates=2)
    (Path(first.cache_dir) / "summary.json").write_text("{}")
    code, out, err = _cli(capsys, "gaussian", "generations=2", "replicates=2")
    assert code == 0 and err.startswith("madlib: warning: ignoring unreadable cached result") and err.count("\n") == 1
    assert "UserWarning" not in err and "warnings.warn" not in err


@pytest.mark.parametrize("value", ["abc", "1_000", "\u0663\u0660", "nan", "-5", "0"])
def test_an_unparsable_long_run_threshold_is_refused(capsys, monkeypatch, value):
    monkeypatch.setenv("MADLIB_LONG_RUN_S", value)
    assert "MADLIB_LONG_RUN_S must be a positive number" in _one_line_error(capsys, "gaussian", "generations=2",
                                                                            "replicates=2")
