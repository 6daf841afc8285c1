"""Show each section's lecture-path mark ("core · 8 min", "bonus · 10 min") beside its heading.

Loaded from _config.yml (``sphinx.local_extensions``). The marks come from ``teaching/paths.yml``
(through ``tools.teach.paths``), keyed by a section's label or, for a heading without one, by its text
without the number; the headings' text in the chapters is never edited, so prose passes and this table
stay independent (``tests/test_teach_paths.py`` keeps them in step). A chapter's title also gets one
line: how long its 50-minute path (the core sections) and its bonus sections take.

The mark is added when a page's doctree is resolved, after the table of contents was collected, so the
sidebar and the page's contents list keep the plain headings. Styles: ``_static/teaching.css``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util import logging

from tools.teach import paths as lecture_paths

logger = logging.getLogger(__name__)


def _mark_node(mark: str, minutes: int) -> nodes.inline:
    node = nodes.inline("", "", classes=["lecture-mark", f"lecture-{mark}"])
    node += nodes.Text(f"{mark} · {minutes} min")
    return node


def add_marks(doctree: nodes.document, docname: str, table: dict[str, Any]) -> int:
    """Add the marks to one page's sections; returns how many headings got one."""
    marks = lecture_paths.marks_for(docname, table)
    if marks is None:
        return 0
    done = 0
    for section in doctree.findall(nodes.section):
        if not section.children or not isinstance(section[0], nodes.title):
            continue
        title = section[0]
        keys = set(section.get("ids", [])) | set(section.get("names", []))
        found = next((marks["by_label"][k] for k in keys if k in marks["by_label"]), None)
        if found is None:
            found = marks["by_title"].get(lecture_paths.normalise(title.astext()))
        if found is not None:
            title += nodes.Text(" ")
            title += _mark_node(*found)
            done += 1
        elif isinstance(section.parent, nodes.document):  # the chapter's title
            summary = nodes.paragraph("", "", classes=["lecture-path-summary"])
            summary += nodes.Text(f"Lecture path: the core sections take {marks['core']} minutes (a 50-minute "
                                  f"lecture); the bonus sections {marks['bonus']} minutes more (reading, lab, homework). ")
            summary += nodes.reference("", "Teaching with this course", refuri=_teaching_uri(docname))
            summary += nodes.Text(" has the plans.")
            section.insert(1, summary)
    if done == 0:
        logger.info(f"lecture_marks: no heading of {docname} matched teaching/paths.yml")
    return done


def _teaching_uri(docname: str) -> str:
    depth = docname.count("/")
    return "../" * depth + "teaching.html"


def _on_doctree_resolved(app, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    # Read once per build (kept on the application, which is not pickled with the environment).
    table = getattr(app, "_lecture_paths_table", None)
    if table is None:
        source = Path(app.confdir) / app.config.lecture_paths_file
        table = app._lecture_paths_table = lecture_paths.load(source)
    add_marks(doctree, docname, table)


def setup(app) -> dict:
    app.add_config_value("lecture_paths_file", "teaching/paths.yml", "env")
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
