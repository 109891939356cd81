"""Sweep execution: throughput on 1 and 2 local workers, per-task overhead on Dask against local processes.

Prints, in one run (every figure beside its baseline measured in the same run):

* tasks of 1 s of CPU each (synthetic, burning their own thread's CPU time, so contention shows): tasks/s
  in-process (``workers=1``) and on 2 worker processes, and the ratio (the issue asks >= 1.8x on 2 cores);
* tasks of 0.01 s: the same;
* tiny tasks (no work): ms per task on local processes and on a Dask LocalCluster (2 workers on
  loopback), each including its results' recording in a real store;
* the start-up of a pool of 2 processes for each start method (fork for reference only: the sweep uses
  forkserver where it exists, spawn elsewhere, because numba and threads do not survive fork).

Also prints the load average: on a busy machine the ratios fall. Timings only: nothing is asserted.
Run: ``PYTHONPATH=src python benchmarks/bench_sweep_scaling.py [--quick]`` or
``python benchmarks/run_all.py sweep_scaling``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from metroqnet.sweeps import execute  # noqa: E402
from metroqnet.sweeps.execute import run_tasks  # noqa: E402
from metroqnet.sweeps.store import SweepStore  # noqa: E402
from metroqnet.sweeps.synthetic import synthetic_compute, synthetic_tasks  # noqa: E402


def timed_run(folder: Path, tasks, **options) -> float:
    """Wall seconds of one run_tasks call into a fresh store (start-up, computing and recording)."""
    store = SweepStore.create_or_open(folder, sweep_id=folder.name, sweep_record={"name": folder.name},
                                      sweep_text="# benchmark\n")
    try:
        start = time.perf_counter()
        summary = run_tasks(tasks, synthetic_compute, store, **options)
        wall_s = time.perf_counter() - start
    finally:
        store.close()
    assert summary.done == len(tasks) and summary.failed == 0, summary
    return wall_s


def scaling(root: Path, label: str, count: int, seconds: float) -> None:
    tasks = synthetic_tasks(count, seconds=seconds, sweep_seed=1)
    one = timed_run(root / f"{label}-1", tasks, workers=1)
    two = timed_run(root / f"{label}-2", tasks, workers=2)
    print(f"{count} tasks of {seconds:g} s CPU: in-process {count / one:7.2f} tasks/s ({one:.2f} s), "
          f"2 processes {count / two:7.2f} tasks/s ({two:.2f} s): ratio {one / two:.2f}x", flush=True)


def start_up(root: Path) -> None:
    tasks = synthetic_tasks(2, seconds=0.0, sweep_seed=2)
    chosen = execute.START_METHOD
    try:
        for method in ("fork", "forkserver", "spawn"):
            execute.START_METHOD = method
            walls = [timed_run(root / f"start-{method}-{repeat}", tasks, workers=2) for repeat in range(4)]
            print(f"pool of 2 processes, 2 empty tasks, start method {method:10s}: first {walls[0] * 1e3:5.0f} ms, "
                  f"then best {min(walls[1:]) * 1e3:5.0f} ms{'  <- used' if method == chosen else ''}", flush=True)
    finally:
        execute.START_METHOD = chosen


def overhead(root: Path, count: int) -> None:
    import distributed

    tasks = synthetic_tasks(count, seconds=0.0, sweep_seed=3)
    timed_run(root / "warm-local", tasks[:4], workers=2)
    local = timed_run(root / "tiny-local", tasks, workers=2)
    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        cluster_s = time.perf_counter() - start
        timed_run(root / "warm-dask", tasks[:4], scheduler=cluster.scheduler_address)
        dask = timed_run(root / "tiny-dask", tasks, scheduler=cluster.scheduler_address)
    print(f"{count} empty tasks: local 2 processes {local / count * 1e3:.2f} ms/task ({local:.2f} s), "
          f"Dask LocalCluster 2 workers {dask / count * 1e3:.2f} ms/task ({dask:.2f} s, cluster start "
          f"{cluster_s:.1f} s not included): Dask/local {dask / local:.1f}x", flush=True)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    print(f"cpus {execute.default_workers()}, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as name:
        root = Path(name)
        start_up(root)
        scaling(root, "long", 4 if quick else 8, 1.0)
        scaling(root, "short", 200 if quick else 400, 0.01)
        overhead(root, 500 if quick else 2000)
    print(f"load average {os.getloadavg()[0]:.2f} at end", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
