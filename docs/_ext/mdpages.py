"""The documentation's Markdown pages: their fenced blocks, and the notebooks built from them.

One reading of a page serves both the site and the test of its examples:

* :func:`extract_blocks` finds every fenced block of a page (CommonMark fences
  and MyST's ```` ```{code-cell} ```` / ```` ```{code-block} python ````, also
  inside MyST directives); ``tests/test_docs_examples.py`` runs them;
* :func:`read_page` is the MyST-NB reader of ``docs/*.md`` (``nb_custom_formats``
  in ``docs/conf.py``): it turns the same page into a notebook that MyST-NB
  executes when the site is built, so every table and figure a reader sees is
  the one the code produces now.

The page keeps its plain Markdown: a top-level ```` ```python ```` block becomes
an executed cell whose output appears under it, and the block that shows its
printed output on the page (a ```` ``` ```` or ```` ```text ```` fence right after
it, which the test compares with what the code prints) gives way to that live
output. Doctest blocks and python blocks inside lists stay as written (the test
runs them) and run in a hidden cell, so later cells see their names. A
```` ```bash ```` block's ``trialplan`` commands run too, and their output is shown
below the block. ``<!-- no-run: reason -->`` before a fence keeps it static, as
in the test.
"""

from __future__ import annotations

import doctest
import json
import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Block", "extract_blocks", "read_page", "trialplan_commands"]

#: An opening or closing fence: backticks or tildes, then the info string.
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
#: A MyST colon-fence directive (``:::{note}`` ... ``:::``).
COLON = re.compile(r"^(?P<indent>[ \t]*)(?P<colons>:{3,})[ \t]*(?P<info>.*?)[ \t]*$")
NO_RUN = re.compile(r"<!--\s*no-run:\s*(?P<reason>\S.*?)\s*-->")
#: MyST directives whose body is code in the language their argument names.
CODE_DIRECTIVES = {"code-cell", "code-block", "code", "sourcecode"}


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    no_run: str | None  # the reason given by a ``<!-- no-run: ... -->`` marker
    follows_block: bool  # only blank lines between the previous block's fence and this one
    indent: str = ""  # the opening fence's indentation (a block inside a list item)
    nested: bool = False  # inside a MyST directive (```{note} ... or :::{note} ...)
    end: int = 0  # 1-based line of the closing fence
    cell: bool = False  # a MyST-NB ```{code-cell}
    tags: tuple[str, ...] = field(default=())  # a code cell's ``:tags:``

    @property
    def doctest(self) -> bool:
        """Whether the block is written as an interactive session (``>>>``)."""
        return self.code.lstrip().startswith(">>>")

    @property
    def top_level(self) -> bool:
        """Whether the block stands on its own, not in a list item or a directive."""
        return not self.indent and not self.nested


def _dedent(lines: list[str], indent: str) -> str:
    out = []
    for text in lines:
        out.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
    return "\n".join(out) + "\n"


def _language(info: str) -> tuple[str, bool, bool]:
    """Language of a fence's info string, whether it is a code cell, whether a directive."""
    info = info.strip()
    if info.startswith("{"):
        name, _, arg = info[1:].partition("}")
        if name not in CODE_DIRECTIVES:
            return "", False, True
        lang = arg.strip().split()[0].lower() if arg.strip() else "python"
        if lang in ("ipython3", "ipython", "python3", "py"):
            lang = "python"
        return lang, name == "code-cell", False
    return (info.split()[0].lower() if info else ""), False, False


def _options(lines: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Split a MyST directive's option lines (``:key: value`` or a ``---`` block) off its body."""
    options: dict[str, str] = {}
    i = 0
    if lines and lines[0].strip() == "---":
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), None)
        if end is not None:
            for text in lines[1:end]:
                key, _, value = text.partition(":")
                options[key.strip()] = value.strip()
            i = end + 1
    else:
        while i < len(lines) and re.match(r"^\s*:[\w-]+:", lines[i]):
            key, _, value = lines[i].strip()[1:].partition(":")
            options[key.strip()] = value.strip()
            i += 1
    tags = tuple(
        t.strip().strip("'\"") for t in options.get("tags", "").strip("[]").split(",") if t.strip()
    )
    return lines[i:], tags


def extract_blocks(text: str) -> list[Block]:
    """Return the fenced code blocks of a Markdown (MyST) text, in order.

    Fences of MyST directives that are not code (```` ```{note} ````, ``:::{tip}``)
    are looked into, not returned: the blocks inside them are returned, marked
    ``nested``.

    Raises
    ------
    AssertionError
        For a fence that is never closed.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    directives: list[tuple[str, int]] = []  # open directive fences: (char, length)
    last_close = -10
    i = 0
    while i < len(lines):
        line = lines[i]
        colon = COLON.match(line)
        if colon and (colon["info"].startswith("{") or directives):
            if colon["info"].startswith("{"):
                directives.append((":", len(colon["colons"])))
            elif not colon["info"] and directives and directives[-1][0] == ":":
                directives.pop()
            i += 1
            continue
        match = FENCE.match(line)
        if not match:
            i += 1
            continue
        ticks, info = match["ticks"], match["info"]
        if not info and directives and directives[-1] == (ticks[0], len(ticks)):
            directives.pop()  # closes a directive opened with as many ticks
            last_close = i
            i += 1
            continue
        lang, cell, directive = _language(info)
        if directive:
            directives.append((ticks[0], len(ticks)))
            i += 1
            continue
        indent = match["indent"]
        start = i
        j = i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if (
                close
                and not close["info"]
                and close["ticks"][0] == ticks[0]
                and len(close["ticks"]) >= len(ticks)
            ):
                break
            j += 1
        if j == len(lines):
            raise AssertionError(f"unclosed fence at line {start + 1}")
        body = lines[start + 1 : j]
        tags: tuple[str, ...] = ()
        if info.startswith("{"):
            body, tags = _options(body)
        previous = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = NO_RUN.search(previous)
        between = lines[last_close + 1 : start] if last_close >= 0 else ["x"]
        blocks.append(
            Block(
                lang=lang,
                code=_dedent(body, indent),
                line=start + 1,
                no_run=marker["reason"] if marker else None,
                follows_block=not any(s.strip() for s in between),
                indent=indent,
                nested=bool(directives),
                end=j + 1,
                cell=cell,
                tags=tags,
            )
        )
        last_close = j
        i = j + 1
    return blocks


def trialplan_commands(code: str) -> list[list[str]]:
    """The ``trialplan ...`` commands of a shell block, as argument lists (without the name)."""
    commands = []
    for raw in code.splitlines():
        for command in raw.split("&&"):
            words = shlex.split(command, comments=True)
            if words and words[0] == "trialplan":
                commands.append(words[1:])
    return commands


def _doctest_source(code: str) -> str:
    """The statements of a doctest block, without prompts and expected output."""
    examples = doctest.DocTestParser().get_examples(code)
    return "".join(example.source for example in examples)


#: Defines the helper the command cells call: run ``trialplan`` in this kernel and
#: show what it printed, failing the build on a non-zero exit status.
_CLI_HELPER = """\
def _trialplan_docs_run(argv):
    import contextlib, io, shlex
    from trialplan.cli import main
    err = io.StringIO()
    print("$ trialplan " + shlex.join(argv))
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    if code:
        raise RuntimeError(f"trialplan {shlex.join(argv)} exited {code}: {err.getvalue()}")
"""


#: The hidden first cell of every executed page: matplotlib figures, also those built
#: without pyplot (trialplan's protocol figures), are shown as images.
SETUP = "%matplotlib inline"


def _code_cell(source: str, tags: tuple[str, ...] = ()) -> dict:
    metadata = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": metadata,
        "outputs": [],
        "source": source.rstrip("\n"),
    }


def _markdown_cell(lines: list[str]) -> dict | None:
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        return None
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _front_matter(lines: list[str]) -> tuple[dict, int]:
    """A page's YAML top matter (``---`` ... ``---``) and the index of its first body line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((k for k in range(1, len(lines)) if lines[k].strip() in ("---", "...")), None)
    if end is None:
        return {}, 0
    import yaml

    data = yaml.safe_load("\n".join(lines[1:end])) or {}
    return (data if isinstance(data, dict) else {}), end + 1


def page_cells(text: str) -> tuple[dict, list[dict]]:
    """The notebook metadata and cells of a Markdown page (see the module docstring)."""
    lines = text.splitlines()
    metadata, body_start = _front_matter(lines)
    blocks = [b for b in extract_blocks(text) if b.line > body_start]
    cells: list[dict] = []
    hidden: list[str] = []  # code of static blocks, run before the next visible cell
    cursor = body_start  # 0-based index of the first line not yet in a cell
    shown_output = False  # the previous block became a visible cell with live output
    helper_defined = False

    def flush(upto: int) -> None:
        nonlocal cursor
        cell = _markdown_cell(lines[cursor:upto])
        if cell:
            cells.append(cell)
        cursor = max(cursor, upto)
        if hidden:
            cells.append(_code_cell("\n".join(h.strip("\n") for h in hidden), ("remove-cell",)))
            hidden.clear()

    for block in blocks:
        runs = block.no_run is None
        if block.lang == "python" and runs:
            source = _doctest_source(block.code) if block.doctest else block.code
            if block.top_level and not block.doctest:
                flush(block.line - 1)
                tags = block.tags
                cells.append(_code_cell(source, tags))
                cursor = block.end
                shown_output = True
                continue
            hidden.append(source)
        elif block.lang in ("", "text") and shown_output and block.follows_block:
            cursor = block.end  # the live output replaces the copy on the page
        elif block.lang in ("bash", "console", "shell", "sh") and runs and block.top_level:
            commands = trialplan_commands(block.code)
            if commands:
                flush(block.end)
                calls = "\n".join(f"_trialplan_docs_run({json.dumps(argv)})" for argv in commands)
                if not helper_defined:
                    calls = _CLI_HELPER + "\n\n" + calls
                    helper_defined = True
                cells.append(_code_cell(calls, ("remove-input",)))
        shown_output = False
    flush(len(lines))
    if any(cell["cell_type"] == "code" for cell in cells):
        cells.insert(0, _code_cell(SETUP, ("remove-cell",)))
    return metadata, cells


def read_page(text: str, **_: object) -> object:
    """MyST-NB reader: the notebook of a Markdown page (``nb_custom_formats``).

    Pages without code to run are marked so that MyST-NB does not start a kernel.
    """
    import nbformat

    metadata, cells = page_cells(text)
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
            **metadata,
        },
        "cells": cells,
    }
    if not any(cell["cell_type"] == "code" for cell in cells):
        notebook["metadata"].setdefault("mystnb", {})["execution_mode"] = "off"
    for k, cell in enumerate(notebook["cells"]):
        cell["id"] = f"cell-{k}"
    return nbformat.from_dict(notebook)
