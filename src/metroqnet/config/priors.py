"""What a calibration may change and within which ranges: the ``[calibration]`` section of a network file.

In a network TOML::

    [calibration]
    links = ["alice-bob"]                       # published links whose C and C~ enter the fit
    links_reason = "AC and BC need per-node imperfections the model does not have yet"
    [calibration.priors]
    "nodes.*.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "linear", reason = "..." }
    "nodes.*.probe_mean_photon_number" = { low = 0.005, high = 0.1, scale = "log", reason = "..." }
    [calibration.same_measurement]
    "experiments.storage_5us.entangling_rate_hz" = { as = "experiments.storage_5us.heralding_probability",
                                                      reason = "rate = heralding probability x repetition rate" }

**Priors.** Each key is a key path of :func:`metroqnet.config.presets.apply_overrides`
(``nodes.*.FIELD``, ``nodes.NAME.FIELD``, ``server.FIELD``, ``drift.FIELD``,
``experiments.NAME.FIELD``) naming a numeric hardware value. The prior is uniform on
``[low, high]`` in the stated ``scale``: ``linear`` (uniform in the value) or ``log``
(uniform in its logarithm; ``low`` > 0). ``reason`` says why that range is plausible.
Both ends must lie in the field's own allowed range.

**Same measurement.** A published number that is another one recomputed (the paper's
entangling rate is its heralding probability times the repetition rate) names it under
``as``: the likelihood counts the measurement once, and leaving one out leaves out both.

This module holds the data and checks its shape; whether a key path names a field of the
network is checked by the caller that knows the hardware (:mod:`metroqnet.config.presets`),
through ``quantity_of``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import check, refuse_unknown_keys

Scale = Literal["linear", "log"]
#: How a prior's range is spread: uniform in the value, or in its logarithm.
PRIOR_SCALES: tuple[str, ...] = get_args(Scale)

SECTION_KEYS = frozenset({"links", "links_reason", "priors", "same_measurement"})
PRIOR_KEYS = frozenset({"low", "high", "scale", "reason"})
SAME_MEASUREMENT_KEYS = frozenset({"as", "reason"})
#: Sections of an override key path and how many parts such a path has.
KEY_SECTIONS = {"nodes": 3, "server": 2, "drift": 2, "experiments": 3}

#: (section, field) -> the field's quantity (an annotated type), or None if there is no such numeric field.
QuantityOf = Callable[[str, str], Any]
#: section -> the names of its numeric fields (for the refusal of an unknown one).
FieldsOf = Callable[[str], Collection[str]]


@dataclass(frozen=True)
class Prior:
    """A uniform prior on ``[low, high]`` in ``scale`` for the value at ``key`` (an override key path)."""

    key: str
    low: float
    high: float
    scale: Scale
    reason: str

    def __post_init__(self) -> None:
        if self.scale not in PRIOR_SCALES:
            raise ConfigError.at(f"{self.key}.scale", f"{self.scale!r} is not one of {', '.join(map(repr, PRIOR_SCALES))}")
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError.at(f"{self.key}.{name}", f"expected a finite number, got {value!r}")
        if not self.low < self.high:
            raise ConfigError.at(f"{self.key}", f"low {self.low!r} must be below high {self.high!r}")
        if self.scale == "log" and self.low <= 0:
            raise ConfigError.at(f"{self.key}.low", f"{self.low!r} with scale 'log': a log-uniform prior needs low > 0")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ConfigError.at(f"{self.key}.reason", "missing: say why this range is plausible")

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def field_name(self) -> str:
        return self.key.split(".")[-1]

    def to_unit(self, value: Any) -> Any:
        """The value's place in the range, 0 at ``low`` and 1 at ``high`` (in the prior's scale)."""
        if self.scale == "log":
            import numpy as np

            return (np.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, unit: Any) -> Any:
        """The value at place ``unit`` of the range (inverse of :meth:`to_unit`)."""
        if self.scale == "log":
            import numpy as np

            return np.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        return self.low + unit * (self.high - self.low)


@dataclass(frozen=True)
class SameMeasurement:
    """The published number ``key`` is the number ``same_as`` recomputed; counted once."""

    key: str
    same_as: str
    reason: str


@dataclass(frozen=True)
class CalibrationPriors:
    """The ``[calibration]`` section: priors by key path, the links in the fit, numbers counted once."""

    priors: Mapping[str, Prior]
    links: tuple[str, ...] = ()
    links_reason: str | None = None
    same_measurement: Mapping[str, SameMeasurement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "priors", MappingProxyType(dict(self.priors)))
        object.__setattr__(self, "same_measurement", MappingProxyType(dict(self.same_measurement)))


def _table(key_path: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError.at(key_path, f"expected a table, got {value!r} ({type(value).__name__})")
    return value


def _text(key_path: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError.at(key_path, f"expected a non-empty string, got {value!r}")
    return value


def _numeric_range(quantity: Any) -> Any:
    """The quantity without ``| None`` (an optional field's range)."""
    members = [member for member in get_args(quantity) if member is not type(None)]
    if type(None) in get_args(quantity) and len(members) == 1:
        return members[0]
    return quantity


def check_key_path(
    where: str, key: str, *, quantity_of: QuantityOf, node_names: Collection[str], experiment_names: Collection[str],
    fields_of: FieldsOf | None = None,
) -> Any:
    """The quantity of the numeric value ``key`` names, or a refusal saying what is allowed."""
    parts = key.split(".")
    section = parts[0]
    if section not in KEY_SECTIONS or len(parts) != KEY_SECTIONS[section]:
        raise ConfigError.at(
            where, f"{key!r} is not a key path of a hardware value; use nodes.NAME.FIELD, nodes.*.FIELD, "
            "server.FIELD, drift.FIELD or experiments.NAME.FIELD"
        )
    if section == "nodes" and parts[1] != "*" and parts[1] not in node_names:
        raise ConfigError.at(where, f"{parts[1]!r} is not a node; nodes are {', '.join(node_names)} (or * for all)")
    if section == "experiments" and parts[1] not in experiment_names:
        raise ConfigError.at(
            where, f"{parts[1]!r} is not a declared experiment; experiments are {', '.join(experiment_names) or '(none)'}"
        )
    quantity = quantity_of(section, parts[-1])
    if quantity is None:
        allowed = sorted(fields_of(section)) if fields_of is not None else []
        hint = difflib.get_close_matches(parts[-1], allowed, n=1, cutoff=0.8)
        raise ConfigError.at(
            where, f"{parts[-1]!r} is not a numeric field of {section}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + (f"; numeric fields are {', '.join(allowed)}" if allowed else " (a prior needs a number to vary)")
        )
    return _numeric_range(quantity)


def priors_from_table(
    table: object,
    *,
    key_path: str = "calibration",
    quantity_of: QuantityOf,
    node_names: Collection[str],
    experiment_names: Collection[str],
    link_names: Collection[str],
    fields_of: FieldsOf | None = None,
    published_keys: Collection[str],
) -> CalibrationPriors:
    """Read and check a ``[calibration]`` table (module doc).

    ``published_keys`` are the published numbers as ``experiments.NAME.FIGURE`` and
    ``links.NAME.FIGURE``; a same-measurement entry must name two of them.
    """
    table = _table(key_path, table)
    refuse_unknown_keys(key_path, table, SECTION_KEYS)
    priors: dict[str, Prior] = {}
    for key, entry in _table(f"{key_path}.priors", table.get("priors", {})).items():
        where = f"{key_path}.priors.{key}"
        quantity = check_key_path(
            where, key, quantity_of=quantity_of, node_names=node_names, experiment_names=experiment_names,
            fields_of=fields_of,
        )
        entry = _table(where, entry)
        refuse_unknown_keys(where, entry, PRIOR_KEYS)
        missing = sorted(PRIOR_KEYS - set(entry))
        if missing:
            raise ConfigError.at(where, f"missing {', '.join(missing)} (a prior is {{low, high, scale, reason}})")
        try:
            prior = Prior(key=key, low=entry["low"], high=entry["high"], scale=entry["scale"], reason=entry["reason"])
        except ConfigError as error:
            raise ConfigError(f"{key_path}.priors.{error}", field=where, detail=error.detail) from None
        for end in ("low", "high"):
            try:
                check(f"{where}.{end}", float(getattr(prior, end)), quantity)
            except ConfigError as error:
                raise ConfigError.at(f"{where}.{end}", f"{error.detail} (the field's own range)") from None
        priors[key] = prior
    overlapping = _overlapping(priors)
    if overlapping:
        raise ConfigError.at(f"{key_path}.priors", f"{overlapping[0]!r} and {overlapping[1]!r} set the same value twice")

    links = table.get("links", [])
    if not isinstance(links, list) or not all(isinstance(name, str) for name in links):
        raise ConfigError.at(f"{key_path}.links", f"expected a list of published link names, got {links!r}")
    for name in links:
        if name not in link_names:
            raise ConfigError.at(
                f"{key_path}.links", f"{name!r} is not a published link; published links are {', '.join(link_names) or '(none)'}"
            )
    links_reason = table.get("links_reason")
    if links_reason is not None:
        _text(f"{key_path}.links_reason", links_reason)

    same: dict[str, SameMeasurement] = {}
    for key, entry in _table(f"{key_path}.same_measurement", table.get("same_measurement", {})).items():
        where = f"{key_path}.same_measurement.{key}"
        entry = _table(where, entry)
        refuse_unknown_keys(where, entry, SAME_MEASUREMENT_KEYS)
        same_as = _text(f"{where}.as", entry.get("as"))
        for name, shown in ((key, where), (same_as, f"{where}.as")):
            if name not in published_keys:
                raise ConfigError.at(
                    shown, f"{name!r} is not a published number; they are {', '.join(sorted(published_keys)) or '(none)'}"
                )
        if same_as == key:
            raise ConfigError.at(f"{where}.as", f"{same_as!r} is the number itself; name the number it is recomputed from")
        same[key] = SameMeasurement(key=key, same_as=same_as, reason=_text(f"{where}.reason", entry.get("reason")))
    for key, entry in same.items():
        if entry.same_as in same:
            raise ConfigError.at(
                f"{key_path}.same_measurement.{key}.as", f"{entry.same_as!r} is itself recomputed from another number; "
                f"name that one ({same[entry.same_as].same_as!r})"
            )
    return CalibrationPriors(priors=priors, links=tuple(links), links_reason=links_reason, same_measurement=same)


def _overlapping(priors: Mapping[str, Prior]) -> tuple[str, str] | None:
    """Two priors that set one value (``nodes.*.F`` and ``nodes.alice.F``), if any."""
    keys = sorted(priors)
    for index, first in enumerate(keys):
        for second in keys[index + 1:]:
            a, b = first.split("."), second.split(".")
            if a[0] == b[0] == "nodes" and a[2] == b[2] and "*" in (a[1], b[1]):
                return first, second
    return None
