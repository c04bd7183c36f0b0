"""Multiple testing on a statistic family, one module per concept.

* :mod:`~trialplan.multiplicity.joint` -- the joint law of the family's statistics
  (noncentral multivariate t or normal): draws and rectangle probabilities;
* :mod:`~trialplan.multiplicity.base` -- what every procedure shares: exact and
  simulated power after the procedure, and its sample-size search;
* :mod:`~trialplan.multiplicity.graphs` -- the graphical engine (Bretz et al. 2009)
  and Bonferroni, Holm, fixed sequence, any graph;
* :mod:`~trialplan.multiplicity.procedures` -- serial gatekeeping and Hochberg;
* :mod:`~trialplan.multiplicity.dunnett` -- Dunnett's many-to-one test, exact.

The min (intersection-union) test's power is a rectangle probability of the same
multivariate t; it lives with the other analytic powers in :mod:`trialplan.power`.
"""

from trialplan.multiplicity.base import MultipleTest, Procedure
from trialplan.multiplicity.dunnett import Dunnett, dunnett_critical_value, rectangle_probabilities
from trialplan.multiplicity.graphs import Bonferroni, FixedSequence, Graphical, Holm, graphical_test
from trialplan.multiplicity.joint import (
    EXACT_MAX_INTEGRALS,
    EXACT_WARN_INTEGRALS,
    ExpensiveComputationWarning,
    JointStatistics,
)
from trialplan.multiplicity.procedures import Gatekeeping, Hochberg, hochberg_test

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
    "MultipleTest",
    "Procedure",
    "dunnett_critical_value",
    "graphical_test",
    "hochberg_test",
    "rectangle_probabilities",
]
