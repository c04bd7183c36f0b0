"""Readable reprs (issue 15 item 7): designs print a short summary, results print readably.

The checks are about structure (a header line, one line per part, the words a
reader needs, no raw dataclass dump), not full-string snapshots, so wording can
improve without breaking them; the doctests in the modules show whole examples.
"""

from __future__ import annotations

import re

import pytest
import scipy.stats

import trialplan as tp
from trialplan.adaptive import final_analysis
from trialplan.multiplicity import JointStatistics
from trialplan.report import make_protocol
from trialplan.sequential import sequential_sample_size

MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
ARMS = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")

# What a raw dataclass or numpy dump looks like; a readable repr shows none of it.
RAW = re.compile(r"mappingproxy|np\.float64\(|array\(\[|object at 0x|<function ")


def factorial(**changes) -> tp.Factorial:
    design = tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=50
    )
    return design.replace(**changes) if changes else design


def parallel() -> tp.Parallel:
    return tp.Parallel(
        arms=ARMS,
        outcome=tp.Binary(rates=dict(zip(ARMS, (0.30, 0.40, 0.45), strict=True))),
        n_per_arm=dict(zip(ARMS, (60, 60, 80), strict=True)),
        dropout=0.1,
    )


def smart() -> tp.SMART:
    return tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        sd=8.0,
        n_total=200,
        primary=["rTMS+MBI vs rTMS"],
    )


def labelled_lines(text: str) -> dict[str, str]:
    """``{label: text}`` of a summary's indented ``label  text`` lines."""
    out = {}
    for line in text.splitlines()[1:]:
        label, _, rest = line.strip().partition("  ")
        out[label] = rest.strip()
    return out


# ------------------------------------------------------------------ designs
def test_a_factorial_prints_cells_sizes_alpha_and_outcome() -> None:
    design = factorial(primary=("rTMS:MBI",), dropout=0.2)
    text = repr(design)
    assert not RAW.search(text)
    assert text.splitlines()[0] == design.describe().split(" | ")[0] == "Factorial 2x2 (rTMS x MBI)"
    lines = labelled_lines(text)
    assert list(lines) == ["cells", "sizes", "alpha", "outcome", "primary"]
    assert lines["cells"].split(", ") == [design.cell_label(c) for c in design.cells]
    assert "50 per cell" in lines["sizes"]
    assert f"N = {design.n_total} analysed, {design.n_randomized} randomized" in lines["sizes"]
    assert lines["alpha"] == "0.05 two-sided"
    assert lines["outcome"].startswith("continuous: means sham+control 0, active+control -3")
    assert "sd 8" in lines["outcome"]
    assert "lower is better" in lines["outcome"]
    assert lines["primary"] == "rTMS:MBI"
    assert str(design) == text


def test_group_delivery_and_one_sided_tests_show() -> None:
    design = factorial(
        clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=8), sided=1, alpha=0.025
    )
    lines = labelled_lines(repr(design))
    assert lines["alpha"] == "0.025 one-sided"
    assert lines["groups"] == "MBI=MBI in groups of 8, ICC 0.05"
    assert "randomized" not in lines["sizes"]  # no dropout: analysed = randomized


def test_a_parallel_design_prints_arms_and_unequal_sizes() -> None:
    design = parallel()
    text = repr(design)
    assert not RAW.search(text)
    assert text.splitlines()[0].startswith("Parallel 3 arms")
    lines = labelled_lines(text)
    assert lines["arms"] == ", ".join(ARMS)
    assert lines["sizes"].startswith("rTMS alone 60, MBI then rTMS 60, rTMS with concurrent MBI 80")
    assert "N = 200 analysed, 223 randomized" in lines["sizes"]
    assert lines["outcome"].startswith("binary: rates rTMS alone 0.3")
    assert "risk_difference scale" in lines["outcome"]


def test_a_smart_prints_its_stages_sizes_and_outcome_model() -> None:
    design = smart()
    text = repr(design)
    assert not RAW.search(text)
    assert text.splitlines()[0] == design.describe().split(" | ")[0]
    lines = labelled_lines(text)
    assert lines["sizes"].startswith("rTMS 100, rTMS+MBI 100; N = 200 analysed")
    assert lines["response rate"] == "rTMS 0.3, rTMS+MBI 0.4"
    assert "rTMS+MBI/augment -9" in lines["non-responders"]
    assert lines["primary"] == "rTMS+MBI vs rTMS"


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        pytest.param(
            tp.TimeToEvent(
                hazards={("sham",): 0.1, ("active",): 0.07},
                accrual=12.0,
                analysis_time=24.0,
                dropout_hazard=0.01,
            ),
            [
                "time to event: hazards sham 0.1, active 0.07",
                "accrual 12, analysis at 24",
                "loss to follow-up hazard 0.01",
            ],
            id="time-to-event",
        ),
        pytest.param(
            tp.Repeated(
                means={("sham",): (0, -2, -4), ("active",): (0, -3, -6)},
                times=(0, 4, 8),
                sd=8.0,
                rho=0.5,
                contrast="slope",
            ),
            [
                "repeated: visits at 0, 4, 8",
                "sham (0, -2, -4)",
                "cs correlation 0.5",
                "slopes over time",
            ],
            id="repeated",
        ),
    ],
)
def test_every_outcome_type_is_summarised_in_words(outcome, words) -> None:
    design = tp.Factorial(factors={"rTMS": ("sham", "active")}, outcome=outcome, n_per_cell=80)
    line = labelled_lines(repr(design))["outcome"]
    for word in words:
        assert word in line
    # the outcome's own repr is its constructor call, with plain dicts
    assert repr(outcome).startswith(type(outcome).__name__ + "(")
    assert not RAW.search(repr(outcome))


# ------------------------------------------------------------------ results
def result_objects() -> list:
    design = factorial()
    one_sided = design.replace(sided=1, alpha=0.025)
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0))
    schedule = tp.randomization.permuted_blocks(design, n=16, block_sizes=(4,), seed=1)
    return [
        pytest.param(design.power(), id="PowerResult"),
        pytest.param(design.power(["rTMS"], method="simulation", n_sims=400, seed=1), id="sim"),
        pytest.param(design.power(multiplicity=tp.Holm(["rTMS", "MBI"])), id="multiplicity"),
        pytest.param(parallel().power(multiplicity=tp.Dunnett()), id="Dunnett"),
        pytest.param(design.sample_size(power=0.8, hypothesis="rTMS"), id="SampleSizeResult"),
        pytest.param(
            one_sided.sample_size(power=0.8, hypothesis="rTMS:MBI", sequential=gsd),
            id="SequentialSampleSizeResult",
        ),
        pytest.param(one_sided.power(["rTMS:MBI"], sequential=gsd), id="sequential power"),
        pytest.param(
            design.assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 2)),
            id="AssuranceResult",
        ),
        pytest.param(
            tp.required_events(
                tp.Factorial(
                    factors={"A": ("a0", "a1")},
                    outcome=tp.TimeToEvent(
                        hazards={("a0",): 0.1, ("a1",): 0.07}, accrual=12.0, analysis_time=24.0
                    ),
                    n_per_cell=100,
                ),
                power=0.8,
                hypothesis="A",
            ),
            id="EventsResult",
        ),
        pytest.param(smart().power(), id="SMART power"),
        pytest.param(smart().sample_size(power=0.8), id="SMART sample size"),
        pytest.param(gsd, id="GroupSequential"),
        pytest.param(design.statistics(["rTMS", "combination"]), id="StatisticFamily"),
        pytest.param(design.statistics(["rTMS"])[0], id="TestStatistic"),
        pytest.param(design.statistics(["combination"])[0], id="IntersectionUnion"),
        pytest.param(design.cell_model(), id="CellModel"),
        pytest.param(
            sequential_sample_size(one_sided.statistics(["rTMS"]), power=0.8, sequential=gsd),
            id="SizeSearch",
        ),
        pytest.param(
            JointStatistics.from_family(design.statistics(["rTMS", "MBI"])), id="JointStatistics"
        ),
        pytest.param(schedule, id="Schedule"),
        pytest.param(
            final_analysis(gsd, estimates=[2.0, 3.5], standard_errors=[1.2, 1.1]),
            id="FinalAnalysis",
        ),
        pytest.param(make_protocol(design, figures=False), id="Protocol"),
    ]


@pytest.mark.parametrize("obj", result_objects())
def test_every_result_prints_readably(obj) -> None:
    text = repr(obj)
    assert not RAW.search(text), text[:300]
    first = text.splitlines()[0]
    assert 10 < len(first) <= 300, first  # a headline, not a one-line dump of everything
    assert len(text) < 6000


def test_statistics_print_their_numbers() -> None:
    stat = factorial().statistics(["rTMS"])[0]
    text = repr(stat)
    assert text.startswith("TestStatistic('rTMS': effect -4.5, se 1.131, df 196")
    assert "alpha 0.05 two-sided" in text
    assert text.endswith("exact noncentral t)")
    combo = repr(factorial().statistics(["combination"])[0])
    assert combo.startswith("IntersectionUnion('combination': all of 2 one-sided tests")
    assert "correlation" in combo


def test_a_protocol_prints_its_outline() -> None:
    protocol = make_protocol(factorial(), figures=False)
    lines = repr(protocol).splitlines()
    assert lines[0].startswith("Protocol: Sample size and statistical analysis plan (")
    headings = [b.text for b in protocol.blocks if b.kind == "heading"][1:]
    assert [line.strip() for line in lines[1:]] == headings
