"""mkdocs hook: keep the navigation in step with the pages that exist.

Topic pages are written by several authors; a page listed in ``mkdocs.yml``
but not yet written is dropped from the navigation, and a page that exists but
is not listed is appended under "Topics", so ``mkdocs build --strict`` passes
whichever pages have landed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.nav")


def _files(nav: Any) -> set[str]:
    found: set[str] = set()
    for item in nav or []:
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            for value in item.values():
                found |= _files(value) if isinstance(value, list) else {value}
    return found


def _prune(nav: Any, docs: Path) -> list[Any]:
    kept: list[Any] = []
    for item in nav or []:
        if isinstance(item, str):
            if (docs / item).exists():
                kept.append(item)
            else:
                log.info("nav: %s is not written yet; left out", item)
        elif isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                kept.append({title: _prune(value, docs)})
            elif (docs / value).exists() or "://" in value:
                kept.append(item)
            else:
                log.info("nav: %s is not written yet; left out", value)
    return kept


def on_config(config: Any) -> Any:
    """Drop missing pages from the navigation and add unlisted ones under Topics."""
    docs = Path(config["docs_dir"])
    nav = _prune(config["nav"], docs)
    listed = _files(nav)
    extra = sorted(
        p.relative_to(docs).as_posix()
        for p in docs.glob("*.md")
        if p.relative_to(docs).as_posix() not in listed
    )
    if extra:
        for item in nav:
            if isinstance(item, dict) and "Topics" in item:
                item["Topics"].extend(extra)
                break
        else:
            nav.append({"Topics": extra})
    config["nav"] = nav
    return config
