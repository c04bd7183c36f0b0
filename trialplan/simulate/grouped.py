"""Which simulator draws a group-delivered (``clusters=``) design's trials.

One function chooses among the group-delivered simulators of each outcome
type; it lives apart from them so that none of them imports another.
"""

from __future__ import annotations

from typing import Any

from trialplan.outcomes import Continuous
from trialplan.outcomes.binary import Binary
from trialplan.outcomes.repeated import Repeated
from trialplan.outcomes.survival import TimeToEvent
from trialplan.simulate.clustered import clustered_simulator
from trialplan.simulate.clustered_binary import _CLUSTERED_BINARY
from trialplan.simulate.clustered_repeated import _CLUSTERED_REPEATED
from trialplan.simulate.clustered_survival import _CLUSTERED_SURVIVAL
from trialplan.simulate.protocol import OutcomeSimulator

__all__ = ["group_delivered_simulator"]


def group_delivered_simulator(design: Any) -> OutcomeSimulator:
    """Return the simulator of a group-delivered (``clusters=``) design.

    Parameters
    ----------
    design : object
        A design with a ``clusters`` field.

    Returns
    -------
    OutcomeSimulator
        :class:`ClusteredBinarySimulator` for a Binary outcome, the
        partially nested continuous simulator
        (:class:`trialplan.simulate.clustered.ClusteredSimulator`) for a
        Continuous one, and the gamma-frailty simulator
        (:class:`trialplan.simulate.clustered_survival.ClusteredSurvivalSimulator`)
        for a TimeToEvent one, and the random-intercept simulator
        (:class:`trialplan.simulate.clustered_repeated.ClusteredRepeatedSimulator`)
        for a Repeated one.

    Raises
    ------
    ValueError
        For other outcomes, which are analytic only when delivered in groups.

    Examples
    --------
    >>> import trialplan as tp
    >>> rates = {("a0", "b0"): .2, ("a1", "b0"): .3, ("a0", "b1"): .3, ("a1", "b1"): .5}
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...     outcome=tp.Binary(rates=rates), n_per_cell=50,
    ...     clusters=tp.Clustering(factor="B", icc=0.05, group_size=8))
    >>> type(group_delivered_simulator(d)).__name__
    'ClusteredBinarySimulator'
    """
    outcome = design.outcome
    if isinstance(outcome, Binary):
        return _CLUSTERED_BINARY
    if isinstance(outcome, Continuous):
        return clustered_simulator(design)
    if isinstance(outcome, TimeToEvent):
        return _CLUSTERED_SURVIVAL
    if isinstance(outcome, Repeated):
        return _CLUSTERED_REPEATED
    raise ValueError(
        "simulation of group-delivered (clustered) designs is available for Continuous, "
        f"Binary, TimeToEvent and Repeated outcomes; got a {type(outcome).__name__} outcome with "
        f"clusters={design.clusters!r}; use method='analytic'"
    )
