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
place, :mod:`trialplan.designs.dispatch`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from trialplan._validation import (
    MAX_CELL_SIZE,
    check_int,
    check_open_unit,
    check_unit_interval,
    did_you_mean,
)
from trialplan.assurance import AssuranceResult
from trialplan.assurance import assurance as _assurance
from trialplan.designs.dispatch import (
    PowerOptions,
    dispatch_power,
    dispatch_sample_size,
    document,
)
from trialplan.designs.hypotheses import Hypothesis
from trialplan.outcomes.base import CellModel, Outcome
from trialplan.outcomes.survival import TimeToEvent
from trialplan.power import SizeSearch, statistic_power
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.sequential import (
    GroupSequential,
)
from trialplan.simulate.grouped import group_delivered_simulator
from trialplan.simulate.protocol import OutcomeSimulator, simulator_for
from trialplan.statistic import (
    IntersectionUnion,
    StatisticFamily,
    TestStatistic,
    critical_value,
)

__all__ = ["CellDesign", "Design"]

Cell = Hashable


# ---------------------------------------------------------------- options


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

    @property
    def simulation_subject(self) -> str:
        """What the design's simulator simulates, in words for messages (``"SMART designs"``)."""
        return f"{type(self).__name__} designs"

    def summary_items(self) -> list[tuple[str, str]]:  # pragma: no cover - abstract
        """The lines of the design's printed summary, as ``(label, text)`` pairs."""
        raise NotImplementedError

    def __repr__(self) -> str:
        """A short summary: the design, its cells and sizes, alpha and sidedness, the outcome."""
        return format_summary(self.describe().split(" | ")[0], self.summary_items())

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

    @document(
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
    def power(  # noqa: D102  (docstring filled in by document)
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
        options = PowerOptions(
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
        return dispatch_power(self, hypotheses, options)

    @document(
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
    def sample_size(  # noqa: D102  (docstring filled in by document)
        self,
        *,
        power: float,
        hypothesis: str | Sequence[str] | None = None,
        sequential: GroupSequential | None = None,
        multiplicity: Any = None,
    ) -> SampleSizeResult:
        target = check_open_unit("power", power)
        names = None if hypothesis is None else self._names(hypothesis)
        search = dispatch_sample_size(
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
    outcome: Outcome
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
            design_changes["outcome"] = outcome.replace(**outcome_changes)
        return dataclasses.replace(self, **design_changes)  # type: ignore[type-var]

    @property
    def n_total(self) -> int:
        """Analysed participants in all cells."""
        return int(self.n_array.sum())

    @property
    def simulation_subject(self) -> str:
        """What is simulated, in words for messages (e.g. ``"Binary outcomes"``).

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Parallel(arms=("a", "b"), outcome=tp.Binary(rates={"a": 0.3, "b": 0.5}),
        ...             n_per_arm=50).simulation_subject
        'Binary outcomes'
        """
        what = f"{type(self.outcome).__name__} outcomes"
        return what if self.clusters is None else f"group-delivered (clusters=) {what}"

    def summary_items(self) -> list[tuple[str, str]]:
        """The lines of ``repr(design)``: cells, sizes, alpha and sidedness, outcome.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20,
        ...                  dropout=0.1)
        >>> d
        Factorial 2x2 (A x B)
          cells    a0+b0, a0+b1, a1+b0, a1+b1
          sizes    20 per cell; N = 80 analysed, 92 randomized
          alpha    0.05 two-sided
          outcome  continuous: means a0+b0 0, a1+b0 1, a0+b1 1, a1+b1 3; sd 2; lower is better
        """
        word = "arm" if self.design_kind == "parallel" else "cell"
        labels = [self.cell_label(c) for c in self.cells]  # type: ignore[attr-defined]
        n = self.n_array
        if np.all(n == n[0]):
            sizes = f"{n[0]} per {word}"
        else:
            sizes = ", ".join(f"{label} {k}" for label, k in zip(labels, n, strict=True))
        randomized = (
            f", {self.n_randomized} randomized" if self.n_randomized != self.n_total else ""
        )
        sided = "two-sided" if self.sided == 2 else "one-sided"  # type: ignore[attr-defined]
        items = [
            (f"{word}s", ", ".join(labels)),
            ("sizes", f"{sizes}; N = {self.n_total} analysed{randomized}"),
            ("alpha", f"{self.alpha:g} {sided}"),  # type: ignore[attr-defined]
            ("outcome", self.outcome.describe(self.cell_label)),  # type: ignore[attr-defined]
        ]
        if self.primary:  # type: ignore[attr-defined]
            items.append(("primary", ", ".join(self.primary)))  # type: ignore[attr-defined]
        if self.clusters is not None:
            items.append(("groups", self.clusters.describe()))
        return items

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
        n = self.n_array
        return n // np.gcd.reduce(n)

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

    def _planned_model(self) -> CellModel:
        """The cell model the constructor checked, kept for ``statistics()`` (read only).

        A design is frozen, so its cell model never changes; ``cell_model()``
        still builds a new one for callers, who may modify it.
        """
        model = self.__dict__.get("_model_")
        if model is None:
            model = self.cell_model()
            self.__dict__["_model_"] = model
        return model

    def __getstate__(self) -> dict[str, Any]:
        # Pickles (for process pools) carry the fields, not what was derived from them.
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_")}

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
        if not isinstance(self.outcome, TimeToEvent):
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
        model = self._planned_model()
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
        warn_wrong_direction(list(family), self.outcome.better)
        rows = tuple(_power_row(s, self.n_total) for s in family)
        # e.g. Binary: the interaction on other scales
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
                    stacklevel=5,  # < _analytic_power < dispatch_power < power < user
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


def _cell_parameter(outcome: Outcome) -> str:
    """The outcome's parameter keyed by cell, named in errors (``means``, ``rates``, ...)."""
    if isinstance(outcome, TimeToEvent):
        return "hazards" if outcome.hazards is not None else "medians"
    return "rates" if outcome.kind == "binary" else "means"


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


def format_summary(header: str, items: Sequence[tuple[str, str]]) -> str:
    """A design's printed summary: the header, then one aligned ``label  text`` line per item.

    Examples
    --------
    >>> print(format_summary("Design", [("alpha", "0.05 two-sided"), ("sizes", "20 per cell")]))
    Design
      alpha  0.05 two-sided
      sizes  20 per cell
    """
    width = max((len(label) for label, _ in items), default=0)
    return "\n".join([header] + [f"  {label:<{width}}  {text}" for label, text in items])
