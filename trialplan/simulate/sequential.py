"""Simulation of a group-sequential trial from exact cumulative sufficient statistics.

For a continuous outcome with normal errors the data seen at each look are
summarized without loss by the cell means and the pooled within-cell sum of
squares.  Between looks each cell receives ``m`` new participants whose mean
is ``N(mu, sigma^2 / m)`` and whose within-increment sum of squares is
``sigma^2 chi^2_{m-1}``, independently; the cumulative statistics follow by
the usual pooling identity

    SS_new = SS_old + SS_inc + n_old m / (n_old + m) (mean_old - mean_inc)^2,

so each simulated trial costs O(cells x looks) draws whatever its size, and
the per-look t statistics are exactly those of the individual-level analysis.
Each t statistic is put on the z scale through its p-value
(``z = Phi^{-1}(F_t(t; df))``) and compared with the group-sequential bounds;
the analytic engine treats the same statistics as canonical normal ones, so
the two agree up to that approximation (negligible at moderate df).

With a baseline covariate (ANCOVA, ``baseline_corr = rho != 0``) each cell's
new participants contribute their means of (baseline, outcome), bivariate
normal with covariance ``Sigma / m``, and their within-cell cross-product
matrix; summed over the cells these are ``Wishart(sum_j (m_j - 1), Sigma)``
(drawn by the Bartlett decomposition).  The cumulative statistics pool as
above, with the outer product of the mean differences in place of the square:

    W_new = W_old + W_inc + sum_j n_old m / (n_old + m) d_j d_j',
    d_j = (xbar_old - xbar_inc, ybar_old - ybar_inc)_j,

and each look's analysis is the OLS ANCOVA ``y ~ cell + baseline`` (one
common slope) on everyone analysed so far, read off these statistics.

Time to event: every patient's entry, event and loss times are drawn (as in
:mod:`trialplan.simulate.survival`); a look at calendar time ``tau`` sees the
events before ``tau`` and each entered participant's time at risk up to
``tau``, and analyses them by the exponential model's Wald z on the log
hazard ratios.  Interim looks are at the calendar times when the tested
contrast's expected information reaches the information fractions (the
analytic path's reading of them) or at event counts (``timing=``).

References
----------
.. [1] Anderson TW. An Introduction to Multivariate Statistical Analysis, 3rd ed.
   Wiley 2003, sections 3.3 and 7.2 (sufficiency of the means and
   cross-products; Bartlett decomposition).
.. [2] Jennison C, Turnbull BW. Group Sequential Methods with Applications to
   Clinical Trials. Chapman & Hall/CRC 2000, chapter 3.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from trialplan._validation import check_int
from trialplan.results import PowerResult, PowerRow

__all__ = ["SequentialSimulation", "simulate_sequential", "simulate_sequential_power"]


@dataclass(frozen=True, kw_only=True)
class SequentialSimulation:
    """Monte Carlo operating characteristics of one hypothesis' sequential test.

    Attributes
    ----------
    hypothesis : str
        The hypothesis tested.
    stop_efficacy, stop_lower : numpy.ndarray
        Proportion of trials stopping at each look above the efficacy bound,
        and below the lower bound (futility; the other tail when two-sided).
    mcse_efficacy, mcse_lower : numpy.ndarray
        Their Monte Carlo standard errors.
    power, mcse : float
        Proportion rejecting in the favourable direction, and its MCSE.
    n_total_per_look : tuple of int
        Analysed participants at each look.
    expected_n_total, mcse_expected_n_total : float
        Mean sample size at stopping and its MCSE.
    n_sims : int
        Number of simulated trials.
    seed : object
        The seed that reproduces the run.
    notes : mapping of str to str
        ``"method"`` in words; counts of corrected analyses; for time to
        event, the looks' event targets and calendar times.
    look_times : tuple of float or None
        Time to event: mean calendar time of each look (time units of the
        outcome, from the first entry); ``n_total_per_look`` then holds the
        mean number of participants entered by each look.
    """

    hypothesis: str
    stop_efficacy: np.ndarray
    stop_lower: np.ndarray
    mcse_efficacy: np.ndarray
    mcse_lower: np.ndarray
    power: float
    mcse: float
    n_total_per_look: tuple[int, ...]
    expected_n_total: float
    mcse_expected_n_total: float
    n_sims: int
    seed: Any = None
    notes: Mapping[str, str] = field(default_factory=dict)
    look_times: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))


def _children(seed: Any, n: int) -> list[np.random.Generator]:
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n))
    if seed is None or isinstance(seed, numbers.Integral | np.random.SeedSequence):
        base = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        return [np.random.default_rng(s) for s in base.spawn(n)]
    raise TypeError(
        f"seed must be an int, a numpy SeedSequence or Generator, or None; got seed={seed!r}"
    )


def _look_sizes(n: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """Cumulative per-cell sizes at each look, shape (looks, cells)."""
    sizes = np.array([np.rint(t * n) for t in fractions], dtype=int)
    sizes[-1] = n
    if np.any(sizes[0] < 1) or np.any(np.diff(sizes, axis=0) < 1):
        raise ValueError(
            f"n_per_cell={n.tolist()} is too small for looks at info_fractions="
            f"{tuple(round(t, 4) for t in fractions)}: every cell needs at least "
            "one new participant between looks"
        )
    return sizes


class _AncovaLooks:
    """Cumulative ANCOVA sufficient statistics of a block of trials, look by look.

    ``add`` pools the statistics of the participants who arrived since the
    previous look; ``t`` gives the OLS ANCOVA (``y ~ 0 + cell + baseline``) t
    statistics of contrasts of the adjusted cell means on everyone so far.
    """

    def __init__(self, size: int, n_cells: int) -> None:
        self.n = np.zeros(n_cells)
        self.xbar = np.zeros((size, n_cells))
        self.ybar = np.zeros((size, n_cells))
        self.w_xx = np.zeros(size)
        self.w_xy = np.zeros(size)
        self.w_yy = np.zeros(size)

    def add(
        self,
        inc: np.ndarray,
        xbar: np.ndarray,
        ybar: np.ndarray,
        w_xx: np.ndarray,
        w_xy: np.ndarray,
        w_yy: np.ndarray,
    ) -> None:
        """Pool ``inc`` new participants per cell: their cell means and within-cell SSCP."""
        inc = np.asarray(inc, dtype=float)
        new = self.n + inc
        weight = self.n * inc / new  # n_old m / (n_old + m); 0 at look 1
        dx, dy = self.xbar - xbar, self.ybar - ybar
        self.w_xx = self.w_xx + w_xx + (weight * dx * dx).sum(axis=1)
        self.w_xy = self.w_xy + w_xy + (weight * dx * dy).sum(axis=1)
        self.w_yy = self.w_yy + w_yy + (weight * dy * dy).sum(axis=1)
        self.xbar = (self.n * self.xbar + inc * xbar) / new
        self.ybar = (self.n * self.ybar + inc * ybar) / new
        self.n = new

    @property
    def df(self) -> int:
        """Residual degrees of freedom N - J - 1."""
        return int(self.n.sum()) - self.n.size - 1

    def t(self, contrasts: np.ndarray) -> np.ndarray:
        """The t statistics, shape (size, comparisons), of the columns of ``contrasts``."""
        slope = self.w_xy / self.w_xx
        s2 = (self.w_yy - slope * self.w_xy) / self.df
        estimate = (self.ybar - slope[:, None] * self.xbar) @ contrasts
        # Var(c' adjusted | baselines) = s^2 (sum_j c_j^2 / n_j + (c' xbar)^2 / W_xx)
        spread = self.xbar @ contrasts
        var = s2[:, None] * (
            np.sum(contrasts**2 / self.n[:, None], axis=0) + spread**2 / self.w_xx[:, None]
        )
        return estimate / np.sqrt(var)


def _wishart_2x2(
    rng: np.random.Generator, dof: int, sd: float, rho: float, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``size`` draws of Wishart(dof, Sigma), Sigma = sd^2 [[1, rho], [rho, 1]].

    Bartlett: ``W = L A A' L'`` with ``A`` lower triangular, ``A11^2 ~ chi2(dof)``,
    ``A22^2 ~ chi2(dof - 1)``, ``A21 ~ N(0, 1)`` and ``L`` the Cholesky factor
    of Sigma; ``dof = 0`` gives zeros, ``dof = 1`` the rank-one ``v v'``.
    """
    if dof == 0:
        zero = np.zeros(size)
        return zero, zero, zero
    a11 = np.sqrt(rng.chisquare(dof, size))
    a21 = rng.standard_normal(size)
    a22 = np.sqrt(rng.chisquare(dof - 1, size)) if dof > 1 else np.zeros(size)
    r = math.sqrt(1.0 - rho**2)
    u = sd * (rho * a11 + r * a21)
    return (sd * a11) ** 2, sd * a11 * u, u**2 + (sd * r * a22) ** 2


def _expected_events_by(params: Any, tau: float) -> np.ndarray:
    """Expected events per cell observed by calendar time ``tau`` (uniform entry on [0, A]).

    ``E_j = n_j lambda / (h A) [u - (exp(-h (tau - u)) - exp(-h tau)) / h]``
    with ``h = lambda + eta`` and ``u = min(tau, A)`` (Lachin & Foulkes 1986 at
    ``tau >= A``); ``n_j lambda / h (1 - exp(-h tau))`` when ``A = 0``.
    """
    lam, h, n = params.hazards, params.hazards + params.dropout, params.n.astype(float)
    if params.accrual == 0.0:
        return n * lam / h * -np.expm1(-h * tau)
    u = min(tau, params.accrual)
    inner = u - (np.exp(-h * (tau - u)) - np.exp(-h * tau)) / h
    return n * lam / (h * params.accrual) * inner


def _information_times(
    params: Any, contrasts: np.ndarray, fractions: Sequence[float]
) -> np.ndarray:
    """Calendar times at which the contrasts' expected information reaches ``t_k I_max``.

    The information of a contrast ``c`` of log hazards is ``1 / sum_j c_j^2 / E_j``;
    with two comparisons (the min test) the mean of their two fractions is matched.
    """

    def fraction(tau: float) -> float:
        events = _expected_events_by(params, tau)
        info = 1.0 / ((contrasts**2).T @ (1.0 / events))
        return float(np.mean(info / final))

    final = 1.0 / ((contrasts**2).T @ (1.0 / _expected_events_by(params, params.end)))
    times = [
        optimize.brentq(
            lambda tau, t=t: fraction(tau) - t,
            1e-9 * params.end,
            params.end,
            xtol=1e-12 * params.end,
        )
        for t in fractions[:-1]
    ]
    return np.array([*times, params.end])


def _event_driven_looks(
    params: Any,
    rng: np.random.Generator,
    size: int,
    contrasts: np.ndarray,
    *,
    targets: Sequence[int] | None = None,
    times: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Draw ``size`` trials' patients and analyse them at each look (``_exponential_looks``).

    Entry ``U(0, accrual)``, event ``Exp(lambda_j)``, loss ``Exp(eta_j)``.
    """
    n = np.asarray(params.n, dtype=int)
    shape = (size, int(n.sum()))
    lam = np.repeat(params.hazards, n)
    eta = np.repeat(params.dropout, n)
    entry = params.accrual * rng.random(shape)
    event = rng.exponential(1.0, shape) / lam
    loss = np.where(eta > 0, rng.exponential(1.0, shape) / np.where(eta > 0, eta, 1.0), np.inf)
    return _exponential_looks(
        entry, event, loss, n, float(params.end), contrasts, targets=targets, times=times
    )


def _exponential_looks(
    entry: np.ndarray,
    event: np.ndarray,
    loss: np.ndarray,
    n: np.ndarray,
    end: float,
    contrasts: np.ndarray,
    *,
    targets: Sequence[int] | None = None,
    times: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Exponential-model Wald z of each trial (row; patients in cell blocks) at each look.

    Looks at fixed calendar ``times`` (the last the analysis time), or: interim
    look ``k`` at the calendar time of the ``targets[k]``-th observed event (or
    the analysis time, if fewer events occur by then), the final look at the
    analysis time.  At a look at calendar time ``tau`` a participant who
    entered at ``e`` is followed for ``min(event, loss, tau - e)``; each cell's
    log hazard is ``log(d / T)`` with variance ``1 / d`` (``d = 0.5`` when a
    cell has no event yet), ``nan`` when a cell has nobody at risk yet.
    """
    size = entry.shape[0]
    starts = np.r_[0, np.cumsum(n)[:-1]]
    calendar = np.where(event <= loss, entry + event, np.inf)  # an observed event's date
    if times is not None:
        times = np.broadcast_to(np.asarray(times, dtype=float), (size, len(times)))
        k_max = times.shape[1]
    else:
        k_max = len(targets) + 1
        times = np.full((size, k_max), end)
        for k, target in enumerate(targets):
            kth = np.partition(calendar, target - 1, axis=1)[:, target - 1]
            times[:, k] = np.minimum(kth, end)
    followed = np.minimum(event, loss)
    z = np.empty((size, k_max, contrasts.shape[1]))
    entered = np.empty((size, k_max))
    zero_event = np.zeros((size, k_max), dtype=bool)
    for k in range(k_max):
        tau = times[:, k, None]
        d = np.add.reduceat((calendar <= tau).astype(float), starts, axis=1)
        at_risk = np.add.reduceat(
            np.clip(np.minimum(followed, tau - entry), 0.0, None), starts, axis=1
        )
        none = d == 0
        zero_event[:, k] = none.any(axis=1)
        d = np.where(none, 0.5, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_hazard = np.where(at_risk > 0, np.log(d / at_risk), np.nan)
        z[:, k] = (log_hazard @ contrasts) / np.sqrt((1.0 / d) @ contrasts**2)
        entered[:, k] = (entry < tau).sum(axis=1)
    return {
        "z": z,
        "entered": entered,
        "times": times,
        "capped": (times[:, :-1] >= end).sum(axis=0),
        "zero_event": zero_event,
    }


def simulate_sequential(
    design: Any,
    *,
    hypothesis: str,
    sequential: Any,
    n_sims: int,
    seed: Any = None,
    statistic: str | None = None,
    timing: str | None = None,
    batch_size: int = 20_000,
) -> SequentialSimulation:
    """Simulate the group-sequential trial of one hypothesis look by look.

    Parameters
    ----------
    design : CellDesign
        A design with a :class:`~trialplan.Continuous` outcome (with or without
        a baseline covariate: ``baseline_corr != 0`` is analysed by ANCOVA at
        every look), a :class:`~trialplan.Binary` or a
        :class:`~trialplan.TimeToEvent` outcome; its cell sizes are the sizes
        at the final look (time to event: everyone randomized, analysed at the
        outcome's analysis time).
    hypothesis : str
        A single-contrast hypothesis of the design, or the ``"combination"``
        (min) test of a 2x2 factorial: both comparisons' statistics, from the
        same simulated data, must reach the bound at the same look; the trial
        stops for futility when the smaller is below the futility bound.
    sequential : GroupSequential
        The bounds applied at the looks.
    n_sims : int
        Number of simulated trials.
    seed : int, SeedSequence, Generator or None
        Batch ``i`` uses the ``i``-th spawned child, so a seed reproduces the run.
    statistic : {"t", "z", "wald", "exponential"}, optional
        Continuous outcomes: ``"t"`` (the default) is the analysis a trial
        runs (pooled-variance t statistics, mapped to z through their
        p-values); ``"z"`` takes the variance as known, which is exactly the
        canonical form the analytic engine integrates (a check of the
        recursion; the two differ by the t versus normal approximation, about
        0.003 in a stopping probability at 350 residual df and an early bound
        near 4).  With a baseline covariate only ``"t"``: the OLS ANCOVA
        t statistics (cell indicators and the baseline, one common slope) of
        everyone analysed so far.  Binary outcomes: ``"wald"`` (the default
        and only choice), cumulative Binomial cell counts at each look and the
        Wald z statistic on the outcome's scale with estimated variances
        (0-or-n cells: 0.5 added, Haldane-Anscombe, as in the fixed-design
        simulator).  Time to event: ``"exponential"`` (the only choice), each
        patient's entry ``U(0, accrual)``, event and loss times exponential,
        and at each look the exponential model's Wald z on the log hazard
        ratios from the events and time at risk observed by then (the
        statistic the analytic path approximates).
    timing : {"information", "events"}, optional
        Time to event only: when the interim looks happen.  ``"information"``
        (the default, so that the simulation checks the analytic power)
        mirrors the analytic path, which takes ``info_fractions`` as fractions
        of the tested statistic's information ``1 / sum_j c_j^2 / d_j``: look
        ``k`` is at the calendar time when the expected information reaches
        ``t_k`` of its value at the analysis time (the mean of the two
        fractions for the min test).
        ``"events"`` is event-driven monitoring: look ``k`` when the
        ``round(t_k D)``-th event is observed, ``D`` the expected events at the
        analysis time; when the cells' event rates differ, the tested
        contrast's information fraction then differs from ``t_k`` and so do
        the stopping probabilities.
    batch_size : int, default 20000
        Trials per batch (bounds memory).

    Returns
    -------
    SequentialSimulation

    Raises
    ------
    TypeError, ValueError
        For outcomes other than Continuous, Binary and TimeToEvent (e.g.
        repeated measures: use the analytic ``design.power(sequential=...)``),
        designs with therapy groups (``clusters``), intersection-union tests
        of more than two comparisons or with a two-sided ``sequential``, a
        ``statistic`` the outcome does not have, ``timing`` other than
        ``"information"``/``"events"`` or given for another outcome, or looks
        so early that a cell would have no new participant or no residual
        degrees of freedom.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.simulate.sequential import simulate_sequential
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...                      ("a0", "b1"): 0, ("a1", "b1"): 0}, sd=1.0), n_per_cell=40)
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> sim = simulate_sequential(d, hypothesis="A:B", sequential=gsd, n_sims=2000, seed=1)
    >>> abs(sim.power - 0.025) < 4 * math.sqrt(0.025 * 0.975 / 2000)
    True
    """
    from trialplan.binary import Binary
    from trialplan.outcomes import Continuous
    from trialplan.sequential import GroupSequential, _statistic
    from trialplan.simulate.binary import wald_from_counts
    from trialplan.simulate.survival import SurvivalSimulator
    from trialplan.survival import TimeToEvent

    if not isinstance(sequential, GroupSequential):
        raise TypeError(f"sequential must be a tp.GroupSequential; got {sequential!r}")
    outcome = design.outcome
    binary = isinstance(outcome, Binary)
    survival = isinstance(outcome, TimeToEvent)
    if not (binary or survival or isinstance(outcome, Continuous)):
        raise TypeError(
            "sequential simulation supports Continuous (with or without a "
            "baseline covariate), Binary and TimeToEvent outcomes; got outcome "
            f"of type {type(outcome).__name__} (its sequential power is "
            "available analytically: design.power(sequential=gsd))"
        )
    ancova = isinstance(outcome, Continuous) and outcome.baseline_corr != 0.0
    if getattr(design, "clusters", None) is not None:
        raise ValueError(
            "sequential simulation does not model therapy groups yet; got "
            f"clusters={design.clusters!r} (allowed: None); the analytic "
            "design.power(sequential=...) uses the design-effect variances"
        )
    hyp = design.hypothesis(hypothesis)
    if hyp.is_intersection_union:
        _statistic(design, hypothesis, sequential)  # two comparisons, one-sided bounds
    allowed = (
        ("wald",) if binary else ("exponential",) if survival else ("t",) if ancova else ("t", "z")
    )
    statistic = allowed[0] if statistic is None else statistic
    if statistic not in allowed:
        choices = (
            "'wald' (Wald z from the cell counts)"
            if binary
            else "'exponential' (Wald z of the exponential model)"
            if survival
            else "'t' (the ANCOVA t statistic)"
            if ancova
            else "'t' (estimated variance) or 'z' (known variance)"
        )
        what = (
            f"an ANCOVA outcome (baseline_corr={outcome.baseline_corr!r})"
            if ancova
            else f"a {type(outcome).__name__} outcome"
        )
        raise ValueError(f"statistic={statistic!r} is not allowed for {what}; choose {choices}")
    n_sims = check_int("n_sims", n_sims)
    batch_size = check_int("batch_size", batch_size)
    contrasts = hyp.contrasts.T  # (cells, comparisons)
    n_final = np.asarray(design.n_array, dtype=int)
    if binary:
        rates = np.array([outcome.rates[c] for c in design.cells], dtype=float)
        n_cells = rates.size
    elif survival:
        params = SurvivalSimulator().prepare(design)
        n_cells = params.n_cells
        planned = float(sum(outcome.expected_events(design.cells, n_final).values()))
        timing = "information" if timing is None else timing
        if timing not in ("information", "events"):
            raise ValueError(
                f"timing={timing!r} is not allowed; choose 'information' (looks "
                "when the tested contrast's expected information reaches "
                "info_fractions, as the analytic path assumes) or 'events' "
                "(looks at that fraction of the expected total events)"
            )
        targets = [max(1, round(t * planned)) for t in sequential.info_fractions[:-1]]
        look_times = (
            _information_times(params, contrasts, sequential.info_fractions)
            if timing == "information"
            else None
        )
        # one (trials x participants) array per batch stays near 8 MB
        batch_size = max(1, min(batch_size, 1_000_000 // int(n_final.sum())))
    else:
        means = np.array([outcome.means[c] for c in design.cells], dtype=float)
        sd, rho = outcome.sd, outcome.baseline_corr
        n_cells = means.size
    if timing is not None and not survival:
        raise ValueError(
            f"timing={timing!r} applies to TimeToEvent outcomes only (the "
            "looks of other outcomes are at info_fractions of the participants); "
            "leave timing=None"
        )
    if survival:
        sizes = np.tile(n_final, (sequential.n_looks, 1))  # everyone, entered by the end
    else:
        sizes = _look_sizes(n_final, sequential.info_fractions)
    scale = np.sqrt(np.sum(contrasts**2 / sizes[:, :, None], axis=1))  # (looks, comparisons)
    upper = sequential.efficacy_z
    if sequential.sided == 2:
        lower = -upper
    else:
        fut = sequential.futility_z
        lower = np.full(sequential.n_looks, -np.inf) if fut is None else fut
    orient = 1.0 if sequential.sided == 2 else float(outcome.favourable)
    n_batches = math.ceil(n_sims / batch_size)
    rngs = _children(seed, n_batches)
    k_max = sequential.n_looks
    up_count, low_count = np.zeros(k_max), np.zeros(k_max)
    n_stop_sum, n_stop_sq = 0.0, 0.0
    corrected = 0
    totals = sizes.sum(axis=1)
    entered_sum, times_sum, capped = np.zeros(k_max), np.zeros(k_max), np.zeros(k_max, int)
    for b, rng in enumerate(rngs):
        size = min(batch_size, n_sims - b * batch_size)
        if survival:
            looks = _event_driven_looks(
                params, rng, size, contrasts, targets=targets, times=look_times
            )
            entered_sum += looks["entered"].sum(axis=0)
            times_sum += looks["times"].sum(axis=0)
            capped[:-1] += looks["capped"]
        mean = np.zeros((size, n_cells))
        events = np.zeros((size, n_cells))
        ss = np.zeros(size)
        path = _AncovaLooks(size, n_cells) if ancova else None
        prev = np.zeros(n_cells, dtype=int)
        active = np.ones(size, dtype=bool)
        stop_n = np.full(size, float(totals[-1]))
        for k in range(k_max):
            now = sizes[k]
            inc = now - prev
            if survival:
                z = orient * looks["z"][:, k]
                corrected += int((looks["zero_event"][:, k] & active).sum())
            elif binary:
                events = events + rng.binomial(inc, rates, size=(size, n_cells))
                est, var, fixed = wald_from_counts(events, now, outcome.scale)
                z = orient * (est @ contrasts) / np.sqrt(var @ contrasts**2)
                corrected += int((fixed & active).sum())
            elif path is not None:
                # New participants' cell means of (baseline, outcome) ~ N((0, mu), Sigma / m)
                # and their within-cell SSCP summed over cells ~ Wishart(sum(m - 1), Sigma).
                u = rng.standard_normal((2, size, n_cells)) * (sd / np.sqrt(inc))
                inc_x = u[0]
                inc_y = means + rho * u[0] + math.sqrt(1.0 - rho**2) * u[1]
                w = _wishart_2x2(rng, int((inc - 1).sum()), sd, rho, size)
                path.add(inc, inc_x, inc_y, *w)
                if path.df < 1:
                    raise ValueError(
                        f"look {k + 1} has no residual degrees of freedom for "
                        f"the ANCOVA (n={now.tolist()}); put the first look "
                        "later"
                    )
                t = orient * path.t(contrasts)
                z = special.ndtri(stats.t.cdf(t, path.df))
                z = np.where(np.isfinite(z), z, np.sign(t) * 40.0)
            else:
                inc_mean = rng.normal(means, sd / np.sqrt(inc), size=(size, n_cells))
                dof_inc = np.maximum(inc - 1, 0)
                inc_ss = sd**2 * rng.chisquare(np.maximum(dof_inc, 1), size=(size, n_cells))
                inc_ss = np.where(dof_inc > 0, inc_ss, 0.0)
                pooled = np.where(prev > 0, prev * inc / now, 0.0)
                ss = ss + (inc_ss + pooled * (mean - inc_mean) ** 2).sum(axis=1)
                mean = (prev * mean + inc * inc_mean) / now
                df = int(now.sum() - n_cells)
                if df < 1:
                    raise ValueError(
                        f"look {k + 1} has no residual degrees of freedom "
                        f"(n={now.tolist()}); put the first look later"
                    )
                if statistic == "z":
                    z = orient * (mean @ contrasts) / (sd * scale[k])
                else:
                    s2 = ss / df
                    t = orient * (mean @ contrasts) / (np.sqrt(s2)[:, None] * scale[k])
                    z = special.ndtri(stats.t.cdf(t, df))
                    z = np.where(np.isfinite(z), z, np.sign(t) * 40.0)
            prev = now
            z = z.min(axis=1)  # one comparison: itself; the min test: both must cross
            hit_up = active & (z >= upper[k])
            hit_low = active & (z <= lower[k]) & ~hit_up
            if k == k_max - 1:
                hit_low = active & ~hit_up if sequential.sided == 1 else hit_low
            up_count[k] += hit_up.sum()
            low_count[k] += hit_low.sum()
            stopped = hit_up | hit_low
            stop_n[stopped] = looks["entered"][stopped, k] if survival else totals[k]
            active &= ~stopped
        n_stop_sum += stop_n.sum()
        n_stop_sq += (stop_n**2).sum()
    p_up, p_low = up_count / n_sims, low_count / n_sims
    if sequential.sided == 1 and sequential.futility is None:
        p_low[-1] = 0.0  # no futility bound: not rejecting at the end is not "stopping low"
    power = float(p_up.sum())
    mean_n = n_stop_sum / n_sims
    var_n = max(n_stop_sq / n_sims - mean_n**2, 0.0)
    ancova_text = (
        "ANCOVA on baseline at every look (cell means of baseline and outcome, "
        "Wishart cross-products by the Bartlett decomposition); "
        if ancova
        else ""
    )
    if survival:
        when = (
            "interim looks at the calendar times when the tested contrast's expected "
            "information (1 / sum c_j^2 / E[d_j], the mean over the min test's two "
            "comparisons) reaches info_fractions of its value at the analysis time"
            if timing == "information"
            else "interim looks at the calendar time of the round(t_k D)-th event, D = "
            f"{planned:.1f} expected events at the analysis time"
        )
        looks_text = (
            f"events targeted at the interim looks: "
            f"{', '.join(str(t) for t in targets)}; trials whose target was not "
            "reached by the analysis time (look held then): "
            f"{', '.join(str(int(c)) for c in capped[:-1])}; "
            if timing == "events"
            else ""
        )
        notes = {
            "method": (
                f"simulation of patients' entry, event and loss times; {when}, final look at "
                "the analysis time; Wald z of the exponential model's log hazard ratios "
                "(log(d/T), variance 1/d per cell; cells without events: d = 0.5)"
            ),
            "looks": (
                f"{looks_text}mean calendar time of each look: "
                f"{', '.join(f'{v / n_sims:.4g}' for v in times_sum)}"
            ),
            "corrected": (
                f"{corrected} analyses (trial x look) had a cell without events (d = 0.5 used)"
            ),
        }
        totals = np.rint(entered_sum / n_sims).astype(int)  # mean participants entered
    else:
        notes = {
            "method": (
                "simulation of exact cumulative sufficient statistics; "
                + ancova_text
                + {
                    "t": "t statistics mapped to z through their p-values",
                    "z": "z statistics with known variance",
                    "wald": f"Binomial cell counts, Wald z on the {outcome.scale} scale (0-or-n "
                    "cells: 0.5 added)"
                    if binary
                    else "",
                }[statistic]
            )
        }
    if binary:
        notes["corrected"] = (
            f"{corrected} analyses (trial x look) had a 0-or-n cell (Haldane-Anscombe 0.5 added)"
        )
    return SequentialSimulation(
        hypothesis=hypothesis,
        stop_efficacy=p_up,
        stop_lower=p_low,
        mcse_efficacy=np.sqrt(p_up * (1 - p_up) / n_sims),
        mcse_lower=np.sqrt(p_low * (1 - p_low) / n_sims),
        power=power,
        mcse=math.sqrt(power * (1 - power) / n_sims),
        n_total_per_look=tuple(int(v) for v in totals),
        expected_n_total=mean_n,
        mcse_expected_n_total=math.sqrt(var_n / n_sims),
        n_sims=n_sims,
        seed=seed,
        notes=notes,
        look_times=tuple(float(v) for v in times_sum / n_sims) if survival else None,
    )


def simulate_sequential_power(
    design: Any,
    hypotheses: Sequence[str],
    *,
    sequential: Any,
    n_sims: int = 10_000,
    seed: Any = None,
    statistic: str | None = None,
    timing: str | None = None,
    batch_size: int = 20_000,
) -> PowerResult:
    """``design.power(sequential=gsd, method="simulation", n_sims=, seed=)``.

    Each hypothesis is simulated with its own child of ``seed``; the result's
    ``extras["simulations"]`` holds the :class:`SequentialSimulation` of each.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=100)
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = d.power("A:B", sequential=gsd, method="simulation", n_sims=4000, seed=3)
    >>> abs(res["A:B"] - d.power("A:B", sequential=gsd)["A:B"]) < 4 * res.mcse["A:B"]
    True
    """
    names = tuple(hypotheses)
    children = (
        np.random.SeedSequence(seed).spawn(len(names))
        if not isinstance(seed, np.random.Generator)
        else seed.spawn(len(names))
    )
    rows, mcse, sims = [], {}, {}
    for name, child in zip(names, children, strict=True):
        sim = simulate_sequential(
            design,
            hypothesis=name,
            sequential=sequential,
            n_sims=n_sims,
            seed=child,
            statistic=statistic,
            timing=timing,
            batch_size=batch_size,
        )
        stat = design.statistics(name)[0]
        stat = getattr(stat, "weakest", stat)  # the min test reports its weaker comparison
        rows.append(
            PowerRow(
                hypothesis=name,
                estimand=stat.estimand,
                effect=stat.effect,
                se=stat.se,
                df=stat.df,
                critical_value=float(sequential.efficacy_z[-1]),
                power=sim.power,
                method=sim.notes["method"],
                scale=stat.scale,
            )
        )
        mcse[name] = sim.mcse
        sims[name] = sim
    summary = (
        f"{design.describe()} | group-sequential: {sequential.n_looks} looks | "
        f"simulation, n_sims={n_sims}"
    )
    return PowerResult(
        rows=tuple(rows),
        summary=summary,
        method="simulation",
        mcse=mcse,
        n_sims=n_sims,
        seed=seed,
        design=design,
        extras={"sequential": sequential, "simulations": sims},
    )
