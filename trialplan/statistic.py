"""The canonical test statistics every engine works on, and their family.

A design reduces each hypothesis to an effect (theta), its standard error at the
planned sample size, degrees of freedom (``math.inf`` for large-sample tests),
sidedness and the direction a favourable effect takes.  Power, sample size,
multiplicity, group-sequential and assurance engines consume these objects
only, so a new outcome type gets every engine by producing them.

A design hands the engines a :class:`StatisticFamily`: the statistics of a set
of hypotheses together with their joint correlation and the rule by which
every standard error and degree of freedom follows the cell sizes, so an
engine can evaluate the same hypotheses at other sizes (a sample-size search,
the looks of a group-sequential trial) without the design.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import MISSING, dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol, overload, runtime_checkable

import numpy as np
from scipy import stats

from trialplan._validation import check_open_unit, check_sided, did_you_mean

__all__ = [
    "DfRule",
    "IntersectionUnion",
    "StatisticFamily",
    "SupportsStatistics",
    "TestStatistic",
    "as_family",
    "contrast_covariance",
    "critical_value",
]


def critical_value(level: float, df: float) -> float:
    """Upper ``level`` quantile of t(df), or of N(0, 1) when ``df`` is infinite.

    Parameters
    ----------
    level : float
        Upper-tail probability, e.g. 0.025.
    df : float
        Degrees of freedom; ``math.inf`` for the normal distribution.

    Returns
    -------
    float
        The critical value ``c`` with ``P(T > c) = level``.

    Examples
    --------
    >>> round(critical_value(0.025, math.inf), 4)
    1.96
    >>> round(critical_value(0.025, 10), 4)
    2.2281
    """
    return _critical_value(float(level), float(df))


@lru_cache(maxsize=1024)
def _critical_value(level: float, df: float) -> float:
    # Cached: scipy's isf costs ~0.1 ms a call, and every table asks for the same few.
    if math.isinf(df):
        return float(stats.norm.isf(level))
    return float(stats.t.isf(level, df))


@dataclass(frozen=True, kw_only=True)
class TestStatistic:
    """One hypothesis test reduced to (effect, se, df, sidedness, direction).

    Parameters
    ----------
    hypothesis : str
        Name, e.g. ``"rTMS:MBI"``.
    estimand : str
        The estimand in words.
    effect : float
        The true effect theta on the analysis scale at the planning values.
    se : float
        Standard error of the estimate at the planned sample size (> 0).
    df : float
        Residual degrees of freedom of a t statistic; ``math.inf`` for a
        large-sample (normal) statistic.
    sided : {1, 2}
        One- or two-sided test.
    alpha : float
        Significance level; for ``sided=2`` the total over both tails.
    favourable : {1, -1}
        Sign of the hoped-for effect; one-sided tests reject in that direction.
    method : str
        How the power is computed, naming any approximation.
    scale : str
        The analysis scale in words.
    contrast : tuple of float, optional
        Cell weights of the contrast, when the statistic is a linear contrast.
    covariate_df : float, optional
        ANCOVA on one normal baseline: the baseline's within-cell degrees of
        freedom m.  Conditional on the baseline the statistic is noncentral t
        with noncentrality ``(effect / se) / sqrt(1 + F / m)``, F ~ F(1, m)
        from the chance imbalance of baseline means; power averages over F.

    Examples
    --------
    >>> s = TestStatistic(hypothesis="A", estimand="A vs control", effect=3.0,
    ...                   se=1.0, df=math.inf, sided=2, alpha=0.05, favourable=1,
    ...                   method="normal")
    >>> s.noncentrality, round(s.critical_value, 3)
    (3.0, 1.96)
    """

    __test__ = False  # not a pytest test class, despite the name

    hypothesis: str
    estimand: str
    effect: float
    se: float
    df: float = math.inf
    sided: int = 2
    alpha: float = 0.05
    favourable: int = 1
    method: str = ""
    scale: str = "mean difference"
    contrast: tuple[float, ...] | None = None
    covariate_df: float | None = None

    def __post_init__(self) -> None:
        for name in ("effect", "se", "df"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"{name} must be a real number; got {name}={value!r} for "
                    f"hypothesis {self.hypothesis!r}"
                )
        if not (math.isfinite(self.se) and self.se > 0):
            raise ValueError(
                f"se must be a finite number > 0; got se={self.se!r} "
                f"for hypothesis {self.hypothesis!r}"
            )
        if not math.isfinite(self.effect):
            raise ValueError(
                f"effect must be finite; got effect={self.effect!r} "
                f"for hypothesis {self.hypothesis!r}"
            )
        check_open_unit("alpha", self.alpha)
        check_sided(self.sided)
        if isinstance(self.favourable, bool) or self.favourable not in (1, -1):
            raise ValueError(
                "favourable must be +1 (larger effects are better) or -1 "
                f"(smaller are better); got favourable={self.favourable!r}"
            )
        if not (self.df > 0):
            raise ValueError(
                f"df must be > 0; got df={self.df!r} for hypothesis "
                f"{self.hypothesis!r}: the sample leaves no residual "
                "degrees of freedom"
            )

    @classmethod
    def _checked(cls, **values: Any) -> TestStatistic:
        """A statistic from a family whose alpha, sidedness and direction are checked.

        Only the numbers are checked here (finite effect, finite se > 0, df > 0, real
        numbers); when one fails, the constructor runs and raises its usual error.
        Every field must be given.
        """
        effect, se, df = values["effect"], values["se"], values["df"]
        if not (
            type(effect) is float
            and type(se) is float
            and isinstance(df, float | int)
            and not isinstance(df, bool)
            and math.isfinite(effect)
            and math.isfinite(se)
            and se > 0
            and df > 0
        ):
            return cls(**values)
        statistic = object.__new__(cls)
        if len(values) < _STATISTIC_FIELDS:
            values = {**_STATISTIC_DEFAULTS, **values}
        object.__setattr__(statistic, "__dict__", values)
        return statistic

    @property
    def noncentrality(self) -> float:
        """Effect over standard error, ``theta / se``."""
        return self.effect / self.se

    @property
    def critical_value(self) -> float:
        """Critical value of the test on the t (or z) scale."""
        return critical_value(self.alpha / self.sided, self.df)

    def __repr__(self) -> str:
        """One line: the hypothesis, effect, se, df, level and sidedness, method.

        Examples
        --------
        >>> TestStatistic(hypothesis="A", estimand="A vs control", effect=3.0, se=1.2,
        ...               df=58.0, method="exact noncentral t")
        TestStatistic('A': effect 3, se 1.2, df 58, alpha 0.05 two-sided; exact noncentral t)
        """
        side = "two-sided" if self.sided == 2 else "one-sided, " + _direction(self.favourable)
        return (
            f"TestStatistic({self.hypothesis!r}: effect {self.effect:.4g}, se {self.se:.4g}, "
            f"df {self.df:.4g}, alpha {self.alpha:g} {side}; {self.method})"
        )


_STATISTIC_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(TestStatistic) if f.default is not MISSING
}
_STATISTIC_FIELDS = len(dataclasses.fields(TestStatistic))


@dataclass(frozen=True, kw_only=True)
class IntersectionUnion:
    """Reject only if every component one-sided test rejects (the min test).

    Used for "the combination beats each monotherapy" (Berger 1982; Laska &
    Meisner 1989): the components share the combination cell, so their
    statistics are correlated, and power is the exact joint probability.

    Parameters
    ----------
    hypothesis, estimand : str
        Name and description in words.
    components : tuple of TestStatistic
        One-sided statistics, each at the same level, usually sharing ``df``
        (each has its own Satterthwaite df in group-delivered designs).
    correlation : numpy.ndarray
        Correlation matrix of the components' estimates.
    method : str
        How the joint power is computed.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -5,
    ...                      ("a0", "b1"): -4, ("a1", "b1"): -8}, sd=8.0), n_per_cell=116)
    >>> combo = d.statistics("combination")[0]
    >>> [c.effect for c in combo.components], round(float(combo.correlation[0, 1]), 12)
    ([-4.0, -3.0], 0.5)
    """

    hypothesis: str
    estimand: str
    components: tuple[TestStatistic, ...]
    correlation: np.ndarray = field(repr=False)
    method: str = ""

    def __post_init__(self) -> None:
        corr = np.array(self.correlation, dtype=float)
        corr.setflags(write=False)
        object.__setattr__(self, "correlation", corr)

    def __repr__(self) -> str:
        """One line: the hypothesis and its component tests.

        Examples
        --------
        >>> parts = [TestStatistic(hypothesis=f"c[{k}]", estimand="", effect=e, se=1.05,
        ...                        df=460.0, sided=1, alpha=0.025, favourable=-1)
        ...          for k, e in ((1, -4.0), (2, -3.0))]
        >>> IntersectionUnion(hypothesis="combination", estimand="", components=tuple(parts),
        ...                   correlation=np.array([[1.0, 0.5], [0.5, 1.0]]))
        ... # doctest: +NORMALIZE_WHITESPACE
        IntersectionUnion('combination': all of 2 one-sided tests at alpha 0.025, effects -4, -3,
        se 1.05, 1.05, correlation 0.5, df 460)
        """
        first = self.components[0]
        corr = self.correlation[np.triu_indices_from(self.correlation, k=1)]
        return (
            f"IntersectionUnion({self.hypothesis!r}: all of {len(self.components)} one-sided "
            f"tests at alpha {first.alpha / first.sided:g}, effects "
            + ", ".join(f"{c.effect:.4g}" for c in self.components)
            + ", se "
            + ", ".join(f"{c.se:.3g}" for c in self.components)
            + ", correlation "
            + ", ".join(f"{r:.3g}" for r in corr)
            + f", df {self.df:.4g})"
        )

    @property
    def weakest(self) -> TestStatistic:
        """The component with the smallest favourable noncentrality."""
        return min(self.components, key=lambda s: s.favourable * s.noncentrality)

    @property
    def df(self) -> float:
        """Degrees of freedom of the components: shared, or the smallest when they differ.

        They differ only with per-contrast (Satterthwaite) df, i.e. when some
        cells are delivered in therapy groups (:class:`trialplan.Clustering`).
        """
        return min(s.df for s in self.components)


Statistic = TestStatistic | IntersectionUnion


def _direction(favourable: int) -> str:
    return "larger is better" if favourable == 1 else "smaller is better"


def contrast_covariance(contrasts: Any, variances: Any) -> np.ndarray:
    """Covariance ``C diag(v) C'`` of contrasts of independent cell estimates.

    Examples
    --------
    >>> contrast_covariance([[1, -1]], [0.5, 0.25]).tolist()
    [[0.75]]
    """
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    return (contrasts * np.asarray(variances, dtype=float)) @ contrasts.T


def therapy_groups(sizes: Any, clustered: Any, group_size: float) -> np.ndarray:
    """Therapy groups per cell, ``ceil(n_j / m)`` in clustered cells (0 elsewhere).

    Examples
    --------
    >>> therapy_groups([20, 20], [False, True], 8.0).tolist()
    [0, 3]
    """
    n = np.asarray(sizes, dtype=float)
    mask = np.asarray(clustered, dtype=bool)
    # round() first: 16 / 8.000000001 must count 2 groups, not 3
    return np.where(mask, np.ceil(np.round(n / group_size, 9)), 0).astype(int)


@dataclass(frozen=True, kw_only=True)
class DfRule:
    """How the residual degrees of freedom follow the cell sizes.

    Parameters
    ----------
    subtract : float or None, default None
        ``df = N - subtract`` for the total ``N`` of the cell sizes (the cells
        and covariates a pooled residual variance spends).  ``None`` for
        large-sample (Wald, z) statistics: ``df = inf`` at every size.
    covariate_subtract : float or None, default None
        ANCOVA on one normal baseline: the baseline's within-cell degrees of
        freedom are ``m = N - covariate_subtract`` (see
        :attr:`TestStatistic.covariate_df`); ``None`` without a covariate.
    clustered : tuple of bool, default ()
        Cells delivered in therapy groups (the partially nested design of
        :class:`trialplan.Clustering`): their variance is estimated by the
        between-group mean square with ``G_c - J_c`` df (``g_j = ceil(n_j / m)``
        groups per clustered cell), the other cells' by the within-cell one.
    group_size : float, default 1.0
        Participants per therapy group, ``m``.

    Examples
    --------
    >>> rule = DfRule(subtract=4)                   # 2x2 cells, no covariate
    >>> rule.at([20, 20, 20, 20])[0]
    76.0
    >>> DfRule().at([20, 20])[0]
    inf
    """

    subtract: float | None = None
    covariate_subtract: float | None = None
    clustered: tuple[bool, ...] = ()
    group_size: float = 1.0

    def at(self, sizes: Any) -> tuple[float, float | None, np.ndarray | None, tuple[float, ...]]:
        """Degrees of freedom at ``sizes``.

        Returns
        -------
        (df, covariate_df, part_of_cell, part_df)
            ``part_of_cell`` (each cell's mean square) and ``part_df`` (their
            df) describe the partially nested analysis; ``None`` and ``()``
            with one pooled residual variance.

        Raises
        ------
        ValueError
            When a clustered cell leaves fewer than two therapy groups in all
            (no between-group variance can be estimated).
        """
        n = np.asarray(sizes, dtype=float)
        total = float(n.sum())
        if self.subtract is None:
            return math.inf, None, None, ()
        df = total - self.subtract
        covariate_df = None if self.covariate_subtract is None else total - self.covariate_subtract
        mask = np.asarray(self.clustered, dtype=bool)
        if not mask.any():
            return df, covariate_df, None, ()
        groups = therapy_groups(n, mask, self.group_size)
        lost = float(np.sum(n[mask] - groups[mask]))
        between = float(groups[mask].sum() - mask.sum())  # G_c - J_c
        if between < 1:
            raise ValueError(
                f"the clustered cells hold {groups[mask].tolist()} therapy group(s) of "
                f"group_size={self.group_size:g}, too few to estimate the between-group "
                "variance; allowed: at least two groups in a clustered cell"
            )
        df -= lost
        return df, covariate_df, np.where(mask, 0, 1), (between, df - between)


@runtime_checkable
class SupportsStatistics(Protocol):
    """Anything that reduces named hypotheses to a :class:`StatisticFamily` (every design)."""

    def statistics(self, hypotheses: Any = None) -> StatisticFamily:
        """The family of the named hypotheses (the defaults when None)."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True, kw_only=True, eq=False)
class StatisticFamily(Sequence[Statistic]):
    """The statistics of several hypotheses, their correlation, and how they scale.

    This is the only thing engines (power and sample size, group-sequential,
    multiplicity, Dunnett, assurance) see of a design.  Every hypothesis is
    one or more linear contrasts of a vector of estimates (cell means, log
    odds, log hazards, SMART arm and regime means) with known covariance.
    The estimates are grouped into *cells*, the units that participants are
    allocated to, and all the covariance of an estimate comes from the
    participants of its own cell: at cell sizes ``n`` the covariance of two
    estimates of cell ``j`` is ``U / n_j`` (``U`` per participant, design
    effects of group delivery included), and estimates of different cells are
    independent.  So :meth:`at` gives the family at any other sizes by
    rescaling, and :meth:`scaled` at ``k`` times the allocation ``ratios``
    (the integer multiplier of the sample-size search), without the design.
    Degrees of freedom follow :class:`DfRule`.

    A family is a sequence of the canonical statistics
    (:class:`TestStatistic` or :class:`IntersectionUnion`), in the order of
    ``hypotheses``; it can also be indexed by name.

    Parameters
    ----------
    hypotheses : tuple of str
        Names of the hypotheses.
    estimands : tuple of str
        Each hypothesis's estimand in words.
    contrasts : tuple of numpy.ndarray
        Each hypothesis's contrast weights over the estimates, shape
        ``(rows, estimates)``: one row for a single test at the family's
        sidedness, several for an intersection-union test (every row
        one-sided in the favourable direction at ``alpha / sided``).
    estimates : numpy.ndarray
        The estimates' true values at the planning values, on the analysis
        scale.
    covariance : numpy.ndarray
        Covariance of the estimates at the current sizes.
    cell_of : numpy.ndarray
        Index of the cell each estimate belongs to.
    ratios : numpy.ndarray
        Allocation per unit of multiplier: cell sizes are
        ``multiplier * ratios`` (cell designs: the integer allocation ratios;
        a SMART: the stage-1 randomization probabilities, the multiplier
        being the total size).
    multiplier : float
        The current multiplier.
    df_rule : DfRule
        Residual degrees of freedom as a function of the cell sizes.
    alpha : float
        Significance level (the two-sided total when ``sided=2``).
    sided : {1, 2}
        Sidedness of the single tests.
    favourable : {1, -1}
        Direction of benefit.
    method : str
        How power is computed, naming any approximation.
    scale : str
        The analysis scale in words.
    methods : tuple of str or None, optional
        Per hypothesis, a method replacing ``method`` (``None``: ``method``).
    cells : tuple, optional
        Cell labels, for messages.
    min_multiplier : int, default 1
        Smallest multiplier the design accepts (before degrees of freedom).
    many_to_one : tuple of str, optional
        The comparisons of every arm with a control, when the design has one
        (the default family of :class:`trialplan.Dunnett`).
    unit : str, default "allocation multiplier"
        What the multiplier is, in words (``"n_total"`` for a SMART).
    notes : tuple of str, optional
        Remarks carried from the outcome model.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> family = d.statistics(["A", "A:B"])
    >>> family["A:B"].effect, round(family["A:B"].se, 4), family.df
    (1.0, 0.8944, 76.0)
    >>> bigger = family.scaled(80)                 # 80 per cell, the design untouched
    >>> round(bigger["A:B"].se, 4), bigger.df, bigger.n_total
    (0.4472, 316.0, 320.0)
    """

    __test__ = False

    hypotheses: tuple[str, ...]
    estimands: tuple[str, ...]
    contrasts: tuple[np.ndarray, ...] = field(repr=False)
    estimates: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    cell_of: np.ndarray = field(repr=False)
    ratios: np.ndarray
    multiplier: float
    df_rule: DfRule
    alpha: float
    sided: int
    favourable: int
    method: str
    scale: str
    methods: tuple[str | None, ...] = ()
    cells: tuple[Any, ...] = ()
    min_multiplier: int = 1
    many_to_one: tuple[str, ...] = ()
    unit: str = "allocation multiplier"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = tuple(self.hypotheses)
        if len(set(names)) != len(names):
            raise ValueError(f"hypotheses must be distinct; got {list(names)}")
        set_ = object.__setattr__
        set_(self, "hypotheses", names)
        set_(self, "estimands", tuple(self.estimands))
        est = _frozen(self.estimates)
        m = est.size
        contrasts = tuple(
            _frozen(c if type(c) is np.ndarray and c.ndim == 2 else np.atleast_2d(c))
            for c in self.contrasts
        )
        for name, rows in zip(names, contrasts, strict=True):
            if rows.shape[1] != m:
                raise ValueError(
                    f"the contrast of {name!r} has {rows.shape[1]} weights; the family "
                    f"has {m} estimates"
                )
        set_(self, "contrasts", contrasts)
        set_(self, "estimates", est)
        set_(self, "covariance", _frozen(self.covariance))
        cell_of = np.array(self.cell_of, dtype=int)
        cell_of.setflags(write=False)
        set_(self, "cell_of", cell_of)
        set_(self, "ratios", _frozen(self.ratios))
        set_(self, "multiplier", float(self.multiplier))
        methods = tuple(self.methods) or (None,) * len(names)
        if len(methods) != len(names):
            raise ValueError("methods must hold one entry per hypothesis")
        set_(self, "methods", methods)
        if len(self.estimands) != len(names):
            raise ValueError("estimands must hold one entry per hypothesis")

    # ------------------------------------------------------------ sequence
    def __len__(self) -> int:
        return len(self.hypotheses)

    @overload
    def __getitem__(self, key: int | str) -> Statistic: ...

    @overload
    def __getitem__(self, key: slice) -> tuple[Statistic, ...]: ...

    def __getitem__(self, key: int | str | slice) -> Statistic | tuple[Statistic, ...]:
        if isinstance(key, str):
            return self.statistics[self.index_of(key)]
        return self.statistics[key]

    def __iter__(self) -> Iterator[Statistic]:
        return iter(self.statistics)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self.hypotheses
        return item in self.statistics

    def __repr__(self) -> str:
        return (
            f"StatisticFamily({list(self.hypotheses)}, sizes={_plain_sizes(self.sizes)}, "
            f"df={self.df:g}, alpha={self.alpha:g}, sided={self.sided})"
        )

    def index_of(self, name: str) -> int:
        """Position of the hypothesis ``name``; a KeyError suggests the closest."""
        try:
            return self.hypotheses.index(name)
        except ValueError:
            raise KeyError(
                f"no hypothesis {name!r} in this family; it has {list(self.hypotheses)}"
                + did_you_mean(name, self.hypotheses)
            ) from None

    # ---------------------------------------------------------- the sizes
    @property
    def sizes(self) -> np.ndarray:
        """Cell sizes, ``multiplier * ratios``."""
        return self.multiplier * self.ratios

    @property
    def n_total(self) -> float:
        """Total of the cell sizes."""
        return float(self.sizes.sum())

    def _df_parts(self) -> tuple[float, float | None, np.ndarray | None, tuple[float, ...]]:
        cached = self.__dict__.get("_parts")
        if cached is None:
            cached = self.df_rule.at(self.sizes)
            self.__dict__["_parts"] = cached
        return cached

    @property
    def df(self) -> float:
        """Residual degrees of freedom at the current sizes (``inf``: large-sample)."""
        return self._df_parts()[0]

    @property
    def covariate_df(self) -> float | None:
        """The baseline covariate's df under ANCOVA, or None."""
        return self._df_parts()[1]

    def at(self, sizes: Any) -> StatisticFamily:
        """The same hypotheses at other cell sizes (one per cell, > 0).

        Raises
        ------
        ValueError
            For sizes of the wrong length or not positive.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("c", "t"), n_per_arm=50,
        ...                 outcome=tp.Continuous(means={"c": 0.0, "t": -3.0}, sd=8.0))
        >>> fam = d.statistics().at([50, 100])
        >>> round(fam[0].se, 4), fam.df                  # 8 sqrt(1/50 + 1/100)
        (1.3856, 148.0)
        """
        new = np.asarray(sizes, dtype=float)
        if new.shape != self.ratios.shape or not np.all(np.isfinite(new)) or np.any(new <= 0):
            raise ValueError(
                f"sizes must be {self.ratios.size} finite numbers > 0, one per cell; "
                f"got sizes={np.asarray(sizes).tolist()!r}"
            )
        return self._rescaled(new, ratios=new, multiplier=1.0)

    def scaled(self, multiplier: float) -> StatisticFamily:
        """The family at ``multiplier * ratios`` (the sample-size search's step).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("c", "t"), n_per_arm=50,
        ...                 outcome=tp.Continuous(means={"c": 0.0, "t": -3.0}, sd=8.0))
        >>> d.statistics().scaled(200).sizes.tolist()
        [200.0, 200.0]
        """
        k = float(multiplier)
        if not (math.isfinite(k) and k > 0):
            raise ValueError(f"multiplier must be a finite number > 0; got {multiplier!r}")
        return self._rescaled(k * self.ratios, ratios=self.ratios, multiplier=k)

    def _rescaled(self, sizes: np.ndarray, *, ratios: np.ndarray, multiplier: float) -> Any:
        factor = self.sizes / sizes  # variance scales as 1 / n
        root = np.sqrt(factor[self.cell_of])
        covariance = self.covariance * np.outer(root, root)
        family = replace(self, covariance=covariance, ratios=ratios, multiplier=multiplier)
        return family

    def valid_at(self, multiplier: float) -> bool:
        """Whether the analysis has residual degrees of freedom at this multiplier."""
        if multiplier < self.min_multiplier:
            return False
        try:
            df = self.df_rule.at(multiplier * self.ratios)[0]
        except ValueError:
            return False
        return bool(df >= 1)

    def smallest_multiplier(self) -> int:
        """Smallest integer multiplier (at least ``min_multiplier``) the analysis allows."""
        k = max(1, int(self.min_multiplier))
        while not self.valid_at(k):
            k += 1
        return k

    # ------------------------------------------------------ hypotheses
    def select(self, names: Sequence[str]) -> StatisticFamily:
        """The sub-family of the named hypotheses, in the order given.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("c", "a", "b"), n_per_arm=10,
        ...                 outcome=tp.Continuous(means={"c": 0, "a": 1, "b": 2}, sd=1.0))
        >>> d.statistics().select(["b vs c"]).hypotheses
        ('b vs c',)
        """
        idx = [self.index_of(n) for n in names]
        return replace(
            self,
            hypotheses=tuple(self.hypotheses[i] for i in idx),
            estimands=tuple(self.estimands[i] for i in idx),
            contrasts=tuple(self.contrasts[i] for i in idx),
            methods=tuple(self.methods[i] for i in idx),
        )

    def is_intersection_union(self, name: str) -> bool:
        """True when hypothesis ``name`` is an intersection-union (min) test."""
        return self.contrasts[self.index_of(name)].shape[0] > 1

    def contrast_covariance(self, rows: Any) -> np.ndarray:
        """Covariance ``C Sigma C'`` of contrasts of the estimates (rows of ``C``)."""
        c = np.atleast_2d(np.asarray(rows, dtype=float))
        variances = self._variances
        if variances is not None:
            return (c * variances) @ c.T
        return c @ self.covariance @ c.T

    @property
    def _variances(self) -> np.ndarray | None:
        """The diagonal of ``covariance`` when it is diagonal, else None (cached)."""
        cached = self.__dict__.get("_variances_", False)
        if cached is False:
            cov = self.covariance
            variances = np.diag(cov)
            cached = variances if np.count_nonzero(cov - np.diag(variances)) == 0 else None
            self.__dict__["_variances_"] = cached
        return cached

    def contrast_df(self, weights: Any) -> float:
        """Degrees of freedom of the t statistic of one contrast.

        ``df`` with one pooled residual variance; with group delivery the
        contrast's variance mixes two mean squares and its df is
        Satterthwaite's (1946) ``V^2 / sum_k (V_k^2 / df_k)`` over the parts
        it uses, at the current sizes.

        Raises
        ------
        ValueError
            If the contrast uses a mean square with fewer than 1 df.
        """
        df, _, part_of_cell, part_df = self._df_parts()
        if part_of_cell is None or math.isinf(df):
            return df
        w = np.asarray(weights, dtype=float)
        parts = np.bincount(
            np.asarray(part_of_cell)[self.cell_of],
            weights=w**2 * np.diag(self.covariance),
            minlength=len(part_df),
        )
        dfs = np.asarray(part_df, dtype=float)
        used = parts > 0
        if not used.any():
            return df
        if np.any(dfs[used] < 1):
            raise ValueError(
                f"a contrast uses a variance estimate with {dfs[used].min():g} "
                "degrees of freedom; allowed: >= 1 (with group delivery: at "
                "least two therapy groups in a clustered cell)"
            )
        return float(parts.sum() ** 2 / np.sum(parts[used] ** 2 / dfs[used]))

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        """The canonical statistic of every hypothesis at the current sizes."""
        cached = self.__dict__.get("_statistics")
        if cached is None:
            # One product per hypothesis, not one for all: a stacked product sums in
            # another order and changed effects in their last bits.
            estimates, variances = self.estimates, self._variances
            make = TestStatistic._checked if self._checked_levels else TestStatistic
            cached = tuple(
                self._statistic(
                    i,
                    rows @ estimates,
                    (rows * variances) @ rows.T
                    if variances is not None
                    else rows @ self.covariance @ rows.T,
                    make,
                )
                for i, rows in enumerate(self.contrasts)
            )
            self.__dict__["_statistics"] = cached
        return cached

    @property
    def _checked_levels(self) -> bool:
        """Whether alpha, sidedness and direction surely pass TestStatistic's checks."""
        # A plain subset of what TestStatistic accepts (anything else takes the
        # constructor's checks): a float alpha in (0, 1), sided 1 or 2, direction +-1.
        alpha, sided, favourable = self.alpha, self.sided, self.favourable
        return (
            type(alpha) is float
            and 0.0 < alpha < 1.0
            and type(sided) is int
            and sided in (1, 2)
            and type(favourable) is int
            and favourable in (1, -1)
        )

    def _statistic(
        self, i: int, effects: np.ndarray, cov: np.ndarray, make: Callable[..., TestStatistic]
    ) -> Statistic:
        """Hypothesis ``i``'s statistic, given its contrasts' effects and covariance.

        ``make`` builds the single statistics: ``TestStatistic`` itself, or (the
        family's levels being checked once) ``TestStatistic._checked``, which skips
        the per-statistic checks of alpha, sidedness and direction; statistics are
        built for every new design and every step of a search.
        """
        name, estimand, rows = self.hypotheses[i], self.estimands[i], self.contrasts[i]
        method = self.methods[i] or self.method
        df, covariate_df, part_of_cell, _ = self._df_parts()
        if rows.shape[0] == 1:
            variance = float(cov[0, 0])
            return make(
                hypothesis=name,
                estimand=estimand,
                effect=float(effects[0]),
                # math.sqrt rounds as np.sqrt does (IEEE); a negative variance is NaN
                # for the constructor to reject, as before.
                se=math.sqrt(variance) if variance >= 0 else math.nan,
                # contrast_df is df itself with one pooled variance (or large samples)
                df=df if part_of_cell is None or math.isinf(df) else self.contrast_df(rows[0]),
                sided=self.sided,
                alpha=self.alpha,
                favourable=self.favourable,
                method=method,
                scale=self.scale,
                contrast=tuple(rows[0]),
                covariate_df=covariate_df,
            )
        ses = np.sqrt(np.diag(cov))
        level = self.alpha / self.sided
        # Each component keeps its own df (they differ only with per-contrast
        # Satterthwaite df, i.e. group-delivered cells).
        dfs = [self.contrast_df(row) for row in rows]
        if covariate_df is not None:
            # The joint law under baseline imbalance is not a product form; use
            # the expected variance inflation E[1 + F/m] = 1 + 1/(m - 2).
            inflation = 1.0 + 1.0 / (covariate_df - 2.0)
            ses = ses * math.sqrt(inflation) if covariate_df > 2 else ses
            method = "noncentral t, ANCOVA with expected imbalance inflation (approx.)"
        components = tuple(
            make(
                hypothesis=f"{name}[{j + 1}]",
                estimand=estimand,
                effect=float(effects[j]),
                se=float(ses[j]),
                df=dfs[j],
                sided=1,
                alpha=level,
                favourable=self.favourable,
                method=method,
                scale=self.scale,
                contrast=tuple(row),
            )
            for j, row in enumerate(rows)
        )
        corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
        if len(set(dfs)) > 1:
            joint = (
                "Gaussian copula of the components' exact noncentral t powers "
                f"(approx.; their Satterthwaite df differ) ({method})"
            )
        elif covariate_df is not None:
            joint = (
                "multivariate t with the standard errors at their expected ANCOVA "
                "imbalance inflation (approx.)"
            )
        else:
            joint = f"exact multivariate {'normal' if math.isinf(dfs[0]) else 't'} ({method})"
        return IntersectionUnion(
            hypothesis=name,
            estimand=estimand,
            components=components,
            correlation=corr,
            method=f"intersection-union (min) test, {joint}",
        )


def as_family(source: Any, hypotheses: Any = None) -> StatisticFamily:
    """A :class:`StatisticFamily` from a family or from anything with ``statistics()``.

    Engines accept either, and see only the family.

    Raises
    ------
    TypeError
        For anything else.
    """
    if isinstance(source, StatisticFamily):
        if hypotheses is None:
            return source
        names = (hypotheses,) if isinstance(hypotheses, str) else tuple(hypotheses)
        return source.select(names)
    statistics = getattr(source, "statistics", None)
    if callable(statistics):
        family = statistics(hypotheses)
        if isinstance(family, StatisticFamily):
            return family
    raise TypeError(
        "expected a StatisticFamily (design.statistics(...)) or a trialplan design; got "
        f"{type(source).__name__} {source!r:.80}"
    )


def _frozen(values: Any) -> np.ndarray:
    """A read-only float array of ``values``: a copy, unless it already is one.

    An array that owns its data and is read-only (a family's own arrays when a
    family is rescaled or selected, a hypothesis' contrasts) is kept as it is.
    """
    if (
        type(values) is np.ndarray
        and values.dtype == np.float64
        and values.flags.owndata
        and not values.flags.writeable
    ):
        return values
    arr = np.array(values, dtype=float)
    arr.setflags(write=False)
    return arr


def _plain_sizes(sizes: np.ndarray) -> Any:
    values = [int(v) if float(v).is_integer() else round(float(v), 3) for v in sizes]
    return values[0] if len(set(values)) == 1 else values
