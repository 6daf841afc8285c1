"""The release: licence, citation, version, changelog, the install's ranges and Binder's environment.

One constant defines the release (``madlib/_version.py``); everything that names it must agree.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import madlib
from madlib._version import DISTRIBUTION, MIN_PYTHON, RELEASE_TAG, __version__

REPO = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].split(";")[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_licence_files_and_the_site_state_both_licences() -> None:
    licence = (REPO / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "CC BY 4.0" in licence
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    footer = yaml.safe_load((REPO / "_config.yml").read_text())["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "MIT" in footer and "creativecommons.org/licenses/by/4.0" in footer


def test_citation_cff_is_valid_and_names_this_version() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    # The CFF 1.2.0 schema, as cffconvert 2.0.0 ships it (.ci/run also runs `cffconvert --validate`).
    schema = json.loads((REPO / "tools" / "cff-schema-1.2.0.json").read_text())
    citation["date-released"] = str(citation["date-released"])  # YAML reads a date; the schema wants a string
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(citation)
    assert citation["version"] == __version__
    broken = {**citation, "authors": []}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_one_version_everywhere() -> None:
    assert madlib.__version__ == __version__ and RELEASE_TAG == f"v{__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "madlib._version.__version__"}
    assert project["project"]["name"] == DISTRIBUTION
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d\d-\d\d$", (REPO / "CHANGELOG.md").read_text(), re.M)


def test_the_tag_when_it_exists_is_on_this_history() -> None:
    tags = subprocess.run(["git", "tag", "--list", RELEASE_TAG], cwd=REPO, capture_output=True, text=True)
    if tags.returncode != 0 or RELEASE_TAG not in tags.stdout.split():
        pytest.skip(f"no git tag {RELEASE_TAG} in this clone (the release is tagged after merging)")
    tagged = subprocess.run(["git", "show", f"{RELEASE_TAG}:madlib/_version.py"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout
    assert f'__version__ = "{__version__}"' in tagged, f"tag {RELEASE_TAG} holds another version"


def test_the_library_declares_ranges_and_the_application_pins() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">={}.{}".format(*MIN_PYTHON)
    deps = project["dependencies"]
    assert not [d for d in deps if "==" in d], "pyproject.toml must declare ranges; requirements.txt pins"
    torch = next(d for d in deps if d.startswith("torch"))
    assert re.fullmatch(r"torch>=2\.\d+", torch), torch
    pins = _pins(REPO / "requirements.txt")
    for dep in deps:
        name, low = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([\d.]+)(?:,<[\d.]+)?", dep).groups()
        pinned = pins[name.lower().replace("_", "-")]
        assert tuple(map(int, pinned.split("+")[0].split(".")[:2])) >= tuple(map(int, low.split(".")[:2])), dep


def test_binder_installs_runtime_dependencies_only_with_a_cpu_torch() -> None:
    binder = (REPO / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in binder
    pins, root = _pins(REPO / "binder" / "requirements.txt"), _pins(REPO / "requirements.txt")
    assert pins.pop("torch") == root["torch"] + "+cpu"
    for name, version in pins.items():
        assert root.get(name) == version, f"binder/requirements.txt pins {name}=={version}, requirements.txt {root.get(name)}"
    for tool in ("jupyter-book", "pytest", "sphinx", "import-linter", "dask", "ipykernel", "tornado"):
        assert tool not in pins
    runtime = {re.match(r"[A-Za-z0-9_.-]+", d).group().lower() for d in
               tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert runtime <= set(pins) | {"torch"}
    post = (REPO / "binder" / "postBuild").read_text()
    assert "pip install --no-deps ." in post and (REPO / "binder" / "postBuild").stat().st_mode & 0o111


def test_an_old_python_gets_a_clear_message() -> None:
    code = ("import sys; sys.version_info = (3, 9, 6, 'final', 0)\n"
            "try:\n    import madlib\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "madlib needs Python 3.11 or newer" in out.stdout, out.stdout + out.stderr
    makefile = (REPO / "Makefile").read_text()
    assert "Python 3.11 or newer" in makefile
