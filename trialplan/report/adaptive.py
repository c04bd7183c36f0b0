"""Protocol text of an adaptive plan: interim, re-estimation rule, operating characteristics.

Words and tables for a :class:`~trialplan.plan.TrialPlan` with
``adaptive=tp.SampleSizeReestimation(...)``, every number read from the plan
(its looks, its stage sizes per cell, its one simulation) and formatted by
:mod:`trialplan.report.formatting`: power and probabilities as percents with
one decimal, z bounds with three decimals, participants as whole numbers.

The section answers the items of the Adaptive designs CONSORT Extension
(Dimairo et al. 2020) a protocol can answer before the trial: 3b (type of
adaptive design and the pre-planned adaptation), 7a (sample size and
operating characteristics, by simulation), 7b (interim decision rules and
their timing), 8b (randomization when the size changes), 11c (confidentiality
of interim results), 12a (how the type I error is controlled) and 12b
(estimation and inference after the adaptation).

References
----------
.. [1] Dimairo M, Pallmann P, Wason J, et al. The Adaptive designs CONSORT
   Extension (ACE) statement: a checklist with explanation and elaboration
   guideline for reporting randomised trials that use an adaptive design.
   BMJ 2020;369:m115.
.. [2] Cui L, Hung HMJ, Wang SJ. Modification of sample size in group
   sequential clinical trials. Biometrics 1999;55:853-857.
.. [3] Lehmacher W, Wassmer G. Adaptive sample size calculations in group
   sequential trials. Biometrics 1999;55:1286-1290.
.. [4] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trialplan.report.blocks import Block, lines, paragraphs
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

__all__ = ["adaptive_blocks", "adaptive_context"]


def _factor(value: float) -> str:
    """A multiple of the planned stage, in words ("1", "2", "1.5")."""
    return f"{value:g}"


def _rule_effect(plan: Any) -> str:
    """At which effect the conditional power is computed, in words."""
    rule = plan.adaptive
    label = plan.label(plan.primary[0])
    if rule.effect == "observed":
        return f"the effect observed for {label} at the interim (all data so far)"
    if rule.effect == "planned":
        effect = plan.design.power([plan.primary[0]]).row(plan.primary[0]).effect
        return f"the planned effect for {label} ({num(effect)})"
    return f"an assumed effect of {num(rule.effect)} for {label}"


def _sd_words(plan: Any) -> str:
    """The nuisance parameter the rule assumes, in words."""
    outcome = plan.design.outcome
    kind = type(outcome).__name__
    result = plan.adaptive_result
    statistic = result.extras.get("statistic") if result is not None else None
    if plan.adaptive.effect == "observed" and statistic == "t":
        # the observed effect pools the stage-wise t statistics (as rpact does)
        residual = "residual " if kind == "Continuous" and outcome.baseline_corr else ""
        return f"the {residual}SD estimated from each stage's data, through its t statistic"
    if kind == "Continuous":
        if outcome.baseline_corr:
            return (
                f"the planning residual SD of {num(outcome.residual_sd)}, after the baseline "
                "adjustment"
            )
        return f"the planning SD of {num(outcome.sd)}"
    if kind == "Binary":
        return "the standard error of the planning event rates"
    return "the standard error the planning values give"


def adaptive_context(plan: Any, unit: str) -> dict[str, Any]:
    """Everything the adaptive templates and tables print, formatted."""
    rule = plan.adaptive
    gsd = plan.sequential
    result = plan.adaptive_result
    name = plan.primary[0]
    label = plan.label(name)
    labels = plan.cell_labels()
    stages = plan.stages()
    looks = plan.looks()
    oc = plan.operating_characteristics().set_index("scenario")
    first = stages[stages["look"] == 1]
    final = stages[stages["look"] == stages["look"].max()]
    interim = [int(v) for v in first["planned"]]
    planned = [int(v) for v in final["planned"]]
    largest = [int(v) for v in final["maximum"]]
    smallest = [int(v) for v in final["minimum"]]
    t = list(gsd.info_fractions)
    weights = [math.sqrt(b - a) for a, b in zip([0.0] + t[:-1], t, strict=True)]
    futility = gsd.futility_z
    fixed_gs = float(plan.design.power([name], sequential=gsd)[name])
    planning, null = oc.loc["planned"], oc.loc["null"]
    maximum = plan.maximum
    promising = None
    if rule.promising_zone is not None:
        low, high = rule.promising_zone
        promising = {"low": share(low), "high": share(high)}
    direction = "lower" if plan.design.outcome.better == "lower" else "higher"
    return {
        "label": label,
        "short": label.removeprefix("the "),
        "n_stages": count(len(t)),
        "n_interim": count(len(t) - 1),
        "fraction_pct": share(t[0]),
        "fractions": [fraction(v) for v in t],
        "interim_total": str(sum(interim)),
        "interim_text": per_cell(labels, interim, unit),
        "stage2_planned_text": per_cell(
            labels, [p - i for p, i in zip(planned, interim, strict=True)], unit
        ),
        "stage2_smallest_text": per_cell(
            labels, [m - i for m, i in zip(smallest, interim, strict=True)], unit
        ),
        "stage2_largest_text": per_cell(
            labels, [m - i for m, i in zip(largest, interim, strict=True)], unit
        ),
        "planned_total": str(sum(planned)),
        "smallest_total": str(sum(smallest)),
        "largest_total": str(sum(largest)),
        "largest_text": per_cell(labels, largest, unit),
        "min_factor": _factor(rule.min_factor),
        "max_factor": _factor(rule.max_factor),
        "min_is_planned": rule.min_factor == 1.0,
        "conditional_power": share(rule.conditional_power),
        "rule_effect": _rule_effect(plan),
        "observed": rule.effect == "observed",
        "direction": direction,
        "blinded": rule.sd != "planned",
        "blinded_adjusted": rule.sd == "blinded_adjusted",
        "promising": promising,
        "rounded": rule.round_up,
        "efficacy_z": [z(v) for v in gsd.efficacy_z],
        "interim_efficacy_z": [z(v) for v in gsd.efficacy_z[:-1]],
        "final_efficacy_z": z(gsd.efficacy_z[-1]),
        "futility_z": [z(v) for v in futility[:-1]] if futility is not None else None,
        "binding": bool(gsd.binding),
        "spending": gsd.efficacy.label if hasattr(gsd.efficacy, "label") else "",
        "alpha": num(gsd.alpha),
        "alpha_pct": share(gsd.alpha),
        "weights": [f"{w:.3f}" for w in weights],
        "weight_roots_text": words_list(
            [fraction(b - a) for a, b in zip([0.0] + t[:-1], t, strict=True)]
        ),
        "sd_words": _sd_words(plan),
        "n_sims": f"{result.n_sims:,}",
        "seed": str(plan.seed),
        "power": pct(planning["reject"]),
        "power_mcse": f"{100 * planning['reject_mcse']:.1f}",
        "type_i": pct(null["reject"]),
        "type_i_mcse": f"{100 * null['reject_mcse']:.1f}",
        "gs_power": pct(fixed_gs),
        "enlarged": pct(planning["enlarged"]),
        "later": "the second stage" if len(t) == 2 else "a later stage",
        "enlarged_h0": pct(null["enlarged"]),
        "expected": people(planning["expected_n"]),
        "expected_randomized": people(planning["expected_n_randomized"]),
        "expected_h0": people(null["expected_n"]),
        "stop_efficacy": pct(planning["stop_efficacy_interim"]),
        "stop_futility_h0": pct(null["stop_futility_interim"]),
        "n_randomized": str(plan.allocation.n_randomized),
        "max_randomized": str(maximum.n_randomized),
        "max_randomized_text": per_cell(labels, list(maximum.randomized), unit),
        "final_power": pct(looks["power"].iloc[-1]),
    }


def _oc_rows(plan: Any) -> tuple[tuple[str, ...], ...]:
    oc = plan.operating_characteristics().set_index("scenario")
    maximum = plan.maximum

    def both(fmt: Any) -> tuple[str, str]:
        return fmt(oc.loc["planned"]), fmt(oc.loc["null"])

    def with_mcse(row: Any) -> str:
        return f"{pct(row['reject'])} (MCSE {100 * row['reject_mcse']:.1f})"

    def expected(row: Any) -> str:
        return f"{people(row['expected_n'])} (MCSE {row['expected_n_mcse']:.1f})"

    def spread(row: Any) -> str:
        return f"{people(row['n_median'])} ({people(row['n_p05'])} to {people(row['n_p95'])})"

    rows = [
        ("Probability of rejecting the null hypothesis", *both(with_mcse)),
        (
            "Probability of stopping at the interim for efficacy",
            *both(lambda r: pct(r["stop_efficacy_interim"])),
        ),
    ]
    if plan.sequential.futility_z is not None:
        rows.append(
            (
                "Probability of stopping at the interim for futility",
                *both(lambda r: pct(r["stop_futility_interim"])),
            )
        )
    rows += [
        ("Probability that the second stage is enlarged", *both(lambda r: pct(r["enlarged"]))),
    ]
    if plan.adaptive.min_factor < 1.0:
        rows.append(
            ("Probability that the second stage is reduced", *both(lambda r: pct(r["reduced"])))
        )
    rows += [
        ("Expected participants analysed", *both(expected)),
        ("Expected participants randomized", *both(lambda r: people(r["expected_n_randomized"]))),
        ("Participants analysed: median (5th to 95th percentile)", *both(spread)),
        (
            "Largest number analysed (randomized)",
            *both(lambda r: f"{people(r['max_n'])} ({maximum.n_randomized})"),
        ),
    ]
    return tuple(tuple(row) for row in rows)


def adaptive_blocks(
    plan: Any, context: Mapping[str, Any], figures: Mapping[str, Any]
) -> list[Block]:
    """The interim analysis, the re-estimation rule, the operating characteristics, ACE items."""
    ctx = context["adaptive"]
    blocks = [Block("heading", "Interim analysis and sample-size re-estimation")]
    blocks += paragraphs("adaptive.txt.j2", context)
    blocks.append(_looks_block(plan, ctx))
    blocks.append(_stages_block(plan))
    blocks.append(
        Block(
            "table",
            f"Operating characteristics of the adaptive design for {ctx['label']}, simulated "
            f"({ctx['n_sims']} trials at the planning values and {ctx['n_sims']} with no effect, "
            f"seed {ctx['seed']}; Monte Carlo standard errors (MCSE) in percentage points or "
            "participants)",
            header=("Operating characteristic", "Planning values", "No effect (null hypothesis)"),
            rows=_oc_rows(plan),
        )
    )
    if "final_n" in figures:
        blocks.append(
            Block(
                "figure",
                "Distribution of the number of participants analysed at the end of the trial "
                f"(cumulative probability; {ctx['n_sims']} simulated trials at the planning "
                "values and with no effect); dotted: the interim, the planned and the largest "
                "number",
                path="figures/final_n",
            )
        )
    if "boundaries" in figures:
        blocks.append(
            Block(
                "figure",
                "Stopping boundaries of the combination test on the z scale against the "
                "information fraction (top axis: participants analysed at the planned sizes); "
                "shaded: where the trial stops; lower panel: the cumulative power of the "
                "adaptive design by analysis (simulated)"
                + (f", with the target power ({share(plan.target)})" if plan.target else ""),
                path="figures/boundaries",
            )
        )
    blocks.append(Block("heading", "Adaptive design items (CONSORT ACE 2020)"))
    blocks.append(Block("list", items=tuple(lines("adaptive_items.txt.j2", context))))
    return blocks


def _looks_block(plan: Any, ctx: Mapping[str, Any]) -> Block:
    looks = plan.looks()
    futility = plan.sequential.futility_z is not None
    header = [
        "Analysis",
        "Information fraction",
        "Participants analysed",
        "Largest with re-estimation",
        "Efficacy bound (z)",
        "Nominal one-sided p",
    ]
    if futility:
        header.append("Futility bound (z)")
    header += ["Cumulative alpha spent", "Probability of stopping for efficacy"]
    if futility:
        header.append("Probability of stopping for futility")
    header.append("Cumulative power")
    rows = []
    last = len(looks)
    for _, row in looks.iterrows():
        final = int(row["look"]) == last
        cells = [
            "final" if final else f"interim {int(row['look'])}",
            fraction(row["info_fraction"]),
            str(int(row["n_analysed"])),
            str(int(row["n_maximum"])),
            z(row["efficacy_z"]),
            p_value(row["efficacy_p"]),
        ]
        if futility:
            cells.append("none" if final else z(row["futility_z"]))
        cells += [p_value(row["alpha_spent"]), pct(row["stop_efficacy"])]
        if futility:
            cells.append("none" if final else pct(row["stop_futility"]))
        cells.append(pct(row["power"]))
        rows.append(tuple(cells))
    caption = (
        "Stopping boundaries at each analysis, with the probabilities of stopping at the planned "
        f"effect for {ctx['label']} (simulated, adaptive design); participants analysed as "
        "planned and the largest number the re-estimation allows"
    )
    return Block("table", caption, header=tuple(header), rows=tuple(rows))


def _stages_block(plan: Any) -> Block:
    stages = plan.stages()
    k = int(stages["look"].max())
    first = stages[stages["look"] == 1].reset_index(drop=True)
    final = stages[stages["look"] == k].reset_index(drop=True)
    rows = []
    for j, label in enumerate(plan.cell_labels()):
        interim = int(first.loc[j, "planned"])
        rows.append(
            (
                label,
                str(interim),
                str(int(final.loc[j, "planned"]) - interim),
                str(int(final.loc[j, "maximum"]) - interim),
                str(int(final.loc[j, "planned"])),
                str(int(final.loc[j, "maximum"])),
                str(plan.allocation.randomized[j]),
                str(plan.maximum.randomized[j]),
            )
        )
    unit = "cell" if plan.design.design_kind == "factorial" else "arm"
    header = (
        unit.capitalize(),
        "Analysed at the interim",
        "Second stage, planned",
        "Second stage, largest",
        "Analysed at the end, planned",
        "Analysed at the end, largest",
        "Randomized, planned",
        "Randomized, list",
    )
    caption = (
        f"Participants per {unit} at each stage (cumulative counts rounded up to whole "
        "participants; randomized counts allow for the planned dropout in whole blocks)"
    )
    if k > 2:
        caption += "; with several interims the second stage counts every stage after the first"
    return Block("table", caption, header=header, rows=tuple(rows))
