"""Multiple testing: the joint law of a family's statistics, procedures, graphs, Dunnett.

* :mod:`~trialplan.multiplicity.procedures` -- Bonferroni, Holm, Hochberg,
  fixed sequence, graphical and gatekeeping procedures on a statistic family;
* :mod:`~trialplan.multiplicity.dunnett` -- Dunnett's many-to-one test, exact.
"""

from trialplan.multiplicity.dunnett import Dunnett, dunnett_critical_value, rectangle_probabilities
from trialplan.multiplicity.procedures import (
    EXACT_MAX_INTEGRALS,
    EXACT_WARN_INTEGRALS,
    Bonferroni,
    ExpensiveComputationWarning,
    FixedSequence,
    Gatekeeping,
    Graphical,
    Hochberg,
    Holm,
    JointStatistics,
    graphical_test,
    hochberg_test,
)

__all__ = [
    "EXACT_MAX_INTEGRALS",
    "EXACT_WARN_INTEGRALS",
    "Bonferroni",
    "Dunnett",
    "ExpensiveComputationWarning",
    "FixedSequence",
    "Gatekeeping",
    "Graphical",
    "Hochberg",
    "Holm",
    "JointStatistics",
    "dunnett_critical_value",
    "graphical_test",
    "hochberg_test",
    "rectangle_probabilities",
]
