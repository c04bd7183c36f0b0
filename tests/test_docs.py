"""The documentation site builds with ``mkdocs build --strict``.

Skipped when mkdocs (the ``docs`` extra: mkdocs-material, mkdocstrings[python])
is not installed.  The build also runs docs/hooks/validation.py, which
recomputes every value of the validation report.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_mkdocs = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "mkdocstrings", "material")),
    reason="mkdocs, mkdocstrings or mkdocs-material not installed (pip install '.[docs]')",
)


@pytest.mark.slow
@needs_mkdocs
def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"NO_MKDOCS_2_WARNING": "1", **os.environ},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    validation = (site / "validation" / "index.html").read_text()
    assert "rpact efficacy" in validation
    assert "not computed" not in validation
    assert "<strong>no</strong>" not in validation  # every reference value agrees
    assert not (site / "hooks").exists()
    api = (site / "api" / "index.html").read_text()
    assert "Factorial" in api


def test_every_nav_page_exists_or_is_added_by_the_hook():
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import nav
    finally:
        sys.path.pop(0)
    config = {
        "docs_dir": str(ROOT / "docs"),
        "nav": [{"Topics": ["factorial.md", "not-written-yet.md"]}],
    }
    out = nav.on_config(config)["nav"]
    topics = out[0]["Topics"]
    assert "not-written-yet.md" not in topics
    assert "factorial.md" in topics
    assert "tutorial.md" in topics  # unlisted pages are appended
