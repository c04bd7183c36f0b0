"""Classical boundaries, ``tp.boundaries``: public path of trialplan.sequential.boundaries.

Their home is ``trialplan/sequential/boundaries.py``; this module only gives them
the short public name used in
``tp.GroupSequential(efficacy=tp.boundaries.obrien_fleming())``.
"""

from trialplan.sequential import boundaries as _home
from trialplan.sequential.boundaries import *  # noqa: F403  (exactly the home's public names)

__all__ = list(_home.__all__)
