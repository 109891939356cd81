"""How the residual phase of Fig. 2b depends on the loop's uncertain inputs: one input at a time over its range.

:func:`sensitivity_table` runs :func:`~metroqnet.experiments.phase_stabilization.residual_phase`
at the preset's values and at each end of each input's plausible range (:data:`LOOP_INPUTS`,
each range with its reason), every point on the same seed (common random numbers: the
differences between points are the inputs', not the draws'), and reports σ as the additional
probe reads it (the paper's 17°) and at the write. ``docs/control_noise.md`` holds the table
for the Hefei preset; regenerate it with::

    from metroqnet import load_preset
    from metroqnet.experiments.phase_stabilization import stabilization_setup
    from metroqnet.experiments.loop_sensitivity import sensitivity_table
    print(sensitivity_table(stabilization_setup(load_preset("hefei2024")), trials=200_000, seed=9).markdown())
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, seed_record
from metroqnet.experiments.phase_stabilization import (
    StabilizationSetup,
    check_trials,
    residual_phase,
    stabilization_setup,
)

__all__ = ["LOOP_INPUTS", "LoopInput", "SensitivityRow", "SensitivityTable", "sensitivity_table"]


@dataclass(frozen=True)
class LoopInput:
    """An uncertain input of the loop: the hardware fields set together, the range and why.

    ``owner`` is ``"nodes"`` (every node's fields) or ``"server"``; ``direction`` the sign σ is
    expected to move with the value (+1, −1), 0 where no direction is claimed.
    """

    name: str
    owner: str
    fields: tuple[str, ...]
    unit: str
    low: float
    high: float
    reason: str
    direction: int = 0

    def apply(self, network: NetworkHardware, value: float) -> NetworkHardware:
        """``network`` with this input's fields set to ``value`` (validated again)."""
        changes = {name: value for name in self.fields}
        if self.owner == "nodes":
            nodes = {key: node.replace(**changes) for key, node in network.nodes.items()}
            return dataclasses.replace(network, nodes=nodes)
        if self.owner == "server":
            return dataclasses.replace(network, server=network.server.replace(**changes))
        raise ConfigError.at("owner", f"{self.owner!r} is not 'nodes' or 'server'")


LASERS = ("laser", "pump_laser")

#: The loop's uncertain inputs, each over its plausible range (the preset's tags give the values' sources).
LOOP_INPUTS = (
    LoopInput("laser coherence time (write and pump lasers)", "nodes",
              tuple(f"{laser}_coherence_time_ms" for laser in LASERS), "ms", 0.5, 2.0,
              "the paper's 'about 1 ms', read as each laser's 1/e time, within a factor of 2", -1),
    LoopInput("white floor of each laser (white/technical split)", "nodes",
              tuple(f"{laser}_white_linewidth_hz" for laser in LASERS), "Hz", 1.0, 100.0,
              "PDH-locked diode lasers: a few to tens of Hz; the technical noise takes the rest of the 1 ms", +1),
    LoopInput("correlation time of the lasers' technical noise", "nodes",
              tuple(f"{laser}_technical_correlation_ms" for laser in LASERS), "ms", 0.5, 2.5,
              "acoustic band of a reference cavity; above ~2.5 ms the calibration's windows chase it by > 0.15 kHz"),
    LoopInput("fibre acoustic variance", "nodes", ("fibre_acoustic_variance_rad2_per_km",), "rad²/km", 0.0025, 0.01,
              "estimated (no fibre-noise figures in the paper): a factor of 2 either way", +1),
    LoopInput("fibre acoustic correlation time", "nodes", ("fibre_acoustic_correlation_us",), "µs", 100.0, 1000.0,
              "vibration and sound from ~160 Hz to ~1.6 kHz"),
    LoopInput("fibre thermal rate", "nodes", ("fibre_thermal_rate_rad_per_s_per_km",), "rad/s/km", 1.0, 4.0,
              "estimated: a factor of 2 either way (slow: it moves the phase ~0.01 rad between trials)"),
    LoopInput("probe visibility", "server", ("probe_visibility",), "", 0.85, 0.99,
              "not given; Fig. 2b shows a clear fringe", -1),
    LoopInput("probe photons per node", "server", ("probe_photons_per_node",), "", 30.0, 50.0,
              "the paper's 'about 40 photons upon arrival at the beamsplitter'", -1),
    LoopInput("feedback latency", "server", ("feedback_latency_us",), "µs", 1.0, 2.0,
              "the paper's 'the feedback takes up to 2 µs'"),
    LoopInput("SNSPD efficiency (probe detection)", "server", ("snspd_efficiency",), "", 0.6, 0.8,
              "estimated ~0.7 for 1342 nm", -1),
)


@dataclass(frozen=True)
class SensitivityRow:
    """σ (degrees) at the low end, the preset's value and the high end, as the additional probe reads it and at the
    write; ``preset`` is the preset's value of the input's first field."""

    input: LoopInput
    preset: float
    measured_deg: tuple[float, float, float]
    write_deg: tuple[float, float, float]


@dataclass(frozen=True)
class SensitivityTable:
    """The rows of :func:`sensitivity_table`, one round against two, and the seed every point ran on."""

    rows: tuple[SensitivityRow, ...]
    one_round: tuple[float, float]  # (measured, write) degrees with one probe round, the rest at the preset
    two_rounds: tuple[float, float]
    trials: int
    seed: dict[str, object]

    def markdown(self) -> str:
        """The table as Markdown (degrees, one decimal)."""
        lines = [
            "| input | range (why) | σ read by the additional probe: low / preset / high | σ at the write: low / preset / high |",
            "|---|---|---|---|",
        ]
        for row in self.rows:
            unit = f" {row.input.unit}" if row.input.unit else ""
            span = f"{row.input.low:g}–{row.input.high:g}{unit}, preset {row.preset:g} ({row.input.reason})"
            measured = " / ".join(f"{v:.1f}°" for v in row.measured_deg)
            write = " / ".join(f"{v:.1f}°" for v in row.write_deg)
            lines.append(f"| {row.input.name} | {span} | {measured} | {write} |")
        lines.append(
            f"| probe rounds | one or two (the paper: 'executed twice for better performance') | "
            f"one {self.one_round[0]:.1f}° / two {self.two_rounds[0]:.1f}° | "
            f"one {self.one_round[1]:.1f}° / two {self.two_rounds[1]:.1f}° |"
        )
        return "\n".join(lines)


def _point(setup: StabilizationSetup, network: NetworkHardware, trials: int, seed: Seed) -> tuple[float, float]:
    point = stabilization_setup(network, setup.experiment)
    result = residual_phase(point, trials=trials, seed=seed)
    return result.measured_std_deg, result.std_deg


def sensitivity_table(
    setup: StabilizationSetup, *, trials: int, seed: Seed, inputs: tuple[LoopInput, ...] = LOOP_INPUTS
) -> SensitivityTable:
    """σ of the residual at the preset's values and at each end of each input's range (module docstring)."""
    trials = check_trials(trials)
    network = setup.network
    base = _point(setup, network, trials, seed)
    rows = []
    for spec in inputs:
        owner = network.nodes[setup.nodes[0]] if spec.owner == "nodes" else network.server
        preset = float(getattr(owner, spec.fields[0]))
        low = _point(setup, spec.apply(network, spec.low), trials, seed)
        high = _point(setup, spec.apply(network, spec.high), trials, seed)
        rows.append(SensitivityRow(spec, preset, (low[0], base[0], high[0]), (low[1], base[1], high[1])))
    rounds = network.server.probe_rounds
    other = _point(setup, dataclasses.replace(network, server=network.server.replace(probe_rounds=3 - rounds)),
                   trials, seed)
    one, two = (base, other) if rounds == 1 else (other, base)
    return SensitivityTable(tuple(rows), one, two, trials, seed_record(seed))
