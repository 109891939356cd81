"""Temperature records that drive the reference cavities' frequency drift.

A :class:`TemperatureRecord` is a table of (time_h, temperature_c) knots,
interpolated linearly between knots and refused outside them. Time 0 h is the
start of the simulation (t = 0 ns). Knot times are held in integer ns
(rounded from hours), the time axis of every process.

Two sources:

- :func:`read_temperature_csv` — a user's CSV with the columns ``time_h`` and
  ``temperature_c`` (header row required, any order; ``#`` lines and blank lines
  ignored; UTF-8; :func:`metroqnet.config.files.read_table`). A bad file is refused
  with a message naming the file, the row (line number in the file, counted from 1)
  and the field.
- :class:`DiurnalTemperature` — a synthetic lab temperature:

      T(t) = mean_c + amplitude_k · cos(2π (t + start_hour_of_day − peak_hour) / period_h) + w(t),

  w an Ornstein–Uhlenbeck wander (std ``wander_std_k``, correlation time
  ``wander_correlation_h``, stationary start), sampled exactly every ``step_s``.
  The values come from a preset's ``[drift]`` table
  (:func:`metroqnet.physics.noise_mapping.lab_temperature`). The paper's Fig. 2d only
  shows that the drift follows Bob's temperature; its scale is set with the drift
  coefficient (:mod:`metroqnet.physics.frequency_drift`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import file_refusal, read_table
from metroqnet.config.seeds import Seed, generator
from metroqnet.config.units import ABSOLUTE_ZERO_C, NS_PER_H, S_PER_H
from metroqnet.config.validation import NonNegative, Number, Positive, bounded, check, check_array, parameters
from metroqnet.noise.processes import as_times_ns
from metroqnet.noise.recurrence import decaying_sum

__all__ = ["COLUMNS", "DiurnalTemperature", "TemperatureRecord", "read_temperature_csv"]

COLUMNS = ("time_h", "temperature_c")
#: The most knots a synthetic record draws (8 bytes each, twice): a year at one per second.
MAX_KNOTS = 40_000_000
#: A temperature in °C: above absolute zero.
Celsius = bounded(gt=ABSOLUTE_ZERO_C)


@dataclass(frozen=True, kw_only=True, eq=False)
class TemperatureRecord:
    """Temperature knots (``times_h`` strictly increasing, ``temperatures_c``), linear in between."""

    times_h: np.ndarray
    temperatures_c: np.ndarray
    #: Where the knots come from (a file, "synthetic diurnal"): a label, not part of the record's identity.
    source: str = field(default="given", metadata={"identity": False})
    knots_ns: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        times = np.array(check_array("times_h", self.times_h, Number), dtype=float)
        temps = np.array(check_array("temperatures_c", self.temperatures_c, Celsius), dtype=float)
        if times.ndim != 1 or temps.shape != times.shape or times.size < 2:
            raise ConfigError.at(
                "times_h, temperatures_c",
                f"expected two 1-D arrays of equal length >= 2, got shapes {times.shape} and {temps.shape}",
            )
        knots = np.rint(times * NS_PER_H).astype(np.int64)
        if np.any(np.diff(knots) <= 0):
            bad = int(np.argmax(np.diff(knots) <= 0)) + 1
            raise ConfigError.at(
                "times_h", f"must increase strictly (by 1 ns at least); element {bad} is {times[bad]!r} after "
                f"{times[bad - 1]!r}"
            )
        for array in (times, temps, knots):
            array.setflags(write=False)
        object.__setattr__(self, "times_h", times)
        object.__setattr__(self, "temperatures_c", temps)
        object.__setattr__(self, "knots_ns", knots)

    @property
    def start_ns(self) -> int:
        return int(self.knots_ns[0])

    @property
    def end_ns(self) -> int:
        return int(self.knots_ns[-1])

    def segments(self, times_ns: Any) -> tuple[np.ndarray, np.ndarray]:
        """For each time: the index i of its segment [knot_i, knot_i+1] and the ns since knot_i (refused outside)."""
        times = as_times_ns(times_ns)
        if times.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        ordered = bool(np.all(times[1:] >= times[:-1]))
        low, high = (int(times[0]), int(times[-1])) if ordered else (int(times.min()), int(times.max()))
        if low < self.start_ns or high > self.end_ns:
            outside = times[(times < self.start_ns) | (times > self.end_ns)][0]
            raise ConfigError(
                f"times_ns: {int(outside)} ns ({outside / NS_PER_H:g} h) is outside the temperature record "
                f"[{self.times_h[0]:g} h, {self.times_h[-1]:g} h] ({self.source})"
            )
        last = self.knots_ns.size - 2
        if ordered:
            # Sorted times: place the few knots among the many times, then repeat each segment index.
            first_at = np.searchsorted(times, self.knots_ns[1:-1], side="left")
            counts = np.diff(np.concatenate([[0], first_at, [times.size]]))
            index = np.repeat(np.arange(last + 1), counts)
        else:
            index = np.clip(np.searchsorted(self.knots_ns, times, side="right") - 1, 0, last)
        return index, times - self.knots_ns[index]

    def temperature_at_ns(self, times_ns: Any) -> np.ndarray:
        """T (°C) at integer times in ns, linear between knots."""
        index, since = self.segments(times_ns)
        span = np.diff(self.knots_ns)[index]
        slope = np.diff(self.temperatures_c)[index]
        return self.temperatures_c[index] + slope * (since / span)

    def temperature_c(self, times_h: Any) -> np.ndarray:
        """T (°C) at times in hours (rounded to the ns)."""
        hours = np.asarray(times_h, dtype=float)
        return self.temperature_at_ns(np.rint(hours * NS_PER_H).astype(np.int64))


@parameters
class DiurnalTemperature:
    """Synthetic lab temperature: a daily cosine plus an OU wander (module docstring)."""

    mean_c: Celsius  # type: ignore[valid-type]
    amplitude_k: NonNegative
    period_h: Positive
    peak_hour: Number
    start_hour_of_day: Number
    wander_std_k: NonNegative
    wander_correlation_h: Positive
    step_s: Positive

    def record(self, duration_h: float, *, seed: Seed) -> TemperatureRecord:
        """Knots every ``step_s`` from 0 h to at least ``duration_h``, the wander drawn from ``seed``."""
        duration = check("duration_h", duration_h, Positive)
        rng = generator(seed)
        step_h = self.step_s / S_PER_H
        knots = int(math.ceil(duration / step_h - 1e-9)) + 1
        if knots > MAX_KNOTS:
            raise ConfigError.at(
                "step_s", f"{self.step_s:g} s over {duration:g} h is {knots:.3g} knots, more than the {MAX_KNOTS:.0e} a "
                "record holds in memory; use a longer step"
            )
        times = np.arange(knots) * step_h
        phase = 2.0 * math.pi * (times + self.start_hour_of_day - self.peak_hour) / self.period_h
        step_decay = step_h / self.wander_correlation_h
        decay = np.full(knots, step_decay)
        decay[0] = 0.0  # the first knot is the stationary start itself
        start = self.wander_std_k * float(rng.standard_normal())
        kicks = self.wander_std_k * math.sqrt(-math.expm1(-2.0 * step_decay)) * rng.standard_normal(knots)
        kicks[0] = 0.0
        wander = decaying_sum(np.exp(-decay), kicks, start)
        temps = self.mean_c + self.amplitude_k * np.cos(phase) + wander
        return TemperatureRecord(times_h=times, temperatures_c=temps, source="synthetic diurnal")


def read_temperature_csv(path: str | os.PathLike[str]) -> TemperatureRecord:
    """A temperature record from a CSV with columns ``time_h`` and ``temperature_c`` (module docstring)."""
    _, rows = read_table(path, COLUMNS, what="temperature file")
    times: list[float] = []
    temps: list[float] = []
    previous_row = 0
    for data in rows:
        number, values = data.row, data.cells
        time_h = _cell(path, number, "time_h", values["time_h"], Number)
        temperature = _cell(path, number, "temperature_c", values["temperature_c"], Celsius)
        if times and time_h <= times[-1]:
            raise file_refusal(
                path, number, "time_h", f"{values['time_h']!r} is not after the previous time {times[-1]:g} (row {previous_row})"
            )
        times.append(time_h)
        temps.append(temperature)
        previous_row = number
    if len(times) < 2:
        raise file_refusal(path, None, None, f"needs at least 2 data rows to interpolate, got {len(times)}")
    try:
        return TemperatureRecord(times_h=np.array(times), temperatures_c=np.array(temps), source=str(path))
    except ConfigError as error:  # two times closer than 1 ns
        raise file_refusal(path, None, "time_h", error.detail or str(error)) from None


def _cell(path: str | os.PathLike[str], row: int, column: str, text: str, quantity: Any) -> float:
    try:
        value = float(text)
    except ValueError:
        raise file_refusal(path, row, column, f"{text!r} is not a number") from None
    try:
        return check(column, value, quantity)
    except ConfigError as error:
        raise file_refusal(path, row, column, error.detail or str(error)) from None
