"""Literature-based presets for rTMS x MBI trials in treatment-resistant depression.

Each preset returns a :class:`~trialplan.spec.Spec`: a design built from the
published clinical inputs below, the protocol wording, and ``sources`` lines
that tie every planning value to its citation (they are printed under
"Sources of the planning values" in the protocol).  Derived values (an effect
in HAM-D points from a standardized effect, a relative risk from two rates)
are computed here from the cited inputs, and the source lines are written
from the same numbers.

Clinical inputs (``REFERENCES.md``):

==========================================  ===================================
rTMS vs sham in TRD (Berlim et al. 2014)     response 29.3 % vs 10.4 %;
                                             remission 18.6 % vs 5.0 %
rTMS standardized effect (Kedzior 2015)      d = -0.54
HRSD-17 under rTMS (THREE-D, 2018)           23.5 -> 13.4; dropout 6-8 %
MBCT vs health enhancement in TRD            response 30.3 % vs 15.3 %;
(Eisendrath et al. 2016)                     remission 22.4 % vs 13.9 %
MBIs vs non-specific / active controls       d = 0.71 / about 0
(Goldberg et al. 2019)
endpoint SD on HAM-D                         about 7-8; baseline-endpoint
                                             rho .3-.5
attrition                                    5-10 % rTMS alone; 20-40 % with
                                             psychotherapy (41 % stopped
                                             concurrent MBCT, Cavallero et al.)
==========================================  ===================================

Examples
--------
>>> from trialplan import scenarios
>>> spec = scenarios.hamd_factorial()
>>> spec.design.outcome.means[("active", "control")]
-10.1
>>> scenarios.names()[:2]
('state_dependent_synergy', 'hamd_factorial')

Planning values are rounded as a protocol states them (HAM-D points to one
decimal, rates to three), so a spec written from a preset reads -5.8, not
-5.779999999999999.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from trialplan.adaptive.reestimation import SampleSizeReestimation
from trialplan.designs import Factorial, Parallel
from trialplan.labels import Labels
from trialplan.outcomes import Binary, Continuous
from trialplan.sequential import spending
from trialplan.sequential.design import GroupSequential
from trialplan.spec import RandomizationPlan, SensitivityGrid, Spec
from trialplan.synergy import StateDependent

__all__ = [
    "CITATIONS",
    "LABELS",
    "adaptive_synergy",
    "describe",
    "hamd_factorial",
    "names",
    "remission_factorial",
    "response_factorial",
    "spec",
    "state_dependent_synergy",
    "timing_parallel",
]

#: Full citations of the clinical inputs, keyed by a short name.
CITATIONS = {
    "berlim2014": "Berlim MT, van den Eynde F, Tovar-Perdomo S, Daskalakis ZJ. Response, "
    "remission and drop-out rates following high-frequency repetitive "
    "transcranial magnetic stimulation (rTMS) for treating major depression: a "
    "systematic review and meta-analysis. Psychol Med 2014;44:225-239.",
    "kedzior2015": "Kedzior KK et al. 2015: meta-analysis of sham-controlled rTMS trials in "
    "depression (standardized effect about -0.54).",
    "blumberger2018": "Blumberger DM, Vila-Rodriguez F, Thorpe KE, et al. Effectiveness of "
    "theta burst versus high-frequency repetitive transcranial magnetic "
    "stimulation in patients with depression (THREE-D): a randomised "
    "non-inferiority trial. Lancet 2018;391:1683-1692.",
    "eisendrath2016": "Eisendrath SJ, Gillung E, Delucchi KL, et al. A randomized controlled "
    "trial of mindfulness-based cognitive therapy for treatment-resistant "
    "depression. Psychother Psychosom 2016;85:99-110.",
    "goldberg2019": "Goldberg SB et al. 2019: meta-analysis of mindfulness-based interventions "
    "(about 0.71 against non-specific controls, about 0 against active "
    "controls).",
    "cavallero": "Cavallero F et al.: concurrent MBCT with rTMS (41% stopped the MBCT).",
    "chinn2000": "Chinn S. A simple method for converting an odds ratio to effect size for use "
    "in meta-analysis. Stat Med 2000;19:3127-3131.",
}

# ----------------------------------------------------------- cited inputs
RTMS_RESPONSE = (0.293, 0.104)  # active, sham (Berlim 2014)
RTMS_REMISSION = (0.186, 0.050)  # active, sham (Berlim 2014)
RTMS_D = -0.54  # standardized, HAM-D (Kedzior 2015)
HAMD_BASELINE, HAMD_RTMS_END = 23.5, 13.4  # THREE-D (Blumberger 2018)
MBCT_RESPONSE = (0.303, 0.153)  # MBCT, health enhancement (Eisendrath 2016)
MBCT_REMISSION = (0.224, 0.139)  # MBCT, health enhancement (Eisendrath 2016)
HAMD_SD = 8.0  # endpoint SD about 7-8
BASELINE_CORR = 0.4  # baseline-endpoint rho .3-.5
DROPOUT_RTMS = 0.07  # 6-8 % (THREE-D)
DROPOUT_WITH_MBI = 0.30  # 20-40 % with added psychotherapy
DROPOUT_CONCURRENT = 0.41  # stopped concurrent MBCT (Cavallero)

_FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
#: Display names of the 2x2's levels and hypotheses in the presets' protocols.
LABELS = Labels(
    levels={
        "rTMS": {"sham": "sham rTMS", "active": "active rTMS"},
        "MBI": {"control": "no MBI", "MBI": "MBI"},
    },
)


def _points(value: float) -> float:
    """A HAM-D value as a protocol states it: one decimal (-5.779999999999999 -> -5.8)."""
    return round(float(value), 1) + 0.0


def _rate(value: float) -> float:
    """A rate as a protocol states it: three decimals."""
    return round(float(value), 3) + 0.0


def _logit_d(p_treated: float, p_control: float) -> float:
    """Standardized mean difference from two response rates (Chinn 2000)."""
    odds_ratio = (p_treated / (1 - p_treated)) / (p_control / (1 - p_control))
    return math.log(odds_ratio) * math.sqrt(3) / math.pi


def _cells(values: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    return {
        cell: values[cell]
        for cell in (("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI"))
    }


def _per_cell_dropout() -> dict[tuple[str, str], float]:
    return {
        ("sham", "control"): DROPOUT_RTMS,
        ("active", "control"): DROPOUT_RTMS,
        ("sham", "MBI"): DROPOUT_WITH_MBI,
        ("active", "MBI"): DROPOUT_WITH_MBI,
    }


def hamd_factorial(
    *,
    interaction: float = 0.0,
    sd: float = HAMD_SD,
    baseline_corr: float = BASELINE_CORR,
    n_per_cell: int = 50,
    power: float = 0.9,
    primary: tuple[str, ...] | None = None,
) -> Spec:
    """2x2 rTMS x MBI trial on HAM-D-17 change at week 8 (continuous).

    Cell means are changes from baseline.  Active rTMS without MBI changes by
    the THREE-D course (23.5 -> 13.4); sham rTMS by that minus the
    standardized rTMS effect times the SD (Kedzior 2015); MBI adds the
    standardized effect implied by Eisendrath 2016's response rates through
    the logit conversion (Chinn 2000), times the SD; ``interaction`` is added
    to the combined cell (negative: synergy, since lower is better).

    Parameters
    ----------
    interaction : float, default 0.0
        Assumed difference of differences in HAM-D points (0: additive).
    sd : float, default 8.0
        Endpoint SD of HAM-D (typically 7-8).
    baseline_corr : float, default 0.4
        Baseline-endpoint correlation (typically .3-.5); ANCOVA.
    n_per_cell : int, default 50
        Starting size (the protocol solves for the target power).
    power : float, default 0.9
        Target power of ``primary``.
    primary : tuple of str, optional
        Hypotheses that set the sample size; by default both main effects
        (at the margins) when ``interaction`` is 0, else the interaction.

    Returns
    -------
    Spec

    Examples
    --------
    >>> hamd_factorial().primary
    ('rTMS', 'MBI')
    >>> s = hamd_factorial(interaction=-2.0)
    >>> s.primary
    ('rTMS:MBI',)
    >>> dict(s.design.outcome.means)
    ... # doctest: +NORMALIZE_WHITESPACE
    {('sham', 'control'): -5.8, ('active', 'control'): -10.1, ('sham', 'MBI'): -9.7,
     ('active', 'MBI'): -16.0}
    """
    rtms_points = _points(RTMS_D * sd)
    mbi_d = _logit_d(*MBCT_RESPONSE)
    mbi_points = _points(-mbi_d * sd)
    active_change = _points(HAMD_RTMS_END - HAMD_BASELINE)
    sham_change = _points(active_change - rtms_points)
    means = _cells(
        {
            ("sham", "control"): sham_change,
            ("active", "control"): active_change,
            ("sham", "MBI"): _points(sham_change + mbi_points),
            ("active", "MBI"): _points(active_change + mbi_points + interaction),
        }
    )
    design = Factorial(
        factors=_FACTORS,
        outcome=Continuous(means=means, sd=sd, baseline_corr=baseline_corr, better="lower"),
        n_per_cell=n_per_cell,
        alpha=0.05,
        dropout=_per_cell_dropout(),
    )
    sources = (
        f"Active rTMS without MBI: HAM-D-17 from {HAMD_BASELINE:g} to {HAMD_RTMS_END:g}, a "
        f"change of {active_change:.1f} points ({CITATIONS['blumberger2018']})",
        f"rTMS vs sham: standardized effect {RTMS_D:g}, i.e. {rtms_points:g} points at SD "
        f"{sd:g} ({CITATIONS['kedzior2015']})",
        f"MBI vs control: response {MBCT_RESPONSE[0]:.1%} vs {MBCT_RESPONSE[1]:.1%} "
        f"({CITATIONS['eisendrath2016']}), a standardized effect of {mbi_d:.2f} by the logit "
        f"conversion ({CITATIONS['chinn2000']}), i.e. {mbi_points:g} points; against "
        f"active controls MBIs may add little ({CITATIONS['goldberg2019']})",
        f"Endpoint SD {sd:g} and baseline-endpoint correlation {baseline_corr:g}: typical of "
        "rTMS trials (HAM-D endpoint SD about 7-8, correlation .3-.5)",
        f"Dropout {DROPOUT_RTMS:.0%} without MBI ({CITATIONS['blumberger2018']}) and "
        f"{DROPOUT_WITH_MBI:.0%} with MBI (20-40% with added psychotherapy; "
        f"{CITATIONS['cavallero']})",
        f"Assumed interaction (difference of differences): {interaction:g} points",
    )
    return Spec(
        design=design,
        title="rTMS x MBI factorial trial in treatment-resistant "
        "depression: sample size and analysis plan",
        outcome_label="the change in HAM-D-17 from baseline",
        timepoint="week 8",
        sources=sources,
        power=power,
        primary=primary or (("rTMS", "MBI") if interaction == 0 else ("rTMS:MBI",)),
        randomization=RandomizationPlan(
            block_sizes=(4, 8), strata={"site": ("site 1", "site 2")}, seed=2026
        ),
        sensitivity=SensitivityGrid(
            sd=(7.0, sd, 9.0) if sd not in (7.0, 9.0) else (7.0, 8.0, 9.0),
            effect_scale=(0.75, 1.0, 1.25),
        ),
        labels=LABELS,
        scenario="hamd_factorial",
    )


def state_dependent_synergy(
    *,
    state_slope: float = -2.0,
    mbi_state_shift: float = 1.5,
    sd: float = HAMD_SD,
    baseline_corr: float = BASELINE_CORR,
    n_per_cell: int = 50,
    power: float = 0.9,
) -> Spec:
    """2x2 rTMS x MBI trial sized for synergy: the state-dependent model (continuous).

    The starting spec of ``trialplan init``.  Under the state-dependent
    synergy hypothesis (Silvanto et al. 2008; ``tp.synergy.StateDependent``)
    the effect of rTMS grows by ``state_slope`` HAM-D points per SD of the
    brain state at stimulation, and MBI shifts that state by
    ``mbi_state_shift`` SD, so the combination gains ``state_slope *
    mbi_state_shift`` points beyond the sum of the monotherapies: the
    interaction the trial is sized to detect (primary hypothesis
    ``"rTMS:MBI"``).  The monotherapy effects are :func:`hamd_factorial`'s
    literature values (THREE-D course, Kedzior's rTMS effect, Eisendrath's
    MBCT response rates via Chinn's conversion), rounded to 0.1 point; the
    slope and the shift are assumptions the trial tests.

    Parameters
    ----------
    state_slope : float, default -2.0
        Change in the rTMS effect per SD of brain state (HAM-D points).
    mbi_state_shift : float, default 1.5
        Shift of the state produced by MBI (SD units).
    sd : float, default 8.0
        Endpoint SD of HAM-D.
    baseline_corr : float, default 0.4
        Baseline-endpoint correlation (ANCOVA).
    n_per_cell : int, default 50
        Starting size (the plan solves for the target power).
    power : float, default 0.9
        Target power of the interaction.

    Returns
    -------
    Spec

    Examples
    --------
    >>> s = state_dependent_synergy()
    >>> s.primary, dict(s.design.outcome.means)   # doctest: +NORMALIZE_WHITESPACE
    (('rTMS:MBI',), {('sham', 'control'): -5.8, ('active', 'control'): -10.1,
     ('sham', 'MBI'): -9.7, ('active', 'MBI'): -17.0})
    """
    rtms_points = _points(RTMS_D * sd)
    mbi_points = _points(-_logit_d(*MBCT_RESPONSE) * sd)
    active_change = _points(HAMD_RTMS_END - HAMD_BASELINE)
    sham_change = _points(active_change - rtms_points)
    model = StateDependent(
        rtms_effect=rtms_points,
        state_slope=state_slope,
        mbi_state_shift=mbi_state_shift,
        mbi_effect=mbi_points,
        control=sham_change,
    )
    means = _cells({cell: _points(v) for cell, v in model.cell_means(_FACTORS).items()})
    interaction = _points(model.interaction)
    base = hamd_factorial(interaction=interaction, sd=sd, baseline_corr=baseline_corr)
    design = base.design.replace(
        outcome=base.design.outcome.replace(means=means), n_per_cell=n_per_cell
    )
    sources = base.sources[:-1] + (
        f"Synergy: the state-dependent model (Silvanto et al. 2008, Trends Cogn Sci 12:447-454): "
        f"the rTMS effect changes by {state_slope:g} points per SD of brain state and MBI "
        f"shifts the state by {mbi_state_shift:g} SD, an interaction (difference of "
        f"differences) of {interaction:g} points; an assumption the trial is designed to test",
    )
    return base.replace(
        design=design,
        title="rTMS x MBI factorial trial in treatment-resistant depression: is the "
        "combination synergistic?",
        sources=sources,
        primary=("rTMS:MBI",),
        power=power,
        labels=LABELS,
        scenario="state_dependent_synergy",
    )


def _binary_factorial(
    name: str,
    rtms: tuple[float, float],
    mbi: tuple[float, float],
    rtms_label: str,
    synergy: str,
    scale: str,
    n_per_cell: int,
    power: float,
    primary: str,
) -> Spec:
    if synergy not in ("multiplicative", "additive"):
        raise ValueError(
            f"synergy must be 'multiplicative' (no interaction on the risk-ratio "
            f"scale) or 'additive' (none on the risk-difference scale); got "
            f"synergy={synergy!r}"
        )
    active, sham = rtms
    mbi_treated, mbi_control = mbi
    # The ratio and the difference are rounded as a protocol states them; the rates then
    # follow exactly (to 6 decimals), so "no interaction" on the chosen scale stays exact.
    risk_ratio = round(mbi_treated / mbi_control, 3)
    risk_difference = round(mbi_treated - mbi_control, 3)
    if synergy == "multiplicative":
        with_mbi = {"sham": round(sham * risk_ratio, 6), "active": round(active * risk_ratio, 6)}
        rule = f"MBI multiplies the rate by {risk_ratio:g} (no interaction on the risk-ratio scale)"
    else:
        with_mbi = {
            "sham": round(sham + risk_difference, 6),
            "active": round(active + risk_difference, 6),
        }
        rule = (
            f"MBI adds {risk_difference:g} to the rate (no interaction on the "
            "risk-difference scale)"
        )
    rates = _cells(
        {
            ("sham", "control"): sham,
            ("active", "control"): active,
            ("sham", "MBI"): with_mbi["sham"],
            ("active", "MBI"): with_mbi["active"],
        }
    )
    design = Factorial(
        factors=_FACTORS,
        outcome=Binary(rates=rates, scale=scale),
        n_per_cell=n_per_cell,
        alpha=0.05,
        dropout=_per_cell_dropout(),
    )
    sources = (
        f"rTMS vs sham {rtms_label}: {active:.1%} vs {sham:.1%} ({CITATIONS['berlim2014']})",
        f"MBCT vs health enhancement {rtms_label}: {mbi_treated:.1%} vs {mbi_control:.1%} "
        f"({CITATIONS['eisendrath2016']}); {rule}",
        f"Dropout {DROPOUT_RTMS:.0%} without MBI ({CITATIONS['blumberger2018']}) and "
        f"{DROPOUT_WITH_MBI:.0%} with MBI ({CITATIONS['cavallero']})",
    )
    return Spec(
        design=design,
        title=f"rTMS x MBI factorial trial in treatment-resistant "
        f"depression: {rtms_label} at week 8",
        outcome_label=rtms_label,
        timepoint="week 8",
        sources=sources,
        primary=(primary,),
        power=power,
        randomization=RandomizationPlan(block_sizes=(4, 8), seed=2026),
        sensitivity=SensitivityGrid(dropout=(0.1, 0.2, 0.3), effect_scale=(0.75, 1.0, 1.25)),
        labels=LABELS,
        scenario=name,
    )


def remission_factorial(
    *,
    synergy: str = "multiplicative",
    scale: str = "risk_difference",
    n_per_cell: int = 100,
    power: float = 0.8,
    primary: str = "rTMS",
) -> Spec:
    """2x2 rTMS x MBI trial on remission (binary), rates from Berlim 2014 and Eisendrath 2016.

    Parameters
    ----------
    synergy : {"multiplicative", "additive"}, default "multiplicative"
        How MBI combines with rTMS: the same risk ratio in both rTMS arms
        (no interaction on the risk-ratio scale, hence one on the
        risk-difference scale) or the same risk difference.
    scale : {"risk_difference", "log_odds", "log_risk"}, default "risk_difference"
        Analysis scale (see ``tp.Binary``).
    n_per_cell : int, default 100
        Starting size.
    power : float, default 0.8
        Target power of ``primary``.
    primary : str, default "rTMS"
        Hypothesis that sets the sample size.

    Returns
    -------
    Spec

    Examples
    --------
    >>> s = remission_factorial(synergy="additive")
    >>> {k: round(v, 3) for k, v in s.design.outcome.rates.items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {('sham', 'control'): 0.05, ('active', 'control'): 0.186, ('sham', 'MBI'): 0.135,
     ('active', 'MBI'): 0.271}
    """
    return _binary_factorial(
        "remission_factorial",
        RTMS_REMISSION,
        MBCT_REMISSION,
        "remission",
        synergy,
        scale,
        n_per_cell,
        power,
        primary,
    )


def response_factorial(
    *,
    synergy: str = "multiplicative",
    scale: str = "risk_difference",
    n_per_cell: int = 100,
    power: float = 0.8,
    primary: str = "rTMS",
) -> Spec:
    """2x2 rTMS x MBI trial on response (binary); see :func:`remission_factorial`.

    Parameters
    ----------
    synergy : {"multiplicative", "additive"}, default "multiplicative"
        How MBI combines with rTMS (see :func:`remission_factorial`).
    scale : {"risk_difference", "log_odds", "log_risk"}, default "risk_difference"
        Analysis scale (see ``tp.Binary``).
    n_per_cell : int, default 100
        Starting size.
    power : float, default 0.8
        Target power of ``primary``.
    primary : str, default "rTMS"
        Hypothesis that sets the sample size.

    Returns
    -------
    Spec

    Examples
    --------
    >>> s = response_factorial()
    >>> round(s.design.outcome.rates[("active", "MBI")], 3)
    0.58
    """
    return _binary_factorial(
        "response_factorial",
        RTMS_RESPONSE,
        MBCT_RESPONSE,
        "response",
        synergy,
        scale,
        n_per_cell,
        power,
        primary,
    )


def adaptive_synergy(
    *,
    info_fraction: float = 0.6,
    conditional_power: float = 0.9,
    max_factor: float = 2.0,
    power: float = 0.8,
    n_sims: int = 20_000,
) -> Spec:
    """2x2 rTMS x MBI trial that re-estimates its size at an interim for the uncertain synergy.

    The trial of :func:`state_dependent_synergy` (interaction -3 HAM-D
    points, tested one-sided at 2.5%), planned for ``power`` of its
    group-sequential test with one interim analysis when ``info_fraction``
    of the information on the interaction is in: O'Brien-Fleming-type
    efficacy bounds and a non-binding futility bound from
    O'Brien-Fleming-type beta spending.  Because the size of the synergy is
    a guess, the interim also re-estimates the second stage: the size that
    gives ``conditional_power`` at the interaction observed so far (rpact's
    rule), between 1 and ``max_factor`` times the planned second stage; the
    inverse normal combination test with the planned weights (Cui, Hung &
    Wang 1999) keeps the type I error at 2.5%.  The operating
    characteristics are simulated with ``n_sims`` trials.

    Parameters
    ----------
    info_fraction : float, default 0.6
        Information fraction of the interim analysis.
    conditional_power : float, default 0.9
        Target conditional power of the re-estimation rule.
    max_factor : float, default 2.0
        Largest second stage, in multiples of the planned one.
    power : float, default 0.8
        Target power of the group-sequential test at the planning values
        (the planned sizes); the re-estimation adds to it.
    n_sims : int, default 20000
        Simulated trials (Monte Carlo standard error of a power near 90%:
        0.2 percentage points).

    Returns
    -------
    Spec

    Examples
    --------
    >>> s = adaptive_synergy()
    >>> s.adaptive.max_factor, s.sequential.info_fractions, s.design.sided
    (2.0, (0.6, 1.0), 1)
    """
    base = state_dependent_synergy(power=power)
    gsd = GroupSequential(
        info_fractions=(info_fraction, 1.0),
        alpha=0.025,
        sided=1,
        efficacy=spending.obrien_fleming(),
        futility=spending.obrien_fleming(),
        beta=round(1.0 - power, 10),
        binding=False,
    )
    rule = SampleSizeReestimation(
        conditional_power=conditional_power,
        effect="observed",
        min_factor=1.0,
        max_factor=max_factor,
    )
    return base.replace(
        design=base.design.replace(alpha=0.025, sided=1),
        title="Adaptive rTMS x MBI factorial trial: re-estimating the sample size for an "
        "uncertain synergy",
        hypotheses=("rTMS", "MBI", "rTMS:MBI"),
        sequential=gsd,
        adaptive=rule,
        n_sims=n_sims,
        scenario="adaptive_synergy",
    )


def timing_parallel(*, sd: float = HAMD_SD, n_per_arm: int = 60, power: float = 0.8) -> Spec:
    """Three arms on HAM-D change: rTMS alone, MBI then rTMS, rTMS with concurrent MBI.

    Both MBI arms are planned with the MBI effect of :func:`hamd_factorial`;
    the concurrent arm carries the higher attrition reported for concurrent
    MBCT (Cavallero et al.), so the trial asks whether sequencing keeps the
    benefit while losing fewer participants.

    Parameters
    ----------
    sd : float, default 8.0
        Endpoint SD of HAM-D.
    n_per_arm : int, default 60
        Starting size per arm.
    power : float, default 0.8
        Target power of the sequential-MBI comparison.

    Returns
    -------
    Spec

    Examples
    --------
    >>> s = timing_parallel()
    >>> s.design.arms
    ('rTMS alone', 'MBI then rTMS', 'rTMS with concurrent MBI')
    """
    arms = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")
    active_change = HAMD_RTMS_END - HAMD_BASELINE
    mbi_points = _points(-_logit_d(*MBCT_RESPONSE) * sd)
    active_change = _points(active_change)
    means = {
        arms[0]: active_change,
        arms[1]: _points(active_change + mbi_points),
        arms[2]: _points(active_change + mbi_points),
    }
    design = Parallel(
        arms=arms,
        outcome=Continuous(means=means, sd=sd, better="lower"),
        n_per_arm=n_per_arm,
        control=arms[0],
        alpha=0.05,
        dropout={arms[0]: DROPOUT_RTMS, arms[1]: DROPOUT_WITH_MBI, arms[2]: DROPOUT_CONCURRENT},
    )
    sources = (
        f"rTMS alone: HAM-D-17 change {active_change:.1f} ({CITATIONS['blumberger2018']})",
        f"Added MBI: {mbi_points:g} points from the response rates of "
        f"{CITATIONS['eisendrath2016']} via {CITATIONS['chinn2000']}",
        f"Dropout {DROPOUT_RTMS:.0%} (rTMS alone), {DROPOUT_WITH_MBI:.0%} (MBI then rTMS), "
        f"{DROPOUT_CONCURRENT:.0%} (concurrent; {CITATIONS['cavallero']})",
    )
    return Spec(
        design=design,
        title="Timing of MBI with rTMS in treatment-resistant depression: three-arm trial",
        outcome_label="the change in HAM-D-17 from baseline",
        timepoint="week 8",
        sources=sources,
        primary=(f"{arms[1]} vs {arms[0]}",),
        power=power,
        sensitivity=SensitivityGrid(sd=(7.0, 8.0, 9.0)),
        scenario="timing_parallel",
    )


_PRESETS: dict[str, Callable[..., Spec]] = {
    "state_dependent_synergy": state_dependent_synergy,
    "hamd_factorial": hamd_factorial,
    "remission_factorial": remission_factorial,
    "response_factorial": response_factorial,
    "timing_parallel": timing_parallel,
    "adaptive_synergy": adaptive_synergy,
}


def names() -> tuple[str, ...]:
    """Names of the presets.

    Examples
    --------
    >>> "timing_parallel" in names()
    True
    """
    return tuple(_PRESETS)


def describe(name: str) -> str:
    """First line of a preset's docstring.

    Parameters
    ----------
    name : str
        A preset name (see :func:`names`).

    Returns
    -------
    str

    Examples
    --------
    >>> describe("hamd_factorial")
    '2x2 rTMS x MBI trial on HAM-D-17 change at week 8 (continuous).'
    """
    return (_preset(name).__doc__ or "").strip().splitlines()[0]


def spec(name: str, **options: Any) -> Spec:
    """Build the preset called ``name`` with keyword ``options``.

    Parameters
    ----------
    name : str
        A preset name (see :func:`names`).
    **options
        Keyword arguments of that preset's function.

    Returns
    -------
    Spec

    Raises
    ------
    ValueError
        For an unknown name (the closest is suggested).

    Examples
    --------
    >>> spec("hamd_factorial", interaction=-3.0).scenario
    'hamd_factorial'
    """
    return _preset(name)(**options)


def _preset(name: str) -> Callable[..., Spec]:
    from trialplan._validation import did_you_mean

    if name not in _PRESETS:
        raise ValueError(
            f"scenario={name!r} is not a preset; choose one of {names()}"
            + did_you_mean(name, _PRESETS)
        )
    return _PRESETS[name]
