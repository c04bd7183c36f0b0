"""The tables a :class:`~trialplan.plan.TrialPlan` computes on demand.

Every power here is computed by the plan's analysis (``plan.power_at``) on a
design whose cells hold the expected analysed counts of some number
randomized, so the power table, the sensitivity row at the planned values,
the power curve at the planned size and ``plan.primary_power`` are the same
numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trialplan._plan_analysis import is_regime_design

__all__ = ["curve_frame", "expected_n", "looks_frame", "sensitivity_frame"]


# ------------------------------------------------------------------ power table
def _fixed_rows(plan: Any, names: list[str]) -> pd.DataFrame:
    return plan.design.power(names).to_frame()


def power_table(plan: Any) -> pd.DataFrame:
    """See :attr:`TrialPlan.power_table`."""
    names = list(plan.hypotheses)
    rows = _fixed_rows(plan, names)
    analysed = plan.power_at(plan.design, names)
    kinds = {n: plan.analysis_of(n) for n in names}
    out = pd.DataFrame(
        {
            "hypothesis": rows["hypothesis"],
            "label": [plan.label(h) for h in rows["hypothesis"]],
            "role": ["primary" if h in plan.primary else "secondary" for h in rows["hypothesis"]],
            "estimand": rows["estimand"],
            "effect": rows["effect"].astype(float),
            "se": rows["se"].astype(float),
            "df": rows["df"].astype(float),
            "power": [
                analysed.get(h, p) for h, p in zip(rows["hypothesis"], rows["power"], strict=True)
            ],
            "analysis": [kinds.get(h, "single") for h in rows["hypothesis"]],
        }
    )
    if "scale" in rows.columns:
        out["scale"] = rows["scale"]
    if plan.method == "simulation":
        simulated, mcse = plan.analysis.simulated(
            plan.design,
            names,
            n_sims=plan.n_sims,
            seed=plan.seed,
            adaptive_result=plan.adaptive_result,
        )
        out["simulated"] = [simulated.get(h, math.nan) for h in out["hypothesis"]]
        out["mcse"] = [mcse.get(h, math.nan) for h in out["hypothesis"]]
    elif plan.adaptive is not None:  # the adaptive power is simulated: its MCSE (others exact)
        mcse = plan.adaptive_result.mcse
        out["mcse"] = [mcse.get(h, math.nan) for h in out["hypothesis"]]
    return out


# ------------------------------------------------------------------ sensitivity
def sensitivity_frame(plan: Any) -> pd.DataFrame:
    """See :attr:`TrialPlan.sensitivity`."""
    if is_regime_design(plan.design):
        return _regime_sensitivity(plan)
    from trialplan.sensitivity import sensitivity_table

    grid = plan.sensitivity_grid
    design = plan.design
    drops = grid.dropout
    planned_drop = design.dropout
    if drops and not isinstance(planned_drop, dict) and not hasattr(planned_drop, "items"):
        if float(planned_drop) not in drops:
            drops = tuple(sorted(drops + (float(planned_drop),)))
    frames = []
    for name in plan.primary:
        frame = sensitivity_table(
            design,
            hypothesis=name,
            sd=grid.sd,
            dropout=drops,
            effect_scale=grid.effect_scale,
            randomized=plan.allocation.randomized,
            power=lambda d, name=name: plan.power_at(d, [name])[name],
        )
        if hasattr(planned_drop, "items") and drops:  # per-cell dropout: add the planned row
            planned = sensitivity_table(
                design,
                hypothesis=name,
                sd=grid.sd,
                dropout=(),
                effect_scale=grid.effect_scale,
                randomized=plan.allocation.randomized,
                power=lambda d, name=name: plan.power_at(d, [name])[name],
            )
            frame = pd.concat([planned, frame], ignore_index=True)
        frames.append(frame)
    out = frames[0].drop(columns=["power"])
    for name, frame in zip(plan.primary, frames, strict=True):
        column = "power" if len(plan.primary) == 1 else f"power: {name}"
        out[column] = frame["power"].to_numpy()
    out.attrs.update(frames[0].attrs)
    out["planned"] = _planned_rows(plan, out)
    return out


def _planned_rows(plan: Any, frame: pd.DataFrame) -> np.ndarray:
    planned = (frame["effect_scale"] == 1.0).to_numpy(copy=True)
    design = plan.design
    sd = design.sd if design.design_kind == "smart" else design.outcome.common_sd
    if "sd" in frame.columns and sd is not None:
        planned &= np.isclose(frame["sd"].to_numpy(dtype=float), float(sd), rtol=0, atol=1e-12)
    dropout = plan.design.dropout
    if "dropout" in frame.columns:
        if hasattr(dropout, "items"):
            planned &= np.asarray(frame["dropout"] == "per cell")
        else:
            values = pd.to_numeric(frame["dropout"], errors="coerce").to_numpy(dtype=float)
            planned &= np.isclose(values, float(dropout), rtol=0, atol=1e-12)
    return planned


def _regime_sensitivity(plan: Any) -> pd.DataFrame:
    design = plan.design
    grid = plan.sensitivity_grid
    sds = grid.sd or (design.sd,)
    drops = grid.dropout or (design.dropout,)
    if design.dropout not in drops:
        drops = tuple(sorted(drops + (design.dropout,)))
    rows = []
    name = plan.primary[0]
    for sd in sds:
        for d in drops:
            analysed = [int(math.floor(round(r * (1 - d), 9))) for r in plan.allocation.randomized]
            trial = design.replace(sd=float(sd), n_total=int(sum(analysed)))
            rows.append(
                {
                    "sd": float(sd),
                    "dropout": float(d),
                    "effect_scale": 1.0,
                    "n_analysed": float(sum(analysed)),
                    "power": plan.power_at(trial, [name])[name],
                }
            )
    frame = pd.DataFrame(rows)
    frame["planned"] = np.isclose(frame["sd"], design.sd) & np.isclose(
        frame["dropout"], design.dropout
    )
    frame.attrs["skipped_effect_scale"] = []
    return frame


# ------------------------------------------------------------------------ looks
def _sequential_result(plan: Any) -> Any:
    name = plan.primary[0]
    return plan.design.power([name], sequential=plan.sequential), name


def looks_frame(plan: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.looks`."""
    if plan.selects_arms:
        from trialplan._plan_selection import looks_frame as selection_looks

        return selection_looks(plan)
    if plan.adaptive is not None:
        from trialplan._plan_adaptive import looks_frame as adaptive_looks

        frame = adaptive_looks(plan, plan.adaptive_result)
        # the cumulative power at the final look is the plan's power (the same tally)
        frame.loc[frame.index[-1], "power"] = plan.primary_power[plan.primary[0]]
        return frame
    gsd = plan.sequential
    result, name = _sequential_result(plan)
    stopping = result.extras["stopping"][name]
    bounds = gsd.to_frame()
    n = plan.allocation.n_analysed
    frame = pd.DataFrame(
        {
            "look": bounds["look"].astype(int),
            "info_fraction": bounds["info_fraction"].astype(float),
            "n_analysed": [math.ceil(t * n - 1e-9) for t in gsd.info_fractions],
            "efficacy_z": bounds["efficacy_z"].astype(float),
            "efficacy_p": bounds["efficacy_p"].astype(float),
            "futility_z": bounds["futility_z"].astype(float),
            "alpha_spent": bounds["alpha_spent"].astype(float),
            "stop_efficacy": np.asarray(stopping["stop_efficacy"], dtype=float),
            "stop_futility": np.asarray(stopping["stop_futility"], dtype=float),
            "power": np.asarray(stopping["power"], dtype=float),
        }
    )
    return frame


def expected_n(plan: Any) -> dict[str, int]:
    """See :meth:`TrialPlan.expected_n`."""
    if plan.adaptive is not None:
        result = plan.adaptive_result
        return {
            "H0": int(math.ceil(result.expected_n_h0 - 1e-9)),
            "H1": int(math.ceil(result.expected_n - 1e-9)),
        }
    result, name = _sequential_result(plan)
    extras = result.extras
    expected = (extras.get("expected_n_total") or extras.get("expected_n") or {})[name]
    return {k: int(math.ceil(float(v) - 1e-9)) for k, v in dict(expected).items()}


# ------------------------------------------------------------------------ curve
def curve_frame(plan: Any, *, points: int = 41) -> pd.DataFrame:
    """See :meth:`TrialPlan.curve`."""
    alloc = plan.allocation
    unit = alloc.unit
    planned_cycles = alloc.n_randomized // unit
    top = max(2 * planned_cycles, 4)
    lo = _smallest_cycles(plan, top)
    # Linear and geometric spacing together: steep curves (secondary hypotheses that
    # reach full power early) get points where they rise, the primary's keep theirs.
    linear, geometric = points, max(points // 2, 2)
    if plan.adaptive is not None:
        # every point is a simulation of the adaptive design (common random numbers, so
        # the curve is smooth): a third of the points show its shape
        linear, geometric = max(points // 3, 7), max(points // 6, 3)
    spaced = np.concatenate([np.linspace(lo, top, linear), np.geomspace(lo, top, geometric)])
    cycles = sorted({int(round(c)) for c in spaced} | {planned_cycles})
    names = _curve_names(plan)
    rows = []
    for c in cycles:
        analysed = alloc.at(c * unit)
        design = _resized(plan, analysed)
        powers = plan.power_at(design, names)
        for name in names:
            rows.append(
                {
                    "n_randomized": c * unit,
                    "n_analysed": int(sum(analysed)),
                    "hypothesis": name,
                    "label": plan.label(name),
                    "power": powers[name],
                    "analysis": plan.analysis_of(name),
                }
            )
    return pd.DataFrame(rows)


def _curve_names(plan: Any) -> list[str]:
    """Primary hypotheses first, then the min test, then the other reported ones: five at most.

    Hypotheses without a planned effect are left out: their "power" is the test's size.
    """
    names = list(plan.primary)
    table = plan.power_table
    zero = set(table.loc[table["effect"].abs() < 1e-12, "hypothesis"])  # no power to draw
    others = [h for h in plan.hypotheses if h not in names and "(" not in h and h not in zero]
    combination = [h for h in others if h == "combination"]
    rest = [h for h in others if h != "combination"]
    return (names + combination + rest)[: max(5, len(names))]


def _resized(plan: Any, analysed: tuple[int, ...]) -> Any:
    if is_regime_design(plan.design):
        return plan.design.replace(n_total=int(sum(analysed)))
    return plan.design.with_cell_sizes(list(analysed))


def _smallest_cycles(plan: Any, top: int) -> int:
    """Fewest allocation cycles whose analysed cells make a valid design."""
    unit = plan.allocation.unit
    for c in range(1, top + 1):
        analysed = plan.allocation.at(c * unit)
        if min(analysed) < 1:
            continue
        try:
            design = _resized(plan, analysed)
            plan.power_at(design, list(plan.primary))
        except (ValueError, ArithmeticError):
            continue
        return c
    return top
