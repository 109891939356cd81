"""The exact Fock engine against the independent Gaussian-state reference (mpmath, 30 digits).

Two different formalisms — Fock sums with analytic phase averaging versus
phase-space vacuum probabilities with inclusion–exclusion in extended precision
and Gauss–Hermite phase averaging — must agree on every joint probability to
better than 1e-6 relative (measured: ~1e-11), including the weak corner where
double-precision inclusion–exclusion would lose the digits.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.link.evaluate import figures_from_tables
from metroqnet.link.fock_engine import JointTables, joint_tables
from metroqnet.config.link_parameters import LinkParameters

from .conftest import HEFEI_LIKE, WEAK_CORNER
from .strategies import link_points

pytest.importorskip("mpmath")
from .oracles.gaussian_reference import gaussian_joint_probabilities  # noqa: E402

RELATIVE = 1e-6


def assert_engines_agree(params: LinkParameters) -> None:
    fock = joint_tables(params)
    reference = gaussian_joint_probabilities(params)
    for sign in HERALD_SIGNS:
        for basis in BASES:
            np.testing.assert_allclose(
                fock.tables[sign][basis], reference[sign][basis], rtol=RELATIVE, atol=0,
                err_msg=f"{sign} herald, {basis} basis",
            )
    fock_figures = figures_from_tables(fock, params)
    reference_figures = figures_from_tables(JointTables(tables=reference, photon_cutoff=0), params)
    for sign in HERALD_SIGNS:
        for name, value in fock_figures[sign].as_dict().items():
            assert value == pytest.approx(reference_figures[sign].as_dict()[name], rel=RELATIVE, abs=1e-15), name


def test_hefei_point():
    assert_engines_agree(LinkParameters.from_mapping(HEFEI_LIKE))


def test_weak_corner():
    # χ = herald efficiency = 1e-3: joint probabilities down to ~1e-16.
    assert_engines_agree(LinkParameters.from_mapping(WEAK_CORNER))


def test_asymmetric_strong_point():
    assert_engines_agree(
        LinkParameters.from_mapping(HEFEI_LIKE).replace(
            excitation_probability_x=0.2, excitation_probability_y=0.05, herald_efficiency_x=0.5,
            herald_efficiency_y=0.01, herald_mode_overlap_x=0.5, read_efficiency_y=0.9, phase_noise_std_rad=1.0,
            probe_mean_photon_number_x=0.3, probe_mode_overlap_y=0.5, local_noise_probability_x=1e-3,
        )
    )


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(link_points())
def test_random_points(params):
    assert_engines_agree(params)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(link_points())
def test_many_random_points(params):
    assert_engines_agree(params)
