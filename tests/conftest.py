"""Shared parameter points for the link tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, settings

from metroqnet.config.link_parameters import LinkParameters

# Property tests are seeded like every other statistical test (DESIGN rule 4): derandomized, the
# examples are a fixed function of each test, so a run's outcome does not depend on the clock or on
# a local example database (derandomize turns the database off). Nor on the machine's load: the
# deadline and the too-slow health check time the examples, so a busy CI machine failed them.
settings.register_profile(
    "metroqnet", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("metroqnet")

#: Hefei-like Alice–Bob point (SPEC §3 estimates), independent of the preset file.
HEFEI_LIKE = dict(
    excitation_probability=0.01,
    herald_efficiency=0.0294,
    herald_noise_probability=1e-4,
    read_efficiency=0.27,
    phase_noise_std_rad=math.radians(17.0),
    probe_mean_photon_number=0.025,
    probe_mode_overlap=0.9,
    local_noise_probability=1e-5,
)

#: The weak corner of the issue's parameter ranges: χ and herald efficiency both 1e-3.
WEAK_CORNER = dict(
    excitation_probability=1e-3,
    herald_efficiency=1e-3,
    herald_noise_probability=0.0,
    read_efficiency=0.05,
    phase_noise_std_rad=0.3,
    probe_mean_photon_number=0.005,
    probe_mode_overlap=0.5,
    local_noise_probability=0.0,
)


@pytest.fixture
def hefei_like() -> LinkParameters:
    return LinkParameters.from_mapping(HEFEI_LIKE)


@pytest.fixture
def weak_corner() -> LinkParameters:
    return LinkParameters.from_mapping(WEAK_CORNER)
