"""Slide decks, one per chapter, from the book's figures and key equations: offline reveal.js (``make slides``).

``python -m tools.teach.slides [--out DIR] [--deck NAME ...]`` reads ``teaching/slides/NN_key.md`` and writes
``DIR/NN_key.html`` plus everything a deck loads, into one self-contained folder (default
``_build/slides``): reveal.js 6.0.2 (vendored, ``teaching/slides/vendor/``), MathJax 3 (copied from the
``django-static-mathjax`` package, as the book does) and the figures as PNG files. Nothing is loaded from
another host; open ``index.html``, press ``S`` for the speaker notes, or print to PDF with
``?print-pdf`` in the address.

A deck is Markdown: a YAML front matter (``title``, ``chapter``), slides separated by lines ``---``,
``$...$`` and ``$$...$$`` for math, ``![caption](figure:KEY)`` for a figure of
``tools/teach/slide_figures.py`` (drawn by the library's plot functions at ``MADLIB_SCALE``; ``make slides``
uses ``default`` and reads the experiment cache of ``make book``), ``{{name:.3f}}`` for a number such a figure
computed, and ``Note:`` to start the speaker notes of a slide.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from . import nbsource as S

DECKS = S.REPO / "teaching" / "slides"
REVEAL_DIR = DECKS / "vendor" / "reveal.js-6.0.2"
REVEAL_FILES = ("reveal.js", "reveal.css", "reset.css", "theme/white.css", "plugin/notes.js", "LICENSE")
DEFAULT_OUT = S.REPO / "_build" / "slides"
_FIGURE_RE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(figure:(?P<key>[\w-]+)\)")
_VALUE_RE = re.compile(r"\{\{\s*(?P<name>[\w.-]+)\s*(?::(?P<fmt>[^}]+))?\}\}")


@dataclass
class Deck:
    path: Path
    title: str
    chapter: str
    slides: list[tuple[str, str]]  # (Markdown body, speaker notes)

    @property
    def figures(self) -> list[str]:
        return list(dict.fromkeys(m.group("key") for body, _ in self.slides for m in _FIGURE_RE.finditer(body)))


def load_deck(path: Path) -> Deck:
    text = Path(path).read_text()
    if not text.startswith("---\n"):
        raise ValueError(f"{path}: a deck starts with a YAML front matter between '---' lines")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    slides, current, fence = [], [], None
    for line in body.splitlines():
        stripped = line.strip()
        if fence is None and re.match(r"^(```|~~~)", stripped):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        if fence is None and stripped == "---":
            slides.append("\n".join(current))
            current = []
        else:
            current.append(line)
    slides.append("\n".join(current))
    parsed = []
    for slide in slides:
        if not slide.strip():
            continue
        body, _, notes = slide.partition("\nNote:")
        parsed.append((body.strip("\n"), notes.strip()))
    return Deck(Path(path), meta["title"], meta["chapter"], parsed)


def load_decks(names: list[str] | None = None) -> list[Deck]:
    paths = sorted(DECKS.glob("[0-9][0-9]_*.md"))
    if names:
        paths = [p for p in paths if p.stem in names]
    return [load_deck(p) for p in paths]


def _markdown() -> MarkdownIt:
    def math(content: str, options: dict) -> str:
        content = html.escape(content)
        return f'<div class="math">\\[{content}\\]</div>' if options.get("display_mode") else f"\\({content}\\)"

    return MarkdownIt("commonmark", {"html": False}).enable("table").use(
        dollarmath_plugin, double_inline=True, renderer=math)


def render_deck(deck: Deck, values: dict[str, float], figure_dir: str = "figures") -> str:
    """One deck as a reveal.js page (assets relative to the page)."""
    md = _markdown()
    sections = []
    for body, notes in deck.slides:
        def value(match: re.Match) -> str:
            name = match.group("name")
            if name not in values:
                raise KeyError(f"{deck.path.name}: {{{{{name}}}}} is not a value of the deck's figures "
                               f"(known: {sorted(values)})")
            return format(values[name], match.group("fmt") or "")

        body = _VALUE_RE.sub(value, body)
        body = _FIGURE_RE.sub(lambda m: f"![{m.group('alt')}]({figure_dir}/{m.group('key')}.png)", body)
        content = md.render(body)
        content = re.sub(r"<img ([^>]*)alt=\"([^\"]*)\"", r'<img \1alt="\2" title="\2"', content)
        aside = f'<aside class="notes">{md.render(notes)}</aside>' if notes else ""
        sections.append(f"<section>\n{content}{aside}\n</section>")
    title = html.escape(deck.title)
    assets = _course_assets()
    return PAGE.format(title=title, slides="\n".join(sections), reveal="vendor/reveal.js",
                       mathjax_loader=assets.MATHJAX_LOADER, mathjax_load=json.dumps(list(assets.MATHJAX_LOAD)))


def _course_assets():
    """The book's asset extension (_ext/course_assets.py): which MathJax files to copy and load."""
    sys.path.insert(0, str(S.REPO / "_ext"))
    try:
        import course_assets
    finally:
        sys.path.remove(str(S.REPO / "_ext"))
    return course_assets


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}: slides</title>
<link rel="stylesheet" href="{reveal}/reset.css">
<link rel="stylesheet" href="{reveal}/reveal.css">
<link rel="stylesheet" href="{reveal}/theme/white.css">
<link rel="stylesheet" href="deck.css">
<script>
window.MathJax = {{ tex: {{ inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]] }},
                   loader: {{ load: {mathjax_load} }},
                   options: {{ skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code"] }} }};
</script>
<script src="mathjax/{mathjax_loader}" defer></script>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<script src="{reveal}/reveal.js"></script>
<script src="{reveal}/plugin/notes.js"></script>
<script>
Reveal.initialize({{ hash: true, width: 1280, height: 760, margin: 0.04, plugins: [RevealNotes] }});
</script>
</body>
</html>
"""

DECK_CSS = """/* The course's decks: the reveal.js white theme, the book's Okabe-Ito blue, room for figures. */
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; color: #0b3d66; }
.reveal h1 { font-size: 2.0em; } .reveal h2 { font-size: 1.35em; }
.reveal section img { max-height: 520px; max-width: 100%; border: 0; box-shadow: none; margin: 0.2em auto; }
.reveal .math { font-size: 0.9em; }
.reveal ul, .reveal ol { display: block; font-size: 0.82em; }
.reveal p { font-size: 0.85em; }
.reveal table { font-size: 0.65em; }
.reveal pre { font-size: 0.5em; width: 100%; }
.reveal .footer-note { font-size: 0.5em; color: #555; }
"""


def _copy(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return
    S.write_atomic(dst, src.read_bytes())


def copy_assets(out: Path) -> None:
    """reveal.js and MathJax next to the decks (MathJax as the book copies it: _ext/course_assets.py)."""
    for name in REVEAL_FILES:
        _copy(REVEAL_DIR / name, out / "vendor" / "reveal.js" / name)
    course_assets = _course_assets()
    es5 = course_assets.mathjax_es5_dir()
    for pattern in course_assets.MATHJAX_FILES:
        for src in es5.glob(pattern):
            _copy(src, out / "mathjax" / src.relative_to(es5))
    S.write_atomic(out / "deck.css", DECK_CSS)


def draw_figures(keys: list[str], out: Path) -> dict[str, float]:
    """Draw (or redraw) the figures the decks use into ``out/figures``; returns their values, prefixed by key."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from madlib import save_figure, use_house_style

    from .slide_figures import FIGURES, VALUES

    use_house_style()
    values: dict[str, float] = {f"{group}.{name}": float(v) for group, make in VALUES.items()
                                for name, v in make().items()}
    for key in keys:
        if key not in FIGURES:
            raise KeyError(f"figure:{key} is not in tools/teach/slide_figures.py (known: {sorted(FIGURES)})")
        start = time.monotonic()
        fig, figure_values = FIGURES[key]()
        save_figure(fig, out / "figures" / f"{key}.png", dpi=130, bbox_inches="tight")
        plt.close("all")
        values.update({f"{key.split('-')[0]}.{name}": float(v) for name, v in figure_values.items()})
        print(f"  figure {key}: {time.monotonic() - start:.1f} s", file=sys.stderr)
    return values


def render_index(decks: list[Deck]) -> str:
    items = "\n".join(f'<li><a href="{d.path.stem}.html">{html.escape(d.title)}</a> '
                      f'({len(d.slides)} slides)</li>' for d in decks)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Model Collapse, Hands-On: "
            "slides</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\">\n"
            "<h1>Model Collapse, Hands-On: slides</h1>\n<p>One deck per chapter, built by <code>make slides</code> "
            "from the book's figures. Keys: arrows to move, <kbd>S</kbd> speaker notes, <kbd>F</kbd> full screen; "
            "add <code>?print-pdf</code> to a deck's address and print to save a PDF.</p>\n"
            f"<ul>\n{items}\n</ul>\n</body></html>\n")


def build(out: Path = DEFAULT_OUT, names: list[str] | None = None) -> list[Path]:
    decks = load_decks(names)
    if not decks:
        raise ValueError(f"no deck matches {names} in {DECKS}")
    out = Path(out)
    copy_assets(out)
    keys = list(dict.fromkeys(k for d in decks for k in d.figures))
    values = draw_figures(keys, out)
    written = []
    for deck in decks:
        page = out / f"{deck.path.stem}.html"
        S.write_atomic(page, render_deck(deck, values))
        written.append(page)
    S.write_atomic(out / "index.html", render_index(decks))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.teach.slides", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--deck", action="append", help="only this deck (its file name without .md); repeatable")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    pages = build(args.out, args.deck)
    print(f"{len(pages)} decks written to {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
