"""Inference after an adaptive trial: repeated p-values and CIs, final p-value, CI and estimate.

Input: each stage's own estimate ``theta_k`` (on the analysis scale), its
standard error ``se_k`` and degrees of freedom (``inf`` for z tests), as the
stage-wise analysis gives them.  With the favourable direction oriented up,
the stage-wise statistic for a hypothesised effect ``theta`` is

    z_k(theta) = Phi^{-1}(F_{t, df_k}((theta_k - theta) / se_k))

(the z statistic itself for ``df = inf``), uniform-based and independent of
the earlier stages under ``theta`` whatever the interim decided.

* Repeated confidence interval at stage k (Jennison & Turnbull 2000, ch. 9;
  Wassmer & Brannath 2016, section 8.1): ``{theta : -b_k < Z*_k(theta) < b_k}``,
  the two-sided ``1 - 2 alpha`` interval of the one-sided level-alpha design,
  ``Z*_k`` the CHW combination of the shifted ``z_i(theta)`` (Fisher's test:
  ``prod p_i(theta)^{v_i} > c_k`` in both directions).
* Repeated p-value at stage k: the smallest level at which the stage-k bound
  of the same design (same spending function, level alpha') is crossed.
* Final analysis (stage-wise ordering; Wassmer & Brannath 2016, chapter 8):
  the trial stopped at stage s (first efficacy crossing, binding futility
  stop, or the last stage); its outcomes are ordered by stopping stage, then
  by the combination statistic.  The final p-value is the null probability of
  an outcome at least as extreme; the final confidence limits and the
  median-unbiased estimate are the effects at which that probability is
  ``alpha``, ``1 - alpha`` and ``1/2``.  Under an effect ``theta`` the
  combination statistics keep the null correlation, with means
  ``theta sum_{i<=j} w_i / se_i / sqrt(t_j)``, so these probabilities are the
  group-sequential recursion through shifted bounds (rpact's approach; exact
  for two stages and for sizes not changed by the data, Brannath, Mehta &
  Posch 2009).
* Fisher's product test, same stage-wise ordering: under ``theta`` the
  stage-wise ``z_i ~ N(theta / se_i, 1)`` are independent, ``p_i = Phi(-z_i)``,
  and ``p(theta)`` = P(reject at a stage before s) + P(reach stage s with
  ``prod p_i^{v_i}`` at most the observed product), binding futility
  (``p_i >= alpha0_i``) followed when the design binds.  Stage s's part given
  the earlier stages is a normal tail in closed form; the earlier stages are
  integrated out by nested Gauss-Legendre quadrature over each ``z_i`` on its
  continuation interval (panels of one SD on ``theta / se_i +- 10``, cut at
  every kink of the integrand and refined geometrically towards the points
  where a later stage's rejection becomes certain; about 1e-10 against a
  doubled rule, and ``p(0)`` equals the exact null law of the final p-value to
  1e-13).  rpact 3.3.4 does not compute this interval for Fisher's design.

References
----------
.. [1] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016, chapters 6 and 8.
.. [2] Jennison C, Turnbull BW. Group Sequential Methods with Applications to
   Clinical Trials. Chapman & Hall/CRC 2000, chapter 9.
.. [3] Brannath W, Mehta CR, Posch M. Exact confidence bounds following
   adaptive group sequential tests. Biometrics 2009;65:539-546.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial import legendre
from scipy import optimize, special

from trialplan.adaptive.combination import FisherCombination, _fisher_exits, stage_test
from trialplan.sequential import crossing_probabilities

__all__ = ["FinalAnalysis", "final_analysis"]

_STOPPED = {"efficacy", "futility", "end"}

#: Most stages the nested quadrature of Fisher's final interval integrates over
#: (the last stage is closed form): the cost grows as (nodes per stage)^(stages - 1),
#: about 0.02 s per p(theta) with three stages and several minutes with four.
_FISHER_MAX_STAGE = 3
#: Gauss-Legendre nodes per panel, and the panels: one SD wide on delta +- _SPAN
_FISHER_X, _FISHER_W = legendre.leggauss(10)
_SPAN = 10.0  # N(0, 1) mass beyond 10 SD: 7.6e-24
_GRID = np.linspace(-_SPAN, _SPAN, 21)
#: Geometric refinement below a point where a later stage's rejection becomes certain:
#: there the integrand's derivative is unbounded (p -> 1 with theta != 0).
_GRADE = 2.0 ** -np.arange(0, 22)


def _z(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Turn t statistics into z through their p-values (the identity for df = inf)."""
    out = np.array(t, dtype=float)
    finite = np.isfinite(df)
    if np.any(finite):
        tt = out[finite]
        out[finite] = np.sign(tt) * -special.ndtri(special.stdtr(df[finite], -np.abs(tt)))
    return out


@dataclass(frozen=True, kw_only=True)
class FinalAnalysis:
    """Decisions and inference of an adaptive trial from its stage-wise estimates.

    Attributes
    ----------
    stage : int
        The stage at which the trial stopped (or the last stage analysed).
    outcome : {"efficacy", "futility", "end", "continue"}
        Why it stopped; ``"continue"``: the trial goes on (no final inference).
    rejected : bool
        Whether H0 is rejected.
    stage_z : numpy.ndarray
        Stage-wise z statistics (favourable direction up).
    combination : numpy.ndarray
        The combination statistic after each stage (inverse normal ``Z*_k``;
        Fisher: the weighted product of p-values).
    repeated_p_values : numpy.ndarray
        Repeated p-value of each stage.
    repeated_ci : numpy.ndarray
        Shape ``(stages, 2)``: repeated confidence interval of each stage, on
        the effect scale (level ``1 - 2 alpha``).
    final_p_value : float
        One-sided p-value by the stage-wise ordering (NaN while the trial
        continues).
    final_ci : tuple of float
        Final two-sided ``1 - 2 alpha`` confidence interval (stage-wise
        ordering; Fisher's test: for trials stopped by stage 3).
    median_unbiased : float
        Median-unbiased estimate of the effect (stage-wise ordering; Fisher's
        test: for trials stopped by stage 3).
    notes : tuple of str
        What was not computed and why.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.adaptive import final_analysis
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = final_analysis(gsd, estimates=[0.5], standard_errors=[0.4])
    >>> res.outcome, res.notes[0][:29]
    ('continue', 'the trial continues after sta')
    """

    stage: int
    outcome: str
    rejected: bool
    stage_z: np.ndarray = field(repr=False)
    combination: np.ndarray = field(repr=False)
    repeated_p_values: np.ndarray = field(repr=False)
    repeated_ci: np.ndarray = field(repr=False)
    final_p_value: float
    final_ci: tuple[float, float]
    median_unbiased: float
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per stage analysed: z, combination, repeated p-value and CI.

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.adaptive import final_analysis
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> res = final_analysis(gsd, estimates=[2.0, 3.5], standard_errors=[1.2, 1.1])
        >>> res.to_frame().columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
        ['stage', 'stage_z', 'combination', 'repeated_p_value', 'repeated_ci_lower',
         'repeated_ci_upper']
        """
        k = self.stage_z.size
        return pd.DataFrame(
            {
                "stage": np.arange(1, k + 1),
                "stage_z": self.stage_z,
                "combination": self.combination,
                "repeated_p_value": self.repeated_p_values,
                "repeated_ci_lower": self.repeated_ci[:, 0],
                "repeated_ci_upper": self.repeated_ci[:, 1],
            }
        )

    def __repr__(self) -> str:
        head = (
            f"Adaptive trial stopped at stage {self.stage} ({self.outcome}); H0 "
            f"{'rejected' if self.rejected else 'not rejected'}"
        )
        if self.outcome != "continue":
            head += (
                f"; final p-value {self.final_p_value:.4g}, median-unbiased estimate "
                f"{self.median_unbiased:.4g}, final CI ({self.final_ci[0]:.4g}, "
                f"{self.final_ci[1]:.4g})"
            )
        body = self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}")
        return "\n".join([head, body, *self.notes])

    __str__ = __repr__


class _Stages:
    """Stage-wise estimates oriented so that large values are favourable."""

    def __init__(self, estimates: Any, ses: Any, df: Any, favourable: int) -> None:
        theta = np.asarray(estimates, dtype=float)
        se = np.asarray(ses, dtype=float)
        if theta.ndim != 1 or theta.size < 1 or se.shape != theta.shape:
            raise ValueError(
                "estimates and standard_errors must be sequences of the same length, one per "
                f"stage analysed; got {estimates!r} and {ses!r}"
            )
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"estimates must be finite; got {estimates!r}")
        if not np.all(np.isfinite(se) & (se > 0)):
            raise ValueError(f"standard_errors must be finite and > 0; got {ses!r}")
        dfs = np.broadcast_to(
            np.asarray(math.inf if df is None else df, dtype=float), theta.shape
        ).copy()
        if np.any(~(dfs > 0)):
            raise ValueError(f"df must be > 0 (math.inf for z tests); got df={df!r}")
        if favourable not in (1, -1) or isinstance(favourable, bool):
            raise ValueError(f"favourable must be +1 or -1; got favourable={favourable!r}")
        self.sign = favourable
        self.theta = favourable * theta
        self.se = se
        self.df = dfs

    def z(self, effect: float = 0.0, upto: int | None = None) -> np.ndarray:
        k = self.theta.size if upto is None else upto
        return _z((self.theta[:k] - effect) / self.se[:k], self.df[:k])


def _combine(test: Any, z: np.ndarray) -> np.ndarray:
    """Combination statistic after each stage (inverse normal Z*, or Fisher's log product)."""
    if test.kind == "fisher":
        return np.cumsum(test.weights[: z.size] * special.log_ndtr(-z))
    return np.cumsum(test.weights[: z.size] * z) / np.sqrt(test.info_fractions[: z.size])


def _rejects(test: Any, stat: float, k: int) -> bool:
    if test.kind == "fisher":
        return bool(stat <= test.log_crit[k])
    return bool(stat >= test.upper[k])


def _solve(fun: Any, lo: float, hi: float) -> float:
    """Root of an increasing ``fun`` on a bracket that widens as needed."""
    f_lo, f_hi = fun(lo), fun(hi)
    for _ in range(80):
        if f_lo > 0:
            lo, hi, f_hi = lo - 2.0 * (hi - lo), lo, f_lo
            f_lo = fun(lo)
        elif f_hi < 0:
            lo, hi, f_lo = hi, hi + 2.0 * (hi - lo), f_hi
            f_hi = fun(hi)
        else:
            return float(optimize.brentq(fun, lo, hi, xtol=1e-12, rtol=1e-12))
    raise ValueError("no solution found for the confidence bound")  # pragma: no cover


def final_analysis(
    sequential: Any,
    *,
    estimates: Sequence[float],
    standard_errors: Sequence[float],
    df: Any = None,
    favourable: int = 1,
) -> FinalAnalysis:
    """Analyse an adaptive trial from its stage-wise estimates.

    Parameters
    ----------
    sequential : GroupSequential or FisherCombination
        The one-sided combination test (its looks, weights and bounds).
    estimates : sequence of float
        Each stage's own effect estimate on the analysis scale, stages 1..k
        (k at most the number of stages).
    standard_errors : sequence of float
        Their standard errors.
    df : float or sequence of float, optional
        Degrees of freedom of each stage's t statistic (``None``: z tests).
    favourable : {1, -1}, default 1
        Sign of a favourable effect (-1 when lower is better).

    Returns
    -------
    FinalAnalysis
        Fisher's test: the final interval and the median-unbiased estimate
        are computed for trials stopped by stage 3 (nested quadrature; NaN
        with a note after a later stop).  With t statistics (finite ``df``)
        the effect shifts each stage's z by ``theta / se_k``, as for the
        inverse normal test.

    Raises
    ------
    ValueError
        For mismatched or non-finite inputs, more stages than the design has,
        or a two-sided design.

    References
    ----------
    .. [1] Wassmer G, Brannath W. Springer 2016, chapter 8.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.adaptive import final_analysis
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = final_analysis(gsd, estimates=[2.0, 3.5], standard_errors=[1.2, 1.1])
    >>> res.stage, res.outcome, res.rejected
    (2, 'efficacy', True)
    >>> # 1 - P(Z*_1 < 2.9626, Z*_2 < 3.1833), bivariate normal with correlation sqrt(1/2)
    >>> round(res.final_p_value, 5), [round(v, 3) for v in res.final_ci]
    (0.00173, [0.983, 4.338])

    Fisher's product test: the final interval and the median-unbiased estimate
    by the same stage-wise ordering (a brute-force simulation of 10 million
    trials at each limit gives 2.5 %, 97.5 % and 50 % within 4 MCSE,
    tests/references/fisher_final_ci_bruteforce.py):

    >>> from trialplan.adaptive import FisherCombination
    >>> fisher = FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = final_analysis(fisher, estimates=[0.35, 0.45], standard_errors=[0.2, 0.14])
    >>> res.outcome, round(res.final_p_value, 5)
    ('efficacy', 0.0159)
    >>> [round(v, 4) for v in res.final_ci], round(res.median_unbiased, 4)
    ([0.0368, 0.6132], 0.3632)
    """
    test = stage_test(sequential)
    data = _Stages(estimates, standard_errors, df, favourable)
    k_obs = data.theta.size
    if k_obs > test.n_looks:
        raise ValueError(
            f"{k_obs} stages given but the design has {test.n_looks}; allowed: at most "
            f"{test.n_looks}"
        )
    z = data.z()
    comb = _combine(test, z)
    stage, outcome = k_obs, "continue"
    binding = bool(getattr(sequential, "binding", False))
    for k in range(k_obs):
        if _rejects(test, comb[k], k):
            stage, outcome = k + 1, "efficacy"
            break
        if binding and k < test.n_looks - 1 and _futile(test, z[k], comb[k], k):
            stage, outcome = k + 1, "futility"
            break
    else:
        if k_obs == test.n_looks:
            outcome = "end"
    notes: list[str] = []
    rep_p = np.array([_repeated_p(sequential, test, comb[k], k) for k in range(k_obs)])
    rep_ci = np.array([_repeated_ci(test, data, k) for k in range(k_obs)])
    final_p, ci, mue = math.nan, (math.nan, math.nan), math.nan
    if outcome == "continue":
        notes.append(
            f"the trial continues after stage {k_obs}: final p-value, confidence interval and "
            "median-unbiased estimate are given once it stops"
        )
    else:
        final_p = _final_p(test, data, comb, stage, binding)
        if test.kind == "fisher":
            if stage > _FISHER_MAX_STAGE:
                notes.append(
                    f"final confidence interval and median-unbiased estimate of Fisher's test "
                    f"are computed for trials stopped by stage {_FISHER_MAX_STAGE} (nested "
                    f"quadrature); this one stopped at stage {stage}: use the repeated intervals"
                )
            else:
                p_null = _fisher_tail(test, data, comb, stage, binding, 0.0)
                if abs(p_null - final_p) > 1e-8:  # pragma: no cover - consistency guard
                    notes.append(
                        "final confidence interval and median-unbiased estimate not given: "
                        f"the quadrature's p(0) = {p_null:.10g} differs from the exact null "
                        f"final p-value {final_p:.10g} by more than 1e-8"
                    )
                else:
                    ci, mue = _fisher_final_ci(test, data, comb, stage, binding)
        else:
            ci, mue = _final_ci(test, data, comb, stage, binding)
            if test.n_looks > 2 and stage > 1:
                notes.append(
                    "final confidence interval and estimate by the shifted combination "
                    "statistic: exact for two stages or unchanged sizes (Brannath, Mehta & "
                    "Posch 2009), approximate after size changes with three or more stages"
                )
    sign = data.sign
    rep_ci = np.sort(rep_ci * sign, axis=1)
    if math.isfinite(mue):
        ci = tuple(sorted((sign * ci[0], sign * ci[1])))  # type: ignore[assignment]
        mue = sign * mue
    return FinalAnalysis(
        stage=stage,
        outcome=outcome,
        rejected=outcome == "efficacy",
        stage_z=z,
        combination=np.exp(comb) if test.kind == "fisher" else comb,
        repeated_p_values=rep_p,
        repeated_ci=rep_ci,
        final_p_value=float(final_p),
        final_ci=(float(ci[0]), float(ci[1])),
        median_unbiased=float(mue),
        notes=tuple(notes),
    )


def _futile(test: Any, z: float, stat: float, k: int) -> bool:
    if test.kind == "fisher":
        return bool(special.log_ndtr(-z) >= math.log(test.alpha0[k]))
    return bool(stat <= test.lower[k])


def _repeated_p(sequential: Any, test: Any, stat: float, k: int) -> float:
    """Smallest alpha' at which the stage-k bound of the same design is crossed."""
    if test.kind == "fisher" and sequential.method == "equal_alpha" and not sequential.binding:
        # Equal local levels: the stage-k bound is crossed at level alpha' iff the local
        # level of the observed product, L = P_0(prod_{i<=k} p_i^{v_i} <= F_k), is at most
        # the design's local level, so the repeated p-value is the size of the design whose
        # local levels all equal L.
        local = sequential._level(k + 1, math.exp(stat))
        k_max = sequential.n_looks
        crit = np.array([sequential._crit_for_level(j, local) for j in range(1, k_max + 1)])
        size = float(sequential._exits(crit, np.ones(k_max - 1))[0].sum())
        return min(max(size, 1e-10), 0.4999)

    def crossed(level: float) -> float:
        if test.kind == "fisher":
            method = sequential.method
            if isinstance(method, tuple):  # cumulative alpha: rescale to the level
                method = tuple(a * level / sequential.alpha for a in method)
            design = FisherCombination(
                info_fractions=sequential.info_fractions,
                alpha=level,
                method=method,
                # the no-interaction method is defined by its binding futility bounds, so
                # they stay in the design at every level; other methods are solved at
                # the level as before (the spending solve has no root for some binding
                # designs at large levels)
                **(
                    {"alpha0": sequential.alpha0, "binding": True}
                    if sequential.method == "no_interaction"
                    else {}
                ),
            )
            return float(math.log(design.critical_values[k]) - stat)  # > 0: rejects
        gsd = sequential.replace(alpha=level, futility=None, binding=False)
        return float(stat - gsd.efficacy_z[k])  # > 0: rejects

    lo, hi = 1e-10, 0.4999
    if test.kind == "fisher" and sequential.method == "no_interaction":
        # the design's futility p-value bounds must stay above its level
        hi = min(hi, min(sequential.alpha0, default=1.0) * (1.0 - 1e-9))
    if crossed(lo) > 0:
        return lo
    if crossed(hi) < 0:
        return hi
    return float(optimize.brentq(crossed, lo, hi, xtol=1e-10, rtol=1e-8))


def _repeated_ci(test: Any, data: _Stages, k: int) -> tuple[float, float]:
    """Repeated two-sided interval after stage k (0-based), oriented scale."""
    centre = data.theta[k]
    width = data.se[k]
    if test.kind == "fisher":
        log_c = test.log_crit[k]
        v = test.weights[: k + 1]

        def lower(theta: float) -> float:  # increasing: log prod p_i(theta) - log c
            z = data.z(theta, k + 1)
            return float(np.sum(v * special.log_ndtr(-z)) - log_c)

        def upper(theta: float) -> float:  # decreasing in theta for the other tail
            z = data.z(theta, k + 1)
            return float(-(np.sum(v * special.log_ndtr(z)) - log_c))

        return (
            _solve(lower, centre - 4 * width, centre),
            _solve(upper, centre, centre + 4 * width),
        )
    b = test.upper[k]
    w = test.weights[: k + 1]
    root_t = math.sqrt(test.info_fractions[k])

    def stat(theta: float) -> float:
        return float(np.sum(w * data.z(theta, k + 1)) / root_t)

    return (
        _solve(lambda th: b - stat(th), centre - 4 * width, centre),
        _solve(lambda th: -b - stat(th), centre, centre + 4 * width),
    )


def _final_p(test: Any, data: _Stages, comb: np.ndarray, stage: int, binding: bool) -> float:
    """Stage-wise ordering p-value under H0."""
    s = stage - 1
    if test.kind == "fisher":
        crit = np.concatenate([test.log_crit[:s], [comb[s]]])
        alpha0 = np.array(test.alpha0[:s]) if binding else np.ones(s)
        reject, _ = _fisher_exits(test.weights[: s + 1], crit, np.log(alpha0))
        return float(reject.sum())
    return _tail(test, comb[s], s, binding, shift=np.zeros(s + 1))


def _tail(test: Any, observed: float, s: int, binding: bool, shift: np.ndarray) -> float:
    """P(stop for efficacy before stage s + 1, or reach it with Z*_s >= observed)."""
    if s == 0:
        return float(special.ndtr(shift[0] - observed))
    upper = np.concatenate([test.upper[:s], [observed]]) - shift
    lower = np.full(s + 1, -np.inf)
    if binding:
        lower[:s] = test.lower[:s] - shift[:s]
    up, _ = crossing_probabilities(test.info_fractions[: s + 1], lower, upper)
    return float(up.sum())


def _final_ci(
    test: Any, data: _Stages, comb: np.ndarray, stage: int, binding: bool
) -> tuple[tuple[float, float], float]:
    s = stage - 1
    w = test.weights[: s + 1]
    t = test.info_fractions[: s + 1]
    drift = np.cumsum(w / data.se[: s + 1]) / np.sqrt(t)  # mean of Z*_j per unit of effect
    alpha = test.alpha
    centre = float(comb[s] / drift[s])
    width = 1.0 / float(drift[s])

    def tail(theta: float) -> float:
        return _tail(test, comb[s], s, binding, shift=theta * drift)

    lower = _solve(lambda th: tail(th) - alpha, centre - 6 * width, centre + 6 * width)
    upper = _solve(lambda th: tail(th) - (1.0 - alpha), centre - 6 * width, centre + 6 * width)
    mue = _solve(lambda th: tail(th) - 0.5, centre - 6 * width, centre + 6 * width)
    return (lower, upper), mue


def _z_of_log_p(x: np.ndarray) -> np.ndarray:
    """``z`` with ``log Phi(-z) = x`` for ``x < 0`` (``-inf`` for ``x >= 0``), exact near p = 1."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -np.inf)
    small = x < math.log(0.5)
    mid = ~small & (x < 0.0)
    out[small] = -special.ndtri(np.exp(x[small]))
    out[mid] = special.ndtri(-np.expm1(x[mid]))
    return out


def _fisher_nodes(
    a: np.ndarray,
    b: np.ndarray,
    delta: float,
    plain: list[np.ndarray],
    graded: list[np.ndarray],
    both: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on ``[a, b]`` per row (empty when ``b <= a``).

    Panels are one SD wide on ``delta + _GRID``, cut at the ``plain`` points and
    refined geometrically below the ``graded`` points and on both sides of the
    ``both`` points; every row gets the same
    number of panels (those outside ``[a, b]`` have width 0), so the rule is a
    plain array operation.
    """
    b = np.maximum(a, b)
    shape = a.shape
    points = [np.broadcast_to(delta + _GRID, (*shape, _GRID.size)), a[..., None], b[..., None]]
    points += [c[..., None] for c in plain]
    points += [c[..., None] - _GRADE for c in graded + both]
    points += [c[..., None] + _GRADE for c in both]
    ends = np.clip(np.sort(np.concatenate(points, axis=-1), axis=-1), a[..., None], b[..., None])
    half = np.diff(ends, axis=-1)[..., None] / 2.0
    mid = (ends[..., 1:] + ends[..., :-1])[..., None] / 2.0
    z = (mid + half * _FISHER_X).reshape(*shape, -1)
    w = (half * _FISHER_W).reshape(*shape, -1)
    return z, w


def _fisher_p_function(
    weights: np.ndarray, log_crit: np.ndarray, futility_z: np.ndarray, delta: np.ndarray
) -> float:
    """P(reject at a stage j < s, or reach stage s with ``L_s <= log_crit[s - 1]``).

    ``L_j = sum_{i <= j} v_i log Phi(-z_i)`` with independent ``z_i ~ N(delta_i, 1)``;
    stage j < s rejects when ``L_j <= log_crit[j]`` and, with binding futility, stops
    when ``z_j <= futility_z[j]`` (``-inf``: no futility stop).  Given ``L_{j-1}``,
    stage j rejects iff ``z_j >= u_j = z(log p = (log_crit[j] - L_{j-1}) / v_j)``: a
    normal tail; the continuation interval ``(futility_z[j], u_j)`` is integrated
    by :func:`_fisher_nodes`, nested over the stages before s.
    """
    s = weights.size
    if s > _FISHER_MAX_STAGE:
        raise ValueError(
            f"Fisher's final p-value function is computed for trials stopped by stage "
            f"{_FISHER_MAX_STAGE}; got stage {s}"
        )

    def beyond(j: int, ell: np.ndarray) -> np.ndarray:
        # P(reject at stage j or, continuing, an outcome as extreme later | L_{j-1} = ell)
        v = weights[j]
        u = _z_of_log_p((log_crit[j] - ell) / v)
        out = special.ndtr(delta[j] - u)
        if j == s - 1:
            return out
        a = np.maximum(futility_z[j], delta[j] - _SPAN) + np.zeros_like(ell)
        b = np.minimum(u, delta[j] + _SPAN)
        # kinks in z_j: a later stage m rejects for sure once L_j <= log_crit[m] (graded),
        # and its continuation interval empties where its bound u_m meets futility_z[m]
        graded = [_z_of_log_p(np.minimum((log_crit[m] - ell) / v, 0.0)) for m in range(j + 1, s)]
        plain = [
            _z_of_log_p(
                np.minimum(
                    (log_crit[m] - weights[m] * special.log_ndtr(-futility_z[m]) - ell) / v, 0.0
                )
            )
            for m in range(j + 1, s - 1)
            if math.isfinite(futility_z[m])
        ]
        # and, with futility at an intermediate stage m, where the certainty point of a
        # stage after m crosses m's futility bound (a weaker kink, refined on both sides)
        both = [
            _z_of_log_p(
                np.minimum(
                    (log_crit[q] - weights[m] * special.log_ndtr(-futility_z[m]) - ell) / v, 0.0
                )
            )
            for m in range(j + 1, s - 1)
            if math.isfinite(futility_z[m])
            for q in range(m + 1, s)
        ]
        z, w = _fisher_nodes(a, b, float(delta[j]), plain, graded, both)
        density = np.exp(-0.5 * (z - delta[j]) ** 2) / math.sqrt(2.0 * math.pi)
        later = beyond(j + 1, ell[..., None] + v * special.log_ndtr(-z))
        return out + np.sum(w * density * later, axis=-1)

    return float(beyond(0, np.zeros(())))


def _fisher_tail(
    test: Any, data: _Stages, comb: np.ndarray, stage: int, binding: bool, theta: float
) -> float:
    """Stage-wise ordering p-value function p(theta) of Fisher's test (see the module notes)."""
    s = stage - 1
    log_crit = np.concatenate([test.log_crit[:s], [comb[s]]])
    alpha0 = np.array(test.alpha0[:s]) if binding else np.ones(s)
    with np.errstate(divide="ignore"):
        futility_z = np.concatenate([-special.ndtri(alpha0), [-np.inf]])  # stop: z <= this
    return _fisher_p_function(
        np.asarray(test.weights[: s + 1], dtype=float),
        log_crit,
        futility_z,
        theta / data.se[: s + 1],
    )


def _fisher_final_ci(
    test: Any, data: _Stages, comb: np.ndarray, stage: int, binding: bool
) -> tuple[tuple[float, float], float]:
    """Roots of p(theta) = alpha, 1 - alpha and 1/2 (p increases with theta)."""
    s = stage
    precision = 1.0 / data.se[:s] ** 2
    centre = float(np.sum(precision * data.theta[:s]) / np.sum(precision))
    width = float(1.0 / math.sqrt(np.sum(precision)))

    def tail(theta: float) -> float:
        return _fisher_tail(test, data, comb, stage, binding, theta)

    alpha = test.alpha
    lower = _solve(lambda th: tail(th) - alpha, centre - 4 * width, centre)
    upper = _solve(lambda th: tail(th) - (1.0 - alpha), centre, centre + 4 * width)
    mue = _solve(lambda th: tail(th) - 0.5, lower, upper)
    return (lower, upper), mue
