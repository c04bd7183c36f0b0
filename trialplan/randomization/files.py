"""Randomization files: CSV export with provenance headers, and exact read-back.

Schedules and minimization audit logs are written by :func:`write_csv`: ``#``
header lines (labels that are not plain words as JSON strings, line breaks
escaped, so each item keeps one line), then a table in which every text field
is quoted and text a spreadsheet would run as a formula is escaped with a
leading ``'``; the file is written to a temporary file and renamed.
:func:`read_schedule` and :func:`read_minimization_log` read them back exactly.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import numbers
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "header_label",
    "levels_text",
    "read_minimization_log",
    "read_schedule",
    "write_csv",
]


#: A text field starting with one of these is written with a leading "'" (OWASP's
#: defence against spreadsheet formula injection); "'" itself is included so that
#: the escape can be undone without ambiguity.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
#: A label written bare in a header line: starts with a letter or "_", no
#: delimiters of the header syntax (",", ";", "=", parentheses, quotes, "#").
_PLAIN_LABEL = re.compile(r"[^\W\d](?:[\w .+/-]*[\w.+/-])?")
_LABEL_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+|[^\W\d](?:[\w .+/-]*[\w.+/-])?')
#: Characters that end a line for some reader (str.splitlines, editors).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def header_label(value: Any) -> str:
    """A level or name for a header line: bare if plain, else a JSON string."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    text = str(value)
    if _PLAIN_LABEL.fullmatch(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # escapes only characters below U+0020
    return "".join(f"\\u{ord(ch):04x}" if _breaks_line(ch) else ch for ch in quoted)


def _breaks_line(ch: str) -> bool:
    return ch in _LINE_BREAKS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def _one_line(text: str) -> str:
    """Text that stays on one header line: line breaks and control characters escaped."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if _breaks_line(ch) else ch for ch in text
    )


def levels_text(levels: Mapping[str, Sequence[Any]]) -> str:
    """``name=(level, level); ...`` with every name and level written by :func:`header_label`."""
    return (
        "; ".join(
            f"{header_label(v)}=({', '.join(header_label(lv) for lv in lvs)})"
            for v, lvs in levels.items()
        )
        or "none"
    )


def _parse_levels(text: str) -> dict[str, tuple[Any, ...]]:
    """Invert :func:`levels_text`."""
    if text == "none":
        return {}

    def token(pos: int) -> tuple[Any, int]:
        match = _LABEL_TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read a label at character {pos} of {text!r}")
        word = match.group()
        if word.startswith('"'):
            return json.loads(word), match.end()
        if re.fullmatch(r"-?\d+", word):
            return int(word), match.end()
        return word, match.end()

    def expect(literal: str, pos: int) -> int:
        if not text.startswith(literal, pos):
            raise ValueError(f"expected {literal!r} at character {pos} of {text!r}")
        return pos + len(literal)

    out: dict[str, tuple[Any, ...]] = {}
    pos = 0
    while True:
        name, pos = token(pos)
        pos = expect("=(", pos)
        levels = []
        while True:
            level, pos = token(pos)
            levels.append(level)
            if text.startswith(", ", pos):
                pos += 2
                continue
            pos = expect(")", pos)
            break
        out[str(name)] = tuple(levels)
        if pos == len(text):
            return out
        pos = expect("; ", pos)


def _csv_cell(value: Any) -> Any:
    """Return what the csv writer gets: whole numbers and floats as numbers, text escaped."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(
    path: str | Path, header: Sequence[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    """Write ``# `` header lines, then a CSV table, atomically (a temporary file renamed).

    Every text field is quoted (``csv.QUOTE_NONNUMERIC``), so delimiters, ``#``,
    quotes and line breaks inside labels survive; numbers are not, which is how
    the reader tells the number 1 from the text "1".
    """
    path = Path(path)
    buffer = io.StringIO(newline="")
    for line in header:
        buffer.write(f"# {_one_line(line)}\n")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow([_csv_cell(str(c)) for c in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    text = buffer.getvalue()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot write {str(path)!r} as UTF-8: a label contains "
            f"{exc.object[exc.start : exc.end]!r}, a lone surrogate that is not a character "
            f"(near {exc.object[max(0, exc.start - 20) : exc.end + 20]!r}); fix the label"
        ) from None
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _read_csv(path: str | Path, *, kind: str) -> tuple[dict[str, str], list[str], list[list[Any]]]:
    """Read a file written by :func:`write_csv`: header, column names, typed rows."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    text = text.removeprefix("\ufeff")  # a byte-order mark added by an editor
    header: dict[str, str] = {}
    title = None
    while text.startswith("#"):
        end = text.find("\n")
        line, text = (text, "") if end < 0 else (text[:end], text[end + 1 :])
        line = line[1:].removeprefix(" ").removesuffix("\r")
        if title is None:
            title = line
        key, sep, value = line.partition(": ")
        if sep:
            header[key] = value
    if title is None or kind not in title:
        raise ValueError(
            f"{str(path)!r} is not a trialplan {kind} CSV (its first line should start "
            f"with '# trialplan {kind}'); got {title!r}"
        )
    texts = list(csv.reader(io.StringIO(text, newline="")))
    try:
        typed = list(csv.reader(io.StringIO(text, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r} has an unquoted field that is not a number ({exc}): it was "
            "changed after trialplan wrote it (text fields are always quoted)"
        ) from None
    if not texts:
        return header, [], []
    columns = [_uncell(t, q) for t, q in zip(texts[0], typed[0], strict=True)]
    rows = []
    for i, (row_text, row_typed) in enumerate(zip(texts[1:], typed[1:], strict=True), start=2):
        if len(row_text) != len(columns):
            raise ValueError(
                f"{str(path)!r}: data row {i - 1} has {len(row_text)} fields, not "
                f"{len(columns)}; the file was changed after trialplan wrote it"
            )
        rows.append([_uncell(t, q) for t, q in zip(row_text, row_typed, strict=True)])
    return header, columns, rows


def _uncell(text: str, typed: Any) -> Any:
    """Invert :func:`_csv_cell` for one field (``typed`` is str when the field was quoted)."""
    if isinstance(typed, str):
        return text[1:] if text.startswith("'") else text
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def read_schedule(path: str | Path) -> pd.DataFrame:
    """Read a schedule CSV written by :meth:`Schedule.to_csv`, exactly as written.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pandas.DataFrame
        Equal to the ``schedule.to_frame(blocks=...)`` that was written: the
        same columns, values and types (a stratum level 1 stays the number 1,
        a level "1" the text "1"), whatever the labels contain (delimiters,
        ``#``, quotes, line breaks, a leading ``=``).  ``frame.attrs`` holds
        ``"header"`` (each ``# key: value`` line as text) and ``"strata"``
        (the stratification variables and their levels).

    Raises
    ------
    ValueError
        If the file is not a trialplan schedule or was changed after it was
        written (a wrong number of fields, an unquoted text field).

    Notes
    -----
    Text fields are quoted and a text that begins with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return (or ``'``) is written with a leading
    ``'``, so a spreadsheet shows it as text instead of running it as a
    formula (OWASP, CSV injection); this function removes that ``'``.  Plain
    ``pandas.read_csv(path, comment="#")`` reads most files too, but keeps the
    ``'`` and guesses the types.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd, trialplan as tp
    >>> d = tp.Parallel(arms=("=SUM(A1)", "B"), outcome=tp.Continuous(
    ...     means={"=SUM(A1)": 0, "B": 1}, sd=1.0), n_per_arm=20)
    >>> s = tp.randomization.permuted_blocks(
    ...     d, n=4, strata={"site": ("Site #1", "Site, 2")}, seed=7)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = tp.randomization.read_schedule(s.to_csv(pathlib.Path(tmp) / "s.csv"))
    >>> back.equals(s.to_frame()), back.attrs["strata"]
    (True, {'site': ('Site #1', 'Site, 2')})
    """
    header, columns, rows = _read_csv(path, kind="randomization schedule")
    counts = {"sequence", "block", "block_size"}
    for row in rows:
        for j, column in enumerate(columns):
            if column in counts and not isinstance(row[j], int):
                raise ValueError(f"{str(path)!r}: column {column!r} holds {row[j]!r}, not a count")
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame.attrs["header"] = header
    frame.attrs["strata"] = _parse_levels(header.get("strata", "none"))
    return frame


def read_minimization_log(path: str | Path) -> pd.DataFrame:
    """Read an audit log written by :meth:`Minimization.to_csv`, exactly as written.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pandas.DataFrame
        Equal to the ``Minimization.log()`` that was written (participant
        identifiers keep their type, text or whole number).  ``frame.attrs``
        holds ``"header"`` (each ``# key: value`` line as text) and
        ``"factors"`` (the minimization factors and their levels).

    Raises
    ------
    ValueError
        If the file is not a trialplan minimization audit log or was changed
        after it was written.

    Examples
    --------
    >>> import tempfile, pathlib, trialplan as tp
    >>> d = tp.Parallel(arms=("A", "B"), outcome=tp.Continuous(means={"A": 0, "B": 1},
    ...                 sd=1.0), n_per_arm=20)
    >>> m = tp.randomization.Minimization(d, factors={"site": ("+1", "#2")}, seed=0)
    >>> _ = [m.assign({"site": s}) for s in ("+1", "#2", "+1")]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = tp.randomization.read_minimization_log(m.to_csv(pathlib.Path(tmp) / "a.csv"))
    >>> back.equals(m.log()), back["site"].tolist()
    (True, ['+1', '#2', '+1'])
    """
    header, columns, rows = _read_csv(path, kind="minimization audit log")
    frame = pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows])
    if not rows:
        frame = pd.DataFrame()
    frame.attrs["header"] = header
    frame.attrs["factors"] = _parse_levels(header.get("factors", "none"))
    return frame
