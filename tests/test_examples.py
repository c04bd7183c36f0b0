"""Every script in examples/ runs and writes its protocol into the folder it is given.

The fast tests run each example's ``main`` in-process (one import of
trialplan); the slow tests run each script as a user would, in a subprocess.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py"))
# Scripts that write a protocol folder (the lead's main example writes one file).
FOLDER_EXAMPLES = [p for p in EXAMPLES if p.name != "rtms_mbi_factorial.py"]


def expected_outputs(name: str, out: Path) -> list[Path]:
    if name == "binary_remission_synergy":
        return [
            out / s / f
            for s in ("multiplicative", "additive")
            for f in ("protocol.md", "protocol.html", "interaction_scales.csv")
        ]
    files = [out / "protocol.md", out / "protocol.html", out / "figures" / "power_curve.svg"]
    if name == "group_sequential_interaction":
        files += [out / "figures" / "boundaries.png", out / "trial.toml"]
    if name == "smart_nonresponders":
        files.append(out / "stage1_randomization.csv")
    return files


def test_there_are_at_least_four_protocol_examples():
    names = {p.stem for p in FOLDER_EXAMPLES}
    assert {
        "binary_remission_synergy",
        "smart_nonresponders",
        "group_sequential_interaction",
        "three_factor_timing",
    } <= names


@pytest.mark.parametrize("script", FOLDER_EXAMPLES, ids=lambda p: p.stem)
def test_example_writes_its_protocol(script, tmp_path, monkeypatch, capsys):
    out = tmp_path / script.stem
    monkeypatch.setattr(sys, "argv", [str(script), str(out)])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(script), run_name="__main__")
    assert info.value.code == 0
    for path in expected_outputs(script.stem, out):
        assert path.exists(), path
    md = next(out.rglob("protocol.md")).read_text()
    assert "## Sample size (SPIRIT 2013 item 14)" in md
    assert "## Reproducibility" in md
    assert "-> " in capsys.readouterr().out


@pytest.mark.parametrize("script", FOLDER_EXAMPLES, ids=lambda p: p.stem)
def test_example_documents_its_usage_and_default_folder(script):
    text = script.read_text()
    assert f"python examples/{script.name} [OUTPUT_DIR]" in text
    assert f'Path("output") / "{script.stem}"' in text


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_as_a_script(script, tmp_path):
    out = tmp_path / (script.stem + (".md" if script.name == "rtms_mbi_factorial.py" else ""))
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
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert out.exists()
