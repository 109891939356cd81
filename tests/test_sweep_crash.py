"""A sweep killed with SIGKILL mid-run resumes to the table of a run that was never killed.

A child process runs a few hundred synthetic tasks on two worker processes into a
real store; at a seeded moment after some results are recorded the test kills the
child's whole process group (coordinator, fork server, workers) with SIGKILL, so
nothing gets to clean up. A rerun must skip exactly what was recorded, finish the
rest, and give the clean run's table, with every task recorded once (``runs`` == 1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.sweeps.execute import run_tasks
from metroqnet.sweeps.store import SweepStore, open_store
from metroqnet.sweeps.synthetic import synthetic_compute, synthetic_tasks

TASKS, SECONDS, SWEEP_SEED = 150, 0.02, 31
SWEEP = dict(sweep_id="crash-test", sweep_record={"name": "crash", "seed": SWEEP_SEED}, sweep_text="# crash test\n")

CHILD = f"""
import sys
from metroqnet.sweeps.execute import run_tasks
from metroqnet.sweeps.store import SweepStore
from metroqnet.sweeps.synthetic import synthetic_compute, synthetic_tasks

store = SweepStore.create_or_open(sys.argv[1], **{SWEEP!r})
run_tasks(synthetic_tasks({TASKS}, seconds={SECONDS}, sweep_seed={SWEEP_SEED}), synthetic_compute, store, workers=2)
store.close()
"""


def recorded(folder) -> int:
    try:
        return len(open_store(folder).table())
    except ConfigError:  # not created yet
        return 0


def run_to_completion(folder):
    store = SweepStore.create_or_open(folder, **SWEEP)
    try:
        summary = run_tasks(synthetic_tasks(TASKS, seconds=SECONDS, sweep_seed=SWEEP_SEED), synthetic_compute, store,
                            workers=2)
        runs = store.runs()
    finally:
        store.close()
    return summary, runs, open_store(folder).table()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The table of a run nobody interrupted."""
    _, runs, table = run_to_completion(tmp_path_factory.mktemp("clean") / "store")
    assert len(runs) == TASKS and set(runs.values()) == {1}
    return table


def start_and_stop(folder, *, kill_after: int, extra_s: float, signal_number: int) -> tuple[int, str]:
    """Start the child, send it ``signal_number`` once ``kill_after`` tasks are recorded (and ``extra_s`` later)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120.0  # a guard against a hang, not a timing check
        while recorded(folder) < kill_after and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(extra_s)
        if signal_number == signal.SIGKILL:  # the child's own session: its fork server and workers too
            os.killpg(child.pid, signal.SIGKILL)
        else:  # to the coordinator alone, as `kill -INT`; it must stop its workers itself
            child.send_signal(signal_number)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return child.returncode, stderr.decode(errors="replace")


def resume_and_compare(folder, clean: pd.DataFrame) -> None:
    at_stop = recorded(folder)
    resumed, runs, table = run_to_completion(folder)
    assert (resumed.skipped, resumed.done, resumed.failed) == (at_stop, TASKS - at_stop, 0)
    assert len(runs) == TASKS and set(runs.values()) == {1}  # nothing recorded twice
    columns = ["wall_s", "worker"]
    pd.testing.assert_frame_equal(table.drop(columns=columns), clean.drop(columns=columns), check_exact=True)


@pytest.mark.parametrize("seed", [2026])
def test_a_killed_sweep_resumes_to_the_clean_table(tmp_path, clean, seed):
    rng = np.random.default_rng(seed)
    kill_after, extra_s = int(rng.integers(10, TASKS // 2)), float(rng.uniform(0.0, 0.2))
    folder = tmp_path / "killed"
    returncode, stderr = start_and_stop(folder, kill_after=kill_after, extra_s=extra_s, signal_number=signal.SIGKILL)
    assert returncode == -signal.SIGKILL, stderr
    assert kill_after <= recorded(folder) < TASKS
    resume_and_compare(folder, clean)


def test_ctrl_c_stops_the_workers_keeps_the_results_and_resumes(tmp_path, clean):
    folder = tmp_path / "interrupted"
    returncode, stderr = start_and_stop(folder, kill_after=TASKS // 3, extra_s=0.05, signal_number=signal.SIGINT)
    assert returncode in (1, -signal.SIGINT) and "KeyboardInterrupt" in stderr, stderr
    assert TASKS // 3 <= recorded(folder) < TASKS
    resume_and_compare(folder, clean)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child its parent has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc (Linux)")
def test_workers_of_a_coordinator_killed_alone_exit_and_the_sweep_resumes(tmp_path, clean):
    """``kill -9`` of the coordinator only: its workers, left without anyone to record their results, exit."""
    folder = tmp_path / "orphaned"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120.0  # a guard against a hang, not a timing check
        while recorded(folder) < 20 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        child.kill()  # the coordinator alone, not its process group
        child.wait()
        workers = {int(name.rsplit(":", 1)[1]) for name in open_store(folder).table()["worker"]}
        assert len(workers) == 2
        deadline = time.monotonic() + 30.0
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers)
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # whatever is left of the session (the fork server)
        except ProcessLookupError:
            pass
    resume_and_compare(folder, clean)
