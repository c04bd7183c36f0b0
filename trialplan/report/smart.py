"""Protocol text of a SMART plan (Murphy 2005; Oetting et al. 2011; Nahum-Shani et al. 2012)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trialplan.report.blocks import Block, paragraphs
from trialplan.report.context import environment
from trialplan.report.formatting import count, num, pct, share, words_list
from trialplan.report.sections import (
    closing_blocks,
    curve_caption,
    power_table_block,
    randomization_context,
    sensitivity_blocks,
)

__all__ = ["smart_blocks", "smart_context"]


def smart_context(plan: Any, *, spec_name: str, out_name: str) -> dict[str, Any]:
    """Everything the SMART templates print, formatted."""
    design = plan.design
    labels = plan.labels
    alloc = plan.allocation
    probs = design.stage1_allocation
    stage1 = [
        {
            "label": labels.arm(a),
            "p": share(probs[a]),
            "response": share(design.response_rate[a]),
            "responder_mean": num(design.responder_mean[a]),
            "randomized": str(r),
            "analysed": str(n),
        }
        for a, r, n in zip(design.stage1, alloc.randomized, alloc.analysed, strict=True)
    ]
    means = design.regime_means()
    regimes = [
        {
            "label": labels.regime((a, b)),
            "nonresponder_mean": num(design.nonresponder_mean[(a, b)]),
            "mean": num(means[(a, b)]),
        }
        for a, b in design.regimes
    ]
    name = plan.primary[0]
    table = plan.power_table
    row = table[table["hypothesis"] == name].iloc[0]
    sided_words = "two-sided" if design.sided == 2 else "one-sided"
    equal = len({a["randomized"] for a in stage1}) == 1
    return {
        "title": plan.title or "Sample size and statistical analysis plan",
        "stage1": stage1,
        "equal_allocation": len({a["p"] for a in stage1}) == 1,
        "stage2": [labels.arm(o) for o in design.stage2],
        "n_regimes": count(len(regimes)),
        "regimes": regimes,
        "outcome_label": plan.outcome_label,
        "timepoint": plan.timepoint,
        "sd": num(design.sd),
        "primary": {
            "label": plan.label(name),
            "effect": num(row["effect"]),
            "power": pct(plan.primary_power[name]),
        },
        "hypotheses": words_list([plan.label(h) for h in plan.hypotheses]),
        "alpha_words": f"{sided_words} alpha = {num(design.alpha)}",
        "size": plan.size,
        "target": share(plan.target) if plan.target is not None else None,
        "required_total": str(alloc.n_required),
        "n_randomized": str(alloc.n_randomized),
        "randomized_text": (
            f"{stage1[0]['randomized']} per first-stage treatment"
            if equal
            else words_list([f"{a['randomized']} to {a['label']}" for a in stage1])
        ),
        "n_analysed": str(alloc.n_analysed),
        "dropout_text": f"dropout of {share(design.dropout)}",
        "dropout_zero": design.dropout == 0,
        "method": _method(plan),
        "sources": list(plan.sources),
        "simulation": (
            {"n_sims": str(plan.n_sims), "seed": str(plan.seed)}
            if plan.method == "simulation"
            else None
        ),
        **environment(plan, spec_name=spec_name, out_name=out_name),
    }


def _method(plan: Any) -> str:
    rows = plan.design.power(["stage1"]).rows
    return rows[0].method if rows else "normal approximation"


def smart_blocks(plan: Any, context: dict[str, Any], figures: Mapping[str, Any]) -> list[Block]:
    """Every block of a SMART protocol, in order."""
    blocks = [
        Block("heading", context["title"], level=1),
        Block("heading", "Sample size (SPIRIT 2013 item 14)"),
    ]
    blocks += paragraphs("smart_sample_size.txt.j2", context)
    blocks.append(power_table_block(plan))
    blocks.append(Block("heading", "Statistical analysis plan"))
    blocks += paragraphs("smart_analysis_plan.txt.j2", context)
    blocks.append(Block("heading", "Randomization (SPIRIT 2013 item 16a)"))
    blocks += paragraphs("randomization.txt.j2", randomization_context(plan, context))
    blocks += sensitivity_blocks(plan, figures)
    if "power_curve" in figures:
        blocks.append(Block("heading", "Power curve"))
        blocks.append(Block("figure", curve_caption(plan), path="figures/power_curve"))
    blocks += closing_blocks(context)
    return blocks
