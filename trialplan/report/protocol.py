"""Protocol text from a resolved plan: sample size, analysis plan, tables, figures.

:func:`make_protocol` words a :class:`~trialplan.plan.TrialPlan` (or a Spec or
design, resolved first) with the Jinja2 templates in
``trialplan/report/templates``; every number is read from the plan, so the
text, its tables, its figures and the randomization list agree:

* ``sample_size.txt.j2``: SPIRIT 2013 item 14 with the DELTA2 items (outcome,
  timepoint, estimand, powered hypotheses, assumed interaction, planning
  values, alpha and sidedness, power, allocation, numbers analysed and
  randomized, attrition, software and method);
* ``multiplicity.txt.j2``: how multiplicity is handled;
* ``factorial_items.txt.j2``: the CONSORT factorial-extension items;
* ``analysis_plan.txt.j2`` and ``randomization.txt.j2``: SPIRIT items 20a
  and 16a;
* ``adaptive.txt.j2`` and ``adaptive_items.txt.j2``: an adaptive plan's
  interim analysis, re-estimation rule, type I error control and simulated
  operating characteristics, and the CONSORT ACE 2020 items
  (:mod:`trialplan.report.adaptive`);
* ``reproducibility.txt.j2``: versions, the spec's SHA-256 and the seeds;
* ``protocol.md.j2`` / ``protocol.html.j2``: the documents.

Jinja2, matplotlib and python-docx are in the ``full`` extra.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialplan.report.blocks import Block, environment, render_text
from trialplan.spec import Spec, spec_hash, spec_to_toml

__all__ = ["Block", "Protocol", "make_protocol", "render_text"]

FORMATS = ("md", "html", "docx")


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """A generated protocol section: blocks of text, tables and figures.

    Attributes
    ----------
    plan : TrialPlan
        The resolved plan every number comes from.
    spec : Spec
        The spec of the plan (written beside the documents).
    blocks : tuple of Block
        The document, in order.
    context : mapping
        The words and formatted numbers the templates used.
    results : mapping
        ``"plan"``, ``"sample_size"`` (the plan's sizing, or None),
        ``"power"`` (the power table, a DataFrame) and ``"sensitivity"``.
    figures : mapping
        Figure name to matplotlib Figure (written by :meth:`write`).

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.report import make_protocol
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
    ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
    >>> p = make_protocol(d, figures=False)
    >>> p.blocks[0].kind, p.blocks[0].text
    ('heading', 'Sample size and statistical analysis plan')
    >>> p.plan.allocation.required
    (300, 300, 300, 300)
    """

    plan: Any
    spec: Spec
    blocks: tuple[Block, ...]
    context: Mapping[str, Any] = field(repr=False)
    results: Mapping[str, Any] = field(repr=False)
    figures: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """The document's outline: title, section headings, and its tables and figures."""
        headings = [b for b in self.blocks if b.kind == "heading"]
        title = headings[0].text if headings else "Protocol"
        counts = [
            f"{n} {kind}{'s' if n != 1 else ''}"
            for kind in ("table", "figure")
            for n in [sum(b.kind == kind for b in self.blocks)]
        ]
        lines = [f"Protocol: {title} ({', '.join(counts)})"]
        lines += [f"  {'  ' * max(0, b.level - 2)}{b.text}" for b in headings[1:]]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The protocol as Markdown (figures referenced as ``figures/<name>.png``).

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.report import make_protocol
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
        ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
        >>> p = make_protocol(d, figures=False)
        >>> p.to_markdown().splitlines()[0]
        '# Sample size and statistical analysis plan'
        """
        text = environment().get_template("protocol.md.j2").render(blocks=self.blocks)
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

    def to_html(self, *, embed_figures: bool = False) -> str:
        """The protocol as an HTML page.

        Parameters
        ----------
        embed_figures : bool, default False
            Inline the figures as SVG, so the page is one self-contained
            file; otherwise they are linked as ``figures/<name>.svg``.

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.report import make_protocol
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
        ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
        >>> p = make_protocol(d, figures=False)
        >>> page = p.to_html()
        >>> page.startswith("<!DOCTYPE html>"), "<title>Sample size" in page
        (True, True)
        """
        title = next((b.text for b in self.blocks if b.kind == "heading"), "Protocol")
        inline = {}
        if embed_figures:
            inline = {f"figures/{name}": _svg_text(fig) for name, fig in self.figures.items()}
        return (
            environment(html=True)
            .get_template("protocol.html.j2")
            .render(blocks=self.blocks, title=title, inline=inline)
        )

    def to_docx(self, path: str | Path, *, figure_dir: str | Path | None = None) -> Path:
        """Write the protocol as a Word document (needs python-docx).

        Parameters
        ----------
        path : str or pathlib.Path
            Destination ``.docx`` file.
        figure_dir : str or pathlib.Path, optional
            Directory holding the figures' PNG files (as written by
            :meth:`write`); without it, figures are left out.

        Raises
        ------
        ImportError
            If python-docx is not installed (naming the package).
        """
        docx, inches = _docx()
        document = docx.Document()
        base = Path(figure_dir) if figure_dir is not None else None
        for block in self.blocks:
            if block.kind == "heading":
                document.add_heading(block.text, level=min(block.level - 1, 9))
            elif block.kind in ("paragraph", "code"):
                document.add_paragraph(block.text)
            elif block.kind == "list":
                for item in block.items:
                    document.add_paragraph(item, style="List Bullet")
            elif block.kind == "table":
                if block.text:
                    document.add_paragraph(block.text)
                table = document.add_table(rows=1, cols=len(block.header))
                table.style = "Table Grid"
                for cell, text in zip(table.rows[0].cells, block.header, strict=True):
                    cell.text = text
                for row in block.rows:
                    cells = table.add_row().cells
                    for cell, text in zip(cells, row, strict=True):
                        cell.text = text
            elif block.kind == "figure" and base is not None:
                png = base / f"{block.path}.png"
                if png.exists():
                    document.add_picture(str(png), width=inches(6))
                    document.add_paragraph(block.text)
        path = Path(path)
        document.save(str(path))
        return path

    def targets(
        self,
        directory: str | Path,
        *,
        formats: Sequence[str] | None = None,
        stem: str = "protocol",
        spec_name: str | None = None,
    ) -> dict[str, list[Path]]:
        """The files :meth:`write` would write, by kind (nothing is written).

        Parameters
        ----------
        directory : str or pathlib.Path
            Output folder.
        formats, stem, spec_name
            As for :meth:`write`.

        Returns
        -------
        dict of str to list of pathlib.Path

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.report import make_protocol
        >>> p = make_protocol(tp.scenarios.state_dependent_synergy(), figures=False)
        >>> sorted(path.name for paths in p.targets("out").values() for path in paths)
        ['protocol.docx', 'protocol.html', 'protocol.md', 'protocol.toml', 'sensitivity.csv']
        """
        formats = _check_formats(formats)
        out = Path(directory)
        files: dict[str, list[Path]] = {}
        if self.figures:
            files["figures"] = [
                out / "figures" / f"{name}{suffix}"
                for name in self.figures
                for suffix in (".png", ".svg")
            ]
        for fmt in formats:
            files[fmt] = [out / f"{stem}.{fmt}"]
        files["toml"] = [out / (spec_name or f"{stem}.toml")]
        files["sensitivity"] = [out / "sensitivity.csv"]
        return files

    def write(
        self,
        directory: str | Path,
        *,
        formats: Sequence[str] | None = None,
        stem: str = "protocol",
        spec_name: str | None = None,
        embed_figures: bool = False,
        overwrite: bool = False,
        keep: Sequence[str | Path] = (),
    ) -> dict[str, Path]:
        """Write the protocol, its figures, its sensitivity table and its spec into ``directory``.

        Nothing is written when a file would be replaced and ``overwrite`` is
        False: the error lists every such file first.

        Parameters
        ----------
        directory : str or pathlib.Path
            Output folder (created if needed).
        formats : sequence of {"md", "html", "docx"}, optional
            Default: all three.  DOCX needs python-docx: without it this is
            an ImportError naming the package, never a silent skip.
        stem : str, default "protocol"
            File name without suffix.
        spec_name : str, optional
            Name of the copy of the spec written alongside (default
            ``"<stem>.toml"``), so the folder reproduces itself.
        embed_figures : bool, default False
            Inline the figures into the HTML page (one self-contained file).
        overwrite : bool, default False
            Replace existing files.
        keep : sequence of path, optional
            Files never replaced, even with ``overwrite`` (the spec being
            read): when the spec copy would be one of them, it is not written
            (it is that spec already).

        Returns
        -------
        dict
            Kind (``"md"``, ``"html"``, ``"docx"``, ``"toml"``,
            ``"sensitivity"``, ``"figures"``) to path.

        Raises
        ------
        ValueError
            For an unknown format.
        FileExistsError
            If files exist and ``overwrite`` is False (listing them).
        ImportError
            If a requested writer's package is missing (naming it).

        Examples
        --------
        >>> import tempfile
        >>> import trialplan as tp
        >>> from trialplan.report import make_protocol
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
        ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
        >>> p = make_protocol(d, figures=False)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths = p.write(folder, formats=["md", "html"])
        ...     sorted(path.name for path in paths.values())
        ['protocol.html', 'protocol.md', 'protocol.toml', 'sensitivity.csv']
        """
        formats = _check_formats(formats)
        if "docx" in formats:
            _docx()  # fail before writing anything
        targets = self.targets(directory, formats=formats, stem=stem, spec_name=spec_name)
        kept = {_resolved(p) for p in keep}
        spec_copy = targets["toml"][0]
        write_spec = _resolved(spec_copy) not in kept
        existing = [
            path
            for kind, paths in targets.items()
            for path in paths
            if path.exists() and (kind != "toml" or write_spec)
        ]
        if existing and not overwrite:
            raise FileExistsError(
                "would replace existing files: "
                + ", ".join(str(p) for p in existing)
                + "; pass --force (overwrite=True) to replace them, or choose another folder"
            )
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        from trialplan.report.figures import save_figure

        written: dict[str, Path] = {}
        for name, fig in self.figures.items():
            save_figure(fig, out / "figures" / name)
        if self.figures:
            written["figures"] = out / "figures"
        if "md" in formats:
            written["md"] = targets["md"][0]
            written["md"].write_text(self.to_markdown(), encoding="utf-8")
        if "html" in formats:
            written["html"] = targets["html"][0]
            written["html"].write_text(self.to_html(embed_figures=embed_figures), encoding="utf-8")
        if "docx" in formats:
            written["docx"] = self.to_docx(targets["docx"][0], figure_dir=out)
        if write_spec:
            written["toml"] = spec_copy
            spec_copy.write_text(spec_to_toml(self.spec), encoding="utf-8")
        written["sensitivity"] = targets["sensitivity"][0]
        self.plan.sensitivity.to_csv(written["sensitivity"], index=False)
        return written


def _resolved(path: str | Path) -> Path:
    return Path(path).resolve()


def _check_formats(formats: Sequence[str] | None) -> list[str]:
    if formats is None:
        return list(FORMATS)
    if isinstance(formats, str):
        formats = [formats]
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"formats may contain {FORMATS}; got {fmt!r}")
    return list(dict.fromkeys(formats))


def _docx() -> tuple[Any, Any]:
    try:
        # deferred: only DOCX output needs python-docx (optional)
        import docx
        from docx.shared import Inches
    except ImportError as exc:
        raise ImportError(
            "the Word protocol (format docx) needs python-docx: pip install 'trialplan[full]' "
            "(or leave docx out: --format md html)"
        ) from exc
    return docx, Inches


def _svg_text(fig: Any) -> str:
    """A figure as an inline ``<svg>`` element (no XML prolog), deterministic ids."""
    import io

    # deferred: matplotlib is heavy; only figures need it
    import matplotlib

    from trialplan.report.figures import freeze_layout

    freeze_layout(fig)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "trialplan"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def spec_of(plan: Any) -> Spec:
    """The spec a plan was made from (rebuilt from its settings when it came from a design)."""
    if isinstance(plan.source, Spec):
        return plan.source
    return Spec(
        design=plan.stated,
        title=plan.title,
        outcome_label=plan.outcome_label,
        timepoint=plan.timepoint,
        sources=plan.sources,
        hypotheses=plan.hypotheses,
        primary=plan.primary,
        power=plan.target if plan.target is not None else 0.9,
        size=plan.size,
        method=plan.method,
        n_sims=plan.n_sims,
        seed=plan.seed,
        sequential=plan.sequential,
        multiplicity=plan.multiplicity,
        adaptive=plan.adaptive,
        randomization=plan.randomization.replace(n=None),
        sensitivity=plan.sensitivity_grid,
        # a factorial's cell selection words its cells as arms: not a table of a factorial's spec
        labels=plan.labels if plan.factorial is None else dataclasses.replace(plan.labels, arms={}),
        scenario=plan.scenario,
    )


def resolve(obj: Any) -> Any:
    """A TrialPlan from a plan, a Spec or a design (a design gets the Spec defaults)."""
    from trialplan.plan import TrialPlan

    if isinstance(obj, TrialPlan):
        return obj
    if isinstance(obj, Spec):
        return obj.evaluate()
    return Spec(design=obj).evaluate()


def make_protocol(
    spec: Any, *, figures: bool = True, spec_name: str = "protocol.toml", out_name: str = "DIR"
) -> Protocol:
    """Word a resolved plan as protocol text, tables and figures.

    Parameters
    ----------
    spec : TrialPlan, Spec or design
        The plan (from ``Spec.evaluate()`` or ``tp.plan``), a
        :class:`~trialplan.spec.Spec` (resolved first) or a bare design (the
        defaults of ``Spec`` apply: the size is solved for 90% power of its
        first interaction).
    figures : bool, default True
        Draw the power curve, the sensitivity heat map and, with interim
        looks, the boundary plot (needs matplotlib).
    spec_name, out_name : str
        The spec file and output folder named in the reproducibility block's
        command line.

    Returns
    -------
    Protocol

    Raises
    ------
    ValueError
        If the target power cannot be reached (a SpecError naming the key).

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
    ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
    >>> p = make_protocol(d, figures=False)
    >>> "300 per cell must be analysed" in p.to_markdown()
    True
    """
    from trialplan.report.context import protocol_context
    from trialplan.report.sections import plan_blocks
    from trialplan.report.smart import smart_blocks, smart_context

    plan = resolve(spec)
    source = spec_of(plan)
    if plan.is_regime_design:
        context = smart_context(plan, spec_name=spec_name, out_name=out_name)
    else:
        context = protocol_context(plan, spec_name=spec_name, out_name=out_name)
    context["spec_hash"] = spec_hash(source)
    figs: dict[str, Any] = {}
    if figures:
        from trialplan.report.figures import (
            plan_boundary_plot,
            plan_power_curve,
            sensitivity_heatmap,
        )

        figs["power_curve"] = plan_power_curve(plan)
        if plan.sequential is not None and not plan.selects_arms:
            figs["boundaries"] = plan_boundary_plot(plan)
        if plan.adaptive is not None and not plan.selects_arms:
            from trialplan.report.figures import final_n_plot

            figs["final_n"] = final_n_plot(plan)
        if len(plan.sensitivity) > 1 and not plan.is_regime_design:
            figs["sensitivity"] = sensitivity_heatmap(plan)
    blocks = (smart_blocks if plan.is_regime_design else plan_blocks)(plan, context, figs)
    results = {
        "plan": plan,
        "sample_size": plan.sizing,
        "power": plan.power_table,
        "sensitivity": plan.sensitivity,
    }
    return Protocol(
        plan=plan,
        spec=source,
        blocks=tuple(blocks),
        context=context,
        results=results,
        figures=figs,
    )
