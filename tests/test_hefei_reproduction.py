"""The Hefei 2024 preset against the paper (SPEC §3), as estimated and with its calibration's MAP.

Figures that do not depend on the write-out overlap (heralding, noise heralds,
rates) are checked on the preset as estimated. With the MAP of the calibration
(``metroqnet.experiments.calibration.map_fit``) every number is FITTED: checking it
against the paper checks the fit, not a prediction. The predictions — each number from
a fit without it — and the calibration's own tests are in tests/test_calibration.py.
"""

from __future__ import annotations

import pytest

from metroqnet.config.presets import load_preset
from metroqnet.experiments.calibration import map_fit
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.link.evaluate import evaluate_link


@pytest.fixture(scope="module")
def hefei():
    return load_preset("hefei2024")


@pytest.fixture(scope="module")
def fitted(hefei):
    return map_fit(hefei, seed=2024)


@pytest.mark.calibration
def test_heralding_and_rates_near_the_paper(hefei):
    result = evaluate_link(experiment_link_parameters(hefei, "storage_5us"))
    # Paper: P_h = 6.9e-4, 25% of heralds from noise, 1.93 Hz at 2.76 kHz. Measured: 7.09e-4, 0.244, 1.96 Hz.
    assert result.herald_probability == pytest.approx(6.9e-4, rel=0.10)
    assert result.noise_herald_fraction == pytest.approx(0.25, abs=0.03)
    assert result.entangling_rate_hz == pytest.approx(1.93, rel=0.10)
    # PME rate = herald rate x retrieval x EP photons in the paper: 0.013 Hz. Measured: 0.0119 Hz.
    assert result.pme_rate_hz == pytest.approx(0.013, rel=0.15)


def test_ideal_overlap_stays_above_the_published_coherence(hefei):
    # With an ideal overlap C and F come out above the paper (0.086(14), 0.672(32)): the write-out
    # overlap can only lower them. Since the lasers' technical noise makes the loop slip (write residual
    # ~33°), the loop explains much of the coherence loss; the rest is the κ of docs/calibration.md.
    result = evaluate_link(experiment_link_parameters(hefei, "storage_5us"))
    assert result.figures["plus"].concurrence > 0.086
    assert result.figures["plus"].fidelity > 0.672


@pytest.mark.calibration
def test_the_map_fits_the_5us_numbers_within_their_errors(fitted):
    # Fitted to these very numbers (with the 107 µs ones and the 17°): a check of the fit, not a prediction.
    result = evaluate_link(experiment_link_parameters(fitted.network, "storage_5us"))
    for sign, fidelity, error in (("plus", 0.672, 0.032), ("minus", 0.666, 0.031)):
        assert result.figures[sign].fidelity == pytest.approx(fidelity, abs=2 * error)
        assert result.figures[sign].concurrence == pytest.approx(0.086, abs=2 * 0.014)
        assert result.figures[sign].atomic_concurrence == pytest.approx(0.38, abs=2 * 0.05)
    assert result.herald_probability == pytest.approx(6.9e-4, abs=2 * 2.1e-5)
    assert result.pme_rate_hz == pytest.approx(0.013, abs=2 * 0.001)
    assert fitted.network.provenance[("alice", "writeout_mode_overlap")].source == "calibrated"
    assert fitted.values.keys() == fitted.estimated.keys()
