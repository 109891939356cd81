"""Seeds: one ``SeedSequence`` per run, child streams by spawn key, and a record of both so a run replays.

Every function that draws takes ``seed: int | numpy.random.SeedSequence``. A
derived stream is :func:`child` ``(seed, k, ...)``: the same entropy with the
spawn key extended by ``k``, never ``seed + k`` (which is another run's seed).
A result records :func:`seed_record` of the sequence it drew from.
"""

from __future__ import annotations

import numpy as np

from metroqnet.config.errors import ConfigError

Seed = int | np.random.SeedSequence


def seed_sequence(seed: object, *, name: str = "seed") -> np.random.SeedSequence:
    """``seed`` as a ``SeedSequence``: an integer >= 0 or a ``SeedSequence``; anything else is refused."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
        raise ConfigError.at(name, f"expected an integer >= 0 or a numpy SeedSequence, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ConfigError.at(name, f"{int(seed)} is outside the allowed range [0, inf): a seed is an integer >= 0")
    return np.random.SeedSequence(int(seed))


def child(seed: Seed, *keys: int) -> np.random.SeedSequence:
    """The stream with spawn key ``seed.spawn_key + keys`` (what ``SeedSequence.spawn`` gives, without its counter)."""
    parent = seed_sequence(seed)
    return np.random.SeedSequence(
        parent.entropy, spawn_key=(*parent.spawn_key, *keys), pool_size=parent.pool_size
    )


def generator(seed: Seed) -> np.random.Generator:
    """A ``Generator`` on ``seed``'s stream."""
    return np.random.default_rng(seed_sequence(seed))


def seed_record(seed: Seed) -> dict[str, object]:
    """``{"entropy": ..., "spawn_key": [...]}``: enough to rebuild the sequence with :func:`from_record`."""
    sequence = seed_sequence(seed)
    entropy = sequence.entropy
    entropy = int(entropy) if isinstance(entropy, int | np.integer) else [int(part) for part in entropy]
    return {"entropy": entropy, "spawn_key": [int(key) for key in sequence.spawn_key]}


def from_record(record: dict[str, object]) -> np.random.SeedSequence:
    """The ``SeedSequence`` of a :func:`seed_record`."""
    return np.random.SeedSequence(record["entropy"], spawn_key=tuple(record["spawn_key"]))  # type: ignore[arg-type]


def fresh_seed() -> int:
    """A new seed from the operating system's entropy, for a run whose user gave none (it is recorded)."""
    return int(np.random.SeedSequence().entropy % 2**63)
