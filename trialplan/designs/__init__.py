"""Designs: what is randomized (factorial cells, parallel arms, SMART stages)."""

from trialplan.designs.factorial import Factorial
from trialplan.designs.parallel import Parallel

__all__ = ["Factorial", "Parallel"]
