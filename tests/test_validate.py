"""python -m trialplan.validate: the differential validation against R.

Without R (simulated by a PATH without Rscript) it checks the recorded R values
of trialplan/validate/recorded/ and must pass; a wrong recorded value must fail
it. With R (Rscript with rpact, mvtnorm and pwr) a small fresh run is made;
that test is skipped, by name, where R is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from trialplan import validate


def _run(args: list[str], path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        [sys.executable, "-m", "trialplan.validate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_without_r_checks_the_recorded_values(tmp_path):
    proc = _run([], str(tmp_path))  # an empty folder: no Rscript on PATH
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Rscript was not found on PATH" in proc.stdout
    assert "recorded designs" in proc.stdout
    assert f"all {len(validate.CHECKS)} checks within tolerance" in proc.stdout


def test_the_recorded_run_covers_every_check_and_kind():
    cases = validate.read_cases(validate.RECORDED)
    assert set(cases) == set(validate.KINDS)
    table = validate.compare(
        validate.compute(cases), validate.read_values(validate.RECORDED / "r_values.csv")
    )
    assert list(table["check"]) == [c.name for c in validate.CHECKS]
    assert table["ok"].all(), table
    assert (table["largest"] <= table["tolerance"]).all()
    shown = (validate.RECORDED / "last_run.txt").read_text()
    assert "R values computed now" in shown  # recorded with R, not from the fixture
    assert f"all {len(validate.CHECKS)} checks within tolerance" in shown


def test_seed_draws_the_recorded_designs():
    drawn = validate.draw_cases(seed=validate.DEFAULT_SEED)
    recorded = validate.read_cases(validate.RECORDED)
    for kind, frame in recorded.items():
        pd.testing.assert_frame_equal(
            drawn[kind].reset_index(drop=True), frame, check_dtype=False, check_exact=False
        )


def test_a_wrong_recorded_value_fails_the_run(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "recorded"
    shutil.copytree(validate.RECORDED, folder)
    path = folder / "r_values.csv"
    lines = path.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if ",gsd-03,efficacy_1," in line)
    kind, case, quantity, value = lines[k].split(",")
    lines[k] = ",".join([kind, case, quantity, repr(float(value) + 2e-5)])
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(validate, "RECORDED", folder)
    assert validate.main(["--without-r"]) == 1
    out = capsys.readouterr().out
    assert "EXCEEDS" in out
    assert "gsd-03 efficacy_1" in out
    assert "1 of 12 checks exceed their tolerance" in out


def test_values_on_one_side_only_are_an_error():
    ours = pd.DataFrame(
        {
            "kind": ["events"] * 2,
            "case": ["e1", "e2"],
            "quantity": ["events"] * 2,
            "value": [1.0, 2.0],
        }
    )
    with pytest.raises(ValueError, match="only trialplan"):
        validate.compare(ours, ours.iloc[:1])
    with pytest.raises(ValueError, match="NaN"):
        validate.compare(ours, ours.assign(value=[1.0, np.nan]))
    stray = ours.assign(kind="events", quantity=["events", "bogus"])
    with pytest.raises(ValueError, match="no check covers"):
        validate.compare(stray, stray)


def test_draw_cases_checks_its_arguments():
    with pytest.raises(ValueError, match="unknown kind"):
        validate.draw_cases(counts={"anova": 3})
    with pytest.raises(ValueError, match=r"counts\['gsd'\] must be a whole number >= 0"):
        validate.draw_cases(counts={"gsd": -1})
    few = validate.draw_cases(seed=5, counts=dict.fromkeys(validate.KINDS, 2))
    assert all(len(frame) == 2 for frame in few.values())
    again = validate.draw_cases(seed=5, counts=dict.fromkeys(validate.KINDS, 2) | {"gsd": 0})
    assert "gsd" not in again
    pd.testing.assert_frame_equal(few["events"], again["events"])  # streams are per kind


def test_record_needs_r(tmp_path):
    proc = _run(["--record"], str(tmp_path))
    assert proc.returncode == 2
    assert "--record needs R" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    validate.find_r()[0] is None, reason="Rscript with rpact, mvtnorm and pwr is not installed"
)
def test_with_r_fresh_designs_agree(capsys):
    assert validate.main(["--cases", "1", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "R values computed now" in out
    assert "(seed 7)" in out
