"""The real book: build it (smoke scale, warnings are errors) and check every page in headless Chromium.

The same check as ``make site-check``, on the pages a reader gets. Skipped when Chromium is missing
(``.ci/run`` installs it). It builds into a temporary folder with its own experiment cache, so it
never races the notebook tests that run beside it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import sitecheck

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("websocket", reason="websocket-client is not installed (see requirements.txt)")
pytestmark = pytest.mark.skipif(sitecheck.find_chromium() is None,
                                reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run does this)")


def _build(tmp_path: Path, config: Path, env: dict) -> subprocess.CompletedProcess:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(REPO), "--path-output", str(tmp_path), "--config", str(config),
         "--warningiserror", "--keep-going", "--builder", "html"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=2400)


def test_built_book_has_no_warnings_and_every_page_passes_the_browser_check(tmp_path: Path) -> None:
    # The book's own config, with a cell timeout that fits smoke scale. An intermittent stall
    # (client and kernel both idle until the cell timeout runs out, then execution goes on;
    # seen in chapter 1 only, about one run in six under nbmake) then costs 2 minutes, not 15;
    # a build that fails on a timeout is tried once more.
    # It lives beside _config.yml because the config's relative paths (_ext/) resolve from there.
    config = REPO / f".test_config_{os.getpid()}.yml"
    config.write_text((REPO / "_config.yml").read_text().replace("timeout: 900", "timeout: 120"))
    try:
        assert "timeout: 120" in config.read_text()
        env = {**os.environ, "MADLIB_SCALE": "smoke", "MADLIB_CACHE": str(tmp_path / "cache")}
        build = _build(tmp_path, config, env)
        log = build.stdout + build.stderr
        if build.returncode != 0 and ("CellTimeoutError" in log or "Timeout waiting" in log):
            build = _build(tmp_path, config, env)
            log = build.stdout + build.stderr
    finally:
        config.unlink(missing_ok=True)
    warnings = [line for line in log.splitlines() if "WARNING:" in line and "IPKernelApp" not in line]
    assert build.returncode == 0 and not warnings, "book build failed:\n" + "\n".join(warnings or log.splitlines()[-40:])
    site = tmp_path / "_build" / "html"
    pages = sitecheck.list_pages(site)
    assert {"intro.html", "chapters/01_gaussian.html", "chapters/06_ways_out.html"} <= set(pages)
    reports = sitecheck.check_site(site, screenshots=tmp_path / "screenshots")
    failed = [r for r in reports if not r.ok]
    assert not failed, sitecheck.format_report(failed)
    assert len(reports) == len(pages)
