"""Input checks shared by every module.

Each check names the parameter, the value received and what is allowed, so a
user sees at once what to change (the scikit-learn convention).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def check_real(name: str, value: Any) -> float:
    """Return ``value`` as a finite float or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {name}={value!r}")
    try:
        result = float(value)
    except OverflowError:  # an int beyond the float range (about 1.8e308)
        result = math.inf
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite; got {name}={value!r}")
    return result


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a finite float > 0 or raise naming ``name``."""
    result = check_real(name, value)
    if result <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {name}={value!r}")
    return result


#: Outcome values (means, standard deviations) must stay within these magnitudes, so
#: that their squares and products, which variances are made of, are normal floats:
#: sd=1e-200 gave a zero standard error and sd=1e300 an OverflowError (issue 21).
MAX_MAGNITUDE = 1e150
MIN_SCALE = 1e-150


def check_magnitude(name: str, value: Any, *, scale: bool = False) -> float:
    """Return ``value`` as a finite float of magnitude at most 1e150 (and >= 1e-150 if ``scale``).

    ``scale=True`` is for a standard deviation or another scale parameter (> 0).
    """
    result = check_positive(name, value) if scale else check_real(name, value)
    if abs(result) > MAX_MAGNITUDE or (scale and result < MIN_SCALE):
        allowed = (
            f"between {MIN_SCALE:g} and {MAX_MAGNITUDE:g}"
            if scale
            else f"between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}"
        )
        raise ValueError(
            f"{name} must lie {allowed} (its square must stay a normal floating-point "
            f"number; express the outcome in other units); got {name}={value!r}"
        )
    return result


#: Largest size a cell (or a SMART) may have: far above any trial, and small enough
#: that sizes stay exact float64 integers (below 2**53), totals fit int64 and the
#: statistics stay finite (n_per_cell=2**62+2 used to overflow n_total to 8, and 1e18
#: gave a NaN combination power; issue 21, item 6).
MAX_CELL_SIZE = 10**15

#: Smallest significance level accepted where alpha is split or inverted: a subnormal
#: alpha (e.g. 5e-324) halves to 0 and its critical value is infinite.
MIN_ALPHA = 1e-300


def check_alpha(name: str, value: Any) -> float:
    """Return ``value`` as a significance level in [1e-300, 1) or raise naming ``name``."""
    result = check_open_unit(name, value)
    if result < MIN_ALPHA:
        raise ValueError(
            f"{name} must be at least {MIN_ALPHA:g} (a smaller level has an infinite "
            f"critical value); got {name}={value!r}"
        )
    return result


def check_open_unit(name: str, value: Any) -> float:
    """Return ``value`` as a float strictly inside (0, 1) or raise naming ``name``."""
    result = check_real(name, value)
    if not 0.0 < result < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {name}={value!r}")
    return result


def check_unit_interval(name: str, value: Any, *, upper_open: bool = True) -> float:
    """Return ``value`` as a float in [0, 1) (or [0, 1]) or raise naming ``name``."""
    result = check_real(name, value)
    ok = 0.0 <= result < 1.0 if upper_open else 0.0 <= result <= 1.0
    if not ok:
        allowed = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{name} must lie in {allowed}; got {name}={value!r}")
    return result


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be a whole number; got {name}={value!r}")
    result = int(value)
    if result < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {name}={value!r}")
    return result


def as_sequence(value: Any) -> Any:
    """A 1-D numpy array or pandas Series/Index as a tuple of Python scalars; else ``value``.

    Arrays are not ``collections.abc.Sequence``, so checks written for lists
    refused ``np.array(["a", "b"])`` although the list of the same names works.
    """
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return tuple(value.tolist())
    if (
        type(value).__module__.startswith("pandas")
        and hasattr(value, "to_numpy")
        and getattr(value, "ndim", 0) == 1
    ):
        return tuple(value.to_numpy().tolist())
    return value


def check_cell_mapping(name: str, values: Any, *, holding: str = "value") -> Mapping[Any, Any]:
    """Return ``values`` if it is a non-empty mapping ``{cell: holding}``; else raise."""
    if not isinstance(values, Mapping):
        raise TypeError(f"{name} must be a mapping {{cell: {holding}}}; got {name}={values!r}")
    if not values:
        raise ValueError(f"{name} must name at least one cell; got an empty mapping")
    return values


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise suggest the closest."""
    allowed = tuple(allowed)
    if value in allowed:
        return value
    raise ValueError(
        f"{name}={value!r} is not allowed; choose one of {allowed!r}" + did_you_mean(value, allowed)
    )


def check_sided(sided: Any) -> int:
    """Return ``sided`` (1 or 2) or raise."""
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided must be 1 (one-sided) or 2 (two-sided); got sided={sided!r}")
    return int(sided)


def did_you_mean(value: Any, allowed: Iterable[Any]) -> str:
    """Return a ``" (did you mean 'x'?)"`` hint for a mistyped name, or ``""``."""
    names = [str(a) for a in allowed]
    same_case = [n for n in names if n.lower() == str(value).lower()]
    close = same_case or difflib.get_close_matches(str(value), names, n=1, cutoff=0.5)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [
            lowered[m]
            for m in difflib.get_close_matches(str(value).lower(), lowered, n=1, cutoff=0.5)
        ]
    return f" (did you mean {close[0]!r}?)" if close else ""
