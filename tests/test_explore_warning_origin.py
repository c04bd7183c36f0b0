"""explore's warnings point at the line that called tp.explore, not into trialplan.

explore() is split into steps (checks, running, the frame); the warnings issued
while running (a factory that cannot go to other processes, a damaged cache)
must still name the user's line, so that a user sees where the call is.
"""

from __future__ import annotations

import sqlite3
import warnings

import trialplan as tp

BASE = tp.Factorial(
    factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    outcome=tp.Continuous(
        means={
            ("sham", "control"): 0.0,
            ("active", "control"): -3.0,
            ("sham", "MBI"): -2.0,
            ("active", "MBI"): -8.0,
        },
        sd=8.0,
        better="lower",
    ),
    n_per_cell=50,
)


def factory(sd: float) -> tp.Factorial:
    return BASE.replace(sd=sd)


def test_the_serial_fallback_warning_names_the_callers_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tp.explore(
            lambda sd: factory(sd),  # a lambda cannot go to a process pool
            {"sd": (7.0, 8.0)},
            method="simulation",
            n_sims=500,
            seed=1,
            hypotheses="rTMS:MBI",
            max_workers=2,
        )
    fallback = [w for w in caught if "serially" in str(w.message)]
    assert len(fallback) == 1
    assert fallback[0].filename == __file__


def test_a_damaged_cache_warning_names_the_callers_line(tmp_path) -> None:
    cache = tmp_path / "runs.sqlite"
    tp.explore(factory, {"sd": (7.0, 8.0)}, hypotheses="rTMS:MBI", cache=cache)
    with sqlite3.connect(cache) as db:  # damage every stored entry
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        assert tables
        for table in tables:
            columns = [r[1] for r in db.execute(f"pragma table_info({table})")]
            blobs = [c for c in columns if c not in ("key", "scenario_hash")]
            for column in blobs:
                db.execute(f"update {table} set {column} = x'ff00ff'")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = tp.explore(factory, {"sd": (7.0, 8.0)}, hypotheses="rTMS:MBI", cache=cache)
    assert frame.attrs["n_computed"] == 2  # both entries were unreadable and recomputed
    assert caught, "expected a warning about the damaged entries"
    assert [w.filename for w in caught] == [__file__] * len(caught), [
        (str(w.message), w.filename) for w in caught
    ]
