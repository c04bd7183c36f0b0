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

from trialplan.spec import Spec, SpecError
from trialplan.spec.codec import label as cell_label
from trialplan.spec.io import spec_from_dict, spec_to_dict

__all__ = [
    "OUTCOMES",
    "Built",
    "Layout",
    "build",
    "implied_cells",
    "initial_values",
    "invert_cells",
    "layout_of",
]

#: Outcome types the form offers, with their words.
OUTCOMES = {"continuous": "Continuous", "binary": "Binary", "time_to_event": "Time to event"}
#: Field prefix of each outcome type's cell values.
VALUE_PREFIX = {"continuous": "mean", "binary": "rate", "time_to_event": "median"}
#: Synergy models: how the combination cell follows from the monotherapies.
SYNERGY_MODELS = {
    "additive": "Additive (no interaction on the difference scale)",
    "multiplicative": "Multiplicative (no interaction on the ratio scale)",
    "interaction": "A stated interaction",
    "state_dependent": "State-dependent (MBI shifts the state rTMS depends on)",
}
#: Scales a stated interaction may be given on (tp.synergy.cell_means).
SYNERGY_SCALES = {
    "identity": "difference of differences",
    "log": "log ratio of ratios",
    "logit": "log ratio of odds ratios",
}
#: Efficacy boundaries: (TOML table, needs a parameter).
EFFICACY = {
    "obrien_fleming": "O'Brien-Fleming-type spending (Lan-DeMets)",
    "pocock": "Pocock-type spending (Lan-DeMets)",
    "hwang_shih_decani": "Hwang-Shih-DeCani spending (gamma)",
    "power_family": "Kim-DeMets power spending (rho)",
    "classical_obrien_fleming": "Classical O'Brien-Fleming bounds",
    "classical_pocock": "Classical Pocock bounds",
}
FUTILITY = {
    "none": "None",
    "obrien_fleming": "O'Brien-Fleming-type beta-spending",
    "pocock": "Pocock-type beta-spending",
    "hwang_shih_decani": "Hwang-Shih-DeCani beta-spending (gamma)",
    "power_family": "Kim-DeMets beta-spending (rho)",
}
_PARAMETRIC = ("hwang_shih_decani", "power_family")
MULTIPLICITY = {
    "none": "None (each hypothesis at alpha)",
    "bonferroni": "Bonferroni",
    "holm": "Holm",
    "hochberg": "Hochberg",
    "fixed_sequence": "Fixed sequence (in the order chosen)",
}
_OWN_MULTIPLICITY = "spec"  # a procedure the form cannot edit (gatekeeping, graphs): kept


# Planning values used when the outcome type is switched to one the spec does not have
# (a 2x2, by level positions): the presets' own values, and tp.TimeToEvent's example.
def _preset_cells(name: str, table: str) -> dict[tuple[int, int], float]:
    from trialplan import scenarios

    design = scenarios.spec(name).design
    levels = [tuple(design.factors[f]) for f in design.factors]
    values = getattr(design.outcome, table)
    return {
        (levels[0].index(cell[0]), levels[1].index(cell[1])): float(v) for cell, v in values.items()
    }


def _default_2x2(outcome: str) -> dict[tuple[int, int], float]:
    if outcome == "continuous":  # HAM-D change (tp.scenarios.state_dependent_synergy)
        return _preset_cells("state_dependent_synergy", "means")
    if outcome == "binary":  # response (tp.scenarios.response_factorial)
        return _preset_cells("response_factorial", "rates")
    # median months to relapse (the tp.TimeToEvent example)
    return {(0, 0): 12.0, (1, 0): 16.0, (0, 1): 16.0, (1, 1): 24.0}


_DEFAULT_OTHER = {"continuous": (0.0, -4.0), "binary": (0.2, 0.35), "time_to_event": (12.0, 18.0)}


# ------------------------------------------------------------------ layout
@dataclass(frozen=True, eq=False)
class Layout:
    """The shape of the design the page edits, read once from the opening spec.

    Attributes
    ----------
    spec : Spec
        The spec the page opened on.
    data : dict
        Its TOML tables (``spec_to_dict``): the form edits a copy of these.
    kind : str
        ``"factorial"``, ``"parallel"`` or ``"smart"`` (a SMART is shown, not edited).
    factors : tuple of str
        Factor names (factorial) in design order.
    levels : tuple of (str, str)
        Each factor's (reference, active) levels.
    arms : tuple of str
        Arm names (parallel).
    cells : tuple
        Cell keys in the design's order.
    positions : tuple of tuple of int
        Each cell's level positions (factorial) or ``(arm index,)``.
    hypotheses : tuple of str
        The design's hypothesis names, in order (chosen by position).
    outcome : str
        The opening outcome type.
    """

    spec: Spec
    data: dict[str, Any]
    kind: str
    factors: tuple[str, ...] = ()
    levels: tuple[tuple[str, str], ...] = ()
    arms: tuple[str, ...] = ()
    cells: tuple[Any, ...] = ()
    positions: tuple[tuple[int, ...], ...] = ()
    hypotheses: tuple[str, ...] = ()
    outcome: str = "continuous"
    size_key: str = "n_per_cell"
    tte_values: str = "medians"
    tte_time: str = "follow_up"

    @property
    def editable(self) -> bool:
        """True when the form edits the design (factorial and parallel designs)."""
        return self.kind in ("factorial", "parallel") and self.outcome in OUTCOMES

    @property
    def is_2x2(self) -> bool:
        """True for a two-factor factorial: the synergy models apply."""
        return self.kind == "factorial" and len(self.factors) == 2

    @property
    def base_labels(self) -> tuple[str, ...]:
        """The cells' TOML labels in the opening spec ("sham+control")."""
        return tuple(cell_label(c) for c in self.cells)


def layout_of(spec: Spec) -> Layout:
    """The :class:`Layout` of a spec (what the form shows for it).

    Examples
    --------
    >>> import trialplan as tp
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> layout.kind, layout.factors, layout.base_labels[:2], layout.hypotheses[2]
    ('factorial', ('rTMS', 'MBI'), ('sham+control', 'sham+MBI'), 'rTMS:MBI')
    """
    design = spec.design
    data = spec_to_dict(spec)
    kind = getattr(design, "design_kind", "")
    outcome_table = data["design"].get("outcome", {})
    outcome = outcome_table.get("type", "") if isinstance(outcome_table, Mapping) else ""
    common: dict[str, Any] = {
        "spec": spec,
        "data": data,
        "kind": kind,
        "outcome": outcome,
        "hypotheses": tuple(getattr(design, "hypothesis_names", ()) or ()),
    }
    if kind == "factorial":
        factors = tuple(design.factors)
        levels = tuple(tuple(design.factors[f]) for f in factors)
        cells = tuple(design.cells)
        positions = tuple(
            tuple(levels[i].index(level) for i, level in enumerate(cell)) for cell in cells
        )
        common.update(factors=factors, levels=levels, cells=cells, positions=positions)
    elif kind == "parallel":
        arms = tuple(design.arms)
        common.update(
            arms=arms,
            cells=arms,
            positions=tuple((i,) for i in range(len(arms))),
            size_key="n_per_arm",
        )
    if outcome == "time_to_event":
        table = outcome_table
        common["tte_values"] = "medians" if "medians" in table else "hazards"
        common["tte_time"] = "analysis_time" if "analysis_time" in table else "follow_up"
    return Layout(**common)


# ------------------------------------------------------------------ values
def _values_of(table: Any, layout: Layout) -> list[float] | None:
    """Per-cell values of a TOML table keyed by cell label (or one value for all)."""
    if isinstance(table, Mapping):
        labels = layout.base_labels
        return [float(table[lab]) if lab in table else math.nan for lab in labels]
    if isinstance(table, int | float) and not isinstance(table, bool):
        return [float(table)] * len(layout.cells)
    return None


def _defaults(layout: Layout, outcome: str) -> list[float]:
    if layout.is_2x2:
        table = _default_2x2(outcome)
        return [table[pos] for pos in layout.positions]
    first, other = _DEFAULT_OTHER[outcome]
    return [first] + [other] * (len(layout.cells) - 1)


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
        cells = own if own is not None else _defaults(layout, outcome)
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
    fractions = table.get("info_fractions", [])
    out["looks"] = str(len(fractions))
    out["info_fractions"] = ", ".join(f"{f:g}" for f in fractions)
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
    if kind in MULTIPLICITY and "hypotheses" in table:
        return {"multiplicity": kind, "family": _positions(layout, table["hypotheses"])}
    return {"multiplicity": _OWN_MULTIPLICITY, "family": []}


# ----------------------------------------------------------------- synergy
def synergy_defaults(layout: Layout, values: Mapping[str, Any]) -> dict[str, Any]:
    """Synergy-model fields that reproduce each outcome type's current cells (2x2 only).

    The control cell, each monotherapy's difference from it, the interaction
    (difference of differences) and, for the state-dependent model, a state
    shift of 1.5 SD (the starter spec's) with the slope that gives the same
    interaction.
    """
    if not layout.is_2x2:
        return {}
    out: dict[str, Any] = {}
    for prefix in VALUE_PREFIX.values():
        cells = [values.get(f"{prefix}_{i}") for i in range(4)]
        for name, value in invert_cells(layout, cells).items():
            out[f"syn_{prefix}_{name}"] = value
    out["syn_model"] = "additive"
    out["syn_scale"] = "identity"
    return out


def invert_cells(layout: Layout, cells: Sequence[Any]) -> dict[str, float]:
    """Control, monotherapy effects, interaction, state shift and slope of four cells.

    Examples
    --------
    >>> import trialplan as tp
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> invert_cells(layout, [-5.8, -9.7, -10.1, -17.0])   # design order
    {'control': -5.8, 'effect_0': -4.3, 'effect_1': -3.9, 'ic': -3.0, 'shift': 1.5, 'slope': -2.0}
    """
    by_position = dict(zip(layout.positions, cells, strict=True))
    try:
        v00, v10, v01, v11 = (float(by_position[p]) for p in ((0, 0), (1, 0), (0, 1), (1, 1)))
    except (TypeError, ValueError):
        return {}
    ic = _tidy(v11 - v10 - v01 + v00)
    return {
        "control": v00,
        "effect_0": _tidy(v10 - v00),
        "effect_1": _tidy(v01 - v00),
        "ic": ic,
        "shift": 1.5,
        "slope": _tidy(ic / 1.5),
    }


def _tidy(value: float) -> float:
    """A value computed from typed ones, to 10 decimals (-4.3, not -4.299999999999999)."""
    return round(value, 10) + 0.0


class FormError(ValueError):
    """A value of the form that the library refused, with the field it belongs to."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


def implied_cells(layout: Layout, values: Mapping[str, Any], outcome: str) -> list[float]:
    """The cell values of the synergy model in the form, in design order.

    Raises
    ------
    FormError
        With the library's message (``tp.synergy``) at the field it names.

    Examples
    --------
    >>> import trialplan as tp
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> values = initial_values(layout)
    >>> values.update(syn_model="state_dependent", syn_mean_slope=-2.0, syn_mean_shift=1.5)
    >>> implied_cells(layout, values, "continuous")
    [-5.8, -9.7, -10.1, -17.0]
    """
    from trialplan import synergy

    prefix = f"syn_{VALUE_PREFIX[outcome]}_"
    model = values.get("syn_model", "additive")
    names = layout_names(values, layout)
    factors, levels = names["factors"], names["levels"]

    def number(name: str) -> Any:
        return values.get(prefix + name)

    try:
        if model == "state_dependent":
            if outcome != "continuous":
                raise FormError(
                    {"syn_model": "the state-dependent model gives means: continuous outcomes only"}
                )
            sd_model = synergy.StateDependent(
                rtms_effect=number("effect_0"),
                mbi_effect=number("effect_1"),
                state_slope=number("slope"),
                mbi_state_shift=number("shift"),
                control=number("control"),
            )
            cells = sd_model.cell_means({"rTMS": levels[0], "MBI": levels[1]})
        else:
            chosen: Any = model
            scale = None
            if model == "interaction":
                chosen = synergy.Interaction(number("ic"))
                scale = values.get("syn_scale", "identity")
            cells = synergy.cell_means(
                control=number("control"),
                effects={factors[0]: number("effect_0"), factors[1]: number("effect_1")},
                model=chosen,
                scale=scale,
                levels={factors[0]: levels[0], factors[1]: levels[1]},
            )
    except FormError:
        raise
    except (ValueError, TypeError) as exc:
        raise FormError({_synergy_field(str(exc), prefix, factors): str(exc)}) from None
    by_levels = {key: _tidy(v) for key, v in cells.items()}
    return [by_levels[(levels[0][p[0]], levels[1][p[1]])] for p in layout.positions]


def _synergy_field(message: str, prefix: str, factors: Sequence[str]) -> str:
    """The synergy field a ``tp.synergy`` message is about."""
    match = re.match(r"^(?:control \+ )?effects\[['\"](.+?)['\"]\]", message)
    if match:
        name = match.group(1)
        return prefix + f"effect_{list(factors).index(name) if name in factors else 0}"
    rules = (
        ("control", "control"),
        ("rtms_effect", "effect_0"),
        ("mbi_effect", "effect_1"),
        ("state_slope", "slope"),
        ("mbi_state_shift", "shift"),
        ("Interaction value", "ic"),
        ("the implied combination", "ic"),
    )
    for start, name in rules:
        if message.startswith(start):
            return prefix + name
    if message.startswith("scale") or "scale=" in message:
        return "syn_scale"
    return "syn_model"


# ------------------------------------------------------------------- build
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


def layout_names(values: Mapping[str, Any], layout: Layout) -> dict[str, Any]:
    """Factor names and levels as typed in the form (positional, stripped)."""
    factors = []
    levels = []
    for i in range(len(layout.factors)):
        factors.append(_text(values.get(f"factor_{i}_name")))
        levels.append(
            (_text(values.get(f"factor_{i}_level_0")), _text(values.get(f"factor_{i}_level_1")))
        )
    return {"factors": factors, "levels": levels}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else "" if value is None else str(value)


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
    order = next((base[k] for k in _CELL_TABLES if isinstance(base.get(k), Mapping)), None)
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


def hypothesis_names(values: Mapping[str, Any], layout: Layout) -> list[str]:
    """The design's hypothesis names under the factor and level names in the form."""
    if layout.kind != "factorial":
        return list(layout.hypotheses)
    names = layout_names(values, layout)
    rename = dict(zip(layout.factors, names["factors"], strict=True))
    level_maps = {
        old: dict(zip(layout.levels[i], names["levels"][i], strict=True))
        for i, old in enumerate(layout.factors)
    }
    return [_rename(h, rename, level_maps) for h in layout.hypotheses]


def _rename(name: str, factors: Mapping[str, str], levels: Mapping[str, Mapping[str, str]]) -> str:
    """A hypothesis name with its factors and levels renamed ("rTMS | MBI=control")."""
    suffix = ""
    match = re.match(r"^(.*?)( \(.+\))$", name)
    if match:
        name, suffix = match.group(1), match.group(2)
    if name == "combination":
        return name + suffix
    term, _, condition = name.partition(" | ")
    out = ":".join(factors.get(t, t) for t in term.split(":"))
    if condition:
        parts = []
        for part in condition.split(", "):
            factor, _, level = part.partition("=")
            parts.append(
                f"{factors.get(factor, factor)}={levels.get(factor, {}).get(level, level)}"
            )
        out += " | " + ", ".join(parts)
    return out + suffix


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
    elif kind != _OWN_MULTIPLICITY:
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


def _fractions(values: Mapping[str, Any]) -> list[Any]:
    looks = int(values.get("looks") or 1)
    text = _text(values.get("info_fractions"))
    if not text:
        return [round((k + 1) / looks, 10) for k in range(looks)]
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
    if kind in _PARAMETRIC:
        table["parameter"] = _number(parameter)
    return table


def _sequential_table(
    base: Any, values: Mapping[str, Any], design: Mapping[str, Any]
) -> dict[str, Any]:
    table = dict(base) if isinstance(base, Mapping) else {"type": "group_sequential"}
    table["info_fractions"] = _fractions(values)
    # the looks test the design's hypotheses at the design's level
    table["alpha"] = design.get("alpha")
    table["sided"] = design.get("sided")
    efficacy = values.get("efficacy") or "obrien_fleming"
    table["efficacy"] = _spending(efficacy, values.get("efficacy_param"))
    futility = values.get("futility") or "none"
    if futility == "none":
        table.pop("futility", None)
    else:
        table["futility"] = _spending(futility, values.get("futility_param"))
    table["binding"] = bool(values.get("binding"))
    return table


def _edit_labels(data: dict[str, Any], values: Mapping[str, Any], layout: Layout) -> None:
    labels = data.get("labels", {})
    if layout.kind == "factorial":
        names = layout_names(values, layout)
        levels: dict[str, dict[str, str]] = {}
        for i, factor in enumerate(names["factors"]):
            for j, level in enumerate(names["levels"][i]):
                text = _text(values.get(f"factor_{i}_label_{j}"))
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
            if (text := _text(values.get(f"arm_{i}_label")))
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
    text = _text(values.get("block_sizes"))
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


# ------------------------------------------------------------------ errors
_OUTCOME_FIELDS = {
    "sd": "sd",
    "baseline_corr": "baseline_corr",
    "better": None,  # per outcome type
    "scale": "scale",
    "accrual": "accrual",
    "follow_up": "follow_up",
    "analysis_time": "follow_up",
    "dropout_hazard": "follow_up",
}
_CELL_TABLES = ("means", "rates", "medians", "hazards")


def _cell_index(text: str, labels: Sequence[str], layout: Layout) -> int | None:
    """The cell an error message names ("means[('sham', 'MBI')]" or '"sham+MBI"')."""
    match = re.search(r"\[\(([^)]*)\)\]", text)
    if match:
        parts = tuple(p.strip().strip("'\"") for p in match.group(1).split(",") if p.strip())
        joined = "+".join(parts)
        if joined in labels:
            return labels.index(joined)
    match = re.search(r"\[['\"]([^'\"]+)['\"]\]", text)
    if match and match.group(1) in labels:
        return labels.index(match.group(1))
    for i, lab in enumerate(labels):
        if f'"{lab}"' in text or f"'{lab}'" in text:
            return i
    return None


def field_of(
    error: SpecError,
    layout: Layout,
    labels: Sequence[str],
    outcome: str,
    names: Mapping[str, Any] | None = None,
) -> str:
    """The form field a spec error is about (``"form"`` when none is).

    Examples
    --------
    >>> import trialplan as tp
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> labels = list(layout.base_labels)
    >>> field_of(SpecError("design.outcome.sd", "must be > 0"), layout, labels, "continuous")
    'sd'
    >>> error = SpecError("design.dropout", "dropout[('active', 'MBI')] must lie in [0, 1)")
    >>> field_of(error, layout, labels, "continuous")
    'dropout_3'
    """
    path = error.path or ""
    reason = error.reason or ""
    parts = path.split(".", 2)
    text = f"{path} {reason}"
    if path.startswith("design.outcome"):
        rest = path[len("design.outcome") :].lstrip(".")
        key = rest.split(".", 1)[0]
        if key in _CELL_TABLES or not key and any(t in reason for t in _CELL_TABLES):
            index = _cell_index(text, labels, layout)
            return f"{VALUE_PREFIX[outcome]}_{index if index is not None else 0}"
        if key == "better":
            return f"better_{outcome}" if outcome != "time_to_event" else "outcome_type"
        return _OUTCOME_FIELDS.get(key) or "outcome_type"
    if path.startswith("design.dropout"):
        index = _cell_index(text, labels, layout)
        return f"dropout_{index if index is not None else 0}"
    if path.startswith(f"design.{layout.size_key}"):
        if any(lab in reason for lab in labels) or "{" in reason:
            index = _cell_index(text, labels, layout)
            return f"ratio_{index}" if index is not None else "n"
        return "n"
    if path in ("design.alpha", "design.sided"):
        return parts[1]
    if path.startswith("design"):
        return _factor_field(reason, layout, names)
    if path.startswith("analysis.sequential"):
        key = path.split(".")[2] if path.count(".") >= 2 else ""
        return {
            "info_fractions": "info_fractions",
            "efficacy": "efficacy",
            "futility": "futility",
            "binding": "binding",
            "alpha": "looks",
            "sided": "looks",
        }.get(key, "looks")
    if path.startswith("analysis.multiplicity"):
        return "family" if "hypothes" in path or "famil" in path else "multiplicity"
    if path.startswith("analysis"):
        key = parts[1] if len(parts) > 1 else ""
        return {"power": "power", "primary": "primary", "size": "size"}.get(key, "primary")
    if path.startswith("randomization"):
        return "block_sizes"
    if path.startswith("labels"):
        return _label_field(reason, layout)
    return "form"


def _factor_field(reason: str, layout: Layout, names: Mapping[str, Any] | None) -> str:
    """The factor or level field of a message about the factors ("factors['rTMS'] ...")."""
    factors = list((names or {}).get("factors", layout.factors))
    levels = list((names or {}).get("levels", layout.levels))
    match = re.search(r"factors\[['\"]([^'\"]*)['\"]\]", reason) or re.search(
        r"factor(?: name)? ['\"]([^'\"]*)['\"]", reason
    )
    if match and match.group(1) in factors:
        i = factors.index(match.group(1))
        if "level" in reason or "two different" in reason:
            pair = levels[i]
            return f"factor_{i}_level_{0 if not pair[0] else 1}"
        return f"factor_{i}_name"
    match = re.search(r"level ['\"]([^'\"]*)['\"]", reason)
    if match:
        for i, pair in enumerate(levels):
            if match.group(1) in pair:
                return f"factor_{i}_level_{pair.index(match.group(1))}"
    return "factor_0_name" if layout.factors else "form"


def _label_field(reason: str, layout: Layout) -> str:
    match = re.search(r"levels\['([^']*)'\]\['([^']*)'\]", reason)
    if match:
        for i, lv in enumerate(layout.levels):
            if match.group(2) in lv:
                return f"factor_{i}_label_{lv.index(match.group(2))}"
    if layout.kind == "parallel":
        return "arm_0_label"
    return "factor_0_label_0" if layout.factors else "form"
