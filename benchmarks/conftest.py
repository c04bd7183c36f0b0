"""Collect the figures of benchmarks/bench_speed.py and print them as ratios at the end.

pytest-benchmark times each case (best of several rounds); every case also
records its best time here, with the name of the reference it is compared with
(the random-number limit, a baseline such as a statsmodels loop, mcpower or
rpact, or a target time).  The terminal summary prints one table of ratios
measured in the same run, with the machine and its load before and after.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field

import pytest


@dataclass
class Figure:
    """One timed case: best seconds per call, and what it is compared with."""

    seconds: float
    references: tuple[str, ...] = ()
    target: float | None = None  # a ratio the figure should stay at or below
    note: str = ""


@dataclass
class Registry:
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] | None = None

    def record(
        self,
        name: str,
        seconds: float,
        *,
        references: tuple[str, ...] = (),
        target: float | None = None,
        note: str = "",
    ) -> None:
        self.figures[name] = Figure(seconds, references, target, note)


REGISTRY = Registry()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trialplan speed benchmarks")
    group.addoption(
        "--quick",
        action="store_true",
        help="fewer rounds, 100,000 instead of 1,000,000 trials, no R and no mcpower",
    )
    group.addoption(
        "--ols-trials",
        type=int,
        default=2000,
        help="trials of the statsmodels OLS loop (its time is scaled to 10,000 trials)",
    )


@pytest.fixture(scope="session")
def registry() -> Registry:
    return REGISTRY


def load() -> tuple[float, float, float] | None:
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def pytest_sessionstart(session: pytest.Session) -> None:
    REGISTRY.load_before = load()


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy
    import scipy

    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical cores; "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}"
    )


def _fmt_load(value: tuple[float, float, float] | None) -> str:
    return "?" if value is None else "/".join(f"{v:.2f}" for v in value)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    figures = REGISTRY.figures
    if not figures:
        return
    write = terminalreporter.write_line
    terminalreporter.section("trialplan speed: ratios measured in this run")
    write(f"machine: {machine()}")
    write(
        f"load average (1/5/15 min): before {_fmt_load(REGISTRY.load_before)}, "
        f"after {_fmt_load(load())}"
    )
    header = f"{'case':58s} {'best ms':>10s}  {'vs':40s} {'ratio':>9s}  target"
    write("ratio = best time of the case / best time of what it is compared with")
    write(header)
    write("-" * len(header))
    for name, fig in figures.items():
        refs = [r for r in fig.references if r in figures] or [""]
        for i, ref in enumerate(refs):
            label = name if i == 0 else ""
            ms = f"{1e3 * fig.seconds:10.3f}" if i == 0 else " " * 10
            if ref:
                ratio = fig.seconds / figures[ref].seconds
                shown = f"{ratio:8.2f}x" if ratio >= 0.1 else f"{1 / ratio:6.0f}x faster"
                verdict = ""
                if fig.target is not None and i == 0:
                    ok = ratio <= fig.target
                    verdict = f"<= {fig.target:g}x: {'met' if ok else 'NOT met'}"
                write(f"{label:58s} {ms}  {ref:40s} {shown:>9s}  {verdict}")
            else:
                write(f"{label:58s} {ms}")
        if fig.note:
            write(f"{'':58s} {'':10s}  ({fig.note})")
    for note in REGISTRY.notes:
        write(f"note: {note}")
