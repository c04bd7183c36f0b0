"""How a plan resolves arm selection at an interim: checks, stage sizes, sizing, its tables.

A plan with ``adaptive=ArmSelection(...)`` (:class:`trialplan.adaptive.ArmSelection`)
on a multi-arm :class:`~trialplan.Parallel` design with a control tests the
many-to-one comparisons (each arm against the control) as one family: at the
selection look the rule keeps the promising arms (with the control), the
others stop recruiting, and every comparison is tested by closed testing, each
intersection hypothesis by the named test (Dunnett, Simes, Bonferroni or
Sidak) within each stage, the stages combined by the inverse normal method
with the pre-specified weights ``sqrt(t_k - t_(k-1))`` of the group-sequential
design (as rpact's ``getSimulationMultiArmMeans`` does).  Here, with the
simulation engine's conventions (:func:`trialplan.adaptive.selection_power`):

* the cumulative participants analysed per arm at look k are
  ``ceil(t_k * A_j)`` (``A_j`` the plan's expected analysed count of arm j),
  so the planned stages add up to ``A_j``;
* an arm dropped at the selection look recruits nobody after it; the largest
  trial analyses every arm until the selection and then the control and as
  many arms as the rule keeps;
* the randomization is a stage-1 list over every arm (whole blocks holding
  the interim counts, dropout allowed for) and one stage-2 list per possible
  selection (the control and the selected arms, each arm's remaining planned
  count): the unit opens the list the data monitoring committee names.

The simulation (per-comparison power, selection probabilities, familywise
error under the global null and at the planning values, expected and largest
N, with Monte Carlo standard errors) runs once, at the plan, with the plan's
``n_sims`` and ``seed``; every table reads that one result.

A :class:`~trialplan.Factorial` whose cells compete against the reference
cell (every factor at its first level) *is* such a multi-arm trial: the plan
resolves it as the equivalent Parallel design (:func:`multi_arm`: one arm per
cell, in the factorial's cell order, named by ``Factorial.cell_label``, the
reference cell the control, the same planning values, sizes, dropout and
alpha), so every number is the one the hand-built Parallel plan gives.  The
factorial's main effects and interactions are not the tested family under
selection (a dropped cell leaves them unestimable); the plan keeps the
factorial (``plan.factorial``) for the protocol's wording only.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialplan.allocation import Allocation, allocate
from trialplan.labels import Labels

__all__ = [
    "SelectionSizing",
    "arm_labels",
    "check_factorial_hypotheses",
    "check_selection",
    "comparisons",
    "looks_frame",
    "multi_arm",
    "operating_characteristics",
    "selection_frame",
    "selection_size",
    "stage_lists",
    "stages_frame",
]


def _tagged(exc: ValueError | TypeError, setting: str) -> ValueError | TypeError:
    exc.setting = setting  # type: ignore[attr-defined]
    return exc


def is_factorial(design: Any) -> bool:
    """True for a factorial design (its cells are the arms under selection)."""
    return getattr(design, "design_kind", "") == "factorial"


def reference_cell(design: Any) -> tuple[str, ...]:
    """A factorial's reference cell: every factor at its first level."""
    return tuple(levels[0] for levels in design.factors.values())


def multi_arm(design: Any) -> Any:
    """The multi-arm Parallel design a factorial's cell selection is (a Parallel: itself).

    One arm per cell, in the factorial's cell order, named by the factorial's
    ``cell_label`` (``"active+MBI"``); the control is the reference cell;
    the outcome's planning values, the analysed sizes, the dropout and
    alpha / sided are the factorial's.  Refused (ValueError, tagged
    ``"adaptive"``) for group-delivered cells (``clusters=``) and for an
    outcome other than Continuous or Binary: their analysis is not a
    comparison of independent arms with known variance.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...                  outcome=tp.Continuous(means={("sham", "control"): 0.0,
    ...                      ("active", "control"): -3.0, ("sham", "MBI"): -2.0,
    ...                      ("active", "MBI"): -8.0}, sd=8.0), n_per_cell=60)
    >>> arms = multi_arm(d)
    >>> arms.arms, arms.control
    (('sham+control', 'sham+MBI', 'active+control', 'active+MBI'), 'sham+control')
    >>> dict(arms.outcome.means)["active+MBI"], arms.n_per_arm
    (-8.0, 60)
    """
    if not is_factorial(design):
        return design
    from trialplan.designs import Parallel

    if getattr(design, "clusters", None) is not None:
        raise _tagged(
            ValueError(
                "arm selection does not model therapy groups (clusters=) yet: a factorial with "
                "group-delivered cells cannot be resolved as a multi-arm trial"
            ),
            "adaptive",
        )
    outcome = design.outcome
    kind = type(outcome).__name__
    if kind not in ("Continuous", "Binary"):
        raise _tagged(
            ValueError(
                "arm selection in a plan simulates a Continuous or Binary outcome; this design "
                f"has a {kind} outcome"
            ),
            "adaptive",
        )
    cells = tuple(design.cells)
    names = tuple(design.cell_label(c) for c in cells)
    if len(set(names)) != len(names):
        raise _tagged(
            ValueError(
                f"the factorial's cells {list(cells)} do not have distinct labels {list(names)}: "
                "rename levels so that the cells can be named as arms"
            ),
            "adaptive",
        )
    values = outcome.planning_values()
    key = "means" if kind == "Continuous" else "rates"
    n = [int(v) for v in design.n_array]
    dropout = design.dropout
    if not isinstance(dropout, numbers.Real):
        dropout = {name: float(dropout[c]) for name, c in zip(names, cells, strict=True)}
    try:
        return Parallel(
            arms=names,
            outcome=outcome.replace(
                **{key: {name: values[c] for name, c in zip(names, cells, strict=True)}}
            ),
            n_per_arm=n[0] if len(set(n)) == 1 else dict(zip(names, n, strict=True)),
            control=design.cell_label(reference_cell(design)),
            alpha=design.alpha,
            sided=design.sided,
            dropout=dropout,
        )
    except (ValueError, TypeError) as exc:
        raise _tagged(
            ValueError(
                f"the factorial's cells cannot be resolved as arms of a multi-arm trial: {exc}"
            ),
            "adaptive",
        ) from None


def arm_labels(factorial: Any, labels: Labels) -> Labels:
    """``labels`` with the display name of each cell of ``factorial`` as its arm's name.

    The arms of :func:`multi_arm` read as the factorial's cells do
    (``"active rTMS + MBI"``, levels as ``labels`` words them).

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...                  outcome=tp.Continuous(means={("sham", "control"): 0.0,
    ...                      ("active", "control"): -3.0, ("sham", "MBI"): -2.0,
    ...                      ("active", "MBI"): -8.0}, sd=8.0), n_per_cell=60)
    >>> arm_labels(d, tp.Labels()).arms["sham+control"]
    'sham rTMS + no MBI'
    """
    arms = {factorial.cell_label(c): labels.cell(factorial, c) for c in factorial.cells}
    arms.update(labels.arms)
    return dataclasses.replace(labels, arms=arms)


def check_factorial_hypotheses(factorial: Any, names: Sequence[str]) -> None:
    """Refuse a factorial's own hypotheses (main effects, interactions) under cell selection.

    Only comparisons of cells (``"<cell> vs <cell>"``, cells named by
    ``cell_label``) can be reported: once cells are dropped at the interim the
    factorial's contrasts are not estimable from the trial that continues.
    The error is tagged ``"hypotheses"``.
    """
    for name in names:
        if " vs " not in name:
            example = comparisons(factorial)[0]
            raise _tagged(
                ValueError(
                    f"hypotheses names {name!r}, a hypothesis of the factorial, but with arm "
                    "selection its "
                    "cells are compared with the reference cell as arms of a multi-arm trial "
                    "(its main effects and interactions are not tested); report comparisons of "
                    f"cells such as {example!r}"
                ),
                "hypotheses",
            )


def comparisons(design: Any) -> tuple[str, ...]:
    """The many-to-one comparisons of a Parallel design (a factorial: of :func:`multi_arm`)."""
    design = multi_arm(design)
    control = design.control
    label = design.cell_label
    return tuple(f"{label(c)} vs {label(control)}" for c in design.cells if c != control)


def check_selection(
    design: Any,
    rule: Any,
    *,
    sequential: Any,
    multiplicity: Any,
    primary: Sequence[str] | None,
) -> tuple[str, ...]:
    """Refuse a setting the plan cannot resolve; return the primary family (every comparison).

    Errors carry ``exc.setting`` (the spec key the problem belongs to).
    """
    from trialplan.sequential import GroupSequential

    design = multi_arm(design)  # a factorial's cells against its reference cell
    if getattr(design, "design_kind", "") != "parallel" or getattr(design, "control", None) is None:
        raise _tagged(
            TypeError(
                "a plan resolves arm selection for a tp.Parallel design with a control and at "
                "least two other arms, or a tp.Factorial (its cells against the reference "
                f"cell); got a {type(design).__name__}"
            ),
            "adaptive",
        )
    family = comparisons(design)
    if len(family) < 2:
        raise _tagged(
            ValueError(
                f"arm selection needs at least two arms besides the control; got {len(family)}"
            ),
            "adaptive",
        )
    if sequential is None:
        raise _tagged(
            ValueError(
                "adaptive=ArmSelection(...) needs sequential=, the looks and bounds of its "
                "inverse normal combination test: give a tp.GroupSequential(sided=1, ...) "
                "([analysis.sequential] in a spec)"
            ),
            "adaptive",
        )
    if not isinstance(sequential, GroupSequential):
        raise _tagged(
            TypeError(
                "arm selection in a plan is tested by the inverse normal combination test on a "
                f"tp.GroupSequential design's bounds; got sequential={type(sequential).__name__}"
            ),
            "sequential",
        )
    if sequential.sided != 1:
        raise _tagged(
            ValueError(
                "the combination tests of arm selection are one-sided; give sided=1 and "
                f"alpha={sequential.alpha / 2:g} (the per-tail level); got sided={sequential.sided}"
            ),
            "sequential",
        )
    if sequential.n_looks < 2:
        raise _tagged(
            ValueError("arm selection needs an interim: give sequential at least two looks"),
            "sequential",
        )
    level = design.alpha / design.sided
    if not math.isclose(level, sequential.alpha, rel_tol=1e-9):
        raise _tagged(
            ValueError(
                f"sequential has one-sided alpha={sequential.alpha:g} but the design's per-tail "
                f"level is {level:g}; give both the same level"
            ),
            "sequential",
        )
    if rule.selection_look is not None and rule.selection_look > sequential.n_looks - 1:
        raise _tagged(
            ValueError(
                f"selection_look={rule.selection_look} must be an interim of sequential "
                f"(1 to {sequential.n_looks - 1})"
            ),
            "adaptive.selection_look",
        )
    if rule.selection_look is None and sequential.n_looks > 2:
        raise _tagged(
            ValueError(
                f"with {sequential.n_looks - 1} interims a plan selects arms at one of them "
                "(its randomization is a stage-1 list and one stage-2 list per selection): "
                f"give selection_look (1 to {sequential.n_looks - 1}); selection at every "
                "interim is simulated by design.power(sequential=..., adaptive=..., "
                "method='simulation')"
            ),
            "adaptive.selection_look",
        )
    if multiplicity is not None:
        raise _tagged(
            ValueError(
                "adaptive=ArmSelection(...) and multiplicity= cannot be combined: arm selection "
                "controls the familywise error by its own closed test; leave multiplicity out"
            ),
            "adaptive",
        )
    if primary is not None and set(primary) != set(family):
        raise _tagged(
            ValueError(
                f"with arm selection the primary hypotheses are every comparison with the "
                f"control, {list(family)}; got primary={list(primary)} (leave it out)"
            ),
            "primary",
        )
    kind = type(design.outcome).__name__
    if kind not in ("Continuous", "Binary"):
        raise _tagged(
            ValueError(
                "arm selection in a plan simulates a Continuous or Binary outcome; this design "
                f"has a {kind} outcome"
            ),
            "adaptive",
        )
    if kind == "Continuous" and design.outcome.baseline_corr:
        raise _tagged(
            ValueError(
                "arm selection simulates z tests of arm means (SD known, as rpact): give "
                f"baseline_corr=0 (got {design.outcome.baseline_corr:g})"
            ),
            "adaptive",
        )
    if getattr(design, "clusters", None) is not None:
        raise _tagged(
            ValueError("arm selection does not model therapy groups (clusters=) yet"), "adaptive"
        )
    return family


# ----------------------------------------------------------------- sizing
@dataclass(frozen=True)
class SelectionSizing:
    """The size found for an arm-selection plan (``plan.sizing``).

    Attributes
    ----------
    design : design
        The design at the analysed sizes found.
    power : float
        The simulated power to reject at least one comparison at that size.
    method : str
        How the size was found, in words.
    """

    design: Any
    power: float
    method: str

    @property
    def n_total(self) -> int:
        """Participants analysed in all arms at the size found."""
        return int(sum(int(n) for n in self.design.n_array))


def _best(design: Any) -> str:
    table = design.power(list(comparisons(design))).to_frame()
    fav = 1.0 if design.outcome.favourable == "higher" else -1.0
    return str(table.loc[(fav * table["effect"].astype(float)).idxmax(), "hypothesis"])


def selection_size(
    design: Any,
    rule: Any,
    *,
    sequential: Any,
    power: float,
    n_sims: int,
    seed: int,
    simulate: Any,
) -> SelectionSizing:
    """Fewest allocation cycles at which the power to reject at least one comparison is ``power``.

    The disjunctive power (rpact's ``rejectAtLeastOne``) is the one a
    selection design can always reach: the power of one comparison is capped
    by the probability that its arm is selected.  Each candidate size is
    simulated with the same ``n_sims`` and ``seed`` (common random numbers,
    so the power rises with the size); the search doubles the size until the
    target is reached, then bisects.  ``simulate(design)`` returns the
    design's simulation.
    """
    n = np.asarray(design.n_array, dtype=float)
    unit = np.asarray(
        [int(v) for v in np.round(n / math.gcd(*[int(round(x)) for x in n]))], dtype=int
    )

    def at(cycles: int) -> Any:
        return design.with_cell_sizes([int(u * cycles) for u in unit])

    def reaches(cycles: int) -> tuple[bool, float]:
        value = float(simulate(at(cycles)).extras["any"])
        return value >= power, value

    lo, hi = 0, 2
    while True:
        ok, _ = reaches(hi)
        if ok:
            break
        lo, hi = hi, hi * 2
        if hi > 100_000:
            raise ValueError(
                f"no sample size up to {hi * int(unit.sum())} analysed gives power {power:g} to "
                "reject at least one comparison with arm selection; check the planned effects"
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok, _ = reaches(mid)
        if ok:
            hi = mid
        else:
            lo = mid
    _, value = reaches(hi)
    return SelectionSizing(
        design=at(hi),
        power=value,
        method=(
            "smallest size at which the power to reject at least one comparison reaches the "
            f"target in the arm-selection design, simulated ({n_sims} trials per size, seed "
            f"{seed})"
        ),
    )


# ------------------------------------------------------------ stage sizes
def cumulative(analysed: Sequence[int], fractions: Sequence[float]) -> np.ndarray:
    """Cumulative participants per arm at each look, rounded up: ``(looks, arms)``."""
    a = np.asarray(analysed, dtype=float)
    f = np.asarray(fractions, dtype=float)
    return np.ceil(f[:, None] * a[None, :] - 1e-9).astype(int)


def _order(plan: Any) -> list[int]:
    """Indices of ``allocation.cells``: the control first, then the arms."""
    cells = list(plan.allocation.cells)
    control = plan.design.control
    return [cells.index(control)] + [j for j, c in enumerate(cells) if c != control]


def first_selection(plan: Any) -> int:
    """The look (1-based) at which arms are selected first."""
    look = plan.adaptive.selection_look
    return 1 if look is None else int(look)


def stages_frame(plan: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.stages` (an arm-selection plan)."""
    t = plan.sequential.info_fractions
    planned = cumulative(plan.allocation.analysed, t)
    labels = plan.cell_labels()
    control = plan.design.control
    rows = []
    for k in range(len(t)):
        for j, (cell, label) in enumerate(zip(plan.allocation.cells, labels, strict=True)):
            rows.append(
                {
                    "look": k + 1,
                    "info_fraction": float(t[k]),
                    "cell": cell,
                    "label": label,
                    "control": cell == control,
                    "planned": int(planned[k, j]),
                }
            )
    return pd.DataFrame(rows)


def largest_totals(plan: Any) -> list[int]:
    """Largest number analysed by each look: every arm until the selection, then the rule's."""
    t = plan.sequential.info_fractions
    planned = cumulative(plan.allocation.analysed, t)[:, _order(plan)]
    stages = np.diff(planned, axis=0, prepend=0)
    first = first_selection(plan)
    kept = plan.adaptive.arms_kept(stages.shape[1] - 1)
    totals, running = [], 0
    for k, stage in enumerate(stages):
        if k < first:
            running += int(stage.sum())
        else:
            running += int(stage[0] + np.sort(stage[1:])[::-1][:kept].sum())
        totals.append(running)
    return totals


def stage_allocation(plan: Any) -> Allocation:
    """Randomized counts of the first stage (until the first selection): whole blocks."""
    alloc = plan.allocation
    look = first_selection(plan)
    interim = cumulative(alloc.analysed, plan.sequential.info_fractions)[look - 1]
    first = allocate(
        cells=alloc.cells,
        ratios=alloc.ratios,
        required=tuple(int(v) for v in interim),
        dropout=alloc.dropout,
        block_sizes=alloc.block_sizes,
    )
    if any(f > r for f, r in zip(first.randomized, alloc.randomized, strict=True)):
        # whole blocks overshoot the plan: stop stage 1 at the plan's own counts
        return alloc
    return first


def selections(plan: Any) -> list[tuple[Any, ...]]:
    """Every set of arms (not the control) the rule can keep, largest sets last."""
    arms = [c for c in plan.allocation.cells if c != plan.design.control]
    rule = plan.adaptive
    if rule.rule == "best":
        sizes = [1]
    elif rule.rule == "r_best":
        sizes = [min(int(rule.r), len(arms))]
    else:
        sizes = list(range(1, len(arms) + 1))
    return [combo for k in sizes for combo in itertools.combinations(arms, k)]


def stage_lists(plan: Any) -> list[dict[str, Any]]:
    """The randomization lists' counts: stage 1, then one stage-2 list per possible selection.

    Each entry: ``stage`` (1 or 2), ``arms`` (cells of the list, the control
    first), ``randomized`` (per cell of ``arms``), ``block_sizes``.
    """
    alloc = plan.allocation
    first = stage_allocation(plan)
    ratio = dict(zip(alloc.cells, alloc.ratios, strict=True))
    rest = {
        c: r - f for c, r, f in zip(alloc.cells, alloc.randomized, first.randomized, strict=True)
    }
    control = plan.design.control
    out = [
        {
            "stage": 1,
            "arms": tuple(alloc.cells),
            "randomized": tuple(first.randomized),
            "block_sizes": tuple(alloc.block_sizes),
        }
    ]
    if first is alloc:
        return out
    for kept in selections(plan):
        cells = (control, *kept)
        unit = sum(ratio[c] for c in cells)
        counts = tuple(rest[c] for c in cells)
        cycles = min(counts[i] // ratio[c] for i, c in enumerate(cells))
        # blocks of one and two allocation cycles of the arms still in, as long as the
        # remaining counts are whole cycles of them (they are: both stages are whole blocks)
        sizes = tuple(b for b in (unit, 2 * unit) if cycles * unit % b == 0) or (unit,)
        out.append({"stage": 2, "arms": cells, "randomized": counts, "block_sizes": sizes})
    return out


# ---------------------------------------------------------------- tables
def selection_frame(plan: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.selection_table`."""
    result = plan.adaptive_result
    effects = plan.design.power(list(plan.primary)).to_frame().set_index("hypothesis")
    selection = result.extras["selection"]
    first = first_selection(plan)
    rows = []
    for name in plan.primary:
        rows.append(
            {
                "hypothesis": name,
                "label": plan.label(name),
                "effect": float(effects.loc[name, "effect"]),
                "power": float(result[name]),
                "mcse": float(result.mcse[name]),
                "selected": float(selection.loc[first + 1, name]),
                "type_i_error": float(result.type_i_error[name]),
                "type_i_mcse": float(result.mcse_type_i_error[name]),
            }
        )
    return pd.DataFrame(rows)


def operating_characteristics(plan: Any) -> pd.DataFrame:
    """See :meth:`TrialPlan.operating_characteristics` (an arm-selection plan)."""
    result = plan.adaptive_result
    extras = result.extras
    stages = result.stages
    interim = stages.iloc[:-1]
    n_sims = result.n_sims
    best = _best(plan.design)
    effects = plan.design.power(list(plan.primary)).to_frame()["effect"].astype(float)
    fav = 1.0 if plan.design.outcome.favourable == "higher" else -1.0
    unique = int(((fav * effects) >= (fav * effects).max() - 1e-12).sum()) == 1
    rows = []
    for scenario, suffix in (("planned", ""), ("null", "_h0")):
        if scenario == "planned":
            any_, any_mcse = extras["any"], extras["mcse_any"]
            fwer = extras.get("fwer", math.nan)
            fwer_mcse = extras.get("mcse_fwer", math.nan)
            reject_best, best_mcse = result[best], result.mcse[best]
            expected, expected_mcse = result.expected_n, result.mcse_expected_n
            all_ = extras["all"]
        else:
            any_, any_mcse = extras["fwer_global_null"], extras["mcse_fwer_global_null"]
            fwer, fwer_mcse = any_, any_mcse
            reject_best = result.type_i_error[best]
            best_mcse = result.mcse_type_i_error[best]
            expected, expected_mcse = result.expected_n_h0, extras["mcse_expected_n_h0"]
            all_ = math.nan
        rows.append(
            {
                "scenario": scenario,
                "reject_any": float(any_),
                "reject_any_mcse": float(any_mcse),
                "reject_all": float(all_),
                "reject_best": float(reject_best),
                "reject_best_mcse": float(best_mcse),
                "best": best,
                "best_unique": unique,
                "fwer": float(fwer),
                "fwer_mcse": float(fwer_mcse),
                "stop_efficacy_interim": float(interim[f"stop_efficacy{suffix}"].sum()),
                "stop_futility_interim": float(interim[f"stop_futility{suffix}"].sum()),
                "expected_n": float(expected),
                "expected_n_mcse": float(expected_mcse),
                "max_n": float(result.max_n),
                "n_sims": int(n_sims),
            }
        )
    return pd.DataFrame(rows)


def looks_frame(plan: Any) -> pd.DataFrame:
    """The looks of an arm-selection plan: bounds, participants, simulated stops."""
    gsd = plan.sequential
    bounds = gsd.to_frame()
    stages = plan.stages().groupby("look")["planned"].sum()
    sim = plan.adaptive_result.stages
    stop = sim["stop_efficacy"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "look": bounds["look"].astype(int),
            "info_fraction": bounds["info_fraction"].astype(float),
            "n_analysed": stages.to_numpy(dtype=int),
            "n_largest": largest_totals(plan),
            "efficacy_z": bounds["efficacy_z"].astype(float),
            "efficacy_p": bounds["efficacy_p"].astype(float),
            "futility_z": bounds["futility_z"].astype(float),
            "alpha_spent": bounds["alpha_spent"].astype(float),
            "stop_efficacy": stop,
            "stop_futility": sim["stop_futility"].to_numpy(dtype=float),
            "stop_efficacy_h0": sim["stop_efficacy_h0"].to_numpy(dtype=float),
        }
    )
