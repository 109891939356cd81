"""A sweep's tasks: each one point of the grid, with an id and a random stream that depend on nothing else.

A task's id is the strong id of everything that determines its result: the settings in order
and the strong id of what all tasks share (the base network's document, the star, the compute
record, the sweep seed; hashed once per sweep, so ids of 10⁶ tasks take seconds), and its random
stream is keyed by that id (:func:`task_seed`), not by its position or by the worker that runs it:
the same task gives the same result in any order, on any number of processes or machines, and a
task's id does not change when the file grows an axis (the task itself has not changed).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.identity import strong_id
from metroqnet.config.presets import Override, apply_overrides, network_from_mapping
from metroqnet.sweeps.sweep_file import StarSpec, SweepSpec, star_document

__all__ = ["SweepTask", "iter_tasks", "make_task", "network_at", "run_task", "sweep_tasks", "task_columns",
           "shared_id", "task_definition", "task_network", "task_seed"]


_TASK_ID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, kw_only=True)
class SweepTask:
    """One point of a sweep: its ``index`` in the expanded grid, its ``settings`` ((key path, value) pairs,
    applied in order as ``--set`` would) and its ``task_id``."""

    index: int
    settings: tuple[tuple[str, object], ...]
    task_id: str

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise ConfigError.at("index", f"{self.index!r} is not allowed; allowed: an integer >= 0")
        if not isinstance(self.task_id, str) or not _TASK_ID.fullmatch(self.task_id):
            raise ConfigError.at("task_id", f"{self.task_id!r} is not allowed; allowed: a strong id (64 hex digits)")

    @property
    def settings_dict(self) -> dict[str, object]:
        """The settings as a mapping, key path -> value."""
        return dict(self.settings)


def task_seed(sweep_seed: int, task_id: str) -> np.random.SeedSequence:
    """The task's random stream: the sweep seed as entropy, the id's first 64 bits as spawn key."""
    return np.random.SeedSequence(entropy=sweep_seed, spawn_key=(int(task_id[:16], 16),))


# Per-process memos, keyed by ids (a Dask worker runs tasks on several threads: hence the lock).
_LOCK = threading.Lock()
_KEPT = 8
_SHARED: dict[str, str] = {}


def _remember(memo: dict, key: object, value: object) -> None:
    with _LOCK:
        while len(memo) >= _KEPT:
            memo.pop(next(iter(memo)))
        memo[key] = value


def shared_id(spec: SweepSpec) -> str:
    """The strong id of what every task of ``spec`` shares: the base's id, the star, the compute record, the seed."""
    kept = _SHARED.get(spec.sweep_id)
    if kept is None:
        kept = strong_id({"network": spec.base_id, "star": spec.star, "compute": spec.compute, "seed": spec.seed})
        _remember(_SHARED, spec.sweep_id, kept)
    return kept


def task_definition(spec: SweepSpec, settings: Iterable[tuple[str, object]]) -> dict[str, object]:
    """What a task's id is the strong id of: :func:`shared_id` and the settings in order."""
    return {"shared": shared_id(spec), "settings": tuple(settings)}


def make_task(spec: SweepSpec, *, index: int, settings: Iterable[tuple[str, object]]) -> SweepTask:
    """The task at ``settings`` (e.g. a point an optimiser chose), with its id."""
    settings = tuple((str(key), value) for key, value in settings)
    return SweepTask(index=index, settings=settings, task_id=strong_id(task_definition(spec, settings)))


def _steps(spec: SweepSpec) -> Iterator[tuple[tuple[Any, ...], ...]]:
    """Each task's step of every axis: the outer product (first axis slowest), or the axes zipped."""
    steps = [axis.steps for axis in spec.axes]
    return zip(*steps) if spec.combine == "zip" else itertools.product(*steps)


def iter_tasks(spec: SweepSpec) -> Iterator[SweepTask]:
    """The tasks of ``spec``'s grid in order, one at a time (a grid of 10⁶ need not be held)."""
    if not spec.axes:
        return
    for index, combination in enumerate(_steps(spec)):
        settings = tuple(pair for axis, step in zip(spec.axes, combination) for pair in zip(axis.keys, step))
        yield make_task(spec, index=index, settings=settings)


def sweep_tasks(spec: SweepSpec) -> tuple[SweepTask, ...]:
    """Every task of the grid, in order (empty when the sweep has no axes, only an optimisation)."""
    return tuple(iter_tasks(spec))


def task_columns(spec: SweepSpec, task: SweepTask) -> dict[str, object]:
    """The task's row of setting columns: each key path's value, and each labelled axis's step (from 0)."""
    columns: dict[str, object] = dict(task.settings)
    sizes = [len(axis) for axis in spec.axes]
    if spec.combine == "zip":
        positions = [task.index] * len(sizes)
    else:
        positions = []
        for size_after in (math.prod(sizes[i + 1:]) for i in range(len(sizes))):
            positions.append(task.index // size_after % sizes[len(positions)])
    for axis, position in zip(spec.axes, positions):
        if axis.label is not None:
            columns[axis.label] = position
    return columns


# --- the task's network ------------------------------------------------------------------------------------

_DOCUMENTS: dict[tuple[str, StarSpec | None], dict[str, Any]] = {}


def _document(spec: SweepSpec) -> dict[str, Any]:
    """The parsed base (or star) document, once per process and sweep."""
    key = (spec.base_id, spec.star)
    document = _DOCUMENTS.get(key)
    if document is None:
        document = tomllib.loads(spec.base_text)
        if strong_id(document) != spec.base_id:
            raise ConfigError.at("sweep.base", f"{spec.base!r}: the network text does not match the sweep's base id")
        if spec.star is not None:
            document = star_document(document, spec.star)
        _remember(_DOCUMENTS, key, document)  # never changed in place: apply_overrides copies it
    return document


def network_at(spec: SweepSpec, settings: Mapping[str, object] | Iterable[tuple[str, object]]) -> NetworkHardware:
    """The base network (or its star) with ``settings`` applied in order, exactly as ``--set`` applies them."""
    pairs = tuple(settings.items()) if isinstance(settings, Mapping) else tuple(settings)
    overrides = [Override(key=key, value=value) for key, value in pairs]
    try:
        return network_from_mapping(apply_overrides(_document(spec), overrides))
    except ConfigError as error:
        shown = ", ".join(f"{key}={value!r}" for key, value in pairs) or "no settings"
        raise ConfigError(f"sweep {spec.name!r} at {shown}: {error}", field=error.field, detail=error.detail) from None


def task_network(spec: SweepSpec, task: SweepTask) -> NetworkHardware:
    """The network of one task (:func:`network_at` its settings)."""
    return network_at(spec, task.settings)


def run_task(spec: SweepSpec, task: SweepTask) -> dict:
    """The task's result (a flat dict): :func:`metroqnet.sweeps.compute.compute_task` on its network and stream.

    Top-level, and ``spec`` and ``task`` pickle, so it runs in worker processes and on Dask workers.
    """
    from metroqnet.sweeps.compute import compute_task  # lazily: the engines load in the worker that computes

    return compute_task(spec.compute, task_network(spec, task), task_seed(spec.seed, task.task_id))
