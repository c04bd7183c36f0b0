"""Group-sequential designs, one module per concept.

* :mod:`~trialplan.sequential.spending` -- error-spending functions (``tp.spending``);
* :mod:`~trialplan.sequential.boundaries` -- classical boundaries (``tp.boundaries``)
  and the bounds solved from spending functions;
* :mod:`~trialplan.sequential.recursion` -- the recursive numerical integration of
  crossing probabilities (one statistic, or the two of a min test);
* :mod:`~trialplan.sequential.design` -- :class:`GroupSequential`: looks, bounds, cost;
* :mod:`~trialplan.sequential.application` -- power and sample size of a statistic
  family under a group-sequential design (the engine behind ``design.power(sequential=)``).
"""

from trialplan.sequential.application import (
    SequentialSampleSizeResult,
    check_sequential,
    check_sequential_statistic,
    sequential_power,
    sequential_sample_size,
)
from trialplan.sequential.design import GroupSequential
from trialplan.sequential.recursion import crossing_probabilities

__all__ = [
    "GroupSequential",
    "SequentialSampleSizeResult",
    "check_sequential",
    "check_sequential_statistic",
    "crossing_probabilities",
    "sequential_power",
    "sequential_sample_size",
]
