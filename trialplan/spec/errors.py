"""The error a spec raises: a ``ValueError`` that names the TOML key and its line."""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(ValueError):
    """A spec that cannot be used, with the TOML key path (and line) of the problem.

    Attributes
    ----------
    path : str
        Dotted key path, e.g. ``"design.outcome.sd"`` (empty for the file).
    reason : str
        What is wrong and what is allowed.
    line : int or None
        Line of the key in the TOML text, when the spec was read from text.
    source : str
        The file the spec was read from, if any.

    Examples
    --------
    >>> error = SpecError("design.outcome.sd", "must be > 0; got -1", line=14, source="t.toml")
    >>> str(error)
    'design.outcome.sd: must be > 0; got -1 (t.toml, line 14)'
    >>> error.located()
    't.toml, line 14, design.outcome.sd: must be > 0; got -1'
    """

    def __init__(
        self, path: str, reason: str, *, line: int | None = None, source: str = ""
    ) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.source = source
        super().__init__(path, reason)

    def __str__(self) -> str:
        text = f"{self.path}: {self.reason}" if self.path else self.reason
        where = ", ".join(
            part for part in (self.source, f"line {self.line}" if self.line else "") if part
        )
        return f"{text} ({where})" if where else text

    def located(self) -> str:
        """The message with the file and line first, as a command line prints it."""
        where = ", ".join(
            part for part in (self.source, f"line {self.line}" if self.line else "") if part
        )
        body = f"{self.path}: {self.reason}" if self.path else self.reason
        return f"{where}, {body}" if where else body

    def at(self, *, line: int | None = None, source: str | None = None) -> SpecError:
        """The same error with a line and a file name."""
        return SpecError(
            self.path,
            self.reason,
            line=self.line if line is None else line,
            source=self.source if source is None else source,
        )
