"""Group-sequential boundaries: classical shapes, and bounds solved from error spending.

Classical boundaries of constant shape (Wang & Tsiatis 1987): the efficacy
bound at look k is ``C * t_k**(delta - 1/2)`` on the z scale, with the constant
``C`` solved so that the overall type I error is exactly alpha: ``delta = 0``
is O'Brien & Fleming's (1979) boundary ``C sqrt(K / k)`` at equal spacing,
``delta = 1/2`` Pocock's (1977) constant boundary.  Unlike spending functions
they need the number and timing of looks fixed in advance.

:func:`solve_design` finds a design's bounds look by look with the recursion
of :mod:`trialplan.sequential.recursion`.  Efficacy bounds spend the
increments of an alpha-spending function (Lan & DeMets 1983).  Futility bounds
come from a beta-spending function (Pampallona, Tsiatis & Kim 2001):
``P_theta1(continue to k, Z_k < a_k) = beta(t_k) - beta(t_{k-1})`` with the
maximum information iterated until ``a_K = b_K``.  Non-binding futility (the
default, as regulators expect) computes the efficacy bounds as if no futility
bound existed, so the type I error stays below alpha whatever is done at a
futility bound; binding futility lets the efficacy bounds use the futility
region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from trialplan._validation import check_real
from trialplan.sequential.recursion import Recursion, crossings, monotone_root, solve_bound
from trialplan.sequential.spending import SpendingFunction

__all__ = ["ClassicalBoundary", "obrien_fleming", "pocock", "wang_tsiatis"]


@dataclass(frozen=True, kw_only=True)
class ClassicalBoundary:
    """Boundary shape ``t**(delta - 1/2)``, scaled to spend exactly alpha.

    Parameters
    ----------
    delta : float
        Wang-Tsiatis shape parameter in [-1, 1]: 0 is O'Brien-Fleming, 0.5
        is Pocock.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.boundaries.obrien_fleming().shape([0.25, 1.0]).tolist()
    [2.0, 1.0]
    """

    delta: float

    def __post_init__(self) -> None:
        value = check_real("delta", self.delta)
        if not -1.0 <= value <= 1.0:
            raise ValueError(f"delta must lie in [-1, 1]; got delta={self.delta!r}")
        object.__setattr__(self, "delta", value)

    @property
    def label(self) -> str:
        """The boundary's name in words."""
        if self.delta == 0.0:
            return "O'Brien-Fleming boundary"
        if self.delta == 0.5:
            return "Pocock boundary"
        return f"Wang-Tsiatis boundary (delta = {self.delta:g})"

    def shape(self, fractions: np.ndarray | list[float]) -> np.ndarray:
        """Relative bound ``t**(delta - 1/2)`` at each information fraction."""
        return np.asarray(fractions, dtype=float) ** (self.delta - 0.5)

    def __repr__(self) -> str:
        return f"ClassicalBoundary({self.label})"


def obrien_fleming() -> ClassicalBoundary:
    """O'Brien-Fleming boundary ``C / sqrt(t_k)`` (``C sqrt(K/k)`` at equal spacing).

    Returns
    -------
    ClassicalBoundary

    References
    ----------
    .. [1] O'Brien PC, Fleming TR. A multiple testing procedure for clinical
       trials. Biometrics 1979;35:549-556.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0), alpha=0.05,
    ...                          sided=2, efficacy=tp.boundaries.obrien_fleming())
    >>> round(float(gsd.efficacy_z[-1]), 3)   # Jennison & Turnbull Table 2.3: 2.040
    2.04
    """
    return ClassicalBoundary(delta=0.0)


def pocock() -> ClassicalBoundary:
    """Pocock's constant boundary.

    Returns
    -------
    ClassicalBoundary

    References
    ----------
    .. [1] Pocock SJ. Group sequential methods in the design and analysis of
       clinical trials. Biometrika 1977;64:191-199.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0), alpha=0.05,
    ...                          sided=2, efficacy=tp.boundaries.pocock())
    >>> round(float(gsd.efficacy_z[0]), 3)    # Jennison & Turnbull Table 2.1: 2.413
    2.413
    """
    return ClassicalBoundary(delta=0.5)


def wang_tsiatis(delta: float) -> ClassicalBoundary:
    """Wang-Tsiatis boundary ``C t_k**(delta - 1/2)``.

    Parameters
    ----------
    delta : float
        Shape in [-1, 1]; 0 gives O'Brien-Fleming, 0.5 Pocock.

    Returns
    -------
    ClassicalBoundary

    References
    ----------
    .. [1] Wang SK, Tsiatis AA. Approximately optimal one-parameter boundaries
       for group sequential trials. Biometrics 1987;43:193-199.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.boundaries.wang_tsiatis(0.25)
    ClassicalBoundary(Wang-Tsiatis boundary (delta = 0.25))
    """
    return ClassicalBoundary(delta=delta)


# --------------------------------------------------------------------------
# Bounds solved from spending functions (or a classical shape's constant)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Solution:
    efficacy: np.ndarray
    futility: np.ndarray | None
    drift: float
    inflation: float
    classical_constant: float | None


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
            up, low = crossings(fractions, a, b, 0.0, r)
            return float(up.sum() + low.sum()) - sided * level

        z_level = float(special.ndtri(1.0 - level))
        const = monotone_root(excess, z_level, 1.4 * z_level, rising=False)
        return const * shape, const
    increments = np.diff(efficacy.spent(fractions, level), prepend=0.0)
    rec = Recursion(fractions, 0.0, r)
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
            bounds[k] = solve_bound(prob, target, start=start, increasing=False)
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
    h1 = Recursion(fractions, drift, r)
    h0 = Recursion(fractions, 0.0, r) if efficacy is None else None
    upper = np.empty(k_max) if efficacy is None else efficacy.copy()
    lower = np.empty(k_max)
    spent = 0.0
    for k in range(k_max):
        if h0 is not None:
            target = float(alpha_inc[k])  # type: ignore[index]
            upper[k] = (
                math.inf
                if target <= 0
                else solve_bound(
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
            lower[k] = solve_bound(h1.lower, target, start=min(start, b), increasing=True)
            spent += target
        h1.advance(float(lower[k]), b)
        if h0 is not None:
            h0.advance(float(lower[k]), b)
    return lower, upper, spent


def solve_design(
    fractions: np.ndarray,
    alpha: float,
    sided: int,
    efficacy: SpendingFunction | ClassicalBoundary,
    futility: SpendingFunction | None,
    beta: float,
    binding: bool,
    r: int,
) -> Solution:
    level = alpha / sided
    z_fixed = float(special.ndtri(1.0 - level) + special.ndtri(1.0 - beta))
    if futility is None:
        upper, const = _efficacy_bounds(fractions, level, sided, efficacy, r)
        lower = -upper if sided == 2 else np.full(fractions.size, -math.inf)

        def shortfall(drift: float) -> float:
            up, low = crossings(fractions, lower, upper, drift, r)
            # Power is rejection in the direction of the alternative, also for
            # two-sided tests (rpact's twoSidedPower=FALSE, gsDesign).
            return float(up.sum()) - (1.0 - beta)

        drift = monotone_root(shortfall, z_fixed, 1.15 * z_fixed, rising=True)
        return Solution(
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

    drift = monotone_root(excess, z_fixed, 1.15 * z_fixed, rising=False)
    lower, upper, _ = _futility_pass(fractions, drift, beta_inc, fixed_upper, alpha_inc, r)
    return Solution(
        efficacy=upper,
        futility=lower,
        drift=drift,
        inflation=(drift / z_fixed) ** 2,
        classical_constant=const,
    )
