"""Reading and writing a user's files, with refusals that name the file, the row and the field.

One reader for every text input (presets, parameter files, count, event and
temperature files): a path that is not a readable UTF-8 regular file is refused
saying what it is instead (missing, a directory, a device such as
``/dev/null``). CSV tables share one layout: ``#`` lines for comments and
``# key: value`` metadata, one header row naming the columns, data rows. Row
numbers are line numbers of the file counted from 1, comments included, so an
editor jumps to them.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from metroqnet.config.errors import ConfigError

#: ``# key: value`` or ``# [scope] key: value``; other ``#`` lines are free comments.
METADATA_LINE = re.compile(r"^#\s*(?:\[(?P<scope>[^\]]*)\]\s*)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:(?P<value>.*)$")


def file_refusal(
    path: str | os.PathLike[str], row: int | None, field: str | None, message: str, *, error: type[ConfigError] = ConfigError
) -> ConfigError:
    """``"path: row R, field 'F': message"`` (row and field where known)."""
    where = str(path)
    if row is not None:
        where += f": row {row}"
    if field is not None:
        where += f", field {field!r}"
    return error(f"{where}: {message}", field=field, detail=message)


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a regular file to read ("does not exist", "is a directory", ...), or None."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except NotADirectoryError:
        return "does not exist (a part of the path is a file, not a directory)"
    except PermissionError:
        return "cannot be reached (permission denied)"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    kinds = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"),
             (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file"


def read_text_file(path: str | os.PathLike[str], *, what: str, error: type[ConfigError] = ConfigError) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped); refusals name ``what`` and the path."""
    problem = path_problem(path)
    if problem is not None:
        raise error(f"{what}: {str(path)!r} {problem}", field=what, detail=f"{str(path)!r} {problem}")
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as failure:
        detail = f"cannot read {str(path)!r} ({failure.strerror or failure})"
    except UnicodeDecodeError as failure:
        detail = f"{str(path)!r} is not UTF-8 text ({failure.reason} at byte {failure.start})"
    raise error(f"{what}: {detail}", field=what, detail=detail)


@dataclass(frozen=True)
class MetadataLine:
    """``# [scope] key: value`` at line ``row`` (``scope`` None when unscoped)."""

    row: int
    scope: str | None
    key: str
    value: str


@dataclass(frozen=True)
class DataRow:
    row: int
    cells: dict[str, str]


def read_table(
    path: str | os.PathLike[str],
    columns: tuple[str, ...],
    *,
    what: str,
    error: type[ConfigError] = ConfigError,
) -> tuple[list[MetadataLine], list[DataRow]]:
    """Metadata lines and data rows (keyed by column) of a CSV file whose header has exactly ``columns``.

    The columns may come in any order; a missing, unknown or repeated column,
    a row with the wrong number of fields and a file without a header are refused.
    """
    lines = read_text_file(path, what=what, error=error).splitlines()
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
                scope = match["scope"].strip() if match["scope"] is not None else None
                metadata.append(MetadataLine(number, scope, match["key"], match["value"].strip()))
            continue
        try:
            cells = [cell.strip() for cell in next(csv.reader([line]))]
        except csv.Error as failure:
            raise file_refusal(path, number, None, f"not a CSV row ({failure})", error=error) from None
        if header is None:
            header = _check_header(path, number, cells, columns, error)
            continue
        if len(cells) != len(header):
            raise file_refusal(
                path, number, None, f"expected {len(header)} fields ({','.join(header)}), got {len(cells)}", error=error
            )
        rows.append(DataRow(number, dict(zip(header, cells, strict=True))))
    if header is None:
        raise file_refusal(path, None, None, f"no header row; expected the columns {','.join(columns)}", error=error)
    return metadata, rows


def _check_header(path, row: int, cells: list[str], columns: tuple[str, ...], error) -> list[str]:
    missing = [name for name in columns if name not in cells]
    if missing:
        raise file_refusal(path, row, missing[0], f"missing column(s) {', '.join(missing)}; expected {','.join(columns)}",
                           error=error)
    unknown = [name for name in cells if name not in columns]
    if unknown:
        raise file_refusal(path, row, unknown[0], f"unknown column; expected {','.join(columns)}", error=error)
    repeated = sorted({name for name in cells if cells.count(name) > 1})
    if repeated:
        raise file_refusal(path, row, repeated[0], "column given twice", error=error)
    return cells


def write_text_file(path: str | os.PathLike[str], text: str, *, what: str) -> Path:
    """Write ``text`` as UTF-8 (the whole file, replacing it, through a temporary file); a failure is refused
    naming ``what`` and the path."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(partial, target)  # whole or not at all: an interrupted write leaves no half file
    except OSError as failure:
        partial.unlink(missing_ok=True)
        detail = f"cannot write {str(target)!r} ({failure.strerror or failure})"
        raise ConfigError(f"{what}: {detail}", field=what, detail=detail) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def check_output_folder(path: str | os.PathLike[str], *, overwrite: bool, option: str = "--out") -> Path:
    """A folder a run will write into: refused if it is a file, or holds files and ``overwrite`` is not given.

    Check it before a long run, so a run is never lost to a refusal at the end.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ConfigError.at(option, f"{str(folder)!r} is a file, not a folder")
    if folder.is_dir() and not overwrite:
        names = sorted(entry.name for entry in folder.iterdir())
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise ConfigError.at(
                option, f"{str(folder)!r} is not empty ({shown}); choose an empty folder or pass --overwrite"
            )
    return folder


def prepare_output_folder(path: str | os.PathLike[str], *, overwrite: bool, option: str = "--out") -> Path:
    """:func:`check_output_folder`, then create the folder (and its parents) if missing."""
    folder = check_output_folder(path, overwrite=overwrite, option=option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise ConfigError.at(option, f"cannot create {str(folder)!r} ({failure.strerror or failure})") from None
    return folder


def check_output_file(path: str | os.PathLike[str], *, overwrite: bool, option: str = "--out") -> Path:
    """A file to write: refused if it is a folder, or exists and ``overwrite`` is not given."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError.at(option, f"{str(target)!r} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise ConfigError.at(option, f"{str(target)!r} exists; choose a new file name or pass --overwrite")
    return target
