"""``{glue:md}`page.ipynb::key``` resolves: a glued Markdown sentence in a translated paragraph.

Sphinx parses a translated paragraph again in a document of its own, without the notebook's glue
data, so ``tools/i18n.py`` qualifies every glue reference of a translation with its page
(``{glue:md}`06_remedies.ipynb::keep_conclusion:commonmark```). myst-nb 1.x resolves that form for
``{glue}`` and ``{glue:text}`` (a pending reference, filled in after the build read the page) but its
``{glue:md}`` role has no cross-document form: it warns "key not found" and the sentence is dropped
(the Russian edition failed with 56 such warnings under ``-W``).

This extension replaces the ``glue`` domain's ``md`` role with one that, for a ``page::key`` target,
reads the key's ``text/markdown`` from the page's glue file (``<page>.glue.json`` in myst-nb's output
folder, written when the page's notebook was parsed, before its translated paragraphs are) and
parses it as inline MyST, as the local form does. A missing page, key or Markdown is a warning, so
``-W`` fails the build. The local form ``{glue:md}`key``` is myst-nb's own role, unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes


def markdown_from_glue_file(output_folder: str | Path, docname: str, key: str) -> str:
    """The ``text/markdown`` glued under ``key`` by the page ``docname``; ``LookupError`` saying what is
    missing otherwise."""
    path = Path(output_folder).joinpath(*docname.split("/")).with_name(docname.split("/")[-1] + ".glue.json")
    if not path.exists():
        raise LookupError(f"no glue data for {docname!r} (expected {path.name}; was the page read before?)")
    data = json.loads(path.read_text(encoding="utf8"))
    if key not in data:
        raise LookupError(f"glue key {key!r} not found in {docname!r}")
    markdown = data[key].get("data", {}).get("text/markdown")
    if markdown is None:
        raise LookupError(f"no text/markdown in glue key {key!r} of {docname!r}")
    return markdown


def _role_class():
    from myst_nb.ext.glue.roles import PasteMarkdownRole
    from myst_nb.ext.glue.utils import glue_warning

    class PasteMarkdownAnywhere(PasteMarkdownRole):
        """myst-nb's ``glue:md`` role, plus the ``page::key[:format]`` form."""

        def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
            page, qualified, rest = self.text.partition("::")
            if not qualified:
                return super().run()
            key = rest.rsplit(":", 1)[0]  # the format after the key (":commonmark") is the only one
            env = getattr(self.document.settings, "env", None)
            if env is None:
                return [], [glue_warning("page::key glue needs Sphinx", self.document, self.line)]
            _, filepath = env.relfn2path(page, env.docname)
            docname = env.path2doc(filepath)
            if docname is None:
                return [], [glue_warning(f"glue page not found: {page!r}", self.document, self.line)]
            try:
                markdown = markdown_from_glue_file(env.mystnb_config.output_folder, docname, key)
            except LookupError as exc:
                return [], [glue_warning(str(exc), self.document, self.line)]
            parsed, messages = self.inliner.parse(markdown, self.line, None, nodes.inline())
            for node in parsed:
                self.set_source_info(node)
            return list(parsed), list(messages)

    return PasteMarkdownAnywhere


def setup(app: Any) -> dict[str, Any]:
    from myst_nb.ext.glue.domain import NbGlueDomain

    class GlueDomain(NbGlueDomain):
        roles = {**NbGlueDomain.roles, "md": _role_class()()}

    app.setup_extension("myst_nb")
    app.add_domain(GlueDomain, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
