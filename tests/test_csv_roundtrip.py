"""Randomization CSVs read back exactly what was written, whatever the labels (issue 21).

The property tests draw arbitrary unicode labels -- factor names and levels,
arm names, stratification variables and levels (text or whole numbers),
minimization factors and participant identifiers -- seasoned with the
characters that broke the files before: the delimiter, ``#``, quotes, line
breaks of every kind, and a leading ``=``/``+``/``-``/``@`` (spreadsheet
formulas).  A file must (1) keep its header to one line per item, (2) give the
formula-like text fields a leading ``'`` in the raw file, and (3) read back
with ``read_schedule`` / ``read_minimization_log`` to a frame equal, value for
value and type for type, to the one written.  The expected frame is the
schedule's own ``to_frame()``/``log()``: this tests the file round trip, not
the randomization (tests/test_randomization.py does that).
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import trialplan as tp
from trialplan.randomization import (
    Minimization,
    permuted_blocks,
    read_minimization_log,
    read_schedule,
)

NASTY = list(",#\"'\n\r\t=+-@;:()[]{} \\\x00\x0b\x0c\x1c\x85\u2028\u2029\ufeff")
# every character UTF-8 can hold (lone surrogates cannot: tested separately below)
CHARS = st.one_of(st.characters(codec="utf-8"), st.sampled_from(NASTY))
TEXT = st.text(alphabet=CHARS, min_size=1, max_size=8)
FORMULA = st.builds(lambda a, b: a + b, st.sampled_from(list("=+-@\t\r'")), TEXT)
LABEL = st.one_of(TEXT, FORMULA)
LEVEL = st.one_of(LABEL, st.integers(min_value=-(2**70), max_value=2**70))

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _factorial(names: list[str], levels: list[tuple[str, str]]) -> tp.Factorial:
    factors = dict(zip(names, levels, strict=True))
    cells = list(itertools.product(*factors.values()))
    means = {cell: float(i) for i, cell in enumerate(cells)}
    return tp.Factorial(factors=factors, outcome=tp.Continuous(means=means, sd=1.0), n_per_cell=10)


def _parallel(arms: list[str]) -> tp.Parallel:
    return tp.Parallel(
        arms=tuple(arms),
        outcome=tp.Continuous(means={a: float(i) for i, a in enumerate(arms)}, sd=1.0),
        n_per_arm=10,
    )


@st.composite
def designs(draw: st.DrawFn) -> tp.Factorial | tp.Parallel:
    if draw(st.booleans()):
        k = draw(st.integers(1, 2))
        names = draw(st.lists(LABEL, min_size=k, max_size=k, unique=True))
        levels = [tuple(draw(st.lists(LABEL, min_size=2, max_size=2, unique=True))) for _ in names]
        make = lambda: _factorial(names, levels)  # noqa: E731
    else:
        arms = draw(st.lists(LABEL, min_size=2, max_size=3, unique=True))
        make = lambda: _parallel(arms)  # noqa: E731
    try:
        return make()
    except (ValueError, TypeError):  # labels a design refuses (e.g. ":" in a factor)
        assume(False)
        raise


@st.composite
def strata(draw: st.DrawFn, taken: tuple[str, ...], min_size: int = 0) -> dict[str, tuple]:
    names = draw(st.lists(LABEL, min_size=min_size, max_size=2, unique=True))
    assume(not set(names) & {"sequence", "block", "block_size", *taken})
    return {
        name: tuple(draw(st.lists(LEVEL, min_size=1, max_size=3, unique_by=lambda x: (type(x), x))))
        for name in names
    }


def assert_same(back: pd.DataFrame, written: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(back, written, check_exact=True)
    for column in written.columns:  # 1 == 1.0 == True for pandas; the types must agree too
        assert [type(v) for v in back[column]] == [type(v) for v in written[column]], column


def header_lines(path: Path) -> list[str]:
    return [line for line in path.read_bytes().split(b"\n") if line.startswith(b"#")]


def raw_fields(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        text = "".join(line for line in handle if not line.startswith("#"))
    return list(csv.reader(io.StringIO(text, newline="")))


@SETTINGS
@given(data=st.data(), blocks=st.booleans())
def test_schedule_round_trip_any_labels(tmp_path: Path, data: st.DataObject, blocks: bool) -> None:
    design = data.draw(designs())
    columns = tuple(design.factors) if isinstance(design, tp.Factorial) else ("arm",)
    chosen = data.draw(strata(columns))
    sched = permuted_blocks(design, n=3, strata=chosen, seed=data.draw(st.integers(0, 2**32)))
    path = sched.to_csv(tmp_path / "schedule.csv", blocks=blocks)
    back = read_schedule(path)
    assert_same(back, sched.to_frame(blocks=blocks))
    assert back.attrs["strata"] == dict(sched.strata)
    assert len(header_lines(path)) == len(sched.header(blocks=blocks))
    for row in raw_fields(path):  # no field reaches a spreadsheet as a formula
        assert not any(f.startswith(("=", "+", "@", "\t", "\r")) for f in row)
        assert not any(f.startswith("-") and not f.lstrip("-").isdigit() for f in row)


@SETTINGS
@given(data=st.data())
def test_minimization_log_round_trip_any_labels(tmp_path: Path, data: st.DataObject) -> None:
    design = data.draw(designs())
    columns = tuple(design.factors) if isinstance(design, tp.Factorial) else ("arm",)
    factors = data.draw(strata(columns, min_size=1))
    assume(not set(factors) & {"participant", "preferred", "u", "rule", "assigned"})
    assume(not any(f.startswith("G[") for f in factors))
    alloc = Minimization(design, factors=factors, seed=data.draw(st.integers(0, 2**32)))
    ids = st.one_of(st.none(), LABEL, st.integers(-(2**70), 2**70))
    for _ in range(data.draw(st.integers(0, 6))):
        covariates = {f: data.draw(st.sampled_from(levels)) for f, levels in factors.items()}
        if data.draw(st.booleans()):
            alloc.assign(covariates, participant=data.draw(ids))
        else:
            treatment = data.draw(st.sampled_from(alloc.treatments))
            alloc.record(covariates, treatment, participant=data.draw(ids))
    path = alloc.to_csv(tmp_path / "audit.csv")
    back = read_minimization_log(path)
    if alloc.n_assigned == 0:
        assert back.empty
    else:
        assert_same(back, alloc.log())
    assert back.attrs["factors"] == dict(alloc.factors)
    assert len(header_lines(path)) == 10


# ------------------------------------------------- the cases in the issue, by hand
def factorial() -> tp.Factorial:
    return _factorial(["rTMS", "MBI"], [("sham", "active"), ("control", "MBI")])


def test_hash_in_a_site_label_keeps_the_treatment(tmp_path: Path) -> None:
    # issue 21 item 1: pd.read_csv(..., comment="#") gave the treatment as NaN
    sched = permuted_blocks(factorial(), n=8, strata={"site": ("Site #1", "Site #2")}, seed=1)
    path = sched.to_csv(tmp_path / "s.csv")
    assert_same(read_schedule(path), sched.to_frame())
    plain = pd.read_csv(path, comment="#")  # the old documented way works too now
    assert plain[["rTMS", "MBI"]].notna().all().all()
    pd.testing.assert_frame_equal(plain, sched.to_frame())


def test_newline_in_a_label_keeps_the_header_on_one_line(tmp_path: Path) -> None:
    sched = permuted_blocks(factorial(), n=4, strata={"site": ("North\nsite", "South")}, seed=1)
    path = sched.to_csv(tmp_path / "s.csv")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert '# strata: site=("North\\nsite", South)' in lines
    assert len(header_lines(path)) == len(sched.header())
    back = read_schedule(path)
    assert_same(back, sched.to_frame())
    assert back.attrs["strata"] == {"site": ("North\nsite", "South")}


def test_formula_like_labels_reach_a_spreadsheet_as_text(tmp_path: Path) -> None:
    arms = ("=HYPERLINK(1)", "+1", "@SUM(A1)")
    sched = permuted_blocks(_parallel(list(arms)), n=3, strata={"-site": ("-1", -1)}, seed=3)
    path = sched.to_csv(tmp_path / "s.csv")
    fields = raw_fields(path)
    assert fields[0] == ["sequence", "'-site", "arm"]
    assert {row[2] for row in fields[1:]} == {"'=HYPERLINK(1)", "'+1", "'@SUM(A1)"}
    assert {row[1] for row in fields[1:]} == {"'-1", "-1"}  # text "-1" escaped, number -1 not
    back = read_schedule(path)
    assert_same(back, sched.to_frame())
    assert set(back["-site"]) == {"-1", -1}


def test_minimization_audit_with_awkward_labels(tmp_path: Path) -> None:
    alloc = Minimization(factorial(), factors={"site": ("#1", "a,b", "=2")}, seed=4)
    for i, site in enumerate(("#1", "a,b", "=2", "#1")):
        alloc.assign({"site": site}, participant=f"P-{i}" if i % 2 else None)
    path = alloc.to_csv(tmp_path / "audit.csv")
    back = read_minimization_log(path)
    assert_same(back, alloc.log())
    assert back["participant"].tolist() == [1, "P-1", 3, "P-3"]
    assert '# factors: site=("#1", "a,b", "=2")' in path.read_text(encoding="utf-8")


def test_reading_rejects_other_files_and_edited_ones(tmp_path: Path) -> None:
    sched = permuted_blocks(factorial(), n=4, seed=1)
    path = sched.to_csv(tmp_path / "s.csv")
    with pytest.raises(ValueError, match="not a trialplan minimization audit log CSV"):
        read_minimization_log(path)
    text = path.read_text(encoding="utf-8")
    edited = tmp_path / "edited.csv"
    edited.write_text(text.replace('"sham"', "sham", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="unquoted field that is not a number"):
        read_schedule(edited)
    short = tmp_path / "short.csv"
    short.write_text(text.rsplit(",", 1)[0] + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"data row 4 has 2 fields, not 3"):
        read_schedule(short)


def test_participant_identifiers_must_be_text_or_whole_numbers() -> None:
    alloc = Minimization(factorial(), factors={"site": ("A", "B")}, seed=1)
    with pytest.raises(TypeError, match=r"participant must be a text or whole-number.*1.5"):
        alloc.assign({"site": "A"}, participant=1.5)
    assert alloc.n_assigned == 0


def test_factor_named_like_an_audit_column_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'u' names a minimization factor.*rename it"):
        Minimization(factorial(), factors={"u": ("A", "B")}, seed=1)


def test_a_lone_surrogate_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"strata\['site'\] has the label .*lone surrogate"):
        permuted_blocks(factorial(), n=4, strata={"site": ("A", "\ud800")}, seed=1)
    sched = permuted_blocks(_parallel(["A", "B\udc80"]), n=4, seed=1)
    with pytest.raises(ValueError, match=r"cannot write .* as UTF-8: a label contains '\\udc80'"):
        sched.to_csv(tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
