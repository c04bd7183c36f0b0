"""What every cell-based design shares: sizes, statistics, power and sample size.

A concrete design (``Factorial``, ``Parallel``) says what its cells are, how
hypotheses map to contrasts and how to describe itself; this base class turns
that into canonical statistics and runs the engines on them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
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
from trialplan.hypotheses import Hypothesis, contrast_covariance
from trialplan.outcomes import CellModel
from trialplan.power import MAX_SEARCH_UNITS, smallest_multiplier, statistic_power
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.statistic import IntersectionUnion, TestStatistic, critical_value

__all__ = ["CellDesign"]

Cell = Hashable


class CellDesign:
    """Mixin for designs whose hypotheses are contrasts of independent cells.

    Subclasses are frozen dataclasses with fields ``outcome``, ``alpha``,
    ``sided``, ``dropout`` and a per-cell size field, and implement
    ``cells``, ``n_array``, ``hypothesis``, ``hypothesis_names``,
    ``with_cell_sizes`` and ``describe``.
    """

    # ----------------------------------------------------------- to implement
    cells: tuple[Cell, ...]
    alpha: float
    sided: int
    outcome: Any

    def hypothesis(self, name: str) -> Hypothesis:  # pragma: no cover - abstract
        """The :class:`Hypothesis` called ``name``."""
        raise NotImplementedError

    @property
    def hypothesis_names(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        """Names of the hypotheses reported by default."""
        raise NotImplementedError

    @property
    def n_array(self) -> np.ndarray:  # pragma: no cover - abstract
        """Analysed participants per cell, in the order of ``cells``."""
        raise NotImplementedError

    def with_cell_sizes(self, sizes: Sequence[int]) -> CellDesign:  # pragma: no cover
        """The same design with these analysed sizes per cell."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """One line naming the design, its sizes and its test."""
        raise NotImplementedError

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
        clusters = getattr(self, "clusters", None)
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
        clusters = getattr(self, "clusters", None)
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

    def statistics(
        self, hypotheses: str | Sequence[str] | None = None
    ) -> tuple[TestStatistic | IntersectionUnion, ...]:
        """Canonical statistics of the named hypotheses (all defaults if None).

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
        names = self._names(hypotheses)
        model = self.cell_model()
        return tuple(
            self.hypothesis(n).statistic(model, alpha=self.alpha, sided=self.sided) for n in names
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
        rows = []
        for name in self._names(hypotheses):
            hyp = self.hypothesis(name)
            if hyp.is_intersection_union:
                raise ValueError(
                    f"hypothesis {name!r} is an intersection-union test, not "
                    "one contrast; it has no single estimate"
                )
            rows.append(hyp.contrasts[0])
        return contrast_covariance(np.array(rows), self.cell_model().variances)

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

    def power(
        self,
        hypotheses: str | Sequence[str] | None = None,
        *,
        method: str = "analytic",
        **options: Any,
    ) -> PowerResult:
        """Power of each hypothesis at the planned sample size.

        Parameters
        ----------
        hypotheses : str or sequence of str, optional
            Hypotheses to report; by default all of ``hypothesis_names``.
        method : {"analytic"}, default "analytic"
            ``"analytic"``: exact noncentral t (or the outcome's named method).
        **options
            Options of other methods (see the engines' documentation).

        Returns
        -------
        PowerResult
            ``result[name]`` is a float; ``result.to_frame()`` a DataFrame.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 20, ("a1", "b0"): 20,
        ...                      ("a0", "b1"): 20, ("a1", "b1"): 25}, sd=20.0), n_per_cell=150)
        >>> round(d.power()["A:B"], 3)
        0.333
        """
        hooks = [key for key in options if key in _POWER_OPTIONS]
        if len(hooks) > 1:
            raise TypeError(f"power() takes one of {sorted(_POWER_OPTIONS)} at a time; got {hooks}")
        if hooks:
            return _POWER_OPTIONS[hooks[0]](self, hypotheses, method=method, **options)
        methods = _POWER_METHODS
        if method not in methods:
            raise ValueError(
                f"method={method!r} is not available; choose one of "
                f"{tuple(methods)}" + did_you_mean(method, methods)
            )
        return methods[method](self, hypotheses, **options)

    def _analytic_power(
        self, hypotheses: str | Sequence[str] | None = None, **options: Any
    ) -> PowerResult:
        if options:
            raise TypeError(f"power(method='analytic') got unexpected options {sorted(options)}")
        stats_ = self.statistics(hypotheses)
        rows = tuple(_power_row(s, self.n_total) for s in stats_)
        if hasattr(self.outcome, "extra_rows"):  # e.g. Binary: interaction on other scales
            rows += tuple(
                _extra_row(r, self.alpha, self.sided)
                for r in self.outcome.extra_rows(self, [s.hypothesis for s in stats_])
            )
        return PowerResult(rows=rows, summary=self.describe(), method="analytic", design=self)

    def sample_size(
        self, *, power: float, hypothesis: str | Sequence[str], **options: Any
    ) -> SampleSizeResult:
        """Smallest sample, allocation ratios kept, whose exact power reaches ``power``.

        The cell sizes are ``k * r`` for the design's integer allocation
        ratios ``r`` (its ``n_per_cell`` divided by their common divisor); the
        search finds the smallest integer ``k`` at which every listed
        hypothesis reaches the target, by doubling and bisection on the exact
        power (power rises with ``k``).

        Parameters
        ----------
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str
            One hypothesis, or several that must ALL reach the target.

        Returns
        -------
        SampleSizeResult

        Raises
        ------
        ValueError
            If ``power`` is outside (0, 1), a hypothesis is unknown, or the
            target cannot be reached (e.g. a zero effect).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): 1}, sd=2.0), n_per_cell=10)
        >>> d.sample_size(power=0.8, hypothesis="A").n_per_cell
        32
        """
        if options:
            methods = _SAMPLE_SIZE_OPTIONS
            unknown = [k for k in options if k not in methods]
            if unknown:
                raise TypeError(
                    f"sample_size() got an unexpected option {unknown[0]!r}; "
                    f"available: {sorted(methods)}" + did_you_mean(unknown[0], methods)
                )
            (key, value), *rest = options.items()
            if rest:
                raise TypeError(f"sample_size() takes one of {sorted(methods)} at a time")
            return methods[key](self, power=power, hypothesis=hypothesis, **{key: value})
        target = check_open_unit("power", power)
        names = self._names(hypothesis)
        self._check_reachable(names)

        def power_at(k: int) -> float:
            return min(self._power_at_multiplier(k, names).values())

        ratios = self.allocation_ratios
        k = smallest_multiplier(
            power_at,
            target,
            lo=self._min_multiplier(ratios),
            start=self._start_multiplier(names, target, ratios),
            what="allocation multiplier",
        )
        return self._sample_size_result(k, names, target)

    def assurance(self, *, hypothesis: str, prior: Any, **options: Any) -> Any:
        """Assurance of ``hypothesis``: power averaged over a design prior.

        See :func:`trialplan.assurance.assurance` for the parameters.

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
        from trialplan.assurance import assurance

        return assurance(self, hypothesis=hypothesis, prior=prior, **options)

    # ------------------------------------------------------------- internals
    def _check_reachable(self, names: Sequence[str]) -> None:
        """Fail fast when no sample size can reach a target (zero or wrong-way effects)."""
        for stat in self.statistics(names):
            parts = stat.components if isinstance(stat, IntersectionUnion) else (stat,)
            for part in parts:
                oriented = part.effect if part.sided == 2 else part.favourable * part.effect
                if (part.sided == 2 and oriented == 0) or (part.sided == 1 and oriented <= 0):
                    direction = (
                        ""
                        if part.sided == 2
                        else (
                            " or in the wrong direction for a one-sided test (better="
                            f"{'higher' if part.favourable > 0 else 'lower'})"
                        )
                    )
                    raise ValueError(
                        f"hypothesis {stat.hypothesis!r} has effect {part.effect:g} at the "
                        f"planning values, which is zero{direction}: no sample size gives "
                        "power above alpha; check the planning values"
                    )

    def _power_at_multiplier(self, k: int, names: Sequence[str]) -> dict[str, float]:
        design = self.with_cell_sizes(k * self.allocation_ratios)
        return {s.hypothesis: statistic_power(s) for s in design.statistics(names)}

    def _min_multiplier(self, ratios: np.ndarray) -> int:
        """Smallest k that leaves at least one residual degree of freedom."""
        k = 1
        while not self._has_residual_df(k * ratios):
            k += 1
        return k

    def _has_residual_df(self, sizes: np.ndarray) -> bool:
        try:
            model = self.with_cell_sizes(sizes).cell_model()
        except ValueError:
            return False
        return model.df >= 1

    def _start_multiplier(self, names: Sequence[str], target: float, ratios: np.ndarray) -> int:
        """Normal-approximation guess for k, the search's first bracket."""
        model = self.with_cell_sizes(ratios).cell_model() if self._has_residual_df(ratios) else None
        if model is None:
            return self._min_multiplier(ratios)
        z = critical_value(self.alpha / self.sided, math.inf) + critical_value(1 - target, math.inf)
        guesses = []
        for name in names:
            hyp = self.hypothesis(name)
            effects = hyp.contrasts @ model.estimates
            var = np.diag(contrast_covariance(hyp.contrasts, model.variances))
            nonzero = effects != 0
            if not np.all(nonzero):
                continue
            guesses.append(np.max(z**2 * var / effects**2))
        guess = max(guesses, default=1.0)
        # Capped: a near-zero effect (1e-17 of float noise) made k ~ 1e300, whose
        # k * ratios overflowed numpy ("Python int too large to convert to C long").
        return max(1, int(min(0.8 * guess, MAX_SEARCH_UNITS)))

    def _sample_size_result(
        self, k: int, names: Sequence[str], target: float, **extras: Any
    ) -> SampleSizeResult:
        design = self.with_cell_sizes(k * self.allocation_ratios)
        stats_ = design.statistics(names)
        powers = {s.hypothesis: statistic_power(s) for s in stats_}
        n_per_cell: Any = design.n_per_cell  # type: ignore[attr-defined]
        methods = sorted({s.method for s in stats_})
        return SampleSizeResult(
            n_per_cell=n_per_cell,
            n_total=design.n_total,
            n_randomized_per_cell=design.n_randomized_per_cell,
            n_randomized=design.n_randomized,
            power=min(powers.values()),
            powers=powers,
            target=target,
            hypotheses=tuple(names),
            design=design,
            method="; ".join(methods),
            extras=extras,
        )


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


#: power(method=...) dispatch: engines register themselves here.
_POWER_METHODS: dict[str, Any] = {"analytic": CellDesign._analytic_power}
#: power(<option>=...) dispatch, e.g. ``sequential``, ``multiplicity``: engines
#: register ``handler(design, hypotheses, *, method, **options)`` here.
_POWER_OPTIONS: dict[str, Any] = {}
#: sample_size(<option>=...) dispatch, e.g. ``sequential``: engines register
#: ``handler(design, *, power, hypothesis, **{option: value})`` here.
_SAMPLE_SIZE_OPTIONS: dict[str, Any] = {}


def _multiplicity_power(
    design: CellDesign, hypotheses: Any, *, method: str, multiplicity: Any, **options: Any
) -> PowerResult:
    """power(multiplicity=procedure): the procedure object evaluates itself.

    A procedure (tp.Holm, tp.Dunnett, ...) implements
    ``evaluate(design, hypotheses, *, method, **options) -> PowerResult``.
    """
    if not hasattr(multiplicity, "evaluate"):
        raise TypeError(
            "multiplicity must be a procedure such as tp.Holm([...]) or "
            f"tp.Dunnett(); got multiplicity={multiplicity!r}"
        )
    return multiplicity.evaluate(design, hypotheses, method=method, **options)


_POWER_OPTIONS["multiplicity"] = _multiplicity_power


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
