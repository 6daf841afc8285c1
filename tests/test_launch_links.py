"""Colab and Binder buttons: every chapter's links open its plain notebook at the release tag, and that
notebook exists in the repository (in the working tree; at the tag too, once the tag exists)."""
from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
import yaml

from madlib._version import RELEASE_TAG

REPO = Path(__file__).resolve().parents[1]
ORG_REPO = "model-collapse-hands-on/model-collapse-hands-on"
CHAPTERS = [c["file"] for part in yaml.safe_load((REPO / "_toc.yml").read_text())["parts"]
            for c in part["chapters"] if c["file"].startswith("chapters/")]


def _launch_links():
    spec = importlib.util.spec_from_file_location("launch_links", REPO / "_ext" / "launch_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def theme_urls(pagename: str, branch: str = "main") -> dict[str, str]:
    """The links sphinx-book-theme 1.3 writes for a page (see its header_buttons/launch.py)."""
    return {"colab": f"https://colab.research.google.com/github/{ORG_REPO}/blob/{branch}/./{pagename}.ipynb",
            "binder": f"https://mybinder.org/v2/gh/{ORG_REPO}/{branch}?urlpath=tree/./{pagename}.ipynb"}


def launch_urls(pagename: str) -> dict[str, str]:
    links = _launch_links()
    return {kind: links.rewrite(url, pagename, "main", links.release_tag()) for kind, url in theme_urls(pagename).items()}


def notebook_in(url: str) -> tuple[str, str]:
    """(git ref, path in the repository) that a Colab or Binder URL opens."""
    if "colab.research.google.com" in url:
        rest = url.split(f"/github/{ORG_REPO}/blob/", 1)[1]
        ref, path = rest.split("/", 1)
        return ref, path
    ref, query = url.split(f"/v2/gh/{ORG_REPO}/", 1)[1].split("?urlpath=tree/", 1)
    return ref, query


@pytest.mark.parametrize("pagename", CHAPTERS)
def test_a_chapter_s_buttons_open_its_plain_notebook_at_the_release_tag(pagename: str) -> None:
    for kind, url in launch_urls(pagename).items():
        ref, path = notebook_in(url)
        assert ref == RELEASE_TAG, f"{kind}: {url} pins {ref}, not the release tag"
        assert path == f"notebooks/{Path(pagename).name}.ipynb", url
        assert (REPO / path).is_file(), f"{kind} opens {path}, which the repository lacks (make notebooks)"
        tagged = subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/tags/{RELEASE_TAG}"], cwd=REPO,
                                capture_output=True, text=True)
        if tagged.returncode == 0:
            exists = subprocess.run(["git", "cat-file", "-e", f"{RELEASE_TAG}:{path}"], cwd=REPO, capture_output=True)
            assert exists.returncode == 0, f"{path} is not in tag {RELEASE_TAG}"


def test_other_pages_keep_the_theme_s_links() -> None:
    links = _launch_links()
    url = theme_urls("intro")["colab"]
    assert links.rewrite(url, "intro", "main", RELEASE_TAG) == url
    assert links.plain_notebook("chapters/03_gmm") == "notebooks/03_gmm.ipynb" and links.plain_notebook("intro") is None


def test_the_rewrite_walks_the_theme_s_nested_buttons() -> None:
    links = _launch_links()
    buttons = [{"type": "group", "buttons": [{"url": theme_urls("chapters/01_gaussian")["colab"]},
                                             {"url": theme_urls("chapters/01_gaussian")["binder"]},
                                             {"url": "https://github.com/x/y/issues"}]}]
    links._rewrite_buttons(buttons, "chapters/01_gaussian", "main", RELEASE_TAG)
    urls = [b["url"] for b in buttons[0]["buttons"]]
    assert urls[0].endswith(f"/blob/{RELEASE_TAG}/notebooks/01_gaussian.ipynb")
    assert urls[1].endswith(f"/{RELEASE_TAG}?urlpath=tree/notebooks/01_gaussian.ipynb")
    assert urls[2] == "https://github.com/x/y/issues"
