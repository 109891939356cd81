"""Hypothesis strategy for link parameter points over the ranges of issue 2 (asymmetric nodes)."""

from __future__ import annotations

from hypothesis import strategies as st

from metroqnet.config.link_parameters import LinkParameters

RANGES = {
    "excitation_probability": (1e-3, 0.2),
    "herald_efficiency": (1e-3, 0.5),
    "herald_mode_overlap": (0.5, 1.0),
    "read_efficiency": (0.05, 0.9),
    "probe_mean_photon_number": (0.005, 0.3),
    "probe_mode_overlap": (0.5, 1.0),
    "local_noise_probability": (0.0, 1e-3),
}
LINK_RANGES = {"herald_noise_probability": (0.0, 1e-3), "phase_noise_std_rad": (0.0, 1.0)}
LOG_SCALED = {"excitation_probability", "herald_efficiency", "probe_mean_photon_number"}


def _value(name: str, low: float, high: float) -> st.SearchStrategy[float]:
    if name in LOG_SCALED:
        # Spread over decades so the weak end is sampled as often as the strong one.
        return st.floats(0.0, 1.0).map(lambda u: low * (high / low) ** u)
    return st.floats(low, high)


@st.composite
def link_points(draw: st.DrawFn) -> LinkParameters:
    values = {}
    for name, (low, high) in RANGES.items():
        for suffix in ("x", "y"):
            values[f"{name}_{suffix}"] = draw(_value(name, low, high))
    for name, (low, high) in LINK_RANGES.items():
        values[name] = draw(_value(name, low, high))
    return LinkParameters(**values)
