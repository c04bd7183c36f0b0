"""The one place that decides which engine computes ``design.power()`` and ``sample_size()``.

:meth:`Design.power <trialplan.designs.base.Design.power>` gathers its keyword-only
options into :class:`PowerOptions`, which checks that they apply together and
names both when they do not; :func:`dispatch_power` then calls exactly one
engine with the design's statistic family (analytic, simulation, group-
sequential, adaptive, multiplicity) and :func:`dispatch_sample_size` the one
integer search.  Adding an option is a keyword in ``Design.power``, a field of
:class:`PowerOptions` and one branch here.  The parameter docs shared by every
design's ``power``/``sample_size`` docstrings live here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from trialplan._validation import did_you_mean
from trialplan.multiplicity.base import MultipleTest
from trialplan.power import SizeSearch, sample_size_search
from trialplan.results import PowerResult
from trialplan.sequential import check_sequential, sequential_power, sequential_sample_size
from trialplan.simulate.runner import simulate_power
from trialplan.simulate.sequential import simulate_sequential_power

__all__ = [
    "POWER_METHODS",
    "PowerOptions",
    "dispatch_power",
    "dispatch_sample_size",
    "document",
]

# ``design`` below is any design of trialplan.designs (typed Any: this module sits
# under base.py, which imports it).

#: Methods of ``power(method=...)``.
POWER_METHODS = ("analytic", "simulation")


_POWER_PARAMETERS = """\
        method : {"analytic", "simulation"}, default "analytic"
            ``"analytic"``: exact noncentral t (or the outcome's named method),
            exact group-sequential recursion with ``sequential=``, exact
            multivariate integration with ``multiplicity=`` where available.
            ``"simulation"``: simulated trials analysed as planned.
        sequential : GroupSequential, optional
            Power of the group-sequential test of each hypothesis (its
            efficacy and futility bounds); the result names the expected
            total size at stopping, ``result.expected_n``.  Without
            ``hypotheses`` the single-contrast defaults are reported.
        adaptive : SampleSizeReestimation or ArmSelection, optional
            An adaptive design on ``sequential``'s looks (which must be
            given; a ``tp.GroupSequential`` for the inverse normal combination
            test, or ``tp.adaptive.FisherCombination``), evaluated with
            ``method="simulation"``: sample-size re-estimation
            (``tp.SampleSizeReestimation``, for one hypothesis, by default
            the design's primary one or its interaction) or arm selection
            (``tp.adaptive.ArmSelection``); the result adds the type I error,
            ``expected_n`` (a float), ``max_n`` and the distribution of the
            final N.  See :func:`trialplan.adaptive.adaptive_power`.
        multiplicity : procedure, optional
            A multiple-testing procedure (``tp.Holm([...])``,
            ``tp.Bonferroni``, ``tp.Hochberg``, ``tp.FixedSequence``,
            ``tp.Gatekeeping``, ``tp.Graphical``, ``tp.Dunnett()``): power of
            each hypothesis after it, and ``result.any`` / ``result.all``.
            Not together with ``sequential``.
        n_sims : int, optional
            Simulated trials: with ``method="simulation"`` (default 10000),
            or for the simulated quantities of a multiplicity procedure
            (default the procedure's).
        seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
            Reproduces a simulation exactly, whatever the executor, memory
            budget or batching (``None``: fresh entropy, recorded in
            ``result.seed``; a multiplicity procedure's default is fixed).
        engine : {"exact", "individual"}, optional
            Simulation only: sufficient statistics with the exact sampling
            distribution of the planned analysis, or patient-level data; by
            default the outcome's preferred one.
        executor : concurrent.futures.Executor, optional
            Simulation only: runs blocks of trials in parallel (a process
            pool, a Dask client's ``get_executor()``); results do not depend
            on it.
        progress : bool, optional
            Simulation only: show a tqdm progress bar (default: when the run
            is long and stderr is a terminal).
        memory_budget : int, optional
            Simulation only: bound on one task's working memory, in bytes
            (default 256 MiB); results do not depend on it.
        analysis : callable, optional
            Simulation only, without ``sequential``: a user analysis
            ``f(frame) -> {hypothesis: p_value}`` of each simulated trial's
            patient data.
        statistic : str, optional
            Sequential or adaptive simulation only: ``"t"`` or ``"z"``
            (continuous), ``"wald"`` (binary; ``"pooled"`` with ``adaptive``),
            ``"exponential"`` (time to event).
        timing : {"information", "events"}, optional
            Sequential simulation of a time-to-event outcome only: interim
            looks when the information, or the expected events, reach the
            information fractions.
"""


_POWER_RAISES = """\
        Raises
        ------
        ValueError
            For an unknown method or hypothesis (the closest is suggested),
            options that do not apply together (the message names both, e.g.
            ``n_sims`` with ``method="analytic"``, or ``sequential`` with
            ``multiplicity``), or invalid option values.
        TypeError
            For a misspelt keyword (Python's own message names the function)
            or options of the wrong type.
"""


_SAMPLE_SIZE_PARAMETERS = """\
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str, optional
            One hypothesis, or several that must ALL reach the target.  By
            default the design's ``primary`` hypotheses; a design without
            ``primary`` raises, naming the hypotheses to choose from (it
            never sizes all of them silently).  With ``tp.Dunnett()`` the
            default is the whole many-to-one family.
        sequential : GroupSequential, optional
            Maximum size of a group-sequential trial whose sequential power
            reaches the target; the result has the looks' sizes and the
            expected size ``expected_n``.
        multiplicity : procedure, optional
            Size for power after a multiple-testing procedure (its
            ``success`` definition: each named hypothesis, any or all).
"""


def document(template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Fill the shared parameter sections into a method's docstring."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__doc__ = template.format(
            power_parameters=_POWER_PARAMETERS,
            power_raises=_POWER_RAISES,
            sample_size_parameters=_SAMPLE_SIZE_PARAMETERS,
        )
        return func

    return decorate


_WHY = {
    "n_sims": "it sets the number of simulated trials of method='simulation' (or of a "
    "multiplicity procedure's simulated quantities)",
    "seed": "it seeds method='simulation' (or a multiplicity procedure's simulated quantities)",
    "engine": "it chooses the engine of method='simulation'",
    "executor": "it runs method='simulation' in parallel",
    "progress": "it shows the progress of method='simulation'",
    "memory_budget": "it bounds the memory of method='simulation'",
    "analysis": "a user analysis runs with method='simulation', without sequential= or "
    "multiplicity=",
    "statistic": "it chooses the test statistic of sequential= (or adaptive=) with "
    "method='simulation'",
    "timing": "it times the looks of sequential= with method='simulation' (time to event)",
}


@dataclass(frozen=True, kw_only=True)
class PowerOptions:
    """Everything ``power()`` was asked, checked together in one place."""

    method: str = "analytic"
    sequential: Any = None
    adaptive: Any = None
    multiplicity: Any = None
    n_sims: int | None = None
    seed: Any = None
    engine: str | None = None
    executor: Executor | None = None
    progress: bool | None = None
    memory_budget: int | None = None
    analysis: Callable[[Any], Mapping[str, float]] | None = None
    statistic: str | None = None
    timing: str | None = None

    def check(self) -> None:
        """Refuse an unknown method and options that do not apply together."""
        if not isinstance(self.method, str) or self.method not in POWER_METHODS:
            raise ValueError(
                f"method={self.method!r} is not available; choose one of "
                f"{POWER_METHODS}" + did_you_mean(self.method, POWER_METHODS)
            )
        if self.sequential is not None and self.multiplicity is not None:
            raise ValueError(
                "sequential= and multiplicity= cannot be combined: the group-sequential "
                "engine tests each hypothesis on its own bounds; give one of them"
            )
        simulating = self.method == "simulation"
        if self.adaptive is not None:
            if self.sequential is None:
                raise ValueError(
                    "adaptive= needs sequential=, the looks and bounds of its combination test "
                    "(e.g. sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)))"
                )
            if self.multiplicity is not None:
                raise ValueError(
                    "adaptive= and multiplicity= cannot be combined: arm selection "
                    "(tp.adaptive.ArmSelection) does its own closed testing; give one of them"
                )
            if not simulating:
                raise ValueError(
                    "adaptive= is evaluated by simulation; give method='simulation' "
                    f"(got method={self.method!r})"
                )
        if self.multiplicity is not None:
            allowed, mode = {"n_sims", "seed"}, "multiplicity="
        elif not simulating:
            allowed = set()
            mode = "method='analytic'" + (" and sequential=" if self.sequential else "")
        elif self.adaptive is not None:
            allowed = {"n_sims", "seed", "executor", "statistic"}
            mode = "adaptive="
        elif self.sequential is not None:
            allowed = {"n_sims", "seed", "engine", "executor", "progress", "memory_budget"}
            allowed |= {"statistic", "timing"}
            mode = "sequential= and method='simulation'"
        else:
            allowed = {"n_sims", "seed", "engine", "executor", "progress", "memory_budget"}
            allowed |= {"analysis"}
            mode = "method='simulation'"
        for name in _WHY:
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} does not apply with {mode}: {_WHY[name]}"
                )

    def given(self, *names: str) -> dict[str, Any]:
        """The named options that were given (not None)."""
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def dispatch_power(design: Any, hypotheses: Any, options: PowerOptions) -> PowerResult:
    """The one place that decides which engine computes ``design.power(...)``."""
    options.check()
    simulation = options.given("n_sims", "seed", "engine", "executor", "progress", "memory_budget")
    if options.adaptive is not None:
        # deferred: the adaptive engines (and pandas, which they use) load when adaptive= is used
        from trialplan.adaptive.reestimation import adaptive_power

        return adaptive_power(
            design,
            hypotheses,
            sequential=options.sequential,
            adaptive=options.adaptive,
            method=options.method,
            **options.given("n_sims", "seed", "executor", "statistic"),
        )
    if options.sequential is not None:
        gsd = check_sequential(options.sequential)
        family = design.statistics(hypotheses)
        if hypotheses is None:  # the single-contrast defaults
            family = family.select(
                [n for n in family.hypotheses if not family.is_intersection_union(n)]
            )
        if options.method == "simulation":
            return simulate_sequential_power(
                design,
                family.hypotheses,
                sequential=gsd,
                **simulation,
                **options.given("statistic", "timing"),
            )
        return _attach(design, sequential_power(family, sequential=gsd))
    if options.multiplicity is not None:
        procedure = options.multiplicity
        if not isinstance(procedure, MultipleTest):
            raise TypeError(
                "multiplicity must be a procedure such as tp.Holm([...]) or "
                f"tp.Dunnett(); got multiplicity={procedure!r}"
            )
        family = design.statistics(procedure.family_names(hypotheses))
        result = procedure.evaluate(
            family, hypotheses, method=options.method, **options.given("n_sims", "seed")
        )
        return _attach(design, result)
    if options.method == "simulation":
        return simulate_power(design, hypotheses, **simulation, **options.given("analysis"))
    return design._analytic_power(design.statistics(hypotheses))


def dispatch_sample_size(
    design: Any,
    names: tuple[str, ...] | None,
    target: float,
    *,
    sequential: Any,
    multiplicity: Any,
) -> SizeSearch:
    """The one place that decides which engine sizes ``design.sample_size(...)``."""
    if sequential is not None and multiplicity is not None:
        raise ValueError(
            "sequential= and multiplicity= cannot be combined in sample_size(); give one of them"
        )
    if multiplicity is not None:
        if not isinstance(multiplicity, MultipleTest):
            raise TypeError(
                "multiplicity must be a procedure such as tp.Holm([...]) or "
                f"tp.Dunnett(); got multiplicity={multiplicity!r}"
            )
        family = design.statistics(multiplicity.family_names(None))
        if names is None and design.primary and set(design.primary) <= set(family.hypotheses):
            names = design.primary
        return multiplicity.size_search(family, power=target, hypothesis=names)
    if names is None:
        names = design._primary_names()
    if sequential is not None:
        return sequential_sample_size(
            design.statistics(names), power=target, sequential=check_sequential(sequential)
        )
    return sample_size_search(design.statistics(names), power=target)


def _attach(design: Any, result: PowerResult) -> PowerResult:
    """An engine's result with the design and its description."""
    summary = design.describe() + (f" | {result.summary}" if result.summary else "")
    return dataclasses.replace(result, summary=summary, design=design)
