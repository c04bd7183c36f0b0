"""Dunnett's many-to-one procedure: exact critical value and joint power.

Comparisons of several arms with one control share the control's estimate,
so their statistics are correlated with the product form
``R_ik = l_i l_k`` (``l_i = sqrt(n_i / (n_i + n_0))`` for a continuous outcome
with a common SD; ``sqrt(v_0 / (v_i + v_0))`` for per-arm variances ``v``).
Written as ``Z_i = l_i W + sqrt(1 - l_i^2) E_i`` with independent standard
normals ``W`` and ``E_i``, the statistics are independent given ``W`` and
the studentizing ``U = S / sigma ~ sqrt(chi2_df / df)``, so every rectangle
probability (the null coverage ``P(max T_i <= c)`` or ``P(max |T_i| <= c)``,
each comparison's power, the probability of rejecting any and all of them)
is a two-dimensional integral of a product of normal probabilities.  It is
computed with fixed Gauss-Legendre rules (error about 1e-10), not Monte Carlo,
and the critical value is the root of the coverage equation (Dunnett 1955).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize

from trialplan._validation import as_sequence, check_open_unit, check_sided
from trialplan.power import (
    SizeSearch,
    _average_uw,
    _interval_given_uw,
    check_reachable,
    normal_guess,
    product_loadings,
    rectangle_probability,
    sample_size_search,
)
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.statistic import StatisticFamily, SupportsStatistics, TestStatistic, as_family

__all__ = ["Dunnett", "dunnett_critical_value", "rectangle_probabilities"]


def rectangle_probabilities(
    *,
    critical: float,
    noncentrality: Sequence[float],
    loadings: Sequence[float],
    df: float,
    sided: int,
) -> dict[str, Any]:
    """Compute rejection probabilities of k statistics against one critical value.

    ``T_i = (Z_i + delta_i) / U`` with ``Z ~ N(0, R)``, ``R_ik = l_i l_k``
    (i != k) and ``U ~ sqrt(chi2_df / df)`` independent (``U = 1`` when ``df``
    is infinite): the noncentral ("shifted") multivariate t of mvtnorm's
    ``pmvt``.  A one-sided test rejects ``H_i`` when ``T_i > c``, a
    two-sided test when ``|T_i| > c``.

    Parameters
    ----------
    critical : float
        The common critical value ``c`` (> 0).
    noncentrality : sequence of float
        ``delta_i``, oriented so that a one-sided test rejects upwards.
    loadings : sequence of float
        ``l_i`` in [0, 1) giving the product correlation.
    df : float
        Degrees of freedom; ``math.inf`` for the multivariate normal.
    sided : {1, 2}
        One- or two-sided tests.

    Returns
    -------
    dict
        ``"each"``: array of per-comparison rejection probabilities;
        ``"any"``: probability of at least one rejection; ``"all"``:
        probability that every comparison rejects.

    Examples
    --------
    Two independent one-sided tests at the normal 2.5% point, no effect:

    >>> out = rectangle_probabilities(critical=1.959964, noncentrality=[0, 0],
    ...                               loadings=[0, 0], df=math.inf, sided=1)
    >>> round(out["any"], 6), round(out["all"], 6)
    (0.049375, 0.000625)
    """
    delta = np.asarray(noncentrality, dtype=float)
    load = np.asarray(loadings, dtype=float)
    if delta.ndim != 1 or load.shape != delta.shape:
        raise ValueError(
            f"noncentrality ({delta.shape}) and loadings ({load.shape}) must be "
            "one-dimensional and of the same length"
        )
    if np.any(np.abs(load) >= 1):
        raise ValueError(f"loadings must lie in (-1, 1); got loadings={load.tolist()}")
    sided = check_sided(sided)
    # accept_i given (U, W): P(T_i < c), or P(-c < T_i < c); shape (U, W, k)
    bounds = np.full(delta.size, float(critical))
    lower = -bounds if sided == 2 else np.full(delta.size, -math.inf)
    accept, u_weights = _interval_given_uw(lower[None, :], bounds[None, :], delta, load, df)
    accept = accept[0]
    reject = 1.0 - accept
    each = _average_uw(np.moveaxis(reject, -1, 0), u_weights)
    none = float(_average_uw(np.prod(accept, axis=-1), u_weights))
    every = float(_average_uw(np.prod(reject, axis=-1), u_weights))
    return {
        "each": np.clip(each, 0.0, 1.0),
        "any": min(max(1.0 - none, 0.0), 1.0),
        "all": min(max(every, 0.0), 1.0),
    }


def dunnett_critical_value(
    *, loadings: Sequence[float], df: float, alpha: float, sided: int
) -> float:
    """Find the critical value with familywise error ``alpha`` (product correlation).

    Solves ``P(max T_i <= c) = 1 - alpha`` (one-sided) or
    ``P(max |T_i| <= c) = 1 - alpha`` (two-sided) under the null hypothesis,
    for the multivariate t (or normal) with correlation ``R_ik = l_i l_k``.

    Parameters
    ----------
    loadings : sequence of float
        ``l_i``; for k arms against a control with sizes ``n_i`` and ``n_0``,
        ``l_i = sqrt(n_i / (n_i + n_0))`` (``sqrt(1/2)`` at equal sizes).
    df : float
        Degrees of freedom (``N - k - 1`` for k + 1 arms), or ``math.inf``.
    alpha : float
        Familywise significance level in (0, 1) (two-sided total if ``sided=2``).
    sided : {1, 2}
        One- or two-sided comparisons.

    Returns
    -------
    float
        The critical value ``c`` (accurate to about 1e-8).

    Raises
    ------
    ValueError
        For ``alpha`` outside (0, 1), ``sided`` not 1 or 2, or loadings outside
        (-1, 1).

    References
    ----------
    .. [1] Dunnett CW. A multiple comparison procedure for comparing several
       treatments with a control. J Am Stat Assoc 1955;50:1096-1121.
    .. [2] Dunnett CW. New tables for multiple comparisons with a control.
       Biometrics 1964;20:482-491.

    Examples
    --------
    Two or three arms against a shared control, equal sizes, df = infinity:

    >>> l = math.sqrt(0.5)
    >>> [round(dunnett_critical_value(loadings=[l] * k, df=math.inf, alpha=0.05, sided=s), 3)
    ...  for k in (2, 3) for s in (1, 2)]
    [1.916, 2.212, 2.062, 2.349]
    """
    alpha = check_open_unit("alpha", alpha)
    sided = check_sided(sided)
    load = np.asarray(loadings, dtype=float)
    zeros = np.zeros(load.size)

    def excess(c: float) -> float:
        # familywise error 1 - P(every T_i below c), or inside (-c, c)
        coverage = rectangle_probability(
            lower=np.full(load.size, -c if sided == 2 else -math.inf),
            upper=np.full(load.size, c),
            noncentrality=zeros,
            loadings=load,
            df=df,
        )
        return min(max(1.0 - coverage, 0.0), 1.0) - alpha

    # The familywise error falls from above alpha at the unadjusted critical
    # value to below it at the Bonferroni one (stretched for small df).
    lo = 0.0 if sided == 1 else 1e-6
    if excess(lo) < 0:  # alpha near 1: the familywise error cannot reach it with c >= 0
        raise ValueError(
            f"alpha={alpha!r} is too large for a Dunnett test: even a critical value of "
            f"{lo:g} gives a familywise error of only {excess(lo) + alpha:.6g}"
        )
    hi = 5.0
    while excess(hi) > 0:
        hi *= 2.0
        if hi > 1e4:  # pragma: no cover - only for absurd alpha
            raise ValueError(f"no critical value found for alpha={alpha}")
    return float(optimize.brentq(excess, lo, hi, xtol=1e-10, rtol=1e-12))


@dataclass(frozen=True, kw_only=True)
class Dunnett:
    """Dunnett's many-to-one comparisons: familywise error control, exact joint power.

    Pass it to a design's ``power(multiplicity=...)``.  Each comparison with
    the control is tested against the single-step Dunnett critical value of the
    multivariate t of the comparisons (df of the design); the result gives
    each comparison's power, and in ``extras`` (and as ``.any``/``.all`` on
    results that support them) the probability of rejecting at least one and
    all of them, and the critical value.

    Parameters
    ----------
    hypotheses : sequence of str, optional
        The comparisons in the family; by default every ``"<arm> vs <control>"``
        of a :class:`trialplan.Parallel` design.  Any family whose estimates
        are product-correlated (comparisons sharing one reference cell) works.

    Raises
    ------
    ValueError
        From ``evaluate``: when the family's correlation is not of product form
        (comparisons that do not share one reference cell), a comparison is an
        intersection-union test, or ``method`` is not ``"analytic"``.

    References
    ----------
    .. [1] Dunnett CW. J Am Stat Assoc 1955;50:1096-1121.
    .. [2] Genz A, Bretz F. Computation of Multivariate Normal and t
       Probabilities. Lecture Notes in Statistics 195, Springer 2009.

    Examples
    --------
    >>> import trialplan as tp
    >>> arms = tp.Parallel(
    ...     arms=("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI"),
    ...     outcome=tp.Continuous(means={"rTMS alone": -10.0, "MBI then rTMS": -14.0,
    ...                                  "rTMS with concurrent MBI": -15.0}, sd=8.0),
    ...     n_per_arm=80, control="rTMS alone")
    >>> res = arms.power(multiplicity=tp.Dunnett())
    >>> round(res.extras["critical_value"], 4)
    2.2254
    >>> round(res["MBI then rTMS vs rTMS alone"], 3), round(res.extras["any"], 3)
    (0.825, 0.976)
    """

    hypotheses: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.hypotheses is None:
            return
        object.__setattr__(self, "hypotheses", as_sequence(self.hypotheses))
        if isinstance(self.hypotheses, str) or not isinstance(self.hypotheses, Sequence):
            raise TypeError(
                "hypotheses must be a sequence of hypothesis names; got "
                f"hypotheses={self.hypotheses!r}"
            )
        names = tuple(self.hypotheses)
        if not names or not all(isinstance(h, str) for h in names):
            raise ValueError(
                "hypotheses must name at least one hypothesis, as strings; got "
                f"hypotheses={self.hypotheses!r}"
            )
        object.__setattr__(self, "hypotheses", names)

    # ------------------------------------------------------------- the family
    def family_names(self, requested: Any = None) -> tuple[str, ...] | None:
        """Names tested: ours, else those asked of ``power()``; None: the many-to-one default."""
        if self.hypotheses is not None:
            return tuple(self.hypotheses)
        if requested is not None:
            return (requested,) if isinstance(requested, str) else tuple(requested)
        return None

    def _select(self, source: Any, requested: Any = None) -> StatisticFamily:
        """The family tested, from a statistic family (or a design) of any hypotheses."""
        names = self.family_names(requested)
        family = as_family(source, names)
        if names is not None:
            return family
        if not family.many_to_one:
            raise ValueError(
                "Dunnett() needs hypotheses=[...] for a design without a control "
                "arm; name comparisons sharing one cell"
            )
        return family.select(family.many_to_one)

    def family(
        self, source: StatisticFamily | SupportsStatistics, hypotheses: Any = None
    ) -> tuple[str, ...]:
        """Return the names tested: ours, else those asked of ``power()``, else many-to-one."""
        return self._select(source, hypotheses).hypotheses

    def statistics(
        self, source: StatisticFamily | SupportsStatistics, hypotheses: Any = None
    ) -> tuple[tuple[TestStatistic, ...], np.ndarray, str]:
        """Return the family's statistics, product-form loadings and method note.

        ``source`` is a :class:`~trialplan.statistic.StatisticFamily` (or a
        design, asked for one through ``statistics()``).
        """
        family = self._select(source, hypotheses)
        names = family.hypotheses
        stats_ = tuple(family)
        for s in stats_:
            if not isinstance(s, TestStatistic):
                raise ValueError(
                    f"hypothesis {s.hypothesis!r} is an intersection-union test; "
                    "Dunnett() compares single contrasts with a control"
                )
        note = ""
        cov = family.contrast_covariance(np.array([c[0] for c in family.contrasts]))
        ses = np.sqrt(np.diag(cov))
        corr = cov / np.outer(ses, ses)
        covariate_df = stats_[0].covariate_df
        if covariate_df is not None and covariate_df > 2:
            # Baseline imbalance breaks the product form; use the expected
            # variance inflation E[1 + F/m] (as for the min test) and name it.
            inflation = math.sqrt(1.0 + 1.0 / (covariate_df - 2.0))
            stats_ = tuple(_replace_se(s, s.se * inflation) for s in stats_)
            note = ", ANCOVA with expected imbalance inflation (approx.)"
        loadings = product_loadings(corr)
        if loadings is None:
            raise ValueError(
                f"Dunnett() needs comparisons sharing one reference cell (product-form "
                f"correlation); {list(names)} are correlated otherwise; use tp.Holm or "
                "tp.Bonferroni for this family"
            )
        return stats_, loadings, note

    def critical_value(
        self, source: StatisticFamily | SupportsStatistics, hypotheses: Any = None
    ) -> float:
        """Return the Dunnett critical value for the family at its alpha and sidedness.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("c", "a", "b"), n_per_arm=10,
        ...                 outcome=tp.Continuous(means={"c": 0, "a": 1, "b": 1}, sd=1.0))
        >>> round(tp.Dunnett().critical_value(d), 3)   # k = 2, df = 27, two-sided
        2.333
        """
        family = self._select(source, hypotheses)
        stats_, loadings, _ = self.statistics(family)
        return dunnett_critical_value(
            loadings=loadings, df=stats_[0].df, alpha=family.alpha, sided=family.sided
        )

    # ----------------------------------------------------------------- power
    def evaluate(
        self,
        family: StatisticFamily,
        hypotheses: Any = None,
        *,
        method: str = "analytic",
        n_sims: int | None = None,
        seed: Any = None,
    ) -> PowerResult:
        """Compute the power of each comparison, and of any and all, under Dunnett's procedure.

        Parameters
        ----------
        family : StatisticFamily
            The comparisons (``design.statistics(...)``; a design is accepted
            and asked for them).  Without ``Dunnett(hypotheses=...)`` or
            ``hypotheses``, the family's many-to-one comparisons.
        hypotheses : str or sequence of str, optional
            The family, when ``Dunnett(hypotheses=...)`` did not name one.
        method : {"analytic"}
            Exact quadrature; no other method is offered.
        n_sims, seed : None
            Not used (nothing is simulated); giving them is an error.

        Returns
        -------
        PowerResult
            Rows per comparison (``critical_value`` is Dunnett's); ``extras``
            holds ``"any"``, ``"all"`` and ``"critical_value"``.

        Raises
        ------
        ValueError
            For another ``method``, ``n_sims`` or ``seed``, or a family that is
            not many-to-one.
        """
        if method != "analytic":
            raise ValueError(
                f"method={method!r} is not available for Dunnett(); choose "
                "'analytic' (exact multivariate t quadrature)"
            )
        if n_sims is not None or seed is not None:
            raise ValueError(
                "Dunnett() computes power by exact quadrature: n_sims= and seed= do not "
                f"apply; got n_sims={n_sims!r}, seed={seed!r}"
            )
        family = self._select(family, hypotheses)
        stats_, loadings, note = self.statistics(family)
        df = stats_[0].df
        alpha, sided = family.alpha, family.sided
        crit = dunnett_critical_value(loadings=loadings, df=df, alpha=alpha, sided=sided)
        delta = np.array([s.favourable * s.noncentrality for s in stats_])
        if sided == 2:
            delta = np.array([s.noncentrality for s in stats_])
        probs = rectangle_probabilities(
            critical=crit, noncentrality=delta, loadings=loadings, df=df, sided=sided
        )
        label = "normal" if math.isinf(df) else "t"
        method_text = (
            f"Dunnett many-to-one (single step), exact multivariate {label} "
            f"quadrature ({stats_[0].method}{note})"
        )
        rows = tuple(
            PowerRow(
                hypothesis=s.hypothesis,
                estimand=s.estimand,
                effect=s.effect,
                se=s.se,
                df=s.df,
                critical_value=crit,
                power=float(p),
                method=method_text,
                noncentrality=s.noncentrality**2,
                scale=s.scale,
            )
            for s, p in zip(stats_, probs["each"], strict=True)
        )
        words = "two-sided" if sided == 2 else "one-sided"
        return PowerResult(
            rows=rows,
            summary=f"Dunnett: familywise alpha={alpha:g} {words}, critical value {crit:.4f}",
            method="analytic",
            extras={
                "any": probs["any"],
                "all": probs["all"],
                "critical_value": crit,
                "procedure": "Dunnett",
            },
        )

    # ----------------------------------------------------------- sample size
    def size_search(
        self,
        family: StatisticFamily,
        *,
        power: float,
        hypothesis: Any = None,
        target: str = "each",
    ) -> SizeSearch:
        """Smallest multiplier (allocation kept) whose Dunnett power reaches ``power``.

        The one integer search (:func:`trialplan.power.sample_size_search`)
        on ``family.scaled(k)``; the critical value always controls the whole
        family.  Called by ``design.sample_size(multiplicity=tp.Dunnett())``.

        Parameters
        ----------
        family : StatisticFamily
            The design's family at its planned sizes.
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str, optional
            With ``target="each"``, the comparisons whose power must reach the
            target (default: all of the family).
        target : {"each", "any", "all"}, default "each"
            Every named comparison's power; the probability of at least one
            rejection; of rejecting every comparison.

        Returns
        -------
        SizeSearch
        """
        goal = check_open_unit("power", power)
        if target not in ("each", "any", "all"):
            raise ValueError(
                f"target={target!r} is not allowed; choose one of ('each', 'any', 'all')"
            )
        family = self._select(family)
        names = family.hypotheses
        goal_names = self._goal(names, hypothesis, target)
        if target != "any":
            check_reachable(family, goal_names)

        def power_of(fam: StatisticFamily) -> tuple[float, Mapping[str, float]]:
            res = self.evaluate(fam)
            value = (
                min(res[h] for h in goal_names) if target == "each" else float(res.extras[target])
            )
            return value, {h: res[h] for h in res}

        found = sample_size_search(
            family,
            power=goal,
            power_of=power_of,
            guess=normal_guess(family, goal, goal_names),
        )
        res = self.evaluate(found.family)
        return SizeSearch(
            multiplier=found.multiplier,
            family=found.family,
            power=found.power,
            powers=found.powers,
            evaluations=found.evaluations,
            method=res.rows[0].method,
            hypotheses=tuple(names),
            extras={
                "any": res.extras["any"],
                "all": res.extras["all"],
                "critical_value": res.extras["critical_value"],
                "target": target,
                "goal": tuple(goal_names),
            },
        )

    def sample_size(
        self,
        design: Any,
        *,
        power: float,
        target: str = "each",
        hypotheses: Any = None,
        hypothesis: Any = None,
    ) -> SampleSizeResult:
        """Smallest design (allocation ratios kept) whose Dunnett power reaches ``power``.

        A convenience for ``design.sample_size(power=, hypothesis=,
        multiplicity=...)`` with Dunnett's ``target``.

        Parameters
        ----------
        design : Design
            A design such as :class:`trialplan.Parallel`; its ``n_per_arm``
            ratios are kept and the smallest integer multiple is searched.
        power : float
            Target power in (0, 1).
        target : {"each", "any", "all"}, default "each"
            ``"each"``: every comparison's power reaches the target;
            ``"any"``: the probability of at least one rejection does;
            ``"all"``: the probability that every comparison rejects does.
        hypotheses : sequence of str, optional
            The family, when ``Dunnett(hypotheses=...)`` did not name one.
        hypothesis : str or sequence of str, optional
            With ``target="each"``, the comparisons of the family whose power
            must reach the target (default: all of them); the critical value
            still controls the whole family.

        Returns
        -------
        SampleSizeResult
            ``powers`` holds the per-comparison powers; ``extras`` the
            any/all probabilities and the critical value at the solution.

        Raises
        ------
        ValueError
            For ``power`` outside (0, 1), an unknown ``target``, or a target
            out of reach (e.g. a zero effect).

        Examples
        --------
        >>> import trialplan as tp
        >>> arms = tp.Parallel(arms=("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI"),
        ...     outcome=tp.Continuous(means={"rTMS alone": -10.0, "MBI then rTMS": -14.0,
        ...                                  "rTMS with concurrent MBI": -15.0}, sd=8.0),
        ...     n_per_arm=10)
        >>> tp.Dunnett().sample_size(arms, power=0.8).n_per_cell
        76
        """
        if target not in ("each", "any", "all"):
            raise ValueError(
                f"target={target!r} is not allowed; choose one of ('each', 'any', 'all')"
            )
        procedure = self if hypotheses is None else replace(self, hypotheses=hypotheses)
        return design.sample_size(
            power=power, hypothesis=hypothesis, multiplicity=_Targeted(procedure, target)
        )

    @staticmethod
    def _goal(family: Sequence[str], hypothesis: Any, target: str) -> tuple[str, ...]:
        """The comparisons whose power must reach the target (``target="each"``)."""
        if hypothesis is None:
            return tuple(family)
        names = (hypothesis,) if isinstance(hypothesis, str) else tuple(hypothesis)
        unknown = [h for h in names if h not in family]
        if not names or unknown:
            raise ValueError(
                f"hypothesis={hypothesis!r} must name comparisons of the Dunnett "
                f"family {list(family)}"
            )
        if target != "each" and set(names) != set(family):
            raise ValueError(
                f"hypothesis={hypothesis!r} names part of the family, which only "
                f"target='each' supports; target={target!r} is about the whole "
                f"family {list(family)}"
            )
        return names


@dataclass(frozen=True)
class _Targeted:
    """A Dunnett procedure with a sample-size target other than the default."""

    procedure: Dunnett
    target: str

    def family_names(self, requested: Any = None) -> tuple[str, ...] | None:
        return self.procedure.family_names(requested)

    def evaluate(self, family: StatisticFamily, hypotheses: Any = None, **options: Any) -> Any:
        return self.procedure.evaluate(family, hypotheses, **options)

    def size_search(self, family: StatisticFamily, *, power: float, hypothesis: Any) -> SizeSearch:
        return self.procedure.size_search(
            family, power=power, hypothesis=hypothesis, target=self.target
        )


def _replace_se(stat: TestStatistic, se: float) -> TestStatistic:
    return replace(stat, se=se, covariate_df=None)
