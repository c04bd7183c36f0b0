"""Blocks of a protocol document and the templates that word them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialplan._validation import did_you_mean
from trialplan.report.formatting import num, pct, share

__all__ = ["Block", "environment", "lines", "paragraphs", "render_text"]

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Block:
    """One element of a protocol document.

    Attributes
    ----------
    kind : {"heading", "paragraph", "list", "table", "figure", "code"}
        What the block is.
    text : str
        Heading or paragraph text, a table caption, a figure caption or code.
    level : int
        Heading level (1 = title).
    items : tuple of str
        List items.
    header : tuple of str
        Table column names.
    rows : tuple of tuple of str
        Table cells, already formatted.
    path : str
        A figure's path without suffix, relative to the document.

    Examples
    --------
    >>> from trialplan.report import Block
    >>> table = Block("table", "Power of each hypothesis", header=("Hypothesis", "Power"),
    ...               rows=(("A", "91.2%"), ("A:B", "19.7%")))
    >>> table.kind, table.header, len(table.rows)
    ('table', ('Hypothesis', 'Power'), 2)
    """

    kind: str
    text: str = ""
    level: int = 2
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    path: str = ""


def environment(*, html: bool = False) -> Any:
    """The Jinja2 environment of the templates (strict: a missing value is an error)."""
    try:
        # deferred: only protocol text needs jinja2 (optional)
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("protocol text needs Jinja2: pip install 'trialplan[full]'") from exc
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=num,
        pct=pct,
        pct0=share,
        mdcell=lambda text: str(text).replace("|", "\\|"),
    )
    return env


def render_text(template: str, context: Mapping[str, Any]) -> list[str]:
    """Render a plain-text template into paragraphs.

    Blank lines separate paragraphs; line breaks inside a paragraph become
    single spaces, so templates can wrap their wording freely.

    Parameters
    ----------
    template : str
        File name in ``trialplan/report/templates``, e.g.
        ``"sample_size.txt.j2"``.
    context : mapping
        Template variables (see :func:`trialplan.report.context.protocol_context`).

    Returns
    -------
    list of str
        The paragraphs.

    Examples
    --------
    >>> render_text("reproducibility.txt.j2", {"version": "1.0", "python": "3.11",
    ...     "numpy": "2", "scipy": "1", "spec_hash": "ab", "method": "exact",
    ...     "simulation": None, "randomization_seed": "1", "spec_name": "t.toml",
    ...     "out_name": "out"})[0].split(" Python")[0]
    'trialplan version: 1.0'
    """
    env = environment()
    names = env.list_templates()
    if template not in names:  # jinja2's TemplateNotFound named no alternatives
        raise ValueError(
            f"template={template!r} is not a trialplan template; choose one of "
            f"{names}" + did_you_mean(template, names)
        )
    if not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping of template variables; got context={context!r}")
    text = env.get_template(template).render(**context)
    found = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    found = [re.sub(r"\s+([,.;:)])", r"\1", p) for p in found]
    return [re.sub(r"\(\s+", "(", p) for p in found if p]


def paragraphs(template: str, context: Mapping[str, Any]) -> list[Block]:
    """A template's paragraphs as paragraph blocks."""
    return [Block("paragraph", p) for p in render_text(template, context)]


def lines(template: str, context: Mapping[str, Any]) -> list[str]:
    """A template's non-empty lines (list items, code lines)."""
    text = environment().get_template(template).render(**context)
    return [line.strip() for line in text.splitlines() if line.strip()]
