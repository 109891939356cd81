"""Calibration files: the values a documented calibration procedure set, to apply with ``--calibration FILE``.

A calibration result is JSON (``metroqnet calibrate`` writes it)::

    {
      "format": "metroqnet-calibration/2",
      "network": "hefei2024",
      "procedure": "metroqnet.experiments.calibration.calibrate: ...",
      "values": {
        "nodes.*.writeout_mode_overlap": {"value": 0.731, "reason": "MAP of ...; posterior 0.73 [0.65, 0.80]"}
      },
      "settings": {...}, "priors": {...}, "targets": [...], "fit": {...}, "posterior": [...],
      "identifiability": {...}, "leave_one_out": {...}, "not_fitted": {...}, "diagnostics": {...},
      "versions": {...}
    }

Keys of ``values`` are the key paths of :func:`metroqnet.config.presets.apply_overrides`.
Applied to the network it names, each value is tagged ``calibrated`` with its reason, so
nobody edits a preset by hand to use a calibrated value. The other blocks are the
calibration's report (``docs/calibration.md`` describes them): optional, kept as read
(:attr:`Calibration.report`), each checked to be a JSON object or list as documented.
``leave_one_out.rows`` is read by ``metroqnet reproduce --calibration FILE`` (the
predicted column), so its rows are checked field by field.

Format 1 (``metroqnet-calibration/1``: ``format``, ``network``, ``procedure``,
``values`` only) is still read.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file, write_text_file
from metroqnet.config.presets import Override
from metroqnet.config.validation import refuse_unknown_keys

FORMAT = "metroqnet-calibration/2"
FORMATS = ("metroqnet-calibration/1", FORMAT)
REQUIRED_KEYS = frozenset({"format", "network", "procedure", "values"})
#: The report's blocks and the JSON type each one is.
REPORT_BLOCKS: dict[str, type] = {
    "settings": dict, "priors": dict, "targets": list, "fit": dict, "posterior": list, "identifiability": dict,
    "leave_one_out": dict, "not_fitted": dict, "diagnostics": dict, "versions": dict,
}
#: Fields of a leave-one-out row and their types (numbers may be null where undefined).
PREDICTION_FIELDS: dict[str, tuple[type, ...]] = {
    "key": (str,), "label": (str,), "setting": (str,), "paper": (int, float), "method": (str,),
    "mean": (int, float), "sd": (int, float), "low_68": (int, float), "high_68": (int, float),
    "low_2sigma": (int, float), "high_2sigma": (int, float), "inside_2sigma": (bool,),
}


@dataclass(frozen=True)
class Calibration:
    """Calibrated values for one network, with the procedure that set them and (format 2) its report."""

    network: str
    procedure: str
    values: Mapping[str, tuple[float, str]]  # key path -> (value, reason)
    report: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "report", MappingProxyType(dict(self.report)))

    def overrides(self, *, origin: str = "") -> tuple[Override, ...]:
        """The values as :class:`Override` s tagged ``calibrated``."""
        suffix = f" (calibration file {origin})" if origin else ""
        return tuple(
            Override(key=key, value=value, source="calibrated", reason=f"{reason}{suffix}", network=self.network)
            for key, (value, reason) in self.values.items()
        )

    def predictions(self) -> dict[str, Mapping[str, object]]:
        """The leave-one-out rows by key (empty for a file without them)."""
        block = self.report.get("leave_one_out")
        rows = block.get("rows", []) if isinstance(block, Mapping) else []
        return {row["key"]: row for row in rows}

    def as_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "network": self.network,
            "procedure": self.procedure,
            "values": {key: {"value": value, "reason": reason} for key, (value, reason) in self.values.items()},
            **{key: _finite(self.report[key]) for key in REPORT_BLOCKS if key in self.report},
        }


def _finite(value: object) -> object:
    """``value`` with every non-finite float as null (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def calibration_text(calibration: Calibration) -> str:
    """The file's text: the same calibration gives the same bytes."""
    return json.dumps(calibration.as_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_calibration(path: str | os.PathLike[str], calibration: Calibration) -> None:
    write_text_file(path, calibration_text(calibration), what="calibration file")


def _check_predictions(where: str, block: Mapping[str, object]) -> None:
    rows = block.get("rows", [])
    if not isinstance(rows, list):
        raise ConfigError.at(f"{where}.rows", f"expected a list of rows, got {type(rows).__name__}")
    for index, row in enumerate(rows):
        at = f"{where}.rows[{index}]"
        if not isinstance(row, dict):
            raise ConfigError.at(at, f"expected an object, got {row!r}")
        for name, types in PREDICTION_FIELDS.items():
            value = row.get(name)
            if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                raise ConfigError.at(f"{at}.{name}", f"expected {' or '.join(t.__name__ for t in types)}, got {value!r}")


def read_calibration(path: str | os.PathLike[str]) -> Calibration:
    """A calibration file; refusals name the file and the key."""
    text = read_text_file(path, what="calibration file")
    where = str(path)

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ConfigError.at(where, f"key {repeated[0]!r} appears more than once in one object")
        return dict(pairs)

    try:
        document = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError.at(where, f"expected a JSON object, got {type(document).__name__}")
    refuse_unknown_keys(where, document, REQUIRED_KEYS | set(REPORT_BLOCKS))
    for key in sorted(REQUIRED_KEYS):
        if key not in document:
            raise ConfigError.at(f"{where}: {key}", "missing")
    if document["format"] not in FORMATS:
        raise ConfigError.at(f"{where}: format", f"{document['format']!r} is not one of {', '.join(map(repr, FORMATS))}")
    if document["format"] == FORMATS[0] and set(document) - REQUIRED_KEYS:
        extra = sorted(set(document) - REQUIRED_KEYS)
        raise ConfigError.at(f"{where}: {extra[0]}", f"not a key of format {FORMATS[0]!r} (a report block needs {FORMAT!r})")
    for key in ("network", "procedure"):
        if not isinstance(document[key], str) or not document[key].strip():
            raise ConfigError.at(f"{where}: {key}", f"expected a non-empty string, got {document[key]!r}")
    if not isinstance(document["values"], dict) or not document["values"]:
        raise ConfigError.at(f"{where}: values", "expected a non-empty object of key path -> {value, reason}")
    values: dict[str, tuple[float, str]] = {}
    for key, entry in document["values"].items():
        if not isinstance(entry, dict) or set(entry) != {"value", "reason"}:
            raise ConfigError.at(f"{where}: values.{key}", f"expected {{value, reason}}, got {entry!r}")
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise ConfigError.at(f"{where}: values.{key}.reason", "expected a non-empty string")
        values[key] = (entry["value"], entry["reason"])
    report: dict[str, object] = {}
    for key, kind in REPORT_BLOCKS.items():
        if key not in document:
            continue
        if not isinstance(document[key], kind):
            raise ConfigError.at(f"{where}: {key}", f"expected a JSON {'object' if kind is dict else 'list'}, "
                                 f"got {type(document[key]).__name__}")
        report[key] = document[key]
    if "leave_one_out" in report:
        _check_predictions(f"{where}: leave_one_out", report["leave_one_out"])  # type: ignore[arg-type]
    return Calibration(network=document["network"], procedure=document["procedure"], values=values, report=report)
