"""Spec checks: `check` fails wherever another command would, errors name key and line.

Issue 21 (item 5 of its defects) listed five kinds of spec that `trialplan check`
passed while the other commands refused them, a bare "'int' object is not
iterable", byte-order marks and other encodings, and a factor, stratum or arm
called "type" that broke the round trip.  The round-trip property is checked
on random valid specs: dump -> load -> dump gives the same bytes.
"""

from __future__ import annotations

import difflib
import string
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trialplan as tp
from trialplan.cli import main
from trialplan.spec import (
    RandomizationPlan,
    SensitivityGrid,
    Spec,
    SpecError,
    read_spec,
    spec_from_toml,
    spec_to_toml,
    write_size,
)

BASE = textwrap.dedent(
    """\
    [design]
    type = "factorial"
    n_per_cell = 50
    alpha = 0.05

    [design.factors]
    rTMS = ["sham", "active"]
    MBI = ["control", "MBI"]

    [design.outcome]
    type = "continuous"
    sd = 8.0

    [design.outcome.means]
    "sham+control" = 0.0
    "active+control" = -3.0
    "sham+MBI" = -2.0
    "active+MBI" = -8.0

    [analysis]
    primary = ["rTMS:MBI"]

    [randomization]
    block_sizes = [4, 8]
    seed = 1

    [randomization.strata]
    site = ["A", "B"]
    """
)

# Each broken spec: (edit of BASE, key the error names, the line that key is on, fragment)
BROKEN = {
    "block-sizes-not-multiples": (
        ("block_sizes = [4, 8]", "block_sizes = [3, 6]"),
        "randomization.block_sizes",
        "block_sizes = [3, 6]",
        "multiples of 4",
    ),
    "duplicate-strata-levels": (
        ('site = ["A", "B"]', 'site = ["A", "A"]'),
        "randomization.strata",
        "[randomization.strata]",
        "lists a level twice",
    ),
    "sequential-alpha-disagrees": (
        (
            "[randomization]\n",
            '[analysis.sequential]\ntype = "group_sequential"\n'
            "info_fractions = [0.5, 1.0]\nalpha = 0.01\n\n[randomization]\n",
        ),
        "analysis.sequential.alpha",
        "alpha = 0.01",
        "disagrees with the design's two-sided alpha=0.05",
    ),
    "holm-unknown-hypothesis": (
        (
            "[randomization]\n",
            '[analysis.multiplicity]\ntype = "holm"\n'
            'hypotheses = ["rTMS", "MBX"]\n\n[randomization]\n',
        ),
        "analysis.multiplicity.hypotheses",
        'hypotheses = ["rTMS", "MBX"]',
        "'MBX' is not a hypothesis of this design",
    ),
    "unknown-multiplicity-type": (
        (
            "[randomization]\n",
            '[analysis.multiplicity]\ntype = "continuous"\nsd = 1.0\n'
            "means = {a = 1.0}\n\n[randomization]\n",
        ),
        "analysis.multiplicity.type",
        'type = "continuous"',
        "is not a multiplicity procedure",
    ),
    "block-sizes-text": (
        ("block_sizes = [4, 8]", 'block_sizes = "4"'),
        "randomization.block_sizes",
        'block_sizes = "4"',
        "a whole number or a list of them",
    ),
}


def broken_text(name):
    edit, *_ = BROKEN[name]
    assert edit[0] in BASE
    return BASE.replace(*edit)


@pytest.mark.parametrize("name", list(BROKEN))
def test_every_command_refuses_what_check_refuses(name, tmp_path, capsys):
    path = tmp_path / "trial.toml"
    text = broken_text(name)
    path.write_text(text)
    _, key, anchor, fragment = BROKEN[name]
    lines = text.splitlines()
    line = len(lines) - lines[::-1].index(anchor)  # the last line that reads so
    commands = (
        ["check"],
        ["power"],
        ["sample-size"],
        ["protocol", "-o", str(tmp_path / "out"), "--no-figures"],
        ["randomize", "-o", str(tmp_path / "list.csv")],
    )
    for command in commands:
        assert main([command[0], str(path), *command[1:]]) == 1, command
        err = capsys.readouterr().err
        assert f"trial.toml, line {line}, {key}: " in err, (command, err)
        assert fragment in err
        assert "Traceback" not in err


def test_block_sizes_given_as_one_number_is_one_size():
    # "block_sizes = 4" said "'int' object is not iterable"; it means blocks of 4.
    spec = spec_from_toml(BASE.replace("block_sizes = [4, 8]", "block_sizes = 4"))
    assert spec.randomization.block_sizes == (4,)


def test_errors_in_the_design_name_their_line():
    text = BASE.replace("sd = 8.0", "sd = -1.0")
    with pytest.raises(SpecError) as info:
        spec_from_toml(text, source="t.toml")
    assert info.value.path == "design.outcome.sd"
    assert info.value.line == text.splitlines().index("sd = -1.0") + 1
    assert str(info.value).endswith(f"(t.toml, line {info.value.line})")


def test_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert read_spec(path) == spec_from_toml(BASE)
    assert main(["check", str(path)]) == 0


def test_other_encodings_name_the_line_and_byte(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(('[trial]\ntitle = "Étude"\n' + BASE).encode("latin-1"))
    with pytest.raises(SpecError, match=r"not UTF-8 text: byte 0xc9 at line 2, column 10"):
        read_spec(path)
    assert main(["power", str(path)]) == 1
    assert "latin1.toml, line 2" in capsys.readouterr().err


# --------------------------------------------------------- reserved words
def test_a_factor_a_stratum_and_an_arm_called_type_round_trip():
    factorial = tp.Factorial(
        factors={"type": ("a", "b"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means={
                ("a", "control"): 0.0,
                ("b", "control"): 1.0,
                ("a", "MBI"): 1.0,
                ("b", "MBI"): 3.0,
            },
            sd=2.0,
        ),
        n_per_cell=20,
    )
    spec = Spec(design=factorial)
    assert spec_from_toml(spec_to_toml(spec)) == spec
    stratified = Spec(
        design=factorial.replace(factors={"rTMS": ("a", "b"), "MBI": ("control", "MBI")}),
        randomization=RandomizationPlan(strata={"type": ("x", "y")}),
    )
    assert spec_from_toml(spec_to_toml(stratified)) == stratified
    arms = tp.Parallel(
        arms=("type", "b"), outcome=tp.Continuous(means={"type": 0, "b": 1}, sd=1.0), n_per_arm=10
    )
    assert spec_from_toml(spec_to_toml(arms)).design == arms


NAMES = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + " _-é\"'#=.[]"),
    min_size=1,
    max_size=8,
).filter(
    lambda s: (
        s.strip() == s
        and s not in ("combination",)
        and not set(s) & set(":|=,+/")
        and " vs " not in s  # reserved: parallel hypotheses are named '<arm> vs <arm>'
    )
)


@st.composite
def adaptations(draw):
    """None, or an interim at a random fraction with a random re-estimation rule."""
    if not draw(st.booleans()):
        return None, None
    gsd = tp.GroupSequential(info_fractions=(draw(st.floats(0.2, 0.8)), 1.0), alpha=0.025, sided=1)
    sd = draw(st.sampled_from(["planned", "blinded", "blinded_adjusted"]))
    effects = [st.just("planned"), st.floats(-10.0, -0.1), st.floats(0.1, 10.0)]
    if sd == "planned":
        effects.append(st.just("observed"))
    low = draw(st.floats(0.25, 1.5))
    zone = None
    if sd == "planned" and draw(st.booleans()):
        first = draw(st.floats(0.0, 0.8))
        zone = (first, draw(st.floats(first + 0.01, 1.0)))
    rule = tp.SampleSizeReestimation(
        conditional_power=draw(st.floats(0.5, 0.99)),
        effect=draw(st.one_of(*effects)),
        min_factor=low,
        max_factor=low + draw(st.floats(0.0, 3.0)),
        promising_zone=zone,
        sd=sd,
        round_up=draw(st.booleans()),
    )
    return gsd, rule


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    factor_a=st.one_of(st.just("type"), NAMES),
    factor_b=NAMES,
    levels=st.lists(st.one_of(st.just("type"), NAMES), min_size=4, max_size=4, unique=True),
    stratum=st.one_of(st.just("type"), NAMES),
    stratum_levels=st.lists(NAMES, min_size=1, max_size=3, unique=True),
    sd=st.floats(0.1, 50.0),
    means=st.lists(st.floats(-30.0, 30.0), min_size=4, max_size=4),
    n=st.integers(3, 500),
    power=st.floats(0.5, 0.99),
    size=st.sampled_from(["solve", "fixed"]),
    title=st.text(max_size=30),
    adaptation=adaptations(),
)
def test_any_valid_spec_survives_dump_load_dump_byte_for_byte(
    factor_a,
    factor_b,
    levels,
    stratum,
    stratum_levels,
    sd,
    means,
    n,
    power,
    size,
    title,
    adaptation,
):
    if len({factor_a, factor_b, stratum}) < 3 or stratum in ("sequence", "block", "block_size"):
        return  # a stratum may not share a column name with the list
    factors = {factor_a: tuple(levels[:2]), factor_b: tuple(levels[2:])}
    cells = [(x, y) for x in factors[factor_a] for y in factors[factor_b]]
    labels = {"+".join(c) for c in cells}
    if len(labels) != 4:  # "a+b" labels must be unique to be written
        return
    design = tp.Factorial(
        factors=factors,
        outcome=tp.Continuous(means=dict(zip(cells, means, strict=True)), sd=sd),
        n_per_cell=n,
    )
    spec = Spec(
        design=design,
        title=title,
        power=power,
        size=size,
        randomization=RandomizationPlan(strata={stratum: tuple(stratum_levels)}),
        sensitivity=SensitivityGrid(sd=(sd,)),
        labels=tp.Labels(levels={factor_a: {levels[0]: f"{levels[0]} shown"}}),
        sequential=adaptation[0],
        adaptive=adaptation[1],  # the [adaptive] table (issue 17 item 5)
    )
    first = spec_to_toml(spec)
    assert ("\n[adaptive]\n" in first) == (adaptation[1] is not None)
    back = spec_from_toml(first)
    assert back == spec
    assert spec_to_toml(back) == first


@st.composite
def arm_selections(draw):
    """An arm-selection rule with random options (issue 17 item 5: the [adaptive] table)."""
    from trialplan.adaptive import ArmSelection

    rule = draw(st.sampled_from(["best", "r_best", "epsilon", "all"]))
    return ArmSelection(
        rule=rule,
        r=draw(st.integers(1, 3)) if rule == "r_best" else None,
        epsilon=draw(st.floats(0.0, 5.0)) if rule == "epsilon" else None,
        threshold=draw(st.one_of(st.none(), st.floats(-5.0, 5.0))),
        intersection=draw(st.sampled_from(["dunnett", "simes", "bonferroni", "sidak"])),
        effect_measure=draw(st.sampled_from(["estimate", "statistic"])),
        success=draw(st.sampled_from(["all", "any"])),
        selection_look=draw(st.one_of(st.none(), st.just(1))),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arms=st.lists(NAMES, min_size=3, max_size=4, unique=True),
    means=st.lists(st.floats(-30.0, 30.0), min_size=4, max_size=4),
    sd=st.floats(0.1, 50.0),
    n=st.integers(3, 500),
    fraction=st.floats(0.2, 0.8),
    rule=arm_selections(),
    size=st.sampled_from(["solve", "fixed"]),
)
def test_any_arm_selection_spec_survives_dump_load_dump_byte_for_byte(
    arms, means, sd, n, fraction, rule, size
):
    design = tp.Parallel(
        arms=tuple(arms),
        outcome=tp.Continuous(means=dict(zip(arms, means, strict=False)), sd=sd),
        n_per_arm=n,
        alpha=0.025,
        sided=1,
    )
    spec = Spec(
        design=design,
        size=size,
        sequential=tp.GroupSequential(info_fractions=(fraction, 1.0), alpha=0.025, sided=1),
        adaptive=rule,
    )
    first = spec_to_toml(spec)
    assert '\n[adaptive]\ntype = "arm_selection"\n' in first
    back = spec_from_toml(first)
    assert back == spec
    assert back.adaptive == rule
    assert spec_to_toml(back) == first


# --------------------------------------------------------------- writing size
def test_write_size_keeps_comments_and_only_changes_the_size(tmp_path):
    text = "# planning notes: see the SAP\n" + BASE.replace(
        "n_per_cell = 50", "n_per_cell = 50  # a first guess"
    )
    path = tmp_path / "trial.toml"
    path.write_text(text)
    plan = spec_from_toml(text).evaluate()
    new = write_size(path, plan.sizing.design, primary=plan.primary, power=plan.target)
    diff = list(difflib.ndiff(text.splitlines(), new.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    n = plan.sizing.design.n_per_cell
    assert removed == ["n_per_cell = 50  # a first guess"]
    assert added == [f"n_per_cell = {n}  # a first guess", "power = 0.9", 'size = "fixed"']
    assert new.startswith("# planning notes: see the SAP\n")
    spec = read_spec(path)
    assert (spec.size, spec.power, spec.primary) == ("fixed", 0.9, ("rTMS:MBI",))
    again = spec.evaluate()
    assert again.allocation == plan.allocation
    assert again.primary_power == plan.primary_power
