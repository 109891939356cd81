"""The slow frequency drift of the reference cavities, and the phase it builds up.

The lasers of each node are locked to a reference cavity; the cavities drift
slowly, with the lab temperature and with age ("a drift of a few kilohertz per
day", and "an observed drift of 5 kHz" over 76 h that follows Bob's
temperature — the paper, Fig. 2d). The model of the frequency offset between the
two nodes' lasers, Δf = f_x − f_y, is

    Δf(t) = offset_khz + coefficient_khz_per_k · (T(t) − T_ref) + aging_khz_per_day · t_days

with T the temperature record (:mod:`metroqnet.physics.temperature`), T_ref its first
temperature unless given (so Δf starts at ``offset_khz``: the one-off calibration),
and t_days the time since t = 0 in days. The phase it adds to the link,

    φ_drift(t) = 2π ∫_{t_start}^{t} Δf(t') dt'     (t_start = the record's first time),

is integrated exactly (T is piecewise linear, so the integral is piecewise quadratic).
Over 76 h the phase reaches ~10¹⁰ rad; float64 keeps it to ~10⁻⁶ rad.

The values come from a preset's ``[drift]`` table
(:func:`metroqnet.physics.noise_mapping.cavity_drift`); the Hefei preset's 4 kHz/K on a
±0.5 K diurnal temperature, plus 0.3 kHz/day of aging, give ≈ 5 kHz peak-to-peak over
76 h, as in Fig. 2d (estimated: the paper gives neither the coefficient nor the
temperature swing).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from metroqnet.config.units import HZ_PER_KHZ, NS_PER_S, S_PER_DAY
from metroqnet.config.validation import Number, parameters
from metroqnet.noise.processes import ProcessBase, ProcessState
from metroqnet.physics.temperature import Celsius, TemperatureRecord

__all__ = ["FrequencyDrift"]


@parameters
class FrequencyDrift(ProcessBase):
    """Δf(t) following a temperature record plus linear aging (module docstring). Values: φ_drift (rad)."""

    temperature: TemperatureRecord
    coefficient_khz_per_k: Number
    aging_khz_per_day: Number = 0.0
    reference_temperature_c: Celsius | None = None  # type: ignore[valid-type]
    offset_khz: Number = 0.0
    normals_per_sample = 0

    def __post_init__(self) -> None:
        reference = self.reference_temperature_c
        if reference is None:
            reference = float(self.temperature.temperatures_c[0])
            object.__setattr__(self, "reference_temperature_c", reference)
        # On segment i (knot t_i, s seconds into it): Δf = A_i + 2 B_i s and ∫_{t_i}^{t_i+s} Δf = A_i s + B_i s².
        record = self.temperature
        knots_s = record.knots_ns / NS_PER_S
        span_s = np.diff(knots_s)
        temps = record.temperatures_c
        slope_k_per_s = np.diff(temps) / span_s
        aging_hz_per_s = HZ_PER_KHZ * self.aging_khz_per_day / S_PER_DAY
        linear = HZ_PER_KHZ * (self.offset_khz + self.coefficient_khz_per_k * (temps[:-1] - reference))
        linear += aging_hz_per_s * knots_s[:-1]
        quadratic = 0.5 * (HZ_PER_KHZ * self.coefficient_khz_per_k * slope_k_per_s + aging_hz_per_s)
        cycles = np.concatenate([[0.0], np.cumsum((linear + quadratic * span_s) * span_s)])
        object.__setattr__(self, "_segments", (linear, quadratic, cycles[:-1]))

    def _local(self, times_ns: Any) -> tuple[np.ndarray, np.ndarray]:
        index, since_ns = self.temperature.segments(times_ns)
        return index, since_ns / NS_PER_S

    def offset_hz(self, times_ns: Any) -> np.ndarray:
        """Δf (Hz) at integer times in ns (refused outside the temperature record)."""
        index, s = self._local(times_ns)
        linear, quadratic, _ = self._segments
        return linear[index] + 2.0 * quadratic[index] * s

    def phase_rad(self, times_ns: Any) -> np.ndarray:
        """φ_drift = 2π ∫ Δf dt from the record's start to each time (exact for the piecewise-linear T)."""
        index, s = self._local(times_ns)
        linear, quadratic, cycles = self._segments
        local = quadratic[index] * s
        local += linear[index]
        local *= s
        local += cycles[index]
        local *= 2.0 * math.pi
        return local

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return ProcessState(time_ns=time_ns)

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        times = state.time_ns + np.cumsum(steps_ns)
        return self.phase_rad(times), ProcessState(time_ns=int(times[-1]))
