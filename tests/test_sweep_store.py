"""The sweep results store (metroqnet.sweeps.store): exact round trips, resume, refusals, crash safety.

Expected values are the values written (a round trip is its own oracle) or hand counts;
the crash test kills a real writer process with SIGKILL at a seeded moment.
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metroqnet.config.errors import ConfigError
from metroqnet.config.versions import versions
from metroqnet.sweeps.store import DATABASE, SWEEP_FILE, SweepStore, decode_values, encode_values, open_store

SOURCE = Path(__file__).resolve().parents[1] / "src"
SWEEP_A = "a" * 64
SWEEP_B = "b" * 64


def task_row(i: int) -> dict:
    """A deterministic row for task ``i`` (settings form a 2 x n grid)."""
    return dict(task_id=f"{i:064x}", index=i, settings={"nodes.alice.excitation_probability": 0.01 * (i % 2),
                                                        "topology.fibres.alice-server.length_km": float(i // 2)},
                result={"alice-bob.pme_rate_hz": i / 7, "alice-bob.fidelity": None if i == 3 else 1 - i / 1e3},
                wall_s=0.5, worker=f"w{i % 3}")


def open_a(folder: Path, text: str = "[sweep]\nname = 'a'\n") -> SweepStore:
    return SweepStore.create_or_open(folder, sweep_id=SWEEP_A, sweep_record={"name": "a", "seed": 7}, sweep_text=text)


def same_value(got: object, expected: object) -> bool:
    """Equal value and kind: NaN equals NaN, -0.0 differs from 0.0, 1 differs from 1.0 and True."""
    if isinstance(expected, float):
        return type(got) is float and (math.isnan(got) and math.isnan(expected) or
                                       (got == expected and math.copysign(1, got) == math.copysign(1, expected)))
    return type(got) is type(expected) and got == expected


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**80, max_value=2**80),
                    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True), st.text(max_size=8))


@given(st.dictionaries(st.text(min_size=1, max_size=6), SCALARS, max_size=8))
def test_values_round_trip_exactly(values):
    decoded = decode_values(encode_values(values, where="result"))
    assert list(decoded) == list(values)
    for key, value in values.items():
        assert same_value(decoded[key], value), (key, value, decoded[key])


def test_store_round_trips_awkward_values_through_the_table(tmp_path):
    result = {"tiny": 5e-324, "neg_zero": -0.0, "sum": 0.1 + 0.2, "big": 2**70, "nan": math.nan, "inf": math.inf,
              "ninf": -math.inf, "none": None, "text": "ünï ☃", "flag": True, "np": np.float32(0.1), "npint": np.int64(3)}
    with open_a(tmp_path / "s") as store:
        store.record(task_id="t0", index=0, settings={"x": 1.5}, result=result, wall_s=0.25, worker="w")
    row = open_store(tmp_path / "s").table().iloc[0]
    expected = result | {"np": float(np.float32(0.1)), "npint": 3}
    for key, value in expected.items():
        got = row[key]
        got = got.item() if isinstance(got, np.generic) else got
        assert same_value(got, value), (key, value, got)


def test_none_stays_none_beside_nan_and_columns_are_in_order(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record(task_id="t1", index=1, settings={"k": 2}, result={"r": math.nan}, wall_s=0, worker="w")
        store.record(task_id="t0", index=0, settings={"k": 1}, result={"r": None, "q": 1}, wall_s=0, worker="w")
    table = open_store(tmp_path / "s").table()
    assert list(table.index) == [0, 1] and table.index.name == "task"
    assert list(table.columns) == ["task_id", "k", "r", "q", "runs", "wall_s", "worker"]
    assert table.loc[0, "r"] is None and math.isnan(table.loc[1, "r"])
    assert table.loc[1, "q"] is None  # a result missing from a task is None, not a silent NaN


def test_rerecording_counts_runs_and_keeps_the_newer_result(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record(**task_row(0))
        store.record(**(task_row(0) | {"result": {"alice-bob.pme_rate_hz": 2.0}, "worker": "late"}))
        store.record_many([task_row(1), task_row(1), task_row(2)])
        assert store.runs() == {task_row(0)["task_id"]: 2, task_row(1)["task_id"]: 2, task_row(2)["task_id"]: 1}
    table = open_store(tmp_path / "s").table()
    assert len(table) == 3
    assert table.loc[0, "alice-bob.pme_rate_hz"] == 2.0 and table.loc[0, "worker"] == "late"
    assert table.loc[0, "alice-bob.fidelity"] is None  # the newer result has no fidelity: nothing of the old one
    assert list(table["runs"]) == [2, 2, 1]


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(allow_nan=False), st.booleans()), min_size=1, max_size=30))
def test_runs_and_kept_results_match_a_dictionary_reference(events):
    """Each event records task i (alone or in a batch with the next ones); the reference is a plain dict."""
    expected_runs: dict[str, int] = {}
    expected_value: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, open_a(Path(folder) / "s") as store:
        batch: list[dict] = []
        for i, value, alone in events:
            row = task_row(i) | {"result": {"v": value}}
            expected_runs[row["task_id"]] = expected_runs.get(row["task_id"], 0) + 1
            expected_value[row["task_id"]] = value
            batch.append(row)
            if alone:
                store.record_many(batch) if len(batch) > 1 else store.record(**row)
                batch = []
        store.record_many(batch)
        assert store.runs() == expected_runs and store.finished_ids() == set(expected_runs)
        table = open_store(Path(folder) / "s").table()
        assert dict(zip(table["task_id"], table["v"], strict=True)) == expected_value
        assert dict(zip(table["task_id"], table["runs"], strict=True)) == expected_runs


def test_reopening_resumes_and_keeps_the_first_provenance(tmp_path):
    with open_a(tmp_path / "deep" / "er" / "s") as store:
        store.record_many([task_row(i) for i in range(4)])
    first = open_store(tmp_path / "deep" / "er" / "s").provenance
    with open_a(tmp_path / "deep" / "er" / "s", text="# edited comment\n") as store:
        assert store.finished_ids() == {task_row(i)["task_id"] for i in range(4)}
        store.record(**task_row(4))
    stored = open_store(tmp_path / "deep" / "er" / "s")
    assert stored.provenance == first
    assert {"name": "a", "seed": 7, "sweep_id": SWEEP_A, "sweep_text": "[sweep]\nname = 'a'\n"}.items() <= first.items()
    assert versions().items() <= first.items() and first["created_at"].endswith("+00:00")
    assert (tmp_path / "deep" / "er" / "s" / SWEEP_FILE).read_text() == "# edited comment\n"
    assert stored.table().attrs["sweep"] == first and len(stored.table()) == 5


def test_a_store_of_another_sweep_is_refused_and_left_alone(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record(**task_row(0))
    before = (tmp_path / "s" / SWEEP_FILE).read_text()
    with pytest.raises(ConfigError) as refusal:
        SweepStore.create_or_open(tmp_path / "s", sweep_id=SWEEP_B, sweep_record={"name": "b"}, sweep_text="other")
    message = str(refusal.value)
    assert "'a' (id aaaaaaaaaaaa)" in message and "'b' (id bbbbbbbbbbbb)" in message
    assert "another --out" in message and "remove the store" in message and "\n" not in message
    assert (tmp_path / "s" / SWEEP_FILE).read_text() == before
    assert len(open_store(tmp_path / "s").table()) == 1


def test_a_store_that_holds_no_result_goes_to_the_corrected_sweep(tmp_path):
    """Every task of a mistaken sweep failed: nothing to protect, so the corrected sweep takes the store."""
    open_a(tmp_path / "s").close()
    with SweepStore.create_or_open(tmp_path / "s", sweep_id=SWEEP_B, sweep_record={"name": "b"},
                                   sweep_text="other") as store:
        store.record(**task_row(0))
    stored = open_store(tmp_path / "s")
    assert stored.provenance["sweep_id"] == SWEEP_B and stored.provenance["name"] == "b"
    assert (tmp_path / "s" / SWEEP_FILE).read_text() == "other"
    with pytest.raises(ConfigError, match="another --out"):  # now it holds b's result: a is refused
        open_a(tmp_path / "s")


def test_a_second_writer_is_refused_while_the_first_is_open(tmp_path):
    with open_a(tmp_path / "s"):
        with pytest.raises(ConfigError, match="being written by another running sweep"):
            open_a(tmp_path / "s")
    open_a(tmp_path / "s").close()  # released on close


def test_a_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match=r"^--out: '.*/f' is a file, not a folder$"):
        open_a(tmp_path / "f")
    with pytest.raises(ConfigError, match=r"^--out: '.*/f/s' is not a folder this process can write \(Not a direc"):
        open_a(tmp_path / "f" / "s")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        open_store(tmp_path / "f")
    with pytest.raises(ConfigError, match="does not exist"):
        open_store(tmp_path)


def test_files_that_are_not_stores_are_refused_unchanged(tmp_path):
    garbage = tmp_path / "g"
    garbage.mkdir()
    (garbage / DATABASE).write_bytes(b"not a database " * 200)
    foreign = tmp_path / "o"
    foreign.mkdir()
    with sqlite3.connect(foreign / DATABASE) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    for folder in (garbage, foreign):
        before = (folder / DATABASE).read_bytes()
        with pytest.raises(ConfigError, match=r"^--out: .* is not a metroqnet sweep store \(.*\); choose another"):
            open_a(folder)
        with pytest.raises(ConfigError, match=r"^store: .* is not a metroqnet sweep store"):
            open_store(folder)
        assert (folder / DATABASE).read_bytes() == before  # not even switched to WAL


def test_a_damaged_store_is_refused(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record_many([task_row(i) | {"result": {"r": "x" * 2000}} for i in range(100)])
    path = tmp_path / "s" / DATABASE
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")  # the page size, from the SQLite file header
    assert len(data) > 8 * page
    data[4 * page: 6 * page] = bytes(range(256)) * (2 * page // 256)  # two pages of the tasks table overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=r"^--out: .* is a damaged metroqnet sweep store \(.*\); move it aside"):
        open_a(tmp_path / "s")
    with pytest.raises(ConfigError, match=r"^store: .* is a damaged metroqnet sweep store"):
        open_store(tmp_path / "s").table()


def test_bad_values_are_refused_before_anything_is_written(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record(**task_row(0))
        bad = [task_row(1), task_row(2) | {"result": {"alice-bob.counts": [1, 2]}}]
        with pytest.raises(ConfigError, match=r"^task '0{63}2'.result\['alice-bob.counts'\]: \[1, 2\] \(list\) is not"):
            store.record_many(bad)
        with pytest.raises(ConfigError, match="would name two table columns"):
            store.record(**(task_row(3) | {"result": {"runs": 1}}))
        with pytest.raises(ConfigError, match=r"wall_s: expected a finite number >= 0, got nan"):
            store.record(**(task_row(3) | {"wall_s": math.nan}))
        assert store.finished_ids() == {task_row(0)["task_id"]}


def test_a_full_disk_rolls_back_and_says_what_is_safe(tmp_path):
    """SQLite's max_page_count makes the database full: the same SQLITE_FULL error a full disk raises."""
    rows = [task_row(i) | {"result": {"blob": "x" * 400}} for i in range(400)]
    recorded = 0
    with open_a(tmp_path / "s") as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages + 6}")
        with pytest.raises(ConfigError) as refusal:
            for row in rows:
                store.record(**row)
                recorded += 1
        assert 0 < recorded < len(rows)
        message = str(refusal.value)
        assert f"the transaction was rolled back; {recorded} tasks are safely recorded" in message
        assert "is full (database or disk is full)" in message and "rerun the same command to resume" in message
        with pytest.raises(ConfigError, match=f"; {recorded} tasks are safely recorded"):
            store.record_many(rows[recorded:recorded + 20])  # a batch is all or nothing
    with open_a(tmp_path / "s") as store:  # free space (no page limit): resume
        assert store.finished_ids() == {row["task_id"] for row in rows[:recorded]}
        assert store._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        store.record_many(rows[recorded:])
        assert set(store.runs().values()) == {1} and len(store.runs()) == len(rows)


def test_a_full_disk_while_writing_the_sweep_file_is_one_line(tmp_path, monkeypatch):
    """ENOSPC from the OS (simulated: os.replace fails as it does on a full disk) while writing sweep.toml."""
    with open_a(tmp_path / "s") as store:
        store.record_many([task_row(0), task_row(1)])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ConfigError, match=r"No space left on device\); the 2 tasks recorded in .* are intact, rerun"):
        open_a(tmp_path / "s", text="new text")
    assert not list((tmp_path / "s").glob(".*partial"))
    monkeypatch.undo()
    assert len(open_store(tmp_path / "s").table()) == 2


NOBODY = 65534


def run_limited(code: str, *args: str) -> subprocess.CompletedProcess:
    """``python -c code args`` as a user whom permission bits bind: this user, or nobody when running as root
    (root ignores permission bits, and a read-only mount is not available in CI)."""
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                              user=NOBODY if os.geteuid() == 0 else None, env=os.environ | {"PYTHONPATH": str(SOURCE)})
    except PermissionError:
        pytest.skip("running as root and cannot switch to user nobody")
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def shared_tmp():
    """A folder under /tmp that user nobody can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="metroqnet-store-"))
    base.chmod(0o755)
    yield base
    for path in sorted(base.rglob("*"), reverse=True):
        if path.is_dir():
            path.chmod(0o755)
            path.rmdir()
        else:
            path.unlink()
    base.rmdir()


READ_ONLY = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
WRITE_CHILD = """
import sys
from metroqnet.config.errors import ConfigError
from metroqnet.sweeps.store import SweepStore
try:
    SweepStore.create_or_open(sys.argv[1], sweep_id="a" * 64, sweep_record={}, sweep_text="")
except ConfigError as error:
    print(error)
"""
READ_CHILD = """
import sys
from metroqnet.sweeps.store import open_store
table = open_store(sys.argv[1]).table()
print(len(table), table["alice-bob.pme_rate_hz"].sum().hex())
"""


def test_a_folder_that_cannot_be_written_is_refused_up_front(shared_tmp):
    folder = shared_tmp / "store"
    folder.mkdir()
    folder.chmod(READ_ONLY)
    done = run_limited(WRITE_CHILD, str(folder))
    assert done.stdout == f"--out: {str(folder)!r} is not a folder this process can write (Permission denied); " \
                          f"choose another --out\n"
    assert os.listdir(folder) == []


def test_a_store_in_a_folder_that_cannot_be_written_can_be_read(shared_tmp):
    with open_a(shared_tmp / "store") as store:
        store.record_many([task_row(i) for i in range(5)])
    (shared_tmp / "store").chmod(READ_ONLY)
    done = run_limited(READ_CHILD, str(shared_tmp / "store"))
    assert done.stdout == f"5 {sum(i / 7 for i in range(5)).hex()}\n"


def test_a_reader_sees_committed_tasks_while_the_writer_writes(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record_many([task_row(i) for i in range(3)])
        stored = open_store(tmp_path / "s")
        assert len(stored.table()) == 3
        store.record(**task_row(3))
        assert list(stored.table().index) == [0, 1, 2, 3]
        store.record(**task_row(4))  # the reader holds nothing open between reads


def test_to_xarray_lays_a_full_grid_on_its_settings(tmp_path):
    with open_a(tmp_path / "s") as store:
        store.record_many([task_row(i) for i in reversed(range(6))])  # 2 x 3 grid, written out of order
    grid = open_store(tmp_path / "s").to_xarray()
    assert dict(grid.sizes) == {"nodes.alice.excitation_probability": 2, "topology.fibres.alice-server.length_km": 3}
    for i in range(6):
        row = task_row(i)
        point = grid.sel({key: value for key, value in row["settings"].items()})
        assert point["alice-bob.pme_rate_hz"].item() == i / 7 and point["task"].item() == i
    assert json.loads(grid.attrs["sweep"])["sweep_id"] == SWEEP_A
    with open_a(tmp_path / "s") as store:
        store.record(**(task_row(6) | {"settings": {"nodes.alice.excitation_probability": 0.5,
                                                    "topology.fibres.alice-server.length_km": 0.0}}))
    with pytest.raises(ConfigError, match=r"do not form a full grid: 7 tasks for 3 x 3 = 9 combinations"):
        open_store(tmp_path / "s").to_xarray()


def test_to_xarray_takes_a_zipped_group_as_one_dimension(tmp_path):
    """Settings declared per axis (a group's label): the group's keys step along it as coordinates."""
    lengths = {"nodes.n1.fibre_length_km": [8.0, 5.0, 4.0], "nodes.n2.fibre_length_km": [9.5, 6.0, 8.0]}
    record = {"name": "z", "seed": 1, "settings": ["nodes.*.excitation_probability", "layout"]}
    with SweepStore.create_or_open(tmp_path / "s", sweep_id=SWEEP_A, sweep_record=record, sweep_text="") as store:
        for index, (chi, layout) in enumerate((c, l) for c in (0.01, 0.02) for l in range(3)):
            settings = {"nodes.*.excitation_probability": chi, **{key: values[layout] for key, values in
                                                                  lengths.items()}, "layout": layout}
            store.record(task_id=f"{index:064x}", index=index, settings=settings,
                         result={"min.pme_rate_hz": chi * (layout + 1)}, wall_s=0.1, worker="w")
    grid = open_store(tmp_path / "s").to_xarray()
    assert dict(grid.sizes) == {"nodes.*.excitation_probability": 2, "layout": 3}
    assert grid["min.pme_rate_hz"].sel({"nodes.*.excitation_probability": 0.02, "layout": 2}).item() == 0.02 * 3
    n2 = grid["nodes.n2.fibre_length_km"].sel({"nodes.*.excitation_probability": 0.01})
    assert list(n2.values) == lengths["nodes.n2.fibre_length_km"]


CRASH_CHILD = """
import sys
from metroqnet.sweeps.store import SweepStore
folder, batch = sys.argv[1], int(sys.argv[2])
store = SweepStore.create_or_open(folder, sweep_id="c" * 64, sweep_record={"name": "crash"}, sweep_text="")
for start in range(0, 10**6, batch):
    rows = [dict(task_id=f"{i:064x}", index=i, settings={"x": i}, result={"r": i / 3, "s": "y" * (i % 97)},
                 wall_s=0.0, worker="child") for i in range(start, start + batch)]
    store.record(**rows[0]) if batch == 1 else store.record_many(rows)
    print(" ".join(row["task_id"] for row in rows), flush=True)
"""


@pytest.mark.parametrize(("seed", "batch"), [(1, 1), (2, 1), (3, 7)])
def test_a_writer_killed_at_a_random_moment_loses_no_finished_task(tmp_path, seed, batch):
    rng = np.random.default_rng(seed)
    wait_for = int(rng.integers(5, 60))
    child = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(tmp_path / "s"), str(batch)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=os.environ | {"PYTHONPATH": str(SOURCE)})
    reported: list[str] = []
    while len(reported) < wait_for:
        line = child.stdout.readline()
        assert line, f"the writer stopped early: {child.stderr.read()}"
        reported += line.split()
    time.sleep(float(rng.uniform(0, 0.02)))  # the kill lands anywhere, often inside a commit
    os.kill(child.pid, signal.SIGKILL)
    reported += child.stdout.read().split()
    assert child.wait() == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "s" / DATABASE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT task_id, runs, result FROM tasks").fetchall()
    db.close()
    runs = {task_id: count for task_id, count, _ in rows}
    assert set(reported) <= set(runs) and set(runs.values()) == {1}
    assert len(runs) - len(reported) in ((0, 1) if batch == 1 else (0, batch))  # at most the batch in flight
    for task_id, _, text in rows:  # every recorded row whole
        i = int(task_id, 16)
        assert decode_values(text) == {"r": i / 3, "s": "y" * (i % 97)}
    with SweepStore.create_or_open(tmp_path / "s", sweep_id="c" * 64, sweep_record={}, sweep_text="") as store:
        assert store.finished_ids() == set(runs)
