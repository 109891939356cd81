"""The stabilization loop as the link sampler's per-trial phase process.

Each trial's phase error δ on the stored state is the loop's residual at the write
plus what the residual frequency offset does during storage, 2π·(Δf − f_comp)·t_storage.
The loop runs every trial of every block, in order (the sampler asks for blocks in
order, once per run; ``begin_run`` restarts the loop on the stream the sampler gives
its phase process, apart from the per-block streams).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metroqnet.config.seeds import Seed
from metroqnet.config.units import S_PER_US
from metroqnet.config.validation import NonNegative, check
from metroqnet.control.phase_loop import FrequencyCalibration, PhaseLoop, PhaseLoopSettings
from metroqnet.physics.frequency_drift import FrequencyDrift


@dataclass(kw_only=True)
class LoopPhaseProcess:
    """Phase process for :class:`metroqnet.sampling.link_sampler.LinkSampler` driven by a :class:`PhaseLoop`."""

    settings: PhaseLoopSettings
    noise: object
    storage_us: float
    calibration: FrequencyCalibration
    drift: FrequencyDrift | None = None
    stabilize: bool = True
    _loop: PhaseLoop | None = field(default=None, init=False, repr=False)
    _next_block_start: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        check("storage_us", self.storage_us, NonNegative)

    def begin_run(self, seed: Seed) -> None:
        """Restart the loop on ``seed`` (the sampler gives its phase process a stream of its own)."""
        self._loop = PhaseLoop(
            self.settings,
            noise=self.noise,
            drift=self.drift,
            calibration=self.calibration,
            stabilize=self.stabilize,
            seed=seed,
        )
        self._next_block_start = 0

    @property
    def loop(self) -> PhaseLoop | None:
        """The loop of the current run (its calibration log, for instance)."""
        return self._loop

    def phases_at(
        self, trial_indices: np.ndarray, *, block_start: int, block_trials: int, rng: np.random.Generator
    ) -> np.ndarray:
        if self._loop is None or block_start != self._next_block_start:
            raise RuntimeError("LoopPhaseProcess: blocks must be asked for in order after begin_run(seed)")
        trials = self._loop.advance(block_trials)
        self._next_block_start += block_trials
        local = np.asarray(trial_indices) - block_start
        storage_s = self.storage_us * S_PER_US
        return trials.residual_rad[local] + 2.0 * math.pi * trials.residual_frequency_hz[local] * storage_s
