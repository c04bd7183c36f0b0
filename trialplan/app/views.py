"""What the page shows, as HTML built from a resolved plan (htmltools tags).

Every number is read from the :class:`~trialplan.plan.TrialPlan` (its power
table, allocation, looks) or from the simulation check, and written with the
protocol's own formats (:mod:`trialplan.report.formatting`), so the page and
the protocol print the same digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from htmltools import Tag, TagList, tags

from trialplan.report.formatting import fraction, num, p_value, pct, people, share
from trialplan.report.formatting import z as z_text

__all__ = [
    "allocation_table",
    "interaction_table",
    "looks_table",
    "power_table",
    "simulation_table",
    "sizing_summary",
]

_ANALYSIS_WORDS = {
    "single": "one test",
    "group-sequential": "group-sequential",
    "multiplicity": "multiplicity-adjusted",
    "adaptive": "adaptive (simulated)",
    "arm selection": "arm selection (simulated)",
}


def _thousands(value: Any) -> str:
    return f"{int(people(value)):,}"


def _power_cell(value: float, effect: float) -> Tag:
    if abs(effect) < 1e-12:
        return tags.td("no effect", class_="text-muted text-end")
    width = max(0.0, min(1.0, float(value))) * 100
    return tags.td(
        tags.div(
            tags.span(pct(value), class_="tp-power-value"),
            tags.span(
                tags.span(class_="tp-power-fill", style=f"width: {width:.1f}%"),
                class_="tp-power-bar",
            ),
            class_="tp-power",
        ),
        class_="text-end",
    )


def power_table(plan: Any) -> Tag:
    """The plan's power table: every hypothesis, its effect, standard error and power.

    The "Test" column (group-sequential, multiplicity-adjusted or one test)
    appears when the plan has interim looks or a multiplicity procedure.
    """
    frame = plan.power_table
    tests = set(frame["analysis"]) != {"single"}
    rows = []
    for row in frame.itertuples(index=False):
        primary = row.role == "primary"
        name = tags.div(
            tags.span(row.label, class_="tp-hyp-label"),
            tags.span("primary", class_="badge text-bg-primary ms-2") if primary else None,
            tags.div(tags.code(row.hypothesis), class_="tp-hyp-code"),
        )
        df = "a z test" if not math.isfinite(row.df) else f"a t test on {row.df:.0f} df"
        rows.append(
            tags.tr(
                tags.td(name, title=row.estimand),
                tags.td(num(0.0 if abs(row.effect) < 1e-12 else row.effect), class_="text-end"),
                tags.td(num(row.se), class_="text-end", title=df),
                _power_cell(row.power, row.effect),
                tags.td(
                    _ANALYSIS_WORDS.get(row.analysis, row.analysis), class_="text-muted text-nowrap"
                )
                if tests
                else None,
                class_="tp-primary-row" if primary else None,
                data_hypothesis=row.hypothesis,
            )
        )
    scale = str(frame["scale"].iloc[0]) if "scale" in frame.columns and len(frame) else ""
    return tags.table(
        tags.thead(
            tags.tr(
                tags.th("Hypothesis"),
                tags.th("Effect", class_="text-end", title=f"on the {scale} scale"),
                tags.th("SE", class_="text-end"),
                tags.th("Power", class_="text-end"),
                tags.th("Test") if tests else None,
            )
        ),
        tags.tbody(*rows),
        class_="table table-sm tp-table",
        id="power-table",
    )


def sizing_summary(plan: Any, *, needed: Any = None) -> Tag:
    """The sample size in words: randomized, analysed and the primary power.

    ``needed`` is the plan solved for the target (shown when the plan's size
    is fixed).
    """
    alloc = plan.allocation
    per = (
        f"{alloc.randomized[0]:,} per {'arm' if plan.design.design_kind == 'parallel' else 'cell'}"
        if len(set(alloc.randomized)) == 1
        else " / ".join(f"{n:,}" for n in alloc.randomized)
    )
    powers = [
        tags.li(
            tags.strong(pct(value), class_="tp-primary-power", data_hypothesis=name),
            f" power for {plan.label(name)} ",
            tags.span(f"({_ANALYSIS_WORDS.get(plan.analysis_of(name), '')})", class_="text-muted"),
        )
        for name, value in plan.primary_power.items()
    ]
    if plan.size == "solve":
        head = (
            f"Sized for {share(plan.target)} power of "
            + ", ".join(plan.label(h) for h in plan.primary)
            + ":"
        )
    else:
        head = 'Size as stated (analysis.size = "fixed"):'
    parts: list[Any] = [
        tags.p(head, class_="mb-1"),
        tags.ul(
            tags.li(
                "randomize ",
                tags.strong(f"{alloc.n_randomized:,}", id="n-randomized"),
                f" ({per}, in blocks of {' or '.join(map(str, alloc.block_sizes))})",
            ),
            tags.li(
                "expected analysed ",
                tags.strong(f"{alloc.n_analysed:,}", id="n-analysed"),
                f" after dropout (required {alloc.n_required:,})",
            ),
            *powers,
            class_="mb-1",
        ),
    ]
    if needed is not None:
        parts.append(
            tags.p(
                f"To reach {share(needed.target)} power: randomize "
                f"{needed.allocation.n_randomized:,} ({needed.allocation.n_analysed:,} analysed).",
                class_="text-muted mb-0",
            )
        )
    if plan.sizing is not None:
        parts.append(tags.p(f"Method: {plan.sizing.method}", class_="text-muted small mb-0"))
    return tags.div(*parts, class_="tp-sizing")


def allocation_table(plan: Any) -> Tag:
    """Per cell: allocation ratio, dropout, required, randomized and expected analysed."""
    frame = plan.to_frame()
    alloc = plan.allocation
    body = [
        tags.tr(
            tags.td(row.cell),
            tags.td(str(row.ratio), class_="text-end"),
            tags.td(share(row.dropout), class_="text-end"),
            tags.td(f"{row.required:,}", class_="text-end"),
            tags.td(f"{row.randomized:,}", class_="text-end"),
            tags.td(f"{row.analysed:,}", class_="text-end"),
        )
        for row in frame.itertuples(index=False)
    ]
    body.append(
        tags.tr(
            tags.th("Total"),
            tags.td(),
            tags.td(),
            tags.th(f"{alloc.n_required:,}", class_="text-end"),
            tags.th(f"{alloc.n_randomized:,}", class_="text-end"),
            tags.th(f"{alloc.n_analysed:,}", class_="text-end"),
            class_="table-group-divider",
        )
    )
    return tags.table(
        tags.thead(
            tags.tr(
                tags.th("Cell" if plan.design.design_kind != "parallel" else "Arm"),
                tags.th("Ratio", class_="text-end"),
                tags.th("Dropout", class_="text-end"),
                tags.th("Required", class_="text-end"),
                tags.th("Randomized", class_="text-end"),
                tags.th("Analysed", class_="text-end"),
            )
        ),
        tags.tbody(*body),
        class_="table table-sm tp-table",
        id="allocation-table",
    )


def looks_table(plan: Any) -> Tag:
    """One row per analysis of the group-sequential design, and the expected sizes."""
    looks = plan.looks()
    if looks is None:
        return tags.p(
            "One analysis at the end of the trial. Choose two or more analyses under "
            "\u201cInterim analyses\u201d to add interim looks.",
            class_="text-muted",
        )
    rows = [
        tags.tr(
            tags.td(str(r.look)),
            tags.td(fraction(r.info_fraction), class_="text-end"),
            tags.td(f"{int(r.n_analysed):,}", class_="text-end"),
            tags.td(z_text(r.efficacy_z), class_="text-end"),
            tags.td(p_value(r.efficacy_p), class_="text-end"),
            tags.td(z_text(r.futility_z), class_="text-end"),
            tags.td(p_value(r.alpha_spent), class_="text-end"),
            tags.td(pct(r.stop_efficacy), class_="text-end"),
            tags.td(pct(r.power), class_="text-end"),
        )
        for r in looks.itertuples(index=False)
    ]
    expected = plan.expected_n() or {}
    note = (
        f"Expected number analysed at stopping: {_thousands(expected['H0'])} with no effect, "
        f"{_thousands(expected['H1'])} at the planned effect (of {plan.primary[0]})."
        if expected
        else ""
    )
    return TagList(
        tags.div(
            tags.table(
                tags.thead(
                    tags.tr(
                        tags.th("Look"),
                        tags.th("Information", class_="text-end"),
                        tags.th("Analysed", class_="text-end"),
                        tags.th("Efficacy z", class_="text-end"),
                        tags.th("Nominal p", class_="text-end"),
                        tags.th("Futility z", class_="text-end"),
                        tags.th("Alpha spent", class_="text-end"),
                        tags.th("P(stop)", class_="text-end", title="at the planned effect"),
                        tags.th("Power", class_="text-end", title="cumulative"),
                    )
                ),
                tags.tbody(*rows),
                class_="table table-sm tp-table tp-compact",
                id="looks-table",
            ),
            class_="table-responsive",
        ),
        tags.p(note, class_="text-muted small"),
    )


_SCALE_ROWS = (
    ("identity", "Difference of differences"),
    ("log", "Log ratio of ratios"),
    ("logit", "Log ratio of odds ratios"),
    ("RERI", "Relative excess risk (RERI)"),
)
_UNDEFINED = {
    "log": "needs positive values",
    "logit": "needs values between 0 and 1",
    "RERI": "needs positive values",
}


def interaction_table(contrasts: Mapping[str, float], *, of: str = "") -> Tag:
    """The interaction a 2x2 implies on every scale (``tp.synergy.interaction_contrasts``)."""
    rows = []
    for key, words in _SCALE_ROWS:
        value = contrasts.get(key)
        shown = (
            tags.td(num(value), class_="text-end", data_scale=key)
            if value is not None
            else tags.td(_UNDEFINED.get(key, "-"), class_="text-muted text-end small")
        )
        rows.append(tags.tr(tags.td(words), shown))
    return tags.table(
        tags.caption(f"Implied interaction{f' ({of})' if of else ''}", class_="caption-top"),
        tags.tbody(*rows),
        class_="table table-sm tp-table tp-interaction",
        id="interaction-table",
    )


def implied_cells_table(labels: Sequence[str], cells: Sequence[float]) -> Tag:
    """The cell values a synergy model implies."""
    return tags.table(
        tags.caption("Cell values the model implies", class_="caption-top"),
        tags.tbody(
            *(
                tags.tr(tags.td(lab), tags.td(num(v), class_="text-end"))
                for lab, v in zip(labels, cells, strict=True)
            )
        ),
        class_="table table-sm tp-table",
        id="implied-cells",
    )


def simulation_table(frame: Any) -> Tag:
    """Simulated against exact power, with the difference in Monte Carlo standard errors."""
    rows = []
    for r in frame.itertuples(index=False):
        agrees = bool(r.agrees)
        rows.append(
            tags.tr(
                tags.td(r.label, tags.div(tags.code(r.hypothesis), class_="tp-hyp-code")),
                tags.td(pct(r.analytic), class_="text-end"),
                tags.td(pct(r.simulated), class_="text-end"),
                tags.td(f"{100 * r.mcse:.2f}%", class_="text-end"),
                tags.td(
                    f"{r.difference_mcse:+.2f}" if math.isfinite(r.difference_mcse) else "-",
                    class_="text-end",
                ),
                tags.td(
                    tags.span(
                        "agrees" if agrees else "check",
                        class_=f"badge {'text-bg-success' if agrees else 'text-bg-warning'}",
                    )
                ),
                data_hypothesis=r.hypothesis,
            )
        )
    return tags.table(
        tags.thead(
            tags.tr(
                tags.th("Hypothesis"),
                tags.th("Exact", class_="text-end"),
                tags.th("Simulated", class_="text-end"),
                tags.th("MCSE", class_="text-end"),
                tags.th("Difference (MCSE)", class_="text-end"),
                tags.th(""),
            )
        ),
        tags.tbody(*rows),
        class_="table table-sm tp-table",
        id="simulation-table",
    )
