"""Keep the self-consuming loop's picture, ``_static/figures/loop.png``, equal to what the library draws.

The picture is committed (the introduction and chapters 3 and 6 show it, and a notebook opened in
JupyterLab or on GitHub must find it without a build), and drawn by ``madlib.plots.loop.plot_loop``
from the library's own workflows. When the book build starts, the picture is drawn again; the file
is rewritten only when its pixels differ (a changed workflow table, another matplotlib), so a build
never leaves a stale picture and normally changes nothing. ``python _ext/loop_figure.py`` does the
same by hand; ``tests/test_loop_figure.py`` checks that the committed file is current.
"""
from __future__ import annotations

import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "_static" / "figures" / "loop.png"


def draw() -> bytes:
    """The loop's picture as PNG bytes (house style, no timestamp in the file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from madlib.plots.loop import plot_loop
    from madlib.plots.style import use_house_style

    use_house_style()
    fig = plot_loop(3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def same_pixels(a: bytes, b: bytes) -> bool:
    """Whether two PNGs hold the same image (their bytes may differ in metadata or compression)."""
    from matplotlib.image import imread
    import numpy as np

    first, second = imread(io.BytesIO(a), format="png"), imread(io.BytesIO(b), format="png")
    return first.shape == second.shape and bool(np.array_equal(first, second))


def update(target: Path = TARGET) -> bool:
    """Draw the picture and write it (atomically) when it differs from ``target``; True when written."""
    from madlib.core.cache import atomic_write_bytes

    png = draw()
    if target.is_file() and same_pixels(target.read_bytes(), png):
        return False
    atomic_write_bytes(target, png)
    return True


def _draw(app) -> None:
    update(Path(app.srcdir) / "_static" / "figures" / "loop.png")


def setup(app) -> dict:
    app.connect("builder-inited", _draw)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print("written" if update() else "up to date", TARGET)
