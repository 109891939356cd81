"""The server's switch schedule: which node pair is entangled in each timeslot.

Liu et al. 2024 ("Concurrent entanglement generation in the network"): the server's
multi-input, two-output optical switch routes two of the nodes to the interferometer,
one pair per 5.8 s timeslot, the pair chosen by a QRNG. The phase stabilization runs
every trial (hot swapping), so it needs no share of the schedule; each pair's frequency
calibration runs only in its own slots, one third of the time for three pairs
(:func:`calibration_time_share`).

Why SimPy: the switch is a process on a discrete-event clock. Here it is the only
process, but the phase loop, the calibration windows and arriving requests become
processes on the same clock later, interleaved by SimPy's deterministic event order
``(time, priority, sequence)``. The clock counts integer nanoseconds (never a float
sum), so slot ``k`` starts at exactly ``k * timeslot``. A run covers every slot that
starts before ``hours`` (one hour of 5.8 s slots is 621 slots), each slot whole.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import simpy
from pydantic import BeforeValidator, Field

from metroqnet.config.errors import ConfigError
from metroqnet.config.seeds import Seed, child, generator, seed_record, seed_sequence
from metroqnet.config.validation import Name, Positive, check, parameters
from metroqnet.network.switch_policies import IDLE, POLICIES, UNIFORM_POLICIES, SwitchPolicy

#: Outputs of the switch one link uses: the two arms of the server's interferometer.
OUTPUTS_PER_LINK = 2
#: The spawn key of the switch's random stream (other processes on the clock take other keys).
SWITCH_STREAM = 0
NS_PER_S = 1_000_000_000
S_PER_HOUR = 3600

SwitchOutputs = Annotated[int, Field(ge=OUTPUTS_PER_LINK)]


def _lists_as_tuples(value: object) -> object:
    """A list (as a file or a caller gives it) is taken as the tuple the frozen field holds."""
    if isinstance(value, list):
        return tuple(_lists_as_tuples(item) for item in value)
    return value


_TUPLE = BeforeValidator(_lists_as_tuples)


@parameters
class SwitchSchedule:
    """How the server's switch is shared: nodes, timeslot, switch outputs, policy and (for ``requests``) the queue.

    ``nodes`` at least two unique names; ``timeslot_s`` > 0 (whole nanoseconds on the clock);
    ``switch_outputs`` >= 2, the two arms a link needs (more stay dark: one pair per slot);
    ``policy`` one of ``qrng``, ``round-robin``, ``requests``; ``requests`` the pairs the
    ``requests`` policy serves in order (then idle), each two different nodes of ``nodes``.
    """

    nodes: Annotated[tuple[Name, ...], _TUPLE]
    timeslot_s: Positive = 5.8
    switch_outputs: SwitchOutputs = OUTPUTS_PER_LINK
    policy: Name = "qrng"
    requests: Annotated[tuple[tuple[Name, Name], ...], _TUPLE] = ()

    def __post_init__(self) -> None:
        nodes = list(self.nodes)
        if len(nodes) < 2:
            raise ConfigError.at("nodes", f"{nodes!r} has {len(nodes)} node(s); a link needs at least 2")
        seen: set[str] = set()
        for name in nodes:
            if name in seen:
                raise ConfigError.at("nodes", f"{name!r} appears twice in {nodes!r}; node names are unique")
            seen.add(name)
        if self.policy not in POLICIES:
            allowed = ", ".join(sorted(POLICIES))
            raise ConfigError.at("policy", f"{self.policy!r} is not a known policy; allowed: {allowed}")
        if round(self.timeslot_s * NS_PER_S) < 1:
            raise ConfigError.at("timeslot_s", f"{self.timeslot_s!r} is shorter than the clock's 1 ns tick; "
                                 "allowed: >= 1e-09")
        if self.requests and self.policy != "requests":
            raise ConfigError.at("requests", f"given with policy {self.policy!r}; "
                                 "a request queue needs policy 'requests'")
        for position, (first, second) in enumerate(self.requests):
            where = f"requests[{position}]"
            for name in (first, second):
                if name not in seen:
                    raise ConfigError.at(where, f"{name!r} is not a node; allowed: {', '.join(nodes)}")
            if first == second:
                raise ConfigError.at(where, f"({first!r}, {second!r}) pairs a node with itself; "
                                     "a request names two different nodes")

    @property
    def timeslot_ns(self) -> int:
        return round(self.timeslot_s * NS_PER_S)

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """Every node pair, in the order of ``nodes`` (the index a slot's pair refers to)."""
        return tuple(itertools.combinations(self.nodes, 2))


@dataclass(frozen=True, kw_only=True, eq=False)
class ScheduleResult:
    """One run of the switch: per slot its start and pair, per pair its slots and shares.

    ``start_ns`` (int64) and ``start_s`` the slot starts; ``pair`` (int64) each slot's index into
    ``pairs``, or -1 for an idle slot; per pair (same order as ``pairs``): ``slot_count``,
    ``time_share`` (its slots' time over the run's, the run being ``slot_total`` whole slots) and
    ``expected_share`` (1/P for qrng and round-robin; for requests, the share its requests ask of
    the run's slots, served in order). ``seed`` is the :func:`seed_record` the run drew from.
    """

    setting: SwitchSchedule
    hours: float
    seed: dict[str, object]
    pairs: tuple[tuple[str, str], ...]
    start_ns: np.ndarray
    pair: np.ndarray
    slot_count: np.ndarray
    time_share: np.ndarray
    expected_share: np.ndarray

    @property
    def start_s(self) -> np.ndarray:
        return self.start_ns / NS_PER_S

    @property
    def slot_total(self) -> int:
        return len(self.pair)

    @property
    def duration_s(self) -> float:
        return self.slot_total * self.setting.timeslot_ns / NS_PER_S

    def pair_index(self, pair: tuple[str, str]) -> int:
        """The index of ``pair`` (its two node names, in either order) in ``pairs``."""
        return _pair_index(self.setting, pair, field="pair")


def _pair_index(setting: SwitchSchedule, pair: object, *, field: str) -> int:
    node_index = {name: k for k, name in enumerate(setting.nodes)}
    if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(name in node_index for name in pair)
            and pair[0] != pair[1]):
        raise ConfigError.at(field, f"{pair!r} is not a pair of two different nodes of {list(setting.nodes)!r}")
    low, high = sorted((node_index[pair[0]], node_index[pair[1]]))
    count = len(setting.nodes)
    # the index of (low, high) in itertools.combinations(range(count), 2)
    return low * count - low * (low + 1) // 2 + (high - low - 1)


def _switch(env: simpy.Environment, policy: SwitchPolicy, timeslot_ns: int, start_ns: np.ndarray, pair: np.ndarray):
    """The switch process: occupy each timeslot with the policy's pair and log it."""
    for slot in range(len(pair)):
        start_ns[slot] = env.now
        pair[slot] = policy.next_pair()
        yield env.timeout(timeslot_ns)


def run_schedule(setting: SwitchSchedule, *, hours: float, seed: Seed) -> ScheduleResult:
    """Run the switch for every slot starting before ``hours``; deterministic for ``seed``."""
    if not isinstance(setting, SwitchSchedule):
        raise ConfigError.at("setting", f"expected a SwitchSchedule, got {type(setting).__name__}")
    hours = check("hours", hours, Positive)
    sequence = seed_sequence(seed)
    timeslot_ns = setting.timeslot_ns
    horizon_ns = round(hours * S_PER_HOUR * NS_PER_S)
    slot_total = max(1, -(-horizon_ns // timeslot_ns))
    pairs = setting.pairs
    requests = [_pair_index(setting, request, field="requests") for request in setting.requests]
    policy = POLICIES[setting.policy](len(pairs), requests, generator(child(sequence, SWITCH_STREAM)))

    start_ns = np.empty(slot_total, dtype=np.int64)
    pair = np.empty(slot_total, dtype=np.int64)
    env = simpy.Environment()
    env.process(_switch(env, policy, timeslot_ns, start_ns, pair))
    env.run()

    slot_count = np.bincount(pair[pair != IDLE], minlength=len(pairs))
    if setting.policy in UNIFORM_POLICIES:
        expected = np.full(len(pairs), 1 / len(pairs))
    else:
        expected = np.bincount(np.asarray(requests[:slot_total], dtype=np.int64), minlength=len(pairs)) / slot_total
    arrays = [start_ns, pair, slot_count, slot_count / slot_total, expected]
    for array in arrays:
        array.setflags(write=False)
    return ScheduleResult(
        setting=setting, hours=hours, seed=seed_record(sequence), pairs=pairs, start_ns=arrays[0],
        pair=arrays[1], slot_count=arrays[2], time_share=arrays[3], expected_share=arrays[4],
    )


def calibration_time_share(result: ScheduleResult, pair: tuple[str, str]) -> float:
    """The fraction of the run's time ``pair``'s frequency calibration runs: its own slots' share.

    (The phase stabilization runs every trial, in every slot, so its share is 1 for every pair.)
    """
    return float(result.time_share[result.pair_index(pair)])
