"""Trial timing against closed forms and the paper's sequence and rates (each test names its source).

Paper (Liu et al. 2024): Fig. 2a (two rounds of a 4-µs phase probe and up to 2 µs of feedback, a 5-µs gap
before the write); main text: 2.76 kHz at 5 µs storage, 1.03 kHz at 107 µs storage ("exceeding the
round-trip transmission time").
"""

from __future__ import annotations

import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.physics import trial_timing
from metroqnet.physics.trial_timing import TrialTiming, fit_cycle, repetition_rate_hz, required_storage_us

PAPER_SEQUENCE = dict(probe_duration_us=4.0, feedback_latency_us=2.0, probe_rounds=2, probe_gap_us=5.0)


def hefei(**changes: object) -> TrialTiming:
    fields = dict(PAPER_SEQUENCE, readout_overhead_us=3.0, storage_us=5.0, fibre_length_km=10.0,
                  fibre_delay_us_per_km=5.0, reset_us=30.0)
    fields.update(changes)
    return TrialTiming(**fields)


def test_paper_sequence_before_the_write_is_17_us():
    """Fig. 2a: 2 × (4 + 2) + 5 = 17 µs from the first probe to the write."""
    timing = hefei()
    assert timing.pre_write_us == 17.0
    events = timing.event_times_us()
    assert events["write"] - events["probe_1_start"] == 17.0
    assert events["probe_2_start"] - events["probe_1_start"] == 6.0


@pytest.mark.parametrize("storage_us", [0.0, 5.0, 99.0, 100.0, 107.0, 400.0])
def test_event_order_and_closed_form_times(storage_us):
    """Closed form: events are in time order; herald at write + L v, back at write + 2 L v, read at write + t_s."""
    timing = hefei(storage_us=storage_us)
    events = timing.event_times_us()
    times = list(events.values())
    assert times == sorted(times)
    write = events["write"]
    assert write == 30.0 + 17.0
    assert events["herald_at_server"] == write + 50.0
    assert events["herald_at_node"] == write + 100.0
    assert events["read"] == write + storage_us
    assert events["trial_end"] == write + storage_us + 3.0
    assert events["trial_end"] == pytest.approx(timing.trial_duration_us, abs=1e-12)
    names = list(events)
    assert names.index("write") > names.index("feedback_2_end") > names.index("probe_2_start")


def test_one_probe_round():
    """A single probe-feedback round: 4 + 2 + 5 = 11 µs before the write, no second probe."""
    events = hefei(probe_rounds=1).event_times_us()
    assert events["write"] == 30.0 + 11.0
    assert "probe_2_start" not in events


@pytest.mark.parametrize(("length_km", "delay_us_per_km"), [(0.0, 5.0), (10.0, 5.0), (12.5, 4.9), (50.0, 5.0)])
def test_round_trip_is_two_l_v(length_km, delay_us_per_km):
    """Closed form: round trip = 2 · L · v = the storage needed to read after the herald."""
    expected = 2.0 * length_km * delay_us_per_km
    assert required_storage_us(length_km, delay_us_per_km) == pytest.approx(expected, rel=1e-15, abs=0)
    timing = hefei(fibre_length_km=length_km, fibre_delay_us_per_km=delay_us_per_km)
    assert timing.round_trip_us == pytest.approx(expected, rel=1e-15, abs=0)


def test_mode_switches_at_the_round_trip():
    """Delayed choice below 2 L v (paper: 5 µs on ~10 km), after the herald from 2 L v on (paper: 107 µs)."""
    assert hefei(storage_us=5.0).readout_mode == "delayed-choice"
    assert hefei(storage_us=99.999).readout_mode == "delayed-choice"
    assert hefei(storage_us=100.0).readout_mode == "after-herald"
    assert hefei(storage_us=107.0).readout_mode == "after-herald"
    assert hefei(storage_us=5.0, fibre_length_km=0.0).readout_mode == "after-herald"
    tie = list(hefei(storage_us=100.0).event_times_us())
    assert tie.index("herald_at_node") < tie.index("read")


def test_repetition_rate_closed_form():
    """Closed form: R = D / T (T = 100 µs, D = 0.15 → 1.5 kHz)."""
    assert repetition_rate_hz(100.0, 0.15) == pytest.approx(1500.0, rel=1e-15)
    assert repetition_rate_hz(100.0, 1.0) == pytest.approx(10_000.0, rel=1e-15)
    timing = hefei(storage_us=50.0)
    assert timing.repetition_rate_hz(0.2) == pytest.approx(0.2e6 / (30 + 17 + 3 + 50), rel=1e-15)


def test_two_rate_solve_reproduces_both_paper_rates():
    """Paper: 2.76 kHz at 5 µs and 1.03 kHz at 107 µs fix T0 and D exactly (a fit, not a prediction)."""
    fit = fit_cycle(2760.0, 5.0, 1030.0, 107.0)
    assert fit.fixed_duration_us == pytest.approx((1030 * 107 - 2760 * 5) / (2760 - 1030), rel=1e-14)
    assert repetition_rate_hz(fit.fixed_duration_us + 5.0, fit.duty_cycle) == pytest.approx(2760.0, rel=1e-12)
    assert repetition_rate_hz(fit.fixed_duration_us + 107.0, fit.duty_cycle) == pytest.approx(1030.0, rel=1e-12)
    # consistency with the known sequence: T0 holds the 17 µs before the write, with room for reset and read
    assert fit.fixed_duration_us > 17.0
    assert 0.10 <= fit.duty_cycle <= 0.20
    # the order of the two points does not matter
    swapped = fit_cycle(1030.0, 107.0, 2760.0, 5.0)
    assert swapped.fixed_duration_us == pytest.approx(fit.fixed_duration_us, rel=1e-12)
    assert swapped.duty_cycle == pytest.approx(fit.duty_cycle, rel=1e-12)


def test_fitted_cycle_in_a_trial_reproduces_the_rates():
    """A TrialTiming whose T0 is the fitted one gives both paper rates and their read-out modes."""
    fit = fit_cycle(2760.0, 5.0, 1030.0, 107.0)
    timing = hefei(readout_overhead_us=2.0, reset_us=fit.fixed_duration_us - 17.0 - 2.0)
    assert timing.fixed_duration_us == pytest.approx(fit.fixed_duration_us, rel=1e-14)
    assert timing.repetition_rate_hz(fit.duty_cycle) == pytest.approx(2760.0, rel=1e-12)
    longer = timing.replace(storage_us=107.0)
    assert longer.repetition_rate_hz(fit.duty_cycle) == pytest.approx(1030.0, rel=1e-12)
    assert (timing.readout_mode, longer.readout_mode) == ("delayed-choice", "after-herald")


@pytest.mark.parametrize(("length_km", "storage_us"), [(10.0, 100.0), (25.0, 250.0), (50.0, 500.0)])
def test_storage_and_rate_on_longer_fibres(length_km, storage_us):
    """Closed form: reading after the herald on L km at 5 µs/km needs 10 L µs; R = D / (T0 + 10 L)."""
    fit = fit_cycle(2760.0, 5.0, 1030.0, 107.0)
    needed = required_storage_us(length_km, 5.0)
    assert needed == pytest.approx(storage_us, rel=1e-15)
    rate = repetition_rate_hz(fit.fixed_duration_us + needed, fit.duty_cycle)
    assert rate == pytest.approx(fit.duty_cycle * 1e6 / (fit.fixed_duration_us + storage_us), rel=1e-14)
    assert rate < 2760.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fibre_length_km", -1.0),
        ("fibre_delay_us_per_km", 0.0),
        ("probe_duration_us", 0.0),
        ("storage_us", -5.0),
        ("reset_us", float("nan")),
        ("probe_rounds", 3),
        ("probe_rounds", 2.0),
        ("feedback_latency_us", "2"),
    ],
)
def test_trial_timing_refuses_bad_fields(field, value):
    with pytest.raises(ConfigError) as refused:
        hefei(**{field: value})
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


def test_trial_timing_is_frozen_and_keyword_only():
    timing = hefei()
    with pytest.raises(Exception):
        timing.storage_us = 10.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="keyword"):
        TrialTiming(4.0)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="unknown parameter"):
        hefei(storage_ms=1.0)


@pytest.mark.parametrize("duty", [0.0, -0.1, 1.0001, float("inf")])
def test_duty_cycle_outside_zero_one_is_refused(duty):
    with pytest.raises(ConfigError) as refused:
        repetition_rate_hz(100.0, duty)
    assert refused.value.field == "duty_cycle"


def test_repetition_rate_refuses_a_non_positive_duration():
    with pytest.raises(ConfigError) as refused:
        repetition_rate_hz(0.0, 0.5)
    assert refused.value.field == "trial_duration_us"


@pytest.mark.parametrize(
    ("length_km", "delay", "field"), [(-1.0, 5.0, "fibre_length_km"), (10.0, -5.0, "delay_us_per_km")]
)
def test_required_storage_refuses_bad_input(length_km, delay, field):
    with pytest.raises(ConfigError) as refused:
        required_storage_us(length_km, delay)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((2760.0, 5.0, 1030.0, 5.0), "storage_b_us"),  # equal storages: no second equation
        ((1030.0, 5.0, 2760.0, 107.0), "rate_b_hz"),  # longer storage, higher rate
        ((2760.0, 5.0, 2760.0, 107.0), "rate_b_hz"),  # equal rates
        ((2760.0, 50.0, 1030.0, 60.0), "rate_b_hz"),  # implies T0 < 0
        ((20_000.0, 5.0, 9_000.0, 107.0), "rate_a_hz"),  # implies D > 1
        ((0.0, 5.0, 1030.0, 107.0), "rate_a_hz"),
        ((2760.0, -5.0, 1030.0, 107.0), "storage_a_us"),
    ],
)
def test_fit_cycle_refuses_what_has_no_physical_solution(args, field):
    with pytest.raises(ConfigError) as refused:
        fit_cycle(*args)
    assert refused.value.field == field


def test_mode_names():
    assert (trial_timing.DELAYED_CHOICE, trial_timing.AFTER_HERALD) == ("delayed-choice", "after-herald")
