"""Bad input fails early with a message naming the parameter, value and what is allowed."""

from __future__ import annotations

import math

import pytest

import trialplan as tp

CELLS = (("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI"))
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True))


def design(**changes):
    outcome = changes.pop("outcome", tp.Continuous(means=MEANS, sd=8.0))
    return tp.Factorial(**{"factors": FACTORS, "outcome": outcome, "n_per_cell": 20, **changes})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(
            {"sd": 0}, ValueError, r"sd must be a finite number > 0; got sd=0", id="sd-zero"
        ),
        pytest.param({"sd": -2.0}, ValueError, r"got sd=-2.0", id="sd-negative"),
        pytest.param({"sd": math.nan}, ValueError, r"sd must be finite", id="sd-nan"),
        pytest.param({"sd": "8"}, TypeError, r"sd must be a real number", id="sd-string"),
        pytest.param(
            {"baseline_corr": 1.0}, ValueError, r"baseline_corr must lie strictly", id="rho-one"
        ),
        pytest.param({"better": "smaller"}, ValueError, r"did you mean 'lower'", id="better-typo"),
        pytest.param(
            {"means": {**MEANS, ("sham", "MBI"): math.inf}},
            ValueError,
            r"means\[\('sham', 'MBI'\)\] must be finite",
            id="mean-infinite",
        ),
        pytest.param({"means": [1, 2]}, TypeError, r"means must be a mapping", id="means-list"),
    ],
)
def test_outcome_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        tp.Continuous(**{"means": MEANS, "sd": 8.0, **kwargs})


def test_level_typo_suggests_closest_level():
    means = {**{k: v for k, v in MEANS.items() if k != ("active", "MBI")}, ("activ", "MBI"): 1}
    with pytest.raises(
        ValueError,
        match=r"'activ' is not a level of factor 'rTMS'.*"
        r"did you mean 'active'",
    ):
        design(outcome=tp.Continuous(means=means, sd=8.0))


def test_missing_cell_is_named():
    means = {k: v for k, v in MEANS.items() if k != ("active", "MBI")}
    with pytest.raises(ValueError, match=r"missing \[\('active', 'MBI'\)\]"):
        design(outcome=tp.Continuous(means=means, sd=8.0))


def test_extra_cell_is_rejected():
    with pytest.raises(ValueError, match=r"'x' is not a level of factor 'rTMS'"):
        design(outcome=tp.Continuous(means={**MEANS, ("x", "MBI"): 1.0}, sd=8.0))


def test_cell_key_must_be_a_tuple_of_one_level_per_factor():
    with pytest.raises(TypeError, match="must be tuples of levels"):
        design(outcome=tp.Continuous(means={"sham": 1.0}, sd=8.0))
    with pytest.raises(ValueError, match="has 3 levels"):
        design(outcome=tp.Continuous(means={("sham", "MBI", "x"): 1.0}, sd=8.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(
            {"alpha": 1.5},
            ValueError,
            r"alpha must lie strictly between 0 and 1; "
            r"got alpha=1.5",
            id="alpha-above-one",
        ),
        pytest.param({"alpha": 0.0}, ValueError, r"got alpha=0.0", id="alpha-zero"),
        pytest.param({"alpha": math.inf}, ValueError, r"alpha must be finite", id="alpha-inf"),
        pytest.param({"sided": 3}, ValueError, r"sided must be 1 .* or 2", id="sided-three"),
        pytest.param(
            {"n_per_cell": 1}, ValueError, r"leaves no residual degrees of freedom", id="n-no-df"
        ),
        pytest.param(
            {"n_per_cell": 0}, ValueError, r"n_per_cell must be a whole number >= 1", id="n-zero"
        ),
        pytest.param(
            {"n_per_cell": 2.5}, TypeError, r"n_per_cell must be a whole number", id="n-fraction"
        ),
        pytest.param(
            {"n_per_cell": {CELLS[0]: 5}},
            ValueError,
            r"n_per_cell is missing cells",
            id="n-missing-cells",
        ),
        pytest.param(
            {"dropout": 1.0}, ValueError, r"dropout must lie in \[0, 1\)", id="dropout-one"
        ),
        pytest.param({"dropout": -0.1}, ValueError, r"got dropout=-0.1", id="dropout-negative"),
        pytest.param(
            {"factors": {"rTMS": ("sham",), "MBI": ("control", "MBI")}},
            ValueError,
            r"must be two levels",
            id="factor-one-level",
        ),
        pytest.param(
            {"factors": {"rTMS": ("sham", "sham"), "MBI": ("control", "MBI")}},
            ValueError,
            r"two different",
            id="factor-same-levels",
        ),
        pytest.param(
            {"factors": {"r:TMS": ("sham", "active"), "MBI": ("control", "MBI")}},
            ValueError,
            r"must be a non-empty string without",
            id="factor-reserved",
        ),
        pytest.param(
            {"outcome": {"sd": 8}}, TypeError, r"outcome must be an outcome type", id="outcome-dict"
        ),
    ],
)
def test_design_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        design(**kwargs)


def test_ancova_loses_one_more_degree_of_freedom():
    with pytest.raises(ValueError, match="baseline covariate"):
        tp.Factorial(
            factors=FACTORS,
            outcome=tp.Continuous(means=MEANS, sd=8.0, baseline_corr=0.3),
            n_per_cell={CELLS[0]: 2, CELLS[1]: 1, CELLS[2]: 1, CELLS[3]: 1},
        )


@pytest.mark.parametrize(
    ("name", "match"),
    [
        pytest.param("rTMS:MBl", r"'MBl' is not a factor.*did you mean 'MBI'", id="factor-typo"),
        pytest.param("rtms", r"did you mean 'rTMS'", id="factor-case"),
        pytest.param(
            "rTMS | MBI=mbi", r"'mbi' is not a level of 'MBI'.*did you mean 'MBI'", id="level-case"
        ),
        pytest.param("rTMS | MBI=sham", r"'sham' is a level of 'rTMS'", id="level-wrong-factor"),
        pytest.param("rTMS | MBI", r"must look like 'factor=level'", id="condition-syntax"),
        pytest.param("rTMS:rTMS", r"names a factor twice", id="factor-twice"),
        pytest.param("rTMS | rTMS=sham", r"conditions on a factor it tests", id="self-condition"),
    ],
)
def test_unknown_hypotheses(name, match):
    with pytest.raises(ValueError, match=match):
        design().power(name)


def test_sample_size_rejects_bad_targets():
    d = design()
    with pytest.raises(
        ValueError,
        match=r"power must lie strictly between 0 and 1; "
        r"got power=1.2",
    ):
        d.sample_size(power=1.2, hypothesis="rTMS")
    with pytest.raises(ValueError, match=r"hypotheses must name at least one"):
        d.sample_size(power=0.8, hypothesis=[])
    # a misspelt keyword is Python's own TypeError, naming the function and the keyword
    with pytest.raises(
        TypeError, match=r"sample_size\(\) got an unexpected keyword argument 'sequentail'"
    ):
        d.sample_size(power=0.8, hypothesis="rTMS", sequentail=None)


def test_zero_or_wrong_way_effect_has_no_sample_size():
    additive_zero = {**MEANS, ("sham", "MBI"): 0.0, ("active", "MBI"): -3.0}
    with pytest.raises(ValueError, match=r"'MBI' has effect 0 .* no sample size"):
        design(outcome=tp.Continuous(means=additive_zero, sd=8.0)).sample_size(
            power=0.8, hypothesis="MBI"
        )
    wrong_way = design(outcome=tp.Continuous(means=MEANS, sd=8.0, better="higher"))
    with pytest.raises(ValueError, match=r"wrong direction for a one-sided test"):
        wrong_way.sample_size(power=0.8, hypothesis="combination")


def test_replace_validates_and_suggests():
    d = design()
    with pytest.raises(TypeError, match=r"unknown parameter 'sdd'.*did you mean 'sd'"):
        d.replace(sdd=3.0)
    with pytest.raises(ValueError, match=r"sd must be a finite number > 0"):
        d.replace(sd=-1.0)
    with pytest.raises(ValueError, match=r"alpha must lie strictly"):
        d.replace(alpha=2.0)


def test_unknown_power_method():
    with pytest.raises(ValueError, match=r"method='exact' is not available"):
        design().power(method="exact")


def test_anova_power_rejects():
    with pytest.raises(ValueError, match=r"cohens_f must be a finite number > 0"):
        tp.anova_power(cohens_f=0.0, n_total=100, n_groups=4)
    with pytest.raises(ValueError, match=r"leaves no residual degrees of freedom"):
        tp.anova_power(cohens_f=0.25, n_total=4, n_groups=4)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda d: d.power(3), id="power"),
        pytest.param(lambda d: d.sample_size(power=0.8, hypothesis=5), id="sample_size"),
        pytest.param(lambda d: d.covariance(3), id="covariance"),
    ],
)
def test_a_hypothesis_that_is_not_a_name_is_named(call):
    # These failed with "'int' object is not iterable".
    with pytest.raises(
        TypeError,
        match=r"hypotheses must be a hypothesis name or a list of "
        r"names, e\.g\. \['rTMS', 'MBI'\]; got hypotheses=",
    ):
        call(design())


def test_numpy_scalars_are_accepted_where_python_numbers_are():
    import numpy as np

    d = design(
        n_per_cell=np.int64(20),
        alpha=np.float64(0.05),
        dropout=np.float64(0.1),
        outcome=tp.Continuous(means=MEANS, sd=np.float64(8.0)),
    )
    plain = design(dropout=0.1)
    assert d.power()["rTMS"] == plain.power()["rTMS"]
    assert (
        d.sample_size(power=np.float64(0.8), hypothesis="rTMS").n_per_cell
        == plain.sample_size(power=0.8, hypothesis="rTMS").n_per_cell
    )


@pytest.mark.parametrize(
    ("sizes", "error", "match"),
    [
        pytest.param(
            [10, 20],
            ValueError,
            r"sizes must hold 4 whole numbers, one per cell.*"
            r"got 2: sizes=\[10, 20\]",
            id="too-short",
        ),
        pytest.param(
            [10, 10, 10, math.nan],
            TypeError,
            r"n_per_cell\[\('active', 'MBI'\)\] must be a whole number; got "
            r"n_per_cell\[\('active', 'MBI'\)\]=nan",
            id="nan",
        ),
        pytest.param(
            [10, 10, 10, 2.5],
            TypeError,
            r"got n_per_cell\[\('active', 'MBI'\)\]=2.5",
            id="fraction",
        ),
        pytest.param(
            12, TypeError, r"sizes must be a sequence of whole numbers.*got sizes=12", id="scalar"
        ),
    ],
)
def test_with_cell_sizes_names_bad_sizes(sizes, error, match):
    # Before: zip()'s "argument 2 is shorter than argument 1", "cannot convert
    # float NaN to integer", and 2.5 silently truncated to 2.
    with pytest.raises(error, match=match):
        design().with_cell_sizes(sizes)
    assert design().with_cell_sizes([10, 10, 20, 20]).n_total == 60


def test_parallel_with_cell_sizes_names_bad_sizes():
    arms = tp.Parallel(
        arms=("control", "MBI"),
        n_per_arm=50,
        outcome=tp.Continuous(means={"control": 0.0, "MBI": -3.0}, sd=8.0),
    )
    with pytest.raises(ValueError, match=r"sizes must hold 2 whole numbers.*got 3"):
        arms.with_cell_sizes([10, 10, 10])
    with pytest.raises(TypeError, match=r"hypotheses must be a hypothesis name.*got hypotheses=7"):
        arms.power(7)


def test_sample_size_for_a_float_noise_effect_is_out_of_reach_not_an_overflow():
    # Rates equal in pairs give an rTMS effect of about 1e-17 (not exactly 0),
    # whose normal-approximation start k ~ 1e31 overflowed numpy in k * ratios
    # ("Python int too large to convert to C long").
    rates = dict(zip(CELLS, (0.5616248522605518, 0.5616248522605518, 1e-6, 1e-6), strict=True))
    d = design(outcome=tp.Binary(rates=rates), n_per_cell=10)
    with pytest.raises(
        ValueError,
        match=r"power=0.8 is out of reach: only 0.05.* at "
        r"allocation multiplier=100000000",
    ):
        d.sample_size(power=0.8, hypothesis="rTMS")


def _arms(arms):
    return tp.Parallel(
        arms=arms, outcome=tp.Continuous(means={"a": 0.0, "b": 1.0, "c": 1.5}, sd=2.0), n_per_arm=10
    )


def _smart(stage1):
    return tp.SMART(
        stage1=stage1,
        stage2=("x", "y"),
        response_rate={"a": 0.4, "b": 0.4},
        responder_mean={"a": 4, "b": 0},
        sd=8.0,
        n_total=100,
        nonresponder_mean={("a", "x"): 4, ("a", "y"): 4, ("b", "x"): 0, ("b", "y"): 0},
    )


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda seq: _arms(seq(["a", "b", "c"])).power("b vs a")["b vs a"], id="Parallel-arms"
        ),
        pytest.param(
            lambda seq: design(
                factors={"rTMS": seq(["sham", "active"]), "MBI": seq(["control", "MBI"])}
            ).power("rTMS")["rTMS"],
            id="Factorial-levels",
        ),
        pytest.param(
            lambda seq: design().power(multiplicity=tp.Holm(seq(["rTMS", "MBI"])))["MBI"],
            id="Holm-hypotheses",
        ),
        pytest.param(
            lambda seq: design().power(multiplicity=tp.Gatekeeping([seq(["rTMS"]), seq(["MBI"])]))[
                "MBI"
            ],
            id="Gatekeeping-families",
        ),
        pytest.param(
            lambda seq: _arms(("a", "b", "c")).power(
                multiplicity=tp.Dunnett(hypotheses=seq(["b vs a", "c vs a"]))
            )["b vs a"],
            id="Dunnett-hypotheses",
        ),
        pytest.param(lambda seq: _smart(seq(["a", "b"])).power_stage1(), id="SMART-stage1"),
        pytest.param(
            lambda seq: tp.synergy.cell_means(
                control=0.0,
                effects={"rTMS": -3.0, "MBI": -2.0},
                levels={"rTMS": seq(["s", "a"]), "MBI": seq(["c", "m"])},
            ),
            id="synergy-levels",
        ),
        pytest.param(
            lambda seq: tp.report.sensitivity_table(
                design(), hypothesis="rTMS", sd=seq([7.0, 9.0])
            )["power"].tolist(),
            id="sensitivity-sd",
        ),
    ],
)
def test_numpy_arrays_are_accepted_where_lists_are(call):
    # Each refused np.array(...) ("must be a sequence" / "two levels") because
    # arrays are not collections.abc.Sequence; sensitivity_table failed with
    # numpy's "truth value of an array ... is ambiguous".  Same answer as the list.
    import numpy as np

    assert call(np.array) == call(list)
