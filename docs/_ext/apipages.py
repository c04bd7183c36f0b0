"""API reference: one page per public object, and a summary table per module.

The public objects are read from the modules' ``__all__`` when the site is built,
so a name added to ``__all__`` gets its page without editing the docs:

* ``docs/generated/<module>.<name>.rst`` is written for each object (autodoc,
  numpydoc docstrings; classes with their methods, inherited ones included);
* the marker ``<!-- api-reference -->`` in ``docs/api.md`` becomes, per module,
  a heading, the module's one-line summary and an autosummary table linking
  those pages.

The modules come from ``api_modules`` in ``conf.py``; an object exported by
several of them is documented once, under the first.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
from pathlib import Path
from typing import Any

MARKER = "<!-- api-reference -->"
STUBS = "generated"


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def public_objects(modules: list[str]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """``[(module, [(name, object), ...]), ...]``: the documented objects, in order.

    Submodules named in a module's ``__all__`` are sections of their own (when
    listed in ``modules``), not objects; an object already documented under an
    earlier module is skipped.
    """
    seen: set[int] = set()
    sections = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            raise ValueError(f"api_modules: {module_name} has no __all__")
        objects = []
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            if not isinstance(obj, (int, float, str, dict, tuple)) and id(obj) in seen:
                continue
            seen.add(id(obj))
            objects.append((name, obj))
        sections.append((module_name, objects))
    return sections


def _data_comment(module_name: str, name: str) -> str:
    """The ``#:`` comment above ``name = ...`` in the module's package.

    autodoc finds such comments only in the defining module, not where the name is
    re-exported.
    """
    module = importlib.import_module(module_name)
    where = Path(module.__file__).parent
    pattern = re.compile(rf"((?:^[ \t]*#:.*\n)+)^{re.escape(name)}\s*(?::[^=]*)?=", re.M)
    for path in sorted(where.glob("*.py")):
        match = pattern.search(path.read_text(encoding="utf-8"))
        if match:
            return " ".join(
                line.strip()[2:].strip() for line in match.group(1).strip().splitlines()
            )
    return ""


def stub(module_name: str, name: str, obj: Any) -> str:
    """The reST page of one object."""
    full = f"{module_name}.{name}"
    lines = [full, "=" * len(full), "", f".. currentmodule:: {module_name}", ""]
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        lines.append(f".. {kind}:: {name}")
    elif callable(obj):
        lines.append(f".. autofunction:: {name}")
    else:
        lines += [f".. py:data:: {name}", f"   :type: {type(obj).__name__}", ""]
        if isinstance(obj, (int, float, str)):
            lines += [f"   :value: {obj!r}", ""]
        comment = _data_comment(module_name, name)
        if comment:
            lines += [f"   {comment}", ""]
        if isinstance(obj, dict):
            lines += ["   Keys: " + ", ".join(f"``{key}``" for key in obj), ""]
    return "\n".join(lines) + "\n"


def write_stubs(srcdir: Path, modules: list[str]) -> list[str]:
    """Write the object pages into ``srcdir/generated``; return their docnames.

    Files are rewritten only when their text changes, so an unchanged page is not
    read again by an incremental build; pages of objects no longer public are
    removed.
    """
    folder = srcdir / STUBS
    folder.mkdir(exist_ok=True)
    docnames, wanted = [], set()
    for module_name, objects in public_objects(modules):
        for name, obj in objects:
            path = folder / f"{module_name}.{name}.rst"
            text = stub(module_name, name, obj)
            wanted.add(path.name)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            docnames.append(f"{STUBS}/{path.stem}")
    for path in folder.glob("*.rst"):
        if path.name not in wanted:
            path.unlink()
    return docnames


def reference_markdown(modules: list[str]) -> str:
    """The MyST text that replaces the marker in ``api.md``."""
    parts = []
    for module_name, objects in public_objects(modules):
        module = importlib.import_module(module_name)
        parts += [f"## `{module_name}`", "", _summary(module), ""]
        if not objects:
            continue
        parts += ["```{eval-rst}", f".. py:module:: {module_name}", ""]
        parts += [f".. currentmodule:: {module_name}", "", ".. autosummary::", ""]
        parts += [f"   {name}" for name, _ in objects]
        parts += ["```", ""]
    pages = [f"{STUBS}/{m}.{n}" for m, objects in public_objects(modules) for n, _ in objects]
    parts += ["```{toctree}", ":hidden:", ":maxdepth: 1", "", *pages, "```", ""]
    return "\n".join(parts)


def _defined_outside(obj: Any) -> bool:
    """Whether a class member comes from outside trialplan (``Mapping.get``, ``Exception.args``)."""
    owner = getattr(obj, "__objclass__", None)
    module = getattr(owner, "__module__", None) if owner is not None else None
    if module is None:
        target = getattr(obj, "fget", None) or getattr(obj, "__func__", None) or obj
        module = getattr(target, "__module__", None)
    return module is not None and not module.startswith("trialplan")


def _skip_member(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    """Leave out members a class inherits from Python or other libraries."""
    if what in ("class", "exception") and _defined_outside(obj):
        return True
    return None


def _builder_inited(app: Any) -> None:
    write_stubs(Path(app.srcdir), app.config.api_modules)


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    if MARKER in source[0]:
        source[0] = source[0].replace(MARKER, reference_markdown(app.config.api_modules))


def clean(srcdir: Path) -> None:
    """Remove the generated pages (``python docs/_ext/apipages.py clean``)."""
    shutil.rmtree(srcdir / STUBS, ignore_errors=True)


def setup(app: Any) -> dict[str, Any]:
    """Register the configuration value and the two build steps."""
    app.add_config_value("api_modules", ["trialplan"], "env")
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read)
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
