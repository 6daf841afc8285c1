"""Never publish a failed chapter as a success, and nothing private: a Sphinx extension and the build's checks.

The book executes its notebooks through jupyter-cache (``execute_notebooks: cache``): a notebook whose code
cells did not change is rendered from its cached outputs. Three things go wrong with that alone, and this
module fixes them.

* **Stale outputs.** jupyter-cache matches a notebook by its code cells only, so a chapter would keep the
  outputs of another ``MADLIB_SCALE`` or of an older ``madlib``. :func:`context_key` digests everything
  outside the notebook that decides its outputs (the scale, the source and data files of the installed
  ``madlib``, ``requirements.txt``), and the execution cache lives in ``_build/.jupyter_cache/<key>``: a
  change of any of them executes every chapter again (the experiment cache still answers what it can).
* **A failure that turns into a success.** Sphinx re-reads only documents whose source changed, so a
  notebook that failed kept its broken page on the next build and the build said "succeeded". On
  ``env-get-outdated`` every notebook whose last execution failed, or whose cached execution is not the
  one its page was rendered from, is read (and so executed) again; on ``build-finished`` every notebook
  page whose execution failed is reported as an error, on every build.
* **Private files in the site.** myst-nb writes a failed notebook's traceback to ``<html>/reports/*.err.log``
  (with the build machine's paths); ``build-finished`` moves that folder to ``_build/logs/reports``, outside
  the published folder.

``tools/build_book.py`` (``make book``) uses the same functions before and after Sphinx: it executes the
chapters into the cache in parallel, then checks the built site with :func:`check_site`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Iterable

CACHE_FOLDER = ".jupyter_cache"
LOG_FOLDER = "logs"
KEEP_CONTEXTS = 3  # execution caches of other contexts kept (the newest), e.g. smoke and default side by side
# Files of the madlib package whose change may change a chapter's outputs.
PACKAGE_SUFFIXES = (".py", ".txt", ".json", ".safetensors", ".csv", ".npz", ".gz")
RAISES_TAG = "raises-exception"  # a cell allowed to raise (myst-nb's tag): its traceback is content


def package_fingerprint(package: str = "madlib") -> dict[str, str]:
    """SHA-256 of every source and data file of the installed ``package`` (relative path -> digest)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations)))
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in PACKAGE_SUFFIXES and "__pycache__" not in path.parts:
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def context_key(source: str | os.PathLike[str]) -> str:
    """A digest of what decides a chapter's outputs besides its code cells: ``MADLIB_SCALE``, the
    ``madlib`` package's files, and ``requirements.txt`` of the book's folder (``source``)."""
    requirements = Path(source) / "requirements.txt"
    blob = json.dumps({"scale": (os.environ.get("MADLIB_SCALE", "default").strip().lower() or "default"),
                       "madlib": package_fingerprint(),
                       "requirements": requirements.read_text() if requirements.is_file() else None,
                       "python": sys.version_info[:2]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(build_dir: str | os.PathLike[str], source: str | os.PathLike[str]) -> Path:
    """The execution cache of this context: ``<build_dir>/.jupyter_cache/<context_key>``."""
    return Path(build_dir) / CACHE_FOLDER / context_key(source)


def prune_caches(current: Path, keep: int = KEEP_CONTEXTS) -> list[Path]:
    """Remove the execution caches of older contexts beside ``current``, keeping the ``keep`` newest."""
    parent = current.parent
    if not parent.is_dir():
        return []
    others = sorted((p for p in parent.iterdir() if p.is_dir() and p != current and (p / "global.db").exists()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for old in others[max(keep - 1, 0):]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def cached_record(cache_dir: str | os.PathLike[str], notebook: Any) -> int | None:
    """The jupyter-cache record id of a successful execution of ``notebook`` (its code cells), or None."""
    from jupyter_cache import get_cache

    try:
        return int(get_cache(str(cache_dir)).match_cache_notebook(notebook).pk)
    except KeyError:
        return None


# ----------------------------------------------------------------------------- after the build

@dataclass(frozen=True)
class Problem:
    """One thing wrong with a built site: the page (or file) and what."""

    where: str
    what: str

    def line(self) -> str:
        return f"  {self.where}: {self.what}"


def first_error(notebook: Any) -> tuple[int, str] | None:
    """``(cell index, "ErrorName: message")`` of the first error output of a cell not tagged
    ``raises-exception``, or None."""
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code" or RAISES_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def cell_label(notebook: Any, index: int) -> str:
    """``cell 6 (`first line of its code`)``: how a report names a cell (its index in the .ipynb, from 0)."""
    cells = notebook.get("cells", [])
    source = cells[index].get("source", "") if 0 <= index < len(cells) else ""
    source = "".join(source) if isinstance(source, list) else source
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if len(first) > 70:
        first = first[:67] + "..."
    return f"cell {index}" + (f" (`{first}`)" if first else "")


def private_strings(source: str | os.PathLike[str], extra: Iterable[str] = ()) -> list[str]:
    """Absolute local paths that must not appear in the site: the book's folder, the home folder, the
    Python environment, the experiment cache (``MADLIB_CACHE``) and ``extra``."""
    candidates = [str(Path(source).resolve()), os.path.expanduser("~"), sys.prefix, os.environ.get("MADLIB_CACHE", ""),
                  *extra]
    return sorted({c.rstrip("/") for c in candidates if c and len(c.rstrip("/")) > 4})


def check_site(html_dir: str | os.PathLike[str], source: str | os.PathLike[str], *,
               executed_dir: str | os.PathLike[str] | None = None, private: Iterable[str] = ()) -> list[Problem]:
    """Problems of a built site: error logs or tracebacks published under ``html_dir``, an absolute local
    path (:func:`private_strings`) in any published text file, and an error output in any executed
    notebook under ``executed_dir`` (myst-nb's ``_build/jupyter_execute``), named by page and cell."""
    import nbformat

    html_dir = Path(html_dir)
    problems: list[Problem] = []
    needles = private_strings(source, private)
    traceback = re.compile(r"Traceback \(most recent call last\)|\.err\.log")
    for path in sorted(html_dir.rglob("*")) if html_dir.is_dir() else []:
        if not path.is_file():
            continue
        where = path.relative_to(html_dir).as_posix()
        if path.name.endswith(".err.log"):
            problems.append(Problem(where, "an execution error log is published"))
            continue
        if path.suffix not in (".html", ".txt", ".ipynb", ".json", ".js", ".md", ".log", ".xml"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in needles:
            if needle in text:
                problems.append(Problem(where, f"contains the local path {needle}"))
                break
        if path.suffix in (".html", ".ipynb", ".txt") and traceback.search(text):
            problems.append(Problem(where, "contains a Python traceback"))
    if executed_dir is not None and Path(executed_dir).is_dir():
        for path in sorted(Path(executed_dir).rglob("*.ipynb")):
            notebook = nbformat.read(str(path), as_version=4)
            found = first_error(notebook)
            if found is not None:
                index, error = found
                where = path.relative_to(executed_dir).as_posix()
                problems.append(Problem(where, f"{cell_label(notebook, index)} raised {error}"))
    return problems


# ----------------------------------------------------------------------------- the Sphinx extension

def _exec_mode(app: Any) -> str:
    return str(getattr(app.config, "nb_execution_mode", "") or "")


def _on_config_inited(app: Any, config: Any) -> None:
    """In cache mode with no cache path set: the cache of this context under ``_build/.jupyter_cache``.
    Kernels started by this build see ``MADLIB_BOOK_BUILD=1`` (chapters then keep progress bars off the page)."""
    os.environ.setdefault("MADLIB_BOOK_BUILD", "1")
    if getattr(config, "nb_execution_mode", None) == "cache" and not getattr(config, "nb_execution_cache_path", None):
        path = cache_path(Path(app.outdir).parent, app.srcdir)
        config.nb_execution_cache_path = str(path)
        prune_caches(path)


def _records(env: Any) -> dict[str, Any]:
    if not hasattr(env, "madlib_exec_records"):
        env.madlib_exec_records = {}
    return env.madlib_exec_records


def _current_record(app: Any, docname: str) -> tuple[str, int | None] | None:
    """What a notebook page would be rendered from now: (cache path, record id or None); None when the
    document is not a notebook."""
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".ipynb" or not path.is_file():
        return None
    if _exec_mode(app) != "cache":
        return ("", None)
    import nbformat

    cache = str(app.env.mystnb_config.execution_cache_path)
    return (cache, cached_record(cache, nbformat.read(str(path), as_version=4)))


def _on_doctree_read(app: Any, doctree: Any) -> None:
    """Record how the notebook just read was executed: its cache record, and whether it succeeded."""
    docname = app.env.docname
    current = _current_record(app, docname)
    if current is None:
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_exec_data(app.env, docname) or {}
    _records(app.env)[docname] = {"record": list(current), "succeeded": bool(data.get("succeeded", True)),
                                  "error": data.get("error")}


def _on_env_purge_doc(app: Any, env: Any, docname: str) -> None:
    _records(env).pop(docname, None)


def _on_env_merge_info(app: Any, env: Any, docnames: Iterable[str], other: Any) -> None:
    _records(env).update({d: v for d, v in _records(other).items() if d in set(docnames)})


def _on_env_get_outdated(app: Any, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Notebook pages to read again: their last execution failed (or was never recorded), or the execution
    they would render from now is not the one they were rendered from."""
    if _exec_mode(app) in ("off", ""):
        return []
    records = _records(env)
    outdated = []
    for docname in sorted(env.found_docs - added - changed - removed):
        current = _current_record(app, docname)
        if current is None:
            continue
        last = records.get(docname)
        never_executed = _exec_mode(app) == "cache" and current[1] is None
        if last is None or not last["succeeded"] or tuple(last["record"]) != current or never_executed:
            outdated.append(docname)
    return outdated


def _on_build_finished(app: Any, exception: Exception | None) -> None:
    """Move error logs out of the site; report every notebook page whose execution failed."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    reports = Path(app.outdir) / "reports"
    if reports.is_dir():
        target = Path(app.outdir).parent / LOG_FOLDER / "reports"
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(reports), str(target))
    if exception is not None:
        return
    for docname, record in sorted(_records(app.env).items()):
        if not record["succeeded"]:
            logger.warning(f"{docname}: its notebook's execution failed ({record.get('error') or 'error'}); "
                           "the page shows no valid output (the log is under _build/logs/)",
                           location=docname, type="madlib", subtype="failed_notebook")


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point (``_config.yml``: ``sphinx.local_extensions``)."""
    app.connect("config-inited", _on_config_inited, priority=400)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("env-purge-doc", _on_env_purge_doc)
    app.connect("env-merge-info", _on_env_merge_info)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
