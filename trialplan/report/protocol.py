"""Protocol text from a spec: sample size, analysis plan, tables, figures.

:func:`make_protocol` runs the calculations a spec asks for (sample size for
the primary hypotheses, power of every hypothesis at that size, the
sensitivity grid, figures) and renders Jinja2 templates with the results.
Every number in the text is read from a computed result, never typed in; the
templates in ``trialplan/report/templates`` hold the wording:

* ``sample_size.txt.j2``: SPIRIT 2013 item 14 with the DELTA2 items (outcome,
  timepoint, estimand, powered hypotheses, assumed interaction, planning
  values and their sources, alpha and sidedness, power, allocation, numbers
  analysed and randomized, attrition, software and method);
* ``factorial_items.txt.j2``: the CONSORT factorial-extension items (whether
  an interaction is assumed, where each estimand lives, which is primary);
* ``analysis_plan.txt.j2``: the statistical analysis plan paragraph;
* ``reproducibility.txt.j2``: versions, the spec's SHA-256 and the seeds;
* ``protocol.md.j2`` / ``protocol.html.j2``: the documents.

Jinja2 and matplotlib are the optional ``report`` extra; DOCX output also
needs python-docx.
"""

from __future__ import annotations

import itertools
import math
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialplan._validation import did_you_mean
from trialplan.report.sensitivity import sensitivity_table
from trialplan.spec import SensitivityGrid, Spec, spec_hash, spec_to_toml

__all__ = ["Block", "Protocol", "make_protocol", "render_text"]

_TEMPLATES = Path(__file__).parent / "templates"


# ------------------------------------------------------------------ blocks
@dataclass(frozen=True)
class Block:
    """One element of a protocol document.

    Attributes
    ----------
    kind : {"heading", "paragraph", "list", "table", "figure", "code"}
        What the block is.
    text : str
        Heading or paragraph text, a table caption, a figure caption or code.
    level : int
        Heading level (1 = title).
    items : tuple of str
        List items.
    header : tuple of str
        Table column names.
    rows : tuple of tuple of str
        Table cells, already formatted.
    path : str
        A figure's path without suffix, relative to the document.

    Examples
    --------
    >>> from trialplan.report import Block
    >>> table = Block("table", "Power of each hypothesis", header=("hypothesis", "power"),
    ...               rows=(("A", "0.912"), ("A:B", "0.197")))
    >>> table.kind, table.header, len(table.rows)
    ('table', ('hypothesis', 'power'), 2)
    """

    kind: str
    text: str = ""
    level: int = 2
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    path: str = ""


# ---------------------------------------------------------------- formatting
def _num(value: Any) -> str:
    """A number as a reader writes it: 4 significant digits, no trailing zeros."""
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f}%"


def _pct0(value: Any) -> str:
    pct = 100 * float(value)
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}%"


def _round1(value: Any) -> str:
    return f"{float(value):.1f}"


def _environment(*, html: bool = False) -> Any:
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("protocol text needs Jinja2: pip install 'trialplan[report]'") from exc
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=_num,
        pct=_pct,
        pct0=_pct0,
        round1=_round1,
        mdcell=lambda text: str(text).replace("|", "\\|"),
    )
    return env


def render_text(template: str, context: Mapping[str, Any]) -> list[str]:
    """Render a plain-text template into paragraphs.

    Blank lines separate paragraphs; line breaks inside a paragraph become
    single spaces, so templates can wrap their wording freely.

    Parameters
    ----------
    template : str
        File name in ``trialplan/report/templates``, e.g.
        ``"sample_size.txt.j2"``.
    context : mapping
        Template variables (see :func:`make_protocol` for the keys).

    Returns
    -------
    list of str
        The paragraphs.

    Examples
    --------
    >>> render_text("reproducibility.txt.j2", {"version": "1.0", "python": "3.11",
    ...     "numpy": "2", "scipy": "1", "spec_hash": "ab", "method": "exact",
    ...     "simulation": None, "randomization_seed": None, "spec_name": "t.toml",
    ...     "out_name": "out"})[0].split(" Python")[0]
    'trialplan version: 1.0'
    """
    env = _environment()
    names = env.list_templates()
    if template not in names:  # jinja2's TemplateNotFound named no alternatives
        raise ValueError(
            f"template={template!r} is not a trialplan template; choose one of "
            f"{names}" + did_you_mean(template, names)
        )
    if not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping of template variables; got context={context!r}")
    text = env.get_template(template).render(**context)
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    paragraphs = [re.sub(r"\s+([,.;:)])", r"\1", p) for p in paragraphs]
    return [re.sub(r"\(\s+", "(", p) for p in paragraphs if p]


def _lines(template: str, context: Mapping[str, Any]) -> list[str]:
    text = _environment().get_template(template).render(**context)
    return [line.strip() for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------- protocol
@dataclass(frozen=True, kw_only=True)
class Protocol:
    """A generated protocol section: blocks of text, tables and figures.

    Attributes
    ----------
    spec : Spec
        The spec it was made from.
    blocks : tuple of Block
        The document, in order.
    context : mapping
        The numbers and words the templates used (read from ``results``).
    results : mapping
        ``"sample_size"`` (SampleSizeResult), ``"power"`` (PowerResult at
        that size), ``"sensitivity"`` (DataFrame) and, when present,
        ``"sequential"``.
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
    >>> p.results["sample_size"].n_per_cell
    300
    """

    spec: Spec
    blocks: tuple[Block, ...]
    context: Mapping[str, Any] = field(repr=False)
    results: Mapping[str, Any] = field(repr=False)
    figures: Mapping[str, Any] = field(default_factory=dict, repr=False)

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
        text = _environment().get_template("protocol.md.j2").render(blocks=self.blocks)
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
            _environment(html=True)
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
            :meth:`write`); figures are skipped when absent.

        Raises
        ------
        ImportError
            If python-docx is not installed.
        """
        try:
            import docx
            from docx.shared import Inches
        except ImportError as exc:
            raise ImportError(
                "DOCX output needs python-docx: pip install 'trialplan[report]'"
            ) from exc
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
                    document.add_picture(str(png), width=Inches(6))
                    document.add_paragraph(block.text)
        path = Path(path)
        document.save(str(path))
        return path

    def write(
        self,
        directory: str | Path,
        *,
        formats: Sequence[str] | None = None,
        stem: str = "protocol",
        spec_name: str | None = None,
        embed_figures: bool = False,
    ) -> dict[str, Path]:
        """Write the protocol, its figures and its spec into ``directory``.

        Parameters
        ----------
        directory : str or pathlib.Path
            Output folder (created if needed).
        formats : sequence of {"md", "html", "docx"}, optional
            Default: Markdown and HTML, plus DOCX when python-docx is
            installed.
        stem : str, default "protocol"
            File name without suffix.
        spec_name : str, optional
            Name of the copy of the spec written alongside (default
            ``"<stem>.toml"``), so the folder reproduces itself.
        embed_figures : bool, default False
            Inline the figures into the HTML page (one self-contained file).

        Returns
        -------
        dict
            Format (``"md"``, ``"html"``, ``"docx"``, ``"toml"``,
            ``"sensitivity"``, ``"figures"``) to path.

        Raises
        ------
        ValueError
            For an unknown format.

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
        allowed = ("md", "html", "docx")
        if formats is None:
            formats = ["md", "html"] + (["docx"] if _has_docx() else [])
        for fmt in formats:
            if fmt not in allowed:
                raise ValueError(f"formats may contain {allowed}; got {fmt!r}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        from trialplan.report.figures import save_figure

        written: dict[str, Path] = {}
        for name, fig in self.figures.items():
            save_figure(fig, out / "figures" / name)
        if self.figures:
            written["figures"] = out / "figures"
        if "md" in formats:
            written["md"] = out / f"{stem}.md"
            written["md"].write_text(self.to_markdown(), encoding="utf-8")
        if "html" in formats:
            written["html"] = out / f"{stem}.html"
            written["html"].write_text(self.to_html(embed_figures=embed_figures), encoding="utf-8")
        if "docx" in formats:
            written["docx"] = self.to_docx(out / f"{stem}.docx", figure_dir=out)
        written["toml"] = out / (spec_name or f"{stem}.toml")
        written["toml"].write_text(spec_to_toml(self.spec), encoding="utf-8")
        sensitivity = self.results.get("sensitivity")
        if sensitivity is not None:
            written["sensitivity"] = out / "sensitivity.csv"
            sensitivity.to_csv(written["sensitivity"], index=False)
        return written


def _svg_text(fig: Any) -> str:
    """A figure as an inline ``<svg>`` element (no XML prolog), deterministic ids."""
    import io

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "trialplan"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _has_docx() -> bool:
    try:
        import docx  # noqa: F401
    except ImportError:
        return False
    return True


def make_protocol(
    spec: Any, *, figures: bool = True, spec_name: str = "protocol.toml", out_name: str = "DIR"
) -> Protocol:
    """Compute what a spec asks for and write it up as protocol text.

    Parameters
    ----------
    spec : Spec or design
        A :class:`~trialplan.spec.Spec` (from :func:`trialplan.spec.read_spec`
        or :mod:`trialplan.scenarios`) or a bare design (then the defaults of
        ``Spec`` apply).  With ``spec.sequential`` the size is the
        group-sequential maximum; with ``spec.multiplicity`` the procedure's
        own sample-size search is used and power is reported for its family.
    figures : bool, default True
        Draw the power curve (and the boundary plot of a sequential design);
        needs matplotlib.
    spec_name, out_name : str
        The spec file and output folder named in the reproducibility block's
        command line; :meth:`Protocol.write` saves the spec as
        ``protocol.toml`` by default.

    Returns
    -------
    Protocol

    Raises
    ------
    ValueError
        If the target power cannot be reached, or the design is not a
        ``tp.Factorial``, ``tp.Parallel`` or ``tp.SMART``.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
    ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
    >>> p = make_protocol(d, figures=False)
    >>> p.results["sample_size"].n_per_cell
    300
    >>> "300 participants per cell" in p.to_markdown()
    True
    """
    design = spec.design if isinstance(spec, Spec) else spec
    if type(design).__name__ == "SMART":
        return _smart_protocol(
            spec if isinstance(spec, Spec) else Spec(design=spec),
            figures=figures,
            spec_name=spec_name,
            out_name=out_name,
        )
    if not hasattr(design, "sample_size") or not hasattr(design, "cells"):
        raise ValueError(
            f"protocol text is available for tp.Factorial, tp.Parallel and "
            f"tp.SMART designs; got a {type(design).__name__}"
        )
    spec = spec if isinstance(spec, Spec) else Spec(design=spec)
    primary = list(spec.primary or ())
    names = list(spec.hypothesis_names)
    for name in primary:
        if name not in names:
            names.insert(0, name)
    family = _family(spec.multiplicity)
    ss = _sample_size(spec, power=spec.power, hypotheses=primary)
    planned = ss.design
    if spec.method == "simulation":
        power = planned.power(names, method="simulation", n_sims=spec.n_sims, seed=spec.seed)
    elif spec.multiplicity is not None:
        power = planned.power(family, multiplicity=spec.multiplicity)
    else:
        power = planned.power(names)
    grid = spec.sensitivity or _default_grid(planned)
    sensitivity = sensitivity_table(
        planned,
        hypothesis=primary[0],
        sd=grid.sd,
        dropout=grid.dropout,
        effect_scale=grid.effect_scale,
    )
    results: dict[str, Any] = {"sample_size": ss, "power": power, "sensitivity": sensitivity}
    if spec.sequential is not None:
        results["sequential"] = getattr(ss, "sequential", spec.sequential)
    context = _context(spec, ss, power, results, spec_name=spec_name, out_name=out_name)
    figs: dict[str, Any] = {}
    if figures:
        from trialplan.report.figures import boundary_plot, power_curve

        curve_names = [h for h in names if not planned.hypothesis(h).is_intersection_union]
        curve_names = (primary + [h for h in curve_names if h not in primary])[:5]
        figs["power_curve"] = power_curve(
            planned, curve_names, target=spec.power, planned_n_total=planned.n_total
        )
        if "sequential" in results:
            figs["boundaries"] = boundary_plot(results["sequential"])
    blocks = _blocks(spec, context, results, figs)
    return Protocol(spec=spec, blocks=tuple(blocks), context=context, results=results, figures=figs)


def _analysis_options(spec: Spec) -> dict[str, Any]:
    """The spec's group-sequential design, else its multiplicity procedure, as keywords."""
    if spec.sequential is not None:
        return {"sequential": spec.sequential}
    if spec.multiplicity is not None:
        return {"multiplicity": spec.multiplicity}
    return {}


def _sample_size(spec: Spec, *, power: float, hypotheses: Sequence[str]) -> Any:
    """Size ``spec.design`` so that ``hypotheses`` reach ``power`` under the spec's analysis."""
    options = _analysis_options(spec)
    if "multiplicity" in options and type(spec.multiplicity).__name__ == "Dunnett":
        # Dunnett sizes its whole many-to-one family (every comparison reaches the target).
        return spec.multiplicity.sample_size(spec.design, power=power)
    hypothesis: Any = hypotheses[0] if len(hypotheses) == 1 else list(hypotheses)
    return spec.design.sample_size(power=power, hypothesis=hypothesis, **options)


def _family(procedure: Any) -> list[str] | None:
    """The hypotheses a multiplicity procedure controls (None: the procedure's default)."""
    if procedure is None:
        return None
    families = getattr(procedure, "families", None)
    if families:
        return [h for fam in families for h in fam]
    hypotheses = getattr(procedure, "hypotheses", None)
    return list(hypotheses) if hypotheses else None


def _default_grid(design: Any) -> SensitivityGrid:
    outcome = design.outcome
    sd: tuple[float, ...] = ()
    if isinstance(getattr(outcome, "sd", None), int | float):
        sd = (0.9 * outcome.sd, outcome.sd, 1.1 * outcome.sd)
    dropout: tuple[float, ...] = ()
    if isinstance(design.dropout, float):
        d = design.dropout
        dropout = tuple(sorted({d, min(round(d + 0.1, 10), 0.9)}))
    return SensitivityGrid(sd=sd, dropout=dropout, effect_scale=(0.75, 1.0, 1.25))


# ---------------------------------------------------------------- context
_SCALE_WORDS = {
    "mean difference": "difference in means",
    "risk_difference": "risk difference",
    "log_odds": "log odds ratio",
    "log_risk": "log risk ratio",
    "arcsine": "difference in arcsine-transformed risks",
}


def _outcome_context(outcome: Any, design: Any, rows: Sequence[Any]) -> dict[str, Any]:
    kind = {
        "Continuous": "continuous",
        "Binary": "binary",
        "TimeToEvent": "time_to_event",
        "Repeated": "repeated",
    }.get(type(outcome).__name__, "other")
    scale = getattr(outcome, "scale", None) if kind == "binary" else None
    scale_words = _SCALE_WORDS.get(scale or "", None) or _SCALE_WORDS.get(
        rows[0].scale if rows else "", rows[0].scale if rows else "the planned contrast"
    )
    if kind == "time_to_event":
        scale_words = "log hazard ratio"
    scale_name = "mean difference" if scale_words == "difference in means" else scale_words
    context: dict[str, Any] = {
        "kind": kind,
        "scale_words": scale_words,
        "scale_name": scale_name,
        "better": getattr(outcome, "better", ""),
    }
    if kind == "continuous":
        context.update(
            sd=outcome.sd, baseline_corr=outcome.baseline_corr, residual_sd=outcome.residual_sd
        )
        model = "a linear regression model"
        if outcome.baseline_corr:
            model += " adjusted for the baseline score (ANCOVA)"
    elif kind == "binary":
        model = {
            "risk_difference": "a binomial regression model with an identity link",
            "log_odds": "a logistic regression model",
            "log_risk": "a modified Poisson regression model with robust standard errors",
        }.get(scale or "", "a binary regression model")
    elif kind == "time_to_event":
        model = "a Cox proportional hazards model"
    elif kind == "repeated":
        model = "a mixed model for repeated measures (MMRM)"
    else:
        model = "the planned regression model"
    if kind == "time_to_event":
        context.update(
            accrual=getattr(outcome, "accrual", None),
            analysis_time=getattr(outcome, "analysis_time", None)
            or (getattr(outcome, "accrual", 0) + (getattr(outcome, "follow_up", 0) or 0)),
        )
    if kind == "repeated":
        sd = outcome.sd
        context.update(
            times=list(outcome.times),
            sd_text=_num(sd)
            if isinstance(sd, int | float)
            else "(" + ", ".join(_num(v) for v in sd) + ") by visit",
            correlation_text=f"{outcome.correlation} correlation"
            + (f" rho = {_num(outcome.rho)}" if outcome.rho is not None else ""),
        )
    context["model_words"] = model
    return context


def _cell_values(outcome: Any, cells: Sequence[Any]) -> list[Any]:
    for name in ("means", "rates", "hazards"):
        values = getattr(outcome, name, None)
        if isinstance(values, Mapping):
            out = []
            for c in cells:
                v = values[c]
                out.append(v if isinstance(v, int | float) else math.nan)
            return out
    return [math.nan] * len(cells)


def _where(design: Any, name: str) -> str:
    if name == "combination":
        return "inside the table (the combined cell against each single-active cell)"
    if "|" in name:
        return "inside the table (simple effects within one level of another factor)"
    if ":" in name:
        return "as the interaction (a difference of differences)"
    if type(design).__name__ == "Factorial":
        return "at the margins (averaged over the levels of the other factor" + (
            "s)" if len(design.factors) > 2 else ")"
        )
    return "as comparisons of arms"


def _label(design: Any, cell: Any) -> str:
    return design.cell_label(cell) if hasattr(design, "cell_label") else str(cell)


def _context(
    spec: Spec, ss: Any, power: Any, results: Mapping[str, Any], *, spec_name: str, out_name: str
) -> dict[str, Any]:
    import numpy
    import scipy

    from trialplan import __version__

    design = ss.design
    kind = {"Factorial": "factorial", "Parallel": "parallel"}.get(type(design).__name__, "other")
    rows = list(power.rows)
    outcome = _outcome_context(design.outcome, design, rows)
    values = _cell_values(design.outcome, design.cells)
    n_rand = design.n_randomized_per_cell
    drops = design.dropout_array
    cells = [
        {
            "label": _label(design, c),
            "value": v,
            "n": int(n),
            "n_randomized": n_rand[c],
            "dropout": float(dj),
        }
        for c, v, n, dj in zip(design.cells, values, design.n_array, drops, strict=True)
    ]
    repeated_means = (
        getattr(design.outcome, "means", None) if outcome["kind"] == "repeated" else None
    )
    expected_events = None
    if outcome["kind"] == "time_to_event" and hasattr(design, "expected_events"):
        events = design.expected_events()
        for cell, c in zip(design.cells, cells, strict=True):
            c["events"] = events[cell]
        expected_events = sum(events.values())
    for cell, c in zip(design.cells, cells, strict=True):
        c["visits"] = list(repeated_means[cell]) if repeated_means is not None else []
    factors = []
    if kind == "factorial":
        factors = [
            {"name": f, "reference": lo, "active": hi, "words": f"{f} ({hi} vs {lo})"}
            for f, (lo, hi) in design.factors.items()
        ]

    def hyp(row: Any) -> dict[str, Any]:
        return {
            "name": row.hypothesis,
            "quoted": f"'{row.hypothesis}'",
            "estimand": row.estimand,
            "where": _where(design, row.hypothesis),
            "effect": row.effect,
            "se": row.se,
            "df": row.df,
            "power": row.power,
        }

    tested = set(spec.hypothesis_names) | set(ss.hypotheses)
    hypotheses = [hyp(r) for r in rows if r.hypothesis in tested] or [hyp(r) for r in rows]
    groups: dict[str, list[str]] = {}
    for h in hypotheses:
        groups.setdefault(h["where"], []).append(h["quoted"])
    estimand_groups = [{"where": w, "names": n} for w, n in groups.items()]
    by_name = {h["name"]: h for h in hypotheses}
    primary = []
    for name in ss.hypotheses:
        entry = dict(by_name.get(name) or hyp(design.power(name).rows[0]))
        entry["power"] = ss.powers[name]
        primary.append(entry)
    interaction = None
    if kind == "factorial" and len(design.factors) > 1:
        first = next(n for n in design.hypothesis_names if ":" in n and "|" not in n)
        row = by_name.get(first) or hyp(design.power(first).rows[0])
        interaction = {
            "name": first,
            "effect": row["effect"],
            "power": ss.powers.get(first, row["power"]),
            "zero": abs(row["effect"]) < 1e-12,
        }
    ratios = [int(r) for r in design.allocation_ratios]
    dropout = design.dropout
    if isinstance(dropout, Mapping):
        dropout_text = "expected dropout of " + ", ".join(
            f"{c['dropout'] * 100:.3g}% ({c['label']})" for c in cells
        )
    else:
        dropout_text = f"an expected dropout of {float(dropout) * 100:.3g}%"
    n_cell = ss.n_per_cell if isinstance(ss.n_per_cell, int) else None
    per_cell_rand = set(n_rand.values())
    multiplicity = None
    if spec.multiplicity is not None:
        words = f"with multiplicity controlled by the {_procedure_words(spec.multiplicity)}"
        multiplicity = {
            "words": words,
            "any": getattr(power, "any", None),
            "all": getattr(power, "all", None),
        }
    sequential = None
    gsd = results.get("sequential")
    if gsd is not None:
        sequential = {
            "describe": gsd.describe(),
            "fractions": [_num(t) for t in gsd.info_fractions],
            "efficacy_z": [f"{z:.3f}" for z in gsd.efficacy_z],
            "futility_z": (
                [f"{z:.3f}" for z in gsd.futility_z] if gsd.futility_z is not None else None
            ),
            "n_total_per_look": list(getattr(ss, "n_total_per_look", ())),
            "n_total_fixed": getattr(ss, "n_total_fixed", math.nan),
            "expected_h0": getattr(ss, "expected_n_total", {}).get("H0", math.nan),
            "expected_h1": getattr(ss, "expected_n_total", {}).get("H1", math.nan),
        }
    simulation = None
    if spec.method == "simulation":
        mcse = dict(getattr(power, "mcse", {}))
        simulation = {
            "n_sims": spec.n_sims,
            "seed": spec.seed,
            "max_mcse": max(mcse.values()) if mcse else math.nan,
        }
    clusters = getattr(design, "clusters", None)
    clustering = None
    if clusters is not None:
        clustering = {
            "factor": clusters.factor,
            "level": clusters.level or "",
            "group_size": clusters.group_size,
            "icc": clusters.icc,
            "design_effect": clusters.design_effect,
        }
    methods = sorted({r.method for r in rows} | {ss.method})
    return {
        "clustering": clustering,
        "title": spec.title or "Sample size and statistical analysis plan",
        "unit": "arm" if kind == "parallel" else "cell",
        "kind": kind,
        "shape": design._shape() if kind == "factorial" else "",
        "design_line": design.describe(),
        "control": getattr(design, "control", None),
        "factors": factors,
        "cells": cells,
        "outcome": outcome,
        "model_words": outcome["model_words"],
        "outcome_label": spec.outcome_label,
        "timepoint": spec.timepoint,
        "hypotheses": hypotheses,
        "estimand_groups": estimand_groups,
        "primary": primary,
        "interaction": interaction,
        "equal_allocation": len(set(ratios)) == 1,
        "ratio": ":".join(map(str, ratios)),
        "alpha": design.alpha,
        "sided": design.sided,
        "sided_words": "two-sided" if design.sided == 2 else "one-sided",
        "target": ss.target,
        "n_per_cell": n_cell,
        "n_total": ss.n_total,
        "n_randomized": ss.n_randomized,
        "n_randomized_per_cell": per_cell_rand.pop() if len(per_cell_rand) == 1 else None,
        "dropout_text": dropout_text,
        "expected_events": expected_events,
        "dropout_zero": bool(np.all(design.dropout_array == 0)),
        "multiplicity": multiplicity,
        "sequential": sequential,
        "simulation": simulation,
        "method": "; ".join(methods),
        "version": __version__,
        "sources": list(spec.sources),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "spec_hash": spec_hash(spec),
        "randomization_seed": spec.randomization.seed if spec.randomization else None,
        "spec_name": spec_name,
        "out_name": out_name,
    }


def _procedure_words(procedure: Any) -> str:
    name = type(procedure).__name__
    words = {
        "Bonferroni": "Bonferroni procedure",
        "Holm": "Holm step-down procedure",
        "Hochberg": "Hochberg step-up procedure",
        "FixedSequence": "fixed-sequence procedure",
        "Gatekeeping": "gatekeeping procedure",
        "Graphical": "graphical procedure",
        "Dunnett": "Dunnett many-to-one procedure",
    }
    return words.get(name, f"{name} procedure")


# ------------------------------------------------------------------ blocks
def _fmt_cell(value: Any, column: str) -> str:
    if isinstance(value, str):
        return value
    if column in ("power", "mcse"):
        return f"{float(value):.3f}"
    if column in ("n_analysed", "n_total"):
        return str(int(value))
    if column == "df":
        return "inf" if math.isinf(value) else _num(value)
    return _num(value)


def _blocks(
    spec: Spec, context: dict[str, Any], results: Mapping[str, Any], figs: Mapping[str, Any]
) -> list[Block]:
    blocks = [Block("heading", context["title"], level=1)]
    blocks.append(Block("heading", "Sample size (SPIRIT 2013 item 14)"))
    blocks += [Block("paragraph", p) for p in render_text("sample_size.txt.j2", context)]
    power = results["power"]
    frame = power.to_frame()
    columns = ["hypothesis", "effect", "se", "df", "power"] + (
        ["mcse"] if "mcse" in frame.columns else []
    )
    caption = (
        f"Power of each hypothesis at the planned size ({results['sample_size'].design.describe()})"
    )
    if "sequential" in results:
        caption += "; fixed-design tests at the maximum sample size"
    rows = tuple(
        tuple(_fmt_cell(row[c], c) for c in columns) for _, row in frame[columns].iterrows()
    )
    blocks.append(Block("table", caption, header=tuple(columns), rows=rows))
    extra = []
    if getattr(power, "any", None) is not None:
        extra.append(f"Power to reject at least one hypothesis: {_pct(power.any)}")
    if getattr(power, "all", None) is not None:
        extra.append(f"Power to reject all hypotheses: {_pct(power.all)}")
    if extra:
        blocks.append(Block("list", items=tuple(extra)))
    if context["interaction"] is not None:
        blocks.append(Block("heading", "Factorial design items (CONSORT factorial extension)"))
        blocks.append(Block("list", items=tuple(_lines("factorial_items.txt.j2", context))))
    if "sequential" in results:
        blocks.append(Block("heading", "Interim analyses"))
        ss = results["sample_size"]
        looks = ss.looks_frame() if hasattr(ss, "looks_frame") else results["sequential"].to_frame()
        keep = [
            c
            for c in (
                "look",
                "info_fraction",
                "n_total",
                "efficacy_z",
                "futility_z",
                "alpha_spent",
                "stop_efficacy_h1",
                "stop_futility_h1",
                "power",
            )
            if c in looks.columns
        ]
        blocks.append(
            _frame_block(
                looks[keep],
                "Stopping boundaries per look, with the "
                "probabilities of stopping under the planned "
                "effect (h1) and the cumulative power",
            )
        )
        if "boundaries" in figs:
            blocks.append(
                Block("figure", "Stopping boundaries on the z scale", path="figures/boundaries")
            )
    blocks.append(Block("heading", "Statistical analysis plan"))
    blocks += [Block("paragraph", p) for p in render_text("analysis_plan.txt.j2", context)]
    blocks.append(Block("heading", "Sensitivity of power to the planning values"))
    sens = results["sensitivity"]
    primary = context["primary"][0]["name"]
    varied = (["SD"] if "sd" in sens.columns else []) + ["dropout", "a multiplier of every effect"]
    adjusted = " (unadjusted for multiplicity)" if context["multiplicity"] else ""
    skipped = sens.attrs.get("skipped_effect_scale") or []
    if skipped:
        varied[-1] += (
            " (multipliers "
            + ", ".join(_num(f) for f in skipped)
            + " left out: they move a rate outside (0, 1))"
        )
    blocks.append(
        _frame_block(
            sens,
            f"Power of '{primary}'{adjusted} with {context['n_randomized']} participants "
            f"randomized, over {', '.join(varied[:-1])} and {varied[-1]}",
        )
    )
    if "power_curve" in figs:
        blocks.append(Block("heading", "Power curve"))
        blocks.append(
            Block(
                "figure",
                "Power of each hypothesis by total analysed sample size; "
                "dashed: target power, dotted: planned size",
                path="figures/power_curve",
            )
        )
    blocks += _closing_blocks(context)
    return blocks


def _closing_blocks(context: Mapping[str, Any]) -> list[Block]:
    """The blocks that end every protocol: the planning values' sources, then reproducibility."""
    blocks = []
    if context["sources"]:
        blocks.append(Block("heading", "Sources of the planning values"))
        blocks.append(Block("list", items=tuple(context["sources"])))
    blocks.append(Block("heading", "Reproducibility"))
    blocks.append(Block("code", "\n".join(_lines("reproducibility.txt.j2", context))))
    return blocks


def _frame_block(frame: pd.DataFrame, caption: str) -> Block:
    columns = [str(c) for c in frame.columns]
    rows = []
    for _, row in frame.iterrows():
        rows.append(
            tuple(
                _fmt_cell(row[c], c) if not isinstance(row[c], np.bool_) else str(bool(row[c]))
                for c in frame.columns
            )
        )
    return Block("table", caption, header=tuple(columns), rows=tuple(rows))


# ------------------------------------------------------------------- SMART
def _smart_comparisons(design: Any) -> dict[str, Any]:
    """Comparison name (as in ``design.power()``) to its ``sample_size`` argument."""
    comparisons: dict[str, Any] = {}
    for item in ["stage1", *itertools.combinations(design.regimes, 2)]:
        comparisons[design.power([item] if item != "stage1" else item).rows[0].hypothesis] = item
    return comparisons


def _smart_protocol(spec: Spec, *, figures: bool, spec_name: str, out_name: str) -> Protocol:
    import numpy
    import scipy

    from trialplan import __version__

    design = spec.design
    comparisons = _smart_comparisons(design)
    primary_name = (spec.primary or (next(iter(comparisons)),))[0]
    if primary_name not in comparisons:
        raise ValueError(
            f"primary={primary_name!r} is not a comparison of this SMART; choose "
            f"one of {list(comparisons)}"
        )
    ss = design.sample_size(power=spec.power, hypothesis=comparisons[primary_name])
    planned = ss.design
    names = [n for n in spec.hypothesis_names if n in comparisons] or list(comparisons)
    if primary_name not in names:
        names.insert(0, primary_name)
    items = [comparisons[n] for n in names]
    if spec.method == "simulation":
        power = planned.power(items, method="simulation", n_sims=spec.n_sims, seed=spec.seed)
    else:
        power = planned.power(items)
    rows = {r.hypothesis: r for r in power.rows}
    probs = planned.stage1_allocation
    stage1 = [
        {
            "name": a,
            "quoted": f"'{a}'",
            "p": probs[a],
            "response": planned.response_rate[a],
            "responder_mean": planned.responder_mean[a],
            "n": ss.n_per_cell[a],
        }
        for a in planned.stage1
    ]
    means = planned.regime_means()
    regimes = [
        {
            "label": f"{a}/{b}",
            "nonresponder_mean": planned.nonresponder_mean[(a, b)],
            "mean": means[(a, b)],
        }
        for a, b in planned.regimes
    ]
    primary_row = rows[primary_name]
    context: dict[str, Any] = {
        "title": spec.title or "Sample size and statistical analysis plan",
        "stage1": stage1,
        "stage2": list(planned.stage2),
        "regimes": regimes,
        "outcome_label": spec.outcome_label,
        "timepoint": spec.timepoint,
        "sd": planned.sd,
        "primary": {
            "name": primary_name,
            "estimand": primary_row.estimand,
            "effect": primary_row.effect,
            "power": ss.power,
        },
        "hypotheses": [{"name": n, "quoted": f"'{n}'"} for n in names],
        "alpha": planned.alpha,
        "sided_words": "two-sided" if planned.sided == 2 else "one-sided",
        "target": ss.target,
        "n_total": ss.n_total,
        "n_randomized": ss.n_randomized,
        "dropout_text": f"an expected dropout of {planned.dropout * 100:.3g}%",
        "method": ss.method,
        "version": __version__,
        "sources": list(spec.sources),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "spec_hash": spec_hash(spec),
        "simulation": (
            {"n_sims": spec.n_sims, "seed": spec.seed} if spec.method == "simulation" else None
        ),
        "randomization_seed": spec.randomization.seed if spec.randomization else None,
        "spec_name": spec_name,
        "out_name": out_name,
    }
    sd_grid = (
        spec.sensitivity.sd
        if spec.sensitivity and spec.sensitivity.sd
        else (0.9 * planned.sd, planned.sd, 1.1 * planned.sd)
    )
    sens_rows = []
    item = comparisons[primary_name]
    for sd in sd_grid:
        changed = planned.replace(sd=float(sd))
        sens_rows.append(
            {
                "sd": float(sd),
                "n_analysed": float(planned.n_total),
                "power": changed.power(item if item == "stage1" else [item]).rows[0].power,
            }
        )
    sensitivity = pd.DataFrame(sens_rows)
    results = {"sample_size": ss, "power": power, "sensitivity": sensitivity}
    figs: dict[str, Any] = {}
    if figures:
        figs["power_curve"] = _smart_power_curve(planned, names, comparisons, spec.power)
    blocks = [
        Block("heading", context["title"], level=1),
        Block("heading", "Sample size (SPIRIT 2013 item 14)"),
    ]
    blocks += [Block("paragraph", p) for p in render_text("smart_sample_size.txt.j2", context)]
    frame = power.to_frame()
    columns = ["hypothesis", "effect", "se", "power"] + (
        ["mcse"] if "mcse" in frame.columns else []
    )
    blocks.append(
        Block(
            "table",
            f"Power of each comparison at the planned size ({planned.describe()})",
            header=tuple(columns),
            rows=tuple(
                tuple(_fmt_cell(r[c], c) for c in columns) for _, r in frame[columns].iterrows()
            ),
        )
    )
    blocks.append(Block("heading", "Statistical analysis plan"))
    blocks += [Block("paragraph", p) for p in render_text("smart_analysis_plan.txt.j2", context)]
    blocks.append(Block("heading", "Sensitivity of power to the planning values"))
    blocks.append(
        _frame_block(
            sensitivity,
            f"Power of '{primary_name}' with {ss.n_total} participants analysed, over the SD",
        )
    )
    if figs:
        blocks.append(Block("heading", "Power curve"))
        blocks.append(
            Block(
                "figure",
                "Power of each comparison by total analysed sample size; dashed: target power",
                path="figures/power_curve",
            )
        )
    blocks += _closing_blocks(context)
    return Protocol(spec=spec, blocks=tuple(blocks), context=context, results=results, figures=figs)


def _smart_power_curve(
    design: Any, names: Sequence[str], comparisons: Mapping[str, Any], target: float
) -> Any:
    from trialplan.report.figures import _figure

    sizes = sorted({int(round(v)) for v in np.linspace(20, 2 * design.n_total, 15)})
    fig = _figure()
    ax = fig.add_subplot()
    for name in list(names)[:5]:
        item = comparisons[name]
        powers = [
            design.replace(n_total=n).power(item if item == "stage1" else [item]).rows[0].power
            for n in sizes
        ]
        ax.plot(sizes, powers, marker=".", label=name)
    ax.axhline(target, color="0.4", linestyle="--", linewidth=1)
    ax.axvline(design.n_total, color="0.4", linestyle=":", linewidth=1)
    ax.set_xlabel("participants analysed")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(title="comparison", loc="lower right", fontsize="small")
    ax.set_title("Power by sample size (SMART)")
    return fig
