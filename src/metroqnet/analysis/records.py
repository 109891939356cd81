"""Count records: what a verification run of one link produces, simulated or from a lab.

``counts[sign, basis, a, b]`` is the number of trials heralded with ``sign``
(0 plus, 1 minus) in which both nodes measured in ``basis`` (0 Z, 1 X, 2 Y)
and node X showed click pattern ``a``, node Y pattern ``b`` (patterns of
:mod:`metroqnet.analysis.outcomes`). ``trials_per_basis[basis]`` is the number
of trials (heralded or not) measured in that basis. Records of the same link
add: ``a + b`` is the record of both runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS, PATTERNS

COUNT_SHAPE = (len(HERALD_SIGNS), len(BASES), len(PATTERNS), len(PATTERNS))


def tally(sign: np.ndarray, basis: np.ndarray, outcome_x: np.ndarray, outcome_y: np.ndarray) -> np.ndarray:
    """Counts of shape ``COUNT_SHAPE`` from per-event sign, basis and pattern indices."""
    cell = np.ravel_multi_index(
        (np.asarray(sign, np.int64), np.asarray(basis, np.int64), np.asarray(outcome_x, np.int64),
         np.asarray(outcome_y, np.int64)),
        COUNT_SHAPE,
    )
    return np.bincount(cell, minlength=int(np.prod(COUNT_SHAPE))).reshape(COUNT_SHAPE)
#: Counts and trials are int64; a record's total trials (and so every sum of its counts) must fit.
INT64_MAX = int(np.iinfo(np.int64).max)


@dataclass(frozen=True, eq=False)
class CountRecord:
    """Heralded events of one link by sign, basis and both nodes' patterns, with the trials behind them.

    ``read_efficiency_x/_y`` are needed only for the atomic concurrence C̃ and
    ``repetition_rate_hz`` only for rates; a lab supplies them with its counts.
    ``metadata`` holds provenance as strings (config hash, seed, versions,
    duration); on addition, values that differ are joined with ``+``.
    """

    link: str
    counts: np.ndarray
    trials_per_basis: np.ndarray
    read_efficiency_x: float | None = None
    read_efficiency_y: float | None = None
    repetition_rate_hz: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = np.array(self.counts, dtype=np.int64)
        trials = np.array(self.trials_per_basis, dtype=np.int64)
        if counts.shape != COUNT_SHAPE:
            raise ValueError(f"counts: shape {counts.shape} is not {COUNT_SHAPE} (sign, basis, pattern_x, pattern_y)")
        if trials.shape != (len(BASES),):
            raise ValueError(f"trials_per_basis: shape {trials.shape} is not ({len(BASES)},)")
        if (counts < 0).any() or (trials < 0).any():
            raise ValueError("counts and trials must be >= 0")
        if trials.sum(dtype=object) > INT64_MAX:
            raise ValueError(f"trials_per_basis: {trials.tolist()} add up to more than {INT64_MAX} trials")
        heralds = counts.sum(axis=(0, 2, 3), dtype=object)  # Python integers: int64 sums could wrap
        if (heralds > trials).any():
            basis = BASES[int(np.argmax(heralds > trials))]
            raise ValueError(f"basis {basis}: {int(heralds[BASES.index(basis)])} heralded events exceed the trials")
        counts.setflags(write=False)
        trials.setflags(write=False)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "trials_per_basis", trials)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def trials(self) -> int:
        return int(self.trials_per_basis.sum())

    @property
    def heralds(self) -> int:
        return int(self.counts.sum())

    def table(self, sign: str, basis: str) -> np.ndarray:
        """The 4x4 table of one herald sign and basis."""
        return self.counts[HERALD_SIGNS.index(sign), BASES.index(basis)]

    def __add__(self, other: CountRecord) -> CountRecord:
        if not isinstance(other, CountRecord):
            return NotImplemented
        for name in ("link", "read_efficiency_x", "read_efficiency_y", "repetition_rate_hz"):
            if getattr(self, name) != getattr(other, name):
                raise ValueError(
                    f"{name}: cannot add records with {getattr(self, name)!r} and {getattr(other, name)!r}"
                )
        metadata = dict(self.metadata)
        for key, value in other.metadata.items():
            if key in metadata and metadata[key] != value:
                metadata[key] = f"{metadata[key]}+{value}"
            else:
                metadata.setdefault(key, value)
        return CountRecord(
            link=self.link,
            counts=self.counts + other.counts,
            trials_per_basis=self.trials_per_basis + other.trials_per_basis,
            read_efficiency_x=self.read_efficiency_x,
            read_efficiency_y=self.read_efficiency_y,
            repetition_rate_hz=self.repetition_rate_hz,
            metadata=metadata,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CountRecord):
            return NotImplemented
        return (
            self.link == other.link
            and np.array_equal(self.counts, other.counts)
            and np.array_equal(self.trials_per_basis, other.trials_per_basis)
            and (self.read_efficiency_x, self.read_efficiency_y, self.repetition_rate_hz)
            == (other.read_efficiency_x, other.read_efficiency_y, other.repetition_rate_hz)
            and dict(self.metadata) == dict(other.metadata)
        )

    __hash__ = None  # type: ignore[assignment]
