"""The explore cache and pool under damage, concurrency and kills (issue 21, item 3).

What is checked, and why each would fail on the JSON-lines cache of before:

* every damaged or invalid entry (undecodable bytes, invalid JSON, no rows, a
  missing column, power outside [0, 1] or NaN, a shortened row list, edited
  rows, a wrong key) is skipped with a warning naming the reason, and its
  scenario is computed again and overwritten -- never trusted, never dropped;
* a JSON-lines cache written by an older trialplan is still read: converted
  once to SQLite (duplicates folded, bad lines skipped with a warning), the
  original kept as ``.bak``;
* several processes writing one cache at once leave one valid entry per
  scenario (the JSON-lines file got one line per writer and scenario);
* killing explore at random moments loses nothing and tears nothing: the
  resumed run completes with results equal to an uncached run;
* pool workers exit within seconds of their explore process being killed
  (they used to outlive it: still alive 60 s later).

Expected powers are scipy's noncentral t (the formula of METHODS.md section 1),
computed here independently of trialplan.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import trialplan as tp
from trialplan._explore_cache import check_entry

MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
BASE = tp.Factorial(
    factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    outcome=tp.Continuous(means=MEANS, sd=8.0, better="lower"),
    n_per_cell=50,
)
GRID = {"sd": (7.0, 8.0), "n": (40, 60)}


class CountingFactory:
    """Counts its calls; its repr (and so its cache fingerprint) stays fixed."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int]] = []

    def __call__(self, sd: float, n: int) -> tp.Factorial:
        self.calls.append((sd, n))
        return BASE.replace(sd=sd, n_per_cell=n)

    def __repr__(self) -> str:
        return "CountingFactory()"


def exact_interaction_power(sd: float, n: int, ic: float = -3.0, alpha: float = 0.05) -> float:
    """Two-sided t test of the 2x2 interaction contrast, exact noncentral t (scipy)."""
    df = 4 * (n - 1)
    se = sd * math.sqrt(4 / n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = ic / se
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def stored(path: Path) -> dict[str, bytes]:
    """Key -> raw entry bytes, read with sqlite3 directly."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.text_factory = bytes
        return {k.decode(): bytes(e) for k, e in conn.execute("SELECT key, entry FROM scenarios")}


def replace_entry(path: Path, key: str, raw: bytes) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE scenarios SET entry = ? WHERE key = ?", (raw, key))


def run(cache: Path, factory: CountingFactory | None = None, **kwargs):
    return tp.explore(
        factory or CountingFactory(), GRID, cache=cache, hypotheses="rTMS:MBI", **kwargs
    )


def assert_exact(frame) -> None:
    for sd, n, power in zip(frame["sd"], frame["n"], frame["power"], strict=True):
        assert power == pytest.approx(exact_interaction_power(sd, n), abs=1e-9)


# --------------------------------------------------------------- damaged entries
def _drop_rows(e):
    e["rows"] = []


def _drop_power(e):
    del e["rows"][0]["power"]


def _power_above_one(e):
    e["rows"][0]["power"] = 1.5


def _power_nan(e):
    e["rows"][0]["power"] = float("nan")


def _power_text(e):
    e["rows"][0]["power"] = "0.5"


def _short_rows(e):
    e["rows"] = e["rows"][:-1]


def _edited_power(e):
    e["rows"][0]["power"] = 0.5  # in range, but not what was computed


def _wrong_key(e):
    e["key"] = "0" * 16


def _not_an_object(e):
    e.clear()
    e["list"] = True


DAMAGE = [
    pytest.param(_drop_rows, "rows is missing or empty", id="rows-empty"),
    pytest.param(_drop_power, "missing \\['power'\\]", id="power-missing"),
    pytest.param(_power_above_one, "power=1.5, not a number in", id="power-1.5"),
    pytest.param(_power_nan, "power=nan, not a number in", id="power-nan"),
    pytest.param(_power_text, "power='0.5', not a number in", id="power-text"),
    pytest.param(_short_rows, "rows is missing or empty|rows where", id="rows-short"),
    pytest.param(_edited_power, "do not match their digest", id="rows-edited"),
    pytest.param(_wrong_key, "differs from the scenario", id="wrong-key"),
]


@pytest.mark.parametrize(("damage", "reason"), DAMAGE)
def test_invalid_entry_is_skipped_with_a_warning_and_recomputed(
    tmp_path: Path, damage, reason: str
) -> None:
    cache = tmp_path / "runs.sqlite"
    first = run(cache)
    key = first["scenario_hash"].iloc[1]
    entry = json.loads(stored(cache)[key])
    if damage is _short_rows:  # needs two rows to shorten: the default hypotheses
        tp.explore(CountingFactory(), GRID, cache=cache)
        key = tp.explore(CountingFactory(), GRID, cache=cache)["scenario_hash"].iloc[-1]
        entry = json.loads(stored(cache)[key])
    damage(entry)
    replace_entry(cache, key, json.dumps(entry).encode())
    counter = CountingFactory()
    hyps = None if damage is _short_rows else "rTMS:MBI"
    with pytest.warns(UserWarning, match=f"skipped 1 invalid entry.*{reason}"):
        frame = tp.explore(counter, GRID, cache=cache, hypotheses=hyps)
    assert len(counter.calls) == 1  # only the damaged scenario
    assert frame.attrs["n_cached"] == 3
    assert_exact(frame[frame["hypothesis"] == "rTMS:MBI"])
    # overwritten with a valid entry: the next run computes nothing and warns nothing
    assert not check_entry(json.loads(stored(cache)[key]), key, None)
    again = CountingFactory()
    with warnings_as_errors():
        run(cache, again)
    assert again.calls == []


@contextlib.contextmanager
def warnings_as_errors():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_undecodable_bytes_and_invalid_json_are_skipped(tmp_path: Path) -> None:
    cache = tmp_path / "runs.sqlite"
    keys = list(run(cache)["scenario_hash"])
    raw = stored(cache)
    replace_entry(cache, keys[0], raw[keys[0]][:40] + b"\xff" + raw[keys[0]][41:])
    replace_entry(cache, keys[2], raw[keys[2]][: len(raw[keys[2]]) // 2])
    counter = CountingFactory()
    with pytest.warns(UserWarning, match="skipped 2 invalid entries.*UnicodeDecodeError"):
        frame = run(cache, counter)
    assert sorted(counter.calls) == [(7.0, 40), (8.0, 40)]
    assert_exact(frame)


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    cache = tmp_path / "runs.sqlite"
    run(cache)
    data = cache.read_bytes()
    cache.write_bytes(data[:16] + b"\x00" * 84 + b"garbage" * 100)  # SQLite magic, bad header
    counter = CountingFactory()
    with pytest.warns(UserWarning, match="not a readable SQLite database.*moved to"):
        frame = run(cache, counter)
    assert len(counter.calls) == 4
    assert_exact(frame)
    assert (tmp_path / "runs.sqlite.damaged").read_bytes()[16:100] == b"\x00" * 84


# ------------------------------------------------------------- JSON-lines caches
def legacy_lines(tmp_path: Path) -> list[str]:
    """Entries as an older trialplan wrote them: one JSON object per line, no digest."""
    scratch = tmp_path / "scratch.sqlite"
    run(scratch)
    entries = sorted(
        (json.loads(e) for e in stored(scratch).values()),
        key=lambda e: (e["params"]["sd"], e["params"]["n"]),
    )
    return [
        json.dumps({k: v for k, v in e.items() if k not in ("n_rows", "columns", "digest")})
        for e in entries
    ]


def test_json_lines_cache_with_a_bad_byte_is_converted_not_a_crash(tmp_path: Path) -> None:
    lines = legacy_lines(tmp_path)
    cache = tmp_path / "runs.jsonl"
    damaged = lines[1].replace('"rows"', '"r\udcffows"').encode("utf-8", "surrogateescape")
    cache.write_bytes(b"\n".join([lines[0].encode(), damaged, lines[2].encode(), b""]))
    counter = CountingFactory()
    with pytest.warns(UserWarning, match=r"converted the JSON-lines cache.*1 unreadable or inval"):
        frame = run(cache, counter)
    assert counter.calls == [(7.0, 60), (8.0, 60)]  # the damaged line and the missing one
    assert_exact(frame)
    assert cache.read_bytes().startswith(b"SQLite format 3\x00")
    assert (tmp_path / "runs.jsonl.bak").read_bytes().split(b"\n")[1] == damaged
    assert len(stored(cache)) == 4


def test_json_lines_duplicates_and_invalid_entries(tmp_path: Path) -> None:
    lines = legacy_lines(tmp_path)
    empty_rows = json.loads(lines[3])
    empty_rows["rows"] = []
    text = [lines[0], lines[0], lines[1], "", lines[2], lines[2], json.dumps(empty_rows)]
    cache = tmp_path / "runs.jsonl"
    cache.write_text("\n".join(text) + "\n")
    counter = CountingFactory()
    with pytest.warns(UserWarning, match=r"3 scenario\(s\); 1 unreadable or invalid line"):
        frame = run(cache, counter)
    assert counter.calls == [(8.0, 60)]
    assert_exact(frame)
    assert len(stored(cache)) == 4


# ----------------------------------------------------------------- processes
WRITER = textwrap.dedent(
    """
    import os, random, sys, time
    from pathlib import Path
    import trialplan as tp

    MEANS = {("sham", "control"): 0.0, ("active", "control"): -3.0,
             ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}
    DESIGN = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
                          outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=50)
    PAUSE = float(os.environ.get("PAUSE", "0"))

    def factory(sd, n):
        marks = os.environ.get("MARKS")
        if marks:
            Path(marks, f"worker-{os.getpid()}").touch()
        time.sleep(PAUSE * random.random())
        return DESIGN.replace(sd=sd, n_per_cell=n)

    if __name__ == "__main__":
        go = Path(sys.argv[2])
        while not go.exists():
            time.sleep(0.005)
        frame = tp.explore(factory, {"sd": tuple(range(6, 6 + int(sys.argv[3]))),
                                     "n": (40, 60)},
                           hypotheses="rTMS:MBI", cache=sys.argv[1], chunksize=1,
                           method=os.environ.get("METHOD", "analytic"),
                           **({"n_sims": 200, "seed": 1, "executor": "processes",
                               "max_workers": 2}
                              if os.environ.get("METHOD") == "simulation" else {}))
        print(frame.attrs["n_computed"])
    """
)


def start(script: Path, *args: object, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count_entries(cache: Path) -> int:
    """Entries in the cache (0 before its table exists); never creates the file.

    Read-write: after a kill mid-transaction, the reader rolls the hot journal back.
    """
    if not cache.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{cache}?mode=rw", uri=True)) as conn:
        conn.execute("PRAGMA busy_timeout = 60000")
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 'scenarios'")
        if tables.fetchone() is None:
            return 0
        return conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0]


def valid_entries(cache: Path) -> dict[str, dict]:
    if count_entries(cache) == 0:
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{cache}?mode=rw", uri=True)) as conn:
        conn.execute("PRAGMA busy_timeout = 60000")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        total = conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0]
    raw = stored(cache)
    assert len(raw) == total
    entries = {k: json.loads(e) for k, e in raw.items()}
    for key, entry in entries.items():
        assert check_entry(entry, key, ["rTMS:MBI"]) == "", key
    return entries


def test_concurrent_writers_leave_one_valid_entry_per_scenario(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    cache, go = tmp_path / "runs.sqlite", tmp_path / "go"
    writers = [start(script, cache, go, 6, PAUSE="0.02") for _ in range(4)]
    time.sleep(1.0)  # let every writer import trialplan and wait at the start line
    go.touch()
    outputs = [w.communicate(timeout=300) for w in writers]
    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
    computed = sum(int(out.split()[-1]) for out, _ in outputs)
    assert computed >= 12  # every scenario computed at least once, maybe by several writers
    entries = valid_entries(cache)
    assert len(entries) == 12
    for entry in entries.values():
        (row,) = entry["rows"]
        sd, n = entry["params"]["sd"], entry["params"]["n"]
        assert row["power"] == pytest.approx(exact_interaction_power(sd, n), abs=1e-9)


def test_concurrent_conversion_of_a_json_lines_cache_happens_once(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    cache, go = tmp_path / "runs.jsonl", tmp_path / "go"
    # a JSON-lines cache of this exact script's scenarios, written by one run, then
    # turned back into the old format
    seed_run = start(script, tmp_path / "seed.sqlite", go, 2)
    go.touch()
    assert seed_run.wait(timeout=120) == 0
    go.unlink()
    old = [
        json.dumps({k: v for k, v in json.loads(e).items() if k not in ("digest", "columns")})
        for e in stored(tmp_path / "seed.sqlite").values()
    ]
    cache.write_text("\n".join(old) + "\n")
    writers = [start(script, cache, go, 3) for _ in range(3)]
    time.sleep(1.0)
    go.touch()
    outputs = [w.communicate(timeout=300) for w in writers]
    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
    assert sum("converted the JSON-lines cache" in err for _, err in outputs) == 1
    assert sorted(p.name for p in tmp_path.glob("runs.jsonl*")) == ["runs.jsonl", "runs.jsonl.bak"]
    assert len(valid_entries(cache)) == 6
    # the converted scenarios were read, not recomputed, by every writer
    assert all(int(out.split()[-1]) <= 2 for out, _ in outputs)


def test_kills_at_random_moments_lose_and_tear_nothing(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    cache, go = tmp_path / "runs.sqlite", tmp_path / "go"
    go.touch()
    n_sd = 8
    rng = np.random.default_rng(5)
    for _ in range(4):
        before = count_entries(cache)
        writer = start(script, cache, go, n_sd, PAUSE="0.1")
        deadline = time.monotonic() + 120
        while count_entries(cache) == before and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until this writer is storing scenarios
        time.sleep(float(rng.uniform(0.0, 0.15)))  # then kill it at a random moment
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
        valid_entries(cache)  # after every kill: a consistent file, only valid entries
    resumed = start(script, cache, go, n_sd, PAUSE="0.1")  # PAUSE is in the fingerprint
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    entries = valid_entries(cache)
    assert len(entries) == 2 * n_sd
    assert int(out.split()[-1]) < 2 * n_sd  # earlier runs' scenarios were kept
    for entry in entries.values():
        (row,) = entry["rows"]
        sd, n = entry["params"]["sd"], entry["params"]["n"]
        assert row["power"] == pytest.approx(exact_interaction_power(sd, n), abs=1e-9)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent has not reaped it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_pool_workers_exit_soon_after_the_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    marks, go = tmp_path / "marks", tmp_path / "go"
    marks.mkdir()
    go.touch()
    parent = start(
        script, tmp_path / "runs.sqlite", go, 4, PAUSE="120", METHOD="simulation", MARKS=str(marks)
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [int(p.name.split("-")[1]) for p in marks.iterdir()]
            time.sleep(0.05)
        assert len(workers) == 2, parent.communicate(timeout=5)
        parent.send_signal(signal.SIGKILL)  # the workers are busy in a 0-120 s scenario
        parent.wait(timeout=30)
        killed = time.monotonic()
        while any(map(_alive, workers)) and time.monotonic() - killed < 5.0:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "pool workers outlived the killed explore"
    finally:
        for pid in workers:  # only the workers this test's own script started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
