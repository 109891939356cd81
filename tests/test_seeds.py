"""Seeds: every drawing function takes an int or a SeedSequence, derived streams are spawn keys, runs replay."""

from __future__ import annotations

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.config.seeds import child, from_record, seed_record, seed_sequence
from metroqnet.experiments.fig2_data import STREAMS, run_fig2
from metroqnet.experiments.phase_stabilization import (
    minimum_tracking_hours,
    residual_phase,
    sigma_versus_photons,
    stabilization_setup,
)
from metroqnet.physics.noise_mapping import lab_temperature


@pytest.fixture(scope="module")
def setup():
    return stabilization_setup(load_preset("hefei2024"))


@pytest.mark.parametrize("seed", [-3, 1.5, "7", None, True, np.bool_(True)])
def test_bad_seeds_are_refused_naming_the_seed(seed):
    with pytest.raises(ConfigError, match="seed: "):
        seed_sequence(seed)


def test_child_streams_extend_the_spawn_key_and_never_collide_with_another_seed():
    assert child(2024, 2, 4).spawn_key == (2, 4) and child(2024, 2, 4).entropy == 2024
    assert child(child(2024, 2), 4).spawn_key == (2, 4)
    first = np.random.default_rng(child(2024, 1)).random(4)
    assert not np.array_equal(first, np.random.default_rng(2025).random(4))
    assert np.array_equal(first, np.random.default_rng(from_record(seed_record(child(2024, 1)))).random(4))


def test_a_photon_scan_point_is_not_another_seeds_stabilized_run(setup):
    # Was: run_fig2(seed=2024)'s 40-photon point drew from seed + 1 = 2025, the very stream of
    # run_fig2(seed=2025)'s stabilized run, and the two were bit-identical.
    scan = sigma_versus_photons(setup, [40.0], trials=3000, seed=child(2024, STREAMS["photon_scan"]))
    other = residual_phase(setup, trials=3000, seed=child(2025, STREAMS["stabilized"]))
    assert scan.std_deg[0] != other.std_deg


def test_fig2_records_its_seeds_and_replays(setup):
    hours = minimum_tracking_hours(setup)
    first = run_fig2(setup, trials=500, hours=hours, seed=np.random.SeedSequence(77, spawn_key=(9,)))
    assert first.seed == {"entropy": 77, "spawn_key": [9]}
    assert first.stabilized.seed == {"entropy": 77, "spawn_key": [9, STREAMS["stabilized"]]}
    replay = run_fig2(setup, trials=500, hours=hours, seed=from_record(first.seed))
    assert replay.summary() == first.summary()
    other = run_fig2(setup, trials=500, hours=hours, seed=78)
    assert other.summary()["residual_std_deg_at_write"] != first.summary()["residual_std_deg_at_write"]


def test_the_synthetic_temperature_takes_a_seed():
    model = lab_temperature(load_preset("hefei2024").drift)
    a = model.record(2.0, seed=5).temperatures_c
    assert np.array_equal(a, model.record(2.0, seed=np.random.SeedSequence(5)).temperatures_c)
    assert not np.array_equal(a, model.record(2.0, seed=6).temperatures_c)
