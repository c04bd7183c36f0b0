"""Several hypotheses at once: joint law, multiple-testing procedures, joint power.

Every hypothesis of a cell design is a contrast of the same cell estimates (or,
for the intersection-union "combination" test, several one-sided contrasts), so
their statistics are jointly (noncentral) multivariate t: the contrasts give
the correlation ``R_ik = c_i'Dc_k / sqrt(c_i'Dc_i c_k'Dc_k)`` and every t
statistic shares one variance estimate.  :class:`JointStatistics` holds that
law; the procedures below turn it into per-hypothesis power after the
procedure, and the power to reject *any* and *all* of the family.

Procedures
----------
* :class:`Bonferroni`, :class:`Holm`, :class:`FixedSequence`,
  :class:`Graphical` run on one graphical engine (Bretz et al. 2009):
  hypothesis ``j`` is rejected when ``p_j <= w_j alpha``; its weight then
  moves along the graph's edges and the graph is updated.
* :class:`Gatekeeping` (serial): the families are tested in order, each by
  Holm at the full ``alpha`` on the graphical engine, and a family is tested
  only when every hypothesis of the families before it is rejected
  (Dmitrienko, Offen & Westfall 2003; Dmitrienko & Tamhane 2007).
* :class:`Hochberg`, step-up, separately (it is not a graphical procedure).

Power is exact (multivariate t or normal integration) where the event is a
rectangle of the joint statistics, or a short union of them: Bonferroni per
hypothesis, any and all; Holm's "any" (the same event as Bonferroni's);
Hochberg's "all"; Holm and Hochberg with two hypotheses; every fixed-sequence
quantity.  Everything else is simulated from the exact joint law
(seeded, with Monte Carlo standard errors).  Each row of the result names its
method.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special, stats

from trialplan._linalg import psd_cholesky
from trialplan._seeds import block_seed, normalize_seed
from trialplan._validation import (
    as_sequence,
    check_int,
    check_open_unit,
    check_real,
    did_you_mean,
)
from trialplan.power import (
    SizeSearch,
    normal_guess,
    product_loadings,
    rectangle_probability,
    sample_size_search,
    statistic_power,
)
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.statistic import IntersectionUnion, StatisticFamily, as_family, critical_value

__all__ = [
    "EXACT_WARN_INTEGRALS",
    "EXACT_MAX_INTEGRALS",
    "Bonferroni",
    "ExpensiveComputationWarning",
    "FixedSequence",
    "Gatekeeping",
    "Graphical",
    "Hochberg",
    "Holm",
    "JointStatistics",
    "graphical_test",
    "hochberg_test",
]

#: Default number of simulated trials for quantities without an exact form.
DEFAULT_N_SIMS = 100_000
#: Default seed, so that results are reproducible when no seed is given.
DEFAULT_SEED = 20260101
_BATCH = 25_000
_SUCCESS = ("each", "any", "all")
_TOL = 1e-12
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


# --------------------------------------------------------------------------- engines
def _trials(p_values: Any) -> tuple[np.ndarray, bool]:
    """P-values as an (R, m) array of R trials, and whether one trial's (m,) was given."""
    p = np.asarray(p_values, dtype=float)
    return np.atleast_2d(p), p.ndim == 1


def graphical_test(
    p_values: Any, *, weights: Sequence[float], transitions: Any, alpha: float
) -> np.ndarray:
    """Sequentially rejective graphical test (Bretz et al. 2009, Algorithm 1).

    Hypothesis ``j`` is rejected when ``p_j <= w_j alpha``; then
    ``w_l += w_j g_jl`` and ``g_lk = (g_lk + g_lj g_jk) / (1 - g_lj g_jl)``
    for the hypotheses still in the graph.  The decisions do not depend on the
    order in which rejectable hypotheses are taken (Bretz et al. 2009,
    Theorem 1).  Vectorized over rows of ``p_values``.

    Parameters
    ----------
    p_values : array_like
        Shape (m,) for one trial or (R, m) for R trials.
    weights : sequence of float
        Initial weights ``w`` (>= 0, summing to at most 1).
    transitions : array_like
        (m, m) matrix ``G`` with zero diagonal, rows summing to at most 1.
    alpha : float
        Family-wise error rate.

    Returns
    -------
    numpy.ndarray of bool
        Rejections, the shape of ``p_values``.

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. A graphical approach to
       sequentially rejective multiple test procedures. Stat Med
       2009;28:586-604.

    Examples
    --------
    Holm for two hypotheses is the graph with weights 1/2 and edges of 1:

    >>> graphical_test([0.01, 0.04], weights=[0.5, 0.5],
    ...                transitions=[[0, 1], [1, 0]], alpha=0.05).tolist()
    [True, True]
    """
    alpha = check_open_unit("alpha", alpha)
    p, single = _trials(p_values)
    m = p.shape[1]
    w0, g0 = _check_graph(weights, transitions, m)
    n_rows = p.shape[0]
    w = np.tile(w0, (n_rows, 1))
    g = np.tile(g0, (n_rows, 1, 1))
    rejected = np.zeros((n_rows, m), dtype=bool)
    rows = np.arange(n_rows)
    for _ in range(m):
        candidate = ~rejected & (p <= w * alpha * (1 + _TOL)) & (w > 0)
        todo = candidate.any(axis=1)
        if not todo.any():
            break
        r = rows[todo]
        j = candidate[r].argmax(axis=1)
        wj = w[r, j][:, None]
        gj = g[r, j, :]  # edges out of j
        g_in = g[r, :, j]  # edges into j
        w[r] = w[r] + wj * gj
        w[r, j] = 0.0
        old = g[r]
        num = old + g_in[:, :, None] * gj[:, None, :]
        den = 1.0 - g_in * gj  # 1 - g_lj g_jl, one per source l
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(den[:, :, None] > _TOL, num / den[:, :, None], 0.0)
        new[:, np.arange(m), np.arange(m)] = 0.0
        new[np.arange(len(r)), j, :] = 0.0
        new[np.arange(len(r)), :, j] = 0.0
        g[r] = new
        rejected[r, j] = True
    return rejected[0] if single else rejected


def hochberg_test(p_values: Any, *, alpha: float) -> np.ndarray:
    """Hochberg's step-up test on p-values.

    Reject ``H_(1), ..., H_(i)`` for the largest ``i`` with
    ``p_(i) <= alpha / (m - i + 1)``.

    Valid under independence and positive dependence of the test statistics
    (Sarkar 1998); two-sided tests of correlated contrasts may fall outside
    that, where Holm is the safe choice.  Vectorized over rows.

    Parameters
    ----------
    p_values : array_like
        Shape (m,) or (R, m).
    alpha : float
        Family-wise error rate.

    Returns
    -------
    numpy.ndarray of bool
        Rejections, the shape of ``p_values``.

    References
    ----------
    .. [1] Hochberg Y. A sharper Bonferroni procedure for multiple tests of
       significance. Biometrika 1988;75:800-802.

    Examples
    --------
    Holm rejects nothing here (0.04 > 0.05/2); Hochberg rejects both:

    >>> hochberg_test([0.04, 0.045], alpha=0.05).tolist()
    [True, True]
    """
    alpha = check_open_unit("alpha", alpha)
    p, single = _trials(p_values)
    m = p.shape[1]
    ordered = np.sort(p, axis=1)  # p_(1) <= ... <= p_(m)
    bounds = alpha / (m - np.arange(m))  # alpha / (m - i + 1), i = 1..m
    ok = ordered <= bounds * (1 + _TOL)
    # largest i with p_(i) <= bound; reject every p <= p_(i)
    any_ok = ok.any(axis=1)
    last = m - 1 - np.argmax(ok[:, ::-1], axis=1)
    cutoff = np.where(any_ok, ordered[np.arange(p.shape[0]), last], -np.inf)
    rejected = p <= cutoff[:, None]
    return rejected[0] if single else rejected


def _float_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, or a TypeError naming ``name`` (not numpy's message)."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be numbers, not a string; got {name}={value!r}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers; got {name}={value!r}") from None


def _check_graph(weights: Any, transitions: Any, m: int) -> tuple[np.ndarray, np.ndarray]:
    w = _float_array("weights", weights)
    g = _float_array("transitions", transitions)
    if w.shape != (m,):
        raise ValueError(
            f"weights must have one entry per hypothesis ({m}); got weights={weights!r}"
        )
    if g.shape != (m, m):
        raise ValueError(f"transitions must be an {m} x {m} matrix; got shape {g.shape}")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and 0 < w.sum() <= 1 + 1e-9):
        raise ValueError(
            "weights must be >= 0, not all 0 (that rejects nothing), and sum to "
            f"at most 1; got weights={weights!r}"
        )
    if not (np.all(np.isfinite(g)) and np.all(g >= 0) and np.all(g.sum(axis=1) <= 1 + 1e-9)):
        raise ValueError(
            "transitions must be >= 0 with every row summing to at most 1; got "
            f"transitions={g.tolist()!r}"
        )
    if np.any(np.diag(g) != 0):
        raise ValueError(
            "transitions must have a zero diagonal (no edge from a hypothesis to "
            f"itself); got diagonal {np.diag(g).tolist()!r}"
        )
    return w, g


# ------------------------------------------------------------------- joint law
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


# ------------------------------------------------------------------ procedures
def _check_names(name: str, hypotheses: Any) -> tuple[str, ...]:
    hypotheses = as_sequence(hypotheses)
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError(
            f"{name} must be a list of hypothesis names, e.g. ['rTMS', 'MBI']; "
            f"got {name}={hypotheses!r}"
        )
    names = tuple(hypotheses)
    if not names:
        raise ValueError(f"{name} must name at least one hypothesis; got {name}={hypotheses!r}")
    for h in names:
        if not isinstance(h, str) or not h.strip():
            raise TypeError(f"{name} must contain hypothesis names (strings); got {h!r}")
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise ValueError(f"{name} names {dup} more than once; each hypothesis appears once")
    return names


def _check_seed(seed: Any) -> None:
    """Validate a procedure's seed without drawing from a Generator."""
    if not isinstance(seed, np.random.Generator):
        normalize_seed(seed)


def _fixed_seed(seed: Any) -> Any:
    """A value that gives the same draws every time it is used (common random numbers).

    The library's one normalizer records it: a Generator is asked once for
    entropy; a SeedSequence is kept and copied on each use, so its spawn
    counter does not advance; None is :data:`DEFAULT_SEED`.
    """
    return normalize_seed(seed, default=DEFAULT_SEED)[1]


@dataclass(frozen=True, kw_only=True)
class _Procedure:
    """Shared machinery: validation, exact and simulated power, sample size."""

    hypotheses: tuple[str, ...]
    success: str = "each"
    n_sims: int = DEFAULT_N_SIMS
    seed: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hypotheses", _check_names("hypotheses", self.hypotheses))
        if self.success not in _SUCCESS:
            raise ValueError(
                f"success={self.success!r} is not allowed; choose one of "
                f"{_SUCCESS} ('each': every hypothesis in sample_size's "
                "hypothesis= reaches the power; 'any'/'all': at least one/all "
                "of them are rejected)" + did_you_mean(self.success, _SUCCESS)
            )
        object.__setattr__(self, "n_sims", check_int("n_sims", self.n_sims, minimum=100))
        _check_seed(self.seed)

    def _set_fields(self, **fields: Any) -> None:
        """Store what a hand-written ``__init__`` received, then validate it as dataclasses do."""
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    # --------------------------------------------------------- to implement
    name = "procedure"

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:  # pragma: no cover
        """Rejections (bool, the shape of ``p_values``) at family-wise level ``alpha``."""
        raise NotImplementedError

    def initial_levels(self, alpha: float) -> np.ndarray:  # pragma: no cover
        """Local level of each hypothesis when first tested (for reporting)."""
        raise NotImplementedError

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        """Exact probability of ``what`` ("reject", "any", "all") over ``subset``."""
        return None

    def describe(self) -> str:
        """The procedure in words."""
        return f"{self.name} over {', '.join(self.hypotheses)}"

    # --------------------------------------------------------------- public
    def test(
        self, p_values: Mapping[str, float] | Sequence[float], *, alpha: float = 0.05
    ) -> dict[str, bool]:
        """Decisions for one trial's p-values.

        Parameters
        ----------
        p_values : mapping or sequence
            ``{hypothesis: p}`` for every hypothesis of the family, or the
            p-values in the family's order.
        alpha : float, default 0.05
            Family-wise error rate.

        Returns
        -------
        dict
            ``{hypothesis: rejected}``.
        """
        if isinstance(p_values, Mapping):
            missing = [h for h in self.hypotheses if h not in p_values]
            extra = [h for h in p_values if h not in self.hypotheses]
            if missing or extra:
                raise ValueError(
                    f"p_values must give exactly the hypotheses "
                    f"{list(self.hypotheses)}; missing {missing}, unknown {extra}"
                )
            p = [p_values[h] for h in self.hypotheses]
        else:
            if isinstance(p_values, str | bytes) or not isinstance(p_values, Iterable):
                raise TypeError(
                    "p_values must be a mapping {hypothesis: p-value} or a sequence of "
                    f"p-values; got p_values={p_values!r}"
                )
            p = list(p_values)
            if len(p) != len(self.hypotheses):
                raise ValueError(
                    f"p_values has {len(p)} entries; the family has "
                    f"{len(self.hypotheses)}: {list(self.hypotheses)}"
                )
        for h, value in zip(self.hypotheses, p, strict=True):
            # a number, not text: Holm.test({"a": "0.01"}) used to be accepted
            check_real(f"p_values[{h!r}]", value)
        arr = np.array(p, dtype=float)
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"p_values must lie in [0, 1]; got {p!r}")
        decisions = self.reject(arr, alpha=check_open_unit("alpha", alpha))
        return {h: bool(d) for h, d in zip(self.hypotheses, decisions, strict=True)}

    def family_names(self, requested: Any = None) -> tuple[str, ...]:
        """The hypotheses whose joint law the procedure needs: its family."""
        return self.hypotheses

    def evaluate(
        self,
        family: StatisticFamily,
        hypotheses: Any = None,
        *,
        method: str = "analytic",
        n_sims: int | None = None,
        seed: Any = None,
    ) -> PowerResult:
        """Power of each hypothesis after the procedure, and of rejecting any / all.

        Called by ``design.power(multiplicity=procedure)``.

        Parameters
        ----------
        family : StatisticFamily
            The procedure's hypotheses (``design.statistics(procedure.hypotheses)``;
            a design is accepted and asked for them).
        hypotheses : sequence of str, optional
            Which of the family's hypotheses to report (default: all).
        method : {"analytic", "simulation"}, default "analytic"
            ``"analytic"``: exact integration where the event is a rectangle of
            the joint law, simulation otherwise; ``"simulation"``: simulate all.
        n_sims : int, optional
            Simulated trials (default the procedure's ``n_sims``).
        seed : int, SeedSequence or Generator, optional
            Seed of the simulation (default the procedure's, else a fixed one).

        Returns
        -------
        PowerResult
            Rows per hypothesis; ``.any`` and ``.all`` over the whole family.
            ``summary`` names the procedure (a design adds its description).

        Raises
        ------
        ValueError
            For an unknown method, too few ``n_sims``, a hypothesis outside the
            family, or an exact computation above :data:`EXACT_MAX_INTEGRALS`.
        """
        allowed = ("analytic", "simulation")
        if method not in allowed:
            raise ValueError(
                f"method={method!r} is not available with multiplicity=; choose "
                f"one of {allowed}" + did_you_mean(method, allowed)
            )
        n_sims = self.n_sims if n_sims is None else check_int("n_sims", n_sims, minimum=100)
        seed = self.seed if seed is None else seed
        fixed = _fixed_seed(seed)
        report = self._report_names(hypotheses)
        joint = JointStatistics.from_family(as_family(family, self.hypotheses))
        m = len(self.hypotheses)
        full = tuple(range(m))
        wanted = [("reject", (j,)) for j in range(m)] + [("any", full), ("all", full)]
        values, how, mcse, sim_used = self._compute(
            joint, wanted, method=method, n_sims=n_sims, seed=fixed
        )
        levels = self.initial_levels(joint.alpha)
        rows = []
        mcse_rows = {}
        for j, h in enumerate(self.hypotheses):
            if h not in report:
                continue
            key = ("reject", (j,))
            rows.append(self._row(joint, j, values[key], how[key], levels[j]))
            if key in mcse:
                mcse_rows[h] = mcse[key]
        rows.sort(key=lambda r: report.index(r.hypothesis))
        any_key, all_key = ("any", full), ("all", full)
        extras = {
            "any": values[any_key],
            "all": values[all_key],
            "any_mcse": mcse.get(any_key, 0.0),
            "all_mcse": mcse.get(all_key, 0.0),
            "any_method": how[any_key],
            "all_method": how[all_key],
            "procedure": self,
            "joint": joint,
        }
        return PowerResult(
            rows=tuple(rows),
            summary=self.describe(),
            method="simulation" if sim_used else "analytic",
            mcse=mcse_rows,
            n_sims=n_sims if sim_used else None,
            seed=fixed if sim_used else None,
            extras=extras,
        )

    def size_search(
        self,
        family: StatisticFamily,
        *,
        power: float,
        hypothesis: str | Sequence[str] | None = None,
    ) -> SizeSearch:
        """Smallest multiplier (allocation kept) at which the success definition holds.

        Called by ``design.sample_size(power=, hypothesis=, multiplicity=procedure)``.
        ``success="each"``: every hypothesis in ``hypothesis`` reaches ``power``
        after the procedure; ``"all"``/``"any"``: the probability that the
        procedure rejects all / at least one of them reaches ``power``.
        Simulated quantities reuse the same draws at every size (common random
        numbers), so the search sees a smooth curve.  The search is the one of
        :func:`trialplan.power.sample_size_search`, on ``family.scaled(k)``.

        Parameters
        ----------
        family : StatisticFamily
            The procedure's family at the design's planned sizes.
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str
            The hypotheses of the family the success definition is about.

        Returns
        -------
        SizeSearch

        Raises
        ------
        ValueError
            For no hypothesis named, one outside the family (the closest is
            suggested), or a target no size reaches.
        """
        target = check_open_unit("power", power)
        if hypothesis is None:
            raise ValueError(
                f"sample_size(multiplicity={type(self).__name__}(...)) needs hypothesis=: name "
                f"the hypotheses of the family {list(self.hypotheses)} that must reach the "
                "power (or give the design primary=...)"
            )
        names = (hypothesis,) if isinstance(hypothesis, str) else tuple(hypothesis)
        unknown = [h for h in names if h not in self.hypotheses]
        if not names or unknown:
            bad = unknown[0] if unknown else None
            raise ValueError(
                f"hypothesis={hypothesis!r} must name hypotheses of the "
                f"procedure's family {list(self.hypotheses)}"
                + (did_you_mean(bad, self.hypotheses) if bad else "")
            )
        family = as_family(family, self.hypotheses)
        idx = tuple(self.hypotheses.index(h) for h in names)
        if self.success == "each":
            wanted = [("reject", (j,)) for j in idx]
        else:
            wanted = [(self.success, idx)]
        fixed = _fixed_seed(self.seed)
        self._check_reachable(JointStatistics.from_family(family), idx, power)

        def power_of(fam: StatisticFamily) -> tuple[float, Mapping[str, float]]:
            values, *_ = self._compute(
                JointStatistics.from_family(fam),
                wanted,
                method="analytic",
                n_sims=self.n_sims,
                seed=fixed,
            )
            return min(values.values()), {}

        found = sample_size_search(
            family,
            power=target,
            power_of=power_of,
            guess=normal_guess(family, target, names),
        )
        joint = JointStatistics.from_family(found.family)
        each = [("reject", (j,)) for j in idx]
        full = tuple(range(len(self.hypotheses)))
        extra_keys = [(self.success, idx)] if self.success != "each" else []
        values, how, _, _ = self._compute(
            joint,
            each + extra_keys + [("any", full), ("all", full)],
            method="analytic",
            n_sims=self.n_sims,
            seed=fixed,
        )
        powers = {h: values[("reject", (j,))] for h, j in zip(names, idx, strict=True)}
        achieved = min(powers.values()) if self.success == "each" else values[extra_keys[0]]
        methods = sorted({how[key] for key in each + extra_keys})
        if self.success != "each":
            methods.insert(
                0,
                f"success = reject {self.success} of {', '.join(names)} "
                f"(probability {achieved:.4f})",
            )
        return SizeSearch(
            multiplier=found.multiplier,
            family=found.family,
            power=achieved,
            powers=powers,
            evaluations=found.evaluations,
            method="; ".join(methods),
            hypotheses=names,
            extras={
                "success": self.success,
                "procedure": self,
                "any": values[("any", full)],
                "all": values[("all", full)],
            },
        )

    def sample_size(
        self, design: Any, *, power: float, hypothesis: str | Sequence[str] | None = None
    ) -> SampleSizeResult:
        """``design.sample_size(power=, hypothesis=, multiplicity=self)``: a convenience.

        Parameters
        ----------
        design : Design
            The design to size (its public ``sample_size`` is called).
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str, optional
            See :meth:`size_search`.

        Returns
        -------
        SampleSizeResult
        """
        return design.sample_size(power=power, hypothesis=hypothesis, multiplicity=self)

    # ------------------------------------------------------------ internals
    def _check_reachable(self, joint: JointStatistics, idx: tuple[int, ...], power: float) -> None:
        """Fail fast when no sample size can reach the target (zero or adverse effect)."""

        def hopeless(j: int) -> bool:
            deltas = joint.noncentrality[list(joint.members[j])]
            if joint.kind(j) == "two-sided":
                return bool(deltas[0] == 0)
            return bool(np.any(joint.favourable[list(joint.members[j])] * deltas <= 0))

        bad = [self.hypotheses[j] for j in idx if hopeless(j)]
        if (self.success == "any" and len(bad) == len(idx)) or (self.success != "any" and bad):
            effects = {h: joint.statistics[self.hypotheses.index(h)].effect for h in bad}
            raise ValueError(
                f"power={power} is out of reach at any sample size: "
                f"{bad} have a zero (or, one-sided, adverse) effect {effects}; "
                "check the planning values"
            )

    def _report_names(self, hypotheses: Any) -> tuple[str, ...]:
        if hypotheses is None:
            return self.hypotheses
        names = (hypotheses,) if isinstance(hypotheses, str) else tuple(hypotheses)
        for h in names:
            if h not in self.hypotheses:
                raise ValueError(
                    f"hypothesis {h!r} is not in the procedure's family "
                    f"{list(self.hypotheses)}; power after a multiple-testing "
                    "procedure is defined for its family only" + did_you_mean(h, self.hypotheses)
                )
        return names

    def _compute(
        self,
        joint: JointStatistics,
        wanted: Sequence[tuple[str, tuple[int, ...]]],
        *,
        method: str,
        n_sims: int,
        seed: Any,
    ) -> tuple[dict, dict, dict, bool]:
        values: dict = {}
        how: dict = {}
        note = f"; {joint.note}" if joint.note else ""
        if method == "analytic":
            for key in wanted:
                what, subset = key
                if not joint.exact_available(subset):
                    continue
                value = self._exact(joint, what, subset)
                if value is not None:
                    values[key] = value
                    how[key] = f"{self.name}: exact {joint.label} integration{note}"
        missing = [key for key in wanted if key not in values]
        mcse: dict = {}
        if missing:
            rates = self._simulate(joint, missing, n_sims=n_sims, seed=seed)
            for key in missing:
                values[key] = rates[key]
                mcse[key] = math.sqrt(max(rates[key] * (1 - rates[key]), 0.0) / n_sims)
                how[key] = (
                    f"{self.name}: simulated joint {joint.label} statistics ({n_sims} draws){note}"
                )
        return values, how, mcse, bool(missing)

    def _simulate(
        self,
        joint: JointStatistics,
        wanted: Sequence[tuple[str, tuple[int, ...]]],
        *,
        n_sims: int,
        seed: Any,
    ) -> dict:
        n_batches = -(-n_sims // _BATCH)
        root = normalize_seed(seed)[0]
        children = [block_seed(root, b) for b in range(n_batches)]
        counts = dict.fromkeys(wanted, 0)
        k = joint.noncentrality.size
        for b, child in enumerate(children):
            size = min(_BATCH, n_sims - b * _BATCH)
            rng = np.random.default_rng(child)
            normals = rng.standard_normal((size, k))
            uniforms = rng.random(size)
            p = joint.p_values(joint.statistics_from(normals, uniforms))
            rejected = self.reject(p, alpha=joint.alpha)
            for key in wanted:
                what, subset = key
                sub = rejected[:, list(subset)]
                hit = sub.any(axis=1) if what == "any" else sub.all(axis=1)
                counts[key] += int(hit.sum())
        return {key: c / n_sims for key, c in counts.items()}

    def _row(
        self, joint: JointStatistics, j: int, power: float, method: str, level: float
    ) -> PowerRow:
        stat = joint.statistics[j]
        shown = stat.weakest if isinstance(stat, IntersectionUnion) else stat
        level = level if level > 0 else joint.alpha
        if isinstance(stat, IntersectionUnion):
            crit = critical_value(level / joint.sided, joint.df)
        else:
            crit = critical_value(level / stat.sided, joint.df)
        return PowerRow(
            hypothesis=stat.hypothesis,
            estimand=stat.estimand,
            effect=shown.effect,
            se=shown.se,
            df=shown.df,
            critical_value=crit,
            power=float(power),
            method=f"{method} [{shown.method}]",
            scale=shown.scale,
        )

    def _is_full(self, subset: tuple[int, ...]) -> bool:
        return sorted(subset) == list(range(len(self.hypotheses)))

    def _marginal(self, joint: JointStatistics, j: int, level: float) -> float:
        """Exact power of hypothesis ``j`` alone at local level ``level``."""
        stat = joint.statistics[j]
        if isinstance(stat, IntersectionUnion):
            comps = tuple(replace(c, alpha=level / joint.sided) for c in stat.components)
            return statistic_power(replace(stat, components=comps))
        return statistic_power(replace(stat, alpha=level))


class _GraphProcedure(_Procedure):
    """A procedure defined by initial weights and a transition matrix."""

    def graph(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        """Initial weights and transition matrix."""
        raise NotImplementedError

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Rejections by the graphical engine (see :func:`graphical_test`)."""
        w, g = self.graph()
        return graphical_test(p_values, weights=w, transitions=g, alpha=alpha)

    def initial_levels(self, alpha: float) -> np.ndarray:
        """Initial weight times ``alpha``."""
        return self.graph()[0] * alpha


def _equal_weights(weights: Any, m: int) -> np.ndarray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = _float_array("weights", weights)
    if (
        w.shape != (m,)
        or not np.all(np.isfinite(w))
        or np.any(w < 0)
        or w.sum() > 1 + 1e-9
        or w.sum() == 0
    ):
        raise ValueError(
            f"weights must be {m} numbers >= 0, not all 0, summing to at most 1, "
            f"one per hypothesis; got weights={weights!r}"
        )
    return w


@dataclass(frozen=True, kw_only=True, init=False)
class Bonferroni(_GraphProcedure):
    """(Weighted) Bonferroni: reject ``H_j`` when ``p_j <= w_j alpha``.

    Parameters
    ----------
    hypotheses : sequence of str
        The family, e.g. ``["rTMS", "MBI", "rTMS:MBI"]``.
    weights : sequence of float, optional
        Share of alpha per hypothesis (default equal, ``1/m``).
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials for quantities without an exact form.
    seed : int, optional
        Seed of those simulations (default a fixed seed).

    Notes
    -----
    Per-hypothesis power, and power to reject any and all, are exact
    (multivariate t integration).

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Bonferroni(["rTMS", "MBI"]).test({"rTMS": 0.02, "MBI": 0.03}, alpha=0.05)
    {'rTMS': True, 'MBI': False}
    """

    weights: tuple[float, ...] | None = None
    name = "Bonferroni"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(
            hypotheses=hypotheses,
            weights=None if weights is None else tuple(weights),
            success=success,
            n_sims=n_sims,
            seed=seed,
        )
        _equal_weights(self.weights, len(self.hypotheses))

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``w`` and no edges."""
        m = len(self.hypotheses)
        return _equal_weights(self.weights, m), np.zeros((m, m))

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        levels = self.initial_levels(joint.alpha)[list(subset)]
        if what == "reject":
            return self._marginal(joint, subset[0], float(levels[0]))
        if np.any(levels <= 0):
            return None
        if what == "any":
            return joint.prob_any(subset, levels)
        return joint.prob_all(subset, levels)


@dataclass(frozen=True, kw_only=True, init=False)
class Holm(_GraphProcedure):
    """Holm's step-down procedure (weighted), on the graphical engine.

    Order the p-values; reject while ``p_(i) <= alpha / (m - i + 1)`` (equal
    weights).  As a graph: weights ``w`` and edges ``g_jk = w_k / (1 - w_j)``.

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    weights : sequence of float, optional
        Initial weights (default equal).
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (per-hypothesis power and "all" are simulated).
    seed : int, optional
        Seed of those simulations (default a fixed seed).

    Notes
    -----
    The power to reject any hypothesis is exact: Holm rejects at least one
    exactly when Bonferroni does.  With two hypotheses every quantity is exact
    (unions of rectangles); with more, per-hypothesis power and "all" are
    simulated.

    References
    ----------
    .. [1] Holm S. A simple sequentially rejective multiple test procedure.
       Scand J Stat 1979;6:65-70.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Holm(["A", "B", "C"]).test([0.01, 0.04, 0.02], alpha=0.05)
    {'A': True, 'B': True, 'C': True}
    """

    weights: tuple[float, ...] | None = None
    name = "Holm"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        Bonferroni.__init__(
            self,
            hypotheses,
            weights=weights,  # type: ignore[arg-type]
            success=success,
            n_sims=n_sims,
            seed=seed,
        )

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``w`` and edges ``g_jk = w_k / (1 - w_j)`` (equal weights: ``1/(m-1)``)."""
        m = len(self.hypotheses)
        w = _equal_weights(self.weights, m)
        g = np.zeros((m, m))
        for j in range(m):
            rest = np.delete(np.arange(m), j)
            total = w[rest].sum()
            if total > 0:
                g[j, rest] = w[rest] / total
            elif m > 1:
                g[j, rest] = 1.0 / (m - 1)
        return w, g

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        levels = self.initial_levels(joint.alpha)
        if len(self.hypotheses) == 1:
            return self._marginal(joint, 0, joint.alpha)
        if what == "any" and self._is_full(subset) and np.all(levels > 0):
            return joint.prob_any(subset, levels[list(subset)])
        if len(self.hypotheses) == 2:
            return _holm_two(joint, what, subset, levels)
        return None


@dataclass(frozen=True, kw_only=True, init=False)
class FixedSequence(_GraphProcedure):
    """Fixed-sequence (hierarchical) testing: in order at the full alpha, stop at the first failure.

    Parameters
    ----------
    hypotheses : sequence of str
        The order of testing.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims, seed
        Unused for power (every quantity is exact); kept for a uniform interface.

    Notes
    -----
    ``H_j`` is rejected exactly when ``H_1, ..., H_j`` all reject at
    ``alpha``: every quantity is an exact multivariate t integral.  Testing
    the combination's two one-sided comparisons in sequence and asking for
    "all" gives the intersection-union (min) test's power.

    References
    ----------
    .. [1] Maurer W, Hothorn LA, Lehmacher W. Multiple comparisons in drug
       clinical trials and preclinical assays: a-priori ordered hypotheses.
       In: Vollmar J (ed.), Biometrie in der chemisch-pharmazeutischen
       Industrie 6, Fischer, 1995:3-18.
    .. [2] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.FixedSequence(["combination", "rTMS:MBI"]).test([0.01, 0.2])
    {'combination': True, 'rTMS:MBI': False}
    """

    name = "fixed sequence"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weight 1 on the first hypothesis; an edge of 1 to the next."""
        m = len(self.hypotheses)
        w = np.zeros(m)
        w[0] = 1.0
        g = np.eye(m, k=1)
        return w, g

    def initial_levels(self, alpha: float) -> np.ndarray:
        """Every hypothesis is tested at ``alpha`` once reached."""
        return np.full(len(self.hypotheses), alpha)

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        last = min(subset) if what == "any" else max(subset)
        chain = tuple(range(last + 1))
        if not joint.exact_available(chain):
            return None
        if last == 0:
            return self._marginal(joint, 0, joint.alpha)
        return joint.prob_all(chain, [joint.alpha] * len(chain))


@dataclass(frozen=True, kw_only=True, init=False)
class Graphical(_GraphProcedure):
    """Any graphical procedure: initial weights and a transition matrix.

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    weights : sequence of float
        Initial weights (>= 0, summing to at most 1).
    transitions : array_like
        ``m x m`` matrix, zero diagonal, rows summing to at most 1.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (power is simulated).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    Two primaries sharing alpha, each passing its weight to its secondary:

    >>> import trialplan as tp
    >>> g = tp.Graphical(["A", "B", "A2", "B2"], weights=[0.5, 0.5, 0, 0],
    ...                  transitions=[[0, 0, 1, 0], [0, 0, 0, 1],
    ...                               [0, 1, 0, 0], [1, 0, 0, 0]])
    >>> g.test([0.01, 0.3, 0.02, 0.5])
    {'A': True, 'B': False, 'A2': True, 'B2': False}
    """

    weights: tuple[float, ...] = ()
    transitions: tuple[tuple[float, ...], ...] = ()
    name = "graphical"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float],
        transitions: Any,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)
        w, g = _check_graph(weights, transitions, len(self.hypotheses))
        object.__setattr__(self, "weights", tuple(w.tolist()))
        object.__setattr__(self, "transitions", tuple(tuple(r) for r in g.tolist()))

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights and transition matrix given."""
        return np.array(self.weights), np.array(self.transitions)


@dataclass(frozen=True, kw_only=True, init=False)
class Gatekeeping(_Procedure):
    """Serial gatekeeping: families in order, each by Holm at the full alpha.

    A family is tested only when every hypothesis of the families before it
    has been rejected; within a family Holm's procedure runs on the graphical
    engine.  This is the limit of the graphical serial gatekeeper with
    epsilon-edges (Bretz et al. 2009) and controls the family-wise
    error rate strongly (Westfall & Krishen 2001; Dmitrienko & Tamhane 2007;
    parallel gatekeepers, which open the next family when *any* hypothesis is
    rejected, are Dmitrienko, Offen & Westfall 2003 and can be written with
    :class:`Graphical`).

    Parameters
    ----------
    families : sequence of sequence of str
        E.g. ``[["combination"], ["rTMS:MBI"]]``: the combination first, the
        interaction only if the combination is shown.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (exact when every family has one hypothesis, which
        is a fixed sequence).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    Raises
    ------
    ValueError
        For empty families or a hypothesis named twice; at evaluation, for a
        name that is not a hypothesis of the design (the closest is named).

    References
    ----------
    .. [0] Westfall PH, Krishen A. Optimally weighted, fixed sequence and
       gatekeeper multiple testing procedures. J Stat Plan Inference
       2001;99:25-40.
    .. [1] Dmitrienko A, Offen WW, Westfall PH. Gatekeeping strategies for
       clinical trials that do not require all primary effects to be
       significant. Stat Med 2003;22:2387-2400.
    .. [2] Dmitrienko A, Tamhane AC. Gatekeeping procedures with clinical
       trial applications. Pharm Stat 2007;6:171-180.

    Examples
    --------
    >>> import trialplan as tp
    >>> gk = tp.Gatekeeping([["rTMS", "MBI"], ["rTMS:MBI"]])
    >>> gk.test({"rTMS": 0.001, "MBI": 0.03, "rTMS:MBI": 0.04})
    {'rTMS': True, 'MBI': True, 'rTMS:MBI': True}
    >>> gk.test({"rTMS": 0.001, "MBI": 0.06, "rTMS:MBI": 0.001})
    {'rTMS': True, 'MBI': False, 'rTMS:MBI': False}
    """

    families: tuple[tuple[str, ...], ...] = ()
    name = "serial gatekeeping"

    def __init__(
        self,
        families: Sequence[Sequence[str]],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        if isinstance(families, str) or not isinstance(families, Sequence) or not families:
            raise TypeError(
                "families must be a non-empty list of lists of hypothesis names, "
                f"e.g. [['combination'], ['rTMS:MBI']]; got families={families!r}"
            )
        fams = []
        for i, fam in enumerate(families):
            if isinstance(fam, str):
                raise TypeError(
                    f"families[{i}] must be a list of names; got {fam!r} (write "
                    f"[{fam!r}] for a family of one)"
                )
            fams.append(_check_names(f"families[{i}]", fam))
        self._set_fields(
            families=tuple(fams),
            hypotheses=tuple(h for fam in fams for h in fam),
            success=success,
            n_sims=n_sims,
            seed=seed,
        )

    def describe(self) -> str:
        """The families in order."""
        return self.name + " " + " -> ".join("[" + ", ".join(f) + "]" for f in self.families)

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Holm within each family; a family only after all earlier ones are rejected."""
        p, single = _trials(p_values)
        out = np.zeros(p.shape, dtype=bool)
        gate = np.ones(p.shape[0], dtype=bool)
        start = 0
        for fam in self.families:
            cols = slice(start, start + len(fam))
            inner = Holm(list(fam)).reject(p[:, cols], alpha=alpha)
            out[:, cols] = inner & gate[:, None]
            gate &= out[:, cols].all(axis=1)
            start += len(fam)
        return out[0] if single else out

    def initial_levels(self, alpha: float) -> np.ndarray:
        """``alpha / |family|`` (Holm's first step in each family)."""
        return np.array([alpha / len(f) for f in self.families for _ in f])

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        if all(len(f) == 1 for f in self.families):
            return FixedSequence(list(self.hypotheses))._exact(joint, what, subset)
        if len(self.hypotheses) == 1:
            return self._marginal(joint, 0, joint.alpha)
        return None


@dataclass(frozen=True, kw_only=True, init=False)
class Hochberg(_Procedure):
    """Hochberg's step-up procedure (not graphical; see :func:`hochberg_test`).

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (per-hypothesis power and "any" are simulated).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    Notes
    -----
    Controls the family-wise error rate under independence or positive
    dependence (Sarkar 1998); with two-sided tests of correlated contrasts,
    prefer :class:`Holm`.  The power to reject all is exact: Hochberg rejects
    every hypothesis exactly when every p-value is at most ``alpha``.  With two
    hypotheses every quantity is exact (unions of rectangles).

    References
    ----------
    .. [1] Hochberg Y. Biometrika 1988;75:800-802.
    .. [2] Sarkar SK. Ann Stat 1998;26:494-504.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Hochberg(["A", "B"]).test([0.04, 0.045])
    {'A': True, 'B': True}
    """

    name = "Hochberg"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Step-up rejections."""
        return hochberg_test(p_values, alpha=alpha)

    def initial_levels(self, alpha: float) -> np.ndarray:
        """``alpha / m`` (the smallest p-value's bound)."""
        return np.full(len(self.hypotheses), alpha / len(self.hypotheses))

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        m = len(self.hypotheses)
        if m == 1:
            return self._marginal(joint, 0, joint.alpha)
        if what == "all" and self._is_full(subset):
            return joint.prob_all(subset, [joint.alpha] * m)
        if m == 2:
            return _hochberg_two(joint, what, subset)
        return None


def _holm_two(
    joint: JointStatistics, what: str, subset: tuple[int, ...], levels: np.ndarray
) -> float | None:
    """Holm with two hypotheses as unions of rectangles.

    With ``A_i = {p_i <= w_i alpha}`` and ``C_i = {p_i <= alpha}``, Holm rejects
    ``H_j`` on ``A_j or (A_o and C_j)``, and both on ``(A_j and C_o) or (A_o and C_j)``.
    """
    a = joint.alpha
    both = joint.prob_all
    if what == "reject" or (what in ("any", "all") and len(subset) == 1):
        j = subset[0]
        o = 1 - j
        return (
            both((j,), [levels[j]])
            + both((o, j), [levels[o], a])
            - both((j, o), [levels[j], levels[o]])
        )
    if what == "all":
        return (
            both((0, 1), [levels[0], a])
            + both((1, 0), [levels[1], a])
            - both((0, 1), [levels[0], levels[1]])
        )
    return None


def _hochberg_two(joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
    """Hochberg with two hypotheses as unions of rectangles.

    With ``A_i = {p_i <= alpha/2}`` and ``C_i = {p_i <= alpha}``, Hochberg rejects
    ``H_j`` on ``A_j or (C_j and C_o)``, and at least one on
    ``A_1 or A_2 or (C_1 and C_2)``.
    """
    a = joint.alpha
    h = a / 2
    both = joint.prob_all
    if what == "reject" or (what in ("any", "all") and len(subset) == 1):
        j = subset[0]
        o = 1 - j
        return both((j, o), [a, a]) + both((j,), [h]) - both((j, o), [h, a])
    if what == "any":
        return (
            both((0,), [h])
            + both((1,), [h])
            + both((0, 1), [a, a])
            - both((0, 1), [h, a])
            - both((1, 0), [h, a])
        )
    return None
