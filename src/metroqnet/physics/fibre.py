"""Optical fibre: loss in dB, transmission, delay.

T = 10^(-loss_dB / 10), loss_dB = α · L. The delay per km is a parameter
(≈ 4.9 µs/km for a group index of 1.47; the SPEC's round ~5 µs/km).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.physics._domain import checked, output


def loss_db_to_transmission(loss_db: ArrayLike) -> float | np.ndarray:
    """T = 10^(-dB/10) for a loss of ``loss_db`` >= 0."""
    db = checked("loss_db", loss_db, low=0.0)
    return output(10.0 ** (-db / 10.0))


def transmission_to_loss_db(transmission: ArrayLike) -> float | np.ndarray:
    """loss_dB = -10 log10 T for 0 < T <= 1."""
    t = checked("transmission", transmission, low=0.0, high=1.0, low_open=True)
    return output(-10.0 * np.log10(t))


def fibre_loss_db(length_km: ArrayLike, *, attenuation_db_per_km: ArrayLike) -> float | np.ndarray:
    """α · L."""
    length = checked("length_km", length_km, low=0.0)
    alpha = checked("attenuation_db_per_km", attenuation_db_per_km, low=0.0)
    return output(alpha * length)


def fibre_transmission(length_km: ArrayLike, *, attenuation_db_per_km: ArrayLike) -> float | np.ndarray:
    """T = 10^(-α L / 10) (e.g. 10 km at 0.3 dB/km: 10^-0.3 ≈ 0.501)."""
    return loss_db_to_transmission(fibre_loss_db(length_km, attenuation_db_per_km=attenuation_db_per_km))


def fibre_delay_us(length_km: ArrayLike, *, delay_us_per_km: ArrayLike = 5.0) -> float | np.ndarray:
    """One-way delay of ``length_km`` of fibre."""
    length = checked("length_km", length_km, low=0.0)
    delay = checked("delay_us_per_km", delay_us_per_km, low=0.0, low_open=True)
    return output(length * delay)


def round_trip_us(length_km: ArrayLike, *, delay_us_per_km: ArrayLike = 5.0) -> float | np.ndarray:
    """There and back: 2 · L · delay (node → server → node)."""
    return output(2.0 * np.asarray(fibre_delay_us(length_km, delay_us_per_km=delay_us_per_km)))
