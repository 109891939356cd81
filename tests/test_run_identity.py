"""Strong ids of runs and the addition of count records: what adds, what is refused, and why.

Sources: the id is a SHA-256 of canonical JSON (``metroqnet.config.identity``); records add
only as independent draws of one distribution (``metroqnet.analysis.records``).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metroqnet.analysis.records import COUNT_SHAPE, CountRecord, SeedRun
from metroqnet.config.errors import ConfigError
from metroqnet.config.identity import canonical_json, strong_id
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.presets import load_preset
from metroqnet.control.loop_phase_process import LoopPhaseProcess
from metroqnet.control.phase_loop import frequency_calibration, loop_settings
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.noise_mapping import link_phase_noise
from metroqnet.physics.temperature import TemperatureRecord
from metroqnet.sampling.link_sampler import LinkSampler

from .conftest import HEFEI_LIKE

PARAMS = LinkParameters.from_mapping(HEFEI_LIKE)


def loop_process(temperatures_c: np.ndarray) -> LoopPhaseProcess:
    network = load_preset("hefei2024")
    record = TemperatureRecord(times_h=np.linspace(0.0, 2.0, temperatures_c.size), temperatures_c=temperatures_c)
    return LoopPhaseProcess(
        settings=loop_settings(network, repetition_rate_hz=2760.0),
        noise=link_phase_noise(network, "alice", "bob"),
        storage_us=5.0,
        calibration=frequency_calibration(network),
        drift=FrequencyDrift(temperature=record, coefficient_khz_per_k=4.0),
    )


@pytest.fixture(scope="module")
def two_temperature_records():
    """Two temperature records of 2000 knots that differ by 13 K at one knot (numpy's repr elides it)."""
    base = 22.0 + 0.1 * np.sin(np.linspace(0.0, 6.0, 2000))
    changed = base.copy()
    changed[1000] += 13.0
    return base, changed


def test_one_element_of_a_phase_process_array_changes_the_id(two_temperature_records):
    base, changed = two_temperature_records
    a, b = loop_process(base), loop_process(changed)
    assert repr(a.drift.temperature.temperatures_c) == repr(b.drift.temperature.temperatures_c)  # what fooled repr
    sampler_a, sampler_b = LinkSampler(PARAMS, phase_process=a), LinkSampler(PARAMS, phase_process=b)
    assert sampler_a.strong_id != sampler_b.strong_id
    assert LinkSampler(PARAMS, phase_process=loop_process(base)).strong_id == sampler_a.strong_id


def test_records_of_different_ids_are_not_added(two_temperature_records):
    base, changed = two_temperature_records
    a = LinkSampler(PARAMS, phase_process=loop_process(base)).sample(10_000, seed=1)
    b = LinkSampler(PARAMS, phase_process=loop_process(changed)).sample(10_000, seed=2)
    with pytest.raises(ConfigError, match="strong_id: cannot add"):
        _ = a + b


def test_every_parameter_and_the_basis_weights_enter_the_id():
    reference = LinkSampler(PARAMS).strong_id
    for field in dataclasses.fields(PARAMS):
        if field.name == "repetition_rate_hz":
            continue
        value = getattr(PARAMS, field.name)
        changed = PARAMS.replace(**{field.name: float(np.nextafter(value, -1.0 if value > 0 else 1.0))})
        assert LinkSampler(changed).strong_id != reference, field.name
    # The rate only labels time (records of different rates are refused by their own check).
    assert LinkSampler(PARAMS.replace(repetition_rate_hz=2760.0)).strong_id == reference
    assert LinkSampler(PARAMS, basis_weights=(1.0, 1.0, 2.0)).strong_id != reference
    assert LinkSampler(PARAMS, link="a-b").strong_id == reference  # a label, not part of the distribution


def test_the_same_seed_twice_is_refused_and_a_sum_lists_its_seeds():
    sampler = LinkSampler(PARAMS)
    a = sampler.sample(10_000, seed=5)
    with pytest.raises(ConfigError, match="runs: both records hold the run of seed entropy 5"):
        _ = a + sampler.sample(20_000, seed=5)  # other length, same first block
    total = a + sampler.sample(10_000, seed=6) + sampler.sample(10_000, seed=np.random.SeedSequence(5, spawn_key=(1,)))
    assert [(run.entropy, run.spawn_key) for run in total.runs] == [(5, ()), (5, (1,)), (6, ())]
    assert total.trials == sum(run.trials for run in total.runs) == 30_000
    with pytest.raises(ConfigError, match="runs"):
        _ = total + a


def test_metadata_is_typed():
    record = LinkSampler(PARAMS.replace(repetition_rate_hz=2760.0)).sample(1000, seed=3)
    assert isinstance(record.runs[0].entropy, int) and isinstance(record.runs[0].trials, int)
    assert record.duration_s == pytest.approx(1000 / 2760.0)


def test_a_record_id_is_the_same_in_another_process():
    # A fresh interpreter with another hash seed must compute the same id: nothing enters through
    # hash(), dict order or object addresses.
    program = textwrap.dedent(
        """
        from metroqnet.config.link_parameters import LinkParameters
        from metroqnet.sampling.link_sampler import LinkSampler
        from tests.conftest import HEFEI_LIKE
        print(LinkSampler(LinkParameters.from_mapping(HEFEI_LIKE)).strong_id)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True, cwd=root)
    assert out.stdout.strip() == LinkSampler(PARAMS).strong_id


def test_canonical_json_is_exact_and_refuses_what_it_cannot_identify():
    assert canonical_json({"b": 0.1, "a": [1, True, None]}) == '{"a":[1,true,null],"b":0.1}'
    assert strong_id(0.1) != strong_id(0.1 + 1e-17 * 8)
    big_endian = np.arange(4, dtype=">f8")
    assert strong_id(big_endian) == strong_id(np.arange(4, dtype="<f8"))
    with pytest.raises(TypeError, match="no canonical form"):
        strong_id(object())


# --- property tests of record addition -------------------------------------------------------------

ID = "0" * 63 + "1"


@st.composite
def records(draw, *, seeds):
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    counts = rng.integers(0, 6, size=COUNT_SHAPE) * rng.integers(0, 2, size=COUNT_SHAPE)
    trials = counts.sum(axis=(0, 2, 3)) + rng.integers(0, 20, size=3)
    seed = draw(seeds)
    runs = (SeedRun(entropy=seed, spawn_key=(), trials=int(trials.sum())),)
    metadata = draw(st.dictionaries(st.sampled_from(["operator", "note", "batch"]),
                                    st.one_of(st.integers(0, 3), st.text(max_size=3), st.booleans()), max_size=3))
    return CountRecord(link="ab", counts=counts, trials_per_basis=trials, strong_id=ID, runs=runs, metadata=metadata)


@given(st.lists(st.integers(0, 10**6), min_size=3, max_size=3, unique=True).flatmap(
    lambda seeds: st.tuples(*(records(seeds=st.just(seed)) for seed in seeds))))
def test_addition_is_associative_and_counts_commute(trio):
    a, b, c = trio
    assert (a + b) + c == a + (b + c)
    assert np.array_equal((a + b).counts, (b + a).counts) and (a + b).runs == (b + a).runs
    assert (a + b + c).trials == a.trials + b.trials + c.trials


@given(records(seeds=st.integers(0, 3)), records(seeds=st.integers(0, 3)))
def test_addition_refuses_shared_seeds_and_other_ids(a, b):
    if a.runs[0].seed == b.runs[0].seed:
        with pytest.raises(ConfigError, match="runs"):
            _ = a + b
    else:
        assert (a + b).heralds == a.heralds + b.heralds
    other = dataclasses.replace(b, strong_id="f" * 64)
    with pytest.raises(ConfigError, match="strong_id"):
        _ = a + other
    lab = CountRecord(link="ab", counts=b.counts, trials_per_basis=b.trials_per_basis)
    with pytest.raises(ConfigError, match="strong_id"):
        _ = a + lab
