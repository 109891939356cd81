"""Many link parameter points as arrays: the input of the batch engine (:func:`metroqnet.link.batch.evaluate_links`).

A :class:`LinkPoints` holds one float array of shape ``(points,)`` per field of
:class:`~metroqnet.config.link_parameters.LinkParameters` (``repetition_rate_hz``
NaN where a point has none), validated as each field is, and names the parameters
that vary (the coordinates of a labelled result). Build it from a sequence of
parameter objects or from arrays that broadcast against each other.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import NODE_SUFFIXES, PER_NODE_FIELDS, LinkParameters
from metroqnet.config.validation import Positive, check_array, field_quantity, refuse_unknown_keys

#: Every field of LinkParameters, in declaration order.
FIELDS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(LinkParameters))
RATE_FIELD = "repetition_rate_hz"
_REQUIRED = tuple(f.name for f in dataclasses.fields(LinkParameters) if f.default is dataclasses.MISSING)
_ALL_VALUES = operator.attrgetter(*FIELDS)


def _quantity(field: str):
    # The rate is optional (None) in a parameter object; given as an array, every value must be a rate.
    return Positive if field == RATE_FIELD else field_quantity(LinkParameters, field)


@dataclasses.dataclass(frozen=True, eq=False)
class LinkPoints:
    """Link parameter points as arrays: ``values[field]`` has shape ``(points,)`` for every field.

    ``coordinates`` maps the names that vary (as the caller named them: an
    unsuffixed per-node name stands for both nodes) to their values per point.
    Build with :meth:`from_parameters` or :meth:`from_arrays`.
    """

    values: Mapping[str, np.ndarray]
    coordinates: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.values[FIELDS[0]].size)

    def __getitem__(self, index: int) -> LinkParameters:
        """Point ``index`` as a parameter object (validated again)."""
        kwargs = {name: float(self.values[name][index]) for name in FIELDS}
        if np.isnan(kwargs[RATE_FIELD]):
            kwargs[RATE_FIELD] = None
        return LinkParameters(**kwargs)

    def fixed(self) -> dict[str, float | None]:
        """The fields with one value at every point (the rest are in :attr:`coordinates`)."""
        out: dict[str, float | None] = {}
        for name in FIELDS:
            values = self.values[name]
            if np.all(values == values[0]) or np.all(np.isnan(values)):
                out[name] = None if np.isnan(values[0]) else float(values[0])
        return out

    @classmethod
    def from_parameters(cls, points: Sequence[LinkParameters]) -> LinkPoints:
        """From parameter objects; the coordinates are the fields that differ between them."""
        if isinstance(points, LinkParameters):
            raise ConfigError.at("points", "got one LinkParameters; give a sequence of them (or use evaluate_link)")
        if isinstance(points, str | bytes | Mapping) or not isinstance(points, Sequence):
            raise ConfigError.at("points", f"expected a sequence of LinkParameters, got {type(points).__name__}")
        if len(points) == 0:
            raise ConfigError.at("points", "empty; give at least one LinkParameters")
        for index, point in enumerate(points):
            if not isinstance(point, LinkParameters):
                raise ConfigError.at(
                    f"points[{index}]", f"expected LinkParameters, got {point!r} ({type(point).__name__})"
                )
        rows = [_ALL_VALUES(point) for point in points]
        table = np.array([[np.nan if value is None else value for value in row] for row in rows], dtype=float)
        values = dict(zip(FIELDS, np.ascontiguousarray(table.T), strict=True))  # one contiguous row per field
        same = (table == table[0]).all(axis=0) | np.isnan(table).all(axis=0)
        coordinates = {name: values[name] for name, fixed in zip(FIELDS, same, strict=True) if not fixed}
        return cls(values=values, coordinates=coordinates)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike], *, base: LinkParameters | None = None) -> LinkPoints:
        """From a mapping ``field -> array`` whose arrays broadcast against each other (then flattened, C order).

        Names are those of :meth:`LinkParameters.from_mapping` (an unsuffixed per-node
        name sets both nodes). Fields not given come from ``base``; without a base every
        required field must be given. Arrays of one or more dimensions are the
        coordinates; scalars are fixed values.
        """
        if not isinstance(arrays, Mapping):
            raise ConfigError.at("points", f"expected a mapping of field -> array, got {type(arrays).__name__}")
        if not arrays:
            raise ConfigError.at("points", "empty mapping; give at least one field -> array")
        if base is not None and not isinstance(base, LinkParameters):
            raise ConfigError.at("base", f"expected LinkParameters, got {type(base).__name__}")
        allowed = set(FIELDS) | set(PER_NODE_FIELDS)
        if not all(isinstance(name, str) for name in arrays):
            raise ConfigError.at("points", f"field names must be strings, got {list(arrays)!r}")
        refuse_unknown_keys("points", arrays, allowed)
        for name in arrays:
            for suffix in NODE_SUFFIXES if name in PER_NODE_FIELDS else ():
                if f"{name}_{suffix}" in arrays:
                    raise ConfigError.at("points", f"{name!r} and {name}_{suffix} both given; give one of them")
        checked = {name: _checked_array(name, value) for name, value in arrays.items()}
        try:
            shape = np.broadcast_shapes(*(array.shape for array in checked.values()))
        except ValueError:
            shapes = ", ".join(f"{name} {array.shape}" for name, array in checked.items())
            raise ConfigError.at("points", f"the arrays' shapes do not broadcast together: {shapes}") from None
        count = int(np.prod(shape))
        if count == 0:
            raise ConfigError.at("points", f"the arrays broadcast to shape {shape}: no points")
        given = {name: np.broadcast_to(array, shape).ravel() for name, array in checked.items()}
        values: dict[str, np.ndarray] = {}
        for name, array in given.items():
            for field in [f"{name}_{s}" for s in NODE_SUFFIXES] if name in PER_NODE_FIELDS else [name]:
                values[field] = array
        missing = [name for name in _REQUIRED if name not in values] if base is None else []
        if missing:
            raise ConfigError.at("points", f"missing required value(s) {', '.join(missing)} (or give base=)")
        for name in FIELDS:
            if name not in values:
                default = getattr(base, name) if base is not None else _default(name)
                values[name] = np.full(count, np.nan if default is None else float(default))
        values = {name: np.array(values[name], dtype=float) for name in FIELDS}  # own, contiguous copies
        coordinates = {name: values[_first_field(name)] for name, array in checked.items() if array.ndim > 0}
        return cls(values=values, coordinates=coordinates)

    @classmethod
    def of(cls, points: object, *, base: LinkParameters | None = None) -> LinkPoints:
        """``points`` as LinkPoints: already one, a mapping of arrays (with ``base``), or a sequence of parameters."""
        if isinstance(points, LinkPoints):
            if base is not None:
                raise ConfigError.at("base", "only used with a mapping of arrays; these points are already built")
            return points
        if isinstance(points, Mapping):
            return cls.from_arrays(points, base=base)
        if base is not None:
            raise ConfigError.at("base", "only used with a mapping of arrays, not with a sequence of LinkParameters")
        return cls.from_parameters(points)


def _first_field(name: str) -> str:
    return f"{name}_{NODE_SUFFIXES[0]}" if name in PER_NODE_FIELDS else name


def _default(name: str) -> float | None:
    return next(f.default for f in dataclasses.fields(LinkParameters) if f.name == name)


def _checked_array(name: str, value: ArrayLike) -> np.ndarray:
    """``value`` as a float array inside the field's range, or a ConfigError naming the field."""
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # e.g. a ragged list
        raise ConfigError.at(name, f"expected a number or an array of numbers, got {value!r}") from None
    if kind == "b":
        raise ConfigError.at(name, f"expected numbers, got booleans {value!r}")
    return check_array(name, value, _quantity(_first_field(name)))
