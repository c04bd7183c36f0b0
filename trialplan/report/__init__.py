"""Protocol text, tables and figures generated from a resolved plan.

* :func:`make_protocol`: a whole sample-size and analysis-plan document from a
  :class:`~trialplan.plan.TrialPlan` (or a Spec or design; Jinja2 templates;
  Markdown, HTML, DOCX);
* :func:`sample_size_section`: the SPIRIT item 14 section in pure Python;
* :func:`sensitivity_table`: power over SD x dropout x effect size;
* :func:`plan_power_curve`, :func:`plan_boundary_plot`,
  :func:`sensitivity_heatmap`, :func:`power_curve`, :func:`boundary_plot`,
  :func:`explore_curves`, :func:`explore_heatmap`: matplotlib figures (PNG, SVG).
"""

from trialplan.report.blocks import Block, render_text
from trialplan.report.figures import (
    boundary_plot,
    explore_curves,
    explore_heatmap,
    plan_boundary_plot,
    plan_power_curve,
    power_curve,
    save_figure,
    sensitivity_heatmap,
)
from trialplan.report.protocol import Protocol, make_protocol
from trialplan.report.spirit import sample_size_section
from trialplan.sensitivity import scale_effects, sensitivity_table

__all__ = [
    "Block",
    "Protocol",
    "boundary_plot",
    "explore_curves",
    "explore_heatmap",
    "make_protocol",
    "plan_boundary_plot",
    "plan_power_curve",
    "power_curve",
    "render_text",
    "sample_size_section",
    "save_figure",
    "scale_effects",
    "sensitivity_heatmap",
    "sensitivity_table",
]
