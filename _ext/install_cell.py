"""The first cell of every chapter notebook: install ``madlib`` when the kernel lacks it (Colab).

Launch buttons open a chapter in Colab (or Binder). Binder installs requirements.txt and runs
postBuild, so ``madlib`` is importable there; Colab starts from a bare kernel, so the first cell
installs the library from the repository named in _config.yml (``repository.url``) at
:data:`INSTALL_REF`: a release tag or a commit, never a branch, so a reader gets the code the
book was built from and not whatever a branch holds that day. Where ``madlib`` imports (the book
build, Binder, a local checkout) the cell does nothing. It is tagged ``remove-cell``: the rendered
page does not show it (nothing to read there), while Colab and Jupyter, which ignore the tag, run it.

    python _ext/install_cell.py            # print the cell as notebook JSON (paste or insert it)
    python _ext/install_cell.py --check chapters/*.ipynb   # exit 1 unless each starts with it, pinned
    python _ext/install_cell.py --write --ref $(git rev-parse HEAD) chapters/*.ipynb  # what a release runs
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
MARKER = "# Colab and other fresh kernels: install the course library when it is missing."
#: The one constant a release fills (``--write --ref``): the tag of madlib's version, or the commit the book was
#: built from. A tag is ``v`` and a version number; a commit is 40 hex digits. A branch (``main``) is refused.
INSTALL_REF = "v0.1.0"
_PINNED = re.compile(r"v[0-9]+(\.[0-9]+)*([.-]?(a|b|rc|post)[0-9]+)?|[0-9a-f]{40}", re.ASCII)


def check_ref(ref: str) -> str:
    """``ref`` if it pins one version (a ``vX.Y.Z`` tag or a full commit hash), else a ValueError."""
    if not isinstance(ref, str) or not _PINNED.fullmatch(ref):
        raise ValueError(f"the install cell's ref must be a release tag (v0.1.0) or a full commit hash, "
                         f"never a moving branch; got {ref!r}")
    return ref


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` of the book's repository from _config.yml."""
    settings = yaml.safe_load(config.read_text()) or {}
    repo = settings.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"repository.url in {config} must be an https URL, got {url!r}")
    if not isinstance(branch, str) or not branch:
        raise ValueError(f"repository.branch in {config} must be a non-empty str, got {branch!r}")
    return url.rstrip("/"), branch


def source(url: str, ref: str = INSTALL_REF) -> str:
    """The cell's code: import madlib, or pip-install it from ``url`` at the pinned ``ref`` into this kernel."""
    return (f"{MARKER}\n"
            "try:\n"
            "    import madlib\n"
            "except ImportError:\n"
            f'    %pip install --quiet "madlib @ git+{url}@{check_ref(ref)}"\n')


def cell(config: Path = ROOT / "_config.yml", ref: str = INSTALL_REF) -> dict[str, Any]:
    """The install cell as an nbformat 4.5 code cell (one per notebook, so a fixed id is unique)."""
    url, _ = repository(config)
    return {"cell_type": "code", "execution_count": None, "id": "install-madlib", "metadata": {"tags": [TAG]},
            "outputs": [],
            "source": source(url, ref).splitlines(keepends=True)}


def starts_with_install_cell(notebook: Path) -> bool:
    """Whether the notebook's first cell is this install cell (tagged, with the marker line)."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    if not cells:
        return False
    first = cells[0]
    text = "".join(first.get("source", ""))
    return first.get("cell_type") == "code" and MARKER in text and TAG in first.get("metadata", {}).get("tags", [])


def is_current(notebook: Path, ref: str = INSTALL_REF) -> bool:
    """Whether the notebook starts with exactly the install cell this module makes (pinned at ``ref``)."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    return starts_with_install_cell(notebook) and "".join(cells[0]["source"]) == "".join(cell(ref=ref)["source"])


def write(notebook: Path, ref: str = INSTALL_REF) -> None:
    """Replace the notebook's install cell (its first cell) by the one pinned at ``ref``; nothing else changes."""
    if not starts_with_install_cell(notebook):
        raise ValueError(f"{notebook}: first cell is not the madlib install cell")
    book = json.loads(notebook.read_text())
    book["cells"][0]["source"] = cell(ref=ref)["source"]
    notebook.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", nargs="*", type=Path, default=None, help="notebooks that must start with the cell")
    parser.add_argument("--write", nargs="*", type=Path, default=None, help="notebooks whose install cell to rewrite")
    parser.add_argument("--ref", default=INSTALL_REF, help="the release tag or commit to pin (default: INSTALL_REF)")
    args = parser.parse_args(argv)
    if args.write is not None:
        for nb in args.write:
            write(nb, args.ref)
        return 0
    if args.check is None:
        print(json.dumps(cell(ref=args.ref), indent=1))
        return 0
    missing = [str(nb) for nb in args.check if not is_current(nb, args.ref)]
    for nb in missing:
        print(f"{nb}: first cell is not the madlib install cell pinned at {args.ref} "
              "(python _ext/install_cell.py --write chapters/*.ipynb)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
