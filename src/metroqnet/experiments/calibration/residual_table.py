"""The phase loop's residual, tabulated once over one prior's range, for a likelihood that cannot run the loop per call.

The link's phase error at the write is the loop's residual
(:mod:`metroqnet.experiments.link_setup`), and the paper's 17° is that residual as
the additional probe reads it. A loop run takes ~0.2 s: far too slow per likelihood
call. So the calibration runs the loop once per point of a grid over the prior of
the one estimated value that drives the loop (e.g. the lasers' coherence time),
at every repetition rate the fitted numbers need, and interpolates.

Each grid run is exactly the run :func:`~metroqnet.experiments.link_setup.write_residual_std_rad`
makes (its trials, its seed, the node pair in sorted order), so at a grid point the table
gives the same σ as every command that applies the calibrated value; the same seed at
every grid point (common random numbers) makes the table smooth in the value.
Between grid points a monotone cubic (PCHIP) in the prior's own scale interpolates;
:attr:`ResidualTable.interpolation_check_deg` records its error at a point between grid
points, measured by a loop run there: in the interval and at the loop setting where a curve
(σ at the write or as the probe reads it) bends most, the larger of the two errors (the
calibration reports it, and the difference at the MAP).

With no loop-driving prior the table is one run per rate (constants).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.priors import Prior
from metroqnet.experiments.link_setup import WRITE_RESIDUAL_SEED, WRITE_RESIDUAL_TRIALS, loop_setup
from metroqnet.experiments.phase_stabilization import residual_phase

#: Grid points over the loop prior's range (uniform in its scale, ends included). The lasers' coherence
#: time over 0.5-10 ms (log) moves σ at the write from ~55° to ~8° at 2.76 kHz, most of it between 1 and
#: 3 ms: 13 points (a factor 1.28 apart) keep the interpolation within ~0.1° there (a loop run is ~0.2 s).
GRID_POINTS = 13

ApplyValues = Callable[[NetworkHardware, Mapping[str, float]], NetworkHardware]
#: A loop run's setting: (node pair in sorted order, repetition rate in Hz).
LoopSetting = tuple[tuple[str, str], float]


def _loop_inputs(network: NetworkHardware, setting: LoopSetting) -> tuple[object, ...]:
    setup = loop_setup(network, *setting[0], repetition_rate_hz=setting[1])
    return setup.settings, setup.calibration, setup.noise


def loop_priors(
    network: NetworkHardware, priors: Sequence[Prior], settings: Sequence[LoopSetting], apply: ApplyValues
) -> list[Prior]:
    """The priors whose value changes the loop (its settings, calibration or noise) at any of ``settings``."""
    driving = []
    for prior in priors:
        for setting in settings:
            ends = [_loop_inputs(apply(network, {prior.key: value}), setting) for value in (prior.low, prior.high)]
            if ends[0] != ends[1]:
                driving.append(prior)
                break
    return driving


@dataclass(frozen=True)
class ResidualTable:
    """σ of the loop's residual at the write (rad) per repetition rate, and as the additional probe reads it (deg).

    ``prior`` is the tabulated value's prior (None: constants); ``grid_unit`` its
    grid in unit coordinates (0 at low, 1 at high, in the prior's scale);
    ``write_rad[setting]`` and ``probe_deg[setting]`` the values on the grid, per
    loop setting: (node pair in sorted order, repetition rate).
    """

    prior: Prior | None
    grid_unit: np.ndarray
    write_rad: Mapping[LoopSetting, np.ndarray]
    probe_deg: Mapping[LoopSetting, np.ndarray]
    trials: int
    seed: int
    interpolation_check_deg: float | None = None

    def _interpolate(self, table: np.ndarray, unit: np.ndarray) -> np.ndarray:
        if self.prior is None:
            return np.full(np.shape(unit), float(table[0]))
        return PchipInterpolator(self.grid_unit, table)(np.clip(unit, 0.0, 1.0))

    def write_residual_rad(self, setting: LoopSetting, unit: np.ndarray) -> np.ndarray:
        """σ at the write (rad) at the loop prior's unit coordinate(s)."""
        return self._interpolate(self._at(self.write_rad, setting), np.asarray(unit, dtype=float))

    def probe_residual_deg(self, setting: LoopSetting, unit: np.ndarray) -> np.ndarray:
        """σ as the additional probe reads it (deg)."""
        return self._interpolate(self._at(self.probe_deg, setting), np.asarray(unit, dtype=float))

    def _at(self, tables: Mapping[LoopSetting, np.ndarray], setting: LoopSetting) -> np.ndarray:
        if setting not in tables:
            raise ConfigError.at("loop setting", f"{_name(setting)} is not tabulated; "
                                 f"tabulated: {', '.join(map(_name, tables))}")
        return tables[setting]

    def as_dict(self) -> dict[str, object]:
        return {
            "value": None if self.prior is None else self.prior.key,
            "grid": [] if self.prior is None else [float(self.prior.from_unit(u)) for u in self.grid_unit],
            "write_residual_deg": {_name(setting): [math.degrees(v) for v in values]
                                   for setting, values in self.write_rad.items()},
            "probe_residual_deg": {_name(setting): [float(v) for v in values]
                                   for setting, values in self.probe_deg.items()},
            "trials": self.trials,
            "seed": self.seed,
            "interpolation_check_deg": self.interpolation_check_deg,
        }


def loop_setting(nodes: tuple[str, str], rate_hz: float) -> LoopSetting:
    """The key of a loop run: the node pair in sorted order (the loop is the same for X–Y and Y–X) and the rate."""
    first, second = sorted(nodes)
    return (first, second), float(rate_hz)


def _name(setting: LoopSetting) -> str:
    return f"{'-'.join(setting[0])} at {setting[1]:g} Hz"


def _run(network: NetworkHardware, setting: LoopSetting) -> tuple[float, float]:
    setup = loop_setup(network, *setting[0], repetition_rate_hz=setting[1])
    result = residual_phase(setup, trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)
    return result.at_write.std_rad, result.measured_std_deg


def residual_table(
    network: NetworkHardware,
    *,
    prior: Prior | None,
    settings: Sequence[LoopSetting],
    apply: ApplyValues,
    grid_points: int = GRID_POINTS,
    progress: Callable[[int], None] | None = None,
) -> ResidualTable:
    """Run the loop at each grid point and rate (see the module doc); ``progress(1)`` after each run."""
    settings = tuple(sorted(set(settings)))
    grid = np.linspace(0.0, 1.0, grid_points) if prior is not None else np.zeros(1)
    write = {setting: np.empty(grid.size) for setting in settings}
    probe = {setting: np.empty(grid.size) for setting in settings}
    for index, unit in enumerate(grid):
        point = network if prior is None else apply(network, {prior.key: float(prior.from_unit(unit))})
        for setting in settings:
            write[setting][index], probe[setting][index] = _run(point, setting)
            if progress is not None:
                progress(1)
    table = ResidualTable(prior=prior, grid_unit=grid, write_rad=write, probe_deg=probe,
                          trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)
    if prior is None or grid_points < 2:
        return table
    # The interpolation's error where it is largest for a smooth curve: between the two grid points
    # where a curve bends most (the largest second difference, in degrees, over every setting and both curves).
    setting, left = settings[0], 0
    if grid.size > 2:
        bends = {(s, int(np.argmax(b))): float(np.max(b)) for s in settings
                 for b in (np.abs(np.diff(np.degrees(write[s]), 2)), np.abs(np.diff(probe[s], 2)))}
        setting, left = max(bends, key=lambda key: (bends[key], key))
    middle = 0.5 * (grid[left] + grid[left + 1])
    point = apply(network, {prior.key: float(prior.from_unit(middle))})
    write_run, probe_run = _run(point, setting)
    errors = (math.degrees(float(table.write_residual_rad(setting, np.array(middle))) - write_run),
              float(table.probe_residual_deg(setting, np.array(middle))) - probe_run)
    error = max(errors, key=abs)
    if progress is not None:
        progress(1)
    return dataclasses.replace(table, interpolation_check_deg=error)


def table_runs(prior: Prior | None, settings: Sequence[LoopSetting], grid_points: int = GRID_POINTS) -> int:
    """How many loop runs :func:`residual_table` makes (for a progress bar)."""
    count = len(set(settings))
    return count if prior is None else grid_points * count + 1
