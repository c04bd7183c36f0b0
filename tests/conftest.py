"""Shared pytest options.

``--update-golden`` rewrites the golden protocol files in tests/golden/ from the
current output instead of comparing with them (see tests/golden/README.md).
"""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.md from the examples' current protocols",
    )
