"""Stage-wise sufficient statistics of adaptive trials, with a size per trial and stage.

Each stage of an adaptive trial is analysed on its own data; its size may
differ between simulated trials (the interim decided it).  The samplers here
draw, for many trials at once, exactly the statistics the stage's analysis
would give, from the planning values that trialplan's simulators prepare
(:mod:`trialplan.simulate`):

* Continuous (``ContinuousParams``): cell means ``N(mu_j, sd^2 / n_j)`` and the
  pooled within-cell sum of squares ``sd^2 chi^2(N_k - J)``; the contrast's
  t statistic with ``N_k - J`` df is turned into a z statistic through its
  p-value (as rpact does).  With a baseline covariate the stage's ANCOVA is
  drawn from its sufficient statistics (cell means of baseline and outcome,
  Wishart cross-products by the Bartlett decomposition), ``N_k - J - 1`` df.
* Binary (``BinaryParams``): Binomial counts, the Wald z on the design's scale
  (0-or-n cells: 0.5 added, as the fixed-design simulator does).
* Time to event (``SurvivalParams``): every patient's entry, event and loss
  times are drawn once; stage k ends at the calendar time of the trial's
  ``E_k``-th event (``E_k`` cumulative, set by the interim), each look is
  analysed by the exponential model's Wald z (``log(d / T)``, variance
  ``1 / d`` per cell) and the stage-wise statistic is the independent
  increment ``(Z_k sqrt(I_k) - Z_{k-1} sqrt(I_{k-1})) / sqrt(I_k - I_{k-1})``.

Sizes are fractions of the planned total (participants per cell, or events)
and are rounded up to whole participants per cell (whole events) unless the
rule keeps them real (continuous outcomes only, as rpact does).  For cells the
*cumulative* size at each analysis is rounded up, so stages at their planned
fractions add up to the planned sizes exactly (a first stage of 0.6 x 337 =
202.2 gets 203, the planned second stage 134, not 135).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from trialplan.simulate import simulator_for
from trialplan.simulate.binary import BinaryParams, wald_from_counts
from trialplan.simulate.continuous import ContinuousParams
from trialplan.simulate.survival import SurvivalParams

__all__ = ["StageDraw", "sampler_for"]


def t_to_z(t: np.ndarray, df: Any) -> np.ndarray:
    """``Phi^{-1}(F_t(t; df))`` without losing the tails.

    Examples
    --------
    >>> import numpy as np
    >>> t_to_z(np.array([2.0, -2.0]), 1e9).round(6).tolist()
    [2.0, -2.0]
    """
    t = np.asarray(t, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), t.shape)
    upper = -special.ndtri(special.stdtr(df, -np.abs(t)))
    return np.sign(t) * upper


@dataclass(frozen=True)
class StageDraw:
    """One stage's statistics for a set of trials.

    Attributes
    ----------
    z : numpy.ndarray
        Shape ``(trials, m)``: stage-wise z statistic of each tested contrast
        (not yet oriented), from this stage's data only.
    added : numpy.ndarray
        Participants analysed in this stage (time to event: entered since the
        previous look).
    fraction : numpy.ndarray
        The stage's size as a fraction of the planned total.
    units : numpy.ndarray
        The stage's size in its own units (participants, or events).
    corrected : int
        Analyses with a 0-or-n cell or a cell without events (0.5 used).
    raw : numpy.ndarray, optional
        The statistics before their conversion to z (t statistics); the
        observed effect is estimated from them, as rpact does.  Defaults to
        ``z``.
    cells : numpy.ndarray, optional
        Shape ``(trials, cells)``: the stage's participants per cell (cell
        samplers).
    """

    z: np.ndarray
    added: np.ndarray
    fraction: np.ndarray
    units: np.ndarray
    corrected: int = 0
    raw: np.ndarray | None = None
    cells: np.ndarray | None = None

    @property
    def evidence(self) -> np.ndarray:
        """Statistics the effect estimate uses (``raw`` if given, else ``z``)."""
        return self.z if self.raw is None else self.raw


class _CellSampler:
    """Stage data of a design whose cells are randomized (continuous or binary)."""

    kind = "cells"
    unit_name = "participants"

    def __init__(self, params: Any, contrasts: np.ndarray, *, round_up: bool) -> None:
        self.params = params
        self.contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
        self.planned = np.asarray(params.n, dtype=float)  # analysed per cell at the planned total
        self.round_up = round_up

    @property
    def n_cells(self) -> int:
        return int(self.planned.size)

    @property
    def planned_total(self) -> float:
        """Planned analysed participants in all cells."""
        return float(self.planned.sum())

    def sizes(self, fraction: np.ndarray) -> np.ndarray:
        """Per-cell sizes of stages with these fractions of the planned total."""
        raw = np.asarray(fraction, dtype=float)[..., None] * self.planned
        return np.ceil(raw - 1e-9) if self.round_up else raw

    def _whole(self, cumulative: np.ndarray) -> np.ndarray:
        """Cumulative per-cell sizes at these cumulative fractions (rounded up)."""
        raw = np.asarray(cumulative, dtype=float)[..., None] * self.planned
        return np.ceil(raw - 1e-9) if self.round_up else raw

    def cumulative_sizes(self, fractions: Any) -> np.ndarray:
        """Per-cell sizes of consecutive stages, shape ``(stages, cells)``.

        The cumulative size at each analysis is rounded up to whole
        participants per cell (not each stage on its own), so stages at the
        planned fractions add up to the planned sizes exactly.
        """
        totals = self._whole(np.cumsum(np.asarray(fractions, dtype=float)))
        return np.diff(totals, axis=0, prepend=np.zeros((1, self.n_cells)))

    def _stage_sizes(
        self, state: dict[str, Any], idx: np.ndarray, fraction: np.ndarray
    ) -> np.ndarray:
        """Per-cell sizes of this stage: cumulative size rounded up, minus the earlier stages."""
        before = state["done"][idx]
        after = before + np.asarray(fraction, dtype=float)
        state["done"][idx] = after
        return self._whole(after) - self._whole(before)

    def begin(self, rng: np.random.Generator, size: int) -> dict[str, Any]:
        return {
            "rng": rng,
            "n": np.zeros((size, self.n_cells)),
            "mean": np.zeros((size, self.n_cells)),
            "ss": np.zeros(size),
            "done": np.zeros(size),  # cumulative fraction of the planned total so far
        }

    def _pool(
        self, state: dict[str, Any], idx: np.ndarray, n: np.ndarray, mean: np.ndarray, ss: Any
    ) -> None:
        """Cumulative cell means and within-cell sum of squares (for blinded re-estimation)."""
        old_n, old_mean = state["n"][idx], state["mean"][idx]
        new_n = old_n + n
        weight = np.where(old_n > 0, old_n * n / np.where(new_n > 0, new_n, 1.0), 0.0)
        state["ss"][idx] = state["ss"][idx] + ss + (weight * (old_mean - mean) ** 2).sum(axis=1)
        state["mean"][idx] = (old_n * old_mean + n * mean) / new_n
        state["n"][idx] = new_n

    def blinded_variance(self, state: dict[str, Any], idx: np.ndarray, adjust: bool) -> np.ndarray:
        """One-sample (lumped) variance of all data so far, ignoring the cells.

        ``adjust``: minus the between-cell part the planning means imply
        (Kieser & Friede 2003's adjusted estimator).
        """
        raise TypeError("blinded re-estimation of the SD needs a Continuous outcome")


class ContinuousStages(_CellSampler):
    """Continuous outcome: exact stage-wise t (or ANCOVA t) statistics, or z with known SD."""

    def __init__(
        self, params: Any, contrasts: np.ndarray, *, round_up: bool, statistic: str = "t"
    ) -> None:
        super().__init__(params, contrasts, round_up=round_up)
        self.means = np.asarray(params.means, dtype=float)
        self.sd = float(params.sd)
        self.rho = float(params.baseline_corr)
        if statistic not in ("t", "z"):
            raise ValueError(f"statistic must be 't' or 'z'; got statistic={statistic!r}")
        if statistic == "z" and self.rho != 0.0:
            raise ValueError(
                "statistic='z' (known SD) is available without a baseline covariate; "
                f"got baseline_corr={self.rho!r}"
            )
        self.statistic = statistic

    @property
    def min_units(self) -> int:
        return self.n_cells + (2 if self.rho else 1)

    def stage(
        self, state: dict[str, Any], idx: np.ndarray, k: int, fraction: np.ndarray
    ) -> StageDraw:
        rng: np.random.Generator = state["rng"]
        n = self._stage_sizes(state, idx, fraction)
        size, j = n.shape
        total = n.sum(axis=1)
        c = self.contrasts
        if self.rho == 0.0:
            mean = self.means + self.sd / np.sqrt(n) * rng.standard_normal((size, j))
            df = total - j
            ss = self.sd**2 * rng.chisquare(df)
            s2 = ss / df
            est = mean @ c.T
            var = s2 if self.statistic == "t" else np.full(size, self.sd**2)
            se = np.sqrt(var[:, None] * ((1.0 / n) @ (c**2).T))
            self._pool(state, idx, n, mean, ss)
        else:
            rho, sd = self.rho, self.sd
            r = math.sqrt(1.0 - rho**2)
            zz = rng.standard_normal((2, size, j))
            xbar = sd / np.sqrt(n) * zz[0]
            mean = self.means + sd / np.sqrt(n) * (rho * zz[0] + r * zz[1])
            m = total - j  # within-cell df of the cross-products
            a11 = np.sqrt(rng.chisquare(m))
            a21 = rng.standard_normal(size)
            a22 = np.sqrt(rng.chisquare(m - 1.0))
            u = sd * (rho * a11 + r * a21)
            w_xx = (sd * a11) ** 2
            w_xy = sd * a11 * u
            w_yy = u**2 + (sd * r * a22) ** 2
            slope = w_xy / w_xx
            df = total - j - 1.0
            s2 = (w_yy - slope * w_xy) / df
            est = (mean - slope[:, None] * xbar) @ c.T
            spread = xbar @ c.T
            se = np.sqrt(s2[:, None] * ((1.0 / n) @ (c**2).T + spread**2 / w_xx[:, None]))
        t = est / se
        z = t if self.statistic == "z" else t_to_z(t, df[:, None])
        return StageDraw(
            z=z, added=total, fraction=total / self.planned_total, units=total, raw=t, cells=n
        )

    def blinded_variance(self, state: dict[str, Any], idx: np.ndarray, adjust: bool) -> np.ndarray:
        if self.rho != 0.0:
            raise ValueError(
                "blinded re-estimation of the SD is implemented for the unadjusted analysis "
                "(baseline_corr=0); with an ANCOVA the nuisance is the residual SD"
            )
        n, mean, ss = state["n"][idx], state["mean"][idx], state["ss"][idx]
        total = n.sum(axis=1)
        grand = (n * mean).sum(axis=1) / total
        lumped = (ss + (n * (mean - grand[:, None]) ** 2).sum(axis=1)) / (total - 1.0)
        if adjust:
            planned_grand = (n * self.means).sum(axis=1) / total
            between = (n * (self.means - planned_grand[:, None]) ** 2).sum(axis=1) / (total - 1.0)
            lumped = lumped - between
        return np.maximum(lumped, 1e-12 * self.sd**2)


_FORWARD = {
    "risk_difference": lambda p: p,
    "log_risk": np.log,
    "log_odds": special.logit,
    "arcsine": lambda p: 2.0 * np.arcsin(np.sqrt(p)),
}
_INVERSE = {
    "risk_difference": lambda x: x,
    "log_risk": np.exp,
    "log_odds": special.expit,
    "arcsine": lambda x: np.sin(x / 2.0) ** 2,
}


class BinaryStages(_CellSampler):
    """Binary outcome: Binomial counts per stage, Wald z on the design's scale.

    ``statistic="pooled"``: for a difference of two cells' risks, the z test
    with the pooled (null) variance ``pbar (1 - pbar) (1/n_1 + 1/n_2)``, as
    rpact's rates simulation does.
    """

    def __init__(
        self, params: Any, contrasts: np.ndarray, *, round_up: bool, statistic: str = "wald"
    ) -> None:
        if not round_up:
            raise ValueError(
                "round_up=False (real-valued stage sizes) is available for Continuous "
                "outcomes only: Binomial counts need whole participants"
            )
        super().__init__(params, contrasts, round_up=True)
        self.rates = np.asarray(params.rates, dtype=float)
        self.scale = params.scale
        if statistic not in ("wald", "pooled"):
            raise ValueError(
                f"statistic must be 'wald' or 'pooled' for a Binary outcome; got {statistic!r}"
            )
        if statistic == "pooled":
            nonzero = np.count_nonzero(self.contrasts, axis=1)
            ok = (
                self.scale == "risk_difference"
                and np.all(nonzero == 2)
                and np.all(np.sort(self.contrasts, axis=1)[:, [0, -1]] == [-1.0, 1.0])
            )
            if not ok:
                raise ValueError(
                    "statistic='pooled' (the pooled-variance z) compares two cells' risks: it "
                    "needs scale='risk_difference' and a hypothesis '<arm> vs <arm>'"
                )
        self.statistic = statistic

    min_units = 1

    def stage(
        self, state: dict[str, Any], idx: np.ndarray, k: int, fraction: np.ndarray
    ) -> StageDraw:
        rng: np.random.Generator = state["rng"]
        n = self._stage_sizes(state, idx, fraction)
        counts = rng.binomial(n.astype(np.int64), self.rates)
        est, var, fixed = wald_from_counts(counts, n, self.scale)
        c = self.contrasts
        if self.statistic == "pooled":
            pick = c != 0
            x = np.stack([counts[:, row] for row in pick], axis=1)  # (size, m, 2)
            m = np.stack([n[:, row] for row in pick], axis=1)
            sign = np.stack([c[i, row] for i, row in enumerate(pick)])  # (m, 2)
            pbar = x.sum(axis=2) / m.sum(axis=2)
            diff = ((x / m) * sign).sum(axis=2)
            se = np.sqrt(pbar * (1.0 - pbar) * (1.0 / m).sum(axis=2))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, diff / se, 0.0)
            fixed = np.zeros(n.shape[0], dtype=bool)
        else:
            z = (est @ c.T) / np.sqrt(var @ (c**2).T)
        total = n.sum(axis=1)
        return StageDraw(
            z=z,
            added=total,
            fraction=total / self.planned_total,
            units=total,
            corrected=int(fixed.sum()),
            cells=n,
        )


class SurvivalStages:
    """Time to event: patients drawn once, looks at per-trial event counts."""

    kind = "events"
    unit_name = "events"
    min_units = 1

    def __init__(self, params: Any, contrasts: np.ndarray, planned_events: float) -> None:
        self.params = params
        self.contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
        self.planned_events = float(planned_events)
        self.n = np.asarray(params.n, dtype=int)
        self.starts = np.r_[0, np.cumsum(self.n)[:-1]]

    @property
    def planned_total(self) -> float:
        """Planned total events (the information unit)."""
        return self.planned_events

    @property
    def n_total(self) -> int:
        return int(self.n.sum())

    def sizes(self, fraction: np.ndarray) -> np.ndarray:
        return np.ceil(np.asarray(fraction, dtype=float) * self.planned_events - 1e-9)

    def cumulative_sizes(self, fractions: Any) -> np.ndarray:
        """Events of consecutive stages (each stage rounded up on its own)."""
        return self.sizes(fractions)

    def begin(self, rng: np.random.Generator, size: int) -> dict[str, Any]:
        p = self.params
        lam = np.repeat(p.hazards, self.n)
        eta = np.repeat(p.dropout, self.n)
        shape = (size, self.n_total)
        entry = p.accrual * rng.random(shape)
        event = rng.exponential(1.0, shape) / lam
        loss = np.where(eta > 0, rng.exponential(1.0, shape) / np.where(eta > 0, eta, 1.0), np.inf)
        observed = event <= loss
        calendar = np.where(observed, entry + event, np.inf)
        m = self.contrasts.shape[0]
        return {
            "entry": entry,
            "followed": np.minimum(event, loss),
            "calendar": calendar,
            "ordered": np.sort(calendar, axis=1),
            "events": np.zeros(size),
            "entered": np.zeros(size),
            "info": np.zeros((size, m)),
            "score": np.zeros((size, m)),  # estimate x information at the last look
        }

    def stage(
        self, state: dict[str, Any], idx: np.ndarray, k: int, fraction: np.ndarray
    ) -> StageDraw:
        added_events = self.sizes(fraction)
        target = state["events"][idx] + added_events
        ordered = state["ordered"][idx]
        available = np.isfinite(ordered).sum(axis=1)
        reach = np.minimum(target, available).astype(int)
        tau = np.take_along_axis(ordered, np.maximum(reach - 1, 0)[:, None], axis=1)[:, 0]
        tau = np.where(reach > 0, tau, 0.0)
        calendar, entry = state["calendar"][idx], state["entry"][idx]
        followed = state["followed"][idx]
        d = np.add.reduceat((calendar <= tau[:, None]).astype(float), self.starts, axis=1)
        at_risk = np.add.reduceat(
            np.clip(np.minimum(followed, tau[:, None] - entry), 0.0, None), self.starts, axis=1
        )
        none = d == 0
        d = np.where(none, 0.5, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_hazard = np.where(at_risk > 0, np.log(d / at_risk), 0.0)
        c = self.contrasts
        info = 1.0 / ((1.0 / d) @ (c**2).T)
        score = (log_hazard @ c.T) * info
        d_info = info - state["info"][idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(d_info > 0, (score - state["score"][idx]) / np.sqrt(d_info), 0.0)
        entered = (entry < tau[:, None]).sum(axis=1).astype(float)
        added = entered - state["entered"][idx]
        events = reach.astype(float)
        units = events - state["events"][idx]
        state["info"][idx], state["score"][idx] = info, score
        state["entered"][idx], state["events"][idx] = entered, events
        return StageDraw(
            z=z,
            added=added,
            fraction=units / self.planned_events,
            units=units,
            corrected=int(none.any(axis=1).sum()),
        )

    def blinded_variance(self, state: dict[str, Any], idx: np.ndarray, adjust: bool) -> np.ndarray:
        raise TypeError("blinded re-estimation of the SD needs a Continuous outcome")


# --------------------------------------------------------------------------
# Building samplers from a design (the only place that reads design objects)
# --------------------------------------------------------------------------
def _project_null(values: np.ndarray, contrasts: np.ndarray) -> np.ndarray:
    """Closest cell parameters (least squares) at which every contrast is zero."""
    c = np.atleast_2d(contrasts)
    return values - c.T @ np.linalg.solve(c @ c.T, c @ values)


def sampler_for(
    design: Any,
    contrasts: np.ndarray,
    *,
    round_up: bool,
    null: bool = False,
    statistic: str | None = None,
) -> ContinuousStages | BinaryStages | SurvivalStages:
    """The stage sampler of a design's outcome, at its planning values or under H0.

    Parameters
    ----------
    design : Factorial or Parallel
        A cell design with a Continuous, Binary or TimeToEvent outcome (not
        delivered in therapy groups).
    contrasts : numpy.ndarray
        Shape ``(m, cells)``: the tested contrast(s).
    round_up : bool
        Whole participants per cell (True) or real-valued sizes (False,
        continuous outcomes only).
    null : bool, default False
        Replace the cell parameters (on the analysis scale) by the closest
        ones at which every tested contrast is zero.
    statistic : str, optional
        Continuous outcomes: ``"t"`` (the default; the stage's t test) or
        ``"z"`` (SD known, rpact's ``normalApproximation = TRUE``).  Binary:
        ``"wald"`` (the default) or ``"pooled"`` (pooled-variance z of a risk
        difference, as rpact).  Time to event: ``"exponential"`` only.

    Returns
    -------
    ContinuousStages, BinaryStages or SurvivalStages

    Raises
    ------
    TypeError, ValueError
        For another outcome type, group delivery, or a null whose rates leave (0, 1).

    Examples
    --------
    >>> import numpy as np, trialplan as tp
    >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=50,
    ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": 3.0}, sd=8.0))
    >>> s = sampler_for(d, np.array([[-1.0, 1.0]]), round_up=True, null=True)
    >>> s.means.tolist(), s.planned_total
    ([1.5, 1.5], 100.0)
    """
    import dataclasses

    if design.clusters is not None:
        raise ValueError(
            "adaptive simulation does not model therapy groups (clusters=) yet; got "
            f"clusters={design.clusters!r} (allowed: None)"
        )
    outcome = design.outcome
    params = simulator_for(outcome).prepare(design)
    kinds = {ContinuousParams: "Continuous", BinaryParams: "Binary", SurvivalParams: "TimeToEvent"}
    kind = kinds.get(type(params))
    if kind is None:
        raise TypeError(
            "adaptive simulation supports Continuous, Binary and TimeToEvent outcomes; got "
            f"an outcome of type {type(outcome).__name__}"
        )
    allowed = {"Continuous": ("t", "z"), "Binary": ("wald", "pooled")}.get(kind, ("exponential",))
    statistic = allowed[0] if statistic is None else statistic
    if statistic not in allowed:
        raise ValueError(
            f"statistic={statistic!r} is not available for a {type(outcome).__name__} "
            f"outcome; choose one of {allowed}"
        )
    c = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if kind == "Continuous":
        if null:
            params = dataclasses.replace(params, means=_project_null(params.means, c))
        return ContinuousStages(params, c, round_up=round_up, statistic=statistic)
    if kind == "Binary":
        if null:
            scale = params.scale
            rates = _INVERSE[scale](_project_null(_FORWARD[scale](params.rates), c))
            if not np.all((rates > 0) & (rates < 1)):
                raise ValueError(
                    f"the null rates closest to the planning rates on the {scale} scale leave "
                    f"(0, 1): {np.round(rates, 4).tolist()}; choose another scale"
                )
            params = dataclasses.replace(params, rates=rates)
        return BinaryStages(params, c, round_up=round_up, statistic=statistic)
    if not round_up:
        raise ValueError(
            "round_up=False (real-valued stage sizes) is available for Continuous outcomes "
            "only: time-to-event stages are whole events"
        )
    events = float(sum(design.expected_events().values()))
    if null:
        params = dataclasses.replace(
            params, hazards=np.exp(_project_null(np.log(params.hazards), c))
        )
    return SurvivalStages(params, c, events)
