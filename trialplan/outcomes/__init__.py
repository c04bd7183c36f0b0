"""Outcomes: what is measured, the planning assumptions, and each cell's estimate.

* :mod:`~trialplan.outcomes.base` -- the :class:`Outcome` base every outcome type
  implements, and the :class:`CellModel` it yields;
* :mod:`~trialplan.outcomes.continuous` -- normal outcomes (t tests, ANCOVA);
* :mod:`~trialplan.outcomes.binary` -- rates on a chosen scale;
* :mod:`~trialplan.outcomes.survival` -- exponential event times, events and
  event-driven sizes;
* :mod:`~trialplan.outcomes.repeated` -- repeated measures (MMRM / GLS).
"""

from trialplan.outcomes.base import OUTCOME_KINDS, CellModel, Outcome
from trialplan.outcomes.binary import SCALES, Binary, ScaleDisagreementWarning
from trialplan.outcomes.continuous import Continuous
from trialplan.outcomes.repeated import Repeated
from trialplan.outcomes.survival import (
    EventsResult,
    TimeToEvent,
    required_events,
    schoenfeld_events,
)

__all__ = [
    "OUTCOME_KINDS",
    "SCALES",
    "Binary",
    "CellModel",
    "Continuous",
    "EventsResult",
    "Outcome",
    "Repeated",
    "ScaleDisagreementWarning",
    "TimeToEvent",
    "required_events",
    "schoenfeld_events",
]
