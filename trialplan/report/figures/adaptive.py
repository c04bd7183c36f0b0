"""The figure of an adaptive plan: the distribution of the final number of participants."""

from __future__ import annotations

from typing import Any

import numpy as np

from trialplan.report.figures._style import _figure, _legend_outside, style

__all__ = ["final_n_plot"]


def final_n_plot(plan: Any, *, title: str = "") -> Any:
    """Cumulative distribution of the number analysed at the end of an adaptive trial.

    Two step lines from the plan's one simulation: at the planning values and
    with no effect on the primary hypothesis.  Dotted vertical lines mark the
    number analysed at the interim, the planned number and the largest number
    the re-estimation allows; the jumps are the probabilities of stopping at
    the interim, of the planned size and of the largest size.

    Parameters
    ----------
    plan : TrialPlan
        A plan with ``adaptive`` (sample-size re-estimation).
    title : str, optional
        Figure title (default names the primary hypothesis).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the plan has no adaptive design.

    Examples
    --------
    >>> import trialplan as tp
    >>> plan = tp.scenarios.adaptive_synergy(n_sims=2000).evaluate()
    >>> fig = final_n_plot(plan)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['planning values', 'no effect (null hypothesis)']
    """
    if getattr(plan, "adaptive", None) is None:
        raise ValueError("final_n_plot needs a plan with an adaptive design (plan.adaptive)")
    dist = plan.final_n()
    stages = plan.stages()
    n = dist["n_analysed"].to_numpy(dtype=float)
    interim = float(stages.loc[stages["look"] == 1, "planned"].sum())
    planned = float(plan.allocation.n_analysed)
    largest = float(plan.adaptive_result.max_n)
    fig = _figure(7.4, 4.6)
    ax = fig.add_subplot()
    left = min(n.min(), interim) - 0.04 * (largest - interim + 1)
    right = largest + 0.04 * (largest - interim + 1)
    for k, (column, label) in enumerate(
        (("probability", "planning values"), ("probability_h0", "no effect (null hypothesis)"))
    ):
        cum = np.cumsum(dist[column].to_numpy(dtype=float))
        x = np.concatenate([[left], n, [right]])
        y = np.concatenate([[0.0], cum, [1.0]])
        kwargs = style(k)
        kwargs.pop("marker")
        ax.step(x, y, where="post", label=label, **kwargs)
    for value, text in ((interim, "interim"), (planned, "planned"), (largest, "largest")):
        ax.axvline(value, color="0.5", linestyle=":", linewidth=1)
        ax.annotate(
            f"{text}: {value:.0f}",
            xy=(value, 1.0),
            xytext=(2, -10),
            textcoords="offset points",
            fontsize="small",
            color="0.3",
            rotation=90,
            va="top",
        )
    ax.set_xlim(left, right)
    ax.set_ylim(0, 1.02)
    from trialplan.report.figures._style import _percent_axis

    _percent_axis(ax)
    ax.set_xlabel("Participants analysed at the end of the trial")
    ax.set_ylabel("Cumulative probability")
    ax.grid(True, alpha=0.3)
    _legend_outside(ax, title="Simulated at")
    name = plan.label(plan.primary[0])
    fig.suptitle(
        title or f"Final number analysed with sample-size re-estimation ({name})",
        fontsize="medium",
    )
    return fig
