"""Adaptive designs: combination tests, conditional power, re-estimation, arm selection.

``tp.SampleSizeReestimation`` (the pinned name) and the rest of this package:
combination tests (:mod:`~trialplan.adaptive.combination`), conditional power
(:mod:`~trialplan.adaptive.conditional`), the re-estimation rule and its
simulation (:mod:`~trialplan.adaptive.reestimation`), arm selection and
multi-arm multi-stage boundaries (:mod:`~trialplan.adaptive.selection`),
inference at the final analysis (:mod:`~trialplan.adaptive.inference`) and the
protocol paragraph (:mod:`~trialplan.adaptive.text`).
"""

from trialplan.adaptive.combination import (
    FisherCombination,
    fisher_combination,
    fisher_weights,
    inverse_normal,
    inverse_normal_weights,
    stage_test,
)
from trialplan.adaptive.conditional import (
    conditional_critical_value,
    conditional_power,
    information_for_power,
)
from trialplan.adaptive.inference import FinalAnalysis, final_analysis
from trialplan.adaptive.reestimation import (
    SampleSizeReestimation,
    adaptive_power,
    simulate_reestimation,
)
from trialplan.adaptive.results import AdaptivePowerResult
from trialplan.adaptive.selection import (
    MAMS,
    ArmSelection,
    ManyToOne,
    selection_power,
    simulate_selection,
)
from trialplan.adaptive.text import protocol_paragraph

__all__ = [
    "MAMS",
    "AdaptivePowerResult",
    "ArmSelection",
    "FinalAnalysis",
    "FisherCombination",
    "SampleSizeReestimation",
    "adaptive_power",
    "conditional_critical_value",
    "conditional_power",
    "final_analysis",
    "fisher_combination",
    "fisher_weights",
    "information_for_power",
    "inverse_normal",
    "inverse_normal_weights",
    "ManyToOne",
    "protocol_paragraph",
    "selection_power",
    "simulate_selection",
    "simulate_reestimation",
    "stage_test",
]
