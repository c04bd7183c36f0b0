"""The design form of the web page: its fields, and the spec they describe.

Pure Python (no Shiny), so it is tested without a browser.  The page reads its
inputs into a dict ``{field id: value}``; :func:`build` turns that dict into a
:class:`~trialplan.spec.Spec` by editing the TOML tables of the spec the page
opened on (``spec_to_dict``), then reading them back with ``spec_from_dict``:
whatever the form does not show (sources, strata, the sensitivity grid, the
wording) is kept as it was, and every check is the one ``trialplan check``
runs on a file.  A failing check is the library's own message, attached to the
field it is about (the key path of the :class:`~trialplan.spec.SpecError`).

Fields are positional: ``factor_0_name`` is the first factor whatever it is
called, ``mean_2`` the third cell's mean in the design's cell order, and
hypotheses are chosen by their position in the design's list, so renaming a
factor or a level keeps every choice.  Each outcome type has its own set of
value fields (``mean_i``, ``rate_i``, ``median_i`` ...), so switching the
outcome type and back restores what was typed.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trialplan.app.fields import field_of
from trialplan.app.layout import (
    CELL_TABLES,
    EFFICACY,
    FUTILITY,
    MULTIPLICITY,
    OUTCOMES,
    OWN_MULTIPLICITY,
    PARAMETRIC,
    SYNERGY_MODELS,
    SYNERGY_SCALES,
    VALUE_PREFIX,
    FormError,
    Layout,
    clean_text,
    hypothesis_names,
    layout_names,
    layout_of,
)
from trialplan.app.models import default_cells, implied_cells, invert_cells, synergy_defaults
from trialplan.spec import Spec, SpecError
from trialplan.spec.io import spec_from_dict

__all__ = [
    "EFFICACY",
    "FUTILITY",
    "MULTIPLICITY",
    "OUTCOMES",
    "SYNERGY_MODELS",
    "SYNERGY_SCALES",
    "VALUE_PREFIX",
    "Built",
    "FormError",
    "Layout",
    "build",
    "field_of",
    "hypothesis_names",
    "implied_cells",
    "initial_values",
    "invert_cells",
    "layout_names",
    "layout_of",
]


def _values_of(table: Any, layout: Layout) -> list[float] | None:
    """Per-cell values of a TOML table keyed by cell label (or one value for all)."""
    if isinstance(table, Mapping):
        labels = layout.base_labels
        return [float(table[lab]) if lab in table else math.nan for lab in labels]
    if isinstance(table, int | float) and not isinstance(table, bool):
        return [float(table)] * len(layout.cells)
    return None


def initial_values(layout: Layout) -> dict[str, Any]:
    """Every field's value for the opening spec (and defaults for other outcome types).

    Examples
    --------
    >>> import trialplan as tp
    >>> values = initial_values(layout_of(tp.scenarios.state_dependent_synergy()))
    >>> values["sd"], values["mean_0"], values["rate_0"], values["primary"]
    (8.0, -5.8, 0.104, ['2'])
    """
    data = layout.data
    design = data["design"]
    outcome_table = design.get("outcome", {}) if isinstance(design.get("outcome"), Mapping) else {}
    analysis = data.get("analysis", {})
    values: dict[str, Any] = {"outcome_type": layout.outcome if layout.editable else ""}
    for i, name in enumerate(layout.factors):
        values[f"factor_{i}_name"] = name
        for j, level in enumerate(layout.levels[i]):
            values[f"factor_{i}_level_{j}"] = level
            given = data.get("labels", {}).get("levels", {}).get(name, {}).get(level, "")
            values[f"factor_{i}_label_{j}"] = given
    for i, arm in enumerate(layout.arms):
        values[f"arm_{i}_label"] = data.get("labels", {}).get("arms", {}).get(arm, "")
    # cell values: the spec's own for its outcome type, defaults for the others
    for outcome, prefix in VALUE_PREFIX.items():
        own = None
        if outcome == layout.outcome:
            key = {"continuous": "means", "binary": "rates"}.get(outcome, layout.tte_values)
            own = _values_of(outcome_table.get(key), layout)
        cells = own if own is not None else default_cells(layout, outcome)
        for i, value in enumerate(cells):
            values[f"{prefix}_{i}"] = value
    # allocation: ratios and analysed per unit of ratio
    sizes = _values_of(design.get(layout.size_key), layout) or [1.0] * len(layout.cells)
    whole = [int(round(s)) for s in sizes]
    unit = math.gcd(*whole) if whole and all(w > 0 for w in whole) else 1
    for i, s in enumerate(whole):
        values[f"ratio_{i}"] = s // unit if unit else s
    values["n"] = unit
    dropout = _values_of(design.get("dropout", 0.0), layout) or [0.0] * len(layout.cells)
    for i, d in enumerate(dropout):
        values[f"dropout_{i}"] = d
    # outcome settings (each type's own fields)
    cont = outcome_table if layout.outcome == "continuous" else {}
    values["sd"] = float(cont.get("sd", 8.0))
    values["baseline_corr"] = float(cont.get("baseline_corr", 0.0 if cont else 0.4))
    values["better_continuous"] = cont.get("better", "lower")
    binary = outcome_table if layout.outcome == "binary" else {}
    values["scale"] = binary.get("scale", "risk_difference")
    values["better_binary"] = binary.get("better", "higher")
    tte = outcome_table if layout.outcome == "time_to_event" else {}
    values["accrual"] = float(tte.get("accrual", 18.0))
    values["follow_up"] = float(tte.get(layout.tte_time, 12.0))
    # testing
    values["alpha"] = float(design.get("alpha", 0.05))
    values["sided"] = str(design.get("sided", 2))
    values["power"] = float(analysis.get("power", 0.9))
    values["size"] = analysis.get("size", "solve")
    values["primary"] = _positions(layout, analysis.get("primary", ()))
    randomization = data.get("randomization", {})
    blocks = randomization.get("block_sizes", [])
    values["block_sizes"] = ", ".join(str(b) for b in blocks)
    values.update(_sequential_values(analysis.get("sequential")))
    values.update(_multiplicity_values(layout, analysis.get("multiplicity")))
    values["values_from"] = "cells"
    values.update(synergy_defaults(layout, values))
    values["sim_n"] = int(analysis.get("n_sims", 10_000))
    values["sim_seed"] = int(analysis.get("seed", 2026))
    return values


def _positions(layout: Layout, names: Sequence[str]) -> list[str]:
    known = list(layout.hypotheses)
    return [str(known.index(n)) for n in names if n in known]


def _sequential_values(table: Any) -> dict[str, Any]:
    out = {
        "looks": "1",
        "info_fractions": "",
        "efficacy": "obrien_fleming",
        "efficacy_param": -4.0,
        "futility": "none",
        "futility_param": -4.0,
        "binding": False,
    }
    if not isinstance(table, Mapping):
        return out
    fractions = [float(f) for f in table.get("info_fractions", [])]
    out["looks"] = str(len(fractions))
    if fractions != _even(len(fractions)):  # equally spaced looks leave the field empty
        out["info_fractions"] = ", ".join(repr(f) for f in fractions)  # exact round trip
    out["efficacy"], out["efficacy_param"] = _boundary_choice(table.get("efficacy"))
    futility = table.get("futility")
    if isinstance(futility, Mapping):
        out["futility"], out["futility_param"] = _boundary_choice(futility)
    out["binding"] = bool(table.get("binding", False))
    return out


def _boundary_choice(table: Any) -> tuple[str, float]:
    if not isinstance(table, Mapping):
        return "obrien_fleming", -4.0
    if table.get("type", "").startswith("boundaries."):
        delta = table.get("delta", 0.0)
        return ("classical_pocock" if delta == 0.5 else "classical_obrien_fleming"), -4.0
    kind = table.get("kind", "obrien_fleming")
    return kind, float(table.get("parameter", -4.0) or -4.0)


def _multiplicity_values(layout: Layout, table: Any) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        return {"multiplicity": "none", "family": []}
    kind = table.get("type", "")
    if kind == "dunnett" and layout.kind == "parallel":
        return {"multiplicity": kind, "family": []}
    if kind in MULTIPLICITY and "hypotheses" in table:
        return {"multiplicity": kind, "family": _positions(layout, table["hypotheses"])}
    return {"multiplicity": OWN_MULTIPLICITY, "family": []}


@dataclass
class Built:
    """What the form describes: a Spec, or the errors by field.

    Attributes
    ----------
    spec : Spec or None
        The spec (None when a field is invalid).
    errors : dict of str to str
        Field id to the library's message (``"form"`` for one with no field).
    cells : list of float
        The cell values used (typed, or implied by the synergy model).
    """

    spec: Spec | None
    errors: dict[str, str] = field(default_factory=dict)
    cells: list[float] = field(default_factory=list)


def _number(value: Any, *, whole: bool = False) -> Any:
    """A form number as the library wants it; anything else is passed on to be refused."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        if whole and float(value).is_integer():
            return int(value)
        return value if whole else float(value)
    return value


def build(values: Mapping[str, Any], layout: Layout) -> Built:
    """The spec the form describes, or the library's errors by field.

    Parameters
    ----------
    values : mapping
        Field id to value, as the page reads them.
    layout : Layout
        The shape of the design (from the opening spec).

    Returns
    -------
    Built

    Examples
    --------
    >>> import trialplan as tp
    >>> spec = tp.scenarios.state_dependent_synergy()
    >>> layout = layout_of(spec)
    >>> values = initial_values(layout)
    >>> build(values, layout).spec == spec          # the unchanged form is the spec
    True
    >>> values["sd"] = -1.0
    >>> build(values, layout).errors
    {'sd': 'must be a finite number > 0; got sd=-1.0'}
    """
    if not layout.editable:
        return Built(spec=layout.spec)
    outcome = values.get("outcome_type") or layout.outcome
    if outcome not in OUTCOMES:
        return Built(spec=None, errors={"outcome_type": f"choose one of {list(OUTCOMES)}"})
    prefix = VALUE_PREFIX[outcome]
    if layout.is_2x2 and values.get("values_from") == "model":
        try:
            cells = implied_cells(layout, values, outcome)
        except FormError as error:
            return Built(spec=None, errors=error.fields)
    else:
        cells = [_number(values.get(f"{prefix}_{i}")) for i in range(len(layout.cells))]
    errors: dict[str, str] = {}
    data = copy.deepcopy(layout.data)
    try:
        new_labels = _edit_design(data, values, layout, outcome, cells)
        _edit_analysis(data, values, layout)
        _edit_labels(data, values, layout)
        _edit_randomization(data, values)
    except FormError as error:
        return Built(spec=None, errors=error.fields, cells=cells)
    try:
        spec = spec_from_dict(data)
    except SpecError as error:
        names = layout_names(values, layout)
        errors[field_of(error, layout, new_labels, outcome, names)] = error.reason
        return Built(spec=None, errors=errors, cells=cells)
    return Built(spec=spec, cells=cells)


def _cell_table(
    base: Any, new_labels: Sequence[str], layout: Layout, values: Sequence[Any], *, scalar: bool
) -> Any:
    """A per-cell table in the base table's key order (or one value when it was one)."""
    if scalar and len(set(map(repr, values))) == 1:
        return values[0]
    if isinstance(base, Mapping) and len(base) == len(new_labels):
        order = [layout.base_labels.index(k) for k in base if k in layout.base_labels]
        if len(order) == len(new_labels):
            return {new_labels[i]: values[i] for i in order}
    return dict(zip(new_labels, values, strict=True))


def _edit_design(
    data: dict[str, Any],
    values: Mapping[str, Any],
    layout: Layout,
    outcome: str,
    cells: Sequence[Any],
) -> list[str]:
    design = data["design"]
    if layout.kind == "factorial":
        names = layout_names(values, layout)
        for j, name in enumerate(names["factors"]):
            if name and name in names["factors"][:j]:
                # a TOML table cannot hold two keys of one name: said here, not by the library
                raise FormError(
                    {f"factor_{j}_name": f"factor names must differ; {name!r} names two factors"}
                )
        design["factors"] = {
            f: list(lv) for f, lv in zip(names["factors"], names["levels"], strict=True)
        }
        new_labels = [
            "+".join(names["levels"][i][p] for i, p in enumerate(pos)) for pos in layout.positions
        ]
    else:
        new_labels = list(layout.base_labels)
    # outcome: the spec's own table, or a new one with the cells in the spec's order
    base = design.get("outcome") if isinstance(design.get("outcome"), Mapping) else {}
    order = next((base[k] for k in CELL_TABLES if isinstance(base.get(k), Mapping)), None)
    table = dict(base) if layout.outcome == outcome else {"type": outcome}
    if outcome == "continuous":
        table["means"] = _cell_table(order, new_labels, layout, cells, scalar=False)
        table["sd"] = _number(values.get("sd"))
        table["baseline_corr"] = _number(values.get("baseline_corr"))
        table["better"] = values.get("better_continuous") or "lower"
    elif outcome == "binary":
        table["rates"] = _cell_table(order, new_labels, layout, cells, scalar=False)
        table["scale"] = values.get("scale") or "risk_difference"
        table["better"] = values.get("better_binary") or "higher"
    else:
        key = layout.tte_values if layout.outcome == outcome else "medians"
        other = "hazards" if key == "medians" else "medians"
        table.pop(other, None)
        table[key] = _cell_table(order, new_labels, layout, cells, scalar=False)
        table["accrual"] = _number(values.get("accrual"))
        time_key = layout.tte_time if layout.outcome == outcome else "follow_up"
        table[time_key] = _number(values.get("follow_up"))
    design["outcome"] = table
    # allocation and dropout
    ratios = [_number(values.get(f"ratio_{i}"), whole=True) for i in range(len(layout.cells))]
    unit = _number(values.get("n"), whole=True)
    bad = [i for i, r in enumerate(ratios) if not (isinstance(r, int) and r >= 1)]
    if bad:
        i = bad[0]
        raise FormError(
            {f"ratio_{i}": f"an allocation ratio must be a whole number >= 1; got {ratios[i]!r}"}
        )
    sizes = [r * unit if isinstance(unit, int) else unit for r in ratios]
    base_sizes = design.get(layout.size_key)
    design[layout.size_key] = _cell_table(
        base_sizes, new_labels, layout, sizes, scalar=not isinstance(base_sizes, Mapping)
    )
    dropout = [_number(values.get(f"dropout_{i}")) for i in range(len(layout.cells))]
    base_dropout = design.get("dropout", 0.0)
    design["dropout"] = _cell_table(
        base_dropout, new_labels, layout, dropout, scalar=not isinstance(base_dropout, Mapping)
    )
    design["alpha"] = _number(values.get("alpha"))
    sided = values.get("sided")
    design["sided"] = int(sided) if isinstance(sided, str) and sided.isdigit() else sided
    # a sensitivity grid of SDs fits continuous outcomes only
    grid = data.get("sensitivity")
    if isinstance(grid, dict) and outcome != "continuous" and grid.get("sd"):
        grid["sd"] = []
    return new_labels


def _chosen(values: Mapping[str, Any], key: str, names: Sequence[str]) -> list[str]:
    chosen = values.get(key) or []
    if isinstance(chosen, str):
        chosen = [chosen]
    out = []
    for position in chosen:
        try:
            out.append(names[int(position)])
        except (ValueError, IndexError, TypeError):
            continue
    return out


def _edit_analysis(data: dict[str, Any], values: Mapping[str, Any], layout: Layout) -> None:
    analysis = data.setdefault("analysis", {})
    names = hypothesis_names(values, layout)
    mapping = dict(zip(layout.hypotheses, names, strict=True))
    analysis["primary"] = _chosen(values, "primary", names)
    if "hypotheses" in analysis:
        analysis["hypotheses"] = [mapping.get(h, h) for h in analysis["hypotheses"]]
    analysis["power"] = _number(values.get("power"))
    analysis["size"] = values.get("size") or "solve"
    design = data["design"]
    looks = values.get("looks", "1")
    if looks in (None, "", "1", 1):
        analysis.pop("sequential", None)
    else:
        analysis["sequential"] = _sequential_table(analysis.get("sequential"), values, design)
    kind = values.get("multiplicity", "none")
    if kind == "none":
        analysis.pop("multiplicity", None)
    elif kind == "dunnett":  # every arm against the control: the family is the design's
        base = analysis.get("multiplicity")
        keep = isinstance(base, Mapping) and base.get("type") == kind
        analysis["multiplicity"] = dict(base) if keep else {"type": kind}
    elif kind != OWN_MULTIPLICITY:
        base = analysis.get("multiplicity")
        table = dict(base) if isinstance(base, Mapping) and base.get("type") == kind else {}
        table["type"] = kind
        table["hypotheses"] = _chosen(values, "family", names)
        analysis["multiplicity"] = table
    elif isinstance(analysis.get("multiplicity"), dict):
        table = analysis["multiplicity"]
        for key in ("hypotheses",):
            if key in table:
                table[key] = [mapping.get(h, h) for h in table[key]]
        if "families" in table:
            table["families"] = [[mapping.get(h, h) for h in fam] for fam in table["families"]]


def _even(looks: int) -> list[float]:
    """Equally spaced information fractions ending at 1."""
    return [(k + 1) / looks for k in range(looks)]


def _fractions(values: Mapping[str, Any]) -> list[Any]:
    looks = int(values.get("looks") or 1)
    text = clean_text(values.get("info_fractions"))
    if not text:
        return _even(looks)
    out: list[Any] = []
    for part in re.split(r"[,\s;]+", text):
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise FormError(
                {"info_fractions": f"info_fractions must be numbers such as 0.5, 1; got {part!r}"}
            ) from None
    return out


def _spending(kind: str, parameter: Any) -> dict[str, Any]:
    if kind == "classical_obrien_fleming":
        return {"type": "boundaries.classical_boundary", "delta": 0.0}
    if kind == "classical_pocock":
        return {"type": "boundaries.classical_boundary", "delta": 0.5}
    table: dict[str, Any] = {"type": "spending.spending_function", "kind": kind}
    if kind in PARAMETRIC:
        table["parameter"] = _number(parameter)
    return table


def _boundary_table(base: Any, kind: str, parameter: Any) -> dict[str, Any]:
    """The spec's own boundary table when the form still reads it so, else a new one."""
    if isinstance(base, Mapping):
        own_kind, own_parameter = _boundary_choice(base)
        if own_kind == kind and (kind not in PARAMETRIC or own_parameter == parameter):
            return dict(base)
    return _spending(kind, parameter)


def _sequential_table(
    base: Any, values: Mapping[str, Any], design: Mapping[str, Any]
) -> dict[str, Any]:
    table = dict(base) if isinstance(base, Mapping) else {"type": "group_sequential"}
    table["info_fractions"] = _fractions(values)
    # the looks test the design's hypotheses at the design's level (alpha per tail)
    alpha, sided = design.get("alpha"), design.get("sided")
    try:
        same = math.isclose(table["alpha"] / table["sided"], alpha / sided, rel_tol=1e-12)
    except (KeyError, TypeError, ZeroDivisionError):
        same = False
    if not same:
        table["alpha"], table["sided"] = alpha, sided
    efficacy = values.get("efficacy") or "obrien_fleming"
    table["efficacy"] = _boundary_table(
        table.get("efficacy"), efficacy, values.get("efficacy_param")
    )
    futility = values.get("futility") or "none"
    if futility == "none":
        table.pop("futility", None)
    else:
        table["futility"] = _boundary_table(
            table.get("futility"), futility, values.get("futility_param")
        )
    table["binding"] = bool(values.get("binding"))
    return table


def _edit_labels(data: dict[str, Any], values: Mapping[str, Any], layout: Layout) -> None:
    labels = data.get("labels", {})
    if layout.kind == "factorial":
        names = layout_names(values, layout)
        levels: dict[str, dict[str, str]] = {}
        for i, factor in enumerate(names["factors"]):
            for j, level in enumerate(names["levels"][i]):
                text = clean_text(values.get(f"factor_{i}_label_{j}"))
                if text:
                    levels.setdefault(factor, {})[level] = text
        if levels:
            labels["levels"] = levels
        else:
            labels.pop("levels", None)
        rename = dict(zip(layout.factors, names["factors"], strict=True))
        if "factors" in labels:
            labels["factors"] = {rename.get(k, k): v for k, v in labels["factors"].items()}
        if "hypotheses" in labels:
            mapping = dict(zip(layout.hypotheses, hypothesis_names(values, layout), strict=True))
            labels["hypotheses"] = {mapping.get(k, k): v for k, v in labels["hypotheses"].items()}
    elif layout.kind == "parallel":
        arms = {
            arm: text
            for i, arm in enumerate(layout.arms)
            if (text := clean_text(values.get(f"arm_{i}_label")))
        }
        if arms:
            labels["arms"] = arms
        else:
            labels.pop("arms", None)
    if labels:
        data["labels"] = labels
    else:
        data.pop("labels", None)


def _edit_randomization(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    text = clean_text(values.get("block_sizes"))
    table = data.get("randomization")
    if not text:
        if isinstance(table, dict):
            table.pop("block_sizes", None)
        return
    blocks = []
    for part in re.split(r"[,\s;]+", text):
        if not part:
            continue
        try:
            blocks.append(int(part))
        except ValueError:
            raise FormError(
                {"block_sizes": f"block_sizes must be whole numbers such as 4, 8; got {part!r}"}
            ) from None
    data.setdefault("randomization", {})["block_sizes"] = blocks
