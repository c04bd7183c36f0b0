"""How a plan sizes its design and computes power under its analysis.

One place that knows how the plan calls the designs' shared protocol
(``design_kind``, ``hypothesis_names``, ``primary``, ``power``,
``sample_size``), so that :mod:`trialplan.plan` and everything built on it
never test a design's type: a *cell design* (``design_kind`` "factorial" or
"parallel") has cells it can resize, a *regime design* (``design_kind``
"smart") randomizes stage-1 arms and embeds regimes.

The analysis of a hypothesis is one of

* ``"group-sequential"``: a primary hypothesis of a plan with interim looks
  (the power of the group-sequential test at the maximum size);
* ``"multiplicity"``: a member of the multiplicity procedure's family (its
  power under the procedure);
* ``"adaptive"``: the primary hypothesis of a plan with sample-size
  re-estimation (its power by simulation of the adaptive design, with the
  plan's ``n_sims`` and ``seed``, so every figure reproduces the same number);
* ``"arm selection"``: a comparison with the control in a plan with arm
  selection at an interim (its power to be rejected by the closed test, by
  simulation of the whole design with the plan's ``n_sims`` and ``seed``);
* ``"single"``: one test at the final analysis, unadjusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any

__all__ = ["Analysis", "is_cell_design", "is_regime_design"]


def is_cell_design(design: Any) -> bool:
    """True for designs whose cells can be resized (factorial, parallel arms)."""
    return getattr(design, "design_kind", "") in ("factorial", "parallel")


def is_regime_design(design: Any) -> bool:
    """True for a SMART: stage-1 arms, stage-2 options and embedded regimes."""
    return getattr(design, "design_kind", "") == "smart"


def design_hypotheses(design: Any) -> tuple[str, ...]:
    """The design's default hypotheses (a SMART: the comparisons its power table prints)."""
    names = getattr(design, "hypothesis_names", None)
    return tuple(names) if names is not None else ()


def default_primary(design: Any) -> tuple[str, ...]:
    """The design's own ``primary``, else its first interaction, else its first hypothesis."""
    own = getattr(design, "primary", None)
    if own:
        return (own,) if isinstance(own, str) else tuple(own)
    names = design_hypotheses(design)
    for name in names:
        if ":" in name and "|" not in name:
            return (name,)
    if names:
        return (names[0],)
    raise ValueError(
        "primary must name the hypothesis that sets the sample size; the design lists no hypotheses"
    )


def family_of(procedure: Any) -> tuple[str, ...] | None:
    """The hypotheses a multiplicity procedure controls (None: the procedure's own default)."""
    if procedure is None:
        return None
    families = getattr(procedure, "families", None)
    if families:
        return tuple(h for fam in families for h in fam)
    hypotheses = getattr(procedure, "hypotheses", None)
    return tuple(hypotheses) if hypotheses else None


def integer_ratios(probabilities: Sequence[float]) -> tuple[int, ...]:
    """Whole-number ratios of allocation probabilities (1/2, 1/2 -> 1, 1)."""
    fractions = [Fraction(float(p)).limit_denominator(1000) for p in probabilities]
    common = reduce(math.lcm, (f.denominator for f in fractions))
    values = [int(f * common) for f in fractions]
    divisor = math.gcd(*values)
    return tuple(v // divisor for v in values)


@dataclass(frozen=True)
class Analysis:
    """The plan's analysis: which test each hypothesis gets and how power is computed.

    Parameters
    ----------
    primary : tuple of str
        Hypotheses that set the sample size.
    sequential : GroupSequential, optional
        Interim looks for the primary hypotheses.
    multiplicity : procedure, optional
        A multiplicity procedure and its family.
    adaptive : SampleSizeReestimation, optional
        Sample-size re-estimation of the (one) primary hypothesis on
        ``sequential``'s looks; its power is simulated.
    n_sims, seed : int
        Simulated trials and seed of the adaptive design's simulation.
    """

    primary: tuple[str, ...]
    sequential: Any = None
    multiplicity: Any = None
    adaptive: Any = None
    n_sims: int = 10_000
    seed: int = 2026

    # --------------------------------------------------------------- family
    def family(self, design: Any) -> tuple[str, ...]:
        """Hypotheses under the multiplicity procedure (empty without one)."""
        if self.multiplicity is None:
            return ()
        family = family_of(self.multiplicity)
        if family is None:  # Dunnett: the design's many-to-one comparisons
            return tuple(design.power(multiplicity=self.multiplicity))
        return family

    def kind(self, design: Any, name: str) -> str:
        """The test of ``name``: adaptive, arm selection, group-sequential, multiplicity, single."""
        if self.selects_arms:
            return "arm selection" if name in self.primary else "single"
        if self.adaptive is not None and name == self.primary[0]:
            return "adaptive"
        if self.sequential is not None and name in self.primary:
            return "group-sequential"
        if self.multiplicity is not None and name in self.family(design):
            return "multiplicity"
        return "single"

    @property
    def selects_arms(self) -> bool:
        """True when the adaptation is arm selection (every primary comparison is simulated)."""
        return type(self.adaptive).__name__ == "ArmSelection"

    # ---------------------------------------------------------------- power
    def adaptive_result(self, design: Any) -> Any:
        """The adaptive design's simulation at ``design`` (plan's ``n_sims`` and ``seed``)."""
        if self.selects_arms:
            return design.power(
                sequential=self.sequential,
                adaptive=self.adaptive,
                method="simulation",
                n_sims=self.n_sims,
                seed=self.seed,
            )
        return design.power(
            [self.primary[0]],
            sequential=self.sequential,
            adaptive=self.adaptive,
            method="simulation",
            n_sims=self.n_sims,
            seed=self.seed,
        )

    def powers(
        self, design: Any, names: Sequence[str], *, adaptive_result: Any = None
    ) -> dict[str, float]:
        """Power of each named hypothesis of ``design`` under this analysis.

        ``adaptive_result``: the adaptive simulation at ``design`` when it is
        already known (the plan keeps its own), so it is not run again.
        """
        names = list(dict.fromkeys(names))
        out: dict[str, float] = {}
        adaptive = [n for n in names if self.kind(design, n) in _SIMULATED]
        if adaptive:
            result = adaptive_result or self.adaptive_result(design)
            out.update({n: float(result[n]) for n in adaptive})
        sequential = [n for n in names if self.kind(design, n) == "group-sequential"]
        family = [n for n in names if self.kind(design, n) == "multiplicity"]
        fixed = [n for n in names if n not in sequential and n not in family and n not in adaptive]
        for name in sequential:
            out[name] = float(design.power([name], sequential=self.sequential)[name])
        if family:
            result = design.power(_named_family(self.multiplicity), multiplicity=self.multiplicity)
            out.update({n: float(result[n]) for n in family})
        if fixed:
            result = design.power(fixed)
            out.update({n: float(result[n]) for n in fixed})
        return {n: out[n] for n in names}

    def simulated(
        self,
        design: Any,
        names: Sequence[str],
        *,
        n_sims: int,
        seed: int,
        adaptive_result: Any = None,
        executor: Any = None,
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Simulated power and its Monte Carlo standard error, by the same analysis.

        ``executor`` (optional) runs the blocks of trials; the results do not
        depend on it (the web page passes one that counts blocks for its
        progress bar).
        """
        names = list(dict.fromkeys(names))
        options: dict[str, Any] = {"method": "simulation", "n_sims": n_sims, "seed": seed}
        if executor is not None:
            options["executor"] = executor
        power: dict[str, float] = {}
        mcse: dict[str, float] = {}

        def take(result: Any, which: Sequence[str]) -> None:
            for name in which:
                power[name] = float(result[name])
                mcse[name] = float(result.mcse[name])

        adaptive = [n for n in names if self.kind(design, n) in _SIMULATED]
        if adaptive:  # the adaptive design's power is its simulation
            take(adaptive_result or self.adaptive_result(design), adaptive)
        sequential = [n for n in names if self.kind(design, n) == "group-sequential"]
        family = [n for n in names if self.kind(design, n) == "multiplicity"]
        fixed = [n for n in names if n not in sequential and n not in family and n not in adaptive]
        if sequential:
            take(design.power(sequential, sequential=self.sequential, **options), sequential)
        if family:
            result = design.power(
                _named_family(self.multiplicity), multiplicity=self.multiplicity, **options
            )
            take(result, family)
        if fixed:
            take(design.power(fixed, **options), fixed)
        return power, mcse

    # --------------------------------------------------------- sample size
    def sample_size(self, design: Any, *, power: float) -> Any:
        """The smallest design (allocation kept) at which every primary reaches ``power``."""
        primary = list(self.primary)
        if is_regime_design(design) and len(primary) != 1:
            raise ValueError(f"primary={primary}: a SMART is sized for one comparison; name one")
        hypothesis: Any = primary[0] if len(primary) == 1 else primary
        if self.sequential is not None:
            return design.sample_size(
                power=power, hypothesis=hypothesis, sequential=self.sequential
            )
        family = self.family(design)
        if self.multiplicity is not None and all(n in family for n in primary):
            if family_of(self.multiplicity) is None and hasattr(self.multiplicity, "sample_size"):
                # Dunnett sizes its whole many-to-one family.
                return self.multiplicity.sample_size(design, power=power)
            return design.sample_size(
                power=power, hypothesis=hypothesis, multiplicity=self.multiplicity
            )
        return design.sample_size(power=power, hypothesis=hypothesis)


_SIMULATED = ("adaptive", "arm selection")


def _named_family(procedure: Any) -> list[str] | None:
    family = family_of(procedure)
    return list(family) if family is not None else None
