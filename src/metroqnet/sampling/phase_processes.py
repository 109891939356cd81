"""Per-trial phase error processes that feed the link sampler (δ on Y's read-out, radians).

A process is asked for the phase at given trial indices of one block, with that
block's generator. It must be a pure function of (indices, generator state), so
a block's result does not depend on how blocks are grouped into chunks — or, if it
has a ``begin_run(seed)`` method, a stateful process that the sampler restarts at
each run on a stream of its own and then asks for every block in order (the
phase-stabilization loop, :class:`metroqnet.control.loop_phase_process.LoopPhaseProcess`).
A process is part of the sampler's strong id: a dataclass (every field counts) or an
object with ``identity()`` (:mod:`metroqnet.config.identity`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import NonNegative, Number, parameters


class PhaseProcess(Protocol):
    def phases_at(
        self, trial_indices: np.ndarray, *, block_start: int, block_trials: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Phase error (rad) at each of ``trial_indices`` (absolute, sorted, inside the block)."""
        ...


#: Above this std (rad) a Gaussian phase modulo 2π is uniform to within exp(-σ²/2) < 1e-300.
UNIFORM_ABOVE_RAD = 40.0


@parameters
class GaussianPhase:
    """Independent Gaussian phase error per trial, std ``std_rad``.

    With ``every_trial`` the phase of every trial of the block is drawn (the
    cost of a process that must be followed trial by trial); otherwise only
    the heralded trials' phases are drawn — the same distribution, far faster.
    """

    std_rad: NonNegative
    every_trial: bool = False

    def phases_at(
        self, trial_indices: np.ndarray, *, block_start: int, block_trials: int, rng: np.random.Generator
    ) -> np.ndarray:
        if self.std_rad > UNIFORM_ABOVE_RAD:  # the wrapped Gaussian is uniform to within exp(-σ²/2) < 1e-300
            count = trial_indices.size if not self.every_trial else block_trials
            phases = rng.uniform(0.0, 2.0 * np.pi, count)
            return phases if not self.every_trial else phases[trial_indices - block_start]
        if not self.every_trial:
            return self.std_rad * rng.standard_normal(trial_indices.size)
        every = rng.standard_normal(block_trials, dtype=np.float32)
        return self.std_rad * every[trial_indices - block_start].astype(float)


@parameters
class FixedPhase:
    """The same phase error at every trial, e.g. a deliberate phase θ set at one node."""

    phase_rad: Number

    def phases_at(
        self, trial_indices: np.ndarray, *, block_start: int, block_trials: int, rng: np.random.Generator
    ) -> np.ndarray:
        return np.full(trial_indices.size, float(self.phase_rad))


@dataclass(frozen=True)
class OffsetPhase:
    """Another process's phase error plus a fixed ``offset_rad``: a deterministic local phase θ on top of it.

    A local phase θ at node Y of the link is δ → δ + θ, at node X δ → δ − θ (the state
    commutes with the total excitation number, so turning X's read-out by θ is turning Y's
    by −θ; docs/theta_scan.md). The sampler's exact tables are then averaged, in law, as
    the exact engine's ``phase_offset_rad`` does. A stateful ``process`` (one with
    ``begin_run``) is restarted with the run, as the sampler would restart it alone.
    """

    process: PhaseProcess
    offset_rad: float

    def __post_init__(self) -> None:
        if isinstance(self.offset_rad, bool) or not isinstance(self.offset_rad, int | float | np.floating) \
                or not math.isfinite(self.offset_rad):
            raise ConfigError(f"offset_rad: {self.offset_rad!r} must be a finite number (rad)")
        if not callable(getattr(self.process, "phases_at", None)):
            raise ConfigError(f"process: {self.process!r} is not a phase process (it has no phases_at)")

    def begin_run(self, seed: object) -> None:
        begin_run = getattr(self.process, "begin_run", None)
        if begin_run is not None:
            begin_run(seed)

    def phases_at(
        self, trial_indices: np.ndarray, *, block_start: int, block_trials: int, rng: np.random.Generator
    ) -> np.ndarray:
        phases = self.process.phases_at(trial_indices, block_start=block_start, block_trials=block_trials, rng=rng)
        return np.asarray(phases, dtype=float) + float(self.offset_rad)
