"""Multiple hypotheses: procedures, joint power, family-wise error.

Expected numbers come from tests/references/multiplicity_mvtnorm.R (mvtnorm's
pmvt for the noncentral multivariate t, rectangles typed out by hand),
tests/references/factorial_power.R (min test), decisions worked by hand from
the published rules (Holm 1979; Hochberg 1988; Bretz et al. 2009), and
brute-force simulation of cell data written in this file.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import trialplan as tp
from trialplan.multiplicity import JointStatistics, graphical_test, hochberg_test

REFS = Path(__file__).parent / "references"
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MAIN3 = ["rTMS", "MBI", "rTMS:MBI"]


def design(mu=(0.0, -3.0, -2.0, -8.0), n=50, sd=8.0, **kw):
    """mu in the order (sham,control), (active,control), (sham,MBI), (active,MBI)."""
    cells = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
    sizes = n if isinstance(n, int) else dict(zip(cells, n, strict=True))
    return tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=dict(zip(cells, mu, strict=True)), sd=sd),
        n_per_cell=sizes,
        **kw,
    )


def fixture(name):
    with open(REFS / name, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return {(r["case"], r["quantity"]): float(r["value"]) for r in rows}


REF = fixture("multiplicity_mvtnorm.csv")


# ------------------------------------------------------- exact joint power vs R
def test_bonferroni_any_all_match_mvtnorm():
    # multiplicity_mvtnorm.R case 1: pmvt rectangles, shared df = 196
    res = design().power(multiplicity=tp.Bonferroni(MAIN3))
    assert res.any == pytest.approx(REF[("bonferroni-n50", "any")], abs=1e-6)
    assert res.all == pytest.approx(REF[("bonferroni-n50", "all")], abs=1e-6)
    assert "exact" in res.extras["any_method"]
    assert "exact" in res.extras["all_method"]


def test_bonferroni_per_hypothesis_is_marginal_power_at_alpha_over_m():
    # Bonferroni at alpha/3 is a plain two-sided t test at level 0.05/3: noncentral t
    # (scipy) with effects 4.5, 3.5, 3 (typed from the cell means), se = 8 sqrt(1/50)
    # for a main effect and 8 sqrt(4/50) for the interaction, df = 200 - 4.
    res = design().power(multiplicity=tp.Bonferroni(MAIN3))
    df, crit = 196, stats.t.isf(0.05 / 6, 196)
    for h, effect, se in (
        ("rTMS", -4.5, 8 / math.sqrt(50)),
        ("MBI", -3.5, 8 / math.sqrt(50)),
        ("rTMS:MBI", -3.0, 16 / math.sqrt(50)),
    ):
        expected = stats.nct.sf(crit, df, effect / se) + stats.nct.cdf(-crit, df, effect / se)
        assert res[h] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(
    "procedure",
    [
        pytest.param(tp.FixedSequence(["combination", "rTMS:MBI"]), id="fixed-sequence"),
        pytest.param(tp.Gatekeeping([["combination"], ["rTMS:MBI"]]), id="gatekeeping-singletons"),
    ],
)
def test_combination_then_interaction_matches_mvtnorm(procedure):
    # multiplicity_mvtnorm.R case 2: P(comb1, comb2 one-sided) and P(comb and |T_IC| > c)
    res = design().power(multiplicity=procedure)
    assert res["combination"] == pytest.approx(REF[("fixedseq-n50", "combination")], abs=1e-6)
    assert res["rTMS:MBI"] == pytest.approx(REF[("fixedseq-n50", "combination-and-IC")], abs=1e-6)
    assert res.all == pytest.approx(res["rTMS:MBI"], abs=1e-12)
    assert res.any == pytest.approx(res["combination"], abs=1e-12)


def test_min_test_equals_all_of_its_two_one_sided_tests():
    # multiplicity_mvtnorm.R case 6 (as min_test_power.csv "refs-116"): combination
    # better than each monotherapy by 3 and 4, sd 8, n 116, one-sided .025 each.
    # Testing the two simple effects in a fixed sequence and asking for "all" is the
    # intersection-union test.
    mu = (0.0, -4.0, -5.0, -8.0)
    d = design(mu=mu, n=116, alpha=0.025, sided=1)
    both = d.power(multiplicity=tp.FixedSequence(["rTMS | MBI=MBI", "MBI | rTMS=active"]))
    assert both.all == pytest.approx(REF[("min-test-n116", "all")], abs=5e-7)
    assert both.all == pytest.approx(d.power()["combination"], abs=1e-9)


@pytest.mark.parametrize("name", ["Holm", "Hochberg"])
def test_two_hypothesis_step_procedures_match_mvtnorm_rectangles(name):
    # multiplicity_mvtnorm.R case 3: unequal cells, corr(rTMS, IC) = -0.12; Holm's and
    # Hochberg's events written as unions of rectangles and integrated by pmvt.
    d = design(mu=(0.0, -3.0, -2.0, -8.0), n=(30, 60, 40, 70))
    proc = getattr(tp, name)(["rTMS", "rTMS:MBI"])
    case = f"{name.lower()}-unequal"
    res = d.power(multiplicity=proc)
    assert res.method == "analytic"
    assert res["rTMS"] == pytest.approx(REF[(case, "rTMS")], abs=1e-6)
    assert res["rTMS:MBI"] == pytest.approx(REF[(case, "IC")], abs=1e-6)
    if name == "Holm":
        assert res.all == pytest.approx(REF[("holm-unequal", "all")], abs=1e-6)
        joint = res.extras["joint"]
        assert joint.correlation[0, 1] == pytest.approx(
            REF[("holm-unequal", "correlation")], abs=1e-12
        )
    # the simulated joint law agrees within Monte Carlo error
    sim = d.power(multiplicity=proc, method="simulation", n_sims=100_000, seed=11)
    for h in ("rTMS", "rTMS:MBI"):
        assert abs(sim[h] - res[h]) < 4 * sim.mcse[h]
    assert abs(sim.all - res.all) < 4 * sim.extras["all_mcse"]
    assert abs(sim.any - res.any) < 4 * sim.extras["any_mcse"]


def test_holm_any_is_bonferroni_any():
    # Holm rejects at least one hypothesis exactly when Bonferroni does (Holm 1979)
    d = design(mu=(0.0, -3.0, -2.0, -8.0), n=(30, 60, 40, 70))
    holm = d.power(multiplicity=tp.Holm(MAIN3))
    bonf = d.power(multiplicity=tp.Bonferroni(MAIN3))
    assert holm.any == pytest.approx(bonf.any, abs=1e-12)


def test_simulation_method_agrees_with_exact_bonferroni():
    d = design()
    exact = d.power(multiplicity=tp.Bonferroni(MAIN3))
    sim = d.power(multiplicity=tp.Bonferroni(MAIN3), method="simulation", n_sims=40_000, seed=3)
    for h in MAIN3:
        assert abs(sim[h] - exact[h]) < 4 * sim.mcse[h]
    assert abs(sim.all - exact.all) < 4 * sim.extras["all_mcse"]


# ----------------------------------------------- brute-force simulation of trials
def brute_force_p_values(mu, n, sd, n_sims, seed):
    """Simulate cell means and the pooled variance (exact sufficient statistics) and
    return two-sided p-values for rTMS, MBI, rTMS:MBI (cells as in design())."""
    rng = np.random.default_rng(seed)
    mu = np.asarray(mu, dtype=float)
    means = rng.normal(mu, sd / math.sqrt(n), size=(n_sims, 4))
    df = 4 * (n - 1)
    s2 = sd**2 * rng.chisquare(df, size=n_sims) / df
    c = np.array(
        [
            [-0.5, 0.5, -0.5, 0.5],  # rTMS (active - sham)
            [-0.5, -0.5, 0.5, 0.5],  # MBI
            [1.0, -1.0, -1.0, 1.0],
        ]
    )  # interaction
    t = (means @ c.T) / np.sqrt(s2[:, None] * (c**2).sum(axis=1) / n)
    return 2 * stats.t.sf(np.abs(t), df)


@pytest.mark.parametrize(
    "procedure",
    [
        pytest.param(tp.Bonferroni(MAIN3), id="Bonferroni"),
        pytest.param(tp.Holm(MAIN3), id="Holm-1979"),
        pytest.param(tp.Hochberg(MAIN3), id="Hochberg-1988"),
        pytest.param(tp.FixedSequence(["rTMS:MBI", "rTMS", "MBI"]), id="fixed-sequence"),
        pytest.param(tp.Gatekeeping([["rTMS", "MBI"], ["rTMS:MBI"]]), id="serial-gatekeeping"),
        pytest.param(
            tp.Graphical(
                MAIN3,
                weights=[0.5, 0.5, 0],
                transitions=[[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]],
            ),
            id="graphical-Bretz2009",
        ),
    ],
)
@pytest.mark.parametrize(
    ("mu", "true_nulls"),
    [
        pytest.param((0, 0, 0, 0), [0, 1, 2], id="global-null"),
        # rTMS helps (-4 in both MBI arms), MBI and the interaction are null
        pytest.param((0, -4, 0, -4), [1, 2], id="partial-null"),
    ],
)
def test_familywise_error_at_most_alpha(procedure, mu, true_nulls):
    n_sims = 20_000
    p = brute_force_p_values(mu, n=30, sd=8.0, n_sims=n_sims, seed=2026)
    order = [MAIN3.index(h) for h in procedure.hypotheses]
    rejected = procedure.reject(p[:, order], alpha=0.05)
    nulls = [procedure.hypotheses.index(MAIN3[i]) for i in true_nulls]
    fwer = rejected[:, nulls].any(axis=1).mean()
    mcse = math.sqrt(0.05 * 0.95 / n_sims)
    assert fwer <= 0.05 + 3 * mcse


def test_joint_simulation_agrees_with_brute_force_trials():
    # Holm per-hypothesis power from simulated trial data (cell means + pooled variance)
    n_sims = 40_000
    p = brute_force_p_values((0.0, -3.0, -2.0, -8.0), n=50, sd=8.0, n_sims=n_sims, seed=99)
    rejected = tp.Holm(MAIN3).reject(p, alpha=0.05)
    res = design().power(multiplicity=tp.Holm(MAIN3), n_sims=100_000, seed=5)
    for j, h in enumerate(MAIN3):
        brute = rejected[:, j].mean()
        se = math.sqrt(brute * (1 - brute) / n_sims + res.mcse[h] ** 2)
        assert abs(res[h] - brute) < 4 * se


# ------------------------------------------------------ hand-worked decisions
# Rules: Holm (1979) step-down p_(i) <= alpha/(m-i+1), stop at first failure;
# Hochberg (1988) step-up, largest i with p_(i) <= alpha/(m-i+1).
@pytest.mark.parametrize(
    ("p", "bonferroni", "holm", "hochberg"),
    [
        # .01 <= .0167; then .03 > .025 stops Holm; Hochberg: .04 <= .05 rejects all
        pytest.param(
            (0.01, 0.04, 0.03),
            (True, False, False),
            (True, False, False),
            (True, True, True),
            id="holm-stops-hochberg-all",
        ),
        # .01 <= .0167, .02 <= .025, .04 <= .05: Holm rejects all; Bonferroni only .01
        pytest.param(
            (0.01, 0.04, 0.02),
            (True, False, False),
            (True, True, True),
            (True, True, True),
            id="holm-all",
        ),
        # .02 > .0167: nothing for Holm; Hochberg: .06 > .05, .04 > .025, .02 > .0167: nothing
        pytest.param(
            (0.02, 0.06, 0.04),
            (False, False, False),
            (False, False, False),
            (False, False, False),
            id="none",
        ),
        # Hochberg: p_(3)=.07 > .05, p_(2)=.024 <= .025 -> reject the two smallest
        pytest.param(
            (0.07, 0.02, 0.024),
            (False, False, False),
            (False, False, False),
            (False, True, True),
            id="hochberg-two",
        ),
    ],
)
def test_hand_worked_decisions(p, bonferroni, holm, hochberg):
    names = ["H1", "H2", "H3"]
    assert tuple(tp.Bonferroni(names).test(p).values()) == bonferroni
    assert tuple(tp.Holm(names).test(p).values()) == holm
    assert tuple(tp.Hochberg(names).test(p).values()) == hochberg


def test_fixed_sequence_and_gatekeeping_by_hand():
    fs = tp.FixedSequence(["H1", "H2", "H3"])
    assert fs.test([0.01, 0.06, 0.001]) == {"H1": True, "H2": False, "H3": False}
    assert fs.test([0.05, 0.05, 0.049]) == {"H1": True, "H2": True, "H3": True}
    gk = tp.Gatekeeping([["combination"], ["rTMS:MBI"]])
    assert gk.test({"combination": 0.051, "rTMS:MBI": 0.0001}) == {
        "combination": False,
        "rTMS:MBI": False,
    }
    # family 1 by Holm: .02 <= .025, then .045 <= .05 -> all rejected, family 2 at .05
    gk2 = tp.Gatekeeping([["rTMS", "MBI"], ["rTMS:MBI", "combination"]])
    assert gk2.test([0.02, 0.045, 0.03, 0.02]) == {
        "rTMS": True,
        "MBI": True,
        "rTMS:MBI": True,
        "combination": True,
    }
    # MBI fails -> the second family is not tested at all
    assert gk2.test([0.001, 0.06, 0.0001, 0.0001])["rTMS:MBI"] is False


def test_bretz_2009_weight_propagation_by_hand():
    # Bretz et al. 2009, Algorithm 1, on a 3-node graph worked by hand:
    # w = (1/2, 1/2, 0); H1 -> H3 (1), H2 -> H1 (1/2), H2 -> H3 (1/2), H3 -> H2 (1).
    # p = (.02, .03, .04), alpha .05: H1 (.02 <= .025) rejected; its weight goes to H3:
    # w = (-, 1/2, 1/2); H2 (.03 > .025) and H3 (.04 > .025) stay.
    g = [[0, 0, 1], [0.5, 0, 0.5], [0, 1, 0]]
    out = graphical_test([0.02, 0.03, 0.04], weights=[0.5, 0.5, 0], transitions=g, alpha=0.05)
    assert out.tolist() == [True, False, False]
    # p3 = .024 <= .025 -> H3 rejected, passes 1/2 to H2 (g32 updated: (1 + 0*.)/(1-0) = 1),
    # H2 now at weight 1: .03 <= .05 -> rejected.
    out = graphical_test([0.02, 0.03, 0.024], weights=[0.5, 0.5, 0], transitions=g, alpha=0.05)
    assert out.tolist() == [True, True, True]


def holm_by_hand(p, alpha):
    order = np.argsort(p, kind="stable")
    out = np.zeros(len(p), dtype=bool)
    for i, j in enumerate(order):
        if p[j] <= alpha / (len(p) - i):
            out[j] = True
        else:
            break
    return out


def hochberg_by_hand(p, alpha):
    m = len(p)
    ordered = sorted(p)
    for i in range(m, 0, -1):
        if ordered[i - 1] <= alpha / (m - i + 1):
            return np.array([x <= ordered[i - 1] for x in p])
    return np.zeros(m, dtype=bool)


@settings(max_examples=200, deadline=None)
@given(p=st.lists(st.floats(0.0, 0.2), min_size=2, max_size=5))
def test_graph_holm_and_step_up_equal_their_textbook_definitions(p):
    p = np.array(p)
    m = len(p)
    g = (np.ones((m, m)) - np.eye(m)) / (m - 1)
    assert (
        graphical_test(p, weights=np.full(m, 1 / m), transitions=g, alpha=0.05).tolist()
        == holm_by_hand(p, 0.05).tolist()
    )
    assert hochberg_test(p, alpha=0.05).tolist() == hochberg_by_hand(p, 0.05).tolist()


# -------------------------------------------------------------------- sample size
def test_sample_size_any_success_is_the_smallest_n():
    # Bonferroni "any" is exact; the solution reaches the target and one less does not.
    d = design()
    proc = tp.Bonferroni(["MBI", "rTMS:MBI"], success="any")
    ss = d.sample_size(power=0.9, hypothesis=["MBI", "rTMS:MBI"], multiplicity=proc)
    n = ss.n_per_cell
    assert d.replace(n_per_cell=n).power(multiplicity=proc).any >= 0.9
    assert d.replace(n_per_cell=n - 1).power(multiplicity=proc).any < 0.9
    assert ss.power == pytest.approx(d.replace(n_per_cell=n).power(multiplicity=proc).any)


@pytest.mark.slow
def test_sample_size_each_after_gatekeeping():
    d = design()
    proc = tp.Gatekeeping([["combination"], ["rTMS:MBI"]])
    ss = d.sample_size(power=0.8, hypothesis="rTMS:MBI", multiplicity=proc)
    n = ss.n_per_cell
    assert ss.powers["rTMS:MBI"] >= 0.8
    assert d.replace(n_per_cell=n - 1).power(multiplicity=proc)["rTMS:MBI"] < 0.8
    # gatekeeping can only cost power relative to the unadjusted test
    assert n >= d.sample_size(power=0.8, hypothesis="rTMS:MBI").n_per_cell


# ------------------------------------------------------------------- bad input
def test_gatekeeping_unknown_hypothesis_suggests_the_closest():
    with pytest.raises(ValueError, match=r"'combo'.*did you mean 'combination'"):
        design().power(multiplicity=tp.Gatekeeping([["combo"], ["rTMS:MBI"]]))


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        pytest.param(lambda: tp.Gatekeeping([]), TypeError, "families", id="empty-families"),
        pytest.param(
            lambda: tp.Gatekeeping([[], ["A"]]), ValueError, r"families\[0\]", id="empty-family"
        ),
        pytest.param(
            lambda: tp.Gatekeeping(["A", "B"]),
            TypeError,
            r"families\[0\].*\['A'\]",
            id="family-not-list",
        ),
        pytest.param(lambda: tp.Holm(["A", "A"]), ValueError, "more than once", id="duplicate"),
        pytest.param(
            lambda: tp.Holm("rTMS"), TypeError, "list of hypothesis names", id="string-not-list"
        ),
        pytest.param(
            lambda: tp.Bonferroni(["A", "B"], weights=[0.7, 0.7]),
            ValueError,
            r"summing to at most 1.*0\.7, 0\.7",
            id="weights-sum",
        ),
        # all-zero weights test nothing (power 0 was returned); strings failed in numpy
        pytest.param(
            lambda: tp.Holm(["A", "B"], weights=[0, 0]),
            ValueError,
            r"weights must be 2 numbers >= 0, not all 0.*got weights=\(0, 0\)",
            id="weights-all-zero",
        ),
        pytest.param(
            lambda: tp.Graphical(["A", "B"], weights=[0, 0], transitions=[[0, 1], [1, 0]]),
            ValueError,
            r"weights must be >= 0, not all 0",
            id="graph-weights-all-zero",
        ),
        pytest.param(
            lambda: tp.Bonferroni(["A", "B"], weights=[["a"], 1]),
            TypeError,
            r"weights must be numbers; got weights=",
            id="weights-not-numbers",
        ),
        pytest.param(
            lambda: tp.Graphical(["A", "B"], weights=[0.5, 0.5], transitions="ab"),
            TypeError,
            r"transitions must be numbers, not a string; got transitions='ab'",
            id="transitions-string",
        ),
        pytest.param(
            lambda: tp.Holm(["A", "B"], success="al"),
            ValueError,
            r"success='al'.*did you mean 'all'",
            id="success-typo",
        ),
        pytest.param(
            lambda: tp.Graphical(["A", "B"], weights=[0.5, 0.5], transitions=[[1, 0], [0, 0]]),
            ValueError,
            "zero diagonal",
            id="graph-diagonal",
        ),
        pytest.param(
            lambda: tp.Holm(["A", "B"]).test([0.1, 1.5]), ValueError, r"\[0, 1\]", id="p-outside"
        ),
        pytest.param(
            lambda: tp.Holm(["A", "B"]).test({"A": 0.1}), ValueError, "missing", id="p-missing"
        ),
        pytest.param(
            lambda: design().power(multiplicity=tp.Holm(MAIN3), method="simulaton"),
            ValueError,
            "did you mean 'simulation'",
            id="method-typo",
        ),
        pytest.param(
            lambda: design().power(multiplicity=tp.Holm(MAIN3), n_sims=10),
            ValueError,
            "n_sims",
            id="n_sims-small",
        ),
        pytest.param(
            lambda: design().sample_size(
                power=0.9, hypothesis="MBI", multiplicity=tp.Holm(["rTMS", "rTMS:MBI"])
            ),
            ValueError,
            "family",
            id="sample-size-outside-family",
        ),
        pytest.param(
            lambda: design(mu=(0.0, -3.0, -2.0, -5.0)).sample_size(
                power=0.8, hypothesis="rTMS:MBI", multiplicity=tp.Holm(["rTMS", "rTMS:MBI"])
            ),
            ValueError,
            r"out of reach.*rTMS:MBI",
            id="zero-interaction-unreachable",
        ),
        pytest.param(
            lambda: design().power().any, AttributeError, "multiplicity", id="any-without-procedure"
        ),
    ],
)
def test_bad_input(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_seed_reproduces_and_generator_seed_is_recorded():
    d = design()
    a = d.power(multiplicity=tp.Holm(MAIN3), n_sims=2_000, seed=np.random.SeedSequence(4))
    b = d.power(multiplicity=tp.Holm(MAIN3), n_sims=2_000, seed=np.random.SeedSequence(4))
    assert dict(a) == dict(b)
    c = d.power(multiplicity=tp.Holm(MAIN3), n_sims=2_000, seed=np.random.default_rng(1))
    again = d.power(multiplicity=tp.Holm(MAIN3), n_sims=2_000, seed=c.seed)
    assert dict(c) == dict(again)
    with pytest.raises(TypeError, match="seed='x'"):
        tp.Holm(MAIN3, seed="x")


def test_result_prints_any_and_all():
    res = design().power(multiplicity=tp.Bonferroni(MAIN3))
    text = repr(res)
    assert f"reject any: {res.any:.3f}" in text
    assert "Bonferroni" in text
    assert isinstance(JointStatistics.from_design(design(), MAIN3).correlation, np.ndarray)
