"""Named hypotheses as contrasts of cell parameters.

A :class:`Hypothesis` is one linear contrast of the cells (a main effect, an
interaction, a simple effect, a pairwise comparison) or several one-sided
contrasts that must all reject (the intersection-union "combination" test).
A design turns its hypotheses and its outcome's cell model into a
:class:`~trialplan.statistic.StatisticFamily`, which builds the canonical
statistics, so every engine works for every design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trialplan.statistic import contrast_covariance

__all__ = ["Hypothesis", "contrast_covariance"]


@dataclass(frozen=True)
class Hypothesis:
    """A named hypothesis over the cells of a design.

    Parameters
    ----------
    name : str
        The name users index results with, e.g. ``"rTMS:MBI"``.
    estimand : str
        The estimand in words.
    contrasts : numpy.ndarray
        Shape (m, cells).  One row: a single test at the design's sidedness.
        Several rows: an intersection-union test, every row one-sided in the
        favourable direction at level ``alpha / sided``.

    Examples
    --------
    >>> import numpy as np
    >>> h = Hypothesis(name="A:B", estimand="interaction", contrasts=np.array([1, -1, -1, 1]))
    >>> h.contrasts.shape, h.is_intersection_union
    ((1, 4), False)
    """

    name: str
    estimand: str
    contrasts: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        # A copy of its own, read-only: families then keep it without copying again.
        weights = np.atleast_2d(np.array(self.contrasts, dtype=float))
        weights.setflags(write=False)
        object.__setattr__(self, "contrasts", weights)

    @property
    def is_intersection_union(self) -> bool:
        """True when every one of several contrasts must reject."""
        return self.contrasts.shape[0] > 1
