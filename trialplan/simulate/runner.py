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
import threading
import time
import weakref
from collections import OrderedDict
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
    tests: _Tests | None = None  # every contrast of every hypothesis, stacked


@dataclass(frozen=True)
class _Tests:
    """All hypotheses' contrasts as one matrix, for one product per block of trials.

    Row ``i`` of ``weights`` is a distinct contrast, oriented so that a
    one-sided test rejects in the upper tail; the first ``two_sided`` rows are
    tested in both tails.  ``groups`` maps hypotheses to rows: for each number
    ``m`` of contrasts per hypothesis, the hypotheses' indices and their rows
    (shape ``(hypotheses, m)``); a hypothesis rejects when all its rows do
    (one row, or the intersection-union test).
    """

    weights: np.ndarray  # (rows, cells)
    two_sided: int
    groups: tuple[tuple[np.ndarray, np.ndarray], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", np.ascontiguousarray(self.weights))
        object.__setattr__(self, "_scaled", {})

    def scaled(self, unit_variances: np.ndarray) -> np.ndarray | None:
        """Rows divided by ``sqrt(c' diag(unit_variances) c)`` (cached); None if one is 0."""
        key = unit_variances.tobytes()
        cache = self.__dict__["_scaled"]
        found = cache.get(key, False)
        if found is not False:
            return found
        base = (self.weights * self.weights) @ unit_variances
        ok = bool(np.all(base > 0) and np.all(np.isfinite(base)))
        scaled = self.weights / np.sqrt(base)[:, None] if ok else None
        if len(cache) > 8:
            cache.clear()
        cache[key] = scaled  # threads may race here harmlessly: same value
        return scaled

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_scaled"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def block_length(simulator: OutcomeSimulator, params: Any, engine: str) -> int:
    """Trials per block: at most 2048 (or the simulator's ``max_block(engine)``) and 4 MiB.

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
    >>> sim.bytes_per_trial(params, "exact"), sim.max_block("exact")
    (96, 8192)
    >>> block_length(sim, params, "exact")          # 96 bytes a trial: the 8192 cap
    8192
    >>> sim.bytes_per_trial(params, "individual"), block_length(sim, params, "individual")
    (4640, 903)
    """
    per_trial = max(1, int(simulator.bytes_per_trial(params, engine)))
    max_block = getattr(simulator, "max_block", None)  # optional in the protocol
    cap = _MAX_BLOCK if max_block is None else int(max_block(engine))
    return max(1, min(cap, _BLOCK_BYTES // per_trial))


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
    if not _is_simulated_design(design):
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

    family, params, plan = _prepared(design, hypotheses, simulator, engine, analysis)

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
#: Classes whose instances passed the SimulatedDesign check through class attributes.
_SIMULATED_TYPES: set[type] = set()


def _is_simulated_design(design: Any) -> bool:
    """``isinstance(design, SimulatedDesign)``, remembered per class (the check costs ~6 us).

    A class is remembered only when it defines every member of the protocol itself,
    so that any instance of it passes too.
    """
    kind = type(design)
    if kind in _SIMULATED_TYPES:
        return True
    if not isinstance(design, SimulatedDesign):
        return False
    if all(hasattr(kind, name) for name in ("statistics", "simulator", "simulation_subject")):
        _SIMULATED_TYPES.add(kind)
    return True


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


#: The last few designs' statistic families and plans, by design identity.
_PREPARED: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()
_PREPARED_SIZE = 16
_PREPARED_LOCK = threading.Lock()


def _prepared(
    design: Any, hypotheses: Any, simulator: OutcomeSimulator, engine: str, analysis: Any
) -> tuple[StatisticFamily, Any, _Plan]:
    """The design's family, the simulator's parameters and the plan, cached per design.

    Designs are immutable, so a second simulation of the same design object
    (another seed, more trials) reuses what the first derived from it: about
    0.3 ms of Python for a 2x2's eight hypotheses, as much as drawing 6,000
    trials.  The cache holds a weak reference (a design that is gone is never
    matched by a recycled id) and the last 16 designs; user analyses are not
    cached.
    """
    names = hypotheses if hypotheses is None or isinstance(hypotheses, str) else tuple(hypotheses)
    key = None
    if analysis is None:
        try:
            key = (id(design), names, engine, id(simulator))
            hash(key)
        except TypeError:  # unhashable hypotheses: let the design say what is wrong
            key = None
    if key is not None:
        with _PREPARED_LOCK:
            found = _PREPARED.get(key)
            if found is not None and found[0]() is design:
                _PREPARED.move_to_end(key)
                return found[1], found[2], found[3]
    family = design.statistics(hypotheses)
    params = simulator.prepare(design)
    plan = _make_plan(design, family, simulator, params, engine, analysis)
    if key is not None:
        try:
            ref = weakref.ref(design)
        except TypeError:  # a design without weak references is not cached
            return family, params, plan
        with _PREPARED_LOCK:
            _PREPARED[key] = (ref, family, params, plan)
            _PREPARED.move_to_end(key)
            while len(_PREPARED) > _PREPARED_SIZE:
                _PREPARED.popitem(last=False)
    return family, params, plan


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
        tests=_stack_tests(contrasts, two_sided, favourable),
    )


def _stack_tests(
    contrasts: Sequence[np.ndarray], two_sided: Sequence[bool], favourable: Sequence[int]
) -> _Tests:
    """Stack the hypotheses' contrasts into distinct rows: two-sided ones first.

    A pure function of its arguments, so the last few stacks are reused: a new
    design object with the same hypotheses (another size, other planning values,
    a scenario grid) shares its predecessor's stack and that stack's scaled rows.
    """
    key = (
        tuple((c.shape, c.tobytes()) for c in contrasts),
        tuple(bool(b) for b in two_sided),
        tuple(int(f) for f in favourable),
    )
    with _PREPARED_LOCK:
        found = _STACKS.get(key)
        if found is not None:
            _STACKS.move_to_end(key)
            return found
    tests = _stacked(contrasts, two_sided, favourable)
    with _PREPARED_LOCK:
        _STACKS[key] = tests
        while len(_STACKS) > _PREPARED_SIZE:
            _STACKS.popitem(last=False)
    return tests


#: The last few stacks of contrasts, by their contrasts, sidedness and directions.
_STACKS: OrderedDict[tuple[Any, ...], _Tests] = OrderedDict()


def _stacked(
    contrasts: Sequence[np.ndarray], two_sided: Sequence[bool], favourable: Sequence[int]
) -> _Tests:
    keys: list[tuple[bool, bytes]] = []
    rows: dict[tuple[bool, bytes], np.ndarray] = {}
    per_hypothesis = []
    for weights, both, sign in zip(contrasts, two_sided, favourable, strict=True):
        mine = []
        for row in weights:
            oriented = row if both else sign * row
            key = (not both, np.ascontiguousarray(oriented, dtype=float).tobytes())
            if key not in rows:
                rows[key] = oriented
                keys.append(key)
            mine.append(key)
        per_hypothesis.append(mine)
    keys.sort(key=lambda k: k[0])  # stable: two-sided rows first, in order of appearance
    index = {key: i for i, key in enumerate(keys)}
    by_count: dict[int, list[int]] = {}
    for h, mine in enumerate(per_hypothesis):
        by_count.setdefault(len(mine), []).append(h)
    groups = tuple(
        (
            np.array(hyps, dtype=np.intp),
            np.array([[index[k] for k in per_hypothesis[h]] for h in hyps], dtype=np.intp),
        )
        for _, hyps in sorted(by_count.items())
    )
    return _Tests(
        weights=np.array([rows[k] for k in keys], dtype=float).reshape(len(keys), -1),
        two_sided=sum(not one for one, _ in keys),
        groups=groups,
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


#: Bytes of the array :func:`_prime_allocator` frees once per process.
_PRIME_BYTES = 8 << 20
_allocator_primed = False


def _prime_allocator() -> None:
    """Free one 8 MiB array, once per process, so that blocks reuse their heap memory.

    glibc's malloc gives freed memory at the top of its heap back to the system once
    more than its trim threshold is free: twice its mmap threshold, 128 KiB until it
    frees a larger mapped chunk and raises both to that chunk's size.  A block of
    8,192 ANCOVA trials frees about 3 MiB of temporaries, so in a process that had
    never freed a larger array every block faulted its memory in again: 10,000
    trials took 2.5 ms instead of 1.7 (the draws alone: 1.0 ms).  Freeing one 8 MiB
    array applies glibc's own rule once (trim threshold 16 MiB); results do not
    change, and other allocators are unaffected.
    """
    global _allocator_primed
    if not _allocator_primed:
        _allocator_primed = True
        scratch = np.empty(_PRIME_BYTES, dtype=np.uint8)  # never touched: no pages used
        del scratch


def _run_blocks(
    plan: _Plan, blocks: _Blocks, first: int, stop: int
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Rejections and non-finite statistics per hypothesis over blocks [first, stop)."""
    _prime_allocator()
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
        reject, bad = count_rejections(plan, draws)
        rejections += reject
        nonfinite += bad
        for key, value in draws.counts.items():
            counts[key] = counts.get(key, 0) + int(value)
    return rejections, nonfinite, counts


def decide(plan: _Plan, draws: CellDraws) -> tuple[np.ndarray, np.ndarray]:
    """Reject/accept every hypothesis in every simulated trial.

    With one df for the whole block, every hypothesis is decided from one
    product of the cell estimates with all contrasts (see
    :func:`_rejected_rows`).  Draws with per-trial df, or with a
    ``contrast_df(weights)`` method (group-delivered designs: Satterthwaite
    df from the trial's estimated mean squares, so every contrast has its own
    critical value in every trial), are decided hypothesis by hypothesis.

    Returns
    -------
    reject, nonfinite : numpy.ndarray of bool
        Shape ``(size, hypotheses)``.  A trial whose statistic is not finite
        (e.g. a zero standard error) does not reject and is counted.
    """
    rows = _rejected_rows(plan, draws)
    if rows is None:
        return _decide_each(plan, draws)
    reject = np.empty((len(plan.names), draws.size), dtype=bool)
    for hyps, picks in plan.tests.groups:  # one pass per number of contrasts
        reject[hyps] = rows[picks].all(axis=1)
    return reject.T, np.zeros_like(reject.T)


def count_rejections(plan: _Plan, draws: CellDraws) -> tuple[np.ndarray, np.ndarray]:
    """Rejections and non-finite statistics per hypothesis, summed over the block's trials."""
    rows = _rejected_rows(plan, draws)
    if rows is None:
        reject, nonfinite = _decide_each(plan, draws)
        return reject.sum(axis=0), nonfinite.sum(axis=0)
    counts = np.empty(len(plan.names), dtype=np.int64)
    per_row = None
    for hyps, picks in plan.tests.groups:
        if picks.shape[1] == 1:
            if per_row is None:
                per_row = np.count_nonzero(rows, axis=1)
            counts[hyps] = per_row[picks[:, 0]]
        else:  # intersection-union: every row of the hypothesis rejects
            for h, pick in zip(hyps, picks, strict=True):
                both = rows[pick[0]] & rows[pick[1]]
                for r in pick[2:]:
                    both &= rows[r]
                counts[h] = np.count_nonzero(both)
    return counts, np.zeros(len(plan.names), dtype=np.int64)


def _rejected_rows(plan: _Plan, draws: CellDraws) -> np.ndarray | None:
    """Every contrast's decision in every trial, shape ``(rows, size)``, without t or p.

    ``|t| > c`` is ``|E| > c sqrt(V)`` and a one-sided ``t > c`` (``c > 0``)
    is ``E > c sqrt(V)``, for a contrast's estimate ``E`` and estimated
    variance ``V``.  All contrasts' ``E`` come from one matrix product, and
    so does ``V`` (a pooled fit needs a product only for its rank-one part,
    ANCOVA's slope).  Trials are along the second axis, so every pass and
    count runs over contiguous memory.

    Returns None, for a decision hypothesis by hypothesis, when the df vary
    between trials or contrasts, when some statistic may not be finite (a
    zero or non-finite variance, a non-finite estimate) or when ``c <= 0``,
    so that such trials are counted exactly as there.
    """
    tests = plan.tests
    if tests is None or np.ndim(draws.df) != 0 or hasattr(draws, "contrast_df"):
        return None
    crit = _critical(plan.level, float(draws.df))
    if not crit > 0:
        return None
    est = draws.estimates
    if not math.isfinite(float(np.add.reduce(est, axis=None))):
        return None
    pooled = draws.pooled
    if pooled is not None:
        # In units of sqrt(c' diag(unit) c) per contrast, V = scale (1 + w (g'c)^2).
        weights = tests.scaled(pooled.unit_variances)
        if weights is None:
            return None
        bound = pooled.scale * (crit * crit)
        if not (bound.min() > 0 and math.isfinite(float(np.add.reduce(bound)))):
            return None
        if pooled.rank_one is None:
            limit = np.sqrt(bound)
        else:
            factor = bound * pooled.rank_one_weight
            if not (factor.min() >= 0 and math.isfinite(float(np.add.reduce(factor)))):
                return None
            shift = pooled.rank_one * np.sqrt(factor)[:, None]
            if not math.isfinite(float(np.add.reduce(shift, axis=None))):
                return None
            limit = _product(weights, shift)
            limit *= limit
            limit += bound
            np.sqrt(limit, out=limit)
    else:
        weights = tests.weights
        variance = draws.contrast_variance(weights).T
        if not (variance.min() > 0 and math.isfinite(float(variance.sum()))):
            return None
        limit = np.sqrt(variance, out=variance)
        limit *= crit
    stat = _product(weights, est)
    head = stat[: tests.two_sided]
    np.abs(head, out=head)
    return stat > limit


def _decide_each(plan: _Plan, draws: CellDraws) -> tuple[np.ndarray, np.ndarray]:
    """Hypothesis by hypothesis, with t statistics (per-trial or per-contrast df)."""
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


#: OpenBLAS multiplies with several threads once m * n * k passes 65536 * 4; for the
#: skinny products of the decision step that costs far more than it saves (on a
#: loaded 2-core machine 100x more), so products are cut below it.
_SINGLE_THREAD_PRODUCT = 65536 * 4


def _product(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``weights @ values.T`` (rows x trials), in slices of trials below BLAS threading."""
    rows, inner = weights.shape
    size = values.shape[0]
    step = max(64, _SINGLE_THREAD_PRODUCT // max(1, rows * inner))
    if size <= step:
        return weights @ values.T
    out = np.empty((rows, size))
    for start in range(0, size, step):
        stop = min(size, start + step)
        np.matmul(weights, values[start:stop].T, out=out[:, start:stop])
    return out


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
