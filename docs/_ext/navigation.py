"""The site's navigation, built from ``NAVIGATION`` in conf.py.

The site has a few sections (user guide, topics, examples, reference); each has
a landing page whose ``<!-- navigation -->`` marker becomes the toctree of the
section's pages, and the root page gets a hidden toctree of the landing pages
(the theme shows them in its header, and each section's pages in the sidebar).

Pages are written by several authors at once, so the navigation follows the
pages that exist: a page listed in ``NAVIGATION`` but not written yet is left
out, and a ``docs/*.md`` page that is not listed is added to the
``navigation_topics`` section. A new page therefore never fails the build with
"document isn't included in any toctree".
"""

from __future__ import annotations

import logging
from typing import Any

MARKER = "<!-- navigation -->"
log = logging.getLogger(__name__)


def sections(
    navigation: list[tuple[str, str, list[str]]], found: set[str], topics: str, root: str = "index"
) -> list[tuple[str, str, list[str]]]:
    """The sections ``(caption, landing page, pages)`` with the pages that exist.

    Top-level pages listed nowhere are added to the section captioned ``topics``.
    Pages in sub-folders (API pages, gallery pages) belong to their own index
    pages' toctrees and are not added.
    """
    listed = {landing for _, landing, _ in navigation}
    listed |= {page for _, _, pages in navigation for page in pages}
    kept = []
    for caption, landing, pages in navigation:
        if landing not in found:
            log.info("navigation: %s is not written yet; section %s left out", landing, caption)
            continue
        present = [p for p in pages if p in found]
        for page in sorted(set(pages) - found):
            log.info("navigation: %s is not written yet; left out", page)
        kept.append((caption, landing, present))
    extra = sorted(p for p in found if "/" not in p and p != root and p not in listed)
    if extra:
        for caption, _, pages in kept:
            if caption == topics:
                pages.extend(extra)
                break
        else:
            raise ValueError(f"navigation: no section captioned {topics!r} for {extra}")
    return kept


def toctree(pages: list[str], *, hidden: bool = False, caption: str = "") -> str:
    """A MyST toctree directive."""
    out = ["```{toctree}", ":maxdepth: 1"]
    if hidden:
        out.append(":hidden:")
    if caption:
        out.append(f":caption: {caption}")
    return "\n".join([*out, "", *pages, "```", ""])


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    config = app.config
    parts = sections(
        config.NAVIGATION, set(app.env.found_docs), config.navigation_topics, config.root_doc
    )
    if docname == config.root_doc:
        text = toctree([landing for _, landing, _ in parts], hidden=True)
    else:
        pages = next((pages for _, landing, pages in parts if landing == docname), None)
        if pages is None or (not pages and MARKER not in source[0]):
            return
        text = toctree(pages) if pages else ""
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
