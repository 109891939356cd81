"""Calibration files: the values a documented calibration procedure set, to apply with ``--calibration FILE``.

A calibration result is JSON::

    {
      "format": "metroqnet-calibration/1",
      "network": "hefei2024",
      "procedure": "metroqnet.experiments.calibration.calibrate_writeout_overlap: ...",
      "values": {
        "nodes.*.writeout_mode_overlap": {"value": 0.731, "reason": "mean published C of alice-bob ..."}
      }
    }

Keys are the key paths of :func:`metroqnet.config.presets.apply_overrides`. Applied
to the network it names, each value is tagged ``calibrated`` with its reason, so
nobody edits a preset by hand to use a calibrated value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file, write_text_file
from metroqnet.config.presets import Override
from metroqnet.config.validation import refuse_unknown_keys

FORMAT = "metroqnet-calibration/1"
KEYS = frozenset({"format", "network", "procedure", "values"})


@dataclass(frozen=True)
class Calibration:
    """Calibrated values for one network, with the procedure that set them."""

    network: str
    procedure: str
    values: Mapping[str, tuple[float, str]]  # key path -> (value, reason)

    def overrides(self, *, origin: str = "") -> tuple[Override, ...]:
        """The values as :class:`Override` s tagged ``calibrated``."""
        suffix = f" (calibration file {origin})" if origin else ""
        return tuple(
            Override(key=key, value=value, source="calibrated", reason=f"{reason}{suffix}", network=self.network)
            for key, (value, reason) in self.values.items()
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "network": self.network,
            "procedure": self.procedure,
            "values": {key: {"value": value, "reason": reason} for key, (value, reason) in self.values.items()},
        }


def write_calibration(path: str | os.PathLike[str], calibration: Calibration) -> None:
    write_text_file(path, json.dumps(calibration.as_dict(), indent=2) + "\n", what="calibration file")


def read_calibration(path: str | os.PathLike[str]) -> Calibration:
    """A calibration file; refusals name the file and the key."""
    text = read_text_file(path, what="calibration file")
    where = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError.at(where, f"expected a JSON object, got {type(document).__name__}")
    refuse_unknown_keys(where, document, KEYS)
    for key in KEYS:
        if key not in document:
            raise ConfigError.at(f"{where}: {key}", "missing")
    if document["format"] != FORMAT:
        raise ConfigError.at(f"{where}: format", f"{document['format']!r} is not {FORMAT!r}")
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
    return Calibration(network=document["network"], procedure=document["procedure"], values=values)
