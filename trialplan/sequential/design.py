"""Group-sequential designs: looks, efficacy and futility bounds, and their cost.

A group-sequential test looks at the data at information fractions
``t_1 < ... < t_K = 1`` and stops for efficacy when the standardized statistic
``Z_k`` crosses an upper bound ``b_k`` (and, optionally, for futility when it
falls below a lower bound ``a_k``).  In the canonical form (Jennison &
Turnbull 2000, ch. 3) ``Z_k ~ N(theta sqrt(I_k), 1)`` with
``Cov(Z_j, Z_k) = sqrt(I_j / I_k)``; every design's hypothesis reaches this
form through its :class:`~trialplan.statistic.TestStatistic`, whose
information is ``I = 1 / se**2``.

:class:`GroupSequential` holds the looks and the spending functions and solves
its bounds when built (:mod:`trialplan.sequential.boundaries`, by the recursion
of :mod:`trialplan.sequential.recursion`); :mod:`trialplan.sequential.application`
applies it to a statistic family.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, special

import trialplan.sequential.boundaries as _boundaries
import trialplan.sequential.spending as _spending
from trialplan._validation import check_int, check_open_unit, check_real
from trialplan.sequential.boundaries import ClassicalBoundary, Solution, solve_design
from trialplan.sequential.recursion import crossings
from trialplan.sequential.spending import SpendingFunction

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupSequential"]


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
    _solution: Solution = field(init=False, repr=False, compare=False)

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
            solve_design(
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
        up, low = crossings(fractions, lower, upper, 0.0, self.grid_points)
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
        up, low = crossings(
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
        return crossings(
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
        import pandas as pd  # deferred: pandas is heavy and only frames need it

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
        import pandas as pd  # deferred: pandas is heavy and only frames need it

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
