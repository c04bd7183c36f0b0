"""The joint law of several hypotheses' statistics (multivariate t or normal).

Every hypothesis of a cell design is a contrast of the same cell estimates (or,
for the intersection-union "combination" test, several one-sided contrasts), so
their statistics are jointly (noncentral) multivariate t: the contrasts give
the correlation ``R_ik = c_i'Dc_k / sqrt(c_i'Dc_i c_k'Dc_k)`` and every t
statistic shares one variance estimate.  :class:`JointStatistics` holds that
law, draws from it and integrates rectangles of it; the procedures turn it into
power after the procedure.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from trialplan._linalg import psd_cholesky
from trialplan.power import (
    product_loadings,
    rectangle_probability,
)
from trialplan.statistic import IntersectionUnion, StatisticFamily, as_family, critical_value

__all__ = [
    "EXACT_MAX_INTEGRALS",
    "EXACT_WARN_INTEGRALS",
    "ExpensiveComputationWarning",
    "JointStatistics",
]

#: Exact power by multivariate integration sums one integral per tail combination
#: of the two-sided tests involved (2^m for m two-sided hypotheses, more with the
#: inclusion-exclusion of an intersection-union test).  When the correlation has no
#: product form each integral is a randomized quasi-Monte Carlo integration of
#: about 0.1-0.5 s, so the cost doubles with every hypothesis (Hochberg's power to
#: reject all of 5 two-sided hypotheses took 6 s, of 7 took 42 s, of 10 over 240 s).
#: Above this many such integrals trialplan warns (and shows progress, with tqdm) ...
EXACT_WARN_INTEGRALS = 32
#: ... and above this many it refuses, naming the alternative: method="simulation".
EXACT_MAX_INTEGRALS = 512


class ExpensiveComputationWarning(UserWarning):
    """An exact computation whose cost grows exponentially with the family is large."""


@dataclass(frozen=True, kw_only=True)
class JointStatistics:
    """Joint law of several hypotheses' statistics at the planned sample size.

    The elementary statistics are contrasts of the cell estimates: one per
    single-contrast hypothesis, one per component of an intersection-union
    hypothesis (identical contrasts are merged).  ``T_i = (Z_i + delta_i) / U``
    with ``Z ~ N(0, R)`` and ``U = S / sigma ~ sqrt(chi2_df / df)`` shared by
    all (``U = 1`` when ``df`` is infinite): a noncentral ("shifted")
    multivariate t (Genz & Bretz 2009).

    Build it with :meth:`from_design`.

    Attributes
    ----------
    hypotheses : tuple of str
        Hypothesis names, in the family's order.
    statistics : tuple of TestStatistic or IntersectionUnion
        The canonical statistic of each hypothesis.
    members : tuple of tuple of int
        Indices of each hypothesis's elementary statistics.
    noncentrality : numpy.ndarray
        ``delta_i = effect_i / se_i`` of the elementary statistics (signed).
    favourable : numpy.ndarray
        +1 or -1 per elementary statistic (the direction of benefit).
    correlation : numpy.ndarray
        Correlation ``R`` of the elementary statistics.
    df : float
        Shared degrees of freedom (``inf``: multivariate normal).
    alpha : float
        The design's significance level.
    sided : int
        The design's sidedness.
    note : str
        Approximations made, if any (empty when the law is exact).
    """

    hypotheses: tuple[str, ...]
    statistics: tuple[Any, ...] = field(repr=False)
    members: tuple[tuple[int, ...], ...]
    noncentrality: np.ndarray = field(repr=False)
    favourable: np.ndarray = field(repr=False)
    correlation: np.ndarray = field(repr=False)
    df: float
    alpha: float
    sided: int
    note: str = ""

    @classmethod
    def from_family(cls, family: StatisticFamily) -> JointStatistics:
        """Joint law of the hypotheses of a statistic family at its sizes.

        Parameters
        ----------
        family : StatisticFamily
            ``design.statistics(hypotheses)``.

        Returns
        -------
        JointStatistics

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...     outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
        ...         ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=50)
        >>> j = JointStatistics.from_family(d.statistics(["A", "combination"]))
        >>> j.members, j.correlation.round(3).tolist()
        (((0,), (1, 2)), [[1.0, 0.707, 0.0], [0.707, 1.0, 0.5], [0.0, 0.5, 1.0]])
        """
        stats_ = tuple(family)
        contrasts: list[tuple[float, ...]] = []
        deltas: list[float] = []
        favourable: list[int] = []
        members: list[tuple[int, ...]] = []
        note = ""
        for stat, rows in zip(stats_, family.contrasts, strict=True):
            comps = stat.components if isinstance(stat, IntersectionUnion) else (stat,)
            idx = []
            for comp, row in zip(comps, rows, strict=True):
                delta = comp.noncentrality
                if comp.covariate_df is not None and comp.covariate_df > 2:
                    delta /= math.sqrt(1.0 + 1.0 / (comp.covariate_df - 2.0))
                    note = (
                        "ANCOVA: baseline imbalance taken as its expected variance "
                        "inflation 1 + 1/(m - 2) (approx.)"
                    )
                key = tuple(np.round(row, 12))
                if key in contrasts:
                    idx.append(contrasts.index(key))
                    continue
                contrasts.append(key)
                deltas.append(delta)
                favourable.append(int(comp.favourable))
                idx.append(len(contrasts) - 1)
            members.append(tuple(idx))
        cov = family.contrast_covariance(np.array(contrasts))
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        dfs = {float(s.df) for s in stats_}
        if len(dfs) != 1:
            raise ValueError(
                f"hypotheses {family.hypotheses} have different degrees of freedom {dfs}; "
                "their joint law is not one multivariate t"
            )
        return cls(
            hypotheses=family.hypotheses,
            statistics=stats_,
            members=tuple(members),
            noncentrality=np.array(deltas),
            favourable=np.array(favourable),
            correlation=corr,
            df=dfs.pop(),
            alpha=float(family.alpha),
            sided=int(family.sided),
            note=note,
        )

    @classmethod
    def from_design(cls, design: Any, hypotheses: Sequence[str]) -> JointStatistics:
        """Joint law of ``hypotheses`` of a design: ``from_family(design.statistics(...))``.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...     outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
        ...         ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=50)
        >>> JointStatistics.from_design(d, ["A", "combination"]).members
        ((0,), (1, 2))
        """
        return cls.from_family(as_family(design, tuple(hypotheses)))

    @property
    def label(self) -> str:
        """``"multivariate t"`` or ``"multivariate normal"``."""
        return "multivariate normal" if math.isinf(self.df) else "multivariate t"

    def kind(self, j: int) -> str:
        """``"iut"``, ``"two-sided"`` or ``"one-sided"`` for hypothesis ``j``."""
        stat = self.statistics[j]
        if isinstance(stat, IntersectionUnion):
            return "iut"
        return "two-sided" if stat.sided == 2 else "one-sided"

    # ------------------------------------------------------------- p-values
    def simulate(self, n_sims: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n_sims`` vectors of the elementary statistics, shape (n_sims, K)."""
        normals = rng.standard_normal((n_sims, self.noncentrality.size))
        uniforms = rng.random(n_sims) if not math.isinf(self.df) else None
        return self.statistics_from(normals, uniforms)

    def statistics_from(self, normals: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        """Elementary statistics from standard normals and uniforms (common random numbers)."""
        z = normals @ psd_cholesky(self.correlation).T + self.noncentrality
        if uniforms is None or math.isinf(self.df):
            return z
        u = np.sqrt(stats.chi2.ppf(uniforms, self.df) / self.df)
        return z / u[:, None]

    def p_values(self, t: np.ndarray) -> np.ndarray:
        """P-values of the hypotheses, shape (R, m), from elementary statistics ``t``.

        Two-sided: ``2 P(T > |t|)``; one-sided: ``P(T > f t)`` with ``f`` the
        favourable sign; intersection-union: ``sided`` times the largest
        one-sided p-value of its components (each component is tested at
        ``alpha / sided``, as in the design's own combination test).
        """
        oriented = t * self.favourable
        one_sided = _upper(oriented, self.df)
        out = np.empty((t.shape[0], len(self.hypotheses)))
        for j, idx in enumerate(self.members):
            kind = self.kind(j)
            if kind == "two-sided":
                out[:, j] = np.minimum(1.0, 2.0 * _upper(np.abs(t[:, idx[0]]), self.df))
            elif kind == "one-sided":
                out[:, j] = one_sided[:, idx[0]]
            else:
                out[:, j] = np.minimum(1.0, self.sided * one_sided[:, list(idx)].max(axis=1))
        return out

    # ------------------------------------------------------- exact integrals
    def prob_all(
        self, subset: Sequence[int], levels: Sequence[float], *, _checked: bool = False
    ) -> float:
        """Exact P(every hypothesis in ``subset`` rejects at its local level).

        Sums rectangle probabilities of the noncentral multivariate t over
        the tails of the two-sided tests (``2^m`` of them for ``m`` two-sided
        hypotheses: see :meth:`check_cost`).
        """
        pieces: list[list[tuple[int, float, float]]] = [[]]
        if not _checked:
            self.check_cost(subset, 2 ** self._two_sided(subset), "all")
        for j, level in zip(subset, levels, strict=True):
            kind = self.kind(j)
            idx = self.members[j]
            if kind == "two-sided":
                c = critical_value(level / 2, self.df)
                pieces = [p + [(idx[0], c, math.inf)] for p in pieces] + [
                    p + [(idx[0], -math.inf, -c)] for p in pieces
                ]
                continue
            c = critical_value(level / (self.sided if kind == "iut" else 1), self.df)
            bounds = []
            for i in idx:
                f = self.favourable[i]
                bounds.append((i, c, math.inf) if f > 0 else (i, -math.inf, -c))
            pieces = [p + bounds for p in pieces]
        return self._rectangles(pieces)

    def prob_any(self, subset: Sequence[int], levels: Sequence[float]) -> float:
        """Exact P(at least one hypothesis in ``subset`` rejects at its local level)."""
        subset = list(subset)
        if not any(self.kind(j) == "iut" for j in subset):
            none: list[tuple[int, float, float]] = []
            for j, level in zip(subset, levels, strict=True):
                i = self.members[j][0]
                if self.kind(j) == "two-sided":
                    c = critical_value(level / 2, self.df)
                    none.append((i, -c, c))
                else:
                    c = critical_value(level, self.df)
                    none.append((i, -math.inf, c) if self.favourable[i] > 0 else (i, -c, math.inf))
            return 1.0 - self._rectangles([none])
        # inclusion-exclusion over the non-empty subsets: prod(1 + 2^two-sided) - 1 integrals
        count = math.prod(2 ** self._two_sided([j]) + 1 for j in subset) - 1
        show = self.check_cost(subset, count, "any")
        total = 0.0
        pairs = list(zip(subset, levels, strict=True))
        combos = [
            combo
            for size in range(1, len(pairs) + 1)
            for combo in itertools.combinations(pairs, size)
        ]
        with _progress(len(combos), show, "inclusion-exclusion terms") as bar:
            for combo in combos:
                js, ls = zip(*combo, strict=True)
                total += (-1) ** (len(combo) + 1) * self.prob_all(js, ls, _checked=True)
                bar.update(1)
        return float(min(1.0, max(0.0, total)))

    def _two_sided(self, subset: Sequence[int]) -> int:
        return sum(self.kind(j) == "two-sided" for j in subset)

    def check_cost(self, subset: Sequence[int], count: int, what: str) -> bool:
        """Warn about, or refuse, an exact computation of ``count`` general integrals.

        Integrals over a correlation with product form (comparisons sharing
        one cell) are one-dimensional quadratures and cheap; others are
        randomized quasi-Monte Carlo integrations whose number grows
        exponentially with the two-sided hypotheses.

        Returns
        -------
        bool
            True when the computation is long enough to show progress.

        Raises
        ------
        ValueError
            Above :data:`EXACT_MAX_INTEGRALS` integrals, naming the
            alternative (``method="simulation"``).
        """
        if count <= EXACT_WARN_INTEGRALS:
            return False
        idx = sorted({i for j in subset for i in self.members[j]})
        if product_loadings(self.correlation[np.ix_(idx, idx)]) is not None:
            return False
        names = [self.hypotheses[j] for j in subset]
        cost = (
            f"the exact probability of rejecting {what} of {names} needs {count} "
            f"multivariate {self.label.split()[-1]} integrations (their number doubles with "
            "every two-sided hypothesis whose correlations with the others have no product "
            "form)"
        )
        if count > EXACT_MAX_INTEGRALS:
            raise ValueError(
                f"{cost}, more than trialplan computes exactly ({EXACT_MAX_INTEGRALS}); "
                "use method='simulation' (simulated joint statistics with Monte Carlo "
                "standard errors), or fewer hypotheses in the family"
            )
        warnings.warn(
            f"{cost}; this may take minutes (above {EXACT_MAX_INTEGRALS} trialplan refuses): "
            "method='simulation' is faster",
            ExpensiveComputationWarning,
            stacklevel=4,
        )
        return True

    def exact_available(self, subset: Sequence[int]) -> bool:
        """True when the elementary statistics of ``subset`` have a non-singular law."""
        idx = sorted({i for j in subset for i in self.members[j]})
        sub = self.correlation[np.ix_(idx, idx)]
        return bool(np.linalg.eigvalsh(sub).min() > 1e-9)

    def _rectangles(self, pieces: Sequence[Sequence[tuple[int, float, float]]]) -> float:
        """Sum over ``pieces`` of P(lower_i < T_i < upper_i for the listed i).

        A piece lists ``(i, lower, upper)``; repeated i intersect, unlisted i
        are unbounded.  The pieces are integrated in batches (with a progress
        bar when there are many general ones).
        """
        idx = sorted({i for piece in pieces for i, _, _ in piece})
        column = {i: n for n, i in enumerate(idx)}
        lower = np.full((len(pieces), len(idx)), -math.inf)
        upper = np.full((len(pieces), len(idx)), math.inf)
        for row, piece in enumerate(pieces):
            for i, lo, hi in piece:
                col = column[i]
                lower[row, col] = max(lower[row, col], lo)
                upper[row, col] = min(upper[row, col], hi)
        corr = self.correlation[np.ix_(idx, idx)]
        general = len(pieces) > EXACT_WARN_INTEGRALS and product_loadings(corr) is None
        step = 8 if general else max(1, len(pieces))
        total = 0.0
        with _progress(len(pieces), general, "multivariate integrals") as bar:
            for start in range(0, len(pieces), step):
                rows = slice(start, start + step)
                probs = rectangle_probability(
                    lower=lower[rows],
                    upper=upper[rows],
                    noncentrality=self.noncentrality[idx],
                    correlation=corr,
                    df=self.df,
                )
                total += float(np.sum(probs))
                bar.update(lower[rows].shape[0])
        return total


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int) -> None:
        """Do nothing."""


def _progress(total: int, show: bool, unit: str) -> Any:
    """A tqdm progress bar when ``show`` and tqdm is installed; else a no-op."""
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm  # optional dependency (trialplan[progress])
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit=" " + unit, desc="exact power", leave=False)


def _upper(x: np.ndarray, df: float) -> np.ndarray:
    """P(T > x) for central t(df), or the normal when df is infinite."""
    if math.isinf(df):
        return special.ndtr(-x)
    return special.stdtr(df, -x)
