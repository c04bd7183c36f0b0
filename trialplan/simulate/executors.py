"""Where tasks run, and the progress bar: one framework for simulation and ``tp.explore``.

:class:`TaskRunner` runs a task over many items serially, on a
``concurrent.futures`` executor (a process or thread pool, or a Dask client's
``get_executor()``) or on a Dask ``distributed.Client``, and yields each
result as it finishes.  At most ``2 x workers`` tasks are in flight, so the
parent holds a bounded number of results however many items there are.  A
pool the runner starts itself is shut down when it closes; an executor or
client the caller passes is used and left open.

:class:`ProgressBar` is the tqdm bar both show: on request, or by default
when standard error is a terminal (for simulation: when the run is long).

The simulation runner (:func:`trialplan.simulate.runner.run_blocks`) runs its
blocks of trials here, and :func:`trialplan.explore` its scenarios; explore
only decides which runner to use (serial for analytic power, processes for
simulation, what to do with a factory that cannot be pickled).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "ProgressBar",
    "TaskRunner",
    "available_cpus",
    "interactive",
    "is_dask_client",
    "pickle_problem",
]


class TaskRunner:
    """Runs ``task(item)`` for many items serially, on an executor or on a Dask client.

    Build it with :meth:`serial`, :meth:`processes` (a pool it owns) or
    :meth:`on` (an executor or client the caller owns); use it as a context
    manager, or call :meth:`close`.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool, TaskRunner.on(pool) as runner:
    ...     sorted(result for _, result in runner.run(abs, [-3, 1, -2]))
    [1, 2, 3]
    >>> [result for _, result in TaskRunner.serial().run(abs, [-3, 1])]
    [3, 1]
    """

    def __init__(self, kind: str, executor: Any = None, workers: int = 1, owned: bool = False):
        self.kind, self.executor, self.workers, self.owned = kind, executor, workers, owned

    @classmethod
    def serial(cls) -> TaskRunner:
        """Run here, one item after the other, in order."""
        return cls("serial")

    @classmethod
    def processes(cls, workers: int) -> TaskRunner:
        """Run on a new pool of ``workers`` local processes, shut down by :meth:`close`.

        The workers end when the process that made the pool dies: one blocked
        on its task queue, or busy with a long task, does not notice that the
        parent was killed (the queue's pipe stays open in its siblings), so
        each runs a daemon thread that exits the process once its parent is
        gone (it is re-parented: ``os.getppid()`` changes).
        """
        pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_watch_parent)
        return cls("futures", pool, workers, owned=True)

    @classmethod
    def on(cls, executor: Any) -> TaskRunner:
        """Run on the caller's ``concurrent.futures.Executor`` or Dask client (left open).

        Raises
        ------
        TypeError
            If ``executor`` is neither.
        """
        if is_dask_client(executor):
            return cls("dask", executor, max(1, sum(executor.nthreads().values())))
        if isinstance(executor, cf.Executor):
            return cls("futures", executor, _pool_size(executor))
        raise TypeError(
            "executor must be a concurrent.futures.Executor or a dask distributed.Client; "
            f"got executor={executor!r}"
        )

    def run(self, task: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, task(item))`` as tasks finish (in order when serial).

        ``task`` and the items must be picklable for a process pool or a Dask
        client.  Pending tasks are cancelled if the caller stops early or a
        task raises.
        """
        if self.kind == "serial":
            for item in items:
                yield item, task(item)
        elif self.kind == "futures":
            yield from self._run_futures(task, iter(items))
        else:
            yield from self._run_dask(task, iter(items))

    def _run_futures(self, task: Callable[[Any], Any], queue: Iterator[Any]) -> Iterator[Any]:
        pending: dict[cf.Future[Any], Any] = {}
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    item = next(queue, _END)
                    if item is _END:
                        break
                    pending[self.executor.submit(task, item)] = item
                if not pending:
                    return
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()

    def _run_dask(self, task: Callable[[Any], Any], queue: Iterator[Any]) -> Iterator[Any]:
        from distributed import as_completed  # optional dependency (trialplan[dask])

        client = self.executor
        live: dict[Any, Any] = {}  # futures not yet consumed; dropped after use (frees the cluster)
        stream = as_completed()

        def submit(item: Any) -> None:
            future = client.submit(task, item, pure=False)
            live[future] = item
            stream.add(future)

        try:
            for item in queue:
                submit(item)
                if len(live) >= 2 * self.workers:
                    break
            for future in stream:
                result = future.result()
                item = live.pop(future)
                nxt = next(queue, _END)
                if nxt is not _END:
                    submit(nxt)
                del future
                yield item, result
        finally:
            for future in live:
                future.cancel()
            stream.clear()

    def close(self) -> None:
        """Shut down a pool the runner started (an executor passed in is left open)."""
        if self.owned and self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_END = object()

#: Seconds between a pool worker's checks that the process that made the pool is alive.
_PARENT_POLL = 0.5


def _watch_parent() -> None:
    """Pool initializer: start the thread that ends this worker with its parent."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL)
        os._exit(1)  # the parent is gone: nobody will read this worker's results

    threading.Thread(target=watch, name="trialplan-pool-parent-watch", daemon=True).start()


def _pool_size(executor: cf.Executor) -> int:
    """Workers of a pool; the CPUs available when the executor does not say."""
    if isinstance(executor, cf.ThreadPoolExecutor | cf.ProcessPoolExecutor):
        return int(executor._max_workers)  # the pools' own count; they have no public accessor
    return available_cpus()


def is_dask_client(obj: Any) -> bool:
    """Whether ``obj`` is a Dask ``distributed.Client`` (without importing distributed).

    Examples
    --------
    >>> is_dask_client(object())
    False
    """
    return type(obj).__module__.split(".")[0] == "distributed" and type(obj).__name__ == "Client"


def available_cpus() -> int:
    """CPUs this process may run on.

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def pickle_problem(*objects: Any) -> str:
    """Why ``objects`` cannot be sent to another process ("" when they can).

    Examples
    --------
    >>> pickle_problem(abs), pickle_problem(lambda: 1).startswith("PicklingError")
    ('', True)
    """
    try:
        pickle.dumps(objects)
    except Exception as exc:  # lambdas, nested functions, open handles
        return f"{type(exc).__name__}: {exc}"
    return ""


def interactive() -> bool:
    """Whether standard error is a terminal (where a progress bar is shown by default)."""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class ProgressBar:
    """A tqdm bar shown on request, or by default in a terminal; nothing otherwise.

    Parameters
    ----------
    total : int
        Units of work (trials, scenarios).
    wanted : bool or None
        ``True``: show it (tqdm must be installed); ``False``: never;
        ``None``: when standard error is a terminal and the work is long.
    desc, unit : str
        The bar's label and unit.
    without_tqdm : {"raise", "warn"}, default "raise"
        What ``wanted=True`` does when tqdm is missing: an ImportError, or a
        warning and no bar.

    Examples
    --------
    >>> bar = ProgressBar(10, wanted=False, desc="simulating", unit="trial")
    >>> bar.start(initial=0)
    >>> bar.update(10); bar.close()
    """

    def __init__(
        self,
        total: int,
        *,
        wanted: bool | None,
        desc: str,
        unit: str,
        without_tqdm: str = "raise",
    ) -> None:
        self.total, self.wanted, self.desc, self.unit = total, wanted, desc, unit
        self.without_tqdm = without_tqdm
        self.bar: Any = None

    def start(self, *, initial: int = 0, long: bool = True) -> None:
        """Show the bar, ``initial`` units done, if wanted (``long``: worth a default bar)."""
        show = self.wanted
        if show is None:
            show = long and interactive()
        if not show or initial >= self.total:
            return
        try:
            from tqdm.auto import tqdm  # optional dependency (trialplan[progress])
        except ImportError:
            if not self.wanted:
                return
            message = "progress=True needs tqdm: pip install tqdm (or trialplan[progress])"
            if self.without_tqdm == "raise":
                raise ImportError(message) from None
            warnings.warn(f"{self.desc}: {message}; running without a progress bar", stacklevel=3)
            return
        self.bar = tqdm(total=self.total, initial=initial, unit=self.unit, desc=self.desc)

    def update(self, n: int) -> None:
        """Add ``n`` finished units."""
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        """Close the bar, if shown."""
        if self.bar is not None:
            self.bar.close()
