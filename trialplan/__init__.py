"""trialplan: exact power, sample size and protocol text for combination trials.

Public API (see DESIGN.md); import as ``import trialplan as tp``.

The names are re-exported lazily: ``import trialplan`` loads no numerical
library, and ``tp.Factorial`` imports the designs the first time it is used
(where each name lives: :mod:`trialplan._api`).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from trialplan import _api
from trialplan import _pickle as _pickle  # registers pickling of frozen mappings

if TYPE_CHECKING:  # the same names, for type checkers and static documentation tools
    from trialplan import (
        adaptive,
        app,
        boundaries,
        randomization,
        report,
        scenarios,
        simulate,
        spending,
        synergy,
    )
    from trialplan._version import __version__ as __version__
    from trialplan.adaptive.reestimation import SampleSizeReestimation
    from trialplan.assurance import AssuranceResult, NormalPrior, PosteriorRule
    from trialplan.designs.clustering import Clustering
    from trialplan.designs.factorial import Factorial
    from trialplan.designs.parallel import Parallel
    from trialplan.designs.smart import SMART
    from trialplan.explore import explore
    from trialplan.labels import Labels
    from trialplan.multiplicity.dunnett import Dunnett
    from trialplan.multiplicity.graphs import Bonferroni, FixedSequence, Graphical, Holm
    from trialplan.multiplicity.procedures import Gatekeeping, Hochberg
    from trialplan.outcomes.binary import Binary
    from trialplan.outcomes.continuous import Continuous
    from trialplan.outcomes.repeated import Repeated
    from trialplan.outcomes.survival import TimeToEvent, required_events, schoenfeld_events
    from trialplan.plan import TrialPlan, plan
    from trialplan.power import anova_power
    from trialplan.report.figures.explore import explore_curves, explore_heatmap
    from trialplan.results import PowerResult, SampleSizeResult
    from trialplan.sequential.application import SequentialSampleSizeResult
    from trialplan.sequential.design import GroupSequential
    from trialplan.spec.io import dump_spec, load_spec
    from trialplan.statistic import IntersectionUnion, StatisticFamily, TestStatistic

__all__ = [
    "SMART",
    "AssuranceResult",
    "Binary",
    "Bonferroni",
    "Clustering",
    "Continuous",
    "Dunnett",
    "Factorial",
    "FixedSequence",
    "Gatekeeping",
    "Graphical",
    "GroupSequential",
    "Hochberg",
    "Holm",
    "IntersectionUnion",
    "Labels",
    "NormalPrior",
    "Parallel",
    "PosteriorRule",
    "PowerResult",
    "Repeated",
    "SampleSizeReestimation",
    "SampleSizeResult",
    "SequentialSampleSizeResult",
    "StatisticFamily",
    "TestStatistic",
    "TimeToEvent",
    "TrialPlan",
    "adaptive",
    "anova_power",
    "app",
    "boundaries",
    "dump_spec",
    "explore",
    "explore_curves",
    "explore_heatmap",
    "load_spec",
    "plan",
    "randomization",
    "report",
    "required_events",
    "scenarios",
    "schoenfeld_events",
    "simulate",
    "spending",
    "synergy",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    value = _api.load(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_api.SUBMODULES, "__version__"})


class _Package(types.ModuleType):
    """The package's module type: ``tp.explore`` stays the function.

    ``explore`` names both a sub-module and the function it defines.  Importing
    the sub-module makes Python set the package attribute to the module; this
    keeps the public function there instead (what an eager ``from
    trialplan.explore import explore`` in this file used to do).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
            and _api.EXPORTS.get(name) == value.__name__
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
