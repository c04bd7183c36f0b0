"""Group-sequential boundaries with the stopping regions shaded, as rpact draws them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trialplan.report.figures._style import (
    COLORS,
    _figure,
    _legend_outside,
    _percent_axis,
    _target_line,
    style,
)

__all__ = ["boundary_plot", "plan_boundary_plot"]


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
    bottom = (
        -top
        if two_sided
        else float(min(-1.0, (np.min(futility) - 1.0) if futility is not None else -1.0))
    )
    ax.plot(fractions, upper, label="efficacy bound", **style(0))
    ax.fill_between(
        fractions,
        upper,
        top,
        color=COLORS[2],
        alpha=0.18,
        linewidth=0,
        label="stop: reject H0 (efficacy)",
    )
    if two_sided:
        ax.plot(fractions, -upper, label="_lower efficacy", **style(0))
        ax.fill_between(fractions, bottom, -upper, color=COLORS[2], alpha=0.18, linewidth=0)
    if futility is not None:
        lower = np.asarray(futility, dtype=float)
        ax.plot(fractions, lower, label="futility bound", **style(1))
        ax.fill_between(
            fractions,
            bottom,
            lower,
            color=COLORS[1],
            alpha=0.15,
            linewidth=0,
            label="stop: futility",
        )
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
        low_ax.plot(fractions, np.asarray(power, dtype=float), label="cumulative power", **style(2))
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
    adaptive = getattr(plan, "adaptive", None) is not None
    default = (
        f"Combination-test boundaries for {name} (adaptive design)"
        if adaptive
        else f"Stopping boundaries for {name}"
    )
    return boundary_plot(
        plan.sequential,
        n_total=plan.allocation.n_analysed,
        power=looks["power"].tolist(),
        target=plan.target,
        title=title or default,
    )
