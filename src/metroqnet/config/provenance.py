"""Provenance tags: where a hardware value comes from, and why.

In a network TOML every hardware value is an inline table::

    fibre_length_km = { value = 10.0, source = "estimated", reason = "..." }
    qfc_efficiency = { value = 0.46, source = "paper", quote = "end-to-end efficiency of 46%" }

``source`` is one of :data:`PROVENANCE_SOURCES`:

* ``paper`` — stated in the paper (``quote`` and ``where`` locate it);
* ``estimated`` — not given; ``reason`` says why this number;
* ``calibrated`` — set by a documented, rerunnable procedure; ``reason`` names it
  (a calibration file applied with ``--calibration``);
* ``user`` — set by the user for this run (``--set``); ``reason`` says so.

``reserved`` marks a value that no model uses yet and names the open work that will.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, get_args

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import Name, parameters, refuse_unknown_keys

Source = Literal["paper", "estimated", "calibrated", "user"]
#: Allowed values of ``source``.
PROVENANCE_SOURCES: tuple[str, ...] = get_args(Source)

#: Keys of a tagged value's inline table.
TAGGED_VALUE_KEYS: frozenset[str] = frozenset({"value", "source", "reason", "quote", "where", "reserved"})


@parameters
class Provenance:
    """Where a hardware value comes from (module docstring); unpacks as ``source, reason = tag``.

    ``toml_key`` is the key path the value was read from, if from a file.
    """

    source: Source
    reason: Name | None = None
    quote: Name | None = None
    where: Name | None = None
    reserved: Name | None = None
    toml_key: Name | None = None

    def __post_init__(self) -> None:
        if self.source != "paper" and self.reason is None:
            raise ConfigError.at("reason", f"missing; required when source = {self.source!r} (say why the value)")

    def __iter__(self) -> Iterator[str | None]:
        return iter((self.source, self.reason))


def read_tagged_value(key_path: str, entry: object) -> tuple[object, Provenance]:
    """Split ``{ value = ..., source = ..., reason = ... }`` into the raw value and its tag.

    The value is returned unchecked (the caller validates it and names ``key_path``);
    the table's shape and tag are checked here.
    """
    if not isinstance(entry, Mapping):
        raise ConfigError.at(
            key_path,
            f"expected an inline table {{ value = ..., source = \"paper\" | \"estimated\", reason = \"...\" }}, "
            f"got {entry!r} ({type(entry).__name__})",
        )
    refuse_unknown_keys(key_path, entry, TAGGED_VALUE_KEYS)
    for required in ("value", "source"):
        if required not in entry:
            raise ConfigError.at(f"{key_path}.{required}", "missing (every hardware value needs value and source)")
    tags = {name: entry[name] for name in TAGGED_VALUE_KEYS - {"value"} if name in entry}
    try:
        tag = Provenance(**tags, toml_key=key_path)
    except ConfigError as error:
        raise error.renamed(f"{key_path}.{error.field}" if error.field else key_path) from None
    return entry["value"], tag
