"""TEMPORARY: route ``design.power(sequential=..., adaptive=...)`` to the adaptive engine.

The design's ``power()`` dispatches keyword options through the
``_POWER_OPTIONS`` registry, one option at a time; ``sequential=`` is
registered by :mod:`trialplan.sequential`.  This shim wraps that handler so
that ``adaptive=`` travels with ``sequential=`` to
:func:`trialplan.adaptive.reestimation.adaptive_power`.  It goes when the
design methods take explicit keywords (issue 15, phase A), whose dispatch
calls :func:`~trialplan.adaptive.reestimation.adaptive_power` itself; without
the registry this module does nothing.
"""

from __future__ import annotations

from typing import Any

from trialplan import sequential as _sequential  # noqa: F401  (registers sequential=)
from trialplan.designs import base as _base

_OPTIONS = getattr(_base, "_POWER_OPTIONS", None)


def _sequential_or_adaptive(
    design: Any,
    hypotheses: Any,
    *,
    method: str,
    sequential: Any,
    adaptive: Any = None,
    **options: Any,
) -> Any:
    if adaptive is None:
        return _sequential_handler(
            design, hypotheses, method=method, sequential=sequential, **options
        )
    from trialplan.adaptive.reestimation import adaptive_power

    return adaptive_power(
        design, hypotheses, sequential=sequential, adaptive=adaptive, method=method, **options
    )


if _OPTIONS is not None and "sequential" in _OPTIONS:
    _sequential_handler = _OPTIONS["sequential"]
    if getattr(_sequential_handler, "__name__", "") != "_sequential_or_adaptive":
        _OPTIONS["sequential"] = _sequential_or_adaptive
