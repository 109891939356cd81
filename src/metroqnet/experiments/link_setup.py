"""A network's link parameters with the phase error the stabilization loop leaves at the write.

The link's phase error at the write is not a number in the preset: it is what the
loop (:class:`metroqnet.control.phase_loop.PhaseLoop`) leaves, run at the network's
settings — the server's probes, feedback and calibration, the two nodes' lasers and
fibres — at the link's repetition rate. The paper's 17° (Fig. 2b) is something else:
what an *additional* probe reads 5 µs after the feedback, the residual plus that
probe's own shot noise; it is kept as a published figure
(``[published.experiments.fig2] residual_phase_std_deg``) that the loop is checked
against, not fed into the link.

:func:`write_residual_std_rad` builds the loop through the public Fig. 2 setup of a
stabilization experiment declared for the link's node pair and rate
(:func:`metroqnet.experiments.phase_stabilization.stabilization_setup`) and runs it
(:class:`~metroqnet.control.phase_loop.PhaseLoop`, on the stream
:func:`~metroqnet.experiments.phase_stabilization.residual_phase` gives its loop, so the
two agree) for :data:`WRITE_RESIDUAL_TRIALS` trials on the fixed seed
:data:`WRITE_RESIDUAL_SEED`: deterministic, tens of ms, and cached on the loop's inputs,
so a network gives one σ_res per node pair and rate. The standard error of σ_res from
the finite run is σ/√(2N) ≈ 0.16 % for a Gaussian residual (0.02° at 15°), larger by
√(1 + κ/2) for a residual of excess kurtosis κ. No cavity drift is applied: with the calibration
running, the residual frequency offset moves the phase by ~0.01 rad between the
probes and the write.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import Experiment, NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import child
from metroqnet.config.validation import Positive, check
from metroqnet.control.phase_loop import PhaseLoop
from metroqnet.experiments.phase_stabilization import StabilizationSetup, check_trials, stabilization_setup
from metroqnet.physics.mapping import link_parameters

#: Trials of the loop per σ_res: standard error σ/√(2N) = 0.16 % of σ.
WRITE_RESIDUAL_TRIALS = 200_000
#: The loop's seed for σ_res: fixed, so a network's link parameters are a function of the network.
WRITE_RESIDUAL_SEED = 2024
#: Name of the stabilization experiment declared for a link's loop (never a preset's own name).
_LINK_LOOP = "link-loop"
_CACHE_SIZE = 512
_CACHE: OrderedDict[Hashable, float] = OrderedDict()


def loop_setup(network: NetworkHardware, node_x: str, node_y: str, *, repetition_rate_hz: float | None = None
               ) -> StabilizationSetup:
    """The Fig. 2 setup of the loop of the link X–Y at ``repetition_rate_hz``.

    Without a rate, the loop runs at the rate of the network's first stabilization
    experiment; a network without one needs the rate.
    """
    network.node(node_x, field_name="node_x")
    network.node(node_y, field_name="node_y")
    if node_x == node_y:
        raise ConfigError.at("node_y", f"{node_y!r} twice; a link needs two different nodes")
    if repetition_rate_hz is None:
        declared = network.experiments_of_kind("stabilization")
        if not declared:
            raise ConfigError.at(
                "repetition_rate_hz", f"not given, and network {network.name!r} declares no stabilization experiment "
                "whose rate the phase loop could run at; give the link's repetition rate"
            )
        repetition_rate_hz = declared[0].repetition_rate_hz
    rate = check("repetition_rate_hz", repetition_rate_hz, Positive)
    experiment = Experiment(name=_LINK_LOOP, kind="stabilization", repetition_rate_hz=rate, nodes=(node_x, node_y))
    looped = dataclasses.replace(network, experiments={**network.experiments, _LINK_LOOP: experiment})
    try:
        return stabilization_setup(looped, _LINK_LOOP)
    except ConfigError as error:
        # The loop's settings at this rate: a refusal that names its timing (probes, feedback and gap longer
        # than a trial) or its window is a refusal of the link's rate for this network.
        if error.field is not None and ("probe_gap_us" in error.field or "calibration_window_s" in error.field):
            raise ConfigError.at("repetition_rate_hz", f"{rate:g} Hz: the link's phase loop cannot run at it "
                                 f"({error})") from None
        raise


def _cache_key(setup: StabilizationSetup, trials: int, seed: int) -> Hashable | None:
    """Everything the loop reads from the setup (all fields but the network and the experiment's name)."""
    parts = tuple(
        (field.name, getattr(setup, field.name))
        for field in dataclasses.fields(setup)
        if field.name not in ("network", "experiment")
    )
    key = (parts, trials, seed)
    try:
        hash(key)
    except TypeError:  # a field that cannot be hashed: run the loop every time rather than risk a wrong hit
        return None
    return key


def write_residual_std_rad(
    network: NetworkHardware,
    node_x: str,
    node_y: str,
    *,
    repetition_rate_hz: float | None = None,
    trials: int = WRITE_RESIDUAL_TRIALS,
    seed: int = WRITE_RESIDUAL_SEED,
) -> float:
    """σ of the loop's residual phase at the write (rad) on the link X–Y (the same for Y–X)."""
    nodes = tuple(sorted((node_x, node_y)))
    setup = loop_setup(network, *nodes, repetition_rate_hz=repetition_rate_hz)
    trials = check_trials(trials)
    key = _cache_key(setup, trials, seed)
    if key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    loop = PhaseLoop(setup.settings, noise=setup.noise, calibration=setup.calibration, seed=child(seed, 0))
    std_rad = float(np.std(loop.advance(trials).residual_rad))
    if key is not None:
        _CACHE[key] = std_rad
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return std_rad


def link_parameters_from_loop(
    network: NetworkHardware,
    node_x: str,
    node_y: str,
    *,
    storage_us: float,
    repetition_rate_hz: float | None = None,
    herald_transmission_scale: float = 1.0,
    residual_trials: int = WRITE_RESIDUAL_TRIALS,
) -> LinkParameters:
    """:func:`metroqnet.physics.mapping.link_parameters` with σ_res = :func:`write_residual_std_rad` of the link.

    The loop runs ``residual_trials`` trials at ``repetition_rate_hz`` (or the network's stabilization rate,
    see :func:`loop_setup`).
    """
    residual_rad = write_residual_std_rad(network, node_x, node_y, repetition_rate_hz=repetition_rate_hz,
                                          trials=residual_trials)
    return link_parameters(
        network, node_x, node_y, storage_us=storage_us, phase_residual_std_rad=residual_rad,
        repetition_rate_hz=repetition_rate_hz, herald_transmission_scale=herald_transmission_scale,
    )


def herald_transmission_scale(experiment: Experiment) -> float:
    """The experiment's declared scale of the herald path, 1 where it declares none."""
    return 1.0 if experiment.herald_transmission_scale is None else experiment.herald_transmission_scale


def experiment_link_parameters(
    network: NetworkHardware, experiment: str, *, nodes: tuple[str, str] | None = None,
    residual_trials: int = WRITE_RESIDUAL_TRIALS,
) -> LinkParameters:
    """Link parameters of a declared link experiment: its storage time, repetition rate and herald scale.

    ``nodes`` (default: the experiment's own pair) takes another pair at the same settings,
    e.g. the other links of Table 1 at the 5 µs run's; ``residual_trials`` sizes the loop's run.
    """
    declared = network.experiment(experiment)
    if declared.kind != "link" or declared.storage_us is None:
        raise ConfigError.at(f"experiments.{experiment}", f"a {declared.kind!r} experiment is not a link experiment")
    pair = nodes if nodes is not None else declared.nodes
    if pair is None:
        raise ConfigError.at(f"experiments.{experiment}.nodes", "not declared; give the two nodes")
    try:
        return link_parameters_from_loop(
            network, *pair, storage_us=declared.storage_us, repetition_rate_hz=declared.repetition_rate_hz,
            herald_transmission_scale=herald_transmission_scale(declared), residual_trials=residual_trials,
        )
    except ConfigError as error:
        if error.field == "herald_transmission_scale":
            raise error.renamed(f"experiments.{experiment}.herald_transmission_scale") from None
        raise
