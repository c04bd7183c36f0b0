"""A SMART for non-responders: start on rTMS or rTMS+MBI, then continue or augment
===============================================================================

Participants are randomized to rTMS alone or rTMS with MBI; after the
stage-1 course, non-responders are re-randomized to continue or to augment
their treatment.  The SMART embeds four adaptive regimes; the sample size is
set for the comparison of the most and least intensive regimes that start
differently ("rTMS+MBI, augment if no response" vs "rTMS, continue").

Planning values (HAM-D-17 change at the end of stage 2; lower is better):

* stage-1 response 29.3 % under rTMS (Berlim et al. 2014, Psychol Med) and
  44.3 % with MBI added (the 15-point response difference of MBCT over health
  enhancement in TRD, 30.3 % vs 15.3 %, Eisendrath et al. 2016);
* responders' change -14 (rTMS) and -15 (rTMS+MBI), non-responders' change -4
  to -9 by regime, within-group SD 8: assumptions of this example, in the
  range of the THREE-D course (23.5 -> 13.4, Blumberger et al. 2018);
* 10 % dropout (6-8 % in rTMS trials, more with added psychotherapy).

Usage: ``python examples/smart_nonresponders.py [OUTPUT_DIR]``
(default ``output/smart_nonresponders``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import trialplan as tp
from trialplan.report import make_protocol
from trialplan.spec import RandomizationPlan, Spec

# %%
# Planning values
# ---------------
# The sources, then the SMART: stage-1 response rates, responders' and
# non-responders' changes by regime.

SOURCES = (
    "Stage-1 response under rTMS 29.3%: Berlim MT et al. Psychol Med 2014;44:225-239.",
    "Response added by MBI, 30.3% vs 15.3% (MBCT vs health enhancement in TRD): "
    "Eisendrath SJ et al. Psychother Psychosom 2016;85:99-110.",
    "HAM-D-17 course under rTMS 23.5 -> 13.4: Blumberger DM et al. (THREE-D), Lancet "
    "2018;391:1683-1692.",
    "SMART sample size for regimes starting differently: Oetting AI et al. 2011, Causality "
    "and Psychopathology, pp. 179-205; analysis: Nahum-Shani I et al. Psychol Methods "
    "2012;17:457-477.",
)


def build_spec() -> Spec:
    smart = tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.293, "rTMS+MBI": 0.293 + (0.303 - 0.153)},
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        sd=8.0,
        n_total=200,
        alpha=0.05,
        dropout=0.10,
    )
    return Spec(
        design=smart,
        title="SMART of rTMS with and without MBI for treatment-resistant "
        "depression, augmenting non-responders",
        outcome_label="the change in HAM-D-17 from baseline",
        timepoint="the end of stage 2 (week 16)",
        sources=SOURCES,
        primary=("rTMS/continue vs rTMS+MBI/augment",),
        power=0.8,
        randomization=RandomizationPlan(block_sizes=(2, 4), seed=2026),
    )


# %%
# Power, protocol and stage-1 randomization
# -----------------------------------------
# ``main`` prints the power of the regime comparisons, writes the protocol and
# the stage-1 randomization list.


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("output") / "smart_nonresponders"
    spec = build_spec()
    plan = spec.evaluate()
    print(plan)
    protocol = make_protocol(plan)
    written = protocol.write(out, overwrite=True)  # the example's own folder
    plan.schedule(stage=1).to_csv(out / "schedule.csv")
    alloc = plan.allocation
    power = plan.primary_power[plan.primary[0]]
    print(
        f"-> {alloc.n_randomized} randomized, {alloc.n_analysed} analysed (power "
        f"{100 * power:.1f}%); protocol in {written['md']}"
    )
    return 0


# %%
# Run
# ---
# As a script, and when this page was built; the output and figures follow.

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
