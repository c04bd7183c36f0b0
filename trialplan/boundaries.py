"""Classical boundaries, ``tp.boundaries``: public path of trialplan.sequential.boundaries.

Their home is ``trialplan/sequential/boundaries.py``; this module only gives them
the short public name used in
``tp.GroupSequential(efficacy=tp.boundaries.obrien_fleming())``.
"""

from trialplan.sequential.boundaries import (
    ClassicalBoundary,
    obrien_fleming,
    pocock,
    wang_tsiatis,
)

__all__ = ["ClassicalBoundary", "obrien_fleming", "pocock", "wang_tsiatis"]
