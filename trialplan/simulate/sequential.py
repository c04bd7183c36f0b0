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
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from trialplan._seeds import block_seed, normalize_seed
from trialplan._validation import check_int
from trialplan.outcomes import Continuous
from trialplan.outcomes.binary import Binary
from trialplan.outcomes.survival import TimeToEvent
from trialplan.results import PowerResult, PowerRow
from trialplan.sequential import GroupSequential, check_sequential_statistic
from trialplan.simulate.binary import wald_from_counts
from trialplan.simulate.runner import (
    _Blocks,
    check_executor,
    check_memory_budget,
    check_progress,
    run_blocks,
)
from trialplan.simulate.survival import SurvivalSimulator

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
    batch_size: int | None = None,
    engine: str | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    memory_budget: int | None = None,
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
        Block ``k`` of trials (a fixed length that depends only on the design)
        uses the ``k``-th child of the seed, so a seed reproduces the run
        whatever ``batch_size``, ``executor`` or ``memory_budget``.
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
    batch_size : int, optional
        Kept for compatibility: trials held in memory at once.  Results do
        not depend on it (nor on ``memory_budget``, which it overrides).
    engine : {"exact", "individual"}, optional
        ``"exact"`` (continuous and binary outcomes: cumulative sufficient
        statistics) or ``"individual"`` (time to event: every patient's
        times); only the one the outcome has is offered.
    executor : concurrent.futures.Executor, optional
        Runs blocks of trials in parallel; results do not depend on it.
    progress : bool, optional
        Show a tqdm progress bar (default: for long runs in a terminal).
    memory_budget : int, optional
        Bound on one task's working memory in bytes (default 256 MiB);
        results do not depend on it.

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
    if not isinstance(sequential, GroupSequential):
        raise TypeError(f"sequential must be a tp.GroupSequential; got {sequential!r}")
    n_sims = check_int("n_sims", n_sims)
    memory_budget = check_memory_budget(memory_budget)
    check_executor(executor)
    check_progress(progress)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size)
    plan = _plan(design, hypothesis, sequential, statistic, timing, engine)
    seed_seq, seed_record = normalize_seed(seed)
    blocks = _Blocks(
        entropy=seed_seq.entropy,
        spawn_key=tuple(seed_seq.spawn_key),
        pool_size=seed_seq.pool_size,
        length=plan.block_length,
        n_sims=n_sims,
    )
    block_bytes = plan.block_length * plan.bytes_per_trial
    if batch_size is not None:  # the old knob: trials in memory at once, as a budget
        memory_budget = max(block_bytes, batch_size * plan.bytes_per_trial)
    totals = _Counts(plan.k_max)
    run_blocks(
        _sequential_blocks,
        plan,
        blocks,
        block_bytes=block_bytes,
        memory_budget=memory_budget,
        executor=executor,
        progress=progress,
        add=totals.add,
    )
    return _simulation(plan, totals, hypothesis, sequential, n_sims, seed_record)


@dataclass(frozen=True)
class _SeqPlan:
    """Everything a worker needs to simulate blocks of one sequential trial (picklable)."""

    kind: str  # "continuous", "ancova", "binary" or "survival"
    statistic: str
    contrasts: np.ndarray  # (cells, comparisons)
    sizes: np.ndarray  # (looks, cells) cumulative analysed sizes
    scale_k: np.ndarray  # (looks, comparisons) sqrt(sum c^2 / n) per look
    upper: np.ndarray
    lower: np.ndarray
    orient: float
    one_sided: bool
    k_max: int
    totals: np.ndarray  # participants analysed at each look
    n_cells: int
    block_length: int
    bytes_per_trial: int
    means: np.ndarray | None = None
    sd: float = 1.0
    rho: float = 0.0
    rates: np.ndarray | None = None
    binary_scale: str = ""
    params: Any = None  # survival parameters
    targets: tuple[int, ...] = ()
    look_times: np.ndarray | None = None
    timing: str | None = None
    planned: float = 0.0


#: Trials per block of a sequential simulation (whatever the memory or executor) ...
_MAX_BLOCK = 2048
#: ... and at most this many (trial x participant) cells for time to event (8 MB).
_MAX_PATIENT_CELLS = 1_000_000


def _plan(
    design: Any,
    hypothesis: str,
    sequential: GroupSequential,
    statistic: str | None,
    timing: str | None,
    engine: str | None,
) -> _SeqPlan:
    """Check the request and read the planning values off the design."""
    outcome = design.outcome
    kind = _outcome_kind(design)
    family = design.statistics(hypothesis)
    name = family.hypotheses[0]
    if family.is_intersection_union(name):
        check_sequential_statistic(family, name, sequential)  # two comparisons, one-sided
    offered = ("individual",) if kind == "survival" else ("exact",)
    if engine is not None and engine not in offered:
        raise ValueError(
            f"engine={engine!r} is not offered for sequential simulation of "
            f"{type(outcome).__name__} outcomes; choose {offered[0]!r} (or engine=None)"
        )
    statistic = _check_statistic(statistic, outcome, kind)
    if timing is not None and kind != "survival":
        raise ValueError(
            f"timing={timing!r} applies to TimeToEvent outcomes only (the "
            "looks of other outcomes are at info_fractions of the participants); "
            "leave timing=None"
        )
    contrasts = np.asarray(family.contrasts[0], dtype=float).T  # (cells, comparisons)
    n_final = np.asarray(design.n_array, dtype=int)
    k_max = sequential.n_looks
    extra = _planning_values(design, kind, contrasts, sequential, timing)
    if kind == "survival":
        n_cells = extra["params"].n_cells
        sizes = np.tile(n_final, (k_max, 1))  # everyone, entered by the end
        per_trial = 8 * int(n_final.sum()) * 10
        length = max(1, min(_MAX_BLOCK, _MAX_PATIENT_CELLS // int(n_final.sum())))
    else:
        n_cells = n_final.size
        sizes = _look_sizes(n_final, sequential.info_fractions)
        per_trial = 8 * (6 * n_cells + 16)
        length = _MAX_BLOCK
    upper = sequential.efficacy_z
    if sequential.sided == 2:
        lower = -upper
    else:
        fut = sequential.futility_z
        lower = np.full(k_max, -np.inf) if fut is None else fut
    return _SeqPlan(
        kind=kind,
        statistic=statistic,
        contrasts=contrasts,
        sizes=sizes,
        scale_k=np.sqrt(np.sum(contrasts**2 / sizes[:, :, None], axis=1)),
        upper=upper,
        lower=lower,
        orient=1.0 if sequential.sided == 2 else float(outcome.favourable),
        one_sided=sequential.sided == 1,
        k_max=k_max,
        totals=sizes.sum(axis=1),
        n_cells=n_cells,
        block_length=length,
        bytes_per_trial=per_trial,
        **extra,
    )


def _outcome_kind(design: Any) -> str:
    """``"binary"``, ``"survival"``, ``"ancova"`` or ``"continuous"``; other designs raise."""
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
    if design.clusters is not None:  # cell designs declare clusters (None: no groups)
        raise ValueError(
            "sequential simulation does not model therapy groups yet; got "
            f"clusters={design.clusters!r} (allowed: None); the analytic "
            "design.power(sequential=...) uses the design-effect variances"
        )
    if binary:
        return "binary"
    if survival:
        return "survival"
    return "ancova" if outcome.baseline_corr != 0.0 else "continuous"


#: The test statistics each kind of outcome allows (the first is the default), in words.
_STATISTICS = {
    "binary": (("wald",), "'wald' (Wald z from the cell counts)"),
    "survival": (("exponential",), "'exponential' (Wald z of the exponential model)"),
    "ancova": (("t",), "'t' (the ANCOVA t statistic)"),
    "continuous": (("t", "z"), "'t' (estimated variance) or 'z' (known variance)"),
}


def _check_statistic(statistic: str | None, outcome: Any, kind: str) -> str:
    """The test statistic asked for (the outcome's default when None), or a ValueError."""
    allowed, choices = _STATISTICS[kind]
    statistic = allowed[0] if statistic is None else statistic
    if statistic not in allowed:
        what = (
            f"an ANCOVA outcome (baseline_corr={outcome.baseline_corr!r})"
            if kind == "ancova"
            else f"a {type(outcome).__name__} outcome"
        )
        raise ValueError(f"statistic={statistic!r} is not allowed for {what}; choose {choices}")
    return statistic


def _planning_values(
    design: Any, kind: str, contrasts: np.ndarray, sequential: GroupSequential, timing: Any
) -> dict[str, Any]:
    """The outcome's planning values in cell order (and, for survival, the look times)."""
    outcome = design.outcome
    if kind == "binary":
        return {
            "rates": np.array([outcome.rates[c] for c in design.cells], dtype=float),
            "binary_scale": outcome.scale,
        }
    if kind != "survival":
        return {
            "means": np.array([outcome.means[c] for c in design.cells], dtype=float),
            "sd": float(outcome.sd),
            "rho": float(outcome.baseline_corr),
        }
    params = SurvivalSimulator().prepare(design)
    n_final = np.asarray(design.n_array, dtype=int)
    planned = float(sum(outcome.expected_events(design.cells, n_final).values()))
    timing = "information" if timing is None else timing
    if timing not in ("information", "events"):
        raise ValueError(
            f"timing={timing!r} is not allowed; choose 'information' (looks "
            "when the tested contrast's expected information reaches "
            "info_fractions, as the analytic path assumes) or 'events' "
            "(looks at that fraction of the expected total events)"
        )
    return {
        "params": params,
        "planned": planned,
        "timing": timing,
        "targets": tuple(max(1, round(t * planned)) for t in sequential.info_fractions[:-1]),
        "look_times": (
            _information_times(params, contrasts, sequential.info_fractions)
            if timing == "information"
            else None
        ),
    }


class _Counts:
    """Sums over blocks of a sequential simulation."""

    def __init__(self, k_max: int) -> None:
        self.up = np.zeros(k_max)
        self.low = np.zeros(k_max)
        self.n_sum = 0.0
        self.n_sq = 0.0
        self.corrected = 0
        self.entered = np.zeros(k_max)
        self.times = np.zeros(k_max)
        self.capped = np.zeros(k_max, dtype=int)

    def add(self, part: _Counts) -> None:
        self.up += part.up
        self.low += part.low
        self.n_sum += part.n_sum
        self.n_sq += part.n_sq
        self.corrected += part.corrected
        self.entered += part.entered
        self.times += part.times
        self.capped += part.capped


def _sequential_blocks(plan: _SeqPlan, blocks: _Blocks, first: int, stop: int) -> _Counts:
    """Simulate blocks ``[first, stop)`` of trials look by look (a picklable worker)."""
    out = _Counts(plan.k_max)
    for b in range(first, stop):
        _one_block(plan, np.random.default_rng(blocks.seed(b)), blocks.size(b), out)
    return out


def _one_block(plan: _SeqPlan, rng: np.random.Generator, size: int, out: _Counts) -> None:
    k_max, n_cells, contrasts = plan.k_max, plan.n_cells, plan.contrasts
    survival = plan.kind == "survival"
    if survival:
        looks = _event_driven_looks(
            plan.params,
            rng,
            size,
            contrasts,
            targets=plan.targets,
            times=plan.look_times,
        )
        out.entered += looks["entered"].sum(axis=0)
        out.times += looks["times"].sum(axis=0)
        out.capped[:-1] += looks["capped"]
    mean = np.zeros((size, n_cells))
    events = np.zeros((size, n_cells))
    ss = np.zeros(size)
    path = _AncovaLooks(size, n_cells) if plan.kind == "ancova" else None
    prev = np.zeros(n_cells, dtype=int)
    active = np.ones(size, dtype=bool)
    stop_n = np.full(size, float(plan.totals[-1]))
    for k in range(k_max):
        now = plan.sizes[k]
        inc = now - prev
        if survival:
            z = plan.orient * looks["z"][:, k]
            out.corrected += int((looks["zero_event"][:, k] & active).sum())
        elif plan.kind == "binary":
            events = events + rng.binomial(inc, plan.rates, size=(size, n_cells))
            est, var, fixed = wald_from_counts(events, now, plan.binary_scale)
            z = plan.orient * (est @ contrasts) / np.sqrt(var @ contrasts**2)
            out.corrected += int((fixed & active).sum())
        elif path is not None:
            # New participants' cell means of (baseline, outcome) ~ N((0, mu), Sigma / m)
            # and their within-cell SSCP summed over cells ~ Wishart(sum(m - 1), Sigma).
            sd, rho = plan.sd, plan.rho
            u = rng.standard_normal((2, size, n_cells)) * (sd / np.sqrt(inc))
            inc_x = u[0]
            inc_y = plan.means + rho * u[0] + math.sqrt(1.0 - rho**2) * u[1]
            w = _wishart_2x2(rng, int((inc - 1).sum()), sd, rho, size)
            path.add(inc, inc_x, inc_y, *w)
            if path.df < 1:
                raise ValueError(
                    f"look {k + 1} has no residual degrees of freedom for "
                    f"the ANCOVA (n={now.tolist()}); put the first look "
                    "later"
                )
            t = plan.orient * path.t(contrasts)
            z = special.ndtri(stats.t.cdf(t, path.df))
            z = np.where(np.isfinite(z), z, np.sign(t) * 40.0)
        else:
            sd = plan.sd
            inc_mean = rng.normal(plan.means, sd / np.sqrt(inc), size=(size, n_cells))
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
            if plan.statistic == "z":
                z = plan.orient * (mean @ contrasts) / (sd * plan.scale_k[k])
            else:
                s2 = ss / df
                t = plan.orient * (mean @ contrasts) / (np.sqrt(s2)[:, None] * plan.scale_k[k])
                z = special.ndtri(stats.t.cdf(t, df))
                z = np.where(np.isfinite(z), z, np.sign(t) * 40.0)
        prev = now
        z = z.min(axis=1)  # one comparison: itself; the min test: both must cross
        hit_up = active & (z >= plan.upper[k])
        hit_low = active & (z <= plan.lower[k]) & ~hit_up
        if k == k_max - 1:
            hit_low = active & ~hit_up if plan.one_sided else hit_low
        out.up[k] += hit_up.sum()
        out.low[k] += hit_low.sum()
        stopped = hit_up | hit_low
        stop_n[stopped] = looks["entered"][stopped, k] if survival else plan.totals[k]
        active &= ~stopped
    out.n_sum += stop_n.sum()
    out.n_sq += (stop_n**2).sum()


def _simulation(
    plan: _SeqPlan,
    totals: _Counts,
    hypothesis: str,
    sequential: GroupSequential,
    n_sims: int,
    seed: Any,
) -> SequentialSimulation:
    """The operating characteristics from the summed counts."""
    survival = plan.kind == "survival"
    binary = plan.kind == "binary"
    p_up, p_low = totals.up / n_sims, totals.low / n_sims
    if sequential.sided == 1 and sequential.futility is None:
        p_low[-1] = 0.0  # no futility bound: not rejecting at the end is not "stopping low"
    power = float(p_up.sum())
    mean_n = totals.n_sum / n_sims
    var_n = max(totals.n_sq / n_sims - mean_n**2, 0.0)
    ancova_text = (
        "ANCOVA on baseline at every look (cell means of baseline and outcome, "
        "Wishart cross-products by the Bartlett decomposition); "
        if plan.kind == "ancova"
        else ""
    )
    look_totals = plan.totals
    if survival:
        when = (
            "interim looks at the calendar times when the tested contrast's expected "
            "information (1 / sum c_j^2 / E[d_j], the mean over the min test's two "
            "comparisons) reaches info_fractions of its value at the analysis time"
            if plan.timing == "information"
            else "interim looks at the calendar time of the round(t_k D)-th event, D = "
            f"{plan.planned:.1f} expected events at the analysis time"
        )
        looks_text = (
            f"events targeted at the interim looks: "
            f"{', '.join(str(t) for t in plan.targets)}; trials whose target was not "
            "reached by the analysis time (look held then): "
            f"{', '.join(str(int(c)) for c in totals.capped[:-1])}; "
            if plan.timing == "events"
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
                f"{', '.join(f'{v / n_sims:.4g}' for v in totals.times)}"
            ),
            "corrected": (
                f"{totals.corrected} analyses (trial x look) had a cell without events "
                "(d = 0.5 used)"
            ),
        }
        look_totals = np.rint(totals.entered / n_sims).astype(int)  # mean participants entered
    else:
        notes = {
            "method": (
                "simulation of exact cumulative sufficient statistics; "
                + ancova_text
                + {
                    "t": "t statistics mapped to z through their p-values",
                    "z": "z statistics with known variance",
                    "wald": f"Binomial cell counts, Wald z on the {plan.binary_scale} scale "
                    "(0-or-n cells: 0.5 added)"
                    if binary
                    else "",
                }[plan.statistic]
            )
        }
    if binary:
        notes["corrected"] = (
            f"{totals.corrected} analyses (trial x look) had a 0-or-n cell (Haldane-Anscombe "
            "0.5 added)"
        )
    return SequentialSimulation(
        hypothesis=hypothesis,
        stop_efficacy=p_up,
        stop_lower=p_low,
        mcse_efficacy=np.sqrt(p_up * (1 - p_up) / n_sims),
        mcse_lower=np.sqrt(p_low * (1 - p_low) / n_sims),
        power=power,
        mcse=math.sqrt(power * (1 - power) / n_sims),
        n_total_per_look=tuple(int(v) for v in look_totals),
        expected_n_total=mean_n,
        mcse_expected_n_total=math.sqrt(var_n / n_sims),
        n_sims=n_sims,
        seed=seed,
        notes=notes,
        look_times=tuple(float(v) for v in totals.times / n_sims) if survival else None,
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
    batch_size: int | None = None,
    engine: str | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    memory_budget: int | None = None,
) -> PowerResult:
    """``design.power(sequential=gsd, method="simulation", n_sims=, seed=, ...)``.

    Each hypothesis is simulated with its own child of ``seed``; the result's
    ``extras["simulations"]`` holds the :class:`SequentialSimulation` of each,
    and ``result.expected_n`` the simulated expected total size at stopping
    (the first hypothesis' test; every hypothesis' in
    ``result.expected_n_by_hypothesis``).  The executor, progress bar and
    memory budget are those of :func:`trialplan.simulate.simulate_power`; the
    results do not depend on them.

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
    >>> abs(res.expected_n - d.power("A:B", sequential=gsd).expected_n) < 10
    True
    """
    names = tuple(hypotheses)
    n_sims = check_int("n_sims", n_sims)
    root, record = normalize_seed(seed)
    family = design.statistics(names)
    rows, mcse, sims = [], {}, {}
    for h, name in enumerate(names):
        sim = simulate_sequential(
            design,
            hypothesis=name,
            sequential=sequential,
            n_sims=n_sims,
            seed=block_seed(root, h),
            statistic=statistic,
            timing=timing,
            batch_size=batch_size,
            engine=engine,
            executor=executor,
            progress=progress,
            memory_budget=memory_budget,
        )
        stat = family[name]
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
        seed=record,
        design=design,
        extras={
            "sequential": sequential,
            "simulations": sims,
            "expected_n": sims[names[0]].expected_n_total,
            "expected_n_by_hypothesis": {h: s.expected_n_total for h, s in sims.items()},
        },
    )
