"""TOML text: decoding files, writing canonical TOML, and finding the line of a key.

* :func:`decode` reads a file's bytes: UTF-8 with or without a byte-order
  mark; anything else is a :class:`SpecError` naming the line and byte.
* :func:`write_table` writes the canonical form (scalars first, then one
  ``[a.b]`` section per sub-table; floats with :func:`repr`, which
  round-trips every binary64 value).
* :func:`key_lines` maps every key of a TOML text to the line it is on, so
  errors name the line as well as the key path.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from trialplan.spec.errors import SpecError

if sys.version_info >= (3, 11):  # pragma: no cover - version dependent
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["decode", "key_lines", "line_of", "parse", "string", "write_table"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


# ---------------------------------------------------------------------- read
def decode(data: bytes, source: str = "") -> str:
    r"""The text of a spec file: UTF-8, a leading byte-order mark dropped.

    Raises
    ------
    SpecError
        For bytes that are not UTF-8, naming the line, column and byte.

    Examples
    --------
    >>> decode(b"\xef\xbb\xbfspec_version = 1\n")
    'spec_version = 1\n'
    >>> decode(b"title = 'caf\xe9'\n", "t.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    trialplan.spec.errors.SpecError: the file is not UTF-8 text: byte 0xe9 at line 1, ...
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise SpecError(
            "",
            f"the file is not UTF-8 text: byte 0x{data[start]:02x} at line {line}, column "
            f"{column}; save it as UTF-8",
            line=line,
            source=source,
        ) from None


def parse(text: str) -> dict[str, Any]:
    """``tomllib.loads``, a syntax error as a SpecError with its line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise SpecError(
            "", f"not valid TOML: {exc}", line=int(match.group(1)) if match else None
        ) from None


# ---------------------------------------------------------------- key lines
def _parse_key(text: str) -> tuple[str, ...] | None:
    """The parts of a (dotted, quoted) TOML key, read by tomllib itself."""
    try:
        data = tomllib.loads(f"{text} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key, data = next(iter(data.items()))
        parts.append(key)
    return tuple(parts)


def _scan(text: str, start: int, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """Bracket depth and open multi-line string after ``text[start:]``; True at an ``=``."""
    i, equals = start, False
    while i < len(text):
        if quote is not None:
            if text.startswith(quote, i) and quote in ('"""', "'''"):
                quote, i = None, i + 3
                continue
            if quote == '"' and text[i] == "\\":
                i += 2
                continue
            if text[i] == quote:
                quote = None
            i += 1
            continue
        ch = text[i]
        if text.startswith('"""', i) or text.startswith("'''", i):
            quote, i = text[i : i + 3], i + 3
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            equals = True
        i += 1
    if quote in ('"', "'"):  # a one-line string never spans lines
        quote = None
    return depth, quote, equals


def _key_end(line: str) -> int:
    """Index of the ``=`` that ends a key on this line (-1 if none)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return i
        elif ch == "#":
            return -1
    return -1


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    r"""Line (1-based) of every table header and key in a TOML text.

    Examples
    --------
    >>> lines = key_lines('[design]\ntype = "x"\n\n[design.outcome]\nsd = [\n  1,\n]\n')
    >>> lines[("design", "type")], lines[("design", "outcome")], lines[("design", "outcome", "sd")]
    (2, 4, 5)
    """
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth, quote = 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth > 0 or quote is not None:
            depth, quote, _ = _scan(line, 0, depth, quote)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            inner = stripped[2:] if stripped.startswith("[[") else stripped[1:]
            close = _header_end(inner)
            parts = _parse_key(inner[:close]) if close >= 0 else None
            if parts is not None:
                table = parts
                found.setdefault(table, number)
            continue
        end = _key_end(line)
        if end < 0:
            continue
        parts = _parse_key(line[:end].strip())
        if parts is not None:
            for k in range(1, len(parts) + 1):
                found.setdefault(table + parts[:k], number)
        depth, quote, _ = _scan(line, end + 1, 0, None)
    return found


def _header_end(inner: str) -> int:
    quote = None
    for i, ch in enumerate(inner):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "]":
            return i
    return -1


def _path_parts(path: str) -> tuple[str, ...]:
    path = re.sub(r"\[\d+\]", "", path)
    return _parse_key(path) or tuple(path.split("."))


def line_of(text: str, path: str) -> int | None:
    r"""Line of the key at ``path`` (or of its deepest enclosing table or key found).

    Examples
    --------
    >>> line_of('[randomization]\nblock_sizes = 4\n', "randomization.block_sizes")
    2
    >>> line_of('[design]\nn_per_cell = 2\n', "design.outcome.sd")
    1
    """
    if not path:
        return None
    lines = key_lines(text)
    parts = _path_parts(path)
    for k in range(len(parts), 0, -1):
        if parts[:k] in lines:
            return lines[parts[:k]]
    return None


# --------------------------------------------------------------------- write
def key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else a basic string."""
    return name if _BARE.match(name) else string(name)


def string(text: str) -> str:
    """A TOML basic string with every control character escaped."""
    escapes = {
        "\\": "\\\\",
        '"': '\\"',
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def scalar(value: Any) -> str:
    """A value as inline TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(ch in text for ch in ".en") else text + ".0"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key(k)} = {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")  # pragma: no cover - guarded upstream


def write_table(table: Mapping[str, Any], path: tuple[str, ...]) -> str:
    """Scalars and arrays first, then one ``[a.b]`` section per sub-table."""
    lines = []
    subtables = []
    for name, value in table.items():
        if isinstance(value, dict) and value:
            subtables.append((name, value))
        else:
            lines.append(f"{key(name)} = {scalar(value)}")
    text = ""
    if path and (lines or not subtables):
        text += "\n[" + ".".join(key(p) for p in path) + "]\n"
    text += "".join(line + "\n" for line in lines)
    for name, value in subtables:
        text += write_table(value, path + (name,))
    return text
