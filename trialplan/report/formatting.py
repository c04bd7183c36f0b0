"""One number format for every protocol: how each kind of number is written.

* power and other probabilities: a percent with one decimal ("90.2%");
* z-scale bounds: three decimals ("2.511");
* p-value-scale bounds and alpha spent: four significant digits ("0.0001035"
  reads "0.0001035", "0.02500" reads "0.025");
* participants: whole numbers, fractional expectations rounded up;
* planning values and effects: up to four significant digits, no trailing
  zeros ("-3", "7.332");
* proportions the user gave (dropout, target power): a percent without
  needless decimals ("7%", "90%", "12.5%").

Examples
--------
>>> pct(0.93359), z(2.51149), p_value(0.00010351), p_value(0.025), people(587.3)
('93.4%', '2.511', '0.0001035', '0.025', '588')
>>> num(-3.0), num(7.33212), share(0.07), share(0.125)
('-3', '7.332', '7%', '12.5%')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "count",
    "fraction",
    "grouped",
    "num",
    "p_value",
    "pct",
    "people",
    "per_cell",
    "share",
    "words_list",
    "z",
]


def num(value: Any) -> str:
    """A planning value or effect: up to four significant digits, no trailing zeros."""
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"


def pct(value: Any) -> str:
    """A power or probability as a percent with one decimal (never "100.0%" short of 1).

    Examples
    --------
    >>> pct(0.9), pct(0.999996), pct(1.0), pct(0.00001), pct(0.0)
    ('90.0%', '>99.9%', '>99.9%', '<0.1%', '0.0%')
    """
    value = float(value)
    if value >= 0.9995:  # computed power is never exactly 100 %
        return ">99.9%"
    if 0 < value < 0.0005:
        return "<0.1%"
    return f"{100 * value:.1f}%"


def share(value: Any) -> str:
    """A proportion the user chose (dropout, target power), as a short percent."""
    percent = 100 * float(value)
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.3g}%"


def fraction(value: Any) -> str:
    """An information fraction: three significant digits ("0.333", "1").

    Examples
    --------
    >>> fraction(1 / 3), fraction(1.0), fraction(0.5)
    ('0.333', '1', '0.5')
    """
    return f"{float(value):.3g}"


def z(value: Any) -> str:
    """A bound on the z scale: three decimals."""
    value = float(value)
    return "none" if math.isnan(value) else f"{value:.3f}"


def p_value(value: Any) -> str:
    """A bound on the p-value scale (nominal p, alpha spent): four significant digits."""
    value = float(value)
    if math.isnan(value):
        return "none"
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.3e}"


def people(value: Any) -> str:
    """Participants: a whole number, an expected (fractional) count rounded up."""
    return str(int(math.ceil(float(value) - 1e-9)))


# ---------------------------------------------------------------- words
_COUNT = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def words_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def count(n: int) -> str:
    """Small numbers in words."""
    return _COUNT.get(n, str(n))


def grouped(labels: Sequence[str], values: Sequence[Any], fmt: Any) -> list[tuple[str, list[str]]]:
    """Cells grouped by a shared value, in first-seen order: [(value text, [labels])]."""
    groups: dict[str, list[str]] = {}
    for label, value in zip(labels, values, strict=True):
        groups.setdefault(fmt(value), []).append(label)
    return list(groups.items())


def per_cell(labels: Sequence[str], values: Sequence[int], unit: str) -> str:
    """Counts per cell in words: "360 per cell" or "334 in A and B and 252 in C and D"."""
    groups = grouped(labels, values, str)
    if len(groups) == 1:
        return f"{groups[0][0]} per {unit}"
    return words_list([f"{value} in {words_list(cells)}" for value, cells in groups])
