"""Randomization schedules: permuted blocks and Pocock-Simon minimization.

Expected values here come from the definition of the methods (Matts & Lachin
1988; Pocock & Simon 1975), from counts recomputed independently in the test
with collections.Counter / numpy, from hand calculations written out in the
comments, or from the exact sampling distributions of the counts (binomial,
multinomial) -- never from trialplan's own output.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import trialplan as tp
from trialplan.randomization import Minimization, permuted_blocks

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
CELLS = list(itertools.product(*FACTORS.values()))


def factorial(n_per_cell: int | dict = 50) -> tp.Factorial:
    means = {
        ("sham", "control"): 0.0,
        ("active", "control"): -3.0,
        ("sham", "MBI"): -2.0,
        ("active", "MBI"): -8.0,
    }
    return tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=means, sd=8.0), n_per_cell=n_per_cell
    )


ARMS = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")


def parallel(n_per_arm: int | dict = 60, arms: tuple[str, ...] = ARMS) -> tp.Parallel:
    return tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(means={a: -10.0 - i for i, a in enumerate(arms)}, sd=8.0),
        n_per_arm=n_per_arm,
    )


@dataclass(frozen=True)
class SmartStandIn:
    """The pinned SMART attributes the randomization reads (stage1, stage2)."""

    stage1: tuple[str, ...] = ("rTMS", "rTMS+MBI")
    stage2: tuple[str, ...] = ("continue", "augment")


def real_smart(**allocation) -> tp.SMART:
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
        **allocation,
    )


def smart_designs() -> list:
    return [
        pytest.param(SmartStandIn(), id="SMART-stand-in"),
        pytest.param(real_smart(), id="tp.SMART"),
    ]


def treatment_key(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


# ----------------------------------------------------------------------------
# Exact balance within every completed block (Matts & Lachin 1988, section 2)
# ----------------------------------------------------------------------------
CASES = [
    # (id, design factory, kwargs, treatment columns, {treatment: ratio})
    pytest.param(
        lambda: factorial(),
        dict(block_sizes=(4, 8)),
        ["rTMS", "MBI"],
        {c: 1 for c in CELLS},
        id="factorial-1:1:1:1-blocks-4-8",
    ),
    pytest.param(
        lambda: factorial({CELLS[0]: 40, CELLS[1]: 20, CELLS[2]: 20, CELLS[3]: 20}),
        dict(block_sizes=(5, 10)),
        ["rTMS", "MBI"],
        {CELLS[0]: 2, CELLS[1]: 1, CELLS[2]: 1, CELLS[3]: 1},
        id="factorial-2:1:1:1-from-n_per_cell",
    ),
    pytest.param(
        lambda: parallel({ARMS[0]: 80, ARMS[1]: 40, ARMS[2]: 40}),
        dict(block_sizes=(4, 8, 12)),
        ["arm"],
        {(ARMS[0],): 2, (ARMS[1],): 1, (ARMS[2],): 1},
        id="parallel-2:1:1",
    ),
    pytest.param(
        lambda: parallel(60, arms=("control", "active")),
        dict(block_sizes=(3, 6), ratios={"control": 1, "active": 2}),
        ["arm"],
        {("control",): 1, ("active",): 2},
        id="parallel-ratios-override-1:2",
    ),
    pytest.param(
        real_smart,
        dict(block_sizes=(2, 4), stage=1),
        ["stage1"],
        {("rTMS",): 1, ("rTMS+MBI",): 1},
        id="SMART-stage1",
    ),
    pytest.param(
        real_smart,
        dict(block_sizes=(2, 4, 6), stage=2),
        ["stage2"],
        {("continue",): 1, ("augment",): 1},
        id="SMART-stage2",
    ),
]


@pytest.mark.parametrize(("make", "kwargs", "columns", "ratios"), CASES)
def test_every_block_is_exactly_balanced(make, kwargs, columns, ratios) -> None:
    strata = {"site": ("A", "B", "C"), "severity": ("moderate", "severe")}
    sched = permuted_blocks(make(), n=37, strata=strata, seed=11, **kwargs)
    frame = sched.to_frame(blocks=True)
    total = sum(ratios.values())
    stratum_vars = list(strata) + (["stage1"] if kwargs.get("stage") == 2 else [])
    n_blocks = 0
    for _, block in frame.groupby(stratum_vars + ["block"]):
        size = int(block["block_size"].iloc[0])
        assert (block["block_size"] == size).all()
        assert size in kwargs["block_sizes"]
        assert len(block) == size
        got = Counter(treatment_key(block, columns))
        assert got == {t: size * r // total for t, r in ratios.items()}
        n_blocks += 1
    assert n_blocks > 6 * 37 / max(kwargs["block_sizes"])
    for _, lst in frame.groupby(stratum_vars):
        # each stratum's list runs 1..L, L >= n, and stops at the first block that reaches n
        assert lst["sequence"].tolist() == list(range(1, len(lst) + 1))
        assert 37 <= len(lst) < 37 + max(kwargs["block_sizes"])
        last = lst[lst["block"] == lst["block"].max()]
        assert last["sequence"].min() <= 37


@settings(max_examples=30, deadline=None)
@given(
    ratios=st.lists(st.integers(1, 3), min_size=2, max_size=4),
    multiples=st.sets(st.integers(1, 3), min_size=1, max_size=3),
    n=st.integers(1, 30),
    seed=st.integers(0, 2**32),
)
def test_any_ratios_give_balanced_blocks(ratios, multiples, n, seed) -> None:
    # property: for any integer ratios, each block holds each arm size*r/sum(r) times
    arms = tuple(f"arm{i}" for i in range(len(ratios)))
    unit = sum(ratios) // math.gcd(*ratios)
    sizes = tuple(sorted(m * unit for m in multiples))
    design = parallel({a: 10 * r for a, r in zip(arms, ratios, strict=True)}, arms=arms)
    frame = permuted_blocks(design, n=n, block_sizes=sizes, seed=seed).to_frame(blocks=True)
    reduced = [r // math.gcd(*ratios) for r in ratios]
    for _, block in frame.groupby("block"):
        size = len(block)
        assert size == block["block_size"].iloc[0]
        assert Counter(block["arm"]) == {
            a: size * r // unit for a, r in zip(arms, reduced, strict=True)
        }
    assert n <= len(frame) < n + max(sizes)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda: factorial(), (4, 8), id="2x2-1:1:1:1"),
        pytest.param(lambda: parallel(60), (3, 6), id="three-arms-1:1:1"),
        pytest.param(
            lambda: parallel({ARMS[0]: 90, ARMS[1]: 30, ARMS[2]: 30}),
            (5, 10),
            id="three-arms-3:1:1",
        ),
    ],
)
def test_default_block_sizes_are_one_and_two_ratio_sums(make, expected) -> None:
    sched = permuted_blocks(make(), n=10, seed=1)
    assert sched.block_sizes == expected
    assert set(sched.to_frame(blocks=True)["block_size"]) <= set(expected)


def test_pinned_example_columns_and_strata() -> None:
    # DESIGN.md: columns "sequence", one per stratum variable, one per factor (its level)
    sched = tp.randomization.permuted_blocks(
        factorial(),
        n=200,
        block_sizes=(4, 8),
        strata={"site": ("A", "B"), "severity": ("moderate", "severe")},
        seed=2026,
    )
    frame = sched.to_frame()
    assert list(frame.columns) == ["sequence", "site", "severity", "rTMS", "MBI"]
    assert set(map(tuple, frame[["site", "severity"]].drop_duplicates().to_numpy())) == {
        ("A", "moderate"),
        ("A", "severe"),
        ("B", "moderate"),
        ("B", "severe"),
    }
    assert set(frame["rTMS"]) == {"sham", "active"}
    assert set(frame["MBI"]) == {"control", "MBI"}


@pytest.mark.parametrize("design", smart_designs())
def test_smart_stage2_lists_are_stratified_by_stage1_arm(design) -> None:
    sched = permuted_blocks(
        design, n=10, block_sizes=(2, 4), strata={"site": ("A", "B")}, stage=2, seed=3
    )
    frame = sched.to_frame()
    assert list(frame.columns) == ["sequence", "site", "stage1", "stage2"]
    lists = frame.groupby(["site", "stage1"]).size()
    assert len(lists) == 4
    assert (lists >= 10).all()
    one = sched.stratum(site="A", stage1="rTMS+MBI")
    assert Counter(one["stage2"]) == {"continue": len(one) // 2, "augment": len(one) // 2}
    stage1 = permuted_blocks(design, n=10, block_sizes=(2, 4), stage=1, seed=3).to_frame()
    assert list(stage1.columns) == ["sequence", "stage1"]


def test_smart_allocation_probabilities_become_block_ratios() -> None:
    # stage 1 randomized 1:2; non-responders to rTMS re-randomized 1:2
    # (continue:augment), to rTMS+MBI 1:1.  Blocks must then be multiples of
    # lcm(3, 2) = 6 for stage 2, and each block holds size/3 and 2*size/3 (rTMS
    # lists) or size/2 each (rTMS+MBI lists).
    design = real_smart(
        stage1_allocation={"rTMS": 1 / 3, "rTMS+MBI": 2 / 3},
        stage2_allocation={
            ("rTMS", "continue"): 1 / 3,
            ("rTMS", "augment"): 2 / 3,
            ("rTMS+MBI", "continue"): 0.5,
            ("rTMS+MBI", "augment"): 0.5,
        },
    )
    stage1 = permuted_blocks(design, n=30, block_sizes=(3, 6), stage=1, seed=4)
    for _, block in stage1.to_frame(blocks=True).groupby("block"):
        size = len(block)
        assert Counter(block["stage1"]) == {"rTMS": size // 3, "rTMS+MBI": 2 * size // 3}
    with pytest.raises(
        ValueError,
        match=r"multiples of 3, the sum of the allocation ratios "
        r"1:2 \(stage1=rTMS\).*e\.g\. use \(6, 12\)",
    ):
        permuted_blocks(design, n=30, block_sizes=(4, 8), stage=2, seed=4)
    stage2 = permuted_blocks(
        design, n=30, block_sizes=(6, 12), stage=2, strata={"site": ("A", "B")}, seed=4
    )
    want = {"rTMS": {"continue": 1, "augment": 2}, "rTMS+MBI": {"continue": 1, "augment": 1}}
    for (_, arm, _), block in stage2.to_frame(blocks=True).groupby(["site", "stage1", "block"]):
        size, ratio = len(block), want[arm]
        assert Counter(block["stage2"]) == {
            o: size * r // sum(ratio.values()) for o, r in ratio.items()
        }
    bal = stage2.balance()
    rows = bal[bal.stratum == "site=A, stage1=rTMS"]
    n_list = int(rows.n.sum())
    assert rows.set_index("level").target.to_dict() == {
        "continue": n_list / 3,
        "augment": 2 * n_list / 3,
    }
    assert "continue=1, augment=2 (stage1=rTMS)" in "\n".join(stage2.header())
    with pytest.raises(ValueError, match="equal allocation only"):
        Minimization(design, factors={"site": ("A", "B")}, stage=1)


# ----------------------------------------------------------------------------
# Marginal proportions over many seeds / streams
# ----------------------------------------------------------------------------
def test_each_position_has_the_target_probability_over_many_seeds() -> None:
    # With permuted blocks every position of the list is assigned to a treatment
    # with probability equal to its allocation share (Rosenberger & Lachin 2016,
    # section 3.5).  Arms 2:1, blocks 3 or 6: P(control) = 2/3 at each of the first
    # 6 positions.  600 seeds; each count is Binomial(600, 2/3): tolerance 4.5 SE,
    # and the 6 counts jointly by a chi-square goodness-of-fit test at 1e-4.
    design = parallel({"control": 40, "active": 20}, arms=("control", "active"))
    hits = np.zeros(6)
    m = 600
    for seed in range(m):
        arms = permuted_blocks(design, n=6, block_sizes=(3, 6), seed=seed).to_frame()["arm"]
        hits += arms.to_numpy()[:6] == "control"
    se = math.sqrt(m * 2 / 3 * 1 / 3)
    assert np.all(np.abs(hits - m * 2 / 3) < 4.5 * se), hits
    chi2 = np.sum((hits - m * 2 / 3) ** 2 / (m * 2 / 3 * 1 / 3))
    assert stats.chi2.sf(chi2, df=6) > 1e-4


def test_orders_within_a_block_are_uniform_over_permutations() -> None:
    # A 2x2 block of size 4 holds each cell once; all 4! = 24 orders are equally
    # likely.  3600 strata (independent streams), expected 150 per order;
    # chi-square goodness of fit, df = 23, must not reject at 1e-4.
    strata = {"site": tuple(f"s{i}" for i in range(3600))}
    frame = permuted_blocks(factorial(), n=4, block_sizes=4, strata=strata, seed=99).to_frame()
    orders = Counter(
        tuple(map(tuple, part[["rTMS", "MBI"]].to_numpy()))
        for _, part in frame.groupby("site", sort=False)
    )
    assert len(orders) == 24
    counts = np.array(list(orders.values()))
    assert stats.chisquare(counts).pvalue > 1e-4


def test_block_sizes_follow_block_probs() -> None:
    # The first block's size is 8 with probability 0.75: over 2000 strata the
    # count is Binomial(2000, 0.75); tolerance 4.5 SE.
    strata = {"site": tuple(range(2000))}
    frame = permuted_blocks(
        factorial(), n=1, block_sizes=(4, 8), block_probs=(0.25, 0.75), strata=strata, seed=5
    ).to_frame(blocks=True)
    firsts = frame[frame["sequence"] == 1]["block_size"].to_numpy()
    big = int(np.sum(firsts == 8))
    assert abs(big - 1500) < 4.5 * math.sqrt(2000 * 0.75 * 0.25)


# ----------------------------------------------------------------------------
# Reproducibility and the per-stratum streams
# ----------------------------------------------------------------------------
def test_same_seed_same_schedule_and_bytes(tmp_path) -> None:
    kwargs = dict(n=40, block_sizes=(4, 8), strata={"site": ("A", "B")}, seed=2026)
    one = permuted_blocks(factorial(), **kwargs)
    two = permuted_blocks(factorial(), **kwargs)
    pd.testing.assert_frame_equal(one.to_frame(blocks=True), two.to_frame(blocks=True))
    a = one.to_csv(tmp_path / "a.csv").read_bytes()
    b = two.to_csv(tmp_path / "b.csv").read_bytes()
    assert a == b
    other = permuted_blocks(factorial(), **{**kwargs, "seed": 2027}).to_frame()
    assert not other.equals(one.to_frame())
    ss = permuted_blocks(factorial(), **{**kwargs, "seed": np.random.SeedSequence(2026)})
    pd.testing.assert_frame_equal(ss.to_frame(), one.to_frame())


def test_adding_or_reordering_strata_leaves_other_lists_unchanged() -> None:
    two = permuted_blocks(factorial(), n=24, strata={"site": ("A", "B")}, seed=8)
    three = permuted_blocks(factorial(), n=24, strata={"site": ("C", "B", "A")}, seed=8)
    for site in ("A", "B"):
        pd.testing.assert_frame_equal(two.stratum(site=site), three.stratum(site=site))
    assert not two.stratum(site="A").equals(two.stratum(site="B").assign(site="A"))


def test_unseeded_schedule_records_its_entropy() -> None:
    sched = permuted_blocks(factorial(), n=8)
    again = permuted_blocks(factorial(), n=8, seed=sched.seed.entropy)
    pd.testing.assert_frame_equal(sched.to_frame(), again.to_frame())


# ----------------------------------------------------------------------------
# CSV export, blinding, balance summary
# ----------------------------------------------------------------------------
def test_csv_header_records_provenance_and_blinds_blocks(tmp_path) -> None:
    sched = permuted_blocks(
        factorial(), n=16, block_sizes=(4, 8), strata={"site": ("A", "B")}, seed=2026
    )
    path = sched.to_csv(tmp_path / "blinded.csv")
    lines = path.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    assert f"# trialplan_version: {tp.__version__}" in header
    assert "# seed: 2026" in header
    assert "# block_sizes: 4, 8" in header
    assert any(ln.startswith(f"# numpy_version: {np.__version__}") for ln in header)
    assert "# strata: site=(A, B)" in header
    assert any(ln.startswith("# blinded: yes") for ln in header)
    blinded = pd.read_csv(path, comment="#")
    assert list(blinded.columns) == ["sequence", "site", "rTMS", "MBI"]
    assert "block_size" not in path.read_text().split("\n", len(header))[-1]
    pd.testing.assert_frame_equal(blinded, sched.to_frame())
    master = pd.read_csv(sched.to_csv(tmp_path / "master.csv", blocks=True), comment="#")
    assert list(master.columns) == ["sequence", "site", "rTMS", "MBI", "block", "block_size"]


def test_describe_states_ratio_units_strata_and_seed_but_not_block_sizes() -> None:
    sched = permuted_blocks(
        parallel({ARMS[0]: 60, ARMS[1]: 30, ARMS[2]: 30}),
        n=30,
        block_sizes=(4, 8),
        strata={"site": ("A", "B"), "severity": ("mild", "severe")},
        seed=77,
    )
    text = sched.describe()
    assert text.startswith(
        "Participants will be randomized 2:1:1 to one of three arms "
        "(rTMS alone, MBI then rTMS, rTMS with concurrent MBI) by permuted "
        "blocks of random size, stratified by site and severity"
    )
    assert text.endswith(f"(trialplan {tp.__version__}, seed 77).")
    assert "4" not in text.replace(tp.__version__, "")  # block sizes stay hidden
    smart = permuted_blocks(real_smart(), n=10, stage=2, seed=5).describe()
    assert smart.startswith(
        "Non-responders will be re-randomized 1:1 to one of two stage-2 "
        "options (continue, augment) by permuted blocks of random size, "
        "stratified by stage-1 arm"
    )


def test_balance_matches_an_independent_count() -> None:
    sched = permuted_blocks(
        parallel({ARMS[0]: 60, ARMS[1]: 30, ARMS[2]: 30}),
        n=30,
        block_sizes=(4, 8),
        strata={"site": ("A", "B")},
        seed=4,
    )
    frame = sched.to_frame()
    for n_enrolled in (None, 7):
        bal = sched.balance(n_enrolled=n_enrolled)
        part = frame if n_enrolled is None else frame[frame["sequence"] <= n_enrolled]
        for site in ("A", "B"):
            rows = part[part["site"] == site]
            want = Counter(rows["arm"])
            got = bal[(bal.stratum == f"site={site}") & (bal.variable == "treatment")]
            assert dict(zip(got.level, got.n, strict=True)) == {a: want.get(a, 0) for a in ARMS}
            shares = {ARMS[0]: 0.5, ARMS[1]: 0.25, ARMS[2]: 0.25}
            assert np.allclose(got.target, [shares[a] * len(rows) for a in got.level])
        overall = bal[(bal.stratum == "all") & (bal.variable == "treatment")]
        assert overall.n.sum() == len(part)


def test_factorial_balance_reports_each_factor_margin() -> None:
    sched = permuted_blocks(factorial(), n=12, block_sizes=(4, 8), seed=21)
    bal = sched.balance(n_enrolled=5)
    frame = sched.to_frame()
    first5 = frame[frame["sequence"] <= 5]
    for factor in FACTORS:
        got = bal[(bal.stratum == "all") & (bal.variable == factor)]
        assert dict(zip(got.level, got.n, strict=True)) == dict(Counter(first5[factor]))
        assert got.target.tolist() == [2.5, 2.5]


# ----------------------------------------------------------------------------
# Bad input: parameter, value and what is allowed (with did-you-mean)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "fragments"),
    [
        pytest.param(
            dict(block_sizes=(4, 6)),
            ValueError,
            ["block_sizes must be multiples of 4", "(4, 6)"],
            id="block-not-multiple",
        ),
        pytest.param(
            dict(block_sizes=(0, 4)), ValueError, ["block_sizes", ">= 1", "0"], id="block-zero"
        ),
        pytest.param(dict(block_sizes="4"), TypeError, ["block_sizes", "'4'"], id="block-str"),
        pytest.param(
            dict(block_probs=(0.7, 0.7)), ValueError, ["block_probs", "sum to 1"], id="probs-sum"
        ),
        pytest.param(dict(n=0), ValueError, ["n must be a whole number >= 1", "n=0"], id="n-zero"),
        pytest.param(
            dict(strata=["site"]),
            TypeError,
            ["strata must be a mapping", "['site']"],
            id="strata-not-mapping",
        ),
        pytest.param(
            dict(strata={"site": ("A", "A")}),
            ValueError,
            ["twice", "('A', 'A')"],
            id="strata-duplicate-level",
        ),
        pytest.param(
            dict(strata={"site": ()}),
            ValueError,
            ["non-empty", "strata['site']"],
            id="strata-empty",
        ),
        pytest.param(
            dict(strata={"rTMS": ("A", "B")}),
            ValueError,
            ["'rTMS'", "clashes"],
            id="strata-clash-factor",
        ),
        pytest.param(
            dict(strata={"sequence": ("A", "B")}),
            ValueError,
            ["'sequence'", "clashes"],
            id="strata-clash-reserved",
        ),
        pytest.param(
            dict(seed=np.random.default_rng(1)),
            TypeError,
            ["seed", "Generator"],
            id="seed-generator",
        ),
        pytest.param(dict(seed=-3), TypeError, ["seed", "-3"], id="seed-negative"),
        pytest.param(dict(stage=1), ValueError, ["stage=1", "SMART"], id="stage-non-smart"),
        pytest.param(
            dict(ratios={c: 1.5 for c in CELLS}),
            ValueError,
            ["ratios must be positive whole numbers", "1.5"],
            id="ratio-fraction",
        ),
        pytest.param(
            dict(ratios={c: 0 for c in CELLS}),
            ValueError,
            ["ratios must be positive whole numbers", "=0"],
            id="ratio-zero",
        ),
        pytest.param(
            dict(ratios={c: -1 for c in CELLS}), ValueError, ["ratios", "-1"], id="ratio-negative"
        ),
        pytest.param(
            dict(ratios={CELLS[0]: 1}), ValueError, ["ratios is missing"], id="ratio-missing-cell"
        ),
        pytest.param(
            dict(ratios={("sham", "contrl"): 1}),
            ValueError,
            ["'contrl'", "did you mean the cell sham+control"],
            id="ratio-typo-cell",
        ),
        pytest.param(
            dict(ratios=[1, 1, 1, 1]),
            TypeError,
            ["ratios must be a mapping"],
            id="ratio-not-mapping",
        ),
    ],
)
def test_permuted_blocks_rejects_bad_input(kwargs, error, fragments) -> None:
    args = dict(n=20, block_sizes=(4, 8), seed=1) | kwargs
    with pytest.raises(error) as info:
        permuted_blocks(factorial(), **args)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_ratio_sum_drives_the_block_size_rule() -> None:
    design = parallel({ARMS[0]: 80, ARMS[1]: 40, ARMS[2]: 40})  # 2:1:1, sum 4
    with pytest.raises(
        ValueError,
        match=r"multiples of 4, the sum of the allocation ratios "
        r"2:1:1",
    ):
        permuted_blocks(design, n=10, block_sizes=(3, 6), seed=1)
    with pytest.raises(ValueError, match=r"'rTMS alon'.*did you mean 'rTMS alone'"):
        permuted_blocks(
            design, n=10, block_sizes=4, seed=1, ratios={"rTMS alon": 1, ARMS[1]: 1, ARMS[2]: 1}
        )


def test_smart_needs_a_stage_and_unknown_designs_are_refused() -> None:
    with pytest.raises(ValueError, match="stage=None: a SMART randomizes twice"):
        permuted_blocks(real_smart(), n=10, block_sizes=2, seed=1)
    with pytest.raises(ValueError, match=r"stage must be 1 .* got stage=3"):
        permuted_blocks(real_smart(), n=10, block_sizes=2, seed=1, stage=3)
    with pytest.raises(
        TypeError,
        match=r"design must be a trialplan design .* got "
        r"design=\('A', 'B'\)",
    ):
        permuted_blocks(("A", "B"), n=10, seed=1)


def test_stratum_lookup_suggests_the_closest_level() -> None:
    sched = permuted_blocks(factorial(), n=8, strata={"site": ("Leeds", "London")}, seed=1)
    with pytest.raises(
        ValueError,
        match=r"'Londn' is not a level of 'site'.*did you mean "
        r"'London'",
    ):
        sched.stratum(site="Londn")
    with pytest.raises(
        ValueError,
        match=r"'sit' is not a stratification variable.*did you "
        r"mean 'site'",
    ):
        sched.stratum(sit="Leeds")
    with pytest.raises(ValueError, match=r"missing \['site'\]"):
        sched.stratum()


# ----------------------------------------------------------------------------
# Minimization (Pocock & Simon 1975)
# ----------------------------------------------------------------------------
MIN_FACTORS = {"site": ("A", "B", "C"), "sex": ("F", "M"), "severity": ("moderate", "severe")}


def draw_covariates(rng: np.random.Generator, n: int) -> list[dict]:
    # unequal prevalences so that simple randomization drifts
    site = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    sex = rng.random(n) < 0.65
    severe = rng.random(n) < 0.4
    return [
        {
            "site": MIN_FACTORS["site"][s],
            "sex": "F" if f else "M",
            "severity": "severe" if v else "moderate",
        }
        for s, f, v in zip(site, sex, severe, strict=True)
    ]


def marginal_imbalance(covariates: list[dict], cells: list[int], k: int) -> int:
    """Sum over factor levels of (max - min) of the counts across the k cells."""
    total = 0
    for factor, levels in MIN_FACTORS.items():
        for level in levels:
            counts = np.bincount(
                [c for cov, c in zip(covariates, cells, strict=True) if cov[factor] == level],
                minlength=k,
            )
            total += int(counts.max() - counts.min())
    return total


def test_minimization_beats_simple_randomization_in_simulation() -> None:
    # 150 simulated 2x2 trials of 80 participants, three factors.  Mean total
    # marginal imbalance (sum over the 7 factor levels of the range across
    # cells): minimization (p = 0.8) must be lower than simple randomization
    # by more than 4 standard errors of the paired difference, and at most
    # half of it.
    root = np.random.SeedSequence(20260601)
    design = factorial()
    diffs, mins, simples = [], [], []
    for child in root.spawn(150):
        cov_ss, alloc_ss, simple_ss = child.spawn(3)
        covs = draw_covariates(np.random.default_rng(cov_ss), 80)
        alloc = Minimization(design, factors=MIN_FACTORS, p=0.8, seed=alloc_ss)
        cells = [CELLS.index(alloc.assign(c)) for c in covs]
        simple = np.random.default_rng(simple_ss).integers(4, size=80).tolist()
        m, s = marginal_imbalance(covs, cells, 4), marginal_imbalance(covs, simple, 4)
        mins.append(m)
        simples.append(s)
        diffs.append(s - m)
    diffs = np.array(diffs)
    assert diffs.mean() > 4 * diffs.std(ddof=1) / math.sqrt(diffs.size)
    assert np.mean(mins) < 0.5 * np.mean(simples)


def recompute_scores(
    history: list[tuple[dict, int]], cov: dict, k: int, weights: dict | None = None
) -> np.ndarray:
    """Pocock-Simon G_k from scratch: range of counts at the patient's levels."""
    weights = weights or {}
    scores = np.zeros(k)
    for j in range(k):
        for factor in cov:
            counts = np.zeros(k)
            for past, cell in history:
                if past[factor] == cov[factor]:
                    counts[cell] += 1
            counts[j] += 1
            scores[j] += weights.get(factor, 1.0) * (counts.max() - counts.min())
    return scores


@pytest.mark.parametrize(
    "p", [pytest.param(1.0, id="deterministic"), pytest.param(0.8, id="biased-coin-0.8")]
)
def test_audit_log_scores_and_choices_agree_with_recomputation(p: float) -> None:
    covs = draw_covariates(np.random.default_rng(3), 60)
    weights = {"site": 2.0, "sex": 1.0, "severity": 0.5}
    alloc = Minimization(factorial(), factors=MIN_FACTORS, p=p, weights=weights, seed=17)
    history: list[tuple[dict, int]] = []
    labels = ["+".join(c) for c in CELLS]
    for cov in covs:
        expected = recompute_scores(history, cov, 4, weights)
        cell = CELLS.index(alloc.assign(cov))
        row = alloc.log().iloc[-1]
        assert np.allclose([row[f"G[{lab}]"] for lab in labels], expected)
        preferred = set(np.flatnonzero(expected == expected.min()))
        if p == 1.0:
            assert cell in preferred
        assert row["assigned"] == labels[cell]
        assert (row["rTMS"], row["MBI"]) == CELLS[cell]
        history.append((cov, cell))
    counts = alloc.counts()
    for factor, levels in MIN_FACTORS.items():
        for level in levels:
            want = np.bincount([c for cov, c in history if cov[factor] == level], minlength=4)
            assert counts.loc[(factor, level)].tolist() == want.tolist()


def test_biased_coin_picks_a_non_preferred_treatment_with_probability_1_minus_p() -> None:
    # Among assignments where not every treatment ties, the chosen one is outside
    # the preferred set with probability 1 - p = 0.3 exactly (Pocock & Simon
    # 1975).  Count over 3000 assignments; Binomial tolerance 4.5 SE.
    rng = np.random.default_rng(8)
    alloc = Minimization(
        parallel(60, arms=("control", "active")), factors={"site": ("A", "B", "C")}, p=0.7, seed=9
    )
    for _ in range(3000):
        alloc.assign({"site": ("A", "B", "C")[rng.integers(3)]})
    log = alloc.log()
    contested = log[log["rule"] != "all tied: uniform"]
    away = (contested["rule"] == "biased coin: non-preferred").to_numpy()
    not_preferred = np.array(
        [
            a not in pref.split(", ")
            for a, pref in zip(contested["assigned"], contested["preferred"], strict=True)
        ]
    )
    assert np.array_equal(away, not_preferred)
    m = len(contested)
    assert m > 1000
    assert abs(away.sum() - 0.3 * m) < 4.5 * math.sqrt(m * 0.3 * 0.7)


def test_first_assignment_is_uniform_over_cells() -> None:
    # All cells tie for the first participant: uniform over the 4 cells.
    # 2000 seeds, chi-square goodness of fit (df = 3) must not reject at 1e-4.
    design = factorial()
    counts = Counter(
        Minimization(design, factors={"site": ("A", "B")}, seed=s).assign({"site": "A"})
        for s in range(2000)
    )
    assert set(counts) == set(CELLS)
    assert stats.chisquare([counts[c] for c in CELLS]).pvalue > 1e-4


def test_hand_computed_scores_two_arms() -> None:
    # Recorded so far: A <- (F, young), (F, old), (M, young); B <- (M, old).
    # New participant (F, young).  At sex=F the counts are A=2, B=0; at
    # age=young A=2, B=0.  Adding to A: ranges 3 and 3, G_A = 6; adding to B:
    # ranges 1 and 1, G_B = 2 (Pocock & Simon 1975, range criterion).  With
    # the variance criterion (n - 1 divisor): var(3, 0) = 4.5 and var(2, 1) =
    # 0.5, so G_A = 9 and G_B = 1.  p = 1 must assign B.
    design = parallel(20, arms=("A", "B"))
    factors = {"sex": ("F", "M"), "age": ("young", "old")}
    for imbalance, want in (("range", {"A": 6.0, "B": 2.0}), ("variance", {"A": 9.0, "B": 1.0})):
        alloc = Minimization(design, factors=factors, p=1.0, imbalance=imbalance, seed=0)
        for cov, arm in (
            ({"sex": "F", "age": "young"}, "A"),
            ({"sex": "F", "age": "old"}, "A"),
            ({"sex": "M", "age": "young"}, "A"),
            ({"sex": "M", "age": "old"}, "B"),
        ):
            alloc.record(cov, arm)
        assert alloc.imbalance_scores({"sex": "F", "age": "young"}) == want
        assert alloc.assign({"sex": "F", "age": "young"}) == "B"
        assert alloc.n_assigned == 5
        assert alloc.log()["rule"].tolist()[:4] == ["recorded"] * 4


def test_minimization_is_reproducible_from_its_seed(tmp_path) -> None:
    covs = draw_covariates(np.random.default_rng(1), 40)
    runs = []
    for _ in range(2):
        alloc = Minimization(factorial(), factors=MIN_FACTORS, seed=123)
        runs.append([alloc.assign(c) for c in covs])
    assert runs[0] == runs[1]
    other = Minimization(factorial(), factors=MIN_FACTORS, seed=124)
    assert [other.assign(c) for c in covs] != runs[0]
    text = alloc.to_csv(tmp_path / "audit.csv").read_text()
    assert "# seed: 123" in text
    assert f"# trialplan_version: {tp.__version__}" in text
    assert len(pd.read_csv(tmp_path / "audit.csv", comment="#")) == 40


def test_minimization_over_parallel_arms_and_smart_stage2() -> None:
    alloc = Minimization(parallel(), factors={"site": ("A", "B")}, p=0.9, seed=2)
    assert alloc.assign({"site": "A"}) in ARMS
    smart = Minimization(real_smart(), factors={"site": ("A", "B")}, stage=2, seed=2)
    assert "stage1" in smart.factors
    assert smart.assign({"site": "A", "stage1": "rTMS"}) in ("continue", "augment")


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        pytest.param(
            dict(p=0.2), ValueError, r"p must lie in \(1/4, 1\] .* got p=0.2", id="p-too-small"
        ),
        pytest.param(dict(p=1.5), ValueError, r"p must lie in \(1/4, 1\].*p=1.5", id="p-above-1"),
        pytest.param(
            dict(factors={}), ValueError, r"at least one minimization factor", id="no-factors"
        ),
        pytest.param(
            dict(weights={"sit": 1.0}), ValueError, r"'sit'.*did you mean 'site'", id="weights-typo"
        ),
        pytest.param(
            dict(weights={"site": -1.0}), ValueError, r"weights must be >= 0", id="weights-negative"
        ),
        pytest.param(
            dict(imbalance="rnge"),
            ValueError,
            r"imbalance='rnge' is not allowed.*did you mean 'range'",
            id="imbalance-typo",
        ),
        pytest.param(dict(seed="x"), TypeError, r"seed must be", id="seed-str"),
    ],
)
def test_minimization_rejects_bad_settings(kwargs, error, pattern) -> None:
    args = dict(factors={"site": ("A", "B")}, seed=1) | kwargs
    with pytest.raises(error, match=pattern):
        Minimization(factorial(), **args)


def test_minimization_rejects_unequal_allocation() -> None:
    with pytest.raises(ValueError, match=r"equal allocation only.* 2:1:1"):
        Minimization(
            parallel({ARMS[0]: 80, ARMS[1]: 40, ARMS[2]: 40}), factors={"site": ("A",)}, seed=1
        )


@pytest.mark.parametrize(
    ("covariates", "pattern"),
    [
        pytest.param(
            {"site": "Londn", "sex": "F"},
            r"'Londn' is not a level of 'site', whose levels are \('Leeds', 'London'\) "
            r"\(did you mean 'London'\?\)",
            id="level-typo",
        ),
        pytest.param(
            {"sit": "Leeds", "sex": "F"},
            r"'sit' is not a stratification variable.*did you mean 'site'",
            id="factor-typo",
        ),
        pytest.param({"site": "Leeds"}, r"missing \['sex'\]", id="factor-missing"),
    ],
)
def test_assign_rejects_unknown_covariates(covariates, pattern) -> None:
    alloc = Minimization(
        factorial(), factors={"site": ("Leeds", "London"), "sex": ("F", "M")}, seed=1
    )
    with pytest.raises(ValueError, match=pattern):
        alloc.assign(covariates)
    assert alloc.n_assigned == 0  # a refused participant leaves no trace
    with pytest.raises(ValueError, match=r"'sham\+contrl'|did you mean the cell"):
        alloc.record({"site": "Leeds", "sex": "F"}, ("sham", "contrl"))


def test_numpy_arrays_are_accepted_where_lists_are() -> None:
    # np.array levels, block sizes and block probabilities were refused ("must
    # be a non-empty sequence"): arrays are not collections.abc.Sequence.  The
    # schedule must be the one the equal lists give, seed for seed.
    design = factorial()
    with_arrays = permuted_blocks(
        design,
        n=40,
        block_sizes=np.array([4, 8]),
        seed=7,
        block_probs=np.array([0.5, 0.5]),
        strata={"site": np.array(["A", "B"])},
    ).to_frame()
    with_lists = permuted_blocks(
        design,
        n=40,
        block_sizes=[4, 8],
        seed=7,
        block_probs=[0.5, 0.5],
        strata={"site": ["A", "B"]},
    ).to_frame()
    pd.testing.assert_frame_equal(with_arrays, with_lists)
    arrays = Minimization(design, factors={"site": np.array(["A", "B"])}, seed=3)
    lists = Minimization(design, factors={"site": ["A", "B"]}, seed=3)
    assert [arrays.assign({"site": s}) for s in "ABBA"] == [
        lists.assign({"site": s}) for s in "ABBA"
    ]
    with pytest.raises(
        TypeError,
        match=r"block_sizes must be a whole number or a non-empty "
        r"sequence of them.*got block_sizes=array",
    ):
        permuted_blocks(design, n=40, block_sizes=np.array([[4, 8]]), seed=7)
