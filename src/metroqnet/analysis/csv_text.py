"""Shared pieces of the count and event CSV files: cells, typed metadata, refusals.

Both files are UTF-8 CSV (a byte-order mark is accepted) with ``#`` lines for
metadata, read by :func:`metroqnet.config.files.read_table`. A metadata value is
JSON data when it reads as JSON (``# seed: 12345`` is the integer 12345, ``# runs:
[...]`` a list) and a string otherwise (``# operator: Alice``); a string that would
read as something else is written quoted, so every value reads back as written.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable

from metroqnet.analysis.records import check_metadata_value
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import DataRow, MetadataLine, file_refusal, read_table
from metroqnet.config.validation import INT64_MAX, Efficiency, Positive, check

__all__ = ["CountFileError", "DataRow", "MetadataLine", "read_rows", "refuse"]

METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
INTEGER = re.compile(r"^[0-9]+$")
#: Characters a link name may not hold (they would break the row or the ``[link]`` scope).
FORBIDDEN_IN_NAMES = frozenset(',"[]#\r\n')
#: How close (difflib ratio) an unknown metadata key may come to a reserved one before it is taken for a typo.
TYPO_CUTOFF = 0.85


class CountFileError(ConfigError):
    """A count or event file (or a record to be written) was refused; the message names file, row and field."""


def refuse(path: str | os.PathLike[str], row: int | None, field: str | None, message: str) -> CountFileError:
    return file_refusal(path, row, field, message, error=CountFileError)  # type: ignore[return-value]


def read_rows(path: str | os.PathLike[str], columns: tuple[str, ...], *, what: str):
    """Metadata lines and data rows of a count or event file."""
    return read_table(path, columns, what=what, error=CountFileError)


def choice(path, row: int, field: str, value: str, allowed: tuple[str, ...]) -> int:
    """Index of ``value`` in ``allowed``, or a refusal listing the allowed values."""
    if value not in allowed:
        raise refuse(path, row, field, f"{value!r} is not one of {', '.join(allowed)}")
    return allowed.index(value)


def count(path, row: int | None, field: str, value: str) -> int:
    """A non-negative integer written in decimal digits, at most what a record holds (int64)."""
    if not INTEGER.match(value):
        raise refuse(path, row, field, f"{value!r} is not a non-negative integer (decimal digits)")
    number = int(value)
    if number > INT64_MAX:
        raise refuse(path, row, field, f"{value} exceeds {INT64_MAX}, the largest count a record holds (2^63 - 1)")
    return number


def probability_or_rate(path, row: int, key: str, value: object) -> float:
    """A read efficiency in [0, 1] or a repetition rate > 0 (finite)."""
    try:
        return check(key, value, Efficiency if key.startswith("read_efficiency") else Positive)
    except ConfigError as error:
        raise refuse(path, row, key, error.detail or str(error)) from None


def check_link_name(path, row: int | None, field: str, name: str) -> str:
    if not name or name != name.strip() or name == "*" or FORBIDDEN_IN_NAMES & set(name) or not name.isprintable():
        raise refuse(
            path, row, field,
            f"{name!r} is not a link name (non-empty, printable, no surrounding spaces, not '*', none of , \" [ ] #)",
        )
    return name


# --- typed metadata -------------------------------------------------------------------------------------


def parse_value(text: str) -> object:
    """JSON data when ``text`` reads as JSON, else the string itself."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, TypeError):
        return text


def _refuse_constant(name: str) -> object:
    raise ValueError(name)  # NaN and Infinity stay strings


def format_value(value: object) -> str:
    """One line that :func:`parse_value` reads back as ``value``."""
    if isinstance(value, str) and value and value.isprintable() and value == value.strip() and parse_value(value) == value:
        return value
    # ASCII escapes: a line separator inside a string (U+2028, U+0085, ...) must not split the line.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def metadata_values(path, lines: Iterable[MetadataLine], reserved: Iterable[str]) -> None:
    """Refuse a key that is a near miss of a reserved key (``read_eficiency_x``): a typo must not pass silently."""
    reserved = sorted(reserved)
    for line in lines:
        if line.key in reserved:
            continue
        close = [key for key in reserved if _near_miss(line.key, key)] or difflib.get_close_matches(
            line.key, reserved, n=1, cutoff=TYPO_CUTOFF)
        if close:
            raise refuse(
                path, line.row, line.key,
                f"unknown metadata key, close to {close[0]!r}; correct the spelling (free-form metadata needs a "
                "key that is not a near miss of the reserved ones: " + ", ".join(reserved) + ")",
            )


def _near_miss(key: str, reserved: str) -> bool:
    """One slip away: another case, one letter changed, two neighbours swapped, or (long keys) one dropped or added."""
    if key.lower() == reserved.lower():
        return True
    if len(key) == len(reserved):
        differ = [i for i, (a, b) in enumerate(zip(key, reserved)) if a != b]
        return len(differ) == 1 or (
            len(differ) == 2 and differ[1] == differ[0] + 1
            and key[differ[0]] == reserved[differ[1]] and key[differ[1]] == reserved[differ[0]]
        )
    shorter, longer = sorted((key, reserved), key=len)
    if len(longer) - len(shorter) != 1 or len(reserved) <= 6:
        return False
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def check_metadata(path, key: str, value: object, reserved: frozenset[str]) -> None:
    """Refuse, when writing, metadata that would not read back identically."""
    if not METADATA_KEY.match(key) or key in reserved:
        raise refuse(path, None, key, f"metadata key must match {METADATA_KEY.pattern} and not be one of "
                                      f"{', '.join(sorted(reserved))}")
    try:
        check_metadata_value(key, value)
    except ConfigError as error:
        raise refuse(path, None, key, error.detail or str(error)) from None


def metadata_lines(items: Iterable[tuple[str, object]], *, link: str | None = None) -> list[str]:
    scope = f"[{link}] " if link is not None else ""
    return [f"# {scope}{key}: {format_value(value)}".rstrip() + "\n" for key, value in items]
