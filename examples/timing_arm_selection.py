"""Which timing of MBI with rTMS? A three-arm trial that keeps the better arm at an interim
========================================================================================

Three arms on the change in HAM-D-17 at week 8 (the ``timing_parallel``
preset's literature values): rTMS alone (control), MBI then rTMS, and rTMS
with concurrent MBI.  Both MBI arms are planned with the same added MBI
effect, so the question is which timing to carry forward.  One interim, when
half the participants have the outcome, keeps the arm with the better
interim mean difference (with the control) and stops the other; every
comparison with the control is tested by closed testing, each intersection
hypothesis by Dunnett's many-to-one test within each stage, the stages
combined by the inverse normal method with the pre-specified weights
sqrt(0.5), sqrt(0.5) against O'Brien-Fleming-type bounds (one-sided 2.5%),
as rpact's ``getSimulationMultiArmMeans`` does.  The familywise type I error
is then controlled whatever the interim selects.

Everything comes from one resolved plan (``spec.evaluate()``): the size
(the smallest at which the power to reject at least one comparison reaches
80%, simulated), the planned stage sizes per arm, the simulated operating
characteristics (per-comparison power, selection probabilities, familywise
error with no effect, expected and largest N, Monte Carlo standard errors),
the protocol and the randomization lists: a stage-1 list over the three arms
and one stage-2 list per selection (the control and the selected arm).

Why 10,000 simulated trials suffice: the Monte Carlo standard error of a
power near 80% is sqrt(0.8 x 0.2 / 10,000) = 0.4 percentage points, and of a
familywise error near 2.5% 0.16 points, so an inflation of half a point would
show at 3 MCSE.  Each simulation takes a fraction of a second.

Usage: ``python examples/timing_arm_selection.py [OUTPUT_DIR]``
(default ``output/timing_arm_selection``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import trialplan as tp
from trialplan.adaptive import ArmSelection
from trialplan.report import make_protocol
from trialplan.sequential import GroupSequential

# %%
# The plan with treatment selection
# ---------------------------------
# The timing_parallel preset's planning values, one-sided 2.5%, an interim at half
# the participants that keeps the better MBI arm, sized for 80% power to reject at
# least one comparison with rTMS alone.


def build_spec() -> tp.spec.Spec:
    preset = tp.scenarios.timing_parallel(power=0.8)
    design = preset.design.replace(alpha=0.025, sided=1)
    return preset.replace(
        design=design,
        primary=None,  # every comparison with the control
        sequential=GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025),
        adaptive=ArmSelection(rule="best", intersection="dunnett"),
        n_sims=10_000,
        title="Timing of MBI with rTMS: a three-arm trial with treatment selection at an interim",
    )


# %%
# Operating characteristics, protocol and lists
# ---------------------------------------------
# ``main`` prints the resolved plan, each comparison's simulated power and selection
# probability, and writes the protocol, the stage-1 list and the stage-2 lists.


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("output") / "timing_arm_selection"
    spec = build_spec()
    plan = spec.evaluate()
    print(plan)
    print(plan.selection_table().round(4).to_string(index=False))
    oc = plan.operating_characteristics().set_index("scenario")
    print(oc[["reject_any", "reject_any_mcse", "expected_n", "max_n"]].round(4).to_string())
    protocol = make_protocol(plan)
    written = protocol.write(out, overwrite=True, spec_name="trial.toml")  # own folder
    lists = plan.selection_schedules()
    lists["stage 1"].to_csv(out / "schedule.csv")
    for i, name in enumerate([k for k in lists if k != "stage 1"], start=1):
        lists[name].to_csv(out / f"schedule-stage2-{i}.csv")
    # rerun with: trialplan protocol trial.toml -o OTHER_DIR
    print(
        f"-> protocol in {written['md']}; stage-1 list {plan.list_allocation.n_randomized}, "
        f"then one of {len(lists) - 1} stage-2 lists"
    )
    return 0


# %%
# Run
# ---
# As a script, and when this page was built; the output and figures follow.

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
