"""A fibre's optical phase: slow thermal wander plus faster acoustic noise.

Two independent Gaussian parts (see :mod:`metroqnet.noise.gaussian` for the
exact discretization):

**Thermal wander** — an integrated Ornstein–Uhlenbeck phase. The phase *rate*
v (rad/s), driven by the temperature changes along the fibre, is an OU process
with rms ``thermal_rate_rad_per_s`` = s and correlation time
``thermal_correlation_s`` = τr (seconds). The phase is smooth on the µs scale of
a trial and wanders without bound over seconds:

    S_thermal(f) = 4 s² τr / ((2πf)² (1 + (2πf τr)²))          [rad²/Hz, one-sided]
    D_thermal(τ) = 2 s² τr² (τ/τr − 1 + e^{−τ/τr})             (≈ s²τ² for τ ≪ τr, ≈ 2s²τr·τ for τ ≫ τr)

**Acoustic noise** — an Ornstein–Uhlenbeck phase of rms ``acoustic_std_rad`` = σ and
correlation time ``acoustic_correlation_us`` = τa (typically 100 µs – 1 ms, i.e.
vibration and sound from ~100 Hz to ~1.6 kHz):

    S_acoustic(f) = 4 σ² τa / (1 + (2πf τa)²)                    [rad²/Hz, one-sided]
    D_acoustic(τ) = 2 σ² (1 − e^{−τ/τa})

The fibre's spectrum is S = S_thermal + S_acoustic (:meth:`FibrePhase.psd_rad2_per_hz`)
and its structure function D = D_thermal + D_acoustic
(:meth:`FibrePhase.structure_function_rad2`). To change the spectrum, change the
four parameters, or build any other :class:`~metroqnet.noise.sums.PhaseSum` of
Wiener, OU and integrated-OU parts.

**Length.** :meth:`FibrePhase.for_length` scales with the fibre length L: the
thermal rate ∝ L (a temperature change acts on the optical path of the whole
length coherently: dφ/dT ≈ 48 rad/(K·m) at 1342 nm, ∝ L), the acoustic *variance*
∝ L (independent disturbances of many short sections add in variance). The
correlation times do not depend on length.

State: ``parts = (thermal, acoustic)`` (the terms of :attr:`FibrePhase.components`, whose
``simulate_terms`` gives the two phases apart from the same draws) with values ``(rate_rad_per_s, phase_rad)`` and
``(phase_rad,)``; the value is the sum of the two phases.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.units import S_PER_US
from metroqnet.config.validation import NonNegative, Positive, check, parameters
from metroqnet.noise.gaussian import Amplitude, IntegratedOUPhase, OrnsteinUhlenbeckPhase
from metroqnet.noise.processes import ProcessBase, ProcessState
from metroqnet.noise.sums import PhaseSum, PhaseTerm

__all__ = ["FibrePhase"]


@parameters
class FibrePhase(ProcessBase):
    """Thermal (integrated OU) plus acoustic (OU) phase noise of one fibre (module docstring)."""

    thermal_rate_rad_per_s: Amplitude
    thermal_correlation_s: Positive
    acoustic_std_rad: Amplitude
    acoustic_correlation_us: Positive
    normals_per_sample = 3

    def __post_init__(self) -> None:
        _ = self.components

    @classmethod
    def for_length(
        cls,
        length_km: float,
        *,
        thermal_rate_rad_per_s_per_km: float,
        thermal_correlation_s: float,
        acoustic_variance_rad2_per_km: float,
        acoustic_correlation_us: float,
    ) -> FibrePhase:
        """A fibre of ``length_km``: thermal rate ∝ L, acoustic variance ∝ L (module docstring)."""
        length = check("length_km", length_km, NonNegative)
        rate = check("thermal_rate_rad_per_s_per_km", thermal_rate_rad_per_s_per_km, NonNegative)
        variance = check("acoustic_variance_rad2_per_km", acoustic_variance_rad2_per_km, NonNegative)
        return cls(
            thermal_rate_rad_per_s=rate * length,
            thermal_correlation_s=thermal_correlation_s,
            acoustic_std_rad=math.sqrt(variance * length),
            acoustic_correlation_us=acoustic_correlation_us,
        )

    @cached_property
    def components(self) -> PhaseSum:
        thermal = IntegratedOUPhase(
            rate_std_rad_per_s=self.thermal_rate_rad_per_s, correlation_s=self.thermal_correlation_s
        )
        acoustic = OrnsteinUhlenbeckPhase(
            std_rad=self.acoustic_std_rad, correlation_s=self.acoustic_correlation_us * S_PER_US
        )
        return PhaseSum(
            terms=(PhaseTerm(name="thermal", process=thermal), PhaseTerm(name="acoustic", process=acoustic))
        )

    def gaussian_parts(self) -> tuple[IntegratedOUPhase, OrnsteinUhlenbeckPhase]:
        return tuple(term.process for term in self.components.terms)  # type: ignore[return-value]

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return self.components.initial_state(time_ns, rng=rng)

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        return self.components.advance(steps_ns, normals, state)

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        """S_thermal(f) + S_acoustic(f), one-sided, rad²/Hz."""
        return self.components.psd_rad2_per_hz(frequency_hz)

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        """D_thermal(τ) + D_acoustic(τ), rad²."""
        return self.components.structure_function_rad2(lag_s)
