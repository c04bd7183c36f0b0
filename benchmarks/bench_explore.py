"""Benchmark tp.explore: a 200-scenario simulated grid, serial against parallel.

The grid crosses 5 SDs x 8 sample sizes x 5 interaction contrasts of the
rTMS x MBI 2x2 (200 scenarios, 8 hypotheses each), each simulated with
10,000 trials, once by the exact sufficient-statistic engine (about 4 ms a
scenario: overhead-bound) and once by the patient-level engine with batched
least squares (``engine="individual"``: compute-bound).  It runs the grid
serially, on a local process pool and (when dask[distributed] is installed)
on a Dask LocalCluster, checks that every executor gives identical results,
and prints wall time, speed-up over serial and memory:

* parent peak: tracemalloc's peak of Python allocations in this process
  during a (separate, untimed) process-pool run: the result rows and the
  bookkeeping of explore;
* max RSS: the largest resident set of this process and of any worker
  process (``resource.getrusage``), which includes numpy/scipy/pandas.

Usage::

    python benchmarks/bench_explore.py                  # the full benchmark
    python benchmarks/bench_explore.py --n-sims 2000    # quicker
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import importlib
import os
import platform
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

import trialplan as tp

SDS = (6.0, 7.0, 8.0, 9.0, 10.0)
NS = (30, 40, 50, 60, 70, 80, 100, 120)
INTERACTIONS = (-1.0, -2.0, -3.0, -4.0, -5.0)


def factory(sd: float, n_per_cell: int, interaction: float) -> tp.Factorial:
    """The rTMS x MBI 2x2 with main effects -3 (rTMS) and -2 (MBI) HAM-D points."""
    means = {
        ("sham", "control"): 0.0,
        ("active", "control"): -3.0,
        ("sham", "MBI"): -2.0,
        ("active", "MBI"): -5.0 + interaction,
    }
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=means, sd=sd, better="lower"),
        n_per_cell=n_per_cell,
    )


GRID = {"sd": SDS, "n_per_cell": NS, "interaction": INTERACTIONS}


def run(
    label: str, executor: object, n_sims: int, workers: int, engine: str, repeat: int = 1
) -> tuple[pd.DataFrame, dict]:
    """Best wall time of ``repeat`` runs (the machine may be shared)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        frame = tp.explore(
            factory,
            GRID,
            method="simulation",
            n_sims=n_sims,
            seed=2026,
            executor=executor,
            max_workers=workers,
            progress=False,
            power_options={"engine": engine},
        )
        times.append(time.perf_counter() - start)
    return frame, {"engine": engine, "executor": label, "seconds": min(times), "runs": repeat}


def parent_peak_mib(n_sims: int, workers: int) -> float:
    """Peak Python allocations of the parent while workers compute (untimed run).

    tracemalloc is stopped before the pool forks so workers are not traced.
    """
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        pool.submit(int).result()  # fork the workers first
        tracemalloc.start()
        tp.explore(
            factory,
            GRID,
            method="simulation",
            n_sims=n_sims,
            seed=2026,
            executor=pool,
            progress=False,
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 2**20


def max_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="best of this many runs for the exact engine (individual: 1)",
    )
    parser.add_argument(
        "--engines", nargs="+", default=["exact", "individual"], choices=["exact", "individual"]
    )
    parser.add_argument(
        "--executors",
        nargs="+",
        default=["serial", "processes", "dask"],
        choices=["serial", "processes", "dask", "threads"],
    )
    args = parser.parse_args()
    n_scen = int(np.prod([len(v) for v in GRID.values()]))
    print(
        f"trialplan {tp.__version__} | Python {platform.python_version()} | "
        f"{len(os.sched_getaffinity(0))} CPUs available | {n_scen} scenarios x "
        f"{args.n_sims} simulations | workers={args.workers}"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"load average before start: {load} | OPENBLAS_NUM_THREADS={blas}")

    # warm up imports and first-call costs outside the clock
    for engine in args.engines:
        tp.explore(
            factory,
            {"sd": (8.0,), "n_per_cell": (50,), "interaction": (-3.0,)},
            method="simulation",
            n_sims=100,
            seed=1,
            executor="serial",
            progress=False,
            power_options={"engine": engine},
        )
    rows = []
    client = cluster = None
    if "dask" in args.executors:
        try:
            import distributed
        except ImportError:
            print("dask[distributed] not installed: Dask rows skipped")
        else:
            cluster = distributed.LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = distributed.Client(cluster)
            # workers import trialplan before the clock starts, as forked pools do
            client.run(importlib.import_module, "trialplan.simulate")
    all_frames = []
    for engine in args.engines:
        frames = {}
        rep = args.repeat if engine == "exact" else 1
        for name in args.executors:
            if name == "serial":
                frames[name], row = run("serial", "serial", args.n_sims, 1, engine, rep)
            elif name == "processes":
                frames[name], row = run(
                    f"processes ({args.workers})",
                    "processes",
                    args.n_sims,
                    args.workers,
                    engine,
                    rep,
                )
            elif name == "dask" and client is not None:
                frames[name], row = run(
                    f"dask LocalCluster ({args.workers})",
                    client,
                    args.n_sims,
                    args.workers,
                    engine,
                    rep,
                )
            elif name == "threads":
                with cf.ThreadPoolExecutor(max_workers=args.workers) as pool:
                    frames[name], row = run(
                        f"threads ({args.workers})", pool, args.n_sims, args.workers, engine, rep
                    )
            else:
                continue
            rows.append(row)
            print(f"  {engine:10s} {row['executor']:24s} {row['seconds']:8.2f} s", flush=True)
        all_frames.append(frames)
    if client is not None:
        client.close()
        cluster.close()

    n_rows = 0
    for frames in all_frames:
        first_name, first = next(iter(frames.items()))
        n_rows = len(first)
        for name, frame in frames.items():
            pd.testing.assert_frame_equal(frame, first, obj=f"{name} vs {first_name}")
    table = pd.DataFrame(rows)
    serial_time = table[table["executor"] == "serial"].set_index("engine")["seconds"]
    table["speed_up"] = table["engine"].map(serial_time) / table["seconds"]
    table["scenarios_per_s"] = n_scen / table["seconds"]
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(
        f"parent peak Python allocations (tracemalloc, process pool): "
        f"{parent_peak_mib(args.n_sims, args.workers):.1f} MiB"
    )
    own, children = max_rss_mib()
    print(f"identical results across executors: yes ({n_rows} rows per engine)")
    print(f"max RSS: this process {own:.0f} MiB, largest worker {children:.0f} MiB")


if __name__ == "__main__":
    main()
