"""The adaptive-design paragraph of a protocol (CONSORT ACE 2020, SPIRIT 2013 item 14).

:func:`protocol_paragraph` turns the result of an adaptive design's
simulation (``design.power(sequential=..., adaptive=..., method="simulation")``)
into words: what is adapted, when, by which pre-specified rule, how the type
I error is kept, the bounds, the simulated operating characteristics and how
the final analysis estimates the effect.  Numbers follow the protocol's
format: power and error rates in percent with one decimal, z bounds with
three decimals, participants as whole numbers.

The items are those of the Adaptive designs CONSORT Extension (Dimairo et
al. 2020): 3b (type of adaptation, pre-planned), 7b (interim analyses,
decision rules and their timing), 12a (methods controlling the type I error),
12b (estimation and confidence intervals adjusted for the adaptation) and
the simulation that supports the operating characteristics.

References
----------
.. [1] Dimairo M, Pallmann P, Wason J, et al. The Adaptive designs CONSORT
   Extension (ACE) statement: a checklist with explanation and elaboration
   guideline for reporting randomised trials that use an adaptive design.
   BMJ 2020;369:m115.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from trialplan.adaptive.combination import FisherCombination
from trialplan.adaptive.reestimation import SampleSizeReestimation
from trialplan.adaptive.results import AdaptivePowerResult
from trialplan.adaptive.selection import ArmSelection

__all__ = ["protocol_paragraph"]


def _version() -> str:
    try:
        return version("trialplan")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "(development version)"


def _pct(p: float) -> str:
    return f"{100.0 * p:.1f}%"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _looks(fractions: Any) -> str:
    interims = [f"{100 * t:.0f}%" for t in fractions[:-1]]
    count = len(interims)
    if count == 1:
        return f"one interim analysis, when {interims[0]} of the planned information is available"
    return (
        f"{count} interim analyses, when {_join(interims)} of the planned information are available"
    )


def _test_sentence(sequential: Any) -> str:
    if isinstance(sequential, FisherCombination):
        crit = ", ".join(f"{c:.4g}" for c in sequential.critical_values)
        text = (
            "Each stage is analysed on its own data and the stage-wise one-sided p-values are "
            "combined by Fisher's weighted product test (Bauer & Koehne 1994) with weights fixed "
            "in advance from the planned information; H0 is rejected at stage k when the "
            f"weighted product reaches the critical value ({crit} at the successive stages)"
        )
        if any(a < 1 for a in sequential.alpha0):
            text += (
                f"; the trial stops for futility when a stage's p-value is at least "
                f"{', '.join(f'{a:g}' for a in sequential.alpha0)}"
            )
        return text + "."
    bounds = ", ".join("none" if b == float("inf") else f"{b:.3f}" for b in sequential.efficacy_z)
    text = (
        "Each stage is analysed on its own data and the stage-wise z statistics are combined by "
        "the inverse normal method with weights fixed in advance from the planned information "
        "fractions (Lehmacher & Wassmer 1999; Cui, Hung & Wang 1999); the combination statistic "
        f"is compared with the group-sequential efficacy bounds ({bounds} on the z scale, "
        f"{sequential.efficacy.label} alpha spending)"
    )
    if sequential.futility_z is not None:
        fut = ", ".join(f"{b:.3f}" for b in sequential.futility_z[:-1])
        text += (
            f", with {'binding' if sequential.binding else 'non-binding'} futility bounds ({fut})"
        )
    return text + "."


def protocol_paragraph(
    result: AdaptivePowerResult,
    *,
    labels: Mapping[str, str] | None = None,
    software: str | None = "trialplan",
) -> str:
    """The adaptive-design paragraph of a protocol, from a simulated adaptive design.

    Parameters
    ----------
    result : AdaptivePowerResult
        ``design.power(sequential=..., adaptive=..., method="simulation", ...)``.
    labels : mapping of str to str, optional
        Display names of hypotheses, e.g. ``{"rTMS:MBI": "the rTMS x MBI
        interaction"}``.
    software : str or None, default "trialplan"
        Name the software (with its version) in the last sentence; ``None``
        leaves the sentence out.

    Returns
    -------
    str
        One paragraph (plain text, a few sentences).

    Raises
    ------
    TypeError
        If ``result`` is not an adaptive design's result.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.adaptive.text import protocol_paragraph
    >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60,
    ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0},
    ...                                       sd=8.0))
    >>> res = d.power(sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)),
    ...               adaptive=tp.SampleSizeReestimation(), method="simulation",
    ...               n_sims=2000, seed=1)
    >>> text = protocol_paragraph(res, software=None)
    >>> print(text.split(". ")[0])  # doctest: +NORMALIZE_WHITESPACE
    The trial has an adaptive design with one interim analysis, when 50% of the planned
    information is available
    """
    if not isinstance(result, AdaptivePowerResult):
        raise TypeError(
            "protocol_paragraph takes the result of design.power(sequential=..., adaptive=..., "
            f"method='simulation'); got {type(result).__name__}"
        )
    rule = result.extras.get("adaptive")
    sequential = result.extras.get("sequential")
    labels = dict(labels or {})
    names = list(result)
    shown = [labels.get(n, n) for n in names]
    parts = [f"The trial has an adaptive design with {_looks(sequential.info_fractions)}."]
    if isinstance(rule, SampleSizeReestimation):
        what = shown[0]
        parts.append(
            f"The adaptation is pre-specified: the sample size of the stages that follow an "
            f"interim is re-estimated for the test of {what}. "
            f"{rule.describe(result.extras.get('statistic'))}"
        )
        parts.append(_test_sentence(sequential))
        parts.append(
            "Because the weights and bounds are fixed before the trial and each stage's "
            "statistic uses only that stage's participants, the one-sided type I error stays at "
            f"{sequential.alpha:g} whatever sizes the interims choose; a naive analysis pooling "
            "all participants would not keep it."
        )
        power = result[names[0]]
        size = result.type_i_error[names[0]]
        parts.append(
            f"In {result.n_sims:,} simulated trials at the planning values the power for "
            f"{what} is {_pct(power)} (Monte Carlo standard error "
            f"{100 * result.mcse[names[0]]:.1f} percentage points) and, with no effect, the "
            f"type I error is {_pct(size)}; the expected number of participants analysed is "
            f"{result.expected_n:.0f} (planned {result.planned_n:.0f}, at most "
            f"{result.max_n:.0f})"
            + (
                f" and the expected number of events {result.extras['expected_units']:.0f}"
                if result.extras.get("unit") == "events"
                else ""
            )
            + "."
        )
    elif isinstance(rule, ArmSelection):
        parts.append(f"The adaptation is pre-specified. {rule.describe()}")
        parts.append(_test_sentence(sequential))
        parts.append(
            "Closed testing with pre-specified combination weights keeps the familywise error "
            f"rate at {sequential.alpha:g} (one-sided, strong control) whatever arms are "
            "selected."
        )
        powers = _join([f"{s} {_pct(result[n])}" for s, n in zip(shown, names, strict=True)])
        parts.append(
            f"In {result.n_sims:,} simulated trials at the planning values the probability of "
            f"rejecting each comparison is: {powers}; the probability of rejecting at least one "
            f"is {_pct(result.any)}. Under the global null hypothesis the familywise error rate "
            f"is {_pct(result.extras['fwer_global_null'])}; the expected number of participants "
            f"analysed is {result.expected_n:.0f} (at most {result.max_n:.0f})."
        )
    else:
        raise TypeError("the result does not record its adaptive rule (extras['adaptive'])")
    parts.append(
        "At the final analysis the effect is estimated with repeated confidence intervals, the "
        "p-value and confidence interval of the stage-wise ordering and the median-unbiased "
        "estimate (Wassmer & Brannath 2016), which account for the interim decisions. The "
        "interim analyses are performed by an independent statistician for the data monitoring "
        "committee; the adaptation rule is fixed in this protocol and its statistical analysis "
        "plan before the first interim."
    )
    if software:
        parts.append(
            f"Operating characteristics were simulated with {software} {_version()} "
            f"(seed {result.seed!r})."
        )
    return " ".join(parts)
