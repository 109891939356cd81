"""The stabilization loop as the link sampler's per-trial phase process.

Each trial's phase error δ on the stored state is the loop's residual at the write
plus the relative phase the two stored spin waves pick up during storage,
2π·(δ_x − δ_y)·t_storage, δ_k node k's spin-wave detuning from its RF (OPLL offset)
reference: quasi-static, one Gaussian draw per trial and node of rms
``spin_wave_detuning_rms_hz_x`` / ``_y`` (drawn from the block's stream, only when
either is non-zero). The optical frequency offset between the nodes (Δf − f_comp)
adds nothing during storage: the read laser is phase-locked to the write laser and the
EP pulse comes from the write laser, so it cancels in each node's verification
(``docs/storage_phase.md``); it acts only between the probes and the write, inside
the loop. The loop runs every trial of every block, in order (the sampler asks for
blocks in order, once per run; ``begin_run`` restarts the loop on the stream the
sampler gives its phase process, apart from the per-block streams).
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
    spin_wave_detuning_rms_hz_x: float = 0.0
    spin_wave_detuning_rms_hz_y: float = 0.0
    _loop: PhaseLoop | None = field(default=None, init=False, repr=False)
    _next_block_start: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        check("storage_us", self.storage_us, NonNegative)
        check("spin_wave_detuning_rms_hz_x", self.spin_wave_detuning_rms_hz_x, NonNegative)
        check("spin_wave_detuning_rms_hz_y", self.spin_wave_detuning_rms_hz_y, NonNegative)

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
        phases = trials.residual_rad[local]
        relative_rms_hz = math.hypot(self.spin_wave_detuning_rms_hz_x, self.spin_wave_detuning_rms_hz_y)
        if relative_rms_hz == 0.0:
            return phases
        storage_s = self.storage_us * S_PER_US
        return phases + 2.0 * math.pi * storage_s * relative_rms_hz * rng.standard_normal(local.size)
