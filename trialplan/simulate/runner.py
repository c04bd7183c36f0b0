"""The simulation runner: seeds, fixed-length blocks, executors, progress, decisions.

``design.power(method="simulation", ...)`` lands in :func:`simulate_power`.
The trials are cut into blocks of a fixed length that depends only on the
design and the engine (never on the memory budget, the executor or the number
of workers); block ``k`` draws from the ``k``-th child of
``SeedSequence(seed)``.  A seed therefore gives identical results however
the blocks are grouped into tasks and wherever the tasks run, and a run of
whole blocks (``n_sims`` a multiple of ``result.extras["block_length"]``) is
the start of every longer run with the same seed.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
from scipy import stats

from trialplan._seeds import normalize_seed
from trialplan._validation import check_choice, check_int, did_you_mean
from trialplan.results import PowerResult, PowerRow
from trialplan.simulate.executors import ProgressBar, TaskRunner
from trialplan.simulate.protocol import CellDraws, OutcomeSimulator, SimulatedDesign
from trialplan.statistic import IntersectionUnion, StatisticFamily, TestStatistic

__all__ = ["DEFAULT_MEMORY_BUDGET", "block_length", "run_blocks", "simulate_power"]

#: Default bound on the working memory of one task (bytes): 256 MiB.
DEFAULT_MEMORY_BUDGET = 256 * 2**20
#: Blocks hold at most this many trials ...
_MAX_BLOCK = 2048
#: ... and at most this much working memory (bytes), whatever the budget: small
#: enough to stay in the processor's cache (4 MiB is 3-4x faster than 32 MiB
#: for patient-level data).
_BLOCK_BYTES = 4 * 2**20
#: Show a progress bar by default when a run is expected to last longer (s).
_PROGRESS_AFTER = 3.0


@dataclass(frozen=True)
class _Plan:
    """Everything a worker needs; picklable (plain arrays and registered objects)."""

    simulator: OutcomeSimulator
    params: Any
    engine: str
    names: tuple[str, ...]
    contrasts: tuple[np.ndarray, ...]  # per hypothesis, shape (m, cells)
    two_sided: tuple[bool, ...]  # single contrast tested in both tails
    level: float  # alpha / sided: every tail's level
    favourable: tuple[int, ...]  # per hypothesis, from its statistic
    analysis: Callable[[Any], Mapping[str, float]] | None
    analysis_levels: tuple[float, ...]  # p-value thresholds for analysis=


def block_length(simulator: OutcomeSimulator, params: Any, engine: str) -> int:
    """Trials per block: at most 2048 and at most 4 MiB of working memory.

    It depends only on the design and engine, so results never depend on the
    memory budget or the executor.

    Parameters
    ----------
    simulator : OutcomeSimulator
        The outcome's simulator (see :func:`simulator_for`).
    params : object
        What ``simulator.prepare(design)`` returned.
    engine : str
        ``"exact"`` or ``"individual"``.

    Returns
    -------
    int

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.simulate import block_length, simulator_for
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> sim = simulator_for(d.outcome)
    >>> params = sim.prepare(d)
    >>> block_length(sim, params, "exact")          # 896 bytes a trial: the 2048 cap
    2048
    >>> sim.bytes_per_trial(params, "individual"), block_length(sim, params, "individual")
    (4640, 903)
    """
    per_trial = max(1, int(simulator.bytes_per_trial(params, engine)))
    return max(1, min(_MAX_BLOCK, _BLOCK_BYTES // per_trial))


def simulate_power(
    design: Any,
    hypotheses: str | Sequence[str] | None = None,
    *,
    n_sims: int = 10_000,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    engine: str | None = None,
    analysis: Callable[[Any], Mapping[str, float]] | None = None,
    memory_budget: int | None = None,
) -> PowerResult:
    """Power by simulating the trial: ``design.power(method="simulation", ...)``.

    Each simulated trial yields every hypothesis' statistic, rejected as in
    the planned analysis: two-sided ``|t| > t_{1-alpha/2, df}``, one-sided
    in the favourable direction, and the combination (intersection-union)
    test when all its one-sided components reject.  Power is the proportion
    of trials that reject, with Monte Carlo standard error
    ``sqrt(p (1 - p) / n_sims)`` (Morris, White & Crowther 2019).

    Parameters
    ----------
    design : Design
        Any design (``tp.Factorial``, ``tp.Parallel``, ``tp.SMART``) whose
        ``simulator()`` draws its trials (for cell designs, the outcome
        type's registered simulator, see :mod:`trialplan.simulate.protocol`).
    hypotheses : str or sequence of str, optional
        Hypotheses to report; all the design's defaults if omitted.
    n_sims : int, default 10000
        Number of simulated trials (>= 1); 10,000 keeps every MCSE <= 0.005.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Reproduces the run exactly, whatever the executor, the number of
        workers or the memory budget.  ``None`` draws fresh entropy, which is
        stored in ``result.seed`` so the run can be repeated.  A Generator is
        consumed to derive the seed.
    executor : concurrent.futures.Executor, optional
        Runs tasks (groups of blocks) in parallel, e.g.
        ``ProcessPoolExecutor(max_workers=4)`` or, with Dask,
        ``distributed.Client(...).get_executor()``.  ``None`` runs in this
        process.  A user ``analysis`` must then be picklable (a module-level
        function, not a lambda, for process pools).
    progress : bool, optional
        Show a tqdm progress bar.  By default shown when the run is expected
        to take more than about 3 seconds and stderr is an interactive
        terminal.
    engine : {"exact", "individual"}, optional
        ``"exact"``: sufficient statistics with exactly the sampling
        distribution of the planned analysis.  ``"individual"``:
        patient-level data analysed by batched least squares (or the
        outcome's model).  ``None`` (the default) takes the outcome's
        preferred engine, the first its simulator offers: ``"exact"`` where
        available (Continuous, Binary, TimeToEvent, group-delivered
        Continuous), ``"individual"`` otherwise (Repeated); with
        ``analysis`` given, ``"individual"``.
    analysis : callable, optional
        A user analysis ``f(frame) -> {hypothesis: p_value}`` applied to each
        simulated trial's patient-level DataFrame (for a Continuous outcome:
        columns ``cell``, one per factor, ``baseline`` under ANCOVA, ``y``).
        A single-contrast hypothesis is rejected when its p-value is <=
        ``alpha`` (so return two-sided p-values for a two-sided design); the
        combination when its p-value, the largest of its one-sided
        components' p-values, is <= ``alpha / sided``.  One call per trial:
        slow, so use modest ``n_sims`` or an executor.
    memory_budget : int, optional
        Bound on the working memory of one task, in bytes (per worker with an
        executor); default 268435456 (256 MiB).  Must hold at least one block
        of trials.

    Returns
    -------
    PowerResult
        ``method="simulation"``; ``result[h]`` the simulated power,
        ``result.mcse[h]`` its Monte Carlo standard error, ``result.n_sims``
        and ``result.seed``.  Rows carry the planned effect, se and df; the
        ``method`` column names the engine.  ``result.extras`` holds the
        engine, block length, rejection counts and any simulator counts.

    Raises
    ------
    ValueError
        If ``n_sims < 1``, ``memory_budget`` cannot hold one block, the
        engine is unknown or not offered for the outcome (the message names
        the engines that are), ``analysis`` returns a missing or invalid
        p-value, or a group-delivered design (``clusters=``) has an outcome
        other than Continuous, unequal group sizes (``size_cv > 0``) or
        fewer than two therapy groups in a clustered cell.
    TypeError
        If ``n_sims`` or ``memory_budget`` is not a whole number, ``executor``
        is not an Executor, ``analysis`` is not callable, or no simulator is
        registered for the outcome.

    References
    ----------
    .. [1] Morris TP, White IR, Crowther MJ. Using simulation studies to
       evaluate statistical methods. Stat Med 2019;38:2074-2102.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> sim = d.power("A:B", method="simulation", n_sims=4000, seed=1)
    >>> abs(sim["A:B"] - d.power("A:B")["A:B"]) < 4 * sim.mcse["A:B"]
    True
    >>> sim.n_sims, sim.seed, sim.method
    (4000, 1, 'simulation')
    """
    if not isinstance(design, SimulatedDesign):
        raise TypeError(
            "design must be a trialplan design such as tp.Factorial(...) or "
            f"tp.Parallel(...); got design={design!r}"
        )
    n_sims = check_int("n_sims", n_sims)
    memory_budget = check_memory_budget(memory_budget)
    check_executor(executor)
    check_progress(progress)
    if analysis is not None and not callable(analysis):
        raise TypeError(
            f"analysis must be a callable frame -> {{hypothesis: p-value}}; got "
            f"analysis={analysis!r}"
        )
    if engine is not None:
        check_choice("engine", engine, ("exact", "individual"))
    if analysis is not None and engine not in (None, "individual"):
        raise ValueError(
            "analysis= analyses patient-level data, so it needs "
            f"engine='individual' (or no engine); got engine={engine!r}"
        )
    simulator = design.simulator()
    what = design.simulation_subject
    if engine is None:
        # The outcome's preferred engine; patient-level data for a user analysis.
        engine = "individual" if analysis is not None else simulator.engines[0]
    if engine not in simulator.engines:
        raise ValueError(
            f"engine={engine!r} is not offered for {what}; choose one of "
            f"{tuple(simulator.engines)} (or engine=None for the outcome's "
            f"default, {simulator.engines[0]!r})"
        )
    seed_seq, seed_record = normalize_seed(seed)

    family = design.statistics(hypotheses)
    params = simulator.prepare(design)
    plan = _make_plan(design, family, simulator, params, engine, analysis)

    length = block_length(simulator, params, engine)
    block_bytes = length * max(1, int(simulator.bytes_per_trial(params, engine)))
    blocks = _Blocks(
        entropy=seed_seq.entropy,
        spawn_key=tuple(seed_seq.spawn_key),
        pool_size=seed_seq.pool_size,
        length=length,
        n_sims=n_sims,
    )
    totals = _Totals(len(plan.names))
    run_blocks(
        _run_blocks,
        plan,
        blocks,
        block_bytes=block_bytes,
        memory_budget=memory_budget,
        executor=executor,
        progress=progress,
        add=totals.add,
        one_block_per_task=analysis is not None,
    )
    n_blocks = blocks.count
    return _result(design, family, plan, totals, n_sims, seed_record, length, n_blocks)


# ------------------------------------------------------- checks, blocks, tasks
def check_memory_budget(memory_budget: Any) -> int:
    """Return the memory budget in bytes (the default when None), or raise naming it."""
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(memory_budget, bool) or not isinstance(
        memory_budget, numbers.Integral | np.integer
    ):
        raise TypeError(
            f"memory_budget must be a whole number of bytes; got memory_budget={memory_budget!r}"
        )
    if int(memory_budget) < 1:
        raise ValueError(
            f"memory_budget must be a whole number of bytes >= 1; got "
            f"memory_budget={memory_budget!r}"
        )
    return int(memory_budget)


def check_executor(executor: Any) -> None:
    """Refuse anything but a ``concurrent.futures.Executor`` (or None)."""
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (e.g. "
            "ProcessPoolExecutor(), or a Dask Client's get_executor()); got "
            f"executor={executor!r}"
        )


def check_progress(progress: Any) -> None:
    """Refuse anything but True, False or None."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None; got progress={progress!r}")


def run_blocks(
    worker: Callable[[Any, _Blocks, int, int], Any],
    payload: Any,
    blocks: _Blocks,
    *,
    block_bytes: int,
    memory_budget: int,
    executor: Executor | None,
    progress: bool | None,
    add: Callable[[Any], None],
    one_block_per_task: bool = False,
) -> None:
    """Run ``worker(payload, blocks, first, stop)`` over all blocks; ``add`` each part.

    Tasks are ranges of whole blocks, as many as the memory budget holds
    (fewer with an executor, so that its workers share the run); block 0
    runs alone, here, first: it times the run (for the default progress bar)
    and fails fast on a broken simulator.  Block ``k`` draws from the
    ``k``-th child of the seed whatever the task it falls in, so results do
    not depend on the budget, the executor or the number of workers.  The
    tasks run on :class:`~trialplan.simulate.executors.TaskRunner`.

    Raises
    ------
    ValueError
        If ``memory_budget`` cannot hold one block.
    """
    if memory_budget < block_bytes:
        raise ValueError(
            f"memory_budget={memory_budget} bytes cannot hold one block of "
            f"{blocks.length} simulated trials, which needs {block_bytes} bytes; "
            f"allowed: memory_budget >= {block_bytes}"
        )
    n_blocks = blocks.count
    per_task = 1 if one_block_per_task else max(1, memory_budget // block_bytes)
    if executor is not None:
        per_task = min(per_task, max(1, -(-n_blocks // 64)))
    tasks = [(1, min(per_task, n_blocks))] + [
        (k, min(k + per_task, n_blocks)) for k in range(per_task, n_blocks, per_task)
    ]
    tasks = [(first, stop) for first, stop in tasks if first < stop]
    bar = ProgressBar(blocks.n_sims, wanted=progress, desc="simulating", unit="trial")
    start = time.perf_counter()
    add(worker(payload, blocks, 0, 1))
    elapsed = time.perf_counter() - start
    bar.start(initial=blocks.size(0), long=elapsed * n_blocks > _PROGRESS_AFTER)
    runner = TaskRunner.serial() if executor is None else TaskRunner.on(executor)
    try:
        for (first, stop), part in runner.run(
            partial(_block_range, worker, payload, blocks), tasks
        ):
            add(part)
            bar.update(blocks.trials(first, stop))
    finally:
        bar.close()


def _block_range(worker: Callable[..., Any], payload: Any, blocks: _Blocks, span: Any) -> Any:
    """One task: ``worker`` over the blocks ``span = (first, stop)`` (picklable, for pools)."""
    return worker(payload, blocks, *span)


def _make_plan(
    design: Any,
    family: StatisticFamily,
    simulator: OutcomeSimulator,
    params: Any,
    engine: str,
    analysis: Any,
) -> _Plan:
    """What the workers need: the simulator and each hypothesis' contrasts and test."""
    contrasts, two_sided, levels, favourable = [], [], [], []
    sided = int(family.sided)
    alpha = float(family.alpha)
    for stat, rows in zip(family, family.contrasts, strict=True):
        contrasts.append(np.array(rows, dtype=float))
        iut = isinstance(stat, IntersectionUnion)
        two_sided.append(not iut and sided == 2)
        levels.append(alpha / sided if iut else alpha)
        favourable.append(int((stat.components[0] if iut else stat).favourable))
    return _Plan(
        simulator=simulator,
        params=params,
        engine=engine,
        names=tuple(family.hypotheses),
        contrasts=tuple(contrasts),
        two_sided=tuple(two_sided),
        level=alpha / sided,
        favourable=tuple(favourable),
        analysis=analysis,
        analysis_levels=tuple(levels),
    )


# ------------------------------------------------------------------- workers
@dataclass(frozen=True)
class _Blocks:
    """The fixed-length blocks of a run and their seeds (picklable, O(1) size).

    Block ``k`` uses ``SeedSequence(entropy, spawn_key=spawn_key + (k,))``, the
    ``k``-th child that ``SeedSequence.spawn`` would give, built on demand so
    that no list of ``n_sims / length`` seeds is ever held in memory.
    """

    entropy: Any
    spawn_key: tuple[int, ...]
    pool_size: int
    length: int
    n_sims: int

    def seed(self, k: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(
            self.entropy, spawn_key=self.spawn_key + (k,), pool_size=self.pool_size
        )

    def size(self, k: int) -> int:
        return min(self.length, self.n_sims - k * self.length)

    def trials(self, first: int, stop: int) -> int:
        return sum(self.size(k) for k in range(first, stop))

    @property
    def count(self) -> int:
        """Number of blocks, ``ceil(n_sims / length)``."""
        return -(-self.n_sims // self.length)


def _run_blocks(
    plan: _Plan, blocks: _Blocks, first: int, stop: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Rejections and non-finite statistics per hypothesis over blocks [first, stop)."""
    rejections = np.zeros(len(plan.names), dtype=np.int64)
    nonfinite = np.zeros(len(plan.names), dtype=np.int64)
    counts: dict[str, int] = {}
    for k in range(first, stop):
        size = blocks.size(k)
        rng = np.random.default_rng(blocks.seed(k))
        if plan.analysis is not None:
            rejections += _run_analysis(plan, rng, size)
            continue
        draws = plan.simulator.draw(plan.params, rng, size, engine=plan.engine)
        if not isinstance(draws, CellDraws) or draws.size != size:
            raise TypeError(
                f"{type(plan.simulator).__name__}.draw must return CellDraws of "
                f"{size} trials; got {draws!r:.80}"
            )
        reject, bad = decide(plan, draws)
        rejections += reject.sum(axis=0)
        nonfinite += bad.sum(axis=0)
        for key, value in draws.counts.items():
            counts[key] = counts.get(key, 0) + int(value)
    return rejections, nonfinite, counts


def decide(plan: _Plan, draws: CellDraws) -> tuple[np.ndarray, np.ndarray]:
    """Reject/accept every hypothesis in every simulated trial.

    Draws with a ``contrast_df(weights)`` method (group-delivered designs:
    Satterthwaite df from the trial's estimated mean squares) give every
    contrast its own critical value in every trial; others use ``draws.df``.

    Returns
    -------
    reject, nonfinite : numpy.ndarray of bool
        Shape ``(size, hypotheses)``.  A trial whose statistic is not finite
        (e.g. a zero standard error) does not reject and is counted.
    """
    df = draws.df
    if np.ndim(df) == 0:
        crit: Any = _critical(plan.level, float(df))
    else:
        crit = stats.t.isf(plan.level, df)[:, None]
    reject = np.empty((draws.size, len(plan.names)), dtype=bool)
    nonfinite = np.empty_like(reject)
    contrast_df = getattr(draws, "contrast_df", None)  # per-contrast df (Satterthwaite)
    for h, weights in enumerate(plan.contrasts):
        estimate, se = draws.contrast(weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = estimate / se
        if contrast_df is not None:
            crit = stats.t.isf(plan.level, contrast_df(weights))
        finite = np.isfinite(t).all(axis=1)
        if plan.two_sided[h]:
            hit = (np.abs(t) > crit).all(axis=1)
        else:
            hit = (plan.favourable[h] * t > crit).all(axis=1)
        reject[:, h] = hit & finite
        nonfinite[:, h] = ~finite
    return reject, nonfinite


@lru_cache(maxsize=256)
def _critical(level: float, df: float) -> float:
    """Upper ``level`` quantile of t(df) (normal when df is infinite), cached."""
    return float(stats.t.isf(level, df))


def _run_analysis(plan: _Plan, rng: np.random.Generator, size: int) -> np.ndarray:
    rejections = np.zeros(len(plan.names), dtype=np.int64)
    for _ in range(size):
        frame = plan.simulator.patient_data(plan.params, rng)
        p_values = plan.analysis(frame)  # type: ignore[misc]
        if not isinstance(p_values, Mapping):
            raise TypeError(
                f"analysis must return a mapping {{hypothesis: p-value}}; got {p_values!r:.80}"
            )
        for h, name in enumerate(plan.names):
            if name not in p_values:
                raise ValueError(
                    f"analysis returned no p-value for hypothesis {name!r}; it "
                    f"returned {sorted(p_values)}; needed: {list(plan.names)}"
                    + did_you_mean(name, list(p_values))
                )
            p = p_values[name]
            try:
                p = float(p)
            except (TypeError, ValueError):
                p = math.nan
            if not 0.0 <= p <= 1.0:
                raise ValueError(
                    f"analysis returned p-value {p_values[name]!r} for hypothesis "
                    f"{name!r}; allowed: a number in [0, 1]"
                )
            rejections[h] += p <= plan.analysis_levels[h]
    return rejections


# ------------------------------------------------------------------ results
class _Totals:
    def __init__(self, n: int) -> None:
        self.rejections = np.zeros(n, dtype=np.int64)
        self.nonfinite = np.zeros(n, dtype=np.int64)
        self.counts: dict[str, int] = {}

    def add(self, part: tuple[np.ndarray, np.ndarray, dict[str, int]]) -> None:
        rejections, nonfinite, counts = part
        self.rejections += rejections
        self.nonfinite += nonfinite
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


def _result(
    design: Any,
    stats_: Sequence[TestStatistic | IntersectionUnion],  # a StatisticFamily
    plan: _Plan,
    totals: _Totals,
    n_sims: int,
    seed_record: Any,
    length: int,
    n_blocks: int,
) -> PowerResult:
    if plan.analysis is not None:
        name = getattr(plan.analysis, "__name__", type(plan.analysis).__name__)
        method = f"simulation: user analysis {name!r} of patient-level data"
    else:
        method = plan.simulator.describe(plan.engine)
    rows, mcse = [], {}
    for h, stat in enumerate(stats_):
        power = float(totals.rejections[h] / n_sims)
        mcse[stat.hypothesis] = math.sqrt(power * (1.0 - power) / n_sims)
        ref = stat.weakest if isinstance(stat, IntersectionUnion) else stat
        rows.append(
            PowerRow(
                hypothesis=stat.hypothesis,
                estimand=stat.estimand,
                effect=ref.effect,
                se=ref.se,
                df=ref.df,
                critical_value=ref.critical_value,
                power=power,
                method=method,
                scale=ref.scale,
            )
        )
    extras = {
        "engine": plan.engine,
        "block_length": length,
        "n_blocks": n_blocks,
        "rejections": dict(zip(plan.names, (int(v) for v in totals.rejections), strict=True)),
        "nonfinite": dict(zip(plan.names, (int(v) for v in totals.nonfinite), strict=True)),
        "counts": dict(totals.counts),
    }
    summary = f"{design.describe()} | simulation, n_sims={n_sims}, seed={seed_record!r}"
    return PowerResult(
        rows=tuple(rows),
        summary=summary,
        method="simulation",
        mcse=mcse,
        n_sims=n_sims,
        seed=seed_record,
        design=design,
        extras=extras,
    )
