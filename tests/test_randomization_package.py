"""trialplan.randomization is a package with one concept per module (issue 15).

Every public name keeps its import paths (``tp.randomization.X`` and
``from trialplan.randomization import X``), each is defined in the module of
its concept, and the package keeps to the size rule of docs/architecture.md
(modules under ~600 lines, functions under ~80 lines of code).
"""

from __future__ import annotations

import ast
import importlib
import pickle
from pathlib import Path

import pytest

import trialplan as tp
import trialplan.randomization as randomization

PACKAGE = Path(randomization.__file__).parent

HOMES = {
    "permuted_blocks": "blocks",
    "Schedule": "schedule",
    "Minimization": "minimization",
    "read_schedule": "files",
    "read_minimization_log": "files",
}


@pytest.mark.parametrize(("name", "module"), sorted(HOMES.items()))
def test_public_names_keep_their_paths_and_live_in_their_concepts_module(name, module):
    home = importlib.import_module(f"trialplan.randomization.{module}")
    assert getattr(tp.randomization, name) is getattr(home, name)
    assert getattr(randomization, name) is getattr(home, name)
    assert name in randomization.__all__


def test_the_package_exports_exactly_the_documented_names():
    assert sorted(randomization.__all__) == sorted(HOMES)


def _code_lines(node: ast.AST, source: list[str]) -> int:
    """Lines of a function that are neither blank, comments nor its docstring."""
    body = node.body  # type: ignore[attr-defined]
    skip = set()
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        skip = set(range(first.lineno, first.end_lineno + 1))
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):  # type: ignore[attr-defined]
        text = source[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_modules_and_functions_keep_to_the_size_rule(path):
    source = path.read_text(encoding="utf-8").splitlines()
    assert len(source) < 600, f"{path.name} has {len(source)} lines"
    long = {
        node.name: _code_lines(node, source)
        for node in ast.walk(ast.parse("\n".join(source)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _code_lines(node, source) > 80
    }
    assert long == {}


def test_a_schedule_and_an_allocator_made_through_the_package_behave_as_documented(tmp_path):
    design = tp.Parallel(
        arms=("A", "B"), outcome=tp.Continuous(means={"A": 0, "B": 1}, sd=1.0), n_per_arm=20
    )
    schedule = tp.randomization.permuted_blocks(
        design, n=12, block_sizes=(2, 4), strata={"site": ("x", "y")}, seed=5
    )
    # each stratum's list ends on a complete block, so it is exactly balanced (1:1)
    counts = schedule.to_frame().groupby(["site", "arm"]).size()
    assert counts.groupby(level="site").nunique().tolist() == [1, 1]
    back = tp.randomization.read_schedule(schedule.to_csv(tmp_path / "s.csv"))
    assert back.equals(schedule.to_frame())
    # a schedule pickles (process pools), and the copy writes the same list
    assert pickle.loads(pickle.dumps(schedule)).to_frame().equals(schedule.to_frame())

    allocator = tp.randomization.Minimization(design, factors={"sex": ("F", "M")}, p=1.0, seed=0)
    allocator.record({"sex": "F"}, "A")
    assert allocator.assign({"sex": "F"}) == "B"  # p=1: the only way to rebalance sex=F
