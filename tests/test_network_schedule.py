"""The server's switch schedule (Liu et al. 2024: 5.8 s timeslots, pairs chosen by a QRNG, three nodes)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.network import SwitchSchedule, calibration_time_share, run_schedule

THREE_NODES = ("Alice", "Bob", "Charlie")


def test_qrng_shares_are_one_third_within_five_sigma():
    # 76 h of 5.8 s slots: 47173 slots; each pair's count is binomial(N, 1/3) (two-sided 5 sigma band).
    result = run_schedule(SwitchSchedule(nodes=THREE_NODES, policy="qrng"), hours=76, seed=2024)
    slots = result.slot_total
    assert slots == math.ceil(76 * 3600 / 5.8)
    sigma = math.sqrt(slots * (1 / 3) * (2 / 3))
    assert result.slot_count.sum() == slots
    for index, pair in enumerate(result.pairs):
        assert abs(result.slot_count[index] - slots / 3) <= 5 * sigma, pair
        assert result.expected_share[index] == pytest.approx(1 / 3)
        # the pair's frequency calibration runs in its own slots only: about a third of the time
        assert calibration_time_share(result, pair) == result.time_share[index]
        assert calibration_time_share(result, pair[::-1]) == result.time_share[index]
    assert result.time_share.sum() == pytest.approx(1.0)


def test_round_robin_shares_are_exactly_equal():
    result = run_schedule(SwitchSchedule(nodes=THREE_NODES, policy="round-robin"), hours=1, seed=0)
    assert result.slot_total == 621  # 3 x 207
    np.testing.assert_array_equal(result.slot_count, [207, 207, 207])
    np.testing.assert_array_equal(result.time_share, result.expected_share)
    np.testing.assert_array_equal(result.pair[:6], [0, 1, 2, 0, 1, 2])


def test_same_seed_same_schedule_other_seed_another():
    setting = SwitchSchedule(nodes=THREE_NODES)
    first = run_schedule(setting, hours=2, seed=7)
    again = run_schedule(setting, hours=2, seed=np.random.SeedSequence(7))
    other = run_schedule(setting, hours=2, seed=8)
    np.testing.assert_array_equal(first.pair, again.pair)
    np.testing.assert_array_equal(first.start_ns, again.start_ns)
    assert first.seed == again.seed
    assert not np.array_equal(first.pair, other.pair)
    # a shorter run is the start of a longer one with the same seed
    shorter = run_schedule(setting, hours=1, seed=7)
    np.testing.assert_array_equal(first.pair[: shorter.slot_total], shorter.pair)


def test_slot_starts_are_multiples_of_the_timeslot():
    result = run_schedule(SwitchSchedule(nodes=THREE_NODES, timeslot_s=5.8), hours=1, seed=3)
    assert result.slot_total == 621  # every slot starting before one hour
    assert result.start_ns.dtype == np.int64
    np.testing.assert_array_equal(result.start_ns, np.arange(621, dtype=np.int64) * 5_800_000_000)
    np.testing.assert_allclose(result.start_s, np.arange(621) * 5.8, rtol=0, atol=1e-9)
    assert result.start_s[-1] < 3600 <= result.start_s[-1] + 5.8
    assert result.duration_s == pytest.approx(621 * 5.8)


def test_request_queue_is_served_in_order_then_idle():
    requests = (("Charlie", "Alice"), ("Alice", "Bob"), ("Alice", "Bob"), ("Bob", "Charlie"))
    setting = SwitchSchedule(nodes=THREE_NODES, policy="requests", requests=requests)
    result = run_schedule(setting, hours=60 * 5.8 / 3600, seed=1)  # 60 slots
    assert result.slot_total == 60
    served = [result.pairs[index] for index in result.pair[:4]]
    assert served == [("Alice", "Charlie"), ("Alice", "Bob"), ("Alice", "Bob"), ("Bob", "Charlie")]
    np.testing.assert_array_equal(result.pair[4:], -1)  # idle once the queue is empty
    np.testing.assert_array_equal(result.slot_count, [2, 1, 1])
    np.testing.assert_allclose(result.time_share, result.expected_share)
    assert calibration_time_share(result, ("Bob", "Alice")) == pytest.approx(2 / 60)


def test_request_queue_longer_than_the_run_is_cut_at_the_end():
    requests = (("Alice", "Bob"),) * 5 + (("Bob", "Charlie"),) * 5
    setting = SwitchSchedule(nodes=THREE_NODES, policy="requests", requests=requests)
    result = run_schedule(setting, hours=4 * 5.8 / 3600, seed=1)
    np.testing.assert_array_equal(result.pair, [0, 0, 0, 0])
    np.testing.assert_allclose(result.expected_share, [1, 0, 0])


def test_pair_order_is_the_combinations_of_the_nodes():
    nodes = tuple(f"n{k}" for k in range(7))
    result = run_schedule(SwitchSchedule(nodes=nodes, policy="round-robin"), hours=1, seed=0)
    assert result.pairs == tuple(itertools.combinations(nodes, 2))
    for index, pair in enumerate(result.pairs):
        assert result.pair_index(pair) == index


def test_hundred_node_star_serves_random_requests_in_order():
    nodes = tuple(f"node{k}" for k in range(100))
    rng = np.random.default_rng(100)
    requests = tuple((nodes[a], nodes[b]) for a, b in (rng.choice(100, size=2, replace=False) for _ in range(621)))
    setting = SwitchSchedule(nodes=nodes, policy="requests", requests=requests)
    result = run_schedule(setting, hours=1, seed=5)
    assert result.slot_total == 621 and len(result.pairs) == 4950
    assert [result.pairs[index] for index in result.pair] == [
        tuple(sorted(pair, key=nodes.index)) for pair in requests
    ]


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        (dict(nodes=THREE_NODES, policy="lottery"), "policy", "'lottery'"),
        (dict(nodes=("Alice", "Bob", "Alice")), "nodes", "'Alice'"),
        (dict(nodes=("Alice",)), "nodes", "['Alice']"),
        (dict(nodes=THREE_NODES, timeslot_s=0.0), "timeslot_s", "0.0"),
        (dict(nodes=THREE_NODES, timeslot_s=-5.8), "timeslot_s", "-5.8"),
        (dict(nodes=THREE_NODES, switch_outputs=1), "switch_outputs", "1"),
        (dict(nodes=THREE_NODES, requests=(("Alice", "Bob"),)), "requests", "'qrng'"),
        (dict(nodes=THREE_NODES, policy="requests", requests=(("Alice", "Dave"),)), "requests[0]", "'Dave'"),
        (dict(nodes=THREE_NODES, policy="requests", requests=(("Bob", "Bob"),)), "requests[0]", "'Bob'"),
    ],
)
def test_bad_settings_are_refused_naming_field_and_value(kwargs, field, value):
    with pytest.raises(ConfigError) as refused:
        SwitchSchedule(**kwargs)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert value in str(refused.value)


def test_refusal_says_what_is_allowed():
    with pytest.raises(ConfigError, match="allowed: qrng, requests, round-robin"):
        SwitchSchedule(nodes=THREE_NODES, policy="lottery")
    with pytest.raises(ConfigError, match=r"allowed range \(0, inf\)"):
        SwitchSchedule(nodes=THREE_NODES, timeslot_s=0.0)


@pytest.mark.parametrize("hours", [0, -1.0, float("nan")])
def test_bad_hours_are_refused(hours):
    with pytest.raises(ConfigError) as refused:
        run_schedule(SwitchSchedule(nodes=THREE_NODES), hours=hours, seed=1)
    assert refused.value.field == "hours"


def test_bad_seed_and_unknown_pair_are_refused():
    setting = SwitchSchedule(nodes=THREE_NODES)
    with pytest.raises(ConfigError) as refused:
        run_schedule(setting, hours=1, seed=-1)
    assert refused.value.field == "seed"
    result = run_schedule(setting, hours=1, seed=1)
    with pytest.raises(ConfigError, match="pair: .*'Dave'"):
        calibration_time_share(result, ("Alice", "Dave"))


def test_setting_is_frozen_and_results_read_only():
    setting = SwitchSchedule(nodes=THREE_NODES)
    with pytest.raises(Exception):
        setting.timeslot_s = 1.0  # type: ignore[misc]
    result = run_schedule(setting, hours=1, seed=1)
    with pytest.raises(ValueError):
        result.pair[0] = 1
