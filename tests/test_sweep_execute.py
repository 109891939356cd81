"""Running a sweep's tasks (metroqnet.sweeps.execute) on this process and on local worker processes.

The expected numbers come from the seed rule itself (``SeedSequence(entropy=sweep_seed,
spawn_key=(int(task_id[:16], 16),))`` drawn here by hand), not from the code under test;
the tables of the in-process run, one worker process and several are compared bit for bit.
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import sweep_support
from tests.sweep_support import comparable

from metroqnet.config.errors import ConfigError
from metroqnet.sweeps import execute
from metroqnet.sweeps.execute import HOLD_S, ProgressUpdate, run_tasks
from metroqnet.sweeps.store import SweepStore, open_store
from metroqnet.sweeps.synthetic import SyntheticTask, synthetic_compute, synthetic_tasks

SWEEP_SEED = 11


def make_store(folder) -> SweepStore:
    return sweep_support.make_store(folder, name="synthetic", seed=SWEEP_SEED)


def run_into(folder, tasks, **options):
    return sweep_support.run_into(folder, tasks, name="synthetic", seed=SWEEP_SEED, **options)


def expected_value(task: SyntheticTask) -> tuple[float, float]:
    """(a-b.value, a-c.value) drawn by hand from the task's stream (the seed rule of the sweep conventions)."""
    stream = np.random.SeedSequence(entropy=task.sweep_seed, spawn_key=(int(task.task_id[:16], 16),))
    draws = np.random.default_rng(stream).normal(size=(2, 64))
    return float(draws[0].mean()), float(draws[1].mean())


class MemoryStore:
    """A store in memory that remembers each write (which rows, through record or record_many)."""

    def __init__(self, finished=()):
        self.rows: dict[str, dict] = {}
        self.writes: list[tuple[str, int]] = []
        self.finished = set(finished)

    def finished_ids(self):
        return frozenset(self.finished | set(self.rows))

    def record(self, **row):
        self.rows[row["task_id"]] = row
        self.writes.append(("record", 1))

    def record_many(self, rows):
        rows = list(rows)
        for row in rows:
            self.rows[row["task_id"]] = row
        self.writes.append(("record_many", len(rows)))


# --- the same table wherever and in whatever order tasks run ----------------------------------------


def test_in_process_one_process_and_two_processes_give_identical_tables(tmp_path):
    tasks = synthetic_tasks(40, seconds=0.001, sweep_seed=SWEEP_SEED)
    in_process, runs_a, table_a = run_into(tmp_path / "a", tasks, workers=1)
    two, runs_b, table_b = run_into(tmp_path / "b", tasks, workers=2)

    # a pool of exactly one worker process (workers=1 means no pool at all)
    store = make_store(tmp_path / "c")
    recorder = execute._Recorder(store, execute.describe_task, None, total=len(tasks), skipped=0)
    execute._run_local(list(tasks), synthetic_compute, 1, recorder)
    store.close()
    table_c = open_store(tmp_path / "c").table()

    assert (in_process.where, in_process.workers) == ("in-process", 1)
    assert two.where.startswith("local processes") and two.workers == 2
    assert in_process.done == two.done == 40 and in_process.failed == two.failed == 0
    assert set(runs_a.values()) == set(runs_b.values()) == {1}
    pd.testing.assert_frame_equal(comparable(table_a), comparable(table_b), check_exact=True)
    pd.testing.assert_frame_equal(comparable(table_a), comparable(table_c), check_exact=True)
    assert len(set(table_b["worker"])) >= 1 and (table_b["wall_s"] >= 0.001).all()  # CPU seconds <= wall seconds

    # the numbers are those of each task's own stream, drawn here by hand
    for task in tasks:
        row = table_a.loc[task.index]
        assert (row["a-b.value"], row["a-c.value"]) == expected_value(task)
        assert (row["x"], row["y"], row["task_id"]) == (task.index, task.index % 3, task.task_id)
        assert row["nothing"] is None and row["label"] == f"x{task.index}" and row["draws"] == 128


def test_a_real_sweep_gives_the_same_table_in_process_and_on_two_processes(tmp_path):
    """The example grid through run_task (the exact engine, numba) on fork-server workers, bit for bit."""
    from metroqnet.sweeps.sweep_file import load_sweep_file
    from metroqnet.sweeps.tasks import run_task, sweep_tasks

    spec = load_sweep_file(Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "small_grid.toml")
    tasks = sweep_tasks(spec)
    tables = []
    for workers in (1, 2):
        store = SweepStore.create_or_open(tmp_path / str(workers), sweep_id=spec.sweep_id,
                                          sweep_record={"name": spec.name}, sweep_text="# small grid\n")
        summary = run_tasks(tasks, functools.partial(run_task, spec), store, workers=workers)
        store.close()
        assert (summary.done, summary.failed, summary.workers) == (len(tasks), 0, workers)
        tables.append(comparable(open_store(tmp_path / str(workers)).table()))
    assert len(tables[0]) == len(tasks) == 6 and tables[0]["alice-bob.fidelity"].between(0, 1).all()
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)


def test_order_and_interruption_do_not_change_the_table(tmp_path):
    tasks = synthetic_tasks(30, seconds=0.0, sweep_seed=SWEEP_SEED)
    shuffled = list(tasks)
    random.Random(5).shuffle(shuffled)
    _, _, reference = run_into(tmp_path / "ref", tasks, workers=1)
    _, _, table = run_into(tmp_path / "shuffled", shuffled, workers=2)
    pd.testing.assert_frame_equal(comparable(reference), comparable(table), check_exact=True)

    # half, then all: the second call computes only the other half
    first, _, _ = run_into(tmp_path / "halves", shuffled[:15], workers=2)
    second, runs, table = run_into(tmp_path / "halves", tasks, workers=2)
    assert (first.done, first.skipped) == (15, 0)
    assert (second.done, second.skipped, second.total) == (15, 15, 30)
    assert set(runs.values()) == {1}
    pd.testing.assert_frame_equal(comparable(reference), comparable(table), check_exact=True)


def test_finished_and_repeated_tasks_are_not_computed_again():
    tasks = synthetic_tasks(12, seconds=0.0, sweep_seed=SWEEP_SEED, fail={i: "bug" for i in range(4)})
    store = MemoryStore(finished={task.task_id for task in tasks[:4]})  # computing these would fail
    summary = run_tasks(tasks + tasks[6:8], synthetic_compute, store, workers=1)
    assert (summary.total, summary.skipped, summary.done, summary.failed) == (14, 6, 8, 0)
    assert set(store.rows) == {task.task_id for task in tasks[4:]}
    again = run_tasks(tasks, synthetic_compute, store, workers=2)
    assert (again.skipped, again.done, again.workers, again.mean_task_wall_s) == (12, 0, 1, None)


# --- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_is_reported_and_the_others_are_recorded(workers):
    tasks = synthetic_tasks(10, seconds=0.0, sweep_seed=SWEEP_SEED, fail={2: "config", 7: "bug"})
    store = MemoryStore()
    summary = run_tasks(tasks, synthetic_compute, store, workers=workers)
    assert (summary.done, summary.failed, summary.ok) == (8, 2, False)
    assert set(store.rows) == {task.task_id for task in tasks if task.index not in (2, 7)}
    failures = sorted(summary.failures, key=lambda failure: failure.index)
    assert [(f.index, f.kind, f.task_id) for f in failures] == [(2, "config", tasks[2].task_id),
                                                                (7, "bug", tasks[7].task_id)]
    assert failures[0].line() == "task 2 (x=2, y=2): error: x: 2 is outside the allowed range (synthetic refusal)"
    bug = failures[1].line()
    assert bug.startswith("task 7 (x=7, y=1): bug (please report it): "
                          "ZeroDivisionError: synthetic bug (at synthetic.py:")
    assert "\n" not in bug


def returns_nan(task):
    return {"a-b.value": math.nan}


def returns_list(task):
    return [1.0]


def returns_numpy(task):
    return {"a-b.value": np.float64(0.25), "count": np.int64(3), "ok": np.bool_(True), "note": None}


def test_results_are_checked_before_they_are_recorded():
    tasks = synthetic_tasks(1, seconds=0.0)
    for compute, message in [(returns_nan, "result 'a-b.value' is nan; a figure without a value is None"),
                             (returns_list, "a task returned a list; a task's result is a flat dict")]:
        store = MemoryStore()
        summary = run_tasks(tasks, compute, store, workers=1)
        assert not store.rows and summary.failed == 1
        assert summary.failures[0].kind == "bug" and message in summary.failures[0].message
    store = MemoryStore()
    run_tasks(tasks, returns_numpy, store, workers=1)
    result = store.rows[tasks[0].task_id]["result"]
    assert result == {"a-b.value": 0.25, "count": 3, "ok": 1, "note": None}
    assert [type(value) for value in result.values()] == [float, int, int, type(None)]


def test_a_compute_that_cannot_reach_a_worker_process_is_refused_before_anything_runs():
    store = MemoryStore()
    with pytest.raises(TypeError, match="cannot be sent to worker processes .* give a top-level function"):
        run_tasks(synthetic_tasks(4, seconds=0.0), lambda task: {}, store, workers=2)
    assert not store.writes
    summary = run_tasks(synthetic_tasks(4, seconds=0.0), lambda task: {"v": 1}, store, workers=1)  # in-process: fine
    assert summary.done == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_records_what_finished_and_re_raises(tmp_path, workers):
    clean = synthetic_tasks(24, seconds=0.002, sweep_seed=SWEEP_SEED)
    interrupted = synthetic_tasks(24, seconds=0.002, sweep_seed=SWEEP_SEED, fail={12: "interrupt"})
    store = make_store(tmp_path / "s")
    with pytest.raises(KeyboardInterrupt):
        run_tasks(interrupted, synthetic_compute, store, workers=workers)
    recorded = set(store.finished_ids())
    store.close()
    if workers == 1:  # in order: exactly the tasks before the interrupted one
        assert recorded == {task.task_id for task in clean[:12]}
    else:  # at most 4 in flight: task 12 went out after at least 9 of tasks 0-11 had come back and been recorded
        assert clean[12].task_id not in recorded and len(recorded & {task.task_id for task in clean[:12]}) >= 9
        assert len(recorded) < 24
    _, runs, table = run_into(tmp_path / "s", clean, workers=workers)
    _, _, reference = run_into(tmp_path / "ref", clean, workers=1)
    assert set(runs.values()) == {1} and len(runs) == 24
    pd.testing.assert_frame_equal(comparable(reference), comparable(table), check_exact=True)


def test_a_dead_worker_process_stops_the_run_and_keeps_what_finished(tmp_path):
    clean = synthetic_tasks(30, seconds=0.002, sweep_seed=SWEEP_SEED)
    dying = synthetic_tasks(30, seconds=0.002, sweep_seed=SWEEP_SEED, fail={10: "exit"})
    store = make_store(tmp_path / "s")
    with pytest.raises(execute.WorkerLost, match="a local worker process died .* rerun the sweep to resume"):
        run_tasks(dying, synthetic_compute, store, workers=2)
    recorded = set(store.finished_ids())
    store.close()
    # at most 4 in flight: task 10 went out after at least 7 of tasks 0-9 had come back and been recorded
    assert clean[10].task_id not in recorded and len(recorded & {task.task_id for task in clean[:10]}) >= 7
    _, runs, table = run_into(tmp_path / "s", clean, workers=2)
    _, _, reference = run_into(tmp_path / "ref", clean, workers=1)
    assert set(runs.values()) == {1} and len(runs) == 30
    pd.testing.assert_frame_equal(comparable(reference), comparable(table), check_exact=True)


def test_no_more_than_the_window_is_ever_in_flight():
    """Memory stays bounded for a sweep of any length: a task goes out only when one has come back."""
    tasks = synthetic_tasks(100, seconds=0.0)
    store = MemoryStore()
    recorder = execute._Recorder(store, execute.describe_task, None, total=100, skipped=0)
    sent: list[int] = []

    def submit(batch):
        assert len(sent) - recorder.done + len(batch) <= 3
        futures = []
        for task in batch:
            future = concurrent.futures.Future()
            future.set_result(execute.run_one(synthetic_compute, task))
            futures.append(future)
            sent.append(task.index)
        return futures

    execute._drive(tasks, submit, lambda: 3, lambda future: future.result(), lambda in_flight: None, recorder)
    assert sent == list(range(100)) and len(store.rows) == 100


# --- recording: batched when fast, never held long -------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_slow_results_are_written_one_by_one_and_fast_ones_in_batches():
    tasks = synthetic_tasks(2010, seconds=0.0)
    outcome = execute._Outcome({"v": 1.0}, 0.001, "here")
    clock, store = FakeClock(), MemoryStore()
    recorder = execute._Recorder(store, execute.describe_task, None, total=2010, skipped=0, clock=clock)
    for task in tasks[:10]:  # 10 per second: each written as it comes
        clock.now += 0.1
        recorder.arrived(task, outcome)
    assert store.writes == [("record", 1)] * 10 and recorder.wait_s() == 1.0

    store.writes.clear()
    store.rows.clear()
    written_at: dict[str, float] = {}
    arrived_at: dict[str, float] = {}
    for task in tasks[10:]:  # 1000 per second for 2 s: batched, each row written within HOLD_S of its arrival
        clock.now += 0.001
        arrived_at[task.task_id] = clock.now
        recorder.arrived(task, outcome)
        assert 0.0 <= recorder.wait_s() <= HOLD_S or not recorder.buffer
        for task_id in set(store.rows) - set(written_at):
            written_at[task_id] = clock.now
    clock.now += recorder.wait_s()  # the coordinator waits this long for another result, then:
    recorder.flush_due()
    for task_id in set(store.rows) - set(written_at):
        written_at[task_id] = clock.now
    assert set(written_at) == set(arrived_at)
    assert max(written_at[key] - arrived_at[key] for key in arrived_at) <= HOLD_S + 1e-9
    assert sum(size for _, size in store.writes) == 2000
    assert 2.0 / HOLD_S <= len(store.writes) <= 2.0 / HOLD_S + 2  # about one write per HOLD_S
    assert {kind for kind, _ in store.writes} == {"record_many"}


def test_progress_counts_every_task_once():
    tasks = synthetic_tasks(30, seconds=0.0, fail={4: "bug"})
    store = MemoryStore(finished={tasks[0].task_id, tasks[1].task_id})
    updates: list[ProgressUpdate] = []
    summary = run_tasks(tasks, synthetic_compute, store, workers=2, progress=updates.append)
    last = updates[-1]
    assert (last.done, last.failed, last.skipped, last.total, last.seconds_left) == (27, 1, 2, 30, 0.0)
    assert summary.done == 27 and summary.failed == 1 and summary.skipped == 2
    done = [update.done for update in updates]
    assert done == sorted(done) and all(update.rate_per_s >= 0 for update in updates)


# --- refused arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    ({"workers": 0}, "workers: 0 is not allowed; expected an integer >= 1 (processes)"),
    ({"workers": 1.5}, "workers: 1.5 is not allowed; expected an integer >= 1 (processes)"),
    ({"workers": True}, "workers: True is not allowed; expected an integer >= 1 (processes)"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"},
     "workers: 2 applies to local processes; with a scheduler ('tcp://127.0.0.1:8786') "
     "the cluster's workers run the tasks"),
    ({"scheduler": "127.0.0.1:8786"},
     "scheduler: '127.0.0.1:8786' is not a Dask scheduler address; "
     "expected scheme://host:port, e.g. tcp://10.0.0.5:8786"),
    ({"scheduler": "tcp://host:99999"}, "scheduler: 'tcp://host:99999' is not a Dask scheduler address"),
])
def test_bad_options_are_refused_in_one_line_before_the_store_is_read(options, message):
    class Untouchable:
        def finished_ids(self):
            raise AssertionError("the store was read")

    with pytest.raises(ConfigError) as refused:
        run_tasks(synthetic_tasks(2, seconds=0.0), synthetic_compute, Untouchable(), **options)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_in_process_each_result_is_recorded_before_the_next_task_starts(tmp_path):
    """No timer can flush while this process computes: a slow task must not hold earlier results back."""
    tasks = synthetic_tasks(4, seconds=0.0, sweep_seed=SWEEP_SEED)
    seen: list[int] = []
    store = make_store(tmp_path / "s")

    def compute(task):  # called in this process (workers=1): count what is recorded when each task starts
        seen.append(len(store.finished_ids()))
        return synthetic_compute(task)

    try:
        run_tasks(tasks, compute, store, workers=1)
    finally:
        store.close()
    assert seen == [0, 1, 2, 3]
