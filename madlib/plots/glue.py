"""Numbers for the prose: myst-nb ``glue`` that a chapter calls once per result, not once per number.

A chapter computes a result in a cell and the text quotes it with ``{glue:text}`name:.2f```; on a
rebuild at another scale, on another machine, the sentence then still says what the cell computed.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping


def glue(name: str, value, display: bool = False) -> None:
    """``myst_nb.glue`` for a number in the prose: numpy scalars become plain floats (myst-nb formats
    ``{glue:text}`name:.2f``` from the text repr, which ``np.float64(...)`` breaks) and a value a
    small run could not produce (None) becomes NaN, printed as "nan" rather than failing the build."""
    try:
        from myst_nb import glue as myst_glue  # the book's tooling; only notebooks call this
    except ImportError:
        # Plain Jupyter or Colab (the reader's notebooks in notebooks/): the prose already shows the
        # build's numbers and nothing reads glued values, so there is nothing to do.
        return

    if value is None:
        value = float("nan")
    elif hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    myst_glue(name, value, display=display)


def glue_values(prefix: str, values: Mapping[str, Any], keys: Iterable[str] | Mapping[str, str] | None = None,
                *, ends: bool = True) -> list[str]:
    """Glue several values of one result under ``prefix_``: each key of ``keys`` (all of ``values`` when
    None; a mapping renames ``{glue name: key of values}``). A per-generation list is glued as its
    ``_first`` and ``_last`` entries when ``ends`` (else it is skipped); a number as itself. Returns the
    names glued, so a test can check that the prose asks for nothing else.

    An empty ``prefix`` glues the names themselves.
    ``glue_values("blobs", result.summary, {"w2": "sliced_w2", "recall": "recall"})`` glues
    ``blobs_w2_first``, ``blobs_w2_last``, ``blobs_recall_first`` and ``blobs_recall_last``.
    """
    pairs = (keys.items() if isinstance(keys, Mapping)
             else ((k, k) for k in (values if keys is None else keys)))
    names = []
    for name, key in pairs:
        if key not in values:
            raise ValueError(f"glue_values: {key!r} is not in the result; it has {sorted(values)}")
        value = values[key]
        if isinstance(value, (list, tuple)):
            if not ends or not value:
                continue
            for end, item in (("first", value[0]), ("last", value[-1])):
                names.append(f"{prefix}_{name}_{end}" if prefix else f"{name}_{end}")
                glue(names[-1], item)
        elif isinstance(value, Mapping):
            continue
        else:
            names.append(f"{prefix}_{name}" if prefix else name)
            glue(names[-1], value)
    return names


#: What each scale is, in the words of the scale note.
SCALE_WORDS = {"smoke": "the test suite's tiny sizes: the figures only show that the code runs",
               "default": "sizes that run in minutes on a laptop: the shapes of the papers' results, with more noise",
               "full": "the papers' sizes"}


def scale_line(scale: str | None = None) -> str:
    """The sentence of :func:`scale_note`: the scale the chapter ran at (every run it shows resolves its sizes
    there) and, when results were imported from another machine (``madlib results import``), where from."""
    from ..core.config import get_scale
    from ..experiments.archive import provenance

    scale = scale or get_scale()
    if scale not in SCALE_WORDS:
        raise ValueError(f"scale must be one of {tuple(SCALE_WORDS)}, got {scale!r}")
    line = f"**Results at the `{scale}` scale**: {SCALE_WORDS[scale]}."
    imported = provenance()
    if imported and imported.get("scale") in (None, scale):
        line += (f" Results computed on {imported.get('device') or 'another machine'}"
                 f"{' (' + str(imported['created'])[:10] + ')' if imported.get('created') else ''} were imported "
                 "with `madlib results import`; anything else was computed here.")
    return line


def scale_note(scale: str | None = None) -> None:
    """The line at the top of every chapter that says which scale its results show: displayed as Markdown
    (:func:`scale_line`) and glued as ``scale`` (``{glue:text}`scale``` in the prose)."""
    from IPython.display import Markdown, display

    from ..core.config import get_scale

    scale = scale or get_scale()
    line = scale_line(scale)
    glue("scale", scale)
    display(Markdown(line))
