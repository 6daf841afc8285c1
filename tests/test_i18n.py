"""The translation machinery (issue 31, tools/i18n.py, _ext/language_switcher.py) on a toy book.

The toy book has one Markdown page and one notebook whose stored output glues a number (nothing executes:
``nb_execution_mode: off``). The module builds it once: templates (gettext), a Russian catalogue with a
few translated strings, the English and the Russian editions. Then: a translated paragraph keeps its glued
number only in the document-qualified form; an untranslated paragraph shows in English; every page links
the same page of each edition; the staleness check sees changed English; the MyST check fails on a
broken role or glue key; the coverage report counts what it should.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("sphinx_intl")

from tools import i18n  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
title: Toy
author: Toy
only_build_toc_files: true
exclude_patterns: ["_build/*", "locales/**"]
execute:
  execute_notebooks: "off"
sphinx:
  local_extensions:
    language_switcher: {ext}
    glue_markdown: {ext}
  config:
    locale_dirs: ["locales/"]
    gettext_compact: false
    gettext_uuid: false
    gettext_location: false
"""
TOC = "format: jb-book\nroot: intro\nparts:\n  - caption: The part\n    chapters:\n      - file: chapters/page\n"
INTRO = """\
# A toy book

This is *model collapse* in a sentence, with `code` and $x^2$.

A second paragraph stays in English.

See {doc}`chapters/page`.
"""
GLUED = "The value of x in this run is {glue:text}`x:.2f`."
SENTENCE = "The run says: {glue:md}`verdict`"


def notebook() -> dict:
    glue_output = {"output_type": "display_data", "data": {"text/plain": "3.14159"},
                   "metadata": {"scrapbook": {"name": "x", "mime_prefix": ""}}}
    # a computed sentence, glued as Markdown and not displayed (chapters 6 and 7 do): {glue:md}
    hidden = "application/papermill.record/"
    glue_markdown = {"output_type": "display_data",
                     "data": {hidden + "text/markdown": "the loop *keeps* its tails.",
                              hidden + "text/plain": "<IPython.core.display.Markdown object>"},
                     "metadata": {"scrapbook": {"name": "verdict", "mime_prefix": hidden}}}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                                 "language": "python"}},
            "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# A page\n\n" + GLUED},
                      {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1,
                       "source": "glue('x', 3.14159)", "outputs": [glue_output, glue_markdown]},
                      {"cell_type": "markdown", "id": "c", "metadata": {}, "source": "Untranslated prose, never empty."},
                      {"cell_type": "markdown", "id": "d", "metadata": {}, "source": "Plain {glue:text}`x` here."},
                      {"cell_type": "markdown", "id": "e", "metadata": {}, "source": SENTENCE}]}


def translate(po: Path, strings: dict[str, str]) -> None:
    catalog = i18n.read_po(po)
    for message in i18n.messages(catalog):
        if message.id in strings:
            message.string = strings[message.id]
    i18n.write_po(catalog, po)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("toy")
    (book / "chapters").mkdir()
    (book / "_config.yml").write_text(CONFIG.format(ext=(ROOT / "_ext").as_posix()))
    (book / "_toc.yml").write_text(TOC)
    (book / "intro.md").write_text(INTRO)
    (book / "chapters" / "page.ipynb").write_text(json.dumps(notebook()))
    i18n.update(book, ["ru", "zh_CN"])
    translate(book / "locales/ru/LC_MESSAGES/intro.po", {
        "A toy book": "Игрушечная книга",
        "This is *model collapse* in a sentence, with `code` and $x^2$.":
            "Это *коллапс модели* в одном предложении, с `code` и $x^2$.",
        "See {doc}`chapters/page`.": "См. {doc}`chapters/page`.",
        "The part": "Часть",
    })
    # Written in the local form on purpose: update qualifies it (the glue pitfall).
    translate(book / "locales/ru/LC_MESSAGES/chapters/page.po", {
        "A page": "Страница",
        GLUED: "Значение x в этом запуске равно {glue:text}`x:.2f`.",
        "Plain {glue:text}`x` here.": "Просто {glue:text}`x` здесь.",
        SENTENCE: "Запуск говорит: {glue:md}`verdict`",
    })
    translate(book / "locales/zh_CN/LC_MESSAGES/chapters/page.po", {"A page": "一页"})
    i18n.update(book, ["ru", "zh_CN"])
    overrides = {"nb_execution_mode": "off", "course_languages": i18n.EDITIONS}
    for code, outdir in (("en", book / "_build/html"), ("ru", book / "_build/html/ru"),
                         ("zh_CN", book / "_build/html/zh_CN")):
        extra = {} if code == "en" else {"language": code}
        status = i18n.run_sphinx(book, outdir, book / f"_build/doctrees-{code}", "html",
                                 i18n.sphinx_overrides(book, **overrides, **extra), warningiserror=False,
                                 log=book / f"_build/{code}.log")
        assert status == 0, (book / f"_build/{code}.log").read_text()
    return book


def text(path: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_update_qualifies_local_glue_in_translations(toy: Path) -> None:
    po = (toy / "locales/ru/LC_MESSAGES/chapters/page.po").read_text(encoding="utf-8")
    assert "page.ipynb::x:.2f" in po
    assert i18n.integrity(toy / "locales", ["ru"]) == []


def test_translated_page_keeps_glued_number_and_english_fallback(toy: Path) -> None:
    page = text(toy / "_build/html/ru/chapters/page.html")
    assert "Значение x в этом запуске равно 3.14." in page
    assert "Untranslated prose, never empty." in page  # untranslated: the English, not an empty paragraph
    assert "Просто 3.14159 здесь." in page  # a key without a format, qualified with its default one
    intro = text(toy / "_build/html/ru/intro.html")
    assert "Это коллапс модели в одном предложении" in intro and "A second paragraph stays in English." in intro
    assert '<html lang="ru"' in (toy / "_build/html/ru/intro.html").read_text(encoding="utf-8")
    # the sidebar's part caption too (Sphinx leaves toctree captions; the switcher extension translates them)
    assert re.search(r'<p aria-level="2" class="caption" role="heading"><span class="caption-text">\s*Часть',
                     (toy / "_build/html/ru/chapters/page.html").read_text(encoding="utf-8"))


def test_glued_markdown_renders_in_a_translation(toy: Path) -> None:
    """myst-nb has no page::key form for {glue:md}; _ext/glue_markdown.py adds it (chapters 6 and 7 glue
    their verdicts as Markdown, and the Russian edition failed on 56 of them)."""
    po = (toy / "locales/ru/LC_MESSAGES/chapters/page.po").read_text(encoding="utf-8")
    assert "{glue:md}`page.ipynb::verdict:commonmark`" in po
    for edition, words in (("", "The run says:"), ("ru/", "Запуск говорит:")):
        html = (toy / f"_build/html/{edition}chapters/page.html").read_text(encoding="utf-8")
        assert re.search(words + r"\s*the loop <em>keeps</em> its tails\.", html), edition
    log = (toy / "_build/ru.log").read_text(encoding="utf-8")
    assert "verdict" not in log, log  # no "glue key not found" warning


def test_glued_markdown_from_a_missing_key_is_a_warning(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("glue_markdown", ROOT / "_ext" / "glue_markdown.py")
    glue_markdown = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(glue_markdown)
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "page.glue.json").write_text(json.dumps(
        {"verdict": {"data": {"text/markdown": "*yes*"}}, "number": {"data": {"text/plain": "3"}}}))
    assert glue_markdown.markdown_from_glue_file(tmp_path, "chapters/page", "verdict") == "*yes*"
    for docname, key, problem in (("chapters/page", "nothing", "not found"), ("chapters/other", "verdict", "no glue data"),
                                  ("chapters/page", "number", "no text/markdown")):
        with pytest.raises(LookupError, match=problem):
            glue_markdown.markdown_from_glue_file(tmp_path, docname, key)


def test_update_refuses_a_notebook_missing_from_the_execution_cache(tmp_path: Path) -> None:
    """A notebook stored without outputs and not executed by make book has no figure captions to extract: updating
    then would demote their translations to obsolete entries, so update refuses, naming it."""
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_config.yml").write_text(CONFIG.format(ext=(ROOT / "_ext").as_posix()))
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "intro.md").write_text(INTRO)
    bare = notebook()
    for cell in bare["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
    (tmp_path / "chapters" / "page.ipynb").write_text(json.dumps(bare))
    with pytest.raises(RuntimeError, match=r"chapters/page\.ipynb.*make book first"):
        i18n.update(tmp_path, ["ru"])
    assert not (tmp_path / "locales").exists()


def test_qualify_glue() -> None:
    """The rewrite that avoids the pitfall (a local glue reference renders empty in a translation)."""
    assert i18n.qualify_glue(GLUED, "page.ipynb") == "The value of x in this run is {glue:text}`page.ipynb::x:.2f`."
    # a key without a format gets the role's default one: myst-nb splits "doc::key" at its last colon
    assert i18n.qualify_glue("{glue:md}`a` and {glue}`doc.ipynb::b` and {glue:text}`c`", "p.ipynb") == (
        "{glue:md}`p.ipynb::a:commonmark` and {glue}`doc.ipynb::b` and {glue:text}`p.ipynb::c:s`")
    assert i18n.qualify_glue("{glue:text}`p.ipynb::c`", "p.ipynb") == "{glue:text}`p.ipynb::c:s`"
    assert i18n.check_message("{glue:text}`c`", "{glue:text}`p.ipynb::c:s`") == []
    assert any("no format" in p for p in i18n.check_message("{glue:text}`c`", "{glue:text}`p.ipynb::c`"))
    with pytest.raises(ValueError, match="document"):
        i18n.qualify_glue(GLUED, "chapters/page.ipynb")


def test_each_edition_shows_its_own_language(toy: Path) -> None:
    """Editions built one after another in one process: Sphinx caches loaded catalogues per process, and
    the Chinese page once showed the Russian translation (run_sphinx clears the cache)."""
    page = text(toy / "_build/html/zh_CN/chapters/page.html")
    assert "一页" in page and "Страница" not in page
    assert "The value of x in this run is 3.14." in page  # untranslated in Chinese: English, glued
    assert '<html lang="zh-CN"' in (toy / "_build/html/zh_CN/chapters/page.html").read_text(encoding="utf-8")
    assert "Страница" not in text(toy / "_build/html/chapters/page.html")


def test_switcher_links_same_page_in_each_edition(toy: Path) -> None:
    for page, edition in (("chapters/page.html", "en"), ("ru/chapters/page.html", "ru"), ("ru/intro.html", "ru")):
        html = (toy / "_build/html" / page).read_text(encoding="utf-8")
        nav = re.search(r'<nav class="course-language-switcher" aria-label="([^"]+)">(.*?)</nav>', html, re.S)
        assert nav, page
        assert "Language" in nav.group(1)
        links = dict(re.findall(r'<a href="([^"]+)" lang="([\w-]+)"', nav.group(2)))
        assert set(links.values()) == {"en", "ru", "zh-CN"}
        current = re.findall(r'<a href="[^"]+" lang="([\w-]+)" hreflang="[\w-]+" aria-current="page"', nav.group(2))
        assert current == [edition]
        for href in links:  # every link resolves to the same page in an edition that exists
            target = (toy / "_build/html" / page).parent / href
            assert target.resolve().is_file(), (page, href)
            assert target.resolve().name == Path(page).name


def test_switcher_absent_with_one_edition() -> None:
    sys_path_ext = str(ROOT / "_ext")
    import sys

    if sys_path_ext not in sys.path:
        sys.path.insert(0, sys_path_ext)
    import language_switcher as ls

    assert ls.switcher_links("chapters/a", "zh_CN", i18n.EDITIONS)[0]["href"] == "../../chapters/a.html"
    assert ls.switcher_links("intro", "en", i18n.EDITIONS)[2]["href"] == "zh_CN/intro.html"
    assert ls.html_lang("zh_CN") == "zh-CN"
    assert ls.DEFAULT_LANGUAGES == [["en", "English"]]  # make book alone: no dead links to unbuilt editions
    with pytest.raises(ValueError, match="languages"):
        ls.switcher_links("intro", "en", [])


def test_staleness_detects_changed_english(toy: Path, tmp_path: Path) -> None:
    assert i18n.staleness(toy / "_build/i18n/gettext", toy / "locales", ["ru"]) == []
    # The English changes: a paragraph rewritten, a page added.
    changed = tmp_path / "changed"
    shutil.copytree(toy / "_build/i18n/gettext", changed)
    intro = changed / "intro.pot"
    intro.write_text(intro.read_text().replace("A second paragraph stays in English.", "A rewritten paragraph."))
    (changed / "new.pot").write_text((changed / "intro.pot").read_text())
    problems = i18n.staleness(changed, toy / "locales", ["ru"])
    assert any("ru/intro: 1 English string(s) not in" in p and "A rewritten paragraph." in p for p in problems)
    assert any("ru/intro: 1 string(s)" in p and "no longer" in p for p in problems)
    assert any("ru/new: no catalogue" in p for p in problems)
    # A fuzzy string (sphinx-intl marks one whose English changed a little) is stale too.
    po = tmp_path / "locales/ru/LC_MESSAGES/intro.po"
    po.parent.mkdir(parents=True)
    shutil.copy(toy / "locales/ru/LC_MESSAGES/intro.po", po)
    shutil.copytree(toy / "locales/ru/LC_MESSAGES/chapters", po.parent / "chapters")
    catalog = i18n.read_po(po)
    next(m for m in i18n.messages(catalog) if m.id == "A toy book").flags.add("fuzzy")
    i18n.write_po(catalog, po)
    assert any("1 fuzzy string(s)" in p for p in i18n.staleness(toy / "_build/i18n/gettext", tmp_path / "locales", ["ru"]))


@pytest.mark.parametrize("msgstr, problem", [
    ("Значение {glue:text}`page.ipynb::y:.2f`.", "glue reference '{glue:text}`y:.2f`' not in the English"),
    ("Значение {glue:text}`page.ipynb::x:.3f`.", "glue reference '{glue:text}`x:.2f`' missing"),
    ("Значение {glue:text}`x:.2f`.", "local form renders empty"),
    ("Значение {glue:text}`page.ipynb::x:.2f.", "unbalanced backtick"),
    ("См. {cite}`other2024` и {glue:text}`page.ipynb::x:.2f`.", "role '{cite}`knuth1984`' missing"),
    ("См. {cite}`knuth1984`, $x^3$, {glue:text}`page.ipynb::x:.2f`.", "formula 'x^2' missing"),
    ("См. {cite}`knuth1984`, $x^2$, `cod`, {glue:text}`page.ipynb::x:.2f`.", "inline code 'code' missing"),
    ("1. Значение {glue:text}`page.ipynb::x:.2f`.", "starts like a list item"),
])
def test_integrity_check_fails_on_broken_myst(msgstr: str, problem: str) -> None:
    msgid = "See {cite}`knuth1984`, $x^2$, `code`, {glue:text}`x:.2f`."
    if "cite" not in msgstr:
        msgid = "The value {glue:text}`x:.2f`."
    problems = i18n.check_message(msgid, msgstr)
    assert any(problem in p for p in problems), problems


def test_integrity_check_passes_a_faithful_translation() -> None:
    msgid = "(sec-x)=\nSee {cite}`knuth1984` and {term}`the loop <Self-consuming loop>`, $x^2$, `code`, {glue:text}`x:.2f`."
    good = ("(sec-x)=\nСм. {cite}`knuth1984` и {term}`цикл <Self-consuming loop>`, $x^2$, `code`, "
            "{glue:text}`page.ipynb::x:.2f`.")
    assert i18n.check_message(msgid, good) == []
    assert i18n.check_message(msgid, "") == []  # untranslated: shown in English, nothing to check
    assert i18n.check_message("1. A title", "1\\. Заголовок") == []
    assert any("'{term}`Self-consuming loop`' missing" in p
               for p in i18n.check_message(msgid, good.replace("<Self-consuming loop>", "<Самопоглощающий цикл>")))


def test_coverage_report_format(toy: Path) -> None:
    rows = {r.docname: r for r in i18n.coverage(toy / "locales", ["ru"])}
    intro, page = rows["intro"], rows["chapters/page"]
    assert (intro.translated, intro.fuzzy, intro.untranslated) == (4, 0, 1)
    assert (page.translated, page.untranslated) == (4, 1)
    assert 0 < page.percent_chars < 100 and page.percent == pytest.approx(80.0)
    report = i18n.format_coverage(list(rows.values())).splitlines()
    assert report[0].split() == ["language", "page", "translated", "fuzzy", "untransl.", "total", "msgs", "%", "chars", "%"]
    assert re.fullmatch(r"ru\s+chapters/page\s+4\s+0\s+1\s+5\s+80\.0%\s+\d+\.\d%", report[2])
    assert re.fullmatch(r"ru\s+\(all pages\)\s+8\s+0\s+2\s+10\s+80\.0%\s+\d+\.\d%", report[-1])


def test_terminology_reports_a_term_not_used(toy: Path, tmp_path: Path) -> None:
    terms = i18n.read_terms(ROOT / "locales/terms.tsv")
    assert {"model collapse", "generation", "sampling bias", "perplexity", "tails"} <= {t["en"] for t in terms}
    assert all(t["ru"] and t["zh_CN"] for t in terms)
    assert i18n.terminology(toy / "locales", terms, ["ru"]) == []  # "коллапс модели" is used
    shutil.copytree(toy / "locales", tmp_path / "locales")
    translate(tmp_path / "locales/ru/LC_MESSAGES/intro.po", {
        "This is *model collapse* in a sentence, with `code` and $x^2$.":
            "Это *вырождение модели* в одном предложении, с `code` и $x^2$."})
    notes = i18n.terminology(tmp_path / "locales", terms, ["ru"])
    assert len(notes) == 1 and "'model collapse' is not rendered as 'коллапс модели'" in notes[0]


def test_book_catalogues_keep_myst_intact() -> None:
    """The book's own catalogues: every translated string keeps its English's roles, glue keys (qualified),
    formulas, code and labels (the staleness check needs a gettext build: make i18n-check)."""
    assert i18n.integrity(ROOT / "locales") == []


def test_build_never_executes(toy: Path) -> None:
    """book-all renders from make book's execution cache: with nothing cached it stops before Sphinx runs,
    and while it renders, an attempt to execute a notebook raises."""
    with pytest.raises(RuntimeError, match="run make book first"):
        i18n.build(toy, ["ru"])
    from myst_nb.core.execute import cache

    with i18n.block_execution():
        with pytest.raises(RuntimeError, match="never executes"):
            cache.single_nb_execution(None)


def test_book_catalogues_carry_no_guessed_python_format_and_compile_strictly() -> None:
    """babel flags any English '%' ("10% of") as python-format; msgfmt -c then rejects a faithful
    "10% реальных". write_po drops the guess, and every committed catalogue compiles with msgfmt -c."""
    import shutil
    import subprocess

    for path in sorted((ROOT / "locales").rglob("*.po")):
        text = path.read_text(encoding="utf-8")
        assert "python-format" not in text.replace("no-python-format", ""), f"{path}: a guessed python-format flag"
        if shutil.which("msgfmt"):
            done = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True, text=True)
            assert done.returncode == 0, f"{path}: {done.stderr[-800:]}"


def test_write_po_drops_the_guessed_python_format_flag(tmp_path: Path) -> None:
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="ru")
    catalog.add("Keep 10% of the real data", string="Сохраняйте 10% реальных данных")
    assert "python-format" in next(m for m in catalog if m.id).flags  # babel's guess
    i18n.write_po(catalog, tmp_path / "x.po")
    assert "python-format" not in (tmp_path / "x.po").read_text(encoding="utf-8")


def test_extract_writes_nothing_beside_the_english_build(tmp_path: Path) -> None:
    """myst-nb writes the notebooks it renders to <outdir>/../jupyter_execute: extracting the templates must
    keep that under _build/i18n, never over _build/jupyter_execute (the executed chapters make notebooks
    reads; an extraction once replaced them with unexecuted copies)."""
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "_config.yml").write_text(CONFIG.format(ext=(ROOT / "_ext").as_posix()))
    (book / "_toc.yml").write_text(TOC)
    (book / "intro.md").write_text(INTRO)
    (book / "chapters" / "page.ipynb").write_text(json.dumps(notebook()))
    sentinel = book / "_build" / "jupyter_execute" / "chapters" / "page.ipynb"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("executed")
    pot = i18n.extract(book)
    assert pot == book / i18n.POT_DIR and i18n.pot_files(pot)
    assert sentinel.read_text() == "executed"
    assert (book / i18n.I18N_BUILD / "jupyter_execute").is_dir()


@pytest.mark.parametrize("text, ru, zh", [
    ("38 min 42 s", "38 мин 42 с", "38 分 42 秒"),
    ("7 h 14 min", "7 ч 14 мин", "7 小时 14 分"),
    ("13 s", "13 с", "13 秒"),
    ("9.3 GiB", "9.3 GiB", "9.3 GiB"),
    ("–", "–", "–"),
])
def test_a_quantity_is_translated_mechanically(text, ru, zh):
    assert i18n.translate_quantity(text, "ru") == ru
    assert i18n.translate_quantity(text, "zh_CN") == zh


@pytest.mark.parametrize("text", ["13 seconds", "about 13 s", "13 s (idle)", "chapter 4", "", "s"])
def test_anything_but_a_quantity_is_left_to_a_translator(text):
    assert i18n.translate_quantity(text, "ru") is None


def test_update_fills_new_and_fuzzy_quantities_and_keeps_translations(tmp_path):
    po = tmp_path / "teaching.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "12 min 3 s"\nmsgstr ""\n\n'
                  '#, fuzzy\n#| msgid "38 min 42 s"\nmsgid "38 min 40 s"\nmsgstr "38 мин 42 с"\n\n'
                  'msgid "40 s"\nmsgstr "40 с"\n\n'
                  'msgid "a sentence"\nmsgstr ""\n', encoding="utf-8")
    assert i18n.fill_quantities(po, "ru") == 2
    catalog = i18n.read_po(po)
    assert catalog["12 min 3 s"].string == "12 мин 3 с"
    assert catalog["38 min 40 s"].string == "38 мин 40 с" and not catalog["38 min 40 s"].fuzzy
    assert catalog["40 s"].string == "40 с" and catalog["a sentence"].string == ""
    assert i18n.fill_quantities(po, "ru") == 0
