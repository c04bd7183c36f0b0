"""The declaration of trialplan's public names: where each ``tp.X`` lives.

``trialplan/__init__.py`` re-exports these lazily (a name's module is imported
the first time the name is used), and the spec reader looks classes up here, so
that nothing inside the package imports the top-level package.  Adding a public
name means one entry here, one line in ``__init__``'s ``__all__`` and one in its
``TYPE_CHECKING`` block (tests/test_fast_start.py checks that the three agree).
"""

from __future__ import annotations

import importlib
import importlib.util
import types
from typing import Any

__all__ = ["EXPORTS", "SUBMODULES", "load", "namespace"]

#: Public name -> the module that defines it (the name's one home).
EXPORTS: dict[str, str] = {
    "SampleSizeReestimation": "trialplan.adaptive.reestimation",
    "AssuranceResult": "trialplan.assurance",
    "NormalPrior": "trialplan.assurance",
    "PosteriorRule": "trialplan.assurance",
    "Factorial": "trialplan.designs.factorial",
    "Parallel": "trialplan.designs.parallel",
    "SMART": "trialplan.designs.smart",
    "Clustering": "trialplan.designs.clustering",
    "explore": "trialplan.explore",
    "explore_curves": "trialplan.report.figures.explore",
    "explore_heatmap": "trialplan.report.figures.explore",
    "Labels": "trialplan.labels",
    "TrialPlan": "trialplan.plan",
    "plan": "trialplan.plan",
    "Bonferroni": "trialplan.multiplicity.graphs",
    "FixedSequence": "trialplan.multiplicity.graphs",
    "Graphical": "trialplan.multiplicity.graphs",
    "Holm": "trialplan.multiplicity.graphs",
    "Gatekeeping": "trialplan.multiplicity.procedures",
    "Hochberg": "trialplan.multiplicity.procedures",
    "Dunnett": "trialplan.multiplicity.dunnett",
    "Binary": "trialplan.outcomes.binary",
    "Continuous": "trialplan.outcomes.continuous",
    "Repeated": "trialplan.outcomes.repeated",
    "TimeToEvent": "trialplan.outcomes.survival",
    "required_events": "trialplan.outcomes.survival",
    "schoenfeld_events": "trialplan.outcomes.survival",
    "anova_power": "trialplan.power",
    "PowerResult": "trialplan.results",
    "SampleSizeResult": "trialplan.results",
    "GroupSequential": "trialplan.sequential.design",
    "SequentialSampleSizeResult": "trialplan.sequential.application",
    "dump_spec": "trialplan.spec.io",
    "load_spec": "trialplan.spec.io",
    "IntersectionUnion": "trialplan.statistic",
    "StatisticFamily": "trialplan.statistic",
    "TestStatistic": "trialplan.statistic",
}

#: Public sub-modules reached as ``tp.<name>`` (``tp.spending.pocock()``).
SUBMODULES: tuple[str, ...] = (
    "adaptive",
    "app",
    "boundaries",
    "randomization",
    "report",
    "scenarios",
    "simulate",
    "spending",
    "synergy",
)


def load(name: str) -> Any:
    """The object ``tp.<name>``: a public name, ``__version__`` or a sub-module.

    Raises
    ------
    AttributeError
        If trialplan has no such public name or sub-module.

    Examples
    --------
    >>> from trialplan import _api
    >>> _api.load("Continuous").__name__, _api.load("spending").__name__
    ('Continuous', 'trialplan.spending')
    """
    if name in EXPORTS:
        return getattr(importlib.import_module(EXPORTS[name]), name)
    if name == "__version__":
        return importlib.import_module("trialplan._version").__version__
    if not name.startswith("__") and importlib.util.find_spec(f"trialplan.{name}") is not None:
        return importlib.import_module(f"trialplan.{name}")
    raise AttributeError(f"module 'trialplan' has no attribute {name!r}")


def namespace() -> types.SimpleNamespace:
    """Every public name and sub-module, loaded (what ``import trialplan as tp`` offers).

    Examples
    --------
    >>> from trialplan import _api
    >>> space = _api.namespace()
    >>> space.Factorial.__module__
    'trialplan.designs.factorial'
    """
    names = [*EXPORTS, *SUBMODULES]
    return types.SimpleNamespace(**{name: load(name) for name in names})
