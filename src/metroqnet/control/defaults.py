"""Hefei-like noise processes (Liu et al., Nature 2024), each value tagged from the paper or estimated.

- **Laser** — from the paper: "subkilohertz linewidth" and "the long coherence
  time of the lasers (about 1 ms)". With τ_c = 1/(πΔν) (:mod:`~metroqnet.physics.laser_phase`),
  Δν = 1/(π · 1 ms) ≈ 318 Hz per laser.
- **Fibre** — estimated (the paper gives no fibre-noise figures): 10 km per node
  (SPEC §3: Alice–Bob 12.5 km apart, their 2022 link 20.5 km, so ≈ 10 km each).
  Per km: thermal rate 2 rad/s/km with 2 s correlation (20 rad/s rms for 10 km),
  acoustic variance 0.005 rad²/km with 300 µs correlation (0.22 rad rms for 10 km).
  Chosen so that the fibre obeys what the paper implies: (i) over a trial's probe
  and 5 µs gap (~10 µs) the two fibres add ≈ 5° rms, below the lasers' ≈ 11° and the
  17° residual the loop reaches with ~40-photon probes; (ii) between successive trials
  (362 µs at 2.76 kHz) the fibre moves by ≈ 0.4 rad rms, with the thermal part only
  ~0.01 rad ("the slow fluctuations in the fibre"), so the frequency calibration sees
  mainly Δω·t plus noise that averages out; (iii) over seconds the thermal wander
  covers many 2π, as the unstabilized histogram of Fig. 2b (uniform) needs.
  Change them freely: :class:`~metroqnet.physics.fibre_phase.FibrePhase`.
- **Frequency drift** — from the paper: ≈ 5 kHz over 76 h following Bob's temperature
  (Fig. 2d), "a few kilohertz per day". Estimated split: 4 kHz/K on the default
  synthetic temperature (±0.5 K daily, 0.05 K wander) plus 0.3 kHz/day aging:
  5.0 ± 0.25 kHz peak-to-peak over 76 h (over seeds).
"""

from __future__ import annotations

import math

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.physics.fibre_phase import FibrePhase
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.laser_phase import LaserPhase
from metroqnet.physics.link_phase import link_phase
from metroqnet.noise.sums import PhaseSum
from metroqnet.physics.temperature import DiurnalTemperature, TemperatureRecord

__all__ = [
    "HEFEI_ACOUSTIC_CORRELATION_US",
    "HEFEI_ACOUSTIC_VARIANCE_RAD2_PER_KM",
    "HEFEI_AGING_KHZ_PER_DAY",
    "HEFEI_COHERENCE_TIME_S",
    "HEFEI_DRIFT_COEFFICIENT_KHZ_PER_K",
    "HEFEI_FIBRE_LENGTH_KM",
    "HEFEI_LINEWIDTH_HZ",
    "HEFEI_RUN_H",
    "HEFEI_THERMAL_CORRELATION_S",
    "HEFEI_THERMAL_RATE_RAD_PER_S_PER_KM",
    "hefei_fibre",
    "hefei_frequency_drift",
    "hefei_laser",
    "hefei_link_phase",
]

#: From the paper: "the long coherence time of the lasers (about 1 ms)".
HEFEI_COHERENCE_TIME_S = 1e-3
#: Δν = 1/(π τ_c) ≈ 318.3 Hz ("subkilohertz linewidth", from the paper).
HEFEI_LINEWIDTH_HZ = 1.0 / (math.pi * HEFEI_COHERENCE_TIME_S)
#: Estimated (SPEC §3): ≈ 10 km of field fibre from each node to the server.
HEFEI_FIBRE_LENGTH_KM = 10.0
#: Estimated (module docstring).
HEFEI_THERMAL_RATE_RAD_PER_S_PER_KM = 2.0
HEFEI_THERMAL_CORRELATION_S = 2.0
HEFEI_ACOUSTIC_VARIANCE_RAD2_PER_KM = 0.005
HEFEI_ACOUSTIC_CORRELATION_US = 300.0
#: Estimated split of the paper's ≈ 5 kHz over 76 h (Fig. 2d).
HEFEI_DRIFT_COEFFICIENT_KHZ_PER_K = 4.0
HEFEI_AGING_KHZ_PER_DAY = 0.3
#: From the paper: the drift was tracked over 76 h.
HEFEI_RUN_H = 76.0


def hefei_laser() -> LaserPhase:
    return LaserPhase(linewidth_hz=HEFEI_LINEWIDTH_HZ)


def hefei_fibre(length_km: float = HEFEI_FIBRE_LENGTH_KM) -> FibrePhase:
    return FibrePhase.for_length(
        length_km,
        thermal_rate_rad_per_s_per_km=HEFEI_THERMAL_RATE_RAD_PER_S_PER_KM,
        thermal_correlation_s=HEFEI_THERMAL_CORRELATION_S,
        acoustic_variance_rad2_per_km=HEFEI_ACOUSTIC_VARIANCE_RAD2_PER_KM,
        acoustic_correlation_us=HEFEI_ACOUSTIC_CORRELATION_US,
    )


def hefei_frequency_drift(
    *,
    rng: np.random.Generator | None = None,
    duration_h: float = HEFEI_RUN_H,
    temperature: TemperatureRecord | None = None,
) -> FrequencyDrift:
    """The drift following ``temperature``, or a synthetic diurnal record of ``duration_h`` drawn from ``rng``."""
    if temperature is None:
        if rng is None:
            raise ConfigError("rng: a numpy.random.Generator is needed to draw the synthetic temperature")
        temperature = DiurnalTemperature().record(duration_h, rng=rng)
    return FrequencyDrift(
        temperature=temperature,
        coefficient_khz_per_k=HEFEI_DRIFT_COEFFICIENT_KHZ_PER_K,
        aging_khz_per_day=HEFEI_AGING_KHZ_PER_DAY,
    )


def hefei_link_phase(
    *,
    rng: np.random.Generator | None = None,
    duration_h: float = HEFEI_RUN_H,
    length_x_km: float = HEFEI_FIBRE_LENGTH_KM,
    length_y_km: float = HEFEI_FIBRE_LENGTH_KM,
    temperature: TemperatureRecord | None = None,
    drift: bool = True,
) -> PhaseSum:
    """Δφ of a Hefei-like link: two lasers, two fibres and (``drift``) the cavity drift."""
    return link_phase(
        laser_x=hefei_laser(),
        laser_y=hefei_laser(),
        fibre_x=hefei_fibre(length_x_km),
        fibre_y=hefei_fibre(length_y_km),
        drift=hefei_frequency_drift(rng=rng, duration_h=duration_h, temperature=temperature) if drift else None,
    )
