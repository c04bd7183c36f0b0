"""Designs: what is randomized (factorial cells, parallel arms, SMART stages)."""

from trialplan.designs.factorial import Factorial
from trialplan.designs.parallel import Parallel
from trialplan.designs.smart import SMART

__all__ = ["SMART", "Factorial", "Parallel"]
