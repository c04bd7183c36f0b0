"""Reading and writing spec files: TOML text <-> :class:`Spec`."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trialplan.allocation import RandomizationPlan
from trialplan.labels import Labels
from trialplan.sensitivity import SensitivityGrid
from trialplan.spec.codec import (
    build,
    check_keys,
    decode_fields,
    decode_object,
    encode_object,
    no_cells,
    table_at,
)
from trialplan.spec.errors import SpecError
from trialplan.spec.model import Spec
from trialplan.spec.text import decode, line_of, parse, write_table

__all__ = [
    "dump_spec",
    "load_spec",
    "read_spec",
    "spec_from_toml",
    "spec_hash",
    "spec_to_toml",
]

SPEC_VERSION = 1
SECTIONS = (
    "spec_version",
    "trial",
    "design",
    "analysis",
    "adaptive",
    "randomization",
    "sensitivity",
    "labels",
)
ANALYSIS_KEYS = (
    "hypotheses",
    "primary",
    "power",
    "size",
    "method",
    "n_sims",
    "seed",
    "sequential",
    "multiplicity",
)
TRIAL_KEYS = ("title", "outcome_label", "timepoint", "sources", "scenario")
#: The ``type`` of an ``[adaptive]`` table that does not name one.
ADAPTIVE_DEFAULT = "sample_size_reestimation"
HEADER = "# trialplan design spec (read with tp.load_spec or `trialplan power FILE`)\n"


def load_spec(path: str | Path) -> Any:
    """Read a TOML design spec and return its design object.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file (schema in :mod:`trialplan.spec`).

    Returns
    -------
    object
        The design, e.g. a ``tp.Factorial``.

    Raises
    ------
    SpecError
        (a ``ValueError``) naming the TOML key path and line of an invalid
        value, unknown key or missing key, or the line of a TOML syntax error.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib, trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.toml"
    >>> tp.dump_spec(d, path)
    >>> tp.load_spec(path) == d
    True
    """
    return read_spec(path).design


def read_spec(path: str | Path) -> Spec:
    """Read a TOML design spec into a :class:`Spec` (design and settings).

    The file may start with a UTF-8 byte-order mark; any other encoding is
    refused with the line and byte that are not UTF-8.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        For invalid content, naming the key path, the file and the line.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.toml"
    >>> _ = path.write_text('''
    ... [design]
    ... type = "factorial"
    ... n_per_cell = 30
    ... factors = {A = ["a0", "a1"], B = ["b0", "b1"]}
    ... [design.outcome]
    ... type = "continuous"
    ... sd = 2.0
    ... means = {"a0+b0" = 0.0, "a1+b0" = 1.0, "a0+b1" = 1.0, "a1+b1" = 3.0}
    ... ''')
    >>> spec = read_spec(path)
    >>> spec.design.n_total, spec.primary
    (120, ('A:B',))
    """
    path = Path(path)
    text = decode(path.read_bytes(), path.name)
    return spec_from_toml(text, source=path.name)


def dump_spec(design: Any, path: str | Path) -> None:
    """Write a design (or a whole :class:`Spec`) to a TOML spec file.

    Parameters
    ----------
    design : design object or Spec
        What to write; reading the file back gives an equal object.
    path : str or pathlib.Path
        Destination (overwritten).

    Raises
    ------
    SpecError
        If the object holds a value TOML cannot express (e.g. a function).

    Examples
    --------
    >>> import tempfile, pathlib, trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.toml"
    >>> tp.dump_spec(d, path)
    >>> "[design.outcome.means]" in path.read_text()
    True
    """
    Path(path).write_text(spec_to_toml(design), encoding="utf-8")


def spec_to_toml(spec: Any) -> str:
    """Write a design or :class:`Spec` as TOML text.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1")},
    ...                  outcome=tp.Continuous(means={("a0",): 0, ("a1",): 1}, sd=2.0),
    ...                  n_per_cell=20)
    >>> print(spec_to_toml(d).split("[design.outcome]")[0].strip())
    # trialplan design spec (read with tp.load_spec or `trialplan power FILE`)
    spec_version = 1
    <BLANKLINE>
    [design]
    type = "factorial"
    n_per_cell = 20
    alpha = 0.05
    sided = 2
    dropout = 0.0
    <BLANKLINE>
    [design.factors]
    A = ["a0", "a1"]
    """
    spec = spec if isinstance(spec, Spec) else Spec(design=spec)
    return HEADER + write_table(spec_to_dict(spec), ())


def spec_from_toml(text: str, *, source: str = "") -> Spec:
    r"""Parse spec TOML text into a :class:`Spec`.

    Parameters
    ----------
    text : str
        The TOML text.
    source : str, optional
        The file name, named in errors.

    Raises
    ------
    SpecError
        For TOML syntax errors and invalid content, naming the key path and
        its line.

    Examples
    --------
    >>> try:
    ...     spec_from_toml("[design]\ntype = 'factorial'")
    ... except SpecError as error:
    ...     print(error.path, "|", error.reason, "| line", error.line)
    design | missing required keys ['factors', 'n_per_cell', 'outcome'] for factorial | line 1
    """
    try:
        data = parse(text.removeprefix("\ufeff"))
        return spec_from_dict(data)
    except SpecError as error:
        line = error.line if error.line is not None else line_of(text, error.path)
        raise error.at(line=line, source=source) from None


def spec_hash(spec: Any) -> str:
    """SHA-256 of the canonical TOML text of a design or Spec (hex, 64 chars).

    Two specs have the same hash exactly when they describe the same trial,
    whatever the key order or comments of the files they came from.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1")},
    ...                  outcome=tp.Continuous(means={("a0",): 0, ("a1",): 1}, sd=2.0),
    ...                  n_per_cell=20)
    >>> spec_hash(d) == spec_hash(d.replace(sd=2))
    True
    >>> spec_hash(d) == spec_hash(d.replace(sd=2.5))
    False
    """
    return hashlib.sha256(spec_to_toml(spec).encode("utf-8")).hexdigest()


# ------------------------------------------------------------ Spec <-> dict
def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The canonical tables of a Spec (what :func:`spec_to_toml` writes)."""
    data: dict[str, Any] = {"spec_version": SPEC_VERSION}
    defaults = {f.name: f.default for f in dataclasses.fields(Spec)}
    trial = {
        k: list(v) if isinstance(v, tuple) else v
        for k in TRIAL_KEYS
        if (v := getattr(spec, k)) != defaults[k]
    }
    if trial:
        data["trial"] = trial
    data["design"] = encode_object(spec.design, "design")
    analysis: dict[str, Any] = {}
    if spec.hypotheses is not None:
        analysis["hypotheses"] = list(spec.hypotheses)
    analysis["primary"] = list(spec.primary or ())
    for name in ("power", "size", "method", "n_sims", "seed"):
        analysis[name] = getattr(spec, name)
    for name in ("sequential", "multiplicity"):
        value = getattr(spec, name)
        if value is not None:
            analysis[name] = encode_object(value, f"analysis.{name}")
    data["analysis"] = analysis
    if spec.adaptive is not None:
        data["adaptive"] = encode_object(spec.adaptive, "adaptive")
    if spec.randomization is not None:
        data["randomization"] = encode_object(spec.randomization, "randomization", with_type=False)
    if spec.sensitivity is not None:
        data["sensitivity"] = encode_object(spec.sensitivity, "sensitivity", with_type=False)
    if spec.labels:
        data["labels"] = spec.labels.to_dict()
    return data


def spec_from_dict(data: Mapping[str, Any]) -> Spec:
    """A Spec from parsed TOML tables."""
    check_keys(data, SECTIONS, "", what="section")
    version = data.get("spec_version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError(
            "spec_version", f"this trialplan reads spec_version = {SPEC_VERSION}; got {version!r}"
        )
    if "design" not in data:
        raise SpecError("", "missing the [design] section (see the schema in trialplan.spec)")
    kwargs: dict[str, Any] = {}
    trial = table_at(data, "trial", "")
    check_keys(trial, TRIAL_KEYS, "trial")
    kwargs.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in trial.items()})
    kwargs["design"] = decode_object(
        table_at(data, "design", ""), "design", no_cells, kind="design"
    )
    analysis = table_at(data, "analysis", "")
    check_keys(analysis, ANALYSIS_KEYS, "analysis")
    for key, value in analysis.items():
        if key in ("sequential", "multiplicity"):
            kwargs[key] = decode_object(
                table_at(analysis, key, "analysis"), f"analysis.{key}", no_cells, kind=key
            )
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    if "adaptive" in data:
        table = dict(table_at(data, "adaptive", ""))
        table.setdefault("type", ADAPTIVE_DEFAULT)  # the one adaptation a plan resolves
        kwargs["adaptive"] = decode_object(table, "adaptive", no_cells, kind="adaptive")
    for section, cls in (
        ("randomization", RandomizationPlan),
        ("sensitivity", SensitivityGrid),
        ("labels", Labels),
    ):
        if section in data:
            fields = decode_fields(table_at(data, section, ""), cls, section, no_cells)
            kwargs[section] = build(cls, fields, section)
    sections = {k: "trial" for k in TRIAL_KEYS}
    sections.update({k: "analysis" for k in ANALYSIS_KEYS})
    return build(Spec, kwargs, "", sections=sections)
