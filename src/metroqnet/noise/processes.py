"""The common interface of the phase and frequency noise processes, and how a long run is chunked.

A process is a frozen, validated parameter object with

- ``normals_per_sample``: how many standard normal variates it uses per time point;
- ``initial_state(time_ns, rng=...)``: its state at the first time of a run (stationary
  parts drawn from ``rng``, phases starting at 0 rad);
- ``advance(steps_ns, normals, state)``: the values at the times reached by the
  integer steps ``steps_ns`` (the first step counted from ``state.time_ns``), given
  the normals of shape ``(n, normals_per_sample)``; returns ``(values, new_state)``;
- ``simulate(times_ns, rng=..., state=None)`` (from :class:`ProcessBase`): draws the
  normals from ``rng`` and advances — the call a user makes.

Times are integers in ns (int64; 76 h is 2.7·10¹⁴ ns), sorted, never earlier than
the state's time; equal times are allowed (a zero step changes nothing).
Values are float64 (rad for phases), in a fresh array that the caller owns (a sum
accumulates into its first term's array).

**Chunking.** ``simulate`` draws the normals as ``rng.standard_normal((n, k))`` would — each
time point's k variates consecutively, so the stream consumed by a run does not
depend on how its times are split into calls — and every value follows from the
previous one by the same floating-point operations (sequential recurrences,
:mod:`metroqnet.noise.recurrence`). Calling ``simulate`` on consecutive pieces of a run
with the same generator, passing each call's state to the next, gives **bit for bit**
the values of one call over the whole run, for any split. Memory is bounded by the
piece: a 76-hour run is simulated piece by piece with :func:`simulate_chunks`. The same
holds for a generator replayed from its saved ``bit_generator.state``, so a run can be
resumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from metroqnet.config.errors import ConfigError

#: Samples simulated at a time within one call: the normals' buffer stays small however long the call.
SLICE_SAMPLES = 1 << 16

__all__ = [
    "NoiseProcess",
    "ProcessBase",
    "ProcessState",
    "as_times_ns",
    "require_generator",
    "simulate_chunks",
    "state_values",
]

@dataclass(frozen=True, kw_only=True)
class ProcessState:
    """Where a process stands after its last sample: the time (ns) and its internal values.

    ``values`` are the process's own coordinates (documented by each process, e.g.
    ``(phase_rad,)`` or ``(rate_rad_per_s, phase_rad)``); ``parts`` are the states
    of the parts of a sum, in order.
    """

    time_ns: int
    values: tuple[float, ...] = ()
    parts: tuple[ProcessState, ...] = ()


class NoiseProcess(Protocol):
    normals_per_sample: int

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState: ...

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]: ...

    def simulate(
        self, times_ns: Any, *, rng: np.random.Generator, state: ProcessState | None = None
    ) -> tuple[np.ndarray, ProcessState | None]: ...


def state_values(state: ProcessState, count: int, owner: object) -> tuple[float, ...]:
    """``state.values``, refused unless it holds ``count`` numbers (a state of another process)."""
    if len(state.values) != count:
        raise ConfigError(
            f"state: {type(owner).__name__} expects {count} state value(s), got {len(state.values)} "
            f"(a state from another process?)"
        )
    return state.values


def require_generator(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def as_times_ns(times_ns: Any) -> np.ndarray:
    """``times_ns`` as a 1-D int64 array, refused unless integer-valued."""
    array = np.asarray(times_ns)
    if array.ndim != 1:
        raise ConfigError(f"times_ns: expected a 1-D array of integer times, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(f"times_ns: expected integer nanoseconds, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def steps_from(times: np.ndarray, previous_ns: int) -> np.ndarray:
    """Integer steps between consecutive times, the first from ``previous_ns``; refused if any is negative."""
    steps = np.empty(times.size, dtype=np.int64)
    steps[0] = times[0] - previous_ns
    np.subtract(times[1:], times[:-1], out=steps[1:])
    if steps.min() < 0:
        where = int(np.argmax(steps < 0))
        before = previous_ns if where == 0 else int(times[where - 1])
        raise ConfigError(
            f"times_ns: must be sorted and not before the state's time; element {where} is {int(times[where])} "
            f"after {before}"
        )
    return steps


class ProcessBase:
    """The shared ``simulate`` of every process (a mixin for the frozen parameter dataclasses)."""

    normals_per_sample: ClassVar[int] = 0

    def simulate(
        self, times_ns: Any, *, rng: np.random.Generator, state: ProcessState | None = None
    ) -> tuple[np.ndarray, ProcessState | None]:
        """Values at ``times_ns`` continuing from ``state`` (a fresh run when ``None``) and the new state."""
        times, state = start_run(self, times_ns, rng, state)
        out = np.empty(times.size)
        for first, last, steps, normals in slices(self, times, rng, state):
            out[first:last], state = self.advance(steps, normals, state)  # type: ignore[attr-defined]
        return out, state


def start_run(
    process: Any, times_ns: Any, rng: object, state: ProcessState | None
) -> tuple[np.ndarray, ProcessState | None]:
    """Checked times and the state to start from (the process's initial state when ``state`` is None)."""
    times = as_times_ns(times_ns)
    require_generator(rng)
    if state is None and times.size:
        state = process.initial_state(int(times[0]), rng=rng)
    if state is not None and not isinstance(state, ProcessState):
        raise ConfigError(f"state: expected a ProcessState or None, got {type(state).__name__}")
    return times, state


def slices(
    process: Any, times: np.ndarray, rng: np.random.Generator, state: ProcessState | None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(first, last, steps, normals) of each slice of ``SLICE_SAMPLES`` times, drawing the normals in order.

    The normals of a slice are overwritten by the next slice's.
    """
    if times.size == 0:
        return
    assert state is not None
    steps = steps_from(times, state.time_ns)
    buffer = np.empty((min(SLICE_SAMPLES, times.size), process.normals_per_sample))
    for first in range(0, times.size, SLICE_SAMPLES):
        last = min(first + SLICE_SAMPLES, times.size)
        normals = buffer[: last - first]
        rng.standard_normal(out=normals)
        yield first, last, steps[first:last], normals


def simulate_chunks(
    process: NoiseProcess,
    chunks: Iterable[Any],
    *,
    rng: np.random.Generator,
    state: ProcessState | None = None,
) -> Iterator[tuple[np.ndarray, ProcessState | None]]:
    """Simulate consecutive pieces of one run (each an array of times), yielding each piece's values and state.

    Bit-identical to one call over the concatenated times, however they are split (module docstring).
    """
    for times in chunks:
        values, state = process.simulate(times, rng=rng, state=state)
        yield values, state
