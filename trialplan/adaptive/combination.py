"""Combination tests: inverse normal (CHW weights) and Fisher's product test.

An adaptive trial analyses each stage's data on its own and combines the
stage-wise one-sided p-values ``p_k`` (or z statistics ``z_k = Phi^{-1}(1 - p_k)``)
with weights fixed before the trial.  Because the stage-wise statistics are
independent and uniform under H0 whatever was decided at the interims, any
data-driven change of the later stages' sizes keeps the type I error.

Inverse normal (Lehmacher & Wassmer 1999) with the weights of Cui, Hung &
Wang (1999), ``w_k = sqrt(t_k - t_{k-1})`` from the PLANNED information
fractions ``t_k``:

    Z*_k = sum_{i <= k} w_i z_i / sqrt(t_k)

has under H0 exactly the joint law of a group-sequential statistic at the
planned looks, so the group-sequential boundaries of
:class:`~trialplan.GroupSequential` (efficacy and futility) apply unchanged.

Fisher's product test (Bauer & Koehne 1994), with rpact's weights
``v_1 = 1``, ``v_k = sqrt((t_k - t_{k-1}) / t_1)`` (Wassmer & Brannath 2016,
section 6.4): reject at stage k when ``prod_{i <= k} p_i^{v_i} <= c_k``, stop
for futility when ``p_k >= alpha0_k``.  Its critical values are found here
from the exact null distribution: ``-log p_i`` are independent standard
exponentials, and the sub-density of ``L_k = -sum v_i log p_i`` on the
continuation region is carried from stage to stage by the exponential kernel
(a 1-D recursion, evaluated by Gauss-Legendre quadrature on panels cut at
every kink of the sub-density; accuracy about 1e-13).

References
----------
.. [1] Bauer P, Koehne K. Evaluation of experiments with adaptive interim
   analyses. Biometrics 1994;50:1029-1041.
.. [2] Lehmacher W, Wassmer G. Adaptive sample size calculations in group
   sequential trials. Biometrics 1999;55:1286-1290.
.. [3] Cui L, Hung HMJ, Wang SJ. Modification of sample size in group
   sequential clinical trials. Biometrics 1999;55:853-857.
.. [4] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016, chapters 6 and 8.
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

from trialplan._validation import check_open_unit
from trialplan.sequential import GroupSequential
from trialplan.sequential.spending import SpendingFunction

__all__ = [
    "FisherCombination",
    "fisher_combination",
    "fisher_weights",
    "inverse_normal",
    "inverse_normal_weights",
]

#: Gauss-Legendre nodes per panel of the Fisher recursion
_NODES = 24
#: Widest panel of the Fisher recursion (in units of -log p)
_PANEL = 0.5
_X, _W = legendre.leggauss(_NODES)
# Values at the nodes -> Legendre coefficients of the interpolating polynomial
# (discrete orthogonality of Gauss-Legendre, exact up to degree NODES - 1).
_TO_COEF = (
    (2.0 * np.arange(_NODES)[:, None] + 1.0)
    / 2.0
    * _W[None, :]
    * np.stack([legendre.legval(_X, np.eye(_NODES)[m]) for m in range(_NODES)])
)


def _check_fractions(info_fractions: Any) -> np.ndarray:
    t = np.asarray(info_fractions, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)):
        raise ValueError(
            f"info_fractions must be a sequence of numbers increasing to 1; got {info_fractions!r}"
        )
    if np.any(t <= 0) or np.any(np.diff(t) <= 0) or abs(t[-1] - 1.0) > 1e-9:
        raise ValueError(
            "info_fractions must be strictly increasing numbers in (0, 1] ending at 1; "
            f"got info_fractions={tuple(info_fractions)!r}"
        )
    return t


def inverse_normal_weights(info_fractions: Sequence[float]) -> np.ndarray:
    """Cui-Hung-Wang weights ``w_k = sqrt(t_k - t_{k-1})`` of the inverse normal test.

    Parameters
    ----------
    info_fractions : sequence of float
        Planned information fractions, increasing to 1.

    Returns
    -------
    numpy.ndarray
        One weight per stage; their squares sum to 1.

    Examples
    --------
    >>> inverse_normal_weights([0.6, 1.0]).round(4).tolist()
    [0.7746, 0.6325]
    """
    t = _check_fractions(info_fractions)
    return np.sqrt(np.diff(t, prepend=0.0))


def fisher_weights(info_fractions: Sequence[float]) -> np.ndarray:
    """Fisher product-test weights ``v_1 = 1``, ``v_k = sqrt((t_k - t_{k-1}) / t_1)``.

    These are rpact's weights (Wassmer & Brannath 2016, section 6.4): with
    equal stages all weights are 1, Bauer & Koehne's unweighted test.

    Examples
    --------
    >>> fisher_weights([0.5, 1.0]).tolist()
    [1.0, 1.0]
    >>> fisher_weights([0.25, 1.0]).round(4).tolist()
    [1.0, 1.7321]
    """
    t = _check_fractions(info_fractions)
    return np.sqrt(np.diff(t, prepend=0.0) / t[0])


def inverse_normal(z: Any, info_fractions: Sequence[float]) -> np.ndarray:
    """Cumulative inverse normal combination statistics ``Z*_1, ..., Z*_k``.

    Parameters
    ----------
    z : array_like
        Stage-wise z statistics, shape ``(..., k)`` with ``k`` at most the
        number of stages (the stages seen so far).
    info_fractions : sequence of float
        Planned information fractions of all stages.

    Returns
    -------
    numpy.ndarray
        Same shape as ``z``: ``Z*_j = sum_{i <= j} w_i z_i / sqrt(t_j)``.

    Examples
    --------
    >>> inverse_normal([2.0, 1.0], [0.5, 1.0]).round(4).tolist()   # (2 + 1) / sqrt(2)
    [2.0, 2.1213]
    """
    z = np.asarray(z, dtype=float)
    t = _check_fractions(info_fractions)
    k = z.shape[-1]
    if k > t.size:
        raise ValueError(f"z has {k} stages but info_fractions only {t.size}")
    w = np.sqrt(np.diff(t, prepend=0.0))[:k]
    return np.cumsum(z * w, axis=-1) / np.sqrt(t[:k])


def fisher_combination(p: Any, info_fractions: Sequence[float]) -> np.ndarray:
    """Cumulative weighted Fisher products ``prod_{i <= j} p_i^{v_i}``.

    Examples
    --------
    >>> fisher_combination([0.1, 0.2], [0.5, 1.0]).round(4).tolist()
    [0.1, 0.02]
    """
    p = np.asarray(p, dtype=float)
    v = fisher_weights(info_fractions)[: p.shape[-1]]
    with np.errstate(divide="ignore"):
        return np.exp(np.cumsum(v * np.log(p), axis=-1))


# --------------------------------------------------------------------------
# Exact null distribution of Fisher's weighted product test
# --------------------------------------------------------------------------
@dataclass
class _Density:
    """Sub-density of ``L_k`` on panels: ends (P + 1,), values at the nodes (P, NODES)."""

    ends: np.ndarray
    values: np.ndarray

    @property
    def mass(self) -> float:
        width = np.diff(self.ends)
        return float(np.sum(self.values @ _W * width / 2.0))


def _panels(lo: float, hi: float, cuts: Sequence[float], width: float) -> np.ndarray:
    """Panel ends on [lo, hi], cut at ``cuts`` and at most ``width`` wide."""
    points = sorted({lo, hi, *(c for c in cuts if lo < c < hi)})
    ends = [points[0]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        pieces = max(1, math.ceil((b - a) / width - 1e-12))
        ends.extend(a + (b - a) * np.arange(1, pieces + 1) / pieces)
    return np.array(ends, dtype=float)


def _nodes(ends: np.ndarray) -> np.ndarray:
    mid, half = (ends[1:] + ends[:-1]) / 2.0, np.diff(ends) / 2.0
    return mid[:, None] + half[:, None] * _X[None, :]


def _tail_integral(density: _Density, rate: float, u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``int_{s < u} g(s) exp(-(y - s) / rate) ds`` for arrays ``u <= y`` (element-wise).

    The integrand carries ``exp(-(y - s) / rate) <= 1``; each panel's part is
    computed with the factor taken relative to the panel's right end, so no
    exponential overflows.  Whole panels below ``u`` use their Gauss-Legendre
    sums, the panel holding ``u`` the integral of its interpolating polynomial.
    """
    ends, values = density.ends, density.values
    left, right = ends[:-1], ends[1:]
    half = (right - left) / 2.0
    # h_p(s) = g(s) exp((s - right_p) / rate): smooth, <= g
    h = values * np.exp((_nodes(ends) - right[:, None]) / rate)
    full = (h @ _W) * half
    anti = legendre.legint(h @ _TO_COEF.T, lbnd=-1.0, axis=1)  # (P, NODES + 1)
    u, y = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(y, dtype=float))
    shape = u.shape
    u, y = u.ravel(), y.ravel()
    whole = right[None, :] <= u[:, None]
    scale = np.exp(np.minimum(right[None, :] - y[:, None], 0.0) / rate)
    out = np.sum(np.where(whole, full[None, :] * scale, 0.0), axis=1)
    p = np.searchsorted(right, u, side="right")  # panel holding u (if any)
    inside = (p < right.size) & (u > left[np.minimum(p, right.size - 1)])
    if np.any(inside):
        q = p[inside]
        xi = (u[inside] - left[q]) / half[q] - 1.0
        part = legendre.legval(xi, anti[q].T, tensor=False) * half[q]
        out[inside] += part * np.exp((right[q] - y[inside]) / rate)
    return out.reshape(shape)


def _fisher_exits(
    weights: np.ndarray, log_crit: np.ndarray, log_alpha0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Null probabilities of rejecting and of stopping for futility at each stage.

    ``weights`` v_k; ``log_crit`` = log c_k (``-inf`` for c_k = 0: no rejection);
    ``log_alpha0`` = log alpha0_k for the K - 1 interims (0 for no futility).
    """
    k_max = weights.size
    gamma = -np.asarray(log_crit, dtype=float)  # reject when L_k >= gamma_k
    beta = -np.asarray(log_alpha0, dtype=float)  # continue only when X_k > beta_k
    reject, futile = np.zeros(k_max), np.zeros(k_max)
    # Stage 1: L_1 = X_1 ~ Exp(1) (v_1 = 1).
    reject[0] = math.exp(-gamma[0]) if math.isfinite(gamma[0]) else 0.0
    if k_max == 1:
        return reject, futile
    futile[0] = -math.expm1(-beta[0]) if beta[0] > 0 else 0.0
    lo, hi = beta[0], gamma[0]
    if not lo < hi:
        return reject, futile
    ends = _panels(lo, hi, (), _PANEL)
    density = _Density(ends=ends, values=np.exp(-_nodes(ends)))
    cuts = [lo, hi]
    for k in range(1, k_max):
        v = float(weights[k])
        mass = density.mass
        # P(L_{k+1} >= gamma): int g(s) exp(-max(gamma - s, 0) / v) ds
        g = gamma[k]
        if math.isfinite(g):
            below = _tail_integral(density, v, np.array(min(g, density.ends[-1])), np.array(g))
            above_mass = mass - _mass_below(density, min(g, density.ends[-1]))
            reject[k] = float(below) + above_mass
        if k == k_max - 1:
            break
        shift = v * beta[k]
        # futility: X_k <= beta_k among those not rejecting
        new_lo = density.ends[0] + shift
        new_hi = min(g, density.ends[-1] + 50.0 * v) if math.isfinite(g) else math.inf
        if not math.isfinite(new_hi):
            raise ValueError("a stage without a critical value must be the last")
        cuts = [c + shift for c in cuts] + [new_hi]
        if not new_lo < new_hi:
            futile[k] = mass - reject[k]
            return reject, futile
        ends = _panels(new_lo, new_hi, cuts, min(_PANEL, 2.0 * v))
        y = _nodes(ends)
        values = _tail_integral(density, v, y - shift, y) / v
        new = _Density(ends=ends, values=values)
        futile[k] = mass - reject[k] - new.mass
        density = new
        cuts = [c for c in cuts if new_lo <= c <= new_hi]
    return reject, futile


def _mass_below(density: _Density, u: float) -> float:
    """``int_{s < u} g(s) ds``."""
    ends, values = density.ends, density.values
    left, right = ends[:-1], ends[1:]
    half = (right - left) / 2.0
    total = float(np.sum((values @ _W * half)[right <= u]))
    p = int(np.searchsorted(right, u, side="right"))
    if p < right.size and u > left[p]:
        anti = legendre.legint(values[p] @ _TO_COEF.T, lbnd=-1.0)
        total += float(legendre.legval((u - left[p]) / half[p] - 1.0, anti) * half[p])
    return total


def fisher_size(
    critical_values: Sequence[float],
    info_fractions: Sequence[float],
    alpha0: Sequence[float] | float = 1.0,
) -> float:
    """Exact type I error of Fisher's weighted product test.

    Parameters
    ----------
    critical_values : sequence of float
        ``c_1, ..., c_K`` on the product scale (reject when
        ``prod p_i^{v_i} <= c_k``).
    info_fractions : sequence of float
        Planned information fractions (they set the weights).
    alpha0 : float or sequence of float, default 1.0
        Futility p-value bounds of the interims (1: none).  Binding: the size
        counts the futility stops as non-rejections.

    Returns
    -------
    float

    Examples
    --------
    >>> round(fisher_size([0.0157880734, 0.0022205443], [0.5, 1.0]), 6)   # rpact equalAlpha
    0.025
    """
    t = _check_fractions(info_fractions)
    c = np.asarray(critical_values, dtype=float)
    if c.shape != t.shape:
        raise ValueError(f"critical_values needs {t.size} values; got {c.size}")
    a0 = np.broadcast_to(np.asarray(alpha0, dtype=float), (max(t.size - 1, 0),))
    with np.errstate(divide="ignore"):
        reject, _ = _fisher_exits(fisher_weights(t), np.log(c), np.log(a0))
    return float(reject.sum())


_METHODS = ("equal_alpha", "no_interaction")


@dataclass(frozen=True, kw_only=True)
class FisherCombination:
    """Fisher's weighted product combination test with its critical values.

    Use it in place of a :class:`~trialplan.GroupSequential` wherever an
    adaptive design takes ``sequential=``.

    Parameters
    ----------
    info_fractions : sequence of float
        Planned information fractions of the stages, increasing to 1 (they
        set the weights ``v_k``).
    alpha : float, default 0.025
        One-sided type I error.
    alpha0 : float or sequence of float, default 1.0
        Futility bound on each interim's stage-wise p-value: stop when
        ``p_k >= alpha0_k`` (1: no futility stop).
    method : {"equal_alpha", "no_interaction"}, SpendingFunction or sequence of float
        How alpha is distributed (rpact's ``method``): ``"equal_alpha"`` (the
        default), equal local levels ``P_0(prod_{i<=k} p_i^{v_i} <= c_k) =
        alpha_1`` at every stage; a sequence of cumulative alpha by stage
        (increasing, ending at ``alpha``; rpact's ``userDefinedAlpha``);
        ``"no_interaction"`` (needs ``binding=True`` and ``alpha0 < 1``),
        ``c_k = c_{k+1} / alpha0_k^{v_{k+1}}``; or an alpha-spending function
        (``tp.spending.obrien_fleming()``, ...): cumulative error
        ``alpha(t_k)`` by stage k (rpact's ``userDefinedAlpha``).
    binding : bool, default False
        Whether the futility bounds are used in computing the critical
        values (binding) or ignored (non-binding: type I error at most alpha
        whatever is done at a futility bound).

    Attributes
    ----------
    critical_values : numpy.ndarray
        ``c_k`` on the product scale.
    stage_levels : numpy.ndarray
        Local levels ``P_0(prod_{i<=k} p_i^{v_i} <= c_k)`` without futility.
    alpha_spent : numpy.ndarray
        Cumulative null rejection probability by stage k (futility bounds
        followed when binding).
    weights : numpy.ndarray
        ``v_k``.

    References
    ----------
    .. [1] Bauer P, Koehne K. Biometrics 1994;50:1029-1041.
    .. [2] Wassmer G. Statistische Testverfahren fuer gruppensequentielle und
       adaptive Plaene in klinischen Studien. Alexander Moench 1999.
    .. [3] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
       Designs in Clinical Trials. Springer 2016, section 6.4.

    Examples
    --------
    >>> from trialplan.adaptive import FisherCombination
    >>> f = FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> f.critical_values.round(7).tolist()          # rpact 3.3.4: 0.0157881, 0.0022205
    [0.0157881, 0.0022205]
    >>> f.stage_levels.round(6).tolist()
    [0.015788, 0.015788]
    """

    info_fractions: Sequence[float]
    alpha: float = 0.025
    alpha0: Any = 1.0
    method: Any = "equal_alpha"
    binding: bool = False
    _critical: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        t = _check_fractions(self.info_fractions)
        object.__setattr__(self, "info_fractions", tuple(float(v) for v in t))
        alpha = check_open_unit("alpha", self.alpha)
        if alpha >= 0.5:
            raise ValueError(f"alpha must be below 0.5 (one-sided); got alpha={self.alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        a0 = np.broadcast_to(np.asarray(self.alpha0, dtype=float), (t.size - 1,)).copy()
        if np.any(~np.isfinite(a0)) or np.any(a0 <= alpha) or np.any(a0 > 1.0):
            raise ValueError(
                f"alpha0 must be p-value bounds in (alpha, 1] = ({alpha:g}, 1], one per "
                f"interim or one for all; got alpha0={self.alpha0!r}"
            )
        object.__setattr__(self, "alpha0", tuple(float(v) for v in a0))
        if not isinstance(self.binding, bool | np.bool_):
            raise TypeError(f"binding must be True or False; got binding={self.binding!r}")
        object.__setattr__(self, "binding", bool(self.binding))
        method = self.method
        if not isinstance(method, SpendingFunction | str):
            try:
                spent = np.array([float(v) for v in method])
            except (TypeError, ValueError):
                raise TypeError(
                    f"method must be one of {_METHODS}, an alpha-spending function or a "
                    f"sequence of cumulative alpha by stage; got method={method!r}"
                ) from None
            ok = (
                spent.shape == t.shape
                and np.all(np.diff(spent) > 0)
                and spent[0] > 0
                and abs(spent[-1] - alpha) < 1e-12
            )
            if not ok:
                raise ValueError(
                    f"a sequence method gives the cumulative alpha after each of the {t.size} "
                    f"stages, increasing to alpha={alpha:g}; got method={method!r}"
                )
            object.__setattr__(self, "method", tuple(spent.tolist()))
        elif not isinstance(method, SpendingFunction):
            if method not in _METHODS:
                raise ValueError(
                    f"method must be one of {_METHODS} or an alpha-spending function "
                    f"(tp.spending.obrien_fleming(), ...); got method={method!r}"
                )
            if method == "no_interaction" and (t.size < 3 or not self.binding or np.all(a0 == 1.0)):
                raise ValueError(
                    "method='no_interaction' needs at least 3 stages, binding=True and "
                    f"futility bounds alpha0 < 1; got {t.size} stages, binding={self.binding}, "
                    f"alpha0={self.alpha0!r}"
                )
        object.__setattr__(self, "_critical", self._solve())

    # ------------------------------------------------------------ solving
    @property
    def weights(self) -> np.ndarray:
        """Fisher weights ``v_k``."""
        return fisher_weights(self.info_fractions)

    @property
    def n_looks(self) -> int:
        """Number of stages K."""
        return len(self.info_fractions)

    def _alpha0_used(self) -> np.ndarray:
        return np.array(self.alpha0) if self.binding else np.ones(self.n_looks - 1)

    def _exits(self, critical: np.ndarray, alpha0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore"):
            return _fisher_exits(self.weights, np.log(critical), np.log(alpha0))

    def _level(self, k: int, c: float) -> float:
        """P_0(prod_{i <= k} p_i^{v_i} <= c), no futility (rpact's stage level)."""
        crit = np.full(k, c)
        reject, _ = _fisher_exits(self.weights[:k], np.log(crit), np.zeros(k - 1))
        return float(reject.sum())

    def _crit_for_level(self, k: int, level: float) -> float:
        """Critical value c with P_0(prod_{i <= k} p_i^{v_i} <= c) = level."""
        if k == 1:
            return level
        # A later weight above 1 puts much of the product's mass far below the level, so
        # the bracket's lower end moves down until the level is below it (1e-300 at most).
        low = level * 1e-12
        while self._level(k, low) > level and low > 1e-288:
            low *= 1e-12
        return float(
            optimize.brentq(
                lambda c: self._level(k, c) - level,
                low,
                level,
                xtol=level * 1e-15,
                rtol=1e-13,
            )
        )

    def _solve(self) -> np.ndarray:
        k_max = self.n_looks
        alpha = self.alpha
        if k_max == 1:
            return np.array([alpha])
        a0 = self._alpha0_used()
        method = self.method
        if isinstance(method, SpendingFunction | tuple):
            spent = (
                np.array(method)
                if isinstance(method, tuple)
                else method.spent(np.array(self.info_fractions), alpha)
            )
            crit = np.zeros(k_max)
            crit[0] = spent[0]
            for k in range(1, k_max):

                def excess(c: float, k: int = k) -> float:
                    trial = crit[: k + 1].copy()
                    trial[k] = c
                    with np.errstate(divide="ignore"):
                        rej, _ = _fisher_exits(self.weights[: k + 1], np.log(trial), np.log(a0[:k]))
                    return float(rej.sum()) - spent[k]

                crit[k] = optimize.brentq(
                    excess, alpha * 1e-12, alpha, xtol=alpha * 1e-15, rtol=1e-13
                )
            return crit

        def build(level: float) -> np.ndarray:
            if method == "equal_alpha":
                return np.array([self._crit_for_level(k, level) for k in range(1, k_max + 1)])
            # no_interaction: c_K from the full level; c_1 = level; back-recursion
            crit = np.empty(k_max)
            crit[-1] = self._crit_for_level(k_max, alpha)
            crit[0] = level
            v = self.weights
            for k in range(k_max - 2, 0, -1):
                crit[k] = crit[k + 1] / a0[k] ** (1.0 / v[k + 1])
            return crit

        def size(level: float) -> float:
            reject, _ = self._exits(build(level), a0)
            return float(reject.sum()) - alpha

        level = optimize.brentq(size, alpha * 1e-9, alpha, xtol=alpha * 1e-15, rtol=1e-13)
        return build(level)

    # ---------------------------------------------------------- attributes
    @property
    def critical_values(self) -> np.ndarray:
        """Critical values ``c_k`` on the product scale (a copy)."""
        return self._critical.copy()

    @property
    def stage_levels(self) -> np.ndarray:
        """Local levels ``P_0(prod_{i<=k} p_i^{v_i} <= c_k)``, no futility."""
        return np.array([self._level(k, float(c)) for k, c in enumerate(self._critical, start=1)])

    @property
    def alpha_spent(self) -> np.ndarray:
        """Cumulative null rejection probability by each stage (binding futility followed)."""
        reject, _ = self._exits(self._critical, self._alpha0_used())
        return np.cumsum(reject)

    def futility_probabilities(self) -> np.ndarray:
        """Null probability of stopping for futility at each interim (bounds followed)."""
        _, futile = self._exits(self._critical, np.array(self.alpha0))
        return futile[: self.n_looks - 1]

    def size(self) -> float:
        """Exact null rejection probability with the futility bounds followed.

        Examples
        --------
        >>> from trialplan.adaptive import FisherCombination
        >>> f = FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025, alpha0=0.5)
        >>> round(f.size(), 4)          # c1 + c2 (log 0.5 - log c1), Bauer & Koehne (1994)
        0.0235
        """
        reject, _ = self._exits(self._critical, np.array(self.alpha0))
        return float(reject.sum())

    def describe(self) -> str:
        """A sentence a protocol can quote.

        Examples
        --------
        >>> from trialplan.adaptive import FisherCombination
        >>> print(FisherCombination(info_fractions=(0.5, 1.0)).describe())
        ... # doctest: +NORMALIZE_WHITESPACE
        Fisher's weighted product combination test with 2 stages at information
        fractions 0.5, 1, one-sided alpha = 0.025, equal local levels; critical values
        0.01579, 0.002221 on the product scale.
        """
        fracs = ", ".join(f"{t:.3g}" for t in self.info_fractions)
        how = (
            f"alpha spent by the {self.method.label} function"
            if isinstance(self.method, SpendingFunction)
            else "cumulative alpha " + ", ".join(f"{a:g}" for a in self.method)
            if isinstance(self.method, tuple)
            else {
                "equal_alpha": "equal local levels",
                "no_interaction": "no-interaction critical values",
            }[self.method]
        )
        text = (
            f"Fisher's weighted product combination test with {self.n_looks} stages at "
            f"information fractions {fracs}, one-sided alpha = {self.alpha:g}, {how}; critical "
            f"values {', '.join(f'{c:.4g}' for c in self._critical)} on the product scale"
        )
        if any(a < 1.0 for a in self.alpha0):
            text += (
                f"; {'binding' if self.binding else 'non-binding'} futility stop when a stage's "
                f"p-value is at least {', '.join(f'{a:g}' for a in self.alpha0)}"
            )
        return text + "."

    def to_frame(self) -> pd.DataFrame:
        """One row per stage: weight, critical value, local level, alpha spent, alpha0.

        Examples
        --------
        >>> from trialplan.adaptive import FisherCombination
        >>> FisherCombination(info_fractions=(0.5, 1.0)).to_frame()["weight"].tolist()
        [1.0, 1.0]
        """
        return pd.DataFrame(
            {
                "stage": np.arange(1, self.n_looks + 1),
                "info_fraction": self.info_fractions,
                "weight": self.weights,
                "critical_value": self._critical,
                "stage_level": self.stage_levels,
                "alpha_spent": self.alpha_spent,
                "alpha0": [*self.alpha0, math.nan],
            }
        )

    def __repr__(self) -> str:
        return self.describe() + "\n" + self.to_frame().to_string(index=False)

    __str__ = __repr__


# --------------------------------------------------------------------------
# Stage-by-stage decisions, vectorized over simulated trials
# --------------------------------------------------------------------------
class StageTest:
    """The decision rule of a combination test, applied stage by stage to many trials.

    Built by :func:`stage_test`; the simulation engines and the conditional
    power functions use it.  ``state`` is a dict of arrays over trials.
    """

    kind: str = ""
    info_fractions: np.ndarray
    alpha: float

    @property
    def n_looks(self) -> int:
        """Number of stages K."""
        return int(self.info_fractions.size)

    def start(self, size: int) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """Fresh state for ``size`` trials."""
        raise NotImplementedError

    def update(
        self, state: dict[str, np.ndarray], k: int, z: np.ndarray, fraction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        """Add stage ``k``'s z statistics; return (reject, futility) masks."""
        raise NotImplementedError

    def next_critical_value(
        self, state: dict[str, np.ndarray], k: int
    ) -> np.ndarray:  # pragma: no cover - abstract
        """The z the next stage (``k + 1``) must reach to reject there, per trial."""
        raise NotImplementedError


class _InverseNormalTest(StageTest):
    """CHW inverse normal combination on a group-sequential design's bounds."""

    kind = "inverse_normal"

    def __init__(self, gsd: Any) -> None:
        self.gsd = gsd
        self.info_fractions = np.array(gsd.info_fractions, dtype=float)
        self.alpha = float(gsd.alpha)
        self.weights = np.sqrt(np.diff(self.info_fractions, prepend=0.0))
        self.upper = np.array(gsd.efficacy_z, dtype=float)
        fut = gsd.futility_z
        self.lower = np.full(self.n_looks, -np.inf) if fut is None else np.array(fut, dtype=float)
        self.lower[-1] = -np.inf

    def start(self, size: int) -> dict[str, np.ndarray]:
        return {"sum": np.zeros(size)}

    def statistic(self, state: dict[str, np.ndarray], k: int) -> np.ndarray:
        """Inverse normal statistic ``Z*_k`` after stage ``k`` (0-based)."""
        return state["sum"] / math.sqrt(self.info_fractions[k])

    def update(
        self, state: dict[str, np.ndarray], k: int, z: np.ndarray, fraction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        state["sum"] = state["sum"] + self.weights[k] * z
        stat = self.statistic(state, k)
        reject = stat >= self.upper[k]
        return reject, ~reject & (stat <= self.lower[k])

    def next_critical_value(self, state: dict[str, np.ndarray], k: int) -> np.ndarray:
        t = self.info_fractions
        return (self.upper[k + 1] * math.sqrt(t[k + 1]) - state["sum"]) / self.weights[k + 1]


class _PooledTest(_InverseNormalTest):
    """The NAIVE analysis: cumulative data weighted by the sizes actually observed.

    ``Z_k = sum_i sqrt(f_i) z_i / sqrt(sum_i f_i)`` on the group-sequential
    bounds, as if the sizes had been fixed in advance (rpact's simulation with
    a group-sequential design).  After a data-driven change of the sizes its
    type I error exceeds alpha; it is offered to show that, not to be used.
    """

    kind = "pooled"

    def start(self, size: int) -> dict[str, np.ndarray]:
        return {"sum": np.zeros(size), "weighted": np.zeros(size), "info": np.zeros(size)}

    def update(
        self, state: dict[str, np.ndarray], k: int, z: np.ndarray, fraction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        state["sum"] = state["sum"] + self.weights[k] * z  # for the sizing rule (as planned)
        state["weighted"] = state["weighted"] + np.sqrt(fraction) * z
        state["info"] = state["info"] + fraction
        stat = state["weighted"] / np.sqrt(state["info"])
        reject = stat >= self.upper[k]
        return reject, ~reject & (stat <= self.lower[k])


class _FisherTest(StageTest):
    """Fisher's weighted product test on a :class:`FisherCombination`'s critical values."""

    kind = "fisher"

    def __init__(self, design: FisherCombination) -> None:
        self.design = design
        self.info_fractions = np.array(design.info_fractions, dtype=float)
        self.alpha = float(design.alpha)
        self.weights = design.weights
        with np.errstate(divide="ignore"):
            self.log_crit = np.log(design.critical_values)
        self.alpha0 = np.array([*design.alpha0, 1.0])

    def start(self, size: int) -> dict[str, np.ndarray]:
        return {"log": np.zeros(size)}

    def update(
        self, state: dict[str, np.ndarray], k: int, z: np.ndarray, fraction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        log_p = special.log_ndtr(-z)
        state["log"] = state["log"] + self.weights[k] * log_p
        reject = state["log"] <= self.log_crit[k]
        futile = ~reject & (log_p >= math.log(self.alpha0[k])) if k < self.n_looks - 1 else None
        if futile is None:
            futile = np.zeros_like(reject)
        return reject, futile

    def next_critical_value(self, state: dict[str, np.ndarray], k: int) -> np.ndarray:
        # p_{k+1} must satisfy v log p <= log c - sum: p <= exp((log c - sum) / v)
        log_bound = np.minimum((self.log_crit[k + 1] - state["log"]) / self.weights[k + 1], 0.0)
        return -special.ndtri(np.exp(log_bound))


def stage_test(sequential: Any, *, analysis: str = "combination") -> StageTest:
    """The stage-by-stage decision rule of an adaptive design's test.

    Parameters
    ----------
    sequential : GroupSequential or FisherCombination
        A one-sided :class:`~trialplan.GroupSequential` (inverse normal
        combination with CHW weights on its efficacy and futility bounds) or
        a :class:`FisherCombination`.
    analysis : {"combination", "pooled"}, default "combination"
        ``"pooled"``: the naive group-sequential test of the cumulative data
        weighted by the sizes actually observed (inverse normal designs only);
        it does not keep the type I error after a data-driven size change.

    Returns
    -------
    StageTest

    Raises
    ------
    TypeError, ValueError
        For another object, a two-sided group-sequential design, or
        ``analysis="pooled"`` with Fisher's test.

    Examples
    --------
    >>> import numpy as np, trialplan as tp
    >>> test = stage_test(tp.GroupSequential(info_fractions=(0.5, 1.0)))
    >>> state = test.start(2)
    >>> test.update(state, 0, np.array([3.0, 1.0]), np.array([0.5, 0.5]))
    (array([ True, False]), array([False, False]))
    >>> test.next_critical_value(state, 0).round(4).tolist()   # (1.9686 - sqrt(.5) z1) / sqrt(.5)
    [-0.216, 1.784]
    """
    if analysis not in ("combination", "pooled"):
        raise ValueError(f"analysis must be 'combination' or 'pooled'; got analysis={analysis!r}")
    if isinstance(sequential, FisherCombination):
        if analysis == "pooled":
            raise ValueError(
                "analysis='pooled' (the naive group-sequential test) needs a "
                "tp.GroupSequential design, not Fisher's combination test"
            )
        return _FisherTest(sequential)
    if isinstance(sequential, GroupSequential):
        if sequential.sided != 1:
            raise ValueError(
                "adaptive designs use one-sided tests (the combination test rejects in the "
                f"favourable direction); give tp.GroupSequential(sided=1, alpha="
                f"{sequential.alpha / sequential.sided:g}, ...); got sided={sequential.sided}"
            )
        return (
            _InverseNormalTest(sequential) if analysis == "combination" else _PooledTest(sequential)
        )
    raise TypeError(
        "sequential must be a tp.GroupSequential(...) (inverse normal combination test) or "
        f"a tp.adaptive.FisherCombination(...); got sequential={sequential!r}"
    )
