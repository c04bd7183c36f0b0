"""Allocation schedules: stratified permuted blocks and Pocock-Simon minimization.

Two ways to decide who gets what:

* :func:`permuted_blocks` writes the whole list in advance.  Each stratum (a
  combination of levels of the stratification variables) gets its own list,
  made of blocks whose size is drawn at random from ``block_sizes``; each
  block holds every treatment in proportion to the allocation ratios, in a
  random order (Matts & Lachin 1988).  A factorial design is randomized over
  its cells, so both factors and their combination stay balanced; a parallel
  design over its arms; a SMART over its stage-1 arms (``stage=1``) or, for
  non-responders, over its stage-2 options within each stage-1 arm
  (``stage=2``).
* :class:`Minimization` assigns one participant at a time (Pocock & Simon
  1975): it adds the participant hypothetically to each treatment, measures
  the imbalance this would cause at the participant's own covariate levels,
  and favours the treatment with the least imbalance with probability ``p``.

Both are reproducible from a seed.  A schedule's CSV export opens with a
header that records the seed, the parameters and the trialplan version; the
default (blinded) export leaves out block sizes and block numbers, which
enrolling staff must not see (SPIRIT 2013 item 16a).  :func:`read_schedule`
and :func:`read_minimization_log` read the CSV files back exactly as they
were written, whatever the labels hold (every text field is quoted, and text
that a spreadsheet would run as a formula is escaped with a leading ``'``).

References
----------
.. [1] Matts JP, Lachin JM. Properties of permuted-block randomization in
   clinical trials. Control Clin Trials 1988;9(4):327-344.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and
   Practice, 2nd ed. Wiley; 2016.
.. [3] Taves DR. Minimization: a new method of assigning patients to
   treatment and control groups. Clin Pharmacol Ther 1974;15(5):443-453.
.. [4] Pocock SJ, Simon R. Sequential treatment assignment with balancing for
   prognostic factors in the controlled clinical trial. Biometrics
   1975;31(1):103-115.
.. [5] Chan A-W et al. SPIRIT 2013 statement. Ann Intern Med
   2013;158(3):200-207.
.. [6] Kahan BC, Morris TP. Improper analysis of trials randomised using
   stratified blocks or minimisation. Stat Med 2012;31(4):328-340.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import numbers
import os
import re
import tempfile
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from trialplan._blocks import is_fillable, smallest_fillable
from trialplan._seeds import normalize_seed
from trialplan._validation import (
    as_sequence,
    check_choice,
    check_int,
    check_real,
    did_you_mean,
)
from trialplan._version import __version__

__all__ = [
    "Minimization",
    "Schedule",
    "permuted_blocks",
    "read_minimization_log",
    "read_schedule",
]

Treatment = Hashable
_RESERVED_COLUMNS = ("sequence", "block", "block_size")
#: Most rows a schedule may hold (a list is built in memory, about 100 bytes a row).
_MAX_ROWS = 10**7
#: Columns of the minimization audit log besides the factors and treatment columns.
_LOG_COLUMNS = ("participant", "preferred", "u", "rule", "assigned")


# ---------------------------------------------------------------------------
# What is randomized: treatments, their columns and ratios, for every design
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Units:
    """The treatments one randomization chooses between."""

    kind: str  # "factorial", "parallel", "SMART stage 1", ...
    treatments: tuple[Treatment, ...]
    columns: tuple[str, ...]  # one output column per factor (or "arm")
    ratios: tuple[int, ...]  # reduced integer allocation ratios
    description: str
    implied_strata: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    #: ratios that differ by stage-1 arm (SMART stage 2), keyed by that arm
    ratios_by_stage1: Mapping[Any, tuple[int, ...]] = field(default_factory=dict)

    def ratios_for(self, stratum: Mapping[str, Any]) -> tuple[int, ...]:
        """Return the allocation ratios of the list of this stratum."""
        if self.ratios_by_stage1:
            return self.ratios_by_stage1[stratum["stage1"]]
        return self.ratios

    def ratio_sets(self) -> dict[str, tuple[int, ...]]:
        """Return every distinct list's ratios, labelled (``""`` when all lists share one)."""
        if self.ratios_by_stage1:
            return {f" (stage1={_label(a)})": r for a, r in self.ratios_by_stage1.items()}
        return {"": self.ratios}

    def values(self, treatment: Treatment) -> tuple[Any, ...]:
        """Return the treatment's value in each output column."""
        return tuple(treatment) if self.kind == "factorial" else (treatment,)

    def label(self, treatment: Treatment) -> str:
        """Return the treatment in words, e.g. ``"active+MBI"``."""
        return "+".join(map(str, treatment)) if self.kind == "factorial" else str(treatment)

    def index(self, treatment: Any, what: str) -> int:
        """Position of a user's treatment key, or a helpful error."""
        if treatment in self.treatments:
            return self.treatments.index(treatment)
        allowed = list(self.treatments)
        hint = did_you_mean(treatment, allowed) if isinstance(treatment, str) else ""
        if self.kind == "factorial" and isinstance(treatment, tuple):
            labels = [self.label(t) for t in allowed]
            hint = did_you_mean(self.label(treatment), labels)
            if hint:
                hint = hint.replace("'", "").replace("did you mean ", "did you mean the cell ")
        raise ValueError(
            f"{what}: {treatment!r} is not one of the {self.kind} treatments {allowed}{hint}"
        )


def _units(design: Any, *, stage: Any, ratios: Any) -> _Units:
    """Read the treatments and allocation ratios off a trialplan design."""
    # The design protocol names its kind; objects without it are read by their fields.
    kind = getattr(design, "design_kind", None) or _kind_of_fields(design)
    if kind == "smart":
        units = _smart_units(design, stage)
    else:
        if stage is not None:
            raise ValueError(
                f"stage={stage!r} applies to SMART designs only; "
                f"{type(design).__name__} has a single randomization, so leave "
                "stage=None"
            )
        if kind == "factorial":
            units = _factorial_units(design)
        elif kind == "parallel":
            units = _parallel_units(design)
        else:
            raise TypeError(
                "design must be a trialplan design (tp.Factorial, tp.Parallel or "
                f"tp.SMART); got design={design!r}"
            )
    if ratios is not None:
        units = _Units(
            kind=units.kind,
            treatments=units.treatments,
            columns=units.columns,
            ratios=_user_ratios(ratios, units),
            description=units.description,
            implied_strata=units.implied_strata,
        )
    return units


def _kind_of_fields(design: Any) -> str | None:
    if hasattr(design, "stage1") and hasattr(design, "stage2"):
        return "smart"
    if hasattr(design, "factors") and hasattr(design, "cells"):
        return "factorial"
    return "parallel" if hasattr(design, "arms") else None


def _factorial_units(design: Any) -> _Units:
    cells = tuple(tuple(c) for c in design.cells)
    sizes = [int(v) for v in np.asarray(design.n_array)]
    return _Units(
        kind="factorial",
        treatments=cells,
        columns=tuple(design.factors),
        ratios=_reduce(sizes),
        description=_describe(design),
    )


def _parallel_units(design: Any) -> _Units:
    arms = tuple(design.arms)
    n = getattr(design, "n_per_arm", None)
    if isinstance(n, Mapping):
        sizes = [int(n[a]) for a in arms]
    elif hasattr(design, "n_array"):
        sizes = [int(v) for v in np.asarray(design.n_array)]
    else:
        sizes = [1] * len(arms)
    return _Units(
        kind="parallel",
        treatments=arms,
        columns=("arm",),
        ratios=_reduce(sizes),
        description=_describe(design),
    )


def _smart_units(design: Any, stage: Any) -> _Units:
    if stage is None:
        raise ValueError(
            "stage=None: a SMART randomizes twice; pass stage=1 for the stage-1 "
            "list or stage=2 for the lists of non-responders (one per stage-1 arm)"
        )
    if isinstance(stage, bool) or stage not in (1, 2):
        raise ValueError(
            f"stage must be 1 (stage-1 arms) or 2 (stage-2 options for "
            f"non-responders); got stage={stage!r}"
        )
    stage1 = tuple(design.stage1)
    stage2 = tuple(design.stage2)
    alloc1 = getattr(design, "stage1_allocation", None)
    if stage == 1:
        ratios = (
            _integer_ratios([alloc1[a] for a in stage1], "stage1_allocation")
            if alloc1
            else (1,) * len(stage1)
        )
        return _Units(
            kind="SMART stage 1",
            treatments=stage1,
            columns=("stage1",),
            ratios=ratios,
            description=f"{_describe(design)} | stage 1",
        )
    alloc2 = getattr(design, "stage2_allocation", None) or {}
    by_arm = {}
    for a1 in stage1:
        probs = [alloc2.get((a1, a2), alloc2.get(a2)) for a2 in stage2] if alloc2 else []
        by_arm[a1] = (
            _integer_ratios(probs, f"stage2_allocation for {a1!r}")
            if probs and None not in probs
            else (1,) * len(stage2)
        )
    shared = set(by_arm.values())
    return _Units(
        kind="SMART stage 2",
        treatments=stage2,
        columns=("stage2",),
        ratios=next(iter(shared)) if len(shared) == 1 else (1,) * len(stage2),
        description=f"{_describe(design)} | stage 2 (non-responders)",
        implied_strata={"stage1": stage1},
        ratios_by_stage1={} if len(shared) == 1 else by_arm,
    )


def _integer_ratios(probabilities: Sequence[Any], name: str) -> tuple[int, ...]:
    """Smallest whole-number ratios equal to these probabilities (e.g. 2/3, 1/3 -> 2:1)."""
    fractions = [Fraction(float(q)).limit_denominator(1000) for q in probabilities]
    if any(
        f <= 0 or abs(float(f) - float(q)) > 1e-9
        for f, q in zip(fractions, probabilities, strict=True)
    ):
        raise ValueError(
            f"{name}={tuple(probabilities)} is not a ratio of whole numbers "
            "with denominators up to 1000; pass ratios= to permuted_blocks "
            "explicitly"
        )
    common = reduce(math.lcm, (f.denominator for f in fractions))
    return _reduce([int(f * common) for f in fractions])


def _describe(design: Any) -> str:
    describe = getattr(design, "describe", None)
    if callable(describe):
        try:
            return str(describe())
        except Exception:  # noqa: BLE001 - a description is cosmetic
            pass
    return type(design).__name__


def _reduce(sizes: Sequence[int]) -> tuple[int, ...]:
    divisor = reduce(math.gcd, sizes)
    return tuple(s // divisor for s in sizes)


def _user_ratios(ratios: Any, units: _Units) -> tuple[int, ...]:
    if not isinstance(ratios, Mapping):
        raise TypeError(
            f"ratios must be a mapping {{treatment: positive whole number}} over "
            f"{list(units.treatments)}; got ratios={ratios!r}"
        )
    given: dict[int, int] = {}
    for key, value in ratios.items():
        i = units.index(key, "ratios")
        if isinstance(value, bool) or not (
            isinstance(value, numbers.Integral | np.integer)
            or (isinstance(value, float) and value.is_integer())
        ):
            raise ValueError(
                f"ratios must be positive whole numbers; got ratios[{key!r}]={value!r}"
            )
        if int(value) < 1:
            raise ValueError(
                f"ratios must be positive whole numbers (>= 1); got ratios[{key!r}]={value!r}"
            )
        given[i] = int(value)
    missing = [units.treatments[i] for i in range(len(units.treatments)) if i not in given]
    if missing:
        raise ValueError(
            f"ratios is missing {missing}; give a whole number for every one of "
            f"{list(units.treatments)}"
        )
    return _reduce([given[i] for i in range(len(units.treatments))])


# ---------------------------------------------------------------------------
# Validation of strata, block sizes and seeds
# ---------------------------------------------------------------------------
def _check_strata(
    strata: Any, units: _Units, *, name: str = "strata"
) -> dict[str, tuple[Any, ...]]:
    if strata is None:
        strata = {}
    if not isinstance(strata, Mapping):
        raise TypeError(
            f"{name} must be a mapping {{variable: (level, ...)}}, e.g. "
            f"{{'site': ('A', 'B')}}; got {name}={strata!r}"
        )
    checked: dict[str, tuple[Any, ...]] = {}
    for variable, levels in strata.items():
        if not isinstance(variable, str) or not variable:
            raise ValueError(f"{name} variable names must be non-empty strings; got {variable!r}")
        taken = set(_RESERVED_COLUMNS) | set(units.columns) | set(units.implied_strata)
        if variable in taken:
            raise ValueError(
                f"{name} variable {variable!r} clashes with a column of the "
                f"schedule; the names {sorted(taken)} are taken"
            )
        levels = as_sequence(levels)
        if isinstance(levels, str) or not isinstance(levels, Sequence) or len(levels) == 0:
            raise ValueError(
                f"{name}[{variable!r}] must be a non-empty sequence of levels, "
                f"e.g. ('A', 'B'); got {levels!r}"
            )
        levels = tuple(levels)
        for level in levels:
            if isinstance(level, bool) or not isinstance(level, str | numbers.Integral):
                raise TypeError(
                    f"{name}[{variable!r}] levels must be strings or whole numbers; got {level!r}"
                )
        for text in (variable, *(lv for lv in levels if isinstance(lv, str))):
            if not _encodable(text):
                raise ValueError(
                    f"{name}[{variable!r}] has the label {text!r}, which contains a lone "
                    "surrogate (not a character) and cannot be written to a UTF-8 file"
                )
        if len(set(levels)) != len(levels):
            raise ValueError(f"{name}[{variable!r}] lists a level twice: {levels!r}")
        checked[variable] = levels
    return {**checked, **dict(units.implied_strata)}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_block_sizes(block_sizes: Any, units: _Units) -> tuple[int, ...]:
    unit = reduce(math.lcm, (sum(r) for r in units.ratio_sets().values()))
    if block_sizes is None:
        return (unit, 2 * unit)
    if isinstance(block_sizes, numbers.Integral) and not isinstance(block_sizes, bool):
        block_sizes = (block_sizes,)
    block_sizes = as_sequence(block_sizes)
    if (
        isinstance(block_sizes, str)
        or not isinstance(block_sizes, Sequence)
        or len(block_sizes) == 0
    ):
        raise TypeError(
            f"block_sizes must be a whole number or a non-empty sequence of them, "
            f"e.g. (4, 8); got block_sizes={block_sizes!r}"
        )
    sizes = tuple(check_int("block_sizes", b) for b in block_sizes)
    if max(sizes) > _MAX_ROWS:
        raise ValueError(f"block_sizes must be at most {_MAX_ROWS:,}; got block_sizes={sizes!r}")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"block_sizes lists a size twice: {sizes!r}")
    for where, ratios in units.ratio_sets().items():
        total = sum(ratios)
        if any(b % total for b in sizes):
            ratio_text = ":".join(map(str, ratios))
            raise ValueError(
                f"block_sizes must be multiples of {total}, the sum of the "
                f"allocation ratios {ratio_text}{where} over "
                f"{len(units.treatments)} treatments; got block_sizes={sizes!r} "
                f"(e.g. use {(unit, 2 * unit)})"
            )
    return sizes


def _check_block_probs(block_probs: Any, sizes: tuple[int, ...]) -> tuple[float, ...]:
    if block_probs is None:
        return tuple(1.0 / len(sizes) for _ in sizes)
    if isinstance(block_probs, Mapping):
        unknown = [b for b in block_probs if b not in sizes]
        if unknown:
            raise ValueError(
                f"block_probs has block size {unknown[0]!r}, which is not one of "
                f"block_sizes={sizes!r}"
            )
        block_probs = [block_probs.get(b, 0.0) for b in sizes]
    block_probs = as_sequence(block_probs)
    if (
        isinstance(block_probs, str)
        or not isinstance(block_probs, Sequence)
        or len(block_probs) != len(sizes)
    ):
        raise ValueError(
            f"block_probs must give one probability per block size {sizes!r}; "
            f"got block_probs={block_probs!r}"
        )
    probs = tuple(check_real("block_probs", q) for q in block_probs)
    if (
        any(q < 0 for q in probs)
        or not math.isclose(sum(probs), 1.0, abs_tol=1e-9)
        or not any(q > 0 for q in probs)
    ):
        raise ValueError(f"block_probs must be >= 0 and sum to 1; got block_probs={probs!r}")
    return probs


def _check_seed(seed: Any) -> np.random.SeedSequence:
    return normalize_seed(  # the library's one seed normalizer
        seed,
        allow_generator=False,
        generator_reason="so that the schedule can be regenerated from the seed written in "
        "its header",
    )[0]


def _stream(
    root: np.random.SeedSequence, stratum: Sequence[tuple[str, Any]], stage: Any
) -> np.random.Generator:
    """Return the stratum's own Generator, keyed by its labels, not its position."""
    text = json.dumps([stage, [[v, str(lv), type(lv).__name__] for v, lv in stratum]])
    digest = hashlib.sha256(text.encode()).digest()
    key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    child = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key)
    return np.random.Generator(np.random.PCG64(child))


# ---------------------------------------------------------------------------
# CSV files: csv-module quoting, formula escapes, one-line headers, exact read-back
# ---------------------------------------------------------------------------
#: A text field starting with one of these is written with a leading "'" (OWASP's
#: defence against spreadsheet formula injection); "'" itself is included so that
#: the escape can be undone without ambiguity.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
#: A label written bare in a header line: starts with a letter or "_", no
#: delimiters of the header syntax (",", ";", "=", parentheses, quotes, "#").
_PLAIN_LABEL = re.compile(r"[^\W\d](?:[\w .+/-]*[\w.+/-])?")
_LABEL_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+|[^\W\d](?:[\w .+/-]*[\w.+/-])?')
#: Characters that end a line for some reader (str.splitlines, editors).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _label(value: Any) -> str:
    """A level or name for a header line: bare if plain, else a JSON string."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    text = str(value)
    if _PLAIN_LABEL.fullmatch(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # escapes only characters below U+0020
    return "".join(f"\\u{ord(ch):04x}" if _breaks_line(ch) else ch for ch in quoted)


def _breaks_line(ch: str) -> bool:
    return ch in _LINE_BREAKS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def _one_line(text: str) -> str:
    """Text that stays on one header line: line breaks and control characters escaped."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if _breaks_line(ch) else ch for ch in text
    )


def _levels_text(levels: Mapping[str, Sequence[Any]]) -> str:
    """``name=(level, level); ...`` with every name and level written by :func:`_label`."""
    return (
        "; ".join(
            f"{_label(v)}=({', '.join(_label(lv) for lv in lvs)})" for v, lvs in levels.items()
        )
        or "none"
    )


def _parse_levels(text: str) -> dict[str, tuple[Any, ...]]:
    """Invert :func:`_levels_text`."""
    if text == "none":
        return {}

    def token(pos: int) -> tuple[Any, int]:
        match = _LABEL_TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read a label at character {pos} of {text!r}")
        word = match.group()
        if word.startswith('"'):
            return json.loads(word), match.end()
        if re.fullmatch(r"-?\d+", word):
            return int(word), match.end()
        return word, match.end()

    def expect(literal: str, pos: int) -> int:
        if not text.startswith(literal, pos):
            raise ValueError(f"expected {literal!r} at character {pos} of {text!r}")
        return pos + len(literal)

    out: dict[str, tuple[Any, ...]] = {}
    pos = 0
    while True:
        name, pos = token(pos)
        pos = expect("=(", pos)
        levels = []
        while True:
            level, pos = token(pos)
            levels.append(level)
            if text.startswith(", ", pos):
                pos += 2
                continue
            pos = expect(")", pos)
            break
        out[str(name)] = tuple(levels)
        if pos == len(text):
            return out
        pos = expect("; ", pos)


def _csv_cell(value: Any) -> Any:
    """Return what the csv writer gets: whole numbers and floats as numbers, text escaped."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(
    path: str | Path, header: Sequence[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    """Write ``# `` header lines, then a CSV table, atomically (a temporary file renamed).

    Every text field is quoted (``csv.QUOTE_NONNUMERIC``), so delimiters, ``#``,
    quotes and line breaks inside labels survive; numbers are not, which is how
    the reader tells the number 1 from the text "1".
    """
    path = Path(path)
    buffer = io.StringIO(newline="")
    for line in header:
        buffer.write(f"# {_one_line(line)}\n")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow([_csv_cell(str(c)) for c in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    text = buffer.getvalue()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot write {str(path)!r} as UTF-8: a label contains "
            f"{exc.object[exc.start : exc.end]!r}, a lone surrogate that is not a character "
            f"(near {exc.object[max(0, exc.start - 20) : exc.end + 20]!r}); fix the label"
        ) from None
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _read_csv(path: str | Path, *, kind: str) -> tuple[dict[str, str], list[str], list[list[Any]]]:
    """Read a file written by :func:`_write_csv`: header, column names, typed rows."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    text = text.removeprefix("\ufeff")  # a byte-order mark added by an editor
    header: dict[str, str] = {}
    title = None
    while text.startswith("#"):
        end = text.find("\n")
        line, text = (text, "") if end < 0 else (text[:end], text[end + 1 :])
        line = line[1:].removeprefix(" ").removesuffix("\r")
        if title is None:
            title = line
        key, sep, value = line.partition(": ")
        if sep:
            header[key] = value
    if title is None or kind not in title:
        raise ValueError(
            f"{str(path)!r} is not a trialplan {kind} CSV (its first line should start "
            f"with '# trialplan {kind}'); got {title!r}"
        )
    texts = list(csv.reader(io.StringIO(text, newline="")))
    try:
        typed = list(csv.reader(io.StringIO(text, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r} has an unquoted field that is not a number ({exc}): it was "
            "changed after trialplan wrote it (text fields are always quoted)"
        ) from None
    if not texts:
        return header, [], []
    columns = [_uncell(t, q) for t, q in zip(texts[0], typed[0], strict=True)]
    rows = []
    for i, (row_text, row_typed) in enumerate(zip(texts[1:], typed[1:], strict=True), start=2):
        if len(row_text) != len(columns):
            raise ValueError(
                f"{str(path)!r}: data row {i - 1} has {len(row_text)} fields, not "
                f"{len(columns)}; the file was changed after trialplan wrote it"
            )
        rows.append([_uncell(t, q) for t, q in zip(row_text, row_typed, strict=True)])
    return header, columns, rows


def _uncell(text: str, typed: Any) -> Any:
    """Invert :func:`_csv_cell` for one field (``typed`` is str when the field was quoted)."""
    if isinstance(typed, str):
        return text[1:] if text.startswith("'") else text
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def read_schedule(path: str | Path) -> pd.DataFrame:
    """Read a schedule CSV written by :meth:`Schedule.to_csv`, exactly as written.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pandas.DataFrame
        Equal to the ``schedule.to_frame(blocks=...)`` that was written: the
        same columns, values and types (a stratum level 1 stays the number 1,
        a level "1" the text "1"), whatever the labels contain (delimiters,
        ``#``, quotes, line breaks, a leading ``=``).  ``frame.attrs`` holds
        ``"header"`` (each ``# key: value`` line as text) and ``"strata"``
        (the stratification variables and their levels).

    Raises
    ------
    ValueError
        If the file is not a trialplan schedule or was changed after it was
        written (a wrong number of fields, an unquoted text field).

    Notes
    -----
    Text fields are quoted and a text that begins with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return (or ``'``) is written with a leading
    ``'``, so a spreadsheet shows it as text instead of running it as a
    formula (OWASP, CSV injection); this function removes that ``'``.  Plain
    ``pandas.read_csv(path, comment="#")`` reads most files too, but keeps the
    ``'`` and guesses the types.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd, trialplan as tp
    >>> d = tp.Parallel(arms=("=SUM(A1)", "B"), outcome=tp.Continuous(
    ...     means={"=SUM(A1)": 0, "B": 1}, sd=1.0), n_per_arm=20)
    >>> s = tp.randomization.permuted_blocks(
    ...     d, n=4, strata={"site": ("Site #1", "Site, 2")}, seed=7)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = tp.randomization.read_schedule(s.to_csv(pathlib.Path(tmp) / "s.csv"))
    >>> back.equals(s.to_frame()), back.attrs["strata"]
    (True, {'site': ('Site #1', 'Site, 2')})
    """
    header, columns, rows = _read_csv(path, kind="randomization schedule")
    counts = {"sequence", "block", "block_size"}
    for row in rows:
        for j, column in enumerate(columns):
            if column in counts and not isinstance(row[j], int):
                raise ValueError(f"{str(path)!r}: column {column!r} holds {row[j]!r}, not a count")
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame.attrs["header"] = header
    frame.attrs["strata"] = _parse_levels(header.get("strata", "none"))
    return frame


def read_minimization_log(path: str | Path) -> pd.DataFrame:
    """Read an audit log written by :meth:`Minimization.to_csv`, exactly as written.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    pandas.DataFrame
        Equal to the ``Minimization.log()`` that was written (participant
        identifiers keep their type, text or whole number).  ``frame.attrs``
        holds ``"header"`` (each ``# key: value`` line as text) and
        ``"factors"`` (the minimization factors and their levels).

    Raises
    ------
    ValueError
        If the file is not a trialplan minimization audit log or was changed
        after it was written.

    Examples
    --------
    >>> import tempfile, pathlib, trialplan as tp
    >>> d = tp.Parallel(arms=("A", "B"), outcome=tp.Continuous(means={"A": 0, "B": 1},
    ...                 sd=1.0), n_per_arm=20)
    >>> m = tp.randomization.Minimization(d, factors={"site": ("+1", "#2")}, seed=0)
    >>> _ = [m.assign({"site": s}) for s in ("+1", "#2", "+1")]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = tp.randomization.read_minimization_log(m.to_csv(pathlib.Path(tmp) / "a.csv"))
    >>> back.equals(m.log()), back["site"].tolist()
    (True, ['+1', '#2', '+1'])
    """
    header, columns, rows = _read_csv(path, kind="minimization audit log")
    frame = pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows])
    if not rows:
        frame = pd.DataFrame()
    frame.attrs["header"] = header
    frame.attrs["factors"] = _parse_levels(header.get("factors", "none"))
    return frame


# ---------------------------------------------------------------------------
# Permuted blocks
# ---------------------------------------------------------------------------
def permuted_blocks(
    design: Any,
    *,
    n: int,
    block_sizes: int | Sequence[int] | None = None,
    strata: Mapping[str, Sequence[Any]] | None = None,
    seed: int | np.random.SeedSequence | None = None,
    block_probs: Sequence[float] | Mapping[int, float] | None = None,
    ratios: Mapping[Any, int] | None = None,
    stage: int | None = None,
    exact: bool = False,
    description: str | None = None,
) -> Schedule:
    """Stratified permuted-block randomization list with random block sizes.

    Every stratum (each combination of the levels in ``strata``) gets its own
    list.  The list is a run of blocks; each block's size is drawn from
    ``block_sizes`` (with ``block_probs``) and the block holds each
    treatment ``size * ratio / sum(ratios)`` times in a uniformly random
    order.  Blocks are added until the list has at least ``n`` entries, so
    every block is complete and every list is exactly balanced at its end.

    Parameters
    ----------
    design : Factorial, Parallel or SMART
        A factorial design is randomized over its cells (one column per
        factor), a parallel design over its arms (column ``"arm"``), a SMART
        over its stage-1 arms (``stage=1``, column ``"stage1"``) or, for
        non-responders, over its stage-2 options (``stage=2``, column
        ``"stage2"``) with the stage-1 arm as an extra stratification
        variable ``"stage1"``.
    n : int
        Minimum length of each stratum's list: plan for the most participants
        any one stratum could enrol (lists end on a complete block, so they
        may be up to ``max(block_sizes) - 1`` longer).
    block_sizes : int or sequence of int, optional
        Possible block sizes; each must be a multiple of the sum of the
        allocation ratios (4 for a 1:1:1:1 2x2 factorial, 3 for 2:1 arms).
        By default one and two times that sum, e.g. (4, 8) for a 2x2.
    strata : mapping of str to sequence, optional
        Stratification variables and their levels, e.g.
        ``{"site": ("A", "B"), "severity": ("moderate", "severe")}``.
    seed : int or numpy.random.SeedSequence, optional
        Makes the schedule reproducible; recorded in its header.  Without a
        seed, fresh entropy is drawn and recorded.  Each stratum draws from
        its own stream, ``SeedSequence(seed, spawn_key=<digest of the
        stratum's labels>)``, so adding a site leaves the other sites' lists
        unchanged.
    block_probs : sequence of float or mapping of int to float, optional
        Probability of each block size (uniform by default).
    ratios : mapping of treatment to int, optional
        Allocation ratios, overriding the design's (by default the ratios of
        its planned sizes, e.g. ``n_per_arm={"A": 60, "B": 30}`` gives 2:1).
    stage : {1, 2}, optional
        For a SMART only: which randomization to list.
    exact : bool, default False
        End every stratum's list at exactly ``n`` entries: each block's size
        is drawn (with ``block_probs``) among the sizes that leave a
        remainder whole blocks can still fill.  ``n`` must be a sum of block
        sizes (e.g. a multiple of 4 for sizes (4, 8)).
    description : str, optional
        The ``design:`` line of the CSV header and of the repr (by default
        the design's ``describe()``), e.g. the planned numbers randomized.

    Returns
    -------
    Schedule
        ``.to_frame()`` has columns ``"sequence"`` (position in the stratum's
        list), one per stratification variable and one per factor (or
        ``"arm"``, ``"stage1"``, ``"stage2"``); ``.to_csv(path)`` writes it
        with a header; ``.balance()`` summarizes realized balance.

    Raises
    ------
    ValueError
        If a ratio is not a positive whole number, a block size is not a
        multiple of the ratio sum, a stratum lists a level twice or uses a
        reserved column name, or ``stage`` is missing or invalid for a SMART.
    TypeError
        If the design, ``n``, ``strata`` or ``seed`` has the wrong type.

    References
    ----------
    .. [1] Matts JP, Lachin JM. Control Clin Trials 1988;9(4):327-344.
    .. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials, 2nd
       ed. Wiley; 2016, chapter 3.

    Examples
    --------
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}, sd=8.0),
    ...     n_per_cell=50)
    >>> sched = tp.randomization.permuted_blocks(
    ...     design, n=20, block_sizes=(4, 8), strata={"site": ("A", "B")}, seed=2026)
    >>> frame = sched.to_frame()
    >>> list(frame.columns)
    ['sequence', 'site', 'rTMS', 'MBI']
    >>> frame.groupby("site").size().tolist()  # each list ends on a complete block
    [24, 24]
    >>> frame.groupby(["site", "rTMS", "MBI"]).size().unique().tolist()
    [6]
    """
    units = _units(design, stage=stage, ratios=ratios)
    n = check_int("n", n)
    sizes = _check_block_sizes(block_sizes, units)
    probs = _check_block_probs(block_probs, sizes)
    strata_ = _check_strata(strata, units)
    n_lists = math.prod(len(levels) for levels in strata_.values())
    if (n + max(sizes)) * n_lists > _MAX_ROWS:  # n=2**62 used to exhaust the memory
        raise ValueError(
            f"n={n} per stratum over {n_lists} strata would list more than {_MAX_ROWS:,} "
            "assignments; n is the most participants one stratum can enrol"
        )
    root = _check_seed(seed)
    if exact and not is_fillable(n, sizes):
        raise ValueError(
            f"exact=True needs n to be a sum of block sizes {sizes}; got n={n} (the "
            f"nearest longer list holds {smallest_fillable(n, sizes)})"
        )
    if description is not None:
        units = dataclasses.replace(units, description=str(description))
    rows: list[tuple[Any, ...]] = []
    variables = tuple(strata_)
    for levels in itertools.product(*strata_.values()):
        stratum = tuple(zip(variables, levels, strict=True))
        ratios_here = units.ratios_for(dict(stratum))
        total = sum(ratios_here)
        base = np.repeat(np.arange(len(units.treatments)), ratios_here)
        rng = _stream(root, stratum, stage)
        position = 0
        block = 0
        while position < n:
            if exact:  # only sizes after which whole blocks can still fill the rest
                fits = np.array([is_fillable(n - position - b, sizes) for b in sizes])
                weights = np.where(fits, probs, 0.0)
                if not weights.sum() > 0:  # only zero-probability sizes still fit
                    weights = fits.astype(float)
                size = int(sizes[rng.choice(len(sizes), p=weights / weights.sum())])
            else:
                size = int(sizes[rng.choice(len(sizes), p=probs)])
            block += 1
            order = rng.permutation(np.tile(base, size // total))
            for t in order:
                position += 1
                rows.append((position, *levels, *units.values(units.treatments[t]), block, size))
    frame = pd.DataFrame(
        rows, columns=["sequence", *variables, *units.columns, "block", "block_size"]
    )
    return Schedule(
        frame=frame,
        units=units,
        strata=strata_,
        n=n,
        block_sizes=sizes,
        block_probs=probs,
        seed=root,
        stage=stage,
    )


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Schedule:
    """A permuted-block randomization list, one list per stratum.

    Made by :func:`permuted_blocks`; immutable.  ``len(schedule)`` is the
    number of rows over all strata.

    Attributes
    ----------
    strata : mapping of str to tuple
        Stratification variables and their levels (for a stage-2 SMART list,
        including ``"stage1"``).
    n : int
        Minimum list length per stratum that was requested.
    block_sizes : tuple of int
        Possible block sizes; ``block_probs`` their probabilities.
    seed : numpy.random.SeedSequence
        Regenerates the schedule (its ``entropy`` is written in the header).
    stage : int or None
        The SMART stage, if any.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> sched = tp.randomization.permuted_blocks(d, n=8, block_sizes=(4,),
    ...                                          strata={"site": ("A", "B")}, seed=2026)
    >>> len(sched), sched.block_sizes
    (16, (4,))
    >>> frame = sched.to_frame()
    >>> frame.groupby("site").size().to_dict()
    {'A': 8, 'B': 8}
    >>> sorted(frame.iloc[:4][["A", "B"]].itertuples(index=False, name=None))  # one block
    [('a0', 'b0'), ('a0', 'b1'), ('a1', 'b0'), ('a1', 'b1')]
    """

    frame: pd.DataFrame
    units: _Units
    strata: Mapping[str, tuple[Any, ...]]
    n: int
    block_sizes: tuple[int, ...]
    block_probs: tuple[float, ...]
    seed: np.random.SeedSequence
    stage: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strata", MappingProxyType(dict(self.strata)))

    # ------------------------------------------------------------ accessors
    @property
    def treatment_columns(self) -> tuple[str, ...]:
        """Columns that hold the assignment (factor names, ``"arm"``, ...)."""
        return self.units.columns

    @property
    def ratios(self) -> dict[Treatment, int]:
        """Allocation ratio of each treatment (cell, arm or stage option).

        For a SMART's stage-2 lists whose ratios differ by stage-1 arm, see
        the header (``allocation_ratios``) for each arm's ratios; this gives
        equal ratios then.
        """
        return dict(zip(self.units.treatments, self.units.ratios, strict=True))

    def __len__(self) -> int:
        return len(self.frame)

    def to_frame(self, *, blocks: bool = False) -> pd.DataFrame:
        """Return the schedule as a DataFrame (a new copy each call).

        Parameters
        ----------
        blocks : bool, default False
            Add the columns ``"block"`` (block number within the stratum) and
            ``"block_size"``.  Leave False for anything enrolling staff see:
            known block sizes let them predict the last assignments of a
            block.

        Returns
        -------
        pandas.DataFrame
            Columns ``"sequence"``, the stratification variables, the
            treatment columns (and the block columns when asked).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, block_sizes=4, seed=1)
        >>> list(s.to_frame(blocks=True).columns)
        ['sequence', 'A', 'B', 'block', 'block_size']
        """
        frame = self.frame.copy()
        if not blocks:
            frame = frame.drop(columns=["block", "block_size"])
        return frame

    def stratum(self, **levels: Any) -> pd.DataFrame:
        """Return the list of one stratum, e.g. ``schedule.stratum(site="A")``.

        Parameters
        ----------
        **levels
            One level for every stratification variable.

        Returns
        -------
        pandas.DataFrame
            That stratum's rows of :meth:`to_frame` (blinded).

        Raises
        ------
        ValueError
            For an unknown variable or level (the closest name is suggested)
            or a missing variable.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, block_sizes=4,
        ...                                      strata={"site": ("A", "B")}, seed=1)
        >>> len(s.stratum(site="B"))
        8
        """
        _check_covariates(levels, self.strata, what="stratum")
        frame = self.to_frame()
        mask = np.ones(len(frame), dtype=bool)
        for variable, level in levels.items():
            mask &= (frame[variable] == level).to_numpy()
        return frame.loc[mask].reset_index(drop=True)

    # -------------------------------------------------------------- balance
    def balance(self, *, n_enrolled: int | None = None) -> pd.DataFrame:
        """Realized allocation in each stratum and overall, against the target.

        Parameters
        ----------
        n_enrolled : int, optional
            Count only the first ``n_enrolled`` entries of each stratum's
            list (as if recruitment stopped there); by default the whole list.

        Returns
        -------
        pandas.DataFrame
            Columns ``"stratum"`` (``"variable=level, ..."`` or ``"all"``),
            ``"variable"`` (``"treatment"``, or a factor name for a
            factorial's margins), ``"level"``, ``"n"``, ``"proportion"``,
            ``"target"`` and ``"difference"`` (realized minus target count).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=16, block_sizes=(4, 8), seed=3)
        >>> b = s.balance()
        >>> print(b[b.variable == "A"][["level", "n", "target"]].to_string(index=False))
        level  n  target
           a0 10    10.0
           a1 10    10.0
        >>> late = s.balance(n_enrolled=6)      # if recruitment stopped after 6
        >>> print(late[late.variable == "treatment"][["level", "n", "target"]]
        ...       .to_string(index=False))
        level  n  target
        a0+b0  1     1.5
        a0+b1  2     1.5
        a1+b0  1     1.5
        a1+b1  2     1.5
        """
        frame = self.frame
        if n_enrolled is not None:
            n_enrolled = check_int("n_enrolled", n_enrolled)
            frame = frame[frame["sequence"] <= n_enrolled]
        variables = list(self.strata)
        units = self.units
        k = len(units.treatments)
        # target count of each treatment in each row of the frame (its list's shares)
        if units.ratios_by_stage1:
            share_of = {a: np.array(r) / sum(r) for a, r in units.ratios_by_stage1.items()}
            row_shares = (
                np.vstack([share_of[a] for a in frame["stage1"]])
                if len(frame)
                else np.zeros((0, k))
            )
        else:
            row_shares = np.tile(np.array(units.ratios) / sum(units.ratios), (len(frame), 1))
        groups: list[tuple[str, pd.DataFrame, np.ndarray]] = [("all", frame, row_shares)]
        if variables:
            for levels, index in frame.groupby(variables, sort=False).indices.items():
                levels = levels if isinstance(levels, tuple) else (levels,)
                label = ", ".join(f"{v}={lv}" for v, lv in zip(variables, levels, strict=True))
                groups.append((label, frame.iloc[index], row_shares[index]))
        rows = []
        for label, part, part_shares in groups:
            size = len(part)
            shares = part_shares.sum(axis=0) / size if size else np.zeros(k)
            keys = [tuple(r) for r in part[list(self.units.columns)].itertuples(index=False)]
            for treatment, share in zip(self.units.treatments, shares, strict=True):
                value = self.units.values(treatment)
                count = sum(1 for key in keys if key == value)
                rows.append(
                    (label, "treatment", self.units.label(treatment), count, round(share * size, 9))
                )
            if self.units.kind == "factorial":
                for j, column in enumerate(self.units.columns):
                    for level in dict.fromkeys(t[j] for t in self.units.treatments):
                        share = sum(
                            s
                            for t, s in zip(self.units.treatments, shares, strict=True)
                            if t[j] == level
                        )
                        count = sum(1 for key in keys if key[j] == level)
                        rows.append((label, column, level, count, round(share * size, 9)))
        out = pd.DataFrame(rows, columns=["stratum", "variable", "level", "n", "target"])
        total = out.groupby(["stratum", "variable"], sort=False)["n"].transform("sum")
        out.insert(
            4, "proportion", np.where(total > 0, out["n"] / total.where(total > 0, 1), np.nan)
        )
        out["difference"] = out["n"] - out["target"]
        return out

    # --------------------------------------------------------------- export
    def header(self, *, blocks: bool = False) -> list[str]:
        """Return the provenance lines written above the CSV (without ``#``).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, seed=7)
        >>> [line for line in s.header() if line.startswith(("seed", "block"))]
        ['block_sizes: 4, 8', 'block_probs: 0.5, 0.5', 'seed: 7']
        """
        units = self.units
        ratio_text = "; ".join(
            ", ".join(
                f"{_label(units.label(t))}={r}"
                for t, r in zip(units.treatments, ratios, strict=True)
            )
            + where
            for where, ratios in units.ratio_sets().items()
        )
        strata_text = _levels_text(self.strata)
        seed_text = str(self.seed.entropy)
        if self.seed.spawn_key:
            seed_text += f" (spawn_key={tuple(self.seed.spawn_key)})"
        lines = [
            "trialplan randomization schedule: stratified permuted blocks",
            f"trialplan_version: {__version__}",
            f"design: {units.description}",
            f"randomized: {units.kind} over {len(units.treatments)} treatments",
            f"allocation_ratios: {ratio_text}",
            f"strata: {strata_text}",
            f"n_per_stratum_min: {self.n}",
            f"block_sizes: {', '.join(map(str, self.block_sizes))}",
            f"block_probs: {', '.join(f'{q:g}' for q in self.block_probs)}",
            f"seed: {seed_text}",
            "streams: numpy PCG64, one per stratum, SeedSequence(seed, "
            "spawn_key=sha256(stratum labels))",
            f"numpy_version: {np.__version__} (regenerate with the same numpy version: "
            "Generator streams may change between releases)",
            f"rows: {len(self)}",
            "blinded: "
            + (
                "no (block and block_size columns included)"
                if blocks
                else "yes (block sizes and block numbers withheld)"
            ),
        ]
        if self.stage is not None:
            lines.insert(4, f"stage: {self.stage}")
        return lines

    def to_csv(self, path: str | Path, *, blocks: bool = False) -> Path:
        """Write the schedule as CSV, after a ``#`` header recording its provenance.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten).
        blocks : bool, default False
            Include block numbers and sizes (the unblinded master copy).

        Returns
        -------
        pathlib.Path
            The path written.  Read it back, exactly, with
            :func:`read_schedule`.

        Notes
        -----
        The file is UTF-8: ``#`` header lines (labels that are not plain
        words are written as JSON strings, and line breaks are escaped, so
        the header keeps one line per item), then the table.  Every text
        field is quoted (Python's ``csv`` module, ``QUOTE_NONNUMERIC``), so
        commas, ``#``, quotes and line breaks in labels survive, and a text
        field that begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
        return or ``'`` gets a leading ``'`` so that a spreadsheet does not
        run it as a formula.  The file is written to a temporary file and
        renamed, so a crash never leaves half a schedule.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd, trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, seed=7)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = s.to_csv(pathlib.Path(tmp) / "schedule.csv")
        ...     first = out.read_text().splitlines()[0]
        ...     back = tp.randomization.read_schedule(out)
        >>> first
        '# trialplan randomization schedule: stratified permuted blocks'
        >>> back.equals(s.to_frame())
        True
        """
        frame = self.to_frame(blocks=blocks)
        return _write_csv(
            path,
            self.header(blocks=blocks),
            list(frame.columns),
            frame.itertuples(index=False, name=None),
        )

    def describe(self) -> str:
        """Return a protocol sentence for the allocation sequence (SPIRIT 2013 item 16a).

        Block sizes are named only as "random" here: the protocol seen by
        enrolling staff should not reveal them.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        ...                  outcome=tp.Continuous(means={("sham", "control"): 0,
        ...                      ("active", "control"): -3, ("sham", "MBI"): -2,
        ...                      ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
        >>> s = tp.randomization.permuted_blocks(d, n=100, strata={"site": ("A", "B")},
        ...                                      seed=2026)
        >>> import textwrap
        >>> text = s.describe()
        >>> print(textwrap.fill(text.split(' with a computer')[0], 80))
        Participants will be randomized 1:1:1:1 to the four cells of the rTMS x MBI
        factorial (sham+control, sham+MBI, active+control, active+MBI) by permuted
        blocks of random size, stratified by site,
        >>> text.endswith(f"(trialplan {tp.__version__}, seed 2026).")
        True
        """
        units = self.units
        words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 8: "eight"}
        k = len(units.treatments)
        count = words.get(k, str(k))
        labels = ", ".join(units.label(t) for t in units.treatments)
        if units.kind == "factorial":
            what = f"the {count} cells of the {' x '.join(units.columns)} factorial ({labels})"
        elif units.kind == "SMART stage 2":
            what = f"one of {count} stage-2 options ({labels})"
        else:
            what = (
                f"one of {count} {'arms' if units.kind == 'parallel' else 'stage-1 arms'} "
                f"({labels})"
            )
        if units.ratios_by_stage1:
            ratio = "in the ratios set for each stage-1 arm"
        else:
            ratio = ":".join(map(str, units.ratios))
        who = (
            "Non-responders will be re-randomized "
            if units.kind == "SMART stage 2"
            else "Participants will be randomized "
        )
        strata = [
            ("stage-1 arm" if v == "stage1" and units.kind == "SMART stage 2" else v)
            for v in self.strata
        ]
        strata_text = f", stratified by {' and '.join(strata)}" if strata else ""
        return (
            f"{who}{ratio} to {what} by permuted blocks of random size{strata_text}, "
            f"with a computer-generated sequence (trialplan {__version__}, seed "
            f"{self.seed.entropy})."
        )

    def __repr__(self) -> str:
        units = self.units
        n_strata = math.prod(len(v) for v in self.strata.values())
        overall = self.balance()
        overall = overall[(overall.stratum == "all") & (overall.variable == "treatment")]
        table = overall[["level", "n", "proportion", "target"]].to_string(
            index=False, float_format=lambda x: f"{x:.3f}"
        )
        return (
            f"Permuted-block schedule | {units.description} | {n_strata} "
            f"strat{'um' if n_strata == 1 else 'a'} x >= {self.n} | block sizes "
            f"{self.block_sizes} | seed={self.seed.entropy}\n{table}"
        )

    __str__ = __repr__


# ---------------------------------------------------------------------------
# Minimization
# ---------------------------------------------------------------------------
def _plain_id(participant: Any) -> Any:
    return int(participant) if isinstance(participant, numbers.Integral) else participant


def _check_participant(participant: Any) -> None:
    if participant is not None and (
        isinstance(participant, bool) or not isinstance(participant, str | numbers.Integral)
    ):
        raise TypeError(
            "participant must be a text or whole-number identifier (or None for "
            f"the running number); got participant={participant!r}"
        )


def _check_covariates(
    given: Mapping[str, Any], factors: Mapping[str, tuple[Any, ...]], *, what: str
) -> None:
    if not isinstance(given, Mapping):
        raise TypeError(
            f"{what} must be a mapping {{variable: level}} over {list(factors)}; got {given!r}"
        )
    for variable, level in given.items():
        if variable not in factors:
            raise ValueError(
                f"{what}: {variable!r} is not a stratification variable; they are "
                f"{list(factors)}" + did_you_mean(variable, factors)
            )
        levels = factors[variable]
        if level not in levels:
            raise ValueError(
                f"{what}: {level!r} is not a level of {variable!r}, whose levels "
                f"are {levels}" + did_you_mean(level, levels)
            )
    missing = [v for v in factors if v not in given]
    if missing:
        raise ValueError(
            f"{what} is missing {missing}; give a level for every one of {list(factors)}"
        )


class Minimization:
    """Pocock-Simon minimization: an online allocator with a biased coin.

    For each new participant, every treatment ``k`` is tried hypothetically:
    for each minimization factor, the counts of participants already
    assigned at the participant's own level of that factor are taken, one is
    added to treatment ``k``, and the imbalance of those counts is measured
    (the range, max minus min, by default).  ``G_k`` is the weighted sum of
    these imbalances over the factors.  The treatments with the smallest
    ``G_k`` are preferred: with probability ``p`` the participant gets one of
    them (chosen at random if several tie), otherwise one of the other
    treatments at random.  When every treatment ties, the choice is uniform.

    The allocator keeps its state (counts and an audit log) between calls;
    it is the one mutable object in trialplan.  The analysis should adjust
    for the minimization factors (Kahan & Morris 2012).

    Parameters
    ----------
    design : Factorial, Parallel or SMART
        What is assigned: a factorial's cells, a parallel design's arms, a
        SMART's stage-1 arms (``stage=1``) or stage-2 options (``stage=2``,
        with the stage-1 arm added as a factor ``"stage1"``).  Minimization
        here is for equal allocation; a design with unequal ratios raises.
    factors : mapping of str to sequence
        Minimization factors and their levels, e.g. ``{"site": ("A", "B"),
        "severity": ("moderate", "severe")}``.
    p : float, default 0.8
        Probability of assigning a preferred (least-imbalance) treatment,
        in (1/K, 1] for K treatments (1 is deterministic minimization).
    weights : mapping of str to float, optional
        Weight of each factor in ``G_k`` (all 1 by default).
    imbalance : {"range", "variance"}, default "range"
        How the imbalance of one factor level's counts is measured.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Seeds the random choices; the same seed and the same participants
        give the same assignments.
    stage : {1, 2}, optional
        For a SMART only.

    Attributes
    ----------
    treatments : tuple
        What can be assigned (cells as tuples of levels, or arm labels).
    n_assigned : int
        Participants assigned so far.

    Raises
    ------
    ValueError
        For ``p`` outside (1/K, 1], a negative weight, unknown factors in
        ``weights``, a factor with no or repeated levels, or unequal
        allocation ratios.

    References
    ----------
    .. [1] Pocock SJ, Simon R. Biometrics 1975;31(1):103-115.
    .. [2] Taves DR. Clin Pharmacol Ther 1974;15(5):443-453.
    .. [3] Kahan BC, Morris TP. Stat Med 2012;31(4):328-340.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...                  outcome=tp.Continuous(means={("sham", "control"): 0,
    ...                      ("active", "control"): -3, ("sham", "MBI"): -2,
    ...                      ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
    >>> alloc = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, p=1.0, seed=1)
    >>> first = alloc.assign({"site": "A"})
    >>> second = alloc.assign({"site": "A"})   # p=1: never the cell site A already has
    >>> first != second, alloc.n_assigned
    (True, 2)
    """

    def __init__(
        self,
        design: Any,
        *,
        factors: Mapping[str, Sequence[Any]],
        p: float = 0.8,
        weights: Mapping[str, float] | None = None,
        imbalance: str = "range",
        seed: int | np.random.SeedSequence | np.random.Generator | None = None,
        stage: int | None = None,
    ) -> None:
        units = _units(design, stage=stage, ratios=None)
        unequal = [r for r in units.ratio_sets().values() if len(set(r)) != 1]
        if unequal:
            ratio_text = ":".join(map(str, unequal[0]))
            raise ValueError(
                f"Minimization supports equal allocation only; the design's "
                f"allocation ratios are {ratio_text} (with unequal ratios the "
                "biased coin does not preserve them; use permuted_blocks)"
            )
        self._units = units
        self.factors: Mapping[str, tuple[Any, ...]] = MappingProxyType(
            _check_strata(factors, units, name="factors")
        )
        # the audit log has one column per factor and per treatment column besides
        # its own; a clash would overwrite one with the other
        for name in (*self.factors, *units.columns):
            if name in _LOG_COLUMNS or name.startswith("G["):
                raise ValueError(
                    f"{name!r} names a minimization factor or treatment column, but the "
                    f"audit log uses the names {list(_LOG_COLUMNS)} and 'G[...]' for its "
                    "own columns; rename it"
                )
        if not self.factors:
            raise ValueError(
                "factors must name at least one minimization factor, e.g. "
                "{'site': ('A', 'B')}; got factors={}"
            )
        k = len(units.treatments)
        self.p = check_real("p", p)
        if not 1.0 / k < self.p <= 1.0:
            raise ValueError(
                f"p must lie in (1/{k}, 1] for {k} treatments (the preferred "
                f"treatment must be favoured); got p={p!r}"
            )
        weights = {} if weights is None else weights
        if not isinstance(weights, Mapping):
            raise TypeError(
                f"weights must be a mapping {{factor: weight}}; got weights={weights!r}"
            )
        for name in weights:
            if name not in self.factors:
                raise ValueError(
                    f"weights names {name!r}, which is not one of the factors "
                    f"{list(self.factors)}" + did_you_mean(name, self.factors)
                )
        self.weights: Mapping[str, float] = MappingProxyType(
            {f: check_real(f"weights[{f!r}]", weights.get(f, 1.0)) for f in self.factors}
        )
        bad = {f: w for f, w in self.weights.items() if w < 0}
        if bad or not any(w > 0 for w in self.weights.values()):
            raise ValueError(
                f"weights must be >= 0 with at least one > 0; got weights={dict(self.weights)!r}"
            )
        self.imbalance = check_choice("imbalance", imbalance, ("range", "variance"))
        if isinstance(seed, np.random.Generator):
            self._rng = seed
            self.seed: Any = seed
        else:
            root = _check_seed(seed)
            self.seed = root
            self._rng = np.random.Generator(np.random.PCG64(root))
        self._counts = {
            f: np.zeros((len(levels), k), dtype=int) for f, levels in self.factors.items()
        }
        self._log: list[dict[str, Any]] = []

    @property
    def treatments(self) -> tuple[Treatment, ...]:
        """What can be assigned, in order."""
        return self._units.treatments

    @property
    def n_assigned(self) -> int:
        """Participants assigned so far."""
        return len(self._log)

    def imbalance_scores(self, covariates: Mapping[str, Any]) -> dict[Treatment, float]:
        """``G_k`` for each treatment if the next participant had these covariates.

        Does not change the state.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"sex": ("F", "M")}, seed=0)
        >>> sorted(set(m.imbalance_scores({"sex": "F"}).values()))
        [1.0]
        """
        _check_covariates(covariates, self.factors, what="covariates")
        scores = self._scores(covariates)
        return dict(zip(self.treatments, scores.tolist(), strict=True))

    def _scores(self, covariates: Mapping[str, Any]) -> np.ndarray:
        k = len(self.treatments)
        scores = np.zeros(k)
        for factor, levels in self.factors.items():
            row = self._counts[factor][levels.index(covariates[factor])]
            trial = row[None, :] + np.eye(k, dtype=int)  # row i: add to treatment i
            if self.imbalance == "range":
                spread = trial.max(axis=1) - trial.min(axis=1)
            else:
                spread = trial.var(axis=1, ddof=1) if k > 1 else np.zeros(k)
            scores += self.weights[factor] * spread
        return scores

    def assign(self, covariates: Mapping[str, Any], *, participant: Any = None) -> Treatment:
        """Assign the next participant and record it.

        Parameters
        ----------
        covariates : mapping of str to level
            The participant's level of every minimization factor.
        participant : str or int, optional
            An identifier written to the audit log (default: the running
            number).

        Returns
        -------
        tuple or str
            The assigned cell (tuple of levels) or arm.

        Raises
        ------
        ValueError
            For an unknown factor or level (the closest name is suggested)
            or a missing factor.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, p=1.0, seed=5)
        >>> cells = [m.assign({"site": "A"}) for _ in range(4)]
        >>> sorted(cells) == sorted(m.treatments)   # p=1 fills every cell once per 4
        True
        """
        _check_covariates(covariates, self.factors, what="covariates")
        _check_participant(participant)
        scores = self._scores(covariates)
        k = len(self.treatments)
        best = np.flatnonzero(np.isclose(scores, scores.min(), rtol=0.0, atol=1e-9))
        others = np.setdiff1d(np.arange(k), best)
        u = float(self._rng.random())
        if others.size == 0:
            rule = "all tied: uniform"
            pool = best
        elif u < self.p:
            rule = "preferred" + (" (tie broken at random)" if best.size > 1 else "")
            pool = best
        else:
            rule = "biased coin: non-preferred"
            pool = others
        chosen = int(pool[self._rng.integers(pool.size)])
        return self._add(
            covariates,
            chosen,
            participant=participant,
            scores=scores,
            preferred=", ".join(self._units.label(self.treatments[i]) for i in best),
            u=u,
            rule=rule,
        )

    def record(
        self, covariates: Mapping[str, Any], treatment: Any, *, participant: Any = None
    ) -> Treatment:
        """Count an assignment made outside the allocator (e.g. before it started).

        The participant enters the counts and the audit log (rule
        ``"recorded"``) without a random draw, so later assignments balance
        against everyone randomized so far.

        Parameters
        ----------
        covariates : mapping of str to level
            The participant's level of every minimization factor.
        treatment : tuple or str
            The cell or arm the participant received.
        participant : str or int, optional
            An identifier for the audit log.

        Returns
        -------
        tuple or str
            ``treatment``.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("A", "B"), outcome=tp.Continuous(means={"A": 0, "B": 1},
        ...                 sd=1.0), n_per_arm=20)
        >>> m = tp.randomization.Minimization(d, factors={"sex": ("F", "M")}, p=1.0, seed=0)
        >>> m.record({"sex": "F"}, "A")
        'A'
        >>> m.assign({"sex": "F"})          # B is the only way to rebalance sex=F
        'B'
        """
        _check_covariates(covariates, self.factors, what="covariates")
        _check_participant(participant)
        chosen = self._units.index(treatment, "treatment")
        return self._add(
            covariates,
            chosen,
            participant=participant,
            scores=np.full(len(self.treatments), np.nan),
            preferred="",
            u=math.nan,
            rule="recorded",
        )

    def _add(
        self,
        covariates: Mapping[str, Any],
        chosen: int,
        *,
        participant: Any,
        scores: np.ndarray,
        preferred: str,
        u: float,
        rule: str,
    ) -> Treatment:
        for factor, levels in self.factors.items():
            self._counts[factor][levels.index(covariates[factor]), chosen] += 1
        treatment = self.treatments[chosen]
        entry: dict[str, Any] = {
            "participant": self.n_assigned + 1 if participant is None else _plain_id(participant),
            **{f: covariates[f] for f in self.factors},
            **{
                f"G[{self._units.label(t)}]": float(g)
                for t, g in zip(self.treatments, scores, strict=True)
            },
            "preferred": preferred,
            "u": u,
            "rule": rule,
            "assigned": self._units.label(treatment),
        }
        entry.update(dict(zip(self._units.columns, self._units.values(treatment), strict=True)))
        self._log.append(entry)
        return treatment

    def log(self) -> pd.DataFrame:
        """Return the audit log: one row per assignment, with every ``G_k`` and the draw.

        Columns: ``participant``, the factors, ``G[<treatment>]`` for each
        treatment, ``preferred`` (the least-imbalance treatments),
        ``u`` (the uniform draw compared with ``p``), ``rule``,
        ``assigned`` and the treatment columns.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, seed=5)
        >>> _ = m.assign({"site": "B"}, participant="P-001")
        >>> m.log().loc[0, ["participant", "site", "rule"]].tolist()
        ['P-001', 'B', 'all tied: uniform']
        """
        return pd.DataFrame(self._log)

    def counts(self) -> pd.DataFrame:
        """Count assignments so far by factor level (rows) and treatment (columns).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, seed=5)
        >>> _ = m.assign({"site": "B"})
        >>> int(m.counts().loc[("site", "B")].sum())
        1
        """
        labels = [self._units.label(t) for t in self.treatments]
        blocks = []
        for factor, levels in self.factors.items():
            index = pd.MultiIndex.from_tuples(
                [(factor, lv) for lv in levels], names=["factor", "level"]
            )
            blocks.append(pd.DataFrame(self._counts[factor], index=index, columns=labels))
        return pd.concat(blocks)

    def to_csv(self, path: str | Path) -> Path:
        """Write the audit log as CSV after a ``#`` header with the settings.

        Quoted and escaped as :meth:`Schedule.to_csv` is; read it back,
        exactly, with :func:`read_minimization_log`.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        seed = (
            self.seed.entropy
            if isinstance(self.seed, np.random.SeedSequence)
            else "a caller-supplied numpy Generator (not recorded)"
        )
        lines = [
            "trialplan minimization audit log (Pocock-Simon)",
            f"trialplan_version: {__version__}",
            f"design: {self._units.description}",
            f"factors: {_levels_text(self.factors)}",
            f"weights: {', '.join(f'{_label(f)}={w:g}' for f, w in self.weights.items())}",
            f"imbalance: {self.imbalance}",
            f"p: {self.p:g}",
            f"seed: {seed}",
            f"numpy_version: {np.__version__}",
            f"assigned: {self.n_assigned}",
        ]
        log = self.log()
        return _write_csv(path, lines, list(log.columns), log.itertuples(index=False, name=None))

    def __repr__(self) -> str:
        return (
            f"Minimization(Pocock-Simon, {self.imbalance} imbalance, p={self.p:g}) | "
            f"{self._units.description} | factors {list(self.factors)} | "
            f"{self.n_assigned} assigned"
        )
