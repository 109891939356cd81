"""Per-event (time-tag) records: one row per heralded trial, for runs where timing matters.

A trial's time is ``trial_index / repetition_rate_hz`` after the start of the
run (trial 0). Unheralded trials are not listed; ``trials_per_basis`` says how
many trials were measured in each basis in all. ``to_counts`` gives the
:class:`~metroqnet.analysis.records.CountRecord` the analysis takes.

File (``docs/count_files.md``)::

    # format: metroqnet-events/1
    # link: alice-bob
    # trials_Z: 1000000
    # trials_X: 1000000
    # trials_Y: 1000000
    trial_index,herald,basis,outcome_x,outcome_y
    1733,plus,Z,none,plus_only
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from metroqnet.analysis.count_files import IDENTITY, SETTINGS, record_from_fields
from metroqnet.analysis.csv_text import (
    check_link_name,
    check_metadata,
    choice,
    count,
    metadata_lines,
    metadata_values,
    parse_value,
    probability_or_rate,
    read_rows,
    refuse,
)
from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS, PATTERNS
from metroqnet.analysis.records import CountRecord, SeedRun, tally
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import write_text_file

FORMAT = "metroqnet-events/1"
COLUMNS: tuple[str, ...] = ("trial_index", "herald", "basis", "outcome_x", "outcome_y")
TRIAL_KEYS: tuple[str, ...] = tuple(f"trials_{basis}" for basis in BASES)
RESERVED = frozenset({"format", "link", *TRIAL_KEYS, *SETTINGS, *IDENTITY})
_CODES = {"sign": HERALD_SIGNS, "basis": BASES, "outcome_x": PATTERNS, "outcome_y": PATTERNS}


@dataclass(frozen=True, eq=False)
class EventRecord:
    """Heralded trials of one link: index, herald sign, basis and both nodes' click patterns.

    ``sign``, ``basis``, ``outcome_x``, ``outcome_y`` hold indices into
    ``HERALD_SIGNS``, ``BASES`` and ``PATTERNS`` (:mod:`metroqnet.analysis.outcomes`);
    ``trial_index`` is strictly increasing and below the run's total trials.
    """

    link: str
    trial_index: np.ndarray
    sign: np.ndarray
    basis: np.ndarray
    outcome_x: np.ndarray
    outcome_y: np.ndarray
    trials_per_basis: np.ndarray
    read_efficiency_x: float | None = None
    read_efficiency_y: float | None = None
    repetition_rate_hz: float | None = None
    strong_id: str | None = None
    runs: tuple[SeedRun, ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index = np.array(self.trial_index, dtype=np.int64).reshape(-1)
        trials = np.array(self.trials_per_basis, dtype=np.int64)
        if trials.shape != (len(BASES),) or (trials < 0).any():
            raise ConfigError.at("trials_per_basis", f"{trials.tolist()!r} is not {len(BASES)} counts >= 0")
        if index.size and (index[0] < 0 or (np.diff(index) <= 0).any() or index[-1] >= trials.sum()):
            raise ConfigError.at("trial_index", f"must be strictly increasing in [0, {int(trials.sum())})")
        for name, allowed in _CODES.items():
            codes = np.array(getattr(self, name), dtype=np.int64).reshape(-1)
            if codes.shape != index.shape or (codes < 0).any() or (codes >= len(allowed)).any():
                raise ConfigError.at(name, f"needs {index.size} codes in 0..{len(allowed) - 1} ({', '.join(allowed)})")
            codes = codes.astype(np.int8)
            codes.setflags(write=False)
            object.__setattr__(self, name, codes)
        index.setflags(write=False)
        trials.setflags(write=False)
        object.__setattr__(self, "trial_index", index)
        object.__setattr__(self, "trials_per_basis", trials)
        counts = self.to_counts()  # heralds per basis must not exceed its trials; identity and metadata checked
        object.__setattr__(self, "runs", counts.runs)
        object.__setattr__(self, "metadata", counts.metadata)

    @property
    def trials(self) -> int:
        return int(self.trials_per_basis.sum())

    def to_counts(self) -> CountRecord:
        """The count record of these events (same link, trials, settings and metadata)."""
        counts = tally(self.sign, self.basis, self.outcome_x, self.outcome_y)
        return CountRecord(
            link=self.link,
            counts=counts,
            trials_per_basis=self.trials_per_basis,
            read_efficiency_x=self.read_efficiency_x,
            read_efficiency_y=self.read_efficiency_y,
            repetition_rate_hz=self.repetition_rate_hz,
            strong_id=self.strong_id,
            runs=self.runs,
            metadata=self.metadata,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventRecord):
            return NotImplemented
        arrays = ("trial_index", *_CODES, "trials_per_basis")
        return (
            all(np.array_equal(getattr(self, name), getattr(other, name)) for name in arrays)
            and (self.link, self.read_efficiency_x, self.read_efficiency_y, self.repetition_rate_hz,
                 self.strong_id, self.runs)
            == (other.link, other.read_efficiency_x, other.read_efficiency_y, other.repetition_rate_hz,
                other.strong_id, other.runs)
            and dict(self.metadata) == dict(other.metadata)
        )

    __hash__ = None  # type: ignore[assignment]


def read_event_file(path: str | os.PathLike[str]) -> EventRecord:
    """The events of one link; refusals (:class:`CountFileError`) name file, row and field."""
    metadata, rows = read_rows(path, COLUMNS, what="event file")
    metadata_values(path, metadata, RESERVED)
    header: dict[str, str] = {}
    header_row: dict[str, int] = {}
    for line in metadata:
        if line.scope is not None:
            raise refuse(path, line.row, line.key, "an event file holds one link: no [link] scoped metadata")
        if line.key in header:
            raise refuse(path, line.row, line.key, f"metadata given twice (first on row {header_row[line.key]})")
        header[line.key], header_row[line.key] = line.value, line.row
    if header.get("format", FORMAT) != FORMAT:
        raise refuse(path, header_row["format"], "format", f"{header['format']!r} is not {FORMAT!r}")
    for key in ("link", *TRIAL_KEYS):
        if key not in header:
            raise refuse(path, None, key, f"missing metadata line '# {key}: ...' (required: link, {', '.join(TRIAL_KEYS)})")
    link_name = parse_value(header["link"])
    link = check_link_name(path, header_row["link"], "link", link_name if isinstance(link_name, str) else header["link"])
    trials = np.array([count(path, header_row[key], key, header[key]) for key in TRIAL_KEYS], dtype=np.int64)
    if not rows:
        raise refuse(path, None, "trial_index", "no event rows: empty herald set")
    columns = {name: np.empty(len(rows), dtype=np.int64) for name in ("trial_index", *_CODES)}
    previous, previous_row = -1, 0
    for position, data in enumerate(rows):
        row, cells = data.row, data.cells
        index = count(path, row, "trial_index", cells["trial_index"])
        if index <= previous:
            raise refuse(path, row, "trial_index", f"{index} does not follow {previous} (row {previous_row}); "
                                                   "events must be in increasing trial order, one per trial")
        if index >= trials.sum():
            raise refuse(path, row, "trial_index", f"{index} is not below the {int(trials.sum())} trials of the run")
        previous, previous_row = index, row
        columns["trial_index"][position] = index
        columns["sign"][position] = choice(path, row, "herald", cells["herald"], HERALD_SIGNS)
        for name in ("basis", "outcome_x", "outcome_y"):
            columns[name][position] = choice(path, row, name, cells[name], _CODES[name])
    heralds = np.bincount(columns["basis"], minlength=len(BASES))
    for basis, key in enumerate(TRIAL_KEYS):
        if heralds[basis] > trials[basis]:
            raise refuse(path, header_row[key], key, f"{int(heralds[basis])} events in basis {BASES[basis]} "
                                                    f"exceed its {int(trials[basis])} trials")
    values = {key: parse_value(text) for key, text in header.items()}
    settings = {key: probability_or_rate(path, header_row[key], key, values[key]) for key in SETTINGS if key in values}
    identity = {key: values[key] for key in IDENTITY if key in values}
    extra = {key: value for key, value in values.items() if key not in RESERVED}
    counts = record_from_fields(
        path, header_row, link=link, counts=tally(columns["sign"], columns["basis"], columns["outcome_x"],
                                                  columns["outcome_y"]),
        trials_per_basis=trials, metadata=extra, **settings, **identity,
    )
    return EventRecord(
        link=link, trials_per_basis=trials, metadata=counts.metadata, strong_id=counts.strong_id, runs=counts.runs,
        **columns, **settings,
    )


def write_event_file(path: str | os.PathLike[str], record: EventRecord) -> None:
    """Write ``record`` so that :func:`read_event_file` gives it back exactly."""
    check_link_name(path, None, "link", record.link)
    for key, value in record.metadata.items():
        check_metadata(path, key, value, RESERVED)
    header: dict[str, object] = {"format": FORMAT, "link": record.link}
    header.update({key: int(n) for key, n in zip(TRIAL_KEYS, record.trials_per_basis)})
    header.update({key: float(getattr(record, key)) for key in SETTINGS if getattr(record, key) is not None})
    if record.strong_id is not None:
        header["strong_id"] = record.strong_id
    if record.runs:
        header["runs"] = [run.as_dict() for run in record.runs]
    header.update(record.metadata)
    text = io.StringIO()
    text.write("# metroqnet event file; schema in docs/count_files.md\n")
    text.writelines(metadata_lines(iter(header.items())))
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(
        zip(
            record.trial_index.tolist(),
            (HERALD_SIGNS[i] for i in record.sign),
            (BASES[i] for i in record.basis),
            (PATTERNS[i] for i in record.outcome_x),
            (PATTERNS[i] for i in record.outcome_y),
        )
    )
    write_text_file(path, text.getvalue(), what="event file")
