"""The phase loop in plain numpy, trial by trial: the reference the compiled loop is tested against.

Same model as :mod:`metroqnet.control.phase_loop` (its docstring), written independently:
the noise comes from the processes' own ``simulate`` (stepped term by term, numpy's
generator), the counts from ``numpy.random.Generator.poisson`` one at a time, the EOM
setting θ is kept as an angle and moved by g·arcsin(ŝ) with ``math.asin``, and the window's
frequency estimate is the angle of Σ exp(i·diff(θ)). Slow (a few µs a trial): a test oracle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.seeds import Seed, child, generator
from metroqnet.config.units import NS_PER_S
from metroqnet.control.phase_loop import FrequencyCalibration, PhaseLoopSettings
from metroqnet.noise.processes import ProcessState
from metroqnet.physics.frequency_drift import FrequencyDrift

#: Trials of laser and fibre noise simulated per call (the process is independent of the loop).
NOISE_BUFFER_TRIALS = 1 << 16


#: θ moves by GAINS[r]·arcsin(ŝ) in round r: the first round all the way, the second half way.
GAINS = (1.0, 0.5)


def reading(error_rad: float, settings: PhaseLoopSettings, rng: np.random.Generator) -> float:
    """ŝ = (N1 − N2)/(V(N1 + N2)) of one probe at φ − θ = ``error_rad``, clipped to [−1, 1] (0 without counts)."""
    half = 0.5 * settings.detected_probe_photons
    fringe = settings.visibility * math.sin(error_rad)
    d1 = int(rng.poisson(half * (1.0 + fringe) + settings.dark_counts_per_probe))
    d2 = int(rng.poisson(half * (1.0 - fringe) + settings.dark_counts_per_probe))
    if d1 + d2 == 0:
        return 0.0
    return min(1.0, max(-1.0, (d1 - d2) / (settings.visibility * (d1 + d2))))


def lock(phase: np.ndarray, theta_rad: float, settings: PhaseLoopSettings, rng: np.random.Generator) -> np.ndarray:
    """θ after each trial's rounds, starting from ``theta_rad``; ``phase[k, r]`` is φ at trial k's probe r."""
    out = np.empty(phase.shape[0])
    for k in range(phase.shape[0]):
        for r in range(settings.rounds):
            theta_rad += GAINS[r] * math.asin(reading(phase[k, r] - theta_rad, settings, rng))
        out[k] = theta_rad
    return out


def wrap(phase_rad: np.ndarray) -> np.ndarray:
    """Into (−π, π]."""
    return np.angle(np.exp(1j * phase_rad))


@dataclass
class LoopTrials:
    """Per-trial output of a stretch of the loop."""

    residual_rad: np.ndarray
    estimate_rad: np.ndarray
    residual_frequency_hz: np.ndarray


LOOP_FIELDS = ("residual_rad", "estimate_rad", "residual_frequency_hz")


@dataclass
class WindowLog:
    """One row per calibration window: the drift, the compensation and what remains."""

    time_s: list[float] = field(default_factory=list)
    drift_hz: list[float] = field(default_factory=list)
    compensation_hz: list[float] = field(default_factory=list)
    estimate_hz: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {name: np.asarray(getattr(self, name)) for name in ("time_s", "drift_hz", "compensation_hz", "estimate_hz")}
        out["residual_hz"] = out["drift_hz"] - out["compensation_hz"]
        return out


class NumpyPhaseLoop:
    """A running loop: call :meth:`advance` with consecutive numbers of trials.

    ``noise`` is the lasers' and fibres' phase process (anything with
    ``simulate(times_ns, rng=, state=)``); ``drift`` the cavity drift (or None).
    ``stabilize=False`` leaves φ uncorrected (the probes and the calibration still run).
    Deterministic for a seed, whatever the sizes of the calls.
    """

    def __init__(
        self,
        settings: PhaseLoopSettings,
        *,
        noise,
        drift: FrequencyDrift | None = None,
        calibration: FrequencyCalibration,
        stabilize: bool = True,
        seed: Seed,
        start_ns: int = 0,
    ) -> None:
        self.settings = settings
        self.noise = noise
        self.drift = drift
        self.calibration = calibration
        self.stabilize = stabilize
        self._noise_rng = generator(child(seed, 0))
        self._count_rng = generator(child(seed, 1))
        self._noise_state: ProcessState | None = None
        self._trial = 0
        self._start_ns = start_ns
        self._compensation_hz = 0.0
        self._compensation_phase_rad = 0.0  # 2π ∫ f_comp dt up to the current window's start
        self._theta_rad = 0.0  # the EOM setting, carried from trial to trial
        self._window_trials = round(calibration.window_s * settings.repetition_rate_hz)
        if self._window_trials < 2:
            raise ConfigError.at(
                "calibration_window_s", f"{calibration.window_s:g} s holds {self._window_trials} trial(s) at "
                f"{settings.repetition_rate_hz:g} Hz; the frequency estimate needs at least 2 per window"
            )
        self._noise_buffer = np.zeros((0, settings.rounds + 1))
        self._pending = LoopTrials(np.zeros(0), np.zeros(0), np.zeros(0))
        self._buffer_first = 0
        self.log = WindowLog()

    def _times(self, first: int, count: int) -> np.ndarray:
        starts = self._start_ns + (first + np.arange(count, dtype=np.int64)) * self.settings.period_ns
        return (starts[:, None] + self.settings.sample_offsets_ns[None, :]).ravel()

    def _noise(self, first: int, count: int) -> np.ndarray:
        """Lasers and fibres at the trials' sample times, simulated ahead in fixed buffers of
        NOISE_BUFFER_TRIALS (fixed, so the stream of normals does not depend on the calls)."""
        offset = first - self._buffer_first
        while offset + count > self._noise_buffer.shape[0]:
            buffer_end = self._buffer_first + self._noise_buffer.shape[0]
            values, self._noise_state = self.noise.simulate(
                self._times(buffer_end, NOISE_BUFFER_TRIALS), rng=self._noise_rng, state=self._noise_state
            )
            self._noise_buffer = np.concatenate(
                [self._noise_buffer[offset:], values.reshape(NOISE_BUFFER_TRIALS, -1)]
            )
            self._buffer_first = first
            offset = 0
        return self._noise_buffer[offset : offset + count]

    def _phase(self, times_ns: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """φ at the sample times and the residual frequency offset (Hz) at each trial's write."""
        phase = self._noise(self._trial, shape[0])
        since_ns = times_ns - self._window_start_ns
        compensation = self._compensation_phase_rad + 2.0 * math.pi * self._compensation_hz * since_ns / NS_PER_S
        phase = phase - compensation.reshape(shape)
        if self.drift is None:
            return phase, np.full(shape[0], -self._compensation_hz)
        phase = phase + self.drift.phase_rad(times_ns).reshape(shape)
        writes = times_ns.reshape(shape)[:, -1]
        return phase, self.drift.offset_hz(writes) - self._compensation_hz

    @property
    def _window_start_ns(self) -> int:
        """Start of the window being simulated (windows are simulated whole, from its first trial)."""
        return self._start_ns + self._trial * self.settings.period_ns

    def _window(self) -> LoopTrials:
        """The next whole calibration window, then the calibration update."""
        count = self._window_trials
        rounds = self.settings.rounds
        phase, frequency = self._phase(self._times(self._trial, count), (count, rounds + 1))
        theta = lock(phase[:, :rounds], self._theta_rad, self.settings, self._count_rng)
        self._theta_rad = float(wrap(np.array([theta[-1]]))[0])
        residual = wrap(phase[:, -1] - theta) if self.stabilize else wrap(phase[:, -1])
        self._close_window(theta)
        self._trial += count
        return LoopTrials(residual_rad=residual, estimate_rad=wrap(theta), residual_frequency_hz=frequency)

    def _close_window(self, theta: np.ndarray) -> None:
        period_s = self.settings.period_ns / NS_PER_S
        increment = np.angle(np.exp(1j * np.diff(theta)).sum()) if theta.size > 1 else 0.0
        estimate_hz = increment / (2.0 * math.pi * period_s)
        window_s = self._window_trials * period_s
        start_s = (self._window_start_ns - self._start_ns) / NS_PER_S
        drift_hz = float(self.drift.offset_hz(np.array([self._window_start_ns]))[0]) if self.drift else 0.0
        self.log.time_s.append(start_s)
        self.log.drift_hz.append(drift_hz)
        self.log.compensation_hz.append(self._compensation_hz)
        self.log.estimate_hz.append(estimate_hz)
        # The compensation phase accumulated over the window just closed, then the new setting.
        self._compensation_phase_rad += 2.0 * math.pi * self._compensation_hz * window_s
        if self.calibration.enabled:
            self._compensation_hz += self.calibration.gain * estimate_hz

    def advance(self, trials: int) -> LoopTrials:
        """The next ``trials`` trials (simulated window by window; the result does not depend on call sizes)."""
        if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 0:
            raise ConfigError(f"trials: {trials!r} is not an integer >= 0")
        pieces, available = [self._pending], self._pending.residual_rad.size
        while available < trials:
            pieces.append(self._window())
            available += pieces[-1].residual_rad.size
        if len(pieces) > 1:
            self._pending = LoopTrials(*(np.concatenate([getattr(p, name) for p in pieces]) for name in LOOP_FIELDS))
        out = LoopTrials(*(getattr(self._pending, name)[:trials] for name in LOOP_FIELDS))
        self._pending = LoopTrials(*(getattr(self._pending, name)[trials:] for name in LOOP_FIELDS))
        return out
