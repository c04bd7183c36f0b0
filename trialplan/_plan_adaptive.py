"""How a plan resolves an adaptive design: checks, stage sizes, the largest trial, its tables.

A plan with ``adaptive=tp.SampleSizeReestimation(...)`` keeps the planned
sizes of its group-sequential design (solved for the target power at the
planning effect, or as stated) and lets the interim set the size of the stages
that follow.  Here, with the same conventions as the simulation engine
(:mod:`trialplan.adaptive`):

* the cumulative participants analysed per cell at look k are
  ``ceil(t_k * A_j)`` at the planned fractions ``t_k`` (``A_j`` the plan's
  expected analysed count of cell j), so the planned stages add up to ``A_j``;
* the rule may scale each later stage by ``min_factor`` to ``max_factor``, so
  the cumulative fraction at look k lies between ``t_1 + min_factor (t_k -
  t_1)`` and ``t_1 + max_factor (t_k - t_1)``, rounded up per cell the same
  way;
* the randomization list must hold the largest trial: the maximum analysed
  counts are turned into randomized counts by the plan's allocation rule
  (whole allocation cycles, dropout allowed for, whole blocks;
  :func:`trialplan.allocation.allocate`).

The simulation itself (power, type I error, expected and maximum N, the
distribution of the final N, with Monte Carlo standard errors) is run once,
at the plan, with the plan's ``n_sims`` and ``seed``; the tables below are
read from that one result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialplan._plan_analysis import is_regime_design
from trialplan.allocation import Allocation, RandomizationPlan, allocate

__all__ = [
    "check_adaptive",
    "cumulative_sizes",
    "final_n_frame",
    "maximum_allocation",
    "operating_characteristics",
    "stage_fractions",
]


def _tagged(exc: ValueError | TypeError, setting: str) -> ValueError | TypeError:
    exc.setting = setting  # type: ignore[attr-defined]
    return exc


def check_adaptive(
    design: Any,
    adaptive: Any,
    *,
    sequential: Any,
    multiplicity: Any,
    primary: Sequence[str],
) -> None:
    """Refuse an adaptive setting the plan cannot resolve, naming the setting.

    Errors carry ``exc.setting`` (the spec key the problem belongs to).
    """
    if adaptive is None:
        return
    from trialplan.adaptive import ArmSelection, SampleSizeReestimation
    from trialplan.sequential import GroupSequential

    if isinstance(adaptive, ArmSelection):  # checked by trialplan._plan_selection
        return
    if not isinstance(adaptive, SampleSizeReestimation):
        raise _tagged(
            TypeError(
                "adaptive must be a tp.SampleSizeReestimation(...) "
                '(type = "sample_size_reestimation") or an ArmSelection(...) '
                f'(type = "arm_selection"); got adaptive={adaptive!r}'
            ),
            "adaptive",
        )
    if is_regime_design(design):
        raise _tagged(
            TypeError(
                "adaptive= re-estimates the size of a design of randomized cells (tp.Factorial, "
                "tp.Parallel); a SMART cannot be re-estimated by the plan"
            ),
            "adaptive",
        )
    if sequential is None:
        raise _tagged(
            ValueError(
                "adaptive= needs sequential=, the looks and bounds of its inverse normal "
                "combination test: give a tp.GroupSequential(sided=1, ...) "
                "([analysis.sequential] in a spec)"
            ),
            "adaptive",
        )
    if not isinstance(sequential, GroupSequential):
        raise _tagged(
            TypeError(
                "an adaptive plan is tested by the inverse normal combination test on a "
                "tp.GroupSequential design's bounds; got sequential="
                f"{type(sequential).__name__} (Fisher's combination test is available through "
                "design.power(sequential=FisherCombination(...), adaptive=...))"
            ),
            "sequential",
        )
    if sequential.sided != 1:
        raise _tagged(
            ValueError(
                "the combination test of an adaptive design is one-sided (it rejects in the "
                f"favourable direction); give sided=1 and alpha={sequential.alpha / 2:g} "
                f"(the per-tail level); got sided={sequential.sided}"
            ),
            "sequential",
        )
    if multiplicity is not None:
        raise _tagged(
            ValueError(
                "adaptive= and multiplicity= cannot be combined in a plan: the re-estimated "
                "test is one primary hypothesis at the full level; leave multiplicity out"
            ),
            "adaptive",
        )
    if len(primary) != 1:
        raise _tagged(
            ValueError(
                "adaptive= re-estimates the size for one primary hypothesis; got primary="
                f"{list(primary)}: name one"
            ),
            "primary",
        )
    if adaptive.hypothesis is not None and adaptive.hypothesis != primary[0]:
        raise _tagged(
            ValueError(
                f"hypothesis={adaptive.hypothesis!r} must be the plan's primary hypothesis "
                f"{primary[0]!r} (or left out)"
            ),
            "adaptive.hypothesis",
        )
    outcome = type(design.outcome if design.design_kind != "smart" else None).__name__
    if outcome not in ("Continuous", "Binary"):
        raise _tagged(
            ValueError(
                "an adaptive plan re-estimates participants per cell for a Continuous or Binary "
                f"outcome; this design has a {outcome} outcome (a time-to-event design "
                "re-estimates events, which design.power(sequential=..., adaptive=..., "
                "method='simulation') simulates but a plan does not word yet)"
            ),
            "adaptive",
        )
    if adaptive.sd != "planned" and (
        outcome != "Continuous" or design.outcome.n_covariates != 0  # ANCOVA on baseline
    ):
        raise _tagged(
            ValueError(
                f"sd={adaptive.sd!r} (blinded re-estimation of the SD) needs a Continuous outcome "
                f"analysed without a baseline covariate; this design has a {outcome} outcome"
                + (
                    f" with baseline_corr={design.outcome.baseline_corr:g}"
                    if outcome == "Continuous"
                    else ""
                )
                + ": use sd='planned'"
            ),
            "adaptive.sd",
        )
    if not adaptive.round_up and outcome != "Continuous":
        raise _tagged(
            ValueError(
                "round_up=False (real-valued stage sizes) is available for a Continuous outcome "
                f"only; this design has a {outcome} outcome: use round_up=true"
            ),
            "adaptive.round_up",
        )
    if getattr(design, "clusters", None) is not None:
        raise _tagged(
            ValueError(
                "adaptive= does not model therapy groups (clusters=) yet; leave clusters out "
                "or the adaptation"
            ),
            "adaptive",
        )


# ----------------------------------------------------------------- stage sizes
def stage_fractions(info_fractions: Sequence[float], factor: float) -> np.ndarray:
    """Cumulative fractions of the planned total at each look when every later stage is scaled.

    The engine's arithmetic: stage fractions ``diff(t)``, the later ones times
    ``factor``, summed.

    Examples
    --------
    >>> stage_fractions((0.6, 1.0), 2.0).round(12).tolist()
    [0.6, 1.4]
    """
    t = np.asarray(info_fractions, dtype=float)
    stages = np.diff(t, prepend=0.0)
    stages = np.concatenate([stages[:1], factor * stages[1:]])
    return np.cumsum(stages)


def cumulative_sizes(analysed: Sequence[int], fractions: Sequence[float]) -> np.ndarray:
    """Cumulative participants per cell at each look, rounded up: shape ``(looks, cells)``.

    Examples
    --------
    >>> cumulative_sizes([337, 254], [0.6, 1.0]).tolist()
    [[203, 153], [337, 254]]
    """
    a = np.asarray(analysed, dtype=float)
    f = np.asarray(fractions, dtype=float)
    return np.ceil(f[:, None] * a[None, :] - 1e-9).astype(int)


def stages_frame(plan: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.stages`."""
    gsd, rule = plan.sequential, plan.adaptive
    analysed = plan.allocation.analysed
    t = gsd.info_fractions
    planned = cumulative_sizes(analysed, stage_fractions(t, 1.0))
    low = cumulative_sizes(analysed, stage_fractions(t, rule.min_factor))
    high = cumulative_sizes(analysed, stage_fractions(t, rule.max_factor))
    rows = []
    labels = plan.cell_labels()
    for k in range(len(t)):
        for j, (cell, label) in enumerate(zip(plan.allocation.cells, labels, strict=True)):
            rows.append(
                {
                    "look": k + 1,
                    "info_fraction": float(t[k]),
                    "cell": cell,
                    "label": label,
                    "planned": int(planned[k, j]),
                    "minimum": int(low[k, j]),
                    "maximum": int(high[k, j]),
                }
            )
    return pd.DataFrame(rows)


def maximum_allocation(
    allocation: Allocation,
    info_fractions: Sequence[float],
    rule: Any,
    settings: RandomizationPlan,
) -> Allocation:
    """The randomized counts (whole blocks) that hold the largest trial the rule allows."""
    largest = cumulative_sizes(
        allocation.analysed, stage_fractions(info_fractions, rule.max_factor)
    )[-1]
    required = tuple(max(int(m), int(a)) for m, a in zip(largest, allocation.analysed, strict=True))
    return allocate(
        cells=allocation.cells,
        ratios=allocation.ratios,
        required=required,
        dropout=allocation.dropout,
        block_sizes=allocation.block_sizes,
        n_randomized=settings.n,
    )


# ---------------------------------------------------------------------- tables
def _quantile(values: np.ndarray, probs: np.ndarray, p: float) -> float:
    cum = np.cumsum(probs)
    i = int(np.searchsorted(cum, p - 1e-12))
    return float(values[min(i, values.size - 1)])


def final_n_frame(result: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.final_n`."""
    dist = result.n_distribution
    return pd.DataFrame(
        {
            "n_analysed": dist["n"].to_numpy(dtype=float).round().astype(int),
            "probability": dist["probability"].to_numpy(dtype=float),
            "probability_h0": dist["probability_h0"].to_numpy(dtype=float),
        }
    )


def operating_characteristics(plan: Any, result: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.operating_characteristics`."""
    name = plan.primary[0]
    dist = final_n_frame(result)
    values = dist["n_analysed"].to_numpy(dtype=float)
    stages = result.stages
    planned_n = float(plan.allocation.n_analysed)
    interim_total = float(
        cumulative_sizes(plan.allocation.analysed, plan.sequential.info_fractions[:1]).sum()
    )
    n_sims = result.n_sims
    rows = []
    scenarios = (("planned", "probability", ""), ("null", "probability_h0", "_h0"))
    for scenario, column, suffix in scenarios:
        probs = dist[column].to_numpy(dtype=float)
        reject = result[name] if scenario == "planned" else result.type_i_error[name]
        mcse = result.mcse[name] if scenario == "planned" else result.mcse_type_i_error[name]
        expected = result.expected_n if scenario == "planned" else result.expected_n_h0
        if scenario == "planned":
            expected_mcse = result.mcse_expected_n
        else:  # the engine reports the H0 mean only: its MCSE from the distribution
            var = float((probs * (values - expected) ** 2).sum())
            expected_mcse = math.sqrt(max(var, 0.0) / n_sims)
        randomized = (
            result.expected_n_randomized
            if scenario == "planned"
            else result.extras.get("expected_n_randomized_h0", math.nan)
        )
        interim = stages.iloc[:-1]
        rows.append(
            {
                "scenario": scenario,
                "hypothesis": name,
                "reject": float(reject),
                "reject_mcse": float(mcse),
                "stop_efficacy_interim": float(interim[f"stop_efficacy{suffix}"].sum()),
                "stop_futility_interim": float(interim[f"stop_futility{suffix}"].sum()),
                "enlarged": float(probs[values > planned_n + 0.5].sum()),
                "reduced": float(
                    probs[(values < planned_n - 0.5) & (values > interim_total + 0.5)].sum()
                ),
                "expected_n": float(expected),
                "expected_n_mcse": float(expected_mcse),
                "expected_n_randomized": float(randomized),
                "n_p05": _quantile(values, probs, 0.05),
                "n_median": _quantile(values, probs, 0.5),
                "n_p95": _quantile(values, probs, 0.95),
                "max_n": float(result.max_n),
                "n_sims": int(n_sims),
            }
        )
    return pd.DataFrame(rows)


def looks_frame(plan: Any, result: Any) -> pd.DataFrame:
    """The looks of an adaptive plan: bounds, participants (planned, range), simulated stops."""
    gsd = plan.sequential
    bounds = gsd.to_frame()
    stages = plan.stages().groupby("look")[["planned", "minimum", "maximum"]].sum()
    sim = result.stages
    return pd.DataFrame(
        {
            "look": bounds["look"].astype(int),
            "info_fraction": bounds["info_fraction"].astype(float),
            "n_analysed": stages["planned"].to_numpy(dtype=int),
            "n_minimum": stages["minimum"].to_numpy(dtype=int),
            "n_maximum": stages["maximum"].to_numpy(dtype=int),
            "efficacy_z": bounds["efficacy_z"].astype(float),
            "efficacy_p": bounds["efficacy_p"].astype(float),
            "futility_z": bounds["futility_z"].astype(float),
            "alpha_spent": bounds["alpha_spent"].astype(float),
            "stop_efficacy": sim["stop_efficacy"].to_numpy(dtype=float),
            "stop_futility": sim["stop_futility"].to_numpy(dtype=float),
            "power": np.cumsum(sim["stop_efficacy"].to_numpy(dtype=float)),
            "stop_efficacy_h0": sim["stop_efficacy_h0"].to_numpy(dtype=float),
            "mean_conditional_power": sim["mean_conditional_power"].to_numpy(dtype=float),
        }
    )
