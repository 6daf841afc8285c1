"""A language switcher on every page: links to the same page in each edition of the book (issue 31).

Loaded from _config.yml (``sphinx.local_extensions``). The editions share one site: English at the site's
root (``_build/html``, ``make book``), each translation in a folder named by its language code
(``_build/html/ru``, ``_build/html/zh_CN``; ``make book-all``, ``tools/i18n.py``). Every page gets, at the
top of its article, a ``<nav aria-label="Language">`` with one link per edition (``lang`` and ``hreflang``
set, the current edition marked ``aria-current="page"``): plain links, so it works without JavaScript
and without a kernel, on the static site and offline. Each link points at the same page (same docname)
in the other edition, relative to the page, so the site works from any folder or host.

Configuration (``sphinx.config`` or ``-D``):

* ``course_languages``: ``[[code, name], ...]``, the editions in the order shown; the first is the one at
  the site's root. Default: English alone, and then no switcher is shown (``make book``: the other
  editions are not built, and a link to them would be dead); ``tools/i18n.py`` sets all three.
* ``language``: Sphinx's own setting picks the current edition (``None``/``en``: the root one).

What a cell computed stays as computed in every edition (:class:`OutputsAsComputed`): the text of a
notebook's outputs (a printed result, a checker's verdict, the scale note) depends on the scale and the
run, so it is neither extracted for translation nor replaced by one; a figure's caption and alt text,
which the notebook states, are translated.
"""
from __future__ import annotations

import html
from typing import Any

# ``make book`` builds the English edition alone: no other edition to link to, so no switcher.
# ``make book-all`` (tools/i18n.py) sets all three.
DEFAULT_LANGUAGES = [["en", "English"]]
NAV_CLASS = "course-language-switcher"


def html_lang(code: str) -> str:
    """The BCP 47 tag of a Sphinx language code (``zh_CN`` -> ``zh-CN``)."""
    return code.replace("_", "-")


def edition_of(language: str | None, languages: list[list[str]]) -> str:
    """The edition code of Sphinx's ``language`` setting: the root edition for ``None`` or an unknown one."""
    codes = [code for code, _ in languages]
    if language in codes:
        return str(language)
    if language and language.split("_")[0] in codes:
        return language.split("_")[0]
    return codes[0]


def edition_prefix(code: str, languages: list[list[str]]) -> str:
    """Where an edition lives below the site's root: ``""`` for the first (root) one, else ``"<code>/"``."""
    return "" if code == languages[0][0] else f"{code}/"


def switcher_links(pagename: str, current: str, languages: list[list[str]], suffix: str = ".html") -> list[dict[str, str]]:
    """For page ``pagename`` of edition ``current``: one ``{code, name, href, current}`` per edition.

    ``href`` is relative to the page: up to the site's root (the page's folder depth plus the edition's
    own folder), then down into the other edition's folder and the same page.
    """
    if not languages:
        raise ValueError("languages must name at least one edition, got an empty list")
    depth = pagename.count("/") + edition_prefix(current, languages).count("/")
    up = "../" * depth
    return [{"code": code, "name": name, "href": f"{up}{edition_prefix(code, languages)}{pagename}{suffix}",
             "current": "true" if code == current else ""} for code, name in languages]


def switcher_html(pagename: str, current: str, languages: list[list[str]], suffix: str = ".html") -> str:
    """The switcher's HTML: a labelled nav with a list of links, the current edition marked."""
    items = []
    for link in switcher_links(pagename, current, languages, suffix):
        lang = html_lang(link["code"])
        attrs = f'href="{html.escape(link["href"])}" lang="{lang}" hreflang="{lang}"'
        if link["current"]:
            attrs += ' aria-current="page"'
        items.append(f'<li><a {attrs}>{html.escape(link["name"])}</a></li>')
    return (f'<nav class="{NAV_CLASS}" aria-label="Language / Язык / 语言">'
            f'<ul>{"".join(items)}</ul></nav>')


STYLE = (f".{NAV_CLASS}{{font-size:.85rem;margin:0 0 1rem 0}}"
         f".{NAV_CLASS} ul{{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .9rem}}"
         f".{NAV_CLASS} a[aria-current=page]{{font-weight:700;text-decoration:none;color:inherit}}")


def _on_page(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    body = context.get("body")
    if doctree is None or not isinstance(body, str):  # search, genindex: no article to put it in
        return
    languages = app.config.course_languages
    if len(languages) < 2:
        return
    current = edition_of(app.config.language, languages)
    suffix = app.builder.link_suffix if hasattr(app.builder, "link_suffix") else ".html"
    context["body"] = switcher_html(pagename, current, languages, suffix) + body


def _translate_toctree_captions(app: Any, doctree: Any) -> None:
    """The table of contents' part captions ("The course", "Reference") in the edition's language.

    The gettext builder extracts them (into the root page's catalogue) but Sphinx 7's translation
    transform leaves a toctree's caption alone, so the sidebar kept the English. Runs before the
    table-of-contents collector reads the page.
    """
    language = app.config.language
    if not language or language == "en":
        return
    import os

    from sphinx import addnodes
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    toctrees = [node for node in doctree.findall(addnodes.toctree) if node.get("caption")]
    if not toctrees:
        return
    dirs = [os.path.join(app.srcdir, folder) for folder in app.config.locale_dirs]
    domain = docname_to_domain(app.env.docname, app.config.gettext_compact)
    catalog, found = init_locale(dirs, language, domain)
    if found:
        for node in toctrees:
            node["caption"] = catalog.gettext(node["caption"])


def _add_style(app: Any) -> None:
    from pathlib import Path

    from madlib.core.cache import atomic_write_text

    if app.builder.format == "html":
        atomic_write_text(Path(app.outdir) / "_static" / "language-switcher.css", STYLE)


def _outputs_as_computed_class():
    from docutils import nodes
    from sphinx.transforms import SphinxTransform

    class OutputsAsComputed(SphinxTransform):
        """Text inside a cell's outputs is not translatable, except figure captions and alt texts (see the
    module's docstring)."""

        # after Sphinx's ExtraTranslatableNodes (10), which marks every image translatable, and before its
        # Locale transform (20) and the gettext builder's reading
        default_priority = 11

        def apply(self, **kwargs: Any) -> None:
            for output in self.document.findall(nodes.container):
                if "cell_output" not in output.get("classes", []):
                    continue
                for image in output.findall(nodes.image):
                    # its alt text is translated; its file (named by a hash of this run's picture) is not
                    image["translatable"] = False
                for node in output.findall(nodes.TextElement):
                    if not isinstance(node, nodes.caption) and not any(
                            isinstance(parent, nodes.caption) for parent in _ancestors(node, output)):
                        node["translatable"] = False

    return OutputsAsComputed


def _ancestors(node: Any, stop: Any) -> Any:
    parent = node.parent
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.parent


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("course_languages", DEFAULT_LANGUAGES, "html")
    app.add_transform(_outputs_as_computed_class())
    app.connect("builder-inited", _add_style)
    app.connect("doctree-read", _translate_toctree_captions, priority=100)
    app.add_css_file("language-switcher.css")
    app.connect("html-page-context", _on_page, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
