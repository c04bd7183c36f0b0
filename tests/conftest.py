"""Shared pytest options.

``--update-golden`` rewrites the golden protocol files in tests/golden/ from the
current output instead of comparing with them (see tests/golden/README.md).

Property tests (hypothesis) draw their examples deterministically by default, so
the suite gives the same verdict on every machine and every run: a failure on CI
is a failure here too. ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples
(and more of them) to hunt for new failures; a failure found that way becomes an
``@example`` or a regression test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.md from the examples' current protocols",
    )
