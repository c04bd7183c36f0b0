"""Outcomes: what is measured, the planning assumptions, and each cell's estimate.

One module per outcome type (continuous, binary, survival, repeated); each
turns a design's cells and sizes into a :class:`CellModel`.
"""

from trialplan.outcomes.binary import SCALES, Binary, ScaleDisagreementWarning
from trialplan.outcomes.continuous import CellModel, Continuous
from trialplan.outcomes.repeated import Repeated
from trialplan.outcomes.survival import (
    EventsResult,
    TimeToEvent,
    required_events,
    schoenfeld_events,
)

__all__ = [
    "SCALES",
    "Binary",
    "CellModel",
    "Continuous",
    "EventsResult",
    "Repeated",
    "ScaleDisagreementWarning",
    "TimeToEvent",
    "required_events",
    "schoenfeld_events",
]
