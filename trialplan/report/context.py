"""The words and numbers of a protocol, read from a :class:`~trialplan.plan.TrialPlan`.

Every value the templates print is formatted here, once, by
:mod:`trialplan.report.formatting`: the templates only arrange sentences.
Nothing is computed here that the plan does not hold, so the text cannot
disagree with the plan's tables, figures or randomization list.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trialplan._version import __version__
from trialplan.report.adaptive import adaptive_context
from trialplan.report.formatting import (
    count,
    fraction,
    grouped,
    num,
    p_value,
    pct,
    people,
    per_cell,
    share,
    words_list,
    z,
)
from trialplan.report.selection import selection_context

__all__ = ["protocol_context"]

_SCALE_WORDS = {
    "mean difference": "difference in means",
    "risk_difference": "risk difference",
    "log_odds": "log odds ratio",
    "log_risk": "log risk ratio",
    "arcsine": "difference in arcsine-transformed risks",
}
_PROCEDURES = {
    "Bonferroni": "Bonferroni procedure",
    "Holm": "Holm step-down procedure",
    "Hochberg": "Hochberg step-up procedure",
    "FixedSequence": "fixed-sequence procedure",
    "Gatekeeping": "gatekeeping procedure",
    "Graphical": "graphical procedure",
    "Dunnett": "Dunnett many-to-one procedure",
}


def procedure_words(procedure: Any) -> str:
    """The name of a multiplicity procedure in words."""
    name = type(procedure).__name__
    return _PROCEDURES.get(name, f"{name} procedure")


def _dropout_text(labels: Sequence[str], dropout: Sequence[float]) -> str:
    groups = grouped(labels, dropout, share)
    if len(groups) == 1:
        return f"dropout of {groups[0][0]}"
    return "dropout of " + words_list([f"{value} ({words_list(cells)})" for value, cells in groups])


# ------------------------------------------------------------------ outcome
def _outcome(plan: Any, rows: Any) -> dict[str, Any]:
    outcome = plan.design.outcome
    kind = outcome.kind
    scale = outcome.scale  # binary: the analysis scale; None for the other kinds
    first_scale = rows["scale"].iloc[0] if "scale" in rows and len(rows) else ""
    scale_words = _SCALE_WORDS.get(scale or "", None) or _SCALE_WORDS.get(
        first_scale, first_scale or "the planned contrast"
    )
    if kind == "time_to_event":
        scale_words = "log hazard ratio"
    context: dict[str, Any] = {
        "kind": kind,
        "scale_words": scale_words,
        "scale_name": "mean difference" if scale_words == "difference in means" else scale_words,
        "better": outcome.better,
    }
    model = {
        "continuous": "a linear regression model",
        "time_to_event": "a Cox proportional hazards model",
        "repeated": "a mixed model for repeated measures (MMRM)",
    }.get(kind, "the planned regression model")
    if kind == "continuous":
        context.update(
            sd=num(outcome.sd),
            baseline_corr=num(outcome.baseline_corr) if outcome.baseline_corr else "",
            residual_sd=num(outcome.residual_sd),
        )
        if outcome.baseline_corr:
            model += " adjusted for the baseline score (ANCOVA)"
    elif kind == "binary":
        model = {
            "risk_difference": "a binomial regression model with an identity link",
            "log_odds": "a logistic regression model",
            "log_risk": "a modified Poisson regression model with robust standard errors",
        }.get(scale or "", "a binary regression model")
    elif kind == "time_to_event":
        context.update(
            accrual=num(outcome.accrual) if outcome.accrual else "",
            analysis_time=num(outcome.end_time),
        )
    elif kind == "repeated":
        sd = outcome.sd
        context.update(
            times=[num(t) for t in outcome.times],
            sd_text=num(sd)
            if isinstance(sd, int | float)
            else "(" + ", ".join(num(v) for v in sd) + ") by visit",
            correlation_text=(
                {"cs": "compound-symmetry", "ar1": "first-order autoregressive"}.get(
                    outcome.correlation, outcome.correlation
                )
                + " correlation"
                + (f" (rho = {num(outcome.rho)})" if outcome.rho is not None else "")
            ),
        )
    context["model_words"] = model
    return context


def _cell_values(plan: Any, kind: str) -> list[str]:
    outcome = plan.design.outcome
    cells = plan.allocation.cells
    if kind == "repeated":
        return ["(" + ", ".join(num(v) for v in outcome.means[c]) + ")" for c in cells]
    values = outcome.planning_values()  # means, rates or hazards
    fmt = share if kind == "binary" else num
    return [fmt(values[c]) for c in cells]


# ---------------------------------------------------------------- hypotheses
def _hypotheses(plan: Any, table: Any) -> list[dict[str, Any]]:
    out = []
    for _, row in table.iterrows():
        effect = float(row["effect"])
        zero = abs(effect) < 1e-12
        out.append(
            {
                "name": row["hypothesis"],
                "label": row["label"],
                "role": row["role"],
                "estimand": plan.estimand(row["hypothesis"])
                if "(" not in row["hypothesis"]
                else row["label"],
                "effect": num(effect),
                "zero": zero,
                "power": pct(row["power"]),
                "analysis": row["analysis"],
            }
        )
    return out


def _multiplicity(plan: Any, alpha_words: str) -> dict[str, Any]:
    primary = [plan.label(h) for h in plan.primary]
    secondary = [plan.label(h) for h in plan.hypotheses if h not in plan.primary]
    context: dict[str, Any] = {
        "procedure": None,
        "primary": words_list(primary),
        "n_primary": count(len(primary)),
        "secondary": words_list(secondary),
        "n_secondary": count(len(secondary)),
        "selection": plan.selects_arms,
    }
    if plan.multiplicity is not None:
        family = list(plan.family)
        context.update(
            procedure=procedure_words(plan.multiplicity),
            family=words_list([plan.label(h) for h in family]),
            n_family=count(len(family)),
            primary_in_family=all(h in family for h in plan.primary),
            outside=words_list([plan.label(h) for h in plan.hypotheses if h not in family]),
        )
    context["alpha_words"] = alpha_words
    return context


def _first_sentence(text: str) -> str:
    """The design's first sentence ("Group-sequential design with ...") as protocol text."""
    first = text.split(". The maximum information", 1)[0].rstrip(".")
    if first.startswith("Group-sequential design"):
        first = "The trial uses a group-sequential design" + first[len("Group-sequential design") :]
    return first + "."


def _sequential(plan: Any) -> dict[str, Any] | None:
    gsd = plan.sequential
    if gsd is None:
        return None
    looks = plan.looks()
    expected = plan.expected_n()
    fixed = getattr(plan.sizing, "n_total_fixed", None) if plan.sizing is not None else None
    futility = gsd.futility_z
    return {
        # the design's first sentence (looks, alpha, spending); its second compares
        # information with a fixed design at the target power, which the plan's
        # numbers (analysed at the plan, not at the target) would contradict
        "describe": _first_sentence(gsd.describe()),
        "n_looks": count(gsd.n_looks),
        "n_interim": count(gsd.n_looks - 1),
        "fractions": [fraction(t) for t in gsd.info_fractions],
        "interim_people": [str(n) for n in looks["n_analysed"].iloc[:-1]],
        "final_people": str(looks["n_analysed"].iloc[-1]),
        "efficacy_z": [z(v) for v in gsd.efficacy_z],
        "efficacy_p": [p_value(v) for v in looks["efficacy_p"]],
        "futility_z": [z(v) for v in futility] if futility is not None else None,
        "binding": bool(getattr(gsd, "binding", False)),
        "expected_h0": str(expected["H0"]),
        "expected_h1": str(expected["H1"]),
        "fixed_people": people(fixed) if fixed is not None and math.isfinite(fixed) else None,
        "combination": plan.primary[0] == "combination",
    }


# ------------------------------------------------------------------- context
def _cells(plan: Any, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    alloc = plan.allocation
    values = _cell_values(plan, outcome["kind"])
    cells = [
        {
            "label": label,
            "value": value,
            "randomized": str(r),
            "analysed": str(a),
            "dropout": share(d),
        }
        for label, value, r, a, d in zip(
            plan.cell_labels(),
            values,
            alloc.randomized,
            alloc.analysed,
            alloc.dropout,
            strict=True,
        )
    ]
    if outcome["kind"] == "time_to_event":
        events = plan.design.expected_events()
        for cell, c in zip(alloc.cells, cells, strict=True):
            c["events"] = people(events[cell])
        outcome["events_total"] = people(sum(events.values()))
    return cells


def _factors(plan: Any) -> list[dict[str, str]]:
    factors = []
    for f, (lo, hi) in getattr(plan.design, "factors", {}).items():
        shown = plan.labels.factor(f)
        contrast = f"{plan.labels.level(f, hi)} vs {plan.labels.level(f, lo)}"
        factors.append({"name": shown, "words": f"{shown} ({contrast})"})
    return factors


def _interactions(plan: Any, by_name: Mapping[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """The first interaction's row (CONSORT item) and every interaction's planned value."""
    design = plan.design
    if len(getattr(design, "factors", {})) < 2:
        return None, []
    names = [n for n in design.hypothesis_names if ":" in n and "|" not in n]
    effects = design.power(names)
    interactions = []
    for name in names:
        effect = float(effects.row(name).effect)
        interactions.append(
            {
                "short": plan.label(name).removeprefix("the "),
                "effect": num(effect),
                "zero": abs(effect) < 1e-12,
            }
        )
    first = by_name.get(names[0])
    return (dict(first) if first is not None else None), interactions


def _clustering(plan: Any) -> dict[str, str] | None:
    clusters = getattr(plan.design, "clusters", None)
    if clusters is None:
        return None
    return {
        "factor": plan.labels.factor(clusters.factor),
        "level": plan.labels.level(clusters.factor, clusters.level) if clusters.level else "",
        "group_size": num(clusters.group_size),
        "icc": num(clusters.icc),
        "design_effect": num(clusters.design_effect),
    }


def _allocation_words(plan: Any, unit: str) -> dict[str, Any]:
    alloc = plan.allocation
    labels = plan.cell_labels()
    drops = [float(d) for d in alloc.dropout]
    return {
        "equal_allocation": alloc.equal,
        "ratio": ":".join(map(str, alloc.ratios)),
        "required_per_cell": str(alloc.required[0]) if len(set(alloc.required)) == 1 else None,
        "required_text": per_cell(labels, alloc.required, unit),
        "required_total": str(alloc.n_required),
        "n_randomized": str(alloc.n_randomized),
        "randomized_text": per_cell(labels, alloc.randomized, unit),
        "analysed_text": per_cell(labels, alloc.analysed, unit),
        "n_analysed": str(alloc.n_analysed),
        "analysed_equals_required": alloc.analysed == alloc.required,
        "dropout_zero": not any(drops),
        "dropout_text": _dropout_text(labels, drops),
        "blocks": words_list([str(b) for b in alloc.block_sizes]),
    }


def environment(plan: Any, *, spec_name: str, out_name: str) -> dict[str, Any]:
    """Versions, seeds and the command that regenerates the protocol (reproducibility)."""
    import scipy

    return {
        "version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "spec_hash": "",
        "randomization_seed": str(plan.randomization.seed),
        "spec_name": spec_name,
        "out_name": out_name,
    }


def protocol_context(
    plan: Any, *, spec_name: str = "protocol.toml", out_name: str = "DIR"
) -> dict[str, Any]:
    """Everything the protocol templates print, formatted, for a cell-design plan."""
    design = plan.design
    table = plan.power_table
    outcome = _outcome(plan, table)
    factorial = design.design_kind == "factorial"
    unit = "cell" if factorial else "arm"
    cells = _cells(plan, outcome)
    hypotheses = _hypotheses(plan, table)
    by_name = {h["name"]: h for h in hypotheses}
    primary = [dict(by_name[n], power=pct(plan.primary_power[n])) for n in plan.primary]
    interaction, interactions = _interactions(plan, by_name)
    sided_words = "two-sided" if design.sided == 2 else "one-sided"
    alpha_words = f"{sided_words} alpha = {num(design.alpha)}"
    simulation = None
    if plan.method == "simulation":
        mcse = p_value(np.nanmax(table["mcse"].to_numpy(dtype=float)))
        simulation = {"n_sims": str(plan.n_sims), "seed": str(plan.seed), "max_mcse": mcse}
    adaptive = selection = None
    if plan.selects_arms:
        selection = selection_context(plan, unit)
    elif plan.adaptive is not None:
        adaptive = adaptive_context(plan, unit)
    return {
        "title": plan.title or "Sample size and statistical analysis plan",
        "kind": "factorial" if factorial else "parallel",
        "unit": unit,
        "shape": "x".join("2" for _ in design.factors) if factorial else "",
        "n_cells": count(len(cells)),
        "factors": _factors(plan),
        "cells": cells,
        "control": plan.labels.arm(design.control) if getattr(design, "control", None) else "",
        "outcome": outcome,
        "outcome_label": plan.outcome_label,
        "timepoint": plan.timepoint,
        "hypotheses": hypotheses,
        "primary": primary,
        "primary_words": words_list([h["label"] for h in primary]),
        "interaction": interaction,
        "interactions": interactions,
        "alpha": num(design.alpha),
        "combination_level": num(design.alpha / design.sided),
        "alpha_words": alpha_words,
        "sided_words": sided_words,
        "size": plan.size,
        "target": share(plan.target) if plan.target is not None else None,
        **_allocation_words(plan, unit),
        "multiplicity": _multiplicity(plan, alpha_words),
        "sequential": _sequential(plan),
        "adaptive": adaptive,
        "selection": selection,
        "clustering": _clustering(plan),
        "simulation": simulation,
        "method": "; ".join(dict.fromkeys(_methods(plan))),
        "sources": list(plan.sources),
        **environment(plan, spec_name=spec_name, out_name=out_name),
    }


def _methods(plan: Any) -> list[str]:
    rows = plan.design.power(list(plan.primary)).rows if not plan.is_regime_design else []
    methods = [r.method for r in rows]
    if plan.selects_arms:  # every primary comparison's power is the simulated design's
        methods = []
        methods.append(
            "power of the design with treatment selection by simulation (closed "
            f"{plan.adaptive.intersection.capitalize()} intersection tests combined by the "
            "inverse normal method)"
        )
    elif plan.adaptive is not None:
        methods.append(
            "power of the adaptive design with sample-size re-estimation by simulation "
            "(inverse normal combination test, exact stage-wise sufficient statistics)"
        )
    elif plan.sequential is not None:
        methods.append(
            f"group-sequential power by recursive numerical integration over "
            f"{count(plan.sequential.n_looks)} looks"
        )
    if plan.multiplicity is not None:
        methods.append(f"power under the {procedure_words(plan.multiplicity)}")
    return methods
