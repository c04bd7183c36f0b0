"""The documentation site: Sphinx build with warnings as errors, and what the built pages show.

The build test is slow (every page and example is executed) and needs the
``docs`` extra; it is skipped, naming what is missing, without it. When
``TRIALPLAN_DOCS_HTML`` names a folder that ``.ci/run`` has just built with
``sphinx-build -W --keep-going``, the checks read that site instead of building
it a second time. The other tests check the build's pieces without Sphinx.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import apipages  # noqa: E402
import gallery  # noqa: E402
import navigation  # noqa: E402
import pagecheck  # noqa: E402

sys.path.pop(0)

DOCS_PACKAGES = ("sphinx", "pydata_sphinx_theme", "numpydoc", "myst_nb", "sphinx_gallery")
needs_sphinx = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in (*DOCS_PACKAGES, "sphinx_copybutton")),
    reason="the docs extra is not installed (pip install -e '.[docs]')",
)


def _conf() -> dict:
    """conf.py's settings, read without Sphinx."""
    namespace: dict = {"__file__": str(DOCS / "conf.py")}
    exec(compile((DOCS / "conf.py").read_text(), str(DOCS / "conf.py"), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    built = os.environ.get("TRIALPLAN_DOCS_HTML")
    if built:
        path = Path(built)
        assert (path / "index.html").exists(), f"TRIALPLAN_DOCS_HTML={built} holds no site"
        return path
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-j", "auto", "-W", "--keep-going", "-b", "html", "-d"]
        + [str(out / "doctrees"), str(DOCS), str(out / "html")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-6000:])
    return out / "html"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.slow
@needs_sphinx
def test_validation_page_is_computed_and_agrees(site):
    page = _text(site / "validation.html")
    assert "rpact efficacy" in page
    assert "Largest absolute difference" in page
    assert not re.search(r"validation:(published|rpact|pwr|factorial|fixtures)", page)
    assert "<strong>no</strong>" not in page  # every reference value agrees
    assert "error:" not in page
    assert "python -m trialplan.validate" in page  # the recorded differential run


@pytest.mark.slow
@needs_sphinx
def test_every_public_object_has_a_page_and_a_row(site):
    api = _text(site / "api.html")
    for module, objects in apipages.public_objects(_conf()["api_modules"]):
        for name, _ in objects:
            page = site / "generated" / f"{module}.{name}.html"
            assert page.exists(), page
            assert f'href="generated/{module}.{name}.html' in api, (module, name)
    factorial = _text(site / "generated" / "trialplan.Factorial.html")
    assert "Parameters" in factorial
    assert "sample_size" in factorial  # inherited methods are documented too
    result = _text(site / "generated" / "trialplan.PowerResult.html")
    assert "to_frame" in result
    assert "if k in D" not in result  # but not those of Mapping, dict or Exception


@pytest.mark.slow
@needs_sphinx
def test_topic_pages_show_outputs_computed_at_build(site):
    conf = _conf()
    guide = [p for caption, _, pages in conf["NAVIGATION"] for p in pages if caption != "Reference"]
    for name in guide:
        page = _text(site / f"{name}.html")
        assert 'class="cell_output' in page, f"{name}.md shows no output computed at build"
    tutorial = _text(site / "tutorial.html")
    assert tutorial.count("<img") >= 3  # the boundary plot, power curve and heat map
    assert "exact noncentral t" in tutorial  # the printed power table


@pytest.mark.slow
@needs_sphinx
def test_gallery_pages_show_output_figures_and_downloads(site):
    examples = sorted((ROOT / "examples").glob("*.py"))
    index = _text(site / "auto_examples" / "index.html")
    for script in examples:
        page = _text(site / "auto_examples" / f"{script.stem}.html")
        assert script.stem in index
        assert "sphx-glr-script-out" in page, f"{script.name}: no printed output on its page"
        assert "Files this example wrote" in page, script.name
        assert f"{script.stem}.zip" in page
        assert f"{script.name}" in page  # the script's own download
    figures = {"group_sequential_interaction": 2, "smart_nonresponders": 1}
    for stem, count in figures.items():
        page = _text(site / "auto_examples" / f"{stem}.html")
        assert len(re.findall(r"<img[^>]+sphx_glr_" + stem, page)) >= count, stem
    assert "protocol.md" in _text(site / "auto_examples" / "group_sequential_interaction.html")


def test_navigation_drops_unwritten_pages_and_adds_new_ones():
    nav = [
        ("User guide", "guide", ["user-guide", "not-written-yet"]),
        ("Topics", "topics", ["factorial"]),
        ("Later", "not-written-landing", ["x"]),
    ]
    found = {"index", "guide", "topics", "user-guide", "factorial", "adaptive"}
    found.add("generated/trialplan.Factorial")
    parts = navigation.sections(nav, found, "Topics")
    assert parts == [
        ("User guide", "guide", ["user-guide"]),
        ("Topics", "topics", ["factorial", "adaptive"]),
    ]
    text = navigation.toctree(["guide", "topics"], hidden=True)
    assert text.startswith("```{toctree}")
    assert ":hidden:" in text
    assert text.rstrip().endswith("```")


def test_every_page_is_in_the_navigation():
    conf = _conf()
    found = {p.stem for p in DOCS.glob("*.md")} | {"auto_examples/index"}
    parts = navigation.sections(conf["NAVIGATION"], found, "Topics")
    listed = {landing for _, landing, _ in parts} | {p for _, _, pages in parts for p in pages}
    assert found - {"index"} <= listed
    assert [caption for caption, _, _ in parts] == [c for c, _, _ in conf["NAVIGATION"]]


def test_api_modules_cover_the_public_submodules():
    import trialplan

    modules = _conf()["api_modules"]
    submodules = [n for n in trialplan.__all__ if hasattr(getattr(trialplan, n), "__all__")]
    assert {f"trialplan.{n}" for n in submodules} <= set(modules)
    documented = {
        f"{module}.{name}"
        for module, objects in apipages.public_objects(modules)
        for name, _ in objects
    }
    for module in modules:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if hasattr(obj, "__all__") and getattr(obj, "__name__", "").startswith("trialplan."):
                continue  # a submodule: a section of its own
            assert f"{module}.{name}" in documented or any(
                getattr(importlib.import_module(m), n, None) is obj
                for m, _, n in (d.rpartition(".") for d in documented)
            ), f"{module}.{name} has no page"


def test_gallery_gives_each_example_the_output_its_usage_names(tmp_path):
    conf = {"src_dir": str(tmp_path)}
    folder_example = ROOT / "examples" / "group_sequential_interaction.py"
    assert gallery.output_path(folder_example, conf) == (
        tmp_path / "auto_examples" / "output" / "group_sequential_interaction"
    )
    file_example = tmp_path / "one_file.py"
    file_example.write_text('"""T\n=\n\nUsage: ``python examples/one_file.py [OUTPUT.md]``\n"""\n')
    assert gallery.output_path(file_example, conf) == (
        tmp_path / "auto_examples" / "output" / "one_file" / "one_file.md"
    )


def test_examples_have_a_gallery_title_and_cells():
    for script in sorted((ROOT / "examples").glob("*.py")):
        lines = script.read_text().splitlines()
        title = lines[0].removeprefix('"""')
        assert lines[1] == "=" * len(title), f"{script.name}: sphinx-gallery needs a title"
        assert sum(line == "# %%" for line in lines) >= 2, f"{script.name}: no # %% cells"


def test_nothing_of_the_old_site_generator_remains():
    old = "mk" + "docs"  # spelled apart so that this file does not match itself
    assert not (ROOT / f"{old}.yml").exists()
    assert not (DOCS / "hooks").exists()
    paths = [ROOT / "pyproject.toml", ROOT / "README.md", ROOT / ".ci" / "run"]
    paths += sorted((ROOT / "tests").glob("*.py")) + sorted(DOCS.glob("*.md"))
    paths += sorted(DOCS.glob("*.py"))
    # pagecheck.py names the old syntax to reject it
    paths += [p for p in sorted((DOCS / "_ext").glob("*.py")) if p.name != "pagecheck.py"]
    for path in paths:
        assert old not in path.read_text(encoding="utf-8").lower(), path


def test_tools_page_quotes_the_r_fixture_unchanged():
    import csv

    sys.path.insert(0, str(DOCS / "_ext"))
    from mdpages import extract_blocks

    sys.path.pop(0)
    code = next(
        b.code
        for b in extract_blocks((DOCS / "tools.md").read_text(encoding="utf-8"))
        if b.lang == "python" and "R_VALUES" in b.code
    )
    namespace: dict = {}
    exec(code, namespace)
    with (ROOT / "tests" / "references" / "tools_rtms_mbi.csv").open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    fixture = {row["quantity"]: (row["tool"], float(row["value"])) for row in rows}
    assert namespace["R_VALUES"] == fixture
    assert set(namespace["trialplan_values"]) == set(fixture)


def test_old_site_syntax_is_caught_outside_code():
    text = (
        '::: trialplan.Factorial\n\n!!! note "Title"\n    body\n\n'
        "```text\n::: shown as code\n```\n\n:::{note}\nMyST is fine\n:::\n"
    )
    assert [number for number, _, _ in pagecheck.leftovers(text)] == [1, 3]
    for page in sorted(DOCS.glob("*.md")):
        assert pagecheck.leftovers(page.read_text(encoding="utf-8")) == [], page.name
