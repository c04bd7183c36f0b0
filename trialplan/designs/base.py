"""What every design shares: the design protocol, and power and sample size through it.

Every design (:class:`~trialplan.Factorial`, :class:`~trialplan.Parallel`,
:class:`~trialplan.SMART`) implements one protocol, :class:`Design`:

* ``statistics(hypotheses=None)``: the named hypotheses as a
  :class:`~trialplan.statistic.StatisticFamily`, the only thing engines see;
* ``hypothesis_names`` (the defaults) and ``primary`` (what ``sample_size()``
  sizes when no hypothesis is named);
* ``at_multiplier(k)``: the design at ``k`` times its allocation ratios (the
  sample-size search's unit), built once for the result;
* ``n_per_cell``, ``n_total``, ``n_randomized_per_cell``, ``n_randomized``;
* ``simulator()``: the :class:`~trialplan.simulate.protocol.OutcomeSimulator`
  that draws its trials for ``method="simulation"``;
* ``design_kind`` (``"factorial"``, ``"parallel"``, ``"smart"``) and
  ``describe()``.

It inherits :meth:`Design.power`, :meth:`Design.sample_size` and
:meth:`Design.assurance`, whose keyword-only parameters are explicit; they
build the family and call the engines.  Which engine runs is decided in one
place, :func:`_dispatch_power` and :func:`_dispatch_sample_size`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from trialplan._validation import (
    MAX_CELL_SIZE,
    check_int,
    check_open_unit,
    check_unit_interval,
    did_you_mean,
)
from trialplan.adaptive.reestimation import adaptive_power
from trialplan.assurance import AssuranceResult
from trialplan.assurance import assurance as _assurance
from trialplan.hypotheses import Hypothesis
from trialplan.outcomes import CellModel
from trialplan.power import SizeSearch, sample_size_search, statistic_power
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.sequential import (
    GroupSequential,
    check_sequential,
    sequential_power,
    sequential_sample_size,
)
from trialplan.simulate.grouped import group_delivered_simulator
from trialplan.simulate.protocol import OutcomeSimulator, simulator_for
from trialplan.simulate.runner import simulate_power
from trialplan.simulate.sequential import simulate_sequential_power
from trialplan.statistic import (
    IntersectionUnion,
    StatisticFamily,
    TestStatistic,
    critical_value,
)

__all__ = ["CellDesign", "Design"]

Cell = Hashable

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


def _doc(template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Fill the shared parameter sections into a method's docstring."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__doc__ = template.format(
            power_parameters=_POWER_PARAMETERS,
            power_raises=_POWER_RAISES,
            sample_size_parameters=_SAMPLE_SIZE_PARAMETERS,
        )
        return func

    return decorate


# ---------------------------------------------------------------- options
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
class _PowerOptions:
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


def _dispatch_power(design: Design, hypotheses: Any, options: _PowerOptions) -> PowerResult:
    """The one place that decides which engine computes ``design.power(...)``."""
    options.check()
    simulation = options.given("n_sims", "seed", "engine", "executor", "progress", "memory_budget")
    if options.adaptive is not None:
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
        if not callable(getattr(procedure, "evaluate", None)) or not callable(
            getattr(procedure, "family_names", None)
        ):
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


def _dispatch_sample_size(
    design: Design,
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
        if not callable(getattr(multiplicity, "size_search", None)):
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


def _attach(design: Design, result: PowerResult) -> PowerResult:
    """An engine's result with the design and its description."""
    summary = design.describe() + (f" | {result.summary}" if result.summary else "")
    return dataclasses.replace(result, summary=summary, design=design)


# ------------------------------------------------------------------ protocol
class Design:
    """The protocol every design implements, and what it inherits from it.

    A design provides ``statistics()``, ``hypothesis_names``, ``primary``,
    ``at_multiplier()``, ``n_per_cell``, ``n_total``,
    ``n_randomized_per_cell``, ``n_randomized``, ``simulator()``,
    ``design_kind``, ``alpha``, ``sided`` and ``describe()``; it inherits
    :meth:`power`, :meth:`sample_size` and :meth:`assurance`.
    """

    design_kind: str = ""
    alpha: float
    sided: int
    primary: tuple[str, ...] | None

    # ----------------------------------------------------------- to implement
    def statistics(self, hypotheses: Any = None) -> StatisticFamily:  # pragma: no cover
        """The named hypotheses (all defaults if None) as a statistic family."""
        raise NotImplementedError

    @property
    def hypothesis_names(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        """Names of the hypotheses reported by default."""
        raise NotImplementedError

    def at_multiplier(self, multiplier: int) -> Design:  # pragma: no cover - abstract
        """The design at ``multiplier`` units of its allocation (the search's unit)."""
        raise NotImplementedError

    def simulator(self) -> OutcomeSimulator:  # pragma: no cover - abstract
        """The simulator that draws this design's trials."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """One line naming the design, its sizes and its test."""
        raise NotImplementedError

    # ----------------------------------------------------------------- shared
    def _names(self, hypotheses: str | Sequence[str] | None) -> tuple[str, ...]:
        if hypotheses is None:
            return self.hypothesis_names
        if isinstance(hypotheses, str):
            return (hypotheses,)
        if not isinstance(hypotheses, Iterable):
            raise TypeError(
                "hypotheses must be a hypothesis name or a list of names, e.g. "
                f"{list(self.hypothesis_names[:2])}; got hypotheses={hypotheses!r}"
            )
        names = tuple(hypotheses)
        if not names:
            raise ValueError("hypotheses must name at least one hypothesis; got an empty list")
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"hypothesis names must be strings; got {name!r}")
        return names

    def _primary_names(self) -> tuple[str, ...]:
        """The primary hypotheses, or a ValueError naming the ones to choose from."""
        if self.primary:
            return tuple(self.primary)
        raise ValueError(
            "sample_size() needs hypothesis=: name the hypothesis (or hypotheses) whose power "
            f"sets the size, e.g. one of {list(self.hypothesis_names)}, or give the design "
            "primary=(...) (sample_size never sizes all hypotheses silently)"
        )

    @_doc(
        """Power of each hypothesis at the planned sample size.

        Parameters
        ----------
        hypotheses : str or sequence of str, optional
            Hypotheses to report; by default all of ``hypothesis_names``.
{power_parameters}
        Returns
        -------
        PowerResult
            ``result[name]`` is a float; ``result.to_frame()`` a DataFrame;
            ``result.mcse`` for simulations; ``result.any`` / ``result.all``
            after a multiplicity procedure; ``result.expected_n`` for a
            group-sequential test.

{power_raises}
        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={{"A": ("a0", "a1"), "B": ("b0", "b1")}},
        ...                  outcome=tp.Continuous(means={{("a0", "b0"): 20, ("a1", "b0"): 20,
        ...                      ("a0", "b1"): 20, ("a1", "b1"): 25}}, sd=20.0), n_per_cell=150)
        >>> round(d.power()["A:B"], 3)
        0.333
        >>> d.power(nsims=10)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: ...power() got an unexpected keyword argument 'nsims'
        """
    )
    def power(  # noqa: D102  (docstring filled in by _doc)
        self,
        hypotheses: str | Sequence[str] | None = None,
        *,
        method: str = "analytic",
        sequential: GroupSequential | None = None,
        adaptive: Any = None,
        multiplicity: Any = None,
        n_sims: int | None = None,
        seed: Any = None,
        engine: str | None = None,
        executor: Executor | None = None,
        progress: bool | None = None,
        memory_budget: int | None = None,
        analysis: Callable[[Any], Mapping[str, float]] | None = None,
        statistic: str | None = None,
        timing: str | None = None,
    ) -> PowerResult:
        options = _PowerOptions(
            method=method,
            sequential=sequential,
            adaptive=adaptive,
            multiplicity=multiplicity,
            n_sims=n_sims,
            seed=seed,
            engine=engine,
            executor=executor,
            progress=progress,
            memory_budget=memory_budget,
            analysis=analysis,
            statistic=statistic,
            timing=timing,
        )
        return _dispatch_power(self, hypotheses, options)

    @_doc(
        """Smallest sample, allocation ratios kept, whose power reaches ``power``.

        The cell sizes are ``k * r`` for the design's allocation ratios ``r``;
        the search (:func:`trialplan.power.sample_size_search`, the same for
        every design and engine) finds the smallest integer ``k`` at which
        every listed hypothesis reaches the target, bracketing from the normal
        approximation and bisecting on the exact power of the statistic family
        at ``k`` (the design is rebuilt once, at the answer).

        Parameters
        ----------
{sample_size_parameters}
        Returns
        -------
        SampleSizeResult
            ``SequentialSampleSizeResult`` with ``sequential=``.

        Raises
        ------
        ValueError
            If ``power`` is outside (0, 1), a hypothesis is unknown, no
            hypothesis is named and the design has no ``primary``, the effect
            is zero (or the wrong way for a one-sided test), or the search's
            limit (:data:`trialplan.power.MAX_CELL_SIZE` participants in a
            cell, the same for every outcome) does not reach the target.
        TypeError
            For a misspelt keyword (Python's own message).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={{"A": ("a0", "a1"), "B": ("b0", "b1")}},
        ...                  outcome=tp.Continuous(means={{("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): 1}}, sd=2.0), n_per_cell=10)
        >>> d.sample_size(power=0.8, hypothesis="A").n_per_cell
        32
        >>> d.replace(primary=["A"]).sample_size(power=0.8).n_per_cell
        32
        """
    )
    def sample_size(  # noqa: D102  (docstring filled in by _doc)
        self,
        *,
        power: float,
        hypothesis: str | Sequence[str] | None = None,
        sequential: GroupSequential | None = None,
        multiplicity: Any = None,
    ) -> SampleSizeResult:
        target = check_open_unit("power", power)
        names = None if hypothesis is None else self._names(hypothesis)
        search = _dispatch_sample_size(
            self, names, target, sequential=sequential, multiplicity=multiplicity
        )
        return self._size_result(search, target)

    def _size_result(self, search: SizeSearch, target: float) -> SampleSizeResult:
        """The result at the solved multiplier: the search's one design rebuild."""
        design = self.at_multiplier(search.multiplier)
        result_type = search.result_type or SampleSizeResult
        return result_type(
            n_per_cell=design.n_per_cell,  # type: ignore[attr-defined]
            n_total=design.n_total,  # type: ignore[attr-defined]
            n_randomized_per_cell=design.n_randomized_per_cell,  # type: ignore[attr-defined]
            n_randomized=design.n_randomized,  # type: ignore[attr-defined]
            power=search.power,
            powers=search.powers,
            target=target,
            hypotheses=search.hypotheses or tuple(search.powers),
            design=design,
            method=search.method,
            extras=search.extras,
            **search.result_fields,
        )

    def assurance(
        self,
        *,
        hypothesis: str,
        prior: Any,
        method: str = "auto",
        n_sims: int = 100_000,
        seed: Any = None,
    ) -> AssuranceResult:
        """Assurance of ``hypothesis``: power averaged over a design prior.

        Parameters
        ----------
        hypothesis : str
            A single-contrast hypothesis, e.g. ``"rTMS:MBI"``.
        prior : NormalPrior, scipy.stats frozen distribution or array_like
            Design prior on the hypothesis's effect, or draws from one.
        method : {"auto", "simulation"}, default "auto"
            See :func:`trialplan.assurance.assurance`.
        n_sims : int, default 100000
            Prior draws for ``method="simulation"``.
        seed : int, SeedSequence or Generator, optional
            Seed of the prior draws.

        Returns
        -------
        AssuranceResult

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=100)
        >>> res = d.assurance(hypothesis="A:B", prior=tp.NormalPrior(mean=-4.0, sd=2.0))
        >>> round(res.value, 4)                 # below the power at the prior mean
        0.6308
        >>> round(d.power("A:B")["A:B"], 4)
        0.7033
        """
        if not isinstance(hypothesis, str):
            raise TypeError(
                f"hypothesis must be one hypothesis name (a string); got hypothesis={hypothesis!r}"
            )
        return _assurance(
            self.statistics(hypothesis),
            hypothesis=hypothesis,
            prior=prior,
            method=method,
            n_sims=n_sims,
            seed=seed,
        )


# ------------------------------------------------------------ cell designs
class CellDesign(Design):
    """Mixin for designs whose hypotheses are contrasts of independent cells.

    Subclasses are frozen dataclasses with fields ``outcome``, ``alpha``,
    ``sided``, ``dropout``, ``primary`` and a per-cell size field, and
    implement ``cells``, ``n_array``, ``hypothesis``, ``hypothesis_names``,
    ``with_cell_sizes`` and ``describe``.
    """

    # ----------------------------------------------------------- to implement
    cells: tuple[Cell, ...]
    outcome: Any
    #: Group delivery (tp.Clustering), a field of designs that offer it; None otherwise.
    clusters = None

    def hypothesis(self, name: str) -> Hypothesis:  # pragma: no cover - abstract
        """The :class:`Hypothesis` called ``name``."""
        raise NotImplementedError

    @property
    def n_array(self) -> np.ndarray:  # pragma: no cover - abstract
        """Analysed participants per cell, in the order of ``cells``."""
        raise NotImplementedError

    def with_cell_sizes(self, sizes: Sequence[int]) -> CellDesign:  # pragma: no cover
        """The same design with these analysed sizes per cell."""
        raise NotImplementedError

    @property
    def many_to_one_names(self) -> tuple[str, ...]:
        """Comparisons of every arm with a control (none unless the design has one)."""
        return ()

    # ------------------------------------------------------------ shared logic
    def replace(self, **changes: Any) -> CellDesign:
        """Return a copy with some parameters changed, validated again.

        Keywords naming a field of the outcome (e.g. ``sd``) change the
        outcome; the others change the design.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 2}, sd=2.0), n_per_cell=20)
        >>> d.replace(n_per_cell=30, sd=3.0).n_total
        120
        """
        own = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        theirs = {f.name for f in dataclasses.fields(self.outcome)}
        unknown = set(changes) - own - theirs
        if unknown:
            name = sorted(unknown)[0]
            raise TypeError(
                f"replace() got an unknown parameter {name!r}; design parameters "
                f"are {sorted(own)} and outcome parameters {sorted(theirs)}"
                + did_you_mean(name, own | theirs)
            )
        outcome_changes = {k: v for k, v in changes.items() if k in theirs and k not in own}
        design_changes = {k: v for k, v in changes.items() if k in own}
        if outcome_changes:
            outcome = design_changes.get("outcome", self.outcome)
            design_changes["outcome"] = (
                outcome.replace(**outcome_changes)
                if hasattr(outcome, "replace")
                else dataclasses.replace(outcome, **outcome_changes)
            )
        return dataclasses.replace(self, **design_changes)  # type: ignore[type-var]

    @property
    def n_total(self) -> int:
        """Analysed participants in all cells."""
        return int(self.n_array.sum())

    @property
    def dropout_array(self) -> np.ndarray:
        """Expected proportion lost per cell."""
        dropout = self.dropout  # type: ignore[attr-defined]
        if isinstance(dropout, Mapping):
            return np.array([dropout[c] for c in self.cells], dtype=float)
        return np.full(len(self.cells), float(dropout))

    @property
    def n_randomized_per_cell(self) -> dict[Cell, int]:
        """Participants to randomize per cell, ``ceil(n / (1 - dropout))``."""
        n = self.n_array
        drop = self.dropout_array
        # round() first so that e.g. 90 / 0.9 = 100.00000000000001 stays 100.
        return {
            c: int(math.ceil(round(nj / (1.0 - dj), 9)))
            for c, nj, dj in zip(self.cells, n, drop, strict=True)
        }

    @property
    def n_randomized(self) -> int:
        """Participants to randomize in total (after dropout)."""
        return sum(self.n_randomized_per_cell.values())

    @property
    def allocation_ratios(self) -> np.ndarray:
        """Per-cell sizes divided by their greatest common divisor."""
        n = [int(v) for v in self.n_array]
        return np.array(n) // reduce(math.gcd, n)

    def at_multiplier(self, multiplier: int) -> CellDesign:
        """The design with ``multiplier`` times the allocation ratios per cell.

        Examples
        --------
        >>> import trialplan as tp
        >>> p = tp.Parallel(arms=("c", "t"), n_per_arm={"c": 20, "t": 40},
        ...                 outcome=tp.Continuous(means={"c": 0.0, "t": -3.0}, sd=8.0))
        >>> dict(p.at_multiplier(30).n_per_arm)
        {'c': 30, 't': 60}
        """
        return self.with_cell_sizes(int(multiplier) * self.allocation_ratios)

    def cell_model(self) -> CellModel:
        """Cell estimates and variances at the planned sizes.

        With group delivery (a ``clusters`` field, see
        :class:`~trialplan.Clustering`) the outcome receives each cell's
        design effect and the clustering adjusts the degrees of freedom.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> model = d.cell_model()          # variance sd^2 / n = 4 / 20 per cell
        >>> model.estimates.tolist(), model.variances.tolist(), model.df
        ([0.0, 1.0, 1.0, 3.0], [0.2, 0.2, 0.2, 0.2], 76.0)
        """
        clusters = self.clusters
        if clusters is None:
            return self.outcome.cell_model(self.cells, self.n_array)
        model = self.outcome.cell_model(
            self.cells, self.n_array, design_effect=clusters.design_effects(self)
        )
        return clusters.adjust_model(self, model)

    def design_effects(self) -> np.ndarray:
        """Variance inflation per cell from group delivery (all 1 without clustering).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.design_effects().tolist()
        [1.0, 1.0, 1.0, 1.0]
        >>> grouped = d.replace(clusters=tp.Clustering(factor="B", icc=0.05, group_size=8))
        >>> grouped.design_effects().tolist()   # 1 + (8 - 1) 0.05 in the cells with b1
        [1.0, 1.35, 1.0, 1.35]
        """
        clusters = self.clusters
        if clusters is None:
            return np.ones(len(self.cells))
        return clusters.design_effects(self)

    def expected_events(self) -> dict[Cell, float]:
        """Expected events per cell at the planned sizes (time-to-event outcomes).

        See :meth:`trialplan.TimeToEvent.expected_events`.

        Raises
        ------
        TypeError
            If the outcome is not a time-to-event outcome.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"arm": ("control", "rTMS")},
        ...                  outcome=tp.TimeToEvent(hazards={("control",): 0.1, ("rTMS",): 0.07},
        ...                                         accrual=12.0, analysis_time=24.0),
        ...                  n_per_cell=100)
        >>> {cell: round(e, 2) for cell, e in d.expected_events().items()}
        {('control',): 82.46, ('rTMS',): 70.79}
        """
        if not hasattr(self.outcome, "expected_events"):
            raise TypeError(
                "expected_events() needs a time-to-event outcome "
                f"(tp.TimeToEvent); this design's outcome is "
                f"{type(self.outcome).__name__}"
            )
        return self.outcome.expected_events(self.cells, self.n_array)

    def statistics(self, hypotheses: str | Sequence[str] | None = None) -> StatisticFamily:
        """The named hypotheses (all defaults if None) as a :class:`StatisticFamily`.

        The family is a sequence of canonical statistics (``family[0]``,
        ``family["A:B"]``) that also knows their correlation and how their
        standard errors and degrees of freedom follow the cell sizes.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = d.statistics("A:B")[0]
        >>> s.effect, round(s.se, 4), s.df
        (1.0, 0.8944, 76.0)
        """
        hyps = [self.hypothesis(n) for n in self._names(hypotheses)]
        hyps = list({h.name: h for h in hyps}.values())  # a name listed twice is one hypothesis
        model = self.cell_model()
        n = self.n_array
        ratios = self.allocation_ratios
        return StatisticFamily(
            hypotheses=tuple(h.name for h in hyps),
            estimands=tuple(h.estimand for h in hyps),
            contrasts=tuple(h.contrasts for h in hyps),
            estimates=model.estimates,
            covariance=np.diag(model.variances),
            cell_of=np.arange(len(self.cells)),
            ratios=ratios,
            multiplier=int(n[0]) // int(ratios[0]),
            df_rule=model.rule(n),
            alpha=self.alpha,
            sided=self.sided,
            favourable=model.favourable,
            method=model.method,
            scale=model.scale,
            cells=tuple(self.cells),
            many_to_one=self.many_to_one_names,
            notes=model.notes,
        )

    def covariance(self, hypotheses: Sequence[str]) -> np.ndarray:
        """Covariance matrix of the estimates of single-contrast hypotheses.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.covariance(["A | B=b0", "A:B"]).round(3).tolist()
        [[0.4, -0.4], [-0.4, 0.8]]
        """
        family = self.statistics(hypotheses)
        rows = []
        for name, contrast in zip(family.hypotheses, family.contrasts, strict=True):
            if contrast.shape[0] > 1:
                raise ValueError(
                    f"hypothesis {name!r} is an intersection-union test, not "
                    "one contrast; it has no single estimate"
                )
            rows.append(contrast[0])
        return family.contrast_covariance(np.array(rows))

    def simulator(self) -> OutcomeSimulator:
        """The simulator of this design's outcome (group-delivered when ``clusters`` is set).

        Raises
        ------
        TypeError
            If no simulator is registered for the outcome type.
        ValueError
            For a group-delivered outcome without a group-delivered simulator.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("c", "t"), n_per_arm=20,
        ...                 outcome=tp.Binary(rates={"c": 0.3, "t": 0.5}))
        >>> type(d.simulator()).__name__, d.simulator().engines
        ('BinarySimulator', ('exact', 'individual'))
        """
        if self.clusters is not None:
            return group_delivered_simulator(self)
        return simulator_for(self.outcome)

    def _analytic_power(self, family: StatisticFamily) -> PowerResult:
        warn_wrong_direction(list(family), getattr(self.outcome, "better", None))
        rows = tuple(_power_row(s, self.n_total) for s in family)
        if hasattr(self.outcome, "extra_rows"):  # e.g. Binary: interaction on other scales
            rows += tuple(
                _extra_row(r, self.alpha, self.sided)
                for r in self.outcome.extra_rows(self, list(family.hypotheses))
            )
        return PowerResult(rows=rows, summary=self.describe(), method="analytic", design=self)


def check_primary(
    design: Any, primary: Any, resolve: Callable[[str], str]
) -> tuple[str, ...] | None:
    """Validate ``primary`` (hypothesis names of ``design``) and return them as a tuple.

    ``resolve(name)`` returns the hypothesis's canonical name or raises.

    Raises
    ------
    TypeError, ValueError
        Naming ``primary``, the value and the hypotheses to choose from (the
        closest is suggested).
    """
    if primary is None:
        return None
    if isinstance(primary, str):
        primary = (primary,)
    if not isinstance(primary, Iterable) or isinstance(primary, Mapping):
        raise TypeError(
            f"primary must be a hypothesis name or a sequence of them; got primary={primary!r}"
        )
    names = tuple(primary)
    if not names or not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"primary must name at least one hypothesis, as strings; got primary={primary!r}"
        )
    checked = []
    for name in names:
        try:
            checked.append(resolve(name))
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(
                f"primary={names!r}: {name!r} is not a hypothesis of this design; choose "
                f"from {list(design.hypothesis_names)}"
                + (did_you_mean(name, design.hypothesis_names) or f" ({err})")
            ) from None
    return tuple(dict.fromkeys(checked))


class DirectionWarning(UserWarning):
    """A one-sided test whose planning effect points against the outcome's ``better``."""


def warn_wrong_direction(stats: Sequence[Any], better: str | None) -> None:
    """Warn for one-sided tests whose planned effect favours the reference (power < alpha).

    A ``Continuous`` left at ``better="lower"`` with a positive planned effect
    printed power 0.000 with no word on why (issue 19).
    """
    for stat in stats:
        parts = stat.components if isinstance(stat, IntersectionUnion) else (stat,)
        for part in parts:
            if part.sided == 1 and part.favourable * part.effect < 0:
                sign = "positive" if part.effect > 0 else "negative"
                wanted = "lower" if part.favourable < 0 else "higher"
                warnings.warn(
                    f"hypothesis {stat.hypothesis!r}: the planned effect {part.effect:g} is "
                    f"{sign}, but the one-sided test rejects for {wanted} outcomes "
                    f"(better={better or wanted!r}), so its power is below alpha; check the "
                    "sign of the planning values or set better=",
                    DirectionWarning,
                    stacklevel=4,
                )
                break


def _power_row(stat: TestStatistic | IntersectionUnion, n_total: int) -> PowerRow:
    if isinstance(stat, IntersectionUnion):
        weak = stat.weakest
        return PowerRow(
            hypothesis=stat.hypothesis,
            estimand=stat.estimand,
            effect=weak.effect,
            se=weak.se,
            df=weak.df,
            critical_value=weak.critical_value,
            power=statistic_power(stat),
            method=stat.method,
            scale=weak.scale,
        )
    lam = stat.noncentrality**2
    standardized = stat.scale == "mean difference"
    f = math.sqrt(lam / n_total) if standardized else math.nan
    return PowerRow(
        hypothesis=stat.hypothesis,
        estimand=stat.estimand,
        effect=stat.effect,
        se=stat.se,
        df=stat.df,
        critical_value=stat.critical_value,
        power=statistic_power(stat),
        method=stat.method,
        noncentrality=lam,
        cohens_f=f,
        partial_eta_sq=f**2 / (1 + f**2) if standardized else math.nan,
        scale=stat.scale,
    )


def _extra_row(row: Mapping[str, Any], alpha: float, sided: int) -> PowerRow:
    """A PowerRow for a reported-alongside measure (Wald z, df = inf)."""
    return PowerRow(
        hypothesis=row["hypothesis"],
        estimand=row.get("note", ""),
        effect=row["estimate"],
        se=row["se"],
        df=math.inf,
        critical_value=critical_value(alpha / sided, math.inf),
        power=row["power"],
        method="Wald z, delta method (reported alongside; not the design's test)",
        noncentrality=row["z"] ** 2,
        scale=row["measure"],
    )


def check_dropout(dropout: Any, cells: Sequence[Cell], normalize: Any) -> Any:
    """Validate a dropout proportion, or a per-cell mapping of them."""
    if isinstance(dropout, Mapping):
        values = {
            normalize(k, "dropout"): check_unit_interval(f"dropout[{k!r}]", v)
            for k, v in dropout.items()
        }
        missing = [c for c in cells if c not in values]
        if missing:
            raise ValueError(
                f"dropout is missing cells {missing}; give a proportion for "
                "every cell or one number for all"
            )
        return values
    return check_unit_interval("dropout", dropout)


def _cell_size(name: str, value: Any) -> int:
    size = check_int(name, value)
    if size > MAX_CELL_SIZE:
        raise ValueError(
            f"{name} must be at most {MAX_CELL_SIZE:.0e} participants; got {name}={value!r}"
        )
    return size


def _cell_parameter(outcome: Any) -> str:
    """The outcome's parameter keyed by cell, named in errors (``means``, ``rates``, ...)."""
    for name in ("means", "rates", "hazards"):
        if isinstance(getattr(outcome, name, None), Mapping):
            return name
    return "cells"


def check_cell_sizes(n: Any, cells: Sequence[Cell], normalize: Any, *, name: str) -> Any:
    """Validate ``n`` (an int, or a mapping of every cell to an int >= 1)."""
    if isinstance(n, Mapping):
        sizes = {normalize(k, name): _cell_size(f"{name}[{k!r}]", v) for k, v in n.items()}
        missing = [c for c in cells if c not in sizes]
        if missing:
            raise ValueError(
                f"{name} is missing cells {missing}; give a size for every cell "
                "or one whole number for all"
            )
        if len(set(sizes.values())) == 1:
            return next(iter(sizes.values()))
        return {c: sizes[c] for c in cells}
    return _cell_size(name, n)


def check_size_list(sizes: Any, cells: Sequence[Cell], *, name: str) -> list[int]:
    """Validate ``sizes``: one whole number >= 1 per cell, in ``cells`` order."""
    if isinstance(sizes, str | Mapping) or not isinstance(sizes, Iterable):
        raise TypeError(
            f"sizes must be a sequence of whole numbers, one per cell of "
            f"{list(cells)}; got sizes={sizes!r}"
        )
    values = list(sizes)
    if len(values) != len(cells):
        raise ValueError(
            f"sizes must hold {len(cells)} whole numbers, one per cell of "
            f"{list(cells)}; got {len(values)}: sizes={values!r}"
        )
    return [_cell_size(f"{name}[{cell!r}]", v) for cell, v in zip(cells, values, strict=True)]
