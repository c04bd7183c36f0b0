"""Display names: the words a protocol uses for factors, levels, cells and hypotheses.

Code identifiers (``"rTMS | MBI=control"``, ``"sham+control"``) are exact but
not what a protocol says.  :class:`Labels` turns them into words, from names a
spec may give and otherwise from these defaults:

* a level reads as ``"<level> <factor>"`` ("sham rTMS", "active rTMS"); a
  level that already contains its factor's name reads as itself ("MBI"); a
  control-like level (control, none, no, off, absent, usual care, waitlist)
  reads as ``"no <factor>"`` ("no MBI");
* a cell joins its levels with " + " ("active rTMS + no MBI");
* a main effect reads "the main effect of rTMS", an interaction "the rTMS x MBI
  interaction", a simple effect "the effect of rTMS with MBI" (or "without
  MBI" for a control-like level), the min test "the combination test (active
  rTMS + MBI against each treatment alone)";
* parallel arms and SMART treatments read as their names; a SMART regime
  ``("rTMS", "augment")`` as "rTMS, then augment if no response".

Examples
--------
>>> import trialplan as tp
>>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
...                  outcome=tp.Continuous(means={("sham", "control"): 0, ("active", "control"): -3,
...                      ("sham", "MBI"): -2, ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
>>> labels = Labels()
>>> labels.cell(d, ("active", "control"))
'active rTMS + no MBI'
>>> labels.hypothesis(d, "rTMS:MBI"), labels.hypothesis(d, "rTMS | MBI=control")
('the rTMS x MBI interaction', 'the effect of rTMS without MBI')
>>> Labels(levels={"MBI": {"control": "health enhancement"}}).cell(d, ("sham", "control"))
'sham rTMS + health enhancement'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trialplan._validation import did_you_mean

__all__ = ["Labels"]

_CONTROL_WORDS = ("control", "none", "no", "off", "absent", "usual care", "waitlist", "wait-list")
_SECTIONS = ("factors", "levels", "arms", "hypotheses")


def _text_table(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a table of names to display names; got {name}={value!r}")
    out = {}
    for key, text in value.items():
        if not isinstance(key, str) or not isinstance(text, str) or not text.strip():
            raise TypeError(
                f"{name} must map names to non-empty display names (strings); "
                f"got {name}[{key!r}]={text!r}"
            )
        out[key] = text
    return out


@dataclass(frozen=True, kw_only=True)
class Labels:
    """Display names for a design's factors, levels, arms and hypotheses.

    Every field is optional; anything not named gets the default wording
    described in :mod:`trialplan.labels`.

    Parameters
    ----------
    factors : mapping of str to str, optional
        Factor name to display name, e.g. ``{"MBI": "mindfulness"}``.
    levels : mapping of str to mapping of str to str, optional
        Factor name to ``{level: display name}``, e.g.
        ``{"rTMS": {"sham": "sham rTMS", "active": "active rTMS"}}``.
    arms : mapping of str to str, optional
        Arm (parallel designs) or stage-1 treatment and stage-2 option
        (SMART) to display name.
    hypotheses : mapping of str to str, optional
        Hypothesis name to display name, e.g.
        ``{"rTMS:MBI": "the synergy of rTMS and MBI"}``.

    Raises
    ------
    TypeError
        If a table is not a mapping of names to non-empty strings.

    Examples
    --------
    >>> Labels(hypotheses={"rTMS:MBI": "the synergy test"}).hypotheses["rTMS:MBI"]
    'the synergy test'
    """

    factors: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    arms: Mapping[str, str] = field(default_factory=dict)
    hypotheses: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("factors", "arms", "hypotheses"):
            table = _text_table(name, getattr(self, name))
            object.__setattr__(self, name, MappingProxyType(table))
        if not isinstance(self.levels, Mapping):
            raise TypeError(
                f"levels must be a table {{factor: {{level: display name}}}}; got "
                f"levels={self.levels!r}"
            )
        levels = {
            str(f): MappingProxyType(_text_table(f"levels[{f!r}]", table))
            for f, table in self.levels.items()
        }
        object.__setattr__(self, "levels", MappingProxyType(levels))

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in _SECTIONS)

    # ------------------------------------------------------------ checking
    def check(self, design: Any) -> None:
        """Raise if a name refers to no factor, level, arm or hypothesis of ``design``.

        Raises
        ------
        ValueError
            Naming the table and the unknown name (the closest is suggested).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("a", "b"), outcome=tp.Continuous(means={"a": 0, "b": 1},
        ...                 sd=1.0), n_per_arm=10)
        >>> Labels(arms={"c": "arm C"}).check(d)
        Traceback (most recent call last):
        ...
        ValueError: arms: 'c' is not an arm of this design; arms are ['a', 'b']
        """
        factors = dict(getattr(design, "factors", {}) or {})
        for name in self.factors:
            _known("factors", name, factors, "a factor", "factors")
        for name, table in self.levels.items():
            _known("levels", name, factors, "a factor", "factors")
            for level in table:
                _known(f"levels.{name}", level, factors[name], f"a level of {name!r}", "levels")
        arms = _arm_names(design)
        for name in self.arms:
            _known("arms", name, arms, "an arm", "arms")
        hypothesis = getattr(design, "hypothesis", None)
        for name in self.hypotheses:
            if callable(hypothesis):
                try:
                    hypothesis(name)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"hypotheses: {name!r} is not a hypothesis: {exc}") from None

    # ------------------------------------------------------------- wording
    def factor(self, name: str) -> str:
        """Display name of a factor (its own name by default)."""
        return self.factors.get(name, name)

    def level(self, factor: str, level: str) -> str:
        """Display name of one level of a factor ("sham rTMS", "no MBI", "MBI")."""
        given = self.levels.get(factor, {}).get(level)
        if given is not None:
            return given
        shown = self.factor(factor)
        if level.strip().lower() in _CONTROL_WORDS:
            return f"no {shown}"
        if factor.lower() in level.lower() or shown.lower() in level.lower():
            return level
        return f"{level} {shown}"

    def arm(self, name: str) -> str:
        """Display name of an arm, stage-1 treatment or stage-2 option."""
        return self.arms.get(name, name)

    def cell(self, design: Any, cell: Any) -> str:
        """Display name of a cell: its levels joined by " + " (an arm: its name)."""
        factors = getattr(design, "factors", None)
        if factors and isinstance(cell, tuple) and len(cell) == len(factors):
            return " + ".join(self.level(f, lv) for f, lv in zip(factors, cell, strict=True))
        smart = getattr(design, "design_kind", "") == "smart"
        if isinstance(cell, tuple) and len(cell) == 2 and smart:
            return self.regime(cell)
        return self.arm(str(cell))

    def regime(self, regime: tuple[str, str]) -> str:
        """Display name of a SMART regime: "rTMS, then augment if no response"."""
        return f"{self.arm(regime[0])}, then {self.arm(regime[1])} if no response"

    def hypothesis(self, design: Any, name: str) -> str:
        """Display name of a hypothesis of ``design`` (see the module docstring)."""
        given = self.hypotheses.get(name)
        if given is not None:
            return given
        factors = dict(getattr(design, "factors", {}) or {})
        if factors:
            return self._factorial_hypothesis(design, name, factors)
        if getattr(design, "design_kind", "") == "smart":
            return self._smart_hypothesis(name)
        first, sep, second = name.partition(" vs ")
        if sep:
            return f"{self.arm(first)} vs {self.arm(second)}"
        return name

    def _factorial_hypothesis(self, design: Any, name: str, factors: Mapping[str, Any]) -> str:
        if name.strip() == "combination":
            top = tuple(levels[1] for levels in factors.values())
            return (
                f"the combination test ({self.cell(design, top)} against each treatment alone)"
                if len(factors) == 2
                else f"the combination test ({self.cell(design, top)} against each cell "
                "lacking one of its treatments)"
            )
        term, _, condition = (part.strip() for part in name.partition("|"))
        terms = [t.strip() for t in term.split(":")]
        if len(terms) == 1:
            text = f"the main effect of {self.factor(terms[0])}" if not condition else ""
            head = f"the effect of {self.factor(terms[0])}"
        else:
            text = f"the {' x '.join(self.factor(t) for t in terms)} interaction"
            head = text
        if not condition:
            return text
        parts = []
        for item in condition.split(","):
            factor, _, level = (p.strip() for p in item.partition("="))
            parts.append(self._with(factor, level))
        return f"{head} {' and '.join(parts)}"

    def _with(self, factor: str, level: str) -> str:
        """The condition in words: "with MBI", "without MBI", "with sham rTMS"."""
        shown = self.level(factor, level)
        if shown.startswith("no ") and level.strip().lower() in _CONTROL_WORDS:
            return f"without {shown[3:]}"
        return f"with {shown}"

    def estimand(self, design: Any, name: str) -> str:
        """What a hypothesis estimates, in words (no code identifiers).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        ...     outcome=tp.Continuous(means={("sham", "control"): 0, ("active", "control"): -3,
        ...         ("sham", "MBI"): -2, ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
        >>> Labels().estimand(d, "rTMS:MBI")
        'the difference in the effect of rTMS (active rTMS vs sham rTMS) between MBI and no MBI \
(a difference of differences)'
        >>> Labels().estimand(d, "combination")  # doctest: +NORMALIZE_WHITESPACE
        'whether active rTMS + MBI is better (lower) than both sham rTMS + MBI and
         active rTMS + no MBI'
        """
        factors = dict(getattr(design, "factors", {}) or {})
        if not factors:
            first, sep, second = name.partition(" vs ")
            if sep and design.design_kind != "smart":
                return f"the difference between {self.arm(first)} and {self.arm(second)}"
            return self.hypothesis(design, name)
        if name.strip() == "combination":
            top = tuple(levels[1] for levels in factors.values())
            rivals = [
                top[:i] + (levels[0],) + top[i + 1 :] for i, levels in enumerate(factors.values())
            ]
            better = design.outcome.better  # the combination is a factorial's hypothesis
            return (
                f"whether {self.cell(design, top)} is better ({better}) than "
                + ("both " if len(rivals) == 2 else "each of ")
                + " and ".join(self.cell(design, r) for r in rivals)
            )
        term, _, condition = (part.strip() for part in name.partition("|"))
        terms = [t.strip() for t in term.split(":")]
        given = (
            dict((p.strip() for p in item.partition("=")[::2]) for item in condition.split(","))
            if condition
            else {}
        )

        def contrast(f: str) -> str:
            lo, hi = factors[f]
            return f"{self.level(f, hi)} vs {self.level(f, lo)}"

        others = [f for f in factors if f not in terms and f not in given]
        if len(terms) == 1:
            f = terms[0]
            lo, hi = factors[f]
            text = f"the difference between {self.level(f, hi)} and {self.level(f, lo)}"
        else:
            first, rest = terms[0], terms[1:]
            between = " and ".join(
                f"{self.level(g, factors[g][1])} and {self.level(g, factors[g][0])}" for g in rest
            )
            text = (
                f"the difference in the effect of {self.factor(first)} ({contrast(first)}) "
                f"between {between} (a difference of differences)"
            )
        if given:
            text += ", " + " and ".join(self._with(f, lv) for f, lv in given.items())
        if len(others) == 1:
            f = others[0]
            text += (
                f", averaged over {self.level(f, factors[f][1])} and {self.level(f, factors[f][0])}"
            )
        elif others:
            text += ", averaged over the levels of " + " and ".join(self.factor(f) for f in others)
        return text

    def _smart_hypothesis(self, name: str) -> str:
        first, sep, second = name.partition(" vs ")
        if not sep:
            return name
        sides = []
        for side in (first, second):
            stage1, slash, stage2 = side.partition("/")
            sides.append(self.regime((stage1, stage2)) if slash else self.arm(side))
        if "/" in first:
            return f"the regime '{sides[0]}' vs '{sides[1]}'"
        return f"{sides[0]} vs {sides[1]} at stage 1"

    def to_dict(self) -> dict[str, Any]:
        """The non-empty tables, as plain dicts (what a spec's ``[labels]`` holds)."""
        out: dict[str, Any] = {}
        for name in _SECTIONS:
            value = getattr(self, name)
            if value:
                out[name] = (
                    {k: dict(v) for k, v in value.items()} if name == "levels" else dict(value)
                )
        return out


def _arm_names(design: Any) -> list[str]:
    names: list[str] = list(getattr(design, "arms", ()) or ())
    for attr in ("stage1", "stage2"):
        names += list(getattr(design, attr, ()) or ())
    return names


def _known(table: str, name: str, allowed: Any, what: str, plural: str) -> None:
    allowed = list(allowed)
    if name not in allowed:
        raise ValueError(
            f"{table}: {name!r} is not {what} of this design; {plural} are {allowed}"
            + did_you_mean(name, allowed)
        )
