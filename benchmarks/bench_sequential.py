"""Time group-sequential design solving (target: a 5-look design with futility < 20 ms).

The target is issue 16's (it was 50 ms before); benchmarks/bench_speed.py times the
same designs against rpact.

Run:  python benchmarks/bench_sequential.py
Prints the median wall time of constructing (solving) each design; not a test.  The
target applies to the designs with beta-spending futility.
"""

from __future__ import annotations

import statistics
import time

import trialplan as tp


def median_ms(build, repeats: int = 15) -> float:
    build()  # warm up imports and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


TARGET_MS = 20.0  # issue 16: a 5-look design with beta-spending futility under 20 ms

CASES = {
    "5 looks, OBF spending, no futility": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0)
    ),
    "5 looks, OBF spending + OBF beta-spending, non-binding": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0), futility=tp.spending.obrien_fleming()
    ),
    "5 looks, HSD(-4) + HSD(-2) beta-spending, binding": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0),
        efficacy=tp.spending.hwang_shih_decani(-4),
        futility=tp.spending.hwang_shih_decani(-2),
        binding=True,
    ),
    "5 looks, classical Pocock (constant solved)": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0),
        alpha=0.05,
        sided=2,
        efficacy=tp.boundaries.pocock(),
    ),
}

if __name__ == "__main__":
    print(f"{'design':60s} {'median ms':>10s}")
    for label, build in CASES.items():
        ms = median_ms(build)
        has_target = "futility" in label and "no futility" not in label
        flag = "  (above the 20 ms target)" if has_target and ms >= TARGET_MS else ""
        print(f"{label:60s} {ms:10.1f}{flag}")
