"""Three Gaussian phase processes, exactly discretized at arbitrary integer times.

Each gives its one-sided power spectral density S(f) (rad²/Hz, f > 0), with
∫₀^∞ S df the variance, and its structure function D(τ) = Var[φ(t+τ) − φ(t)],
related by D(τ) = 2 ∫₀^∞ S(f) (1 − cos 2πfτ) df (tested).

- :class:`WienerPhase` — phase diffusion, white frequency noise:
  D(τ) = D₀τ, S(f) = D₀ / (2π² f²). Step: φ' = φ + √(D₀Δt) ξ.
- :class:`OrnsteinUhlenbeckPhase` — a stationary phase with std σ and
  correlation time τc: autocovariance σ² e^{−|τ|/τc}; S(f) = 4σ²τc / (1 + (2πfτc)²)
  (Lorentzian: flat below 1/(2πτc), 1/f² above); D(τ) = 2σ²(1 − e^{−τ/τc}).
  Step: x' = a x + σ √(1 − a²) ξ with a = e^{−Δt/τc}.
- :class:`IntegratedOUPhase` — a phase whose rate v (rad/s) is an OU process with
  std s and correlation time τr: smooth (D ≈ s²τ² for τ ≪ τr), a random walk of
  diffusion 2s²τr for τ ≫ τr; D(τ) = 2s²τr² (τ/τr − 1 + e^{−τ/τr});
  S(f) = 4s²τr / ((2πf)² (1 + (2πfτr)²)). Step: the exact joint Gaussian update
  of (v, φ): v' = a v + u, φ' = φ + τr(1 − a) v + β u + γ ξ₂ with
  u = s√(1 − a²) ξ₁, β = τr(1 − a)/(1 + a), γ² = s²τr² [2δ − 3 + 4a − a² − (1 − a)³/(1 + a)],
  δ = Δt/τr (the bracket is summed as a series for δ < 0.1, where it is ≈ δ³/6).

A zero std (or diffusion) switches a process off. Phases start at 0 rad; the OU
value and the OU rate start from their stationary distributions.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.units import NS_PER_S
from metroqnet.config.validation import NonNegative, Positive, bounded, check_array, parameters
from metroqnet.noise.processes import ProcessBase, ProcessState, state_values
from metroqnet.noise.recurrence import decaying_sum

__all__ = ["IntegratedOUPhase", "OrnsteinUhlenbeckPhase", "WienerPhase", "frequencies_hz", "lags_s"]

#: Stds and rates above this are refused: the vectorized recurrence scales drives by up to e^640.
MAX_AMPLITUDE = 1e15
#: A std, rate or diffusion: finite, >= 0, at most MAX_AMPLITUDE.
Amplitude = bounded(ge=0.0, le=MAX_AMPLITUDE)
SERIES_BELOW = 0.1
TINY_BELOW = 1e-3
#: Coefficients of f(δ) = 2δ − 3 + 4e^{−δ} − e^{−2δ} = Σ_{n≥3} (−1)ⁿ (4 − 2ⁿ) δⁿ / n!.
_F_SERIES = tuple((-1) ** n * (4 - 2**n) / math.factorial(n) for n in range(3, 16))
#: Coefficients of h(u) = u − 1 + e^{−u} = Σ_{n≥2} (−1)ⁿ uⁿ / n!.
_H_SERIES = tuple((-1) ** n / math.factorial(n) for n in range(2, 14))


def frequencies_hz(frequency_hz: ArrayLike) -> np.ndarray:
    return check_array("frequency_hz", frequency_hz, Positive)


def lags_s(lag_s: ArrayLike) -> np.ndarray:
    return check_array("lag_s", lag_s, NonNegative)


def _series(x: np.ndarray, coefficients: tuple[float, ...], power: int) -> np.ndarray:
    total = np.zeros_like(x)
    for c in reversed(coefficients):
        total = total * x + c
    return total * x**power


def _h(u: np.ndarray) -> np.ndarray:
    """u − 1 + e^{−u} without cancellation."""
    small = u < SERIES_BELOW
    out = np.empty_like(u)
    out[small] = _series(u[small], _H_SERIES, 2)
    out[~small] = u[~small] + np.expm1(-u[~small])
    return out


@parameters
class WienerPhase(ProcessBase):
    """Phase diffusion: Var[φ(t+τ) − φ(t)] = ``diffusion_rad2_per_s`` · τ. State values: ``(phase_rad,)``."""

    diffusion_rad2_per_s: Amplitude
    normals_per_sample = 1

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return ProcessState(time_ns=time_ns, values=(0.0,))

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        (scale,) = self._coefficients(steps_ns)
        increments = scale * normals[:, 0]
        increments[0] += state_values(state, 1, self)[0]
        phase = np.cumsum(increments, out=increments)
        return phase, ProcessState(time_ns=state.time_ns + int(steps_ns.sum()), values=(float(phase[-1]),))

    def _coefficients(self, steps_ns: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.sqrt(steps_ns * (self.diffusion_rad2_per_s / NS_PER_S)),)

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        f = frequencies_hz(frequency_hz)
        return self.diffusion_rad2_per_s / (2.0 * math.pi**2 * f**2)

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        return self.diffusion_rad2_per_s * lags_s(lag_s)


@parameters
class OrnsteinUhlenbeckPhase(ProcessBase):
    """Stationary Gaussian phase, std ``std_rad``, correlation e^{−τ/``correlation_s``}. State: ``(phase_rad,)``."""

    std_rad: Amplitude
    correlation_s: Positive
    normals_per_sample = 1

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return ProcessState(time_ns=time_ns, values=(self.std_rad * float(rng.standard_normal()),))

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        decay, scale = self._coefficients(steps_ns)
        (start,) = state_values(state, 1, self)
        phase = decaying_sum(decay, scale * normals[:, 0], start)
        return phase, ProcessState(time_ns=state.time_ns + int(steps_ns.sum()), values=(float(phase[-1]),))

    def _coefficients(self, steps_ns: np.ndarray) -> tuple[np.ndarray, ...]:
        """Decay e^{−Δt/τ} and kick std of each step."""
        decay = steps_ns * (1.0 / (self.correlation_s * NS_PER_S))
        return np.exp(-decay), self.std_rad * np.sqrt(-np.expm1(-2.0 * decay))

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        f = frequencies_hz(frequency_hz)
        tau = self.correlation_s
        return 4.0 * self.std_rad**2 * tau / (1.0 + (2.0 * math.pi * f * tau) ** 2)

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        return -2.0 * self.std_rad**2 * np.expm1(-lags_s(lag_s) / self.correlation_s)


@parameters
class IntegratedOUPhase(ProcessBase):
    """Phase whose rate is OU (std ``rate_std_rad_per_s``, correlation ``correlation_s``).

    State values: ``(rate_rad_per_s, phase_rad)``.
    """

    rate_std_rad_per_s: Amplitude
    correlation_s: Positive
    normals_per_sample = 2

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        return ProcessState(time_ns=time_ns, values=(self.rate_std_rad_per_s * float(rng.standard_normal()), 0.0))

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        rate0, phase0 = state_values(state, 2, self)
        decay, kick_scale, memory, kick_share, residual_scale = self._coefficients(steps_ns)
        kick = kick_scale * normals[:, 0]
        rate = decaying_sum(decay, kick, rate0)
        increments = np.empty_like(rate)  # first the rate before each step, then the phase steps
        increments[0] = rate0
        increments[1:] = rate[:-1]
        increments *= memory
        increments += np.multiply(kick_share, kick, out=kick)
        increments += np.multiply(residual_scale, normals[:, 1], out=kick)
        increments[0] += phase0
        phase = np.cumsum(increments, out=increments)
        new = ProcessState(time_ns=state.time_ns + int(steps_ns.sum()), values=(float(rate[-1]), float(phase[-1])))
        return phase, new

    def _coefficients(self, steps_ns: np.ndarray) -> tuple[np.ndarray, ...]:
        """Decay a = e^{−δ} and kick std of the rate; τr(1 − a), β = τr(1 − a)/(1 + a) and γ of the phase."""
        s, tau = self.rate_std_rad_per_s, self.correlation_s
        delta = steps_ns * (1.0 / (tau * NS_PER_S))
        one_minus_a = -np.expm1(-delta)
        two_minus = 2.0 - one_minus_a
        return (
            1.0 - one_minus_a,
            s * np.sqrt(-np.expm1(-2.0 * delta)),
            tau * one_minus_a,
            tau * one_minus_a / two_minus,
            (s * tau) * np.sqrt(_residual_variance(delta, one_minus_a, two_minus)),
        )

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        f = frequencies_hz(frequency_hz)
        tau, w = self.correlation_s, 2.0 * math.pi * f
        return 4.0 * self.rate_std_rad_per_s**2 * tau / (w**2 * (1.0 + (w * tau) ** 2))

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        tau = self.correlation_s
        return 2.0 * self.rate_std_rad_per_s**2 * tau**2 * _h(lags_s(lag_s) / tau)


def _residual_variance(delta: np.ndarray, one_minus_a: np.ndarray, two_minus: np.ndarray) -> np.ndarray:
    """[2δ − 3 + 4a − a²] − (1 − a)³/(1 + a) ≥ 0: the phase variance left once the rate kick is known (/ s²τr²).

    The bracket f(δ) is summed as its series below δ = 0.1 (5 terms below 10⁻³, 13 above;
    each truncation is below 10⁻¹⁷ relative), where the closed form cancels.
    """
    tiny = delta < TINY_BELOW
    if tiny.all():  # the usual case of a slow rate sampled within a trial: no masking
        f = _series(delta, _F_SERIES[:5], 3)
    else:
        f = np.empty_like(delta)
        small = ~tiny & (delta < SERIES_BELOW)
        big = ~tiny & ~small
        f[tiny] = _series(delta[tiny], _F_SERIES[:5], 3)
        f[small] = _series(delta[small], _F_SERIES, 3)
        a = 1.0 - one_minus_a[big]
        d = np.minimum(delta[big], 1e300)
        f[big] = 2.0 * d - 3.0 + 4.0 * a - a * a
    residual = f - one_minus_a**3 / two_minus
    return np.maximum(residual, 0.0)
