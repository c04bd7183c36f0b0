"""Classical group-sequential boundaries of constant shape (Wang & Tsiatis 1987).

The efficacy bound at look k is ``C * t_k**(delta - 1/2)`` on the z scale,
with the constant ``C`` solved so that the overall type I error is exactly
alpha: ``delta = 0`` is O'Brien & Fleming's (1979) boundary ``C sqrt(K / k)``
at equal spacing, ``delta = 1/2`` Pocock's (1977) constant boundary.  Unlike
spending functions they need the number and timing of looks fixed in advance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialplan._validation import check_real

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
