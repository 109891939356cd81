"""Labelled results (xarray, pandas) for notebooks: optional dependencies, imported when asked for."""

from __future__ import annotations

import json
from typing import Any


def require_xarray() -> Any:
    """The ``xarray`` module, or an ImportError that says how to install it."""
    try:
        import xarray
    except ImportError:
        raise ImportError("labelled results need xarray and pandas: pip install 'metroqnet[data]'") from None
    return xarray


def dataset_attributes(provenance: dict[str, Any]) -> dict[str, Any]:
    """Attributes NetCDF can hold: numbers and strings as they are, None left out, the rest as JSON text."""
    attributes: dict[str, Any] = {}
    for key, value in provenance.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            value = json.dumps(value, sort_keys=True)
        attributes[key] = value
    return attributes
