"""The first cell of every chapter notebook: install the course library when the kernel lacks it.

Launch buttons open a chapter's plain notebook (``notebooks/``) in Colab or Binder. Binder builds
``binder/`` (runtime requirements, a CPU torch) and installs the library; Colab starts from a
bare kernel, so the first cell installs the library, pinned to the release this book was built
from: ``model-collapse-hands-on @ git+<repository.url>@<RELEASE_TAG>`` (the repository from
_config.yml, the tag from ``madlib/_version.py``, the one place that defines it). Never a branch:
a semester's notebooks keep working while ``main`` moves. The library declares version ranges
(``torch>=2.2``), so a torch the kernel already has (Colab's CUDA build) is kept, not replaced.
Where ``madlib`` imports (the book build, Binder, a local checkout) the cell does nothing; an
unrelated package that happens to be called ``madlib`` (PyPI has one) does not count.
The cell is tagged ``remove-cell``: the rendered page does not show it (nothing to read there),
while Colab and Jupyter, which ignore the tag, run it.

    python _ext/install_cell.py                    # print the cell as notebook JSON
    python _ext/install_cell.py --check chapters/*.ipynb   # exit 1 unless each starts with it
    python _ext/install_cell.py --write chapters/*.ipynb   # make each first cell this cell
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
CELL_ID = "install-madlib"


def release() -> tuple[str, str]:
    """``(distribution name, release tag)`` from madlib/_version.py, read without importing madlib."""
    namespace: dict[str, Any] = {}
    exec((ROOT / "madlib" / "_version.py").read_text(), namespace)  # noqa: S102 - our own constants file
    return namespace["DISTRIBUTION"], namespace["RELEASE_TAG"]


def repository(config: Path = ROOT / "_config.yml") -> str:
    """The book's repository URL from _config.yml (``repository.url``)."""
    settings = yaml.safe_load(config.read_text()) or {}
    url = (settings.get("repository") or {}).get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"repository.url in {config} must be an https URL, got {url!r}")
    return url.rstrip("/")


def requirement(config: Path = ROOT / "_config.yml", tag: str | None = None) -> str:
    """The pip requirement the cell installs: the distribution at the release tag (or ``tag``)."""
    distribution, release_tag = release()
    ref = release_tag if tag is None else tag
    if not re.fullmatch(r"v\d+\.\d+\.\d+(?:[-.]?\w+)?|[0-9a-f]{40}", ref):
        raise ValueError(f"the install cell pins a release tag (v1.2.3) or a full commit hash, got {ref!r}")
    return f"{distribution} @ git+{repository(config)}@{ref}"


def source(spec: str) -> str:
    """The cell's code: use madlib if this kernel has the course's, else pip-install ``spec``."""
    ref = spec.rsplit("@", 1)[1]
    return (f"{MARKER}\n"
            f"# It installs release {ref}, the one this notebook was made with; a torch you already have\n"
            "# (Colab's) is kept. About a minute the first time.\n"
            "try:\n"
            "    import madlib\n"
            "    madlib.run_experiment  # PyPI's unrelated `madlib` has no such name\n"
            "except (ImportError, AttributeError):\n"
            f'    %pip install --progress-bar off "{spec}"\n')


def cell(config: Path = ROOT / "_config.yml", tag: str | None = None) -> dict[str, Any]:
    """The install cell as an nbformat 4.5 code cell (one per notebook, so a fixed id is unique)."""
    return {"cell_type": "code", "execution_count": None, "id": CELL_ID, "metadata": {"tags": [TAG]},
            "outputs": [], "source": source(requirement(config, tag)).splitlines(keepends=True)}


def starts_with_install_cell(notebook: Path, config: Path = ROOT / "_config.yml") -> bool:
    """Whether the notebook's first cell is exactly this install cell (same code, tagged)."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    if not cells:
        return False
    first, expected = cells[0], cell(config)
    return (first.get("cell_type") == "code" and "".join(first.get("source", "")) == "".join(expected["source"])
            and TAG in first.get("metadata", {}).get("tags", []))


def write(notebook: Path, config: Path = ROOT / "_config.yml") -> bool:
    """Make the notebook's first cell the install cell (replacing an older one); True when changed."""
    from madlib.core.cache import atomic_write_text

    text = notebook.read_text()
    data = json.loads(text)
    cells = data.setdefault("cells", [])
    new = cell(config)
    if cells and MARKER in "".join(cells[0].get("source", "")):
        cells[0] = {**cells[0], "source": new["source"], "metadata": {**cells[0].get("metadata", {}), "tags": [TAG]}}
    else:
        cells.insert(0, new)
    out = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if out == text:
        return False
    atomic_write_text(notebook, out)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", nargs="*", type=Path, default=None, help="notebooks that must start with the cell")
    group.add_argument("--write", nargs="*", type=Path, default=None, help="notebooks whose first cell to set")
    args = parser.parse_args(argv)
    if args.write is not None:
        for nb in args.write:
            if write(nb):
                print(f"{nb}: install cell updated")
        return 0
    if args.check is None:
        print(json.dumps(cell(), indent=1))
        return 0
    missing = [str(nb) for nb in args.check if not starts_with_install_cell(nb)]
    for nb in missing:
        print(f"{nb}: first cell is not the current install cell (python _ext/install_cell.py --write {nb})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
