"""sphinx-gallery glue for ``examples/``: where the examples write, what is shown, what is offered.

The examples are command-line scripts (``python examples/<name>.py [OUTPUT]``)
that print tables and write a protocol folder (Markdown, HTML, Word, the spec,
figures). On the gallery page of each:

* :func:`example_argv` gives the script an output location inside the build's
  source folder (``auto_examples/output/<name>``), as its usage line asks: a
  folder, or a ``.md`` file when the usage says ``[OUTPUT.md]``;
* :func:`written_figures` (an image scraper) shows every figure the code block
  wrote there (PNG; SVG when there is no PNG) -- trialplan draws protocol
  figures on the Agg canvas without pyplot, so the matplotlib scraper sees none;
* the files written are offered for download below the example, one by one and
  as a zip of the whole folder;
* a script's ``raise SystemExit(main(...))`` ends the example: status 0 is a
  normal end, any other status fails the build (sphinx-gallery would otherwise
  let ``SystemExit`` stop Sphinx itself).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

OUTPUT = Path("auto_examples") / "output"
IMAGES = (".png", ".svg", ".jpg", ".jpeg", ".gif")
_seen: dict[str, set[Path]] = {}  # figures already shown, per example


def _output_root(gallery_conf: dict[str, Any]) -> Path:
    return Path(gallery_conf["src_dir"]) / OUTPUT


def output_path(src_file: str | Path, gallery_conf: dict[str, Any]) -> Path:
    """Where the example ``src_file`` writes on the site: a folder, or a ``.md`` file."""
    src = Path(src_file)
    usage = re.search(r"Usage:.*?\[(?P<arg>[^\]]+)\]", src.read_text(encoding="utf-8"), re.S)
    target = _output_root(gallery_conf) / src.stem
    if usage and usage["arg"].endswith(".md"):
        return target / f"{src.stem}.md"
    return target


def example_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """``reset_argv``: the command-line arguments of an example (its output location).

    The example's previous output is removed first, so the page offers only
    what this run wrote.
    """
    src = script_vars["src_file"]
    folder = _output_root(gallery_conf) / Path(src).stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _seen[str(src)] = set()
    return [str(output_path(src, gallery_conf))]


def _figures(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGES)
    stems = {p.with_suffix("") for p in files if p.suffix.lower() == ".png"}
    return [p for p in files if p.suffix.lower() == ".png" or p.with_suffix("") not in stems]


def written_figures(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """Image scraper: the figures a code block wrote into the example's output folder."""
    from sphinx_gallery.scrapers import figure_rst

    src = str(block_vars["src_file"])
    folder = _output_root(gallery_conf) / Path(src).stem
    if not folder.exists():
        return ""
    seen = _seen.setdefault(src, set())
    new = [p for p in _figures(folder) if p not in seen]
    seen.update(new)
    shown = []
    for figure in new:
        target = Path(next(block_vars["image_path_iterator"]))
        target = target.with_suffix(figure.suffix.lower())
        shutil.copyfile(figure, target)
        shown.append(str(target))
    # one full-width figure each (several at once would be shown side by side, small)
    return "".join(figure_rst([path], gallery_conf["src_dir"]) for path in shown)


def downloads_rst(docname: str, srcdir: Path) -> str:
    """The reST list of the files an example wrote, with a zip of its folder."""
    stem = Path(docname).name
    folder = srcdir / OUTPUT / stem
    if not folder.is_dir():
        return ""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        return ""
    archive = folder.parent / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, Path(stem) / path.relative_to(folder))
    here = srcdir / Path(docname).parent

    def link(path: Path, label: str) -> str:
        return f":download:`{label} <{path.relative_to(here).as_posix()}>`"

    lines = [
        ".. rubric:: Files this example wrote",
        "",
        "The protocol and everything written beside it, as produced when this page was built:",
        "",
    ]
    for path in files:
        if path.suffix.lower() not in IMAGES:
            lines.append(f"- {link(path, path.relative_to(folder).as_posix())}")
    lines += [f"- {link(archive, f'the whole folder ({stem}.zip)')}", "", ""]
    return "\n".join(lines)


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    if not docname.startswith("auto_examples/") or docname.endswith("index"):
        return
    text = downloads_rst(docname, Path(app.srcdir))
    if not text:
        return
    anchor = re.search(r"^\.\. _sphx_glr_download_", source[0], re.M)
    at = anchor.start() if anchor else len(source[0])
    source[0] = source[0][:at] + text + source[0][at:]


def _end_on_exit_status() -> None:
    """Let an example's ``SystemExit`` end it: status 0 ends it, others fail it."""
    from sphinx_gallery import gen_rst

    runner = getattr(gen_rst, "_exec_once", None)
    if runner is None or getattr(runner, "_trialplan_exit", False):
        if runner is None:
            raise RuntimeError(
                "sphinx_gallery.gen_rst._exec_once is gone: docs/_ext/gallery.py must "
                "learn how this sphinx-gallery runs example code"
            )
        return
    call = runner.__call__

    def __call__(self: Any) -> None:
        try:
            call(self)
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise RuntimeError(f"the example exited with status {exit_.code!r}") from None

    runner.__call__ = __call__
    runner._trialplan_exit = True


def setup(app: Any) -> dict[str, Any]:
    """Install the exit-status handling and the download lists."""
    _end_on_exit_status()
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
