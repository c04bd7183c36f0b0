"""A 2x2x2 factorial: rTMS x MBI x timing of MBI (concurrent vs sequential)
========================================================================

Adds a third factor to the rTMS x MBI trial: whether MBI sessions run
concurrently with the rTMS course or follow it.  Timing only matters where
MBI is given, so its planning effect lives in the MBI cells: a sequential
schedule keeps more participants (41 % stopped concurrent MBCT, Cavallero et
al.; 20-40 % attrition with added psychotherapy) at the cost of a slightly
smaller benefit (an assumption of this example: 1 HAM-D point).  The
protocol is sized for the MBI main effect averaged over rTMS and timing; the
"MBI:timing" interaction asks whether timing changes the MBI effect.

Base planning values: ``tp.scenarios.hamd_factorial`` (THREE-D course,
Kedzior's rTMS effect, Eisendrath's MBCT response rates via Chinn's
conversion, SD 8, baseline correlation 0.4).

Usage: ``python examples/three_factor_timing.py [OUTPUT_DIR]``
(default ``output/three_factor_timing``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import trialplan as tp
from trialplan.report import make_protocol
from trialplan.spec import Spec

# %%
# Planning values
# ---------------
# Timing changes the MBI cells only: a smaller benefit and fewer dropouts when
# MBI follows the rTMS course.

TIMING = ("concurrent", "sequential")
SEQUENTIAL_LOSS = 1.0  # HAM-D points of MBI benefit lost by waiting (assumption)
DROPOUT = {"control": 0.07, "concurrent": 0.41, "sequential": 0.25}


def build_spec() -> Spec:
    base = tp.scenarios.hamd_factorial()
    two_by_two = base.design.outcome.means
    means, dropout = {}, {}
    for (rtms, mbi), mean in two_by_two.items():
        for timing in TIMING:
            shift = SEQUENTIAL_LOSS if (mbi == "MBI" and timing == "sequential") else 0.0
            means[(rtms, mbi, timing)] = mean + shift
            dropout[(rtms, mbi, timing)] = DROPOUT[timing] if mbi == "MBI" else DROPOUT["control"]
    design = tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI"), "timing": TIMING},
        outcome=base.design.outcome.replace(means=means),
        n_per_cell=30,
        dropout=dropout,
    )
    sources = base.sources[:-2] + (
        f"Timing: sequential MBI assumed to lose {SEQUENTIAL_LOSS:g} HAM-D point of benefit; "
        f"dropout {DROPOUT['concurrent']:.0%} with concurrent MBI (Cavallero et al.), "
        f"{DROPOUT['sequential']:.0%} with sequential MBI and {DROPOUT['control']:.0%} "
        "without MBI (Blumberger et al. 2018).",
    )
    return Spec(
        design=design,
        title="rTMS x MBI x timing: a 2x2x2 factorial trial in treatment-resistant depression",
        outcome_label=base.outcome_label,
        timepoint=base.timepoint,
        sources=sources,
        hypotheses=("rTMS", "MBI", "timing", "rTMS:MBI", "MBI:timing"),
        primary=("MBI",),
        power=0.9,
        randomization=tp.spec.RandomizationPlan(seed=2026),
        labels=tp.Labels(
            levels={
                **{f: dict(v) for f, v in tp.scenarios.LABELS.levels.items()},
                "timing": {
                    "concurrent": "concurrent schedule",
                    "sequential": "sequential schedule",
                },
            },
        ),
    )


# %%
# Power and protocol
# ------------------
# ``main`` prints the power of every hypothesis and writes the protocol, sized
# for the MBI main effect.


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("output") / "three_factor_timing"
    spec = build_spec()
    plan = spec.evaluate()
    print(plan)
    protocol = make_protocol(plan)
    written = protocol.write(out, overwrite=True)  # the example's own folder
    plan.schedule().to_csv(out / "schedule.csv")
    alloc = plan.allocation
    print(
        f"-> {alloc.n_randomized} randomized, {alloc.n_analysed} analysed; protocol in "
        f"{written['md']}"
    )
    return 0


# %%
# Run
# ---
# As a script, and when this page was built; the output and figures follow.

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
