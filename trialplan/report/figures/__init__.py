"""Figures: power curves, group-sequential boundaries, sensitivity and explore grids.

Every figure has a title, axis labels in words, the target-power line, lines
that differ in colour (Okabe-Ito, safe for colour-blind readers), line style
and marker so that none hides another, and its legend outside the axes.

* :func:`plan_power_curve`, :func:`plan_boundary_plot`,
  :func:`sensitivity_heatmap`, :func:`final_n_plot`: the protocol's figures,
  drawn from a :class:`~trialplan.plan.TrialPlan` so they show the plan's
  numbers;
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

from trialplan.report.figures._style import (
    COLORS,
    LINESTYLES,
    MARKERS,
    freeze_layout,
    save_figure,
    style,
)
from trialplan.report.figures.adaptive import final_n_plot
from trialplan.report.figures.boundaries import boundary_plot, plan_boundary_plot
from trialplan.report.figures.curves import plan_power_curve, power_curve, power_curve_data
from trialplan.report.figures.explore import explore_curves, explore_heatmap
from trialplan.report.figures.heatmaps import sensitivity_heatmap

__all__ = [
    "COLORS",
    "LINESTYLES",
    "MARKERS",
    "boundary_plot",
    "explore_curves",
    "explore_heatmap",
    "final_n_plot",
    "freeze_layout",
    "plan_boundary_plot",
    "plan_power_curve",
    "power_curve",
    "power_curve_data",
    "save_figure",
    "sensitivity_heatmap",
    "style",
]
