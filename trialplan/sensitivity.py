"""Sensitivity of power to the planning values: SD x dropout x effect size.

The protocol's sensitivity table keeps the number *randomized* fixed (that is
what the trial commits to) and asks what power remains if the SD is larger,
more participants drop out, or the effects are smaller than planned.
:class:`SensitivityGrid` holds the values to try (a spec's ``[sensitivity]``
section); :func:`sensitivity_table` computes the table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trialplan._validation import as_sequence, did_you_mean

__all__ = ["SensitivityGrid", "scale_effects", "sensitivity_table"]


@dataclass(frozen=True, kw_only=True)
class SensitivityGrid:
    """Grid of the protocol's sensitivity table: power over sd x dropout x effect.

    Parameters
    ----------
    sd : tuple of float, default ()
        Outcome SDs to try (continuous outcomes); empty: the planned SD only.
    dropout : tuple of float, default ()
        Dropout proportions to try at the planned number randomized; empty:
        the planned dropout only.
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
        allowed = {
            "sd": "numbers > 0",
            "dropout": "proportions in [0, 1)",
            "effect_scale": "numbers > 0",
        }
        for name, text in allowed.items():
            raw = as_sequence(getattr(self, name))
            if isinstance(raw, str) or not isinstance(raw, Sequence):
                raise TypeError(f"{name} must be a list of {text}; got {name}={raw!r}")
            values = tuple(raw)
            for v in values:
                ok = (
                    not isinstance(v, bool)
                    and isinstance(v, numbers.Real)
                    and (0 <= v < 1 if name == "dropout" else 0 < v < math.inf)
                )
                if not ok:
                    raise ValueError(f"{name} must be a list of {text}; got {name}={values!r}")
            object.__setattr__(self, name, tuple(float(v) for v in values))


def scale_effects(outcome: Any, factor: float, *, reference: Any) -> Any:
    """The outcome with every cell's difference from ``reference`` times ``factor``.

    Means (continuous and repeated outcomes) and rates (binary) are scaled
    on their own scale; hazards are scaled on the log scale (hazard ratios
    raised to the power ``factor``).

    Parameters
    ----------
    outcome : Continuous, Binary, TimeToEvent or Repeated
        Planning values.
    factor : float
        Multiplier of the effects (> 0); 1 returns an equal outcome.
    reference : cell key
        The cell whose value is kept (the control cell).

    Returns
    -------
    outcome of the same type

    Raises
    ------
    ValueError
        If ``factor`` is not > 0, or the scaled rates leave (0, 1).
    TypeError
        For an outcome type without means, rates or hazards.

    Examples
    --------
    >>> import trialplan as tp
    >>> y = tp.Continuous(means={"a": 1.0, "b": -3.0}, sd=8.0)
    >>> dict(scale_effects(y, 0.5, reference="a").means)
    {'a': 1.0, 'b': -1.0}
    """
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
        raise ValueError(f"factor must be a number > 0; got factor={factor!r}")
    name = {"continuous": "means", "repeated": "means", "binary": "rates"}.get(outcome.kind)
    if name is not None:
        values = outcome.planning_values()
        ref = _reference_value(values, reference)
        scaled = {cell: _shift(ref, v, factor) for cell, v in values.items()}
        if name == "rates" and not all(0 < p < 1 for p in scaled.values()):
            raise ValueError(f"effect_scale={factor:g} moves a rate outside (0, 1): {scaled}")
        return outcome.replace(**{name: scaled})
    if outcome.kind == "time_to_event":
        hazards = outcome.planning_values()
        ref = _reference_value(hazards, reference)
        return outcome.replace(
            hazards={c: ref * (h / ref) ** factor for c, h in hazards.items()}, medians=None
        )
    raise TypeError(
        f"cannot scale the effects of {type(outcome).__name__}: it has no means, rates or hazards"
    )


def _reference_value(values: Mapping[Any, Any], reference: Any) -> Any:
    """``values[reference]``, or a ValueError naming the cells (was a bare KeyError)."""
    if reference not in values:
        raise ValueError(
            f"reference={reference!r} is not a cell of the outcome; cells are "
            f"{list(values)}" + did_you_mean(reference, values)
        )
    return values[reference]


def _shift(ref: Any, value: Any, factor: float) -> Any:
    if isinstance(value, Sequence):  # repeated measures: one mean per visit
        return tuple(r + factor * (v - r) for r, v in zip(ref, value, strict=True))
    return ref + factor * (value - ref)


def sensitivity_table(
    design: Any,
    *,
    hypothesis: str,
    sd: Sequence[float] = (),
    dropout: Sequence[float] = (),
    effect_scale: Sequence[float] = (0.75, 1.0, 1.25),
    randomized: Sequence[int] | None = None,
    power: Callable[[Any], float] | None = None,
) -> pd.DataFrame:
    """Power of one hypothesis over a grid of SD, dropout and effect size.

    The number randomized per cell is ``randomized`` (by default the design's
    ``n_randomized_per_cell``); under dropout ``d`` a cell analyses
    ``floor(n_randomized * (1 - d))``.

    Parameters
    ----------
    design : cell design (``tp.Factorial``, ``tp.Parallel``)
        The planned design.
    hypothesis : str
        The hypothesis whose power is tabulated.
    sd : sequence of float, optional
        Outcome SDs (outcomes with an ``sd``); default: the planned SD.
    dropout : sequence of float, optional
        Dropout proportions in [0, 1); default: the planned dropout.
    effect_scale : sequence of float, default (0.75, 1.0, 1.25)
        Multipliers of every cell's difference from the first cell.
    randomized : sequence of int, optional
        Participants randomized per cell, in the order of ``design.cells``
        (e.g. a plan's whole-block counts).
    power : callable, optional
        ``power(design) -> float``: the power of ``hypothesis`` in each
        scenario's design, for analyses other than the fixed-design test
        (e.g. ``lambda d: d.power(h, sequential=gsd)[h]``).

    Returns
    -------
    pandas.DataFrame
        Columns ``sd`` (if the outcome has one), ``dropout``,
        ``effect_scale``, ``n_analysed``, ``power``; one row per combination.
        Multipliers that would push a rate outside (0, 1) are left out and
        listed in ``frame.attrs["skipped_effect_scale"]``.

    Raises
    ------
    ValueError
        For SDs or effect multipliers that are not > 0, dropout outside
        [0, 1), or ``sd`` given for an outcome without an SD.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> t = sensitivity_table(d, hypothesis="A:B", dropout=(0.0, 0.5), effect_scale=(1.0,))
    >>> t[["dropout", "n_analysed"]].values.tolist()
    [[0.0, 80.0], [0.5, 40.0]]
    >>> bool(t["power"].iloc[0] == d.power()["A:B"])
    True
    """
    outcome = design.outcome
    sd, dropout, effect_scale = (
        _values(name, value)
        for name, value in (("sd", sd), ("dropout", dropout), ("effect_scale", effect_scale))
    )
    has_sd = outcome.common_sd is not None
    if sd and not has_sd:
        raise ValueError(
            f"sd={tuple(sd)!r} given, but a {type(outcome).__name__} outcome has "
            "no SD; leave sd empty"
        )
    for value in sd:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"sd must be numbers > 0; got sd={tuple(sd)!r}")
    for value in dropout:
        if not 0 <= value < 1:
            raise ValueError(
                f"dropout must be proportions in [0, 1); got dropout={tuple(dropout)!r}"
            )
    for value in effect_scale:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"effect_scale must be numbers > 0; got effect_scale={tuple(effect_scale)!r}"
            )
    sds = tuple(sd) or ((outcome.sd,) if has_sd else (None,))
    if randomized is None:
        randomized = [design.n_randomized_per_cell[c] for c in design.cells]
    randomized = [int(r) for r in randomized]
    if len(randomized) != len(design.cells):
        raise ValueError(
            f"randomized must give one count per cell ({len(design.cells)}); got "
            f"randomized={randomized!r}"
        )
    if power is None:

        def power(trial: Any) -> float:
            return trial.power(hypothesis)[hypothesis]

    if dropout:
        drops: Sequence[Any] = tuple(dropout)
    else:
        drops = (design.dropout,)
    reference = design.cells[0]
    rows: list[dict[str, Any]] = []
    skipped: list[float] = []
    for s in sds:
        base = outcome if s is None else outcome.replace(sd=float(s))
        for d in drops:
            per_cell = (
                design.dropout_array if isinstance(d, Mapping) else [float(d)] * len(design.cells)
            )
            sizes = [
                int(math.floor(round(r * (1 - dj), 9)))
                for r, dj in zip(randomized, per_cell, strict=True)
            ]
            for f in effect_scale:
                try:
                    scaled = scale_effects(base, f, reference=reference)
                except ValueError:  # rates pushed outside (0, 1): no such scenario
                    skipped.append(float(f))
                    continue
                trial = design.replace(outcome=scaled).with_cell_sizes(sizes)
                row: dict[str, Any] = {}
                if s is not None:
                    row["sd"] = float(s)
                row["dropout"] = "per cell" if isinstance(d, Mapping) else float(d)
                row["effect_scale"] = float(f)
                row["n_analysed"] = float(sum(sizes))
                row["power"] = float(power(trial))
                rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["skipped_effect_scale"] = sorted(set(skipped))
    return frame


def _values(name: str, values: Any) -> tuple[float, ...]:
    """A list (or 1-D array) of real numbers as a tuple of floats, or raise naming ``name``.

    A numpy array here failed with numpy's "truth value of an array ... is
    ambiguous", and numpy integers were refused as "not numbers".
    """
    values = as_sequence(values)
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of numbers; got {name}={values!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a list of numbers; got {name}={tuple(values)!r}")
    return tuple(float(v) for v in values)
