"""Designs: what is randomized (factorial cells, parallel arms, SMART stages)."""

from trialplan.designs.factorial import Factorial

__all__ = ["Factorial"]
