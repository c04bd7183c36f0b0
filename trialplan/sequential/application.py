"""A group-sequential design applied to a statistic family: power and sample size.

``design.power(sequential=gsd)`` and ``design.sample_size(power=, sequential=gsd)``
end here, with the design's hypotheses as a
:class:`~trialplan.statistic.StatisticFamily`: each hypothesis' statistic is
put in canonical form (drift ``theta / se``) and run through the design's
bounds.

The combination (intersection-union, min) test of two comparisons runs on
the same bounds: at look k it rejects when BOTH comparisons' z statistics
reach the efficacy bound ``b_k`` (each comparison at the sequential test's
one-sided alpha, as in the fixed design), and stops for futility when
``min(Z_1k, Z_2k) < a_k``.  The type I error is at most alpha (binding or
not): a rejection of the min test at look k means the comparison whose null
holds crossed its own bound by then, without an earlier futility stop, which
the single-statistic test rejects with probability alpha; when the other
comparison's effect is huge the two coincide (the least favourable null).
This is the "same look" framework of Asakura et al. (Stat Med
2014;33:2897-2913) for two co-primary endpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, special

from trialplan._validation import check_open_unit
from trialplan.power import SizeSearch, joint_power, sample_size_search
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.sequential.design import MIN_BETA, GroupSequential
from trialplan.sequential.recursion import combination_crossings
from trialplan.statistic import IntersectionUnion, StatisticFamily, TestStatistic

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SequentialSampleSizeResult",
    "check_sequential",
    "check_sequential_statistic",
    "sequential_power",
    "sequential_sample_size",
]

_NORMAL_NOTE = "t statistics treated as canonical normal statistics (approx.)"
#: Jennison-Turnbull grid parameter of the bivariate recursion (see combination_crossings)
_BIVARIATE_GRID = 16
#: Largest |correlation| of the two comparisons of a sequential min test
_MAX_COMBINATION_CORR = 0.99


@dataclass(frozen=True, kw_only=True)
class SequentialSampleSizeResult(SampleSizeResult):
    """Maximum sample size of a group-sequential trial, with its looks.

    The inherited fields describe the maximum (final-look) sample: ``n_per_cell``,
    ``n_total``, ``n_randomized`` and the sequential ``power`` reached there.

    Attributes
    ----------
    sequential : GroupSequential
        The group-sequential test (re-solved at ``beta = 1 - power`` when it has
        beta-spending futility bounds and another beta).
    n_total_per_look : tuple of int
        Analysed participants at each look, ``ceil(t_k * n_total)``.
    expected_n_total : mapping
        ``{"H0": ..., "H1": ...}``: expected analysed participants at stopping
        with no effect and at the planned effect (futility bounds followed),
        for the first listed hypothesis' test (``extras["expected_n_total"]``
        has every hypothesis').  For the combination "no effect" is the global
        null: both comparisons' effects zero.
    n_total_fixed : float
        The (unrounded) total a fixed design with the same test would need
        (the largest over the listed hypotheses), from the canonical normal
        approximation: ``n_total_max / inflation`` for a single statistic, the
        bivariate normal power of the min test for the combination.
    family : StatisticFamily
        The required hypotheses' statistics at the maximum size.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=50)
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> ss = d.sample_size(power=0.8, hypothesis="A:B", sequential=gsd)
    >>> ss.n_total, ss.n_total_per_look, round(ss.n_total_fixed, 1)
    (508, (254, 508), 502.3)
    >>> {k: round(v, 1) for k, v in ss.expected_n_total.items()}
    {'H0': 507.6, 'H1': 465.9}
    >>> round(ss.expected_n, 1)                     # the H1 value: the trial's expected size
    465.9
    """

    sequential: Any = field(default=None, repr=False, compare=False)
    n_total_per_look: tuple[int, ...] = ()
    expected_n_total: Mapping[str, float] = field(default_factory=dict)
    n_total_fixed: float = math.nan
    family: StatisticFamily | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "expected_n_total", MappingProxyType(dict(self.expected_n_total)))

    @property
    def expected_n(self) -> float:
        """Expected total size at stopping under the planned effects (float).

        The ``"H1"`` value of :attr:`expected_n_total`: the first listed
        hypothesis' test decides when the trial stops.  Every sequential (and
        adaptive) result names this ``expected_n``.
        """
        return float(self.expected_n_total["H1"])

    @property
    def expected_n_by_hypothesis(self) -> Mapping[str, float]:
        """Expected total size at stopping under the planned effects, per required hypothesis."""
        every = self.extras.get("expected_n_total", {})
        return MappingProxyType({h: float(v["H1"]) for h, v in every.items()})

    def looks_frame(self, hypothesis: str | None = None) -> pd.DataFrame:
        """One row per look: information fraction, N, bounds and stopping probabilities.

        Parameters
        ----------
        hypothesis : str, optional
            Which of the required hypotheses the stopping probabilities are
            for; by default the first listed.  For the combination (min) test
            the H0 columns are under the global null (both comparisons
            without effect).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=50)
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> ss = d.sample_size(power=0.8, hypothesis="A:B", sequential=gsd)
        >>> ss.looks_frame()["n_total"].tolist()   # fixed design: 4 sd^2 (z+z)^2 / IC^2 = 502
        [254, 508]
        """
        gsd = self.sequential
        frame = gsd.to_frame()
        name = self.hypotheses[0] if hypothesis is None else hypothesis
        if name not in self.hypotheses:
            raise ValueError(
                f"hypothesis={hypothesis!r} is not one of the required "
                f"hypotheses {list(self.hypotheses)}"
            )
        stat = _statistic(self.family, name, gsd)
        up, low = _crossing(gsd, stat)
        frame.insert(2, "n_total", list(self.n_total_per_look))
        if isinstance(stat, IntersectionUnion):
            # H0 of the min test: the global null, both comparisons without effect
            up0, low0 = _crossing(gsd, stat, (0.0, 0.0))
            frame["stop_efficacy_h0"] = up0
            frame["stop_futility_h0"] = low0 if gsd.futility is not None else 0.0
        frame["stop_efficacy_h1"] = up
        frame["stop_futility_h1"] = low if gsd.futility is not None else 0.0
        frame["power"] = np.cumsum(up)
        return frame.drop(columns=["information"])

    def __repr__(self) -> str:
        gsd = self.sequential
        n = self.n_per_cell
        per_cell = n if isinstance(n, int) else dict(n)
        looks = ", ".join(str(v) for v in self.n_total_per_look)
        exp = self.expected_n_total
        lines = [
            f"Group-sequential sample size for power >= {self.target:g} on "
            f"{', '.join(self.hypotheses)} ({gsd.n_looks} looks, "
            f"{'one' if gsd.sided == 1 else 'two'}-sided alpha={gsd.alpha:g}, "
            f"inflation factor {gsd.inflation_factor:.3f})",
            f"  maximum n_per_cell = {per_cell}",
            f"  maximum n_total    = {self.n_total} analysed (fixed design: "
            f"{self.n_total_fixed:.1f})",
            f"  n_randomized       = {self.n_randomized} (after dropout)",
            f"  n_total at looks   = {looks}",
            f"  expected n_total   = {exp['H0']:.1f} under H0, {exp['H1']:.1f} under H1"
            + (f" ({self.hypotheses[0]})" if len(self.hypotheses) > 1 else ""),
            "  achieved power: " + ", ".join(f"{h} {p:.4f}" for h, p in self.powers.items()),
            f"  method: {self.method}",
        ]
        return "\n".join(lines)

    __str__ = __repr__


def check_sequential(sequential: Any) -> GroupSequential:
    """Return ``sequential`` if it is a :class:`GroupSequential`; else a TypeError."""
    if not isinstance(sequential, GroupSequential):
        raise TypeError(
            f"sequential must be a tp.GroupSequential(...) design; got sequential={sequential!r}"
        )
    return sequential


def _check_level(family: StatisticFamily, gsd: GroupSequential) -> None:
    """The design's per-tail level must be the sequential test's."""
    design_level = family.alpha / family.sided
    gsd_level = gsd.alpha / gsd.sided
    if not math.isclose(design_level, gsd_level, rel_tol=1e-9):
        raise ValueError(
            f"sequential={'one' if gsd.sided == 1 else 'two'}-sided alpha={gsd.alpha:g} "
            f"({gsd_level:g} per tail) disagrees with the design's "
            f"{'one' if family.sided == 1 else 'two'}-sided alpha={family.alpha:g} "
            f"({design_level:g} per tail); give both the same level"
        )


Statistic = TestStatistic | IntersectionUnion


def _statistic(family: StatisticFamily, name: str, gsd: GroupSequential) -> Statistic:
    """The hypothesis' statistic, checked to be one the sequential engine handles."""
    stat = family[name]
    if isinstance(stat, IntersectionUnion):
        if len(stat.components) != 2:
            raise ValueError(
                f"hypothesis {name!r} is an intersection-union test of "
                f"{len(stat.components)} comparisons; group-sequential designs take "
                "intersection-union tests of two comparisons (the combination of a 2x2 "
                "factorial) or single-contrast hypotheses"
            )
        if gsd.sided != 1:
            level = gsd.alpha / gsd.sided
            raise ValueError(
                f"hypothesis {name!r} is a one-sided intersection-union test; its "
                f"group-sequential version needs a one-sided design: use "
                f"tp.GroupSequential(sided=1, alpha={level:g}, ...) (each comparison at "
                f"one-sided {level:g}); got sided={gsd.sided}"
            )
        rho = float(stat.correlation[0, 1])
        if not abs(rho) <= _MAX_COMBINATION_CORR:
            raise ValueError(
                f"hypothesis {name!r}: its two comparisons have correlation {rho:.4f}; "
                f"the sequential engine takes |correlation| <= {_MAX_COMBINATION_CORR} "
                "(a more balanced allocation brings it down)"
            )
    return stat


def check_sequential_statistic(
    family: StatisticFamily, name: str, sequential: GroupSequential
) -> Statistic:
    """Check that the sequential engines handle hypothesis ``name`` (used by simulation too).

    Raises
    ------
    ValueError
        For an intersection-union test of more than two comparisons, one under
        a two-sided design, or two comparisons correlated beyond 0.99.
    """
    return _statistic(family, name, check_sequential(sequential))


def _drift(stat: TestStatistic, gsd: GroupSequential) -> float:
    """Theta sqrt(I) oriented so that rejection is in the upper tail."""
    if gsd.sided == 2:
        return abs(stat.effect) / stat.se
    return stat.favourable * stat.effect / stat.se


def _drifts(stat: Statistic, gsd: GroupSequential) -> tuple[float, ...]:
    if isinstance(stat, IntersectionUnion):
        return tuple(s.favourable * s.effect / s.se for s in stat.components)
    return (_drift(stat, gsd),)


def _crossing(
    gsd: GroupSequential, stat: Statistic, drifts: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look P(stop for efficacy) and P(stop below) of the hypothesis' sequential test.

    ``drifts`` overrides the statistic's own (e.g. zeros for the global null).
    """
    d = _drifts(stat, gsd) if drifts is None else tuple(drifts)
    if isinstance(stat, IntersectionUnion):
        return combination_crossings(
            np.array(gsd.info_fractions),
            gsd._lower,
            gsd._solution.efficacy,
            d,
            float(stat.correlation[0, 1]),
            min(gsd.grid_points, _BIVARIATE_GRID),
        )
    return gsd.crossing_probabilities(d[0])


def _expected_fraction(gsd: GroupSequential, up: np.ndarray, low: np.ndarray) -> float:
    """``sum_k P(stop at look k) t_k``, the trial running to the end otherwise."""
    stop = up + low
    stop[-1] = 1.0 - stop[:-1].sum()
    return float(np.dot(stop, gsd.info_fractions))


def _expected_n(
    gsd: GroupSequential,
    stat: Statistic,
    n_total: float,
    h1: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Expected analysed participants at stopping, no effect (H0) and planned (H1)."""
    zeros = (0.0,) * len(_drifts(stat, gsd))
    h1 = _crossing(gsd, stat) if h1 is None else h1
    return {
        "H0": n_total * _expected_fraction(gsd, *_crossing(gsd, stat, zeros)),
        "H1": n_total * _expected_fraction(gsd, *h1),
    }


def _fixed_scale(stat: Statistic, gsd: GroupSequential, target: float) -> float:
    """Factor on the information at which a fixed z test (one look) has ``target`` power.

    The canonical normal approximation; for the min test the exact bivariate
    normal power of the two comparisons at the final level.
    """
    z_level = float(special.ndtri(1.0 - gsd.alpha / gsd.sided))
    drifts = np.array(_drifts(stat, gsd))
    if not isinstance(stat, IntersectionUnion):
        return float((z_level + special.ndtri(target)) ** 2 / drifts[0] ** 2)
    crit = np.full(2, z_level)
    corr = np.asarray(stat.correlation)

    def shortfall(scale: float) -> float:
        return joint_power(drifts * math.sqrt(scale), crit, corr, math.inf) - target

    hi = 1.0
    while shortfall(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(shortfall, 1e-9, hi, xtol=1e-12, rtol=1e-12))


def _method_text(gsd: GroupSequential, stat: Statistic) -> str:
    if isinstance(stat, IntersectionUnion):
        text = (
            f"group-sequential intersection-union (min) test, {gsd.n_looks} looks: both "
            "comparisons must cross the efficacy bound at the same look; bivariate "
            "recursive integration of their canonical joint normal statistics "
            "(accuracy about 1e-6); "
        )
        return text + (_NORMAL_NOTE if math.isfinite(stat.df) else stat.components[0].method)
    text = (
        f"group-sequential, {gsd.n_looks} looks, exact recursive integration "
        "(Armitage-McPherson-Rowe) of the canonical normal statistics; "
    )
    return text + (_NORMAL_NOTE if math.isfinite(stat.df) else stat.method)


def _look_sizes(gsd: GroupSequential, n_total: float) -> tuple[int, ...]:
    return tuple(math.ceil(t * n_total - 1e-9) for t in gsd.info_fractions)


def _looks_table(
    gsd: GroupSequential, n_total: float, up: np.ndarray, low: np.ndarray
) -> pd.DataFrame:
    import pandas as pd  # deferred: pandas is heavy and only frames need it

    return pd.DataFrame(
        {
            "look": np.arange(1, gsd.n_looks + 1),
            "info_fraction": gsd.info_fractions,
            "n_total": list(_look_sizes(gsd, n_total)),
            "stop_efficacy": up,
            "stop_futility": low if gsd.futility is not None else np.zeros(gsd.n_looks),
            "power": np.cumsum(up),
        }
    )


def sequential_sample_size(
    family: StatisticFamily, *, power: float, sequential: GroupSequential
) -> SizeSearch:
    """Maximum size at which every hypothesis of ``family`` reaches ``power`` sequentially.

    Each hypothesis is solved on its own by the one integer search
    (:func:`trialplan.power.sample_size_search`) on ``family.scaled(k)``,
    starting from the fixed design's normal approximation times the
    inflation factor; the largest multiplier is kept.  Called by
    ``design.sample_size(power=, hypothesis=, sequential=gsd)``.

    Parameters
    ----------
    family : StatisticFamily
        The required hypotheses at the design's planned sizes.
    power : float
        Target power in (0, 1).
    sequential : GroupSequential
        The group-sequential test; with beta-spending futility bounds at
        another beta it is re-solved at ``beta = 1 - power``.

    Returns
    -------
    SizeSearch
        With ``result_type`` :class:`SequentialSampleSizeResult`.

    Raises
    ------
    ValueError
        For a level that disagrees with the family's, an effect that is zero
        or unfavourable for the one-sided sequential test, or a target out
        of the search's reach.
    """
    gsd = check_sequential(sequential)
    target = check_open_unit("power", power)
    if target > 1.0 - MIN_BETA:
        raise ValueError(
            f"power must be at most {1 - MIN_BETA:g} with sequential=: the recursive "
            "integration computes crossing probabilities to about 1e-8, too coarse for a "
            f"type II error below {MIN_BETA:g}; got power={power!r}"
        )
    names = family.hypotheses
    _check_level(family, gsd)
    note = ""
    if gsd.futility is not None and not math.isclose(1.0 - gsd.beta, target, abs_tol=1e-12):
        gsd = gsd.replace(beta=1.0 - target)  # futility bounds are solved at this power
        note = f"; futility bounds re-solved at beta={gsd.beta:g} for the target power"
    stats_ = [_statistic(family, name, gsd) for name in names]
    for name, stat in zip(names, stats_, strict=True):
        if min(_drifts(stat, gsd)) <= 0:
            parts = stat.components if isinstance(stat, IntersectionUnion) else (stat,)
            effects = ", ".join(f"{s.effect:g}" for s in parts)
            raise ValueError(
                f"power={target} is out of reach for {name!r}: its planned "
                f"effect ({effects}) is zero or in the unfavourable direction "
                "for the one-sided sequential test"
            )
    multipliers, evaluations = [], 0
    for name, stat in zip(names, stats_, strict=True):
        one = family.select([name])

        def power_of(fam: StatisticFamily, name: str = name) -> tuple[float, Mapping[str, float]]:
            value = float(_crossing(gsd, _statistic(fam, name, gsd))[0].sum())
            return value, {name: value}

        # the fixed design's normal approximation times the inflation factor
        guess = family.multiplier * _fixed_scale(stat, gsd, target) * gsd.inflation_factor
        found = sample_size_search(one, power=target, power_of=power_of, guess=guess)
        multipliers.append(found.multiplier)
        evaluations += found.evaluations
    final = family.scaled(max(multipliers))
    n_max = final.n_total
    powers, expected, fixed, methods = {}, {}, {}, []
    for name in names:
        s = _statistic(final, name, gsd)
        h1 = _crossing(gsd, s)
        powers[name] = min(1.0, float(h1[0].sum()))
        expected[name] = _expected_n(gsd, s, n_max, h1)
        fixed[name] = n_max * _fixed_scale(s, gsd, target)
        methods.append(_method_text(gsd, s))
    return SizeSearch(
        multiplier=max(multipliers),
        family=final,
        power=min(powers.values()),
        powers=powers,
        evaluations=evaluations,
        method="; ".join(dict.fromkeys(methods)) + note,
        hypotheses=tuple(names),
        extras={"expected_n_total": expected, "n_total_fixed": fixed},
        result_type=SequentialSampleSizeResult,
        result_fields={
            "sequential": gsd,
            "n_total_per_look": _look_sizes(gsd, n_max),
            "expected_n_total": expected[names[0]],
            "n_total_fixed": max(fixed.values()),
            "family": final,
        },
    )


def sequential_power(family: StatisticFamily, *, sequential: GroupSequential) -> PowerResult:
    """Power of the group-sequential test of every hypothesis of ``family``.

    Called by ``design.power(sequential=gsd)``.  Each hypothesis is tested on
    the bounds of ``sequential`` at the family's sizes (its final look); the
    result's ``extras["stopping"]`` holds each hypothesis' stopping
    probabilities per look, and ``result.expected_n`` the expected total size
    at stopping under the planned effects (the first hypothesis' test; every
    hypothesis' in ``result.expected_n_by_hypothesis``).

    Parameters
    ----------
    family : StatisticFamily
        The hypotheses at the final look's sizes.
    sequential : GroupSequential
        The group-sequential test.

    Returns
    -------
    PowerResult
        ``summary`` describes the looks; the design adds its own description.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=127)
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = sequential_power(d.statistics("A:B"), sequential=gsd)
    >>> round(res["A:B"], 3), round(res.expected_n, 1)
    (0.803, 465.9)
    """
    gsd = check_sequential(sequential)
    _check_level(family, gsd)
    n_total = family.n_total
    rows, stopping, expected = [], {}, {}
    for name in family.hypotheses:
        stat = _statistic(family, name, gsd)
        up, low = _crossing(gsd, stat)
        seq_power = min(1.0, float(up.sum()))
        if isinstance(stat, IntersectionUnion):
            weak = stat.weakest
            rows.append(
                PowerRow(
                    hypothesis=name,
                    estimand=stat.estimand,
                    effect=weak.effect,
                    se=weak.se,
                    df=weak.df,
                    critical_value=float(gsd.efficacy_z[-1]),
                    power=seq_power,
                    method=_method_text(gsd, stat),
                    scale=weak.scale,
                )
            )
        else:
            drift = _drift(stat, gsd)
            rows.append(
                PowerRow(
                    hypothesis=name,
                    estimand=stat.estimand,
                    effect=stat.effect,
                    se=stat.se,
                    df=stat.df,
                    critical_value=float(gsd.efficacy_z[-1]),
                    power=seq_power,
                    method=_method_text(gsd, stat),
                    noncentrality=drift**2,
                    scale=stat.scale,
                )
            )
        stopping[name] = _looks_table(gsd, n_total, up, low)
        expected[name] = _expected_n(gsd, stat, n_total, (up, low))
    summary = (
        f"group-sequential: {gsd.n_looks} looks at "
        f"{', '.join(f'{t:.3g}' for t in gsd.info_fractions)} of N={_count(n_total)}"
    )
    first = family.hypotheses[0]
    return PowerResult(
        rows=tuple(rows),
        summary=summary,
        method="analytic",
        extras={
            "sequential": gsd,
            "stopping": stopping,
            "expected_n_total": expected,
            "expected_n": expected[first]["H1"],
            "expected_n_by_hypothesis": {h: v["H1"] for h, v in expected.items()},
        },
    )


def _count(n: float) -> Any:
    return int(round(n)) if abs(n - round(n)) < 1e-9 else round(n, 3)
