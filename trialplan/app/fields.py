"""Which form field a spec error is about: the key path of the error, and the names in it.

A :class:`~trialplan.spec.SpecError` names the TOML key (``design.outcome.sd``)
and, for tables of cells, the cell in its message (``dropout[('active',
'MBI')] ...``); :func:`field_of` turns that into the id of the field the page
marks.  An error with no field of its own goes to ``"form"`` (the banner).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trialplan.app.layout import CELL_TABLES, VALUE_PREFIX, Layout
from trialplan.spec import SpecError

__all__ = ["field_of"]

_OUTCOME_FIELDS = {
    "sd": "sd",
    "baseline_corr": "baseline_corr",
    "better": None,  # per outcome type
    "scale": "scale",
    "accrual": "accrual",
    "follow_up": "follow_up",
    "analysis_time": "follow_up",
    "dropout_hazard": "follow_up",
}


def _cell_index(text: str, labels: Sequence[str]) -> int | None:
    """The cell an error message names ("means[('sham', 'MBI')]" or '"sham+MBI"')."""
    match = re.search(r"\[\(([^)]*)\)\]", text)
    if match:
        parts = tuple(p.strip().strip("'\"") for p in match.group(1).split(",") if p.strip())
        joined = "+".join(parts)
        if joined in labels:
            return labels.index(joined)
    match = re.search(r"\[['\"]([^'\"]+)['\"]\]", text)
    if match and match.group(1) in labels:
        return labels.index(match.group(1))
    for i, lab in enumerate(labels):
        if f'"{lab}"' in text or f"'{lab}'" in text:
            return i
    return None


def field_of(
    error: SpecError,
    layout: Layout,
    labels: Sequence[str],
    outcome: str,
    names: Mapping[str, Any] | None = None,
) -> str:
    """The form field a spec error is about (``"form"`` when none is).

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.app.form import initial_values, layout_of
    >>> layout = layout_of(tp.scenarios.state_dependent_synergy())
    >>> labels = list(layout.base_labels)
    >>> field_of(SpecError("design.outcome.sd", "must be > 0"), layout, labels, "continuous")
    'sd'
    >>> error = SpecError("design.dropout", "dropout[('active', 'MBI')] must lie in [0, 1)")
    >>> field_of(error, layout, labels, "continuous")
    'dropout_3'
    """
    path = error.path or ""
    reason = error.reason or ""
    parts = path.split(".", 2)
    text = f"{path} {reason}"
    if path.startswith("design.outcome"):
        rest = path[len("design.outcome") :].lstrip(".")
        key = rest.split(".", 1)[0]
        if key in CELL_TABLES or not key and any(t in reason for t in CELL_TABLES):
            index = _cell_index(text, labels)
            return f"{VALUE_PREFIX[outcome]}_{index if index is not None else 0}"
        if key == "better":
            return f"better_{outcome}" if outcome != "time_to_event" else "outcome_type"
        return _OUTCOME_FIELDS.get(key) or "outcome_type"
    if path.startswith("design.dropout"):
        index = _cell_index(text, labels)
        return f"dropout_{index if index is not None else 0}"
    if path.startswith(f"design.{layout.size_key}"):
        if any(lab in reason for lab in labels) or "{" in reason:
            index = _cell_index(text, labels)
            return f"ratio_{index}" if index is not None else "n"
        return "n"
    if path in ("design.alpha", "design.sided"):
        return parts[1]
    if path.startswith("design"):
        return _factor_field(reason, layout, names)
    if path.startswith("analysis.sequential"):
        key = path.split(".")[2] if path.count(".") >= 2 else ""
        return {
            "info_fractions": "info_fractions",
            "efficacy": "efficacy",
            "futility": "futility",
            "binding": "binding",
            "alpha": "looks",
            "sided": "looks",
        }.get(key, "looks")
    if path.startswith("analysis.multiplicity"):
        return "family" if "hypothes" in path or "famil" in path else "multiplicity"
    if path.startswith("analysis"):
        key = parts[1] if len(parts) > 1 else ""
        return {"power": "power", "primary": "primary", "size": "size"}.get(key, "primary")
    if path.startswith("randomization"):
        return "block_sizes"
    if path.startswith("labels"):
        return _label_field(reason, layout, names)
    return "form"


def _factor_field(reason: str, layout: Layout, names: Mapping[str, Any] | None) -> str:
    """The factor or level field of a message about the factors ("factors['rTMS'] ...")."""
    factors = list((names or {}).get("factors", layout.factors))
    levels = list((names or {}).get("levels", layout.levels))
    match = re.search(r"factors\[['\"]([^'\"]*)['\"]\]", reason) or re.search(
        r"factor(?: name)? ['\"]([^'\"]*)['\"]", reason
    )
    if match and match.group(1) in factors:
        i = factors.index(match.group(1))
        if "level" in reason or "two different" in reason:
            pair = levels[i]
            return f"factor_{i}_level_{0 if not pair[0] else 1}"
        return f"factor_{i}_name"
    match = re.search(r"level ['\"]([^'\"]*)['\"]", reason)
    if match:
        for i, pair in enumerate(levels):
            if match.group(1) in pair:
                return f"factor_{i}_level_{pair.index(match.group(1))}"
    return "factor_0_name" if layout.factors else "form"


def _label_field(reason: str, layout: Layout, names: Mapping[str, Any] | None) -> str:
    """The display-name field of a message about ``[labels]`` ("levels['rTMS']['sham']")."""
    levels = list((names or {}).get("levels", layout.levels))
    match = re.search(r"levels\['([^']*)'\]\['([^']*)'\]", reason)
    if match:
        for i, pair in enumerate(levels):
            if match.group(2) in pair:
                return f"factor_{i}_label_{list(pair).index(match.group(2))}"
    if layout.kind == "parallel":
        return "arm_0_label"
    return "factor_0_label_0" if layout.factors else "form"
