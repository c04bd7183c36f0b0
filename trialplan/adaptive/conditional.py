"""Conditional power at an interim and the stage size that reaches a target.

Notation (canonical, one-sided, large values favourable): after stage k the
stage-wise z statistics ``z_1..z_k`` are known.  A later stage j with
information ``I_j = 1 / se_j^2`` gives ``z_j ~ N(theta sqrt(I_j), 1)``,
independent of the past.  For the inverse normal test with CHW weights
``w_j = sqrt(t_j - t_{j-1})`` the trial rejects at stage m > k when

    sum_{i=k+1}^{m} w_i z_i >= b_m sqrt(t_m) - sum_{i<=k} w_i z_i ,

so the future path ``sum_{i=k+1}^{m} w_i (z_i - theta sqrt(I_i)) / sqrt(t_m - t_k)``
is a canonical group-sequential statistic at fractions
``(t_m - t_k) / (1 - t_k)``, and conditional power is its crossing
probability through the shifted bounds (exact recursion of
:func:`trialplan.sequential.crossing_probabilities`; futility bounds of later
interims are shifted alike).  This is rpact's ``getConditionalPower`` for
inverse normal designs (Wassmer & Brannath 2016, section 7.2).

For the next stage alone the rejection region is ``z_{k+1} >= c``, with the
*conditional critical value*

    c = (b_{k+1} sqrt(t_{k+1}) - sum_{i<=k} w_i z_i) / w_{k+1}

(Fisher's test: ``c = Phi^{-1}(1 - (c_{k+1} / prod_{i<=k} p_i^{v_i})^{1/v_{k+1}})``),
so ``CP = Phi(theta sqrt(I_{k+1}) - c)`` and the information that reaches a
target conditional power ``1 - beta`` is

    I_{k+1} = ((c + z_{1-beta})_+ / theta)^2 ,

the stage-size rule of rpact's simulation functions (Wassmer & Brannath
2016, section 7.4).

References
----------
.. [1] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016, chapter 7.
.. [2] Mehta CR, Pocock SJ. Adaptive increase in sample size when interim
   results are promising: a practical guide with examples. Stat Med
   2011;30:3267-3284.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from trialplan._validation import check_open_unit, check_real
from trialplan.adaptive.combination import FisherCombination, stage_test
from trialplan.sequential import crossing_probabilities

__all__ = ["conditional_critical_value", "conditional_power", "information_for_power"]


def _stage_z(z: Any, n_looks: int) -> np.ndarray:
    values = np.asarray(z, dtype=float)
    if values.ndim != 1 or values.size < 1 or not np.all(np.isfinite(values)):
        raise ValueError(f"z must be the finite stage-wise z statistics so far; got z={z!r}")
    if values.size >= n_looks:
        raise ValueError(
            f"z holds {values.size} stages but the design has {n_looks}: conditional power "
            "needs at least one stage to come"
        )
    return values


def conditional_critical_value(sequential: Any, z: Sequence[float]) -> float:
    """The z the next stage's own statistic must reach to reject there.

    Parameters
    ----------
    sequential : GroupSequential or FisherCombination
        The one-sided combination test (inverse normal on a group-sequential
        design's bounds, or Fisher's product test).
    z : sequence of float
        Stage-wise z statistics observed so far (stages 1..k, k < K), each
        from its own stage's data, large values favourable.

    Returns
    -------
    float
        ``c`` such that the test rejects at stage k + 1 iff ``z_{k+1} >= c``.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> round(conditional_critical_value(gsd, [1.0]), 4)   # 1.9686 sqrt(2) - 1
    1.784
    """
    test = stage_test(sequential)
    values = _stage_z(z, test.n_looks)
    state = test.start(1)
    for k, zk in enumerate(values):
        test.update(state, k, np.array([zk]), np.array([0.0]))
    return float(test.next_critical_value(state, values.size - 1)[0])


def conditional_power(
    sequential: Any,
    *,
    z: Sequence[float],
    effect: float,
    information: Sequence[float],
) -> np.ndarray:
    """Conditional power by each remaining stage, given the stages observed.

    Parameters
    ----------
    sequential : GroupSequential or FisherCombination
        The one-sided combination test.
    z : sequence of float
        Stage-wise z statistics of the stages seen (each from its own stage's
        data), large values favourable.
    effect : float
        Assumed effect ``theta`` on the analysis scale, oriented so that
        positive is favourable (the planned effect, the observed one, ...).
    information : sequence of float
        Information ``1 / se_j^2`` of each remaining stage's estimate (for a
        mean difference of two arms of n each: ``n / (2 sd^2)``; for a 2x2
        interaction with n per cell: ``n / (4 sd^2)``).

    Returns
    -------
    numpy.ndarray
        Cumulative probability of rejecting by each remaining stage (the last
        is the conditional power of the trial).  Futility bounds of the later
        interims are followed.

    Raises
    ------
    ValueError
        For no remaining stage, a length mismatch, non-positive information,
        or Fisher's test with more than one stage to come (its conditional
        power then needs simulation).

    References
    ----------
    .. [1] Wassmer G, Brannath W. Springer 2016, section 7.2.

    Examples
    --------
    >>> import trialplan as tp
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> # stage 1 gave z = 1; stage 2 has 50 per arm, sd 8, assumed difference 3
    >>> cp = conditional_power(gsd, z=[1.0], effect=3.0, information=[50 / (2 * 64)])
    >>> round(float(cp[-1]), 4)        # Phi(3 sqrt(50 / 128) - 1.784) = Phi(0.091)
    0.5362
    """
    test = stage_test(sequential)
    values = _stage_z(z, test.n_looks)
    theta = check_real("effect", effect)
    info = np.asarray(information, dtype=float)
    k = values.size
    remaining = test.n_looks - k
    if info.shape != (remaining,):
        raise ValueError(
            f"information needs {remaining} values (one per remaining stage); got {information!r}"
        )
    if not np.all(np.isfinite(info)) or np.any(info <= 0):
        raise ValueError(f"information must be positive numbers; got information={information!r}")
    state = test.start(1)
    for j, zj in enumerate(values):
        test.update(state, j, np.array([zj]), np.array([0.0]))
    if isinstance(sequential, FisherCombination):
        if remaining > 1:
            raise ValueError(
                "conditional power of Fisher's combination test is computed here for the last "
                f"stage only; {remaining} stages remain (simulate the design instead)"
            )
        c = float(test.next_critical_value(state, k - 1)[0])
        return np.array([float(special.ndtr(theta * math.sqrt(info[0]) - c))])
    t = test.info_fractions
    w = test.weights
    spent = float(state["sum"][0])
    future = t[k:] - t[k - 1]  # t_m - t_k for m = k+1..K
    mean = theta * np.cumsum(w[k:] * np.sqrt(info))
    upper = (test.upper[k:] * np.sqrt(t[k:]) - spent - mean) / np.sqrt(future)
    lower = (test.lower[k:] * np.sqrt(t[k:]) - spent - mean) / np.sqrt(future)
    lower[-1] = -np.inf
    up, _ = crossing_probabilities(future / future[-1], lower, upper)
    return np.cumsum(up)


def information_for_power(
    critical_value: Any, effect_drift: Any, conditional_power: float
) -> np.ndarray:
    """Information (in the units of ``effect_drift``) giving the target conditional power.

    ``((c + z_{CP})_+ / delta)^2`` element-wise: ``inf`` where the assumed
    drift ``delta`` is zero or negative (rpact then takes the maximum stage
    size), ``0`` where the target is already met (rpact then takes the
    minimum).

    Parameters
    ----------
    critical_value : array_like
        Conditional critical values ``c`` of the next stage.
    effect_drift : array_like
        ``theta / se_unit``: the assumed effect over the standard error of one
        unit of information (e.g. the effect's drift at the planned total).
    conditional_power : float
        Target in (0, 1).

    Returns
    -------
    numpy.ndarray
        Information in units (e.g. fractions of the planned total).

    Examples
    --------
    >>> # c = 1.784, drift 3 / (8 sqrt(4 / 200)) = 2.6517: ((1.784 + 1.2816) / 2.6517)^2
    >>> information_for_power(1.784, 3.0 / (8 * (4 / 200) ** 0.5), 0.9).round(4).tolist()
    1.3365
    """
    target = check_open_unit("conditional_power", conditional_power)
    c = np.asarray(critical_value, dtype=float)
    delta = np.asarray(effect_drift, dtype=float)
    need = np.maximum(c + special.ndtri(target), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        units = np.where(delta > 0, (need / np.where(delta > 0, delta, 1.0)) ** 2, np.inf)
    return np.where(need == 0.0, 0.0, units)
