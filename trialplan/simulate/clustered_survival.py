"""Simulator of group-delivered treatment with a time-to-event outcome (partially nested).

Data model.  In the cells where the clustered level is given (``tp.Clustering``,
e.g. MBI taught in groups) each cell's ``n_j`` participants form
``g_j = ceil(n_j / m)`` therapy groups with sizes as equal as possible
(:func:`trialplan.simulate.clustered.group_sizes`).  Group ``k`` shares a gamma
frailty ``Z_k`` (mean 1, variance ``theta_j``) that multiplies the hazard of
its members: given ``Z_k`` a member's event time is exponential with hazard
``lambda*_j Z_k``.  Entry, loss to follow-up and the analysis are those of the
unclustered simulator (:mod:`trialplan.simulate.survival`): entry
``U(0, accrual)``, loss ``Exp(eta_j)``, all independent between participants
given ``Z_k``.  Participants of the other cells have no frailty (hazard
``lambda_j``).

From the ICC to the frailty (the rule, solved per clustered cell in
:func:`gamma_frailty`): the design's ICC is read as the intraclass
correlation of the event indicators by the analysis ("had an observed event"),
the binary-scale ICC that the analytic design effect ``1 + (m - 1) ICC`` on
``1 / d_j`` stands for.  Given ``Z`` two members' indicators are independent
with probability ``q(Z) = lambda* Z / h P(h)``, ``h = lambda* Z + eta``,
``P(h) = 1 - [exp(-h (T - A)) - exp(-h T)] / (h A)`` (uniform entry on
``[0, A]``, analysis at ``T``; Lachin & Foulkes 1986), so

    ``ICC = Var_Z q(Z) / (p (1 - p))``,  ``p = E_Z q(Z)``.

A frailty also lowers the cell's population-average event rate (frail
participants leave the risk set early), which would bias the exponential
analysis away from the planned hazard; so the conditional hazard
``lambda*_j`` is chosen with ``theta_j`` such that the rate the analysis
estimates, ``E d / E T = lambda* E[Z P(h) / h] / E[P(h) / h]`` (events over
time at risk), equals the planned ``lambda_j``.  Both equations are solved
numerically (the expectations over the gamma law by 400-point Gauss-Legendre
quadrature on its quantiles); ``ICC = 0`` gives ``theta = 0`` and
``lambda* = lambda``.  Assumed: members of a therapy group enter the trial
independently (as in the unclustered simulator), not together.

Analysis (both engines): the exponential model per cell, ``log(d_j / T_j)``
(events over time at risk), with a cluster-robust variance: a Poisson GEE with
log link, ``log`` time at risk as offset, one indicator per cell, independence
working correlation, therapy groups as clusters and every individually treated
participant as a cluster of one, with the small-sample bias correction of
Mancl & DeRouen (2001) (statsmodels ``GEE(...).fit(cov_type="bias_reduced")``).
For this saturated model the cluster's leverage is its share of the cell's
time at risk, ``T_k / T_j``, and

    ``Var(log(d_j / T_j)) = sum_k [(d_k - T_k d_j / T_j) / (1 - T_k / T_j)]^2 / d_j^2``.

Hypotheses are the Wald z of the unclustered simulator and of the analytic
method; a cell without events gets ``d_j = 0.5`` with the model-based
variance ``1 / d_j`` (counted in ``result.extras["counts"]`` under the
unclustered simulator's key).

Engines.  The exponential model's sufficient statistics are each unit's
events and time at risk, but given the frailty these are sums of ``m``
censored exponentials with no convenient joint law, so the exact engine
(default) still draws every patient and reduces them to unit sums before the
closed-form analysis above (exact in the sense of no approximation, not of
drawing sufficient statistics directly).  The individual engine draws the same
patients and fits the GEE with statsmodels for every trial (one fit per trial:
use modest ``n_sims``); ``analysis=`` receives the patients with a ``group``
column.

References
----------
.. [1] Mancl LA, DeRouen TA. A covariance estimator for GEE with improved
   small-sample properties. Biometrics 2001;57:126-134.
.. [2] Lachin JM, Foulkes MA. Evaluation of sample size and power for analyses
   of survival with allowance for nonuniform patient entry, losses to
   follow-up, noncompliance, and stratification. Biometrics 1986;42:507-519.
.. [3] Hougaard P. Analysis of Multivariate Survival Data. Springer 2000
   (shared gamma frailty).
.. [4] Roberts C, Roberts SA. Design and analysis of clinical trials with
   clustering effects due to treatment. Clin Trials 2005;2:152-162.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, special

from trialplan.outcomes.survival import TimeToEvent
from trialplan.simulate.clustered import GroupedUnits, corrected_meat, sandwich_units
from trialplan.simulate.continuous import _cell_columns, _cell_names
from trialplan.simulate.protocol import BaseSimulator, CellDraws
from trialplan.simulate.survival import NO_EVENT_KEY

__all__ = [
    "ClusteredSurvivalParams",
    "ClusteredSurvivalSimulator",
    "GammaFrailty",
    "gamma_frailty",
    "robust_log_hazards",
]

_THETA_MAX = 50.0


@lru_cache(maxsize=1)
def _unit_rule() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on (0, 1), 400 of them, built on first use.

    (The rule is an eigenproblem of size 400: seconds on a loaded machine, which
    every import of trialplan's designs paid when it was built at import time.)
    """
    nodes, weights = np.polynomial.legendre.leggauss(400)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _any_end(h: np.ndarray, accrual: float, end: float) -> np.ndarray:
    """P(h): probability the first of the competing risks (total hazard h) comes by the end.

    ``1 - [exp(-h (T - A)) - exp(-h T)] / (h A)``, written as
    ``(1 - e^{-h(T-A)}) + e^{-h(T-A)} g(hA)``, ``g(x) = 1 - (1 - e^{-x}) / x``.
    """
    h = np.asarray(h, dtype=float)
    x = h * accrual
    small = x < 1e-2
    xs = np.where(small, 1.0, x)
    series = x * (1 / 2 - x * (1 / 6 - x * (1 / 24 - x * (1 / 120 - x * (1 / 720 - x / 5040)))))
    g = np.where(small, series, (xs + np.expm1(-xs)) / xs)
    tail = h * (end - accrual)
    return -np.expm1(-tail) + np.exp(-tail) * g


def _moments(
    theta: float, hazard: float, dropout: float, accrual: float, end: float
) -> tuple[float, float, float]:
    """``(p, ICC, rate)`` of the event indicators for conditional hazard and frailty."""
    u, w = _unit_rule()
    z = np.ones(1) if theta == 0.0 else special.gammaincinv(1.0 / theta, u) * theta
    w = np.ones(1) if theta == 0.0 else w
    h = np.maximum(hazard * z + dropout, 1e-300)  # a frailty may underflow to 0
    at_risk = _any_end(h, accrual, end) / h  # E[time at risk | Z]
    q = hazard * z * at_risk  # P(event | Z)
    p = float(w @ q)
    var = float(w @ (q - p) ** 2)
    rate = hazard * float(w @ (z * at_risk)) / float(w @ at_risk)
    return p, var / (p * (1.0 - p)), rate


def _conditional_hazard(
    theta: float, hazard: float, dropout: float, accrual: float, end: float
) -> float:
    """The ``lambda*`` whose frailty model has population-average rate ``hazard``."""
    if theta == 0.0:
        return hazard

    def gap(log_h: float) -> float:
        return math.log(_moments(theta, math.exp(log_h), dropout, accrual, end)[2] / hazard)

    lo = math.log(hazard)  # the rate never exceeds lambda*
    hi = lo + 1.0
    while gap(hi) < 0.0:
        hi += 2.0
        if hi - lo > 60.0:
            raise ValueError(
                f"no conditional hazard reproduces hazard={hazard:g} with a "
                f"gamma frailty of variance {theta:g}"
            )
    return math.exp(optimize.brentq(gap, lo, hi, xtol=1e-13, rtol=1e-12))


@dataclass(frozen=True)
class GammaFrailty:
    """The gamma frailty of one clustered cell and what it reproduces.

    Attributes
    ----------
    theta : float
        Variance of the group frailty (mean 1).
    conditional_hazard : float
        Hazard of a member given ``Z = 1`` (``lambda*``).
    icc : float
        Intraclass correlation of the event indicators it gives.
    event_probability : float
        Marginal probability of an observed event by the analysis.
    rate : float
        Population-average events per unit time at risk (the planned hazard).
    """

    theta: float
    conditional_hazard: float
    icc: float
    event_probability: float
    rate: float


def gamma_frailty(
    *, icc: float, hazard: float, accrual: float, end: float, dropout_hazard: float = 0.0
) -> GammaFrailty:
    """Gamma frailty whose therapy groups have a given ICC of the event indicators.

    Solves for the frailty variance ``theta`` and the conditional hazard
    ``lambda*`` such that (i) the within-group correlation of two members'
    indicators of an observed event by the analysis equals ``icc`` and (ii)
    the population-average event rate (expected events over expected time at
    risk) equals ``hazard``; see the module docstring.

    Parameters
    ----------
    icc : float
        Target ICC of the event indicators, in [0, 1).
    hazard : float
        Planned hazard of the cell (> 0), events per unit time.
    accrual : float
        Length of uniform accrual (>= 0).
    end : float
        Time of the analysis from the first entry (> 0, >= ``accrual``).
    dropout_hazard : float, default 0.0
        Exponential hazard of loss to follow-up (>= 0).

    Returns
    -------
    GammaFrailty
        ``theta``, ``conditional_hazard`` and the reproduced ICC, event
        probability and rate.

    Raises
    ------
    ValueError
        For values outside the ranges above, or an ICC no gamma frailty
        reaches with this follow-up.

    Examples
    --------
    >>> f = gamma_frailty(icc=0.05, hazard=0.05, accrual=12.0, end=24.0)
    >>> round(f.icc, 6), round(f.rate, 6), round(f.theta, 3)
    (0.05, 0.05, 0.099)
    """
    for name, value, low in (
        ("icc", icc, 0.0),
        ("hazard", hazard, None),
        ("accrual", accrual, 0.0),
        ("end", end, None),
        ("dropout_hazard", dropout_hazard, 0.0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise TypeError(f"{name} must be a real number; got {name}={value!r}")
        ok = math.isfinite(value) and (value >= low if low is not None else value > 0)
        if not ok:
            allowed = f">= {low:g}" if low is not None else "> 0"
            raise ValueError(f"{name} must be a finite number {allowed}; got {name}={value!r}")
    if icc >= 1.0:
        raise ValueError(f"icc must lie in [0, 1); got icc={icc!r}")
    if end < accrual:
        raise ValueError(f"end must be >= accrual={accrual:g}; got end={end!r}")
    args = (float(dropout_hazard), float(accrual), float(end))

    def solve(theta: float) -> tuple[float, float, float, float]:
        lam = _conditional_hazard(theta, float(hazard), *args)
        p, rho, rate = _moments(theta, lam, *args)
        return lam, p, rho, rate

    if icc == 0.0:
        lam, p, rho, rate = solve(0.0)
        return GammaFrailty(
            theta=0.0, conditional_hazard=lam, icc=rho, event_probability=p, rate=rate
        )
    top = solve(_THETA_MAX)[2]
    if top <= icc:
        raise ValueError(
            f"icc={icc!r} is out of reach for hazard={hazard:g} with accrual={accrual:g}, "
            f"end={end:g}, dropout_hazard={dropout_hazard:g}: a gamma frailty gives event "
            f"indicators an ICC of at most about {top:.3f}; allowed: a smaller icc"
        )
    log_theta = optimize.brentq(
        lambda t: solve(math.exp(t))[2] - icc,
        math.log(1e-10),
        math.log(_THETA_MAX),
        xtol=1e-12,
        rtol=1e-12,
    )
    theta = math.exp(log_theta)
    lam, p, rho, rate = solve(theta)
    return GammaFrailty(
        theta=theta, conditional_hazard=lam, icc=rho, event_probability=p, rate=rate
    )


@dataclass(frozen=True)
class ClusteredSurvivalParams(GroupedUnits):
    """Picklable planning values of a partially nested design with a time-to-event outcome.

    Attributes
    ----------
    hazards : numpy.ndarray
        Planned (population-average) hazard per cell, design order.
    unit_hazards : numpy.ndarray
        Hazard given ``Z = 1`` per unit (``lambda*`` in therapy groups).
    theta : numpy.ndarray
        Frailty variance per cell (0 in unclustered cells).
    dropout : numpy.ndarray
        Loss-to-follow-up hazard per cell.
    n : numpy.ndarray
        Participants per cell.
    accrual, end : float
        Length of uniform accrual and time of the analysis.
    icc : float
        The design's ICC (of the event indicators).
    clustered : numpy.ndarray
        Boolean per cell: delivered in groups.
    unit_cell, unit_n : numpy.ndarray
        Cell and size of every unit (unclustered cell or therapy group).
    cells, labels, factor_names : tuple
        Cells, their labels and the factor names (for patient data).
    """

    hazards: np.ndarray
    unit_hazards: np.ndarray
    theta: np.ndarray
    dropout: np.ndarray
    n: np.ndarray
    accrual: float
    end: float
    icc: float
    clustered: np.ndarray
    unit_cell: np.ndarray
    unit_n: np.ndarray
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()


def _patients(
    p: ClusteredSurvivalParams, rng: np.random.Generator, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Times at risk and event indicators of ``size`` trials, shape (size, N), unit order.

    Draw order per block: group frailties, entries, unit-rate event times,
    unit-rate loss times.
    """
    uc = p.unit_clustered
    frailty = np.ones((size, uc.size))
    groups = np.flatnonzero(uc)
    theta = p.theta[p.unit_cell[groups]]
    if groups.size:
        shape = np.where(theta > 0, 1.0 / np.where(theta > 0, theta, 1.0), 1.0)
        draws = rng.gamma(shape, np.where(theta > 0, theta, 1.0), size=(size, groups.size))
        frailty[:, groups] = np.where(theta > 0, draws, 1.0)
    lam = np.repeat(p.unit_hazards * frailty, p.unit_n, axis=1)
    eta = np.repeat(p.dropout[p.unit_cell], p.unit_n)
    shape_ = (size, p.n_total)
    entry = p.accrual * rng.random(shape_)
    event = rng.exponential(1.0, shape_) / lam
    unit_loss = rng.exponential(1.0, shape_)
    loss = np.where(eta > 0, unit_loss / np.where(eta > 0, eta, 1.0), np.inf)
    censor = np.minimum(loss, p.end - entry)
    return np.minimum(event, censor), event <= censor


def robust_log_hazards(
    time: np.ndarray, event: np.ndarray, params: ClusteredSurvivalParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell log hazards and their Mancl-DeRouen sandwich variances from patients.

    Parameters
    ----------
    time, event : numpy.ndarray
        Shape ``(size, N)``: time at risk and event indicator of every
        participant, in unit order (``params.unit_cell``, ``params.unit_n``).
    params : ClusteredSurvivalParams
        The design's units.

    Returns
    -------
    estimates, variances : numpy.ndarray
        Shape ``(size, cells)``: ``log(d_j / T_j)`` and the bias-corrected
        sandwich variance of the Poisson GEE (see the module docstring); a
        cell without events gets ``d_j = 0.5`` and variance ``1 / d_j``.
    no_event : numpy.ndarray of bool
        Shape ``(size,)``: trials with a cell without events.

    Examples
    --------
    One cell of two individuals (events 1, 0; times 1, 3: rate 1/4, scores
    0.75 and -0.75, leverages 1/4 and 3/4, variance
    ``(0.75/0.75)^2 + (0.75/0.25)^2 = 10`` over ``d^2 = 1``) and one cell in
    two groups of two (events 1+1 and 0+1, times 1+1 and 2+2): its rate is
    3/6, the groups' scores ``2 - 1 = 1`` and ``1 - 2 = -1``, leverages 1/3
    and 2/3, so its variance is ``(1.5^2 + 3^2) / 3^2 = 1.25``.

    >>> import numpy as np
    >>> p = ClusteredSurvivalParams(hazards=np.ones(2), unit_hazards=np.ones(3),
    ...     theta=np.array([0.0, 0.1]), dropout=np.zeros(2), n=np.array([2, 4]),
    ...     accrual=1.0, end=5.0, icc=0.05, clustered=np.array([False, True]),
    ...     unit_cell=np.array([0, 1, 1]), unit_n=np.array([2, 2, 2]),
    ...     cells=("a", "b"), labels=("a", "b"))
    >>> est, var, none = robust_log_hazards(np.array([[1., 3., 1., 1., 2., 2.]]),
    ...                                     np.array([[1, 0, 1, 1, 0, 1]]), p)
    >>> np.round(np.exp(est), 6).tolist(), np.round(var, 6).tolist(), none.tolist()
    ([[0.25, 0.5]], [[10.0, 1.25]], [False])
    """
    p = params
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    patient_unit = np.repeat(np.arange(p.unit_n.size), p.unit_n)
    to_unit = np.zeros((p.n_total, p.unit_n.size))
    to_unit[np.arange(p.n_total), patient_unit] = 1.0
    to_cell = np.eye(p.n_cells)[p.unit_cell]  # unit -> cell indicators
    d_unit = event @ to_unit
    t_unit = time @ to_unit
    d = d_unit @ to_cell
    t = t_unit @ to_cell
    none = d == 0
    d_safe = np.where(none, 0.5, d)
    rate = d_safe / t
    # Clusters: therapy groups, and each participant of an unclustered cell.
    patient_cell = p.unit_cell[patient_unit]
    alone = ~p.unit_clustered[patient_unit]
    uc = p.unit_clustered
    groups = p.unit_cell[uc]
    meat = corrected_meat(
        d_unit[:, uc] - rate[:, groups] * t_unit[:, uc],
        t_unit[:, uc] / t[:, groups],
        groups,
        p.n_cells,
    )
    if alone.any():
        cell_of = patient_cell[alone]
        meat += corrected_meat(
            event[:, alone] - rate[:, cell_of] * time[:, alone],
            time[:, alone] / t[:, cell_of],
            cell_of,
            p.n_cells,
        )
    var = np.where(none, 1.0 / d_safe, meat / d_safe**2)
    return np.log(rate), var, none.any(axis=1)


class ClusteredSurvivalSimulator(BaseSimulator):
    """Simulated partially nested trials (group-delivered level), time-to-event outcome.

    See the module docstring for the gamma-frailty data model, the ICC rule,
    the analysis (Poisson GEE, Mancl-DeRouen sandwich, Wald z) and the engines.

    Examples
    --------
    >>> import trialplan as tp
    >>> hazards = {("sham", "control"): .060, ("active", "control"): .042,
    ...            ("sham", "MBI"): .045, ("active", "MBI"): .030}
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.TimeToEvent(hazards=hazards, accrual=12.0, follow_up=12.0),
    ...     n_per_cell=150, clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=10))
    >>> sim = d.power("MBI", method="simulation", n_sims=2000, seed=1)
    >>> abs(sim["MBI"] - d.power("MBI")["MBI"]) < 0.05
    True
    >>> params = ClusteredSurvivalSimulator().prepare(d)
    >>> params.clustered.tolist(), params.unit_n.size    # 2 cells + 2 x 15 groups of 10
    ([False, True, False, True], 32)
    """

    engines = ("exact", "individual")

    def prepare(self, design: Any) -> ClusteredSurvivalParams:
        """Units (cells and therapy groups), frailty and planning values of the design."""
        outcome = design.outcome
        clusters = design.clusters
        if not isinstance(outcome, TimeToEvent):
            raise ValueError(
                f"ClusteredSurvivalSimulator simulates TimeToEvent outcomes; got "
                f"a {type(outcome).__name__} outcome"
            )
        units = sandwich_units(design)
        cells, n, mask = units.cells, units.n, units.clustered
        hazards = np.array([outcome.hazard_rates[c] for c in cells], dtype=float)
        dropout = np.array([outcome._dropout(c) for c in cells], dtype=float)
        conditional = hazards.copy()
        theta = np.zeros(len(cells))
        for j in np.flatnonzero(mask):
            f = gamma_frailty(
                icc=float(clusters.icc),
                hazard=float(hazards[j]),
                accrual=outcome.accrual,
                end=outcome.end_time,
                dropout_hazard=float(dropout[j]),
            )
            conditional[j], theta[j] = f.conditional_hazard, f.theta
        labels, factor_names = _cell_names(design, cells)
        return ClusteredSurvivalParams(
            hazards=hazards,
            unit_hazards=conditional[units.unit_cell],
            theta=theta,
            dropout=dropout,
            n=n,
            accrual=float(outcome.accrual),
            end=float(outcome.end_time),
            icc=float(clusters.icc),
            clustered=mask,
            unit_cell=units.unit_cell,
            unit_n=units.unit_n,
            cells=cells,
            labels=labels,
            factor_names=factor_names,
        )

    def bytes_per_trial(self, params: ClusteredSurvivalParams, engine: str) -> int:
        """Working memory of one trial: patient arrays and unit sums."""
        k = params.unit_n.size
        return 8 * params.n_total * (12 + params.n_cells) + 8 * (8 * k + k * params.n_cells)

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        analysis = (
            "exponential model log(d/T) per cell with the Mancl-DeRouen sandwich "
            "(Poisson GEE, independence, therapy groups as clusters), Wald z "
            "(no-event cell: d = 0.5)"
        )
        data = (
            "patient event times with a gamma frailty per therapy group (ICC of the "
            "event indicators)"
        )
        if engine == "individual":
            return f"simulation: {data}, statsmodels GEE fit per trial: {analysis}"
        return f"simulation: {data}, reduced to group events and time at risk: {analysis}"

    def draw(
        self, params: ClusteredSurvivalParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials with the chosen engine and analyse them."""
        time, event = _patients(params, rng, size)
        if engine == "individual":
            return _gee_fits(params, time, event)
        est, var, none = robust_log_hazards(time, event, params)
        return CellDraws(
            estimates=est, variances=var, df=math.inf, counts={NO_EVENT_KEY: int(none.sum())}
        )

    def patient_data(self, params: ClusteredSurvivalParams, rng: np.random.Generator) -> Any:
        """One trial's patients: cell, factor columns, ``group``, ``time`` and ``event``.

        ``group`` numbers the therapy groups from 1 (0 for individually
        treated participants).  The draws are those of either engine.
        """
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        time, event = _patients(params, rng, 1)
        unit = np.repeat(np.arange(params.unit_n.size), params.unit_n)
        uc = params.unit_clustered
        frame = _cell_columns(params, params.unit_cell[unit])
        frame["group"] = (np.cumsum(uc) * uc)[unit]
        frame["time"] = time[0]
        frame["event"] = event[0].astype(int)
        return pd.DataFrame(frame)


def _gee_fits(params: ClusteredSurvivalParams, time: np.ndarray, event: np.ndarray) -> CellDraws:
    """Fit the Poisson GEE with statsmodels to every trial (the individual engine)."""
    # deferred: statsmodels is heavy; only the patient-level fit needs it
    import statsmodels.api as sm

    p = params
    unit = np.repeat(np.arange(p.unit_n.size), p.unit_n)
    cell = p.unit_cell[unit]
    in_group = p.unit_clustered[unit]
    cluster = np.where(in_group, unit, p.unit_n.size + np.arange(p.n_total))
    x = np.eye(p.n_cells)[cell]
    size = time.shape[0]
    est = np.zeros((size, p.n_cells))
    var = np.zeros((size, p.n_cells))
    none = 0
    for r in range(size):
        d = np.bincount(cell, weights=event[r].astype(float), minlength=p.n_cells)
        if np.any(d == 0):
            # The GEE has no finite estimate; the no-event rule of the exact engine.
            e, v, _ = robust_log_hazards(time[r : r + 1], event[r : r + 1], p)
            est[r], var[r] = e[0], v[0]
            none += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GEE(
                event[r].astype(float),
                x,
                groups=cluster,
                family=sm.families.Poisson(),
                offset=np.log(time[r]),
                cov_struct=sm.cov_struct.Independence(),
            ).fit(cov_type="bias_reduced")
        est[r] = fit.params
        var[r] = np.diag(fit.cov_params())
    return CellDraws(estimates=est, variances=var, df=math.inf, counts={NO_EVENT_KEY: none})


#: The module-level instance (pickles by reference).
_CLUSTERED_SURVIVAL = ClusteredSurvivalSimulator()
