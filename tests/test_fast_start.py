"""Fast start (issue 15 item 6): heavy libraries load when a function needs them.

Each check runs in a fresh interpreter (a subprocess), because this test
session has long since imported pandas and friends.  The timings themselves are
a benchmark, not a test: benchmarks/bench_startup.py.  Here: what a start-up
loads, and that the lazy public namespace is the one ``__all__`` declares.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import trialplan as tp
from trialplan import _api

PACKAGE = Path(tp.__file__).parent
HEAVY = ("pandas", "statsmodels", "matplotlib")


def loaded_after(code: str) -> list[str]:
    """Top-level packages in sys.modules after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_trialplan_loads_no_heavy_library() -> None:
    loaded = loaded_after("import trialplan")
    assert [m for m in (*HEAVY, "numpy", "scipy") if m in loaded] == []


def test_computing_power_loads_neither_pandas_statsmodels_nor_matplotlib() -> None:
    loaded = loaded_after(
        "import trialplan as tp\n"
        "d = tp.Factorial(factors={'A': ('a0', 'a1'), 'B': ('b0', 'b1')},\n"
        "    outcome=tp.Continuous(means={('a0', 'b0'): 0, ('a1', 'b0'): 1, ('a0', 'b1'): 1,\n"
        "                                 ('a1', 'b1'): 3}, sd=2.0, better='higher'),\n"
        "    n_per_cell=20)\n"
        "assert 0 < d.power()['A:B'] < 1\n"
        "gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), efficacy=tp.spending.pocock())\n"
        "assert d.replace(sided=1, alpha=0.025).sample_size(power=0.8, hypothesis='A',\n"
        "    sequential=gsd).n_total > 0"
    )
    assert "numpy" in loaded  # the probe did compute
    assert [m for m in HEAVY if m in loaded] == []


def test_a_frame_loads_pandas_when_asked_for() -> None:
    loaded = loaded_after(
        "import trialplan as tp\n"
        "d = tp.Parallel(arms=('a', 'b'), outcome=tp.Continuous(means={'a': 0, 'b': 1},\n"
        "    sd=2.0), n_per_arm=20)\n"
        "d.power().to_frame()"
    )
    assert "pandas" in loaded


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_the_command_answers_help_and_version_without_numerical_libraries(argv) -> None:
    loaded = loaded_after(
        "import sys\nfrom trialplan.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    )
    assert [m for m in (*HEAVY, "numpy", "scipy") if m in loaded] == []


def test_all_the_declared_exports_and_the_type_checking_block_agree() -> None:
    # One list of public names, three places: __all__, _api (where they live),
    # and the TYPE_CHECKING block (what type checkers and static doc tools see).
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )
    static = set()
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            static.add(alias.asname or alias.name)
            if node.module != "trialplan" and alias.name != "__version__":
                assert _api.EXPORTS[alias.name] == node.module, alias.name
    assert static == set(tp.__all__) | {"__version__"}
    assert set(_api.EXPORTS) | set(_api.SUBMODULES) == set(tp.__all__)


def test_every_public_name_resolves_to_its_home_and_is_listed_by_dir() -> None:
    for name in tp.__all__:
        value = getattr(tp, name)
        if name in _api.SUBMODULES:
            assert isinstance(value, types.ModuleType)
        else:
            assert value.__module__ == _api.EXPORTS[name], name
    assert set(tp.__all__) <= set(dir(tp))
    assert tp.__version__ == _api.load("__version__")
    with pytest.raises(AttributeError, match="has no attribute 'Factorail'"):
        _ = tp.Factorail


@pytest.mark.parametrize("name", ["explore", "plan"])
def test_a_function_survives_an_import_of_the_module_of_its_name(name) -> None:
    # ``explore`` and ``plan`` each name a module and the function it defines;
    # importing the module must not replace tp.<name> by it (in a fresh
    # interpreter, both orders).
    for code in (
        f"import trialplan as tp\nimport trialplan.{name}\nf = tp.{name}",
        f"import trialplan as tp\nf = tp.{name}\nimport trialplan.{name}",
    ):
        probe = code + f"\nprint(callable(tp.{name}), type(tp.{name}).__name__)"
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
        ).stdout
        assert out.startswith("True function"), out
