"""The first cell of every chapter notebook: install ``madlib`` when the kernel lacks it (Colab).

Launch buttons open a chapter in Colab (or Binder). Binder installs requirements.txt and runs
postBuild, so ``madlib`` is importable there; Colab starts from a bare kernel, so the first cell
installs the library from the repository named in _config.yml (``repository.url`` and
``repository.branch``). Where ``madlib`` imports (the book build, Binder, a local checkout) the
cell does nothing. It is tagged ``remove-cell``: the rendered page does not show it (nothing to
read there), while Colab and Jupyter, which ignore the tag, run it.

    python _ext/install_cell.py            # print the cell as notebook JSON (paste or insert it)
    python _ext/install_cell.py --check chapters/*.ipynb   # exit 1 unless each starts with it
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
MARKER = "# Colab and other fresh kernels: install the course library when it is missing."


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


def source(url: str, branch: str) -> str:
    """The cell's code: import madlib, or pip-install it from ``url@branch`` into this kernel."""
    return (f"{MARKER}\n"
            "try:\n"
            "    import madlib\n"
            "except ImportError:\n"
            f'    %pip install --quiet "madlib @ git+{url}@{branch}"\n')


def cell(config: Path = ROOT / "_config.yml") -> dict[str, Any]:
    """The install cell as an nbformat 4.5 code cell (one per notebook, so a fixed id is unique)."""
    return {"cell_type": "code", "execution_count": None, "id": "install-madlib", "metadata": {"tags": [TAG]},
            "outputs": [],
            "source": source(*repository(config)).splitlines(keepends=True)}


def starts_with_install_cell(notebook: Path) -> bool:
    """Whether the notebook's first cell is this install cell (tagged, with the marker line)."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    if not cells:
        return False
    first = cells[0]
    text = "".join(first.get("source", ""))
    return first.get("cell_type") == "code" and MARKER in text and TAG in first.get("metadata", {}).get("tags", [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", nargs="*", type=Path, default=None, help="notebooks that must start with the cell")
    args = parser.parse_args(argv)
    if args.check is None:
        print(json.dumps(cell(), indent=1))
        return 0
    missing = [str(nb) for nb in args.check if not starts_with_install_cell(nb)]
    for nb in missing:
        print(f"{nb}: first cell is not the madlib install cell (python _ext/install_cell.py prints it)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
