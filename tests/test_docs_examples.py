"""Every code example a user reads in README.md and docs/*.md runs, and says what it prints.

For each page (README.md and docs/*.md, not docs/hooks/) the fenced blocks are run
in order, in one fresh namespace, in a temporary working directory:

* ```` ```python ```` blocks are executed; a block written as a doctest (lines starting
  with ``>>>``) is run by :mod:`doctest`, so its shown output is checked;
* a fence without a language (or ```` ```text ````) directly after a python block is
  that block's printed output: the block's standard output must equal it (trailing
  spaces ignored);
* ```` ```bash ```` blocks: every ``trialplan ...`` command is run (through
  ``trialplan.cli.main``, which the console script calls) in the page's directory and
  must exit 0; other commands are not run, but the scripts they name must exist; the
  installed ``trialplan`` command itself is run once, for ``--help`` of every
  subcommand the docs use;
* ```` ```toml ```` blocks of docs/spec.md: the complete spec is read with
  ``trialplan.spec.read_spec``, and the fragments are read appended to it.

A block opts out only with an explicit ``<!-- no-run: reason -->`` on the line
before its fence (for blocks that need resources a test machine does not have).

MyST syntax counts as well: ```` ```{code-cell} python ```` (or ``ipython3``) and
```` ```{code-block} python ```` blocks are python blocks, and blocks inside MyST
directives (```` ```{note} ````, ``:::{tip}``) are found and run. The same blocks are
executed when the site is built (docs/_ext/mdpages.py); the tests below also check
that the notebook built from each page runs the same code in the same order.
Numbers the docs quote are asserted inside the blocks themselves, so this test keeps
them true.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Pages whose examples take more than about 3 s (simulation, protocols, figures).
SLOW_PAGES = {"simulation.md", "multiplicity.md", "adaptive.md"}

# One reading of the pages serves the site and this test: docs/_ext/mdpages.py finds
# the blocks (CommonMark fences and MyST's ```{code-cell}, also inside directives)
# and turns each page into the notebook the Sphinx build executes.
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from mdpages import NO_RUN, SETUP, Block, extract_blocks, page_cells  # noqa: E402

sys.path.pop(0)


def _normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _run_python(block: Block, namespace: dict, where: str) -> str:
    """Execute one python block in ``namespace``; return what it printed."""
    buffer = io.StringIO()
    if block.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block.code, namespace, where, where, block.line)
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=report.write, clear_globs=False)
        namespace.update(test.globs)  # DocTest works on a copy; later blocks use its names
        if runner.failures:
            raise AssertionError(f"{where}: doctest failed\n{report.getvalue()}")
        return ""
    code = compile(block.code, where, "exec")
    with contextlib.redirect_stdout(buffer):
        exec(code, namespace)  # noqa: S102 - running the documentation is the point
    return buffer.getvalue()


_SCRIPT = re.compile(r"\b((?:examples|benchmarks)/[\w./-]+\.py)\b")


def _run_bash(block: Block, cwd: Path, where: str) -> None:
    for script in _SCRIPT.findall(block.code):
        assert (ROOT / script).exists(), f"{where}: {script} does not exist"
    for raw in block.code.splitlines():
        for command in raw.split("&&"):
            words = shlex.split(command, comments=True)
            if not words or words[0] != "trialplan":
                continue
            code, err = _run_cli(words[1:], cwd)
            assert code == 0, f"{where}: `{command.strip()}` exited {code}\n{err[-3000:]}"


def _run_cli(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``trialplan argv`` in this process (the console script calls the same main)."""
    from trialplan.cli import main

    err = io.StringIO()
    saved = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(saved)
    return code, err.getvalue()


def _run_toml(block: Block, cwd: Path, where: str, state: dict) -> None:
    from trialplan.spec import read_spec

    if "spec_version" in block.code:
        state["spec_toml"] = block.code
        text = block.code
    else:
        assert "spec_toml" in state, f"{where}: a TOML fragment before any complete spec"
        text = state["spec_toml"] + "\n" + block.code
    path = cwd / f"spec_line{block.line}.toml"
    path.write_text(text)
    read_spec(path)


# Optional dependencies (extras) a documented example may need: without them the
# page is skipped, naming the extra; any other ImportError fails the test.
OPTIONAL_MODULES = {
    "docx": "report (python-docx)",
    "jinja2": "report",
    "matplotlib": "report",
    "distributed": "dask",
    "tqdm": "progress",
    "shiny": "app",
}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _missing_names(exc: BaseException | None) -> set[str]:
    """Top-level names of the modules an ImportError (or its causes) failed to import."""
    names = set()
    while exc is not None:
        if isinstance(exc, ImportError) and exc.name:
            names.add(exc.name.partition(".")[0])
        exc = exc.__cause__ or exc.__context__
    return names


def run_page(page: Path, cwd: Path) -> None:
    blocks = extract_blocks(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": "__docs__"}
    state: dict = {}
    printed: str | None = None
    for block in blocks:
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.no_run is not None:
            printed = None
            continue
        if block.lang == "python":
            try:
                printed = _run_python(block, namespace, where)
            except ImportError as exc:
                missing = [
                    m for m in OPTIONAL_MODULES if m in _missing_names(exc) and not _importable(m)
                ]
                if not missing:
                    raise
                pytest.skip(
                    f"{where} needs the optional extra(s) "
                    f"{', '.join(OPTIONAL_MODULES[m] for m in missing)}"
                )
            continue
        if block.lang in ("", "text") and printed is not None and block.follows_block:
            assert _normalize(printed) == _normalize(block.code), (
                f"{where}: the block before prints\n{printed}\nbut the page shows\n{block.code}"
            )
        elif block.lang == "bash":
            _run_bash(block, cwd, where)
        elif block.lang == "toml" and page.name == "spec.md":
            _run_toml(block, cwd, where, state)
        printed = None


def _param(page: Path):
    marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
    if page.name == "explore.md":
        # The page's factory lives in this test's namespace, which worker processes
        # cannot import; explore says so and runs serially, as documented.
        marks.append(pytest.mark.filterwarnings("ignore:explore. running scenarios serially"))
    return pytest.param(page, id=page.name, marks=marks)


@pytest.mark.parametrize("page", [_param(p) for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    run_page(page, tmp_path)


def test_every_page_has_been_found():
    names = {p.name for p in PAGES}
    assert {"README.md", "tutorial.md", "user-guide.md", "multiplicity.md"} <= names
    assert not any("hooks" in p.parts for p in PAGES)


def test_no_run_markers_are_rare_and_give_a_reason():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for marker in re.findall(r"<!--\s*no-run\b[^>]*-->", text):
            assert NO_RUN.search(marker), f"{page.name}: {marker} gives no reason"
    total = sum(len(re.findall(r"<!--\s*no-run", p.read_text())) for p in PAGES)
    assert total <= 3


def test_extractor_pairs_output_blocks_and_honours_markers():
    text = (
        "intro\n\n```python\nprint(1)\n```\n\n```\n1\n```\n\nprose\n\n"
        "<!-- no-run: needs a cluster -->\n```python\nraise SystemExit\n```\n\n"
        "- item\n\n  ```python\n  x = 2\n  ```\n"
    )
    blocks = extract_blocks(text)
    assert [b.lang for b in blocks] == ["python", "", "python", "python"]
    assert blocks[1].follows_block
    assert not blocks[2].follows_block
    assert blocks[2].no_run == "needs a cluster"
    assert blocks[3].code == "x = 2\n"


def test_extractor_reads_myst_syntax():
    text = (
        "```{code-cell} ipython3\n:tags: [hide-input]\n\nx = 1\n```\n\n"
        "````{note}\nInside a directive:\n\n```python\ny = 2\n```\n````\n\n"
        ":::{tip}\n```python\nz = 3\n```\n:::\n\n"
        "```{code-block} python\nw = 4\n```\n\n"
        "~~~~python\nv = 5\n~~~~\n"
    )
    blocks = extract_blocks(text)
    assert [(b.lang, b.code.strip()) for b in blocks] == [
        ("python", "x = 1"),
        ("python", "y = 2"),
        ("python", "z = 3"),
        ("python", "w = 4"),
        ("python", "v = 5"),
    ]
    assert blocks[0].cell
    assert blocks[0].tags == ("hide-input",)
    assert [b.nested for b in blocks] == [False, True, True, False, False]


def test_page_notebook_shows_live_output_in_place_of_the_copy():
    text = (
        "# Title\n\n```python\nprint(1)\n```\n\n```\n1\n```\n\nprose\n\n"
        "```python\n>>> a = 2\n>>> a + 1\n3\n```\n\n"
        "- item\n\n  ```python\n  b = a\n  ```\n\n"
        "<!-- no-run: needs a cluster -->\n```python\nraise SystemExit\n```\n\n"
        "```bash\npip install trialplan\ntrialplan init -o t.toml && trialplan power t.toml\n```\n"
        "\n```python\nprint(b)\n```\n"
    )
    _, cells = page_cells(text)
    assert cells[0]["source"] == SETUP  # hidden: figures are shown as images
    cells = cells[1:]
    kinds = [(c["cell_type"], tuple(c["metadata"].get("tags", ()))) for c in cells]
    assert kinds == [
        ("markdown", ()),
        ("code", ()),  # print(1); its copied output "1" is not on the page any more
        ("markdown", ()),  # prose, the doctest as written, the list, no-run and bash blocks
        ("code", ("remove-cell",)),  # the doctest's and the list item's code, hidden
        ("code", ("remove-input",)),  # the two trialplan commands, output shown
        ("code", ()),
    ]
    assert cells[1]["source"] == "print(1)"
    assert "```\n1\n```" not in cells[2]["source"]
    assert ">>> a + 1" in cells[2]["source"]
    assert "raise SystemExit" in cells[2]["source"]
    assert cells[3]["source"] == "a = 2\na + 1\nb = a"
    assert '["init", "-o", "t.toml"]' in cells[4]["source"]
    assert '["power", "t.toml"]' in cells[4]["source"]
    assert "pip" not in cells[4]["source"].split("\n\n")[-1]


def _python_code(page: Path) -> list[str]:
    """The code this test runs for a page, block by block (prompts removed)."""
    out = []
    for block in extract_blocks(page.read_text(encoding="utf-8")):
        if block.lang == "python" and block.no_run is None:
            code = block.code
            if block.doctest:
                code = "".join(e.source for e in doctest.DocTestParser().get_examples(code))
            out.append(code.strip("\n"))
    return out


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.parent.name == "docs"], ids=lambda p: p.name
)
def test_site_executes_the_code_this_test_runs(page):
    """The notebook the site builds from a page runs the page's python blocks, in order."""
    _, cells = page_cells(page.read_text(encoding="utf-8"))
    executed = [
        c["source"]
        for c in cells
        if c["cell_type"] == "code"
        and "remove-input" not in c["metadata"].get("tags", ())
        and c["source"] != SETUP
    ]
    assert "\n".join(executed) == "\n".join(_python_code(page))


def test_wrong_output_or_failing_code_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(2)\n```\n\n```\n3\n```\n")
    with pytest.raises(AssertionError, match="prints"):
        run_page_at(page, tmp_path)
    page.write_text("```python\n>>> 1 + 1\n3\n```\n")
    with pytest.raises(AssertionError, match="doctest failed"):
        run_page_at(page, tmp_path)
    page.write_text("```python\n>>> x = 3\n```\n\n```python\nassert x == 4\n```\n")
    with pytest.raises(AssertionError):  # names of a doctest block reach later blocks
        run_page_at(page, tmp_path)
    page.write_text("```bash\ntrialplan power missing.toml\n```\n")
    with pytest.raises(AssertionError, match="exited 2"):
        run_page_at(page, tmp_path)


def run_page_at(page: Path, cwd: Path) -> None:
    """run_page for a page outside the repository (used by the self-tests)."""
    global ROOT
    saved = ROOT
    ROOT = page.parent
    try:
        run_page(page, cwd)
    finally:
        ROOT = saved


def _documented_subcommands() -> set[str]:
    found = set()
    for page in PAGES:
        for block in extract_blocks(page.read_text(encoding="utf-8")):
            if block.lang == "bash":
                found |= set(re.findall(r"(?m)(?:^|&&)\s*trialplan\s+([a-z-]+)", block.code))
    return found


@pytest.mark.slow
def test_documented_subcommands_exist_in_the_installed_command():
    used = _documented_subcommands()
    assert {"init", "power", "sample-size", "protocol", "randomize"} <= used
    proc = subprocess.run(
        [sys.executable, "-m", "trialplan", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for name in used:
        assert name in proc.stdout, f"`trialplan {name}` is documented but not in --help"


# The spec and CLI pages quote error messages; make each quoted mistake and compare.
SPEC_MISTAKES = {
    "design.outcome.sd": ("sd = 8.0", "sd = -1"),
    "design.outcome.means": ('"active+MBI" = -8.0', '"activ+MBI" = -8.0'),
    "design.alpah": ("alpha = 0.05", "alpah = 0.05"),
    "analysis.primary": ('primary = ["rTMS:MBI"]', 'primary = ["rTMS:MBII"]'),
}


def _quoted_pattern(line: str) -> re.Pattern:
    """A quoted message as a regex: ``[...]`` and ``...`` stand for any text."""
    parts = re.split(r"\[\.\.\.\]|\.\.\.", line.strip())
    return re.compile(".*".join(re.escape(p) for p in parts))


def test_quoted_spec_errors_are_what_trialplan_says(tmp_path):
    blocks = extract_blocks((ROOT / "docs" / "spec.md").read_text(encoding="utf-8"))
    spec = next(b.code for b in blocks if b.lang == "toml" and "spec_version" in b.code)
    quoted = next(b.code for b in blocks if b.lang == "text")
    cli_text = next(
        b.code for b in extract_blocks((ROOT / "docs" / "cli.md").read_text()) if b.lang == "text"
    )
    lines = [line for line in quoted.splitlines() if line.strip()]
    lines.append(next(line for line in cli_text.splitlines() if "error:" in line))
    assert len(lines) == len(SPEC_MISTAKES) + 1
    for line in lines:
        key = next(k for k in SPEC_MISTAKES if k in line)
        old, new = SPEC_MISTAKES[key]
        assert old in spec
        (tmp_path / key).mkdir(exist_ok=True)
        path = tmp_path / key / "trial.toml"  # messages name the file: the docs quote trial.toml
        path.write_text(spec.replace(old, new, 1))
        code, err = _run_cli(["power", str(path)], tmp_path)
        assert code == 1, (line, err)
        message = err.strip().removeprefix("trialplan: error: ")
        expected = line.strip().removeprefix("trialplan: error: ")
        assert _quoted_pattern(expected).fullmatch(message), (expected, message)


def test_randomization_page_shows_the_csv_its_example_writes(tmp_path, monkeypatch):
    import numpy as np

    import trialplan

    page = ROOT / "docs" / "randomization.md"
    monkeypatch.chdir(tmp_path)
    run_page(page, tmp_path)  # writes schedule.csv
    shown = next(
        b.code
        for b in extract_blocks(page.read_text(encoding="utf-8"))
        if b.code.startswith("# trialplan randomization schedule")
    )
    # The page was written with some release; the file records the installed ones.
    shown = re.sub(
        r"(?m)^# trialplan_version: .*$", f"# trialplan_version: {trialplan.__version__}", shown
    )
    shown = re.sub(r"(?m)^# numpy_version: \S+", f"# numpy_version: {np.__version__}", shown)
    written = (tmp_path / "schedule.csv").read_text().splitlines()
    expected = shown.strip("\n").splitlines()
    assert written[: len(expected)] == expected


def test_a_missing_optional_extra_skips_the_page_and_other_import_errors_fail(
    tmp_path, monkeypatch
):
    page = tmp_path / "page.md"
    page.write_text("```python\nimport trialplan_no_such_module\n```\n")
    with pytest.raises(ImportError):
        run_page_at(page, tmp_path)
    monkeypatch.setitem(sys.modules, "docx", None)  # python-docx not installed
    page.write_text("```python\nimport docx\n```\n")
    with pytest.raises(pytest.skip.Exception, match="python-docx"):
        run_page_at(page, tmp_path)
    page.write_text("```python\nfrom trialplan import no_such_name\n```\n")
    with pytest.raises(ImportError):  # still a failure without docx
        run_page_at(page, tmp_path)
