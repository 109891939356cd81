"""Property tests: what metroqnet writes reads back exactly, and parameters survive their mappings."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metroqnet.analysis.count_files import read_count_file, write_count_file
from metroqnet.analysis.events import EventRecord, read_event_file, write_event_file
from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS, PATTERNS
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord, SeedRun
from metroqnet.cli.link_sources import read_parameter_file
from metroqnet.config.calibration_file import Calibration, read_calibration, write_calibration
from metroqnet.config.link_parameters import LinkParameters

from .strategies import link_points

FILES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: JSON data as metadata may hold: strings with any printable or control character, numbers, lists, tables.
JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
KEYS = st.from_regex(r"\Anote_[a-z0-9_.\-]{0,8}\Z")
LINKS = st.from_regex(r"\A[a-z][a-z0-9\-]{0,10}\Z")


@st.composite
def count_records(draw, link: str | None = None):
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    counts = rng.integers(0, 50, size=COUNT_SHAPE) * rng.integers(0, 2, size=COUNT_SHAPE)
    trials = counts.sum(axis=(0, 2, 3)) + rng.integers(0, 10**12, size=3)
    settings_ = {
        name: draw(st.none() | st.floats(min_value=1e-300, max_value=1.0, exclude_min=False))
        for name in ("read_efficiency_x", "read_efficiency_y")
    }
    settings_["repetition_rate_hz"] = draw(st.none() | st.floats(min_value=1e-3, max_value=1e12))
    identity = {}
    if draw(st.booleans()):
        split = int(rng.integers(0, trials.sum() + 1))
        seeds = draw(st.lists(st.integers(0, 2**128), min_size=2, max_size=2, unique=True))
        identity = {
            "strong_id": "".join(draw(st.lists(st.sampled_from("0123456789abcdef"), min_size=64, max_size=64))),
            "runs": (SeedRun(entropy=seeds[0], spawn_key=(0,), trials=split),
                     SeedRun(entropy=seeds[1], spawn_key=(3, 1), trials=int(trials.sum()) - split)),
        }
    metadata = draw(st.dictionaries(KEYS, JSON_DATA, max_size=4))
    return CountRecord(link=link or draw(LINKS), counts=counts, trials_per_basis=trials, metadata=metadata,
                       **settings_, **identity)


@FILES
@given(record=count_records())
def test_a_count_file_reads_back_exactly(tmp_path_factory, record):
    path = tmp_path_factory.mktemp("counts") / "counts.csv"
    write_count_file(path, record)
    assert read_count_file(path) == {record.link: record}


@FILES
@given(records=st.lists(count_records(), min_size=2, max_size=3, unique_by=lambda r: r.link))
def test_several_links_read_back_exactly(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("counts") / "counts.csv"
    by_link = {record.link: record for record in records}
    write_count_file(path, by_link)
    assert read_count_file(path) == by_link


@FILES
@given(record=count_records(), data=st.data())
def test_an_event_file_reads_back_exactly(tmp_path_factory, record, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    heralds = int(rng.integers(0, 40))
    total = heralds + int(rng.integers(0, 10**6))
    index = np.sort(rng.choice(total, size=heralds, replace=False))
    basis = rng.integers(0, len(BASES), size=heralds)
    trials = np.bincount(basis, minlength=len(BASES)) + rng.multinomial(total - heralds, [1 / 3] * 3)
    runs = ()
    if record.runs:
        runs = (SeedRun(entropy=record.runs[0].entropy, spawn_key=record.runs[0].spawn_key, trials=total),)
    events = EventRecord(
        link=record.link, trial_index=index, sign=rng.integers(0, len(HERALD_SIGNS), size=heralds), basis=basis,
        outcome_x=rng.integers(0, len(PATTERNS), size=heralds), outcome_y=rng.integers(0, len(PATTERNS), size=heralds),
        trials_per_basis=trials, read_efficiency_x=record.read_efficiency_x, repetition_rate_hz=record.repetition_rate_hz,
        strong_id=record.strong_id, runs=runs, metadata=record.metadata,
    )
    path = tmp_path_factory.mktemp("events") / "events.csv"
    write_event_file(path, events)
    back = read_event_file(path)
    assert back == events and back.to_counts() == events.to_counts()


@given(params=link_points(), rate=st.none() | st.floats(min_value=1e-3, max_value=1e9))
def test_link_parameters_survive_their_mapping(params, rate):
    params = params.replace(repetition_rate_hz=rate)
    mapping = params.to_mapping()
    assert LinkParameters.from_mapping(mapping) == params
    # Through JSON, as a parameter file holds them: every float exactly.
    assert LinkParameters.from_mapping(json.loads(json.dumps(mapping))) == params


@FILES
@given(params=link_points())
def test_a_parameter_file_reads_back_exactly(tmp_path_factory, params):
    folder = tmp_path_factory.mktemp("params")
    values = {key: value for key, value in params.to_mapping().items() if value is not None}
    (folder / "p.json").write_text(json.dumps(values))
    assert read_parameter_file(folder / "p.json") == params


@FILES
@given(values=st.dictionaries(
    st.sampled_from(["nodes.*.writeout_mode_overlap", "nodes.alice.fibre_length_km", "server.switch_loss_db"]),
    st.tuples(st.floats(min_value=0.0, max_value=1.0), st.text(min_size=1, max_size=20).filter(str.strip)),
    min_size=1))
def test_a_calibration_file_reads_back_exactly(tmp_path_factory, values):
    calibration = Calibration(network="hefei2024", procedure="a documented procedure", values=values)
    path = tmp_path_factory.mktemp("calibration") / "c.json"
    write_calibration(path, calibration)
    back = read_calibration(path)
    assert back == calibration
    assert all(not math.isnan(value) for value, _ in back.values.values())
