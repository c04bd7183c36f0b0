"""The ``trialplan`` command: outputs, exit codes and friendly errors.

Exit codes: 0 ok, 1 invalid spec/values, 2 usage errors.  A few tests run the
real command in a subprocess (``python -m trialplan``); the rest call
``trialplan.cli.main`` in-process to keep the suite fast.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from trialplan.cli import main
from trialplan.spec import spec_from_toml

ROOT = Path(__file__).resolve().parents[1]

# Superpower vignette (Lakens & Caldwell 2021): 2b x 2b, n = 150 per cell,
# mu = (20, 20, 20, 25), sd = 20, alpha = .05: power 0.333 for A, B and A x B.
SUPERPOWER = """
[design]
type = "factorial"
n_per_cell = 150
factors = {A = ["a1", "a2"], B = ["b1", "b2"]}

[design.outcome]
type = "continuous"
sd = 20.0
better = "higher"
means = {"a1+b1" = 20.0, "a1+b2" = 20.0, "a2+b1" = 20.0, "a2+b2" = 25.0}

[analysis]
hypotheses = ["A", "B", "A:B"]
primary = ["A"]
size = "fixed"

[randomization]
block_sizes = [4, 8]
seed = 11
strata = {site = ["north", "south"]}
"""

# G*Power 3.1 ANOVA (fixed effects, special, df1 = 1), f = 0.25, 4 groups,
# alpha = .05, power .80: total N = 128.  A main effect of 0.5 SD in a 2x2 has
# f = |A| / (2 sd) = 0.25.
GPOWER = """
[design]
type = "factorial"
n_per_cell = 10
factors = {A = ["a0", "a1"], B = ["b0", "b1"]}

[design.outcome]
type = "continuous"
sd = 1.0
means = {"a0+b0" = 0.0, "a0+b1" = 0.0, "a1+b0" = 0.5, "a1+b1" = 0.5}

[analysis]
primary = ["A"]
power = 0.8
"""


def spec_file(tmp_path, name, text):
    """Write a spec's text to ``tmp_path / name`` and return its path."""
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def superpower(tmp_path):
    return spec_file(tmp_path, "superpower.toml", SUPERPOWER)


@pytest.fixture
def gpower(tmp_path):
    return spec_file(tmp_path, "gpower.toml", GPOWER)


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "trialplan", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


# ------------------------------------------------------------ subprocesses
def test_power_command_reproduces_superpower(superpower):
    proc = run("power", superpower, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = {r["hypothesis"]: r for r in csv.DictReader(io.StringIO(proc.stdout))}
    for h in ("A", "B", "A:B"):
        assert float(rows[h]["power"]) == pytest.approx(0.333, abs=5e-4)  # published to 3 dp


def test_invalid_value_exits_1_with_the_key_path_and_no_traceback(tmp_path):
    path = spec_file(tmp_path, "bad.toml", SUPERPOWER.replace("sd = 20.0", "sd = -1"))
    proc = run("power", path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    line = SUPERPOWER.splitlines().index("sd = 20.0") + 1
    assert proc.stderr.strip().splitlines() == [
        f"trialplan: error: bad.toml, line {line}, design.outcome.sd: must be a finite number "
        "> 0; got sd=-1"
    ]
    assert proc.stdout == ""


def test_missing_file_is_a_usage_error(tmp_path):
    proc = run("sample-size", tmp_path / "absent.toml")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "spec file not found" in proc.stderr


def test_unknown_option_is_a_usage_error(superpower, capsys):
    assert main(["power", str(superpower), "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("power", "sample-size", "protocol", "randomize", "check", "init"):
        assert command in out


def test_console_script_entry_point_is_main():
    # pyproject.toml declares trialplan = "trialplan.cli:main"
    text = (ROOT / "pyproject.toml").read_text()
    assert 'trialplan = "trialplan.cli:main"' in text


# --------------------------------------------------------------- in-process
@pytest.mark.parametrize(
    "command", ["power", "sample-size", "protocol", "randomize", "check", "init"]
)
def test_each_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "usage: trialplan " + command in capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("trialplan ")


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_sample_size_reproduces_gpower(gpower, capsys):
    assert main(["sample-size", str(gpower), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["n_total"] == 128  # G*Power 3.1: total N = 128
    assert record["power"] == pytest.approx(0.8013621, abs=1e-6)  # G*Power actual power


def test_power_table_output_reads_as_a_table(superpower, capsys):
    assert main(["power", str(superpower)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("A:B"))
    power = next(word for word in line.split() if word.endswith("%"))
    assert float(power[:-1]) == pytest.approx(33.3, abs=0.05)  # published: 0.333


def test_power_hypotheses_option(superpower, capsys):
    assert main(["power", str(superpower), "--hypotheses", "A:B", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["hypothesis"] for r in records] == ["A:B"]


def test_unknown_hypothesis_exits_1_with_a_suggestion(superpower, capsys):
    assert main(["power", str(superpower), "--hypotheses", "A:C"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trialplan: error: ")
    assert "'C' is not a factor" in err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--power", "1.5"], id="power-above-one"),
        pytest.param(["--power", "x"], id="power-not-a-number"),
    ],
)
def test_bad_option_values_are_usage_errors(gpower, args, capsys):
    assert main(["sample-size", str(gpower), *args]) == 2
    assert "must be a number in (0, 1)" in capsys.readouterr().err


def test_unreachable_power_exits_1(tmp_path, capsys):
    path = spec_file(
        tmp_path,
        "flat.toml",
        GPOWER.replace('"a1+b0" = 0.5, "a1+b1" = 0.5', '"a1+b0" = 0.0, "a1+b1" = 0.0'),
    )
    assert main(["sample-size", str(path)]) == 1
    assert "trialplan: error:" in capsys.readouterr().err


def test_toml_syntax_error_exits_1(tmp_path, capsys):
    path = spec_file(tmp_path, "broken.toml", "[design\n")
    assert main(["check", str(path)]) == 1
    assert "not valid TOML" in capsys.readouterr().err


def test_simulation_options_need_the_simulation_method(superpower, capsys):
    assert main(["power", str(superpower), "--seed", "3"]) == 2
    assert "--method simulation" in capsys.readouterr().err


def test_check_prints_the_canonical_spec(superpower, capsys):
    assert main(["check", str(superpower)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("# sha256: ")
    assert spec_from_toml(out) == spec_from_toml(SUPERPOWER)


def test_randomize_writes_a_reproducible_stratified_list(superpower, tmp_path, capsys):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["randomize", str(superpower), "-o", str(first)]) == 0
    assert main(["randomize", str(superpower), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    rows = [
        r
        for r in csv.reader(
            line for line in first.read_text().splitlines() if not line.startswith("#")
        )
    ]
    header, body = rows[0], rows[1:]
    assert {"site", "A", "B"} <= set(header)
    for site in ("north", "south"):
        cells = [
            (r[header.index("A")], r[header.index("B")])
            for r in body
            if r[header.index("site")] == site
        ]
        assert len(cells) == 600  # the plan's 4 x 150, no dropout, in every stratum
        # complete blocks: every cell equally often within the stratum
        assert len({cells.count(c) for c in set(cells)}) == 1


def test_randomize_seed_option_changes_the_list(superpower, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["randomize", str(superpower), "-o", str(first)]) == 0
    assert main(["randomize", str(superpower), "-o", str(second), "--seed", "12"]) == 0
    assert first.read_text() != second.read_text()


def test_protocol_writes_documents(gpower, tmp_path, capsys):
    out = tmp_path / "protocol"
    assert (
        main(["protocol", str(gpower), "-o", str(out), "--no-figures", "--format", "md", "html"])
        == 0
    )
    assert (out / "protocol.md").exists()
    assert (out / "protocol.html").exists()
    assert (out / "gpower.toml").exists()
    assert "128 randomized, 128 analysed" in capsys.readouterr().out
    assert "32 per cell must be analysed (128 in total)" in (out / "protocol.md").read_text()


def test_init_writes_a_preset_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "trial.toml"
    assert main(["init", "-o", str(path), "--scenario", "hamd_factorial"]) == 0
    spec = spec_from_toml(path.read_text())
    assert spec.scenario == "hamd_factorial"
    assert main(["init", "-o", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["init", "-o", str(path), "--scenario", "hamd_factorail", "--force"]) == 1
    assert "did you mean 'hamd_factorial'" in capsys.readouterr().err


def test_init_list(capsys):
    assert main(["init", "-o", "unused.toml", "--list"]) == 0
    assert "hamd_factorial" in capsys.readouterr().out


SMART = """
[design]
type = "smart"
stage1 = ["rTMS", "rTMS+MBI"]
stage2 = ["continue", "augment"]
sd = 8.0
n_total = 100
response_rate = {rTMS = 0.4, "rTMS+MBI" = 0.4}
responder_mean = {rTMS = 4.0, "rTMS+MBI" = 0.0}

[design.nonresponder_mean]
"rTMS/continue" = 4.0
"rTMS/augment" = 4.0
"rTMS+MBI/continue" = 0.0
"rTMS+MBI/augment" = 0.0

[analysis]
primary = ["rTMS/continue vs rTMS+MBI/continue"]
power = 0.8
"""


@pytest.fixture
def smart(tmp_path):
    return spec_file(tmp_path, "smart.toml", SMART)


def test_smart_sample_size_matches_oetting(smart, capsys):
    # Oetting et al. 2011: N = 4 (z.975 + z.8)^2 (2 - g) / delta^2 = 200.9 -> 201
    assert main(["sample-size", str(smart), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n_total"] == 201


def test_smart_power_and_unknown_comparison(smart, capsys):
    assert main(["power", str(smart), "--format", "json"]) == 0
    names = [r["hypothesis"] for r in json.loads(capsys.readouterr().out)]
    assert "rTMS+MBI vs rTMS" in names
    assert len(names) == 7  # stage 1 and the six pairs of four regimes
    assert main(["power", str(smart), "--hypotheses", "rTMS+MBI vs rTMs"]) == 1
    assert "did you mean 'rTMS+MBI vs rTMS'" in capsys.readouterr().err


def test_smart_randomize_stages(smart, gpower, tmp_path, capsys):
    assert main(["randomize", str(smart), "-o", str(tmp_path / "s1.csv")]) == 0
    assert main(["randomize", str(smart), "-o", str(tmp_path / "s2.csv"), "--stage", "2"]) == 0
    header = next(
        line for line in (tmp_path / "s2.csv").read_text().splitlines() if not line.startswith("#")
    )
    assert "stage2" in header
    assert main(["randomize", str(tmp_path / "s.toml"), "-o", "x.csv"]) == 2
    assert main(["randomize", str(gpower), "-o", str(tmp_path / "g.csv"), "--stage", "2"]) == 2
    assert "SMART designs only" in capsys.readouterr().err


def test_power_with_a_multiplicity_procedure_reports_its_family(tmp_path, capsys):
    path = spec_file(
        tmp_path,
        "holm.toml",
        GPOWER + '\n[analysis.multiplicity]\ntype = "holm"\nhypotheses = ["A", "B"]\n',
    )
    assert main(["power", str(path), "--format", "json"]) == 0
    records = {r["hypothesis"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["A"]["analysis"] == records["B"]["analysis"] == "multiplicity"
    assert records["A:B"]["analysis"] == "single"
    assert records["A"]["role"] == "primary"


def test_protocol_self_contained_html(gpower, tmp_path):
    out = tmp_path / "p"
    assert (
        main(["protocol", str(gpower), "-o", str(out), "--format", "html", "--self-contained"]) == 0
    )
    page = (out / "protocol.html").read_text()
    assert "<svg" in page
    assert "<img" not in page


# ------------------------------------------------------------ one plan, safe files
def test_init_spec_sizes_synergy_with_rounded_values(tmp_path, capsys):
    path = tmp_path / "trial.toml"
    assert main(["init", "-o", str(path)]) == 0
    text = path.read_text()

    def floats(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from floats(item)
        elif isinstance(value, list):
            for item in value:
                yield from floats(item)
        elif isinstance(value, float):
            yield value

    written = list(floats(tomllib.loads(text)))
    assert written
    for value in written:  # planning values as a protocol states them, not -5.779999999999999
        assert len(repr(value).split(".")[-1]) <= 3, value
    spec = spec_from_toml(text)
    assert "rTMS:MBI" in spec.primary
    assert spec.design.hypothesis("rTMS:MBI") is not None
    capsys.readouterr()
    assert main(["sample-size", str(path), "--hypothesis", "rTMS:MBI", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["hypothesis"] == "rTMS:MBI"
    assert record["power"] >= 0.9


def test_sample_size_write_makes_protocol_and_randomize_use_the_size(tmp_path, capsys):
    path = tmp_path / "trial.toml"
    assert main(["init", "-o", str(path)]) == 0
    path.write_text("# our trial\n" + path.read_text())
    assert main(["sample-size", str(path), "--hypothesis", "rTMS:MBI", "--write"]) == 0
    out = capsys.readouterr().out
    assert 'analysis.size = "fixed"' in out
    spec = spec_from_toml(path.read_text())
    assert spec.size == "fixed"
    assert path.read_text().startswith("# our trial\n")
    assert (
        main(["protocol", str(path), "-o", str(tmp_path / "p"), "--no-figures", "--format", "md"])
        == 0
    )
    assert main(["randomize", str(path), "-o", str(tmp_path / "list.csv")]) == 0
    plan = spec.evaluate()
    md = (tmp_path / "p" / "protocol.md").read_text()
    assert f"{plan.allocation.n_randomized} participants will be randomized" in md
    frame = pd.read_csv(tmp_path / "list.csv", comment="#")
    assert len(frame) == plan.allocation.n_randomized * len(frame["site"].unique())


def test_protocol_never_replaces_files_without_force(gpower, tmp_path, capsys):
    out = tmp_path / "p"
    args = ["protocol", str(gpower), "-o", str(out), "--no-figures", "--format", "md"]
    assert main(args) == 0
    edited = out / "protocol.md"
    edited.write_text("my edits")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "would replace existing files" in err
    assert "protocol.md" in err
    assert "--force" in err
    assert edited.read_text() == "my edits"
    assert main([*args, "--force"]) == 0
    assert edited.read_text() != "my edits"


def test_protocol_into_the_spec_folder_keeps_the_spec(tmp_path, capsys):
    path = tmp_path / "trial.toml"
    path.write_text("# my comments stay\n" + GPOWER)
    before = path.read_bytes()
    for extra in ([], ["--force"]):
        assert main(
            ["protocol", str(path), "-o", str(tmp_path), "--no-figures", "--format", "md", *extra]
        ) in (0, 2)
        assert path.read_bytes() == before
    assert "kept" in capsys.readouterr().out


def test_randomize_never_replaces_without_force_and_never_the_spec(gpower, tmp_path, capsys):
    out = tmp_path / "list.csv"
    out.write_text("the list we printed")
    assert main(["randomize", str(gpower), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "the list we printed"
    assert main(["randomize", str(gpower), "-o", str(out), "--force"]) == 0
    assert out.read_text() != "the list we printed"
    before = gpower.read_bytes()
    assert main(["randomize", str(gpower), "-o", str(gpower), "--force"]) == 2
    assert "is the spec being read" in capsys.readouterr().err
    assert gpower.read_bytes() == before


def test_missing_docx_writer_is_an_error_naming_the_package(gpower, tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_docx(name, *args, **kwargs):
        if name == "docx" or name.startswith("docx."):
            raise ImportError("No module named 'docx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_docx)
    assert main(["protocol", str(gpower), "-o", str(tmp_path / "p"), "--no-figures"]) == 1
    err = capsys.readouterr().err
    assert "python-docx" in err
    assert "pip install 'trialplan[full]'" in err
    assert not (tmp_path / "p").exists()  # nothing half-written


def test_cli_uses_public_functions_only():
    import ast

    tree = ast.parse((ROOT / "trialplan" / "cli.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trialplan"):
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                assert not private, f"cli imports {node.module}.{alias.name}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("tp", "trialplan", "report", "protocol"):
                assert not node.attr.startswith("_"), node.attr
    text = (ROOT / "trialplan" / "cli.py").read_text()
    assert "__name__ ==" not in text.replace('if __name__ == "__main__"', "")
