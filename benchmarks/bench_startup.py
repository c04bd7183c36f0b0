"""Start-up cost of trialplan (issue 15 item 6): targets and their measurements.

Targets, on an idle machine:

* ``import trialplan`` costs at most 1.2 x ``import scipy.stats``, measured in
  this same run (each import timed inside a fresh interpreter, so the
  interpreter's own start is left out);
* ``trialplan --help`` and ``trialplan --version`` finish in under 0.3 s
  (whole command, interpreter start included).

Every figure is the best of ``--repeat`` fresh processes (the best run is the
one least disturbed by other work on the machine).  For information it also
prints what a first real use costs: ``import trialplan`` plus building a
factorial design (which loads numpy and scipy), and plus its analytic power.

Usage::

    python benchmarks/bench_startup.py              # best of 7
    python benchmarks/bench_startup.py --repeat 15

A benchmark, not a test: the suite checks what start-up loads
(tests/test_fast_start.py), never how long it takes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

IMPORT_RATIO_TARGET = 1.2
COMMAND_TARGET_S = 0.3

FIRST_DESIGN = """
import trialplan as tp
d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
                 outcome=tp.Continuous(means={("sham", "control"): 0.0,
                     ("active", "control"): -3.0, ("sham", "MBI"): -2.0,
                     ("active", "MBI"): -8.0}, sd=8.0), n_per_cell=50)
"""


def timed_import(code: str) -> float:
    """Seconds ``code`` takes inside a fresh interpreter (its start-up excluded)."""
    probe = (
        f"import time\n_t0 = time.perf_counter()\n{code}\nprint(repr(time.perf_counter() - _t0))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def timed_command(argv: list[str]) -> float:
    """Wall seconds of a whole command, interpreter start-up included."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def best(measure, *args, repeat: int) -> float:
    return min(measure(*args) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per figure")
    args = parser.parse_args()
    r = args.repeat

    command = shutil.which("trialplan")
    cli = [command] if command else [sys.executable, "-m", "trialplan"]
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Unix
        load = float("nan")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; best of {r} fresh processes"
    )

    scipy_stats = best(timed_import, "import scipy.stats", repeat=r)
    trialplan_import = best(timed_import, "import trialplan", repeat=r)
    ratio = trialplan_import / scipy_stats
    print(f"{'import scipy.stats':42s} {scipy_stats * 1000:9.1f} ms")
    print(
        f"{'import trialplan':42s} {trialplan_import * 1000:9.1f} ms   ratio {ratio:.3f} "
        f"(target <= {IMPORT_RATIO_TARGET}: {'met' if ratio <= IMPORT_RATIO_TARGET else 'NOT met'})"
    )
    for label, argv in (
        ("trialplan --help", [*cli, "--help"]),
        ("trialplan --version", [*cli, "--version"]),
    ):
        seconds = best(timed_command, argv, repeat=r)
        verdict = "met" if seconds < COMMAND_TARGET_S else "NOT met"
        print(
            f"{label:42s} {seconds * 1000:9.1f} ms   (target < {COMMAND_TARGET_S * 1000:.0f} ms: "
            f"{verdict})"
        )
    print("first use, for information:")
    for label, code in (
        ("import trialplan + a Factorial design", FIRST_DESIGN),
        ("... + its analytic power", FIRST_DESIGN + "d.power()\n"),
        ("import pandas (not loaded by the above)", "import pandas"),
    ):
        print(f"  {label:40s} {best(timed_import, code, repeat=r) * 1000:9.1f} ms")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
