"""TOML design specs: a trial written as a file, read back as design objects.

A spec is a small TOML file that a protocol author can edit by hand and that
the ``trialplan`` command reads.  :func:`load_spec` returns the design;
:func:`read_spec` returns the whole :class:`Spec` (design, the analysis to
report, protocol wording, randomization and sensitivity settings).
:func:`dump_spec` writes a design (or a :class:`Spec`) back; reading what was
written gives an equal object (the round trip is exact: floats are written
with :func:`repr`, which round-trips every binary64 value).

Schema
------
Every section but ``[design]`` is optional::

    spec_version = 1

    [trial]                       # wording used in the protocol text
    title = "rTMS x MBI in treatment-resistant depression"
    outcome_label = "change in HAM-D-17 from baseline"
    timepoint = "week 8"
    sources = ["Kedzior et al. 2015 ..."]

    [design]                      # any trialplan design; "type" names the class
    type = "factorial"            # factorial | parallel | smart | ...
    n_per_cell = 50               # or a table {"sham+control" = 50, ...}
    alpha = 0.05
    sided = 2
    dropout = 0.1                 # or a table keyed by cell label

    [design.factors]              # factor = [reference level, active level]
    rTMS = ["sham", "active"]
    MBI = ["control", "MBI"]

    [design.outcome]
    type = "continuous"           # continuous | binary | time_to_event | ...
    sd = 8.0
    baseline_corr = 0.0
    better = "lower"

    [design.outcome.means]        # cells are labelled "level+level" in factor order
    "sham+control" = 0.0
    "active+control" = -3.0
    "sham+MBI" = -2.0
    "active+MBI" = -8.0

    [analysis]
    hypotheses = ["rTMS", "MBI", "rTMS:MBI", "combination"]   # reported
    primary = ["rTMS:MBI"]        # sets the sample size
    power = 0.9                   # target power of the primary hypotheses
    method = "analytic"           # or "simulation" (then n_sims and seed)
    n_sims = 10000
    seed = 2026
    [analysis.sequential]         # optional: a tp.GroupSequential
    [analysis.multiplicity]       # optional: tp.Holm, tp.Bonferroni, ...

    [randomization]               # tp.randomization.permuted_blocks settings
    n = 200
    block_sizes = [4, 8]
    seed = 2026
    [randomization.strata]
    site = ["A", "B"]

    [sensitivity]                 # grid of the protocol's sensitivity table
    sd = [7.0, 8.0, 9.0]
    dropout = [0.05, 0.15, 0.25]
    effect_scale = [0.75, 1.0, 1.25]

Any value whose key is ``type`` names a trialplan class (snake case of its
name, e.g. ``time_to_event`` for ``tp.TimeToEvent``); the other keys are that
class's keyword arguments, so designs and outcomes added to trialplan are
read and written without changes here.  Tuple-keyed mappings (cells) are
written with the labels ``"level+level"`` used in the protocol text (SMART
regimes: ``"stage1/stage2"``, e.g. ``"rTMS+MBI/augment"``).

Errors name the TOML key path, e.g.
``design.outcome.sd: must be a finite number > 0; got sd=-1.0``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import itertools
import math
import numbers
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from trialplan import _api
from trialplan._validation import did_you_mean

if sys.version_info >= (3, 11):  # pragma: no cover - version dependent
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "RandomizationPlan",
    "SensitivityGrid",
    "Spec",
    "SpecError",
    "dump_spec",
    "load_spec",
    "read_spec",
    "spec_from_toml",
    "spec_hash",
    "spec_to_toml",
]

SPEC_VERSION = 1
_SECTIONS = ("spec_version", "trial", "design", "analysis", "randomization", "sensitivity")


class SpecError(ValueError):
    """A spec that cannot be read, with the TOML key path of the problem.

    Attributes
    ----------
    path : str
        Dotted key path, e.g. ``"design.outcome.sd"`` (empty for the file).
    reason : str
        What is wrong and what is allowed.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


# --------------------------------------------------------------------- Spec
@dataclass(frozen=True, kw_only=True)
class RandomizationPlan:
    """Settings of the randomization schedule written by ``trialplan randomize``.

    Parameters
    ----------
    n : int, optional
        Participants in the schedule; by default the design's ``n_randomized``.
    block_sizes : tuple of int, default ()
        Permuted block sizes (multiples of the number of cells); empty means
        one and two times the number of cells.
    strata : mapping of str to tuple of str, default {}
        Stratification variables and their levels.
    seed : int, default 2026
        Seed of the schedule (numpy ``Generator``).

    Examples
    --------
    >>> RandomizationPlan(n=200, block_sizes=(4, 8), seed=1).block_sizes
    (4, 8)
    """

    n: int | None = None
    block_sizes: tuple[int, ...] = ()
    strata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    seed: int = 2026

    def __post_init__(self) -> None:
        if self.n is not None and (
            isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1
        ):
            raise ValueError(f"n must be a whole number >= 1; got n={self.n!r}")
        sizes = tuple(self.block_sizes)
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(
                    f"block_sizes must be whole numbers >= 1; got block_sizes={self.block_sizes!r}"
                )
        object.__setattr__(self, "block_sizes", sizes)
        if not isinstance(self.strata, Mapping):
            raise TypeError(
                f"strata must be a table {{variable: [levels]}}; got strata={self.strata!r}"
            )
        strata = {}
        for name, levels in self.strata.items():
            if (
                isinstance(levels, str)
                or not all(isinstance(v, str) for v in levels)
                or len(levels) < 1
            ):
                raise ValueError(
                    f"strata must map each variable to a list of level names; "
                    f"got strata[{name!r}]={levels!r}"
                )
            strata[name] = tuple(levels)
        object.__setattr__(self, "strata", MappingProxyType(strata))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0; got seed={self.seed!r}")


@dataclass(frozen=True, kw_only=True)
class SensitivityGrid:
    """Grid of the protocol's sensitivity table: power over sd x dropout x effect.

    Parameters
    ----------
    sd : tuple of float, default ()
        Outcome SDs to try (continuous outcomes); empty: the planned SD only.
    dropout : tuple of float, default ()
        Dropout proportions to try at the planned number randomized.
    effect_scale : tuple of float, default (0.75, 1.0, 1.25)
        Multipliers of every cell's difference from the reference cell.

    Examples
    --------
    >>> SensitivityGrid(sd=(7.0, 9.0)).effect_scale
    (0.75, 1.0, 1.25)
    """

    sd: tuple[float, ...] = ()
    dropout: tuple[float, ...] = ()
    effect_scale: tuple[float, ...] = (0.75, 1.0, 1.25)

    def __post_init__(self) -> None:
        for name, low, high in (
            ("sd", 0.0, math.inf),
            ("dropout", -1e-300, 1.0),
            ("effect_scale", 0.0, math.inf),
        ):
            values = tuple(getattr(self, name))
            for v in values:
                if (
                    isinstance(v, bool)
                    or not isinstance(v, numbers.Real)
                    or not (low < v < high or (name == "dropout" and v == 0))
                ):
                    allowed = {
                        "sd": "numbers > 0",
                        "dropout": "proportions in [0, 1)",
                        "effect_scale": "numbers > 0",
                    }[name]
                    raise ValueError(
                        f"{name} must be a list of {allowed}; got {name}={getattr(self, name)!r}"
                    )
            object.__setattr__(self, name, tuple(float(v) for v in values))


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A whole design spec: the design plus what to compute and how to word it.

    Parameters
    ----------
    design : object
        A trialplan design (``tp.Factorial``, ``tp.Parallel``, ``tp.SMART``...).
    title : str, default ""
        Trial title used in the protocol.
    outcome_label, timepoint : str
        The primary outcome and when it is measured, in words.
    sources : tuple of str, default ()
        Citations of the planning values, carried into the protocol.
    hypotheses : tuple of str, optional
        Hypotheses to report; by default the design's own list.
    primary : tuple of str, optional
        Hypotheses that set the sample size (all must reach ``power``); by
        default the first interaction (factorial) or the first hypothesis.
    power : float, default 0.9
        Target power of the primary hypotheses.
    method : {"analytic", "simulation"}, default "analytic"
        How power is computed.
    n_sims : int, default 10000
        Simulated trials when ``method="simulation"``.
    seed : int, default 2026
        Seed of any simulation.
    sequential : object, optional
        A ``tp.GroupSequential`` design for the primary hypothesis.
    multiplicity : object, optional
        A multiplicity procedure (``tp.Holm([...])`` ...).
    randomization : RandomizationPlan, optional
        Settings for ``trialplan randomize``.
    sensitivity : SensitivityGrid, optional
        Settings for the sensitivity table.
    scenario : str, default ""
        Name of the :mod:`trialplan.scenarios` preset the spec came from.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> Spec(design=d).primary
    ('A:B',)
    """

    design: Any
    title: str = ""
    outcome_label: str = "the primary outcome"
    timepoint: str = "the primary timepoint"
    sources: tuple[str, ...] = ()
    hypotheses: tuple[str, ...] | None = None
    primary: tuple[str, ...] | None = None
    power: float = 0.9
    method: str = "analytic"
    n_sims: int = 10_000
    seed: int = 2026
    sequential: Any = None
    multiplicity: Any = None
    randomization: RandomizationPlan | None = None
    sensitivity: SensitivityGrid | None = None
    scenario: str = ""

    def __post_init__(self) -> None:
        for name in ("title", "outcome_label", "timepoint", "scenario"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string; got {name}={getattr(self, name)!r}")
        for name in ("sources", "hypotheses", "primary"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, Iterable):  # tuple(3) said "'int' ... not iterable"
                raise TypeError(f"{name} must be a list of strings; got {name}={value!r}")
            value = tuple(value)
            if not all(isinstance(v, str) for v in value):
                raise TypeError(f"{name} must be a list of strings; got {name}={value!r}")
            if name != "sources" and not value:
                raise ValueError(f"{name} must name at least one hypothesis; got []")
            object.__setattr__(self, name, value)
        names = self.hypothesis_names
        if hasattr(self.design, "hypothesis"):
            for name in ("hypotheses", "primary"):
                for h in getattr(self, name) or ():
                    try:
                        self.design.hypothesis(h)
                    except (ValueError, TypeError) as exc:
                        raise ValueError(
                            f"{name} names an unknown hypothesis {h!r}: {exc}"
                        ) from None
        elif names:
            known = _design_hypotheses(self.design)
            for name in ("hypotheses", "primary"):
                for h in getattr(self, name) or ():
                    if h not in known:
                        raise ValueError(
                            f"{name} names an unknown hypothesis {h!r}; the "
                            f"design's are {list(known)}" + did_you_mean(h, known)
                        )
        if self.primary is None:
            object.__setattr__(self, "primary", (_default_primary(self.design, names),))
        if (
            isinstance(self.power, bool)
            or not isinstance(self.power, numbers.Real)
            or not 0 < self.power < 1
        ):
            raise ValueError(f"power must lie strictly between 0 and 1; got power={self.power!r}")
        object.__setattr__(self, "power", float(self.power))
        if self.method not in ("analytic", "simulation"):
            raise ValueError(
                f"method={self.method!r} is not allowed; choose 'analytic' or "
                "'simulation'" + did_you_mean(self.method, ("analytic", "simulation"))
            )
        for name in ("n_sims", "seed"):
            value = getattr(self, name)
            # numbers.Integral: numpy integers (np.int64(1000)) were refused
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < (1 if name == "n_sims" else 0)
            ):
                raise ValueError(
                    f"{name} must be a whole number >= "
                    f"{1 if name == 'n_sims' else 0}; got {name}={value!r}"
                )
            object.__setattr__(self, name, int(value))

    @property
    def hypothesis_names(self) -> tuple[str, ...]:
        """Hypotheses reported: ``hypotheses`` or the design's defaults."""
        if self.hypotheses is not None:
            return self.hypotheses
        return _design_hypotheses(self.design)

    def replace(self, **changes: Any) -> Spec:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _design_hypotheses(design: Any) -> tuple[str, ...]:
    """The design's default hypotheses; for designs without a list (SMART), its power rows."""
    names = getattr(design, "hypothesis_names", None)
    if names is not None:
        return tuple(names)
    if hasattr(design, "power"):
        try:
            return tuple(design.power())
        except (ValueError, TypeError):  # pragma: no cover - defensive
            return ()
    return ()


def _default_primary(design: Any, names: tuple[str, ...]) -> str:
    for name in names:
        if ":" in name and "|" not in name:
            return name
    if names:
        return names[0]
    raise ValueError(
        "primary must name the hypothesis that sets the sample size; the design lists no hypotheses"
    )


# ------------------------------------------------------------------ public API
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
        (a ``ValueError``) naming the TOML key path of an invalid value,
        unknown key or missing key, or the line of a TOML syntax error.
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
        For invalid content, naming the key path.
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
    text = path.read_text(encoding="utf-8")
    return spec_from_toml(text)


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
    data = _spec_to_dict(spec)
    header = "# trialplan design spec (read with tp.load_spec or `trialplan power FILE`)\n"
    return header + _write_table(data, ())


def spec_from_toml(text: str) -> Spec:
    r"""Parse spec TOML text into a :class:`Spec`.

    Raises
    ------
    SpecError
        For TOML syntax errors and invalid content, naming the key path.

    Examples
    --------
    >>> try:
    ...     spec_from_toml("[design]\ntype = 'factorial'")
    ... except SpecError as error:
    ...     print(error.path, "|", error.reason)
    design | missing required keys ['factors', 'n_per_cell', 'outcome'] for factorial
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError("", f"not valid TOML: {exc}") from None
    return _spec_from_dict(data)


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
def _spec_to_dict(spec: Spec) -> dict[str, Any]:
    data: dict[str, Any] = {"spec_version": SPEC_VERSION}
    trial = {
        k: getattr(spec, k) for k in ("title", "outcome_label", "timepoint", "sources", "scenario")
    }
    defaults = {f.name: f.default for f in dataclasses.fields(Spec)}
    trial = {
        k: list(v) if isinstance(v, tuple) else v for k, v in trial.items() if v != defaults[k]
    }
    if trial:
        data["trial"] = trial
    data["design"] = _encode_object(spec.design, "design")
    analysis: dict[str, Any] = {}
    if spec.hypotheses is not None:
        analysis["hypotheses"] = list(spec.hypotheses)
    analysis["primary"] = list(spec.primary or ())
    for name in ("power", "method", "n_sims", "seed"):
        analysis[name] = getattr(spec, name)
    for name in ("sequential", "multiplicity"):
        value = getattr(spec, name)
        if value is not None:
            analysis[name] = _encode_object(value, f"analysis.{name}")
    data["analysis"] = analysis
    if spec.randomization is not None:
        data["randomization"] = _encode_object(spec.randomization, "randomization", with_type=False)
    if spec.sensitivity is not None:
        data["sensitivity"] = _encode_object(spec.sensitivity, "sensitivity", with_type=False)
    return data


def _spec_from_dict(data: Mapping[str, Any]) -> Spec:
    _check_keys(data, _SECTIONS, "", what="section")
    version = data.get("spec_version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError(
            "spec_version", f"this trialplan reads spec_version = {SPEC_VERSION}; got {version!r}"
        )
    if "design" not in data:
        raise SpecError("", "missing the [design] section (see the schema in trialplan.spec)")
    kwargs: dict[str, Any] = {}
    trial = _table(data, "trial", "")
    _check_keys(trial, ("title", "outcome_label", "timepoint", "sources", "scenario"), "trial")
    kwargs.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in trial.items()})
    design_table = _table(data, "design", "")
    kwargs["design"] = _decode_object(design_table, "design", _no_cells)
    analysis = _table(data, "analysis", "")
    allowed = (
        "hypotheses",
        "primary",
        "power",
        "method",
        "n_sims",
        "seed",
        "sequential",
        "multiplicity",
    )
    _check_keys(analysis, allowed, "analysis")
    for key, value in analysis.items():
        path = f"analysis.{key}"
        if key in ("sequential", "multiplicity"):
            kwargs[key] = _decode_object(_table(analysis, key, "analysis"), path, _no_cells)
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    if "randomization" in data:
        kwargs["randomization"] = _build(
            RandomizationPlan,
            _decode_fields(
                _table(data, "randomization", ""), RandomizationPlan, "randomization", _no_cells
            ),
            "randomization",
        )
    if "sensitivity" in data:
        kwargs["sensitivity"] = _build(
            SensitivityGrid,
            _decode_fields(
                _table(data, "sensitivity", ""), SensitivityGrid, "sensitivity", _no_cells
            ),
            "sensitivity",
        )
    return _build(
        Spec,
        kwargs,
        "",
        sections={
            "title": "trial",
            "outcome_label": "trial",
            "timepoint": "trial",
            "sources": "trial",
            "scenario": "trial",
            "hypotheses": "analysis",
            "primary": "analysis",
            "power": "analysis",
            "method": "analysis",
            "n_sims": "analysis",
            "seed": "analysis",
        },
    )


# ------------------------------------------------------- objects <-> tables
def _type_name(cls: type) -> str:
    """Snake case of a class name: TimeToEvent -> time_to_event, SMART -> smart."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__)
    return name.lower()


def _registry() -> dict[str, type]:
    """Spec type names of the dataclasses trialplan exports (and its submodules')."""
    public = _api.namespace()  # what ``import trialplan as tp`` offers
    found: dict[str, type] = {}
    namespaces = [public] + [
        _api.load(m) for m in ("spending", "boundaries", "synergy", "multiplicity")
    ]
    for space in namespaces:
        prefix = "" if space is public else space.__name__.rsplit(".", 1)[-1] + "."
        for attr in dir(space):
            obj = getattr(space, attr)
            if isinstance(obj, type) and dataclasses.is_dataclass(obj):
                found.setdefault(prefix + _type_name(obj), obj)
    return found


def _type_of(obj: Any, path: str) -> str:
    cls = type(obj)
    for name, known in _registry().items():
        if known is cls:
            return name
    raise SpecError(
        path,
        f"cannot write a {cls.__name__} to a spec: only trialplan's "
        "exported classes can be named by 'type'",
    )


def _parameters(cls: type) -> dict[str, Any]:
    """Keyword parameters of ``cls(...)``: name to default (``_REQUIRED`` if none).

    Read from the constructor's signature, so classes with a hand-written
    ``__init__`` (e.g. ``tp.Holm(hypotheses)``) are written with the
    arguments they take.
    """
    params = {}
    for p in inspect.signature(cls).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name.startswith("_"):
            continue
        params[p.name] = _REQUIRED if p.default is p.empty else p.default
    return params


_REQUIRED = object()


def _encode_object(obj: Any, path: str, *, with_type: bool = True) -> dict[str, Any]:
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise SpecError(path, f"cannot write {obj!r} to a spec: it is not a trialplan object")
    table: dict[str, Any] = {"type": _type_of(obj, path)} if with_type else {}
    for name, default in _parameters(type(obj)).items():
        value = getattr(obj, name)
        key_path = f"{path}.{name}"
        if value is None:
            if default is not None:
                raise SpecError(
                    key_path, f"None cannot be written to TOML, and the default is {default!r}"
                )
            continue
        table[name] = _encode_value(value, key_path, sep=_separator(obj))
    return table


def _separator(obj: Any) -> str:
    """Cell labels join levels with "+" (factorials) or "/" (SMART regimes)."""
    return "/" if hasattr(obj, "stage1") and hasattr(obj, "stage2") else "+"


def _label(key: Any, sep: str = "+") -> str:
    return sep.join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def _encode_value(value: Any, path: str, *, sep: str = "+") -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str | tuple):
                raise SpecError(path, f"cannot write the key {key!r}: keys must be names or cells")
            label = _label(key, sep)
            if label in out:
                raise SpecError(
                    path,
                    f"two keys share the label {label!r}; rename levels so "
                    "that 'level+level' labels are unique",
                )
            out[label] = _encode_value(item, f"{path}.{label}", sep=sep)
        return out
    if isinstance(value, tuple | list | np.ndarray):
        return [_encode_value(v, f"{path}[{i}]", sep=sep) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_object(value, path)
    raise SpecError(path, f"cannot write {value!r} ({type(value).__name__}) to a spec")


def _no_cells(label: str) -> Any:
    return label


def _cells_of(table: Mapping[str, Any], parent: Callable[[str], Any]) -> Callable[[str], Any]:
    """Return a resolver from cell labels to cell tuples for the object ``table`` describes."""
    levels: list[Any] | None = None
    factors = table.get("factors")
    if isinstance(factors, Mapping) and all(isinstance(v, list) for v in factors.values()):
        levels = list(factors.values())
    elif isinstance(table.get("stage1"), list) and isinstance(table.get("stage2"), list):
        levels = [table["stage1"], table["stage2"]]
    if not levels:
        return parent
    labels = {
        _label(tuple(c), sep): tuple(c)
        for c in itertools.product(*levels)
        for sep in ("+", "/")
        if all(isinstance(x, str) for x in c)
    }

    def resolve(label: str) -> Any:
        return labels.get(label, parent(label))

    resolve.labels = list(labels)  # type: ignore[attr-defined]
    return resolve


def _decode_object(table: Mapping[str, Any], path: str, cells: Callable[[str], Any]) -> Any:
    type_name = table.get("type")
    registry = _registry()
    if type_name is None:
        raise SpecError(f"{path}.type", f"missing; name the class, one of {sorted(registry)}")
    if type_name not in registry:
        raise SpecError(
            f"{path}.type",
            f"{type_name!r} is not a trialplan type; choose one "
            f"of {sorted(registry)}" + did_you_mean(type_name, registry),
        )
    cls = registry[type_name]
    body = {k: v for k, v in table.items() if k != "type"}
    kwargs = _decode_fields(body, cls, path, cells, type_name=type_name)
    return _build(cls, kwargs, path)


def _decode_fields(
    table: Mapping[str, Any],
    cls: type,
    path: str,
    cells: Callable[[str], Any],
    *,
    type_name: str = "",
) -> dict[str, Any]:
    params = _parameters(cls)
    _check_keys(table, tuple(params), path)
    required = sorted(
        name for name, default in params.items() if default is _REQUIRED and name not in table
    )
    if required:
        raise SpecError(
            path, f"missing required keys {required}" + (f" for {type_name}" if type_name else "")
        )
    resolve = _cells_of(table, cells)
    return {
        key: _decode_value(value, f"{path}.{key}" if path else key, resolve)
        for key, value in table.items()
    }


def _decode_value(value: Any, path: str, cells: Callable[[str], Any]) -> Any:
    if isinstance(value, dict):
        if "type" in value:
            return _decode_object(value, path, cells)
        resolved = {key: cells(key) for key in value}
        cell_keyed = all(isinstance(v, tuple) for v in resolved.values())
        known = [k for k, v in resolved.items() if isinstance(v, tuple)]
        if known and not cell_keyed:
            bad = next(k for k, v in resolved.items() if not isinstance(v, tuple))
            labels = _labels_like(cells, known)
            raise SpecError(
                f"{path}.{_key(bad)}",
                f"{bad!r} is not a cell; cells are labelled {labels}" + did_you_mean(bad, labels),
            )
        return {
            (resolved[k] if cell_keyed else k): _decode_value(v, f"{path}.{k}", cells)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return tuple(_decode_value(v, f"{path}[{i}]", cells) for i, v in enumerate(value))
    return value


def _labels_like(cells: Callable[[str], Any], known: list[str]) -> list[str]:
    """All cell labels the resolver knows (read from its closure), else ``known``."""
    table = getattr(cells, "labels", None)
    return sorted(table) if table else sorted(known)


def _build(
    cls: type, kwargs: dict[str, Any], path: str, *, sections: Mapping[str, str] | None = None
) -> Any:
    """``cls(**kwargs)``, turning a validation error into a SpecError at its key."""
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except (ValueError, TypeError) as exc:
        message = str(exc)
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", message)
        key = match.group(1) if match else ""
        if key in _parameters(cls):
            prefix = (sections or {}).get(key, path)
            key_path = f"{prefix}.{key}" if prefix else key
            rest = message[match.end() :].lstrip() if match else message  # type: ignore[union-attr]
            if not rest or rest[0] in "[=(":
                rest = message.strip()
            elif rest[0] == ":":  # "control: 'x' is not an arm" read "control: : ..."
                rest = rest[1:].lstrip()
            raise SpecError(key_path, rest) from None
        raise SpecError(path, message) from None


def _table(data: Mapping[str, Any], key: str, parent: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        path = f"{parent}.{key}" if parent else key
        raise SpecError(path, f"must be a table ([{path}] section or {{...}}); got {value!r}")
    return value


def _check_keys(
    table: Mapping[str, Any], allowed: tuple[str, ...], path: str, *, what: str = "key"
) -> None:
    for key in table:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise SpecError(
                where, f"unknown {what}; allowed: {sorted(allowed)}" + did_you_mean(key, allowed)
            )


# ---------------------------------------------------------------- TOML out
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(text: str) -> str:
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


def _scalar(value: Any) -> str:
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
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")  # pragma: no cover - guarded upstream


def _write_table(table: Mapping[str, Any], path: tuple[str, ...]) -> str:
    """Scalars and arrays first, then one ``[a.b]`` section per sub-table."""
    lines = []
    subtables = []
    for key, value in table.items():
        if isinstance(value, dict) and value:
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    text = ""
    if path and (lines or not subtables):
        text += "\n[" + ".".join(_key(p) for p in path) + "]\n"
    elif lines:
        text += ""
    text += "".join(line + "\n" for line in lines)
    for key, value in subtables:
        text += _write_table(value, path + (key,))
    return text
