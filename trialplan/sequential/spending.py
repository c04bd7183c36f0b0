"""Error-spending functions for group-sequential designs (Lan & DeMets 1983).

A spending function ``f(t; level)`` says how much of a total error ``level``
(type I error alpha for efficacy bounds, type II error beta for futility
bounds) has been used by information fraction ``t``: ``f(0) = 0``,
``f(1) = level``, non-decreasing.  :class:`trialplan.GroupSequential` turns
the increments ``f(t_k) - f(t_{k-1})`` into boundaries look by look.

Forms (``a`` the one-sided level, ``t`` in (0, 1]):

* O'Brien-Fleming type: ``2 - 2 Phi(z_{1 - a/2} / sqrt(t))`` (Lan & DeMets 1983);
* Pocock type: ``a ln(1 + (e - 1) t)`` (Lan & DeMets 1983);
* Hwang-Shih-DeCani: ``a (1 - exp(-gamma t)) / (1 - exp(-gamma))``, ``a t`` at
  ``gamma = 0`` (Hwang, Shih & DeCani 1990);
* Kim-DeMets power family: ``a t**rho`` (Kim & DeMets 1987).

For a two-sided symmetric design the function is applied to ``alpha / 2`` on
each side, as rpact and gsDesign do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from trialplan._validation import check_open_unit, check_real, did_you_mean

__all__ = [
    "SpendingFunction",
    "from_name",
    "hwang_shih_decani",
    "obrien_fleming",
    "pocock",
    "power_family",
]

_KINDS = {
    "obrien_fleming": "Lan-DeMets O'Brien-Fleming type",
    "pocock": "Lan-DeMets Pocock type",
    "hwang_shih_decani": "Hwang-Shih-DeCani",
    "power_family": "Kim-DeMets power family",
}

#: Aliases accepted by :func:`from_name` (rpact's ``typeOfDesign`` codes included).
_ALIASES = {
    "obrien_fleming": "obrien_fleming",
    "of": "obrien_fleming",
    "asof": "obrien_fleming",
    "bsof": "obrien_fleming",
    "pocock": "pocock",
    "p": "pocock",
    "asp": "pocock",
    "bsp": "pocock",
    "hwang_shih_decani": "hwang_shih_decani",
    "hsd": "hwang_shih_decani",
    "ashsd": "hwang_shih_decani",
    "bshsd": "hwang_shih_decani",
    "power_family": "power_family",
    "kim_demets": "power_family",
    "askd": "power_family",
    "bskd": "power_family",
}


@dataclass(frozen=True, kw_only=True)
class SpendingFunction:
    """An error-spending function ``f(t; level)``; build one with the factories.

    Parameters
    ----------
    kind : {"obrien_fleming", "pocock", "hwang_shih_decani", "power_family"}
        The family.
    parameter : float or None
        ``gamma`` for Hwang-Shih-DeCani, ``rho`` (> 0) for the power family;
        ``None`` for the others.

    Examples
    --------
    >>> import trialplan as tp
    >>> f = tp.spending.power_family(2)
    >>> f.spent([0.5, 1.0], 0.025).round(5).tolist()
    [0.00625, 0.025]
    >>> f
    SpendingFunction(Kim-DeMets power family, rho=2)
    """

    kind: str
    parameter: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(
                f"kind={self.kind!r} is not a spending function; choose one of "
                f"{tuple(_KINDS)}" + did_you_mean(self.kind, _KINDS)
            )
        if self.kind in ("hwang_shih_decani", "power_family"):
            name = "gamma" if self.kind == "hwang_shih_decani" else "rho"
            value = check_real(name, self.parameter)
            if self.kind == "power_family" and value <= 0:
                raise ValueError(f"rho must be a finite number > 0; got rho={self.parameter!r}")
            if self.kind == "hwang_shih_decani" and abs(value) > 40:
                raise ValueError(
                    "gamma must lie in [-40, 40] (beyond that the function is a "
                    f"step at t=0 or t=1); got gamma={self.parameter!r}"
                )
            object.__setattr__(self, "parameter", value)
        elif self.parameter is not None:
            raise ValueError(
                f"the {_KINDS[self.kind]} spending function takes no parameter; "
                f"got parameter={self.parameter!r}"
            )

    @property
    def label(self) -> str:
        """The function's name in words, with its parameter."""
        if self.kind == "hwang_shih_decani":
            return f"{_KINDS[self.kind]} (gamma = {self.parameter:g})"
        if self.kind == "power_family":
            return f"{_KINDS[self.kind]} (rho = {self.parameter:g})"
        return _KINDS[self.kind]

    def spent(self, fractions: Any, level: float) -> np.ndarray:
        """Cumulative error spent at information ``fractions`` for a total ``level``.

        Parameters
        ----------
        fractions : array_like
            Information fractions in [0, 1].
        level : float
            Total one-sided error to spend (alpha or beta), in (0, 1).

        Returns
        -------
        numpy.ndarray
            ``f(t; level)``, equal to ``level`` at ``t = 1``.

        Raises
        ------
        ValueError
            If a fraction is not a finite number in [0, 1], or ``level`` is
            not strictly between 0 and 1.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.spending.obrien_fleming().spent([1/3, 1.0], 0.025).round(6).tolist()
        [0.000104, 0.025]
        """
        level = check_open_unit("level", level)
        t = np.asarray(fractions, dtype=float)
        # a rounding error's worth outside [0, 1] is clipped; anything more is an error
        if not (np.all(np.isfinite(t)) and np.all(t >= -1e-12) and np.all(t <= 1.0 + 1e-12)):
            raise ValueError(
                "fractions must be finite information fractions in [0, 1]; "
                f"got fractions={fractions!r}"
            )
        t = np.clip(t, 0.0, 1.0)
        if self.kind == "obrien_fleming":
            z = special.ndtri(1.0 - level / 2.0)
            with np.errstate(divide="ignore"):
                values = 2.0 * special.ndtr(-z / np.sqrt(t))
        elif self.kind == "pocock":
            values = level * np.log1p((math.e - 1.0) * t)
        elif self.kind == "hwang_shih_decani":
            gamma = float(self.parameter)  # type: ignore[arg-type]
            # |gamma| < 1e-12: the limit level * t (the ratio underflowed to 0 at 5e-324)
            values = (
                level * t
                if abs(gamma) < 1e-12
                else level * np.expm1(-gamma * t) / math.expm1(-gamma)
            )
        else:
            values = level * t ** float(self.parameter)  # type: ignore[arg-type]
        values = np.where(t >= 1.0, level, values)
        return np.asarray(values, dtype=float)

    def __repr__(self) -> str:
        if self.kind == "hwang_shih_decani":
            return f"SpendingFunction({_KINDS[self.kind]}, gamma={self.parameter:g})"
        if self.kind == "power_family":
            return f"SpendingFunction({_KINDS[self.kind]}, rho={self.parameter:g})"
        return f"SpendingFunction({_KINDS[self.kind]})"


def obrien_fleming() -> SpendingFunction:
    """Lan-DeMets spending function of O'Brien-Fleming type.

    ``f(t) = 2 - 2 Phi(z_{1 - a/2} / sqrt(t))``: almost nothing is spent early.

    Returns
    -------
    SpendingFunction

    References
    ----------
    .. [1] Lan KKG, DeMets DL. Discrete sequential boundaries for clinical
       trials. Biometrika 1983;70:659-663.

    Examples
    --------
    >>> import trialplan as tp
    >>> round(float(tp.spending.obrien_fleming().spent(0.5, 0.025)), 6)
    0.001525
    """
    return SpendingFunction(kind="obrien_fleming")


def pocock() -> SpendingFunction:
    """Lan-DeMets spending function of Pocock type, ``f(t) = a ln(1 + (e - 1) t)``.

    Returns
    -------
    SpendingFunction

    References
    ----------
    .. [1] Lan KKG, DeMets DL. Biometrika 1983;70:659-663.

    Examples
    --------
    >>> import trialplan as tp
    >>> round(float(tp.spending.pocock().spent(0.5, 0.025)), 6)  # 0.025 ln(1.8591)
    0.015503
    """
    return SpendingFunction(kind="pocock")


def hwang_shih_decani(gamma: float) -> SpendingFunction:
    """Hwang-Shih-DeCani family, ``f(t) = a (1 - e^{-gamma t}) / (1 - e^{-gamma})``.

    Parameters
    ----------
    gamma : float
        Shape in [-40, 40]: ``-4`` resembles O'Brien-Fleming, ``1`` Pocock,
        ``0`` spends linearly in ``t``.

    Returns
    -------
    SpendingFunction

    Raises
    ------
    TypeError, ValueError
        If ``gamma`` is not a finite number in [-40, 40].

    References
    ----------
    .. [1] Hwang IK, Shih WJ, DeCani JS. Group sequential designs using a
       family of type I error probability spending functions. Stat Med
       1990;9:1439-1445.

    Examples
    --------
    >>> import trialplan as tp
    >>> round(float(tp.spending.hwang_shih_decani(-4).spent(0.5, 0.025)), 6)
    0.00298
    """
    return SpendingFunction(kind="hwang_shih_decani", parameter=gamma)


def power_family(rho: float) -> SpendingFunction:
    """Kim-DeMets power family, ``f(t) = a t**rho``.

    Parameters
    ----------
    rho : float
        Exponent (> 0): ``3`` resembles O'Brien-Fleming, ``1`` Pocock.

    Returns
    -------
    SpendingFunction

    Raises
    ------
    TypeError, ValueError
        If ``rho`` is not a finite number > 0.

    References
    ----------
    .. [1] Kim K, DeMets DL. Design and analysis of group sequential tests
       based on the type I error spending rate function. Biometrika
       1987;74:149-154.

    Examples
    --------
    >>> import trialplan as tp
    >>> round(float(tp.spending.power_family(3).spent(0.5, 0.025)), 6)
    0.003125
    """
    return SpendingFunction(kind="power_family", parameter=rho)


def from_name(name: str, parameter: float | None = None) -> SpendingFunction:
    """The spending function called ``name`` (rpact codes such as ``"asOF"`` accepted).

    Parameters
    ----------
    name : str
        ``"obrien_fleming"``, ``"pocock"``, ``"hwang_shih_decani"``,
        ``"power_family"``, or an alias (``"OF"``, ``"asOF"``, ``"bsOF"``,
        ``"HSD"``, ``"asHSD"``, ``"kim_demets"``, ``"asKD"``, ...).
    parameter : float, optional
        ``gamma`` or ``rho`` for the families that need one.

    Returns
    -------
    SpendingFunction

    Raises
    ------
    ValueError
        If the name is unknown (the closest valid name is suggested).

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.spending.from_name("asHSD", -4)
    SpendingFunction(Hwang-Shih-DeCani, gamma=-4)
    """
    if not isinstance(name, str):
        raise TypeError(f"a spending function name must be a string; got {name!r}")
    key = name.strip().lower().replace("-", "_").replace("'", "").replace(" ", "_")
    if key not in _ALIASES:
        raise ValueError(
            f"unknown spending function {name!r}; choose one of "
            f"{tuple(_KINDS)} (or rpact's asOF, asP, asHSD, asKD)" + did_you_mean(key, _ALIASES)
        )
    return SpendingFunction(kind=_ALIASES[key], parameter=parameter)
