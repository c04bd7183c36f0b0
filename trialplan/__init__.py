"""trialplan: exact power, sample size and protocol text for combination trials.

Public API (see DESIGN.md); import as ``import trialplan as tp``.
"""

from importlib.metadata import PackageNotFoundError, version

from trialplan import _pickle  # noqa: F401  (registers pickling of frozen mappings)

from trialplan import randomization, report, simulate
from trialplan.designs import SMART, Factorial, Parallel
from trialplan.dunnett import Dunnett
from trialplan.explore import explore, explore_curves, explore_heatmap
from trialplan.assurance import AssuranceResult, NormalPrior, PosteriorRule
from trialplan.multiplicity import (
    Bonferroni,
    FixedSequence,
    Gatekeeping,
    Graphical,
    Hochberg,
    Holm,
)
from trialplan.binary import Binary
from trialplan.designs.clustering import Clustering
from trialplan.longitudinal import Repeated
from trialplan.outcomes import Continuous
from trialplan.survival import TimeToEvent, required_events, schoenfeld_events
from trialplan.power import anova_power
from trialplan.results import PowerResult, SampleSizeResult
from trialplan import boundaries, spending
from trialplan.sequential import GroupSequential, SequentialSampleSizeResult
from trialplan.spec import dump_spec, load_spec
from trialplan import scenarios
from trialplan import synergy
from trialplan.statistic import IntersectionUnion, TestStatistic

try:
    __version__ = version("trialplan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "AssuranceResult",
    "NormalPrior",
    "PosteriorRule",
    "Binary",
    "Clustering",
    "Repeated",
    "TimeToEvent",
    "required_events",
    "schoenfeld_events",
    "Bonferroni",
    "FixedSequence",
    "Gatekeeping",
    "Graphical",
    "Hochberg",
    "Holm",
    "Continuous",
    "Dunnett",
    "Factorial",
    "GroupSequential",
    "SequentialSampleSizeResult",
    "boundaries",
    "spending",
    "Parallel",
    "SMART",
    "synergy",
    "IntersectionUnion",
    "PowerResult",
    "SampleSizeResult",
    "TestStatistic",
    "anova_power",
    "explore",
    "explore_curves",
    "explore_heatmap",
    "dump_spec",
    "load_spec",
    "scenarios",
    "randomization",
    "report",
]
