"""The resolved plan: one object behind the protocol, the randomization list and every figure.

A design says what is randomized and the planning values; a plan decides the
rest, once: the sample size (solved for a target power, or the size stated),
the numbers randomized and expected to be analysed per cell (whole allocation
blocks, dropout allowed for), the group-sequential design and multiplicity
procedure the primary hypotheses are tested with, any sample-size
re-estimation at the interims (its operating characteristics simulated once,
and the randomization list made long enough for the largest trial the rule
allows), the randomization settings, the sensitivity grid and the words the
protocol uses.  The CLI, the report,
the examples and the web page all read these numbers from the
:class:`TrialPlan`, so a protocol and its randomization list cannot disagree.

Build one with :func:`plan` (from a design) or ``Spec.evaluate()`` (from a
TOML spec).

Examples
--------
>>> import trialplan as tp
>>> design = tp.Factorial(
...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
...     outcome=tp.Continuous(means={("sham", "control"): 0.0, ("active", "control"): -3.0,
...                                  ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0},
...                           sd=8.0, better="lower"),
...     n_per_cell=50, dropout=0.1)
>>> p = tp.plan(design, power=0.9, primary="rTMS:MBI")
>>> p.allocation.required, p.allocation.randomized, p.allocation.analysed
((300, 300, 300, 300), (334, 334, 334, 334), (300, 300, 300, 300))
>>> round(p.primary_power["rTMS:MBI"], 4) >= 0.9
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trialplan import _plan_build as build
from trialplan import _plan_selection as selection
from trialplan._plan_adaptive import check_adaptive, maximum_allocation
from trialplan._plan_analysis import (
    Analysis,
    default_primary,
    design_hypotheses,
    is_regime_design,
)
from trialplan.allocation import Allocation, RandomizationPlan
from trialplan.labels import Labels
from trialplan.sensitivity import SensitivityGrid

__all__ = ["TrialPlan", "plan"]

#: Words for the scales a binary interaction is also reported on.
#: What a randomized unit of each kind of design is called.
_UNIT = {"factorial": "cell", "parallel": "arm", "smart": "first-stage treatment"}
SCALE_WORDS = {
    "log_risk": "log risk ratio scale",
    "log_odds": "log odds ratio scale",
    "risk_difference": "risk difference scale",
    "RERI": "relative excess risk due to interaction",
    "log_synergy_index": "log synergy index",
}


@dataclass(frozen=True, kw_only=True, eq=False)
class TrialPlan:
    """A resolved trial plan: sizes, analysis, randomization and wording, computed once.

    Made by :func:`plan` or ``Spec.evaluate()``; immutable.  Numbers that are
    cheap are computed when the plan is made (the sizing, the allocation,
    the primary hypotheses' power); the power table, the sensitivity table,
    the looks table and the power curve are computed when first asked for
    and then kept.

    Attributes
    ----------
    design : design object
        The design at the plan: each cell's size is its *expected analysed*
        count (``allocation.analysed``); every power the plan reports is
        computed on it.
    stated : design object
        The design as given (its sizes are the fixed size, or only a
        starting point and the allocation ratios when the size is solved).
    sizing : SampleSizeResult or None
        The sample-size search (None when ``size == "fixed"``).
    allocation : Allocation
        Per cell: required analysed, randomized and expected analysed
        counts, ratios, dropout and block sizes.
    size : {"solve", "fixed"}
        Whether the size was solved for ``target`` or taken as stated.
    target : float or None
        Target power of the primary hypotheses.
    primary : tuple of str
        Hypotheses that set the sample size.
    hypotheses : tuple of str
        Hypotheses reported (primary first).
    primary_power : mapping of str to float
        Power of each primary hypothesis at the plan, under its analysis
        (the group-sequential test, the multiplicity procedure, or one test).
    sequential : GroupSequential or None
        The group-sequential design of the primary hypotheses (with futility
        bounds re-solved at the target power when it has beta-spending).
    multiplicity : procedure or None
        The multiplicity procedure and its family.
    adaptive : SampleSizeReestimation or None
        Sample-size re-estimation of the primary hypothesis at the interims
        of ``sequential`` (inverse normal combination test with the planned
        CHW weights).  The planned sizes are ``allocation``'s; the primary
        power is the adaptive design's, simulated once with ``n_sims`` and
        ``seed`` (:attr:`adaptive_result`, :meth:`operating_characteristics`,
        :meth:`stages`, :meth:`final_n`).
    maximum : Allocation or None
        With ``adaptive``: the randomized counts (whole blocks) that hold the
        largest trial the rule allows; the randomization list has this
        length.
    factorial : Factorial or None
        Arm selection among a factorial's cells: the factorial (at the
        analysed sizes) whose cells are the arms of ``design``, the
        equivalent multi-arm Parallel design the plan resolves (its control
        the reference cell; see :func:`trialplan._plan_selection.multi_arm`);
        kept for the protocol's wording.  None otherwise.
    method : {"analytic", "simulation"}
        ``"simulation"`` adds simulated powers (with Monte Carlo standard
        errors) beside the exact ones; ``n_sims`` and ``seed`` set it (and
        the simulation of an adaptive design).
    randomization : RandomizationPlan
        Settings of the list; ``randomization.n`` is the list's length: the
        plan's number randomized, or with ``adaptive`` the maximum.
    sensitivity_grid : SensitivityGrid
        Values of the sensitivity table (always including the planned ones).
    labels : Labels
        Display names of levels, cells and hypotheses.
    title, outcome_label, timepoint : str
        Wording of the protocol.
    sources : tuple of str
        Citations of the planning values.
    scenario : str
        The :mod:`trialplan.scenarios` preset the plan came from, if any.
    source : object
        What the plan was made from (the ``Spec``, or None).

    Examples
    --------
    >>> import trialplan as tp
    >>> spec = tp.scenarios.state_dependent_synergy()
    >>> p = spec.evaluate()
    >>> p.allocation.n_randomized == len(p.schedule()) // 2     # two sites, one list each
    True
    """

    design: Any
    stated: Any
    sizing: Any
    allocation: Allocation
    size: str
    target: float | None
    primary: tuple[str, ...]
    hypotheses: tuple[str, ...]
    primary_power: Mapping[str, float]
    sequential: Any = None
    multiplicity: Any = None
    adaptive: Any = None
    maximum: Allocation | None = None
    factorial: Any = None
    method: str = "analytic"
    n_sims: int = 10_000
    seed: int = 2026
    randomization: RandomizationPlan = field(default_factory=RandomizationPlan)
    sensitivity_grid: SensitivityGrid = field(default_factory=SensitivityGrid)
    labels: Labels = field(default_factory=Labels)
    title: str = ""
    outcome_label: str = "the primary outcome"
    timepoint: str = "the primary timepoint"
    sources: tuple[str, ...] = ()
    scenario: str = ""
    source: Any = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------- analysis
    @property
    def analysis(self) -> Analysis:
        """How each hypothesis is tested (see :mod:`trialplan._plan_analysis`)."""
        return Analysis(
            self.primary,
            self.sequential,
            self.multiplicity,
            self.adaptive,
            n_sims=self.n_sims,
            seed=self.seed,
        )

    def analysis_of(self, hypothesis: str) -> str:
        """``"adaptive"``, ``"group-sequential"``, ``"multiplicity"`` or ``"single"``.

        Examples
        --------
        >>> import trialplan as tp
        >>> p = tp.scenarios.state_dependent_synergy().evaluate()
        >>> p.analysis_of("rTMS:MBI"), p.analysis_of("rTMS")
        ('single', 'single')
        """
        return self.analysis.kind(self.design, hypothesis)

    @property
    def family(self) -> tuple[str, ...]:
        """Hypotheses under the multiplicity procedure (empty without one)."""
        return self.analysis.family(self.design)

    def power_at(self, design: Any, hypotheses: Sequence[str] | None = None) -> dict[str, float]:
        """Power of ``hypotheses`` (default: the primary) in another design, by the plan's analysis.

        Used for the sensitivity table and the power curve, so that every
        figure computes power the way the text does.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> bigger = plan.design.with_cell_sizes([400, 400, 400, 400])
        >>> plan.power_at(bigger)["rTMS:MBI"] > plan.primary_power["rTMS:MBI"]
        True
        """
        return self.analysis.powers(
            design, list(hypotheses or self.primary), adaptive_result=self._known(design)
        )

    def _known(self, design: Any) -> Any:
        """The adaptive simulation already run at ``design`` (the plan's own), else None."""
        known = self._cache.get("adaptive_result")
        if known is None:
            return None
        try:
            same = design is self.design or bool(design == self.design)
        except (TypeError, ValueError):  # pragma: no cover - designs compare as dataclasses
            same = False
        return known if same else None

    # --------------------------------------------------------------- words
    def label(self, hypothesis: str) -> str:
        """Display name of a hypothesis ("the rTMS x MBI interaction").

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.scenarios.state_dependent_synergy().evaluate().label("rTMS:MBI")
        'the rTMS x MBI interaction'
        """
        base = hypothesis.split(" (", 1)[0] if hypothesis.endswith(")") else hypothesis
        try:
            text = self.labels.hypothesis(self.design, base)
        except (ValueError, TypeError):  # pragma: no cover - defensive
            return hypothesis
        if base == hypothesis:
            return text
        scale = hypothesis[len(base) + 2 : -1]
        return f"{text} ({SCALE_WORDS.get(scale, scale.replace('_', ' '))})"

    def estimand(self, hypothesis: str) -> str:
        """What a hypothesis estimates, in words (see :meth:`Labels.estimand`).

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> plan.estimand("rTMS | MBI=control")
        'the difference between active rTMS and sham rTMS, without MBI'
        """
        return self.labels.estimand(self.design, hypothesis)

    def cell_labels(self) -> list[str]:
        """Display names of the randomized cells, in ``allocation.cells`` order.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> plan.cell_labels()[:2]
        ['sham rTMS + no MBI', 'sham rTMS + MBI']
        """
        return [self.labels.cell(self.design, c) for c in self.allocation.cells]

    @property
    def is_regime_design(self) -> bool:
        """True for a SMART (randomized twice; cells are the stage-1 arms)."""
        return is_regime_design(self.design)

    # --------------------------------------------------------------- tables
    @property
    def power_table(self) -> Any:
        """Power of every reported hypothesis at the plan (a DataFrame).

        Columns: ``hypothesis``, ``label``, ``role`` (``"primary"`` or
        ``"secondary"``), ``estimand``, ``effect``, ``se``, ``df``,
        ``power`` (under the hypothesis' ``analysis``), ``analysis`` and,
        when ``method == "simulation"``, ``simulated`` and ``mcse``.  Rows
        of other scales (a binary interaction's RERI ...) follow, as
        secondary rows.
        """
        if "power_table" not in self._cache:
            from trialplan._plan_tables import power_table

            self._cache["power_table"] = power_table(self)
        return self._cache["power_table"].copy()

    @property
    def sensitivity(self) -> Any:
        """Power of each primary hypothesis over the sensitivity grid (a DataFrame).

        The number randomized per cell is the plan's; every scenario
        analyses ``floor(randomized * (1 - dropout))`` per cell.  Columns:
        ``sd`` (outcomes with one), ``dropout``, ``effect_scale``,
        ``n_analysed``, one ``power`` column per primary hypothesis (named
        ``power`` when there is one) and ``planned`` (True in the row of the
        planned values, whose power is ``primary_power``).
        """
        if "sensitivity" not in self._cache:
            from trialplan._plan_tables import sensitivity_frame

            self._cache["sensitivity"] = sensitivity_frame(self)
        return self._cache["sensitivity"].copy()

    def looks(self) -> Any:
        """One row per look of the group-sequential design (None without one).

        Columns: ``look``, ``info_fraction``, ``n_analysed`` (participants
        with the outcome at that look, rounded up), ``efficacy_z``,
        ``efficacy_p`` (nominal one-sided p), ``futility_z``,
        ``alpha_spent`` (cumulative), ``stop_efficacy``, ``stop_futility``
        (probabilities at the planned effect, for the first primary
        hypothesis) and ``power`` (cumulative).  An adaptive plan's looks
        add ``n_minimum`` and ``n_maximum`` (participants the rule allows),
        ``stop_efficacy_h0`` and ``mean_conditional_power``, and take the
        stopping probabilities and power from its simulation.

        Examples
        --------
        >>> import trialplan as tp
        >>> spec = tp.scenarios.state_dependent_synergy()
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025, sided=1)
        >>> plan = spec.replace(design=spec.design.replace(alpha=0.025, sided=1),
        ...                     sequential=gsd).evaluate()
        >>> looks = plan.looks()
        >>> looks["efficacy_z"].round(3).tolist()    # rpact 3.3.4: 2.963, 1.969
        [2.963, 1.969]
        >>> looks["n_analysed"].tolist()[-1] == plan.allocation.n_analysed
        True
        """
        if self.sequential is None:
            return None
        if "looks" not in self._cache:
            from trialplan._plan_tables import looks_frame

            self._cache["looks"] = looks_frame(self)
        return self._cache["looks"].copy()

    def expected_n(self) -> dict[str, int] | None:
        """Expected participants analysed at stopping, no effect and planned, rounded up.

        ``{"H0": ..., "H1": ...}`` for the first primary hypothesis of a
        group-sequential plan (an adaptive plan: from its simulation); None
        without interim looks.

        Examples
        --------
        >>> import trialplan as tp
        >>> spec = tp.scenarios.state_dependent_synergy()
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025, sided=1)
        >>> plan = spec.replace(design=spec.design.replace(alpha=0.025, sided=1),
        ...                     sequential=gsd).evaluate()
        >>> expected = plan.expected_n()
        >>> expected["H1"] < expected["H0"] <= plan.allocation.n_analysed
        True
        """
        if self.sequential is None:
            return None
        if "expected_n" not in self._cache:
            from trialplan._plan_tables import expected_n

            self._cache["expected_n"] = expected_n(self)
        return dict(self._cache["expected_n"])

    # -------------------------------------------------------------- adaptive
    @property
    def selects_arms(self) -> bool:
        """True when the plan selects arms at an interim (``adaptive=ArmSelection(...)``).

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.scenarios.adaptive_synergy().evaluate().selects_arms
        False
        """
        return self.analysis.selects_arms

    def selection_table(self) -> Any:
        """Per comparison of an arm-selection plan: power, selection, type I error (else None).

        From the plan's one simulation.  Columns ``hypothesis``, ``label``,
        ``effect`` (planned), ``power`` (probability that the closed test
        rejects that comparison, with ``mcse``), ``selected`` (probability
        that the arm continues after the selection look) and
        ``type_i_error`` (its rejection rate under the global null, with
        ``type_i_mcse``).

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.adaptive import ArmSelection
        >>> arms = ("rTMS alone", "MBI then rTMS", "rTMS with MBI")
        >>> d = tp.Parallel(arms=arms, outcome=tp.Continuous(
        ...     means=dict(zip(arms, (-10.0, -12.0, -14.0))), sd=8.0), n_per_arm=80,
        ...     alpha=0.025, sided=1)
        >>> p = tp.plan(d, sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)),
        ...             adaptive=ArmSelection(), n_sims=2000, seed=1)
        >>> table = p.selection_table()
        >>> table["power"].tolist() == [p.primary_power[h] for h in table["hypothesis"]]
        True
        >>> round(float(table["selected"].sum()), 6) <= 1.0   # "best": one arm continues
        True
        """
        if not self.selects_arms:
            return None
        return selection.selection_frame(self)

    def stage_lists(self) -> Any:
        """Counts of an arm-selection plan's randomization lists (None without arm selection).

        One row per list and arm: ``list`` (``"stage 1"`` or the arms kept),
        ``stage``, ``cell``, ``label``, ``randomized``.  Stage 1 randomizes
        every arm in whole blocks until the selection look; then the unit
        opens the stage-2 list of the selection made (the control and the
        selected arms, each arm's remaining planned count).

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.adaptive import ArmSelection
        >>> arms = ("rTMS alone", "MBI then rTMS", "rTMS with MBI")
        >>> d = tp.Parallel(arms=arms, outcome=tp.Continuous(
        ...     means=dict(zip(arms, (-10.0, -12.0, -14.0))), sd=8.0), n_per_arm=80,
        ...     dropout=0.1, alpha=0.025, sided=1)
        >>> p = tp.plan(d, sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)),
        ...             adaptive=ArmSelection(), n_sims=1000, seed=1)
        >>> lists = p.stage_lists()
        >>> lists.groupby("list", sort=False)["randomized"].apply(list).tolist()
        [[45, 45, 45], [44, 44], [44, 44]]
        """
        if not self.selects_arms:
            return None
        labels = dict(zip(self.allocation.cells, self.cell_labels(), strict=True))
        rows = []
        for entry in selection.stage_lists(self):
            name = (
                "stage 1"
                if entry["stage"] == 1
                else "stage 2: " + " + ".join(labels[c] for c in entry["arms"])
            )
            for cell, n in zip(entry["arms"], entry["randomized"], strict=True):
                rows.append(
                    {
                        "list": name,
                        "stage": entry["stage"],
                        "cell": cell,
                        "label": labels[cell],
                        "randomized": int(n),
                    }
                )
        import pandas as pd

        return pd.DataFrame(rows)

    def selection_schedules(self, *, seed: int | None = None) -> dict[str, Any]:
        """The randomization lists of an arm-selection plan, by name (see :meth:`stage_lists`).

        ``"stage 1"`` over every arm, then one ``"stage 2: ..."`` list per
        selection the rule can make; each list is made of permuted blocks and
        holds exactly its counts (per stratum).  Each list draws from its own
        stream, spawned from the randomization seed.

        Raises
        ------
        ValueError
            Without arm selection.

        Examples
        --------
        >>> import trialplan as tp
        >>> from trialplan.adaptive import ArmSelection
        >>> arms = ("rTMS alone", "MBI then rTMS", "rTMS with MBI")
        >>> d = tp.Parallel(arms=arms, outcome=tp.Continuous(
        ...     means=dict(zip(arms, (-10.0, -12.0, -14.0))), sd=8.0), n_per_arm=80,
        ...     dropout=0.1, alpha=0.025, sided=1)
        >>> p = tp.plan(d, sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)),
        ...             adaptive=ArmSelection(), n_sims=1000, seed=1)
        >>> lists = p.selection_schedules()
        >>> {name: len(s) for name, s in lists.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'stage 1': 135, 'stage 2: rTMS alone + MBI then rTMS': 88,
         'stage 2: rTMS alone + rTMS with MBI': 88}
        """
        if not self.selects_arms:
            raise ValueError(
                "selection_schedules() needs a plan with adaptive=ArmSelection(...); use schedule()"
            )
        import numpy as np

        from trialplan.designs import Parallel
        from trialplan.outcomes import Continuous
        from trialplan.randomization import permuted_blocks

        settings = self.randomization
        root = np.random.SeedSequence(settings.seed if seed is None else seed)
        entries = selection.stage_lists(self)
        streams = root.spawn(len(entries))
        strata = {k: tuple(v) for k, v in settings.strata.items()}
        labels = dict(zip(self.allocation.cells, self.cell_labels(), strict=True))
        ratio = dict(zip(self.allocation.cells, self.allocation.ratios, strict=True))
        out = {}
        for entry, stream in zip(entries, streams, strict=True):
            cells = entry["arms"]
            if entry["stage"] == 1:
                name, units = "stage 1", self.design
            else:
                name = "stage 2: " + " + ".join(labels[c] for c in cells)
                # a design of the arms still in, for the list's units only
                units = Parallel(
                    arms=tuple(cells),
                    outcome=Continuous(means={c: 0.0 for c in cells}, sd=1.0),
                    n_per_arm={c: int(n) for c, n in zip(cells, entry["randomized"], strict=True)},
                    control=cells[0],
                )
            out[name] = permuted_blocks(
                units,
                n=int(sum(entry["randomized"])),
                block_sizes=entry["block_sizes"],
                strata=strata,
                seed=stream,
                ratios={c: ratio[c] for c in cells},
                exact=True,
                description=f"{self.describe()} | {name}",
            )
        return out

    @property
    def adaptive_result(self) -> Any:
        """The adaptive design's simulation at the plan (None without ``adaptive``).

        A :class:`~trialplan.adaptive.AdaptivePowerResult`, run once when the
        plan is made, with the plan's ``n_sims`` and ``seed``: power, type I
        error, expected and maximum N, the distribution of the final N and
        their Monte Carlo standard errors.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.adaptive_synergy().evaluate()
        >>> plan.adaptive_result["rTMS:MBI"] == plan.primary_power["rTMS:MBI"]
        True
        """
        return self._cache.get("adaptive_result")

    def stages(self) -> Any:
        """Participants analysed per cell at each look of an adaptive plan (None without one).

        Cumulative counts: ``planned`` (the planned stages, adding up to
        ``allocation.analysed``), ``minimum`` and ``maximum`` (every later
        stage at ``min_factor`` or ``max_factor`` times its planned size),
        rounded up per cell as the simulation does.  Columns ``look``,
        ``info_fraction``, ``cell``, ``label``, ``planned``, ``minimum``,
        ``maximum``.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.adaptive_synergy().evaluate()
        >>> final = plan.stages().query("look == 2")
        >>> final["planned"].tolist() == list(plan.allocation.analysed)
        True
        >>> int(final["maximum"].sum()) == int(plan.adaptive_result.max_n)
        True
        """
        if self.adaptive is None:
            return None
        if "stages" not in self._cache:
            from trialplan._plan_adaptive import stages_frame

            make = selection.stages_frame if self.selects_arms else stages_frame
            self._cache["stages"] = make(self)
        return self._cache["stages"].copy()

    def operating_characteristics(self) -> Any:
        """Simulated operating characteristics of an adaptive plan (None without one).

        One row per scenario: ``"planned"`` (the planning values) and
        ``"null"`` (the primary hypothesis' effect set to zero).  Columns:
        ``reject`` (power, or the type I error under the null) and
        ``reject_mcse``; ``stop_efficacy_interim`` and
        ``stop_futility_interim`` (probability of stopping at an interim);
        ``enlarged`` and ``reduced`` (probability that the final number
        analysed is above, or below, the planned one after continuing);
        ``expected_n`` (participants analysed, with ``expected_n_mcse``) and
        ``expected_n_randomized``; ``n_p05``, ``n_median``, ``n_p95``
        (quantiles of the final number analysed); ``max_n``; ``n_sims``.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.adaptive_synergy().evaluate()
        >>> oc = plan.operating_characteristics().set_index("scenario")
        >>> float(oc.loc["planned", "reject"]) == plan.primary_power["rTMS:MBI"]
        True
        >>> bool(oc.loc["null", "reject"] < 0.025 + 3 * oc.loc["null", "reject_mcse"])
        True
        """
        if self.adaptive is None:
            return None
        if self.selects_arms:
            return selection.operating_characteristics(self)
        from trialplan._plan_adaptive import operating_characteristics

        return operating_characteristics(self, self.adaptive_result)

    def final_n(self) -> Any:
        """Distribution of the final number analysed in an adaptive plan (None without one).

        Columns ``n_analysed``, ``probability`` (at the planning values) and
        ``probability_h0`` (no effect), from the plan's simulation.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.adaptive_synergy().evaluate()
        >>> dist = plan.final_n()
        >>> round(float(dist["probability"].sum()), 9), int(dist["n_analysed"].max()) <= int(
        ...     plan.adaptive_result.max_n)
        (1.0, True)
        """
        if self.adaptive is None:
            return None
        from trialplan._plan_adaptive import final_n_frame

        return final_n_frame(self.adaptive_result)

    def curve(self, *, points: int = 41) -> Any:
        """Power against the number randomized, by the plan's analysis (a long DataFrame).

        The grid holds ``points`` totals (whole allocation cycles) from the
        smallest feasible size to twice the plan's, and the plan's own
        total, so its power lies on the curve.  An adaptive plan simulates
        its design at each total (with the plan's ``n_sims`` and ``seed``;
        the total is then the *planned* number randomized) at a third as
        many totals.  Columns ``n_randomized``, ``n_analysed``,
        ``hypothesis``, ``label``, ``power``, ``analysis``.

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> curve = plan.curve(points=11)
        >>> at_plan = curve[(curve.n_randomized == plan.allocation.n_randomized)
        ...                 & (curve.hypothesis == "rTMS:MBI")]
        >>> float(at_plan["power"].iloc[0]) == plan.primary_power["rTMS:MBI"]
        True
        """
        key = f"curve:{points}"
        if key not in self._cache:
            from trialplan._plan_tables import curve_frame

            self._cache[key] = curve_frame(self, points=points)
        return self._cache[key].copy()

    def familywise(self) -> dict[str, float] | None:
        """Power to reject at least one (``"any"``) and every (``"all"``) hypothesis of the family.

        None without a multiplicity procedure.

        Examples
        --------
        >>> import trialplan as tp
        >>> spec = tp.scenarios.state_dependent_synergy()
        >>> plan = spec.replace(multiplicity=tp.Holm(["rTMS", "MBI", "rTMS:MBI"])).evaluate()
        >>> power = plan.familywise()
        >>> power["all"] <= plan.primary_power["rTMS:MBI"] <= power["any"]
        True
        """
        if self.selects_arms:  # the closed test of the arm-selection design, simulated
            extras = self.adaptive_result.extras
            return {"any": float(extras["any"]), "all": float(extras["all"])}
        if self.multiplicity is None or self.is_regime_design:
            return None
        if "familywise" not in self._cache:
            result = self.design.power(
                list(self.family) if self.family else None, multiplicity=self.multiplicity
            )
            self._cache["familywise"] = {"any": float(result.any), "all": float(result.all)}
        return dict(self._cache["familywise"])

    def to_frame(self) -> Any:
        """The allocation per cell with display names (a DataFrame).

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> frame = plan.to_frame()
        >>> frame["cell"].tolist()[0], frame["randomized"].tolist(), frame["analysed"].tolist()
        ('sham rTMS + no MBI', [360, 360, 360, 360], [334, 252, 334, 252])
        """
        return self.allocation.to_frame(self.cell_labels())

    # -------------------------------------------------------- randomization
    @property
    def list_allocation(self) -> Allocation:
        """What the randomization list holds: ``maximum`` for an adaptive plan, else ``allocation``.

        With arm selection: the stage-1 list's counts (every arm, whole blocks,
        until the selection look; see :meth:`selection_schedules`).

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> plan.list_allocation is plan.allocation
        True
        """
        if self.selects_arms:  # the stage-1 list (stage-2 lists: selection_schedules)
            return selection.stage_allocation(self)
        return self.maximum if self.maximum is not None else self.allocation

    def schedule(self, *, stage: int | None = None, seed: int | None = None) -> Any:
        """The permuted-block randomization list of the plan.

        Every stratum's list holds exactly ``allocation.n_randomized``
        assignments, in the plan's ratios, so its counts per cell are the
        plan's randomized counts (enough should the whole trial enrol in one
        stratum).  An adaptive plan's list holds ``maximum.n_randomized``,
        enough for the largest trial the re-estimation allows.  A plan with
        arm selection returns its stage-1 list (:meth:`selection_schedules`
        has the stage-2 lists too).

        Parameters
        ----------
        stage : {1, 2}, optional
            SMART only: the stage-1 list (default) or the stage-2 lists of
            non-responders (one per stage-1 arm, each as long as that arm).
        seed : int, optional
            Overrides ``randomization.seed``.

        Returns
        -------
        trialplan.randomization.Schedule

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> frame = plan.schedule().to_frame()
        >>> frame.groupby(["site", "rTMS", "MBI"]).size().unique().tolist()
        [360]
        """
        from trialplan.randomization import permuted_blocks

        if self.selects_arms and stage is None:
            return self.selection_schedules(seed=seed)["stage 1"]
        settings = self.randomization
        seed = settings.seed if seed is None else seed
        strata = {k: tuple(v) for k, v in settings.strata.items()}
        if self.is_regime_design:
            stage = 1 if stage is None else stage
            if stage == 2:
                return permuted_blocks(
                    self.design,
                    n=max(self.allocation.randomized),
                    strata=strata,
                    seed=seed,
                    stage=2,
                    description=self.describe(),
                )
        elif stage is not None:
            raise ValueError(
                f"stage={stage!r} applies to SMART designs only; this design has one "
                "randomization, so leave stage=None"
            )
        alloc = self.list_allocation
        return permuted_blocks(
            self.design,
            n=alloc.n_randomized,
            block_sizes=alloc.block_sizes,
            strata=strata,
            seed=seed,
            ratios=dict(zip(alloc.cells, alloc.ratios, strict=True)),
            stage=stage,
            exact=True,
            description=self.describe(),
        )

    # -------------------------------------------------------------- display
    def describe(self) -> str:
        """One line: the design, the numbers randomized and analysed, alpha.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.scenarios.state_dependent_synergy().evaluate().describe()
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        'Factorial 2x2 (rTMS x MBI) | ... randomized (... per cell), ... analysed |
         alpha=0.05 two-sided'
        """
        design = self.design
        head = design.describe().split(" | ")[0]
        if self.factorial is not None:  # arm selection among a factorial's cells
            head = (
                f"{self.factorial.describe().split(' | ')[0]}, its {len(design.arms)} cells as "
                f"arms vs {design.control}"
            )
        alloc = self.allocation
        per = (
            f"{alloc.randomized[0]} per {_UNIT.get(design.design_kind, 'cell')}"
            if len(set(alloc.randomized)) == 1
            else ", ".join(
                f"{label} {n}"
                for label, n in zip(self.cell_labels(), alloc.randomized, strict=True)
            )
        )
        sided = "two-sided" if design.sided == 2 else "one-sided"
        text = (
            f"{head} | {alloc.n_randomized} randomized ({per}), {alloc.n_analysed} analysed | "
            f"alpha={design.alpha:g} {sided}"
        )
        if self.maximum is not None:
            text += (
                f" | re-estimated at the interim: at most {self.maximum.n_randomized} randomized"
            )
        return text

    def __repr__(self) -> str:
        alloc = self.allocation
        how = (
            f"solved for {self.target:.0%} power of {', '.join(self.primary)}"
            if self.size == "solve"
            else f"as stated (power of {', '.join(self.primary)})"
        )
        if self.selects_arms and self.size == "solve":
            how = f"solved for {self.target:.0%} power to reject at least one comparison"
        lines = [f"TrialPlan | {self.describe()}", f"  size: {how}"]
        frame = self.to_frame()
        lines += ["  " + line for line in frame.to_string(index=False).splitlines()]
        for name, value in self.primary_power.items():
            lines.append(f"  power of {name} ({self.analysis_of(name)}): {value:.4f}")
        if self.sequential is not None:
            looks = ", ".join(f"{t:.3g}" for t in self.sequential.info_fractions)
            lines.append(f"  interim looks at {looks}")
        if self.selects_arms:
            result = self.adaptive_result
            lines.append(
                f"  arm selection: {self.adaptive.describe()} Simulated ({result.n_sims} trials, "
                f"seed {self.seed}): familywise error (global null) "
                f"{result.extras['fwer_global_null']:.4f}, power to reject at least one "
                f"{result.extras['any']:.4f}, expected N analysed {result.expected_n:.1f}, at "
                f"most {result.max_n:g} analysed"
            )
        elif self.adaptive is not None:
            result = self.adaptive_result
            lines.append(
                f"  adaptive: {self.adaptive.describe()} Simulated ({result.n_sims} trials, seed "
                f"{self.seed}): type I error {result.type_i_error[self.primary[0]]:.4f}, expected "
                f"N analysed {result.expected_n:.1f}, at most {result.max_n:g} analysed "
                f"({self.maximum.n_randomized} randomized)"
            )
        lines.append(f"  blocks {alloc.block_sizes}, seed {self.randomization.seed}")
        return "\n".join(lines)

    __str__ = __repr__


# --------------------------------------------------------------------- build
def plan(
    design: Any,
    *,
    power: float | None = None,
    primary: str | Sequence[str] | None = None,
    hypotheses: Sequence[str] | None = None,
    size: str | None = None,
    sequential: Any = None,
    multiplicity: Any = None,
    adaptive: Any = None,
    method: str = "analytic",
    n_sims: int = 10_000,
    seed: int = 2026,
    randomization: RandomizationPlan | None = None,
    sensitivity: SensitivityGrid | None = None,
    labels: Labels | None = None,
    title: str = "",
    outcome_label: str = "the primary outcome",
    timepoint: str = "the primary timepoint",
    sources: Sequence[str] = (),
    scenario: str = "",
    source: Any = None,
) -> TrialPlan:
    """Resolve a design into a :class:`TrialPlan`.

    Parameters
    ----------
    design : design object, or an object with ``evaluate()``
        A ``tp.Factorial``, ``tp.Parallel`` or ``tp.SMART``; a
        :class:`~trialplan.spec.Spec` is evaluated (its settings apply and
        the keywords are not allowed).
    power : float, optional
        Target power of the primary hypotheses.  Required when the size is
        solved.
    primary : str or sequence of str, optional
        Hypotheses that set the size (all must reach ``power``); by default
        the design's ``primary``, else its first interaction, else its first
        hypothesis.
    hypotheses : sequence of str, optional
        Hypotheses to report (default: the design's).
    size : {"solve", "fixed"}, optional
        ``"solve"``: the smallest size (allocation ratios kept) reaching
        ``power``; ``"fixed"``: the design's own sizes.  Default: ``"solve"``
        when ``power`` is given, else ``"fixed"``.
    sequential : tp.GroupSequential, optional
        Interim looks for the primary hypotheses (the size is then the
        group-sequential maximum).
    multiplicity : procedure, optional
        A multiplicity procedure (``tp.Holm([...])`` ...); primary hypotheses
        in its family are sized under it.
    adaptive : tp.SampleSizeReestimation, optional
        Re-estimate the size of the stages after each interim of
        ``sequential`` (a one-sided ``tp.GroupSequential``; its bounds are
        those of the inverse normal combination test with the planned CHW
        weights) for the one primary hypothesis.  The planned sizes are the
        group-sequential design's (solved for ``power`` at the planning
        effect, or as stated); the adaptive design's power, type I error and
        sample-size distribution are simulated once, with ``n_sims`` and
        ``seed``, and the randomization list holds the largest trial the
        rule allows (:attr:`TrialPlan.maximum`).  Or an
        ``ArmSelection(...)`` (:mod:`trialplan.adaptive`): arms selected at an
        interim of a multi-arm ``tp.Parallel``, or cells of a
        ``tp.Factorial`` compared with its reference cell, resolved as the
        equivalent multi-arm Parallel design (:attr:`TrialPlan.factorial`).
    method : {"analytic", "simulation"}, default "analytic"
        ``"simulation"`` adds simulated powers beside the exact ones.
    n_sims : int, default 10000
        Simulated trials when ``method="simulation"`` or ``adaptive`` is
        given.
    seed : int, default 2026
        Seed of the simulation.
    randomization : RandomizationPlan, optional
        Block sizes, strata, seed and (optionally) the number randomized.
    sensitivity : SensitivityGrid, optional
        Values of the sensitivity table.
    labels : Labels, optional
        Display names.
    title, outcome_label, timepoint : str
        Wording of the protocol.
    sources : sequence of str
        Citations of the planning values.
    scenario : str
        Preset name, if any.
    source : object, optional
        What the plan was made from (kept for the protocol's spec copy).

    Returns
    -------
    TrialPlan

    Raises
    ------
    ValueError
        For an unknown hypothesis, a target power out of reach (a zero
        effect, or one against a one-sided test's direction), a ``size``
        not in ``("solve", "fixed")``, ``size="solve"`` without ``power``,
        a ``randomization.n`` below the plan's number (with ``adaptive``:
        below the maximum), or ``adaptive`` without a one-sided
        ``sequential``, with ``multiplicity`` or with several primary
        hypotheses.
    TypeError
        For an ``adaptive`` that is not a ``tp.SampleSizeReestimation``.

    Examples
    --------
    >>> import trialplan as tp
    >>> arms = tp.Parallel(arms=("rTMS alone", "MBI then rTMS"),
    ...                    outcome=tp.Continuous(means={"rTMS alone": -10.0,
    ...                                                 "MBI then rTMS": -13.0}, sd=8.0),
    ...                    n_per_arm=60, dropout=0.2)
    >>> p = tp.plan(arms)                      # the stated size: 60 analysed per arm
    >>> p.size, p.allocation.randomized, p.allocation.analysed
    ('fixed', (75, 75), (60, 60))
    >>> round(p.primary_power["MBI then rTMS vs rTMS alone"], 3)
    0.531

    Sample-size re-estimation at an interim with 60% of the information:

    >>> gsd = tp.GroupSequential(info_fractions=(0.6, 1.0), alpha=0.025)
    >>> ssr = tp.SampleSizeReestimation(conditional_power=0.9, max_factor=2.0)
    >>> a = tp.plan(arms.replace(alpha=0.025, sided=1), sequential=gsd, adaptive=ssr,
    ...             n_sims=4000, seed=1)
    >>> a.analysis_of("MBI then rTMS vs rTMS alone"), a.allocation.randomized, \
a.maximum.randomized
    ('adaptive', (75, 75), (105, 105))
    >>> a.stages()[["look", "planned", "minimum", "maximum"]].values.tolist()
    [[1, 36, 36, 36], [1, 36, 36, 36], [2, 60, 60, 84], [2, 60, 60, 84]]
    """
    if hasattr(design, "evaluate") and hasattr(design, "design"):  # a Spec
        changes = {
            k: v for k, v in dict(power=power, primary=primary, size=size).items() if v is not None
        }
        spec = design.replace(**changes) if changes else design
        return spec.evaluate()
    build.check_design(design)
    size = build.check_size(size, power)
    target = None if power is None else build.check_power(power)
    selects = type(adaptive).__name__ == "ArmSelection"
    stated, factorial = design, None
    if selects and selection.is_factorial(design):
        # the cells against the reference cell: a multi-arm trial, resolved as its Parallel
        factorial = design
        design = selection.multi_arm(design)
        selection.check_factorial_hypotheses(factorial, build.names("hypotheses", hypotheses))
        labels = selection.arm_labels(factorial, labels if labels is not None else Labels())
    if selects:  # the primary family: every comparison with the control
        primary_ = selection.check_selection(
            design,
            adaptive,
            sequential=sequential,
            multiplicity=multiplicity,
            primary=build.names("primary", primary) or None,
        )
    else:
        primary_ = build.names("primary", primary) or default_primary(design)
    reported = build.names("hypotheses", hypotheses) or design_hypotheses(design)
    for name in primary_ + tuple(n for n in reported if n not in primary_):
        build.check_hypothesis(design, name)
    method = build.check_method(method)
    check_adaptive(
        design, adaptive, sequential=sequential, multiplicity=multiplicity, primary=primary_
    )
    n_sims, seed = build.check_simulation(n_sims, seed)
    analysis = Analysis(primary_, sequential, multiplicity)
    settings = randomization if randomization is not None else RandomizationPlan()
    if size == "solve":
        if target is None:
            raise ValueError("size='solve' needs the target power; give power=, e.g. 0.9")
        if selects:
            chooser = Analysis(primary_, sequential, None, adaptive, n_sims=n_sims, seed=seed)
            sizing = selection.selection_size(
                design,
                adaptive,
                sequential=sequential,
                power=target,
                n_sims=n_sims,
                seed=seed,
                simulate=chooser.adaptive_result,
            )
        else:
            with build.setting("primary"):
                sizing = analysis.sample_size(design, power=target)
        sized = sizing.design
        sequential = getattr(sizing, "sequential", None) or sequential
        if factorial is not None:  # the size found, written back as the factorial's
            sizing = dataclasses.replace(
                sizing, design=factorial.with_cell_sizes([int(v) for v in sized.n_array])
            )
    else:
        sizing, sized = None, design
    with build.setting("randomization"):
        # an adaptive plan's randomization.n is the list's length: the maximum
        own = settings if adaptive is None or selects else settings.replace(n=None)
        allocation = build.allocation(sized, own)
    planned = build.at(sized, allocation.analysed)
    analysis = Analysis(primary_, sequential, multiplicity, adaptive, n_sims=n_sims, seed=seed)
    cache: dict[str, Any] = {}
    maximum = None
    if adaptive is not None:
        try:
            cache["adaptive_result"] = analysis.adaptive_result(planned)
        except ValueError as exc:  # the rule's stated effect, or a stage too small to analyse
            exc.setting = "adaptive.effect" if "effect" in str(exc) else "adaptive"  # type: ignore[attr-defined]
            raise
        if not selects:  # arm selection never randomizes more than planned per arm
            with build.setting("randomization"):
                maximum = maximum_allocation(
                    allocation, sequential.info_fractions, adaptive, settings
                )
    with build.setting("primary"):
        powers = analysis.powers(planned, primary_, adaptive_result=cache.get("adaptive_result"))
    family = analysis.family(planned)
    shown = list(primary_) + [n for n in reported if n not in primary_]
    shown += [n for n in family if n not in shown]
    grid = build.full_grid(planned, sensitivity)
    return TrialPlan(
        design=planned,
        stated=stated,
        factorial=(
            None if factorial is None else factorial.with_cell_sizes(list(allocation.analysed))
        ),
        sizing=sizing,
        allocation=allocation,
        size=size,
        target=target,
        primary=primary_,
        hypotheses=tuple(shown),
        primary_power=MappingProxyType(powers),
        sequential=sequential,
        multiplicity=multiplicity,
        adaptive=adaptive,
        maximum=maximum,
        method=method,
        n_sims=n_sims,
        seed=seed,
        randomization=settings.replace(n=(maximum or allocation).n_randomized),
        sensitivity_grid=grid,
        labels=labels if labels is not None else Labels(),
        title=title,
        outcome_label=outcome_label,
        timepoint=timepoint,
        sources=tuple(sources),
        scenario=scenario,
        source=source,
        _cache=cache,
    )
