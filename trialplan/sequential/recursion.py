"""Recursive numerical integration of group-sequential crossing probabilities.

In the canonical form (Jennison & Turnbull 2000, ch. 3) the standardized
statistic at information fraction ``t_k`` is ``Z_k ~ N(drift sqrt(t_k), 1)``
with ``Cov(Z_j, Z_k) = sqrt(t_j / t_k)``.  The probability of crossing a bound
at look k without having stopped before is computed exactly (up to
quadrature error below 1e-8) by the recursive numerical integration of
Armitage, McPherson & Rowe (1969) on Jennison & Turnbull's grid (2000,
ch. 19): ``6r - 1`` points around the mean of ``Z_k``, uniform within +-3 and
log-spaced in the tails, cut at the bounds, with midpoints and Simpson
weights; the transition kernel is applied as one matrix-vector product per
look (:class:`Recursion`, :func:`crossings`).  Bounds are solved look by look
by a safeguarded Newton iteration to 1e-10 on the z scale
(:func:`solve_bound`).

Two statistics that must both cross (the intersection-union, min, test of two
comparisons): the pair ``(Z_1k, Z_2k)`` follows the canonical joint
distribution ``Cov(Z_ik, Z_jl) = rho_ij sqrt(t_min / t_max)`` and its stopping
probabilities are computed by a bivariate version of the same recursion
(:func:`combination_crossings`), accurate to about 1e-6.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy import optimize, special

__all__ = [
    "Recursion",
    "combination_crossings",
    "crossing_probabilities",
    "crossings",
    "monotone_root",
    "solve_bound",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: Half-width of the trapezoidal rule over the shared normal factor W
_W_RANGE = 7.0


# --------------------------------------------------------------------------
# Recursive numerical integration (Armitage, McPherson & Rowe 1969; J&T ch. 19)
# --------------------------------------------------------------------------
def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


@lru_cache(maxsize=16)
def _base_grid(r: int) -> np.ndarray:
    """Jennison & Turnbull's ``6r - 1`` points around 0 (cached: a design asks ~90 times)."""
    i = np.arange(1, 6 * r, dtype=float)
    base = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(
            i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6.0 * r - i))
        ),
    )
    base.setflags(write=False)
    return base


def _grid(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull's grid on (lower, upper) with Simpson weights."""
    if not lower < upper:
        return np.empty(0), np.empty(0)
    x = _base_grid(r) + mean
    # the points with lower < x < upper (x increases): a slice, not a mask
    first = int(np.searchsorted(x, lower, side="right"))
    stop = int(np.searchsorted(x, upper, side="left"))
    head = int(lower > x[0])
    tail = int(upper < x[-1])
    count = max(stop - first, 0)
    ends = np.empty(count + head + tail)
    ends[head : head + count] = x[first:stop]
    if head:
        ends[0] = lower
    if tail:
        ends[-1] = upper
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


class Recursion:
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


def solve_bound(
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


def monotone_root(fun: Callable[[float], float], lo: float, hi: float, *, rising: bool) -> float:
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


def crossings(
    fractions: np.ndarray, lower: np.ndarray, upper: np.ndarray, drift: float, r: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-look probabilities of stopping above ``upper`` and below ``lower``."""
    rec = Recursion(fractions, drift, r)
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
    >>> import math
    >>> up, low = crossing_probabilities([0.5, 1.0], [-math.inf, -math.inf], [2.9626, 1.9686])
    >>> round(float(up.sum()), 4)
    0.025
    """
    fractions = np.asarray(info_fractions, dtype=float)
    return crossings(
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


def combination_crossings(
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
