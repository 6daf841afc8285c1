"""The house rules of madlib: layers point down, a cached result is keyed by its code, runs resume."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from madlib import run_experiment
from madlib.core import cache
from madlib.experiments import cache_key, resolve_config

REPO = Path(__file__).resolve().parents[1]
TINY_GMM = dict(generations=5, replicates=2, n_real=60, n_eval=60, eval_points=3)


def test_imports_point_down_only():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -r requirements.txt)")
    out = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


def test_code_fingerprint_covers_the_modules_an_experiment_imports():
    cache.code_fingerprint.cache_clear()
    seen = cache._imported_modules("madlib.experiments.gaussian",
                                   Path(cache._module_file("madlib.experiments.gaussian")))
    assert {"madlib.simulations.gaussian", "madlib.theory.gaussian", "madlib.core.config"} <= seen


def test_a_change_to_a_models_code_misses_the_cache(monkeypatch, tmp_path):
    first = run_experiment("gaussian", method="sample", generations=3, replicates=5)
    assert run_experiment("gaussian", method="sample", generations=3, replicates=5).cached
    # edit the Gaussian family's source (a copy with one more line) and look again
    original = cache._module_file
    edited = tmp_path / "gaussian.py"
    edited.write_bytes(Path(original("madlib.models.gaussian")).read_bytes() + b"\n# an edit\n")
    monkeypatch.setattr(cache, "_module_file", lambda name: edited if name == "madlib.models.gaussian"
                        else original(name))
    cache.code_fingerprint.cache_clear()
    try:
        config = resolve_config("gaussian", dict(method="sample", generations=3, replicates=5))
        assert cache_key("gaussian", config) != Path(first.cache_dir).name
        again = run_experiment("gaussian", method="sample", generations=3, replicates=5)
        assert not again.cached
    finally:
        cache.code_fingerprint.cache_clear()


def test_a_killed_gmm_run_resumes_to_the_same_result(monkeypatch, tmp_path):
    from madlib.models.gmm import GMMFamily

    with monkeypatch.context() as patch:
        patch.setenv("MADLIB_CACHE", str(tmp_path / "straight"))
        straight = run_experiment("gmm", **TINY_GMM)
    original_fit, calls = GMMFamily.fit, {"n": 0}

    def killed_after_two_generations(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # generations 0, 1 and 2 are finished and checkpointed
            raise KeyboardInterrupt
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(GMMFamily, "fit", killed_after_two_generations)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("gmm", **TINY_GMM)
    monkeypatch.setattr(GMMFamily, "fit", original_fit)
    calls["n"] = 0
    counting = {"n": 0}

    def counted(self, *args, **kwargs):
        counting["n"] += 1
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(GMMFamily, "fit", counted)
    resumed = run_experiment("gmm", **TINY_GMM)
    assert counting["n"] == 3  # only generations 3, 4 and 5 were fitted again
    strip = lambda s: {k: v for k, v in s.items() if k not in ("elapsed_s",)}  # noqa: E731
    assert strip(resumed.summary) == strip(straight.summary)
    assert resumed.table.equals(straight.table)


def test_an_interrupted_no_cache_run_keeps_the_finished_result(monkeypatch):
    from madlib.models.gmm import GMMFamily

    finished = run_experiment("gmm", **TINY_GMM)

    def broken(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(GMMFamily, "fit", broken)
        with pytest.raises(KeyboardInterrupt):
            run_experiment("gmm", use_cache=False, **TINY_GMM)
    again = run_experiment("gmm", **TINY_GMM)
    assert again.cached and again.summary == finished.summary
    assert not list(Path(finished.cache_dir).parent.glob("*.fresh-*"))  # no half-finished folder is left


def test_a_damaged_cached_result_is_recomputed_with_a_warning():
    first = run_experiment("gaussian", generations=3, replicates=5)
    (Path(first.cache_dir) / "summary.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable cached result"):
        again = run_experiment("gaussian", generations=3, replicates=5)
    assert not again.cached and again.summary["final_std_mean"] == first.summary["final_std_mean"]
    assert json.loads((Path(first.cache_dir) / "summary.json").read_text())["final_std_mean"] == pytest.approx(
        first.summary["final_std_mean"])


def test_atomic_writes_leave_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "b.txt"
    cache.atomic_write_text(target, "one")
    cache.atomic_write_text(target, "two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_presets_name_the_books_configurations():
    assert resolve_config("gaussian", preset="essay")["generations"] == 999
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_config("gaussian", preset="nope")


CHAPTER_KEYS = {"01_gaussian": "gaussian", "02_cats": "cats", "03_gmm": "gmm", "04_vae": "vae", "05_lm": "lm",
                "06_remedies": "remedies", "07_filtering": "filtering",
                "09_questions": "questions"}


def _chapter_imports(path: Path) -> list[str]:
    import ast

    modules = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        # IPython magics (%pip) become `pass`, keeping their indentation
        source = "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith("%") else line
                           for line in "".join(cell["source"]).splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("madlib"):
                modules += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules += [a.name for a in node.names if a.name.startswith("madlib")]
    return modules


@pytest.mark.parametrize("chapter", sorted(p.stem for p in (REPO / "chapters").glob("*.ipynb")))
def test_chapters_import_the_facade_and_their_own_modules_only(chapter):
    """ARCHITECTURE.md's setup cell: the facade, theory, and the chapter's own plots, widgets and exercises."""
    key = CHAPTER_KEYS.get(chapter, chapter.split("_", 1)[1])
    allowed = {"madlib", f"madlib.plots.{key}", f"madlib.widgets.{key}", f"madlib.exercises.{key}"}
    for module in _chapter_imports(REPO / "chapters" / f"{chapter}.ipynb"):
        parent = module.rsplit(".", 1)[0]
        ok = (module in allowed or parent in allowed and parent != "madlib" or module.startswith("madlib.theory")
              or parent == "madlib" and module.split(".")[1] in __import__("madlib").__all__
              or module in {f"madlib.{p}" for p in ("plots", "widgets", "exercises")})
        assert ok, f"{chapter} imports {module}; chapters use the facade and their own plots/widgets/exercises"
