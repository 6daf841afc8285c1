"""The picture of the loop is drawn from the library's own workflows."""
import matplotlib

matplotlib.use("Agg")

import pytest

from madlib.core.workflows import training_set_size
from madlib.plots.loop import PANELS, plot_loop, training_set_parts
from madlib.plots.style import save_figure


@pytest.mark.parametrize("workflow, kept, _", PANELS)
@pytest.mark.parametrize("generation", [0, 1, 3])
def test_the_parts_add_up_to_the_loops_training_set(workflow, kept, _, generation):
    parts = training_set_parts(workflow, generation, kept, n_real=100, n_synthetic=100)
    assert sum(parts.values()) == pytest.approx(training_set_size(workflow, generation, 100, 100))
    if generation and workflow == "replace":
        assert parts.get("real (original)", 0) == pytest.approx(kept * 100)


def test_the_figure_draws_and_saves_atomically(tmp_path):
    path = save_figure(plot_loop(3), tmp_path / "loop.png")
    assert path.stat().st_size > 10_000 and [p.name for p in tmp_path.iterdir()] == ["loop.png"]
    with pytest.raises(ValueError, match="generations"):
        plot_loop(0)


def test_the_committed_picture_is_what_the_library_draws():
    """_static/figures/loop.png is committed so notebooks find it without a build; it must be current
    (``python _ext/loop_figure.py`` redraws it; the book build does too when it differs)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "_ext" / "loop_figure.py"
    spec = importlib.util.spec_from_file_location("loop_figure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TARGET.is_file(), "run: python _ext/loop_figure.py"
    assert module.same_pixels(module.TARGET.read_bytes(), module.draw()), "stale: run python _ext/loop_figure.py"
