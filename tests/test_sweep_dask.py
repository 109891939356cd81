"""Sweep tasks on a real Dask cluster: a scheduler and two worker processes on loopback, no mocks.

The cluster's table must equal the in-process table bit for bit; an address where
no scheduler listens is refused in one line, and the store keeps what it held.
"""

from __future__ import annotations

import os
import socket

import pandas as pd
import pytest

from tests import sweep_support
from tests.sweep_support import comparable

distributed = pytest.importorskip("distributed", reason="the Dask tests need the 'distributed' package")

from metroqnet.config.errors import ConfigError  # noqa: E402
from metroqnet.sweeps.execute import connect  # noqa: E402
from metroqnet.sweeps.store import SweepStore, open_store  # noqa: E402
from metroqnet.sweeps.synthetic import synthetic_tasks  # noqa: E402

SWEEP_SEED = 23


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as running:
        yield running


def make_store(folder) -> SweepStore:
    return sweep_support.make_store(folder, name="dask", seed=SWEEP_SEED)


def run_into(folder, tasks, **options):
    return sweep_support.run_into(folder, tasks, name="dask", seed=SWEEP_SEED, **options)


def test_the_cluster_gives_the_local_table(cluster, tmp_path):
    tasks = synthetic_tasks(40, seconds=0.002, sweep_seed=SWEEP_SEED, fail={5: "config", 9: "bug"})
    _, _, local = run_into(tmp_path / "local", tasks, workers=1)
    summary, runs, remote = run_into(tmp_path / "dask", tasks, scheduler=cluster.scheduler_address)
    assert (summary.where, summary.workers) == (cluster.scheduler_address, 2)
    assert (summary.done, summary.failed) == (38, 2)
    assert sorted((f.index, f.kind) for f in summary.failures) == [(5, "config"), (9, "bug")]
    assert set(runs.values()) == {1}
    pd.testing.assert_frame_equal(comparable(local), comparable(remote), check_exact=True)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        cluster_pids = {str(pid) for pid in client.run(os.getpid).values()}
    assert len(cluster_pids) == 2 and {name.split(":")[-1] for name in remote["worker"]} <= cluster_pids

    # resumed on the cluster: nothing computed twice
    again, runs, _ = run_into(tmp_path / "dask", tasks, scheduler=cluster.scheduler_address)
    assert (again.skipped, again.done, again.failed) == (38, 0, 2) and set(runs.values()) == {1}


def test_an_unreachable_scheduler_is_refused_at_once_and_the_store_kept(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    tasks = synthetic_tasks(6, seconds=0.0, sweep_seed=SWEEP_SEED)
    run_into(tmp_path / "s", tasks[:3], workers=1)
    before = open_store(tmp_path / "s").table()
    with pytest.raises(ConfigError) as refused:
        run_into(tmp_path / "s", tasks, scheduler=address)
    assert str(refused.value) == (
        f"scheduler: '{address}': no Dask scheduler there (a TCP connection to 127.0.0.1:{port} was tried: "
        "connection refused); start one with `dask scheduler` and its workers with `dask worker ADDRESS`, "
        "or leave out the scheduler to run on local processes")
    pd.testing.assert_frame_equal(open_store(tmp_path / "s").table(), before, check_exact=True)


def test_a_listener_that_is_not_a_scheduler_is_refused_after_the_timeout():
    """distributed.Client alone would wait for ever here (e.g. on the dashboard's port)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ConfigError) as refused:
            connect(address, timeout_s=1.0)
    assert str(refused.value).startswith(
        f"scheduler: '{address}': no Dask scheduler answered within 1 s (something listens there but did not "
        "answer as a Dask scheduler; its default port is 8786, the dashboard's 8787)")


@pytest.mark.slow  # ~1 s, but about one run in ten distributed's gather stalls ~30 s on the dead worker's data
def test_a_task_that_kills_its_worker_is_reported_and_the_others_recorded(tmp_path):
    """Dask charges a worker's death to every task on it (allowed-failures 0 here: no retries), so tasks queued
    beside the killer may fail too; each failure is named, every recorded result is right, a rerun completes."""
    import dask

    clean = synthetic_tasks(12, seconds=0.0, sweep_seed=SWEEP_SEED)
    killer = synthetic_tasks(12, seconds=0.0, sweep_seed=SWEEP_SEED, fail={4: "exit"})
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        summary, runs, _ = run_into(tmp_path / "s", killer, scheduler=cluster.scheduler_address)
        assert summary.done + summary.failed == 12 and 4 in {failure.index for failure in summary.failures}
        assert all(failure.kind == "lost" and failure.message.startswith("KilledWorker: ")
                   for failure in summary.failures)
        assert "its worker died (killed or out of memory?): KilledWorker:" in summary.failures[0].line()
        again, runs, table = run_into(tmp_path / "s", clean, scheduler=cluster.scheduler_address)
    assert (again.skipped, again.done, again.failed) == (summary.done, summary.failed, 0)
    assert len(runs) == 12 and set(runs.values()) == {1}
    _, _, local = run_into(tmp_path / "local", clean, workers=1)
    pd.testing.assert_frame_equal(comparable(local), comparable(table), check_exact=True)
