"""Temperature records that drive the reference cavities' frequency drift.

A :class:`TemperatureRecord` is a table of (time_h, temperature_c) knots,
interpolated linearly between knots and refused outside them. Time 0 h is the
start of the simulation (t = 0 ns). Knot times are held in integer ns
(rounded from hours), the time axis of every process.

Two sources:

- :func:`read_temperature_csv` — a user's CSV with the columns ``time_h`` and
  ``temperature_c`` (header row required, any order; ``#`` lines and blank lines
  ignored; UTF-8). A bad file is refused with a message naming the file, the
  row (line number in the file, counted from 1) and the field.
- :class:`DiurnalTemperature` — a synthetic lab temperature:

      T(t) = mean_c + amplitude_k · cos(2π (t + start_hour_of_day − peak_hour) / period_h) + w(t),

  w an Ornstein–Uhlenbeck wander (std ``wander_std_k``, correlation time
  ``wander_correlation_h``, stationary start), sampled exactly every ``step_s``.
  Defaults (estimated, not in the paper): a lab whose air conditioning holds the
  temperature to ±0.5 K over the day, warmest at 15:00, with a slower ±0.05 K (rms) wander
  over hours. The paper's Fig. 2d only shows that the drift follows Bob's
  temperature; its scale is set with the drift coefficient
  (:mod:`metroqnet.physics.frequency_drift`).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import require_non_negative, require_number, require_positive, require_range
from metroqnet.noise._scan import decaying_sum, step_growth
from metroqnet.noise.processes import as_times_ns, require_generator

__all__ = ["COLUMNS", "DiurnalTemperature", "TemperatureRecord", "read_temperature_csv"]

COLUMNS = ("time_h", "temperature_c")
NS_PER_H = 3.6e12
S_PER_H = 3600.0
ABSOLUTE_ZERO_C = -273.15


@dataclass(frozen=True, kw_only=True, eq=False)
class TemperatureRecord:
    """Temperature knots (``times_h`` strictly increasing, ``temperatures_c``), linear in between."""

    times_h: np.ndarray
    temperatures_c: np.ndarray
    source: str = "given"
    knots_ns: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        times = np.array(self.times_h, dtype=float)
        temps = np.array(self.temperatures_c, dtype=float)
        if times.ndim != 1 or temps.shape != times.shape or times.size < 2:
            raise ConfigError(
                f"times_h, temperatures_c: expected two 1-D arrays of equal length >= 2, got shapes "
                f"{times.shape} and {temps.shape}"
            )
        for name, values in (("times_h", times), ("temperatures_c", temps)):
            if not np.all(np.isfinite(values)):
                raise ConfigError(f"{name}: element {int(np.argmin(np.isfinite(values)))} is not finite")
        if np.any(temps <= ABSOLUTE_ZERO_C):
            raise ConfigError(f"temperatures_c: {temps.min()!r} is below absolute zero ({ABSOLUTE_ZERO_C} °C)")
        knots = np.rint(times * NS_PER_H).astype(np.int64)
        if np.any(np.diff(knots) <= 0):
            bad = int(np.argmax(np.diff(knots) <= 0)) + 1
            raise ConfigError(
                f"times_h: must increase strictly; element {bad} is {times[bad]!r} after {times[bad - 1]!r}"
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


@dataclass(frozen=True, kw_only=True)
class DiurnalTemperature:
    """Synthetic lab temperature: a daily cosine plus an OU wander (module docstring)."""

    mean_c: float = 22.0
    amplitude_k: float = 0.5
    period_h: float = 24.0
    peak_hour: float = 15.0
    start_hour_of_day: float = 0.0
    wander_std_k: float = 0.05
    wander_correlation_h: float = 6.0
    step_s: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_c", require_range("mean_c", self.mean_c, low=ABSOLUTE_ZERO_C, low_open=True))
        for name in ("amplitude_k", "wander_std_k"):
            object.__setattr__(self, name, require_non_negative(name, getattr(self, name)))
        for name in ("period_h", "wander_correlation_h", "step_s"):
            object.__setattr__(self, name, require_positive(name, getattr(self, name)))
        for name in ("peak_hour", "start_hour_of_day"):
            object.__setattr__(self, name, require_number(name, getattr(self, name)))

    def record(self, duration_h: float, *, rng: np.random.Generator) -> TemperatureRecord:
        """Knots every ``step_s`` from 0 h to at least ``duration_h``."""
        duration = require_positive("duration_h", duration_h)
        require_generator(rng)
        step_h = self.step_s / S_PER_H
        knots = int(math.ceil(duration / step_h - 1e-9)) + 1
        times = np.arange(knots) * step_h
        phase = 2.0 * math.pi * (times + self.start_hour_of_day - self.peak_hour) / self.period_h
        step_decay = step_h / self.wander_correlation_h
        decay = np.full(knots, step_decay)
        decay[0] = 0.0  # the first knot is the stationary start itself
        start = self.wander_std_k * float(rng.standard_normal())
        kicks = self.wander_std_k * math.sqrt(-math.expm1(-2.0 * step_decay)) * rng.standard_normal(knots)
        kicks[0] = 0.0
        wander = decaying_sum(step_growth(decay), kicks, start)
        temps = self.mean_c + self.amplitude_k * np.cos(phase) + wander
        return TemperatureRecord(times_h=times, temperatures_c=temps, source="synthetic diurnal")


def _refuse(path: str | os.PathLike[str], row: int | None, column: str | None, message: str) -> ConfigError:
    where = str(path)
    if row is not None:
        where += f": row {row}"
    if column is not None:
        where += f", field {column!r}"
    return ConfigError(f"{where}: {message}")


def read_temperature_csv(path: str | os.PathLike[str]) -> TemperatureRecord:
    """A temperature record from a CSV with columns ``time_h`` and ``temperature_c`` (module docstring)."""
    file_path = Path(path)
    if not file_path.is_file():
        raise _refuse(path, None, None, "file does not exist")
    try:
        text = file_path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise _refuse(path, None, None, f"cannot read the file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise _refuse(path, None, None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    header: list[str] | None = None
    times: list[float] = []
    temps: list[float] = []
    previous_row = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = [cell.strip() for cell in next(csv.reader([stripped]))]
        if header is None:
            header = _header(path, number, cells)
            continue
        if len(cells) != len(header):
            raise _refuse(path, number, None, f"expected {len(header)} fields ({', '.join(header)}), got {len(cells)}")
        values = dict(zip(header, cells, strict=True))
        time_h = _cell(path, number, "time_h", values["time_h"])
        temperature = _cell(path, number, "temperature_c", values["temperature_c"])
        if temperature <= ABSOLUTE_ZERO_C:
            raise _refuse(path, number, "temperature_c", f"{values['temperature_c']!r} is below absolute zero")
        if times and time_h <= times[-1]:
            raise _refuse(
                path,
                number,
                "time_h",
                f"{values['time_h']!r} is not after the previous time {times[-1]:g} (row {previous_row})",
            )
        times.append(time_h)
        temps.append(temperature)
        previous_row = number
    if header is None:
        raise _refuse(path, None, None, f"no header row; expected the columns {', '.join(COLUMNS)}")
    if len(times) < 2:
        raise _refuse(path, None, None, f"needs at least 2 data rows to interpolate, got {len(times)}")
    try:
        return TemperatureRecord(times_h=np.array(times), temperatures_c=np.array(temps), source=str(path))
    except ConfigError as error:  # two times closer than 1 ns
        raise _refuse(path, None, "time_h", str(error)) from None


def _header(path: str | os.PathLike[str], row: int, cells: list[str]) -> list[str]:
    for cell in cells:
        if cell not in COLUMNS:
            raise _refuse(path, row, cell, f"unknown column; the columns are {', '.join(COLUMNS)}")
    for column in COLUMNS:
        if cells.count(column) != 1:
            state = "missing" if column not in cells else "repeated"
            raise _refuse(path, row, column, f"column {state} in the header; the columns are {', '.join(COLUMNS)}")
    return cells


def _cell(path: str | os.PathLike[str], row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _refuse(path, row, column, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _refuse(path, row, column, f"{text!r} is not a finite number")
    return value
