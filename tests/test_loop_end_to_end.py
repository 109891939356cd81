"""End to end: link figures with the loop's per-trial residual vs a constant Gaussian σ of the same size.

Same figures within statistics (|Δ| <= 5 combined standard errors) when the loop works; clearly
different when it is degraded (fewer probe photons, longer latency, calibration off with a
frequency offset during 107 µs of storage).
"""

from __future__ import annotations

import math

import pytest

from metroqnet.analysis.uncertainty import analyze_counts
from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.control.loop_phase_process import LoopPhaseProcess
from metroqnet.control.phase_loop import FrequencyCalibration, PhaseLoopSettings
from metroqnet.experiments.phase_stabilization import constant_offset, residual_phase, stabilization_setup
from metroqnet.sampling.link_sampler import LinkSampler

from .test_link_sampler import BUSY

TRIALS = 3_000_000
FIGURES = ("fidelity", "concurrence", "E")

#: The preset's Fig. 2 loop (Alice–Bob's lasers and fibres, the server's loop and calibration).
SETUP = stabilization_setup(load_preset("hefei2024"))
CALIBRATION_OFF = SETUP.calibration.replace(enabled=False)


def loop_run(settings: PhaseLoopSettings, *, storage_us: float = 5.0, **options):
    options.setdefault("calibration", SETUP.calibration)
    process = LoopPhaseProcess(settings=settings, noise=SETUP.noise, storage_us=storage_us, **options)
    return analyze_counts(LinkSampler(BUSY.replace(phase_noise_std_rad=0.0), phase_process=process).sample(TRIALS, seed=21))


def gaussian_run(std_rad: float):
    return analyze_counts(LinkSampler(BUSY.replace(phase_noise_std_rad=std_rad)).sample(TRIALS, seed=22))


def gap_in_errors(a, b, name: str, sign: str = "plus") -> float:
    (va, ea), (vb, eb) = a.estimate(name, sign), b.estimate(name, sign)
    return abs(va - vb) / math.hypot(ea, eb)


@pytest.fixture(scope="module")
def working_loop():
    settings = SETUP.settings
    sigma = residual_phase(SETUP, trials=200_000, seed=23).at_write.std_rad
    return loop_run(settings), gaussian_run(sigma)


def test_loop_residual_matches_a_gaussian_of_the_same_sigma(working_loop):
    loop, gaussian = working_loop
    for sign in ("plus", "minus"):
        for name in FIGURES:
            assert gap_in_errors(loop, gaussian, name, sign) <= 5.0, (sign, name)


@pytest.mark.parametrize(
    "settings, options, storage_us",
    [
        (SETUP.settings.replace(probe_photons_per_node=1.0), {}, 5.0),
        (SETUP.settings.replace(feedback_latency_us=150.0), {}, 5.0),
        # 1.2 kHz offset left uncorrected: 2π · 1.2 kHz · 150 µs = 1.1 rad more on the stored state.
        (SETUP.settings, dict(drift=constant_offset(1.2, 1.0), calibration=CALIBRATION_OFF), 150.0),
    ],
    ids=["1 photon", "150 us latency", "calibration off"],
)
def test_degraded_loop_lowers_the_figures(working_loop, settings, options, storage_us):
    _, gaussian = working_loop
    degraded = loop_run(settings, storage_us=storage_us, **options)
    for name in ("fidelity", "E"):
        value, _ = degraded.estimate(name, "plus")
        assert value < gaussian.estimate(name, "plus")[0]
        assert gap_in_errors(degraded, gaussian, name) > 5.0, name


def test_loop_phase_process_needs_its_calibration_and_a_valid_storage():
    with pytest.raises(TypeError, match="calibration"):
        LoopPhaseProcess(settings=SETUP.settings, noise=SETUP.noise, storage_us=5.0)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="storage_us"):
        LoopPhaseProcess(settings=SETUP.settings, noise=SETUP.noise, storage_us=-1.0, calibration=SETUP.calibration)
    assert isinstance(CALIBRATION_OFF, FrequencyCalibration) and not CALIBRATION_OFF.enabled
