"""A network in operation: the server's switch shares its time between node pairs, each link runs in its slots.

Liu et al. 2024, "Concurrent entanglement generation in the network": the server's
multi-input, two-output switch connects one node pair per 5.8 s timeslot, the pair chosen
by a QRNG (:mod:`metroqnet.network.schedule`). In a slot the connected pair runs trials at
the experiment's repetition rate; the phase loop runs in every trial, so a link's trials in
network operation are the trials of the fixed link, only fewer: its slots' share of the run.

What this module does, per run:

1. the switch schedule for every slot starting before ``hours`` (:func:`run_schedule`);
2. for each pair of the server, its link parameters at the experiment's settings (storage,
   rate, herald scale) with the phase loop's residual at the write
   (:func:`metroqnet.experiments.link_setup.write_residual_std_rad`), and its polarization
   and per-node values (the mapping);
3. the pair's trials, ``slots × trials_per_slot``, sampled in bulk by the link sampler with
   herald skipping (the trials of one slot, and of all the pair's slots, are independent and
   identically distributed given the link parameters, so one bulk run is equal in law to a run
   per slot); each herald's trial index gives its slot, so the heralds per slot are kept.
   A pair the switch never connects in the run (a short run, a large star) is not reported.

Each link also reports its read-out mode: ``delayed-choice`` when the storage is shorter than
the longer of its two nodes' round trips to the server (the herald cannot be known at both nodes
before the read), else ``after-herald`` (:mod:`metroqnet.physics.trial_timing`).

``trials_per_slot`` is ``floor(timeslot_s × repetition_rate_hz)`` (16,008 at 5.8 s and 2.76 kHz).
A link's rate in network operation is its heralds over the run's duration (all slots,
including those of the other pairs): the fixed link's rate times the pair's time share, which
is what the schedule predicts (``schedule_rate_hz``). The figures of each link (C, C̃, F, the
correlators) come from its counts by the same analysis as a fixed link's, beside the fixed
link's exact figures (``fixed_link``): switching adds no decoherence in this model, and the
comparison shows it within statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import CountAnalysis, analyze_counts
from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_record, seed_sequence
from metroqnet.config.validation import Positive, check
from metroqnet.experiments.link_setup import WRITE_RESIDUAL_TRIALS, experiment_link_parameters
from metroqnet.experiments.phase_stabilization import check_trials
from metroqnet.link.evaluate import LinkResult, evaluate_link
from metroqnet.network.schedule import ScheduleResult, SwitchSchedule, run_schedule
from metroqnet.physics.mapping import round_trip_us
from metroqnet.physics.trial_timing import AFTER_HERALD, DELAYED_CHOICE
from metroqnet.sampling.link_sampler import LinkSampler

#: Spawn keys of the run's streams under its seed.
SCHEDULE_STREAM, LINK_STREAM = 0, 1
#: Hours a run may cover (a year of slots; the schedule keeps one int64 per slot).
MAX_NETWORK_HOURS = 24.0 * 366


def link_label(pair: Sequence[str]) -> str:
    """``alice-bob``: the link's name, its nodes in the network's order."""
    return "-".join(pair)


def _the_server(network: NetworkHardware):
    """The topology's one server (a run switches one server's nodes)."""
    servers = list(network.topology.servers.values())
    if len(servers) != 1:
        raise ConfigError.at("topology.servers", f"{len(servers)} servers ({', '.join(s.name for s in servers)}); a "
                             "network run switches one server's nodes: give a network with one server")
    return servers[0]


def server_nodes(network: NetworkHardware) -> tuple[str, ...]:
    """The nodes the server's switch serves (the topology's nodes of its one server)."""
    return tuple(network.topology.nodes_of(_the_server(network).name))


@dataclass(frozen=True, kw_only=True, eq=False)
class LinkInNetwork:
    """One link's share of a network run: its slots, trials, heralds, counts and their analysis.

    ``heralds_per_slot`` counts the heralds of each of the link's slots, in slot order;
    ``fixed_link`` the exact figures of the same link connected all the time (the sampler's
    distribution); ``schedule_rate_hz`` the rate the schedule predicts: the fixed link's rate
    times the link's trials over the run's trials.
    """

    pair: tuple[str, str]
    params: LinkParameters
    slots: int
    trials: int
    heralds_per_slot: np.ndarray
    record: CountRecord
    analysis: CountAnalysis | None
    fixed_link: LinkResult
    duration_s: float
    run_trials: int
    storage_us: float
    required_storage_us: float

    @property
    def readout_mode(self) -> str:
        """``delayed-choice`` (read before the herald can be back at both nodes) or ``after-herald``."""
        return DELAYED_CHOICE if self.storage_us < self.required_storage_us else AFTER_HERALD

    @property
    def label(self) -> str:
        return link_label(self.pair)

    @property
    def heralds(self) -> int:
        return int(self.heralds_per_slot.sum())

    @property
    def rate_hz(self) -> float:
        """Heralds per second of the whole run (the other pairs' slots included)."""
        return self.heralds / self.duration_s

    @property
    def rate_hz_stderr(self) -> float:
        """Poisson: √(heralds) over the run's duration (√(max(heralds, 1)): an empty link is not exact)."""
        return math.sqrt(max(self.heralds, 1)) / self.duration_s

    @property
    def fixed_link_rate_hz(self) -> float:
        """The link's rate when it holds the server all the time: herald probability × repetition rate."""
        return self.fixed_link.herald_probability * float(self.params.repetition_rate_hz)

    @property
    def schedule_rate_hz(self) -> float:
        """The fixed link's rate times the link's share of the run's trials: what the schedule predicts."""
        return self.fixed_link_rate_hz * self.trials / self.run_trials if self.run_trials else 0.0

    def as_dict(self) -> dict[str, object]:
        analysis = self.analysis.as_dict() if self.analysis is not None else {
            "plus": None, "minus": None, "notes": ["no heralds in this run: the figures are undefined"],
            "strong_id": self.record.strong_id, "runs": [dict(run) for run in self.record.runs],
        }
        fixed = self.fixed_link.as_dict()
        return {
            "link": self.label,
            "slots": self.slots,
            "trials": self.trials,
            "heralds": self.heralds,
            "rate_hz": self.rate_hz,
            "rate_hz_stderr": self.rate_hz_stderr,
            "fixed_link_rate_hz": self.fixed_link_rate_hz,
            "schedule_rate_hz": self.schedule_rate_hz,
            "plus": analysis["plus"],
            "minus": analysis["minus"],
            "fixed_link": {sign: fixed[sign] for sign in ("plus", "minus")},
            "phase_noise_std_deg": math.degrees(self.params.phase_noise_std_rad),
            "storage_us": self.storage_us,
            "required_storage_us": self.required_storage_us,
            "readout_mode": self.readout_mode,
            "notes": analysis["notes"],
            "strong_id": analysis["strong_id"],
            "runs": analysis["runs"],
        }


@dataclass(frozen=True, kw_only=True, eq=False)
class NetworkRun:
    """A network run: the schedule and every pair's link (``links`` keyed by :func:`link_label`)."""

    network: str
    experiment: str
    hours: float
    schedule: ScheduleResult
    trials_per_slot: int
    links: dict[str, LinkInNetwork] = field(default_factory=dict)
    seed: dict[str, object] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.schedule.duration_s

    def as_dict(self) -> dict[str, object]:
        return {
            "network": self.network,
            "experiment": self.experiment,
            "hours": self.hours,
            "policy": self.schedule.setting.policy,
            "timeslot_s": self.schedule.setting.timeslot_s,
            "slots": self.schedule.slot_total,
            "idle_slots": int(np.sum(self.schedule.pair < 0)),
            "trials_per_slot": self.trials_per_slot,
            "duration_s": self.duration_s,
            "links": {label: link.as_dict() for label, link in self.links.items()},
            "seed": self.seed,
        }


def trials_per_slot(timeslot_s: float, repetition_rate_hz: float) -> int:
    """Whole trials in one timeslot: floor(timeslot × rate) (a partial trial at the slot's end is not run)."""
    # the guard keeps a product that is whole in decimals (5.8 s × 2.76 kHz) from flooring one below in binary
    trials = math.floor(timeslot_s * repetition_rate_hz * (1 + 1e-12))
    if trials < 1:
        raise ConfigError.at("timeslot_s", f"{timeslot_s:g} s holds no whole trial at {repetition_rate_hz:g} Hz; "
                             f"allowed: >= {1 / repetition_rate_hz:.3g} s")
    return trials


def run_network(
    network: NetworkHardware,
    *,
    hours: float,
    seed: Seed,
    experiment: str,
    policy: str = "qrng",
    requests: Sequence[tuple[str, str]] = (),
    residual_trials: int = WRITE_RESIDUAL_TRIALS,
    progress: Callable[[int], None] | None = None,
) -> NetworkRun:
    """Run the network for ``hours``: the switch schedule, then each pair's trials in its slots (module doc).

    ``policy`` names a switch policy (``qrng``, ``round-robin``, ``requests`` with ``requests``);
    ``residual_trials`` sizes the loop run that gives each pair's residual at the write;
    ``progress`` is called with the trials of each link as it finishes.
    """
    hours = check("hours", hours, Positive)
    if hours > MAX_NETWORK_HOURS:
        raise ConfigError.at("hours", f"{hours:g} is more than a run may cover; allowed: (0, {MAX_NETWORK_HOURS:g}]")
    residual_trials = check_trials(residual_trials)
    sequence = seed_sequence(seed)
    declared = network.experiment(experiment)
    if declared.kind != "link":
        raise ConfigError.at("experiment", f"{experiment!r} is a {declared.kind!r} experiment; a network run needs a "
                             "link experiment (its storage time and repetition rate)")
    nodes = server_nodes(network)
    setting = SwitchSchedule(
        nodes=nodes, timeslot_s=network.server.timeslot_s, switch_outputs=_the_server(network).switch_outputs,
        policy=policy, requests=tuple(tuple(request) for request in requests),
    )
    schedule = run_schedule(setting, hours=hours, seed=child(sequence, SCHEDULE_STREAM))
    per_slot = trials_per_slot(setting.timeslot_s, declared.repetition_rate_hz)
    run_trials = schedule.slot_total * per_slot
    links: dict[str, LinkInNetwork] = {}
    for index, pair in enumerate(schedule.pairs):
        slots = np.flatnonzero(schedule.pair == index)
        if slots.size == 0:
            continue  # a pair the switch never connected in this run: no link to report
        params = experiment_link_parameters(network, experiment, nodes=pair, residual_trials=residual_trials)
        label = link_label(pair)
        sampler = LinkSampler(params, link=label)
        trials = int(slots.size) * per_slot
        events = sampler.sample_events(trials, seed=child(sequence, LINK_STREAM, index))
        heralds_per_slot = np.bincount(events.trial_index // per_slot, minlength=slots.size)
        record = events.to_counts()
        try:
            analysis = analyze_counts(record)
        except UndefinedEstimate:  # no herald in the link's slots (a short run): counts kept, figures undefined
            analysis = None
        links[label] = LinkInNetwork(
            pair=pair, params=params, slots=int(slots.size), trials=trials, heralds_per_slot=heralds_per_slot,
            record=record, analysis=analysis, fixed_link=evaluate_link(params),
            duration_s=schedule.duration_s, run_trials=run_trials, storage_us=float(declared.storage_us),
            required_storage_us=max(round_trip_us(network.nodes[name]) for name in pair),
        )
        if progress is not None:
            progress(trials)
    return NetworkRun(
        network=network.name, experiment=experiment, hours=hours, schedule=schedule, trials_per_slot=per_slot,
        links=links, seed=seed_record(sequence),
    )
