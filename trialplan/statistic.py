"""The canonical test statistic every engine works on.

A design reduces each hypothesis to an effect (theta), its standard error at the
planned sample size, degrees of freedom (``math.inf`` for large-sample tests),
sidedness and the direction a favourable effect takes.  Power, sample size,
multiplicity, group-sequential and simulation engines consume these objects
only, so a new outcome type gets every engine by producing them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from trialplan._validation import check_open_unit, check_sided

__all__ = ["IntersectionUnion", "TestStatistic", "critical_value"]


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

    @property
    def noncentrality(self) -> float:
        """Effect over standard error, ``theta / se``."""
        return self.effect / self.se

    @property
    def critical_value(self) -> float:
        """Critical value of the test on the t (or z) scale."""
        return critical_value(self.alpha / self.sided, self.df)


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
