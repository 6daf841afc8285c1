"""Small Sphinx fixes for the course site, loaded from _config.yml (sphinx.local_extensions).

* sphinx-thebe and sphinx-togglebutton add their inline configuration scripts again while
  each page is written, with a different priority, so Sphinx does not see them as
  duplicates (the copy has filename "" where the original has None): every page declared `const THEBE_JS_URL` twice, a JavaScript SyntaxError in
  every reader's console (found by `make site-check`). We make the page's script list skip
  an asset whose file and attributes (inline body included) it already has.
* Two accessibility fixes the theme and docutils need (axe-core, run by the browser check on every
  page, reports them as serious and critical), applied to every written page when the build
  finishes (``accessible_html``):

  - pydata-sphinx-theme's search buttons are labelled ``aria-label="Search"`` (in a translated edition
    ``"Поиск"``, ``"搜索"``) while they show "Search Ctrl+K": a speech-input user saying what they see does not match the name (WCAG 2.5.3,
    axe ``label-content-name-mismatch``). Without the label the button's name is its visible text.
  - docutils writes a citation list as ``role="list"`` holding ``role="doc-biblioentry"`` items, a
    deprecated role that a list may not contain (axe ``aria-required-children``): they become
    ``role="listitem"``; myst-nb's code toggles lose a label that does not match their text.
  Two weight fixes ride along: Font Awesome as CSS and web fonts instead of the theme's 1.5 MB
  script, and no embedded ipywidgets state (the static site runs no widgets).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

# (pattern, replacement) applied to every HTML page of the site; see the module docstring.
HTML_FIXES = (
    # Font Awesome as CSS and web fonts (_ext/course_assets.py copies them) instead of the theme's
    # 1.5 MB fontawesome.js: the same <i class="fa-..."> icons, a quarter of the weight.
    (re.compile(r'<link rel="preload" as="script" href="([^"]*?)scripts/fontawesome\.js[^"]*" />\s*'), ""),
    (re.compile(r'<script defer src="([^"]*?)scripts/fontawesome\.js[^"]*"></script>'),
     r'<link rel="stylesheet" href="\1vendor/fontawesome/css/all.min.css" />'),
    # (any language: "Поиск", "搜索" in the translated editions)
    (re.compile(r'(<button class="[^"]*\bsearch-button__button\b[^"]*"[^>]*?) aria-label="[^"]*"'), r"\1"),
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
    # myst-nb's "Show code cell source" toggle is named "Toggle hidden content" (axe
    # label-content-name-mismatch): without the label its name is the text it shows.
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # The ipywidgets state myst-nb embeds for the live explorers: the static site loads no widget
    # JavaScript (nb_ipywidgets_js is empty), so it is half a megabyte nothing reads.
    (re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">.*?</script>', re.S), ""),
)


def accessible_html(text: str) -> str:
    """A page with the theme's and docutils' accessibility slips fixed (see HTML_FIXES)."""
    for pattern, replacement in HTML_FIXES:
        text = pattern.sub(replacement, text)
    return text


def _fix_pages(app: Any, exception: Exception | None) -> None:
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = accessible_html(text)
        if fixed != text:
            tmp = page.with_name(f".{page.name}.{os.getpid()}.tmp")
            tmp.write_text(fixed, encoding="utf-8")
            os.replace(tmp, page)


def _asset_key(asset: Any) -> tuple:
    attributes = getattr(asset, "attributes", {}) or {}
    # Inline scripts carry filename None or "" depending on who added them: the same thing.
    return (getattr(asset, "filename", str(asset)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))


class _UniqueAssets(list):
    """A list of JS/CSS assets that ignores a second copy of an asset already in it."""

    def append(self, asset: Any) -> None:
        if all(_asset_key(asset) != _asset_key(other) for other in self):
            super().append(asset)

    def insert(self, index: int, asset: Any) -> None:
        if all(_asset_key(asset) != _asset_key(other) for other in self):
            super().insert(index, asset)

    def extend(self, assets) -> None:
        for asset in assets:
            self.append(asset)


def _unique_page_assets(app, pagename, templatename, context, doctree) -> None:
    # Early priority: `html-page-context` is emitted with emit_firstresult, so a late handler
    # may never run. Sphinx resets the builder's list to its saved copy (with the duplicate)
    # before each page, so dedupe it here every time; later page-level additions go through
    # `_UniqueAssets.append`.
    builder = app.builder
    for attr, key in (("_js_files", "script_files"), ("_css_files", "css_files")):
        current = getattr(builder, attr, None)
        if not isinstance(current, list):
            continue
        unique = _UniqueAssets()
        unique.extend(list(current))
        setattr(builder, attr, unique)
        context[key] = unique


def setup(app) -> dict:
    app.connect("html-page-context", _unique_page_assets, priority=100)
    app.connect("build-finished", _fix_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
