"""Count records: what a verification run of one link produces, simulated or from a lab.

``counts[sign, basis, a, b]`` is the number of trials heralded with ``sign``
(0 plus, 1 minus) in which both nodes measured in ``basis`` (0 Z, 1 X, 2 Y)
and node X showed click pattern ``a``, node Y pattern ``b`` (patterns of
:mod:`metroqnet.analysis.outcomes`). ``trials_per_basis[basis]`` is the number
of trials (heralded or not) measured in that basis.

**Identity.** A simulated record carries ``strong_id`` — the hash of everything
that determines its distribution (:func:`metroqnet.config.identity.strong_id`
of the sampler's description: link parameters, phase process with all its data,
sampler version and block layout) — and ``runs``, the seeds it was drawn from.
A lab's record has neither. Records add (``a + b``) only when they are draws of
the same distribution (equal ids, or both without one) from different seeds: the
sum lists every seed it holds, so adding the same run twice is refused instead of
doubling its counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS, PATTERNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import INT64_MAX, Efficiency, Positive, check

COUNT_SHAPE = (len(HERALD_SIGNS), len(BASES), len(PATTERNS), len(PATTERNS))
STRONG_ID = re.compile(r"^[0-9a-f]{64}$")


def tally(sign: np.ndarray, basis: np.ndarray, outcome_x: np.ndarray, outcome_y: np.ndarray) -> np.ndarray:
    """Counts of shape ``COUNT_SHAPE`` from per-event sign, basis and pattern indices."""
    cell = np.ravel_multi_index(
        (np.asarray(sign, np.int64), np.asarray(basis, np.int64), np.asarray(outcome_x, np.int64),
         np.asarray(outcome_y, np.int64)),
        COUNT_SHAPE,
    )
    return np.bincount(cell, minlength=int(np.prod(COUNT_SHAPE))).reshape(COUNT_SHAPE)


@dataclass(frozen=True)
class SeedRun:
    """One sampled run: the seed it drew from (entropy and spawn key) and its number of trials.

    A run of ``trials`` trials draws blocks 0, 1, ... of its seed's streams, so two
    runs of the same seed share their first block: they are not independent.
    """

    entropy: int | tuple[int, ...]
    spawn_key: tuple[int, ...]
    trials: int

    def __post_init__(self) -> None:
        entropy = self.entropy
        if isinstance(entropy, list | tuple):
            entropy = tuple(entropy)
            ok = bool(entropy) and all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in entropy)
        else:
            ok = isinstance(entropy, int) and not isinstance(entropy, bool) and entropy >= 0
        if not ok:
            raise ConfigError.at("runs.entropy", f"{self.entropy!r} is not a seed's entropy (integers >= 0)")
        key = tuple(self.spawn_key) if isinstance(self.spawn_key, list | tuple) else None
        if key is None or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in key):
            raise ConfigError.at("runs.spawn_key", f"{self.spawn_key!r} is not a spawn key (integers >= 0)")
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or not 0 <= self.trials <= INT64_MAX:
            raise ConfigError.at("runs.trials", f"{self.trials!r} is not a number of trials in [0, {INT64_MAX}]")
        object.__setattr__(self, "entropy", entropy)
        object.__setattr__(self, "spawn_key", key)

    @property
    def seed(self) -> tuple:
        """(entropy, spawn key): what two runs must not share."""
        return (self.entropy, self.spawn_key)

    def as_dict(self) -> dict[str, Any]:
        entropy = list(self.entropy) if isinstance(self.entropy, tuple) else self.entropy
        return {"entropy": entropy, "spawn_key": list(self.spawn_key), "trials": self.trials}

    @classmethod
    def from_dict(cls, value: object) -> SeedRun:
        if not isinstance(value, Mapping) or set(value) != {"entropy", "spawn_key", "trials"}:
            raise ConfigError.at("runs", f"expected {{entropy, spawn_key, trials}} per run, got {value!r}")
        return cls(entropy=value["entropy"], spawn_key=value["spawn_key"], trials=value["trials"])

    def _order(self) -> tuple:
        entropy = self.entropy if isinstance(self.entropy, tuple) else (self.entropy,)
        return (entropy, self.spawn_key, self.trials)


def check_metadata_value(key: str, value: object) -> object:
    """A metadata value is JSON data: a string, a finite number, a bool, None, or lists/tables of them."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError.at(f"metadata.{key}", f"{value!r} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [check_metadata_value(key, item) for item in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: check_metadata_value(f"{key}.{k}", v) for k, v in value.items()}
    raise ConfigError.at(f"metadata.{key}", f"{value!r} ({type(value).__name__}) is not JSON data")


def merge_metadata(first: Mapping[str, object], second: Mapping[str, object]) -> dict[str, object]:
    """Keys of both; where the two disagree, the list of the distinct values in order of first appearance.

    Associative, so ``(a + b) + c == a + (b + c)``; a value that is already such a
    list (from an earlier sum) is flattened into it.
    """
    merged = dict(first)
    for key, value in second.items():
        if key not in merged or merged[key] == value:
            merged[key] = value
            continue
        distinct: list[object] = []
        for item in (*_as_list(merged[key]), *_as_list(value)):
            if item not in distinct:
                distinct.append(item)
        merged[key] = distinct
    return merged


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True, eq=False)
class CountRecord:
    """Heralded events of one link by sign, basis and both nodes' patterns, with the trials behind them.

    ``read_efficiency_x/_y`` are needed only for the atomic concurrence C̃ and
    ``repetition_rate_hz`` only for rates; a lab supplies them with its counts.
    ``strong_id`` and ``runs``: the identity of a simulated record (module docstring).
    ``metadata``: further provenance as JSON data (versions, a lab's notes).
    """

    link: str
    counts: np.ndarray
    trials_per_basis: np.ndarray
    read_efficiency_x: float | None = None
    read_efficiency_y: float | None = None
    repetition_rate_hz: float | None = None
    strong_id: str | None = None
    runs: tuple[SeedRun, ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, quantity in (("read_efficiency_x", Efficiency), ("read_efficiency_y", Efficiency),
                               ("repetition_rate_hz", Positive)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check(name, getattr(self, name), quantity))
        counts = np.array(self.counts, dtype=np.int64)
        trials = np.array(self.trials_per_basis, dtype=np.int64)
        if counts.shape != COUNT_SHAPE:
            raise ConfigError.at("counts", f"shape {counts.shape} is not {COUNT_SHAPE} (sign, basis, pattern_x, pattern_y)")
        if trials.shape != (len(BASES),):
            raise ConfigError.at("trials_per_basis", f"shape {trials.shape} is not ({len(BASES)},)")
        if (counts < 0).any() or (trials < 0).any():
            raise ConfigError.at("counts", "counts and trials must be >= 0")
        total = trials.sum(dtype=object)
        if total > INT64_MAX:
            raise ConfigError.at("trials_per_basis", f"{trials.tolist()} add up to more than {INT64_MAX} trials")
        heralds = counts.sum(axis=(0, 2, 3), dtype=object)  # Python integers: int64 sums could wrap
        if (heralds > trials).any():
            basis = BASES[int(np.argmax(heralds > trials))]
            raise ConfigError.at(
                "counts", f"basis {basis}: {int(heralds[BASES.index(basis)])} heralded events exceed the trials"
            )
        if self.strong_id is not None and (not isinstance(self.strong_id, str) or not STRONG_ID.match(self.strong_id)):
            raise ConfigError.at("strong_id", f"{self.strong_id!r} is not a strong id (64 lower-case hex digits)")
        runs = tuple(run if isinstance(run, SeedRun) else SeedRun.from_dict(run) for run in self.runs)
        if runs:
            if self.strong_id is None:
                raise ConfigError.at("runs", "a record with seeds needs the strong_id of what was sampled")
            seeds = [run.seed for run in runs]
            if len(set(seeds)) != len(seeds):
                raise ConfigError.at("runs", "a seed is listed twice: its runs share random streams")
            if sum(run.trials for run in runs) != total:
                raise ConfigError.at(
                    "runs", f"the runs hold {sum(run.trials for run in runs)} trials, the counts {int(total)}"
                )
        metadata = {}
        for key, value in dict(self.metadata).items():
            if not isinstance(key, str) or not key:
                raise ConfigError.at("metadata", f"keys must be non-empty strings, got {key!r}")
            metadata[key] = check_metadata_value(key, value)
        counts.setflags(write=False)
        trials.setflags(write=False)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "trials_per_basis", trials)
        object.__setattr__(self, "runs", tuple(sorted(runs, key=SeedRun._order)))
        object.__setattr__(self, "metadata", MappingProxyType(metadata))

    @property
    def trials(self) -> int:
        return int(self.trials_per_basis.sum())

    @property
    def heralds(self) -> int:
        return int(self.counts.sum())

    @property
    def duration_s(self) -> float | None:
        """Lab time of the trials at the repetition rate, when one is given."""
        return None if self.repetition_rate_hz is None else self.trials / self.repetition_rate_hz

    def table(self, sign: str, basis: str) -> np.ndarray:
        """The 4x4 table of one herald sign and basis."""
        return self.counts[HERALD_SIGNS.index(sign), BASES.index(basis)]

    def provenance(self) -> dict[str, object]:
        """Link, settings, identity and metadata as JSON data (the attributes of :meth:`to_xarray`)."""
        return {
            "link": self.link,
            "read_efficiency_x": self.read_efficiency_x,
            "read_efficiency_y": self.read_efficiency_y,
            "repetition_rate_hz": self.repetition_rate_hz,
            "strong_id": self.strong_id,
            "runs": [run.as_dict() for run in self.runs],
            "metadata": dict(self.metadata),
        }

    def to_xarray(self):
        """An ``xarray.Dataset``: ``counts`` (sign, basis, pattern_x, pattern_y) and ``trials`` (basis).

        The provenance is in the attributes; values that are not numbers or strings
        (the runs, the metadata) as JSON text, so the dataset saves to NetCDF.
        """
        from metroqnet.analysis.labelled import dataset_attributes, require_xarray

        xr = require_xarray()
        return xr.Dataset(
            {
                "counts": (("sign", "basis", "pattern_x", "pattern_y"), self.counts),
                "trials": (("basis",), self.trials_per_basis),
            },
            coords={"sign": list(HERALD_SIGNS), "basis": list(BASES), "pattern_x": list(PATTERNS),
                    "pattern_y": list(PATTERNS)},
            attrs=dataset_attributes(self.provenance()),
        )

    def to_dataframe(self):
        """A ``pandas.DataFrame`` in the long format of a count file: one row per non-zero cell."""
        return self.to_xarray()["counts"].to_dataframe().query("counts > 0").reset_index()

    def __add__(self, other: CountRecord) -> CountRecord:
        if not isinstance(other, CountRecord):
            return NotImplemented
        for name in ("link", "read_efficiency_x", "read_efficiency_y", "repetition_rate_hz", "strong_id"):
            if getattr(self, name) != getattr(other, name):
                raise ConfigError.at(
                    name, f"cannot add records with {getattr(self, name)!r} and {getattr(other, name)!r}: "
                    "they are not draws of the same distribution"
                )
        shared = {run.seed for run in self.runs} & {run.seed for run in other.runs}
        if shared:
            entropy, key = sorted(shared, key=repr)[0]
            raise ConfigError.at(
                "runs", f"both records hold the run of seed entropy {entropy}, spawn key {list(key)}: "
                "adding it twice would count the same draws twice"
            )
        return CountRecord(
            link=self.link,
            counts=self.counts + other.counts,
            trials_per_basis=self.trials_per_basis + other.trials_per_basis,
            read_efficiency_x=self.read_efficiency_x,
            read_efficiency_y=self.read_efficiency_y,
            repetition_rate_hz=self.repetition_rate_hz,
            strong_id=self.strong_id,
            runs=self.runs + other.runs,
            metadata=merge_metadata(self.metadata, other.metadata),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CountRecord):
            return NotImplemented
        return (
            self.link == other.link
            and np.array_equal(self.counts, other.counts)
            and np.array_equal(self.trials_per_basis, other.trials_per_basis)
            and (self.read_efficiency_x, self.read_efficiency_y, self.repetition_rate_hz, self.strong_id, self.runs)
            == (other.read_efficiency_x, other.read_efficiency_y, other.repetition_rate_hz, other.strong_id, other.runs)
            and dict(self.metadata) == dict(other.metadata)
        )

    __hash__ = None  # type: ignore[assignment]
