"""The link parameters of one heralded trial between nodes X and Y (``docs/link_model.md``).

Per-node parameters carry the suffix ``_x`` / ``_y``; in a file or mapping an
unsuffixed name sets both nodes. Link-wide parameters (server noise, phase
noise, repetition rate) have no suffix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import (
    Efficiency,
    ExcitationProbability,
    NonNegative,
    Positive,
    Probability,
    parameters,
    refuse_unknown_keys,
)

#: Parameters that may differ between the two nodes.
PER_NODE_FIELDS: tuple[str, ...] = (
    "excitation_probability",
    "herald_efficiency",
    "herald_mode_overlap",
    "read_efficiency",
    "probe_mean_photon_number",
    "probe_mode_overlap",
    "local_noise_probability",
)

#: Parameters of the link as a whole.
LINK_FIELDS: tuple[str, ...] = ("herald_noise_probability", "phase_noise_std_rad", "repetition_rate_hz")

NODE_SUFFIXES = ("x", "y")


@parameters
class LinkParameters:
    """Link parameters (``docs/link_model.md`` gives each one's meaning and range).

    ``excitation_probability`` is χ = P(n >= 1) of the two-mode squeezed
    vacuum, so χ < 1. ``probe_mean_photon_number`` is the EP pulse's mean
    photon number counted as detected. ``phase_noise_std_rad`` may be any
    size: beyond ~π the phase is all but uniform and the coherence is gone.
    ``repetition_rate_hz`` is optional and only used for rates.
    """

    excitation_probability_x: ExcitationProbability
    excitation_probability_y: ExcitationProbability
    herald_efficiency_x: Efficiency
    herald_efficiency_y: Efficiency
    herald_mode_overlap_x: Probability = 1.0
    herald_mode_overlap_y: Probability = 1.0
    herald_noise_probability: Probability = 0.0
    read_efficiency_x: Efficiency
    read_efficiency_y: Efficiency
    phase_noise_std_rad: NonNegative = 0.0
    probe_mean_photon_number_x: NonNegative
    probe_mean_photon_number_y: NonNegative
    probe_mode_overlap_x: Probability = 1.0
    probe_mode_overlap_y: Probability = 1.0
    local_noise_probability_x: Probability = 0.0
    local_noise_probability_y: Probability = 0.0
    repetition_rate_hz: Positive | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], *, where: str = "link parameters") -> LinkParameters:
        """Build from a flat mapping (a JSON/TOML table); unsuffixed names set both nodes.

        Unknown keys, a name given both with and without suffix, and missing
        required values are refused with a message naming them (and ``where``).
        """
        if not isinstance(values, Mapping):
            raise ConfigError.at(where, f"expected a table of link parameters, got {type(values).__name__}")
        allowed = set(PER_NODE_FIELDS) | set(LINK_FIELDS)
        allowed |= {f"{base}_{s}" for base in PER_NODE_FIELDS for s in NODE_SUFFIXES}
        refuse_unknown_keys(where, values, allowed)
        kwargs: dict[str, object] = {}
        for key, value in values.items():
            if key in PER_NODE_FIELDS:
                for suffix in NODE_SUFFIXES:
                    if f"{key}_{suffix}" in values:
                        raise ConfigError.at(where, f"{key!r} and {key}_{suffix!s} both given; give one of them")
                    kwargs[f"{key}_{suffix}"] = value
            else:
                kwargs[key] = value
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in kwargs]
        if missing:
            raise ConfigError.at(where, f"missing required value(s) {', '.join(missing)}")
        try:
            return cls(**kwargs)
        except ConfigError as error:
            given = error.field if error.field in values else (error.field or "").rsplit("_", 1)[0]
            raise error.renamed(f"{where}: {given if given in values else error.field}") from None

    def to_mapping(self) -> dict[str, float | None]:
        """Flat mapping with every field suffixed; round-trips through :meth:`from_mapping`."""
        return dataclasses.asdict(self)

    def node(self, base: str, suffix: str) -> float:
        """Value of per-node parameter ``base`` at node ``suffix`` ('x' or 'y')."""
        return getattr(self, f"{base}_{suffix}")

    def replace(self, **changes: object) -> LinkParameters:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
