"""TOML design specs: a trial written as a file, read back as design objects and a plan.

A spec is a small TOML file that a protocol author can edit by hand and that
the ``trialplan`` command reads.  :func:`load_spec` returns the design;
:func:`read_spec` returns the whole :class:`Spec` (design, the analysis to
report, protocol wording, randomization and sensitivity settings, display
names), and ``read_spec(path).evaluate()`` the resolved
:class:`~trialplan.plan.TrialPlan` every command draws from.  :func:`dump_spec`
writes a design (or a :class:`Spec`) back; reading what was written gives an
equal object, and writing that again gives the same bytes (floats are written
with :func:`repr`, which round-trips every binary64 value).

Schema
------
Every section but ``[design]`` is optional::

    spec_version = 1

    [trial]                       # wording used in the protocol text
    title = "rTMS x MBI in treatment-resistant depression"
    outcome_label = "change in HAM-D-17 from baseline"
    timepoint = "week 8"
    sources = ["Kedzior et al. 2015 ..."]

    [design]                      # any trialplan design; "type" names the class
    type = "factorial"            # factorial | parallel | smart
    n_per_cell = 50               # analysed per cell, or a table {"sham+control" = 50, ...}
    alpha = 0.05
    sided = 2
    dropout = 0.1                 # or a table keyed by cell label

    [design.factors]              # factor = [reference level, active level]
    rTMS = ["sham", "active"]
    MBI = ["control", "MBI"]

    [design.outcome]
    type = "continuous"           # continuous | binary | time_to_event | ...
    sd = 8.0
    baseline_corr = 0.0
    better = "lower"

    [design.outcome.means]        # cells are labelled "level+level" in factor order
    "sham+control" = 0.0
    "active+control" = -3.0
    "sham+MBI" = -2.0
    "active+MBI" = -8.0

    [analysis]
    hypotheses = ["rTMS", "MBI", "rTMS:MBI", "combination"]   # reported
    primary = ["rTMS:MBI"]        # sets the sample size
    power = 0.9                   # target power of the primary hypotheses
    size = "solve"                # "solve": smallest size reaching power; "fixed": as written
    method = "analytic"           # or "simulation" (then n_sims and seed)
    n_sims = 10000
    seed = 2026
    [analysis.sequential]         # optional: a tp.GroupSequential
    [analysis.multiplicity]       # optional: tp.Holm, tp.Bonferroni, ...

    [randomization]               # tp.randomization.permuted_blocks settings
    block_sizes = [4, 8]          # multiples of the sum of the allocation ratios
    seed = 2026
    [randomization.strata]
    site = ["A", "B"]

    [sensitivity]                 # grid of the protocol's sensitivity table
    sd = [7.0, 8.0, 9.0]
    dropout = [0.05, 0.15, 0.25]
    effect_scale = [0.75, 1.0, 1.25]

    [labels.levels.rTMS]          # display names (optional; defaults read "sham rTMS")
    sham = "sham rTMS"
    active = "active rTMS"
    [labels.hypotheses]
    "rTMS:MBI" = "the rTMS x MBI interaction"

Any value whose key is ``type`` names a trialplan class (snake case of its
name, e.g. ``time_to_event`` for ``tp.TimeToEvent``), except inside tables
that are mappings (factors, cell values, strata, labels), so a factor, level
or stratum may be called "type"; the other keys are that class's keyword
arguments, so designs and outcomes added to trialplan are read and written
without changes here.  Tuple-keyed mappings (cells) are written with the
labels ``"level+level"`` used in the protocol text (SMART regimes:
``"stage1/stage2"``, e.g. ``"rTMS+MBI/augment"``).

An optional ``[adaptive]`` table re-estimates the sample size at the
interims of ``[analysis.sequential]`` (a one-sided ``tp.GroupSequential``;
one primary hypothesis; see :func:`trialplan.plan.plan`)::

    [adaptive]                    # a tp.SampleSizeReestimation
    type = "sample_size_reestimation"   # may be left out (the one a plan resolves)
    conditional_power = 0.9
    effect = "observed"           # "observed", "planned" or a value on the analysis scale
    min_factor = 1.0              # the next stage is min..max x its planned size
    max_factor = 2.0
    promising_zone = [0.36, 0.8]  # optional (Mehta & Pocock 2011)
    sd = "planned"                # or "blinded", "blinded_adjusted" (Kieser & Friede 2003)

Arm selection at an interim (a ``tp.Parallel`` with a control and at least
two other arms, or a factorial whose cells are compared with the reference
cell as arms; every comparison with the control is primary, which
``[analysis] primary`` may list or leave out; see :mod:`trialplan._plan_selection`)::

    [adaptive]                    # an ArmSelection (trialplan.adaptive)
    type = "arm_selection"
    rule = "best"                 # "best", "r_best" (with r), "epsilon" (with epsilon), "all"
    threshold = 0.0               # optional: drop arms whose effect is at or below it
    intersection = "dunnett"      # "dunnett", "simes", "bonferroni", "sidak"
    selection_look = 1            # optional: the interim that selects (default: every one)

``[analysis] size = "solve"`` (the default) makes every command use the
smallest size that reaches ``power`` (the design's sizes give only the
allocation ratios); ``trialplan sample-size SPEC --write`` writes the solved
size into ``[design]`` and sets ``size = "fixed"``, keeping the file's
comments and layout.

A spec checks every setting against the design when it is read (hypothesis
names, the sequential level, the multiplicity family, block sizes and
strata, display names), so ``trialplan check`` fails exactly where the other
commands would.  Errors name the TOML key path and its line, e.g.
``design.outcome.sd: must be a finite number > 0; got sd=-1.0 (trial.toml, line 14)``.
A UTF-8 byte-order mark is accepted; other encodings are refused with the
line and byte that are not UTF-8.
"""

from trialplan.allocation import RandomizationPlan
from trialplan.labels import Labels
from trialplan.sensitivity import SensitivityGrid
from trialplan.spec.edit import write_size
from trialplan.spec.errors import SpecError
from trialplan.spec.io import (
    dump_spec,
    load_spec,
    read_spec,
    spec_from_toml,
    spec_hash,
    spec_to_toml,
)
from trialplan.spec.model import Spec
from trialplan.spec.text import line_of

__all__ = [
    "Labels",
    "RandomizationPlan",
    "SensitivityGrid",
    "Spec",
    "SpecError",
    "dump_spec",
    "line_of",
    "load_spec",
    "read_spec",
    "spec_from_toml",
    "spec_hash",
    "spec_to_toml",
    "write_size",
]
