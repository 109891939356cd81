"""A node's laser phase: phase diffusion with a Lorentzian linewidth.

A free-running (or cavity-locked, within the lock's bandwidth) laser with white
frequency noise has a phase that diffuses (a Wiener process):

    Var[φ(t+τ) − φ(t)] = 2π Δν τ,    Δν = FWHM of the Lorentzian field spectrum (Hz).

Equivalently the frequency noise is white with one-sided PSD S_ν = Δν/π (Hz²/Hz),
and the phase PSD is S_φ(f) = Δν / (π f²) (rad²/Hz, one-sided). The field's
coherence |⟨e^{i(φ(t+τ) − φ(t))}⟩| = e^{−πΔν|τ|} falls to 1/e at the coherence time

    τ_c = 1 / (π Δν)        (Δν ≈ 318 Hz  ⇔  τ_c ≈ 1 ms).

Two nodes' relative laser phase is the difference of two independent such
phases: a Wiener process with the summed diffusion 2π(Δν_x + Δν_y).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.validation import NonNegative, Positive, bounded, check, parameters
from metroqnet.noise.gaussian import MAX_AMPLITUDE, WienerPhase
from metroqnet.noise.processes import ProcessBase, ProcessState

__all__ = ["LaserPhase", "coherence_time_s", "linewidth_hz_for_coherence_time"]


def coherence_time_s(linewidth_hz: float) -> float:
    """τ_c = 1/(π Δν): the 1/e time of the field coherence (inf for a zero linewidth)."""
    width = check("linewidth_hz", linewidth_hz, NonNegative)
    return math.inf if width == 0 else 1.0 / (math.pi * width)


def linewidth_hz_for_coherence_time(coherence_time_s: float) -> float:
    """Δν = 1/(π τ_c)."""
    return 1.0 / (math.pi * check("coherence_time_s", coherence_time_s, Positive))


@parameters
class LaserPhase(ProcessBase):
    """Phase diffusion of one laser of Lorentzian FWHM ``linewidth_hz``. State values: ``(phase_rad,)``."""

    linewidth_hz: bounded(ge=0.0, le=MAX_AMPLITUDE / (2 * math.pi))  # type: ignore[valid-type]
    normals_per_sample = 1

    @classmethod
    def from_coherence_time(cls, *, coherence_time_s: float) -> LaserPhase:
        return cls(linewidth_hz=linewidth_hz_for_coherence_time(coherence_time_s))

    @property
    def diffusion_rad2_per_s(self) -> float:
        """2π Δν: the phase variance gained per second."""
        return 2.0 * math.pi * self.linewidth_hz

    @property
    def coherence_time_s(self) -> float:
        return coherence_time_s(self.linewidth_hz)

    @cached_property
    def _wiener(self) -> WienerPhase:
        return WienerPhase(diffusion_rad2_per_s=self.diffusion_rad2_per_s)

    def gaussian_parts(self) -> tuple[WienerPhase]:
        return (self._wiener,)

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return self._wiener.initial_state(time_ns, rng=rng)

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        return self._wiener.advance(steps_ns, normals, state)

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        """S_φ(f) = Δν / (π f²), one-sided, rad²/Hz."""
        return self._wiener.psd_rad2_per_hz(frequency_hz)

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        """2π Δν τ."""
        return self._wiener.structure_function_rad2(lag_s)
