"""Figure captions on a cell's image only, not on every output of the cell.

myst-nb 1.4 wraps *every* display output of a cell that has ``mystnb.figure`` metadata in a
figure with that caption and name: a cell that draws a figure and also shows a table (chapter 1's
run averages, chapter 2's Zipf tails) then has two figures with one name, a duplicate target
that fails the build, and a captioned table. This extension gives the figure wrapper only to an
output that holds an image (``image/*``), so the table stays a plain output and the figure keeps
its one number. It wraps ``myst_nb.sphinx_.create_figure_context``; the output being rendered is
read from the caller's frame (myst-nb's renderer loop), and when it cannot be read, myst-nb's own
behaviour is kept. ``tests/test_book_site.py`` builds the book with warnings as errors and the
browser check fails a notebook image without a numbered caption.
"""
from __future__ import annotations

import contextlib
import inspect
from typing import Any


def _has_image(output: Any) -> bool:
    data = getattr(output, "get", lambda *_: None)("data") or {}
    return any(str(mime).startswith("image/") for mime in data)


def install() -> bool:
    """Wrap myst-nb's figure context once; True when (already) installed."""
    from myst_nb import sphinx_

    original = sphinx_.create_figure_context
    if getattr(original, "_madlib_images_only", False):
        return True

    def create_figure_context(renderer: Any, figure_options: Any, line: int):
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        output = caller.f_locals.get("output") if caller is not None else None
        if figure_options and output is not None and not _has_image(output):
            return contextlib.nullcontext()
        return original(renderer, figure_options, line)

    create_figure_context._madlib_images_only = True  # type: ignore[attr-defined]
    sphinx_.create_figure_context = create_figure_context
    return True


def setup(app: Any) -> dict:
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
