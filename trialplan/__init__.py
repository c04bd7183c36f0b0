"""trialplan: exact power, sample size and protocol text for combination trials.

Public API (see DESIGN.md); import as ``import trialplan as tp``.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from trialplan import (
    _pickle,  # noqa: F401  (registers pickling of frozen mappings)
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
from trialplan.adaptive import SampleSizeReestimation
from trialplan.assurance import AssuranceResult, NormalPrior, PosteriorRule
from trialplan.binary import Binary
from trialplan.designs import SMART, Factorial, Parallel
from trialplan.designs.clustering import Clustering
from trialplan.dunnett import Dunnett
from trialplan.explore import explore
from trialplan.labels import Labels
from trialplan.longitudinal import Repeated
from trialplan.multiplicity import (
    Bonferroni,
    FixedSequence,
    Gatekeeping,
    Graphical,
    Hochberg,
    Holm,
)
from trialplan.outcomes import Continuous
from trialplan.plan import TrialPlan, plan
from trialplan.power import anova_power
from trialplan.report.figures import explore_curves, explore_heatmap
from trialplan.results import PowerResult, SampleSizeResult
from trialplan.sequential import GroupSequential, SequentialSampleSizeResult
from trialplan.spec import dump_spec, load_spec
from trialplan.statistic import IntersectionUnion, StatisticFamily, TestStatistic
from trialplan.survival import TimeToEvent, required_events, schoenfeld_events

try:
    __version__ = _version("trialplan")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

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
