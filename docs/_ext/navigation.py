"""The site's navigation: the root page's toctrees, built from ``NAVIGATION`` in conf.py.

Pages are written by several authors at once, so the navigation follows the
pages that exist: a page listed in ``NAVIGATION`` but not written yet is left
out, and a ``docs/*.md`` page that is not listed is added to the
``navigation_topics`` section. A new page therefore never fails the build with
"document isn't included in any toctree".

The toctrees replace the marker ``<!-- navigation -->`` of the root page (or are
appended to it when the marker is missing).
"""

from __future__ import annotations

import logging
from typing import Any

MARKER = "<!-- navigation -->"
log = logging.getLogger(__name__)


def sections(
    navigation: list[tuple[str, list[str]]], found: set[str], topics: str, root: str = "index"
) -> list[tuple[str, list[str]]]:
    """The sections with the pages that exist, unlisted top-level pages added to ``topics``.

    Pages in sub-folders (API pages, gallery pages) belong to their own index
    pages' toctrees and are not added.
    """
    listed = {page for _, pages in navigation for page in pages}
    kept = []
    for caption, pages in navigation:
        present = [p for p in pages if p in found]
        for page in pages:
            if page not in found:
                log.info("navigation: %s is not written yet; left out", page)
        kept.append((caption, present))
    extra = sorted(p for p in found if "/" not in p and p != root and p not in listed)
    if extra:
        for caption, pages in kept:
            if caption == topics:
                pages.extend(extra)
                break
        else:
            kept.append((topics, extra))
    return [(caption, pages) for caption, pages in kept if pages]


def toctrees(parts: list[tuple[str, list[str]]]) -> str:
    """MyST toctree directives, one per section."""
    out = []
    for caption, pages in parts:
        out += ["```{toctree}", f":caption: {caption}", ":maxdepth: 2", ":hidden:", ""]
        out += pages
        out += ["```", ""]
    return "\n".join(out)


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    if docname != app.config.root_doc:
        return
    config = app.config
    parts = sections(
        config.NAVIGATION, set(app.env.found_docs), config.navigation_topics, config.root_doc
    )
    text = toctrees(parts)
    if MARKER in source[0]:
        source[0] = source[0].replace(MARKER, text)
    else:
        source[0] = source[0].rstrip("\n") + "\n\n" + text


def setup(app: Any) -> dict[str, Any]:
    """Register the configuration values and the source-read step."""
    app.add_config_value("NAVIGATION", [], "env")
    app.add_config_value("navigation_topics", "Topics", "env")
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
