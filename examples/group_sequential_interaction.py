"""A group-sequential 2x2 trial powered for the rTMS x MBI interaction
===================================================================

The synergy question -- is rTMS plus MBI more than the sum of its parts? --
needs about four times the sample of a main effect, so the trial plans two
interim analyses (at one and two thirds of the information) with
O'Brien-Fleming-type alpha spending (Lan & DeMets 1983) and non-binding
futility bounds from a Pocock-type beta-spending function.  The interaction
is tested one-sided at 2.5 % (synergy means a larger HAM-D reduction).

Planning values: the literature-based preset
``tp.scenarios.state_dependent_synergy`` (THREE-D course, Kedzior's rTMS
effect, Eisendrath's MBCT response rates via Chinn's conversion, SD 8, baseline
correlation 0.4, dropout 7 % / 30 %), whose state-dependent synergy model gives
an interaction of -3 HAM-D points (difference of differences).

Usage: ``python examples/group_sequential_interaction.py [OUTPUT_DIR]``
(default ``output/group_sequential_interaction``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import trialplan as tp
from trialplan.report import make_protocol

# %%
# The group-sequential design
# ---------------------------
# Three looks with O'Brien-Fleming-type alpha spending and non-binding
# Pocock-type futility, on the literature-based preset.


def build_spec() -> tp.spec.Spec:
    preset = tp.scenarios.state_dependent_synergy(power=0.9)
    design = preset.design.replace(alpha=0.025, sided=1)
    gsd = tp.GroupSequential(
        info_fractions=(1 / 3, 2 / 3, 1.0),
        alpha=0.025,
        sided=1,
        efficacy=tp.spending.obrien_fleming(),
        futility=tp.spending.pocock(),
        beta=0.1,
        binding=False,
    )
    return preset.replace(
        design=design,
        sequential=gsd,
        primary=("rTMS:MBI",),
        hypotheses=("rTMS", "MBI", "rTMS:MBI"),
        title="Group-sequential rTMS x MBI factorial trial: is the combination synergistic?",
    )


# %%
# Boundaries, sample size and protocol
# ------------------------------------
# ``main`` prints the stopping boundaries and the sample size, and writes the
# protocol with its boundary plot and spec.


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("output") / "group_sequential_interaction"
    spec = build_spec()
    print(spec.sequential)
    plan = spec.evaluate()
    print(plan)
    protocol = make_protocol(plan)
    written = protocol.write(out, overwrite=True, spec_name="trial.toml")  # own folder
    plan.schedule().to_csv(out / "schedule.csv")
    # rerun with: trialplan protocol trial.toml -o OTHER_DIR
    print(f"-> protocol in {written['md']}; boundaries in {out / 'figures'}")
    return 0


# %%
# Run
# ---
# As a script, and when this page was built; the output and figures follow.

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
