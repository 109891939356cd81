"""Speed and size of the sweep results store (``metroqnet.sweeps.store``), beside JSON lines.

Writes the same N realistic task rows (6 settings, 40 results: 3 links x 12 figures
and min./max. of 2 figures, full-precision floats) with:

(a) the store, one transaction per task (``SweepStore.record``: WAL, synchronous = FULL,
    each commit on disk before it returns — what a sweep does by default);
(b) the store, batches of 1000 tasks per transaction (``SweepStore.record_many``);
(c) for reference, (a) with ``synchronous = NORMAL`` (survives a killed process, not a
    power cut) — the price of (a)'s durability;
(d) the baseline: JSON lines, one ``write`` + ``flush`` + ``os.fsync`` per row;
(e) the baseline: JSON lines without fsync.

For each: rows/s, total time, file size (MB), bytes per task. Then the load time of
the table, twice: ``open_store(...).table()`` beside ``pandas.DataFrame`` of the JSON lines.
Timings only: nothing is asserted.

Run: ``PYTHONPATH=src python benchmarks/bench_sweep_store.py [--tasks N]`` (default 100000;
(a) and (d) fsync every row, a few ms each on an ordinary disk, so the default takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from metroqnet.sweeps.store import DATABASE, SweepStore, open_store

LINKS = ("alice-bob", "alice-charlie", "bob-charlie")
FIGURES = ("pme_rate_hz", "pme_rate_hz_stderr", "fidelity", "fidelity_stderr", "herald_probability",
           "herald_probability_stderr", "visibility", "phase_std_rad", "storage_efficiency", "read_probability",
           "secret_fraction", "qber")
SETTINGS = ("nodes.alice.excitation_probability", "nodes.bob.excitation_probability", "server.probe_photons_per_node",
            "topology.fibres.alice-server.length_km", "topology.fibres.bob-server.length_km", "memory.storage_us")


def rows(count: int, seed: int = 2026):
    """The same ``count`` rows for every writer (drawn once, dicts built on the fly)."""
    rng = np.random.default_rng(seed)
    settings = rng.uniform(0, 1, size=(count, len(SETTINGS)))
    results = rng.lognormal(0, 3, size=(count, len(LINKS) * len(FIGURES) + 4))
    names = [f"{link}.{figure}" for link in LINKS for figure in FIGURES]
    names += ["min.pme_rate_hz", "max.pme_rate_hz", "min.fidelity", "max.fidelity"]
    for i in range(count):
        yield dict(task_id=f"{i:064x}", index=i,
                   settings={key: (int(value * 1000) if key.startswith("server") else float(value))
                             for key, value in zip(SETTINGS, settings[i], strict=True)},
                   result=dict(zip(names, results[i].tolist(), strict=True)), wall_s=float(results[i, 0]),
                   worker=f"tcp://10.0.0.{i % 16}:40000")


def size_mb(*paths: Path) -> float:
    return sum(path.stat().st_size for path in paths if path.exists()) / 1e6


def report(label: str, count: int, seconds: float, megabytes: float) -> None:
    print(f"{label:<44} {count / seconds:>11,.0f} rows/s  {seconds:>8.2f} s  {megabytes:>8.1f} MB  "
          f"{megabytes * 1e6 / count:>6.0f} B/task", flush=True)


def write_store(folder: Path, count: int, *, batch: int, synchronous: str = "FULL") -> float:
    start = time.perf_counter()
    with SweepStore.create_or_open(folder, sweep_id="f" * 64, sweep_record={"name": "bench", "seed": 2026},
                                   sweep_text="# bench\n") as store:
        store._db.execute(f"PRAGMA synchronous = {synchronous}")
        pending = []
        for row in rows(count):
            if batch == 1:
                store.record(**row)
                continue
            pending.append(row)
            if len(pending) == batch:
                store.record_many(pending)
                pending = []
        store.record_many(pending)
    return time.perf_counter() - start


def write_json_lines(path: Path, count: int, *, fsync: bool) -> float:
    start = time.perf_counter()
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows(count):
            handle.write(json.dumps(row) + "\n")
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
    return time.perf_counter() - start


def load_json_lines(path: Path):
    import pandas as pd

    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            records.append({"task": row["index"], "task_id": row["task_id"], **row["settings"], **row["result"],
                            "wall_s": row["wall_s"], "worker": row["worker"]})
    return pd.DataFrame.from_records(records, index="task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    count = parser.parse_args().tasks
    print(f"sweep store: {count} tasks, {len(SETTINGS)} settings and 40 results each; SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-store-") as temporary:
        root = Path(temporary)
        database = lambda name: [root / name / DATABASE, root / name / f"{DATABASE}-wal"]  # noqa: E731
        seconds = write_store(root / "per_task", count, batch=1)
        report("(a) store, 1 transaction per task (FULL)", count, seconds, size_mb(*database("per_task")))
        seconds = write_store(root / "batched", count, batch=1000)
        report("(b) store, 1000 tasks per transaction", count, seconds, size_mb(*database("batched")))
        seconds = write_store(root / "normal", count, batch=1, synchronous="NORMAL")
        report("(c) store, 1 per task, synchronous=NORMAL", count, seconds, size_mb(*database("normal")))
        seconds = write_json_lines(root / "fsync.jsonl", count, fsync=True)
        report("(d) baseline: JSON lines, fsync per row", count, seconds, size_mb(root / "fsync.jsonl"))
        seconds = write_json_lines(root / "plain.jsonl", count, fsync=False)
        report("(e) baseline: JSON lines, no fsync", count, seconds, size_mb(root / "plain.jsonl"))

        for attempt in ("first", "second"):  # the first read may find the files out of the OS cache
            start = time.perf_counter()
            table = open_store(root / "per_task").table()
            store_load = time.perf_counter() - start
            start = time.perf_counter()
            baseline = load_json_lines(root / "plain.jsonl")
            json_load = time.perf_counter() - start
            print(f"load the table ({attempt} read): store {store_load:.2f} s ({table.shape[0]} x {table.shape[1]}), "
                  f"baseline JSON lines -> DataFrame {json_load:.2f} s ({baseline.shape[0]} x {baseline.shape[1]})",
                  flush=True)

if __name__ == "__main__":
    main()
