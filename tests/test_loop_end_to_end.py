"""End to end: link figures with the loop's per-trial residual vs a constant Gaussian σ of the same size.

Same figures within statistics (|Δ| <= 5 combined standard errors) when the loop works; clearly
different when it is degraded (fewer probe photons, longer latency, calibration off with a
frequency offset during 107 µs of storage).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.analysis.uncertainty import analyze_counts
from metroqnet.control.loop_phase_process import LoopPhaseProcess
from metroqnet.control.phase_loop import FrequencyCalibration, PhaseLoopSettings
from metroqnet.experiments.phase_stabilization import constant_offset, hefei_noise, residual_phase
from metroqnet.sampling.link_sampler import LinkSampler

from .test_link_sampler import BUSY

TRIALS = 3_000_000
FIGURES = ("fidelity", "concurrence", "E")


def loop_run(settings: PhaseLoopSettings, *, storage_us: float = 5.0, **options):
    process = LoopPhaseProcess(settings=settings, noise=hefei_noise(), storage_us=storage_us, **options)
    return analyze_counts(LinkSampler(BUSY.replace(phase_noise_std_rad=0.0), phase_process=process).sample(TRIALS, seed=21))


def gaussian_run(std_rad: float):
    return analyze_counts(LinkSampler(BUSY.replace(phase_noise_std_rad=std_rad)).sample(TRIALS, seed=22))


def gap_in_errors(a, b, name: str, sign: str = "plus") -> float:
    (va, ea), (vb, eb) = a.estimate(name, sign), b.estimate(name, sign)
    return abs(va - vb) / math.hypot(ea, eb)


@pytest.fixture(scope="module")
def working_loop():
    settings = PhaseLoopSettings()
    sigma = float(np.std(residual_phase(trials=200_000, seed=23, settings=settings).at_write_rad))
    return loop_run(settings), gaussian_run(sigma)


def test_loop_residual_matches_a_gaussian_of_the_same_sigma(working_loop):
    loop, gaussian = working_loop
    for sign in ("plus", "minus"):
        for name in FIGURES:
            assert gap_in_errors(loop, gaussian, name, sign) <= 5.0, (sign, name)


@pytest.mark.parametrize(
    "settings, options, storage_us",
    [
        (PhaseLoopSettings(probe_photons_per_node=1.0), {}, 5.0),
        (PhaseLoopSettings(feedback_latency_us=150.0), {}, 5.0),
        # 1.2 kHz offset left uncorrected: 2π · 1.2 kHz · 150 µs = 1.1 rad more on the stored state.
        (PhaseLoopSettings(), dict(drift=constant_offset(1.2, 1.0), calibration=FrequencyCalibration(enabled=False)), 150.0),
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
