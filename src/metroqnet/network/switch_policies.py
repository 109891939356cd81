"""Which node pair the server's switch connects in each timeslot: small pluggable policies.

A policy answers :meth:`SwitchPolicy.next_pair` once per timeslot with the index
of a node pair (into the schedule's ordered pair list) or :data:`IDLE` (no pair:
both switch outputs dark). Policies hold their own state (a generator, a
position in a queue), so one instance serves one run.

* ``qrng``: each slot's pair drawn uniformly from all pairs by a seeded
  generator, a stand-in for the paper's quantum random number generator
  ("dynamically switch user pairs according to a QRNG", Liu et al. 2024).
* ``round-robin``: all pairs in their fixed order, over and over.
* ``requests``: a queue of requested pairs served in order, one slot each; when
  the queue is empty the switch stays **idle** until the end of the run (serving
  a request twice would make entanglement nobody asked for; a repeating queue
  is ``round-robin`` over the requests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

#: The pair index of a slot in which the switch connects no pair.
IDLE = -1

#: The qrng policy draws this many slots' pairs at a time (a fixed size, so a run's first slots do not
#: depend on how long it runs).
QRNG_DRAWS_PER_BATCH = 4096


class SwitchPolicy(Protocol):
    """Chooses the pair of each timeslot, in order."""

    def next_pair(self) -> int:
        """The pair index of the next slot, or :data:`IDLE`."""
        ...


class QrngPolicy:
    """Uniform random pairs from ``rng`` (drawn in fixed batches of :data:`QRNG_DRAWS_PER_BATCH`)."""

    def __init__(self, pair_count: int, rng: np.random.Generator) -> None:
        self._pair_count = pair_count
        self._rng = rng
        self._batch = np.empty(0, dtype=np.int64)
        self._position = 0

    def next_pair(self) -> int:
        if self._position == len(self._batch):
            self._batch = self._rng.integers(0, self._pair_count, size=QRNG_DRAWS_PER_BATCH)
            self._position = 0
        pair = int(self._batch[self._position])
        self._position += 1
        return pair


class RoundRobinPolicy:
    """Pairs 0, 1, ..., P-1, 0, 1, ... ."""

    def __init__(self, pair_count: int) -> None:
        self._pair_count = pair_count
        self._slot = 0

    def next_pair(self) -> int:
        pair = self._slot % self._pair_count
        self._slot += 1
        return pair


class RequestQueuePolicy:
    """The requested pairs in order, one slot each, then :data:`IDLE` for the rest of the run."""

    def __init__(self, request_pairs: Sequence[int]) -> None:
        self._requests = list(request_pairs)
        self._position = 0

    def next_pair(self) -> int:
        if self._position == len(self._requests):
            return IDLE
        pair = self._requests[self._position]
        self._position += 1
        return pair


#: name -> builder(pair_count, request_pairs, rng): every policy a schedule may name.
POLICIES: dict[str, Callable[[int, Sequence[int], np.random.Generator], SwitchPolicy]] = {
    "qrng": lambda pair_count, requests, rng: QrngPolicy(pair_count, rng),
    "round-robin": lambda pair_count, requests, rng: RoundRobinPolicy(pair_count),
    "requests": lambda pair_count, requests, rng: RequestQueuePolicy(requests),
}

#: Policies whose pairs share the switch equally in the long run (expected share 1/P each).
UNIFORM_POLICIES = frozenset({"qrng", "round-robin"})
