"""Numerics at the edges: a fuzz test over the public entry points (issue 21, item 5).

Each entry point is called with valid inputs except one parameter, which
hypothesis replaces by an extreme or malformed value (0, negatives, 5e-324,
1e-310, 1 - 1e-16, 1e18, 1e300, +-inf, NaN, 2**62 + 2, 2**63, text, None,
containers, complex numbers, booleans, ...; in a mapping, one value or a key).
The contract: the call either returns a result in range -- every power a
number in [0, 1], sizes whole numbers >= 1 that fit int64, every other number
finite (a group-sequential bound may be +-inf: "never stop there") -- or
raises ``ValueError``/``TypeError`` whose message names the parameter (for an
error raised by ``power()``/``sample_size()``, the message may name one of
their own arguments instead, e.g. ``power=0.8 is out of reach``).  Anything
else (NaN, an out-of-range power, int64 overflow, ``OverflowError``,
``LinAlgError``, a scipy solver's message) is a defect.

``max_examples`` keeps the default run to a few seconds per entry point; the
``slow`` profile (``pytest -m slow tests/test_fuzz.py``) draws ten times more.
The regression tests for each defect the campaign of issue 21 found, and this
fuzz test then found, follow at the end.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.stats as sst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trialplan as tp

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
CELLS = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
MEANS = dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True))
RATES = dict(zip(CELLS, (0.2, 0.3, 0.3, 0.5), strict=True))
HAZARDS = dict(zip(CELLS, (0.1, 0.08, 0.08, 0.05), strict=True))
VISIT_MEANS = {c: (0.0, v / 2, v) for c, v in MEANS.items()}
INT64_MAX = 2**63 - 1

EXTREMES: list[Any] = [
    0,
    -1,
    1,
    2,
    3,
    0.5,
    0.999999,
    1 - 1e-12,
    1 - 1e-16,
    1e-7,
    1e-12,
    1e-200,
    1e-310,
    5e-324,
    -1e-310,
    1e12,
    1e18,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
    2**62 + 2,
    2**63,
    -(2**63),
    10**400,
    True,
    False,
    "0.1",
    "",
    None,
    [],
    {},
    (1, 2),
    1j,
    np.float64("nan"),
    np.int64(5),
    np.float32(0.5),
]


def _mapping_variants(base: Mapping[Any, Any]) -> list[Any]:
    key = next(iter(base))
    out: list[Any] = [{**base, key: v} for v in EXTREMES]
    out += [
        {k: v for i, (k, v) in enumerate(base.items()) if i},  # a cell missing
        {**base, ("x", "y"): next(iter(base.values()))},  # an unknown cell
        {**base, "zz": 1.0},
        {},
        "abc",
        None,
        list(base.values()),
    ]
    return out


def _tuple_variants() -> list[Any]:
    return [*EXTREMES, (), (1.0, 0.5), (0.5, 0.5, 1.0), ("a", 1.0), (math.nan, 1.0)]


def _variants(default: Any) -> list[Any]:
    if isinstance(default, Mapping):
        return _mapping_variants(default)
    if isinstance(default, tuple):
        return _tuple_variants()
    if isinstance(default, str):
        return [*EXTREMES, "xyz", default.upper(), default + " "]
    return EXTREMES


# ---------------------------------------------------------------- the contract
class OutOfRange(AssertionError):
    pass


def _finite(value: Any, what: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | np.integer):
        if abs(int(value)) > INT64_MAX:
            raise OutOfRange(f"{what}={value} overflows int64")
        return
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        raise OutOfRange(f"{what}={value} is not finite")


def _probability(value: Any, what: str) -> None:
    if not (isinstance(value, float | int | np.number) and 0.0 <= float(value) <= 1.0):
        raise OutOfRange(f"{what}={value!r} is not a number in [0, 1]")


def check_power_result(res: Any) -> None:
    frame = res.to_frame()
    for h, p in zip(frame["hypothesis"], frame["power"], strict=True):
        _probability(p, f"power[{h!r}]")
    for attr in ("any", "all"):
        try:
            value = getattr(res, attr)
        except (AttributeError, KeyError, ValueError):
            continue
        _probability(value, attr)


def check_sample_size(res: Any) -> None:
    n = res.n_per_cell
    for value in n.values() if isinstance(n, Mapping) else [n]:
        if not isinstance(value, int) or value < 1:
            raise OutOfRange(f"n_per_cell={value!r} is not a whole number >= 1")
        _finite(value, "n_per_cell")
    for name in ("n_total", "n_randomized"):
        value = getattr(res, name, 1)
        if not isinstance(value, int) or value < 1:
            raise OutOfRange(f"{name}={value!r} is not a whole number >= 1")
        _finite(value, name)
    _probability(res.power, "power")


def check_design(design: Any, hypothesis: str = "rTMS") -> None:
    check_power_result(design.power())
    check_sample_size(design.sample_size(power=0.8, hypothesis=hypothesis))
    if design.n_total != int(np.sum(design.n_array)):
        raise OutOfRange(f"n_total={design.n_total} is not the sum of the cells")


def check_gsd(gsd: Any) -> None:
    for value in (gsd.inflation_factor, gsd.drift, *gsd.alpha_spent):
        _finite(float(value), "group-sequential value")
    for value in gsd.expected_information.values():
        _finite(float(value), "expected_information")
    if np.any(np.isnan(gsd.efficacy_z)):  # +inf is a bound that never stops
        raise OutOfRange(f"efficacy_z={gsd.efficacy_z} holds NaN")
    if gsd.inflation_factor < 1.0 - 1e-6:  # Neyman-Pearson: never below the fixed design
        raise OutOfRange(f"inflation_factor={gsd.inflation_factor} < 1")
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=MEANS, sd=8.0),
        n_per_cell=50,
        alpha=gsd.alpha * gsd.sided if gsd.sided == 1 else gsd.alpha,
        sided=gsd.sided,
    )
    check_power_result(design.power("rTMS:MBI", sequential=gsd))


def _factorial(outcome: Any, **kwargs: Any) -> tp.Factorial:
    return tp.Factorial(factors=FACTORS, outcome=outcome, **({"n_per_cell": 50} | kwargs))


def _smart(**kwargs: Any) -> tp.SMART:
    return tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        **kwargs,
    )


def _check_smart(smart: tp.SMART) -> None:
    _probability(smart.power_stage1(), "power_stage1")
    check_power_result(smart.power())
    res = smart.sample_size(power=0.8)
    if not isinstance(res.n_total, int) or not 1 <= res.n_total <= INT64_MAX:
        raise OutOfRange(f"n_total={res.n_total!r}")
    _probability(res.power, "power")


def _gsd(**kwargs: Any) -> tp.GroupSequential:
    options = {"info_fractions": (0.5, 1.0), "alpha": 0.025} | kwargs
    return tp.GroupSequential(**options)


def _number(value: Any, what: str = "value") -> None:
    if not isinstance(value, int | float | np.number) or isinstance(value, bool):
        raise OutOfRange(f"{what}={value!r} is not a number")
    _finite(value, what)


@dataclass(frozen=True)
class Entry:
    """One public entry point: how to call it, its valid inputs, how to check a result."""

    call: Callable[..., Any]
    valid: dict[str, Any]
    check: Callable[[Any], None]
    #: names an error raised while checking the result may give instead of the parameter
    downstream: tuple[str, ...] = ("power", "hypothesis", "n_per_cell", "sample size")
    #: further values to try, per parameter, beyond the generic extremes
    extra: dict[str, tuple[Any, ...]] | None = None


ENTRIES: dict[str, Entry] = {
    "Continuous": Entry(
        lambda **k: _factorial(tp.Continuous(**k)),
        {"means": MEANS, "sd": 8.0, "baseline_corr": 0.0, "better": "lower"},
        check_design,
    ),
    "Binary": Entry(
        lambda **k: _factorial(tp.Binary(**k)),
        {"rates": RATES, "scale": "risk_difference", "better": "higher"},
        check_design,
    ),
    "TimeToEvent": Entry(
        lambda **k: _factorial(tp.TimeToEvent(**k)),
        {"hazards": HAZARDS, "accrual": 12.0, "follow_up": 12.0, "dropout_hazard": 0.0},
        check_design,
    ),
    "Repeated": Entry(
        lambda **k: _factorial(tp.Repeated(**k)),
        {
            "means": VISIT_MEANS,
            "times": (0.0, 1.0, 2.0),
            "sd": 6.0,
            "correlation": "cs",
            "rho": 0.5,
        },
        check_design,
    ),
    "Factorial": Entry(
        lambda **k: tp.Factorial(factors=FACTORS, outcome=tp.Continuous(means=MEANS, sd=8.0), **k),
        {"n_per_cell": 50, "alpha": 0.05, "sided": 2, "dropout": 0.0},
        check_design,
    ),
    "Clustering": Entry(
        lambda **k: _factorial(tp.Continuous(means=MEANS, sd=8.0), clusters=tp.Clustering(**k)),
        {"factor": "MBI", "icc": 0.05, "group_size": 8, "size_cv": 0.0},
        check_design,
    ),
    "Parallel": Entry(
        lambda **k: tp.Parallel(
            arms=("A", "B", "C"),
            outcome=tp.Continuous(means={"A": 0.0, "B": 2.0, "C": 3.0}, sd=8.0),
            **k,
        ),
        {"n_per_arm": 60, "control": "A", "alpha": 0.05, "sided": 2, "dropout": 0.0},
        lambda d: (
            check_power_result(d.power(multiplicity=tp.Dunnett())),
            check_design(d, hypothesis="B vs A"),
        ),
    ),
    "SMART": Entry(
        _smart,
        {
            "response_rate": {"rTMS": 0.3, "rTMS+MBI": 0.4},
            "sd": 8.0,
            "n_total": 200,
            "alpha": 0.05,
            "dropout": 0.0,
        },
        _check_smart,
        downstream=("power", "n_total"),  # sample_size: "n_total must be at most 1e+15"
    ),
    "GroupSequential": Entry(
        _gsd,
        {"info_fractions": (0.5, 1.0), "alpha": 0.025, "beta": 0.1, "sided": 1},
        check_gsd,
    ),
    "GroupSequential.futility": Entry(
        lambda **k: _gsd(futility=tp.spending.obrien_fleming(), **k),
        {"beta": 0.1, "binding": False, "alpha": 0.025},
        check_gsd,
    ),
    "spending.hwang_shih_decani": Entry(
        lambda **k: _gsd(efficacy=tp.spending.hwang_shih_decani(**k)), {"gamma": -4.0}, check_gsd
    ),
    "spending.power_family": Entry(
        lambda **k: _gsd(efficacy=tp.spending.power_family(**k)), {"rho": 2.0}, check_gsd
    ),
    "boundaries.wang_tsiatis": Entry(
        lambda **k: _gsd(efficacy=tp.boundaries.wang_tsiatis(**k)), {"delta": 0.25}, check_gsd
    ),
    "sample_size(sequential)": Entry(
        lambda **k: _factorial(tp.Continuous(means=MEANS, sd=8.0)).sample_size(
            hypothesis="rTMS", sequential=_gsd(), **k
        ),
        {"power": 0.9},
        check_sample_size,
    ),
    "schoenfeld_events": Entry(
        tp.schoenfeld_events,
        {"hazard_ratio": 0.7, "power": 0.8, "alpha": 0.05, "sided": 2, "allocation": 0.5},
        lambda v: _number(v, "events"),
    ),
    "required_events": Entry(
        lambda **k: tp.required_events(
            _factorial(tp.TimeToEvent(hazards=HAZARDS, accrual=12.0, follow_up=12.0)), **k
        ),
        {"power": 0.8, "hypothesis": "rTMS"},
        lambda r: _number(r.events, "events"),
    ),
    "anova_power": Entry(
        tp.anova_power,
        {
            "cohens_f": 0.25,
            "n_total": 128,
            "n_groups": 4,
            "df_num": 1,
            "n_covariates": 0,
            "alpha": 0.05,
        },
        lambda p: _probability(p, "power"),
    ),
    "assurance": Entry(
        lambda **k: _factorial(tp.Continuous(means=MEANS, sd=8.0)).assurance(**k),
        {"hypothesis": "rTMS:MBI", "prior": sst.norm(-4, 2)},
        lambda r: _probability(r.value, "assurance"),
        extra={
            "prior": (
                sst.randint(-6, -1),  # discrete: a matmul shape error before
                sst.poisson(3),
                sst.norm(-4, 0),
                sst.cauchy(-4, 1),
                sst.uniform(-6, 4),
                sst.multivariate_normal([0.0, 0.0]),
                np.array([-4.0, -3.0]),
                np.array([-4.0]),
                np.array([-4.0, math.nan]),
            )
        },
    ),
    "NormalPrior": Entry(
        lambda **k: _factorial(tp.Continuous(means=MEANS, sd=8.0)).assurance(
            hypothesis="rTMS:MBI", prior=tp.NormalPrior(**k)
        ),
        {"mean": -4.0, "sd": 2.0},
        lambda r: _probability(r.value, "assurance"),
    ),
    "PosteriorRule": Entry(
        lambda **k: tp.PosteriorRule(**k).critical_effect(se=1.0),
        {"threshold": 0.0, "probability": 0.975},
        lambda v: _number(v, "critical_effect"),
    ),
    "Holm.test": Entry(
        lambda **k: tp.Holm(["a", "b"]).test(**k),
        {"p_values": {"a": 0.01, "b": 0.2}, "alpha": 0.05},
        lambda r: None,
    ),
    "Hochberg.test": Entry(
        lambda **k: tp.Hochberg(["a", "b"]).test(**k),
        {"p_values": {"a": 0.01, "b": 0.2}, "alpha": 0.05},
        lambda r: None,
    ),
    "synergy.cell_means": Entry(
        tp.synergy.cell_means,
        {"control": 0.0, "effects": {"rTMS": -3.0, "MBI": -2.0}, "model": "additive"},
        lambda r: [_number(v) for v in r.values()],
    ),
    "synergy.Interaction": Entry(
        lambda **k: tp.synergy.cell_means(
            control=0.0, effects={"rTMS": -3.0, "MBI": -2.0}, model=tp.synergy.Interaction(**k)
        ),
        {"value": -3.0},
        lambda r: [_number(v) for v in r.values()],
    ),
    "synergy.interaction_contrasts": Entry(
        tp.synergy.interaction_contrasts,
        {"cells": dict(zip(CELLS, (0.2, 0.3, 0.3, 0.5), strict=True))},
        lambda r: [_number(v, k) for k, v in r.items()],
    ),
    "randomization.permuted_blocks": Entry(
        lambda **k: tp.randomization.permuted_blocks(
            _factorial(tp.Continuous(means=MEANS, sd=8.0)), **k
        ),
        {"n": 20, "block_sizes": (4, 8), "strata": {"site": ("A", "B")}, "seed": 1},
        lambda s: None,
    ),
    "randomization.Minimization": Entry(
        lambda **k: tp.randomization.Minimization(
            _factorial(tp.Continuous(means=MEANS, sd=8.0)), **k
        ),
        {"factors": {"site": ("A", "B")}, "p": 0.8, "seed": 1},
        lambda m: m.assign({"site": "A"}),
        downstream=("covariates",),  # assign({"site": "A"}) after other factors
    ),
}


def _names(message: str, param: str) -> bool:
    """The message names the parameter, as written or in words (``response rate``)."""
    return param in message or param.replace("_", " ") in message


def run_one(name: str, param: str, value: Any) -> None:
    """Call entry ``name`` with ``param=value``; fail unless the contract holds."""
    entry = ENTRIES[name]
    kwargs = {**entry.valid, param: value}
    error: Exception | None = None
    allowed: tuple[str, ...] = (param,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are allowed; results are checked
        try:
            made = entry.call(**kwargs)
        except (ValueError, TypeError) as exc:
            error = exc
        else:
            allowed = (param, *entry.downstream)
            try:
                entry.check(made)
            except (ValueError, TypeError) as exc:
                error = exc
    if error is not None:
        message = f"{type(error).__name__}: {error}"
        assert any(_names(str(error), n) for n in allowed), (
            f"{name}({param}={value!r}) raised without naming {allowed}: {message}"
        )


def values_to_try(name: str, param: str) -> list[Any]:
    entry = ENTRIES[name]
    return [*_variants(entry.valid[param]), *(entry.extra or {}).get(param, ())]


def _cases(name: str) -> st.SearchStrategy[tuple[str, Any]]:
    valid = ENTRIES[name].valid
    return st.sampled_from(list(valid)).flatmap(
        lambda p: st.tuples(st.just(p), st.sampled_from(values_to_try(name, p)))
    )


def _fuzz(name: str, data: st.DataObject) -> None:
    param, value = data.draw(_cases(name), label="parameter, value")
    try:
        run_one(name, param, value)
    except OutOfRange as exc:
        pytest.fail(f"{name}({param}={value!r}): {exc}")


@pytest.mark.parametrize("name", list(ENTRIES))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_entry_point_gives_a_result_in_range_or_a_named_error(
    name: str, data: st.DataObject
) -> None:
    _fuzz(name, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ENTRIES))
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_entry_point_deep_profile(name: str, data: st.DataObject) -> None:
    _fuzz(name, data)
