"""trialplan objects <-> TOML tables.

An object is written as a table whose ``type`` key names its class (snake
case of the class name, e.g. ``time_to_event`` for ``tp.TimeToEvent``) and
whose other keys are the constructor's keyword arguments, so designs and
outcomes added to trialplan are read and written without changes here.

A table is read as an object only where the constructor's parameter expects
one; where it expects a mapping (factors, cell means, dropout per cell,
strata, display names ...) the table is a mapping whatever its keys, so a
factor, level, arm or stratum called ``"type"`` round-trips.

Tuple-keyed mappings (cells) are written with the labels ``"level+level"``
(SMART regimes: ``"stage1/stage2"``).
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import numpy as np

from trialplan import _api
from trialplan._validation import did_you_mean
from trialplan.spec.errors import SpecError

__all__ = ["build", "decode_fields", "decode_object", "encode_object", "encode_value", "no_cells"]

#: Which classes may fill a top-level slot (module prefixes of the classes).
KINDS = {
    "design": ("trialplan.designs",),
    "sequential": ("trialplan.sequential",),
    "multiplicity": ("trialplan.multiplicity", "trialplan.dunnett"),
    "adaptive": ("trialplan.adaptive",),
}
_WORDS = {
    "design": "design (factorial, parallel, smart)",
    "sequential": "group-sequential design",
    "multiplicity": "multiplicity procedure",
    "adaptive": "adaptive rule (sample-size re-estimation or arm selection)",
}


def type_name(cls: type) -> str:
    """Snake case of a class name: TimeToEvent -> time_to_event, SMART -> smart."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__)
    return name.lower()


@cache
def registry() -> dict[str, type]:
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
                found.setdefault(prefix + type_name(obj), obj)
    # arm selection at an interim ([adaptive] type = "arm_selection"), a rule the plan
    # resolves though ``import trialplan`` does not export it
    from trialplan.adaptive import ArmSelection

    found.setdefault(type_name(ArmSelection), ArmSelection)
    return found


def kind_registry(kind: str | None) -> dict[str, type]:
    """The registry restricted to the classes that may fill a slot of this kind."""
    everything = registry()
    if kind is None:
        return everything
    prefixes = KINDS[kind]
    return {name: cls for name, cls in everything.items() if cls.__module__.startswith(prefixes)}


def _type_of(obj: Any, path: str) -> str:
    cls = type(obj)
    for name, known in registry().items():
        if known is cls:
            return name
    raise SpecError(
        path,
        f"cannot write a {cls.__name__} to a spec: only trialplan's "
        "exported classes can be named by 'type'",
    )


_REQUIRED = object()


@cache
def parameters(cls: type) -> dict[str, Any]:
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


@cache
def mapping_parameters(cls: type) -> frozenset[str]:
    """Parameters whose annotation is a mapping: their tables are never objects."""
    names = set()
    for p in inspect.signature(cls).parameters.values():
        text = p.annotation if isinstance(p.annotation, str) else repr(p.annotation)
        if re.search(r"\b(Mapping|dict|MappingProxyType)\b", text):
            names.add(p.name)
    return frozenset(names)


def is_required(default: Any) -> bool:
    """True for a parameter without a default."""
    return default is _REQUIRED


# ----------------------------------------------------------------------- write
def encode_object(obj: Any, path: str, *, with_type: bool = True) -> dict[str, Any]:
    """A dataclass instance as a table (``type`` first, then its non-None arguments)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise SpecError(path, f"cannot write {obj!r} to a spec: it is not a trialplan object")
    table: dict[str, Any] = {"type": _type_of(obj, path)} if with_type else {}
    for name, default in parameters(type(obj)).items():
        value = getattr(obj, name)
        key_path = f"{path}.{name}"
        if value is None:
            if default is not None:
                raise SpecError(
                    key_path, f"None cannot be written to TOML, and the default is {default!r}"
                )
            continue
        table[name] = encode_value(value, key_path, sep=_separator(obj))
    return table


def _separator(obj: Any) -> str:
    """Cell labels join levels with "+" (factorials) or "/" (SMART regimes)."""
    return "/" if getattr(obj, "design_kind", "") == "smart" else "+"


def label(key: Any, sep: str = "+") -> str:
    """A cell key as its label ("active+MBI"); other keys as themselves."""
    return sep.join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def encode_value(value: Any, path: str, *, sep: str = "+") -> Any:
    """A value as TOML data: numbers, strings, lists, tables of them, objects."""
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
            text = label(key, sep)
            if text in out:
                raise SpecError(
                    path,
                    f"two keys share the label {text!r}; rename levels so "
                    "that 'level+level' labels are unique",
                )
            out[text] = encode_value(item, f"{path}.{text}", sep=sep)
        return out
    if isinstance(value, tuple | list | np.ndarray):
        return [encode_value(v, f"{path}[{i}]", sep=sep) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_object(value, path)
    raise SpecError(path, f"cannot write {value!r} ({type(value).__name__}) to a spec")


# ------------------------------------------------------------------------ read
def no_cells(text: str) -> Any:
    """The resolver of tables outside any design: labels stay labels."""
    return text


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
        label(tuple(c), sep): tuple(c)
        for c in itertools.product(*levels)
        for sep in ("+", "/")
        if all(isinstance(x, str) for x in c)
    }

    def resolve(text: str) -> Any:
        return labels.get(text, parent(text))

    resolve.labels = list(labels)  # type: ignore[attr-defined]
    return resolve


def decode_object(
    table: Mapping[str, Any], path: str, cells: Callable[[str], Any], *, kind: str | None = None
) -> Any:
    """Build the object a table describes (its ``type`` names the class)."""
    known = kind_registry(kind)
    type_name_ = table.get("type")
    if type_name_ is None:
        raise SpecError(f"{path}.type", f"missing; name the class, one of {sorted(known)}")
    if type_name_ not in known:
        what = f"a {_WORDS[kind]}" if kind else "a trialplan type"
        raise SpecError(
            f"{path}.type",
            f"{type_name_!r} is not {what}; choose one of {sorted(known)}"
            + did_you_mean(str(type_name_), known),
        )
    cls = known[type_name_]
    body = {k: v for k, v in table.items() if k != "type"}
    kwargs = decode_fields(body, cls, path, cells, type_name=type_name_)
    return build(cls, kwargs, path)


def decode_fields(
    table: Mapping[str, Any],
    cls: type,
    path: str,
    cells: Callable[[str], Any],
    *,
    type_name: str = "",
) -> dict[str, Any]:
    """Keyword arguments of ``cls`` from a table (unknown and missing keys refused)."""
    params = parameters(cls)
    check_keys(table, tuple(params), path)
    required = sorted(
        name for name, default in params.items() if is_required(default) and name not in table
    )
    if required:
        raise SpecError(
            path, f"missing required keys {required}" + (f" for {type_name}" if type_name else "")
        )
    resolve = _cells_of(table, cells)
    mappings = mapping_parameters(cls)
    return {
        key: decode_value(value, f"{path}.{key}" if path else key, resolve, mapping=key in mappings)
        for key, value in table.items()
    }


def decode_value(
    value: Any, path: str, cells: Callable[[str], Any], *, mapping: bool = False
) -> Any:
    """A TOML value as Python data: lists become tuples, cell labels cell tuples.

    ``mapping=True`` (a parameter annotated as a mapping) reads tables as
    mappings even when they have a ``type`` key.
    """
    if isinstance(value, dict):
        if "type" in value and not mapping:
            return decode_object(value, path, cells)
        resolved = {key: cells(key) for key in value}
        cell_keyed = bool(resolved) and all(isinstance(v, tuple) for v in resolved.values())
        known = [k for k, v in resolved.items() if isinstance(v, tuple)]
        if known and not cell_keyed:
            bad = next(k for k, v in resolved.items() if not isinstance(v, tuple))
            labels = _labels_like(cells, known)
            raise SpecError(
                f"{path}.{bare_or_quoted(bad)}",
                f"{bad!r} is not a cell; cells are labelled {labels}" + did_you_mean(bad, labels),
            )
        return {
            (resolved[k] if cell_keyed else k): decode_value(
                v, f"{path}.{bare_or_quoted(k)}", cells, mapping=mapping
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return tuple(
            decode_value(v, f"{path}[{i}]", cells, mapping=mapping) for i, v in enumerate(value)
        )
    return value


def _labels_like(cells: Callable[[str], Any], known: list[str]) -> list[str]:
    """All cell labels the resolver knows (read from its closure), else ``known``."""
    table = getattr(cells, "labels", None)
    return sorted(table) if table else sorted(known)


def build(
    cls: type, kwargs: dict[str, Any], path: str, *, sections: Mapping[str, str] | None = None
) -> Any:
    """``cls(**kwargs)``, turning a validation error into a SpecError at its key."""
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except (ValueError, TypeError) as exc:
        raise at_key(exc, cls, path, sections) from None


def at_key(
    exc: Exception, cls: type, path: str, sections: Mapping[str, str] | None = None
) -> SpecError:
    """A validation error of ``cls(...)`` as a SpecError at the key its message names."""
    message = str(exc)
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", message)
    key = match.group(1) if match else ""
    if key in parameters(cls):
        prefix = (sections or {}).get(key, path)
        key_path = f"{prefix}.{key}" if prefix else key
        rest = message[match.end() :].lstrip() if match else message  # type: ignore[union-attr]
        if not rest or rest[0] in "[=(":
            rest = message.strip()
        elif rest[0] == ":":  # "control: 'x' is not an arm" read "control: : ..."
            rest = rest[1:].lstrip()
        return SpecError(key_path, rest)
    return SpecError(path, message)


def table_at(data: Mapping[str, Any], key: str, parent: str) -> Mapping[str, Any]:
    """``data[key]`` when it is a table (``{}`` if absent)."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        path = f"{parent}.{key}" if parent else key
        raise SpecError(path, f"must be a table ([{path}] section or {{...}}); got {value!r}")
    return value


def check_keys(
    table: Mapping[str, Any], allowed: tuple[str, ...], path: str, *, what: str = "key"
) -> None:
    """Refuse keys not in ``allowed``, suggesting the closest."""
    for key in table:
        if key not in allowed:
            where = f"{path}.{bare_or_quoted(key)}" if path else bare_or_quoted(key)
            raise SpecError(
                where, f"unknown {what}; allowed: {sorted(allowed)}" + did_you_mean(key, allowed)
            )


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def bare_or_quoted(key: str) -> str:
    """A TOML key as written: bare when it can be, else a quoted string."""
    from trialplan.spec.text import string

    return key if _BARE.match(key) else string(key)
