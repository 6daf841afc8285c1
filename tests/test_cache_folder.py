"""A clean-up that cannot delete a home: private, tagged cache folders, and `cache clean` deletes nothing else.

Every deletion here goes to a fake `rm` on PATH that only records its arguments, and HOME is a
temporary folder: no test can delete a real home or system folder, even if the code under test were wrong.
"""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from madlib.cli import main as cli_main
from madlib.core.cache import CACHEDIR_TAG, TAG_SIGNATURE, cache_root, has_cache_tag
from madlib.core.sweep import sweep

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_rm(tmp_path, monkeypatch):
    """A fake `rm` first on PATH (it logs its arguments and deletes nothing) and a fake HOME."""
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    (home / "notes.txt").write_text("precious")
    log = tmp_path / "rm.log"
    rm = bin_dir / "rm"
    rm.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{log}"\n')
    rm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    assert shutil.which("rm") == str(rm)
    return log, home


def _clean(capsys):
    code = cli_main(["cache", "clean"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_new_cache_folder_is_private_and_tagged(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "a" / "cache"))
    root = cache_root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert (root / CACHEDIR_TAG).read_text().startswith(TAG_SIGNATURE)
    assert sweep(_double, [{"x": 1}], seed=0, cache_dir=tmp_path / "points", key="k") == [2]
    assert has_cache_tag(tmp_path / "points") and stat.S_IMODE((tmp_path / "points").stat().st_mode) == 0o700
    occupied = tmp_path / "occupied"  # an existing folder with files is used, never tagged
    occupied.mkdir()
    (occupied / "mine.txt").write_text("x")
    monkeypatch.setenv("MADLIB_CACHE", str(occupied))
    cache_root()
    assert not has_cache_tag(occupied)


def _double(x, seed):
    return 2 * x


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder away")
def test_a_cache_folder_of_another_user_is_refused(tmp_path, monkeypatch, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, 4242, 4242)
    monkeypatch.setenv("MADLIB_CACHE", str(foreign))
    code = cli_main(["run", "gaussian", "generations=2", "replicates=2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "belongs to another user (uid 4242)" in err and "MADLIB_CACHE" in err


def test_clean_refuses_every_folder_without_the_tag(tmp_path, monkeypatch, capsys, fake_rm):
    log, home = fake_rm
    untagged = tmp_path / "pointed-at-once"
    untagged.mkdir()
    (untagged / "thesis.tex").write_text("x")
    tagged_home = tmp_path / "home-link"
    tagged_home.symlink_to(home)
    for folder in (str(home), f"{home}//", f"{home}/.", str(tagged_home), "/usr", "/", str(untagged), str(REPO)):
        monkeypatch.setenv("MADLIB_CACHE", folder)
        code, out, err = _clean(capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and "refusing to delete" in err, (folder, err)
    (home / CACHEDIR_TAG).write_text(TAG_SIGNATURE + "\n")  # even a tagged home (or a link to it) is refused
    for folder in (str(home), str(tagged_home)):
        monkeypatch.setenv("MADLIB_CACHE", folder)
        code, _, err = _clean(capsys)
        assert code == 2 and "is " in err and str(home) in err, err
    assert not log.exists() and (home / "notes.txt").exists()


def test_clean_deletes_a_tagged_cache_by_its_resolved_path(tmp_path, monkeypatch, capsys, fake_rm):
    log, _ = fake_rm
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    cache_root()
    link = tmp_path / "link-to-cache"
    link.symlink_to(tmp_path / "cache")
    monkeypatch.setenv("MADLIB_CACHE", f"{link}//")
    code, out, _ = _clean(capsys)
    assert code == 0 and "removed the cache" in out
    assert log.read_text().splitlines() == ["-rf", "--", str((tmp_path / "cache").resolve())]
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "never-made"))
    log.unlink()
    code, out, _ = _clean(capsys)
    assert code == 0 and "no cache at" in out and not log.exists()


def test_make_clean_cache_calls_it(tmp_path, fake_rm):
    if shutil.which("make") is None:
        pytest.skip("no make")
    log, home = fake_rm
    env = dict(os.environ, MADLIB_CACHE=f"{home}//")
    refused = subprocess.run(["make", "-s", "clean-cache"], cwd=REPO, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "refusing to delete" in refused.stderr and not log.exists()
    env["MADLIB_CACHE"] = str(tmp_path / "cache")
    subprocess.run([sys.executable, "-c", "from madlib.core.cache import cache_root; cache_root()"], env=env,
                   check=True, cwd=REPO)
    done = subprocess.run(["make", "-s", "clean-cache"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["-rf", "--", str((tmp_path / "cache").resolve())]


def test_cache_info_shows_size_and_contents(tmp_path, monkeypatch, capsys):
    from madlib import run_experiment

    run_experiment("gaussian", generations=2, replicates=2)
    assert cli_main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(cache_root().resolve()) in out and "(tagged)" in out and "gaussian" in out and " files" in out
