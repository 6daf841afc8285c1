"""Every command that README.md, run-it-yourself.md and teaching.md show a reader, checked so that a
documented command cannot fail: the ``madlib`` command lines run (at smoke scale, in a fresh cache),
``make`` targets exist and expand (``make -n``), tools and test files exist, the install line names
the release, and the commands a chapter's figure cell names (``# python -m madlib run ...``, which
teaching.md tells instructors to run before class) resolve to a real experiment, preset and
parameters. A command of a kind no rule knows fails the test: add a rule, do not skip it."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "run-it-yourself.md", "teaching.md")
# Words a reader replaces: a command holding one is checked for its form, not run.
PLACEHOLDERS = re.compile(r"\b(NAME|HOST|P)\b|<[^>]+>")
ENV = re.compile(r"^((?:[A-Z_]+=\S+\s+)*)(.*)$")


def _commands(doc: str) -> list[str]:
    text = (REPO / doc).read_text()
    found = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
        if lang not in ("bash", "text", "powershell", "sh", "console"):
            continue
        body = body.replace("\\\n", " ")
        for line in body.splitlines():
            line = re.split(r"\s+#\s", line)[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    # inline commands in the prose
    for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text):
        if re.match(r"((?:\.venv/bin/)?python -m \w|make [a-z]|(?:[A-Z_]+=\S+\s+)+(make|\.venv/bin/|python)|%pip )",
                    span):
            found.append(span.strip())
    return found


COMMANDS = sorted({(doc, command) for doc in DOCS for command in _commands(doc)})


def _phony_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text().replace("\\\n", " ")  # continued lines joined
    return set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())


def _dask_setting_exists(env: dict[str, str]) -> bool:
    """Every DASK_* variable names a key of Dask's configuration (distributed's defaults loaded)."""
    import dask.config
    import distributed  # noqa: F401  (registers distributed's configuration)

    def keys(tree: dict, prefix: tuple = ()):
        for key, value in tree.items():
            yield from keys(value, prefix + (key,)) if isinstance(value, dict) else [prefix + (key,)]

    for path in keys(dask.config.collect_env(env)):
        node = dask.config.config
        for key in path:
            names = {name.replace("-", "_"): name for name in node}
            if not isinstance(node, dict) or key.replace("-", "_") not in names:
                return False
            node = node[names[key.replace("-", "_")]]
    return True


def _run_madlib(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MADLIB_SCALE": "smoke", "MADLIB_CACHE": str(tmp_path / "cache")}
    env.pop("MADLIB_DASK_SCHEDULER", None)
    return subprocess.run([sys.executable, "-m", "madlib", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def check(command: str, tmp_path: Path) -> str:
    """Check one documented command; returns the rule that checked it (a failed check raises)."""
    from madlib._version import DISTRIBUTION, RELEASE_TAG

    command = command.replace(".venv\\Scripts\\", ".venv/bin/")
    command = command.replace("$(mktemp -d)", str(tmp_path / "fresh"))
    if command.startswith("%pip install"):
        from packaging.requirements import Requirement

        requirement = Requirement(shlex.split(command)[-1])
        assert requirement.name == DISTRIBUTION and requirement.url.endswith(f"@{RELEASE_TAG}"), command
        return "install line"
    if command.startswith("$env:"):  # PowerShell: set variables, then a command
        inner = command.split(";")[-1].strip()
        return check(inner, tmp_path) if inner and not inner.startswith("$env:") else "powershell variables"
    if command.startswith("export "):  # environment variables for Dask's TLS (README: distributed runs)
        assignments = dict(w.split("=", 1) for w in shlex.split(command)[1:])
        assert assignments and all(re.fullmatch(r"DASK_[A-Z_]+", k) for k in assignments), command
        assert _dask_setting_exists(assignments), f"{command}: not a key of Dask's configuration"
        return "dask configuration"
    env, rest = ENV.match(command).groups()
    words = shlex.split(rest) if rest else []
    if not words:
        assert env and all(re.fullmatch(r"MADLIB_[A-Z_]+=\S+", w) for w in env.split()), command
        return "environment variable"
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w]
        for target in targets:
            assert target in _phony_targets(), f"{command}: no make target {target!r}"
        done = subprocess.run(["make", "-n", *words[1:]], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}: make -n failed: {done.stderr[-500:]}"
        return "make target"
    python = words[0] in ("python", "python3", ".venv/bin/python") or words[0].endswith("/python")
    if python and words[1:3] == ["-m", "madlib"]:
        if PLACEHOLDERS.search(rest) or "MADLIB_DASK_SCHEDULER" in env:
            assert words[3] in ("list", "run"), command
            return "madlib command (form)"
        args = words[3:]
        if args[:1] == ["results"]:  # the archive lives in the test's folder, never in the checkout
            archive = tmp_path / Path(args[2]).name
            if args[1] == "import":  # an archive to read: this cache's (empty) results
                assert _run_madlib(["results", "export", str(archive)], tmp_path).returncode == 0
            args = [*args[:2], str(archive), *args[3:]]
        done = _run_madlib(args, tmp_path)
        assert done.returncode == 0, f"{command}\n{done.stderr[-1500:]}"
        if words[3] == "run":
            json.loads(done.stdout.strip().splitlines()[-1])  # one JSON object, as documented
        return "madlib command (run)"
    if python and words[1:2] == ["-m"]:
        module = words[2]
        if module in ("pip", "venv", "ipykernel"):
            for i, word in enumerate(words):
                if word == "-r":
                    assert (REPO / words[i + 1]).is_file(), f"{command}: no {words[i + 1]}"
            return "environment setup"
        if module == "pytest":
            for word in words[3:]:
                if re.match(r"^(tests|chapters)(/|$)", word):
                    assert (REPO / word).exists(), f"{command}: no {word}"
            return "pytest"
        assert importlib.util.find_spec(module) is not None, f"{command}: no module {module}"
        return "python module"
    if words[0] in ("python3", "py") and "venv" in words:
        return "environment setup"
    if words[0] in ("git", "cd"):
        return "clone"
    if words[0].startswith(".venv/bin/") or words[0] in ("dask", "jupyter"):
        tool = words[0].rsplit("/", 1)[-1]
        lab_only = {"jupyter"}  # requirements-lab.txt (make lab) installs Jupyter's server
        if tool not in lab_only:
            assert (Path(sys.executable).parent / tool).exists(), f"{command}: {tool} is not installed"
        return "installed program"
    raise AssertionError(f"no rule checks the documented command {command!r}: add one to this test")


@pytest.mark.parametrize("doc, command", COMMANDS, ids=[f"{d}: {c[:60]}" for d, c in COMMANDS])
def test_documented_command(doc: str, command: str, tmp_path: Path) -> None:
    check(command, tmp_path)


def test_the_docs_document_the_commands_that_matter() -> None:
    commands = {c for _, c in COMMANDS}
    assert any(c.startswith("%pip install") for c in commands)
    assert any("madlib run gaussian" in c for c in commands) and "make notebooks" in " ".join(commands)
    assert len(COMMANDS) >= 30


def _figure_commands() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for line in "".join(cell["source"]).splitlines():
                m = re.match(r"\s*#\s*(?:Figures?:\s*)?python -m madlib run (.*)$", line)
                if m:
                    found.append((path.stem, m.group(1)))
    return found


def test_every_command_a_figure_cell_names_resolves() -> None:
    """The `# python -m madlib run NAME --preset P key=value` comments of the figure cells (what an
    instructor runs before class) name real experiments, presets and parameters."""
    from madlib.experiments import get_experiment, resolve_config

    commands = _figure_commands()
    assert len(commands) >= 30
    for chapter, text in commands:
        # "(and --preset x)", "(replace, augment, ...)", "|" alternatives: the first command is checked
        text = re.split(r"\s{2,}|\s\(|\s\|\s|;|:\s|\sand\s", text)[0].strip()
        words = shlex.split(text)
        name, rest = words[0], words[1:]
        get_experiment(name)
        preset, overrides = None, {}
        i = 0
        while i < len(rest):
            if rest[i] == "--preset":
                preset = re.sub(r"\[.*$", "", rest[i + 1])
                i += 2
            elif "=" in rest[i]:
                key, value = rest[i].split("=", 1)
                if key != "workers":
                    overrides[key] = value
                i += 1
            else:
                i += 1
        try:
            resolve_config(name, overrides, scale="smoke", preset=preset)
        except ValueError as error:
            raise AssertionError(f"{chapter}: `python -m madlib run {text}`: {error}") from None
