"""Protocol text, tables and figures generated from computed results."""

from trialplan.report.spirit import sample_size_section

__all__ = ["sample_size_section"]
