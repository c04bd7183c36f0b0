"""Analytic power of canonical statistics and the one integer sample-size search.

Single tests use the exact noncentral t distribution (``scipy.stats.nct``), or
the normal distribution for large-sample statistics.  Joint tests (the
intersection-union "min" test, and the multivariate t of several contrasts that
share one variance estimate) are computed by numerical integration: conditional
on ``U = S / sigma`` the statistics are multivariate normal, and when their
correlation has product form ``R_ik = l_i l_k`` (always true for two statistics
and for contrasts sharing one cell) every rectangle probability is a
one-dimensional integral (Dunnett 1955; Genz & Bretz 2009, ch. 2).  Two
statistics (the min test of a 2x2's combination) need no such integral: their
bivariate normal probability is Genz's (2004) one-dimensional arcsine integral,
about 20 exponentials a point.  Every integral uses fixed Gauss-Legendre rules,
accurate to about 1e-10 here.
:func:`rectangle_probability` is that one primitive; :func:`joint_power`, the
multiplicity procedures and Dunnett's procedure all use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from trialplan._validation import MAX_CELL_SIZE, check_int, check_open_unit, check_positive
from trialplan.statistic import (
    IntersectionUnion,
    StatisticFamily,
    TestStatistic,
    critical_value,
)

__all__ = [
    "MAX_CELL_SIZE",
    "SizeSearch",
    "anova_power",
    "joint_power",
    "rectangle_probability",
    "sample_size_search",
    "statistic_power",
]

#: MAX_CELL_SIZE (imported above from trialplan._validation, where the designs' size
#: checks read it too): most participants in one cell that the sample-size search
#: tries and that a design accepts, the same for every outcome and design: 10**15,
#: below 2**53, so that every size up to it is an exact integer in double precision
#: (sizes, totals and dropout arithmetic).


def statistic_power(stat: TestStatistic | IntersectionUnion) -> float:
    """Exact power of one canonical statistic.

    Parameters
    ----------
    stat : TestStatistic or IntersectionUnion
        A two-sided test rejects in either tail; a one-sided test only in the
        ``favourable`` direction; an intersection-union test when every
        component rejects.

    Returns
    -------
    float
        Probability of rejecting at the planned sample size.

    Examples
    --------
    >>> s = TestStatistic(hypothesis="A", estimand="A", effect=0.5, se=0.2,
    ...                   df=100, sided=2, alpha=0.05, favourable=1)
    >>> round(statistic_power(s), 4)
    0.6971
    """
    if isinstance(stat, IntersectionUnion):
        comps = stat.components
        if len({s.df for s in comps}) > 1:
            return _copula_power(stat)
        delta = np.array([s.favourable * s.noncentrality for s in comps])
        crit = np.array([s.critical_value for s in comps])
        return joint_power(delta, crit, stat.correlation, stat.df)
    delta = np.asarray(stat.noncentrality, dtype=float)
    weights = None
    if stat.covariate_df is not None:
        # Exact ANCOVA power (Shieh 2020): average over the baseline imbalance
        # attenuation 1/sqrt(1 + F/m), F ~ F(1, m).
        factors, weights = _imbalance_quadrature(float(stat.covariate_df))
        delta = delta * factors
    crit = stat.critical_value
    if stat.sided == 1:
        values = _upper_tail(crit, stat.df, stat.favourable * delta)
    else:
        values = _upper_tail(crit, stat.df, delta) + _upper_tail(crit, stat.df, -delta)
    # quadrature weights sum to 1 only to rounding: keep the power a probability
    return float(np.clip(values if weights is None else weights @ values, 0.0, 1.0))


def _copula_power(stat: IntersectionUnion) -> float:
    """Min-test power when the components' df differ: a Gaussian copula (approximation).

    No multivariate t has several df; with per-contrast Satterthwaite df
    (group-delivered cells) the joint law of the components is not a standard
    one.  Each component's rejection probability ``p_i`` is the exact
    noncentral t power at its own df; they are joined by the normal copula
    with the components' correlation, ``P(Z_i > Phi^-1(1 - p_i) for all i)``.
    Simulation of the analysis agrees within Monte Carlo error where giving
    every component the smallest df was 2-3.5 points low
    (tests/test_simulate_clustered.py).
    """
    marginal = np.array([statistic_power(s) for s in stat.components])
    lower = special.ndtri(1.0 - marginal)
    return float(
        rectangle_probability(
            lower=lower,
            upper=np.full(lower.size, math.inf),
            noncentrality=np.zeros(lower.size),
            correlation=stat.correlation,
            df=math.inf,
        )
    )


def _upper_tail(crit: float, df: float, delta: np.ndarray) -> np.ndarray:
    """P(T > crit) for T noncentral t(df, delta), or N(delta, 1) if df is infinite.

    ``scipy.stats.nct.sf`` returns NaN once ``|delta|`` passes about 1e10
    (e.g. a tiny sd); there the normal part of ``T = (Z + delta) / U`` is
    negligible and the tail is that of ``delta / U`` (:func:`_far_tail`).
    """
    if math.isinf(df):
        return stats.norm.sf(crit - delta)
    values = stats.nct.sf(crit, df, delta)
    lost = np.isnan(values)
    if np.any(lost):
        values = np.where(lost, _far_tail(crit, df, delta), values)
    return values


def _far_tail(crit: float, df: float, delta: npt.ArrayLike) -> np.ndarray:
    """``P(delta / U > crit)`` with ``U = sqrt(chi2_df / df)``: the t tail at huge ``|delta|``.

    The relative error against the exact noncentral t is of order ``1 / |delta|``
    (1e-7 at ``delta = 1e4``, df = 1); it is used only where scipy gives NaN.
    """
    delta = np.asarray(delta, dtype=float)
    if crit == 0:
        return (delta > 0).astype(float)
    with np.errstate(over="ignore"):
        bound = df * (delta / crit) ** 2  # U < delta / crit  <=>  chi2_df < bound
    if crit > 0:
        return np.where(delta > 0, stats.chi2.cdf(bound, df), 0.0)
    return np.where(delta < 0, stats.chi2.sf(bound, df), 1.0)


@lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (an eigenproblem of size n: cache it)."""
    return np.polynomial.legendre.leggauss(n)


@lru_cache(maxsize=256)
def _imbalance_quadrature(m: float, n_nodes: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``a = 1/sqrt(1 + F/m)`` and weights for F ~ F(1, m).

    ``a**2 = chi2_m / (chi2_m + chi2_1)`` is Beta(m/2, 1/2), so Gauss-Jacobi
    quadrature with that weight is exact up to the smoothness of the power
    curve (error ~1e-14).  For m > 1000 the Jacobi weights overflow; there
    ``F = T**2`` with T ~ t(m) has light tails and Gauss-Legendre over
    ``|T| < 40`` is as accurate.
    """
    if m <= 1000:
        x, w = special.roots_jacobi(n_nodes, -0.5, m / 2.0 - 1.0)
        return np.sqrt(0.5 * (x + 1.0)), w / w.sum()
    x, w = _legendre(4 * n_nodes)  # the same nodes for every m: computed once
    t_nodes = 20.0 * (x + 1.0)
    weights = 20.0 * w * 2.0 * stats.t.pdf(t_nodes, m)
    return 1.0 / np.sqrt(1.0 + t_nodes**2 / m), weights / weights.sum()


def rectangle_probability(
    *,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    noncentrality: Sequence[float],
    df: float,
    correlation: npt.ArrayLike | None = None,
    loadings: Sequence[float] | None = None,
) -> float | np.ndarray:
    """P(lower_i < T_i < upper_i for every i) for a noncentral multivariate t (or normal) vector.

    ``T_i = (Z_i + delta_i) / U`` with ``Z ~ N(0, R)`` and ``U`` distributed as
    ``sqrt(chi2_df / df)`` independent of ``Z`` (``U = 1`` when ``df`` is
    infinite): the noncentral ("shifted") multivariate t of Kshirsagar
    (mvtnorm ``pmvt`` with ``type="Kshirsagar"``; Genz & Bretz 2009, eq. 1.4).

    Given ``U = u`` the event is the normal rectangle
    ``lower_i u - delta_i < Z_i < upper_i u - delta_i``.  When ``R`` has
    product form ``R_ik = l_i l_k`` (i != k; always for two statistics, and
    for comparisons sharing one cell), ``Z_i = l_i W + sqrt(1 - l_i^2) E_i``
    with independent standard normals ``W, E_i`` makes the ``Z_i`` independent
    given ``W``, and the probability is the two-dimensional integral over
    ``(U, W)`` of a product of normal interval probabilities (Dunnett 1955).
    It is computed with fixed Gauss-Legendre rules: 400 nodes for ``W`` on
    [-9, 9] and 160 for ``U`` on its central range ``[q(1e-15), q(1 - 1e-15)]``
    (error about 1e-13).  Any other correlation uses Genz's randomized
    quasi-Monte Carlo (``scipy.stats.multivariate_normal.cdf``, fixed seed,
    absolute error 1e-7) at 32 Gauss-Legendre nodes of ``U`` (48 below
    ``df = 3``), so results are reproducible; accuracy about 1e-6.

    Parameters
    ----------
    lower, upper : array_like
        Bounds of the rectangle, shape ``(k,)``, or ``(..., k)`` for a batch
        of rectangles; ``-inf`` and ``inf`` are allowed.  A rectangle with
        ``lower_i >= upper_i`` for some ``i`` has probability 0.
    noncentrality : sequence of float
        ``delta_i`` (k values), shared by every rectangle of the batch.
    df : float
        Degrees of freedom; ``math.inf`` for the multivariate normal.
    correlation : array_like, optional
        Correlation matrix ``R`` (k x k, symmetric, unit diagonal).  Give
        this or ``loadings``.
    loadings : sequence of float, optional
        ``l_i`` in (-1, 1) of a product-form correlation, when already known
        (skips detecting it in ``correlation``).

    Returns
    -------
    float or numpy.ndarray
        The probability: a float for one rectangle, an array of shape
        ``lower.shape[:-1]`` for a batch.

    Raises
    ------
    ValueError
        If the shapes disagree, ``R`` is not a correlation matrix, loadings
        lie outside (-1, 1), or not exactly one of ``correlation`` and
        ``loadings`` is given.

    References
    ----------
    .. [1] Dunnett CW. A multiple comparison procedure for comparing several
       treatments with a control. J Am Stat Assoc 1955;50:1096-1121.
    .. [2] Genz A, Bretz F. Computation of Multivariate Normal and t
       Probabilities. Lecture Notes in Statistics 195, Springer 2009.
    .. [3] Genz A. Numerical computation of rectangular bivariate and
       trivariate normal and t probabilities. Stat Comput 2004;14:251-260.

    Examples
    --------
    Two independent standard normals both inside their central 95% interval
    (0.95 squared), and both above 0:

    >>> p = rectangle_probability(lower=[[-1.959964, -1.959964], [0, 0]],
    ...                           upper=[[1.959964, 1.959964], [math.inf, math.inf]],
    ...                           noncentrality=[0, 0], correlation=np.eye(2), df=math.inf)
    >>> [round(float(x), 6) for x in p]
    [0.9025, 0.25]
    """
    delta = np.asarray(noncentrality, dtype=float)
    if delta.ndim != 1:
        raise ValueError(f"noncentrality must be a sequence of numbers; got shape {delta.shape}")
    k = delta.size
    lo, hi = np.broadcast_arrays(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    if lo.ndim == 0 or lo.shape[-1] != k:
        raise ValueError(
            f"lower and upper (shape {lo.shape}) must end in the number of "
            f"statistics, {k} (the length of noncentrality)"
        )
    if (correlation is None) == (loadings is None):
        raise ValueError(
            "give exactly one of correlation= and loadings=; got "
            f"correlation={correlation!r}, loadings={loadings!r}"
        )
    corr = None
    if loadings is not None:
        load = np.asarray(loadings, dtype=float)
        if load.shape != (k,):
            raise ValueError(
                f"loadings (shape {load.shape}) must hold one value per statistic ({k})"
            )
        if np.any(np.abs(load) >= 1):
            raise ValueError(f"loadings must lie in (-1, 1); got loadings={load.tolist()}")
    else:
        corr = _check_correlation(correlation, k)
        found = product_loadings(corr)
        # Loadings next to +-1 leave a near-singular law the W rule cannot resolve.
        load = found if found is not None and np.all(np.abs(found) < 1 - 1e-9) else None
    flat_lo, flat_hi = lo.reshape(-1, k), hi.reshape(-1, k)
    out = np.zeros(flat_lo.shape[0])
    open_ = ~np.any(flat_lo >= flat_hi, axis=1)
    if k == 2 and load is not None and abs(load[0] * load[1]) <= _BVN_MAX_RHO:
        rho = float(load[0] * load[1])
        out[open_] = _bivariate_rectangles(flat_lo[open_], flat_hi[open_], delta, rho, df)
    elif load is not None:
        out[open_] = _product_rectangles(flat_lo[open_], flat_hi[open_], delta, load, df)
    else:
        out[open_] = _genz_rectangles(flat_lo[open_], flat_hi[open_], delta, corr, df)
    out = np.clip(out, 0.0, 1.0)
    return float(out[0]) if lo.ndim == 1 else out.reshape(lo.shape[:-1])


def joint_power(
    noncentrality: Sequence[float], critical: Sequence[float], correlation: np.ndarray, df: float
) -> float:
    """P(T_i > c_i for every i) for a noncentral multivariate t (or normal) vector.

    ``T_i = (Z_i + delta_i) / U`` with ``Z ~ N(0, R)`` and ``U`` distributed as
    ``sqrt(chi2_df / df)`` independent of ``Z`` (``U = 1`` when ``df`` is
    infinite): the noncentral multivariate t of Kshirsagar (mvtnorm ``pmvt``
    with ``type="Kshirsagar"``; Genz & Bretz 2009, eq. 1.4).  This is the
    upper orthant ``(c, inf)`` of :func:`rectangle_probability`.

    Parameters
    ----------
    noncentrality : sequence of float
        ``delta_i``, oriented so that rejection is in the upper tail.
    critical : sequence of float
        Critical values ``c_i``.
    correlation : numpy.ndarray
        Correlation matrix ``R`` (k x k, positive definite).
    df : float
        Degrees of freedom; ``math.inf`` for the multivariate normal.

    Returns
    -------
    float
        The joint probability, exact up to quadrature error (about 1e-10).

    Raises
    ------
    ValueError
        If the shapes disagree or ``R`` is not a valid correlation matrix.

    Examples
    --------
    Two independent one-sided tests with power 0.5 each:

    >>> round(joint_power([1.96, 1.96], [1.96, 1.96], np.eye(2), math.inf), 6)
    0.25
    """
    delta = np.asarray(noncentrality, dtype=float)
    crit = np.asarray(critical, dtype=float)
    corr = np.asarray(correlation, dtype=float)
    k = delta.size
    if crit.shape != (k,) or corr.shape != (k, k):
        raise ValueError(
            f"noncentrality ({k}), critical {crit.shape} and correlation "
            f"{corr.shape} must describe the same number of statistics"
        )
    return float(
        rectangle_probability(
            lower=crit, upper=np.full(k, math.inf), noncentrality=delta, correlation=corr, df=df
        )
    )


def _check_correlation(correlation: npt.ArrayLike, k: int) -> np.ndarray:
    """Return ``correlation`` as a k x k symmetric unit-diagonal array, or raise."""
    corr = np.asarray(correlation, dtype=float)
    if corr.shape != (k, k):
        raise ValueError(
            f"correlation (shape {corr.shape}) must be {k} x {k}, one row per statistic"
        )
    if not np.all(np.isfinite(corr)):
        raise ValueError(f"correlation must be finite; got correlation={corr.tolist()}")
    if not np.allclose(np.diag(corr), 1.0) or not np.allclose(corr, corr.T):
        raise ValueError("correlation must be a symmetric matrix with unit diagonal")
    smallest = float(np.linalg.eigvalsh(corr).min())
    if smallest < -1e-9:
        raise ValueError(
            "correlation must be positive semi-definite; its smallest eigenvalue "
            f"is {smallest:.3g} (correlation={corr.tolist()})"
        )
    return corr


def product_loadings(corr: np.ndarray) -> np.ndarray | None:
    """Return ``l`` with ``corr[i, k] = l_i l_k`` (i != k), or None if there is none."""
    k = corr.shape[0]
    if k == 1:
        return np.zeros(1)
    if k == 2:
        rho = corr[0, 1]
        if abs(rho) >= 1:
            return None
        root = math.sqrt(abs(rho))
        return np.array([root, math.copysign(root, rho)])
    off = corr[~np.eye(k, dtype=bool)]
    if np.all(off == 0):
        return np.zeros(k)
    if np.any(off == 0):
        return None
    # l_i^2 = R_ij R_ik / R_jk for any distinct j, k; then check every pair.
    loadings = np.empty(k)
    for i in range(k):
        j, m = [x for x in range(k) if x != i][:2]
        square = corr[i, j] * corr[i, m] / corr[j, m]
        if not 0 <= square < 1:
            return None
        loadings[i] = math.sqrt(square)
    loadings *= np.sign(corr[0])  # l_0 > 0 by convention; signs follow row 0
    loadings[0] = abs(loadings[0])
    implied = np.outer(loadings, loadings)
    mask = ~np.eye(k, dtype=bool)
    if np.max(np.abs(implied[mask] - corr[mask])) > 1e-12:
        return None
    return loadings


_W_HALF = 9.0


@lru_cache(maxsize=1)
def _w_rule() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre rule on [-9, 9] for the product-form integral over w (density folded in).

    Built on first use: the 400-node rule is an eigenproblem that took seconds
    on a loaded machine, which every ``import`` paid before.
    """
    nodes, weights = np.polynomial.legendre.leggauss(400)
    nodes = nodes * _W_HALF
    return nodes, weights * _W_HALF * stats.norm.pdf(nodes)


#: Nodes of U for the product form, and for the slower Genz fallback: there
#: 32 nodes (48 below df = 3) keep the error of the U rule under 1e-8, below
#: the fallback's own 1e-7.
_U_NODES_PRODUCT = 160
_U_NODES_GENZ = 32
_U_NODES_GENZ_SMALL_DF = 48
#: Fixed seed of the Genz quasi-Monte Carlo rule, so results are reproducible.
_GENZ_SEED = 20261125
#: Largest (rectangles x U nodes x W nodes x k) array evaluated at once.
_CHUNK_ELEMENTS = 2**22


def _interval_given_uw(
    lower: np.ndarray, upper: np.ndarray, delta: np.ndarray, loadings: np.ndarray, df: float
) -> tuple[np.ndarray, np.ndarray]:
    """Conditional interval probabilities of a product-form multivariate t.

    ``P(lower_i U < Z_i + delta_i < upper_i U | U, W)`` for
    ``Z_i = l_i W + sqrt(1 - l_i^2) E_i``, at the quadrature nodes of ``U``
    and ``W``: an array of shape ``(r, U nodes, W nodes, k)`` for ``lower``
    and ``upper`` of shape ``(r, k)``, and the weights of ``U``.  Average a
    function of it over ``(U, W)`` with :func:`_average_uw`.  The ``Z_i`` are
    independent given ``W``, so products over the last axis are joint
    probabilities.
    """
    u_nodes, u_weights = _chi_quadrature(float(df), _U_NODES_PRODUCT)
    scale = np.sqrt(1.0 - loadings**2)
    centre = delta[None, :] + loadings[None, :] * _w_rule()[0][:, None]  # (W, k)
    u = u_nodes[None, :, None, None]
    a = (lower[:, None, None, :] * u - centre) / scale
    b = (upper[:, None, None, :] * u - centre) / scale
    # Upper-tail intervals by symmetry, Phi(-a) - Phi(-b), keep their precision.
    flip = a > 0
    return (special.ndtr(np.where(flip, -a, b)) - special.ndtr(np.where(flip, -b, a)), u_weights)


def _average_uw(values: np.ndarray, u_weights: np.ndarray) -> np.ndarray:
    """Average ``values`` of shape ``(..., U nodes, W nodes)`` over ``W``, then ``U``."""
    return (values @ _w_rule()[1]) @ u_weights


def _product_rectangles(
    lower: np.ndarray, upper: np.ndarray, delta: np.ndarray, loadings: np.ndarray, df: float
) -> np.ndarray:
    """Product-form rectangle probabilities of the rows of ``lower``/``upper`` (r, k)."""
    n_u = 1 if math.isinf(df) else _U_NODES_PRODUCT
    step = max(1, _CHUNK_ELEMENTS // (n_u * _w_rule()[0].size * delta.size))
    out = np.empty(lower.shape[0])
    for start in range(0, lower.shape[0], step):
        rows = slice(start, start + step)
        probs, u_weights = _interval_given_uw(lower[rows], upper[rows], delta, loadings, df)
        out[rows] = _average_uw(np.prod(np.clip(probs, 0.0, 1.0), axis=-1), u_weights)
    return out


#: Genz (2004): Gauss-Legendre rules with 6, 12 and 20 nodes on the arcsine integral
#: reach double precision for |rho| below 0.3, 0.75 and 0.925; above, the W rule.
_BVN_MAX_RHO = 0.925
_BVN_RULES = tuple(
    (limit, *np.polynomial.legendre.leggauss(n)) for limit, n in ((0.3, 6), (0.75, 12), (0.925, 20))
)
#: Normal bounds beyond +-40 are infinite in double precision (Phi(-40) < 1e-300).
_BVN_BOUND = 40.0


def _bvn_lower(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """``P(X < h, Y < k)`` for standard bivariate normal ``(X, Y)`` with correlation ``rho``.

    Genz (2004), for ``|rho| <= 0.925``: ``Phi(h) Phi(k) + (1 / 2 pi)
    int_0^{asin rho} exp(-(h^2 + k^2 - 2 h k sin t) / (2 cos^2 t)) dt`` by
    Gauss-Legendre (Drezner & Wesolowsky 1990's form, error about 1e-15).
    Infinite bounds are cut at +-40, where ``Phi`` is 0 or 1 in double precision.
    """
    h = np.clip(h, -_BVN_BOUND, _BVN_BOUND)
    k = np.clip(k, -_BVN_BOUND, _BVN_BOUND)
    base = special.ndtr(h) * special.ndtr(k)
    if rho == 0.0:
        return base
    x, w = next((x, w) for limit, x, w in _BVN_RULES if abs(rho) <= limit)
    half = 0.5 * math.asin(rho)
    sine = np.sin(half * (x + 1.0))
    cos2 = 1.0 - sine * sine
    hk = (h * k)[..., None]
    squares = (0.5 * (h * h + k * k))[..., None]
    values = np.exp((hk * sine - squares) / cos2)
    return base + (half / (2.0 * math.pi)) * (values @ w)


def _bivariate_rectangles(
    lower: np.ndarray, upper: np.ndarray, delta: np.ndarray, rho: float, df: float
) -> np.ndarray:
    """Rectangle probabilities of two statistics (rows of ``lower``/``upper``, shape (r, 2)).

    Given ``U = u`` the normal rectangle ``lower u - delta < Z < upper u -
    delta`` is a bivariate normal probability (:func:`_bvn_lower`: one
    corner for an orthant, four by inclusion-exclusion otherwise), averaged
    over the same Gauss-Legendre rule of ``U`` as the product form.
    """
    n_u = 1 if math.isinf(df) else _U_NODES_PRODUCT
    u_nodes, u_weights = _chi_quadrature(float(df), n_u)
    u = u_nodes[None, :, None]
    with np.errstate(invalid="ignore"):  # inf * u, u > 0: stays infinite
        a = lower[:, None, :] * u - delta
        b = upper[:, None, :] * u - delta
    if np.all(np.isposinf(upper)):  # P(Z > a) = P(-Z < -a): one corner, full precision
        probs = _bvn_lower(-a[..., 0], -a[..., 1], rho)
    elif np.all(np.isneginf(lower)):
        probs = _bvn_lower(b[..., 0], b[..., 1], rho)
    else:
        probs = (
            _bvn_lower(b[..., 0], b[..., 1], rho)
            - _bvn_lower(a[..., 0], b[..., 1], rho)
            - _bvn_lower(b[..., 0], a[..., 1], rho)
            + _bvn_lower(a[..., 0], a[..., 1], rho)
        )
    return np.clip(probs, 0.0, 1.0) @ u_weights


def _genz_rectangles(
    lower: np.ndarray, upper: np.ndarray, delta: np.ndarray, corr: np.ndarray, df: float
) -> np.ndarray:
    """Rectangle probabilities by Genz's quasi-Monte Carlo at the nodes of U."""
    k = delta.size
    n_nodes = _U_NODES_GENZ if df >= 3 else _U_NODES_GENZ_SMALL_DF
    u_nodes, u_weights = _chi_quadrature(float(df), n_nodes)
    # allow_singular: a correlation within 1e-11 of 1 (a rate of 1e-12 makes one
    # shared cell dominate every contrast) is singular to scipy's eigenvalue check,
    # which raised LinAlgError; Genz's algorithm integrates the degenerate law fine.
    mvn = stats.multivariate_normal(
        mean=np.zeros(k),
        cov=corr,
        seed=_GENZ_SEED,
        maxpts=max(2_000_000, 1_000_000 * k),
        abseps=1e-7,
        releps=0.0,
        allow_singular=True,
    )
    values = np.array(
        [
            [mvn.cdf(hi * u - delta, lower_limit=lo * u - delta) for u in u_nodes]
            for lo, hi in zip(lower, upper, strict=True)
        ]
    )
    return values.reshape(lower.shape[0], u_nodes.size) @ u_weights


@lru_cache(maxsize=256)
def _chi_quadrature(df: float, n_nodes: int = _U_NODES_PRODUCT) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[g(U)], U = sqrt(chi2_df / df) (U = 1 if df is infinite).

    Gauss-Legendre on the central range [q(1e-15), q(1 - 1e-15)] of U, where
    the density is smooth; the truncated mass is below 2e-15.
    """
    if math.isinf(df):
        return np.ones(1), np.ones(1)
    u_dist = stats.chi(df, scale=1.0 / math.sqrt(df))
    lo, hi = u_dist.ppf(1e-15), u_dist.isf(1e-15)
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    nodes = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    weights = 0.5 * (hi - lo) * w * u_dist.pdf(nodes)
    return nodes, weights / weights.sum()


@dataclass(frozen=True, kw_only=True)
class SizeSearch:
    """What the integer sample-size search found (engines return it; designs report it).

    Attributes
    ----------
    multiplier : int
        The smallest multiplier ``k`` (cell sizes ``k * family.ratios``)
        whose power reaches the target.
    family : StatisticFamily
        The family at that multiplier.
    power : float
        The achieved value compared with the target (e.g. the smallest power
        over the required hypotheses).
    powers : mapping of str to float
        Achieved power per required hypothesis.
    evaluations : int
        Power evaluations the search made.
    hypotheses : tuple of str
        The hypotheses the result reports (default: those of ``powers``).
    method : str
        How the power was computed.
    extras : mapping
        Engine-specific values for the result's ``extras``.
    result_type : type or None
        A :class:`~trialplan.results.SampleSizeResult` subclass the design
        builds (e.g. the sequential one); None for the plain result.
    result_fields : mapping
        Further fields of ``result_type``.
    """

    multiplier: int
    family: StatisticFamily
    power: float
    powers: Mapping[str, float]
    evaluations: int
    method: str = ""
    hypotheses: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)
    result_type: type | None = None
    result_fields: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        powers = ", ".join(f"{h} {p:.4f}" for h, p in self.powers.items())
        return (
            f"SizeSearch: multiplier {self.multiplier} (n_total {self.family.n_total:g}), power "
            f"{powers} after {self.evaluations} evaluations\n  method: {self.method}"
        )


def max_multiplier(family: StatisticFamily) -> int:
    """Largest multiplier the search tries: no cell above :data:`MAX_CELL_SIZE`."""
    return max(1, int(MAX_CELL_SIZE // float(np.max(family.ratios))))


def check_reachable(family: StatisticFamily, names: Sequence[str] | None = None) -> None:
    """Fail fast when no sample size can reach a target: a zero (or wrong-way) effect.

    Raises
    ------
    ValueError
        Naming the hypothesis, its effect and what a one-sided test needs.
    """
    for stat in family if names is None else (family[n] for n in names):
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


def normal_guess(
    family: StatisticFamily, target: float, names: Sequence[str] | None = None
) -> float:
    """Normal-approximation multiplier for ``target`` power: the search's first bracket.

    Every variance scales as ``1 / k``, so a statistic with variance ``v`` at
    the family's multiplier ``k0`` needs about
    ``k0 v (z_{alpha/sided} + z_{power})^2 / effect^2``; the largest over the
    named hypotheses (and intersection-union components) is returned.
    """
    z = critical_value(family.alpha / family.sided, math.inf) + critical_value(1 - target, math.inf)
    guesses = []
    for stat in family if names is None else (family[n] for n in names):
        parts = stat.components if isinstance(stat, IntersectionUnion) else (stat,)
        for part in parts:
            if part.effect != 0:
                guesses.append(family.multiplier * z**2 * part.se**2 / part.effect**2)
    return max(guesses, default=1.0)


def smallest_multiplier(
    power_at: Callable[[int], float],
    target: float,
    *,
    lo: int,
    guess: float,
    cap: int,
    what: str = "allocation multiplier",
    where: Callable[[int], str] | None = None,
) -> int:
    """Smallest integer ``k`` in ``[lo, cap]`` with ``power_at(k) >= target``; power rises with k.

    The search brackets the answer from ``guess`` (the normal approximation)
    in steps of 2% of it, doubled until the target is bracketed, then
    bisects; every value is evaluated once.

    Raises
    ------
    ValueError
        When even ``cap`` (the search's limit, the same for every outcome)
        does not reach the target: the message names the cap and the power
        there.

    Examples
    --------
    >>> smallest_multiplier(lambda k: 1 - 0.9**k, 0.8, lo=1, guess=10, cap=10**6)
    16
    """
    values: dict[int, float] = {}

    def p(k: int) -> float:
        if k not in values:
            values[k] = power_at(k)
        return values[k]

    lo = max(1, int(lo))
    if lo > cap:
        cap = lo
    start = int(min(max(math.ceil(guess) if math.isfinite(guess) else cap, lo), cap))
    step = max(1, start // 50)
    if p(start) >= target:
        hi = start
        while hi > lo:  # step down until a size misses the target
            below = max(lo, hi - step)
            if p(below) < target:
                lo = below + 1
                break
            hi = below
            step *= 2
    else:
        lo, hi = start + 1, start
        while True:
            if hi >= cap:
                at = f" ({where(cap)})" if where is not None else ""
                raise ValueError(
                    f"power={target} is out of reach: only {p(cap):.4f} at {what}={cap}{at}, "
                    "the search's cap; the planned effect is too small to reach the target at "
                    f"any size up to the cap (designs search up to {MAX_CELL_SIZE:.0e} "
                    "participants in a cell, whatever the outcome)"
                )
            hi = min(hi + step, cap)
            if p(hi) >= target:
                break
            lo = hi + 1
            step *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if p(mid) < target else (lo, mid)
    return lo


def sample_size_search(
    family: StatisticFamily,
    *,
    power: float,
    hypotheses: Sequence[str] | None = None,
    power_of: Callable[[StatisticFamily], tuple[float, Mapping[str, float]]] | None = None,
    guess: float | None = None,
    method: str | None = None,
    cap: int | None = None,
) -> SizeSearch:
    """The one integer sample-size search: smallest multiplier reaching ``power``.

    Cell sizes are ``k * family.ratios``; power is evaluated on
    ``family.scaled(k)`` (the design is never rebuilt), bracketing from the
    normal approximation (:func:`normal_guess`) and bisecting.  Every design
    and engine sizes through it, so the limit (:data:`MAX_CELL_SIZE`
    participants in a cell) and its message are the same everywhere.

    Parameters
    ----------
    family : StatisticFamily
        The hypotheses at the design's planned sizes.
    power : float
        Target power in (0, 1).
    hypotheses : sequence of str, optional
        The hypotheses that must all reach the target (default: the family's).
    power_of : callable, optional
        ``power_of(family_at_k) -> (value, {hypothesis: power})``, the value
        compared with the target; by default the exact power of each named
        hypothesis, and their minimum.
    guess : float, optional
        A better first bracket than the normal approximation (e.g. the
        group-sequential one).
    method : str, optional
        How power is computed, for the result (default: the statistics' methods).
    cap : int, optional
        Largest multiplier tried; by default the one that puts
        :data:`MAX_CELL_SIZE` participants in the largest cell, which every
        design uses (a helper that returns a bare number rather than a design
        may allow more).

    Returns
    -------
    SizeSearch

    Raises
    ------
    ValueError
        For ``power`` outside (0, 1), a zero or wrong-way effect, or a target
        that the limit does not reach.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Parallel(arms=("c", "t"), n_per_arm=10,
    ...                 outcome=tp.Continuous(means={"c": 0.0, "t": -4.0}, sd=8.0))
    >>> found = sample_size_search(d.statistics(), power=0.8)
    >>> found.multiplier, round(found.power, 4), found.evaluations <= 6
    (64, 0.8015, True)
    """
    target = check_open_unit("power", power)
    names = tuple(family.hypotheses if hypotheses is None else hypotheses)
    family = family.select(names) if names != family.hypotheses else family
    if power_of is None:
        check_reachable(family)

        def power_of(fam: StatisticFamily) -> tuple[float, Mapping[str, float]]:
            powers = {s.hypothesis: statistic_power(s) for s in fam}
            return min(powers.values()), powers

    cache: dict[int, tuple[float, Mapping[str, float]]] = {}

    def power_at(k: int) -> float:
        if k not in cache:
            cache[k] = power_of(family.scaled(k))
        return cache[k][0]

    lo = family.smallest_multiplier()
    cap = max_multiplier(family) if cap is None else int(cap)
    start = normal_guess(family, target) if guess is None else guess
    k = smallest_multiplier(
        power_at,
        target,
        lo=lo,
        guess=start,
        cap=cap,
        what=family.unit,
        where=lambda c: f"cell sizes {_sizes_text(c * family.ratios)}",
    )
    power_at(k)
    value, powers = cache[k]
    solved = family.scaled(k)
    if method is None:
        method = "; ".join(sorted({s.method for s in solved}))
    return SizeSearch(
        multiplier=k,
        family=solved,
        power=value,
        powers=dict(powers),
        evaluations=len(cache),
        method=method,
    )


def _sizes_text(sizes: np.ndarray) -> str:
    values = [f"{v:.4g}" for v in sizes]
    return values[0] + " each" if len(set(values)) == 1 else ", ".join(values)


def anova_power(
    *,
    cohens_f: float,
    n_total: int,
    n_groups: int,
    df_num: int = 1,
    n_covariates: int = 0,
    alpha: float = 0.05,
) -> float:
    """Power of an ANOVA/ANCOVA F test in G*Power's convention.

    G*Power ("ANOVA: fixed effects, special, main effects and interactions";
    "ANCOVA") uses the noncentral F with ``lambda = N f^2`` and denominator
    df ``N - groups - covariates``.  For one numerator df this equals the
    two-sided noncentral t power trialplan reports for the same contrast at
    equal cell sizes, with ``f^2 = theta^2 / (sigma^2 J sum c_j^2)``.  The ``f``
    of a 2x2 interaction is ``|IC| / (4 sigma)`` for the difference of
    differences ``IC``; tools that code factors +-1 or report the ANOVA term
    ``(ab)_11 = IC / 4`` describe the same data with other numbers, which is why
    a 2x2 "f" differs between tools.

    Parameters
    ----------
    cohens_f : float
        Cohen's f (> 0).
    n_total : int
        Total sample size N.
    n_groups : int
        Number of cells J.
    df_num : int, default 1
        Numerator degrees of freedom of the tested term.
    n_covariates : int, default 0
        Number of covariates (ANCOVA).
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    float
        Power.

    References
    ----------
    .. [1] Faul F, Erdfelder E, Lang A-G, Buchner A. G*Power 3. Behav Res
       Methods 2007;39:175-191.
    .. [2] Cohen J. Statistical Power Analysis for the Behavioral Sciences, 2nd
       ed., 1988, ch. 8.

    Examples
    --------
    >>> round(anova_power(cohens_f=0.25, n_total=128, n_groups=4), 7)
    0.8013621
    """
    f = check_positive("cohens_f", cohens_f)
    n_total = check_int("n_total", n_total, minimum=2)
    n_groups = check_int("n_groups", n_groups, minimum=1)
    df_num = check_int("df_num", df_num, minimum=1)
    n_covariates = check_int("n_covariates", n_covariates, minimum=0)
    for name, count in (
        ("n_total", n_total),
        ("n_groups", n_groups),
        ("df_num", df_num),
        ("n_covariates", n_covariates),
    ):
        if count > MAX_CELL_SIZE:  # scipy's F takes C doubles; df_num=1e300 raised inside it
            raise ValueError(f"{name} must be at most {MAX_CELL_SIZE:.0e}; got {name}={count!r}")
    alpha = check_open_unit("alpha", alpha)
    df_den = n_total - n_groups - n_covariates
    if df_den < 1:
        raise ValueError(
            f"n_total={n_total} leaves no residual degrees of freedom with "
            f"n_groups={n_groups} and n_covariates={n_covariates}"
        )
    crit = stats.f.isf(alpha, df_num, df_den)
    lam = n_total * f * f  # f**2 overflows to an error at 1e155
    if lam < 1e-300:
        # scipy's ncf.sf is wrong at a (denormal or underflowed) zero noncentrality
        # (-0.896 for lambda=0, 0.0 for 5e-324); the difference from the central F
        # is of order lambda there.
        return float(stats.f.sf(crit, df_num, df_den))
    power = float(stats.ncf.sf(crit, df_num, df_den, lam))
    if math.isnan(power):
        # scipy's ncf gives NaN once lambda passes about 1e19 (e.g. cohens_f=1e12);
        # there chi2'(df_num, lambda) ~ lambda and F > crit iff chi2_den < bound.
        with np.errstate(over="ignore"):
            bound = df_den * lam / (df_num * crit)
        power = float(stats.chi2.cdf(bound, df_den))
    return power
