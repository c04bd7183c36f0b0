"""Protocol text, tables and figures generated from computed results.

* :func:`sample_size_section`: the SPIRIT item 14 section in pure Python;
* :func:`make_protocol`: a whole sample-size and analysis-plan document from a
  :class:`~trialplan.spec.Spec` (Jinja2 templates; Markdown, HTML, DOCX);
* :func:`sensitivity_table`: power over SD x dropout x effect size;
* :func:`power_curve`, :func:`boundary_plot`: matplotlib figures (PNG, SVG).
"""

from trialplan.report.figures import boundary_plot, power_curve, save_figure
from trialplan.report.protocol import Block, Protocol, make_protocol, render_text
from trialplan.report.sensitivity import scale_effects, sensitivity_table
from trialplan.report.spirit import sample_size_section

__all__ = [
    "Block",
    "Protocol",
    "boundary_plot",
    "make_protocol",
    "power_curve",
    "render_text",
    "sample_size_section",
    "save_figure",
    "scale_effects",
    "sensitivity_table",
]
