"""Group-sequential designs: boundaries, futility, inflation factor, expected information.

A group-sequential test looks at the data at information fractions
``t_1 < ... < t_K = 1`` and stops for efficacy when the standardized statistic
``Z_k`` crosses an upper bound ``b_k`` (and, optionally, for futility when it
falls below a lower bound ``a_k``).  In the canonical form (Jennison &
Turnbull 2000, ch. 3) ``Z_k ~ N(theta sqrt(I_k), 1)`` with
``Cov(Z_j, Z_k) = sqrt(I_j / I_k)``; every design's hypothesis reaches this
form through its :class:`~trialplan.statistic.TestStatistic`, whose
information is ``I = 1 / se**2``.

Crossing probabilities are computed exactly (up to quadrature error below
1e-8) by the recursive numerical integration of Armitage, McPherson & Rowe
(1969) on Jennison & Turnbull's grid (2000, ch. 19): ``6r - 1`` points around
the mean of ``Z_k``, uniform within +-3 and log-spaced in the tails, cut at the
bounds, with midpoints and Simpson weights; the transition kernel is applied
as one matrix-vector product per look.  Bounds are solved look by look by a
safeguarded Newton iteration to 1e-10 on the z scale.

The combination (intersection-union, min) test of two comparisons runs on
the same bounds: at look k it rejects when BOTH comparisons' z statistics
reach the efficacy bound ``b_k`` (each comparison at the sequential test's
one-sided alpha, as in the fixed design), and stops for futility when
``min(Z_1k, Z_2k) < a_k``.  The type I error is at most alpha (binding or
not): a rejection of the min test at look k means the comparison whose null
holds crossed its own bound by then, without an earlier futility stop, which
the single-statistic test rejects with probability alpha; when the other
comparison's effect is huge the two coincide (the least favourable null).
The pair ``(Z_1k, Z_2k)`` over the looks follows the canonical joint
distribution ``Cov(Z_ik, Z_jl) = rho_ij sqrt(t_min / t_max)`` and its
stopping probabilities are computed by a bivariate version of the same
recursion (:func:`_combination_crossings`), accurate to about 1e-6.  This is
the "same look" framework of Asakura et al. (Stat Med 2014;33:2897-2913) for
two co-primary endpoints.

Futility bounds come from a beta-spending function (Pampallona, Tsiatis & Kim
2001): ``P_theta1(continue to k, Z_k < a_k) = beta(t_k) - beta(t_{k-1})`` with
the maximum information iterated until ``a_K = b_K``.  Non-binding futility
(the default, as regulators expect) computes the efficacy bounds as if no
futility bound existed, so the type I error stays below alpha whatever is done
at a futility bound; binding futility lets the efficacy bounds use the
futility region.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

import trialplan.boundaries as _boundaries
import trialplan.spending as _spending
from trialplan._validation import check_int, check_open_unit, check_real
from trialplan.boundaries import ClassicalBoundary
from trialplan.power import SizeSearch, joint_power, sample_size_search
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.spending import SpendingFunction
from trialplan.statistic import IntersectionUnion, StatisticFamily, TestStatistic

__all__ = [
    "GroupSequential",
    "SequentialSampleSizeResult",
    "check_sequential",
    "crossing_probabilities",
    "sequential_power",
    "sequential_sample_size",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_NORMAL_NOTE = "t statistics treated as canonical normal statistics (approx.)"
#: Jennison-Turnbull grid parameter of the bivariate recursion (see _combination_crossings)
_BIVARIATE_GRID = 16
#: Largest |correlation| of the two comparisons of a sequential min test
_MAX_COMBINATION_CORR = 0.99
#: Half-width of the trapezoidal rule over the shared normal factor W
_W_RANGE = 7.0


# --------------------------------------------------------------------------
# Recursive numerical integration (Armitage, McPherson & Rowe 1969; J&T ch. 19)
# --------------------------------------------------------------------------
def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _grid(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull's grid on (lower, upper) with Simpson weights."""
    i = np.arange(1, 6 * r, dtype=float)
    x = (
        np.where(
            i < r,
            -3.0 - 4.0 * np.log(r / i),
            np.where(
                i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6.0 * r - i))
            ),
        )
        + mean
    )
    if not lower < upper:
        return np.empty(0), np.empty(0)
    inside = x[(x > lower) & (x < upper)]
    parts = [inside]
    if lower > x[0]:
        parts.insert(0, np.array([lower]))
    if upper < x[-1]:
        parts.append(np.array([upper]))
    ends = np.concatenate(parts)
    if ends.size < 2:  # the interval lies between two grid points
        ends = np.array([max(lower, x[0]), min(upper, x[-1])])
    width = np.diff(ends)
    points = np.empty(2 * ends.size - 1)
    points[0::2] = ends
    points[1::2] = ends[:-1] + width / 2.0
    weights = np.zeros_like(points)
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    weights[1::2] = 4.0 * width / 6.0
    return points, weights


class _Recursion:
    """Sub-density of Z_k on the continuation region, advanced look by look."""

    def __init__(self, fractions: np.ndarray, drift: float, r: int) -> None:
        self.t = fractions
        self.drift = drift
        self.r = r
        self.k = 0  # looks already passed
        self.z = np.empty(0)
        self.c = np.empty(0)  # Simpson weight x sub-density at the grid points

    def _step(self) -> tuple[float, float, float, float]:
        k = self.k
        t_now, t_prev = self.t[k], self.t[k - 1]
        incr = t_now - t_prev
        return math.sqrt(t_now), math.sqrt(t_prev), incr, math.sqrt(incr)

    def upper(self, b: float) -> tuple[float, float]:
        """P(continue to look k, Z_k >= b) and its derivative in b."""
        if b == math.inf:
            return 0.0, 0.0
        if self.k == 0:
            x = self.drift * math.sqrt(self.t[0]) - b
            return float(special.ndtr(x)), -float(_phi(np.array(x)))
        s_now, s_prev, incr, sd = self._step()
        x = (self.z * s_prev + self.drift * incr - b * s_now) / sd
        return float(self.c @ special.ndtr(x)), -s_now / sd * float(self.c @ _phi(x))

    def lower(self, a: float) -> tuple[float, float]:
        """P(continue to look k, Z_k < a) and its derivative in a."""
        if a == -math.inf:
            return 0.0, 0.0
        if self.k == 0:
            x = a - self.drift * math.sqrt(self.t[0])
            return float(special.ndtr(x)), float(_phi(np.array(x)))
        s_now, s_prev, incr, sd = self._step()
        x = (a * s_now - self.z * s_prev - self.drift * incr) / sd
        return float(self.c @ special.ndtr(x)), s_now / sd * float(self.c @ _phi(x))

    def advance(self, a: float, b: float) -> None:
        """Move to the next look, continuing while a < Z_k < b."""
        mean = self.drift * math.sqrt(self.t[self.k])
        z, w = _grid(mean, a, b, self.r)
        if self.k == 0:
            density = _phi(z - mean)
        else:
            s_now, s_prev, incr, sd = self._step()
            x = (z[:, None] * s_now - self.z[None, :] * s_prev - self.drift * incr) / sd
            density = s_now / sd * (_phi(x) @ self.c)
        self.z, self.c = z, w * density
        self.k += 1


def _solve_bound(
    prob: Callable[[float], tuple[float, float]], target: float, *, start: float, increasing: bool
) -> float:
    """The x with prob(x) = target, prob monotone; Newton on log scale, bisection guard."""
    lo, hi = -60.0, 60.0
    x = min(max(start, lo + 1.0), hi - 1.0)
    log_target = math.log(target)
    for _ in range(200):
        p, dp = prob(x)
        if p > 0:
            g = math.log(p) - log_target
            above = g > 0
            # p above target: move toward smaller p
            if above == increasing:
                hi = x
            else:
                lo = x
            step = -g * p / dp if dp != 0 else math.nan
            new = x + step
            if abs(step) < 1e-11:
                return new
        else:  # underflow: p is far below the target
            if increasing:
                lo = x
            else:
                hi = x
            new = math.nan
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if hi - lo < 1e-12:
            return new
        x = new
    return x  # pragma: no cover - Newton converges in a handful of steps


def _root(fun: Callable[[float], float], lo: float, hi: float, *, rising: bool) -> float:
    """Root of a monotone ``fun`` near [lo, hi] (> 0 bounds); the bracket widens if needed.

    Every value is computed once (brentq re-evaluates its end points).
    """
    cache: dict[float, float] = {}

    def f(x: float) -> float:
        if x not in cache:
            cache[x] = fun(x)
        return cache[x]

    sign = 1.0 if rising else -1.0
    for _ in range(60):
        if sign * f(lo) > 0:
            lo, hi = 0.5 * lo, lo
        elif sign * f(hi) < 0:
            lo, hi = hi, 2.0 * hi
        else:
            return float(optimize.brentq(f, lo, hi, xtol=1e-11, rtol=1e-13))
    raise ValueError(
        "no solution found: the design's constraints cannot be met "
        "(check alpha, beta and the information fractions)"
    )


@dataclass(frozen=True)
class _Solution:
    efficacy: np.ndarray
    futility: np.ndarray | None
    drift: float
    inflation: float
    classical_constant: float | None


def _crossings(
    fractions: np.ndarray, lower: np.ndarray, upper: np.ndarray, drift: float, r: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look probabilities of stopping above ``upper`` and below ``lower``."""
    rec = _Recursion(fractions, drift, r)
    k_max = fractions.size
    up, low = np.zeros(k_max), np.zeros(k_max)
    for k in range(k_max):
        up[k] = rec.upper(float(upper[k]))[0]
        low[k] = rec.lower(float(lower[k]))[0]
        if k < k_max - 1:
            rec.advance(float(lower[k]), float(upper[k]))
    return up, low


def crossing_probabilities(
    info_fractions: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    drift: float = 0.0,
    grid_points: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look exit probabilities of canonical statistics through arbitrary bounds.

    ``Z_k ~ N(drift sqrt(t_k), 1)`` with ``Cov(Z_j, Z_k) = sqrt(t_j / t_k)``;
    the path continues while ``lower[k] < Z_k < upper[k]``.  The same exact
    recursion (Armitage, McPherson & Rowe 1969) as :class:`GroupSequential`,
    for bounds that are not a design's own (shifted bounds of conditional
    power and stage-wise ordering, adaptive designs).

    Parameters
    ----------
    info_fractions : sequence of float
        Increasing fractions ``t_k`` in (0, 1]; the last need not be 1.
    lower, upper : sequence of float
        Bounds per look (``-inf`` / ``inf`` allowed).
    drift : float, default 0.0
        Mean of ``Z`` at ``t = 1``.
    grid_points : int, default 32
        Jennison & Turnbull's grid parameter.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        P(first exit at look k above ``upper[k]``) and below ``lower[k]``.

    Examples
    --------
    >>> up, low = crossing_probabilities([0.5, 1.0], [-math.inf, -math.inf], [2.9626, 1.9686])
    >>> round(float(up.sum()), 4)
    0.025
    """
    fractions = np.asarray(info_fractions, dtype=float)
    return _crossings(
        fractions,
        np.asarray(lower, dtype=float),
        np.asarray(upper, dtype=float),
        float(drift),
        int(grid_points),
    )


# --------------------------------------------------------------------------
# Two statistics that must both cross: the intersection-union (min) test
# --------------------------------------------------------------------------
def _factor_nodes(rho: float) -> tuple[np.ndarray, np.ndarray, tuple[float, float], float]:
    """Nodes and weights for ``phi_2(x; rho) = E_W[prod_i phi((x_i - l_i W) / s) / s]``.

    Two standard normals with correlation ``rho`` are ``X_i = l_i W + s E_i``
    with ``l_1 = sqrt|rho|``, ``l_2 = sign(rho) sqrt|rho|``, ``s = sqrt(1 - |rho|)``
    and independent standard normals ``W, E_1, E_2``.  Given ``W`` the two are
    independent, so the bivariate kernels factor into products of 1-D ones.
    The integral over ``W`` is taken by the trapezoidal rule on [-7, 7] (the
    kernels are mixtures over ``W``, so cutting its tails loses at most
    ``P(|W| > 7) = 3e-12`` of probability): the
    integrand is a Gaussian in ``w`` with standard deviation
    ``sqrt((1 - |rho|) / (1 + |rho|))`` (or smoother), and the rule's error at
    a step of 1/1.5 of that is about ``exp(-4.5 pi^2)``, below 1e-19.
    """
    if rho == 0.0:
        return np.zeros(1), np.ones(1), (0.0, 0.0), 1.0
    load = math.sqrt(abs(rho))
    width = math.sqrt((1.0 - abs(rho)) / (1.0 + abs(rho)))
    count = 2 * math.ceil(_W_RANGE / min(0.5, width / 1.5)) + 1
    w = np.linspace(-_W_RANGE, _W_RANGE, count)
    weights = _phi(w) * (w[1] - w[0])
    return w, weights, (load, math.copysign(load, rho)), math.sqrt(1.0 - abs(rho))


def _split_grid(
    mean: float, lower: float, upper: float, r: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid on (lower, inf) cut at ``upper``: points, weights, weights above ``upper``."""
    z_lo, w_lo = _grid(mean, lower, upper, r)
    z_hi, w_hi = _grid(mean, upper, math.inf, r) if upper < math.inf else (np.empty(0), np.empty(0))
    return (
        np.concatenate([z_lo, z_hi]),
        np.concatenate([w_lo, w_hi]),
        np.concatenate([np.zeros(z_lo.size), w_hi]),
    )


def _both_above(
    h1: np.ndarray,
    h2: np.ndarray,
    weighted: np.ndarray | None,
    nodes: tuple[np.ndarray, np.ndarray, tuple[float, float], float],
) -> float:
    """``sum_ij weighted_ij P(X_1 >= h1_i, X_2 >= h2_j)`` for standard normals ``X``.

    ``X`` has correlation ``rho`` (through ``nodes``); ``weighted=None`` means
    one point (``h1``, ``h2`` of size 1).
    """
    w, omega, (l1, l2), s = nodes
    q1 = special.ndtr((l1 * w[:, None] - h1[None, :]) / s)  # P(X_1 >= h1 | W = w)
    q2 = special.ndtr((l2 * w[:, None] - h2[None, :]) / s)
    if weighted is None:
        return float(omega @ (q1[:, 0] * q2[:, 0]))
    return float(omega @ np.einsum("mi,ij,mj->m", q1, weighted, q2, optimize=True))


def _combination_crossings(
    fractions: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    drifts: Sequence[float],
    rho: float,
    r: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look stopping probabilities of the min test of two canonical statistics.

    ``Z_ik ~ N(drifts[i] sqrt(t_k), 1)``, ``Cov(Z_ik, Z_jl) = rho_ij sqrt(t_min / t_max)``
    (``rho_11 = rho_22 = 1``, ``rho_12 = rho``).  The trial stops for efficacy at
    look k when ``min(Z_1k, Z_2k) >= upper[k]`` and below when
    ``min(Z_1k, Z_2k) < lower[k]``; at the last look ``lower`` counts every
    non-rejection when futility bounds exist (``lower[-1] = upper[-1]``).

    Bivariate recursive integration: the sub-density of ``(Z_1k, Z_2k)`` on the
    L-shaped continuation region ``{min >= a_k} minus {min >= b_k}`` is held on
    the product of two Jennison-Turnbull grids (each cut at ``a_k`` and
    ``b_k``, Simpson weights; the region's weights are ``w w' - w_b w_b'`` with
    ``w_b`` the weights above ``b_k``), and moved to the next look by the
    bivariate normal kernel of the increments, factored through the shared
    normal ``W`` (:func:`_factor_nodes`) into two matrix products per node.
    Crossing probabilities integrate the bivariate normal orthant of the
    increments against that sub-density in the same way.
    """
    nodes = _factor_nodes(rho)
    w, omega, loads, s = nodes
    k_max = fractions.size
    up, low = np.zeros(k_max), np.zeros(k_max)
    d = np.asarray(drifts, dtype=float)
    grid: list[np.ndarray] = []
    weighted = np.empty((0, 0))

    def above(c: float, k: int) -> float:
        """P(continue to look k, both Z_ik >= c)."""
        if c == math.inf:
            return 0.0
        if k == 0:
            if c == -math.inf:
                return 1.0
            mean = d * math.sqrt(fractions[0])
            return _both_above(np.array([c - mean[0]]), np.array([c - mean[1]]), None, nodes)
        if c == -math.inf:
            return float(weighted.sum())
        t_now, t_prev = float(fractions[k]), float(fractions[k - 1])
        sd = math.sqrt(t_now - t_prev)
        h = [
            (c * math.sqrt(t_now) - grid[i] * math.sqrt(t_prev) - d[i] * (t_now - t_prev)) / sd
            for i in range(2)
        ]
        return _both_above(h[0], h[1], weighted, nodes)

    for k in range(k_max):
        t_now = float(fractions[k])
        mean = d * math.sqrt(t_now)
        a, b = float(lower[k]), float(upper[k])
        mass = 1.0 if k == 0 else float(weighted.sum())
        up[k] = above(b, k)
        if k == k_max - 1:
            if math.isfinite(a):  # futility: every non-rejection stops low
                low[k] = max(mass - up[k], 0.0)
            break
        if a > -math.inf:
            low[k] = mass - above(a, k)
        # sub-density on the continuation region, on the next grid
        new = [_split_grid(float(mean[i]), a, b, r) for i in range(2)]
        z1, z2 = new[0][0], new[1][0]
        region = np.outer(new[0][1], new[1][1]) - np.outer(new[0][2], new[1][2])
        if k == 0:
            x1, x2 = z1 - mean[0], z2 - mean[1]
            c = 1.0 - rho * rho
            density = np.exp(
                -(x1[:, None] ** 2 - 2.0 * rho * np.outer(x1, x2) + x2[None, :] ** 2) / (2.0 * c)
            ) / (2.0 * math.pi * math.sqrt(c))
        else:
            t_prev = float(fractions[k - 1])
            incr = t_now - t_prev
            sd = math.sqrt(incr)
            # x[i][old, new]: standardized increment of comparison i
            x = [
                (z[None, :] * math.sqrt(t_now) - grid[i][:, None] * math.sqrt(t_prev) - d[i] * incr)
                / sd
                for i, z in enumerate((z1, z2))
            ]
            m = w.size
            # two plain matrix products (BLAS) over all nodes of W at once
            first = _phi((x[0].T[None, :, :] - loads[0] * w[:, None, None]) / s) / s
            part = (first.reshape(m * z1.size, -1) @ weighted).reshape(m, z1.size, -1)
            second = (omega[:, None, None] / s) * _phi(
                (x[1][None, :, :] - loads[1] * w[:, None, None]) / s
            )
            density = (t_now / incr) * (
                part.transpose(1, 0, 2).reshape(z1.size, -1) @ second.reshape(-1, z2.size)
            )
        grid = [z1, z2]
        weighted = region * density
    return up, low


def _efficacy_bounds(
    fractions: np.ndarray,
    level: float,
    sided: int,
    efficacy: SpendingFunction | ClassicalBoundary,
    r: int,
) -> tuple[np.ndarray, float | None]:
    """Efficacy bounds at one-sided ``level`` per side, ignoring any futility bound.

    Returns the bounds and, for a classical boundary, its constant ``C``.
    """
    k_max = fractions.size
    if isinstance(efficacy, ClassicalBoundary):
        shape = efficacy.shape(fractions)

        def excess(const: float) -> float:
            b = const * shape
            a = -b if sided == 2 else np.full(k_max, -math.inf)
            up, low = _crossings(fractions, a, b, 0.0, r)
            return float(up.sum() + low.sum()) - sided * level

        z_level = float(special.ndtri(1.0 - level))
        const = _root(excess, z_level, 1.4 * z_level, rising=False)
        return const * shape, const
    increments = np.diff(efficacy.spent(fractions, level), prepend=0.0)
    rec = _Recursion(fractions, 0.0, r)
    bounds = np.empty(k_max)
    for k in range(k_max):
        target = float(increments[k])
        if target <= 0.0:
            bounds[k] = math.inf
        else:
            if sided == 2:

                def prob(b: float) -> tuple[float, float]:
                    pu, du = rec.upper(b)
                    pl, dl = rec.lower(-b)
                    return pu + pl, du - dl

                target *= 2.0
            else:
                prob = rec.upper
            start = float(special.ndtri(1.0 - min(target, 0.5)))
            bounds[k] = _solve_bound(prob, target, start=start, increasing=False)
        if k < k_max - 1:
            a = -bounds[k] if sided == 2 else -math.inf
            rec.advance(a, float(bounds[k]))
    return bounds, None


def _futility_pass(
    fractions: np.ndarray,
    drift: float,
    beta_inc: np.ndarray,
    efficacy: np.ndarray | None,
    alpha_inc: np.ndarray | None,
    r: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Futility (and, if binding, efficacy) bounds at ``drift``; returns beta excess.

    Non-binding: ``efficacy`` is given.  Binding: ``efficacy is None`` and the
    efficacy bound at each look is solved under H0 with the futility region.
    """
    k_max = fractions.size
    h1 = _Recursion(fractions, drift, r)
    h0 = _Recursion(fractions, 0.0, r) if efficacy is None else None
    upper = np.empty(k_max) if efficacy is None else efficacy.copy()
    lower = np.empty(k_max)
    spent = 0.0
    for k in range(k_max):
        if h0 is not None:
            target = float(alpha_inc[k])  # type: ignore[index]
            upper[k] = (
                math.inf
                if target <= 0
                else _solve_bound(
                    h0.upper,
                    target,
                    start=float(special.ndtri(1.0 - min(target, 0.5))),
                    increasing=False,
                )
            )
        b = float(upper[k])
        available, _ = h1.lower(b) if b < math.inf else (float(h1.c.sum()) if k else 1.0, 0.0)
        if k == k_max - 1:
            lower[k] = b
            spent += available
            break
        target = float(beta_inc[k])
        if target <= 0.0:
            lower[k] = -math.inf
        elif available <= target:
            lower[k] = b  # the whole continuation region is spent: stop here
            spent += available
        else:
            start = drift * math.sqrt(fractions[k]) + float(special.ndtri(min(target, 0.5)))
            lower[k] = _solve_bound(h1.lower, target, start=min(start, b), increasing=True)
            spent += target
        h1.advance(float(lower[k]), b)
        if h0 is not None:
            h0.advance(float(lower[k]), b)
    return lower, upper, spent


def _solve_design(
    fractions: np.ndarray,
    alpha: float,
    sided: int,
    efficacy: SpendingFunction | ClassicalBoundary,
    futility: SpendingFunction | None,
    beta: float,
    binding: bool,
    r: int,
) -> _Solution:
    level = alpha / sided
    z_fixed = float(special.ndtri(1.0 - level) + special.ndtri(1.0 - beta))
    if futility is None:
        upper, const = _efficacy_bounds(fractions, level, sided, efficacy, r)
        lower = -upper if sided == 2 else np.full(fractions.size, -math.inf)

        def shortfall(drift: float) -> float:
            up, low = _crossings(fractions, lower, upper, drift, r)
            # Power is rejection in the direction of the alternative, also for
            # two-sided tests (rpact's twoSidedPower=FALSE, gsDesign).
            return float(up.sum()) - (1.0 - beta)

        drift = _root(shortfall, z_fixed, 1.15 * z_fixed, rising=True)
        return _Solution(
            efficacy=upper,
            futility=None,
            drift=drift,
            inflation=(drift / z_fixed) ** 2,
            classical_constant=const,
        )
    beta_inc = np.diff(futility.spent(fractions, beta), prepend=0.0)
    if binding:
        alpha_inc = np.diff(efficacy.spent(fractions, level), prepend=0.0)  # type: ignore[union-attr]
        fixed_upper, const = None, None
    else:
        alpha_inc = None
        fixed_upper, const = _efficacy_bounds(fractions, level, 1, efficacy, r)

    def excess(drift: float) -> float:
        return _futility_pass(fractions, drift, beta_inc, fixed_upper, alpha_inc, r)[2] - beta

    drift = _root(excess, z_fixed, 1.15 * z_fixed, rising=False)
    lower, upper, _ = _futility_pass(fractions, drift, beta_inc, fixed_upper, alpha_inc, r)
    return _Solution(
        efficacy=upper,
        futility=lower,
        drift=drift,
        inflation=(drift / z_fixed) ** 2,
        classical_constant=const,
    )


# --------------------------------------------------------------------------
# The public design object
# --------------------------------------------------------------------------
#: Smallest alpha and beta a GroupSequential accepts: the recursion computes crossing
#: probabilities to an absolute accuracy of about 1e-8 (18 grid points per unit, as in
#: gsDesign), so a type II error below 1e-4 moves the drift visibly (inflation factor
#: off by 1e-5 at beta=1e-4, below 1 at 1e-7) and an alpha below 1e-10 left the root
#: finder with NaN (issue 21, item 6).
MIN_ALPHA = 1e-10
MIN_BETA = 1e-4


def _as_spending(value: Any, name: str) -> SpendingFunction | ClassicalBoundary:
    if isinstance(value, SpendingFunction | ClassicalBoundary):
        return value
    if isinstance(value, str):
        try:
            return _spending.from_name(value)
        except ValueError as error:
            raise ValueError(f"{name}={value!r}: {error}") from None
    if callable(value) and value in (
        _spending.obrien_fleming,
        _spending.pocock,
        _boundaries.obrien_fleming,
        _boundaries.pocock,
    ):
        raise TypeError(
            f"{name} takes a spending function object; call the factory: "
            f"{name}=tp.{value.__module__.split('.')[-1]}.{value.__name__}()"
        )
    raise TypeError(
        f"{name} must be a spending function (tp.spending.obrien_fleming(), "
        "pocock(), hwang_shih_decani(gamma), power_family(rho)) or a classical "
        "boundary (tp.boundaries.obrien_fleming(), pocock()); got "
        f"{name}={value!r}"
    )


#: Smallest information between consecutive looks.  The recursive integration
#: needs the increment's kernel to span several grid points: at 0.001 the type
#: I error of a 3-look design is within 3e-6 of alpha (checked against
#: scipy's multivariate normal), at 0.0002 it is 1.4e-4 off and below that
#: the final bound drifts without bound (rpact 3.3.4 fails earlier: 0.0254
#: at a spacing of 0.01).
_MIN_LOOK_SPACING = 1e-3


def _check_fractions(value: Any) -> tuple[float, ...]:
    try:
        fractions = tuple(check_real("info_fractions", v) for v in value)
    except TypeError:
        raise TypeError(
            "info_fractions must be a sequence of numbers increasing to 1, e.g. "
            f"(1/3, 2/3, 1.0); got info_fractions={value!r}"
        ) from None
    if not fractions:
        raise ValueError("info_fractions must list at least one look; got an empty sequence")
    ok = (
        all(0.0 < f <= 1.0 for f in fractions)
        and all(b > a for a, b in zip(fractions, fractions[1:], strict=False))
        and abs(fractions[-1] - 1.0) < 1e-9
    )
    if not ok:
        raise ValueError(
            "info_fractions must be strictly increasing numbers in (0, 1] ending "
            f"at 1 (the final analysis); got info_fractions={value!r}"
        )
    gaps = np.diff(fractions)
    if gaps.size and gaps.min() < _MIN_LOOK_SPACING:
        k = int(np.argmin(gaps))
        raise ValueError(
            f"info_fractions={value!r} has looks {k + 1} and {k + 2} only {gaps[k]:.3g} of the "
            f"information apart; allowed: at least {_MIN_LOOK_SPACING:g} (closer looks are "
            "in effect one analysis: merge them)"
        )
    return fractions[:-1] + (1.0,)


@dataclass(frozen=True, kw_only=True)
class GroupSequential:
    """A group-sequential test: looks, efficacy and futility bounds, and their cost.

    Parameters
    ----------
    info_fractions : sequence of float
        Information fractions ``t_k = I_k / I_max`` of the looks, strictly
        increasing and ending at 1 (the final analysis).
    alpha : float, default 0.025
        Type I error: one-sided when ``sided=1``, the two-sided total when
        ``sided=2``.
    sided : {1, 2}, default 1
        One-sided test (rejects for large Z, optional futility bounds) or a
        two-sided symmetric test (``|Z_k| >= b_k``, ``alpha / 2`` per side).
    efficacy : SpendingFunction, ClassicalBoundary or str
        Alpha-spending function (``tp.spending.obrien_fleming()``, the
        default, ``pocock()``, ``hwang_shih_decani(gamma)``,
        ``power_family(rho)``), a classical boundary
        (``tp.boundaries.obrien_fleming()``, ``pocock()``,
        ``wang_tsiatis(delta)``) or a spending name (``"pocock"``, ``"asOF"``).
    futility : SpendingFunction, str or None, default None
        Beta-spending function for lower (futility) bounds; one-sided only.
    beta : float, default 0.1
        Type II error at the design alternative (power ``1 - beta``); it sets
        the inflation factor and, with futility, the futility bounds.
    binding : bool, default False
        Whether futility bounds are binding.  Non-binding efficacy bounds are
        computed ignoring the futility bounds (type I error at most alpha
        whatever is done at a futility bound); binding ones use them.
    grid_points : int, default 32
        Jennison & Turnbull's grid parameter ``r`` (``6r - 1`` points before
        midpoints; gsDesign uses 18).  At 32 the bounds are within 1e-7 of
        their limit as the grid is refined, and within 1e-6 of rpact.

    Attributes
    ----------
    efficacy_z : numpy.ndarray
        Upper (efficacy) bounds on the z scale; a two-sided test also rejects
        below ``-efficacy_z``.  ``inf`` where no alpha is spent.
    futility_z : numpy.ndarray or None
        Lower (futility) bounds on the z scale (the last equals the last
        efficacy bound), or None without futility.
    alpha_spent : numpy.ndarray
        Cumulative type I error spent by each look (two-sided: both tails).
    beta_spent : numpy.ndarray or None
        Cumulative type II error spent by the futility bounds.
    inflation_factor : float
        ``I_max / I_fixed``: maximum information over the fixed design's
        information at the same alpha and power.
    drift : float
        ``theta_1 sqrt(I_max)``: the mean of the final Z under the alternative.
    expected_information : mapping
        ``{"H0": r0, "H1": r1}``: expected information at stopping relative to
        the fixed design, under no effect and under the design alternative
        (futility bounds followed).

    Raises
    ------
    ValueError, TypeError
        Fractions not strictly increasing to 1, alpha or beta out of range,
        unknown spending names, futility with a two-sided test or binding
        futility with a classical boundary.

    References
    ----------
    .. [1] Jennison C, Turnbull BW. Group Sequential Methods with Applications
       to Clinical Trials. Chapman & Hall/CRC 2000, ch. 2-7 and 19.
    .. [2] Armitage P, McPherson CK, Rowe BC. Repeated significance tests on
       accumulating data. J R Stat Soc A 1969;132:235-244.
    .. [3] Lan KKG, DeMets DL. Biometrika 1983;70:659-663.
    .. [4] Pampallona S, Tsiatis AA, Kim K. Interim monitoring of group
       sequential trials using spending functions for the type I and type II
       error probabilities. Drug Inf J 2001;35:1113-1121.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(1/3, 2/3, 1.0), alpha=0.025,
    ...                          efficacy=tp.spending.obrien_fleming())
    >>> gsd.efficacy_z.round(4).tolist()       # rpact 3.3.4: 3.7103, 2.5114, 1.9930
    [3.7103, 2.5114, 1.993]
    >>> round(gsd.inflation_factor, 4)          # rpact: 1.0119
    1.0119
    >>> {k: round(v, 3) for k, v in gsd.expected_information.items()}
    {'H0': 1.01, 'H1': 0.811}
    """

    info_fractions: Sequence[float]
    alpha: float = 0.025
    sided: int = 1
    efficacy: Any = field(default_factory=_spending.obrien_fleming)
    futility: Any = None
    beta: float = 0.1
    binding: bool = False
    grid_points: int = 32
    _solution: _Solution = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "info_fractions", _check_fractions(self.info_fractions))
        if isinstance(self.sided, bool) or self.sided not in (1, 2):
            raise ValueError(
                f"sided must be 1 (one-sided) or 2 (two-sided symmetric); got sided={self.sided!r}"
            )
        alpha = check_open_unit("alpha", self.alpha)
        if alpha / self.sided >= 0.5:
            raise ValueError(
                f"alpha must be below {0.5 * self.sided:g} for a "
                f"{'one' if self.sided == 1 else 'two'}-sided test; got "
                f"alpha={self.alpha!r}"
            )
        if alpha < MIN_ALPHA:
            raise ValueError(
                f"alpha must be at least {MIN_ALPHA:g} for group-sequential bounds (the "
                f"accuracy of the recursive integration); got alpha={self.alpha!r}"
            )
        beta = check_open_unit("beta", self.beta)
        if beta < MIN_BETA:
            raise ValueError(
                f"beta must be at least {MIN_BETA:g} (power at most {1 - MIN_BETA:g}) for "
                "group-sequential bounds: the recursive integration computes crossing "
                "probabilities to about 1e-8, too coarse for a smaller type II error (the "
                f"inflation factor fell below 1 at beta=1e-7); got beta={self.beta!r}"
            )
        if beta >= 1.0 - alpha / self.sided:
            raise ValueError(
                f"beta must be below 1 - alpha/sided = {1 - alpha / self.sided:g} "
                f"(power above the type I error); got beta={self.beta!r}"
            )
        set_(self, "alpha", alpha)
        set_(self, "beta", beta)
        set_(self, "efficacy", _as_spending(self.efficacy, "efficacy"))
        if self.futility is not None:
            fut = _as_spending(self.futility, "futility")
            if isinstance(fut, ClassicalBoundary):
                raise ValueError(
                    "futility takes a beta-spending function (e.g. "
                    "tp.spending.obrien_fleming()), not a classical boundary; "
                    f"got futility={self.futility!r}"
                )
            set_(self, "futility", fut)
            if self.sided == 2:
                raise ValueError(
                    "futility bounds are supported for one-sided tests only "
                    "(sided=1); got sided=2 with futility="
                    f"{self.futility!r}"
                )
        if not isinstance(self.binding, bool | np.bool_):
            raise TypeError(f"binding must be True or False; got binding={self.binding!r}")
        set_(self, "binding", bool(self.binding))
        if self.binding and self.futility is None:
            raise ValueError(
                "binding=True needs futility bounds; give futility=<spending "
                "function> or leave binding=False"
            )
        if self.binding and isinstance(self.efficacy, ClassicalBoundary):
            raise ValueError(
                "binding futility is supported with alpha-spending efficacy "
                "bounds only; use binding=False with "
                f"efficacy={self.efficacy!r}"
            )
        set_(self, "grid_points", check_int("grid_points", self.grid_points, minimum=4))
        set_(
            self,
            "_solution",
            _solve_design(
                np.array(self.info_fractions),
                alpha,
                self.sided,
                self.efficacy,
                self.futility,
                beta,
                self.binding,
                self.grid_points,
            ),
        )
        self._check_solution()

    def _check_solution(self) -> None:
        """Fail loudly if the bounds do not spend alpha and beta as specified."""
        fractions = np.array(self.info_fractions)
        upper = self._solution.efficacy
        lower = (
            self._lower if (self.binding or self.sided == 2) else np.full(self.n_looks, -math.inf)
        )
        up, low = _crossings(fractions, lower, upper, 0.0, self.grid_points)
        size = float(up.sum() + (low.sum() if self.sided == 2 else 0.0))
        power = self.power_at(self.drift)
        if abs(size - self.alpha) > 1e-6 or abs(power - (1.0 - self.beta)) > 1e-6:
            raise ValueError(
                f"no boundaries spend alpha={self.alpha:g} and beta={self.beta:g} as asked with "
                f"info_fractions={self.info_fractions} (type I error {size:.6f}, power "
                f"{power:.6f}); the futility spending is too aggressive for these looks: "
                "use binding=False, a more conservative futility function or later looks"
            )

    # ---------------------------------------------------------- attributes
    @property
    def n_looks(self) -> int:
        """Number of analyses K, the final one included."""
        return len(self.info_fractions)

    @property
    def efficacy_z(self) -> np.ndarray:
        """Efficacy bounds on the z scale (a copy)."""
        return self._solution.efficacy.copy()

    @property
    def futility_z(self) -> np.ndarray | None:
        """Futility bounds on the z scale (a copy), or None."""
        fut = self._solution.futility
        return None if fut is None else fut.copy()

    @property
    def _lower(self) -> np.ndarray:
        if self.sided == 2:
            return -self._solution.efficacy
        if self._solution.futility is None:
            return np.full(self.n_looks, -math.inf)
        return self._solution.futility

    @property
    def alpha_spent(self) -> np.ndarray:
        """Cumulative type I error spent by each look (under H0, futility ignored)."""
        if isinstance(self.efficacy, SpendingFunction):
            return (
                self.efficacy.spent(np.array(self.info_fractions), self.alpha / self.sided)
                * self.sided
            )
        lower = -self._solution.efficacy if self.sided == 2 else np.full(self.n_looks, -math.inf)
        up, low = _crossings(
            np.array(self.info_fractions), lower, self._solution.efficacy, 0.0, self.grid_points
        )
        return np.cumsum(up + low)

    @property
    def beta_spent(self) -> np.ndarray | None:
        """Cumulative type II error spent by the futility bounds, or None."""
        if self.futility is None:
            return None
        return self.futility.spent(np.array(self.info_fractions), self.beta)

    @property
    def drift(self) -> float:
        """``theta_1 sqrt(I_max)``, the final look's mean Z under the alternative."""
        return self._solution.drift

    @property
    def inflation_factor(self) -> float:
        """Maximum information over the fixed design's at the same alpha and power."""
        return self._solution.inflation

    @property
    def expected_information(self) -> Mapping[str, float]:
        """Expected information at stopping relative to the fixed design, H0 and H1."""
        return MappingProxyType(
            {
                "H0": self.expected_information_at(0.0),
                "H1": self.expected_information_at(self.drift),
            }
        )

    # -------------------------------------------------------------- methods
    def crossing_probabilities(self, drift: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-look probabilities of stopping for efficacy and below the lower bound.

        Parameters
        ----------
        drift : float
            ``theta sqrt(I_max)``: 0 under H0, :attr:`drift` under the design
            alternative.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            P(stop at look k above ``b_k``) and P(stop at look k below the lower
            bound: futility, or rejection in the other tail for ``sided=2``).
            Futility bounds are taken as followed.

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> up, low = gsd.crossing_probabilities(0.0)
        >>> round(float(up.sum()), 6)
        0.025
        """
        d = check_real("drift", drift)
        return _crossings(
            np.array(self.info_fractions), self._lower, self._solution.efficacy, d, self.grid_points
        )

    def power_at(self, drift: float) -> float:
        """Probability of rejecting H0 in the direction of ``drift > 0``.

        For a two-sided test the (negligible) rejections in the wrong tail are
        not counted, as in rpact (``twoSidedPower = FALSE``) and gsDesign.

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025, beta=0.2)
        >>> round(gsd.power_at(gsd.drift), 6)
        0.8
        """
        up, _ = self.crossing_probabilities(drift)
        return min(1.0, float(up.sum()))  # a sum of probabilities may pass 1 by rounding

    def drift_for_power(self, power: float) -> float:
        """The drift ``theta sqrt(I_max)`` at which the test has ``power``.

        The bounds stay as solved (futility bounds included); with futility
        the result equals :attr:`drift` only at ``power = 1 - beta``.

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> round(gsd.drift_for_power(0.9) - gsd.drift, 8)
        0.0
        """
        target = check_open_unit("power", power)
        if target > 1.0 - MIN_BETA:
            raise ValueError(
                f"power must be at most {1 - MIN_BETA:g}: the recursive integration computes "
                "crossing probabilities to about 1e-8, too coarse for a type II error below "
                f"{MIN_BETA:g}; got power={power!r}"
            )
        size = self.power_at(0.0)
        if target <= size:
            raise ValueError(
                f"power must exceed the test's type I error {size:.4g}; got power={power!r}"
            )
        hi = 2.0 * self.drift + 2.0
        while self.power_at(hi) < target:
            hi *= 2.0
        return float(optimize.brentq(lambda d: self.power_at(d) - target, 0.0, hi, xtol=1e-12))

    def expected_information_at(self, drift: float) -> float:
        """Expected information at stopping, relative to the fixed design.

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> gsd.expected_information_at(0.0) <= gsd.inflation_factor
        True
        """
        return self.expected_fraction_at(drift) * self.inflation_factor

    def expected_fraction_at(self, drift: float) -> float:
        """Expected information at stopping as a fraction of the maximum ``I_max``.

        Parameters
        ----------
        drift : float
            Expected z statistic at the final look, ``theta * sqrt(I_max)``.

        Returns
        -------
        float
            ``sum_k P(stop at look k) * t_k``.

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> round(gsd.expected_fraction_at(0.0), 4)   # 1 - 0.5 * alpha spent at look 1
        0.9992
        >>> round(gsd.expected_fraction_at(gsd.drift), 4)
        0.8737
        """
        up, low = self.crossing_probabilities(drift)
        stop = up + low
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(np.dot(stop, self.info_fractions))

    def replace(self, **changes: Any) -> GroupSequential:
        """A copy with some parameters changed (validated and solved again).

        Examples
        --------
        >>> import trialplan as tp
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> gsd.efficacy_z.round(3).tolist()
        [2.963, 1.969]
        >>> gsd.replace(alpha=0.05).efficacy_z.round(3).tolist()
        [2.538, 1.662]
        """
        return dataclasses.replace(self, **changes)

    # -------------------------------------------------------------- display
    def describe(self) -> str:
        """A sentence a protocol can quote.

        Examples
        --------
        >>> import trialplan as tp
        >>> print(tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025).describe())
        ... # doctest: +NORMALIZE_WHITESPACE
        Group-sequential design with 2 analyses at information fractions 0.5, 1 (one
        interim analysis and the final analysis), one-sided alpha = 0.025, efficacy
        bounds from the Lan-DeMets O'Brien-Fleming type alpha-spending function. The
        maximum information is 1.003 times that of the fixed design with power 90%
        (inflation factor); expected information is 1.003 (H0) and 0.877 (H1) times
        the fixed design's.

        rpact 3.3.4 gives 1.0034, 1.0027 and 0.8767 for this design.
        """
        k = self.n_looks
        fracs = ", ".join(f"{t:.3g}" for t in self.info_fractions)
        interims = {
            0: "the final analysis only",
            1: "one interim analysis and the final analysis",
        }.get(k - 1, f"{k - 1} interim analyses and the final analysis")
        sided = (
            f"one-sided alpha = {self.alpha:g}"
            if self.sided == 1
            else f"two-sided alpha = {self.alpha:g} with symmetric bounds"
        )
        how = (
            f"the {self.efficacy.label} alpha-spending function"
            if isinstance(self.efficacy, SpendingFunction)
            else f"the {self.efficacy.label} (constant C = {self._solution.classical_constant:.4f})"
        )
        text = (
            f"Group-sequential design with {k} analyses at information fractions "
            f"{fracs} ({interims}), {sided}, efficacy bounds from "
            f"{how}"
        )
        if self.futility is not None:
            text += (
                f"; {'binding' if self.binding else 'non-binding'} futility bounds from "
                f"the {self.futility.label} beta-spending function (beta = "
                f"{self.beta:g})"
            )
        info = self.expected_information
        text += (
            f". The maximum information is {self.inflation_factor:.3f} times that of "
            f"the fixed design with power {100 * (1 - self.beta):.3g}% (inflation "
            f"factor); expected information is {info['H0']:.3f} (H0) and "
            f"{info['H1']:.3f} (H1) times the fixed design's."
        )
        return text

    def to_frame(self) -> pd.DataFrame:
        """One row per look: bounds, nominal levels, error spent, stopping probabilities.

        Columns: ``look``, ``info_fraction``, ``information`` (relative to the
        fixed design), ``efficacy_z``, ``efficacy_p`` (nominal one-sided p),
        ``futility_z``, ``alpha_spent`` (cumulative), ``beta_spent``
        (cumulative), ``stop_efficacy_h0``, ``stop_efficacy_h1``,
        ``stop_futility_h0``, ``stop_futility_h1`` (per look) and ``power``
        (cumulative under H1).  For a two-sided test ``stop_efficacy_h0``
        counts both tails, the H1 columns the upper tail only.

        Examples
        --------
        >>> import trialplan as tp
        >>> frame = tp.GroupSequential(info_fractions=(0.5, 1.0)).to_frame()
        >>> frame["efficacy_z"].round(4).tolist()     # rpact 3.3.4: 2.9626, 1.9686
        [2.9626, 1.9686]
        """
        up0, low0 = self.crossing_probabilities(0.0)
        up1, low1 = self.crossing_probabilities(self.drift)
        two = self.sided == 2
        eff_h0 = up0 + low0 if two else up0
        eff_h1 = up1
        no_fut = np.zeros(self.n_looks) if two or self.futility is None else None
        frame = pd.DataFrame(
            {
                "look": np.arange(1, self.n_looks + 1),
                "info_fraction": self.info_fractions,
                "information": np.array(self.info_fractions) * self.inflation_factor,
                "efficacy_z": self._solution.efficacy,
                "efficacy_p": special.ndtr(-self._solution.efficacy),
                "futility_z": (
                    np.full(self.n_looks, np.nan) if self.futility_z is None else self.futility_z
                ),
                "alpha_spent": self.alpha_spent,
                "beta_spent": (
                    np.full(self.n_looks, np.nan) if self.beta_spent is None else self.beta_spent
                ),
                "stop_efficacy_h0": eff_h0,
                "stop_efficacy_h1": eff_h1,
                "stop_futility_h0": no_fut if no_fut is not None else low0,
                "stop_futility_h1": no_fut if no_fut is not None else low1,
                "power": np.cumsum(eff_h1),
            }
        )
        return frame

    def __repr__(self) -> str:
        frame = self.to_frame()
        rows = {
            "Information fraction": frame["info_fraction"],
            "Information (x fixed design)": frame["information"],
            "Efficacy bound (z)" if self.sided == 1 else "Efficacy bound (|z|)": frame[
                "efficacy_z"
            ],
            "Nominal one-sided p": frame["efficacy_p"],
        }
        if self.futility is not None:
            rows["Futility bound (z)"] = frame["futility_z"]
        rows["Cumulative alpha spent"] = frame["alpha_spent"]
        if self.futility is not None:
            rows["Cumulative beta spent"] = frame["beta_spent"]
        rows["P(stop for efficacy) under H1"] = frame["stop_efficacy_h1"]
        if self.futility is not None:
            rows["P(stop for futility) under H0"] = frame["stop_futility_h0"]
            rows["P(stop for futility) under H1"] = frame["stop_futility_h1"]
        rows["Cumulative power"] = frame["power"]
        table = pd.DataFrame(rows).T
        table.columns = [f"Look {k}" for k in frame["look"]]
        body = table.to_string(float_format=_fmt)
        return f"{_wrap(self.describe())}\n{body}"

    __str__ = __repr__


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and abs(x) < 1e-4:
        return f"{x:.1e}"
    return f"{x:.4f}"


def _wrap(text: str, width: int = 88) -> str:
    return "\n".join(textwrap.wrap(text, width))


# --------------------------------------------------------------------------
# Use on a statistic family: design.power(sequential=gsd), sample_size(sequential=gsd)
# --------------------------------------------------------------------------
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
        return _combination_crossings(
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
