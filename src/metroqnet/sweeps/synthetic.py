"""Synthetic sweep tasks: a fixed amount of CPU work and seeded numbers, for tests and benchmarks of execution.

A task burns ``seconds`` of its own thread's CPU time (not wall time, not
``sleep``): on a busy machine it takes longer, so scaling measured with these
tasks is real scaling. Its numbers come from the task's own seed stream, the
same rule as a sweep's tasks, so any order and any number of processes give
the same results.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.identity import strong_id
from metroqnet.sweeps.tasks import task_seed

#: What a synthetic task may be told to do instead of returning: raise a ConfigError, raise a bug, raise
#: KeyboardInterrupt, or end its process at once (a worker killed, e.g. out of memory).
FAILURES = frozenset({"config", "bug", "interrupt", "exit"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyntheticTask:
    """One synthetic task; ``fail`` makes it fail instead (tests of failure handling; "exit" ends the process
    that runs it, so use it only on worker processes)."""

    index: int
    task_id: str
    seconds: float
    settings: tuple[tuple[str, object], ...] = ()
    sweep_seed: int = 0
    fail: str | None = None

    def __post_init__(self) -> None:
        if not (self.seconds >= 0 and np.isfinite(self.seconds)):
            raise ConfigError.at("seconds", f"{self.seconds!r} is outside the allowed range [0, inf)")
        if self.fail is not None and self.fail not in FAILURES:
            raise ConfigError.at("fail", f"{self.fail!r} is not allowed; allowed: None, {', '.join(sorted(FAILURES))}")


def synthetic_tasks(count: int, *, seconds: float, sweep_seed: int = 0,
                    fail: dict[int, str] | None = None) -> list[SyntheticTask]:
    """``count`` tasks with settings ``x = index``, ``y = index % 3``; ``fail`` maps an index to its failure."""
    fail = fail or {}
    tasks = []
    for index in range(count):
        settings = (("x", index), ("y", index % 3))
        task_id = strong_id({"kind": "synthetic", "settings": settings, "seconds": seconds, "sweep_seed": sweep_seed})
        tasks.append(SyntheticTask(index=index, task_id=task_id, seconds=seconds, settings=settings,
                                   sweep_seed=sweep_seed, fail=fail.get(index)))
    return tasks


def burn_cpu(seconds: float) -> int:
    """Spend ``seconds`` of this thread's CPU time on a small numpy loop; the number of rounds."""
    values = np.linspace(0.0, 1.0, 256)
    start = time.thread_time()
    rounds = 0
    while time.thread_time() - start < seconds:
        values = np.sin(values) + 0.5
        rounds += 1
    return rounds


def synthetic_compute(task: SyntheticTask) -> dict[str, float | int | str | None]:
    """The task's result: figures drawn from its own stream (after ``seconds`` of CPU), or its failure."""
    burn_cpu(task.seconds)
    if task.fail == "config":
        raise ConfigError.at("x", f"{dict(task.settings).get('x')!r} is outside the allowed range (synthetic refusal)")
    if task.fail == "bug":
        raise ZeroDivisionError("synthetic bug")
    if task.fail == "interrupt":
        raise KeyboardInterrupt
    if task.fail == "exit":
        os._exit(3)
    rng = np.random.default_rng(task_seed(task.sweep_seed, task.task_id))
    draws = rng.normal(size=(2, 64))
    means = draws.mean(axis=1)
    stderrs = draws.std(axis=1, ddof=1) / np.sqrt(draws.shape[1])
    return {
        "a-b.value": float(means[0]), "a-b.value_stderr": float(stderrs[0]),
        "a-c.value": float(means[1]), "a-c.value_stderr": float(stderrs[1]),
        "min.value": float(means.min()), "max.value": float(means.max()),
        "draws": int(draws.size), "label": f"x{dict(task.settings).get('x')}",
        "nothing": None,
    }
