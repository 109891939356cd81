"""Run a sweep's tasks on local processes (default) or a Dask cluster, recording each result as it arrives.

Workers only compute; this coordinating process alone writes the store, so the
store needs no locking across machines. Results are recorded one by one while
they come slower than ~50/s and batched (``record_many``) above that, but no
finished result waits unrecorded longer than :data:`HOLD_S`; a crash loses at
most that much work, and a rerun skips what the store holds. A task's result
depends only on the task (its own seed stream), so the table is the same on one
process, many, or a cluster, in any order. At most :data:`IN_FLIGHT_PER_WORKER`
tasks per local worker (:data:`DASK_IN_FLIGHT_PER_THREAD` per Dask worker thread)
are submitted at a time, so a sweep of 10⁶ tasks holds only a window of futures.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import multiprocessing
import os
import pickle
import queue
import re
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from metroqnet.config.errors import ConfigError

T = TypeVar("T")

#: The longest a finished result waits in the coordinator before it is written (s).
HOLD_S = 0.5
#: Results arriving closer together than this are batched; slower ones are written as they come (s).
BATCH_BELOW_INTERVAL_S = 1 / 50
#: The most rows in one ``record_many``.
MAX_BATCH = 1000
#: Tasks submitted but not yet returned, per worker (a little queue so no worker idles between tasks).
IN_FLIGHT_PER_WORKER = 2
#: The same on a Dask cluster, per worker thread: more, since each task's round trip is longer (ms), and
#: results that come back together are fetched in one round trip.
DASK_IN_FLIGHT_PER_THREAD = 8
#: How long a Dask scheduler has to answer before the address is refused (s).
CONNECT_TIMEOUT_S = 5.0
#: The shortest interval between two progress updates (the last one is always sent) (s).
PROGRESS_INTERVAL_S = 0.1
#: "forkserver" where the platform has it, else "spawn": numba and threads do not survive ``fork``.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://(\[[0-9a-fA-F:]+\]|[^\s:/\[\]]+):(\d{1,5})/?$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProgressUpdate:
    """Where a running sweep stands: ``done + failed + skipped`` of ``total`` tasks are settled."""

    done: int
    total: int
    skipped: int
    failed: int
    rate_per_s: float
    seconds_left: float | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskFailure:
    """A task that did not finish: ``kind`` "config" (a value the user chose was refused), "lost" (the cluster
    worker running it died: killed, out of memory) or "bug" (anything else the task raised)."""

    index: int | None
    task_id: str
    settings: tuple[tuple[str, object], ...]
    kind: str
    message: str

    def line(self) -> str:
        """One line for the user: the task, its settings and the error."""
        settings = ", ".join(f"{key}={value!r}" for key, value in self.settings)
        label = {"config": "error", "lost": "its worker died (killed or out of memory?)"}.get(
            self.kind, "bug (please report it)")
        return f"task {self.index} ({settings or self.task_id[:12]}): {label}: {self.message}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExecutionSummary:
    """What a :func:`run_tasks` call did. ``done`` tasks were computed and recorded by this call."""

    total: int
    skipped: int
    done: int
    failed: int
    wall_s: float
    mean_task_wall_s: float | None
    workers: int
    where: str
    failures: tuple[TaskFailure, ...]

    @property
    def ok(self) -> bool:
        """No task failed (the CLI exits non-zero otherwise)."""
        return self.failed == 0


def describe_task(task: Any) -> dict[str, object]:
    """The store's ``index`` and ``settings`` of a task with those attributes (SweepTask, SyntheticTask)."""
    return {"index": int(task.index), "settings": tuple(task.settings)}


def default_workers() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` where that is missing)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# --- in the worker ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Outcome:
    """A task's result (or its one-line error) as it travels back to the coordinator."""

    result: dict[str, object] | None
    wall_s: float
    worker: str
    kind: str | None = None
    message: str = ""


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " / ".join(lines) if lines else "(no message)"


def _plain(name: str, value: object) -> float | int | str | None:
    """A result value as a JSON scalar; NaN, infinities and other types are refused, not stored."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"result {name!r} is {number!r}; a figure without a value is None, not NaN")
        return number
    raise TypeError(f"result {name!r} is a {type(value).__name__}; results are float, int, str or None")


def _checked_result(result: object) -> dict[str, object]:
    if not isinstance(result, dict):
        raise TypeError(f"a task returned a {type(result).__name__}; a task's result is a flat dict")
    for name in result:
        if not isinstance(name, str):
            raise TypeError(f"result name {name!r} is not a string")
    return {name: _plain(name, value) for name, value in result.items()}


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_one(compute: Callable[[T], dict], task: T) -> _Outcome:
    """``compute(task)``, timed, with its error caught as one line (a worker's whole job)."""
    start = time.perf_counter()
    try:
        result = _checked_result(compute(task))
    except ConfigError as error:
        return _Outcome(None, time.perf_counter() - start, _worker_name(), "config", _one_line(str(error)))
    except Exception as error:  # a bug in the model or the task: reported with the task's settings
        message = f"{type(error).__name__}: {_one_line(str(error))}{_where(error)}"
        return _Outcome(None, time.perf_counter() - start, _worker_name(), "bug", message)
    return _Outcome(result, time.perf_counter() - start, _worker_name())


_INSTALLED: list[Callable[[Any], dict]] = []


#: How often a local worker checks that its coordinator is alive (s).
WATCH_COORDINATOR_S = 1.0


def _install(compute: Callable[[Any], dict], coordinator_pid: int) -> None:
    """Pool initializer: keep ``compute`` in the worker (pickled once per worker, not once per task).

    Ctrl-C goes to the coordinator only; it stops the workers itself. A coordinator killed outright
    (``kill -9``) cannot: each worker watches it and exits when it is gone, so no orphan keeps
    computing tasks nobody will record.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _INSTALLED[:] = [compute]
    threading.Thread(target=_exit_without, args=(coordinator_pid,), daemon=True, name="watch-coordinator").start()


def _exit_without(coordinator_pid: int) -> None:
    while True:
        time.sleep(WATCH_COORDINATOR_S)
        try:
            os.kill(coordinator_pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # exists, owned by another user (pid reused): keep watching
            pass


def _run_installed(task: Any) -> _Outcome:
    return run_one(_INSTALLED[0], task)


# --- in the coordinator -----------------------------------------------------------------------------


class _Recorder:
    """Writes results to the store (batched when fast, never held past HOLD_S) and reports progress."""

    def __init__(self, store: Any, describe: Callable[[Any], dict], progress: Callable[[ProgressUpdate], None] | None,
                 *, total: int, skipped: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.describe, self.progress, self.clock = store, describe, progress, clock
        self.total, self.skipped = total, skipped
        self.done = self.failed = 0
        self.task_wall_s = 0.0
        self.failures: list[TaskFailure] = []
        self.buffer: list[dict[str, object]] = []
        self.oldest: float | None = None
        self.start = clock()
        self.last_arrival = -np.inf
        self.last_progress = -np.inf

    def arrived(self, task: Any, outcome: _Outcome) -> None:
        now = self.clock()
        described = self.describe(task)
        if outcome.kind is None:
            self.buffer.append({"task_id": task.task_id, **described, "result": outcome.result,
                                "wall_s": outcome.wall_s, "worker": outcome.worker})
            self.oldest = now if self.oldest is None else self.oldest
            self.done += 1
            self.task_wall_s += outcome.wall_s
            slow = now - self.last_arrival >= BATCH_BELOW_INTERVAL_S
            if slow or len(self.buffer) >= MAX_BATCH or now - self.oldest >= HOLD_S:
                self.flush()
        else:
            self.failed += 1
            index, settings = described.get("index"), tuple(described.get("settings", ()))  # type: ignore[arg-type]
            self.failures.append(TaskFailure(index=index, task_id=task.task_id, settings=settings,  # type: ignore[arg-type]
                                             kind=outcome.kind, message=outcome.message))
        self.last_arrival = now
        self.report(force=False)

    def wait_s(self) -> float:
        """How long the coordinator may wait for the next result before the buffer must be written."""
        if self.oldest is None:
            return 1.0
        return min(1.0, max(0.0, self.oldest + HOLD_S - self.clock()))

    def flush_due(self) -> None:
        if self.oldest is not None and self.clock() - self.oldest >= HOLD_S:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        rows, self.buffer, self.oldest = self.buffer, [], None
        if len(rows) == 1 or not hasattr(self.store, "record_many"):
            for row in rows:
                self.store.record(**row)
        else:
            self.store.record_many(rows)

    def report(self, *, force: bool) -> None:
        now = self.clock()
        if self.progress is None or (not force and now - self.last_progress < PROGRESS_INTERVAL_S):
            return
        self.last_progress = now
        settled = self.done + self.failed
        elapsed = max(now - self.start, 1e-9)
        rate = settled / elapsed
        left = self.total - self.skipped - settled
        seconds_left = left / rate if settled and rate > 0 else (0.0 if left == 0 else None)
        self.progress(ProgressUpdate(done=self.done, total=self.total, skipped=self.skipped, failed=self.failed,
                                     rate_per_s=rate, seconds_left=seconds_left))


def _one_by_one(outcome_of: Callable[[Any], _Outcome]) -> Callable[[list[Any]], list[_Outcome]]:
    return lambda futures: [outcome_of(future) for future in futures]


def _drive(todo: Iterable[Any], submit: Callable[[list[Any]], list[Any]], window: Callable[[], int],
           outcome_of: Callable[[Any], _Outcome], cancel: Callable[[list[Any]], None], recorder: _Recorder,
           outcomes_of: Callable[[list[Any]], list[_Outcome]] | None = None) -> None:
    """Keep ``window()`` tasks in flight, record each as it returns; on Ctrl-C record what finished and re-raise.

    ``submit`` sends a list of tasks and returns their futures; ``outcomes_of`` fetches the outcomes of
    all futures that have come back together (one round trip to a cluster's workers, not one per task).
    """
    outcomes_of = outcomes_of or _one_by_one(outcome_of)
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    remaining = iter(todo)
    in_flight: dict[Any, Any] = {}

    def refill() -> None:
        tasks = list(itertools.islice(remaining, max(0, window() - len(in_flight))))
        if tasks:
            for task, future in zip(tasks, submit(tasks), strict=True):
                in_flight[future] = task
                future.add_done_callback(arrived.put)

    try:
        refill()
        while in_flight:
            try:
                back = [arrived.get(timeout=recorder.wait_s())]
            except queue.Empty:
                recorder.flush_due()
                recorder.report(force=False)
                continue
            while len(back) < MAX_BATCH:  # and whatever else has come back meanwhile
                try:
                    back.append(arrived.get_nowait())
                except queue.Empty:
                    break
            back = [future for future in back if future in in_flight]
            for future, outcome in zip(back, outcomes_of(back)):
                recorder.arrived(in_flight.pop(future), outcome)
            del back
            refill()
    except (KeyboardInterrupt, WorkerLost):  # keep what finished, stop the rest
        for future, task in list(in_flight.items()):
            if future.done() and not future.cancelled():
                try:
                    outcome = outcome_of(future)
                except BaseException:  # a broken or interrupted task: nothing to record
                    continue
                recorder.arrived(task, outcome)
        recorder.flush()
        cancel(list(in_flight))
        raise
    except BaseException:  # e.g. the store refused a write (a full disk): stop the workers, then say why
        cancel(list(in_flight))
        raise
    recorder.flush()


class WorkerLost(RuntimeError):
    """A local worker process died mid-task (killed, out of memory): the finished results are recorded."""


def _pool_outcome(future: concurrent.futures.Future) -> _Outcome:
    try:
        return future.result()
    except concurrent.futures.process.BrokenProcessPool as error:
        raise WorkerLost("a local worker process died (killed, or out of memory) while running a task; "
                         "the results that finished are recorded, rerun the sweep to resume") from error
    except Exception as error:  # the task could not travel to the worker (pickling), or its outcome back
        return _Outcome(None, 0.0, "", "bug", f"{type(error).__name__}: {_one_line(str(error))}")


def _check_picklable(compute: Callable[[Any], dict]) -> None:
    """Refuse a ``compute`` that cannot reach a worker process (a lambda, a local function) before anything starts."""
    try:
        pickle.dumps(compute)
    except Exception as error:
        raise TypeError(f"compute {compute!r} cannot be sent to worker processes ({type(error).__name__}: "
                        f"{_one_line(str(error))}); give a top-level function or a functools.partial of one") from None


def _preload(compute: Callable[[Any], dict]) -> list[str]:
    """Modules the fork server imports once, so each worker forks with them loaded (not importing them anew)."""
    function = getattr(compute, "func", compute)  # functools.partial(run_task, spec) -> run_task
    module = getattr(function, "__module__", None)
    return [__name__] + ([module] if module and module != "__main__" else [])


def _run_local(todo: list[Any], compute: Callable[[Any], dict], workers: int, recorder: _Recorder) -> None:
    _check_picklable(compute)
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":  # takes effect when this process starts its fork server (once)
        context.set_forkserver_preload(_preload(compute))
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_install, initargs=(compute, os.getpid()))

    def cancel(_in_flight: list[Any] | None = None) -> None:
        processes = list((getattr(executor, "_processes", None) or {}).values())  # no public way before 3.14
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()

    _drive(todo, lambda tasks: [executor.submit(_run_installed, task) for task in tasks],
           lambda: IN_FLIGHT_PER_WORKER * workers, _pool_outcome, cancel, recorder)
    executor.shutdown(wait=True)


def _run_in_process(todo: list[Any], compute: Callable[[Any], dict], recorder: _Recorder) -> None:
    """Each result recorded before the next task starts: nothing can flush while this process computes."""
    try:
        for task in todo:
            recorder.arrived(task, run_one(compute, task))
            recorder.flush()
    finally:
        recorder.flush()


def check_scheduler_address(address: object) -> str:
    """``address`` if it reads ``scheme://host:port`` (tcp, tls, ucx, ws, wss), else a :class:`ConfigError`."""
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        raise ConfigError.at("scheduler", f"{address!r} is not a Dask scheduler address; "
                                          "expected scheme://host:port, e.g. tcp://10.0.0.5:8786")
    return address  # type: ignore[return-value]


_START_ONE = ("start one with `dask scheduler` and its workers with `dask worker ADDRESS`, "
              "or leave out the scheduler to run on local processes")


def probe_scheduler(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse at once an address where nothing listens (distributed.Client would retry until its timeout)."""
    match = _ADDRESS.match(check_scheduler_address(address))
    scheme, host, port = match.group(1), match.group(2).strip("[]"), int(match.group(3))  # type: ignore[union-attr]
    if scheme == "ucx":  # not plain TCP: left to distributed
        return
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as error:
        why = {ConnectionRefusedError: "connection refused", socket.gaierror: "unknown host",
               TimeoutError: f"no answer within {timeout_s:g} s"}.get(type(error), _one_line(str(error)))
        raise ConfigError.at("scheduler", f"{address!r}: no Dask scheduler there (a TCP connection to "
                                          f"{host}:{port} was tried: {why}); {_START_ONE}") from None


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` on ``address``, or a one-line :class:`ConfigError` within ~``timeout_s`` (at once
    where nothing listens)."""
    address = check_scheduler_address(address)
    try:
        import distributed
    except ImportError:
        raise ConfigError.at("scheduler", f"{address!r}: a Dask cluster needs the 'distributed' package "
                                          "(pip install 'metroqnet[cluster]')") from None
    probe_scheduler(address, timeout_s)
    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = distributed.Client(address, timeout=timeout_s, set_as_default=False)
        except BaseException as error:  # handed to the caller's thread
            made["error"] = error

    # distributed.Client waits for ever on a listener that is not a Dask scheduler (e.g. the dashboard's
    # port): it connects in a thread this call stops waiting for (the thread is a daemon; it ends with us).
    thread = threading.Thread(target=make, name="metroqnet-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 1.0)
    error = made.get("error")
    if thread.is_alive() or isinstance(error, OSError | TimeoutError):
        why = (f"distributed.Client tried to connect: {_one_line(str(error))}" if error is not None else
               "something listens there but did not answer as a Dask scheduler; its default port is 8786, "
               "the dashboard's 8787")
        raise ConfigError.at("scheduler", f"{address!r}: no Dask scheduler answered within {timeout_s:g} s "
                                          f"({why}); {_START_ONE}") from None
    if error is not None:
        raise error
    return made["client"]


def _run_dask(client: Any, todo: list[Any], compute: Callable[[Any], dict], recorder: _Recorder) -> None:
    token = uuid.uuid4().hex[:8]
    shared = client.scatter(compute, broadcast=True, hash=False)  # sent once per worker, not with every task
    checked = {"at": -np.inf, "window": DASK_IN_FLIGHT_PER_THREAD}

    def window() -> int:  # workers may join or leave: look again at most every 2 s
        if time.monotonic() - checked["at"] > 2.0:
            threads = sum(client.nthreads().values())
            checked.update(at=time.monotonic(), window=DASK_IN_FLIGHT_PER_THREAD * max(1, threads))
        return int(checked["window"])

    def outcome_of(future: Any) -> _Outcome:
        try:
            outcome = future.result()
        except Exception as error:  # the worker died with the task (KilledWorker) or the task was lost
            kind = "lost" if type(error).__name__ == "KilledWorker" else "bug"
            outcome = _Outcome(None, 0.0, "", kind, f"{type(error).__name__}: {_one_line(str(error))}")
        future.release()
        return outcome

    def outcomes_of(futures: list[Any]) -> list[_Outcome]:
        try:
            outcomes = client.gather(futures)  # one round trip for all that came back
        except Exception:  # one of them failed: each on its own, to name the failed ones
            return [outcome_of(future) for future in futures]
        return outcomes  # the futures are released when the caller drops them

    def submit(tasks: list[Any]) -> list[Any]:
        return client.map(run_one, [shared] * len(tasks), tasks, pure=False,
                          key=[f"metroqnet-task-{task.task_id}-{token}" for task in tasks])

    def cancel(in_flight: list[Any]) -> None:
        client.cancel(in_flight)

    _drive(todo, submit, window, outcome_of, cancel, recorder, outcomes_of)


def run_tasks(tasks: Sequence[T], compute: Callable[[T], dict], store: Any, *, workers: int | None = None,
              scheduler: str | None = None, progress: Callable[[ProgressUpdate], None] | None = None,
              describe: Callable[[T], dict] = describe_task) -> ExecutionSummary:
    """Compute every task whose ``task_id`` the store does not hold, and record each result as it arrives.

    ``compute`` must be a picklable top-level callable (``functools.partial(run_task, spec)``).
    Local processes by default (``workers``, default: the CPUs this process may use; ``workers=1``
    runs in this process, no pool); with ``scheduler="tcp://host:port"`` the tasks run on that Dask
    cluster. A task that raises is not recorded; the others go on, and the summary lists the
    failures. A task id given twice is computed once (the second counts as skipped).
    """
    if scheduler is not None and workers is not None:
        raise ConfigError.at("workers", f"{workers!r} applies to local processes; with a scheduler "
                                        f"({scheduler!r}) the cluster's workers run the tasks")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1):
        raise ConfigError.at("workers", f"{workers!r} is not allowed; expected an integer >= 1 (processes)")
    client = connect(scheduler) if scheduler is not None else None  # before the store is touched
    start = time.perf_counter()
    try:
        finished = set(store.finished_ids())
        todo: list[T] = []
        for task in tasks:
            if task.task_id not in finished:  # type: ignore[attr-defined]
                finished.add(task.task_id)  # type: ignore[attr-defined]
                todo.append(task)
        recorder = _Recorder(store, describe, progress, total=len(tasks), skipped=len(tasks) - len(todo))
        recorder.report(force=True)  # the total and what the store already holds, before the first result
        if client is not None:
            count, where = sum(client.nthreads().values()), scheduler
            if todo:
                _run_dask(client, todo, compute, recorder)
        else:
            count = int(workers) if workers is not None else default_workers()
            count = max(1, min(count, len(todo)))
            where = "in-process" if count == 1 else f"local processes ({START_METHOD})"
            if count == 1:
                _run_in_process(todo, compute, recorder)
            elif todo:
                _run_local(todo, compute, count, recorder)
        recorder.report(force=True)
    finally:
        if client is not None:
            client.close()
    return ExecutionSummary(
        total=len(tasks), skipped=recorder.skipped, done=recorder.done, failed=recorder.failed,
        wall_s=time.perf_counter() - start,
        mean_task_wall_s=recorder.task_wall_s / recorder.done if recorder.done else None,
        workers=count, where=str(where), failures=tuple(recorder.failures))
