"""A laser's phase: a white-frequency floor plus slow technical frequency noise.

A laser locked to a reference cavity (the paper: "we lock all lasers in each node onto a
reference cavity and obtain a subkilohertz linewidth") has two kinds of frequency noise:

* a **white floor** h₀ left by the lock (the laser's own quantum and servo noise within the
  lock bandwidth): the phase diffuses, a Wiener process, and alone it would give a Lorentzian
  line of FWHM ``white_linewidth_hz`` = Δν_w = π h₀;
* **technical noise** of the reference (acoustic and seismic pickup of the cavity length,
  tens of Hz): a frequency δν(t) that wanders slowly, modelled as an Ornstein–Uhlenbeck
  process of rms ``technical_std_hz`` = σ_ν and correlation time ``technical_correlation_s`` = τ_t;
  the phase 2π∫δν dt is an integrated-OU phase (rate std s = 2πσ_ν).

One-sided frequency-noise PSD (Hz²/Hz) and phase PSD (rad²/Hz)::

    S_ν(f) = Δν_w/π + 4 σ_ν² τ_t / (1 + (2π f τ_t)²),        S_φ(f) = S_ν(f) / f²

Structure function (the variance of the phase change over a lag τ)::

    D(τ) = 2π Δν_w τ + 2 (2πσ_ν)² τ_t² (τ/τ_t − 1 + e^{−τ/τ_t})

≈ 2πΔν_w τ + (2πσ_ν τ)² for τ ≪ τ_t: over a few hundred µs the technical part moves the
phase like a frequency offset times t, which is how the paper reads the phase between
successive trials ("the phase evolves solely owing to Δωt").

**Coherence time.** The field coherence is |⟨e^{i(φ(t+τ) − φ(t))}⟩| = e^{−D(τ)/2} (a
Gaussian phase); the coherence time τ_c is where it falls to 1/e, D(τ_c) = 2
(:attr:`LaserPhase.coherence_time_s`). :meth:`LaserPhase.from_coherence_time` takes τ_c (the
paper's "about 1 ms"), the white floor and τ_t, and sets σ_ν so that D(τ_c) = 2 exactly.
The **linewidth** (:meth:`LaserPhase.linewidth_hz`) is the FWHM of the field spectrum
2∫₀^∞ e^{−D(τ)/2} cos(2πντ) dτ: Δν_w for a white line, 2√(2 ln 2) σ_ν for slow technical noise.

State: ``parts = (white, technical)`` with values ``(phase_rad,)`` and ``(rate_rad_per_s, phase_rad)``;
the value is the sum of the two phases. Independent lasers add in a link (signs do not
change the law); white floors pool into one Wiener phase and technical parts with one
correlation time into one integrated-OU phase (:func:`metroqnet.noise.sums.pooled`).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import Positive, bounded, check, parameters
from metroqnet.noise.gaussian import MAX_AMPLITUDE, IntegratedOUPhase, WienerPhase, frequencies_hz
from metroqnet.noise.processes import ProcessBase, ProcessState
from metroqnet.noise.sums import PhaseSum, PhaseTerm

__all__ = ["LaserPhase"]

#: A frequency (Hz) whose phase rate 2π·f stays within the processes' amplitude bound.
_Frequency = bounded(ge=0.0, le=MAX_AMPLITUDE / (2 * math.pi))
#: The field spectrum is integrated out to where the coherence e^{−D/2} is below this.
_COHERENCE_CUT = 1e-12


@parameters
class LaserPhase(ProcessBase):
    """White-frequency floor plus OU technical frequency noise of one laser (module docstring)."""

    white_linewidth_hz: _Frequency  # type: ignore[valid-type]
    technical_std_hz: _Frequency  # type: ignore[valid-type]
    technical_correlation_s: Positive
    normals_per_sample = 3

    def __post_init__(self) -> None:
        _ = self.components

    @classmethod
    def from_coherence_time(
        cls, *, coherence_time_s: float, white_linewidth_hz: float, technical_correlation_s: float
    ) -> LaserPhase:
        """The laser whose field coherence falls to 1/e at ``coherence_time_s``: σ_ν from D(τ_c) = 2.

        The white floor alone takes 2πΔν_w τ_c of the 2 rad²; the technical noise the rest. A floor
        of Δν_w > 1/(πτ_c) alone loses the coherence before τ_c and is refused.
        """
        tau_c = check("coherence_time_s", coherence_time_s, Positive)
        white = check("white_linewidth_hz", white_linewidth_hz, _Frequency)
        tau_t = check("technical_correlation_s", technical_correlation_s, Positive)
        left = 2.0 - 2.0 * math.pi * white * tau_c
        if left < -1e-12:
            raise ConfigError.at(
                "white_linewidth_hz", f"{white:g} Hz: a white floor alone loses the coherence before the coherence "
                f"time {tau_c * 1e3:g} ms; allowed: <= 1/(pi tau_c) = {1.0 / (math.pi * tau_c):.6g} Hz"
            )
        u = tau_c / tau_t
        shape = u * u / 2.0 if u < 1e-4 else u + math.expm1(-u)  # τ/τ_t − 1 + e^{−τ/τ_t}
        rate = math.sqrt(max(left, 0.0) / (2.0 * tau_t * tau_t * shape))
        return cls(white_linewidth_hz=white, technical_std_hz=rate / (2.0 * math.pi), technical_correlation_s=tau_t)

    @cached_property
    def components(self) -> PhaseSum:
        white = WienerPhase(diffusion_rad2_per_s=2.0 * math.pi * self.white_linewidth_hz)
        technical = IntegratedOUPhase(
            rate_std_rad_per_s=2.0 * math.pi * self.technical_std_hz, correlation_s=self.technical_correlation_s
        )
        return PhaseSum(terms=(PhaseTerm(name="white", process=white), PhaseTerm(name="technical", process=technical)))

    def gaussian_parts(self) -> tuple[WienerPhase, IntegratedOUPhase]:
        return tuple(term.process for term in self.components.terms)  # type: ignore[return-value]

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return self.components.initial_state(time_ns, rng=rng)

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        return self.components.advance(steps_ns, normals, state)

    def frequency_psd_hz2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        """S_ν(f) = Δν_w/π + 4σ_ν²τ_t/(1 + (2πfτ_t)²), one-sided, Hz²/Hz."""
        f = frequencies_hz(frequency_hz)
        tau = self.technical_correlation_s
        return self.white_linewidth_hz / math.pi + 4.0 * self.technical_std_hz**2 * tau / (
            1.0 + (2.0 * math.pi * f * tau) ** 2
        )

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        """S_φ(f) = S_ν(f)/f², one-sided, rad²/Hz (the sum of the two parts' phase PSDs)."""
        return self.components.psd_rad2_per_hz(frequency_hz)

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        """D(τ) = 2πΔν_w τ + 2(2πσ_ν)²τ_t²(τ/τ_t − 1 + e^{−τ/τ_t}), rad²."""
        return self.components.structure_function_rad2(lag_s)

    def coherence(self, lag_s: ArrayLike) -> np.ndarray:
        """|⟨e^{i(φ(t+τ) − φ(t))}⟩| = e^{−D(τ)/2}."""
        return np.exp(-0.5 * self.structure_function_rad2(lag_s))

    @property
    def coherence_time_s(self) -> float:
        """τ_c with D(τ_c) = 2 (coherence 1/e); inf for a noiseless laser."""
        if self.white_linewidth_hz == 0.0 and self.technical_std_hz == 0.0:
            return math.inf
        high = 1e-9
        while float(self.structure_function_rad2(high)) < 2.0:
            high *= 2.0
        return optimize.brentq(lambda t: float(self.structure_function_rad2(t)) - 2.0, 0.0, high, xtol=1e-18,
                               rtol=1e-13)

    def linewidth_hz(self) -> float:
        """FWHM of the field spectrum S_E(ν) = 2∫₀^∞ e^{−D(τ)/2} cos(2πντ) dτ (numerical, ~1e-5 relative)."""
        tau_c = self.coherence_time_s
        if math.isinf(tau_c):
            return 0.0
        end = tau_c
        while float(self.coherence(end)) > _COHERENCE_CUT:
            end *= 2.0
        # Breakpoints at the coherence time's multiples keep quad on the decay's scale.
        points = [tau_c * k for k in (0.5, 1.0, 2.0, 4.0) if tau_c * k < end]

        def spectrum(nu: float) -> float:
            if nu == 0.0:
                return 2.0 * integrate.quad(lambda t: float(self.coherence(t)), 0.0, end, points=points,
                                            limit=400, epsabs=0.0, epsrel=1e-9)[0]
            return 2.0 * integrate.quad(lambda t: float(self.coherence(t)), 0.0, end, weight="cos",
                                        wvar=2.0 * math.pi * nu, limit=400, epsabs=0.0, epsrel=1e-9)[0]

        half = 0.5 * spectrum(0.0)
        high = 1.0 / tau_c
        while spectrum(high) > half:
            high *= 2.0
        return 2.0 * optimize.brentq(lambda nu: spectrum(nu) - half, 0.0, high, xtol=1e-9, rtol=1e-9)
