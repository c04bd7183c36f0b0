"""The public API is documented: numpydoc docstrings with runnable Examples.

Every name in ``trialplan.__all__`` and in the ``__all__`` of the public
sub-modules (``tp.spending``, ``tp.boundaries``, ``tp.randomization``,
``tp.synergy``, ``tp.scenarios``, ``tp.report``, ``tp.simulate``), and every
public method of the main classes, carries a numpydoc docstring whose
"Examples" section holds at least one doctest.  Those doctests run in the suite
(``--doctest-modules`` in pyproject.toml), so the values they print are checked
there; this file checks that they exist and that the sections read as numpydoc.
"""

from __future__ import annotations

import doctest
import inspect
import re
import types

import pytest

import trialplan as tp

SUBMODULES = (
    "spending",
    "boundaries",
    "randomization",
    "synergy",
    "scenarios",
    "report",
    "simulate",
)

# numpydoc's section order (numpydoc format guide); a docstring may use any subset.
SECTION_ORDER = (
    "Parameters",
    "Attributes",
    "Returns",
    "Yields",
    "Receives",
    "Other Parameters",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Notes",
    "References",
    "Examples",
)
_HEADING = re.compile(
    r"^(?P<indent>[ ]*)(?P<name>[A-Z][A-Za-z ]+)\n(?P=indent)-{3,}[ ]*$", re.MULTILINE
)

# Public methods of the main classes that need no example of their own: ``to_docx``
# needs the optional python-docx, and a doctest cannot assume it is installed.
METHOD_EXEMPT = {"Protocol.to_docx"}


def _exports() -> list[tuple[str, object]]:
    found = [(f"tp.{name}", getattr(tp, name)) for name in tp.__all__]
    for sub in SUBMODULES:
        module = getattr(tp, sub)
        found += [(f"tp.{sub}.{name}", getattr(module, name)) for name in module.__all__]
    return [(label, obj) for label, obj in found if not isinstance(obj, types.ModuleType)]


EXPORTS = _exports()
CALLABLES = [
    (label, obj) for label, obj in EXPORTS if inspect.isclass(obj) or inspect.isfunction(obj)
]

MAIN_CLASSES = (
    tp.Factorial,
    tp.Parallel,
    tp.SMART,
    tp.GroupSequential,
    tp.PowerResult,
    tp.SampleSizeResult,
    tp.report.Protocol,
    tp.TrialPlan,
)


def _methods() -> list[tuple[str, object]]:
    """Public methods (not properties) of the main classes, written in trialplan."""
    out = []
    for cls in MAIN_CLASSES:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            attr = inspect.getattr_static(cls, name)
            func = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
            if not inspect.isfunction(func) or not func.__module__.startswith("trialplan"):
                continue
            label = f"{cls.__name__}.{name}"
            if label not in METHOD_EXEMPT:
                out.append((label, func))
    return out


METHODS = _methods()


def _sections(doc: str) -> list[str]:
    return [m.group("name") for m in _HEADING.finditer(doc)]


def _examples(obj: object) -> list[doctest.Example]:
    doc = inspect.getdoc(obj) or ""
    head, _, tail = doc.partition("\nExamples\n--------\n")
    return doctest.DocTestParser().get_examples(tail) if tail else []


def test_the_public_namespace_is_what_all_says() -> None:
    # Every exported name resolves, and nothing exported is listed twice.
    assert len(tp.__all__) == len(set(tp.__all__))
    assert len(CALLABLES) > 60  # guards against an empty parametrization below
    for sub in SUBMODULES:
        module = getattr(tp, sub)
        assert module.__all__, f"tp.{sub}.__all__ is empty"
        for name in module.__all__:
            assert hasattr(module, name), f"tp.{sub}.__all__ lists missing {name!r}"


@pytest.mark.parametrize(("label", "obj"), CALLABLES, ids=[label for label, _ in CALLABLES])
def test_export_has_a_docstring_with_examples(label: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{label} has no docstring"
    summary = doc.splitlines()[0].strip()
    assert summary.endswith("."), f"{label}: the first line should be a one-sentence summary"
    sections = _sections(doc)
    assert "Examples" in sections, f"{label} has no numpydoc 'Examples' section"
    assert _examples(obj), f"{label}: the Examples section holds no '>>>' doctest"


@pytest.mark.parametrize(("label", "obj"), METHODS, ids=[label for label, _ in METHODS])
def test_main_class_method_has_examples(label: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{label} has no docstring"
    assert "Examples" in _sections(doc), f"{label} has no numpydoc 'Examples' section"
    assert _examples(obj), f"{label}: the Examples section holds no '>>>' doctest"


@pytest.mark.parametrize(
    ("label", "obj"), CALLABLES + METHODS, ids=[label for label, _ in CALLABLES + METHODS]
)
def test_sections_are_numpydoc_sections_in_numpydoc_order(label: str, obj: object) -> None:
    sections = _sections(inspect.getdoc(obj) or "")
    unknown = [s for s in sections if s not in SECTION_ORDER]
    assert not unknown, f"{label}: unknown section(s) {unknown}; allowed: {SECTION_ORDER}"
    assert len(sections) == len(set(sections)), f"{label}: a section is repeated: {sections}"
    ranks = [SECTION_ORDER.index(s) for s in sections]
    assert ranks == sorted(ranks), (
        f"{label}: sections {sections} are out of numpydoc order {SECTION_ORDER}"
    )


@pytest.mark.parametrize(
    ("label", "obj"),
    [(lb, o) for lb, o in CALLABLES if inspect.isfunction(o)],
    ids=[lb for lb, o in CALLABLES if inspect.isfunction(o)],
)
def test_functions_document_their_parameters(label: str, obj: object) -> None:
    # Every named parameter of a public function appears in its Parameters section.
    params = [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not params:
        return
    doc = inspect.getdoc(obj) or ""
    assert "Parameters" in _sections(doc), f"{label} takes parameters but documents none"
    block = doc.split("\nParameters\n----------\n", 1)[1]
    block = _HEADING.split(block, maxsplit=1)[0]
    documented = set()
    for line in block.splitlines():
        if line and not line.startswith(" "):
            for name in line.split(":")[0].split(","):
                documented.add(name.strip().lstrip("*"))
    missing = [p.name for p in params if p.name not in documented]
    assert not missing, f"{label}: parameters {missing} are not documented"


def test_doctests_of_the_checked_objects_are_collected() -> None:
    # The examples required above are found by the doctest finder, so
    # --doctest-modules really runs them (a docstring set at run time would not be).
    finder = doctest.DocTestFinder()
    for label, obj in CALLABLES[:5] + METHODS[:5]:
        tests = [t for t in finder.find(obj) if t.examples]
        assert tests, f"{label}: doctest finds no examples"
