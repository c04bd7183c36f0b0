"""Power curves: by the size of a design, or by the number a plan randomizes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from trialplan._validation import check_int, check_open_unit
from trialplan.report.figures._style import (
    _figure,
    _legend_below,
    _legend_outside,
    _percent_axis,
    _target_line,
    style,
)

__all__ = ["plan_power_curve", "power_curve", "power_curve_data"]


def power_curve_data(
    design: Any, hypotheses: Sequence[str], *, multipliers: Sequence[int] | None = None
) -> dict[str, Any]:
    """Exact power of each hypothesis as the trial grows, allocation kept.

    Parameters
    ----------
    design : cell design (``tp.Factorial``, ``tp.Parallel``)
        The planned design; its allocation ratios are kept.
    hypotheses : sequence of str
        Hypotheses to trace.
    multipliers : sequence of int, optional
        Multiples ``k`` of the allocation ratios (cell sizes ``k * ratios``);
        by default 61 values from the smallest feasible size to twice the
        planned size, so the curve shows its shape.

    Returns
    -------
    dict
        ``{"n_total": array, "power": {hypothesis: array}}``.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> data = power_curve_data(d, ["A:B"], multipliers=[20])
    >>> data["n_total"].tolist(), round(float(data["power"]["A:B"][0]), 3) \
== round(d.power()["A:B"], 3)
    ([80], True)
    """
    hypotheses = _hypothesis_list(hypotheses)
    ratios = np.asarray(design.allocation_ratios, dtype=int)
    if multipliers is not None:
        if (
            isinstance(multipliers, str)
            or not isinstance(multipliers, Iterable)
            or not list(multipliers)
        ):
            raise ValueError(
                "multipliers must be a non-empty list of whole numbers >= 1; "
                f"got multipliers={multipliers!r}"
            )
        multipliers = [check_int(f"multipliers[{i}]", k) for i, k in enumerate(multipliers)]
    if multipliers is None:
        planned = int(design.n_array[0] // ratios[0])
        lo = 2
        while True:
            try:
                design.with_cell_sizes(lo * ratios).power(hypotheses)
                break
            except ValueError:
                lo += 1
                if lo > planned * 2 + 2:
                    raise
        hi = max(2 * planned, lo + 2)
        multipliers = sorted({int(round(k)) for k in np.linspace(lo, hi, 61)} | {planned})
    n_total, curves = [], {h: [] for h in hypotheses}
    for k in multipliers:
        result = design.with_cell_sizes(int(k) * ratios).power(list(hypotheses))
        n_total.append(int(k) * int(ratios.sum()))
        for h in hypotheses:
            curves[h].append(result[h])
    return {"n_total": np.array(n_total), "power": {h: np.array(v) for h, v in curves.items()}}


def power_curve(
    design: Any,
    hypotheses: Sequence[str],
    *,
    target: float | None = 0.9,
    planned_n_total: int | None = None,
    multipliers: Sequence[int] | None = None,
    title: str = "",
) -> Any:
    """Figure of power against total analysed sample size.

    Parameters
    ----------
    design : cell design
        The planned design (allocation ratios kept).
    hypotheses : sequence of str
        One line per hypothesis.
    target : float or None, default 0.9
        Target power, drawn as a horizontal line (None: no line).
    planned_n_total : int, optional
        The planned total, drawn as a vertical line.
    multipliers : sequence of int, optional
        See :func:`power_curve_data`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> fig = power_curve(d, ["A", "A:B"], target=0.9, planned_n_total=80)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['A', 'A:B']
    """
    hypotheses = _hypothesis_list(hypotheses)
    if target is not None:
        target = check_open_unit("target", target)
    if planned_n_total is not None:
        planned_n_total = check_int("planned_n_total", planned_n_total)
    data = power_curve_data(design, hypotheses, multipliers=multipliers)
    fig = _figure()
    ax = fig.add_subplot()
    points = len(data["n_total"])
    for k, h in enumerate(hypotheses):
        ax.plot(data["n_total"], data["power"][h], label=h, **style(k, points))
    _target_line(ax, target)
    if planned_n_total is not None:
        ax.axvline(planned_n_total, color="0.5", linestyle=":", linewidth=1, label="planned size")
    ax.set_xlabel("Participants analysed (all cells)")
    ax.set_ylabel("Power")
    ax.set_ylim(0, 1.02)
    _percent_axis(ax)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax, title="Hypothesis")
    ax.set_title(title or "Power by sample size (allocation ratios kept)")
    return fig


def plan_power_curve(plan: Any, *, points: int = 41, title: str = "") -> Any:
    """The protocol's power curve: every curve hypothesis by participants randomized.

    Power is computed the way the plan computes it (the group-sequential
    test for a sequential plan's primary hypotheses, the multiplicity
    procedure for its family), at the expected analysed counts of each
    number randomized, so the curve passes through the plan's power at the
    planned size (marked).  The combination (min) test is drawn when it is
    reported.  A second axis gives the participants analysed.

    Parameters
    ----------
    plan : TrialPlan
        The resolved plan.
    points : int, default 41
        Sizes evaluated (plus the planned one).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import trialplan as tp
    >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
    >>> fig = plan_power_curve(plan, points=21)
    >>> fig.axes[0].get_lines()[0].get_label()
    'the rTMS x MBI interaction (primary)'
    """
    frame = plan.curve(points=points)
    fig = _figure(7.4, 5.0)
    ax = fig.add_subplot()
    names = list(dict.fromkeys(frame["hypothesis"]))
    count = frame["n_randomized"].nunique()
    for k, name in enumerate(names):
        part = frame[frame["hypothesis"] == name]
        label = plan.label(name) + (" (primary)" if name in plan.primary else "")
        ax.plot(part["n_randomized"], part["power"], label=label, **style(k, count))
    _target_line(ax, plan.target)
    planned = plan.allocation.n_randomized
    ax.axvline(
        planned, color="0.5", linestyle=":", linewidth=1, label=f"planned: {planned} randomized"
    )
    for name in plan.primary:
        ax.plot(
            [planned],
            [plan.primary_power[name]],
            linestyle="none",
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=1.5,
            zorder=5,
            label="_planned power",
        )
    ax.set_xlabel(
        "Participants randomized"
        + (" (planned, before re-estimation)" if getattr(plan, "adaptive", None) else "")
    )
    ax.set_ylabel("Power")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, frame["n_randomized"].max() * 1.02)
    _percent_axis(ax)
    ax.grid(True, alpha=0.3)
    ratio = plan.allocation.n_analysed / planned
    top = ax.secondary_xaxis("top", functions=(lambda n: n * ratio, lambda n: n / ratio))
    top.set_xlabel("Participants analysed (expected, after dropout)")
    fig.suptitle(title or _curve_title(plan), fontsize="medium")
    _legend_below(fig, ax)
    return fig


def _curve_title(plan: Any) -> str:
    if plan.adaptive is not None:
        return (
            "Power by planned sample size (primary: adaptive design, simulated; others: one "
            "final test)"
        )
    if plan.sequential is not None:
        return "Power by sample size (primary: group-sequential test; others: one final test)"
    if plan.multiplicity is not None:
        return "Power by sample size (family: multiplicity-adjusted; others: unadjusted)"
    return "Power by sample size"


def _hypothesis_list(hypotheses: Any) -> tuple[str, ...]:
    """One name or a list of names as a tuple (a bare string is one hypothesis)."""
    if isinstance(hypotheses, str):
        return (hypotheses,)  # was iterated letter by letter: hypothesis 'r'
    if not isinstance(hypotheses, Iterable):
        raise TypeError(
            "hypotheses must be a hypothesis name or a list of names; got "
            f"hypotheses={hypotheses!r}"
        )
    names = tuple(hypotheses)
    if not names or not all(isinstance(h, str) for h in names):
        raise ValueError(
            "hypotheses must name at least one hypothesis, as strings; got "
            f"hypotheses={hypotheses!r}"
        )
    return names
