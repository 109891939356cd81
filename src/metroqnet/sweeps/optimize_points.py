"""Design points of an optimisation evaluated together: unit cube -> settings -> networks -> one engine call.

:class:`DesignEvaluator` is built once per run from the spec and the caller's
``network_at(settings) -> NetworkHardware``. It fixes the links, the experiment and
each link's write residual of the phase loop, and then turns any stack of points of
the unit cube into every result name (:mod:`metroqnet.sweeps.optimize_figures`)
through ONE call of :func:`metroqnet.link.batch.evaluate_links` for all points and links.

**The write residual is held fixed.** σ_res of each link is the loop's residual at the
base network (``network_at({})``), computed once (:func:`write_residual_std_rad`: 200 000
trials of the loop on the library's fixed seed, as ``residual_seed = 2024`` in a sweep's exact
kind; a design point has no task seed of its own, and every point shares the same loop). That is exact here, not an approximation: a variable
that would change the loop's inputs (the server's probes, the lasers, the fibres, the
repetition rate: anything :func:`loop_setup` reads) is refused at construction, after
comparing the loop's setup at both ends of the variable's range with the base's.
Optimise such settings with a sweep, which runs the loop at every task. The storage
phase (spin-wave detuning over the storage time) is not part of σ_res and is
recomputed at every point by the physics mapping, as is everything else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.experiments.link_setup import herald_transmission_scale, loop_setup, write_residual_std_rad
from metroqnet.link.batch import LinkBatchResult, evaluate_links
from metroqnet.physics.mapping import link_parameters
from metroqnet.sweeps.compute_links import link_experiment, task_links
from metroqnet.sweeps.optimize_figures import batch_figures
from metroqnet.sweeps.optimize_spec import OptimizeSpec

NetworkAt = Callable[[Mapping[str, float]], NetworkHardware]
#: Design points whose networks are built between two progress calls.
PROGRESS_CHUNK = 256


def _loop_inputs(network: NetworkHardware, pair: tuple[str, str], rate_hz: float) -> tuple:
    """Everything the phase loop of a link reads (the setup without the network it was read from)."""
    setup = loop_setup(network, *sorted(pair), repetition_rate_hz=rate_hz)
    return tuple(getattr(setup, f.name) for f in dataclasses.fields(setup) if f.name not in ("network", "experiment"))


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluation:
    """Result names over a stack of design points, and the batch they came from (``[point * links + link]``)."""

    settings: dict[str, np.ndarray]
    figures: dict[str, np.ndarray]
    batch: LinkBatchResult

    def __len__(self) -> int:
        return int(next(iter(self.settings.values())).size)


class DesignEvaluator:
    """Evaluates stacks of unit-cube points of ``spec``'s variables (module docstring)."""

    def __init__(self, spec: OptimizeSpec, network_at: NetworkAt) -> None:
        self.spec = spec
        self._network_at = network_at
        self.base = self._network({}, "the base network (no variables set)")
        self.experiment = link_experiment(self.base, spec.experiment, where="optimize.experiment")
        labelled = task_links(spec.links, self.base, where="optimize.links")
        self.links = tuple(label for label, _ in labelled)
        self.pairs = tuple(pair for _, pair in labelled)
        spec.check_names(self.links)
        rate = self.experiment.repetition_rate_hz
        self.write_residual_rad = {
            link: write_residual_std_rad(self.base, *pair, repetition_rate_hz=rate)
            for link, pair in zip(self.links, self.pairs, strict=True)
        }
        self._refuse_loop_variables()

    def _network(self, settings: Mapping[str, float], what: str) -> NetworkHardware:
        try:
            network = self._network_at(settings)
        except ConfigError as error:
            keys = [key for key in settings if error.field is not None and key in (error.field or "")]
            if len(settings) == 1 or keys:
                key = keys[0] if keys else next(iter(settings))
                raise ConfigError.at(f"optimize.variables.{key}",
                                     f"at {key}={settings[key]!r}: {error.detail or error}") from None
            raise ConfigError(f"optimize: {what}: {error}", field=error.field, detail=error.detail) from None
        if not isinstance(network, NetworkHardware):
            raise ConfigError.at("network_at", f"returned {type(network).__name__}, expected NetworkHardware")
        return network

    def _refuse_loop_variables(self) -> None:
        """Refuse a variable that moves the phase loop's inputs at either end of its range."""
        rate = self.experiment.repetition_rate_hz
        base_inputs = {pair: _loop_inputs(self.base, pair, rate) for pair in self.pairs}
        for variable in self.spec.variables:
            for value in (variable.low, variable.high):
                network = self._network({variable.key: float(value)}, f"{variable.key}={value!r}")
                experiment = network.experiment(self.experiment.name)
                for link, pair in zip(self.links, self.pairs, strict=True):
                    if experiment.repetition_rate_hz != rate or _loop_inputs(network, pair, rate) != base_inputs[pair]:
                        raise ConfigError.at(
                            f"optimize.variables.{variable.key}",
                            f"at {value!r} it changes the phase loop of link {link} (its write residual), which the "
                            "optimisation holds at the base network's value; only settings the loop does not read "
                            "(e.g. nodes.*.excitation_probability, nodes.*.probe_mean_photon_number, storage) can be "
                            "optimised; run a sweep over this one instead",
                        )

    def settings(self, unit: np.ndarray) -> dict[str, np.ndarray]:
        """Key path -> values of the points at ``unit`` (shape (points, variables), entries in [0, 1])."""
        unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
        return {variable.key: variable.from_unit(unit[:, j]) for j, variable in enumerate(self.spec.variables)}

    def link_parameters(self, point: Mapping[str, float]) -> list[LinkParameters]:
        """The point's network's parameters of every link, in link order (σ_res held, module docstring)."""
        what = "at " + ", ".join(f"{key}={value!r}" for key, value in point.items())
        network = self._network(point, what)
        try:
            experiment = network.experiment(self.experiment.name)
        except ConfigError as error:
            raise ConfigError(f"optimize: {what}: {error}", field=error.field, detail=error.detail) from None
        return [
            link_parameters(
                network, *pair, storage_us=experiment.storage_us, phase_residual_std_rad=self.write_residual_rad[link],
                repetition_rate_hz=experiment.repetition_rate_hz,
                herald_transmission_scale=herald_transmission_scale(experiment),
            )
            for link, pair in zip(self.links, self.pairs, strict=True)
        ]

    def evaluate(self, unit: np.ndarray, *, progress: Callable[[int, int], None] | None = None) -> Evaluation:
        """Every result name at the points ``unit`` (points, variables): one engine call for all points and links."""
        settings = self.settings(np.atleast_2d(unit))
        count = int(next(iter(settings.values())).size)
        parameters: list[LinkParameters] = []
        for index in range(count):
            parameters.extend(self.link_parameters({key: float(values[index]) for key, values in settings.items()}))
            if progress is not None and ((index + 1) % PROGRESS_CHUNK == 0 or index + 1 == count):
                progress(index + 1, count)
        batch = evaluate_links(parameters)
        residuals = [self.write_residual_rad[link] for link in self.links]
        return Evaluation(settings=settings, figures=batch_figures(batch, self.links, residuals), batch=batch)
