"""The reader's notebooks: every chapter as a plain, executed notebook for Colab, Binder and any Jupyter.

``make notebooks`` (after ``make book``) runs ``python -m tools.plain_notebooks``. The chapters'
sources are MyST notebooks: JupyterLab, Colab and GitHub show their roles and directives as raw
text, with ``{glue:text}`` holes where the numbers should be. This writes ``notebooks/NN_key.ipynb``,
which the site's Colab and Binder buttons open (``_ext/launch_links.py``):

1. The executed chapters of the last book build (``_build/jupyter_execute/chapters``, with the glued
   values of ``*.glue.json`` put back as outputs) are converted by **sphinx-tojupyter**
   (``--builder custom --custom-builder jupyter``, notebooks not executed again): the numbers
   are filled in as text, admonitions, exercises and math become plain Markdown, citations become
   text with a link to the chapter's reference list.
2. What sphinx-tojupyter leaves is finished here: the build's outputs go back into their code
   cells (the reader sees every figure before running anything), each figure gets its number and
   caption below it, admonition titles stop being headings, exercise headings are repaired and
   **every solution moves to a "Solutions" section at the end** (a "Run all" then never overwrites
   the reader's own answer before they try), local images are embedded as attachments (the loop
   picture), links to other pages of the book go to the site, and the first cell is the install
   cell (``_ext/install_cell.py``: the release tag, never a branch).
3. Each notebook records in its metadata the hash of its source chapter, the release and the scale
   of the build. ``python -m tools.plain_notebooks --check`` (``tests/test_plain_notebooks.py``) fails
   when a chapter changed after its plain notebook was made, or a notebook holds MyST syntax or an
   image that does not resolve.

The build that fills in the numbers should be the book's own (``MADLIB_SCALE=default``): the
numbers in a reader's notebook are then the site's.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"
BUILD = ROOT / "_build"
META_KEY = "madlib_plain"
PAPERMILL_PREFIX = "application/papermill.record/"

# MyST that must not survive in a plain notebook (checked in Markdown cells only).
MYST_LEFTOVERS = (
    (re.compile(r"\{(?:glue|glue:text|glue:figure|cite|cite:t|cite:p|ref|numref|term|doc|eq|math|eval)\}`"), "a MyST role"),
    (re.compile(r"(?m)^\s*(?::::+|```+)\s*\{[\w:-]+\}"), "a MyST directive"),
    (re.compile(r"(?m)^\s*:::+\s*$"), "a closing ::: fence"),
    (re.compile(r"(?m)^\([\w:-]+\)=\s*$"), "a MyST label line"),
    (re.compile(r"(?m)^:(?:class|label|name|filter|alt|figclass|width|tags):"), "a directive option"),
)
IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


# -- small helpers ---------------------------------------------------------------------------------

def source_hash(path: Path) -> str:
    """sha256 of a chapter source's cells (sources and metadata, not outputs or notebook metadata)."""
    cells = json.loads(path.read_text())["cells"]
    keep = [{k: c.get(k) for k in ("cell_type", "id", "source", "metadata")} for c in cells]
    return hashlib.sha256(json.dumps(keep, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _set(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def _md(text: str, **metadata: Any) -> dict:
    cell = {"cell_type": "markdown", "metadata": dict(metadata), "source": []}
    _set(cell, text)
    return cell


def _norm(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def _release() -> dict[str, str]:
    namespace: dict[str, Any] = {}
    exec((ROOT / "madlib" / "_version.py").read_text(), namespace)  # noqa: S102 - our own constants
    return {"version": namespace["__version__"], "tag": namespace["RELEASE_TAG"]}


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def site_url() -> str:
    url = (_config().get("html") or {}).get("baseurl") or ""
    return url if url.endswith("/") or not url else url + "/"


def chapter_numbers() -> dict[str, int]:
    """Chapter stem -> its number in the numbered part of _toc.yml (1, 2, ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbers = {}
    for part in toc.get("parts", []):
        if part.get("numbered"):
            for i, chapter in enumerate(part.get("chapters", []), 1):
                numbers[Path(chapter["file"]).name] = i
    return numbers


# -- step 1: sphinx-tojupyter on the executed chapters ---------------------------------------------

def _with_glue(executed: Path) -> dict:
    """An executed chapter with its glued values as outputs again (myst-nb moved them to .glue.json)."""
    nb = json.loads(executed.read_text())
    glue_file = executed.with_suffix(".glue.json")
    if glue_file.is_file():
        outputs = []
        for name, output in json.loads(glue_file.read_text()).items():
            output = copy.deepcopy(output)
            prefix = output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", PAPERMILL_PREFIX)
            output["data"] = {prefix + k: v for k, v in output.get("data", {}).items()}
            outputs.append(output)
        first = next(c for c in nb["cells"] if c["cell_type"] == "code")
        first["outputs"] = list(first.get("outputs", [])) + outputs
    return nb


def prepare_source(executed_dir: Path, work: Path, extensions: list[str], settings: dict,
                   book: dict | None = None) -> Path:
    """A copy of the book (symbolic links) in ``work/src`` whose chapters are their executed copies
    (glued values back as outputs), with a config that does not execute them again, adds
    ``extensions`` and sets ``settings`` (Sphinx config); returns the source folder."""
    src = work / "src"
    src.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in ("chapters", "_build", "notebooks", ".git") or entry.name.startswith(".test_config"):
            continue
        (src / entry.name).symlink_to(entry)
    (src / "chapters").mkdir()
    for executed in sorted(executed_dir.glob("*.ipynb")):
        (src / "chapters" / executed.name).write_text(json.dumps(_with_glue(executed), ensure_ascii=False))
    config = _config()
    config["execute"]["execute_notebooks"] = "off"
    sphinx = config.setdefault("sphinx", {})
    sphinx["extra_extensions"] = list(sphinx.get("extra_extensions", [])) + list(extensions)
    sphinx.setdefault("config", {}).update(settings)
    config.update(book or {})
    (src / "_config_derived.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return src


def run_book(src: Path, out: Path, *builder: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``jupyter-book build`` of a prepared source into ``out`` with the given builder options."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(jupyter_book), "build", str(src), "--config", str(src / "_config_derived.yml"),
                           "--path-output", str(out), *builder], cwd=src, capture_output=True, text=True,
                          timeout=timeout)


def run_tojupyter(executed_dir: Path, work: Path) -> Path:
    """Convert the book (chapters replaced by their executed copies) with sphinx-tojupyter; returns
    the folder of the written notebooks."""
    src = prepare_source(executed_dir, work, ["sphinx_tojupyter"], {
        # myst-nb labels code cells ipython3; without this every code cell becomes Markdown (silently).
        "tojupyter_lang_synonyms": ["ipython", "ipython3", "python"],
        "tojupyter_drop_solutions": False,
    })
    done = run_book(src, work / "out", "--builder", "custom", "--custom-builder", "jupyter")
    out = work / "out" / "_build" / "jupyter" / "chapters"
    if done.returncode != 0 or not out.is_dir():
        raise RuntimeError("sphinx-tojupyter failed:\n" + (done.stdout + done.stderr)[-4000:])
    return out


# -- step 2: finish each notebook ------------------------------------------------------------------

def attach_outputs(cells: list[dict], executed: dict) -> int:
    """Copy each executed code cell's outputs into the converted cell with the same code; returns
    how many code cells found theirs. Glue records and stderr are left out."""
    pool: dict[str, list[dict]] = {}
    for cell in executed["cells"]:
        if cell["cell_type"] == "code":
            pool.setdefault(_norm(_text(cell)), []).append(cell)
    found = 0
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        match = pool.get(_norm(_text(cell)))
        cell["metadata"] = {}
        cell["execution_count"] = None
        cell["outputs"] = []
        if not match:
            continue
        origin = match.pop(0)
        found += 1
        cell["metadata"] = {k: v for k, v in origin.get("metadata", {}).items() if k in ("mystnb", "tags")}
        cell["execution_count"] = origin.get("execution_count")
        for output in origin.get("outputs", []):
            data = output.get("data", {})
            if any(k.startswith(PAPERMILL_PREFIX) for k in data) or output.get("name") == "stderr":
                continue
            cell["outputs"].append(output)
    return found


def _heading(line: str) -> tuple[int, str] | None:
    m = re.match(r"^(#{1,6})\s+(.*?)\s*$", line)
    return (len(m.group(1)), m.group(2)) if m else None


def fix_exercises_and_admonitions(cells: list[dict], real_headings: set[str]) -> None:
    """Exercise headings as "### Exercise 1.2: title", solution headings repaired, and admonition
    titles (which sphinx-tojupyter writes as headings) as bold lines."""
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        lines = _text(cell).split("\n")
        for i, line in enumerate(lines):
            parsed = _heading(line)
            if not parsed:
                continue
            level, title = parsed
            exercise = re.fullmatch(r"\((.*)\)\s*Exercise\s+([\d.]+)", title)
            solution = re.fullmatch(r"Solution to\s*\[\s*Exercise\s+([\d.]+)\s*(?:\((.*)\))?\s*\]\(#[^)]*\)", title)
            if exercise:
                lines[i] = f"### Exercise {exercise.group(2)}: {exercise.group(1).strip()}"
            elif re.fullmatch(r"Exercise\s+[\d.]+.*", title):
                lines[i] = f"### {title}"
            elif solution:
                name = f": {solution.group(2).strip()}" if solution.group(2) else ""
                lines[i] = f"### Solution to exercise {solution.group(1)}{name}"
            elif _plain_title(title) not in real_headings:
                lines[i] = f"**{title}**"
        _set(cell, "\n".join(lines))


def _plain_title(title: str) -> str:
    """A heading's words without a section number or Markdown emphasis, for comparison."""
    title = re.sub(r"^[\d.]+\s+", "", title)
    title = re.sub(r"[`*_“”\"’']", "", title)
    return " ".join(title.split()).lower()


def split_at_headings(cells: list[dict]) -> list[dict]:
    """Markdown cells split before every heading (sphinx-tojupyter merges consecutive blocks, so an
    exercise, its solution and the next section can share one cell)."""
    out = []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            out.append(cell)
            continue
        parts = [p for p in re.split(r"(?m)^(?=#{1,6} )", _text(cell)) if p.strip()]
        if len(parts) <= 1:
            out.append(cell)
            continue
        for part in parts:
            new = _md(part.rstrip("\n") + "\n")
            if cell.get("attachments"):
                new["attachments"] = cell["attachments"]
            out.append(new)
    return out


def number_headings(cells: list[dict], chapter: int | None) -> None:
    """Section numbers as on the site: "# 3. Title", "## 3.2 Section" (the sources carry none)."""
    if not chapter:
        return
    section = 0
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        lines = _text(cell).split("\n")
        for i, line in enumerate(lines):
            parsed = _heading(line)
            if not parsed or parsed[0] > 2 or re.match(r"^\d", parsed[1]):
                continue
            if parsed[0] == 1:
                lines[i] = f"# {chapter}. {parsed[1]}"
            else:
                section += 1
                lines[i] = f"## {chapter}.{section} {parsed[1]}"
        _set(cell, "\n".join(lines))


def move_solutions_to_the_end(cells: list[dict]) -> list[dict]:
    """Cut every solution (its heading cell up to the next exercise, section or solution) and append
    them under "## Solutions" at the end, before the references."""
    body, solutions, in_solution = [], [], False
    for cell in cells:
        text = _text(cell)
        first = next((line for line in text.split("\n") if line.strip()), "")
        if cell["cell_type"] == "markdown" and first.startswith("### Solution to exercise"):
            in_solution = True
            # A solution cell may run on into the next section: split it there.
            parts = re.split(r"(?m)^(?=#{1,3} (?!Solution to exercise))", text)
            solutions.append(_md(parts[0].rstrip() + "\n"))
            if len(parts) > 1:
                in_solution = False
                body.append(_md("".join(parts[1:])))
            continue
        if in_solution and (cell["cell_type"] == "code" or not re.match(r"#{1,3} ", first)):
            solutions.append(cell)
            continue
        in_solution = False
        body.append(cell)
    if not solutions:
        return body
    refs = next((i for i, c in enumerate(body) if c["cell_type"] == "markdown"
                 and re.match(r"#{1,3} References", _text(c).lstrip())), len(body))
    note = _md("## Solutions\n\nThe solutions to the exercises, kept apart so that running the notebook from the "
               "top does not fill in your answers for you.\n")
    return body[:refs] + [note] + solutions + body[refs:]


def figure_directives(source: Path) -> dict[str, str]:
    """Image file name -> alt text of the ``{figure}`` directives in a chapter's Markdown."""
    found = {}
    for cell in json.loads(source.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for path, options in re.findall(r"(?m)^(?::::|```)\{figure\}\s+(\S+)\n((?::\w+:.*\n)*)", _text(cell)):
                alt = re.search(r"(?m)^:alt:\s*(.*)$", options)
                found[Path(path).name] = alt.group(1).strip() if alt else ""
    return found


def add_figure_captions(cells: list[dict], chapter: int | None, directives: dict[str, str] | None = None) -> int:
    """A caption cell below each figure cell ("**Figure 3.2** caption"), numbered in order with the
    chapter's figure directives (whose caption paragraph gets the number); returns the count."""
    out, number = [], 0
    directives = directives or {}
    for cell in list(cells):
        if cell["cell_type"] == "markdown":
            text = _text(cell)
            match = next((m for m in IMAGE_RE.finditer(text) if Path(m.group(2)).name in directives), None)
            if match:
                number += 1
                label = f"{chapter}.{number}" if chapter else str(number)
                name = Path(match.group(2)).name
                image = f"![{directives[name] or 'Figure'}]({match.group(2)})"
                rest = text[match.end():].lstrip("\n")
                _set(cell, text[:match.start()] + image + "\n\n" + f"**Figure {label}.** " + rest)
        out.append(cell)
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell["cell_type"] == "code" else None
        if figure and any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            number += 1
            label = f"{chapter}.{number}" if chapter else str(number)
            out.append(_md(f"**Figure {label}.** {figure['caption']}\n"))
    cells[:] = out
    return number


def embed_images(cells: list[dict], base: Path) -> None:
    """Markdown images with a local path become cell attachments (Colab and Jupyter show those)."""
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = _text(cell)

        def repl(match: re.Match) -> str:
            alt, path = match.group(1), match.group(2)
            if re.match(r"^(https?:|data:|attachment:)", path):
                return match.group(0)
            candidates = [base / path, ROOT / path.lstrip("./"), ROOT / "_static" / Path(path).name]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                return match.group(0)
            mime = mimetypes.guess_type(found.name)[0] or "image/png"
            cell.setdefault("attachments", {})[found.name] = {mime: base64.b64encode(found.read_bytes()).decode()}
            if not alt or alt == path:
                alt = "Figure"
            alt = alt.replace("[", "(").replace("]", ")")
            return f"![{alt}](attachment:{found.name})"

        _set(cell, IMAGE_RE.sub(repl, text))


def fix_links(cells: list[dict], siblings: set[str], site: str) -> None:
    """Links to another page of the book: a sibling plain notebook stays relative; any other page goes
    to the site (``html.baseurl``)."""
    def repl(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        m = re.match(r"^(\.\./)?([\w./-]+)\.ipynb(#.*)?$", target)
        if not m:
            return match.group(0)
        up, page, anchor = m.group(1), m.group(2), m.group(3) or ""
        if not up and page in siblings:
            return f"[{text}]({page}.ipynb{anchor})"
        page = page if up else f"chapters/{page}"
        return f"[{text}]({site}{page}.html{anchor})" if site else text
    for cell in cells:
        if cell["cell_type"] == "markdown":
            _set(cell, re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", repl, _text(cell)))


def header_cell(title: str, release: dict[str, str], scale: str, site: str, stem: str) -> dict:
    page = f"{site}chapters/{stem}.html" if site else "the course site"
    return _md(
        f"*A reader's copy of this chapter of* Model Collapse, Hands-On, *made from the book's source for release "
        f"{release['tag']}. It shows the figures and numbers of the book's build (`MADLIB_SCALE={scale}`); run the "
        f"first cell to install the course library, then any cell. The solutions are at the end. The chapter "
        f"on the site: {page}.*\n", tags=["reader-note"])


def finish(converted: dict, executed: dict, source: Path, *, chapter: int | None, release: dict[str, str],
           scale: str, siblings: set[str], site: str) -> dict:
    """The reader's notebook from sphinx-tojupyter's conversion and the executed chapter."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import install_cell
    finally:
        sys.path.pop(0)
    cells = [c for c in converted["cells"] if _text(c).strip()]
    attach_outputs(cells, executed)
    real_headings = {_plain_title(h[1]) for c in json.loads(source.read_text())["cells"] if c["cell_type"] == "markdown"
                     for h in map(_heading, _text(c).split("\n")) if h}
    real_headings |= {"exercises", "summary", "references", "solutions"}
    fix_exercises_and_admonitions(cells, real_headings)
    cells = split_at_headings(cells)
    cells = move_solutions_to_the_end(cells)
    number_headings(cells, chapter)
    add_figure_captions(cells, chapter, figure_directives(source))
    embed_images(cells, source.parent)
    fix_links(cells, siblings, site)
    title = next((h[1] for c in cells if c["cell_type"] == "markdown" for h in map(_heading, _text(c).split("\n"))
                  if h and h[0] == 1), source.stem)
    install = install_cell.cell()
    install["metadata"] = {}
    cells = [header_cell(title, release, scale, site, source.stem), install] + cells
    for i, cell in enumerate(cells):
        cell["id"] = cell.get("id") if cell.get("id") == "install-madlib" else f"c{i:03d}"
        cell.setdefault("metadata", {})
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        META_KEY: {"source": f"chapters/{source.name}", "source_sha256": source_hash(source),
                   "release": release["tag"], "scale": scale,
                   "made_by": "python -m tools.plain_notebooks (sphinx-tojupyter, then this script)"},
    }
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


# -- checks ---------------------------------------------------------------------------------------

def problems(notebook: dict, where: str) -> list[str]:
    """MyST left in Markdown cells, images that do not resolve, and a missing install cell."""
    found = []
    for i, cell in enumerate(notebook.get("cells", [])):
        if cell["cell_type"] != "markdown":
            continue
        text = _text(cell)
        for pattern, what in MYST_LEFTOVERS:
            match = pattern.search(text)
            if match:
                found.append(f"{where} cell {i}: {what}: {text[max(match.start() - 30, 0):match.end() + 30]!r}")
        for alt, target in IMAGE_RE.findall(text):
            if target.startswith("attachment:"):
                if target.split(":", 1)[1] not in cell.get("attachments", {}):
                    found.append(f"{where} cell {i}: image {target} has no attachment")
            elif not re.match(r"^(https?:|data:)", target):
                found.append(f"{where} cell {i}: image {target} is a local path a plain notebook cannot resolve")
    cells = notebook.get("cells", [])
    if len(cells) < 2 or "install-madlib" != cells[1].get("id"):
        found.append(f"{where}: the second cell is not the install cell")
    return found


def check(out: Path = OUT, chapters: Iterable[Path] | None = None) -> list[str]:
    """Every chapter has a current plain notebook without MyST syntax or broken images."""
    found = []
    for source in sorted(chapters or (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        plain = out / source.name
        if not plain.is_file():
            found.append(f"{plain.relative_to(ROOT)} is missing (make notebooks)")
            continue
        notebook = json.loads(plain.read_text())
        meta = notebook.get("metadata", {}).get(META_KEY, {})
        if meta.get("source_sha256") != source_hash(source):
            found.append(f"{plain.relative_to(ROOT)} is stale: {source.relative_to(ROOT)} changed since it was made "
                         "(make book, then make notebooks)")
        if meta.get("release") != _release()["tag"]:
            found.append(f"{plain.relative_to(ROOT)} names release {meta.get('release')}, not {_release()['tag']}")
        found += problems(notebook, str(plain.relative_to(ROOT)))
    return found


def _with_cached_outputs(executed_dir: Path, build: Path, tmp: Path) -> Path:
    """A copy of the build's executed chapters in which a chapter that myst-nb wrote without outputs (a page
    Sphinx did not re-read writes none) gets them from the build's execution cache (jupyter-cache), glued
    values left to its ``.glue.json``. Refuses when the cache has no execution of that chapter."""
    import nbformat
    from jupyter_cache import get_cache

    from tools import book_guard

    out = tmp / "chapters"
    shutil.copytree(executed_dir, out)
    cache = None
    for path in sorted(out.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        if any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"):
            continue
        cache = cache or get_cache(str(book_guard.cache_path(build, ROOT)))
        try:
            _, merged = cache.merge_match_into_notebook(nbformat.reads(path.read_text(), as_version=4))
        except KeyError as error:
            raise RuntimeError(f"{path.name}: no execution in the book's cache: run make book again") from error
        merged = json.loads(nbformat.writes(merged))
        for cell in merged["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"] = [o for o in cell.get("outputs", [])
                                   if not any(k.startswith(PAPERMILL_PREFIX) for k in o.get("data", {}))]
        path.write_text(json.dumps(merged, indent=1, ensure_ascii=False))
    return out


# -- main -----------------------------------------------------------------------------------------

def make(build: Path = BUILD, out: Path = OUT, scale: str | None = None) -> list[Path]:
    """Write ``out/NN_key.ipynb`` for every chapter executed in ``build``; returns the files written."""
    from madlib.core.cache import atomic_write_text

    executed_dir = build / "jupyter_execute" / "chapters"
    sources = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    missing = [s.name for s in sources if not (executed_dir / s.name).is_file()]
    if missing:
        raise FileNotFoundError(f"no executed copy of {missing} under {executed_dir}: run make book first")
    executed_dir = _with_cached_outputs(executed_dir, build, Path(tempfile.mkdtemp(prefix="executed-")))
    for source in sources:
        executed = json.loads((executed_dir / source.name).read_text())
        got = [_norm(_text(c)) for c in executed["cells"]]
        want = [_norm(_text(c)) for c in json.loads(source.read_text())["cells"]]
        if got != want:
            raise RuntimeError(f"{executed_dir / source.name} was built from another version of {source.name}: "
                               "run make book again")
    scale = scale or os.environ.get("MADLIB_SCALE", "default")
    release, site, numbers = _release(), site_url(), chapter_numbers()
    siblings = {s.stem for s in sources}
    written = []
    with tempfile.TemporaryDirectory(prefix="plain-notebooks-") as tmp:
        converted_dir = run_tojupyter(executed_dir, Path(tmp))
        for source in sources:
            converted = json.loads((converted_dir / source.name).read_text())
            executed = json.loads((executed_dir / source.name).read_text())
            notebook = finish(converted, executed, source, chapter=numbers.get(source.stem), release=release,
                              scale=scale, siblings=siblings, site=site)
            issues = problems(notebook, source.name)
            if issues:
                raise RuntimeError("the plain notebook still has problems:\n" + "\n".join(issues[:20]))
            target = out / source.name
            atomic_write_text(target, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plain_notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=BUILD, help="the book build's _build folder (default: _build)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the notebooks go (default: notebooks/)")
    parser.add_argument("--scale", default=None, help="the scale the build ran at (default: $MADLIB_SCALE or default)")
    parser.add_argument("--check", action="store_true", help="only check the notebooks in --out")
    args = parser.parse_args(argv)
    if args.check:
        found = check(args.out)
        print("\n".join(found) if found else f"{args.out}: every chapter's plain notebook is current and clean")
        return 1 if found else 0
    for path in make(args.build, args.out, args.scale):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
