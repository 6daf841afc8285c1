"""Small Sphinx fixes for the course site, loaded from _config.yml (sphinx.local_extensions).

* sphinx-thebe and sphinx-togglebutton add their inline configuration scripts again while
  each page is written, with a different priority, so Sphinx does not see them as
  duplicates (the copy has filename "" where the original has None): every page declared `const THEBE_JS_URL` twice, a JavaScript SyntaxError in
  every reader's console (found by `make site-check`). We make the page's script list skip
  an asset whose file and attributes (inline body included) it already has.
"""
from __future__ import annotations

from typing import Any


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
