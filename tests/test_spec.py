"""TOML design specs: exact round trips and errors that point at the TOML key.

Expected values here are the inputs themselves (a round trip must return what
went in) and hand-written TOML files, never trialplan's computed output.
"""

from __future__ import annotations

import math
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trialplan as tp
from trialplan.spec import (
    RandomizationPlan,
    SensitivityGrid,
    Spec,
    SpecError,
    read_spec,
    spec_from_toml,
    spec_hash,
    spec_to_toml,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}

BASE_TOML = """
[design]
type = "factorial"
n_per_cell = 50
alpha = 0.05
dropout = 0.1

[design.factors]
rTMS = ["sham", "active"]
MBI = ["control", "MBI"]

[design.outcome]
type = "continuous"
sd = 8.0
baseline_corr = 0.4
better = "lower"

[design.outcome.means]
"sham+control" = 0.0
"active+control" = -3.0
"sham+MBI" = -2.0
"active+MBI" = -8.0
"""


def two_by_two(**changes):
    design = tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=50
    )
    return design.replace(**changes) if changes else design


def roundtrip(obj, tmp_path):
    path = tmp_path / "trial.toml"
    tp.dump_spec(obj, path)
    return read_spec(path) if isinstance(obj, Spec) else tp.load_spec(path)


# ------------------------------------------------------------ reading files
def test_hand_written_spec_reads_into_the_design_it_describes(tmp_path):
    path = tmp_path / "trial.toml"
    path.write_text(BASE_TOML)
    expected = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=MEANS, sd=8.0, baseline_corr=0.4),
        n_per_cell=50,
        dropout=0.1,
    )
    assert tp.load_spec(path) == expected
    assert tp.load_spec(str(path)) == expected


def test_cell_keyed_tables_may_list_cells_in_any_order(tmp_path):
    text = BASE_TOML.replace('"sham+control" = 0.0\n', "") + '"sham+control" = 0.0\n'
    assert spec_from_toml(text).design.outcome.means[("sham", "control")] == 0.0


def test_unequal_allocation_and_per_cell_dropout_tables():
    text = (
        BASE_TOML.replace("n_per_cell = 50\n", "").replace("dropout = 0.1\n", "")
        + """
[design.n_per_cell]
"sham+control" = 40
"active+control" = 40
"sham+MBI" = 60
"active+MBI" = 60

[design.dropout]
"sham+control" = 0.07
"active+control" = 0.07
"sham+MBI" = 0.3
"active+MBI" = 0.3
"""
    )
    design = spec_from_toml(text).design
    assert design.n_total == 200
    assert design.n_per_cell[("sham", "MBI")] == 60
    assert design.dropout[("active", "MBI")] == 0.3


# -------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="balanced"),
        pytest.param(
            {"baseline_corr": 0.45, "better": "higher", "sided": 1, "alpha": 0.025},
            id="ancova-one-sided",
        ),
        pytest.param(
            {
                "n_per_cell": {
                    ("sham", "control"): 40,
                    ("active", "control"): 41,
                    ("sham", "MBI"): 60,
                    ("active", "MBI"): 61,
                }
            },
            id="unequal-allocation",
        ),
        pytest.param(
            {
                "dropout": {
                    ("sham", "control"): 0.07,
                    ("active", "control"): 0.07,
                    ("sham", "MBI"): 0.3,
                    ("active", "MBI"): 1 / 3,
                }
            },
            id="per-cell-dropout",
        ),
        pytest.param({"sd": 0.1 + 0.2}, id="float-with-long-repr"),
    ],
)
def test_factorial_round_trip_is_exact(tmp_path, changes):
    design = two_by_two(**changes)
    back = roundtrip(design, tmp_path)
    assert back == design
    assert back.outcome.sd == design.outcome.sd  # bitwise-equal float
    assert spec_hash(back) == spec_hash(design)


def test_three_factor_round_trip(tmp_path):
    factors = {**FACTORS, "timing": ("sequential", "concurrent")}
    design = tp.Factorial(
        factors=factors,
        outcome=tp.Continuous(
            means={
                c: float(i)
                for i, c in enumerate(
                    [
                        (a, b, t)
                        for a in factors["rTMS"]
                        for b in factors["MBI"]
                        for t in factors["timing"]
                    ]
                )
            },
            sd=7.5,
        ),
        n_per_cell=30,
    )
    assert roundtrip(design, tmp_path) == design


def test_level_names_needing_quotes_round_trip(tmp_path):
    factors = {"rTMS": ("sham coil", 'active "10 Hz"'), "MBI": ("TAU", "MBCT+")}
    means = {
        (a, b): 1.0 * i
        for i, (a, b) in enumerate([(a, b) for a in factors["rTMS"] for b in factors["MBI"]])
    }
    design = tp.Factorial(
        factors=factors, outcome=tp.Continuous(means=means, sd=2.0), n_per_cell=10
    )
    assert roundtrip(design, tmp_path) == design


def test_parallel_round_trip(tmp_path):
    arms = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")
    design = tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(means=dict(zip(arms, (-10.0, -12.0, -13.0), strict=True)), sd=8.0),
        n_per_arm=60,
        control="rTMS alone",
        alpha=0.05,
    )
    assert roundtrip(design, tmp_path) == design


def test_whole_spec_round_trip(tmp_path):
    spec = Spec(
        design=two_by_two(dropout=0.15),
        title="rTMS x MBI",
        outcome_label="HAM-D",
        timepoint="week 8",
        sources=("Kedzior et al. 2015", "Blumberger et al. 2018"),
        hypotheses=("rTMS", "MBI", "rTMS:MBI"),
        primary=("rTMS:MBI",),
        power=0.8,
        method="simulation",
        n_sims=2000,
        seed=7,
        randomization=RandomizationPlan(
            n=200, block_sizes=(4, 8), strata={"site": ("A", "B")}, seed=11
        ),
        sensitivity=SensitivityGrid(sd=(7.0, 9.0), dropout=(0.1, 0.3)),
        scenario="hamd_factorial",
    )
    assert roundtrip(spec, tmp_path) == spec


def test_written_text_is_valid_toml_with_the_documented_sections(tmp_path):
    spec = Spec(
        design=two_by_two(),
        title='say "hi"\nthere',
        randomization=RandomizationPlan(block_sizes=(4,)),
    )
    data = tomllib.loads(spec_to_toml(spec))
    assert data["trial"]["title"] == 'say "hi"\nthere'
    assert data["design"]["type"] == "factorial"
    assert data["design"]["outcome"]["means"]["active+MBI"] == -8.0
    assert data["design"]["factors"]["rTMS"] == ["sham", "active"]
    assert data["randomization"]["strata"] == {}


@settings(max_examples=40, deadline=None)
@given(
    sd=st.floats(0.01, 100, allow_nan=False),
    n=st.integers(3, 500),
    means=st.lists(st.floats(-50, 50, allow_nan=False), min_size=4, max_size=4),
    rho=st.floats(-0.95, 0.95),
    dropout=st.floats(0, 0.9),
    alpha=st.floats(0.001, 0.2),
)
def test_round_trip_property(tmp_path_factory, sd, n, means, rho, dropout, alpha):
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=dict(zip(MEANS, means, strict=True)), sd=sd, baseline_corr=rho),
        n_per_cell=n,
        dropout=dropout,
        alpha=alpha,
    )
    assert spec_from_toml(spec_to_toml(design)).design == design


def test_hash_ignores_comments_and_key_order(tmp_path):
    reordered = BASE_TOML.replace("alpha = 0.05\n", "").replace(
        "dropout = 0.1\n", "dropout = 0.1\nalpha = 0.05  # two-sided\n"
    )
    assert spec_hash(spec_from_toml(reordered)) == spec_hash(spec_from_toml(BASE_TOML))
    changed = BASE_TOML.replace("sd = 8.0", "sd = 8.5")
    assert spec_hash(spec_from_toml(changed)) != spec_hash(spec_from_toml(BASE_TOML))


def test_spec_defaults_primary_to_the_interaction():
    assert spec_from_toml(BASE_TOML).primary == ("rTMS:MBI",)


# ---------------------------------------------------------- key-path errors
@pytest.mark.parametrize(
    ("edit", "path", "fragment"),
    [
        pytest.param(("sd = 8.0", "sd = -1"), "design.outcome.sd", "-1", id="negative-sd"),
        pytest.param(
            ("sd = 8.0", 'sd = "eight"'), "design.outcome.sd", "real number", id="sd-not-a-number"
        ),
        pytest.param(
            ("baseline_corr = 0.4", "baseline_corr = 1.2"),
            "design.outcome.baseline_corr",
            "between -1 and 1",
            id="rho-out-of-range",
        ),
        pytest.param(
            ('better = "lower"', 'better = "lowr"'),
            "design.outcome.better",
            "did you mean 'lower'",
            id="better-typo",
        ),
        pytest.param(
            ("alpha = 0.05", "alpha = 1.5"),
            "design.alpha",
            "between 0 and 1",
            id="alpha-out-of-range",
        ),
        pytest.param(
            ("dropout = 0.1", "dropout = 1.0"), "design.dropout", "[0, 1)", id="dropout-one"
        ),
        pytest.param(
            ("n_per_cell = 50", "n_per_cell = 2.5"),
            "design.n_per_cell",
            "whole number",
            id="fractional-n",
        ),
        pytest.param(
            ("sd = 8.0", "sd = 8.0\nsdd = 3"),
            "design.outcome.sdd",
            "did you mean 'sd'",
            id="unknown-outcome-key",
        ),
        pytest.param(
            ('type = "continuous"', 'type = "continous"'),
            "design.outcome.type",
            "did you mean 'continuous'",
            id="outcome-type-typo",
        ),
        pytest.param(
            ("[design]", "[desing]\n[design]"),
            "desing",
            "did you mean 'design'",
            id="unknown-section",
        ),
        pytest.param(
            ("alpha = 0.05", "alpah = 0.05"),
            "design.alpah",
            "did you mean 'alpha'",
            id="unknown-design-key",
        ),
        pytest.param(
            ("sd = 8.0\n", ""), "design.outcome", "missing required keys ['sd']", id="missing-sd"
        ),
        pytest.param(
            ('"active+MBI" = -8.0', '"activ+MBI" = -8.0'),
            'design.outcome.means."activ+MBI"',
            "did you mean 'active+MBI'",
            id="cell-label-typo",
        ),
    ],
)
def test_errors_name_the_toml_key_path(edit, path, fragment):
    text = BASE_TOML.replace(*edit)
    with pytest.raises(SpecError) as info:
        spec_from_toml(text)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("extra", "path", "fragment"),
    [
        pytest.param(
            '[analysis]\nprimary = ["rTMS:MBII"]',
            "analysis.primary",
            "rTMS:MBII",
            id="unknown-primary",
        ),
        pytest.param(
            "[analysis]\npower = 1.2", "analysis.power", "between 0 and 1", id="power-above-one"
        ),
        pytest.param(
            '[analysis]\nmethod = "simulaton"',
            "analysis.method",
            "did you mean 'simulation'",
            id="method-typo",
        ),
        pytest.param("[analysis]\nn_sims = 0", "analysis.n_sims", ">= 1", id="zero-sims"),
        pytest.param(
            "[analysis]\npowr = 0.9",
            "analysis.powr",
            "did you mean 'power'",
            id="analysis-key-typo",
        ),
        pytest.param(
            "[randomization]\nblock_sizes = [4, -8]",
            "randomization.block_sizes",
            "-8",
            id="negative-block",
        ),
        pytest.param(
            '[randomization]\nstrata = {site = "A"}',
            "randomization.strata",
            "list of level names",
            id="stratum-not-a-list",
        ),
        pytest.param(
            "[sensitivity]\nsd = [8.0, -1.0]", "sensitivity.sd", "> 0", id="negative-sensitivity-sd"
        ),
        pytest.param("[trial]\ntitle = 3", "trial.title", "string", id="title-not-text"),
        # was "'int' object is not iterable", with no key path
        pytest.param(
            "[analysis]\nprimary = 3",
            "analysis.primary",
            "must be a list of strings; got primary=3",
            id="primary-not-a-list",
        ),
        pytest.param("spec_version = 2", "spec_version", "got 2", id="future-version"),
    ],
)
def test_errors_in_other_sections(extra, path, fragment):
    with pytest.raises(SpecError) as info:
        spec_from_toml(
            extra.split("\n[", 1)[0] + "\n" + BASE_TOML
            if extra.startswith("spec_version")
            else BASE_TOML + "\n" + extra
        )
    assert info.value.path == path
    assert fragment in str(info.value)


def test_syntax_errors_name_the_line():
    with pytest.raises(SpecError, match="not valid TOML.*line 3"):
        spec_from_toml("[design]\ntype = 'factorial'\nsd = = 3\n")


def test_missing_design_section():
    with pytest.raises(SpecError, match=r"missing the \[design\] section"):
        spec_from_toml("[trial]\ntitle = 'x'\n")


def test_section_that_is_not_a_table():
    with pytest.raises(SpecError) as info:
        spec_from_toml("design = 3\n")
    assert info.value.path == "design"


def test_spec_errors_are_value_errors():
    assert issubclass(SpecError, ValueError)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tp.load_spec(tmp_path / "absent.toml")


def test_objects_toml_cannot_hold_are_refused():
    with pytest.raises(SpecError, match="sequential"):
        spec_to_toml(Spec(design=two_by_two(), sequential=object()))


def test_writer_keeps_special_floats():
    grid = SensitivityGrid(effect_scale=(0.5, 1e-300, 1e300))
    text = spec_to_toml(Spec(design=two_by_two(), sensitivity=grid))
    assert tomllib.loads(text)["sensitivity"]["effect_scale"] == [0.5, 1e-300, 1e300]
    assert not math.isnan(tomllib.loads(text)["design"]["alpha"])


def test_documented_schema_example_parses():
    # The schema in the module docstring is the user's reference: it must be valid.
    import trialplan.spec as module

    doc = module.__doc__
    block = doc[doc.index("spec_version = 1") : doc.index("Any value whose key")]
    text = textwrap.dedent("    " + block)
    text = text.replace("[analysis.sequential]         # optional: a tp.GroupSequential\n", "")
    text = text.replace(
        "[analysis.multiplicity]       # optional: tp.Holm, tp.Bonferroni, ...\n", ""
    )
    spec = spec_from_toml(text)
    assert spec.design.n_total == 200
    assert spec.randomization.block_sizes == (4, 8)


# ------------------------------------------- other outcomes, engines, options
def test_binary_time_to_event_and_repeated_outcomes_round_trip(tmp_path):
    rates = {
        ("sham", "control"): 0.12,
        ("active", "control"): 0.30,
        ("sham", "MBI"): 0.22,
        ("active", "MBI"): 0.50,
    }
    binary = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Binary(rates=rates, scale="log_odds"),
        n_per_cell=100,
        dropout=0.2,
    )
    assert roundtrip(binary, tmp_path) == binary
    hazards = {c: 0.1 * (i + 1) for i, c in enumerate(MEANS)}
    tte = tp.Factorial(
        factors=FACTORS,
        outcome=tp.TimeToEvent(hazards=hazards, accrual=12.0, analysis_time=24.0),
        n_per_cell=100,
    )
    assert roundtrip(tte, tmp_path) == tte
    repeated = tp.Factorial(
        factors={"arm": ("control", "treated")},
        outcome=tp.Repeated(
            means={("control",): (0.0, 0.0, 0.0, 0.0), ("treated",): (0.0, 0.0, 0.0, 5.0)},
            times=(1.0, 2.0, 3.0, 4.0),
            sd=10.0,
            correlation="cs",
            rho=0.25,
            retention=(1.0, 0.9, 0.8, 0.7),
        ),
        n_per_cell=50,
    )
    assert roundtrip(repeated, tmp_path) == repeated


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025), id="obf-spending"
        ),
        pytest.param(
            lambda: tp.GroupSequential(
                info_fractions=(1 / 3, 2 / 3, 1.0),
                alpha=0.025,
                efficacy=tp.spending.hwang_shih_decani(-4),
                futility=tp.spending.pocock(),
                beta=0.2,
            ),
            id="hsd-with-futility",
        ),
        pytest.param(
            lambda: tp.GroupSequential(
                info_fractions=(0.5, 1.0), alpha=0.025, efficacy=tp.boundaries.pocock()
            ),
            id="classical-pocock",
        ),
    ],
)
def test_sequential_designs_round_trip(tmp_path, make):
    spec = Spec(design=two_by_two(alpha=0.025, sided=1), sequential=make())
    back = roundtrip(spec, tmp_path)
    assert back == spec
    assert back.sequential.efficacy_z.tolist() == spec.sequential.efficacy_z.tolist()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: tp.Holm(["rTMS", "MBI", "rTMS:MBI"]), id="holm"),
        pytest.param(lambda: tp.Hochberg(["rTMS", "MBI"]), id="hochberg"),
        pytest.param(lambda: tp.Bonferroni(["rTMS", "MBI"]), id="bonferroni"),
        pytest.param(lambda: tp.FixedSequence(["rTMS", "rTMS:MBI"]), id="fixed-sequence"),
        pytest.param(lambda: tp.Gatekeeping([["combination"], ["rTMS:MBI"]]), id="gatekeeping"),
    ],
)
def test_multiplicity_procedures_round_trip(tmp_path, make):
    spec = Spec(design=two_by_two(), multiplicity=make())
    assert roundtrip(spec, tmp_path) == spec


def test_hand_written_sequential_section():
    text = (
        BASE_TOML.replace("alpha = 0.05", "alpha = 0.025\nsided = 1")
        + """
[analysis.sequential]
type = "group_sequential"
info_fractions = [0.5, 1.0]
alpha = 0.025
efficacy = {type = "spending.spending_function", kind = "pocock"}
"""
    )
    spec = spec_from_toml(text)
    assert spec.sequential == tp.GroupSequential(
        info_fractions=(0.5, 1.0), alpha=0.025, efficacy=tp.spending.pocock()
    )


def test_sequential_error_points_into_the_section():
    text = (
        BASE_TOML
        + """
[analysis.sequential]
type = "group_sequential"
info_fractions = [0.5, 0.4]
"""
    )
    with pytest.raises(SpecError) as info:
        spec_from_toml(text)
    assert info.value.path == "analysis.sequential.info_fractions"


def test_clustered_factorial_and_other_procedures_round_trip(tmp_path):
    clustered = two_by_two().replace(
        clusters=tp.Clustering(factor="MBI", level="MBI", group_size=8, icc=0.05)
    )
    assert roundtrip(clustered, tmp_path) == clustered
    graphical = Spec(
        design=two_by_two(),
        multiplicity=tp.Graphical(
            ["rTMS", "MBI"], weights=[0.5, 0.5], transitions=[[0, 1], [1, 0]]
        ),
    )
    assert roundtrip(graphical, tmp_path) == graphical
    arms = ("a", "b", "c")
    dunnett = Spec(
        design=tp.Parallel(
            arms=arms,
            outcome=tp.Continuous(means={"a": 0.0, "b": 1.0, "c": 2.0}, sd=2.0),
            n_per_arm=20,
        ),
        multiplicity=tp.Dunnett(),
    )
    assert roundtrip(dunnett, tmp_path) == dunnett


def test_error_after_the_key_name_is_not_doubled():
    # "design.control: : 'rTMS alon' is not an arm": the validator's "control:"
    # prefix was left behind after the key path replaced it.
    text = """
[design]
type = "parallel"
arms = ["rTMS alone", "MBI then rTMS"]
n_per_arm = 60
control = "rTMS alon"
[design.outcome]
type = "continuous"
sd = 8.0
[design.outcome.means]
"rTMS alone" = -10.0
"MBI then rTMS" = -13.0
"""
    with pytest.raises(SpecError) as info:
        spec_from_toml(text)
    assert info.value.path == "design.control"
    assert str(info.value).startswith("design.control: 'rTMS alon' is not an arm")
    assert "did you mean 'rTMS alone'" in str(info.value)


def test_spec_accepts_numpy_scalars():
    # np.int64 n_sims/seed, np.float32 power and numpy integers in a sensitivity
    # grid were refused ("must be a whole number", "must lie strictly between").
    import numpy as np

    from trialplan.spec import SensitivityGrid, Spec, spec_to_toml

    design = spec_from_toml(BASE_TOML).design
    spec = Spec(
        design=design,
        power=np.float32(0.5),
        n_sims=np.int64(1000),
        seed=np.int64(5),
        sensitivity=SensitivityGrid(sd=[np.int64(7)]),
    )
    assert (spec.power, spec.n_sims, spec.seed, spec.sensitivity.sd) == (0.5, 1000, 5, (7.0,))
    assert type(spec.n_sims) is int
    assert type(spec.seed) is int
    again = spec_from_toml(spec_to_toml(spec))
    assert (again.power, again.n_sims, again.seed) == (0.5, 1000, 5)
