"""The whole book as one PDF: ``make pdf`` (after ``make book``) runs ``python -m tools.build_pdf``.

Jupyter Book's LaTeX builder (``--builder pdflatex``; sphinx-jupyterbook-latex makes it XeLaTeX) on
the executed chapters of the last book build (``_build/jupyter_execute``), not executed again, so
the PDF shows the site's figures and numbers. The result is ``_build/pdf/model-collapse-hands-on.pdf``.

It needs TeX Live; on Debian (what ``.ci/run`` installs)::

    apt-get install --no-install-recommends texlive-latex-recommended texlive-latex-extra \\
        texlive-fonts-recommended texlive-xetex fonts-freefont-otf latexmk poppler-utils

(FreeSerif is Sphinx's XeLaTeX font; jupyterBook.cls also wants ``bbm.sty``, which Debian 12 has only
in the 1.4 GB texlive-fonts-extra: ``tools/latex/bbm.sty`` stands in for it.)
Exit status 2, with the list, when they are missing; 1 when the build fails.

``--language ru`` or ``--language zh_CN`` builds that edition's PDF (issue 31; ``make pdf-all`` builds
all three), from the same executed chapters and the catalogues under ``locales/``. Russian needs nothing
more (FreeSerif has Cyrillic; polyglossia, in texlive-xetex, sets the hyphenation); Chinese needs xeCJK
and a CJK font::

    apt-get install --no-install-recommends texlive-lang-chinese fonts-noto-cjk
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from sphinx.builders.latex.constants import XELATEX_DEFAULT_FONTPKG

from tools.plain_notebooks import BUILD, ROOT, _with_cached_outputs, prepare_source, run_book

PDF_NAME = "model-collapse-hands-on.pdf"
NEEDS = ("xelatex", "latexmk")
# Per edition: the Sphinx settings on top of the English ones, and what LaTeX must find for it (a package,
# a font family as fontconfig names it), with the Debian packages that provide it.
# Chinese: Sphinx's own XeLaTeX fonts (FreeSerif, FreeSans, FreeMono) for Latin, Noto CJK for the rest.
CJK_FONTS = XELATEX_DEFAULT_FONTPKG + (r"\setCJKmainfont{Noto Serif CJK SC}" "\n" r"\setCJKsansfont{Noto Sans CJK SC}" "\n"
                                       r"\setCJKmonofont{Noto Sans Mono CJK SC}" "\n")
EDITIONS = {
    "en": {"settings": {}, "needs": {}},
    "ru": {"settings": {"language": "ru"}, "needs": {}},
    "zh_CN": {"settings": {"language": "zh_CN", "latex_elements": {"fontpkg": CJK_FONTS}},
              "needs": {"xeCJK.sty": "texlive-lang-chinese", "Noto Serif CJK SC": "fonts-noto-cjk"}},
}


def missing_tools(language: str = "en") -> list[str]:
    """The TeX programs, packages and fonts the PDF of ``language``'s edition needs that are missing
    (a package or font is named with its Debian package)."""
    import subprocess

    if language not in EDITIONS:
        raise ValueError(f"language must be one of {sorted(EDITIONS)}, got {language!r}")
    missing = [tool for tool in NEEDS if shutil.which(tool) is None]
    for need, package in EDITIONS[language]["needs"].items():
        if need.endswith(".sty"):
            found = shutil.which("kpsewhich") and subprocess.run(["kpsewhich", need], capture_output=True,
                                                                   text=True).stdout.strip()
        else:
            found = shutil.which("fc-list") and subprocess.run(["fc-list", need], capture_output=True,
                                                                 text=True).stdout.strip()
        if not found:
            missing.append(f"{need} (Debian: {package})")
    return missing


def pdf_name(language: str = "en") -> str:
    """``model-collapse-hands-on.pdf``, and ``model-collapse-hands-on.ru.pdf`` for another edition."""
    return PDF_NAME if language == "en" else PDF_NAME.replace(".pdf", f".{language}.pdf")


def build(build_dir: Path = BUILD, out: Path | None = None, language: str = "en") -> Path:
    """Build the PDF of ``language``'s edition from ``build_dir``'s executed chapters; returns its path."""
    if language not in EDITIONS:
        raise ValueError(f"language must be one of {sorted(EDITIONS)}, got {language!r}")
    from madlib.core.cache import atomic_write_bytes

    executed = build_dir / "jupyter_execute" / "chapters"
    if not executed.is_dir():
        raise FileNotFoundError(f"no executed chapters under {executed}: run make book first")
    out = out or build_dir / "pdf" / pdf_name(language)
    with tempfile.TemporaryDirectory(prefix="book-pdf-") as tmp:
        # myst-nb writes some executed chapters without their outputs (see make notebooks): take them from the
        # build's execution cache, as tools/plain_notebooks.py does, or the PDF loses its figures
        executed = _with_cached_outputs(executed, build_dir, Path(tmp) / "executed")
        # bbm.sty: a stand-in (tools/latex/), so TeX Live's 1.4 GB fonts-extra package is not needed
        # figure_align H: a figure stays where it is, which also lets one sit inside an exercise's
        # solution box (a floating figure there is "Not in outer par mode")
        # no xindy (Debian's xindy package is not needed: the book has no index)
        edition = EDITIONS[language]["settings"]
        settings = {"latex_additional_files": ["tools/latex/bbm.sty"], "latex_use_xindy": False, **edition,
                    "latex_elements": {"figure_align": "H", **edition.get("latex_elements", {})}}
        src = prepare_source(executed, Path(tmp), [], settings,
                             book={"latex": {"latex_documents": {"targetname": "book.tex"}}})
        done = run_book(src, Path(tmp) / "out", "--builder", "pdflatex")
        pdf = Path(tmp) / "out" / "_build" / "latex" / "book.pdf"
        if done.returncode != 0 or not pdf.is_file():
            log = done.stdout + done.stderr
            latex_log = next((Path(tmp) / "out" / "_build" / "latex").glob("*.log"), None)
            if latex_log is not None:
                errors = [line for line in latex_log.read_text(errors="replace").splitlines() if line.startswith("!")]
                log += "\nLaTeX errors:\n" + "\n".join(errors[:20])
            raise RuntimeError("the PDF build failed:\n" + log[-5000:])
        atomic_write_bytes(out, pdf.read_bytes())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_pdf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=BUILD, help="the book build's _build folder")
    parser.add_argument("--out", type=Path, default=None, help=f"the PDF to write (default: _build/pdf/{PDF_NAME})")
    parser.add_argument("--language", default="en", choices=sorted(EDITIONS), help="the edition (default: en)")
    args = parser.parse_args(argv)
    missing = missing_tools(args.language)
    if missing:
        print(f"build_pdf: {', '.join(missing)} not found: install TeX Live (see python -m tools.build_pdf --help)",
              file=sys.stderr)
        return 2
    try:
        path = build(args.build, args.out, args.language)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"build_pdf: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
