"""Every example and every `init` preset: one plan, and its documents agree with it.

For each example script (run once, in-process) and each preset of
``trialplan init`` (through the command line: init, protocol, randomize), the
protocol's numbers are parsed back from the Markdown a user keeps -- the
number randomized, the counts per cell, the primary hypothesis's power in the
text, the power table, the sensitivity row at the planned values and the
interim boundaries -- and compared with the plan (re-resolved from the spec
copy the protocol folder holds) and with the randomization list's counts per
cell in every stratum.  A parse that finds nothing fails, so the checks cannot
pass by accident.

The whole protocol Markdown of each example is also compared with a golden
file in tests/golden/; after a deliberate change of wording or numbers,
rewrite them with ``python -m pytest tests/test_examples.py --update-golden``
and review the diff (tests/golden/README.md).
"""

from __future__ import annotations

import math
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trialplan import scenarios
from trialplan.cli import main as cli
from trialplan.spec import read_spec

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py"))
#: Each example's protocol folders (relative to its output folder).
FOLDERS = {
    "binary_remission_synergy": ("multiplicative", "additive"),
}


def folders(name: str, out: Path) -> list[Path]:
    return [out / sub for sub in FOLDERS.get(name, ("",))]


@pytest.fixture(scope="module")
def example_outputs(tmp_path_factory):
    """Run every example's ``main`` once, into its own folder; keep what it printed."""
    results = {}
    base = tmp_path_factory.mktemp("examples")
    for script in EXAMPLES:
        out = base / script.stem
        namespace = runpy.run_path(str(script), run_name="example")
        code = namespace["main"]([str(out)])
        results[script.stem] = (code, out)
    return results


@pytest.fixture(scope="module")
def preset_outputs(tmp_path_factory):
    """``trialplan init`` for every preset, then ``protocol`` and ``randomize`` on the spec."""
    results = {}
    base = tmp_path_factory.mktemp("presets")
    for name in scenarios.names():
        folder = base / name
        folder.mkdir()
        spec = folder / "trial.toml"
        assert cli(["init", "-o", str(spec), "--scenario", name]) == 0
        out = folder / "protocol"
        assert cli(["protocol", str(spec), "-o", str(out), "--no-figures", "--format", "md"]) == 0
        assert cli(["randomize", str(spec), "-o", str(out / "schedule.csv")]) == 0
        results[name] = out
    return results


# ----------------------------------------------------------------- parsing
def _number(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in the protocol"
    return match.group(1)


def _table(md: str, caption_start: str) -> list[dict[str, str]]:
    """The rows of the Markdown table whose caption starts with ``caption_start``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(caption_start))
    rows = []
    header = None
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if header is None:
            header = cells
        elif not set("".join(cells)) <= set("-:"):
            rows.append(dict(zip(header, cells, strict=True)))
    assert rows, f"no table after {caption_start!r}"
    return rows


def _percent(text: str) -> float:
    return float(text.rstrip("%").lstrip("<>"))


def _per_cell(text: str, labels: list[str]) -> dict[str, int]:
    """Counts per cell from "360 per cell" or "334 in A and B, and 252 in C and D"."""
    match = re.fullmatch(r"(\d+) per [a-z -]+", text)
    if match:
        return {label: int(match.group(1)) for label in labels}
    counts: dict[str, int] = {}
    for count, cells in re.findall(r"(\d+) (?:in|to) (.+?)(?=(?:,| and) \d+ (?:in|to) |$)", text):
        for label in labels:
            if re.search(rf"(^|, | and ){re.escape(label)}($|,| and)", cells.strip()):
                counts[label] = int(count)
    assert set(counts) == set(labels), (text, counts)
    return counts


def check_consistency(out: Path) -> None:
    """The protocol in ``out`` agrees with its plan and with ``out/schedule.csv``."""
    md = (out / "protocol.md").read_text(encoding="utf-8")
    spec_file = next(p for p in out.glob("*.toml"))
    plan = read_spec(spec_file).evaluate()
    alloc = plan.allocation
    labels = plan.cell_labels()
    # --- the number randomized, per cell, in the text
    n = int(_number(r"(\d+) participants will be randomized", md))
    per = _number(r"participants will be randomized \(([^)]*)\)", md)
    counts = _per_cell(per, labels)
    assert n == alloc.n_randomized
    assert [counts[label] for label in labels] == list(alloc.randomized)
    assert sum(counts.values()) == n
    held = int(_number(r"list holds (\d+) assignments", md))
    listed = plan.list_allocation
    if plan.selects_arms:
        # the stage-1 list: every arm until the interim; stage-2 lists per selection
        held_counts = _per_cell(
            _number(r"stage-1 list holds \d+ assignments \(([^)]*)\)", md), labels
        )
        assert [held_counts[label] for label in labels] == list(listed.randomized)
        check_selection(md, plan, out)
    elif plan.adaptive is None:
        assert held == n
        held_counts = counts
    else:
        # an adaptive plan's list holds its largest trial, not the planned one
        assert listed is plan.maximum
        held_counts = _per_cell(_number(r"list holds \d+ assignments \(([^)]*)\)", md), labels)
        assert [held_counts[label] for label in labels] == list(listed.randomized)
        check_adaptive(md, plan, held, held_counts)
    assert held == listed.n_randomized
    # --- the randomization list: every stratum holds the protocol's counts per cell
    schedule = pd.read_csv(out / "schedule.csv", comment="#")
    columns = [
        c for c in schedule.columns if c not in ("sequence",) and c not in plan.randomization.strata
    ]
    strata = list(plan.randomization.strata)
    groups = schedule.groupby(strata) if strata else [((), schedule)]
    n_strata = 0
    for _, stratum in groups:
        n_strata += 1
        assert len(stratum) == held
        found = stratum.groupby(columns).size()
        for cell, label in zip(alloc.cells, labels, strict=True):
            key = cell if isinstance(cell, tuple) else (cell,)
            key = key if len(key) > 1 else key[0]
            assert found[key] == held_counts[label], (label, found[key], held_counts[label])
    assert n_strata == max(
        1,
        int(pd.Series([len(v) for v in plan.randomization.strata.values()]).prod())
        if strata
        else 1,
    )
    # --- the primary hypothesis's power: text, table, sensitivity row, curve, plan
    primary = plan.primary[0]
    label = plan.label(primary)
    stated = _percent(_number(rf"{re.escape(label)} has ([\d.]+%) power", md))
    table = _table(md, "Power of each hypothesis")
    row = next(r for r in table if r["Role"] == "primary" and r["Hypothesis"] == label)
    sensitivity = _table(md, "Power with")
    planned = [r for r in sensitivity if r["Planning values"] == "planned"]
    assert len(planned) == 1
    in_sensitivity = next(v for k, v in planned[0].items() if k.startswith("Power of"))
    curve = plan.curve(points=5)
    on_curve = curve[(curve.n_randomized == n) & (curve.hypothesis == primary)]["power"].item()
    value = round(100 * plan.primary_power[primary], 1)
    assert stated == _percent(row["Power"]) == _percent(in_sensitivity) == value
    assert round(100 * on_curve, 1) == value
    if plan.size == "solve" and plan.selects_arms:  # sized on rejecting at least one
        assert plan.familywise()["any"] >= plan.target
    elif plan.size == "solve":
        assert plan.primary_power[primary] >= plan.target
    # --- interim analyses: bounds and participants per look
    if plan.selects_arms:
        looks = plan.looks()
        rows = _table(md, "Analyses of the design with treatment selection")
        assert [float(r["Efficacy bound (z)"]) for r in rows] == [
            round(z, 3) for z in looks["efficacy_z"]
        ]
        column = next(k for k in rows[0] if k.startswith("Participants analysed, every"))
        assert [int(r[column]) for r in rows] == looks["n_analysed"].tolist()
        largest = [int(r["Largest number analysed under the rule"]) for r in rows]
        assert largest == looks["n_largest"].tolist()
        assert largest[-1] == plan.adaptive_result.max_n
    elif plan.sequential is not None:
        looks = plan.looks()
        rows = _table(md, "Stopping boundaries at each analysis")
        assert [float(r["Efficacy bound (z)"]) for r in rows] == [
            round(z, 3) for z in looks["efficacy_z"]
        ]
        assert [int(r["Participants analysed"]) for r in rows] == looks["n_analysed"].tolist()
        assert _percent(rows[-1]["Cumulative power"]) == value
    # --- no code identifiers in what a statistician reads
    body = md.split("## Reproducibility")[0]
    for code in (
        "sham+control",
        "info_fraction",
        "stop_futility",
        "n_per_cell",
        "| MBI=",
        "'rTMS:MBI'",
        "rTMS:MBI ",
        "log_risk",
        "_h1",
    ):
        assert code not in body, code
    assert not re.search(r"\d+\.\d+ (analysed )?participants", body)


def check_adaptive(md: str, plan, held: int, held_counts: dict[str, int]) -> None:
    """An adaptive protocol's sizes, rule and simulated numbers agree with the plan and list."""
    result = plan.adaptive_result
    name = plan.primary[0]
    labels = plan.cell_labels()
    stages = plan.stages()
    final = stages[stages["look"] == stages["look"].max()]
    first = stages[stages["look"] == 1]
    largest = dict(zip(final["label"], final["maximum"], strict=True))
    # the largest trial: the text, the engine's maximum and the list agree
    top, top_randomized = re.search(
        r"so that up to (\d+) participants are analysed \((\d+) randomized\)", md
    ).groups()
    assert int(top) == result.max_n == sum(largest.values())
    assert int(top_randomized) == held
    # the list holds enough for the largest trial in every cell at the planned dropout
    for label, dropout in zip(labels, plan.allocation.dropout, strict=True):
        assert math.floor(round(held_counts[label] * (1 - dropout), 9)) >= largest[label], label
    # the planned stages add up to the planned sizes, and the interim is the text's
    assert list(final["planned"]) == list(plan.allocation.analysed)
    interim = int(_number(r"interim analysis, when (\d+) participants have", md))
    assert interim == int(first["planned"].sum())
    per = _per_cell(_number(r"information on [^:]+: ([^)]*)\)", md), labels)
    assert [per[label] for label in labels] == list(first["planned"])
    # the stages table per cell
    rows = _table(md, "Participants per cell at each stage")
    for row, label in zip(rows, labels, strict=True):
        cell = final[final["label"] == label].iloc[0]
        assert int(row["Analysed at the end, largest"]) == cell["maximum"]
        assert int(row["Analysed at the end, planned"]) == cell["planned"]
        assert int(row["Randomized, list"]) == held_counts[label]
    # the operating characteristics: the power stated, the type I error, expected N
    oc = _table(md, "Operating characteristics of the adaptive design")
    by = {r["Operating characteristic"]: r for r in oc}
    power = by["Probability of rejecting the null hypothesis"]
    assert _percent(power["Planning values"].split(" (")[0]) == round(100 * result[name], 1)
    size = _percent(power["No effect (null hypothesis)"].split(" (")[0])
    assert size == round(100 * result.type_i_error[name], 1)
    expected = int(by["Expected participants analysed"]["Planning values"].split(" (")[0])
    assert expected == math.ceil(result.expected_n - 1e-9)
    # the rule in words: conditional power and factors as specified
    rule = plan.adaptive
    assert f"gives {100 * rule.conditional_power:g}% conditional power" in md
    assert f"at most {rule.max_factor:g} times the planned number" in md
    # type I error control: CHW weights sqrt of the planned stage fractions
    t = plan.sequential.info_fractions
    weights = re.search(r"w1 = ([\d.]+), w2 = ([\d.]+)", md).groups()
    assert [float(w) for w in weights] == [round(math.sqrt(t[0]), 3), round(math.sqrt(1 - t[0]), 3)]


def check_selection(md: str, plan, out: Path) -> None:
    """A protocol with treatment selection agrees with the plan and its stage-2 lists."""
    result = plan.adaptive_result
    labels = plan.cell_labels()
    stages = plan.stages()
    first = stages[stages["look"] == 1]
    # the interim: participants per arm in the text are the planned stage-1 counts
    interim = int(_number(r"takes place when (\d+) participants have", md))
    assert interim == int(first["planned"].sum())
    per = _per_cell(_number(r"have the primary outcome \(([^;]*);", md), labels)
    assert [per[label] for label in labels] == list(first["planned"])
    # each comparison: selection, power and type I error, as the plan and its power table
    table = plan.selection_table().set_index("label")
    rows = _table(md, "Each comparison with")
    assert len(rows) == len(plan.primary)
    for row in rows:
        ref = table.loc[row["Comparison"]]
        assert _percent(row["Probability of being selected"]) == round(100 * ref["selected"], 1)
        assert _percent(row["Power (MCSE)"].split(" (")[0]) == round(100 * ref["power"], 1)
        power = round(100 * plan.primary_power[ref["hypothesis"]], 1)
        assert _percent(row["Power (MCSE)"].split(" (")[0]) == power
        null = _percent(row["Rejection with no effect (MCSE)"].split(" (")[0])
        assert null == round(100 * ref["type_i_error"], 1)
        assert f"{ref.name} with probability {round(100 * ref['power'], 1):.1f}%" in md
    # operating characteristics: at least one, familywise error, expected and largest N
    by = {r["Operating characteristic"]: r for r in _table(md, "Operating characteristics of")}
    anyrow = by["Probability of rejecting at least one comparison"]
    assert _percent(anyrow["Planning values"].split(" (")[0]) == round(
        100 * result.extras["any"], 1
    )
    fwer = _percent(anyrow[next(k for k in anyrow if k.startswith("No effect"))].split(" (")[0])
    assert fwer == round(100 * result.extras["fwer_global_null"], 1)
    assert f"the familywise type I error is {fwer:.1f}%" in md
    family = _percent(_number(r"reject at least one hypothesis of the family: ([\d.]+%)", md))
    assert family == round(100 * result.extras["any"], 1)
    expected = int(by["Expected participants analysed"]["Planning values"].split(" (")[0])
    assert expected == math.ceil(result.expected_n - 1e-9)
    assert int(by["Largest number analysed"]["Planning values"]) == result.max_n
    # the randomization lists: the table, the plan and the CSV files agree
    lists = plan.stage_lists()
    listed = _table(md, "Randomization lists")
    assert len(listed) == lists["list"].nunique()
    for row, (_, group) in zip(listed, lists.groupby("list", sort=False), strict=True):
        counts = dict(zip(group["label"], group["randomized"], strict=True))
        for label in labels:
            assert row[label] == (str(counts[label]) if label in counts else "none")
    totals = lists.groupby("list", sort=False)["randomized"].sum()
    most = int(_number(r"at most (\d+) randomized: the stage-1 list", md))
    assert most == totals.iloc[0] + totals.iloc[1:].max()
    second = sorted(out.glob("schedule-stage2-*.csv"))
    assert len(second) == len(listed) - 1
    for path, (_, group) in zip(second, list(lists.groupby("list", sort=False))[1:], strict=True):
        frame = pd.read_csv(path, comment="#")
        found = frame.groupby("arm").size().to_dict()
        assert found == dict(zip(group["cell"], group["randomized"], strict=True))
    # every arm's two stages add up to its planned randomized count
    head = lists[lists["stage"] == 1]
    stage1 = dict(zip(head["cell"], head["randomized"], strict=True))
    for cell, total in zip(plan.allocation.cells, plan.allocation.randomized, strict=True):
        later = lists[(lists["stage"] == 2) & (lists["cell"] == cell)]["randomized"]
        assert later.nunique() == 1
        assert stage1[cell] + int(later.iloc[0]) == total
    # the weights of the inverse normal method: square roots of the planned increments
    t = plan.sequential.info_fractions
    weights = re.search(r"w1 = ([\d.]+), w2 = ([\d.]+)", md).groups()
    assert [float(w) for w in weights] == [round(math.sqrt(t[0]), 3), round(math.sqrt(1 - t[0]), 3)]


# ------------------------------------------------------------------- tests
def test_there_are_at_least_five_examples():
    names = {p.stem for p in EXAMPLES}
    assert {
        "rtms_mbi_factorial",
        "binary_remission_synergy",
        "smart_nonresponders",
        "group_sequential_interaction",
        "three_factor_timing",
        "adaptive_interaction",
    } <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_writes_its_protocol_and_list(script, example_outputs):
    code, out = example_outputs[script.stem]
    assert code == 0
    for folder in folders(script.stem, out):
        for name in (
            "protocol.md",
            "protocol.html",
            "protocol.docx",
            "schedule.csv",
            "sensitivity.csv",
            "figures/power_curve.png",
            "figures/power_curve.svg",
        ):
            assert (folder / name).exists(), folder / name
        md = (folder / "protocol.md").read_text()
        assert "## Sample size (SPIRIT 2013 item 14)" in md
        assert "## Reproducibility" in md
    if script.stem in ("group_sequential_interaction", "adaptive_interaction"):
        assert (out / "figures" / "boundaries.png").exists()
        assert (out / "trial.toml").exists()
    if script.stem == "adaptive_interaction":
        assert (out / "figures" / "final_n.png").exists()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_documents_agree_with_the_plan(script, example_outputs):
    _, out = example_outputs[script.stem]
    for folder in folders(script.stem, out):
        check_consistency(folder)


@pytest.mark.parametrize("name", scenarios.names())
def test_init_preset_documents_agree_with_the_plan(name, preset_outputs):
    check_consistency(preset_outputs[name])


def _normalized(md: str) -> str:
    """The protocol without what changes between machines and releases (versions)."""
    md = re.sub(r"trialplan \d+\.\d+[^\s),;]*", "trialplan VERSION", md)
    md = re.sub(r"trialplan version: .*", "trialplan version: VERSION", md)
    return re.sub(r"Python: .*", "Python: VERSION; numpy VERSION; scipy VERSION", md)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_protocol_matches_its_golden_file(script, example_outputs, request):
    _, out = example_outputs[script.stem]
    for folder in folders(script.stem, out):
        stem = script.stem + (f"-{folder.name}" if folder != out else "")
        golden = GOLDEN / f"{stem}.md"
        text = _normalized((folder / "protocol.md").read_text(encoding="utf-8"))
        if request.config.getoption("--update-golden"):
            golden.write_text(text, encoding="utf-8")
            continue
        assert golden.exists(), f"{golden} is missing: run pytest --update-golden"
        expected = golden.read_text(encoding="utf-8")
        assert text == expected, (
            f"{folder / 'protocol.md'} differs from {golden}; if the change is deliberate, "
            "run `python -m pytest tests/test_examples.py --update-golden` and review the diff"
        )


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_documents_its_usage_and_default_folder(script):
    text = script.read_text()
    assert f"python examples/{script.name} [OUTPUT_DIR]" in text
    assert f'Path("output") / "{script.stem}"' in text


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_as_a_script(script, tmp_path):
    out = tmp_path / script.stem
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        [sys.executable, str(script), str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert out.exists()
