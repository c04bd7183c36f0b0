"""The sensitivity heat map of a plan: power over SD (or dropout) x effect size."""

from __future__ import annotations

from typing import Any

import numpy as np

from trialplan.report.figures._style import _annotate, _figure, _percent_axis, _tick, _wrap

__all__ = ["sensitivity_heatmap"]


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
        ax.contour(table, levels=[plan.target], colors="white", linewidths=1.5, linestyles="dashed")
    y0 = ys.index(planned_row[rows_by])
    x0 = xs.index(1.0)
    # deferred: matplotlib is heavy; only figures need it
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set_xticks(range(len(xs)), [f"{x:g}x" for x in xs])
    ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
    ax.set_xlabel("Effect size (multiple of the planned effects)")
    ax.set_ylabel(label)
    bar = fig.colorbar(image, ax=ax, label="Power")
    _percent_axis(bar.ax)
    if plan.target is not None:
        bar.ax.axhline(plan.target, color="white", linestyle="dashed", linewidth=1.5)
    ax.set_title(
        title
        or _wrap(
            f"Power of {plan.label(name)} with {plan.allocation.n_randomized} "
            "randomized (outlined: planned values; dashed: target power)",
            60,
        ),
        fontsize="medium",
    )
    return fig
