"""Sensitivity tables (moved to :mod:`trialplan.sensitivity`, which the plan uses).

Kept so that ``from trialplan.report.sensitivity import sensitivity_table``
still works.
"""

from trialplan.sensitivity import SensitivityGrid, scale_effects, sensitivity_table

__all__ = ["SensitivityGrid", "scale_effects", "sensitivity_table"]
