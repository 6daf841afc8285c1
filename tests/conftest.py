import os

import pytest

os.environ.setdefault("MADLIB_SCALE", "smoke")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own experiment cache, so tests never read stale results."""
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    yield
