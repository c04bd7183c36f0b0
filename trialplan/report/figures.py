"""Figures: power curves, group-sequential boundaries, sensitivity and explore grids.

Every figure has a title, axis labels in words, the target-power line, lines
that differ in colour (Okabe-Ito, safe for colour-blind readers), line style
and marker so that none hides another, and its legend outside the axes.

* :func:`plan_power_curve`, :func:`plan_boundary_plot`,
  :func:`sensitivity_heatmap`: the protocol's figures, drawn from a
  :class:`~trialplan.plan.TrialPlan` so they show the plan's numbers;
* :func:`power_curve`, :func:`boundary_plot`: the same from a design or a
  ``tp.GroupSequential``;
* :func:`explore_curves`, :func:`explore_heatmap`: grids from :func:`tp.explore`
  (also ``tp.explore_curves`` / ``tp.explore_heatmap``);
* :func:`save_figure`: PNG and SVG, byte-identical across runs.

Protocol figures are built on :class:`matplotlib.figure.Figure` with the Agg
canvas, without pyplot, so they never open a window and leave the user's
backend alone; the explore plots draw on pyplot axes (or the ``ax`` given) for
notebooks.  matplotlib is part of the ``full`` extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialplan._validation import check_int, check_open_unit, did_you_mean

__all__ = [
    "boundary_plot",
    "explore_curves",
    "explore_heatmap",
    "plan_boundary_plot",
    "plan_power_curve",
    "power_curve",
    "power_curve_data",
    "save_figure",
    "sensitivity_heatmap",
]

#: Okabe-Ito colours, then line styles and markers: line k differs from line j in all three.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", "-.", (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
TARGET_STYLE = {"color": "0.35", "linestyle": (0, (4, 2)), "linewidth": 1.2, "zorder": 1}
_NEEDS = "figures need matplotlib: pip install 'trialplan[full]'"


def _figure(width: float = 7.0, height: float = 4.6) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_NEEDS) from exc
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is optional
        raise ImportError(_NEEDS) from exc
    return plt


def style(k: int, points: int = 0) -> dict[str, Any]:
    """Keyword arguments of ``ax.plot`` for the k-th line (colour, style, marker).

    With ``points``, markers are spaced out and offset per line so that
    markers of different lines do not sit on top of each other.
    """
    kwargs: dict[str, Any] = {
        "color": COLORS[k % len(COLORS)],
        "linestyle": LINESTYLES[k % len(LINESTYLES)],
        "marker": MARKERS[k % len(MARKERS)],
        "linewidth": 1.8,
        "markersize": 5,
    }
    if points > 12:
        step = max(points // 8, 1)
        kwargs["markevery"] = ((k * step) // 3 % step, step)
    return kwargs


def _percent_axis(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(PercentFormatter(1.0, decimals=0))


def _target_line(ax: Any, target: float | None) -> None:
    if target is not None:
        ax.axhline(target, label=f"target power {100 * target:.0f}%", **TARGET_STYLE)


def _legend_outside(ax: Any, *, title: str | None = None) -> None:
    """Legend to the right of the axes (the figure's layout makes room for it)."""
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        title=title,
        fontsize="small",
    )


def _legend_below(fig: Any, ax: Any) -> None:
    """Legend under the axes, labels wrapped so that two columns fit the figure."""
    handles, labels = ax.get_legend_handles_labels()
    wrapped = [_wrap(text, 44) for text in labels]
    fig.legend(handles, wrapped, loc="outside lower center", ncols=2, frameon=False,
               fontsize="small")


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


# ------------------------------------------------------------- power curves
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
    ax.axvline(planned, color="0.5", linestyle=":", linewidth=1,
               label=f"planned: {planned} randomized")
    for name in plan.primary:
        ax.plot([planned], [plan.primary_power[name]], linestyle="none", marker="o",
                markersize=9, markerfacecolor="none", markeredgecolor="black",
                markeredgewidth=1.5, zorder=5, label="_planned power")
    ax.set_xlabel("Participants randomized")
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
    if plan.sequential is not None:
        return "Power by sample size (primary: group-sequential test; others: one final test)"
    if plan.multiplicity is not None:
        return "Power by sample size (family: multiplicity-adjusted; others: unadjusted)"
    return "Power by sample size"


# ------------------------------------------------------------- boundaries
def boundary_plot(
    sequential: Any,
    *,
    n_total: int | None = None,
    power: Sequence[float] | None = None,
    target: float | None = None,
    title: str = "",
) -> Any:
    """Figure of a group-sequential design's bounds, stopping regions shaded.

    The upper panel draws the efficacy bound (and the futility bound, or the
    lower efficacy bound of a two-sided test) on the z scale against the
    information fraction, with the regions where the trial stops shaded; a
    second axis gives the participants analysed at each look when
    ``n_total`` is known (as rpact draws it).  With ``power`` (cumulative
    probability of stopping for efficacy by look) a lower panel shows it
    against the target power.

    Parameters
    ----------
    sequential : tp.GroupSequential
        The design; its ``info_fractions``, ``efficacy_z`` and ``futility_z``
        are drawn.
    n_total : int, optional
        Participants analysed at the final look (the top axis).
    power : sequence of float, optional
        Cumulative power by look (the lower panel).
    target : float, optional
        Target power, drawn in the lower panel.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    Any object with ``info_fractions``, ``efficacy_z`` and ``futility_z``
    works; the bounds below are rpact's O'Brien-Fleming type bounds for two
    looks at one-sided alpha 0.025:

    >>> from types import SimpleNamespace
    >>> gsd = SimpleNamespace(info_fractions=(0.5, 1.0), efficacy_z=(2.963, 1.969),
    ...                       futility_z=None, sided=1)
    >>> fig = boundary_plot(gsd)
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [2.963, 1.969]
    """
    if not all(hasattr(sequential, a) for a in ("info_fractions", "efficacy_z", "futility_z")):
        raise TypeError(
            "sequential must be a tp.GroupSequential (or have info_fractions, "
            f"efficacy_z and futility_z); got sequential={sequential!r}"
        )
    fractions = np.asarray(sequential.info_fractions, dtype=float)
    upper = np.asarray(sequential.efficacy_z, dtype=float)
    futility = getattr(sequential, "futility_z", None)
    two_sided = getattr(sequential, "sided", 1) == 2
    fig = _figure(7.0, 6.2 if power is not None else 4.6)
    if power is not None:
        ax, low_ax = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    else:
        ax, low_ax = fig.add_subplot(), None
    top = float(max(upper.max() + 1.0, 4.0))
    bottom = -top if two_sided else float(min(-1.0, (np.min(futility) - 1.0) if futility is not None else -1.0))
    ax.plot(fractions, upper, label="efficacy bound", **style(0))
    ax.fill_between(fractions, upper, top, color=COLORS[2], alpha=0.18, linewidth=0,
                    label="stop: reject H0 (efficacy)")
    if two_sided:
        ax.plot(fractions, -upper, label="_lower efficacy", **style(0))
        ax.fill_between(fractions, bottom, -upper, color=COLORS[2], alpha=0.18, linewidth=0)
    if futility is not None:
        lower = np.asarray(futility, dtype=float)
        ax.plot(fractions, lower, label="futility bound", **style(1))
        ax.fill_between(fractions, bottom, lower, color=COLORS[1], alpha=0.15, linewidth=0,
                        label="stop: futility")
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_ylim(bottom, top)
    ax.set_xlim(0, 1.04)
    ax.set_ylabel("Critical value (z scale)")
    ax.grid(True, alpha=0.3)
    if n_total is not None:
        n = int(n_total)
        second = ax.secondary_xaxis("top", functions=(lambda t: t * n, lambda m: m / n))
        second.set_xlabel("Participants analysed")
    _legend_outside(ax)
    if low_ax is not None:
        low_ax.plot(fractions, np.asarray(power, dtype=float),
                    label="cumulative power", **style(2))
        _target_line(low_ax, target)
        low_ax.set_ylim(0, 1.02)
        _percent_axis(low_ax)
        low_ax.set_ylabel("Power by look")
        low_ax.grid(True, alpha=0.3)
        _legend_outside(low_ax)
        low_ax.set_xlabel("Information fraction")
    else:
        ax.set_xlabel("Information fraction")
    fig.suptitle(title or "Group-sequential stopping boundaries", fontsize="medium")
    return fig


def plan_boundary_plot(plan: Any, *, title: str = "") -> Any:
    """The protocol's boundary plot: the plan's bounds, participants per look and power by look.

    Parameters
    ----------
    plan : TrialPlan
        A plan with interim looks (``plan.sequential``).
    title : str, optional
        Figure title (default: names the primary hypothesis).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the plan has no interim looks.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025, sided=1)
    >>> spec = tp.scenarios.state_dependent_synergy()
    >>> spec = spec.replace(design=spec.design.replace(alpha=0.025, sided=1), sequential=gsd)
    >>> fig = plan_boundary_plot(spec.evaluate())
    >>> len(fig.axes) >= 2
    True
    """
    if plan.sequential is None:
        raise ValueError("plan_boundary_plot needs a plan with interim looks (plan.sequential)")
    looks = plan.looks()
    name = plan.label(plan.primary[0])
    return boundary_plot(
        plan.sequential,
        n_total=plan.allocation.n_analysed,
        power=looks["power"].tolist(),
        target=plan.target,
        title=title or f"Stopping boundaries for {name}",
    )


# ------------------------------------------------------------- sensitivity
def sensitivity_heatmap(plan: Any, *, hypothesis: str | None = None, title: str = "") -> Any:
    """Power of a primary hypothesis over SD (or dropout) x effect size, target contour drawn.

    Rows are the grid's SDs (outcomes with one, at the planned dropout) or
    its dropout proportions; columns the effect multipliers; each cell is
    annotated with its power, the planned cell is outlined and the target
    power is drawn as a contour.

    Parameters
    ----------
    plan : TrialPlan
        The resolved plan (its ``sensitivity`` table is drawn).
    hypothesis : str, optional
        A primary hypothesis (default: the first).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``hypothesis`` is not a primary hypothesis of the plan.

    Examples
    --------
    >>> import trialplan as tp
    >>> fig = sensitivity_heatmap(tp.scenarios.state_dependent_synergy().evaluate())
    >>> fig.axes[0].images[0].get_array().shape
    (3, 3)
    """
    frame = plan.sensitivity
    name = hypothesis or plan.primary[0]
    column = "power" if "power" in frame.columns else f"power: {name}"
    if name not in plan.primary or column not in frame.columns:
        raise ValueError(
            f"hypothesis={name!r} is not a primary hypothesis of the plan; choose one of "
            f"{list(plan.primary)}"
        )
    planned_row = frame[frame["planned"]].iloc[0]
    if "sd" in frame.columns and frame["sd"].nunique() > 1:
        rows_by, label = "sd", "Outcome SD"
        part = frame[frame["dropout"].astype(str) == str(planned_row["dropout"])]
    else:
        rows_by, label = "dropout", "Dropout"
        part = frame if "sd" not in frame.columns else frame[frame["sd"] == planned_row["sd"]]
    ys = list(dict.fromkeys(part[rows_by]))
    xs = sorted(set(part["effect_scale"]))
    table = np.full((len(ys), len(xs)), np.nan)
    for _, row in part.iterrows():
        table[ys.index(row[rows_by]), xs.index(row["effect_scale"])] = row[column]
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    image = ax.imshow(table, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
    _annotate(ax, table)
    if plan.target is not None and len(xs) > 1 and len(ys) > 1:
        ax.contour(table, levels=[plan.target], colors="white", linewidths=1.5,
                   linestyles="dashed")
    y0 = ys.index(planned_row[rows_by])
    x0 = xs.index(1.0)
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), 1, 1, fill=False, edgecolor="black",
                           linewidth=2))
    ax.set_xticks(range(len(xs)), [f"{x:g}x" for x in xs])
    ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
    ax.set_xlabel("Effect size (multiple of the planned effects)")
    ax.set_ylabel(label)
    bar = fig.colorbar(image, ax=ax, label="Power")
    _percent_axis(bar.ax)
    if plan.target is not None:
        bar.ax.axhline(plan.target, color="white", linestyle="dashed", linewidth=1.5)
    ax.set_title(
        title or _wrap(f"Power of {plan.label(name)} with {plan.allocation.n_randomized} "
                       "randomized (outlined: planned values; dashed: target power)", 60),
        fontsize="medium",
    )
    return fig


def _tick(value: Any) -> str:
    return value if isinstance(value, str) else f"{float(value):g}"


def _annotate(ax: Any, table: np.ndarray) -> None:
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            if np.isfinite(table[i, j]):
                ax.text(j, i, f"{100 * table[i, j]:.1f}%", ha="center", va="center",
                        color="white" if table[i, j] < 0.6 else "black", fontsize=8)


# ------------------------------------------------------------ explore plots
def _canonical(obj: Any) -> str:
    from trialplan.explore import _canonical as canonical

    return canonical(obj)


def _grid_names(frame: pd.DataFrame) -> list[str]:
    from trialplan.explore import _ID_COLUMNS, _RESULT_COLUMNS

    names = frame.attrs.get("grid")
    if names:
        return [n for n in names if n in frame.columns]
    known = set(_ID_COLUMNS) | set(_RESULT_COLUMNS)
    return [c for c in frame.columns if c not in known and not c.endswith("_result")]


def _select(
    frame: pd.DataFrame,
    *,
    hypothesis: Any,
    where: Mapping[str, Any] | None,
    free: Sequence[str],
    caller: str,
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{caller} needs the DataFrame returned by tp.explore; got {type(frame).__name__}"
        )
    for column in ("hypothesis", "power", *free):
        if column not in frame.columns:
            raise ValueError(
                f"{caller}: column {column!r} is not in the frame, whose columns "
                f"are {list(frame.columns)}" + did_you_mean(column, frame.columns)
            )
    data = frame
    if where is not None:
        if not isinstance(where, Mapping):
            raise TypeError(f"where must be a mapping of column to value; got where={where!r}")
        for column, value in where.items():
            if column not in data.columns:
                raise ValueError(
                    f"where: column {column!r} is not in the frame"
                    + did_you_mean(column, data.columns)
                )
            data = data[data[column] == value]
            if data.empty:
                raise ValueError(
                    f"where={dict(where)!r}: no rows have {column}={value!r}; "
                    f"values are {sorted(set(frame[column]))}"
                )
    if hypothesis is not None:
        wanted = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
        known = list(dict.fromkeys(frame["hypothesis"]))
        for name in wanted:
            if name not in known:
                raise ValueError(
                    f"hypothesis {name!r} is not in the frame; it has {known}"
                    + did_you_mean(name, known)
                )
        data = data[data["hypothesis"].isin(wanted)]
    fixed = [n for n in _grid_names(frame) if n not in free and n not in (where or {})]
    for name in fixed:
        levels = list(dict.fromkeys(data[name].map(_canonical)))
        if len(levels) > 1:
            shown = list(dict.fromkeys(data[name]))
            raise ValueError(
                f"{caller}: grid parameter {name!r} still takes several values "
                f"{shown}; fix one with where={{{name!r}: {shown[0]!r}}} or "
                "show it as another axis"
            )
    return data


def _where_text(where: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k} = {v}" for k, v in (where or {}).items())


def explore_curves(
    frame: pd.DataFrame,
    *,
    x: str,
    hypothesis: str | Sequence[str] | None = None,
    hue: str | None = None,
    where: Mapping[str, Any] | None = None,
    ax: Any = None,
    band: bool = True,
    target: float | None = 0.9,
    title: str = "",
) -> Any:
    """Power curves: power against one grid parameter, one line per group.

    Lines are drawn per hypothesis (all in the frame unless ``hypothesis``
    picks some) and, with ``hue``, per value of a second grid parameter, each
    in its own colour, line style and marker.  Every other grid parameter
    must be fixed, by the grid or by ``where``.  For simulated power a band
    of +-1.96 Monte Carlo standard errors is shaded.  The target power is a
    dashed horizontal line; the legend sits outside the axes.

    Parameters
    ----------
    frame : pandas.DataFrame
        As returned by :func:`tp.explore`.
    x : str
        Grid parameter on the horizontal axis.
    hypothesis : str or sequence of str, optional
        Hypotheses to draw (all if None).
    hue : str, optional
        A second grid parameter: one line per value.
    where : mapping, optional
        Fixed values of other columns, e.g. ``{"dropout": 0.1}``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure if None).
    band : bool, default True
        Shade +-1.96 MCSE when the frame has an ``mcse`` column.
    target : float or None, default 0.9
        Target power line (None: no line).
    title : str, optional
        Axes title (default: what is drawn and what is fixed).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a column is missing, a hypothesis is unknown, ``where`` selects
        nothing, or another grid parameter still varies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}, sd=8.0),
    ...     n_per_cell=50)
    >>> frame = tp.explore(lambda sd, n: design.replace(sd=sd, n_per_cell=n),
    ...                    grid={"sd": (6.0, 8.0, 10.0), "n": (50, 100)})
    >>> ax = tp.explore_curves(frame, x="n", hue="sd", hypothesis="rTMS:MBI")
    >>> [line.get_label() for line in ax.get_lines()]
    ['sd=6.0', 'sd=8.0', 'sd=10.0', 'target power 90%']
    """
    if target is not None:
        target = check_open_unit("target", target)
    free = [x] + ([hue] if hue is not None else [])
    data = _select(frame, hypothesis=hypothesis, where=where, free=free, caller="explore_curves")
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(7.5, 4.5), layout="constrained")
    group_cols = ["hypothesis"] + ([hue] if hue is not None else [])
    several = data["hypothesis"].nunique() > 1
    for k, (keys, group) in enumerate(data.groupby(group_cols, sort=False)):
        keys = keys if isinstance(keys, tuple) else (keys,)
        group = _sorted_by(group, x)
        parts = [str(keys[0])] if several or hue is None else []
        if hue is not None:
            parts.append(f"{hue}={keys[-1]}")
        xs = list(group[x])
        (line,) = ax.plot(xs, group["power"], label=", ".join(parts), **style(k, len(xs)))
        if band and "mcse" in group.columns and group["mcse"].notna().any():
            half = 1.96 * group["mcse"].to_numpy(dtype=float)
            power = group["power"].to_numpy(dtype=float)
            ax.fill_between(
                xs,
                np.clip(power - half, 0, 1),
                np.clip(power + half, 0, 1),
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
    _target_line(ax, target)
    ax.set_xlabel(x)
    ax.set_ylabel("Power")
    ax.set_ylim(0.0, 1.02)
    _percent_axis(ax)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    shown = ", ".join(dict.fromkeys(data["hypothesis"])) if not several else "each hypothesis"
    fixed = _where_text(where)
    ax.set_title(
        title or _wrap(f"Power of {shown} by {x}" + (f" ({fixed})" if fixed else ""), 60),
        fontsize="medium",
    )
    return ax


def explore_heatmap(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    hypothesis: str | None = None,
    where: Mapping[str, Any] | None = None,
    ax: Any = None,
    annotate: bool = True,
    cmap: str = "viridis",
    target: float | None = 0.9,
    title: str = "",
) -> Any:
    """Heatmap of power over two grid parameters for one hypothesis.

    The target power is drawn as a dashed contour (and on the colour bar).

    Parameters
    ----------
    frame : pandas.DataFrame
        As returned by :func:`tp.explore`.
    x, y : str
        Grid parameters on the horizontal and vertical axes.
    hypothesis : str, optional
        The hypothesis to show; may be omitted when the frame has only one.
    where : mapping, optional
        Fixed values of the other grid parameters.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure if None).
    annotate : bool, default True
        Write each power (a percent, one decimal) in its cell.
    cmap : str, default "viridis"
        Matplotlib colour map; the scale runs from 0 to 1.
    target : float or None, default 0.9
        Target power contour (None: none).
    title : str, optional
        Axes title (default: the hypothesis and what is fixed).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``hypothesis`` is missing while the frame has several, or as for
        :func:`explore_curves`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}, sd=8.0),
    ...     n_per_cell=50)
    >>> frame = tp.explore(lambda sd, n: design.replace(sd=sd, n_per_cell=n),
    ...                    grid={"sd": (6.0, 8.0, 10.0), "n": (50, 100)})
    >>> ax = tp.explore_heatmap(frame, x="n", y="sd", hypothesis="rTMS:MBI")
    >>> ax.images[0].get_array().shape
    (3, 2)
    """
    if hypothesis is None:
        known = list(dict.fromkeys(frame["hypothesis"])) if "hypothesis" in frame else []
        if len(known) != 1:
            raise ValueError(
                f"explore_heatmap shows one hypothesis; choose one of {known} with hypothesis=..."
            )
        hypothesis = known[0]
    if not isinstance(hypothesis, str):
        raise TypeError(f"hypothesis must be one name; got hypothesis={hypothesis!r}")
    if x == y:
        raise ValueError(f"x and y must be different grid parameters; got x={x!r}, y={y!r}")
    if target is not None:
        target = check_open_unit("target", target)
    data = _select(frame, hypothesis=hypothesis, where=where, free=[x, y], caller="explore_heatmap")
    xs = _ordered(data[x])
    ys = _ordered(data[y])
    table = np.full((len(ys), len(xs)), np.nan)
    xpos = {_canonical(v): i for i, v in enumerate(xs)}
    ypos = {_canonical(v): i for i, v in enumerate(ys)}
    for xv, yv, power in zip(data[x], data[y], data["power"], strict=True):
        table[ypos[_canonical(yv)], xpos[_canonical(xv)]] = power
    if ax is None:
        _, ax = _pyplot().subplots(
            figsize=(2.4 + 0.9 * len(xs), 1.6 + 0.6 * len(ys)), layout="constrained"
        )
    image = ax.imshow(table, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap=cmap)
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if annotate:
        _annotate(ax, table)
    bar = ax.figure.colorbar(image, ax=ax, label="Power")
    _percent_axis(bar.ax)
    if target is not None:
        if len(xs) > 1 and len(ys) > 1 and np.nanmin(table) < target < np.nanmax(table):
            ax.contour(table, levels=[target], colors="white", linewidths=1.5,
                       linestyles="dashed")
        bar.ax.axhline(target, color="white", linestyle="dashed", linewidth=1.5)
    fixed = _where_text(where)
    ax.set_title(
        title
        or _wrap(
            f"Power of {hypothesis}" + (f" ({fixed})" if fixed else "")
            + (f"; dashed: target {100 * target:.0f}%" if target is not None else ""),
            50,
        ),
        fontsize="medium",
    )
    return ax


def _ordered(values: pd.Series) -> list[Any]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def _sorted_by(group: pd.DataFrame, column: str) -> pd.DataFrame:
    try:
        return group.sort_values(column, kind="stable")
    except TypeError:
        return group


# ------------------------------------------------------------------- files
def save_figure(fig: Any, stem: str | Path) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg``; return both paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    stem : str or pathlib.Path
        Path without suffix; its folder is created if needed.

    Returns
    -------
    list of pathlib.Path
        The PNG and SVG paths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from types import SimpleNamespace
    >>> gsd = SimpleNamespace(info_fractions=(0.5, 1.0), efficacy_z=(2.963, 1.969),
    ...                       futility_z=None)
    >>> paths = save_figure(boundary_plot(gsd), pathlib.Path(tempfile.mkdtemp()) / "bounds")
    >>> [p.suffix for p in paths]
    ['.png', '.svg']
    """
    if not hasattr(fig, "savefig"):
        raise TypeError(
            "fig must be a matplotlib Figure (e.g. from power_curve or "
            f"boundary_plot); got fig={fig!r}"
        )
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    freeze_layout(fig)
    paths = []
    # Fixed metadata and SVG ids: the same design gives byte-identical files.
    with matplotlib.rc_context({"svg.hashsalt": "trialplan"}):
        for suffix in (".png", ".svg"):
            path = stem.with_suffix(suffix)
            metadata = {"Software": None} if suffix == ".png" else {"Date": None}
            fig.savefig(path, dpi=150, metadata=metadata)
            paths.append(path)
    return paths


def freeze_layout(fig: Any) -> None:
    """Lay the figure out once and keep that layout, so every later save gives the same bytes.

    Constrained layout runs again at every draw and moves outside legends and
    second axes by a few hundredths of a point each time; after one draw the
    positions are fixed and the layout engine is switched off.
    """
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        fig.canvas.draw()
        fig.set_layout_engine("none")


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
