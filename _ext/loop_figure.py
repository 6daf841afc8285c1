"""Draw the self-consuming loop's picture (madlib.plots.loop) into _static/generated/loop.png when the
book build starts, so the introduction and chapters 3 and 6 always show the library's own picture."""
from __future__ import annotations

from pathlib import Path


def _draw(app) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from madlib.plots.loop import plot_loop
    from madlib.plots.style import save_figure, use_house_style

    use_house_style()
    target = Path(app.srcdir) / "_static" / "generated" / "loop.png"
    save_figure(plot_loop(3), target)


def setup(app) -> dict:
    app.connect("builder-inited", _draw)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
