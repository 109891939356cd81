"""Provenance tags: is a hardware value from the paper or estimated, and why.

In a network TOML every hardware value is an inline table::

    fibre_length_km = { value = 10.0, source = "estimated", reason = "..." }
    qfc_efficiency = { value = 0.46, source = "paper", quote = "end-to-end efficiency of 46%" }

``reason`` is required when ``source = "estimated"``; ``quote`` and ``where``
(a location in the paper) are optional for paper values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import refuse_unknown_keys

#: Allowed values of ``source``.
PROVENANCE_SOURCES: tuple[str, ...] = ("paper", "estimated", "calibrated")

#: Keys of a tagged value's inline table.
TAGGED_VALUE_KEYS: frozenset[str] = frozenset({"value", "source", "reason", "quote", "where"})


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """Where a hardware value comes from.

    ``source`` is "paper", "estimated" or "calibrated" (set by a documented
    procedure, e.g. :mod:`metroqnet.experiments.calibration`); ``reason`` says
    why an estimate or how it was calibrated (required for both); ``quote`` / ``where`` locate a paper value;
    ``toml_key`` is the key path the value was read from, if from a file.
    Unpacks as ``source, reason = tag``.
    """

    source: str
    reason: str | None = None
    quote: str | None = None
    where: str | None = None
    toml_key: str | None = None

    def __post_init__(self) -> None:
        prefix = f"{self.toml_key}." if self.toml_key else ""
        if self.source not in PROVENANCE_SOURCES:
            raise ConfigError(
                f"{prefix}source: {self.source!r} is not allowed; allowed: {', '.join(map(repr, PROVENANCE_SOURCES))}"
            )
        for name in ("reason", "quote", "where", "toml_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{prefix}{name}: expected a non-empty string, got {value!r}")
        if self.source in ("estimated", "calibrated") and self.reason is None:
            raise ConfigError(
                f"{prefix}reason: missing; required when source = {self.source!r} (say why the value)"
            )

    def __iter__(self) -> Iterator[str | None]:
        return iter((self.source, self.reason))


def read_tagged_value(key_path: str, entry: object) -> tuple[object, Provenance]:
    """Split ``{ value = ..., source = ..., reason = ... }`` into the raw value and its tag.

    The value is returned unchecked (the caller applies the field's check with
    ``key_path`` as its name); the table's shape and tag are checked here.
    """
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"{key_path}: expected an inline table {{ value = ..., source = \"paper\" | \"estimated\", "
            f"reason = \"...\" }}, got {entry!r} ({type(entry).__name__})"
        )
    refuse_unknown_keys(key_path, entry, TAGGED_VALUE_KEYS)
    for required in ("value", "source"):
        if required not in entry:
            raise ConfigError(f"{key_path}.{required}: missing (every hardware value needs value and source)")
    source = entry["source"]
    if not isinstance(source, str):
        raise ConfigError(f"{key_path}.source: expected a string, got {source!r} ({type(source).__name__})")
    tag = Provenance(
        source=source,
        reason=entry.get("reason"),
        quote=entry.get("quote"),
        where=entry.get("where"),
        toml_key=key_path,
    )
    return entry["value"], tag
