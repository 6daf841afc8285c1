"""The benchmark scripts import against today's library (a refactor that moves a function breaks them loudly
here, not months later when someone reruns a measurement)."""
import importlib.util
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # module level only: each script runs its measurement under __main__
    assert module.__doc__, f"{path.name}: say what it measures in its docstring"


def test_there_are_benchmark_scripts() -> None:
    assert len(SCRIPTS) >= 6
