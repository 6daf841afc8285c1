"""Translations of the book (issue 31): ``python -m tools.i18n COMMAND`` (``make i18n-update``,
``make i18n-check``, ``make i18n-stats``, ``make book-all``). The translators' page is ``locales/README.md``.

One English source, several editions. Sphinx's gettext builder extracts every paragraph, heading, list
item, caption and alt text of the book into ``.pot`` templates (``_build/i18n/gettext``, one per page:
``gettext_compact: false``); ``sphinx-intl update`` keeps one ``.po`` catalogue per page and language
under ``locales/<lang>/LC_MESSAGES/``; a translator fills in the ``msgstr``. Code cells and their outputs
are never extracted, so they never fork. Commands:

* ``extract``: the ``.pot`` templates, without executing anything (``nb_execution_mode: off``).
* ``update``: ``extract``, then ``sphinx-intl update`` for every language (new English strings appear
  empty, changed ones ``fuzzy``, removed ones obsolete), then :func:`qualify_glue` on every catalogue.
* ``stats``: coverage per language and file (messages and characters of English translated).
* ``check``: every catalogue up to date with a fresh extraction (:func:`staleness`) and every translation
  keeping its English's MyST syntax (:func:`check_message`); exit status 1 with one line per problem.
  ``--integrity-only`` skips the extraction (no Sphinx run: what ``make test`` checks).
* ``terms``: translated strings that do not use the translation memory's term (``locales/terms.tsv``).
* ``build``: render the editions from the execution cache that ``make book`` filled: English again into
  ``_build/html`` (now with the language switcher, ``_ext/language_switcher.py``), each translation
  into ``_build/html/<lang>``. Nothing executes: a notebook the cache cannot answer stops the build
  before it starts ("run make book first"), and an attempt to execute one raises.

**The glue pitfall.** Sphinx parses a translated paragraph again in a document of its own, which has no
notebook and so no glue data: the local form ``{glue:text}`key:.2f``` renders *empty* in a translation.
The document-qualified form ``{glue:text}`01_gaussian.ipynb::key:.2f``` (the page's own file, relative to
its folder) is resolved after reading and renders the same number. ``update`` rewrites the local form in
every translated string (:func:`qualify_glue`), and ``check`` fails on any that is left.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

EDITIONS = [["en", "English"], ["ru", "Русский"], ["zh_CN", "简体中文"]]
TRANSLATIONS = ("ru", "zh_CN")
LOCALE_DIR = "locales"
I18N_BUILD = Path("_build") / "i18n"
# Beside its output folder (``<outdir>/../jupyter_execute``) myst-nb writes the notebooks it rendered: every
# build of this tool keeps its output under I18N_BUILD, so that neither the English build's executed
# notebooks (``_build/jupyter_execute``, read by ``make notebooks``) nor the published site is written over.
POT_DIR = I18N_BUILD / "gettext"
PO_WIDTH = 76  # sphinx-intl's and babel's line width: a rewritten catalogue diffs only where it changed

# ------------------------------------------------------------------------------------------- MyST tokens
ROLE_RE = re.compile(r"\{([A-Za-z][\w:.+-]*)\}`([^`]*)`")
DISPLAY_MATH_RE = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH_RE = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")
CODE_RE = re.compile(r"(`+)(.+?)\1", re.S)
LABEL_RE = re.compile(r"^\s*\(([^()\s]+)\)=\s*$", re.M)
NAME_OPTION_RE = re.compile(r"^\s*:(?:name|label):\s*(\S+)", re.M)
LINK_TARGET_RE = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SUBSTITUTION_RE = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
BLOCK_START_RE = re.compile(r"^(?:\d{1,9}[.)]|[-*+]|#{1,6})(?:\s|$)")
DIRECTIVE_RE = re.compile(r"^\s*(?:`{3,}|:{3,})\{([\w:-]+)\}", re.M)


# A role whose content is ``key:format``: myst-nb splits the format off at the last colon, so a
# qualified reference without one (``doc.ipynb::key``) would read as key ``doc.ipynb:`` with format
# ``key`` and render empty. Its default format is written out instead (the same output as the local form).
GLUE_DEFAULT_FORMAT = {"glue:text": "s", "glue:md": "commonmark"}


def is_glue(role: str) -> bool:
    """``glue``, ``glue:text``, ``glue:md``, ``glue:figure``, ...: a myst-nb paste role."""
    return role == "glue" or role.startswith("glue:")


def role_target(role: str, content: str) -> str:
    """What a role points at, which a translation must keep: the ``<target>`` of ``text <target>``, else
    the whole content (a cite key, a label, a document). A glue key without its ``document::`` part."""
    content = content.strip()
    if is_glue(role):
        key = content.split("::", 1)[-1]
        default = GLUE_DEFAULT_FORMAT.get(role)
        return key[: -len(default) - 1] if default and key.endswith(":" + default) else key
    explicit = re.search(r"<([^<>]+)>\s*$", content)
    return explicit.group(1).strip() if explicit else content


def myst_tokens(text: str) -> dict[str, Counter]:
    """The parts of a MyST string that a translation must carry over unchanged, as multisets."""
    roles = ROLE_RE.findall(text)
    rest = ROLE_RE.sub(" ", text)
    code = [m.group(2).strip() for m in CODE_RE.finditer(rest)]
    rest = CODE_RE.sub(" ", rest)
    display = [" ".join(m.split()) for m in DISPLAY_MATH_RE.findall(rest)]
    rest = DISPLAY_MATH_RE.sub(" ", rest)
    inline = [" ".join(m.split()) for m in INLINE_MATH_RE.findall(rest)]
    return {
        "role": Counter(f"{{{r}}}`{role_target(r, c)}`" for r, c in roles if not is_glue(r)),
        "glue": Counter(f"{{{r}}}`{role_target(r, c)}`" for r, c in roles if is_glue(r)),
        "code": Counter(code),
        "math": Counter(display + inline),
        "label": Counter(LABEL_RE.findall(text) + NAME_OPTION_RE.findall(text)),
        "link": Counter(LINK_TARGET_RE.findall(rest)),
        "substitution": Counter(SUBSTITUTION_RE.findall(text)),
        "directive": Counter(DIRECTIVE_RE.findall(text)),
        "backticks": Counter({"odd": text.count("`") % 2}) if text.count("`") % 2 else Counter(),
    }


WHAT = {"role": "role", "glue": "glue reference", "code": "inline code", "math": "formula",
        "label": "label", "link": "link target", "substitution": "substitution",
        "directive": "directive", "backticks": "unbalanced backtick (a broken role or code span)"}


def local_glue(text: str) -> list[str]:
    """Glue references in the local form (no ``document::``): empty in a translated paragraph."""
    return [f"{{{r}}}`{c}`" for r, c in ROLE_RE.findall(text) if is_glue(r) and "::" not in c]


def unformatted_glue(text: str) -> list[str]:
    """Qualified ``{glue:text}``/``{glue:md}`` references without a format: empty on the page."""
    return [f"{{{r}}}`{c}`" for r, c in ROLE_RE.findall(text)
            if r in GLUE_DEFAULT_FORMAT and "::" in c and ":" not in c.split("::", 1)[1]]


def check_message(msgid: str, msgstr: str) -> list[str]:
    """What a translation ``msgstr`` of ``msgid`` breaks: missing or extra roles, glue keys, formulas,
    inline code, labels, link targets, substitutions, directives; a glue reference in the local form."""
    if not msgstr:
        return []
    problems = []
    source, target = myst_tokens(msgid), myst_tokens(msgstr)
    for kind in source:
        missing, extra = source[kind] - target[kind], target[kind] - source[kind]
        if kind == "backticks":
            if extra:
                problems.append(WHAT[kind])
            continue
        problems += [f"{WHAT[kind]} {item!r} missing" for item in sorted(missing)]
        problems += [f"{WHAT[kind]} {item!r} not in the English" for item in sorted(extra)]
    if BLOCK_START_RE.match(msgstr):
        problems.append("starts like a list item or heading (Sphinx parses a translation on its own, so a title "
                        "'1. ...' becomes a list and is dropped): escape it, '1\\. ...'")
    problems += [f"glue reference {ref} has no format after its key and renders empty: add its default "
                 f"(':s' for glue:text, ':commonmark' for glue:md; python -m tools.i18n update does)"
                 for ref in unformatted_glue(msgstr)]
    problems += [f"glue reference {ref} in the local form renders empty in a translation: qualify it "
                 f"with its document ({{glue:text}}`<page>.ipynb::key`; python -m tools.i18n update does)"
                 for ref in local_glue(msgstr)]
    return problems


def qualify_glue(text: str, document: str) -> str:
    """``text`` with every local glue reference qualified by ``document`` (the page's file name relative
    to its folder, e.g. ``01_gaussian.ipynb``): ``{glue:text}`k:.2f``` -> ``{glue:text}`01_gaussian.ipynb::k:.2f```,
    ``{glue:text}`k``` -> ``{glue:text}`01_gaussian.ipynb::k:s``` (:data:`GLUE_DEFAULT_FORMAT`)."""
    if not document or "/" in document or "::" in document:
        raise ValueError(f"document must be a file name without folder or '::', got {document!r}")

    def fix(match: re.Match) -> str:
        role, content = match.group(1), match.group(2).strip()
        if not is_glue(role):
            return match.group(0)
        if "::" not in content:
            content = f"{document}::{content}"
        if role in GLUE_DEFAULT_FORMAT and ":" not in content.split("::", 1)[1]:
            content += ":" + GLUE_DEFAULT_FORMAT[role]
        return f"{{{role}}}`{content}`"

    return ROLE_RE.sub(fix, text)


# ------------------------------------------------------------------------------------------- catalogues
def read_po(path: Path) -> Any:
    from babel.messages.pofile import read_po as babel_read_po

    with open(path, "rb") as handle:
        return babel_read_po(handle, abort_invalid=False)


def write_po(catalog: Any, path: Path) -> None:
    from babel.messages.pofile import write_po as babel_write_po

    from madlib.core.cache import atomic_write_bytes

    for message in catalog:  # babel guesses python-format from any '%' ("10% of"): Sphinx never %-formats
        message.flags.discard("python-format")  # these strings, and msgfmt -c rejects "10% реальных" under it
    buffer = io.BytesIO()
    babel_write_po(buffer, catalog, width=PO_WIDTH, include_previous=True)
    atomic_write_bytes(path, buffer.getvalue())


def messages(catalog: Any) -> Iterator[Any]:
    """The catalogue's live messages (no header, no obsolete ones)."""
    for message in catalog:
        if message.id:
            yield message


def text_of(value: Any) -> str:
    return value[0] if isinstance(value, (tuple, list)) else (value or "")


def catalogues(locale_dir: Path, language: str) -> dict[str, Path]:
    """``{docname: .po path}`` of one language."""
    root = Path(locale_dir) / language / "LC_MESSAGES"
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.po"))}


def source_file(source: Path, docname: str) -> Path | None:
    for suffix in (".ipynb", ".md"):
        if (Path(source) / f"{docname}{suffix}").is_file():
            return Path(source) / f"{docname}{suffix}"
    return None


def qualify_catalogue(path: Path, docname: str, source: Path) -> int:
    """Qualify the local glue references of every translated string of one catalogue; returns how many
    strings changed (the file is rewritten only then)."""
    page = source_file(source, docname)
    if page is None:
        return 0
    catalog = read_po(path)
    changed = 0
    for message in messages(catalog):
        if isinstance(message.string, str) and message.string and (local_glue(message.string)
                                                                    or unformatted_glue(message.string)):
            message.string = qualify_glue(message.string, page.name)
            changed += 1
    if changed:
        write_po(catalog, path)
    return changed


@dataclass
class Coverage:
    language: str
    docname: str
    translated: int
    fuzzy: int
    untranslated: int
    chars: int
    chars_translated: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def percent_chars(self) -> float:
        return 100.0 * self.chars_translated / self.chars if self.chars else 100.0


def coverage(locale_dir: Path, languages: Iterable[str] = TRANSLATIONS) -> list[Coverage]:
    """One :class:`Coverage` per language and page. Fuzzy (changed English) counts as not translated:
    Sphinx shows the English for it."""
    out = []
    for language in languages:
        for docname, path in catalogues(locale_dir, language).items():
            counts = Counter()
            for message in messages(read_po(path)):
                english = len(text_of(message.id))
                counts["chars"] += english
                if message.fuzzy:
                    counts["fuzzy"] += 1
                elif text_of(message.string):
                    counts["translated"] += 1
                    counts["chars_translated"] += english
                else:
                    counts["untranslated"] += 1
            out.append(Coverage(language, docname, counts["translated"], counts["fuzzy"], counts["untranslated"],
                                counts["chars"], counts["chars_translated"]))
    return out


def format_coverage(rows: list[Coverage]) -> str:
    """The coverage table: one line per language and page, then one total line per language."""
    head = f"{'language':<8} {'page':<28} {'translated':>10} {'fuzzy':>6} {'untransl.':>9} {'total':>6} " \
           f"{'msgs %':>7} {'chars %':>7}"
    lines = [head, "-" * len(head)]
    for language in dict.fromkeys(r.language for r in rows):
        mine = [r for r in rows if r.language == language]
        for r in mine:
            lines.append(f"{r.language:<8} {r.docname:<28} {r.translated:>10} {r.fuzzy:>6} {r.untranslated:>9} "
                         f"{r.total:>6} {r.percent:>6.1f}% {r.percent_chars:>6.1f}%")
        total = Coverage(language, "(all pages)", *(sum(getattr(r, f) for r in mine) for f in
                                                  ("translated", "fuzzy", "untranslated", "chars", "chars_translated")))
        lines.append(f"{total.language:<8} {total.docname:<28} {total.translated:>10} {total.fuzzy:>6} "
                     f"{total.untranslated:>9} {total.total:>6} {total.percent:>6.1f}% {total.percent_chars:>6.1f}%")
    return "\n".join(lines)


def pot_files(pot_dir: Path) -> dict[str, Path]:
    return {p.relative_to(pot_dir).with_suffix("").as_posix(): p for p in sorted(Path(pot_dir).rglob("*.pot"))}


def staleness(pot_dir: Path, locale_dir: Path, languages: Iterable[str] = TRANSLATIONS) -> list[str]:
    """Every way a catalogue lags behind the English of the templates in ``pot_dir``, one line each:
    a page with no catalogue, English strings the catalogue lacks (new or changed text), strings marked
    fuzzy (the English changed since it was translated), strings the English no longer has. Empty when
    every catalogue is current (untranslated strings are coverage, not staleness)."""
    problems = []
    templates = pot_files(pot_dir)
    if not templates:
        raise ValueError(f"pot_dir {pot_dir} holds no .pot templates: run python -m tools.i18n extract")
    hint = "run `python -m tools.i18n update`, then translate (locales/README.md)"
    for language in languages:
        have = catalogues(locale_dir, language)
        for docname, pot in templates.items():
            po = have.get(docname)
            if po is None:
                problems.append(f"{language}/{docname}: no catalogue for this page ({hint})")
                continue
            english = {m.id for m in messages(read_po(pot))}
            catalog = read_po(po)
            ids = {m.id for m in messages(catalog)}
            new, gone = english - ids, ids - english
            fuzzy = [m for m in messages(catalog) if m.fuzzy and m.id in english]
            if new:
                problems.append(f"{language}/{docname}: {len(new)} English string(s) not in {po} (new or changed "
                                f"text, e.g. {_short(sorted(map(text_of, new))[0])!r}; {hint})")
            if fuzzy:
                problems.append(f"{language}/{docname}: {len(fuzzy)} fuzzy string(s) in {po}: the English changed "
                                f"since they were translated, e.g. {_short(text_of(fuzzy[0].id))!r}; review them and "
                                f"remove the fuzzy flag")
            if gone:
                problems.append(f"{language}/{docname}: {len(gone)} string(s) in {po} that the English no longer "
                                f"has, e.g. {_short(sorted(map(text_of, gone))[0])!r}; {hint}")
        for docname in sorted(set(have) - set(templates)):
            problems.append(f"{language}/{docname}: catalogue {have[docname]} for a page the book no longer has")
    return problems


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def integrity(locale_dir: Path, languages: Iterable[str] = TRANSLATIONS) -> list[str]:
    """:func:`check_message` over every translated string of every catalogue, one line per problem."""
    out = []
    for language in languages:
        for docname, path in catalogues(locale_dir, language).items():
            for message in messages(read_po(path)):
                string = text_of(message.string)
                if message.fuzzy or not string:
                    continue
                line = message.lineno or 0
                out += [f"{path}:{line}: {problem} (msgid {_short(text_of(message.id))!r})"
                        for problem in check_message(text_of(message.id), string)]
    return out


# ------------------------------------------------------------------------------------------- terminology
TERMS_FILE = Path(LOCALE_DIR) / "terms.tsv"


def read_terms(path: Path) -> list[dict[str, str]]:
    """The translation memory: one ``{en, ru, ru_match, zh_CN, note}`` per term (``locales/terms.tsv``)."""
    rows = [line.split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    head, body = rows[0], rows[1:]
    return [dict(zip(head, row + [""] * (len(head) - len(row)))) for row in body]


def term_matchers(term: dict[str, str], language: str) -> tuple[re.Pattern, re.Pattern]:
    """(English pattern, translation pattern) of one term: the English with an optional plural -s; the
    Russian by its ``ru_match`` (inflections), other languages by their term as written."""
    english = re.compile(r"\b" + re.escape(term["en"]) + r"s?\b", re.I)
    if language == "ru":
        return english, re.compile(term["ru_match"] or re.escape(term["ru"]), re.I)
    return english, re.compile(re.escape(term[language]))


def terminology(locale_dir: Path, terms: list[dict[str, str]], languages: Iterable[str] = TRANSLATIONS) -> list[str]:
    """Translated strings whose English uses a term of the memory and whose translation does not use its
    rendering: candidates to review (a rephrasing may be right, so this reports and does not fail)."""
    out = []
    for language in languages:
        matchers = [(t, *term_matchers(t, language)) for t in terms if t.get(language)]
        for docname, path in catalogues(locale_dir, language).items():
            for message in messages(read_po(path)):
                english, string = text_of(message.id), text_of(message.string)
                if message.fuzzy or not string:
                    continue
                # roles and inline code are not prose: `workflow=augment` is a parameter, not the term
                english_prose = CODE_RE.sub(" ", ROLE_RE.sub(" ", english))
                string_prose = CODE_RE.sub(" ", ROLE_RE.sub(" ", string))
                for term, in_english, in_translation in matchers:
                    if in_english.search(english_prose) and not in_translation.search(string_prose):
                        out.append(f"{language}/{docname}: {term['en']!r} is not rendered as {term[language]!r} in "
                                   f"{_short(string)!r}")
    return out


# ------------------------------------------------------------------------------------------- Sphinx runs
def sphinx_overrides(source: Path, **extra: Any) -> dict[str, Any]:
    """What ``jupyter-book build`` passes to Sphinx besides _config.yml, plus ``extra``."""
    overrides: dict[str, Any] = {"external_toc_path": (Path(source) / "_toc.yml").as_posix(),
                                 "latex_individualpages": False}
    overrides.update(extra)
    return overrides


def run_sphinx(source: Path, outdir: Path, doctreedir: Path, builder: str, overrides: dict[str, Any], *,
               warningiserror: bool, log: Path | None = None) -> int:
    """One Sphinx build of the book with jupyter-book's configuration; warnings to ``log`` when given."""
    import sphinx.locale
    from jupyter_book.sphinx import build_sphinx

    # Sphinx keeps its loaded message catalogues per process and merges new ones into them: a second
    # edition built in the same process would otherwise show the first one's translations.
    sphinx.locale.translators.clear()
    source = Path(source).resolve()
    with contextlib.ExitStack() as stack:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(contextlib.redirect_stderr(stack.enter_context(open(log, "w", encoding="utf-8"))))
        result = build_sphinx(str(source), str(Path(outdir).resolve()), noconfig=True,
                              path_config=str(source / "_config.yml"), confoverrides=overrides,
                              doctreedir=str(Path(doctreedir).resolve()), builder=builder,
                              warningiserror=warningiserror, keep_going=True, quiet=True)
    if isinstance(result, Exception):
        raise result
    return int(result)


def executed_notebooks(source: Path, build_dir: Path | None = None) -> tuple[Path, list[Path], list[Path]]:
    """The execution cache of ``make book`` at this MADLIB_SCALE (under ``build_dir``, default the book's
    ``_build``), the book's notebooks it holds a successful execution of, and those it does not."""
    import nbformat

    from tools import book_guard
    from tools.build_book import book_notebooks, read_config

    source = Path(source).resolve()
    cache_dir = book_guard.cache_path(Path(build_dir) if build_dir is not None else source / "_build", source)
    cached, missing = [], []
    for path in book_notebooks(source, read_config(source)):
        known = cache_dir.is_dir() and book_guard.cached_record(cache_dir, nbformat.read(str(path), as_version=4)) is not None
        (cached if known else missing).append(path)
    return cache_dir, cached, missing


def extract(source: Path, pot_dir: Path | None = None, build_dir: Path | None = None) -> Path:
    """The ``.pot`` templates of the book, without executing a notebook.

    A figure's caption and alt text (a code cell's ``mystnb`` metadata) are on the page only where the cell
    has its image output, so the notebooks that ``make book`` executed at this MADLIB_SCALE are read from
    its execution cache (under ``build_dir``: the book's ``_build``, or the ``--path-output`` of a build
    elsewhere); one that is not in it is read as stored (no outputs: its captions are not extracted, and
    a note says so)."""
    source = Path(source)
    pot_dir = Path(pot_dir) if pot_dir is not None else source / POT_DIR
    cache_dir, _, missing = executed_notebooks(source, build_dir)
    root = source.resolve()
    from myst_nb.core.render import base_render_priority

    # myst-nb has no output priorities for the gettext builder and drops every image output there (with
    # its alt text): it renders the outputs as for the HTML pages the catalogues translate.
    overrides = {"nb_execution_mode": "cache", "nb_execution_cache_path": str(cache_dir),
                 "nb_execution_excludepatterns": [p.relative_to(root).as_posix() for p in missing],
                 "nb_mime_priority_overrides": [("gettext", mime, priority)
                                                for mime, priority in base_render_priority()["html"].items()]}
    if missing:
        print(f"i18n: {len(missing)} notebook(s) not in the execution cache of this MADLIB_SCALE, so their figure "
              f"captions and alt texts are not extracted (run make book first): "
              + ", ".join(p.relative_to(root).as_posix() for p in missing), file=sys.stderr)
    with block_execution():
        status = run_sphinx(source, pot_dir, source / I18N_BUILD / "gettext-doctrees", "gettext",
                            sphinx_overrides(source, **overrides), warningiserror=False,
                            log=source / I18N_BUILD / "gettext.log")
    if status != 0 or not pot_files(pot_dir):
        raise RuntimeError(f"the gettext build failed (status {status}): see {source / I18N_BUILD / 'gettext.log'}")
    return pot_dir


def update(source: Path, languages: Iterable[str] = TRANSLATIONS, pot_dir: Path | None = None) -> list[str]:
    """Extract, ``sphinx-intl update`` every language, qualify the glue in every catalogue.

    Refuses (``RuntimeError``) when a notebook stored without outputs is not in ``make book``'s execution
    cache: its figure captions and alt texts would leave the templates, and sphinx-intl would demote their
    translations to obsolete entries that a later update does not bring back."""
    source = Path(source)
    _, _, missing = executed_notebooks(source)
    bare = [p for p in missing if not any(c.get("outputs") for c in json.loads(p.read_text(encoding="utf-8"))["cells"]
                                          if c.get("cell_type") == "code")]
    if bare:
        raise RuntimeError("not in the execution cache of this MADLIB_SCALE, so their figure captions would be lost: "
                           + ", ".join(p.relative_to(source.resolve()).as_posix() for p in bare)
                           + " (run make book first, at the same MADLIB_SCALE)")
    pot_dir = extract(source, pot_dir)
    languages = list(languages)
    command = [sys.executable, "-m", "sphinx_intl", "update", "-p", str(pot_dir), "-d", str(source / LOCALE_DIR),
               "-w", str(PO_WIDTH)]
    for language in languages:
        command += ["-l", language]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    notes = []
    for language in languages:
        for docname, path in catalogues(source / LOCALE_DIR, language).items():
            drop_untranslated_obsolete(path)
            if (filled := fill_quantities(path, language)):
                notes.append(f"{path}: {filled} quantity string(s) (times, memory) written in {language}")
            if (changed := qualify_catalogue(path, docname, source)):
                notes.append(f"{path}: {changed} string(s) with glue references qualified")
            else:
                normalise_catalogue(path)
    return notes


# A generated table's cells that are only a quantity ("38 min 42 s", "9.3 GiB", "–"): their translation is
# mechanical, so `update` writes it (a new measurement must not leave the editions stale until a translator
# comes by). Units as the editions write them; sizes stay in GiB/MiB.
_QUANTITY = re.compile(r"(?:\d+(?:\.\d+)? (?:h|min|s|GiB|MiB)(?: \d+ (?:min|s))?|–)")
QUANTITY_UNITS = {"ru": {"h": "ч", "min": "мин", "s": "с"}, "zh_CN": {"h": "小时", "min": "分", "s": "秒"}}


def translate_quantity(text: str, language: str) -> str | None:
    """``text`` in ``language`` when it is only a quantity (``"7 h 14 min"`` -> ``"7 ч 14 мин"``), else None."""
    units = QUANTITY_UNITS.get(language)
    if units is None or not _QUANTITY.fullmatch(text):
        return None
    return re.sub(r"(?<=\d )(h|min|s)\b", lambda m: units[m.group(1)], text)


def fill_quantities(path: Path, language: str) -> int:
    """Write the translation of every untranslated or fuzzy message of ``path`` that is only a quantity;
    returns how many it wrote."""
    catalog = read_po(path)
    written = 0
    for message in messages(catalog):
        if message.string and not message.fuzzy:
            continue
        if (text := translate_quantity(text_of(message.id), language)) is not None:
            message.string = text
            message.flags.discard("fuzzy")
            message.previous_id = ()
            written += 1
    if written:
        write_po(catalog, path)
    return written


def drop_untranslated_obsolete(path: Path) -> int:
    """Remove the obsolete entries (``#~``, English the book no longer has) that carry no translation: nothing
    to revive, only noise in the catalogue's diff. Returns how many went."""
    catalog = read_po(path)
    empty = [key for key, message in catalog.obsolete.items() if not message.string]
    for key in empty:
        del catalog.obsolete[key]
    if empty:
        write_po(catalog, path)
    return len(empty)


def normalise_catalogue(path: Path) -> bool:
    """Rewrite a catalogue through :func:`write_po` when sphinx-intl left a guessed ``python-format`` flag in
    it; returns whether it changed."""
    text = path.read_text(encoding="utf-8")
    if "python-format" not in text.replace("no-python-format", ""):
        return False
    write_po(read_po(path), path)
    return True


def block_execution() -> contextlib.AbstractContextManager:
    """While active, myst-nb raises instead of executing a notebook (a translated edition renders only
    what ``make book`` executed)."""
    from unittest import mock

    def refuse(notebook: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a translated edition never executes a notebook: one was not in the execution "
                           "cache (run make book first, at the same MADLIB_SCALE)")

    return mock.patch("myst_nb.core.execute.cache.single_nb_execution", refuse)


def build(source: Path, languages: Iterable[str] = TRANSLATIONS, *, english: bool = True) -> list[Path]:
    """Render the English edition (again, with the switcher) and each translation from the execution cache
    of ``make book``; returns the html folders."""
    source = Path(source).resolve()
    cache_dir, _, missing = executed_notebooks(source)
    if missing:
        raise RuntimeError("no execution in the cache of this MADLIB_SCALE for "
                           + ", ".join(p.relative_to(source).as_posix() for p in missing) + ": run make book first")
    shared = {"nb_execution_mode": "cache", "nb_execution_cache_path": str(cache_dir),
              "course_languages": EDITIONS}
    out = []
    todo = (["en"] if english else []) + list(languages)
    with block_execution():
        for code in todo:
            if code == "en":
                outdir, doctrees, extra = source / "_build" / "html", source / "_build" / ".doctrees", {}
            else:
                outdir, doctrees, extra = (source / I18N_BUILD / code / "html",
                                           source / I18N_BUILD / code / ".doctrees", {"language": code})
            started = time.perf_counter()
            status = run_sphinx(source, outdir, doctrees, "html", sphinx_overrides(source, **shared, **extra),
                                warningiserror=True, log=source / I18N_BUILD / f"{code}.log")
            seconds = time.perf_counter() - started
            if status != 0:
                raise RuntimeError(f"the {code} edition failed (status {status}): see {source / I18N_BUILD / f'{code}.log'}")
            if code != "en":  # rendered beside its own jupyter_execute, published inside the English site
                site = source / "_build" / "html" / code
                shutil.rmtree(site, ignore_errors=True)
                shutil.copytree(outdir, site)
                outdir = site
            print(f"  {code:<6} rendered in {seconds:.0f} s: {outdir / 'index.html'}", flush=True)
            out.append(outdir)
    return out


# ------------------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "update", "stats", "check", "terms", "build"])
    parser.add_argument("--source", default=".", help="the book's folder (default: .)")
    parser.add_argument("-l", "--language", action="append", help="a language (default: ru and zh_CN)")
    parser.add_argument("--json", action="store_true", help="stats: JSON instead of the table")
    parser.add_argument("--integrity-only", action="store_true", help="check: skip the staleness check")
    args = parser.parse_args(argv)
    source = Path(args.source)
    languages = args.language or list(TRANSLATIONS)
    locale_dir = source / LOCALE_DIR
    if args.command == "extract":
        print(f"templates in {extract(source)}")
    elif args.command == "update":
        try:
            notes = update(source, languages)
        except RuntimeError as exc:
            print(f"i18n-update: {exc}", file=sys.stderr)
            return 1
        for note in notes:
            print(note)
        print(format_coverage(coverage(locale_dir, languages)))
    elif args.command == "stats":
        rows = coverage(locale_dir, languages)
        if args.json:
            print(json.dumps([{**r.__dict__, "total": r.total, "percent": round(r.percent, 1),
                               "percent_chars": round(r.percent_chars, 1)} for r in rows], indent=1, ensure_ascii=False))
        else:
            print(format_coverage(rows))
    elif args.command == "check":
        problems = integrity(locale_dir, languages)
        if not args.integrity_only:
            problems += staleness(extract(source), locale_dir, languages)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "translations: current and intact")
        return 1 if problems else 0
    elif args.command == "terms":
        notes = terminology(locale_dir, read_terms(source / TERMS_FILE), languages)
        print("\n".join(notes) if notes else "every translated string uses the terms of locales/terms.tsv")
    elif args.command == "build":
        try:
            build(source, languages)
        except RuntimeError as exc:
            print(f"book-all: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
