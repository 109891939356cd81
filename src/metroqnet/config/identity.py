"""Strong ids: a hash of everything that determines a result's distribution, the same on every machine.

``strong_id(obj)`` is the SHA-256 of ``canonical_json(obj)``: JSON with sorted
keys and no spaces, in which

* a dataclass is ``{"type": module.qualname, "fields": {...}}`` over its
  constructor fields (private ``_`` fields, derived ``init=False`` fields and labels
  declared with ``field(metadata={"identity": False})`` are left out);
* a float is written with Python's shortest exact repr (so 0.1 and
  0.1000000000000001 differ), a non-finite one as ``{"float": "nan"}``;
* a numpy array is its dtype (little-endian), shape and the SHA-256 of its
  bytes in C order — every element counts, unlike ``repr``, which numpy shortens;
* a ``SeedSequence`` is its entropy and spawn key;
* an object that is none of these gives its own ``identity()`` (a JSON-able value).

Anything else is refused, so nothing enters an id through an address or a repr.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from metroqnet.config.seeds import seed_record


def _type_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def canonical(obj: Any) -> Any:
    """A JSON-able value that stands for ``obj`` exactly (module docstring)."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not np.little_endian):
            array = array.astype(array.dtype.newbyteorder("<"))
        if array.dtype.hasobject:
            raise TypeError("canonical: arrays of Python objects have no canonical bytes")
        return {
            "array": array.dtype.newbyteorder("<").str if array.dtype.byteorder != "|" else array.dtype.str,
            "shape": list(array.shape),
            "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
        }
    if isinstance(obj, np.random.SeedSequence):
        return seed_record(obj)
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical: mapping keys must be strings, got {key!r}")
            out[key] = canonical(value)
        return out
    if isinstance(obj, list | tuple):
        return [canonical(item) for item in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {
            field.name: canonical(getattr(obj, field.name))
            for field in dataclasses.fields(obj)
            if field.init and not field.name.startswith("_") and field.metadata.get("identity", True)
        }
        return {"type": _type_name(obj), "fields": fields}
    identity = getattr(obj, "identity", None)
    if callable(identity):
        return {"type": _type_name(obj), "identity": canonical(identity())}
    raise TypeError(f"canonical: {_type_name(obj)} has no canonical form (make it a dataclass or give it identity())")


def canonical_json(obj: Any) -> str:
    """Sorted-key, compact JSON of :func:`canonical` ``(obj)``."""
    return json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def strong_id(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` ``(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()
