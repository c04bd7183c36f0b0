"""Error-spending functions, ``tp.spending``: public path of trialplan.sequential.spending.

Their home is ``trialplan/sequential/spending.py``; this module only gives them
the short public name used in ``tp.GroupSequential(efficacy=tp.spending.pocock())``.
"""

from trialplan.sequential.spending import (
    SpendingFunction,
    from_name,
    hwang_shih_decani,
    obrien_fleming,
    pocock,
    power_family,
)

__all__ = [
    "SpendingFunction",
    "from_name",
    "hwang_shih_decani",
    "obrien_fleming",
    "pocock",
    "power_family",
]
