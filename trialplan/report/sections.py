"""The protocol's sections as blocks: text from templates, tables and figures from the plan.

Tables have headers in words and use the formats of
:mod:`trialplan.report.formatting`; no code identifier reaches a cell (the
plan's display labels are used for hypotheses and cells).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trialplan._version import __version__
from trialplan.report.blocks import Block, lines, paragraphs
from trialplan.report.context import procedure_words
from trialplan.report.formatting import (
    count,
    fraction,
    num,
    p_value,
    pct,
    people,
    per_cell,
    share,
    words_list,
    z,
)

__all__ = ["plan_blocks"]


def plan_blocks(plan: Any, context: dict[str, Any], figures: Mapping[str, Any]) -> list[Block]:
    """Every block of a cell-design protocol, in order."""
    blocks = [Block("heading", context["title"], level=1)]
    blocks.append(Block("heading", "Sample size (SPIRIT 2013 item 14)"))
    blocks += paragraphs("sample_size.txt.j2", context)
    blocks += paragraphs("multiplicity.txt.j2", context)
    blocks.append(power_table_block(plan))
    familywise = plan.familywise()
    if familywise:
        blocks.append(
            Block(
                "list",
                items=(
                    "Power to reject at least one hypothesis of the family: "
                    + pct(familywise["any"]),
                    f"Power to reject every hypothesis of the family: {pct(familywise['all'])}",
                ),
            )
        )
    if context["interaction"] is not None:
        blocks.append(Block("heading", "Factorial design items (CONSORT factorial extension)"))
        blocks.append(Block("list", items=tuple(lines("factorial_items.txt.j2", context))))
    if plan.selects_arms:
        from trialplan.report.selection import selection_blocks

        blocks += selection_blocks(plan, context, figures)
    elif plan.adaptive is not None:
        from trialplan.report.adaptive import adaptive_blocks

        blocks += adaptive_blocks(plan, context, figures)
    elif plan.sequential is not None:
        blocks += interim_blocks(plan, figures)
    blocks.append(Block("heading", "Statistical analysis plan"))
    blocks += paragraphs("analysis_plan.txt.j2", context)
    blocks.append(Block("heading", "Randomization (SPIRIT 2013 item 16a)"))
    blocks += paragraphs("randomization.txt.j2", randomization_context(plan, context))
    blocks += sensitivity_blocks(plan, figures)
    if "power_curve" in figures:
        blocks.append(Block("heading", "Power curve"))
        blocks.append(Block("figure", curve_caption(plan), path="figures/power_curve"))
    blocks += closing_blocks(context)
    return blocks


# ------------------------------------------------------------------- tables
def power_table_block(plan: Any) -> Block:
    """The power of every reported hypothesis, in words."""
    table = plan.power_table
    simulated = "simulated" in table.columns
    header = ["Hypothesis", "Role", "Planned effect", "Standard error", "Power"]
    if simulated:
        header.append("Simulated power (MCSE)")
    rows = []
    for _, row in table.iterrows():
        zero = abs(float(row["effect"])) < 1e-12
        power = "no effect assumed" if zero else pct(row["power"])
        cells = [row["label"], row["role"], num(row["effect"]), num(row["se"]), power]
        if simulated:
            cells.append(
                "no effect assumed" if zero else f"{pct(row['simulated'])} ({pct(row['mcse'])})"
            )
        rows.append(tuple(cells))
    alloc = plan.allocation
    caption = (
        f"Power of each hypothesis at the planned size ({alloc.n_randomized} randomized, "
        f"{alloc.n_analysed} analysed)"
    )
    if plan.selects_arms:
        result = plan.adaptive_result
        caption += (
            ". Each comparison with the control is tested in the design with treatment selection "
            "at the interim (closed testing, see Interim analysis and treatment selection) and its "
            "power is the probability that this test rejects it, simulated "
            f"({result.n_sims:,} trials; the largest Monte Carlo standard error is "
            f"{100 * max(result.mcse[h] for h in plan.primary):.1f} percentage points)"
        )
    elif plan.adaptive is not None:
        result = plan.adaptive_result
        name = plan.primary[0]
        caption += (
            f". The primary hypothesis ({plan.label(name)}) is tested with the adaptive design "
            "(sample-size re-estimation at the interim) and its power is that design's, simulated "
            f"({result.n_sims:,} trials, Monte Carlo standard error "
            f"{100 * result.mcse[name]:.1f} percentage points); the secondary hypotheses are "
            "tested once, at the final analysis, and their power is computed at the planned size "
            "(fixed-design power; the final size depends on the interim)"
        )
    elif plan.sequential is not None:
        caption += (
            f". The primary hypothesis ({words_list([plan.label(h) for h in plan.primary])}) is "
            "tested group-sequentially and its power is that of the group-sequential test; the "
            "secondary hypotheses are tested once, at the final analysis with every participant "
            "(fixed-design power)"
        )
    if plan.multiplicity is not None:
        caption += (
            f". Power of the hypotheses of the family is under the "
            f"{procedure_words(plan.multiplicity)}; the others are unadjusted"
        )
    if any(abs(float(e)) < 1e-12 for e in table["effect"]):
        caption += (
            f". Where no effect is assumed no power is stated: the test's size is alpha = "
            f"{num(plan.design.alpha)}"
        )
    return Block("table", caption, header=tuple(header), rows=tuple(rows))


def interim_blocks(plan: Any, figures: Mapping[str, Any]) -> list[Block]:
    """Interim analyses: the looks in words, their table and the boundary plot."""
    gsd = plan.sequential
    looks = plan.looks()
    primary = plan.label(plan.primary[0])
    interim = looks.iloc[:-1]
    text = (
        f"{count(len(interim)).capitalize()} interim "
        f"{'analysis is' if len(interim) == 1 else 'analyses are'} planned, when "
        + words_list([str(n) for n in interim["n_analysed"]])
        + " participants have the primary outcome (information fractions "
        + ", ".join(fraction(t) for t in interim["info_fraction"])
        + f"), and the final analysis at {looks['n_analysed'].iloc[-1]}. The boundaries control "
        f"the {'one' if gsd.sided == 1 else 'two'}-sided type I error at alpha = {num(gsd.alpha)} "
        f"for {primary}."
    )
    blocks = [Block("heading", "Interim analyses"), Block("paragraph", text)]
    header = [
        "Analysis",
        "Information fraction",
        "Participants analysed",
        "Efficacy bound (z)",
        "Nominal one-sided p",
    ]
    futility = gsd.futility_z is not None
    if futility:
        header.append("Futility bound (z)")
    header += ["Cumulative alpha spent", "Probability of stopping for efficacy"]
    if futility:
        header.append("Probability of stopping for futility")
    header.append("Cumulative power")
    rows = []
    for _, row in looks.iterrows():
        last = int(row["look"]) == len(looks)
        cells = [
            "final" if last else f"interim {int(row['look'])}",
            fraction(row["info_fraction"]),
            str(int(row["n_analysed"])),
            z(row["efficacy_z"]),
            p_value(row["efficacy_p"]),
        ]
        if futility:
            cells.append(z(row["futility_z"]))
        cells += [p_value(row["alpha_spent"]), pct(row["stop_efficacy"])]
        if futility:
            cells.append(pct(row["stop_futility"]))
        cells.append(pct(row["power"]))
        rows.append(tuple(cells))
    caption = (
        f"Stopping boundaries at each analysis, with the probabilities of stopping at the planned "
        f"effect for {primary}"
    )
    blocks.append(Block("table", caption, header=tuple(header), rows=tuple(rows)))
    if "boundaries" in figures:
        blocks.append(
            Block(
                "figure",
                "Stopping boundaries on the z scale against the information fraction (top axis: "
                "participants analysed); shaded: where the trial stops; lower panel: the "
                f"cumulative power by analysis, with the target power ({share(plan.target)})"
                if plan.target is not None
                else "Stopping boundaries on the z scale; shaded: where the trial stops",
                path="figures/boundaries",
            )
        )
    return blocks


def sensitivity_blocks(plan: Any, figures: Mapping[str, Any]) -> list[Block]:
    """The sensitivity table (planned row marked) and its heat map."""
    frame = plan.sensitivity
    power_columns = [c for c in frame.columns if c.startswith("power")]
    header = []
    if "sd" in frame.columns:
        header.append("Outcome SD")
    header += ["Dropout", "Effect size (x planned)", "Participants analysed"]
    for column in power_columns:
        name = plan.primary[0] if column == "power" else column.split(": ", 1)[1]
        header.append(f"Power of {plan.label(name)}")
    header.append("Planning values")
    rows = []
    for _, row in frame.iterrows():
        cells = []
        if "sd" in frame.columns:
            cells.append(num(row["sd"]))
        dropout = row["dropout"]
        cells.append("as planned" if isinstance(dropout, str) else share(dropout))
        cells.append(f"{float(row['effect_scale']):g}")
        cells.append(people(row["n_analysed"]))
        cells += [pct(row[c]) for c in power_columns]
        cells.append("planned" if row["planned"] else "")
        rows.append(tuple(cells))
    alloc = plan.allocation
    varied = (["the outcome SD"] if "sd" in frame.columns else []) + [
        "the dropout",
        "every planned effect",
    ]
    skipped = frame.attrs.get("skipped_effect_scale") or []
    caption = (
        f"Power with {alloc.n_randomized} participants randomized, when "
        + words_list(varied)
        + " differ from the planning values; the row of the planned values is marked"
    )
    if plan.selects_arms:
        caption += (
            " (power of each comparison in the design with treatment selection, each row "
            f"simulated with {plan.adaptive_result.n_sims:,} trials and the same seed)"
        )
    elif plan.adaptive is not None:
        caption += (
            " (power of the adaptive design with sample-size re-estimation, each row simulated "
            f"with {plan.adaptive_result.n_sims:,} trials and the same seed)"
        )
    elif plan.sequential is not None:
        caption += " (power of the group-sequential test)"
    if skipped:
        caption += (
            f"; effect sizes {', '.join(f'{f:g}' for f in skipped)} x planned are left out: they "
            "move an event rate outside 0 to 1"
        )
    blocks = [
        Block("heading", "Sensitivity of power to the planning values"),
        Block("table", caption, header=tuple(header), rows=tuple(rows)),
    ]
    if "sensitivity" in figures:
        blocks.append(
            Block(
                "figure",
                f"Power of {plan.label(plan.primary[0])} over the sensitivity grid (outlined: the "
                "planned values; dashed contour: the target power)",
                path="figures/sensitivity",
            )
        )
    return blocks


def curve_caption(plan: Any) -> str:
    """Caption of the power curve: how it was computed and what the lines mean."""
    alloc = plan.allocation
    primary = plan.primary[0]
    how = "each hypothesis's test"
    if plan.selects_arms:
        how = (
            "the design with treatment selection at the interim (simulated, the same seed at "
            "every size)"
        )
    elif plan.adaptive is not None:
        how = (
            "the adaptive design (simulated, the same seed at every size; the number randomized "
            "is the planned one, before re-estimation) for the primary hypothesis, one final "
            "test for the others"
        )
    elif plan.sequential is not None:
        how = "the group-sequential test for the primary hypothesis, one final test for the others"
    elif plan.multiplicity is not None:
        how = f"the {procedure_words(plan.multiplicity)} for its family, unadjusted tests otherwise"
    text = (
        f"Power by the number randomized ({':'.join(map(str, alloc.ratios))} allocation, planned "
        f"dropout; top axis: participants analysed), computed with {how}. "
    )
    if plan.target is not None:
        text += f"Dashed: the target power ({share(plan.target)}); "
    text += (
        f"dotted: the planned {alloc.n_randomized} randomized; circle: the planned power of "
        f"{plan.label(primary)} ({pct(plan.primary_power[primary])})"
    )
    return text


def randomization_context(plan: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    """The allocation-sequence sentence and the list's length, from the plan."""
    listed = plan.list_allocation
    return {
        "sequence_sentence": _sequence_sentence(plan),
        "strata": bool(plan.randomization.strata),
        "n_randomized": context["n_randomized"],
        "randomized_text": context["randomized_text"],
        "adaptive": plan.adaptive is not None and not plan.selects_arms,
        "selection": context.get("selection"),
        "list_randomized": str(listed.n_randomized),
        "list_text": _per_unit(plan, listed.randomized),
    }


def _per_unit(plan: Any, values: Any) -> str:
    """Counts per cell or arm in words ("408 per cell")."""
    unit = {"factorial": "cell", "parallel": "arm"}.get(
        plan.design.design_kind, "first-stage treatment"
    )
    return per_cell(plan.cell_labels(), list(values), unit)


def _sequence_sentence(plan: Any) -> str:
    ratio = ":".join(map(str, plan.allocation.ratios))
    labels = plan.cell_labels()
    k = len(labels)
    if plan.design.design_kind == "factorial":
        what = f"the {count(k)} cells of the factorial ({words_list(labels)})"
    elif plan.is_regime_design:
        what = f"one of the {count(k)} first-stage treatments ({words_list(labels)})"
    else:
        what = f"one of the {count(k)} arms ({words_list(labels)})"
    strata = list(plan.randomization.strata)
    strata_text = f", stratified by {words_list(strata)}" if strata else ""
    return (
        f"Participants will be randomized {ratio} to {what} by permuted blocks of random size"
        f"{strata_text}, with a computer-generated sequence (trialplan {__version__}, seed "
        f"{plan.randomization.seed})."
    )


def closing_blocks(context: Mapping[str, Any]) -> list[Block]:
    """The blocks that end every protocol: the planning values' sources, then reproducibility."""
    blocks = []
    if context["sources"]:
        blocks.append(Block("heading", "Sources of the planning values"))
        blocks.append(Block("list", items=tuple(context["sources"])))
    blocks.append(Block("heading", "Reproducibility"))
    blocks.append(Block("code", "\n".join(lines("reproducibility.txt.j2", context))))
    return blocks
