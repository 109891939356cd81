"""A sweep's results store: one SQLite file that survives a crash, read back as a labelled table.

Why SQLite (the standard library's ``sqlite3``): it is embedded (no server), one
file, transactional, and lets readers (``metroqnet plot``, a notebook) read while
the one writer writes; it adds no dependency. The database runs in WAL mode with
``synchronous = FULL`` and every finished task is ONE transaction, so a process
killed at any instant (SIGKILL, a power cut) leaves every task whose ``record``
returned recorded, and nothing half-written. Only the sweep's coordinating process
writes (workers return their results to it); a lock on the store's folder refuses a
second writer.

Layout of a store folder (``metroqnet sweep FILE --out STORE``)::

    STORE/results.sqlite   tables meta (sweep id, sweep record with provenance) and tasks
    STORE/sweep.toml       the sweep file as given

A task's settings and result are JSON objects of scalars. Floats are written with
Python's shortest exact repr, so they round-trip exactly; JSON has no NaN or
infinity, so a non-finite float is written ``{"float": "nan"}`` (as in
:mod:`metroqnet.config.identity`); None stays None.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import write_text_file
from metroqnet.config.versions import versions

try:  # the writer's lock (POSIX); without fcntl the store works unlocked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DATABASE = "results.sqlite"
#: The first part of a setting's key path (as --set takes it): such columns are settings, not results.
SETTING_SECTIONS = ("nodes", "server", "drift", "experiments", "topology")
SWEEP_FILE = "sweep.toml"
#: ``PRAGMA application_id`` of a metroqnet sweep store ("MQNS"), so another SQLite file is recognised.
APPLICATION_ID = 0x4D514E53
SCHEMA_VERSION = 1
PAGE_SIZE_BYTES = 16384
#: Table columns that are not a setting or a result; a setting or result of these names is refused.
RESERVED_COLUMNS = frozenset({"task", "task_id", "runs", "wall_s", "worker"})
_ROW_KEYS = frozenset({"task_id", "index", "settings", "result", "wall_s", "worker"})
_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_NOTADB, _SQLITE_CORRUPT = 13, 8, 26, 11

_SCHEMA = """
CREATE TABLE meta (sweep_id TEXT NOT NULL, record TEXT NOT NULL, schema_version INTEGER NOT NULL);
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY, "index" INTEGER NOT NULL, settings TEXT NOT NULL, result TEXT NOT NULL,
    runs INTEGER NOT NULL, wall_s REAL NOT NULL, worker TEXT NOT NULL, finished_at TEXT NOT NULL
);
"""
_UPSERT = """
INSERT INTO tasks (task_id, "index", settings, result, runs, wall_s, worker, finished_at)
VALUES (?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (task_id) DO UPDATE SET runs = runs + 1, "index" = excluded."index", settings = excluded.settings,
    result = excluded.result, wall_s = excluded.wall_s, worker = excluded.worker, finished_at = excluded.finished_at
"""


# --- values ---------------------------------------------------------------------------------------------


def _scalar(value: object, where: str) -> object:
    """A JSON-able stand-in for one setting or result value (non-finite floats tagged)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else {"float": repr(number)}
    raise ConfigError.at(where, f"{value!r} ({type(value).__name__}) is not a JSON scalar; "
                                f"allowed: a number, a string, a bool or None")


def encode_values(values: Mapping[str, object], *, where: str) -> str:
    """JSON text of a flat mapping of scalars that :func:`decode_values` reads back exactly."""
    out: dict[str, object] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise ConfigError.at(where, f"names must be non-empty strings, got {key!r}")
        out[key] = _scalar(value, f"{where}[{key!r}]")
    return json.dumps(out, allow_nan=False, separators=(",", ":"))


def decode_values(text: str) -> dict[str, object]:
    """The mapping :func:`encode_values` wrote (tagged non-finite floats become floats again)."""
    values = json.loads(text)
    if '{"float":' in text:  # most texts have no non-finite float: skip the loop
        for key, value in values.items():
            if isinstance(value, dict):
                values[key] = float(value["float"])
    return values


def _record_json(record: Mapping[str, object]) -> str:
    """JSON of a sweep record (nested JSON values)."""
    try:
        return json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ConfigError.at("sweep_record", f"is not JSON-able ({error})") from None


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _sqlite_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _not_a_store(path: Path, why: str, field: str) -> ConfigError:
    return ConfigError.at(field, f"{str(path)!r} is not a metroqnet sweep store ({why}); "
                                 f"choose another {'--out' if field == '--out' else 'store'} or remove it")


def _damaged(path: Path, why: str, field: str) -> ConfigError:
    return ConfigError.at(field, f"{str(path)!r} is a damaged metroqnet sweep store ({why}); move it aside "
                                 f"(sqlite3's .recover may salvage its tasks) and rerun")


def _read_meta(db: sqlite3.Connection, path: Path, field: str) -> tuple[str, dict[str, Any]] | None:
    """(sweep id, record) of a store, None for an empty database; anything else is refused."""
    try:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if application_id == 0 and not tables:
            return None
        if application_id != APPLICATION_ID or not {"meta", "tasks"} <= tables:
            raise _not_a_store(path, "an SQLite file of another application", field)
        rows = db.execute("SELECT sweep_id, record, schema_version FROM meta").fetchall()
    except sqlite3.DatabaseError as error:
        raise _not_a_store(path, str(error), field) from None
    if len(rows) != 1 or rows[0][2] != SCHEMA_VERSION:
        raise _not_a_store(path, f"its meta table holds {len(rows)} row(s) of schema "
                                 f"{[row[2] for row in rows]}, expected one of schema {SCHEMA_VERSION}", field)
    return rows[0][0], json.loads(rows[0][1])


def _sweep_label(sweep_id: str, record: Mapping[str, object]) -> str:
    name = record.get("name")
    return f"{name!r} (id {sweep_id[:12]})" if name is not None else f"id {sweep_id[:12]}"


# --- the writer -----------------------------------------------------------------------------------------


def _check_folder(folder: Path) -> None:
    """Create ``folder`` and prove it writable by writing a file in it (``os.access`` says yes to root)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError.at("--out", f"{str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as failure:
        why = failure.strerror or str(failure)
        if failure.errno == errno.ENOSPC:
            raise ConfigError.at("--out", f"cannot write in {str(folder)!r}: the disk is full ({why}); "
                                          f"free space and rerun") from None
        raise ConfigError.at("--out", f"{str(folder)!r} is not a folder this process can write ({why}); "
                                      f"choose another --out") from None


def _lock(folder: Path) -> int | None:
    """An exclusive lock on the store folder, held while the writer is open (released if the process dies)."""
    if fcntl is None:  # pragma: no cover
        return None
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise ConfigError.at("--out", f"{str(folder)!r} is being written by another running sweep; wait for it to "
                                      f"finish or choose another --out") from None
    except OSError:  # a file system without flock: go on unlocked
        os.close(handle)
        return None
    return handle


def _row_arguments(row: Mapping[str, Any]) -> tuple[object, ...]:
    """One task's upsert parameters, validated (a refusal names the task)."""
    if set(row) != _ROW_KEYS:
        raise TypeError(f"record: a row has the keys {sorted(_ROW_KEYS)}, got {sorted(row)}")
    task_id, index, worker, wall_s = row["task_id"], row["index"], row["worker"], row["wall_s"]
    where = f"task {task_id!r}"
    if not isinstance(task_id, str) or not task_id:
        raise ConfigError.at("task_id", f"expected a non-empty string, got {task_id!r}")
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
        raise ConfigError.at(f"{where}.index", f"expected an integer >= 0, got {index!r}")
    if isinstance(wall_s, bool) or not isinstance(wall_s, int | float | np.number) or not 0 <= float(wall_s) < math.inf:
        raise ConfigError.at(f"{where}.wall_s", f"expected a finite number >= 0, got {wall_s!r}")
    if not isinstance(worker, str):
        raise ConfigError.at(f"{where}.worker", f"expected a string, got {worker!r}")
    settings = dict(row["settings"])
    result = row["result"]
    clash = (RESERVED_COLUMNS | set(settings)) & set(result) or RESERVED_COLUMNS & set(settings)
    if clash:
        raise ConfigError.at(where, f"the name(s) {sorted(clash)} would name two table columns; a result may not "
                                    f"repeat a setting and neither may be one of {sorted(RESERVED_COLUMNS)}")
    return (task_id, int(index), encode_values(settings, where=f"{where}.settings"),
            encode_values(result, where=f"{where}.result"), float(wall_s), worker, _utc_now())


def _open_writer(path: Path) -> tuple[sqlite3.Connection, tuple[str, dict[str, Any]] | None]:
    """A connection in WAL mode and the store's (sweep id, record), None if new; a file that is not a store is
    refused before anything in it changes."""
    try:
        db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit (SweepStore._transaction)
    except sqlite3.Error as error:
        raise ConfigError.at("--out", f"cannot open {str(path)!r} ({error})") from None
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        found = _read_meta(db, path, "--out")
        if found is not None:
            try:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as error:
                check = str(error)
            if check != "ok":
                raise _damaged(path, check, "--out")
        if found is None:  # before the first write: a task row (~2 kB) fits a 16 kB page several times, not a
            db.execute(f"PRAGMA page_size = {PAGE_SIZE_BYTES}")  # 4 kB page once with half of it empty
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise ConfigError.at("--out", f"{str(path)!r}: SQLite cannot keep a write-ahead log in this folder")
        db.execute("PRAGMA synchronous = FULL")  # a commit is on disk, not only in the OS cache
    except sqlite3.Error as error:
        db.close()
        if _sqlite_code(error) in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
            raise _not_a_store(path, str(error), "--out") from None
        raise ConfigError.at("--out", f"cannot open {str(path)!r} ({error})") from None
    except BaseException:
        db.close()
        raise
    return db, found


class SweepStore:
    """The writer of one sweep's store (module docstring); open it with :meth:`create_or_open`."""

    def __init__(self, folder: Path, db: sqlite3.Connection, lock: int | None) -> None:
        self.folder = folder
        self._db = db
        self._lock = lock

    @classmethod
    def create_or_open(cls, directory: str | os.PathLike[str], *, sweep_id: str, sweep_record: dict,
                       sweep_text: str) -> SweepStore:
        """The store of sweep ``sweep_id`` in ``directory``: created (with its parents), or resumed.

        ``sweep_record`` (name, seed, ...) is kept with the versions, the creation time
        and ``sweep_text`` as the store's provenance. A store of another sweep is
        refused (before anything in it is touched), so results of two sweeps never mix.
        """
        if not isinstance(sweep_id, str) or not sweep_id:
            raise ConfigError.at("sweep_id", f"expected a non-empty string (the sweep's strong id), got {sweep_id!r}")
        folder = Path(directory)
        _check_folder(folder)
        lock = _lock(folder)
        db = None
        try:
            db, found = _open_writer(folder / DATABASE)
            store = cls(folder, db, lock)
            record = {**sweep_record, "sweep_id": sweep_id, "sweep_text": sweep_text, "created_at": _utc_now(),
                      **versions(), "sqlite_version": sqlite3.sqlite_version}
            if found is None:
                with store._transaction(writing="the store's description"):
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT INTO meta VALUES (?, ?, ?)", (sweep_id, _record_json(record), SCHEMA_VERSION))
            elif found[0] != sweep_id and store._count() == 0:
                # a store that holds no result (every task of a mistaken sweep failed) goes to the corrected sweep
                with store._transaction(writing="the store's description"):
                    db.execute("UPDATE meta SET sweep_id = ?, record = ?", (sweep_id, _record_json(record)))
            elif found[0] != sweep_id:
                raise ConfigError.at("--out", f"{str(folder)!r} holds the results of sweep {_sweep_label(*found)}, "
                                              f"not of this sweep {_sweep_label(sweep_id, sweep_record)}; choose "
                                              f"another --out or remove the store")
            try:
                write_text_file(folder / SWEEP_FILE, sweep_text, what="--out")
            except ConfigError as error:
                raise ConfigError.at("--out", f"{error.detail}; the {store._count()} tasks recorded in "
                                              f"{str(folder / DATABASE)!r} are intact, rerun to resume") from None
            return store
        except BaseException:
            if db is not None:
                db.close()
            if lock is not None:
                os.close(lock)
            raise

    @contextlib.contextmanager
    def _transaction(self, *, writing: str) -> Iterator[None]:
        """One transaction: all of it or nothing; a full disk or read-only file becomes a :class:`ConfigError`."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise self._refusal(error, writing) from None

    def _refusal(self, error: sqlite3.Error, writing: str) -> ConfigError:
        path = str(self.folder / DATABASE)
        safe = f"the transaction was rolled back; {self._count()} tasks are safely recorded"
        if _sqlite_code(error) == _SQLITE_FULL:
            return ConfigError.at("--out", f"the disk holding {path!r} is full ({error}) while writing {writing}; "
                                           f"{safe}; free space and rerun the same command to resume")
        if _sqlite_code(error) == _SQLITE_READONLY:
            return ConfigError.at("--out", f"{path!r} cannot be written ({error}) while writing {writing}; {safe}")
        return ConfigError.at("--out", f"writing {writing} to {path!r} failed ({error}); {safe}; rerun to resume")

    def _count(self) -> int:
        try:
            return self._db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        except sqlite3.Error:
            return 0

    def finished_ids(self) -> frozenset[str]:
        """Ids of the tasks recorded so far (a resumed sweep skips them)."""
        return frozenset(task_id for (task_id,) in self._db.execute("SELECT task_id FROM tasks"))

    def record(self, *, task_id: str, index: int, settings: Mapping[str, object], result: Mapping[str, object],
               wall_s: float, worker: str) -> None:
        """Record one finished task in one transaction (recorded before: ``runs`` + 1, the newer result kept)."""
        self.record_many([dict(task_id=task_id, index=index, settings=settings, result=result, wall_s=wall_s,
                               worker=worker)])

    def record_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Record many tasks (mappings of :meth:`record`'s keywords) in one transaction: all or none."""
        arguments = [_row_arguments(row) for row in rows]  # refused before anything is written
        if arguments:
            with self._transaction(writing=f"{len(arguments)} task(s)"):
                self._db.executemany(_UPSERT, arguments)

    def runs(self) -> dict[str, int]:
        """task id -> how many times its result was computed and recorded (1 in a healthy store)."""
        return dict(self._db.execute("SELECT task_id, runs FROM tasks"))

    def close(self) -> None:
        """Close the database and release the writer's lock (idempotent)."""
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the reader -----------------------------------------------------------------------------------------


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; in a folder this process cannot write (read-only media) a store whose log is empty
    is opened ``immutable`` (SQLite cannot make its shared-memory file there)."""
    problem = None if path.is_file() else ("does not exist" if not path.exists() else "is not a file")
    if problem:
        raise ConfigError.at("store", f"{str(path)!r} {problem} (a store is a folder holding {DATABASE})")
    log = Path(f"{path}-wal")
    failure: sqlite3.Error | None = None
    for query in ("mode=ro", "immutable=1"):
        if query == "immutable=1" and log.exists() and log.stat().st_size > 0:
            break  # committed tasks wait in the log: reading the file alone would miss them
        db = None
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error as error:
            if db is not None:
                db.close()
            if _sqlite_code(error) in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
                raise _not_a_store(path, str(error), "store") from None
            failure = error
    raise ConfigError.at("store", f"cannot open {str(path)!r} to read ({failure})")


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredSweep:
    """A read-only view of a store; each :meth:`table` is a fresh, consistent snapshot (a writer may be running)."""

    folder: Path
    provenance: dict[str, Any]

    def _rows(self) -> list[tuple]:
        db = _connect_read_only(self.folder / DATABASE)
        try:
            return db.execute('SELECT "index", task_id, settings, result, runs, wall_s, worker FROM tasks '
                              'ORDER BY "index", task_id').fetchall()
        except sqlite3.DatabaseError as error:
            raise _damaged(self.folder / DATABASE, str(error), "store") from None
        finally:
            db.close()

    def _frame(self) -> tuple[Any, list[str]]:
        import pandas as pd

        rows = self._rows()
        index = pd.Index([row[0] for row in rows], name="task", dtype="int64")
        settings = _values_frame([row[2] for row in rows], index)
        results = _values_frame([row[3] for row in rows], index)
        ids = pd.DataFrame({"task_id": [row[1] for row in rows]}, index=index)
        tail = pd.DataFrame({"runs": [row[4] for row in rows], "wall_s": [row[5] for row in rows],
                             "worker": [row[6] for row in rows]}, index=index)
        frame = pd.concat([ids, settings, results, tail], axis=1)
        frame.attrs["sweep"] = dict(self.provenance)
        return frame, list(settings.columns)

    def table(self):
        """One row per finished task (index ``task``): ``task_id``, settings, results, ``runs``, ``wall_s``, ``worker``.

        A column holding None keeps it (object dtype) rather than turning it into NaN;
        ``attrs["sweep"]`` is the provenance.
        """
        return self._frame()[0]

    def to_xarray(self):
        """The table as an ``xarray.Dataset`` with one dimension per setting; refused unless the settings form a
        full grid (every combination exactly once)."""
        try:
            import xarray
        except ImportError:
            raise ConfigError.at("to_xarray", "needs xarray (pip install 'metroqnet[data]')") from None
        frame, keys = self._frame()
        if frame.empty:
            raise ConfigError.at("to_xarray", f"{str(self.folder)!r} holds no finished task yet")
        declared = self.provenance.get("settings")
        if isinstance(declared, list) and declared and all(name in frame.columns for name in declared):
            # one dimension per axis: a zipped group's label, its keys then vary along it (data, not dimensions)
            keys = list(declared)
        if not keys:
            if len(frame) != 1:
                raise ConfigError.at("to_xarray", f"{len(frame)} tasks without settings do not form a grid")
            row = frame.reset_index().iloc[0]
            return xarray.Dataset({name: row[name] for name in row.index}, attrs={"sweep": json.dumps(frame.attrs["sweep"])})
        sizes = [frame[key].nunique(dropna=False) for key in keys]
        if len(frame) != math.prod(sizes) or frame.duplicated(subset=keys).any():
            raise ConfigError.at("to_xarray", f"the settings {', '.join(keys)} do not form a full grid: {len(frame)} "
                                              f"tasks for {' x '.join(map(str, sizes))} = {math.prod(sizes)} "
                                              f"combinations; use table()")
        dataset = frame.reset_index().set_index(keys).sort_index().to_xarray()
        for name in frame.columns:  # a zipped key is constant along every dimension but its group's: a coordinate
            if name in dataset and name not in keys and name.split(".")[0] in SETTING_SECTIONS:
                dataset = dataset.set_coords(name)
        dataset.attrs = {"sweep": json.dumps(frame.attrs["sweep"])}  # netCDF attributes must be flat
        return dataset


def _values_frame(texts: list[str], index: Any) -> Any:
    """The columns of many :func:`encode_values` texts; a column with a None (or a task without the name) holds
    None in an object column, exactly as written, rather than NaN."""
    import pandas as pd

    mappings = [decode_values(text) for text in texts]
    frame = pd.DataFrame(mappings, index=index)
    width = len(frame.columns)
    holes = {
        name
        for mapping, text in zip(mappings, texts, strict=True)
        if len(mapping) != width or "null" in text  # cheap test first: most rows have neither
        for name in frame.columns
        if mapping.get(name) is None
    }
    for name in holes:
        frame[name] = np.array([mapping.get(name) for mapping in mappings], dtype=object)
    return frame


def open_store(directory: str | os.PathLike[str]) -> StoredSweep:
    """A read-only view of the store in ``directory`` (see :class:`StoredSweep`)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigError.at("store", f"{str(folder)!r} {'is a file, not' if folder.exists() else 'is not'} a folder "
                                      f"(a store is the folder given as --out)")
    db = _connect_read_only(folder / DATABASE)
    try:
        found = _read_meta(db, folder / DATABASE, "store")
    finally:
        db.close()
    if found is None:
        raise _not_a_store(folder / DATABASE, "an empty database", "store")
    return StoredSweep(folder=folder, provenance=found[1])
