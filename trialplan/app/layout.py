"""The shape of the design the page edits, and the words of the form's choices.

A :class:`Layout` is read once from the spec the page opens on: its design
kind, factors and levels (or arms), cells in the design's order, hypotheses
and outcome type.  Form fields are positional (``factor_0_name``, ``mean_2``),
so names typed in the form are mapped back to the design's by position
(:func:`layout_names`, :func:`hypothesis_names`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trialplan.spec import Spec
from trialplan.spec.codec import label as cell_label
from trialplan.spec.io import spec_to_dict

__all__ = [
    "CELL_TABLES",
    "EFFICACY",
    "FUTILITY",
    "MULTIPLICITY",
    "OUTCOMES",
    "OWN_MULTIPLICITY",
    "PARAMETRIC",
    "SYNERGY_MODELS",
    "SYNERGY_SCALES",
    "VALUE_PREFIX",
    "FormError",
    "Layout",
    "clean_text",
    "hypothesis_names",
    "layout_names",
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


PARAMETRIC = ("hwang_shih_decani", "power_family")


MULTIPLICITY = {
    "none": "None (each hypothesis at alpha)",
    "bonferroni": "Bonferroni",
    "holm": "Holm",
    "hochberg": "Hochberg",
    "fixed_sequence": "Fixed sequence (in the order chosen)",
}


OWN_MULTIPLICITY = "spec"  # a procedure the form cannot edit (gatekeeping, graphs): kept


CELL_TABLES = ("means", "rates", "medians", "hazards")


class FormError(ValueError):
    """A value of the form that the library refused, with the field it belongs to."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


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


def layout_names(values: Mapping[str, Any], layout: Layout) -> dict[str, Any]:
    """Factor names and levels as typed in the form (positional, stripped)."""
    factors = []
    levels = []
    for i in range(len(layout.factors)):
        factors.append(clean_text(values.get(f"factor_{i}_name")))
        levels.append(
            (
                clean_text(values.get(f"factor_{i}_level_0")),
                clean_text(values.get(f"factor_{i}_level_1")),
            )
        )
    return {"factors": factors, "levels": levels}


def clean_text(value: Any) -> str:
    """A text field's value, stripped ("" for an empty field)."""
    return value.strip() if isinstance(value, str) else "" if value is None else str(value)


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
