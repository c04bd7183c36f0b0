"""The page's "check by simulation": the plan's simulated powers, with progress.

The simulation is the one ``trialplan power SPEC --method simulation --n-sims
N --seed S`` runs (``Spec.replace(method="simulation", ...).evaluate()``), so
the page and the command print the same simulated powers.  Progress comes from
the executor the simulation runs on: the runner hands its blocks of trials to
an executor when given one, and its results do not depend on the executor
(block ``k`` always draws from the ``k``-th child of the seed), so counting
the blocks as they finish costs nothing in reproducibility.

Agreement is the difference between the simulated and the exact power in
units of the Monte Carlo standard error the exact power implies,
``sqrt(p (1 - p) / n_sims)``: under the exact answer the simulated power is
within 3 of those units with probability 99.7%.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

__all__ = ["Progress", "ProgressExecutor", "agreement", "simulate_check"]

#: |difference| / MCSE below which the simulated power agrees with the exact one.
AGREEMENT_LIMIT = 3.0


class Progress:
    """Thread-safe progress of a simulation: blocks finished out of blocks handed out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0

    def submitted(self) -> None:
        """Count a block of trials handed to the executor."""
        with self._lock:
            self.total += 1

    def finished(self) -> None:
        """Count a block of trials finished."""
        with self._lock:
            self.done += 1

    @property
    def fraction(self) -> float:
        """Share of the handed-out blocks finished (0 before the first is handed out)."""
        with self._lock:
            return self.done / self.total if self.total else 0.0


class ProgressExecutor(Executor):
    """An executor that runs tasks on one worker thread and counts them for a progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialplan-sim")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # noqa: D102
        self.progress.submitted()
        future = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self.progress.finished())
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: D102
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def agreement(analytic: float, simulated: float, n_sims: int) -> float:
    """Simulated minus exact power, in Monte Carlo standard errors of the exact power.

    Examples
    --------
    >>> round(agreement(0.9, 0.906, 10_000), 3)
    2.0
    >>> agreement(1.0, 1.0, 10_000)
    0.0
    """
    se = math.sqrt(max(analytic * (1.0 - analytic), 0.0) / n_sims)
    difference = simulated - analytic
    if se < 1e-12:  # power 0 or 1: any simulated trial that differs is a disagreement
        return 0.0 if abs(difference) < 0.5 / n_sims else math.copysign(math.inf, difference)
    return difference / se


def simulate_check(
    spec: Any, *, n_sims: int, seed: int, progress: Progress | None = None
) -> pd.DataFrame:
    """Simulate the plan of ``spec`` and set each power beside the exact one.

    Parameters
    ----------
    spec : Spec
        The design spec (its ``method`` is replaced by ``"simulation"``).
    n_sims : int
        Simulated trials.
    seed : int
        Seed of the simulation.
    progress : Progress, optional
        Updated as blocks of trials finish.

    Returns
    -------
    pandas.DataFrame
        ``hypothesis``, ``label``, ``analytic``, ``simulated``, ``mcse``
        (of the simulated power), ``difference_mcse`` (see :func:`agreement`)
        and ``agrees`` (``|difference_mcse| < 3``), one row per hypothesis
        of the plan's power table (but an adaptive design's primary
        hypothesis, whose power is already simulated).

    Raises
    ------
    SpecError
        If ``n_sims`` or ``seed`` are not allowed (naming ``analysis.n_sims``
        or ``analysis.seed``).

    Examples
    --------
    >>> import trialplan as tp
    >>> spec = tp.scenarios.state_dependent_synergy()
    >>> check = simulate_check(spec, n_sims=2000, seed=1)
    >>> bool(check.set_index("hypothesis").loc["rTMS:MBI", "agrees"])
    True
    """
    simulating = spec.replace(method="simulation", n_sims=n_sims, seed=seed)
    plan = simulating.replace(method="analytic").evaluate()
    progress = progress or Progress()
    # an adaptive design's power is itself a simulation (the plan's): nothing to check it by
    names = [h for h in plan.hypotheses if plan.analysis_of(h) not in ("adaptive", "arm selection")]
    executor = ProgressExecutor(progress)
    try:
        simulated, mcse = plan.analysis.simulated(
            plan.design, names, n_sims=n_sims, seed=seed, executor=executor
        )
    finally:
        executor.shutdown(wait=False)
    table = plan.power_table
    table = table[table["hypothesis"].isin(simulated)]
    rows = []
    for row in table.itertuples(index=False):
        sim = simulated[row.hypothesis]
        diff = agreement(float(row.power), sim, n_sims)
        rows.append(
            {
                "hypothesis": row.hypothesis,
                "label": row.label,
                "analytic": float(row.power),
                "simulated": sim,
                "mcse": mcse[row.hypothesis],
                "difference_mcse": diff,
                "agrees": bool(abs(diff) < AGREEMENT_LIMIT),
            }
        )
    return pd.DataFrame(rows)
