"""Plots of :func:`tp.explore` grids: power curves and heat maps, to the same standards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialplan._validation import check_open_unit, did_you_mean
from trialplan.explore import _ID_COLUMNS, _RESULT_COLUMNS, _canonical
from trialplan.report.figures._style import (
    _annotate,
    _legend_outside,
    _percent_axis,
    _pyplot,
    _target_line,
    _wrap,
    style,
)

__all__ = ["explore_curves", "explore_heatmap"]


def _grid_names(frame: pd.DataFrame) -> list[str]:
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
            ax.contour(table, levels=[target], colors="white", linewidths=1.5, linestyles="dashed")
        bar.ax.axhline(target, color="white", linestyle="dashed", linewidth=1.5)
    fixed = _where_text(where)
    ax.set_title(
        title
        or _wrap(
            f"Power of {hypothesis}"
            + (f" ({fixed})" if fixed else "")
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
