"""Error-spending functions, ``tp.spending``: public path of trialplan.sequential.spending.

Their home is ``trialplan/sequential/spending.py``; this module only gives them
the short public name used in ``tp.GroupSequential(efficacy=tp.spending.pocock())``.
"""

from trialplan.sequential import spending as _home
from trialplan.sequential.spending import *  # noqa: F403  (exactly the home's public names)

__all__ = list(_home.__all__)
