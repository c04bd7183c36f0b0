"""The scenario cache of :func:`trialplan.explore`: an SQLite file several processes share.

One table, one row per finished scenario, keyed by the scenario hash::

    scenarios(key TEXT PRIMARY KEY, entry BLOB)

``entry`` is the UTF-8 JSON of the scenario's record: its values, method,
``n_sims``, seeds, trialplan version, the result ``rows``, the row count, the
column names and a SHA-256 digest of the rows.  Why SQLite (standard library):
each chunk of scenarios is written in one transaction, so a process killed
mid-write leaves nothing half-written (the journal is rolled back by the next
reader), several processes writing the same file serialize on SQLite's lock
instead of interleaving lines, and the primary key keeps one entry per
scenario however many processes computed it.

Every entry read is checked before it is trusted (decodable, valid JSON, the
right key, rows a non-empty list of records with every column present, power
a number in [0, 1], the recorded row count, the requested hypotheses and the
digest); an entry that fails is skipped with a warning naming the reason and
its scenario is computed again, then overwritten.  Nothing is dropped
silently.

Cache files written by trialplan before the SQLite store are JSON-lines text
(one entry per line).  Such a file is converted once, in place: its valid
entries move into a new SQLite file at the same path (under an exclusive lock,
so concurrent explorations convert it once) and the original is kept beside it
as ``<name>.bak``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import shutil
import sqlite3
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ScenarioCache", "json_default"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: ``PRAGMA user_version`` of the store this module writes.
_SCHEMA_VERSION = 1
#: Seconds a writer waits for another process's transaction before giving up.
_BUSY_TIMEOUT = 120.0
#: Keys per ``SELECT ... WHERE key IN (...)`` (SQLite's default limit is 999 variables).
_KEYS_PER_QUERY = 500


def json_default(obj: Any) -> Any:
    """Turn numpy scalars, arrays and other containers into JSON values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    return repr(obj)


def _rows_digest(key: str, rows: Any) -> str:
    text = json.dumps([key, rows], sort_keys=True, default=json_default, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_entry(
    *,
    key: str,
    params: Mapping[str, Any],
    method: str,
    n_sims: int | None,
    base_seed: int | None,
    seed: int | None,
    version: str,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the record stored for one finished scenario."""
    rows = json.loads(json.dumps(rows, default=json_default, allow_nan=True))
    return {
        "key": key,
        "params": dict(params),
        "method": method,
        "n_sims": n_sims,
        "base_seed": base_seed,
        "seed": seed,
        "version": version,
        "n_rows": len(rows),
        "columns": list(rows[0]) if rows else [],
        "digest": _rows_digest(key, rows),
        "rows": rows,
    }


def check_entry(entry: Any, key: str, hypotheses: Sequence[str] | None) -> str:
    """Return why a cache entry cannot be trusted for scenario ``key`` ("" if it can).

    Entries written by the SQLite store carry ``n_rows``, ``columns`` and a
    ``digest`` of the rows, so a shortened, edited or truncated row list is
    caught; entries converted from a JSON-lines file of an older trialplan
    have no digest and get the structural checks only.
    """
    if not isinstance(entry, dict):
        return "not a JSON object"
    if entry.get("key") != key:
        return f"key {entry.get('key')!r} differs from the scenario's {key!r}"
    rows = entry.get("rows")
    if not isinstance(rows, list) or not rows:
        return "rows is missing or empty"
    if not all(isinstance(row, dict) for row in rows):
        return "a row is not a record"
    columns = entry.get("columns", list(rows[0]))
    if not isinstance(columns, list) or not {"hypothesis", "power"} <= set(columns):
        return "the columns 'hypothesis' and 'power' are not both recorded"
    for i, row in enumerate(rows):
        if list(row) != columns:
            missing = [c for c in columns if c not in row]
            return f"row {i} has columns {list(row)}" + (f" (missing {missing})" if missing else "")
        power = row["power"]
        if (
            isinstance(power, bool)
            or not isinstance(power, numbers.Real)
            or not (math.isfinite(power) and 0.0 <= power <= 1.0)
        ):
            return f"row {i} has power={power!r}, not a number in [0, 1]"
        if not isinstance(row["hypothesis"], str):
            return f"row {i} has hypothesis={row['hypothesis']!r}, not a name"
    names = [row["hypothesis"] for row in rows]
    if len(set(names)) != len(names):
        return f"a hypothesis appears twice in {names}"
    if "n_rows" in entry and entry["n_rows"] != len(rows):
        return f"{len(rows)} rows where {entry['n_rows']!r} were written"
    if hypotheses is not None:
        absent = [h for h in hypotheses if h not in names]
        if absent:
            return f"no row for the hypotheses {absent}"
    if "digest" in entry and entry["digest"] != _rows_digest(key, rows):
        return "the rows do not match their digest (edited or damaged)"
    return ""


class ScenarioCache:
    """An SQLite scenario cache at ``path`` (created if missing, converted if JSON-lines).

    Parameters
    ----------
    path : pathlib.Path
        The cache file.
    stacklevel : int
        ``stacklevel`` of the warnings issued, so that they point at the
        caller of :func:`trialplan.explore`.
    """

    def __init__(self, path: Path, *, stacklevel: int = 2) -> None:
        self.path = path
        self._stacklevel = stacklevel + 1
        path.parent.mkdir(parents=True, exist_ok=True)
        if _is_legacy(path):
            self._convert_legacy()
        self._conn = self._connect()

    # ---------------------------------------------------------------- open
    def _connect(self) -> sqlite3.Connection:
        try:
            return _open_store(self.path)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, read-only or missing directory: not damage
            aside = _free_name(self.path, ".damaged")
            os.replace(self.path, aside)
            warnings.warn(
                f"explore: the cache {str(self.path)!r} is not a readable SQLite "
                f"database ({exc}); it was moved to {str(aside)!r} and a new cache "
                "started, so every scenario is computed again",
                UserWarning,
                stacklevel=self._stacklevel + 1,
            )
            return _open_store(self.path)

    def _convert_legacy(self) -> None:
        """Move a JSON-lines cache's valid entries into SQLite at the same path, once."""
        with open(self.path, "rb") as handle, _exclusive_lock(handle):
            if not _is_legacy(self.path):  # another process converted it meanwhile
                return
            entries, bad = _read_legacy(handle)
            tmp = _free_name(self.path, f".{os.getpid()}.tmp")
            try:
                conn = _open_store(tmp)
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO scenarios (key, entry) VALUES (?, ?)",
                        ((k, _encode(e)) for k, e in entries.items()),
                    )
                conn.close()
                backup = _free_name(self.path, ".bak")
                shutil.copy2(self.path, backup)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        skipped = f"; {bad} unreadable or invalid line(s) were skipped" if bad else ""
        warnings.warn(
            f"explore: converted the JSON-lines cache {str(self.path)!r} to the "
            f"SQLite cache ({len(entries)} scenario(s){skipped}); the original is "
            f"kept as {str(backup)!r}",
            UserWarning,
            stacklevel=self._stacklevel + 1,
        )

    # ---------------------------------------------------------- read/write
    def read(
        self, wanted: Iterable[str], hypotheses: Sequence[str] | None
    ) -> dict[str, list[dict[str, Any]]]:
        """Return the rows of the wanted scenarios that are cached and pass the checks.

        Warns once, with the count and the first reasons, if any entry had
        to be skipped; those scenarios are not returned, so they are
        computed again.
        """
        keys = list(dict.fromkeys(wanted))
        found: dict[str, list[dict[str, Any]]] = {}
        problems: list[str] = []
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            part = keys[start : start + _KEYS_PER_QUERY]
            marks = ",".join("?" * len(part))
            query = f"SELECT key, entry FROM scenarios WHERE key IN ({marks})"
            for raw_key, raw in self._conn.execute(query, part):
                key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else raw_key
                try:
                    entry = json.loads(bytes(raw).decode("utf-8"))
                except (UnicodeDecodeError, ValueError, TypeError) as exc:
                    problems.append(f"{key}: undecodable ({type(exc).__name__})")
                    continue
                reason = check_entry(entry, key, hypotheses)
                if reason:
                    problems.append(f"{key}: {reason}")
                    continue
                found[key] = entry["rows"]
        if problems:
            shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
            warnings.warn(
                f"explore: skipped {len(problems)} invalid entr"
                f"{'y' if len(problems) == 1 else 'ies'} in cache {str(self.path)!r} "
                f"({shown}); those scenarios are computed again",
                UserWarning,
                stacklevel=self._stacklevel,
            )
        return found

    def write(self, entries: Iterable[dict[str, Any]]) -> None:
        """Store finished scenarios in one transaction (all or none of them)."""
        payload = [(e["key"], _encode(e)) for e in entries]
        if not payload:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO scenarios (key, entry) VALUES (?, ?)", payload
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (every write is already committed)."""
        self._conn.close()

    def __enter__(self) -> ScenarioCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -------------------------------------------------------------------- helpers
def _open_store(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=_BUSY_TIMEOUT, isolation_level=None)
    conn.text_factory = bytes  # decode entries ourselves, so bad bytes are caught per entry
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise ValueError(
                f"cache {str(path)!r} was written by a newer trialplan (cache schema "
                f"{version}; this version reads up to {_SCHEMA_VERSION}); use another "
                "cache file or upgrade trialplan"
            )
        if version < _SCHEMA_VERSION:  # a new file: create the table (idempotent)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS scenarios (key TEXT PRIMARY KEY, entry BLOB NOT NULL)"
            )
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def _encode(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, default=json_default, allow_nan=True).encode("utf-8")


def _is_legacy(path: Path) -> bool:
    """Return True for a non-empty file that is not SQLite (a JSON-lines cache)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return False
    return len(head) > 0 and head != _SQLITE_MAGIC


def _read_legacy(handle: Any) -> tuple[dict[str, dict[str, Any]], int]:
    """Valid entries of a JSON-lines cache (the last of duplicates) and the count of bad lines."""
    entries: dict[str, dict[str, Any]] = {}
    bad = 0
    for raw in _lines(handle):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            bad += 1  # e.g. a line cut short when a run was killed, or a damaged byte
            continue
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or check_entry(entry, key, None):
            bad += 1
            continue
        entries[key] = entry
    return entries, bad


def _lines(handle: Any) -> Iterator[bytes]:
    handle.seek(0)
    yield from handle


def _free_name(path: Path, suffix: str) -> Path:
    candidate = path.with_name(path.name + suffix)
    i = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}{suffix}{i}")
        i += 1
    return candidate


@contextlib.contextmanager
def _exclusive_lock(handle: Any) -> Iterator[None]:
    """Hold an exclusive advisory lock on an open file (POSIX; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: conversion is not locked
        yield
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
