"""The link parameters of the SPEC §2 contract: one heralded trial between nodes X and Y.

Per-node parameters carry the suffix ``_x`` / ``_y``; in a file or mapping an
unsuffixed name sets both nodes. Link-wide parameters (server noise, phase
noise, repetition rate) have no suffix.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import (
    refuse_unknown_keys,
    require_efficiency,
    require_non_negative,
    require_positive,
    require_probability,
    require_range,
)

#: Parameters that may differ between the two nodes, and their checks.
PER_NODE_FIELDS: dict[str, object] = {
    "excitation_probability": lambda n, v: require_range(n, v, low=0.0, high=1.0, high_open=True),
    "herald_efficiency": require_efficiency,
    "herald_mode_overlap": require_efficiency,
    "read_efficiency": require_efficiency,
    "probe_mean_photon_number": require_non_negative,
    "probe_mode_overlap": require_efficiency,
    "local_noise_probability": require_probability,
}

#: Parameters of the link as a whole.
LINK_FIELDS: dict[str, object] = {
    "herald_noise_probability": require_probability,
    "phase_noise_std_rad": require_non_negative,
    "repetition_rate_hz": None,  # optional; checked separately
}

NODE_SUFFIXES = ("x", "y")


@dataclass(frozen=True, kw_only=True)
class LinkParameters:
    """SPEC §2 link parameters (see ``docs/link_model.md`` for each one's meaning).

    ``excitation_probability`` is χ = P(n >= 1) of the two-mode squeezed
    vacuum, so χ < 1. ``probe_mean_photon_number`` is the EP pulse's mean
    photon number counted as detected. ``repetition_rate_hz`` is optional and
    only used for rates.
    """

    excitation_probability_x: float
    excitation_probability_y: float
    herald_efficiency_x: float
    herald_efficiency_y: float
    herald_mode_overlap_x: float = 1.0
    herald_mode_overlap_y: float = 1.0
    herald_noise_probability: float = 0.0
    read_efficiency_x: float
    read_efficiency_y: float
    phase_noise_std_rad: float = 0.0
    probe_mean_photon_number_x: float
    probe_mean_photon_number_y: float
    probe_mode_overlap_x: float = 1.0
    probe_mode_overlap_y: float = 1.0
    local_noise_probability_x: float = 0.0
    local_noise_probability_y: float = 0.0
    repetition_rate_hz: float | None = None

    def __post_init__(self) -> None:
        for base, check in PER_NODE_FIELDS.items():
            for suffix in NODE_SUFFIXES:
                name = f"{base}_{suffix}"
                object.__setattr__(self, name, check(name, getattr(self, name)))
        for name, check in LINK_FIELDS.items():
            if check is not None:
                object.__setattr__(self, name, check(name, getattr(self, name)))
        if self.repetition_rate_hz is not None:
            object.__setattr__(
                self, "repetition_rate_hz", require_positive("repetition_rate_hz", self.repetition_rate_hz)
            )
        if self.phase_noise_std_rad > 10 * math.pi:
            raise ConfigError(
                f"phase_noise_std_rad: {self.phase_noise_std_rad!r} is outside the allowed range [0, {10 * math.pi:g}]"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], *, where: str = "link parameters") -> LinkParameters:
        """Build from a flat mapping (a JSON/TOML table); unsuffixed names set both nodes.

        Unknown keys, a name given both with and without suffix, and missing
        required values are refused with a message naming them.
        """
        allowed = set(PER_NODE_FIELDS) | set(LINK_FIELDS)
        allowed |= {f"{base}_{s}" for base in PER_NODE_FIELDS for s in NODE_SUFFIXES}
        refuse_unknown_keys(where, values, allowed)
        kwargs: dict[str, object] = {}
        for key, value in values.items():
            if key in PER_NODE_FIELDS:
                for suffix in NODE_SUFFIXES:
                    if f"{key}_{suffix}" in values:
                        raise ConfigError(f"{where}: {key!r} and {key}_{suffix!s} both given; give one of them")
                    kwargs[f"{key}_{suffix}"] = value
            else:
                kwargs[key] = value
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in kwargs]
        if missing:
            raise ConfigError(f"{where}: missing required value(s) {', '.join(missing)}")
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, float | None]:
        """Flat mapping with every field suffixed; round-trips through :meth:`from_mapping`."""
        return dataclasses.asdict(self)

    def node(self, base: str, suffix: str) -> float:
        """Value of per-node parameter ``base`` at node ``suffix`` ('x' or 'y')."""
        return getattr(self, f"{base}_{suffix}")

    def replace(self, **changes: object) -> LinkParameters:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
