"""Temperature records (synthetic and CSV) and the reference cavities' frequency drift."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.noise_mapping import cavity_drift, lab_temperature
from metroqnet.physics.temperature import DiurnalTemperature, TemperatureRecord, read_temperature_csv

NS_PER_H = 3_600 * 10**9

NET = load_preset("hefei2024")
#: The paper: "we are able to maintain Δω ≤ 0.15 kHz over a span of 76 h" (Fig. 2d).
RUN_H = NET.experiment("fig2").duration_h


def hefei_frequency_drift(*, seed: int, duration_h: float = RUN_H) -> FrequencyDrift:
    """The preset's cavity drift (``[drift]``) on a synthetic lab temperature drawn from ``seed``."""
    return cavity_drift(NET, duration_h=duration_h, seed=seed)


def diurnal(**changes: object) -> DiurnalTemperature:
    """The preset's lab temperature with some fields changed."""
    return dataclasses.replace(lab_temperature(NET.drift), **changes)


def minute_grid(hours: float) -> np.ndarray:
    return np.arange(0, int(hours * 60) + 1, dtype=np.int64) * 60 * 10**9


# --- the drift ---------------------------------------------------------------------------


@pytest.mark.calibration
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_preset_drift_over_76_hours_is_five_khz_peak_to_peak(seed):
    # The paper (Fig. 2d): "an observed drift of 5 kHz" over 76 h; the preset's estimated split
    # (its reasons: 4 kHz/K on ±0.5 K, plus 0.3 kHz/day) gives 5.0 ± 0.25 kHz over seeds.
    assert RUN_H == 76.0 and NET.tag("fig2", "duration_h").source == "paper"
    drift = hefei_frequency_drift(seed=seed)
    offset_khz = drift.offset_hz(minute_grid(RUN_H)) / 1e3
    assert 4.0 <= offset_khz.max() - offset_khz.min() <= 6.0
    assert offset_khz[0] == pytest.approx(0.0, abs=1e-12)  # calibrated at t = 0


def test_drift_follows_the_temperature_linearly_plus_aging():
    record = TemperatureRecord(times_h=[0.0, 10.0, 30.0], temperatures_c=[20.0, 21.0, 19.5])
    drift = FrequencyDrift(temperature=record, coefficient_khz_per_k=2.0, aging_khz_per_day=0.48, offset_khz=0.1)
    hours = np.array([0.0, 5.0, 10.0, 20.0, 30.0])
    times = (hours * NS_PER_H).astype(np.int64)
    temps = np.array([20.0, 20.5, 21.0, 20.25, 19.5])
    expected_hz = 1e3 * (0.1 + 2.0 * (temps - 20.0) + 0.48 * hours / 24.0)
    assert np.allclose(drift.offset_hz(times), expected_hz, rtol=0, atol=1e-9)
    assert np.allclose(record.temperature_c(hours), temps, rtol=0, atol=1e-12)


def test_drift_phase_is_two_pi_times_the_integral_of_the_offset():
    drift = hefei_frequency_drift(seed=7, duration_h=6.0)
    times = np.sort(np.random.default_rng(1).integers(0, 6 * NS_PER_H, 50))
    phase = drift.phase_rad(times)
    knots = drift.temperature.knots_ns
    for t, value in zip(times[::7], phase[::7], strict=True):
        points = np.concatenate([knots[knots < t], [t]])

        def offset(seconds: float) -> float:
            return float(drift.offset_hz(np.array([round(seconds * 1e9)]))[0])

        cycles = sum(integrate.quad(offset, a / 1e9, b / 1e9, epsabs=0, epsrel=1e-12)[0]
                     for a, b in zip(points[:-1], points[1:], strict=True))
        assert value == pytest.approx(2 * math.pi * cycles, rel=1e-9, abs=1e-6)


def test_drift_phase_slope_is_the_offset():
    drift = hefei_frequency_drift(seed=3, duration_h=2.0)
    t = np.array([3_000_000_000_123, 5_123_456_789_000], dtype=np.int64)
    h = 1_000_000  # 1 ms
    slope = (drift.phase_rad(t + h) - drift.phase_rad(t - h)) / (2 * h / 1e9) / (2 * math.pi)
    assert np.allclose(slope, drift.offset_hz(t), rtol=0, atol=1e-3)


def test_drift_as_a_process_gives_its_phase_and_draws_nothing():
    drift = hefei_frequency_drift(seed=3, duration_h=1.0)
    times = np.arange(0, 1000, dtype=np.int64) * 3_000_000_000
    rng = np.random.default_rng(11)
    values, state = drift.simulate(times, rng=rng)
    assert np.array_equal(values, drift.phase_rad(times))
    assert state.time_ns == times[-1]
    assert rng.standard_normal() == np.random.default_rng(11).standard_normal()


def test_times_outside_the_record_are_refused():
    drift = hefei_frequency_drift(seed=0, duration_h=2.0)
    end = drift.temperature.end_ns
    with pytest.raises(ConfigError, match="outside the temperature record"):
        drift.phase_rad(np.array([0, end + 1]))
    with pytest.raises(ConfigError, match="outside the temperature record"):
        drift.offset_hz(np.array([-1]))
    with pytest.raises(ConfigError, match="outside the temperature record"):
        drift.temperature.temperature_c([2.5])


def test_unsorted_times_give_the_same_values_as_sorted():
    drift = hefei_frequency_drift(seed=0, duration_h=3.0)
    times = np.random.default_rng(2).integers(0, 3 * NS_PER_H, 1000)
    order = np.argsort(times)
    assert np.array_equal(drift.phase_rad(times)[order], drift.phase_rad(times[order]))


# --- the synthetic temperature -------------------------------------------------------------


def test_synthetic_temperature_has_its_documented_mean_swing_and_wander():
    # The preset's [drift] estimates, by their stated reasons: "a laboratory at 22 C", "+-0.5 K over
    # the day", "A daily cycle" (24 h), "warmest in the afternoon (15:00)", the run "taken to start at
    # midnight", the temperature "drawn every minute".
    model = diurnal(wander_std_k=0.0)
    assert (model.mean_c, model.amplitude_k, model.period_h, model.peak_hour) == (22.0, 0.5, 24.0, 15.0)
    assert (model.start_hour_of_day, model.step_s) == (0.0, 60.0)
    assert NET.tag("drift", "temperature_mean_c").source == "estimated"
    record = model.record(48.0, seed=0)
    assert record.times_h[0] == 0.0 and record.times_h[-1] >= 48.0
    assert np.allclose(np.diff(record.times_h), 1 / 60)
    t = record.times_h
    expected = 22.0 + 0.5 * np.cos(2 * math.pi * (t - 15.0) / 24.0)
    assert np.allclose(record.temperatures_c, expected, atol=1e-12)
    # The wander alone is a stationary OU: at knots 5 correlation times apart the values are
    # ~independent N(0, σ²); the sample variance of n is σ²(1 ± 5√(2/n)).
    wander = diurnal(amplitude_k=0.0, wander_std_k=0.2, wander_correlation_h=0.5, step_s=150.0)
    values = wander.record(20_000.0, seed=1).temperatures_c[::60] - 22.0
    assert abs(np.mean(values**2) / 0.04 - 1) <= 5 * math.sqrt(2 / values.size)


def test_synthetic_temperature_is_reproducible_from_the_seed():
    model = lab_temperature(NET.drift)
    a = model.record(10.0, seed=5)
    b = model.record(10.0, seed=5)
    c = model.record(10.0, seed=np.random.SeedSequence(5))
    assert np.array_equal(a.temperatures_c, b.temperatures_c)
    assert np.array_equal(a.temperatures_c, c.temperatures_c)
    assert not np.array_equal(a.temperatures_c, model.record(10.0, seed=6).temperatures_c)
    # The drift is built on the same record for the same seed.
    assert np.array_equal(hefei_frequency_drift(seed=5, duration_h=10.0).temperature.temperatures_c, a.temperatures_c)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: diurnal(wander_correlation_h=0.0), "wander_correlation_h"),
        (lambda: diurnal(amplitude_k=-1.0), "amplitude_k"),
        (lambda: diurnal(step_s=0.0), "step_s"),
        (lambda: diurnal(mean_c=-300.0), "mean_c"),
        (lambda: DiurnalTemperature(mean_c=22.0), "amplitude_k"),  # no built-in defaults any more
        (lambda: lab_temperature(NET.drift).record(-1.0, seed=0), "duration_h"),
        (lambda: lab_temperature(NET.drift).record(1.0, seed=-1), "seed"),
        (lambda: lab_temperature(NET.drift).record(1.0, seed=np.random.default_rng(0)), "seed"),
        (lambda: TemperatureRecord(times_h=[0.0, 0.0], temperatures_c=[1.0, 2.0]), "times_h"),
        (lambda: TemperatureRecord(times_h=[0.0], temperatures_c=[1.0]), "times_h"),
        (lambda: TemperatureRecord(times_h=[0.0, 1.0], temperatures_c=[1.0, float("nan")]), "temperatures_c"),
        (lambda: FrequencyDrift(temperature=None, coefficient_khz_per_k=1.0), "temperature"),  # type: ignore[arg-type]
        (lambda: FrequencyDrift(temperature=TemperatureRecord(times_h=[0, 1], temperatures_c=[20, 21]),
                                coefficient_khz_per_k=float("inf")), "coefficient_khz_per_k"),
        (lambda: cavity_drift(NET, duration_h=1.0, seed=-3), "seed"),
    ],
)
def test_bad_temperature_and_drift_parameters_are_refused(build, field):
    with pytest.raises(ConfigError, match=field):
        build()


def test_drift_without_a_record_or_a_seed_is_refused():
    # Neither a temperature record nor the duration and seed to draw one.
    with pytest.raises(ConfigError, match="seed"):
        cavity_drift(NET, duration_h=1.0)
    with pytest.raises(ConfigError, match="duration_h"):
        cavity_drift(NET, seed=0)


# --- CSV ---------------------------------------------------------------------------------


def write(tmp_path, text: str, name: str = "temperature.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_is_read_with_comments_any_column_order_and_interpolated(tmp_path):
    path = write(tmp_path, "# Bob's lab\ntemperature_c,time_h\n\n20.0,0\n22.0,2.0\n# a gap\n21.0,4\n")
    record = read_temperature_csv(path)
    assert np.array_equal(record.times_h, [0.0, 2.0, 4.0])
    assert record.temperature_c([1.0, 3.0]) == pytest.approx([21.0, 21.5])
    drift = FrequencyDrift(temperature=record, coefficient_khz_per_k=1.0)
    assert drift.offset_hz(np.array([NS_PER_H]))[0] == pytest.approx(1e3)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no header row"),
        ("time_h,temperature_c,temp\n0,20,1\n", r"row 1, field 'temp': unknown column"),
        # A misspelt column: the missing one is named, with the columns expected.
        ("time_h,temp\n0,20\n", r"row 1, field 'temperature_c': missing column\(s\) temperature_c; expected time_h,temperature_c"),
        ("time_h\n0\n1\n", r"row 1, field 'temperature_c': missing column\(s\) temperature_c"),
        ("time_h,temperature_c,time_h\n", r"row 1, field 'time_h': column given twice"),
        ("time_h,temperature_c\n0,20\n1,20,3\n", r"row 3: expected 2 fields"),
        ("time_h,temperature_c\n0,20\nabc,21\n", r"row 3, field 'time_h': 'abc' is not a number"),
        ("time_h,temperature_c\n0,20\n1,\n", r"row 3, field 'temperature_c': '' is not a number"),
        ("time_h,temperature_c\n0,20\n1,nan\n", r"row 3, field 'temperature_c': expected a finite number, got nan"),
        (
            "time_h,temperature_c\n0,20\n# note\n2,21\n1.5,22\n",
            r"row 5, field 'time_h': '1.5' is not after the previous time 2 \(row 4\)",
        ),
        (
            "time_h,temperature_c\n0,20\n1,-300\n",
            r"row 3, field 'temperature_c': -300.0 is outside the allowed range \(-273.15, inf\)",
        ),
        (
            "time_h,temperature_c\n0,20\n1,-273.15\n",
            r"row 3, field 'temperature_c': -273.15 is outside the allowed range \(-273.15, inf\)",
        ),
        ("time_h,temperature_c\n0,20\n", "at least 2 data rows"),
    ],
)
def test_bad_csv_files_are_refused_naming_row_and_field(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as error:
        read_temperature_csv(path)
    assert str(path) in str(error.value)


def test_missing_and_non_utf8_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_temperature_csv(tmp_path / "nope.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("time_h,temperature_c\n0,20\n1,2\xb0\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_temperature_csv(path)
