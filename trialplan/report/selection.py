"""Protocol text of a plan with arm selection at an interim.

Words and tables for a :class:`~trialplan.plan.TrialPlan` with
``adaptive=ArmSelection(...)`` on a multi-arm parallel design (or a factorial
whose cells are the arms, the reference cell the control), every number
read from the plan (its looks, its stage sizes per arm, its randomization
lists and its one simulation) and formatted by
:mod:`trialplan.report.formatting`: probabilities as percents with one
decimal, z bounds with three decimals, participants as whole numbers.

The section answers the items of the Adaptive designs CONSORT Extension
(Dimairo et al. 2020) a protocol can answer before the trial: 3b (type of
adaptive design, the pre-planned adaptation), 7a (sample size and operating
characteristics by simulation), 7b (interim decision rules and their timing),
8b (randomization after the selection), 11c (confidentiality of interim
results), 12a (familywise type I error control) and 12b (estimation after the
selection).

References
----------
.. [1] Dimairo M, Pallmann P, Wason J, et al. The Adaptive designs CONSORT
   Extension (ACE) statement. BMJ 2020;369:m115.
.. [2] Bretz F, Schmidli H, König F, Racine A, Maurer W. Confirmatory seamless
   phase II/III clinical trials with hypotheses selection at interim: general
   concepts. Biom J 2006;48:623-634.
.. [3] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016, ch. 11.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trialplan.report.blocks import Block, lines, paragraphs
from trialplan.report.formatting import count, fraction, num, p_value, pct, people, words_list, z

__all__ = ["selection_blocks", "selection_context"]

_TESTS = {
    "dunnett": "Dunnett's many-to-one test",
    "simes": "Simes' test",
    "bonferroni": "the Bonferroni test",
    "sidak": "Šidák's test",
}


def _mcse(value: float) -> str:
    return f"{100 * value:.1f}"


def _rule_words(plan: Any, arm: str) -> str:
    """Which arms continue, in words."""
    rule = plan.adaptive
    if rule.rule == "best":
        which = f"the {arm} with the best interim result continues"
    elif rule.rule == "r_best":
        which = f"the {count(int(rule.r))} {arm}s with the best interim results continue"
    elif rule.rule == "epsilon":
        which = (
            f"every {arm} whose interim result is within {num(rule.epsilon)} of the best one "
            "continues"
        )
    else:
        which = f"every {arm} continues"
    if rule.threshold is not None:
        which += (
            f", except any whose interim effect (in the favourable direction) is at or below "
            f"{num(rule.threshold)}"
        )
    return which


def selection_context(plan: Any, unit: str) -> dict[str, Any]:
    """Everything the selection templates and tables print, formatted."""
    rule = plan.adaptive
    gsd = plan.sequential
    result = plan.adaptive_result
    labels = dict(zip(plan.allocation.cells, plan.cell_labels(), strict=True))
    control = plan.design.control
    arms = [c for c in plan.allocation.cells if c != control]
    look = 1 if rule.selection_look is None else int(rule.selection_look)
    looks = plan.looks()
    stages = plan.stages()
    at_selection = stages[stages["look"] == look]
    t = list(gsd.info_fractions)
    weights = [math.sqrt(b - a) for a, b in zip([0.0] + t[:-1], t, strict=True)]
    table = plan.selection_table().set_index("hypothesis")
    oc = plan.operating_characteristics().set_index("scenario")
    planned, null = oc.loc["planned"], oc.loc["null"]
    extras = result.extras
    lists = plan.stage_lists()
    first = lists[lists["stage"] == 1]
    second = lists[lists["stage"] == 2]
    stage2_per_arm = (
        second.groupby("cell")["randomized"].max().reindex(plan.allocation.cells).fillna(0)
    )
    what = "event rate" if type(plan.design.outcome).__name__ == "Binary" else "mean outcome"
    measure = (
        f"the difference between its {what} and the control's, all data so far"
        if rule.effect_measure == "estimate"
        else "its z statistic against the control, all data so far"
    )
    comparisons = []
    for name in plan.primary:
        row = table.loc[name]
        comparisons.append(
            {
                "label": row["label"],
                "effect": num(row["effect"]),
                "power": pct(row["power"]),
                "power_mcse": _mcse(row["mcse"]),
                "selected": pct(row["selected"]),
                "type_i": pct(row["type_i_error"]),
                "type_i_mcse": _mcse(row["type_i_mcse"]),
            }
        )
    partial = None
    if "fwer_true_nulls" in extras:
        partial = {
            "arms": words_list([plan.label(h) for h in extras["fwer_true_nulls"]]),
            "fwer": pct(extras["fwer"]),
            "fwer_mcse": _mcse(extras["mcse_fwer"]),
        }
    multiple = rule.arms_kept(len(arms)) > 1
    factorial = None
    if plan.factorial is not None:  # a factorial's cells are the arms (reference cell: control)
        f, words = plan.factorial, plan.labels

        def factor(name: str, levels: tuple[str, str]) -> str:
            return f"{words.factor(name)} ({' or '.join(words.level(name, lv) for lv in levels)})"

        factorial = {
            "shape": "x".join("2" for _ in f.factors),
            "n_cells": count(len(f.cells)),
            "factors": words_list([factor(name, lv) for name, lv in f.factors.items()]),
        }
    return {
        "factorial": factorial,
        "arm": unit,
        "control": labels[control],
        "arms": words_list([labels[c] for c in arms]),
        "n_arms": count(len(arms)),
        "n_comparisons": count(len(plan.primary)),
        "comparisons": comparisons,
        "family": words_list([plan.label(h) for h in plan.primary]),
        "n_stages": count(len(t)),
        "n_interim": count(len(t) - 1),
        "look": count(look),
        "look_number": look,
        "only_look": len(t) == 2,
        "every_interim": len(t) > 2 and rule.selection_look is None,
        "when": (
            "the interim"
            if len(t) == 2
            else "each interim analysis"
            if rule.selection_look is None
            else f"interim analysis {look}"
        ),
        "selection_fraction": fraction(t[look - 1]),
        "interim_fractions": [fraction(v) for v in t[:-1]],
        "selection_total": str(int(at_selection["planned"].sum())),
        "selection_text": words_list(
            [
                f"{int(n)} in {lab}"
                for lab, n in zip(at_selection["label"], at_selection["planned"], strict=True)
            ]
        ),
        "rule_words": _rule_words(plan, unit),
        "multiple": multiple,
        "measure": measure,
        "test": _TESTS[rule.intersection],
        "efficacy_z": [z(v) for v in gsd.efficacy_z],
        "interim_efficacy_z": [z(v) for v in gsd.efficacy_z[:-1]],
        "final_efficacy_z": z(gsd.efficacy_z[-1]),
        "futility_z": [z(v) for v in gsd.futility_z[:-1]] if gsd.futility_z is not None else None,
        "binding": bool(gsd.binding),
        "success_all": rule.success == "all",
        "alpha": num(gsd.alpha),
        "weights": [f"{w:.3f}" for w in weights],
        "weight_roots_text": words_list(
            [fraction(b - a) for a, b in zip([0.0] + t[:-1], t, strict=True)]
        ),
        "n_sims": f"{result.n_sims:,}",
        "max_mcse": _mcse(max(float(result.mcse[h]) for h in plan.primary)),
        "seed": str(plan.seed),
        "any": pct(planned["reject_any"]),
        "any_mcse": _mcse(planned["reject_any_mcse"]),
        "all": pct(planned["reject_all"]),
        "best": plan.label(str(planned["best"])),
        "best_power": pct(planned["reject_best"]),
        "fwer_global": pct(null["reject_any"]),
        "fwer_global_mcse": _mcse(null["reject_any_mcse"]),
        "partial": partial,
        "stop_efficacy": pct(planned["stop_efficacy_interim"]),
        "expected": people(planned["expected_n"]),
        "expected_h0": people(null["expected_n"]),
        "largest_total": str(int(looks["n_largest"].iloc[-1])),
        "planned_total": str(int(looks["n_analysed"].iloc[-1])),
        "n_randomized": str(plan.allocation.n_randomized),
        "stage1_randomized": str(int(first["randomized"].sum())),
        "stage1_text": words_list(
            [
                f"{int(n)} to {lab}"
                for lab, n in zip(first["label"], first["randomized"], strict=True)
            ]
        ),
        "stage2_text": words_list(
            [
                f"{int(stage2_per_arm[c])} to {labels[c]}"
                for c in plan.allocation.cells
                if stage2_per_arm[c] > 0
            ]
        ),
        "n_lists": count(int(second["list"].nunique())),
        # the most randomized: the stage-1 list and the longest stage-2 list
        "largest_randomized": str(
            int(first["randomized"].sum())
            + (int(second.groupby("list")["randomized"].sum().max()) if len(second) else 0)
        ),
        "stage1_ends": str(int(first["randomized"].sum())) if len(second) else None,
    }


def _comparison_block(plan: Any, ctx: Mapping[str, Any]) -> Block:
    rows = tuple(
        (
            c["label"],
            c["effect"],
            c["selected"],
            f"{c['power']} ({c['power_mcse']})",
            f"{c['type_i']} ({c['type_i_mcse']})",
        )
        for c in ctx["comparisons"]
    )
    caption = (
        f"Each comparison with {ctx['control']} in the design with treatment selection, simulated "
        f"({ctx['n_sims']} trials at the planning values and {ctx['n_sims']} with no effect in any "
        f"{ctx['arm']}, seed {ctx['seed']}; Monte Carlo standard errors in percentage points in "
        "brackets): the probability that the arm is selected at the interim, the power (the "
        "probability that the closed test rejects the comparison) and the probability of "
        "rejecting it when no arm has an effect"
    )
    return Block(
        "table",
        caption,
        header=(
            "Comparison",
            "Planned effect",
            "Probability of being selected",
            "Power (MCSE)",
            "Rejection with no effect (MCSE)",
        ),
        rows=rows,
    )


def _oc_block(plan: Any, ctx: Mapping[str, Any]) -> Block:
    oc = plan.operating_characteristics().set_index("scenario")
    planned, null = oc.loc["planned"], oc.loc["null"]
    rows = [
        (
            "Probability of rejecting at least one comparison",
            f"{pct(planned['reject_any'])} ({_mcse(planned['reject_any_mcse'])})",
            f"{pct(null['reject_any'])} ({_mcse(null['reject_any_mcse'])})",
        ),
    ]
    if planned["best_unique"]:  # one arm has the largest planned effect
        rows.append(
            (
                f"Probability of rejecting the comparison of the {ctx['arm']} with the largest "
                f"planned effect ({ctx['best']})",
                f"{pct(planned['reject_best'])} ({_mcse(planned['reject_best_mcse'])})",
                f"{pct(null['reject_best'])} ({_mcse(null['reject_best_mcse'])})",
            )
        )
    rows += [
        (
            "Probability of stopping at the interim for efficacy",
            pct(planned["stop_efficacy_interim"]),
            pct(null["stop_efficacy_interim"]),
        ),
    ]
    if plan.sequential.futility_z is not None:
        rows.append(
            (
                "Probability of stopping at the interim for futility",
                pct(planned["stop_futility_interim"]),
                pct(null["stop_futility_interim"]),
            )
        )
    rows += [
        (
            "Expected participants analysed",
            f"{people(planned['expected_n'])} ({planned['expected_n_mcse']:.1f})",
            f"{people(null['expected_n'])} ({null['expected_n_mcse']:.1f})",
        ),
        (
            "Largest number analysed",
            people(planned["max_n"]),
            people(null["max_n"]),
        ),
    ]
    caption = (
        f"Operating characteristics of the design with treatment selection, simulated "
        f"({ctx['n_sims']} trials per scenario, seed {ctx['seed']}; Monte Carlo standard errors "
        "in brackets, in percentage points or participants); with no effect, the probability "
        "of rejecting at least one comparison is the familywise type I error"
    )
    return Block(
        "table",
        caption,
        header=("Operating characteristic", "Planning values", f"No effect in any {ctx['arm']}"),
        rows=tuple(rows),
    )


def _looks_block(plan: Any, ctx: Mapping[str, Any]) -> Block:
    looks = plan.looks()
    last = len(looks)
    rows = []
    for _, row in looks.iterrows():
        final = int(row["look"]) == last
        rows.append(
            (
                "final" if final else f"interim {int(row['look'])}",
                fraction(row["info_fraction"]),
                str(int(row["n_analysed"])),
                str(int(row["n_largest"])),
                z(row["efficacy_z"]),
                p_value(row["efficacy_p"]),
                p_value(row["alpha_spent"]),
                pct(row["stop_efficacy"]),
            )
        )
    caption = (
        "Analyses of the design with treatment selection: participants analysed if every "
        f"{ctx['arm']} continued and the largest number the selection rule allows, the efficacy "
        "bound of every combination test, and the simulated probability of stopping for "
        "efficacy at the planning values"
    )
    return Block(
        "table",
        caption,
        header=(
            "Analysis",
            "Information fraction",
            f"Participants analysed, every {ctx['arm']} continuing",
            "Largest number analysed under the rule",
            "Efficacy bound (z)",
            "Nominal one-sided p",
            "Cumulative alpha spent",
            "Probability of stopping for efficacy",
        ),
        rows=tuple(rows),
    )


def _lists_block(plan: Any, ctx: Mapping[str, Any]) -> Block:
    lists = plan.stage_lists()
    cells = plan.cell_labels()
    rows = []
    for name, group in lists.groupby("list", sort=False):
        counts = dict(zip(group["label"], group["randomized"], strict=True))
        rows.append(
            (
                str(name).replace("stage 2: ", "stage 2, "),
                *(str(int(counts[c])) if c in counts else "none" for c in cells),
                str(int(group["randomized"].sum())),
            )
        )
    caption = (
        "Randomization lists: participants randomized per list and "
        f"{ctx['arm']} (whole permuted blocks, planned dropout allowed for); after the interim "
        "the list of the selection made is used"
    )
    return Block(
        "table",
        caption,
        header=("List", *cells, "Total"),
        rows=tuple(rows),
    )


def selection_blocks(
    plan: Any, context: Mapping[str, Any], figures: Mapping[str, Any]
) -> list[Block]:
    """The interim analysis and treatment selection section, its tables and the ACE items."""
    ctx = context["selection"]
    blocks = [Block("heading", "Interim analysis and treatment selection")]
    blocks += paragraphs("selection.txt.j2", context)
    blocks.append(_looks_block(plan, ctx))
    blocks.append(_comparison_block(plan, ctx))
    blocks.append(_oc_block(plan, ctx))
    blocks.append(_lists_block(plan, ctx))
    blocks.append(Block("heading", "Adaptive design items (CONSORT ACE 2020)"))
    blocks.append(Block("list", items=tuple(lines("selection_items.txt.j2", context))))
    return blocks
