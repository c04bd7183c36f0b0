"""Fail the build on Markdown that only mkdocs understood.

Pages are written by several authors, some used to the old mkdocs site. MyST
would show these lines as plain text, silently, so each is a warning (an error
under ``-W``) naming the line and what to write instead:

* ``::: trialplan.name`` (mkdocstrings): the object has its own API page; link it
  with ``{py:obj}`trialplan.name``` (or ``~trialplan.name`` to show the last part);
* ``!!! note "Title"`` / ``??? note`` (admonitions): write ``:::{note}`` ... ``:::``.
"""

from __future__ import annotations

import re
from typing import Any

PATTERNS = {
    re.compile(r"^::: +[\w.]+\s*$"): "an mkdocstrings block; link the API page with "
    "{py:obj}`~NAME` instead",
    re.compile(r"^(!!!|\?\?\?\+?) +\w+"): "an mkdocs admonition; write :::{note} ... ::: "
    "(or :::{warning}, :::{tip}) instead",
}


def _logger() -> Any:
    """Sphinx's logger, imported on use: tests call :func:`leftovers` without Sphinx."""
    from sphinx.util import logging

    return logging.getLogger(__name__)


def leftovers(text: str) -> list[tuple[int, str, str]]:
    """``(line number, line, advice)`` for every mkdocs-only line outside code fences."""
    found, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        match = re.match(r"(`{3,}|~{3,})", stripped)
        if match:
            if fence is None:
                fence = match.group(1)
            elif stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = None
            continue
        if fence is None:
            for pattern, advice in PATTERNS.items():
                if pattern.match(line):
                    found.append((number, line, advice))
    return found


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    path = app.env.doc2path(docname)
    if not str(path).endswith(".md"):
        return
    for number, line, advice in leftovers(source[0]):
        _logger().warning(f"{line.strip()!r} is {advice}", location=(docname, number))


def setup(app: Any) -> dict[str, Any]:
    """Check every Markdown page when it is read."""
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
