"""Synergy models in the form: the cells a 2x2 model implies, and the model a 2x2 implies.

The form's synergy fields (``syn_<prefix>_control``, ``_effect_0``,
``_effect_1``, ``_ic``, ``_slope``, ``_shift``; one set per outcome type) are
turned into cell values by :mod:`trialplan.synergy` (``cell_means`` and
``StateDependent``), whose error messages are attached to the field they name.
It also holds the planning values a newly chosen outcome type starts from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trialplan.app.layout import VALUE_PREFIX, FormError, Layout, layout_names

__all__ = ["default_cells", "implied_cells", "invert_cells", "synergy_defaults", "tidy"]


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


def default_cells(layout: Layout, outcome: str) -> list[float]:
    """Planning values of an outcome type the opening spec does not have, in cell order."""
    if layout.is_2x2:
        table = _default_2x2(outcome)
        return [table[pos] for pos in layout.positions]
    first, other = _DEFAULT_OTHER[outcome]
    return [first] + [other] * (len(layout.cells) - 1)


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
    # a stated interaction (the cells' own, on the difference scale) reproduces the cells
    # when the form switches to a model; the other models are a choice away
    out["syn_model"] = "interaction"
    out["syn_scale"] = "identity"
    return out


def invert_cells(layout: Layout, cells: Sequence[Any]) -> dict[str, float]:
    """Control, monotherapy effects, interaction, state shift and slope of four cells.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.app.form import initial_values, layout_of
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> invert_cells(layout, [-5.8, -9.7, -10.1, -17.0])   # design order
    {'control': -5.8, 'effect_0': -4.3, 'effect_1': -3.9, 'ic': -3.0, 'shift': 1.5, 'slope': -2.0}
    """
    by_position = dict(zip(layout.positions, cells, strict=True))
    try:
        v00, v10, v01, v11 = (float(by_position[p]) for p in ((0, 0), (1, 0), (0, 1), (1, 1)))
    except (TypeError, ValueError):
        return {}
    ic = tidy(v11 - v10 - v01 + v00)
    return {
        "control": v00,
        "effect_0": tidy(v10 - v00),
        "effect_1": tidy(v01 - v00),
        "ic": ic,
        "shift": 1.5,
        "slope": tidy(ic / 1.5),
    }


def tidy(value: float) -> float:
    """A value computed from typed ones, to 10 decimals (-4.3, not -4.299999999999999)."""
    return round(value, 10) + 0.0


def implied_cells(layout: Layout, values: Mapping[str, Any], outcome: str) -> list[float]:
    """The cell values of the synergy model in the form, in design order.

    Raises
    ------
    FormError
        With the library's message (``tp.synergy``) at the field it names.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.app.form import initial_values, layout_of
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
    by_levels = {key: tidy(v) for key, v in cells.items()}
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
