"""Scenario exploration: power over a grid of planning assumptions, at scale.

Trial statisticians try hundreds of scenarios (effect x sd x dropout x
design) before they settle on one.  :func:`explore` runs a design factory
over every combination of a grid, computes power for each scenario and
returns one tidy DataFrame with one row per scenario and hypothesis.

* **Deterministic seeds.**  Each scenario's simulation seed is derived from
  the base ``seed`` and the scenario's own parameter values (a
  :class:`numpy.random.SeedSequence` keyed by a SHA-256 hash of them), so the
  same scenario gets the same seed whatever the grid's order, the other
  scenarios, the executor or the number of workers.
* **Resumable.**  With ``cache="runs.sqlite"`` each finished scenario is
  stored in an SQLite file under its scenario hash (factory fingerprint,
  parameter values, method, ``n_sims``, seed, hypotheses, options and the
  trialplan version); a rerun reads the file and skips every scenario already
  there, so an interrupted exploration continues where it stopped.  Entries
  are checked before they are trusted (an invalid one is skipped with a
  warning and recomputed), several processes may share one file, and a
  JSON-lines cache of an older trialplan is converted on first use.
* **Parallel.**  ``method="simulation"`` runs scenarios on local processes by
  default (:class:`concurrent.futures.ProcessPoolExecutor`); any
  :class:`concurrent.futures.Executor` or a Dask ``distributed.Client`` can be
  given instead.  They run on the executor framework of
  :mod:`trialplan.simulate.executors`, as simulated trials do.
* **Bounded memory.**  Designs are built inside the worker, used and dropped;
  only result rows travel back, and at most ``2 x workers`` chunks are in
  flight at any time.
* **Plots.**  ``tp.explore_curves`` (power against one parameter) and
  ``tp.explore_heatmap`` (power over two parameters) draw from the frame; they
  live in :mod:`trialplan.report.figures` (the report layer draws, explore computes).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import inspect
import json
import math
import numbers
import os
import pickle
import re
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialplan._explore_cache import ScenarioCache, make_entry
from trialplan._validation import check_int, did_you_mean
from trialplan._version import __version__
from trialplan.designs.dispatch import POWER_METHODS
from trialplan.simulate import executors
from trialplan.simulate.executors import TaskRunner

__all__ = ["explore", "scenario_seed"]

#: Columns every frame has besides the grid's and the result's.
_ID_COLUMNS = ("scenario", "scenario_hash")
#: Columns a PowerResult frame (or explore itself) may contribute.
_RESULT_COLUMNS = (
    "hypothesis",
    "estimand",
    "effect",
    "se",
    "df",
    "critical_value",
    "power",
    "mcse",
    "method",
    "noncentrality",
    "cohens_f",
    "partial_eta_sq",
    "scale",
    "n_sims",
    "seed",
)
_EXECUTOR_WORDS = ("serial", "processes")
#: power() options that never change a result (the simulation engine's results do
#: not depend on its executor, progress bar or memory budget): kept out of the key.
_RESULT_NEUTRAL = frozenset({"executor", "progress", "memory_budget"})


@dataclass(frozen=True)
class _Scenario:
    """One point of the grid: its position, values, cache key and seed."""

    index: int
    params: dict[str, Any]
    key: str
    seed: int | None


def explore(
    factory: Callable[..., Any],
    grid: Mapping[str, Iterable[Any]],
    *,
    method: str = "analytic",
    hypotheses: str | Sequence[str] | None = None,
    n_sims: int | None = None,
    seed: Any = None,
    executor: Any = None,
    max_workers: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    chunksize: int | None = None,
    power_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Power of every scenario of a grid, as one tidy DataFrame.

    Parameters
    ----------
    factory : callable
        Called as ``factory(**scenario)`` for every combination of the grid's
        values and returning a design (anything with ``power()``), e.g.
        ``lambda sd, dropout: design.replace(sd=sd, dropout=dropout)``.
        To run on local processes the factory must be picklable: a function
        defined at module level or a :func:`functools.partial` of one, not a
        lambda or a nested function (a Dask client pickles lambdas too).
    grid : mapping of str to iterable
        Parameter name to the values to try, e.g. ``{"sd": (7, 8, 9)}``.
        Names must be keyword parameters of ``factory``.  Scenarios are all
        combinations, the first parameter varying slowest.
    method : str, default "analytic"
        The power method, as in ``design.power(method=...)``:
        ``"analytic"`` (exact) or ``"simulation"``.
    hypotheses : str or sequence of str, optional
        Hypotheses to report; the design's defaults if None.
    n_sims : int, optional
        Simulated trials per scenario (simulation only; the engine's default
        if None).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Base seed (simulation only).  Each scenario's seed is derived from it
        and the scenario's values and reported in the ``seed`` column, so
        ``factory(**scenario).power(method="simulation", seed=row.seed)``
        reproduces one row.  ``None`` draws fresh entropy (then a cache never
        matches a rerun: give a seed to make a run resumable).
    executor : None, "serial", "processes", concurrent.futures.Executor or distributed.Client
        Where scenarios run.  ``None``: serially for analytic power, on local
        processes for simulation (serially, with a warning, if the factory
        cannot be pickled).  An executor or client you pass is used and left
        open.
    max_workers : int, optional
        Processes for ``executor="processes"`` or the default pool (all CPUs
        available to this process if None).  The workers of a pool explore
        makes exit within about a second if the exploring process dies.
    cache : str or path-like, optional
        SQLite file of finished scenarios (created if missing).  Scenarios
        whose hash is in the file, with an entry that passes its checks, are
        read instead of computed; new ones are stored as they finish, one
        transaction per chunk.  One file may hold many explorations and be
        shared by several processes at once.  An entry that fails its checks
        (damaged bytes, no rows, a missing column, power outside [0, 1], a
        row list that does not match its digest) is skipped with a warning
        and recomputed; a JSON-lines cache of an older trialplan is converted
        in place (the original kept as ``<name>.bak``).
    progress : bool, optional
        Show a tqdm progress bar (optional dependency).  ``None``: when tqdm
        is installed and standard error is a terminal.
    chunksize : int, optional
        Scenarios per task sent to a worker (automatic if None: about four
        tasks per worker).
    power_options : mapping, optional
        Further keywords for ``design.power`` (e.g.
        ``{"multiplicity": tp.Holm([...])}``); they enter the cache key,
        except ``executor``, ``progress`` and ``memory_budget``, which do not
        change results.

    Returns
    -------
    pandas.DataFrame
        One row per scenario and hypothesis, in grid order: ``scenario``
        (0-based position in the grid), ``scenario_hash`` (16 hex digits, the
        cache key), one column per grid parameter, then the columns of
        ``PowerResult.to_frame()`` (``hypothesis``, ``effect``, ``se``,
        ``df``, ``power``, ``mcse`` for simulation, ``method``, ...), and for
        simulation ``n_sims`` and ``seed``.  A result column whose name is
        also a grid parameter gets the suffix ``_result``.  ``frame.attrs``
        records ``grid`` (the parameter names), ``method``, ``base_seed``,
        ``n_computed`` and ``n_cached``.

    Raises
    ------
    TypeError
        If ``factory`` is not callable, ``grid`` is not a mapping, a grid
        value is not an iterable of values (a bare number or string), or the
        factory cannot be pickled for the processes asked for.
    ValueError
        For an empty grid or range, a repeated value, a name the factory
        does not take (the closest is suggested), a required factory
        parameter missing from the grid, an unknown method, or simulation
        options given for analytic power.

    Notes
    -----
    Memory: the parent process holds only result rows (about 0.5 kB per
    scenario and hypothesis) plus at most ``2 x workers`` chunks in flight;
    each worker holds one design and one result at a time, and a simulation
    engine's own memory bound applies within a scenario.

    The cache key includes a fingerprint of the factory (its code, defaults,
    closure and the module-level values it reads, e.g. a base design), so
    editing the factory or its base design invalidates old entries.  State
    the factory reads elsewhere (files, attributes of objects it is bound
    to) is not seen: use a new cache file after changing it.

    Examples
    --------
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0},
    ...         sd=8.0, better="lower"),
    ...     n_per_cell=50)
    >>> frame = tp.explore(lambda sd, n: design.replace(sd=sd, n_per_cell=n),
    ...                    grid={"sd": (7.0, 8.0), "n": (50, 100)}, hypotheses="rTMS:MBI")
    >>> frame[["scenario", "sd", "n", "hypothesis", "power"]].round(3)
       scenario   sd    n hypothesis  power
    0         0  7.0   50   rTMS:MBI  0.326
    1         1  7.0  100   rTMS:MBI  0.571
    2         2  8.0   50   rTMS:MBI  0.261
    3         3  8.0  100   rTMS:MBI  0.464
    """
    if not callable(factory):
        raise TypeError(f"factory must be a callable returning a design; got factory={factory!r}")
    job = _exploration(
        factory,
        grid,
        method=method,
        hypotheses=hypotheses,
        n_sims=n_sims,
        seed=seed,
        max_workers=max_workers,
        chunksize=chunksize,
        power_options=power_options,
        progress=progress,
        cache=cache,
    )
    frames, n_todo = _computed_frames(job, executor=executor, progress=progress)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = frame.sort_values(["scenario"], kind="stable", ignore_index=True)
    frame.attrs.update(
        {
            "grid": list(job.names),
            "method": job.method,
            "base_seed": job.base_seed,
            "n_computed": n_todo,
            "n_cached": len(job.scenarios) - n_todo,
        }
    )
    return frame


@dataclass(frozen=True)
class _Exploration:
    """A checked exploration: its scenarios, their cache keys and seeds, how to run them."""

    factory: Callable[..., Any]
    names: tuple[str, ...]  # the grid's parameters, in order
    method: str
    hypotheses: tuple[str, ...] | None
    n_sims: int | None
    base_seed: int | None
    max_workers: int | None
    chunksize: int | None
    power_options: dict[str, Any]
    cache_path: Path | None
    scenarios: tuple[_Scenario, ...]

    @property
    def simulated(self) -> bool:
        return self.method != "analytic"


def _exploration(
    factory: Callable[..., Any], grid: Any, *, cache: Any, **options: Any
) -> _Exploration:
    """Check explore's arguments and list the scenarios with their keys and seeds."""
    values = _check_grid(grid, factory)
    method = _check_method(options["method"])
    hyps = _check_hypotheses(options["hypotheses"])
    simulated = method != "analytic"
    n_sims, max_workers, chunksize, power_options = _check_run_options(
        simulated,
        n_sims=options["n_sims"],
        seed=options["seed"],
        max_workers=options["max_workers"],
        chunksize=options["chunksize"],
        power_options=options["power_options"],
        progress=options["progress"],
    )
    cache_path = _check_cache(cache)
    base_seed = _base_entropy(options["seed"]) if simulated else None
    common = _canonical(
        {
            "factory": _fingerprint(factory),
            "method": method,
            "n_sims": n_sims,
            "seed": base_seed,
            "hypotheses": hyps,
            "options": {k: v for k, v in power_options.items() if k not in _RESULT_NEUTRAL},
            "version": _version(),
        }
    )
    return _Exploration(
        factory=factory,
        names=tuple(values),
        method=method,
        hypotheses=hyps,
        n_sims=n_sims,
        base_seed=base_seed,
        max_workers=max_workers,
        chunksize=chunksize,
        power_options=power_options,
        cache_path=cache_path,
        scenarios=tuple(_scenarios(values, common, base_seed)),
    )


def _computed_frames(
    job: _Exploration, *, executor: Any, progress: bool | None
) -> tuple[list[pd.DataFrame], int]:
    """Result frames of every scenario (cached ones read, the rest run), and how many ran.

    Called by :func:`explore` only: the warnings it issues (through the cache and
    the choice of runner) point at explore's caller.
    """
    scenarios, simulated, n_sims = job.scenarios, job.simulated, job.n_sims
    store = ScenarioCache(job.cache_path, stacklevel=3) if job.cache_path else None
    try:
        done = store.read([s.key for s in scenarios], job.hypotheses) if store else {}
        todo = [s for s in scenarios if s.key not in done]
        runner = _make_runner(
            executor,
            simulated=simulated,
            factory=job.factory,
            options=job.power_options,
            workers=job.max_workers or executors.available_cpus(),
            n_todo=len(todo),
            stacklevel=4,
        )
    except BaseException:
        if store is not None:
            store.close()
        raise
    size = job.chunksize or max(1, math.ceil(len(todo) / (4 * runner.workers)))
    chunks = [
        [(s.index, s.params, s.seed) for s in todo[i : i + size]] for i in range(0, len(todo), size)
    ]
    task = functools.partial(
        _run_chunk,
        job.factory,
        method=job.method,
        hypotheses=job.hypotheses,
        n_sims=n_sims,
        options=job.power_options,
    )
    names = list(job.names)
    by_index = {s.index: s for s in scenarios}
    frames: list[pd.DataFrame] = []
    if done:
        cached = [(s, done[s.key]) for s in scenarios if s.key in done]
        frames.append(_chunk_frame(cached, names, simulated, n_sims))
    bar = executors.ProgressBar(
        len(scenarios), wanted=progress, desc="explore", unit="scenario", without_tqdm="warn"
    )
    try:
        bar.start(initial=len(scenarios) - len(todo))
        for _, finished in runner.run(task, chunks):
            pairs = [(by_index[index], rows) for index, rows in finished]
            if store is not None:  # one transaction per chunk: all of it or none
                store.write(
                    _cache_entries(pairs, n_sims=n_sims, base_seed=job.base_seed, method=job.method)
                )
            frames.append(_chunk_frame(pairs, names, simulated, n_sims))
            bar.update(len(pairs))
    finally:
        bar.close()
        if store is not None:
            store.close()
        runner.close()
    return frames, len(todo)


# ---------------------------------------------------------------- validation
def _check_run_options(
    simulated: bool,
    *,
    n_sims: Any,
    seed: Any,
    max_workers: Any,
    chunksize: Any,
    power_options: Any,
    progress: Any,
) -> tuple[int | None, int | None, int | None, dict[str, Any]]:
    """``n_sims``, ``max_workers``, ``chunksize`` and ``power_options``, checked."""
    if not simulated and (n_sims is not None or seed is not None):
        given = "n_sims" if n_sims is not None else "seed"
        raise ValueError(
            f"{given} is for simulated power; got {given}="
            f"{n_sims if n_sims is not None else seed!r} with method='analytic' "
            "(use method='simulation' or drop it)"
        )
    n_sims, max_workers, chunksize = (
        None if value is None else check_int(name, value)
        for name, value in (
            ("n_sims", n_sims),
            ("max_workers", max_workers),
            ("chunksize", chunksize),
        )
    )
    if power_options is None:
        power_options = {}
    if not isinstance(power_options, Mapping):
        raise TypeError(
            f"power_options must be a mapping of keyword to value; got "
            f"power_options={power_options!r}"
        )
    clash = sorted({"method", "n_sims", "seed", "hypotheses"} & set(power_options))
    if clash:
        raise ValueError(
            f"power_options must not contain {clash}; they are explore() parameters of their own"
        )
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(
            f"progress must be True, False or None (automatic); got progress={progress!r}"
        )
    return n_sims, max_workers, chunksize, dict(power_options)


def _check_grid(grid: Any, factory: Callable[..., Any]) -> dict[str, tuple[Any, ...]]:
    if not isinstance(grid, Mapping):
        raise TypeError(
            "grid must be a mapping of parameter name to values, e.g. "
            f"{{'sd': (7, 8, 9)}}; got grid={grid!r}"
        )
    if not grid:
        raise ValueError(
            "grid is empty; name at least one parameter with its values, e.g. "
            "grid={'sd': (7, 8, 9)}"
        )
    values: dict[str, tuple[Any, ...]] = {}
    for name, raw in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"grid keys must be parameter names (identifiers); got {name!r}")
        if name in _ID_COLUMNS:
            raise ValueError(
                f"grid parameter {name!r} is reserved for explore's own "
                f"columns {_ID_COLUMNS}; rename the factory's parameter"
            )
        if (
            isinstance(raw, str | bytes)
            or isinstance(raw, Mapping)
            or not isinstance(raw, Iterable)
        ):
            raise TypeError(
                f"grid[{name!r}] must be an iterable of values such as a tuple "
                f"or list; got grid[{name!r}]={raw!r} (wrap a single value as "
                f"({raw!r},))"
            )
        try:
            items = tuple(raw)
        except TypeError as exc:  # e.g. a 0-d numpy array
            raise TypeError(
                f"grid[{name!r}] must be an iterable of values such as a tuple "
                f"or list; got grid[{name!r}]={raw!r}"
            ) from exc
        if not items:
            raise ValueError(f"grid[{name!r}] is empty; give at least one value to try")
        seen: dict[str, Any] = {}
        for item in items:
            canon = _canonical(item)
            if canon in seen:
                raise ValueError(
                    f"grid[{name!r}] repeats the value {item!r}; each value must appear once"
                )
            seen[canon] = item
        values[name] = items
    _check_signature(factory, values)
    return values


def _check_signature(factory: Callable[..., Any], values: Mapping[str, Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    params = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    keywords = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for name in values:
        if name not in keywords:
            raise ValueError(
                f"grid parameter {name!r} is not a parameter of the factory, "
                f"which takes {keywords}" + did_you_mean(name, keywords)
            )
    missing = [
        p.name
        for p in params
        if p.default is p.empty and p.name not in values and p.kind is not p.VAR_POSITIONAL
    ]
    if missing:
        raise ValueError(
            f"the factory needs parameter {missing[0]!r}, which the grid does not "
            f"give; add grid[{missing[0]!r}] = (...) or give it a default"
        )


def _check_method(method: Any) -> str:
    allowed = POWER_METHODS
    if method not in allowed:
        raise ValueError(
            f"method={method!r} is not available; choose one of {allowed}"
            + did_you_mean(method, allowed)
        )
    return str(method)


def _check_hypotheses(hypotheses: Any) -> tuple[str, ...] | None:
    if hypotheses is None:
        return None
    names = (hypotheses,) if isinstance(hypotheses, str) else hypotheses
    if not isinstance(names, Iterable):
        raise TypeError(
            f"hypotheses must be a name or a sequence of names; got hypotheses={hypotheses!r}"
        )
    names = tuple(names)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"hypotheses must be one or more names (strings); got hypotheses={hypotheses!r}"
        )
    return names


def _check_cache(cache: Any) -> Path | None:
    if cache is None:
        return None
    if not isinstance(cache, str | os.PathLike):
        raise TypeError(
            f"cache must be a file path (str or pathlib.Path) or None; got cache={cache!r}"
        )
    path = Path(cache)
    if path.is_dir():
        raise ValueError(
            f"cache must be a file, not a directory; got cache={str(cache)!r} "
            "(e.g. cache='explore.sqlite')"
        )
    return path


# ------------------------------------------------------------ hashing, seeds
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _canonical(obj: Any) -> str:
    """Return a stable text for values: equal values give equal text in every process."""
    if obj is None or isinstance(obj, bool | str):
        return json.dumps(obj)
    if isinstance(obj, numbers.Integral):
        return str(int(obj))
    if isinstance(obj, numbers.Real):
        return repr(float(obj))
    if isinstance(obj, Mapping):
        return (
            "{" + ",".join(sorted(f"{_canonical(k)}:{_canonical(v)}" for k, v in obj.items())) + "}"
        )
    if isinstance(obj, set | frozenset):
        return "set(" + ",".join(sorted(_canonical(v) for v in obj)) + ")"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_canonical(v) for v in obj) + "]"
    if isinstance(obj, np.ndarray):
        return f"array{obj.shape}" + _canonical(obj.tolist())
    if isinstance(obj, types.ModuleType):
        return f"module:{obj.__name__}"
    if isinstance(obj, type | types.BuiltinFunctionType):
        return f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"
    return f"{type(obj).__qualname__}:" + _ADDRESS.sub("", repr(obj))


def _fingerprint(func: Any, _depth: int = 0) -> str:
    """Text that changes when the factory's code or the values it reads change."""
    if _depth > 3:
        return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
    if isinstance(func, functools.partial):
        return (
            f"partial({_fingerprint(func.func, _depth + 1)},{_canonical(func.args)},"
            f"{_canonical(func.keywords)})"
        )
    if isinstance(func, types.MethodType):
        return f"method({_canonical(func.__self__)},{_fingerprint(func.__func__, _depth + 1)})"
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return _canonical(func)
    parts = [
        f"{func.__module__}.{func.__qualname__}",
        _code_text(code),
        _canonical(func.__defaults__),
        _canonical(func.__kwdefaults__),
    ]
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        try:
            parts.append(f"{name}={_value_text(cell.cell_contents, _depth)}")
        except ValueError:  # an empty cell
            parts.append(f"{name}=<empty>")
    namespace = getattr(func, "__globals__", {})
    for name in sorted(_global_names(code)):
        if name in namespace:
            parts.append(f"{name}={_value_text(namespace[name], _depth)}")
    return "|".join(parts)


def _value_text(value: Any, depth: int) -> str:
    if isinstance(value, types.FunctionType | functools.partial):
        return _fingerprint(value, depth + 1)
    return _canonical(value)


def _code_text(code: types.CodeType) -> str:
    consts = [
        _code_text(c) if isinstance(c, types.CodeType) else _canonical(c) for c in code.co_consts
    ]
    return hashlib.sha256(code.co_code + repr((consts, code.co_names)).encode()).hexdigest()


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _version() -> str:
    return __version__


def _base_entropy(seed: Any) -> int:
    """Return the base seed as a non-negative integer (recorded in the frame's attrs)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.SeedSequence):
        words = seed.generate_state(4, dtype=np.uint32)
        return int.from_bytes(words.astype("<u4").tobytes(), "little")
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(
            "seed must be a non-negative int, a numpy SeedSequence or Generator, "
            f"or None; got seed={seed!r}"
        )
    return int(seed)


def _scenarios(
    values: Mapping[str, tuple[Any, ...]], common: str, base_seed: int | None
) -> Iterator[_Scenario]:
    names = list(values)
    index = 0
    for combo in _product([values[n] for n in names]):
        params = dict(zip(names, combo, strict=True))
        own = _canonical(params).encode()
        key = hashlib.sha256(common.encode() + b"\x00" + own).hexdigest()[:16]
        yield _Scenario(
            index=index,
            params=params,
            key=key,
            seed=None if base_seed is None else scenario_seed(base_seed, params),
        )
        index += 1


def _product(ranges: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    if not ranges:
        yield ()
        return
    for first in ranges[0]:
        for rest in _product(ranges[1:]):
            yield (first, *rest)


def scenario_seed(base_seed: int, params: Mapping[str, Any]) -> int:
    """Return the seed of one scenario: a function of the base seed and its values only.

    Parameters
    ----------
    base_seed : int
        The base seed given to :func:`explore` (non-negative).
    params : mapping
        The scenario's parameter values.

    Returns
    -------
    int
        A 63-bit seed drawn from ``SeedSequence(base_seed, spawn_key=h)``
        where ``h`` is a SHA-256 hash of the values (order of keys
        irrelevant), so it fits an int64 column.

    Examples
    --------
    >>> from trialplan.explore import scenario_seed
    >>> scenario_seed(1, {"sd": 8, "n": 50}) == scenario_seed(1, {"n": 50, "sd": 8})
    True
    >>> scenario_seed(1, {"sd": 8}) == scenario_seed(2, {"sd": 8})
    False
    """
    digest = hashlib.sha256(_canonical(dict(params)).encode()).digest()
    spawn_key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    state = np.random.SeedSequence(base_seed, spawn_key=spawn_key).generate_state(
        1, dtype=np.uint64
    )
    return int(state[0] >> np.uint64(1))  # 63 bits: fits an int64 column


# ------------------------------------------------------------------ workers
def _run_chunk(
    factory: Callable[..., Any],
    chunk: list[tuple[int, dict[str, Any], int | None]],
    *,
    method: str,
    hypotheses: tuple[str, ...] | None,
    n_sims: int | None,
    options: Mapping[str, Any],
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Build, evaluate and drop each scenario's design; return its rows only."""
    out = []
    for index, params, seed in chunk:
        where = f"scenario {index} ({_describe(params)})"
        try:
            design = factory(**params)
        except Exception as exc:
            raise _with_context(
                exc, f"{where}: the factory raised {type(exc).__name__}: {exc}"
            ) from exc
        if not callable(getattr(design, "power", None)):
            raise TypeError(
                f"{where}: the factory must return a design with a power() "
                f"method; got {type(design).__name__} {design!r:.80}"
            )
        kwargs = dict(options)
        if method != "analytic":
            kwargs["seed"] = seed
            if method == "simulation":
                kwargs.setdefault("progress", False)  # explore shows its own bar
            if n_sims is not None:
                kwargs["n_sims"] = n_sims
        try:
            result = design.power(hypotheses, method=method, **kwargs)
        except Exception as exc:
            raise _with_context(
                exc, f"{where}: power() raised {type(exc).__name__}: {exc}"
            ) from exc
        rows = [
            {k: _plain(v) for k, v in row.items()}
            for row in result.to_frame().to_dict(orient="records")
        ]
        out.append((index, rows))
        del design, result
    return out


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _with_context(exc: Exception, message: str) -> Exception:
    try:
        new = type(exc)(message)
        pickle.loads(pickle.dumps(new))
    except Exception:
        return RuntimeError(message)
    return new


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _make_runner(
    executor: Any,
    *,
    simulated: bool,
    factory: Any,
    options: Any,
    workers: int,
    n_todo: int,
    stacklevel: int = 3,
) -> TaskRunner:
    """Where the scenarios run (:class:`~trialplan.simulate.executors.TaskRunner`).

    Serially for analytic power or a single scenario; on local processes for
    simulation (serially, with a warning, when the factory cannot be pickled);
    on the caller's executor or Dask client as given.  A pool explore starts
    itself ends its workers when this process dies.
    """
    if executor is None:
        if not simulated or workers == 1 or n_todo <= 1:
            return TaskRunner.serial()
        problem = executors.pickle_problem(factory, options)
        if problem:
            warnings.warn(
                f"explore: running scenarios serially because the factory "
                f"cannot be sent to other processes ({problem}); define it "
                "at module level (or use functools.partial) to run in "
                "parallel",
                UserWarning,
                stacklevel=stacklevel,
            )
            return TaskRunner.serial()
        return TaskRunner.processes(workers)
    if isinstance(executor, str):
        if executor not in _EXECUTOR_WORDS:
            raise ValueError(
                f"executor={executor!r} is not allowed; choose one of "
                f"{_EXECUTOR_WORDS}, a concurrent.futures.Executor or a "
                "dask distributed.Client" + did_you_mean(executor, _EXECUTOR_WORDS)
            )
        if executor == "serial" or n_todo == 0:
            return TaskRunner.serial()
        _require_picklable(factory, options)
        return TaskRunner.processes(workers)
    if isinstance(executor, cf.ProcessPoolExecutor):
        _require_picklable(factory, options)
    if not (executors.is_dask_client(executor) or isinstance(executor, cf.Executor)):
        raise TypeError(
            f"executor must be None, one of {_EXECUTOR_WORDS}, a "
            "concurrent.futures.Executor or a dask distributed.Client; got "
            f"executor={executor!r}"
        )
    return TaskRunner.on(executor)


def _require_picklable(factory: Any, options: Any) -> None:
    problem = executors.pickle_problem(factory, options)
    if problem:
        raise TypeError(
            f"executor runs scenarios on other processes, so the factory must be "
            f"picklable; got factory={factory!r} ({problem}). Define it at module "
            "level (or as functools.partial of such a function), or use "
            "executor='serial' or a dask Client (which pickles lambdas)"
        )


# -------------------------------------------------------------------- cache
def _cache_entries(
    pairs: list[tuple[_Scenario, list[dict[str, Any]]]],
    *,
    n_sims: int | None,
    base_seed: int | None,
    method: str,
) -> list[dict[str, Any]]:
    """The cache records of finished scenarios (see trialplan._explore_cache)."""
    return [
        make_entry(
            key=scenario.key,
            params=scenario.params,
            method=method,
            n_sims=n_sims,
            base_seed=base_seed,
            seed=scenario.seed,
            version=_version(),
            rows=rows,
        )
        for scenario, rows in pairs
    ]


# -------------------------------------------------------------------- frame
def _chunk_frame(
    pairs: list[tuple[_Scenario, list[dict[str, Any]]]],
    names: list[str],
    simulated: bool,
    n_sims: int | None,
) -> pd.DataFrame:
    records = []
    for scenario, rows in pairs:
        for row in rows:
            record: dict[str, Any] = {"scenario": scenario.index, "scenario_hash": scenario.key}
            record.update(scenario.params)
            for column, value in row.items():
                record[f"{column}_result" if column in scenario.params else column] = value
            if simulated:
                for column, value in (("n_sims", n_sims), ("seed", scenario.seed)):
                    name = f"{column}_result" if column in scenario.params else column
                    record.setdefault(name, value)
            records.append(record)
    return pd.DataFrame.from_records(records)
