"""Time-to-event outcomes (e.g. time to relapse) and event-driven sample size.

Each cell has an exponential event time with hazard ``lambda_j``; participants
enter uniformly over ``accrual`` and are followed until ``analysis_time``
(administrative censoring), with optional exponential loss to follow-up.  The
analysis scale is the log hazard: a cell's log hazard is estimated with
variance ``1 / d_j`` (``d_j`` its expected events), so a log hazard ratio of
two cells has variance ``1/d_1 + 1/d_2`` (about ``4 / d`` at 1:1, Schoenfeld
1981) and the factorial interaction ``sum 1/d_jk`` (about ``16 / d``; Peterson
& George 1993).  Every factorial hypothesis then works on the log hazard
ratio scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from scipy import optimize, stats

from trialplan._validation import check_open_unit, check_positive, check_real, check_sided
from trialplan.outcomes.base import CellModel, Outcome
from trialplan.statistic import contrast_covariance, critical_value

__all__ = ["EventsResult", "TimeToEvent", "required_events", "schoenfeld_events"]

Cell = Hashable


def _check_rates(name: str, values: Any) -> dict[Cell, float]:
    if not isinstance(values, Mapping):
        raise TypeError(f"{name} must be a mapping {{cell: value}}; got {name}={values!r}")
    if not values:
        raise ValueError(f"{name} must name at least one cell; got an empty mapping")
    out = {}
    for key, value in values.items():
        v = check_real(f"{name}[{key!r}]", value)
        if v <= 0:
            raise ValueError(
                f"{name}[{key!r}] must be a finite number > 0; got {name}[{key!r}]={value!r}"
            )
        out[key] = v
    return out


def _same_rates(given: Any, derived: Mapping[Cell, float]) -> bool:
    if not isinstance(given, Mapping) or set(given) != set(derived):
        return False
    return all(
        isinstance(v, int | float) and math.isclose(float(v), derived[k], rel_tol=1e-12)
        for k, v in given.items()
    )


@dataclass(frozen=True, kw_only=True, repr=False)
class TimeToEvent(Outcome):
    """Exponential event times per cell, uniform accrual and a fixed analysis time.

    Give either ``hazards`` or ``medians`` (``hazard = log 2 / median``), and
    either ``analysis_time`` (calendar time of the analysis from the first
    entry) or ``follow_up`` (minimum follow-up after the last entry); times
    share one unit (e.g. months).

    Parameters
    ----------
    hazards : mapping, optional
        Event rate per cell (> 0), events per unit time.
    medians : mapping, optional
        Median event time per cell (> 0), instead of ``hazards``; ``hazards``
        then holds ``log 2 / median``.
    accrual : float
        Length of the uniform recruitment period (>= 0; 0 = everyone enters
        at time 0).
    analysis_time : float, optional
        Time of the analysis; must be >= ``accrual``.
    follow_up : float, optional
        Minimum follow-up, ``analysis_time - accrual`` (>= 0).
    dropout_hazard : float or mapping, default 0.0
        Exponential hazard of loss to follow-up (censoring), overall or per
        cell.

    Raises
    ------
    ValueError
        For a hazard or median <= 0, both or neither of ``hazards`` and
        ``medians`` (or of ``analysis_time`` and ``follow_up``), an analysis
        time before accrual ends, or a negative ``accrual``/``dropout_hazard``.

    Notes
    -----
    Probability of an event before the analysis for a participant entering
    uniformly on ``[0, A]`` with analysis at ``T`` (Lachin & Foulkes 1986)::

        P = lambda / (lambda + eta) * (1 - (exp(-(lambda + eta)(T - A))
            - exp(-(lambda + eta) T)) / ((lambda + eta) A))

    Lower hazards are better: one-sided tests and the combination test look
    for negative log hazard ratios.  ``n_per_cell`` counts everyone
    randomized (censored participants are analysed); model loss to
    follow-up with ``dropout_hazard``, not the design's ``dropout``.

    References
    ----------
    .. [1] Lachin JM, Foulkes MA. Evaluation of sample size and power for
       analyses of survival with allowance for nonuniform patient entry,
       losses to follow-up, noncompliance, and stratification. Biometrics
       1986;42:507-519.
    .. [2] Schoenfeld D. The asymptotic properties of nonparametric tests for
       comparing survival distributions. Biometrika 1981;68:316-319.
    .. [3] Peterson B, George SL. Sample size requirements and length of
       study for testing interaction in a 2 x k factorial design when
       time-to-failure is the outcome. Control Clin Trials 1993;14:511-522.

    Examples
    --------
    >>> import trialplan as tp
    >>> relapse = tp.TimeToEvent(
    ...     medians={("sham", "control"): 12.0, ("active", "control"): 16.0,
    ...              ("sham", "MBI"): 16.0, ("active", "MBI"): 24.0},
    ...     accrual=18.0, follow_up=12.0)
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=relapse, n_per_cell=150)
    >>> round(design.expected_events()[("sham", "control")], 1)
    103.4
    >>> round(design.power()["rTMS"], 2)
    0.89
    """

    hazards: Mapping[Cell, float] | None = None
    medians: Mapping[Cell, float] | None = None
    accrual: float
    analysis_time: float | None = None
    follow_up: float | None = None
    dropout_hazard: float | Mapping[Cell, float] = 0.0

    def __post_init__(self) -> None:
        if self.hazards is None and self.medians is None:
            raise ValueError(
                "give one of hazards={cell: rate} or medians={cell: median time}; got neither"
            )
        if self.medians is not None:
            medians = _check_rates("medians", self.medians)
            object.__setattr__(self, "medians", MappingProxyType(medians))
            rates = {k: math.log(2.0) / m for k, m in medians.items()}
            # hazards derived from medians are kept alongside (a copy made by
            # dataclasses.replace carries both); other hazards are a conflict.
            if self.hazards is not None and not _same_rates(self.hazards, rates):
                raise ValueError(
                    "give exactly one of hazards={cell: rate} or medians="
                    "{cell: median time} (hazard = log 2 / median); got "
                    f"hazards={dict(self.hazards)!r}, medians={medians!r}"
                )
        else:
            rates = _check_rates("hazards", self.hazards)
        object.__setattr__(self, "hazards", MappingProxyType(rates))
        object.__setattr__(self, "_rates", MappingProxyType(rates))
        accrual = check_real("accrual", self.accrual)
        if accrual < 0:
            raise ValueError(
                f"accrual must be >= 0 (length of recruitment); got accrual={self.accrual!r}"
            )
        object.__setattr__(self, "accrual", accrual)
        if (self.analysis_time is None) == (self.follow_up is None):
            raise ValueError(
                "give exactly one of analysis_time= (time of the analysis from "
                "the first entry) or follow_up= (minimum follow-up); got "
                f"analysis_time={self.analysis_time!r}, "
                f"follow_up={self.follow_up!r}"
            )
        if self.analysis_time is not None:
            t = check_real("analysis_time", self.analysis_time)
            if t < accrual or t <= 0:
                raise ValueError(
                    f"analysis_time must be > 0 and not before accrual ends "
                    f"(accrual={accrual:g}); got analysis_time="
                    f"{self.analysis_time!r}"
                )
            object.__setattr__(self, "analysis_time", t)
            object.__setattr__(self, "_end", t)
        else:
            f = check_real("follow_up", self.follow_up)
            if f < 0 or accrual + f <= 0:
                raise ValueError(
                    f"follow_up must be >= 0 (and the analysis after time 0); "
                    f"got follow_up={self.follow_up!r}"
                )
            object.__setattr__(self, "follow_up", f)
            object.__setattr__(self, "_end", accrual + f)
        if isinstance(self.dropout_hazard, Mapping):
            drop = {}
            for key, value in self.dropout_hazard.items():
                v = check_real(f"dropout_hazard[{key!r}]", value)
                if v < 0:
                    raise ValueError(f"dropout_hazard[{key!r}] must be >= 0; got {value!r}")
                drop[key] = v
            missing = [k for k in rates if k not in drop]
            if missing:
                raise ValueError(
                    f"dropout_hazard is missing cells {missing}; give a rate "
                    "for every cell or one number for all"
                )
            object.__setattr__(self, "dropout_hazard", MappingProxyType(drop))
        else:
            v = check_real("dropout_hazard", self.dropout_hazard)
            if v < 0:
                raise ValueError(
                    f"dropout_hazard must be >= 0; got dropout_hazard={self.dropout_hazard!r}"
                )
            object.__setattr__(self, "dropout_hazard", v)

    kind: ClassVar[str] = "time_to_event"
    #: lower hazards are better (the analysis scale is the log hazard)
    better: ClassVar[str] = "lower"

    @property
    def hazard_rates(self) -> Mapping[Cell, float]:
        """Hazard per cell (from ``hazards``, or ``log 2 / median``)."""
        return self._rates  # type: ignore[attr-defined,no-any-return]

    @property
    def end_time(self) -> float:
        """Time of the analysis from the first entry (``accrual + follow_up``)."""
        return self._end  # type: ignore[attr-defined,no-any-return]

    def planning_values(self) -> Mapping[Cell, float]:
        """The planned hazard of each cell (per unit of time)."""
        return self.hazard_rates

    def describe(self, label: Callable[[Cell], str] = str) -> str:
        """The hazards, accrual, analysis time and loss to follow-up in one line.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.TimeToEvent(hazards={"a": 0.1, "b": 0.07}, accrual=12.0,
        ...                analysis_time=24.0).describe()
        'time to event: hazards a 0.1, b 0.07; accrual 12, analysis at 24; lower is better'
        """
        hazards = ", ".join(f"{label(c)} {h:.4g}" for c, h in self.hazard_rates.items())
        drop = self.dropout_hazard
        lost = (
            ""
            if not isinstance(drop, Mapping) and drop == 0
            else f"; loss to follow-up hazard {_short(drop, label)}"
        )
        return (
            f"time to event: hazards {hazards}; accrual {self.accrual:g}, analysis at "
            f"{self.end_time:g}{lost}; {self.better} is better"
        )

    def replace(self, **changes: Any) -> TimeToEvent:
        """Return a copy with some parameters changed (validated again).

        Giving ``analysis_time`` clears ``follow_up`` and vice versa, and
        ``medians`` replaces ``hazards`` and vice versa.
        """
        for a, b in (("analysis_time", "follow_up"), ("medians", "hazards")):
            if a in changes and b not in changes:
                changes[b] = None
            if b in changes and a not in changes:
                changes[a] = None
        return super().replace(**changes)

    def _dropout(self, cell: Cell) -> float:
        d = self.dropout_hazard
        return float(d[cell]) if isinstance(d, Mapping) else float(d)

    def event_probability(self, cell: Cell) -> float:
        """Probability that a participant of ``cell`` has an observed event by the analysis.

        Examples
        --------
        >>> y = TimeToEvent(hazards={"c": -math.log(1 - 0.0445)}, accrual=4.4,
        ...                 analysis_time=8.4)
        >>> round(y.event_probability("c"), 4)
        0.2446
        """
        lam = float(self.hazard_rates[cell])
        total = lam + self._dropout(cell)
        a, t = self.accrual, self.end_time
        # 1 - [exp(-h(T-A)) - exp(-hT)] / (hA) = (1 - e^{-h(T-A)}) + e^{-h(T-A)} g(hA)
        # with g(x) = 1 - (1 - e^{-x}) / x, so that neither a tiny h nor a tiny (or
        # underflowing) hA cancels to 0 or divides by 0 (both did before).
        x = total * a
        if x < 1e-2:  # Taylor series of g: relative error below x^6 / 20160 < 1e-16
            g = x * (1 / 2 - x * (1 / 6 - x * (1 / 24 - x * (1 / 120 - x * (1 / 720 - x / 5040)))))
        else:
            g = (x + math.expm1(-x)) / x
        p_any = -math.expm1(-total * (t - a)) + math.exp(-total * (t - a)) * g
        return lam / total * p_any

    def expected_events(self, cells: Sequence[Cell], n: np.ndarray) -> dict[Cell, float]:
        """Expected events per cell, ``n_j * P_j``.

        Parameters
        ----------
        cells : sequence
            Cells in the design's order.
        n : numpy.ndarray
            Participants per cell.

        Returns
        -------
        dict
            ``{cell: expected events}``.
        """
        return {
            c: float(nj) * self.event_probability(c)
            for c, nj in zip(cells, np.asarray(n, dtype=float), strict=True)
        }

    def cell_model(
        self, cells: Sequence[Cell], n: np.ndarray, design_effect: np.ndarray | None = None
    ) -> CellModel:
        """Log hazards per cell with variance ``DE_j / d_j`` (``d_j`` expected events).

        Parameters
        ----------
        cells : sequence
            Cells in the design's order; each must be a key of ``hazards``.
        n : numpy.ndarray
            Participants per cell.
        design_effect : numpy.ndarray, optional
            Variance inflation per cell (group delivery); 1 by default.

        Returns
        -------
        CellModel
            Wald z on the log hazard ratio scale (``df = inf``).
        """
        events = np.array(list(self.expected_events(cells, n).values()))
        de = np.ones(len(cells)) if design_effect is None else np.asarray(design_effect, float)
        with np.errstate(divide="ignore", over="ignore"):
            variances = de / events
        if not np.all(np.isfinite(variances)):
            j = int(np.argmin(events))
            cell = list(cells)[j]
            raise ValueError(
                f"hazards[{cell!r}]={self.hazard_rates[cell]!r} gives "
                f"{events[j]:.3g} expected events by the analysis, too few for a "
                f"variance (accrual={self.accrual:g}, "
                f"analysis_time={self.end_time:g}); allowed: hazard x follow-up "
                "large enough for at least some events"
            )
        estimates = np.log([self.hazard_rates[c] for c in cells])
        return CellModel(
            estimates=np.asarray(estimates, dtype=float),
            variances=variances,
            df=math.inf,
            method="Wald z on log hazard ratios, variance 1/d per cell (exponential, "
            "Schoenfeld-type approx.)",
            scale="log hazard ratio",
            favourable=-1,
        )


def schoenfeld_events(
    *,
    hazard_ratio: float,
    power: float,
    alpha: float = 0.05,
    allocation: float = 0.5,
    sided: int = 2,
) -> float:
    """Events needed for a log-rank (Cox) comparison of two groups.

    ``d = (z_{1-alpha/sided} + z_{power})^2 / (p (1 - p) log(HR)^2)``.

    Parameters
    ----------
    hazard_ratio : float
        Hazard ratio to detect (> 0, not 1).
    power : float
        Target power in (0, 1).
    alpha : float, default 0.05
        Significance level (two-sided total when ``sided=2``).
    allocation : float, default 0.5
        Proportion randomized to one of the two groups, in (0, 1).
    sided : {1, 2}, default 2
        One- or two-sided test.

    Returns
    -------
    float
        Expected number of events (round up for a protocol).

    Raises
    ------
    ValueError
        For a hazard ratio <= 0 or equal to 1, or power, alpha or allocation
        outside (0, 1).

    References
    ----------
    .. [1] Schoenfeld D. Biometrika 1981;68(1):316-319.
    .. [2] Schoenfeld DA. Sample-size formula for the proportional-hazards
       regression model. Biometrics 1983;39:499-503.

    Examples
    --------
    >>> import trialplan as tp
    >>> round(tp.schoenfeld_events(hazard_ratio=0.7, power=0.8, alpha=0.05))
    247
    """
    hr = check_positive("hazard_ratio", hazard_ratio)
    if hr == 1.0:
        raise ValueError(
            "hazard_ratio must differ from 1 (no effect needs infinite events); got hazard_ratio=1"
        )
    target = check_open_unit("power", power)
    level = check_open_unit("alpha", alpha) / check_sided(sided)
    p = check_open_unit("allocation", allocation)
    z = stats.norm.isf(level) + stats.norm.ppf(target)
    with np.errstate(over="ignore", divide="ignore"):
        events = float(z**2 / (p * (1.0 - p) * math.log(hr) ** 2))
    if not math.isfinite(events):
        raise ValueError(
            "the events needed overflow the float range: alpha, power, hazard_ratio and "
            f"allocation are too extreme (alpha={alpha!r}, power={power!r}, "
            f"hazard_ratio={hazard_ratio!r}, allocation={allocation!r})"
        )
    return events


@dataclass(frozen=True, kw_only=True)
class EventsResult:
    """Events an event-driven analysis needs for one hypothesis.

    Attributes
    ----------
    events : float
        Total expected events needed (round up for a protocol).
    events_per_cell : dict
        Split of ``events`` over the cells in the design's expected proportions.
    hypothesis : str
        The hypothesis powered.
    power : float
        Target power.
    method : str
        How power was computed.
    """

    events: float
    events_per_cell: Mapping[Cell, float]
    hypothesis: str
    power: float
    method: str

    def __repr__(self) -> str:
        split = ", ".join(
            f"{'+'.join(c) if isinstance(c, tuple) else c}: {d:.1f}"
            for c, d in self.events_per_cell.items()
        )
        return (
            f"Events for power {self.power:g} on {self.hypothesis}: "
            f"{self.events:.1f} (round up to {math.ceil(self.events - 1e-9)})\n"
            f"  per cell: {split}\n  method: {self.method}"
        )

    __str__ = __repr__


def required_events(design: Any, *, power: float, hypothesis: str) -> EventsResult:
    """Total events a time-to-event design needs for ``hypothesis`` to reach ``power``.

    The events are split over the cells in the proportions the design
    expects (its allocation and the cells' event probabilities), and the
    variance of each cell's log hazard is ``1 / d_j``; the total is solved
    exactly for the Wald z test (both tails when two-sided).  This answers
    "when do we analyse?" for an event-driven trial; ``design.sample_size``
    answers "how many do we randomize?" for the given accrual and follow-up.

    Parameters
    ----------
    design : Factorial or another cell design with a TimeToEvent outcome
    power : float
        Target power in (0, 1).
    hypothesis : str
        A single-contrast hypothesis, e.g. ``"rTMS"`` or ``"rTMS:MBI"``.

    Returns
    -------
    EventsResult

    Raises
    ------
    TypeError
        If the design's outcome is not time to event.
    ValueError
        If ``power`` is outside (0, 1), the hypothesis is an
        intersection-union test, or its effect is zero.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"arm": ("control", "treated")},
    ...                  outcome=tp.TimeToEvent(hazards={("control",): 0.1,
    ...                      ("treated",): 0.07}, accrual=0.0, follow_up=1000.0),
    ...                  n_per_cell=100)
    >>> round(tp.required_events(d, power=0.8, hypothesis="arm").events)
    247
    """
    if not isinstance(getattr(design, "outcome", None), TimeToEvent):
        raise TypeError(
            "required_events needs a design with a tp.TimeToEvent outcome; got "
            f"{type(getattr(design, 'outcome', design)).__name__}"
        )
    target = check_open_unit("power", power)
    hyp = design.hypothesis(hypothesis)
    if hyp.is_intersection_union:
        raise ValueError(
            f"hypothesis={hypothesis!r} is an intersection-union test; give a "
            "single contrast (a main effect, interaction or simple effect)"
        )
    model = design.cell_model()
    events = np.array(list(design.expected_events().values()))
    share = events / events.sum()
    contrast = hyp.contrasts[0]
    effect = float(contrast @ model.estimates)
    if effect == 0.0:
        raise ValueError(
            f"hypothesis {hypothesis!r} has a zero effect (hazard ratio 1); "
            "no number of events reaches the target power"
        )
    de = design.design_effects()
    unit_var = float(contrast_covariance(contrast, de / share)[0, 0])  # times 1/D
    level = design.alpha / design.sided
    crit = critical_value(level, math.inf)
    if target <= design.alpha:
        raise ValueError(
            f"power must exceed the test's type I error alpha={design.alpha:g} (with no "
            f"events at all a test rejects that often); got power={power!r}"
        )

    # One-sided tests look in the favourable direction: favourable = -1 for time to
    # event (a log hazard ratio below 0 is a benefit), so the oriented effect is
    # favourable * effect, positive for a beneficial hazard ratio.
    oriented = design.outcome.favourable * effect

    def power_at(total: float) -> float:
        if design.sided == 1:
            z = oriented / math.sqrt(unit_var / total)
            return float(stats.norm.sf(crit - z))
        z = abs(effect) / math.sqrt(unit_var / total)
        return float(stats.norm.sf(crit - z) + stats.norm.sf(crit + z))

    if design.sided == 1 and oriented <= 0:
        raise ValueError(
            f"hypothesis {hypothesis!r} has its effect in the unfavourable direction "
            f"(hazard ratio {math.exp(effect):.4g} >= 1) for a one-sided test, which "
            "looks for lower hazards; no number of events reaches the target power"
        )
    guess = (crit + stats.norm.ppf(target)) ** 2 * unit_var / effect**2
    total = optimize.brentq(lambda d: power_at(d) - target, guess * 0.5, guess * 1.5, xtol=1e-10)
    return EventsResult(
        events=float(total),
        events_per_cell={c: float(total * s) for c, s in zip(design.cells, share, strict=True)},
        hypothesis=hypothesis,
        power=target,
        method="Wald z on log hazard ratios, variance 1/d per cell",
    )


def _short(value: Any, label: Callable[[Cell], str]) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{label(c)} {v:.4g}" for c, v in value.items())
    return f"{value:.4g}"
