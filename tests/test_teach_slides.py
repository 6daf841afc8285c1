"""Slide decks (make slides): every deck builds from the library's figures at smoke scale, loads nothing from
another host, and shows its figures and typeset math in headless Chromium."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from tools import sitecheck
from tools.teach import nbsource as S, slide_figures, slides

DECKS = slides.load_decks()
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""",
                      re.I)


def test_every_chapter_has_a_deck_and_every_figure_a_maker():
    toc = yaml.safe_load((S.REPO / "_toc.yml").read_text())
    docs = {c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")}
    assert docs == {d.chapter for d in DECKS}
    for deck in DECKS:
        assert len(deck.slides) >= 5 or deck.chapter.endswith("questions"), deck.path.name
        assert deck.figures or deck.chapter.endswith("questions")
        assert set(deck.figures) <= set(slide_figures.FIGURES), deck.path.name


def test_the_vendored_reveal_files_are_the_published_ones():
    table = (slides.DECKS / "vendor" / "README.md").read_text()
    for name in slides.REVEAL_FILES:
        digest = hashlib.sha256((slides.REVEAL_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"\| {re.escape(name)} \| {digest} \|", table), f"{name} differs from reveal.js 6.0.2"


def test_a_deck_is_parsed_into_slides_with_notes_and_keeps_rules_inside_code(tmp_path):
    deck = tmp_path / "01_x.md"
    deck.write_text("---\ntitle: T\nchapter: chapters/x\n---\n# One\nNote:\nsay it\n---\n```\n---\n```\n"
                    "---\n![a figure](figure:loop) and {{facts.bias_factor_095:.1f}} and $x^2$\n")
    parsed = slides.load_deck(deck)
    assert [n for _, n in parsed.slides] == ["say it", "", ""]
    assert "---" in parsed.slides[1][0] and parsed.figures == ["loop"]
    page = slides.render_deck(parsed, {"facts.bias_factor_095": 26.64})
    assert '<aside class="notes">' in page and "26.6" in page and r"\(x^2\)" in page
    assert 'src="figures/loop.png"' in page
    with pytest.raises(KeyError, match="not a value"):
        slides.render_deck(parsed, {})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every deck, built once at smoke scale in a fresh experiment cache (about 40 s of CPU)."""
    out = tmp_path_factory.mktemp("slides")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MADLIB_SCALE", "smoke")
        patch.setenv("MADLIB_CACHE", str(out / "cache"))
        slides.build(out / "site")
    return out / "site"


def test_every_deck_builds_with_its_figures(built):
    for deck in DECKS:
        page = (built / f"{deck.path.stem}.html").read_text()
        assert page.count("<section>") == len(deck.slides)
        for key in deck.figures:
            assert (built / "figures" / f"{key}.png").stat().st_size > 5000, key
            assert f'src="figures/{key}.png"' in page
        assert "{{" not in page and "figure:" not in page
    assert (built / "index.html").exists() and (built / "mathjax" / "startup.js").exists()


def test_no_deck_refers_to_another_host(built):
    for path in [*built.glob("*.html"), *built.glob("*.css"), *(built / "vendor").rglob("*.css")]:
        text = path.read_text(errors="ignore")
        assert not EXTERNAL.search(text), f"{path.name}: {EXTERNAL.search(text).group(0)}"
    for path in built.glob("*.html"):
        for ref in re.findall(r"""(?:src|href)="([^"#]+)""", path.read_text()):
            assert (path.parent / ref).exists(), f"{path.name} refers to {ref}, which is not in the build"


def test_the_decks_work_offline_in_a_browser(built):
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    if sitecheck.find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    pages = sorted(p.name for p in built.glob("*.html"))
    reports = sitecheck.check_site(built, pages=pages)
    failed = [r for r in reports if not r.ok]
    assert not failed, sitecheck.format_report(failed)
    images = {r.page: r.images for r in reports}
    for deck in DECKS:
        assert images[f"{deck.path.stem}.html"] == len(deck.figures)
