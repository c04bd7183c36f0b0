"""Editing a spec file in place, keeping its comments and layout (tomlkit).

``trialplan sample-size SPEC --write`` records the solved size so that the
next ``protocol`` and ``randomize`` use it: the design's size key
(``n_per_cell``, ``n_per_arm`` or ``n_total``) gets the solved analysed size
and ``[analysis] size = "fixed"``; the hypotheses and target power the size
was solved for are written too.  Everything else in the file -- comments,
key order, blank lines -- stays as the user wrote it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trialplan.spec.codec import encode_value
from trialplan.spec.errors import SpecError
from trialplan.spec.text import decode

__all__ = ["require_tomlkit", "size_key", "write_size"]

_SIZE_KEYS = ("n_per_cell", "n_per_arm", "n_total")


def size_key(design: Any) -> str:
    """The design's size parameter: ``n_per_cell``, ``n_per_arm`` or ``n_total``.

    Examples
    --------
    >>> import trialplan as tp
    >>> size_key(tp.Parallel(arms=("a", "b"), outcome=tp.Continuous(means={"a": 0, "b": 1},
    ...          sd=1.0), n_per_arm=10))
    'n_per_arm'
    """
    names = {f.name for f in dataclasses.fields(design)}
    for name in _SIZE_KEYS:
        if name in names:
            return name
    raise TypeError(f"{type(design).__name__} has no size parameter among {_SIZE_KEYS}")


def require_tomlkit() -> Any:
    """The tomlkit module, or an ImportError naming the package and the extra that has it.

    Examples
    --------
    >>> require_tomlkit().__name__
    'tomlkit'
    """
    try:
        # deferred: only writing into a spec needs tomlkit (optional)
        import tomlkit
    except ImportError as exc:
        raise ImportError(
            "writing into a spec (keeping its comments) needs tomlkit: "
            "pip install 'trialplan[full]' (or pip install tomlkit)"
        ) from exc
    return tomlkit


def write_size(
    path: str | Path,
    design: Any,
    *,
    primary: Sequence[str] | None = None,
    power: float | None = None,
) -> str:
    r"""Write ``design``'s size into the spec file at ``path``; return the new text.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file, edited in place (atomically: a reader never sees half
        a file).
    design : design object
        The design at the chosen size (e.g. ``plan.sizing.design``); its
        size parameter is written into ``[design]``.
    primary : sequence of str, optional
        Written as ``[analysis] primary`` (the hypotheses the size is for).
    power : float, optional
        Written as ``[analysis] power``.

    Returns
    -------
    str
        The new file text (also written to ``path``).

    Raises
    ------
    ImportError
        Naming tomlkit when it is not installed.
    SpecError
        If the file has no ``[design]`` table to write into.

    Examples
    --------
    >>> import tempfile, pathlib, trialplan as tp
    >>> from trialplan.spec import read_spec
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.toml"
    >>> spec = tp.scenarios.state_dependent_synergy()
    >>> _ = path.write_text("# my trial\n" + tp.spec.spec_to_toml(spec))
    >>> plan = spec.evaluate()
    >>> text = write_size(path, plan.sizing.design, primary=plan.primary, power=plan.target)
    >>> text.startswith("# my trial"), read_spec(path).size
    (True, 'fixed')
    >>> read_spec(path).design.n_per_cell == plan.sizing.design.n_per_cell
    True
    """
    tomlkit = require_tomlkit()
    path = Path(path)
    text = decode(path.read_bytes(), path.name)
    bom = path.read_bytes().startswith(b"\xef\xbb\xbf")
    document = tomlkit.parse(text)
    table = document.get("design")
    if not isinstance(table, dict):
        raise SpecError("design", "the file has no [design] table to write the size into")
    key = size_key(design)
    value = encode_value(getattr(design, key), f"design.{key}", sep=_separator(design))
    old = table.get(key)
    if isinstance(value, dict):
        new = tomlkit.inline_table() if _is_inline(old) else tomlkit.table()
        new.update(value)
        table[key] = new
    else:
        table[key] = value
    analysis = document.get("analysis")
    if analysis is None:
        analysis = tomlkit.table()
        document["analysis"] = analysis
    if primary is not None:
        analysis["primary"] = list(primary)
    if power is not None:
        analysis["power"] = float(power)
    analysis["size"] = "fixed"
    new_text = tomlkit.dumps(document)
    _replace(path, ("\ufeff" if bom else "") + new_text)
    return new_text


def _is_inline(item: Any) -> bool:
    return type(item).__name__ == "InlineTable"


def _separator(design: Any) -> str:
    return "/" if getattr(design, "design_kind", "") == "smart" else "+"


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
