"""One validation layer: the quantities parameters are made of, and one way of refusing them.

Every range is declared once, as an annotated type (:data:`Probability`,
:data:`NonNegative`, ...), and enforced three ways from that declaration:

* fields of frozen parameter objects (:func:`parameters`, pydantic dataclasses in
  strict mode: a string, a bool or NaN is not a number);
* single values (:func:`check`), e.g. a function's argument;
* arrays (:func:`check_array`), for the vectorized physics functions.

Every refusal is a :class:`ConfigError` reading ``"name: <value> <what is
wrong>; <what is allowed>"``, e.g. ``"qfc_efficiency: 1.5 is outside the
allowed range [0, 1]"``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar, get_args

import annotated_types
import numpy as np
import pydantic
from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from metroqnet.config.errors import ConfigError

INT64_MAX = 2**63 - 1


def _plain_number(value: object) -> object:
    """Numpy scalars count as numbers (a numpy bool does not); everything else goes on unchanged."""
    if isinstance(value, np.bool_):
        raise ValueError("bool")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


_NUMBER = BeforeValidator(_plain_number)

#: A finite real number.
Number = Annotated[float, _NUMBER, Field(allow_inf_nan=False)]
#: A length, rate, time or photon number: finite and >= 0.
NonNegative = Annotated[float, _NUMBER, Field(ge=0, allow_inf_nan=False)]
#: A strictly positive quantity (a window, a repetition rate, a lifetime).
Positive = Annotated[float, _NUMBER, Field(gt=0, allow_inf_nan=False)]
#: A probability in [0, 1].
Probability = Annotated[float, _NUMBER, Field(ge=0, le=1, allow_inf_nan=False)]
#: A transmission or efficiency in [0, 1] (above 1 is unphysical).
Efficiency = Probability
#: χ = P(n >= 1) of a two-mode squeezed vacuum: [0, 1).
ExcitationProbability = Annotated[float, _NUMBER, Field(ge=0, lt=1, allow_inf_nan=False)]
#: A number of trials or events, as stored (int64).
Count = Annotated[int, _NUMBER, Field(ge=0, le=INT64_MAX)]
#: The probe-feedback rounds of the phase loop: 1 or 2.
Rounds = Annotated[int, _NUMBER, Field(ge=1, le=2)]
#: A name: non-empty, without surrounding blanks.
Name = Annotated[str, StringConstraints(min_length=1, pattern=r"^\S(.*\S)?$")]


def bounded(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None) -> Any:
    """A finite number in a stated interval, for a range that only one parameter has."""
    return Annotated[float, _NUMBER, Field(ge=ge, gt=gt, le=le, lt=lt, allow_inf_nan=False)]


# --- messages -------------------------------------------------------------------------------------


def _constraints(metadata: Iterable[object]) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is not None and isinstance(item, getattr(annotated_types, name.capitalize())):
                found[name] = value
    return found


def interval_text(metadata: Iterable[object]) -> str:
    """``[0, 1]``, ``(0, inf]``, ... from a quantity's constraints."""
    bounds = _constraints(metadata)
    low, high = bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt"))
    left = "(" if "gt" in bounds or low is None else "["
    right = ")" if "lt" in bounds or high is None else "]"
    return f"{left}{_bound_text(low, '-inf')}, {_bound_text(high, 'inf')}{right}"


def _bound_text(bound: float | None, infinite: str) -> str:
    if bound is None:
        return infinite
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def _type_name(value: object) -> str:
    return type(value).__name__


def _detail(error: dict[str, Any], metadata: Iterable[object], annotation: object) -> str:
    """What is wrong with one value, from a pydantic error dict."""
    kind, value = error["type"], error.get("input")
    if isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{value!r} is outside the allowed range {interval_text(metadata)}"
    if kind == "finite_number":
        return f"expected a finite number, got {value!r}"
    if kind == "missing":
        return "missing (a value is required)"
    if kind == "value_error":
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            return cause.detail or str(cause)
        if str(cause) == "bool":
            return f"expected a number, got {value!r} ({_type_name(value)})"
        return str(cause)
    if kind.startswith("int") or annotation is int:
        return f"expected an integer, got {value!r} ({_type_name(value)})"
    if kind.startswith("string") or annotation is str:
        if isinstance(value, str):
            return f"expected a non-empty name without surrounding blanks, got {value!r}"
        return f"expected a string, got {value!r} ({_type_name(value)})"
    if kind.startswith(("float", "bool", "decimal")) or annotation is float:
        return f"expected a number, got {value!r} ({_type_name(value)})"
    return f"{value!r} is not allowed ({error['msg'].lower()})"


def _unwrap(quantity: object) -> tuple[object, list[object]]:
    """(base type, metadata) of an annotated quantity."""
    args = get_args(quantity)
    if args and hasattr(quantity, "__metadata__"):
        metadata: list[object] = []
        for item in quantity.__metadata__:  # type: ignore[attr-defined]
            metadata.extend(getattr(item, "metadata", [item]))
        return args[0], metadata
    return quantity, []


_ADAPTERS: dict[int, tuple[object, TypeAdapter]] = {}


def _adapter(quantity: object) -> TypeAdapter:
    kept = _ADAPTERS.get(id(quantity))
    if kept is None or kept[0] is not quantity:
        kept = _ADAPTERS[id(quantity)] = (quantity, TypeAdapter(quantity, config=ConfigDict(strict=True)))
    return kept[1]


def check(name: str, value: object, quantity: Any) -> Any:
    """``value`` validated as ``quantity`` (e.g. :data:`Probability`), or a :class:`ConfigError` naming ``name``."""
    try:
        return _adapter(quantity).validate_python(value)
    except ValidationError as error:
        base, metadata = _unwrap(quantity)
        raise ConfigError.at(name, _detail(error.errors()[0], metadata, base)) from None


def field_quantity(cls: type, field: str) -> Any:
    """The quantity (annotated type) a :func:`parameters` class declares for ``field``."""
    info = cls.__pydantic_fields__[field]  # type: ignore[attr-defined]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


_BOUNDS: dict[int, tuple[object, list[object], dict[str, float]]] = {}


def _bounds(quantity: object) -> tuple[list[object], dict[str, float]]:
    """(metadata, bounds) of a quantity, kept per quantity (they are read on every vectorized call)."""
    kept = _BOUNDS.get(id(quantity))
    if kept is None or kept[0] is not quantity:
        _, metadata = _unwrap(quantity)
        kept = _BOUNDS[id(quantity)] = (quantity, metadata, _constraints(metadata))
    return kept[1], kept[2]


def _inside(number: float, bounds: dict[str, float]) -> bool:
    return not (
        ("ge" in bounds and number < bounds["ge"])
        or ("gt" in bounds and number <= bounds["gt"])
        or ("le" in bounds and number > bounds["le"])
        or ("lt" in bounds and number >= bounds["lt"])
    )


def check_array(name: str, value: object, quantity: Any) -> np.ndarray:
    """``value`` as a float array whose every element is a finite number inside ``quantity``'s range.

    The vectorized form of :func:`check` (same ranges, same message, naming the first bad element).
    """
    if isinstance(value, bool | np.bool_):
        raise ConfigError.at(name, f"expected a number, got {value!r}")
    metadata, bounds = _bounds(quantity)
    if type(value) is float or type(value) is int:  # the scalar path, without array arithmetic (same refusals)
        number = float(value)
        if math.isfinite(number) and _inside(number, bounds):
            return np.asarray(number)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError.at(name, f"expected a number or an array of numbers, got {value!r}") from None
    bad = ~np.isfinite(array)
    if "ge" in bounds:
        bad |= array < bounds["ge"]
    if "gt" in bounds:
        bad |= array <= bounds["gt"]
    if "le" in bounds:
        bad |= array > bounds["le"]
    if "lt" in bounds:
        bad |= array >= bounds["lt"]
    if np.any(bad):
        first = float(array[bad].flat[0] if array.ndim else array.item())
        if not math.isfinite(first):
            raise ConfigError.at(name, f"expected a finite number, got {first!r}")
        raise ConfigError.at(name, f"{first!r} is outside the allowed range {interval_text(metadata)}")
    return array


def output(result: np.ndarray) -> float | np.ndarray:
    """A Python float for a 0-d result, else the array (the vectorized functions' return convention)."""
    result = np.asarray(result)
    return float(result) if result.ndim == 0 else result


# --- frozen parameter objects -------------------------------------------------------------------------

_PARAMETER_CONFIG = ConfigDict(strict=True, extra="forbid", arbitrary_types_allowed=True)


def refusal(error: ValidationError, cls: type) -> ConfigError:
    """The first error of a parameter object's validation as one ``field: detail`` refusal."""
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    fields = getattr(cls, "__pydantic_fields__", {})
    info = fields.get(first["loc"][0]) if first.get("loc") else None
    metadata = list(info.metadata) if info is not None else []
    annotation = info.annotation if info is not None else None
    if info is not None and not metadata:  # an optional field: the range sits in the union's quantity
        for member in get_args(annotation):
            base, inner = _unwrap(member)
            if inner:
                annotation, metadata = base, inner
                break
    if first["type"] == "unexpected_keyword_argument":
        allowed = ", ".join(sorted(fields))
        return ConfigError.at(loc, f"unknown parameter{_suggestion(loc, fields)}; allowed: {allowed}")
    if first["type"] == "value_error":
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            return cause
    detail = _detail(first, metadata, annotation)
    return ConfigError.at(loc, detail) if loc else ConfigError(f"{cls.__name__}: {detail}")


C = TypeVar("C", bound=type)


def parameters(cls: C) -> C:
    """Make ``cls`` a frozen, keyword-only, strictly validated dataclass that refuses with :class:`ConfigError`.

    Fields are declared with the quantities of this module; ``__post_init__``
    may add checks across fields (raising :class:`ConfigError`). ``dataclasses.replace``
    validates again.
    """
    validated = pydantic.dataclasses.dataclass(frozen=True, kw_only=True, config=_PARAMETER_CONFIG)(cls)
    construct: Callable[..., None] = validated.__init__  # type: ignore[misc]

    def __init__(self, *args: object, **kwargs: object) -> None:
        if args:
            raise ConfigError(f"{validated.__name__}: takes keyword arguments only (name each value), "
                              f"got {len(args)} positional")
        try:
            construct(self, *args, **kwargs)
        except ValidationError as error:
            raise refusal(error, validated) from None

    __init__.__doc__ = construct.__doc__
    validated.__init__ = __init__  # type: ignore[misc]
    return validated  # type: ignore[return-value]


# --- mappings from files -------------------------------------------------------------------------------


def _suggestion(key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.8)
    if not close:  # a key that grew a suffix (memory_decay -> memory_decay_exponent)
        close = [name for name in allowed if name.startswith(f"{key}_")][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def refuse_unknown_keys(where: str, given: object, allowed: Iterable[str]) -> None:
    """Refuse a mapping with keys outside ``allowed`` (typos must not pass silently)."""
    allowed = sorted(allowed)
    unknown = sorted(set(given) - set(allowed))  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}{_suggestion(unknown[0], allowed)}; "
            f"allowed keys are {', '.join(allowed)}",
            field=where,
        )
