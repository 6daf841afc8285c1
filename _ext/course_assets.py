"""Serve the site's JavaScript libraries from the site itself: MathJax 3 and plotly.js.

Loaded from _config.yml (``sphinx.local_extensions``). The book must work offline and pass the
browser check, which fails a page that requests anything from another host, so:

* MathJax 3.2.2 comes from the installed PyPI package ``django-static-mathjax`` (Apache-2.0,
  module ``mathjax``), copied to ``_static/mathjax/`` with the layout of ``es5/`` (MathJax finds
  its components and fonts relative to its loader). The pages load its components, not the
  combined ``tex-chtml.js``: this extension sets ``mathjax_path`` to ``startup.js`` (the loader)
  and ``mathjax3_config.loader.load`` to :data:`MATHJAX_LOAD`, TeX input, CommonHTML output and
  assistive MathML (what a screen reader reads): about 0.75 MB a page instead of 1.16 MB. What is
  left out is MathJax's right-click menu (``ui/menu``, 426 KB on every page: zoom, "show math
  as", speech options); ``_static/math-keyboard.js`` gives display formulas the keyboard focus
  the menu used to give them (a formula wider than the column scrolls). The TeX extensions that
  MathJax loads on demand (``\\boldsymbol``, ``\\cancel`` ...) are copied too and cost a page
  nothing until it uses one. The slides (``tools/teach/slides.py``) load MathJax the same way.
* plotly.js is the *basic* partial bundle (npm ``plotly.js-basic-dist-min``, MIT, the same
  plotly.js version as the ``plotly`` wheel's full bundle; scatter, bar and pie traces: the
  explorers draw scatter traces only), 1.2 MB instead of the full 4.8 MB. It is vendored at
  ``_ext/vendor/plotly-basic.min.js`` (``make vendor-js`` refreshes it from package-lock.json; a
  test checks its version against the ``plotly`` wheel's), so the build needs no npm, copied to
  ``_static/vendor/`` in the output (not kept in the book's own ``_static``, whose scripts
  Jupyter Book adds to every page). ``_static/madlib-explorers.js`` loads it on a page when the
  first explorer comes near the screen, so opening a page costs nothing for it.
* Font Awesome's CSS and web fonts (npm ``@fortawesome/fontawesome-free`` 6.5.2, the version the
  theme bundles; icons CC BY 4.0, fonts OFL, code MIT), vendored at ``_ext/vendor/fontawesome/`` and
  copied to ``_static/vendor/fontawesome/``: ``_ext/course_site.py`` puts them in place of the
  theme's 1.5 MB ``fontawesome.js`` (about 0.4 MB, fonts loaded only when an icon uses them).
* Notebook figures get an adaptive 256-colour palette when the build is done (``palette_png``:
  the same picture at about a third of the bytes) and ``loading="lazy"``: the ones below the first screen load as the reader
  scrolls. Together with the lazy plotly.js, a chapter opens with well under 3 MB.

Every copy is written atomically (a temporary name unique to the process, then ``os.replace``)
and skipped when the target already has the same size and bytes.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

# Relative to the mathjax package's es5/ folder; globs allowed. Keep it small: see the docstring.
MATHJAX_FILES = ("startup.js", "core.js", "input/tex.js", "input/tex/extensions/*.js", "output/chtml.js",
                 "output/chtml/fonts/tex.js", "output/chtml/fonts/woff-v2/*.woff", "a11y/assistive-mml.js")
MATHJAX_LOADER = "startup.js"  # what a page loads; it loads MATHJAX_LOAD (relative to es5/, no ".js")
MATHJAX_LOAD = ("input/tex", "output/chtml", "a11y/assistive-mml")
MATHJAX_TARGET = "mathjax"  # under _static/
PLOTLY_TARGET = "vendor/plotly-basic.min.js"  # under the output's _static/
PLOTLY_SOURCE = Path(__file__).resolve().parent / "vendor" / "plotly-basic.min.js"
# The marker Plotly's HTML (and madlib.plots.interactive) gives a figure's <div>.
PLOTLY_MARKER = "plotly-graph-div"


class AssetError(RuntimeError):
    """A JavaScript library the site serves is not installed (see requirements.txt)."""


def _package_dir(module: str, hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"the Python package providing `{module}` is not installed: pip install {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def mathjax_es5_dir() -> Path:
    """The ``es5`` folder of MathJax 3 inside the installed django-static-mathjax package."""
    es5 = _package_dir("mathjax", "django-static-mathjax (see requirements.txt)") / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_LOADER).is_file():
        raise AssetError(f"{es5}/{MATHJAX_LOADER} is missing: is `mathjax` the django-static-mathjax package?")
    return es5


def plotly_js_file() -> Path:
    """The vendored plotly.js basic bundle (``_ext/vendor/``)."""
    path = PLOTLY_SOURCE
    if not path.is_file():
        raise AssetError(f"{path} is missing: run `make vendor-js` (npm ci, then copies it)")
    return path


def plotly_js_version(path: Path) -> str:
    """The plotly.js version in a bundle's licence header ("plotly.js (basic - minified) v4.1.1")."""
    import re

    match = re.search(r"plotly\.js[^\n]*? v(\d+\.\d+\.\d+)", path.read_text(errors="replace")[:400])
    if match is None:
        raise AssetError(f"{path} has no plotly.js version in its header")
    return match.group(1)


def _same_file(src: Path, dst: Path) -> bool:
    return dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes()


def copy_atomic(src: Path, dst: Path) -> bool:
    """Copy ``src`` to ``dst`` through a process-unique temporary file; False when already identical."""
    if _same_file(src, dst):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def vendor_assets(static_dir: Path) -> list[Path]:
    """Copy the MathJax subset and the plotly.js basic bundle under ``static_dir``; returns the target files."""
    es5 = mathjax_es5_dir()
    targets = []
    for pattern in MATHJAX_FILES:
        matches = sorted(es5.glob(pattern))
        if not matches:
            raise AssetError(f"no MathJax file matches {pattern!r} under {es5}")
        for src in matches:
            dst = static_dir / MATHJAX_TARGET / src.relative_to(es5)
            copy_atomic(src, dst)
            targets.append(dst)
    dst = static_dir / PLOTLY_TARGET
    copy_atomic(plotly_js_file(), dst)
    targets.append(dst)
    fontawesome = Path(__file__).resolve().parent / "vendor" / "fontawesome"
    for src in sorted(fontawesome.rglob("*")):
        if src.is_file():
            dst = static_dir / "vendor" / "fontawesome" / src.relative_to(fontawesome)
            copy_atomic(src, dst)
            targets.append(dst)
    return targets


def _copy_on_init(app: Any) -> None:
    # Copy before any page is written: Sphinx adds a checksum of each local script (?v=...)
    # to the page, read from the output folder while writing.
    if app.builder.format == "html":
        vendor_assets(Path(app.outdir) / "_static")


def _lazy_images(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Figures below the first screen load when the reader scrolls near them (``loading="lazy"``)."""
    import re

    body = context.get("body")
    if isinstance(body, str) and "<img " in body:
        context["body"] = re.sub(r"<img (?![^>]*\bloading=)", '<img loading="lazy" decoding="async" ', body)


def palette_png(data: bytes, colours: int = 256) -> bytes | None:
    """``data`` (a PNG) with an adaptive palette of ``colours``, or None when that is not smaller or
    the image has transparency. Matplotlib's figures use far fewer colours than their RGBA files
    can hold: the picture looks the same at about a third of the bytes."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode not in ("RGB", "RGBA") or (image.mode == "RGBA" and image.getextrema()[3][0] < 255):
        return None
    out = io.BytesIO()
    image.convert("RGB").quantize(colours).save(out, format="png", optimize=True)
    return out.getvalue() if out.tell() < len(data) else None


def _lighter_figures(app: Any, exception: Exception | None) -> None:
    """Notebook figures (``_images/*.png``) with a palette, when the build is done (see palette_png)."""
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    for path in sorted((Path(app.outdir) / "_images").glob("*.png")):
        smaller = palette_png(path.read_bytes())
        if smaller is not None:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(smaller)
            os.replace(tmp, path)


def configure_mathjax(app: Any, config: Any) -> None:
    """The pages load MathJax's loader from the copy and, through it, :data:`MATHJAX_LOAD` only."""
    config.mathjax_path = f"{MATHJAX_TARGET}/{MATHJAX_LOADER}"
    settings = dict(config.mathjax3_config or {})
    settings["loader"] = {**settings.get("loader", {}), "load": list(MATHJAX_LOAD)}
    config.mathjax3_config = settings


def setup(app: Any) -> dict:
    app.connect("config-inited", configure_mathjax)
    app.connect("build-finished", _lighter_figures)
    app.connect("builder-inited", _copy_on_init)
    app.connect("html-page-context", _lazy_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
