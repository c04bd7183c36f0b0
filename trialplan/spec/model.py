"""The :class:`Spec`: a design plus what to compute, how to word it and how to randomize.

A Spec checks itself when it is made, every setting against the design (the
checks the commands would otherwise meet one at a time): hypothesis names,
the sequential design's level against the design's, the multiplicity
procedure's family, the randomization settings (block sizes against the
allocation ratios, strata) and the display names.  An error is a
:class:`SpecError` naming the TOML key.  :meth:`Spec.evaluate` resolves it into
a :class:`~trialplan.plan.TrialPlan`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trialplan._plan_analysis import (
    default_primary,
    design_hypotheses,
    family_of,
    integer_ratios,
    is_cell_design,
    is_regime_design,
)
from trialplan._validation import did_you_mean
from trialplan.allocation import RandomizationPlan, ratios_of
from trialplan.labels import Labels
from trialplan.sensitivity import SensitivityGrid
from trialplan.spec.errors import SpecError

__all__ = ["Spec"]

#: Where each setting of a plan lives in a spec file.
SETTING_KEYS = {
    "power": "analysis.power",
    "primary": "analysis.primary",
    "hypotheses": "analysis.hypotheses",
    "size": "analysis.size",
    "method": "analysis.method",
    "sequential": "analysis.sequential",
    "multiplicity": "analysis.multiplicity",
    "adaptive": "adaptive",
    "adaptive.hypothesis": "adaptive.hypothesis",
    "adaptive.effect": "adaptive.effect",
    "adaptive.sd": "adaptive.sd",
    "adaptive.round_up": "adaptive.round_up",
    "adaptive.min_factor": "adaptive.min_factor",
    "adaptive.selection_look": "adaptive.selection_look",
    "randomization": "randomization",
    "randomization.n": "randomization.n",
    "randomization.block_sizes": "randomization.block_sizes",
    "sensitivity": "sensitivity",
}


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A whole design spec: the design plus what to compute and how to word it.

    Parameters
    ----------
    design : object
        A trialplan design (``tp.Factorial``, ``tp.Parallel``, ``tp.SMART``...).
    title : str, default ""
        Trial title used in the protocol.
    outcome_label, timepoint : str
        The primary outcome and when it is measured, in words.
    sources : tuple of str, default ()
        Citations of the planning values, carried into the protocol.
    hypotheses : tuple of str, optional
        Hypotheses to report; by default the design's own list.
    primary : tuple of str, optional
        Hypotheses that set the sample size (all must reach ``power``); by
        default the first interaction (factorial) or the first hypothesis.
    power : float, default 0.9
        Target power of the primary hypotheses.
    size : {"solve", "fixed"}, default "solve"
        ``"solve"``: the plan's size is the smallest (allocation ratios of
        the design's sizes kept) at which the primary hypotheses reach
        ``power``; ``"fixed"``: the design's sizes as written (what
        ``trialplan sample-size --write`` records).
    method : {"analytic", "simulation"}, default "analytic"
        ``"simulation"`` adds simulated powers beside the exact ones.
    n_sims : int, default 10000
        Simulated trials when ``method="simulation"``.
    seed : int, default 2026
        Seed of any simulation.
    sequential : object, optional
        A ``tp.GroupSequential`` design for the primary hypotheses.
    multiplicity : object, optional
        A multiplicity procedure (``tp.Holm([...])`` ...).
    adaptive : tp.SampleSizeReestimation, optional
        Sample-size re-estimation of the primary hypothesis at the interims
        of ``sequential`` (the ``[adaptive]`` table); see
        :func:`trialplan.plan.plan`.
    randomization : RandomizationPlan, optional
        Settings for ``trialplan randomize``.
    sensitivity : SensitivityGrid, optional
        Settings for the sensitivity table.
    labels : Labels, optional
        Display names of factors, levels, arms and hypotheses.
    scenario : str, default ""
        Name of the :mod:`trialplan.scenarios` preset the spec came from.

    Raises
    ------
    SpecError
        (a ``ValueError``) naming the TOML key of a setting that does not fit
        the design.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> Spec(design=d).primary
    ('A:B',)
    >>> Spec(design=d, randomization=RandomizationPlan(block_sizes=(6,)))
    Traceback (most recent call last):
    ...
    trialplan.spec.errors.SpecError: randomization.block_sizes: block_sizes must be multiples \
of 4, the sum of the allocation ratios 1:1:1:1 over 4 treatments; got block_sizes=(6,) \
(e.g. use (4, 8))
    """

    design: Any
    title: str = ""
    outcome_label: str = "the primary outcome"
    timepoint: str = "the primary timepoint"
    sources: tuple[str, ...] = ()
    hypotheses: tuple[str, ...] | None = None
    primary: tuple[str, ...] | None = None
    power: float = 0.9
    size: str = "solve"
    method: str = "analytic"
    n_sims: int = 10_000
    seed: int = 2026
    sequential: Any = None
    multiplicity: Any = None
    adaptive: Any = None
    randomization: RandomizationPlan | None = None
    sensitivity: SensitivityGrid | None = None
    labels: Labels = field(default_factory=Labels)
    scenario: str = ""

    def __post_init__(self) -> None:
        if not (is_cell_design(self.design) or is_regime_design(self.design)):
            raise TypeError(
                "design must be a trialplan design (tp.Factorial, tp.Parallel or tp.SMART); "
                f"got design={self.design!r}"
            )
        for name in ("title", "outcome_label", "timepoint", "scenario"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string; got {name}={getattr(self, name)!r}")
        for name in ("sources", "hypotheses", "primary"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, Iterable):  # tuple(3) said "'int' ... not iterable"
                raise TypeError(f"{name} must be a list of strings; got {name}={value!r}")
            value = tuple(value)
            if not all(isinstance(v, str) for v in value):
                raise TypeError(f"{name} must be a list of strings; got {name}={value!r}")
            if name != "sources" and not value:
                raise ValueError(f"{name} must name at least one hypothesis; got []")
            object.__setattr__(self, name, value)
        selects = type(self.adaptive).__name__ == "ArmSelection"
        # arm selection among a factorial's cells names comparisons of its cells (as arms)
        named = _selection_design(self.design) if selects else self.design
        if named is not self.design:
            from trialplan._plan_selection import check_factorial_hypotheses

            check_factorial_hypotheses(self.design, self.hypotheses or ())
        for name in ("hypotheses", "primary"):
            for h in getattr(self, name) or ():
                _check_hypothesis(named, name, h)
        if self.primary is None:
            if selects and getattr(named, "control", None) is not None:
                from trialplan._plan_selection import comparisons

                # arm selection: the family of every comparison with the control
                object.__setattr__(self, "primary", comparisons(self.design))
            else:
                object.__setattr__(self, "primary", default_primary(self.design))
        self._check_numbers()
        if not isinstance(self.labels, Labels):
            raise TypeError(f"labels must be a trialplan.Labels; got labels={self.labels!r}")
        _check_sequential(self)
        _check_multiplicity(self)
        _check_adaptive(self)
        _check_randomization(self)
        _check_labels(self)
        _check_sensitivity(self)

    def _check_numbers(self) -> None:
        if (
            isinstance(self.power, bool)
            or not isinstance(self.power, numbers.Real)
            or not 0 < self.power < 1
        ):
            raise ValueError(f"power must lie strictly between 0 and 1; got power={self.power!r}")
        object.__setattr__(self, "power", float(self.power))
        for name, allowed in (("method", ("analytic", "simulation")), ("size", ("solve", "fixed"))):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"{name}={value!r} is not allowed; choose {' or '.join(map(repr, allowed))}"
                    + did_you_mean(str(value), allowed)
                )
        for name in ("n_sims", "seed"):
            value = getattr(self, name)
            # numbers.Integral: numpy integers (np.int64(1000)) were refused
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < (1 if name == "n_sims" else 0)
            ):
                raise ValueError(
                    f"{name} must be a whole number >= "
                    f"{1 if name == 'n_sims' else 0}; got {name}={value!r}"
                )
            object.__setattr__(self, name, int(value))

    @property
    def hypothesis_names(self) -> tuple[str, ...]:
        """Hypotheses reported: ``hypotheses`` or the design's defaults."""
        if self.hypotheses is not None:
            return self.hypotheses
        return design_hypotheses(self.design)

    def replace(self, **changes: Any) -> Spec:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def evaluate(self) -> Any:
        """Resolve the spec into a :class:`~trialplan.plan.TrialPlan`.

        Returns
        -------
        TrialPlan
            The design sized (or as stated), the numbers randomized in whole
            blocks, the analysis, randomization and sensitivity settings and
            the protocol's wording.

        Raises
        ------
        SpecError
            Naming the TOML key of the setting that fails (e.g.
            ``analysis.primary`` for a target power out of reach).

        Examples
        --------
        >>> import trialplan as tp
        >>> plan = tp.scenarios.state_dependent_synergy().evaluate()
        >>> plan.primary, plan.allocation.ratios
        (('rTMS:MBI',), (1, 1, 1, 1))
        """
        from trialplan.plan import plan

        try:
            return plan(
                self.design,
                power=self.power,
                primary=self.primary,
                hypotheses=self.hypotheses,
                size=self.size,
                sequential=self.sequential,
                multiplicity=self.multiplicity,
                adaptive=self.adaptive,
                method=self.method,
                n_sims=self.n_sims,
                seed=self.seed,
                randomization=self.randomization,
                sensitivity=self.sensitivity,
                labels=self.labels,
                title=self.title,
                outcome_label=self.outcome_label,
                timepoint=self.timepoint,
                sources=self.sources,
                scenario=self.scenario,
                source=self,
            )
        except SpecError:
            raise
        except ValueError as exc:
            setting = getattr(exc, "setting", "primary")
            raise SpecError(SETTING_KEYS.get(setting, "analysis"), str(exc)) from None


# ------------------------------------------------------------------ checks
def _selection_design(design: Any) -> Any:
    """The design whose comparisons arm selection tests (a factorial's multi-arm equivalent)."""
    from trialplan._plan_selection import is_factorial, multi_arm

    if not is_factorial(design):
        return design
    try:
        return multi_arm(design)
    except ValueError as exc:
        raise SpecError("adaptive", str(exc)) from None


def _check_hypothesis(design: Any, name: str, hypothesis: str) -> None:
    if is_regime_design(design):
        known = design_hypotheses(design)
        if hypothesis not in known:
            raise ValueError(
                f"{name} names an unknown hypothesis {hypothesis!r}; the design's are "
                f"{list(known)}" + did_you_mean(hypothesis, known)
            )
        return
    try:
        design.hypothesis(hypothesis)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} names an unknown hypothesis {hypothesis!r}: {exc}") from None


def _check_sequential(spec: Spec) -> None:
    gsd = spec.sequential
    if gsd is None:
        return
    if not (hasattr(gsd, "info_fractions") and hasattr(gsd, "alpha")):
        raise SpecError(
            "analysis.sequential",
            f'must be a tp.GroupSequential (type = "group_sequential"); got {gsd!r}',
        )
    design = spec.design
    design_level = design.alpha / design.sided
    gsd_level = gsd.alpha / gsd.sided
    if not math.isclose(design_level, gsd_level, rel_tol=1e-9):
        raise SpecError(
            "analysis.sequential.alpha",
            f"{'one' if gsd.sided == 1 else 'two'}-sided alpha={gsd.alpha:g} ({gsd_level:g} per "
            f"tail) disagrees with the design's {'one' if design.sided == 1 else 'two'}-sided "
            f"alpha={design.alpha:g} ({design_level:g} per tail); give both the same level",
        )


#: Where the settings an adaptive plan checks live in a spec file.
_ADAPTIVE_KEYS = {
    "adaptive": "adaptive",
    "adaptive.hypothesis": "adaptive.hypothesis",
    "adaptive.sd": "adaptive.sd",
    "adaptive.round_up": "adaptive.round_up",
    "adaptive.selection_look": "adaptive.selection_look",
    "sequential": "analysis.sequential",
    "primary": "analysis.primary",
}


def _check_adaptive(spec: Spec) -> None:
    """The plan's checks of an ``[adaptive]`` table against the design and the analysis."""
    from trialplan._plan_adaptive import check_adaptive
    from trialplan._plan_selection import check_selection

    if spec.adaptive is None:
        return
    try:
        if type(spec.adaptive).__name__ == "ArmSelection":
            check_selection(
                spec.design,
                spec.adaptive,
                sequential=spec.sequential,
                multiplicity=spec.multiplicity,
                primary=spec.primary or None,
            )
            return
        check_adaptive(
            spec.design,
            spec.adaptive,
            sequential=spec.sequential,
            multiplicity=spec.multiplicity,
            primary=spec.primary or (),
        )
    except (ValueError, TypeError) as exc:
        key = _ADAPTIVE_KEYS.get(getattr(exc, "setting", "adaptive"), "adaptive")
        raise SpecError(key, str(exc)) from None


def _check_multiplicity(spec: Spec) -> None:
    procedure = spec.multiplicity
    if procedure is None:
        return
    family = family_of(procedure)
    key = "families" if getattr(procedure, "families", None) else "hypotheses"
    if family is None and not hasattr(procedure, "sample_size"):
        raise SpecError(
            "analysis.multiplicity",
            f"{type(procedure).__name__} is not a multiplicity procedure with a family of "
            "hypotheses",
        )
    known = design_hypotheses(spec.design)
    for name in family or ():
        try:
            _check_hypothesis(spec.design, "multiplicity", name)
        except ValueError:
            raise SpecError(
                f"analysis.multiplicity.{key}",
                f"{name!r} is not a hypothesis of this design; its hypotheses include "
                f"{list(known)}" + did_you_mean(name, known),
            ) from None


def _check_randomization(spec: Spec) -> None:
    """The list's own checks (block sizes against the ratios, strata), on a tiny list."""
    from trialplan.randomization import permuted_blocks

    settings = spec.randomization or RandomizationPlan()
    design = spec.design
    if is_regime_design(design):
        probs = design.stage1_allocation
        ratios = integer_ratios([probs[a] for a in design.stage1])
        options: dict[str, Any] = {"stage": 1}
        treatments: tuple[Any, ...] = tuple(design.stage1)
    else:
        ratios = ratios_of([int(n) for n in design.n_array])
        options = {}
        treatments = tuple(design.cells)
    try:
        permuted_blocks(
            design,
            n=sum(ratios),
            block_sizes=settings.block_sizes or None,
            strata={k: tuple(v) for k, v in settings.strata.items()},
            seed=settings.seed,
            ratios=dict(zip(treatments, ratios, strict=True)),
            **options,
        )
    except (ValueError, TypeError) as exc:
        message = str(exc)
        word = message.split(" ", 1)[0].split("[", 1)[0]
        key = {"block_sizes": "block_sizes", "strata": "strata", "seed": "seed"}.get(word, "")
        raise SpecError(f"randomization.{key}" if key else "randomization", message) from None


def _check_labels(spec: Spec) -> None:
    try:
        spec.labels.check(spec.design)
    except ValueError as exc:
        table, _, rest = str(exc).partition(": ")
        raise SpecError(f"labels.{table}", rest) from None


def _check_sensitivity(spec: Spec) -> None:
    grid = spec.sensitivity
    if grid is None or not grid.sd:
        return
    design = spec.design
    outcome = design if design.design_kind == "smart" else design.outcome
    sd = design.sd if design.design_kind == "smart" else design.outcome.common_sd
    if sd is None:
        raise SpecError(
            "sensitivity.sd",
            f"sd={list(grid.sd)} given, but a {type(outcome).__name__} outcome has no single SD; "
            "leave sd out",
        )
