"""The page's downloads, written from the plan on screen as the command line writes them.

A protocol folder is written once per spec (by its SHA-256) with
:meth:`Protocol.write <trialplan.report.Protocol.write>`, named as
``trialplan protocol SPEC -o OUT`` names it (``spec_name`` and ``out_name``
enter the reproducibility line), so each downloaded file equals the file the
command writes for the downloaded spec:

* ``protocol.md``, ``protocol.docx``, ``sensitivity.csv``, the figures and
  the spec copy: as ``trialplan protocol SPEC -o OUT`` writes them (a DOCX is
  a ZIP file whose entries carry the time they were written; their contents
  are equal);
* the one-file HTML: as ``trialplan protocol SPEC -o OUT --self-contained``
  writes ``protocol.html``;
* the randomization list: as ``trialplan randomize SPEC -o FILE`` writes it.
"""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import Any

from trialplan.report import make_protocol
from trialplan.spec import spec_hash, spec_to_toml

__all__ = ["Folder", "spec_bytes", "zip_bytes"]

#: A fixed time for the entries of the ZIP files the page makes (reproducible bytes).
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def spec_bytes(spec: Any) -> bytes:
    """The spec as the TOML file ``trialplan`` reads (canonical text, UTF-8)."""
    return spec_to_toml(spec).encode("utf-8")


def zip_bytes(root: Path, paths: list[Path], *, prefix: str = "") -> bytes:
    """A ZIP file of ``paths`` (relative to ``root``), entries in sorted order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(paths):
            name = prefix + path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


class Folder:
    """Protocol folders of the plans a page showed, one per spec, written when first asked for.

    Parameters
    ----------
    root : pathlib.Path
        A private temporary folder of the page's session.
    spec_name : str
        The spec's file name (``trial.toml``).
    out_name : str
        The protocol folder's name (``protocol``).
    """

    def __init__(self, root: Path, *, spec_name: str, out_name: str) -> None:
        self.root = Path(root)
        self.spec_name = spec_name
        self.out_name = out_name
        self._lock = threading.RLock()  # figures are drawn by one thread at a time
        self._protocols: dict[str, Any] = {}

    def protocol(self, plan: Any) -> Any:
        """The plan's Protocol (with figures), made once per spec."""
        key = spec_hash(plan.source)
        with self._lock:
            if key not in self._protocols:
                self._protocols.clear()  # keep only the latest plan's figures in memory
                self._protocols[key] = make_protocol(
                    plan, figures=True, spec_name=self.spec_name, out_name=self.out_name
                )
            return self._protocols[key]

    def figures(self, plan: Any) -> dict[str, Path]:
        """PNG files of the plan's figures, as the protocol folder holds them."""
        return {
            name: self.folder(plan, figures_only=True) / "figures" / f"{name}.png"
            for name in self.protocol(plan).figures
        }

    def folder(self, plan: Any, *, figures_only: bool = False) -> Path:
        """The protocol folder of the plan (``<root>/<hash>/<out_name>``)."""
        key = spec_hash(plan.source)
        out = self.root / key / self.out_name
        protocol = self.protocol(plan)
        with self._lock:
            done = out / ".complete"
            figures_done = out / ".figures"
            if done.exists() or (figures_only and figures_done.exists()):
                return out
            if figures_only:
                from trialplan.report.figures import save_figure

                for name, fig in protocol.figures.items():
                    save_figure(fig, out / "figures" / name)
                figures_done.touch()
                return out
            protocol.write(out, spec_name=self.spec_name, overwrite=True)
            done.touch()
        return out

    def files(self, plan: Any) -> list[Path]:
        """Every file of the folder, as ``trialplan protocol`` writes it."""
        out = self.folder(plan)
        return [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]

    def read(self, plan: Any, name: str) -> bytes:
        """One file of the folder (``protocol.md``, ``protocol.docx`` ...)."""
        return (self.folder(plan) / name).read_bytes()

    def html_one_file(self, plan: Any) -> bytes:
        """The HTML protocol with its figures inline (``--self-contained``)."""
        with self._lock:
            self.folder(plan, figures_only=True)  # figures frozen as the command freezes them
            return self.protocol(plan).to_html(embed_figures=True).encode("utf-8")

    def folder_zip(self, plan: Any) -> bytes:
        """The whole folder as a ZIP file (entries under ``<out_name>/``)."""
        out = self.folder(plan)
        return zip_bytes(out, self.files(plan), prefix=f"{self.out_name}/")

    def figures_zip(self, plan: Any) -> bytes:
        """The figures (PNG and SVG) as a ZIP file (entries under ``figures/``)."""
        out = self.folder(plan, figures_only=True)
        paths = [p for p in (out / "figures").glob("*") if p.is_file()]
        return zip_bytes(out, paths)

    def randomization(self, plan: Any) -> bytes:
        """The randomization list, as ``trialplan randomize SPEC -o FILE`` writes it."""
        key = spec_hash(plan.source)
        path = self.root / key / "randomization.csv"
        with self._lock:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                plan.schedule().to_csv(path)
        return path.read_bytes()
