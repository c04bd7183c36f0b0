"""SPIRIT 2013 item 14 sample-size text, written from computed results only.

Pure Python (no template engine), so the main example runs with the core
dependencies.  Every number in the text is read from a result object; nothing
is typed in by hand.  The paragraph follows the DELTA2 checklist (Cook et al.
2018): outcome, timepoint and estimand; the powered hypotheses and the assumed
interaction; target differences with their scale and sources; SD and baseline
correlation; alpha and sidedness; power, allocation and the number analysed per
cell; attrition; software, version and method.
"""

from __future__ import annotations

from collections.abc import Sequence

from trialplan._version import __version__
from trialplan.results import PowerResult, SampleSizeResult

__all__ = ["sample_size_section"]


def sample_size_section(
    primary: SampleSizeResult,
    *,
    secondary: Sequence[SampleSizeResult] = (),
    outcome_label: str = "the primary outcome",
    timepoint: str = "the primary timepoint",
    sources: Sequence[str] = (),
    title: str = "Sample size (SPIRIT item 14)",
) -> str:
    """A Markdown sample-size section for a factorial protocol.

    Parameters
    ----------
    primary : SampleSizeResult
        The sample size that sets the trial's size (its design is the one
        described).
    secondary : sequence of SampleSizeResult, optional
        Further targets reported for context (e.g. the combination test).
    outcome_label, timepoint : str
        The outcome and when it is measured, in words.
    sources : sequence of str, optional
        Citations for the planning values, listed after the paragraph.
    title : str
        Heading of the section.

    Returns
    -------
    str
        Markdown: a heading, the paragraph, a table of the power of every
        hypothesis at the planned size, and the sources.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): -3,
    ...                      ("a0", "b1"): -2, ("a1", "b1"): -8}, sd=8.0), n_per_cell=10)
    >>> text = sample_size_section(d.sample_size(power=0.9, hypothesis="A:B"))
    >>> "300 participants per cell" in text
    True
    """
    for name, result in [("primary", primary)] + [
        (f"secondary[{i}]", r) for i, r in enumerate(secondary)
    ]:
        if not isinstance(result, SampleSizeResult):
            raise TypeError(
                f"{name} must be a SampleSizeResult from design.sample_size(...); "
                f"got {name}={result!r}"
            )
    design = primary.design
    outcome = design.outcome
    power_at_plan: PowerResult = design.power()
    factors = " x ".join(f"{name} ({lo} vs {hi})" for name, (lo, hi) in design.factors.items())
    cells = {design.cell_label(c): outcome.means[c] for c in design.cells}
    means = ", ".join(f"{label} {value:g}" for label, value in cells.items())
    primary_names = _and(f"'{h}'" for h in primary.hypotheses)
    rows = [power_at_plan.row(h) for h in primary.hypotheses]
    effects = "; ".join(f"{r.hypothesis}: {r.effect:g} ({r.estimand})" for r in rows)
    sided = "two-sided" if design.sided == 2 else "one-sided"
    ancova = ""
    if outcome.n_covariates:  # a continuous outcome analysed by ANCOVA on baseline
        ancova = (
            f" The analysis adjusts for the baseline score (ANCOVA), assuming a "
            f"baseline-outcome correlation of {outcome.baseline_corr:g}, which reduces "
            f"the residual SD to {outcome.residual_sd:.2f}."
        )
    n_cell = primary.n_per_cell
    per_cell = (
        f"{n_cell} participants per cell"
        if isinstance(n_cell, int)
        else "per-cell sizes " + ", ".join(f"{design.cell_label(c)} {v}" for c, v in n_cell.items())
    )
    drop = design.dropout
    dropout_text = (
        f"an expected dropout of {drop:.0%}"
        if isinstance(drop, float)
        else "expected dropout of "
        + ", ".join(f"{design.cell_label(c)} {v:.0%}" for c, v in drop.items())
    )
    interaction = power_at_plan.row(_first_interaction(design)) if len(design.factors) > 1 else None
    interaction_text = ""
    if interaction is not None:
        assumed = (
            "no interaction (additive effects)"
            if interaction.effect == 0
            else (
                f"an interaction (difference of differences) of {interaction.effect:g} on the "
                f"{interaction.scale} scale"
            )
        )
        interaction_text = f" The planning values assume {assumed}."
    paragraph = (
        f"The trial is a {design._shape()} factorial randomizing {factors}. "
        f"The primary outcome is {outcome_label} at {timepoint}, analysed as a "
        f"{_scale_words(rows[0].scale)}. The sample size is set for {primary_names}: "
        f"{effects}. Planning cell means are {means}, with a common SD of "
        f"{outcome.sd:g}.{ancova}{interaction_text} With alpha = {design.alpha:g} ({sided}) "
        f"and a target power of {primary.target:.0%}, {per_cell} ({primary.n_total} in "
        f"total) are needed; the achieved power is "
        + ", ".join(f"{primary.powers[h]:.1%} for '{h}'" for h in primary.hypotheses)
        + f". Allowing for {dropout_text}, {primary.n_randomized} participants will be "
        f"randomized. Power was computed with trialplan {_version()} "
        f"({primary.method})."
    )
    extra = ""
    for result in secondary:
        names = _and(f"'{h}'" for h in result.hypotheses)
        n = result.n_per_cell
        per = f"{n} per cell" if isinstance(n, int) else f"{result.n_total} in total"
        extra += (
            f" For comparison, {result.target:.0%} power for {names} would need "
            f"{per} ({result.n_randomized} randomized)."
        )
    table = power_at_plan.to_frame()[["hypothesis", "effect", "se", "df", "power"]]
    lines = [
        f"## {title}",
        "",
        paragraph + extra,
        "",
        f"Power of each hypothesis at the planned size ({design.describe()}):",
        "",
        "| hypothesis | effect | SE | df | power |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {_cell(r.hypothesis)} | {r.effect:.3g} | {r.se:.3f} | {r.df:g} | {r.power:.3f} |"
        for r in table.itertuples()
    ]
    if sources:
        lines += ["", "Sources of the planning values:", ""] + [f"- {s}" for s in sources]
    return "\n".join(lines) + "\n"


def _and(items: object) -> str:
    words = list(items)  # type: ignore[call-overload]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _cell(text: str) -> str:
    """Escape a Markdown table cell (hypothesis names contain '|')."""
    return text.replace("|", "\\|")


def _first_interaction(design: object) -> str:
    return next(h for h in design.hypothesis_names if ":" in h and "|" not in h)  # type: ignore[attr-defined]


def _scale_words(scale: str) -> str:
    return {"mean difference": "difference in means"}.get(scale, scale)


def _version() -> str:
    return __version__
