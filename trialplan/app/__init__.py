"""The design page: a local web page on the same engine as the library and the CLI.

``trialplan serve [SPEC]`` serves it until stopped; in a notebook or script,
``tp.app(spec_or_design)`` serves it from a background thread and returns an
:class:`AppServer` (its ``url``; shown inline in a notebook).  The page opens
on the rTMS x MBI starter spec (or the spec given), edits it in a form, and
shows the resolved plan's power table, sample size, power curve,
group-sequential boundaries and sensitivity heat map as the form changes; a
button checks the exact answers by simulation, and every download (spec,
protocol, randomization list, figures) is written from the same plan as
``trialplan protocol`` writes it.

Built with Shiny for Python (the ``app`` extra: ``pip install
"trialplan[app]"``); importing :mod:`trialplan.app` needs nothing beyond the
library, Shiny is imported when a page is made.

This module is callable: ``tp.app(spec)`` is :func:`start`.

Examples
--------
>>> import trialplan as tp
>>> callable(tp.app), tp.app.DEFAULT_HOST
(True, '127.0.0.1')
"""

from __future__ import annotations

import sys
import types
from typing import Any

from trialplan.app.run import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    AppServer,
    create_app,
    resolve_spec,
    serve,
    start,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "AppServer",
    "create_app",
    "resolve_spec",
    "serve",
    "start",
]


class _CallableModule(types.ModuleType):
    """The ``trialplan.app`` module, callable as ``tp.app(spec_or_design)``."""

    def __call__(
        self,
        spec_or_design: Any = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        open_browser: bool = False,
    ) -> AppServer:
        """Serve the design page from a background thread (see :func:`start`)."""
        return start(spec_or_design, host=host, port=port, open_browser=open_browser)


sys.modules[__name__].__class__ = _CallableModule
