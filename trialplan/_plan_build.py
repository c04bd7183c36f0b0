"""How :func:`trialplan.plan.plan` checks its arguments and resolves sizes and grids."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from trialplan._plan_analysis import (
    integer_ratios,
    is_cell_design,
    is_regime_design,
)
from trialplan._validation import did_you_mean
from trialplan.allocation import Allocation, RandomizationPlan, allocate, ratios_of
from trialplan.sensitivity import SensitivityGrid

SIZES = ("solve", "fixed")
METHODS = ("analytic", "simulation")


@contextlib.contextmanager
def setting(name: str) -> Iterator[None]:
    """Tag a ValueError with the plan setting it concerns (``exc.setting``).

    ``Spec.evaluate`` turns the tag into the TOML key of the error; a
    randomization error is tagged with the setting its message names.
    """
    try:
        yield
    except ValueError as exc:
        if not hasattr(exc, "setting"):
            setting = name
            if name == "randomization":
                word = str(exc).split(" ", 1)[0].split("=", 1)[0]
                setting = f"randomization.{word}" if word in ("n", "block_sizes") else name
            exc.setting = setting  # type: ignore[attr-defined]
        raise


def check_design(design: Any) -> None:
    if not (is_cell_design(design) or is_regime_design(design)):
        raise TypeError(
            "design must be a trialplan design (tp.Factorial, tp.Parallel or tp.SMART) or a "
            f"Spec; got design={design!r}"
        )


def check_size(size: Any, power: Any) -> str:
    if size is None:
        return "solve" if power is not None else "fixed"
    if size not in SIZES:
        raise ValueError(
            f"size={size!r} is not allowed; choose 'solve' (the smallest size reaching the "
            "target power) or 'fixed' (the design's own sizes)" + did_you_mean(str(size), SIZES)
        )
    return str(size)


def check_power(power: Any) -> float:
    if isinstance(power, bool) or not isinstance(power, numbers.Real) or not 0 < power < 1:
        raise ValueError(f"power must lie strictly between 0 and 1; got power={power!r}")
    return float(power)


def check_method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(
            f"method={method!r} is not allowed; choose 'analytic' or 'simulation'"
            + did_you_mean(str(method), METHODS)
        )
    return str(method)


def check_simulation(n_sims: Any, seed: Any) -> tuple[int, int]:
    """``n_sims`` (>= 1) and ``seed`` (>= 0) as whole numbers, or a ValueError naming them."""
    for name, value, low in (("n_sims", n_sims, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}; got {name}={value!r}")
    return int(n_sims), int(seed)


def names(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(
            f"{name} must be a hypothesis name or a list of names; got {name}={value!r}"
        )
    return tuple(value)


def check_hypothesis(design: Any, name: str) -> None:
    """Raise (naming the choices) unless ``name`` is a hypothesis of ``design``."""
    known = tuple(getattr(design, "hypothesis_names", ()))
    if is_regime_design(design):
        if name not in known:
            raise ValueError(
                f"{name!r} is not a comparison of this SMART; choose from {list(known)}"
                + did_you_mean(name, known)
            )
        return
    design.hypothesis(name)


def allocation(design: Any, settings: RandomizationPlan) -> Allocation:
    """Whole-block randomized counts for the analysed sizes of ``design``."""
    if is_regime_design(design):
        arms = tuple(design.stage1)
        probs = design.stage1_allocation
        ratios = integer_ratios([probs[a] for a in arms])
        unit = sum(ratios)
        cycles = math.ceil(design.n_total / unit)  # per-arm sizes that add up to n_total
        required = tuple(cycles * r for r in ratios)
        dropout = (float(design.dropout),) * len(arms)
        cells: tuple[Any, ...] = arms
    else:
        cells = tuple(design.cells)
        required = tuple(int(v) for v in np.asarray(design.n_array))
        ratios = ratios_of(required)
        dropout = tuple(float(d) for d in design.dropout_array)
    return allocate(
        cells=cells,
        ratios=ratios,
        required=required,
        dropout=dropout,
        block_sizes=settings.block_sizes,
        n_randomized=settings.n,
    )


def at(design: Any, analysed: Sequence[int]) -> Any:
    """``design`` with these analysed sizes per cell (a SMART: their total)."""
    if is_regime_design(design):
        return design.replace(n_total=int(sum(analysed)))
    return design.with_cell_sizes([int(n) for n in analysed])


def full_grid(design: Any, grid: SensitivityGrid | None) -> SensitivityGrid:
    """The sensitivity grid, with the planned SD, dropout and effect scale always in it."""
    if grid is None:
        grid = _default_grid(design)
    planned_sd = _planned_sd(design)
    sd = grid.sd
    if sd and planned_sd is not None and planned_sd not in sd:
        sd = tuple(sorted(sd + (planned_sd,)))
    scale = (
        grid.effect_scale if 1.0 in grid.effect_scale else tuple(sorted(grid.effect_scale + (1.0,)))
    )
    return dataclasses.replace(grid, sd=sd, effect_scale=scale)


def _planned_sd(design: Any) -> float | None:
    sd = design.sd if design.design_kind == "smart" else design.outcome.common_sd
    return None if sd is None else float(sd)


def _default_grid(design: Any) -> SensitivityGrid:
    sd = _planned_sd(design)
    sds = () if sd is None else (0.9 * sd, sd, 1.1 * sd)
    dropout = getattr(design, "dropout", None)
    drops: tuple[float, ...] = ()
    if isinstance(dropout, numbers.Real) and not isinstance(dropout, bool):
        d = float(dropout)
        drops = tuple(sorted({d, min(round(d + 0.1, 10), 0.9)}))
    return SensitivityGrid(sd=tuple(round(v, 10) for v in sds), dropout=drops)
