"""Shared pieces of the count and event CSV files: reading, header comments, cells, refusals.

Both files are UTF-8 CSV (a byte-order mark is accepted) with ``#`` lines for
metadata. Row numbers in messages are line numbers of the file counted from 1,
comment lines included, so an editor jumps to them.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: ``# key: value`` or ``# [link] key: value``; other ``#`` lines are free comments.
METADATA_LINE = re.compile(r"^#\s*(?:\[(?P<link>[^\]]*)\]\s*)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:(?P<value>.*)$")
METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
INTEGER = re.compile(r"^[0-9]+$")
#: Characters a link name may not hold (they would break the row or the ``[link]`` scope).
FORBIDDEN_IN_NAMES = frozenset(',"[]#\r\n')
INT64_MAX = 2**63 - 1


class CountFileError(ValueError):
    """A count or event file (or a record to be written) was refused; the message names file, row and field."""


def refuse(path: str | os.PathLike[str], row: int | None, field: str | None, message: str) -> CountFileError:
    where = str(path)
    if row is not None:
        where += f": row {row}"
    if field is not None:
        where += f", field {field!r}"
    return CountFileError(f"{where}: {message}")


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """The lines of a UTF-8 text file; a missing, unreadable or non-UTF-8 file is refused naming it."""
    file_path = Path(path)
    if not file_path.is_file():
        raise refuse(path, None, None, "file does not exist")
    try:
        text = file_path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise refuse(path, None, None, f"cannot read the file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise refuse(path, None, None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return text.splitlines()


@dataclass(frozen=True)
class MetadataLine:
    row: int
    link: str | None
    key: str
    value: str


@dataclass(frozen=True)
class DataRow:
    row: int
    cells: dict[str, str]


def parse_table(path: str | os.PathLike[str], lines: list[str], columns: tuple[str, ...]) -> tuple[
    list[MetadataLine], list[DataRow]
]:
    """Split a file into metadata lines and data rows keyed by the (exactly required) column names."""
    metadata: list[MetadataLine] = []
    rows: list[DataRow] = []
    header: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = METADATA_LINE.match(stripped)
            if match:
                link = match["link"].strip() if match["link"] is not None else None
                metadata.append(MetadataLine(number, link, match["key"], match["value"].strip()))
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if header is None:
            header = _check_header(path, number, cells, columns)
            continue
        if len(cells) != len(header):
            raise refuse(path, number, None, f"expected {len(header)} fields ({','.join(header)}), got {len(cells)}")
        rows.append(DataRow(number, dict(zip(header, cells))))
    if header is None:
        raise refuse(path, None, None, f"no header row; expected the columns {','.join(columns)}")
    return metadata, rows


def _check_header(path, row: int, cells: list[str], columns: tuple[str, ...]) -> list[str]:
    missing = [name for name in columns if name not in cells]
    if missing:
        raise refuse(path, row, missing[0], f"missing column(s) {', '.join(missing)}; expected {','.join(columns)}")
    unknown = [name for name in cells if name not in columns]
    if unknown:
        raise refuse(path, row, unknown[0], f"unknown column; expected {','.join(columns)}")
    repeated = sorted({name for name in cells if cells.count(name) > 1})
    if repeated:
        raise refuse(path, row, repeated[0], "column given twice")
    return cells


def choice(path, row: int, field: str, value: str, allowed: tuple[str, ...]) -> int:
    """Index of ``value`` in ``allowed``, or a refusal listing the allowed values."""
    if value not in allowed:
        raise refuse(path, row, field, f"{value!r} is not one of {', '.join(allowed)}")
    return allowed.index(value)


def count(path, row: int | None, field: str, value: str) -> int:
    """A non-negative integer written in decimal digits."""
    if not INTEGER.match(value) or int(value) > INT64_MAX:
        raise refuse(path, row, field, f"{value!r} is not a non-negative integer")
    return int(value)


def probability_or_rate(path, row: int, key: str, value: str) -> float:
    """A read efficiency in (0, 1] or a repetition rate > 0 (finite)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if key.startswith("read_efficiency"):
        if not 0.0 < number <= 1.0:
            raise refuse(path, row, key, f"{value!r} is not a number in (0, 1]")
    elif not (math.isfinite(number) and number > 0.0):
        raise refuse(path, row, key, f"{value!r} is not a finite number > 0")
    return number


def check_link_name(path, row: int | None, field: str, name: str) -> str:
    if not name or name != name.strip() or name == "*" or FORBIDDEN_IN_NAMES & set(name):
        raise refuse(
            path, row, field,
            f"{name!r} is not a link name (non-empty, no surrounding spaces, not '*', none of , \" [ ] #)",
        )
    return name


def check_metadata(path, key: str, value: str, reserved: frozenset[str]) -> None:
    """Refuse, when writing, metadata that would not read back identically."""
    if not METADATA_KEY.match(key) or key in reserved:
        raise refuse(path, None, key, f"metadata key must match {METADATA_KEY.pattern} and not be one of "
                                      f"{', '.join(sorted(reserved))}")
    if not isinstance(value, str) or value != value.strip() or "\n" in value or "\r" in value:
        raise refuse(path, None, key, f"metadata value {value!r} must be one line without surrounding spaces")


def metadata_lines(items: Iterator[tuple[str, str]], *, link: str | None = None) -> list[str]:
    scope = f"[{link}] " if link is not None else ""
    return [f"# {scope}{key}: {value}".rstrip() + "\n" for key, value in items]
