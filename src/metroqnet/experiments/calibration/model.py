"""The forward model of a calibration: estimated values → every published number, for many points at once.

A point is a vector of unit coordinates, one per prior (0 at the prior's low end, 1 at
its high end, in its scale). For each point the model

1. sets the values in the network (:func:`with_values`, the key paths of the priors);
2. takes the loop's residual at the write from the :class:`ResidualTable` (interpolated
   at the loop prior's coordinate), per loop setting (node pair, repetition rate);
3. maps the network to the link parameters of each link the numbers need, with
   :func:`metroqnet.physics.mapping.link_parameters` and each experiment's declared
   settings (storage, rate, herald scale), as
   :func:`metroqnet.experiments.link_setup.experiment_link_parameters` does with the
   loop run in place of the table;
4. evaluates all points' links in one call of the batch exact engine
   (:func:`metroqnet.link.batch.evaluate_links`) and reads each number.

A point the mapping refuses (a value combination outside a derived range, e.g. a
herald scale that would make a path transmit more than 1) is invalid: NaN numbers, and
the posterior gives it probability 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.priors import Prior
from metroqnet.config.provenance import Provenance
from metroqnet.experiments.calibration.residual_table import LoopSetting, ResidualTable, loop_setting
from metroqnet.experiments.calibration.targets import LOOP_QUANTITY, Target
from metroqnet.experiments.link_setup import herald_transmission_scale
from metroqnet.link.batch import LinkBatchResult, evaluate_links
from metroqnet.physics.mapping import link_parameters

#: Experiment fields that are a run's published setting, not an estimate: no prior may vary them.
RUN_SETTINGS = ("storage_us", "repetition_rate_hz", "duration_h")


def with_values(
    network: NetworkHardware, values: Mapping[str, float], *, reason: Mapping[str, str] | None = None
) -> NetworkHardware:
    """``network`` with each key path of ``values`` set (validated again); tagged ``calibrated`` with ``reason[key]``.

    Key paths: ``nodes.*.FIELD``, ``nodes.NAME.FIELD``, ``server.FIELD``, ``drift.FIELD``,
    ``experiments.NAME.FIELD`` (:mod:`metroqnet.config.priors`). Without ``reason`` the
    provenance is left as it was (the forward model's points, never shown).
    """
    node_changes: dict[str, dict[str, float]] = {}
    server: dict[str, float] = {}
    drift: dict[str, float] = {}
    experiments: dict[str, dict[str, float]] = {}
    tags: dict[tuple[str, str], str] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "nodes":
            names = list(network.nodes) if parts[1] == "*" else [parts[1]]
            for name in names:
                node_changes.setdefault(name, {})[parts[2]] = value
                tags[(name, parts[2])] = key
        elif parts[0] == "server":
            server[parts[1]] = value
            tags[("server", parts[1])] = key
        elif parts[0] == "drift":
            drift[parts[1]] = value
            tags[("drift", parts[1])] = key
        elif parts[0] == "experiments":
            experiments.setdefault(parts[1], {})[parts[2]] = value
            tags[(parts[1], parts[2])] = key
        else:
            raise ConfigError.at(key, "is not a key path of a hardware value")
    changes: dict[str, object] = {}
    if node_changes:
        changes["nodes"] = {name: node.replace(**node_changes[name]) if name in node_changes else node
                            for name, node in network.nodes.items()}
    if server:
        changes["server"] = network.server.replace(**server)
    if drift:
        changes["drift"] = dataclasses.replace(network.drift, **drift)
    if experiments:
        changes["experiments"] = {name: dataclasses.replace(experiment, **experiments[name])
                                  if name in experiments else experiment
                                  for name, experiment in network.experiments.items()}
    if reason is not None:
        provenance = dict(network.provenance)
        for owner_field, key in tags.items():
            provenance[owner_field] = Provenance(source="calibrated", reason=reason[key])
        changes["provenance"] = provenance
    return dataclasses.replace(network, **changes) if changes else network


def check_priors(priors: Sequence[Prior]) -> None:
    """Refuse a prior on a run's published setting (storage time, repetition rate, duration)."""
    for prior in priors:
        if prior.section == "experiments" and prior.field_name in RUN_SETTINGS:
            raise ConfigError.at(
                f"calibration.priors.{prior.key}", f"{prior.field_name} is a run's setting, not an estimated value"
            )


@dataclass(frozen=True)
class LinkSetting:
    """One link the numbers need: a declared link experiment's settings with a node pair."""

    experiment: str
    nodes: tuple[str, str]


@dataclass(frozen=True)
class Predictions:
    """The model's numbers at many points: ``values[target key]`` has shape ``(points,)``, NaN where invalid."""

    values: Mapping[str, np.ndarray]
    valid: np.ndarray
    links: Mapping[LinkSetting, Mapping[str, np.ndarray] | None]

    def matrix(self, keys: Sequence[str]) -> np.ndarray:
        """``(points, len(keys))``: the numbers of ``keys`` side by side."""
        return np.column_stack([self.values[key] for key in keys]) if keys else np.empty((self.valid.size, 0))


class ForwardModel:
    """Estimated values (unit coordinates, one per prior) → the published numbers (module doc)."""

    def __init__(
        self, network: NetworkHardware, priors: Sequence[Prior], targets: Sequence[Target], table: ResidualTable
    ) -> None:
        check_priors(priors)
        self.network = network
        self.priors = tuple(priors)
        self.targets = tuple(targets)
        self.table = table
        self.loop_index = None if table.prior is None else [p.key for p in self.priors].index(table.prior.key)
        settings: list[LinkSetting] = []
        for target in self.targets:
            if target.quantity != LOOP_QUANTITY:
                setting = LinkSetting(target.experiment, target.nodes)
                if setting not in settings:
                    settings.append(setting)
        self.link_settings = tuple(settings)

    @property
    def dimension(self) -> int:
        return len(self.priors)

    def values_at(self, unit: np.ndarray) -> dict[str, float]:
        """The estimated values at one point, by key path."""
        return {prior.key: float(prior.from_unit(u)) for prior, u in zip(self.priors, unit, strict=True)}

    def loop_unit(self, units: np.ndarray) -> np.ndarray:
        """The loop prior's coordinate of each point (zeros without one: the table is constant)."""
        return units[:, self.loop_index] if self.loop_index is not None else np.zeros(units.shape[0])

    def link_parameters_at(self, unit: np.ndarray, setting: LinkSetting, residual_rad: float | None = None
                           ) -> LinkParameters:
        """The link parameters of ``setting`` at one point (refusals as the mapping gives them)."""
        network = with_values(self.network, self.values_at(unit))
        return self._link(network, setting, residual_rad if residual_rad is not None else float(
            self.table.write_residual_rad(self._loop_setting(setting), self.loop_unit(unit[None, :]))[0]))

    def _loop_setting(self, setting: LinkSetting) -> LoopSetting:
        return loop_setting(setting.nodes, self.network.experiment(setting.experiment).repetition_rate_hz)

    def _link(self, network: NetworkHardware, setting: LinkSetting, residual_rad: float) -> LinkParameters:
        declared = network.experiment(setting.experiment)
        return link_parameters(
            network, *setting.nodes, storage_us=declared.storage_us, phase_residual_std_rad=residual_rad,
            repetition_rate_hz=declared.repetition_rate_hz, herald_transmission_scale=herald_transmission_scale(declared),
        )

    def predict(self, units: np.ndarray) -> Predictions:
        """Every target's number at each point of ``units`` ``(points, dimension)``."""
        units = np.atleast_2d(np.asarray(units, dtype=float))
        count = units.shape[0]
        loop_units = self.loop_unit(units)
        residuals = {setting: self.table.write_residual_rad(self._loop_setting(setting), loop_units)
                     for setting in self.link_settings}
        valid = np.ones(count, dtype=bool)
        params: dict[LinkSetting, list[LinkParameters]] = {setting: [] for setting in self.link_settings}
        for index in range(count):
            try:
                network = with_values(self.network, self.values_at(units[index]))
                point = [self._link(network, setting, float(residuals[setting][index]))
                         for setting in self.link_settings]
            except ConfigError:
                valid[index] = False
                continue
            for setting, link in zip(self.link_settings, point, strict=True):
                params[setting].append(link)
        links: dict[LinkSetting, Mapping[str, np.ndarray] | None] = {}
        everything = [link for setting in self.link_settings for link in params[setting]]
        batch = evaluate_links(everything) if everything else None
        offset = 0
        for setting in self.link_settings:
            size = len(params[setting])
            links[setting] = None if batch is None else _slice(batch, offset, size)
            offset += size
        values = {target.key: self._read(target, links, valid, units) for target in self.targets}
        return Predictions(values=values, valid=valid, links=links)

    def _read(self, target: Target, links, valid: np.ndarray, units: np.ndarray) -> np.ndarray:
        out = np.full(valid.size, np.nan)
        if target.quantity == LOOP_QUANTITY:
            rate = self.network.experiment(target.experiment).repetition_rate_hz
            out[valid] = self.table.probe_residual_deg(loop_setting(target.nodes, rate), self.loop_unit(units))[valid]
            return out
        result = links[LinkSetting(target.experiment, target.nodes)]
        if result is not None:
            out[valid] = read_quantity(result, target.quantity)
        return out


def _slice(batch: LinkBatchResult, start: int, size: int) -> dict[str, np.ndarray]:
    """The quantities of points ``start .. start + size`` of a batch result."""
    part = slice(start, start + size)
    quantities = {
        "herald_probability": batch.herald_probability[part],
        "noise_herald_fraction": batch.noise_herald_fraction[part],
        "entangling_rate_hz": batch.entangling_rate_hz[part],
        "pme_rate_hz": batch.pme_rate_hz[part],
    }
    for name, table in batch.figures.items():
        for index, sign in enumerate(HERALD_SIGNS):
            quantities[f"{name}:{sign}"] = table[part, index]
    return quantities


def read_quantity(result: Mapping[str, np.ndarray], quantity: str) -> np.ndarray:
    """One quantity of a link slice (see :data:`metroqnet.experiments.calibration.targets.EXPERIMENT_QUANTITIES`)."""
    if quantity not in result:
        raise ConfigError.at("quantity", f"{quantity!r} is not a link quantity; quantities are {', '.join(result)}")
    return result[quantity]
