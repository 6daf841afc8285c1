"""Launch buttons that open the reader's notebook, pinned to the release.

sphinx-book-theme builds each chapter's Colab and Binder links from ``repository.url``, the
branch and the page's own source file: ``chapters/NN_key.ipynb`` on ``main``, a MyST source that
Colab shows as raw text and that moves with every commit. This extension rewrites those links to
the plain notebook, ``notebooks/NN_key.ipynb`` (``make notebooks``), at the release tag from
``madlib/_version.py`` (``RELEASE_TAG``), the same tag the notebook's install cell installs. The
download button is left alone (it serves the page's source). ``tests/test_launch_links.py`` checks
that every chapter's links name a notebook that exists in the repository.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = "notebooks"


def release_tag() -> str:
    namespace: dict[str, Any] = {}
    exec((ROOT / "madlib" / "_version.py").read_text(), namespace)  # noqa: S102 - our own constants
    return namespace["RELEASE_TAG"]


def plain_notebook(pagename: str) -> str | None:
    """``notebooks/NN_key.ipynb`` for a chapter page (``chapters/NN_key``); None for other pages."""
    parts = pagename.split("/")
    if len(parts) != 2 or parts[0] != "chapters":
        return None
    return f"{NOTEBOOKS}/{parts[1]}.ipynb"


def rewrite(url: str, pagename: str, branch: str, tag: str) -> str:
    """The launch URL with ``<branch>/<path_to_book>chapters/NN.ipynb`` replaced by ``<tag>/notebooks/NN.ipynb``."""
    target = plain_notebook(pagename)
    if target is None:
        return url
    source = f"{pagename}.ipynb"
    for prefix in (f"{branch}/./", f"{branch}/"):
        if f"{prefix}{source}" in url:
            return url.replace(f"{prefix}{source}", f"{tag}/{target}")
    if f"/{branch}?" in url and source in url:  # Binder: .../v2/gh/org/repo/<branch>?urlpath=tree/<path>
        url = url.replace(f"/{branch}?", f"/{tag}?")
        return url.replace(f"./{source}", target).replace(source, target)
    return url


def _rewrite_buttons(buttons: list, pagename: str, branch: str, tag: str) -> None:
    for button in buttons:
        if isinstance(button, dict):
            if isinstance(button.get("url"), str) and ("colab" in button["url"] or "binder" in button["url"]):
                button["url"] = rewrite(button["url"], pagename, branch, tag)
            if isinstance(button.get("buttons"), list):
                _rewrite_buttons(button["buttons"], pagename, branch, tag)


def _on_page(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    buttons = context.get("header_buttons")
    if not isinstance(buttons, list) or plain_notebook(pagename) is None:
        return
    theme = app.config.html_theme_options or {}
    branch = theme.get("repository_branch") or "main"
    _rewrite_buttons(buttons, pagename, branch, release_tag())


def setup(app: Any) -> dict:
    # After sphinx-book-theme adds the launch buttons (its handler runs at the default priority 500).
    app.connect("html-page-context", _on_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
