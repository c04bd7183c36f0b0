"""Group-sequential designs: spending, boundaries, recursion, design, application.

* :mod:`~trialplan.sequential.spending` -- error-spending functions (``tp.spending``);
* :mod:`~trialplan.sequential.boundaries` -- classical boundaries (``tp.boundaries``);
* :mod:`~trialplan.sequential.design` -- :class:`GroupSequential`, the looks and bounds;
* this package's engine functions take a statistic family and a design.
"""

from trialplan.sequential.design import (
    GroupSequential,
    SequentialSampleSizeResult,
    check_sequential,
    check_sequential_statistic,
    sequential_power,
    sequential_sample_size,
)

__all__ = [
    "GroupSequential",
    "SequentialSampleSizeResult",
    "check_sequential",
    "check_sequential_statistic",
    "sequential_power",
    "sequential_sample_size",
]
