"""First-order closed forms of the link (leading order in χ, herald noise and EP photons).

Quick estimates for design and for reading the exact engine; their error against
the exact engine is stated in ``tests/test_closed_form.py``. They neglect
multi-excitations (order χ²), double noise clicks, local noise and the EP
contribution to p_ij.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metroqnet.config.link_parameters import LinkParameters


@dataclass(frozen=True)
class FirstOrderLink:
    herald_probability: float
    noise_herald_fraction: float
    p10: float
    p01: float
    coherence: float
    pme_probability: float
    repetition_rate_hz: float | None

    @property
    def entangling_rate_hz(self) -> float | None:
        rate = self.repetition_rate_hz
        return None if rate is None else self.herald_probability * rate


def first_order(params: LinkParameters) -> FirstOrderLink:
    """P_h ≈ χ_x η_x + χ_y η_y + 2q; given a herald, the memories hold the single excitation
    with probability f = signal/P_h, at X with weight w_x = χ_xη_x/(χ_xη_x + χ_yη_y)."""
    p = params
    signal_x = p.excitation_probability_x * p.herald_efficiency_x
    signal_y = p.excitation_probability_y * p.herald_efficiency_y
    noise = 2.0 * p.herald_noise_probability
    herald = signal_x + signal_y + noise
    if herald <= 0:
        raise ValueError("herald probability is zero: no excitation reaches the server and no noise")
    signal = signal_x + signal_y
    f = signal / herald
    w_x = signal_x / signal if signal > 0 else 0.5
    w_y = 1.0 - w_x
    overlap = math.sqrt(p.herald_mode_overlap_x * p.herald_mode_overlap_y)
    coherence = (
        f * math.sqrt(w_x * w_y * p.read_efficiency_x * p.read_efficiency_y) * overlap
        * math.exp(-0.5 * p.phase_noise_std_rad**2)
    )
    mu_x, mu_y = p.probe_mean_photon_number_x, p.probe_mean_photon_number_y
    pme = f * (w_x * p.read_efficiency_x * mu_y + w_y * p.read_efficiency_y * mu_x) + mu_x * mu_y
    return FirstOrderLink(
        herald_probability=herald,
        noise_herald_fraction=noise / herald,
        p10=f * w_x * p.read_efficiency_x,
        p01=f * w_y * p.read_efficiency_y,
        coherence=coherence,
        pme_probability=pme,
        repetition_rate_hz=p.repetition_rate_hz,
    )
