"""Count files: :class:`CountRecord` s as one long-format CSV a lab can export from its time tagger.

Schema (``docs/count_files.md``)::

    # format: metroqnet-counts/1
    # operator: Alice                  <- metadata for every link of the file (JSON data or text)
    # read_efficiency_x: 0.27          <- reserved keys: read efficiencies, repetition rate,
    # [alice-bob] strong_id: 3f2a...   <-   strong id and runs (seeds) of a simulated record
    link,herald,basis,outcome_x,outcome_y,events
    alice-bob,*,Z,*,*,1000000          <- trials measured in basis Z (heralded or not)
    alice-bob,plus,Z,none,plus_only,17 <- heralded events of one sign, basis and pattern pair

``herald`` is plus|minus (or ``*`` on a trials row), ``basis`` Z|X|Y, outcomes
none|plus_only|minus_only|both (or ``*`` on a trials row), ``events`` a
non-negative integer. Cells not listed hold 0 events. Round trip is exact:
``read_count_file`` of what ``write_count_file`` wrote gives equal records (typed
metadata included).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from metroqnet.analysis.csv_text import (
    CountFileError,
    MetadataLine,
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
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import write_text_file
from metroqnet.config.validation import INT64_MAX

__all__ = ["COLUMNS", "FORMAT", "CountFileError", "read_count_file", "write_count_file"]

FORMAT = "metroqnet-counts/1"
COLUMNS: tuple[str, ...] = ("link", "herald", "basis", "outcome_x", "outcome_y", "events")
ANY = "*"
#: Metadata keys that set a record's fields instead of its ``metadata``.
SETTINGS: tuple[str, ...] = ("read_efficiency_x", "read_efficiency_y", "repetition_rate_hz")
#: Metadata keys that hold a simulated record's identity.
IDENTITY: tuple[str, ...] = ("strong_id", "runs")
RESERVED = frozenset({"format", *SETTINGS, *IDENTITY})


@dataclass
class _LinkRows:
    """What the rows of one link have said so far."""

    first_row: int
    counts: np.ndarray = field(default_factory=lambda: np.zeros(COUNT_SHAPE, dtype=np.int64))
    trials: dict[int, tuple[int, int]] = field(default_factory=dict)  # basis -> (trials, row)
    first_event_row: dict[int, int] = field(default_factory=dict)  # basis -> row


def read_count_file(path: str | os.PathLike[str]) -> dict[str, CountRecord]:
    """The count records of every link in ``path``, by link name, in file order.

    Refuses (:class:`CountFileError`, naming file, row and field) missing or
    unknown columns, unknown herald/basis/outcome values, events that are not
    non-negative integers, duplicate rows, events without a trials row, heralds
    exceeding trials, a link without heralded events (empty herald set), bad
    metadata and unreadable or non-UTF-8 files.
    """
    metadata, rows = read_rows(path, COLUMNS, what="count file")
    metadata_values(path, metadata, RESERVED)
    if not rows:
        raise refuse(path, None, "events", "no data rows: empty herald set")
    links: dict[str, _LinkRows] = {}
    seen: dict[tuple, int] = {}
    for data in rows:
        row, cells = data.row, data.cells
        link = check_link_name(path, row, "link", cells["link"])
        basis = choice(path, row, "basis", cells["basis"], BASES)
        key = (link, cells["herald"], basis, cells["outcome_x"], cells["outcome_y"])
        if key in seen:
            raise refuse(path, row, "events", f"duplicate of row {seen[key]} (same link, herald, basis and outcomes)")
        seen[key] = row
        events = count(path, row, "events", cells["events"])
        state = links.setdefault(link, _LinkRows(first_row=row))
        if cells["herald"] == ANY:
            for name in ("outcome_x", "outcome_y"):
                if cells[name] != ANY:
                    raise refuse(path, row, name, f"{cells[name]!r} on a trials row (herald=*); expected '*'")
            state.trials[basis] = (events, row)
            continue
        sign = choice(path, row, "herald", cells["herald"], HERALD_SIGNS)
        pattern_x = _outcome(path, row, "outcome_x", cells["outcome_x"])
        pattern_y = _outcome(path, row, "outcome_y", cells["outcome_y"])
        state.counts[sign, basis, pattern_x, pattern_y] = events
        state.first_event_row.setdefault(basis, row)
    common, per_link = _split_metadata(path, metadata, links)
    return {link: _record(path, link, state, common, per_link.get(link, [])) for link, state in links.items()}


def _outcome(path, row: int, field_name: str, value: str) -> int:
    if value == ANY:
        raise refuse(path, row, field_name, "'*' is allowed only on a trials row (herald=*)")
    return choice(path, row, field_name, value, PATTERNS)


def _split_metadata(path, lines: list[MetadataLine], links: Mapping[str, _LinkRows]):
    common: list[MetadataLine] = []
    per_link: dict[str, list[MetadataLine]] = {}
    first: dict[tuple[str | None, str], int] = {}
    for line in lines:
        if (line.scope, line.key) in first:
            raise refuse(path, line.row, line.key, f"metadata given twice (first on row {first[line.scope, line.key]})")
        first[line.scope, line.key] = line.row
        if line.key == "format":
            if line.scope is not None or line.value != FORMAT:
                raise refuse(path, line.row, "format", f"{line.value!r} is not a file-wide {FORMAT!r}")
            continue
        if line.scope is None:
            common.append(line)
        elif line.scope in links:
            per_link.setdefault(line.scope, []).append(line)
        else:
            raise refuse(path, line.row, line.key, f"metadata for link {line.scope!r}, which has no rows in the file")
    return common, per_link


def _record(path, link: str, state: _LinkRows, common: list[MetadataLine], own: list[MetadataLine]) -> CountRecord:
    heralds = state.counts.sum(axis=(0, 2, 3), dtype=object)  # Python integers: int64 sums could wrap
    if heralds.sum() == 0:
        raise refuse(path, state.first_row, "events", f"link {link!r}: no heralded events (empty herald set)")
    trials = np.zeros(len(BASES), dtype=np.int64)
    for basis, name in enumerate(BASES):
        if basis not in state.trials:
            if heralds[basis] > 0:
                raise refuse(
                    path, state.first_event_row[basis], "herald",
                    f"link {link!r}, basis {name}: heralded events but no trials row "
                    f"({link},*,{name},*,*,TRIALS)",
                )
            continue
        trials[basis], row = state.trials[basis]
        if heralds[basis] > trials[basis]:
            raise refuse(
                path, row, "events",
                f"link {link!r}, basis {name}: {int(heralds[basis])} heralded events exceed {int(trials[basis])} trials",
            )
    total = sum(trials_row for trials_row, _ in state.trials.values())
    if total > INT64_MAX:
        raise refuse(
            path, max(row for _, row in state.trials.values()), "events",
            f"link {link!r}: {total} trials in all exceed {INT64_MAX}, the most a record can count",
        )
    fields: dict[str, object] = {}
    metadata: dict[str, object] = {}
    rows: dict[str, int] = {}
    for line in [*common, *own]:  # a link's own lines override the file-wide ones
        value = parse_value(line.value)
        rows[line.key] = line.row
        if line.key in SETTINGS:
            fields[line.key] = probability_or_rate(path, line.row, line.key, value)
        elif line.key in IDENTITY:
            fields[line.key] = value
        else:
            metadata[line.key] = value
    return record_from_fields(path, rows, link=link, counts=state.counts, trials_per_basis=trials,
                              metadata=metadata, **fields)


def record_from_fields(path, rows: Mapping[str, int], **fields: object) -> CountRecord:
    """A :class:`CountRecord` from what a file said; a refusal names the row of the offending metadata."""
    if "runs" in fields and not isinstance(fields["runs"], list):
        raise refuse(path, rows.get("runs"), "runs", f"{json.dumps(fields['runs'])} is not a list of runs")
    if "strong_id" in fields and fields["strong_id"] is None:
        raise refuse(path, rows.get("strong_id"), "strong_id", "null is not a strong id (64 lower-case hex digits)")
    try:
        return CountRecord(**fields)  # type: ignore[arg-type]
    except ConfigError as error:
        key = (error.field or "").split(".")[0]
        raise refuse(path, rows.get(key), key or None, error.detail or str(error)) from None


# --- writing -------------------------------------------------------------------------------


def write_count_file(path: str | os.PathLike[str], records: Mapping[str, CountRecord] | CountRecord) -> None:
    """Write one record, or several of different links (``{link: record}``), as one count file.

    Metadata and settings equal in every record are written once for the file,
    the rest under ``[link]``. Metadata that would not read back identically
    (multi-line values, surrounding spaces, reserved keys) is refused.
    """
    if isinstance(records, CountRecord):
        records = {records.link: records}
    if not records:
        raise refuse(path, None, "link", "no records to write")
    for name, record in records.items():
        if not isinstance(record, CountRecord) or record.link != name:
            raise refuse(path, None, "link", f"entry {name!r} is not a CountRecord of link {name!r}")
        check_link_name(path, None, "link", name)
        for key, value in record.metadata.items():
            check_metadata(path, key, value, RESERVED)
    items = {name: _header_items(record) for name, record in records.items()}
    first = next(iter(items.values()), {})
    common = {key: value for key, value in first.items()
              if all(key in other and other[key] == value for other in items.values())}
    lines = ["# metroqnet count file; schema in docs/count_files.md\n", f"# format: {FORMAT}\n"]
    lines += metadata_lines(iter(common.items()))
    for name, header in items.items():
        lines += metadata_lines(((k, v) for k, v in header.items() if k not in common), link=name)
    text = io.StringIO()
    text.writelines(lines)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records.values():
        writer.writerows(_rows(record))
    write_text_file(path, text.getvalue(), what="count file")


def _header_items(record: CountRecord) -> dict[str, object]:
    settings = {name: float(getattr(record, name)) for name in SETTINGS if getattr(record, name) is not None}
    identity: dict[str, object] = {}
    if record.strong_id is not None:
        identity["strong_id"] = record.strong_id
    if record.runs:
        identity["runs"] = [run.as_dict() for run in record.runs]
    return {**settings, **identity, **record.metadata}


def _rows(record: CountRecord):
    for basis, name in enumerate(BASES):
        yield (record.link, ANY, name, ANY, ANY, int(record.trials_per_basis[basis]))
    for sign, basis, pattern_x, pattern_y in zip(*np.nonzero(record.counts)):
        yield (
            record.link, HERALD_SIGNS[sign], BASES[basis], PATTERNS[pattern_x], PATTERNS[pattern_y],
            int(record.counts[sign, basis, pattern_x, pattern_y]),
        )

