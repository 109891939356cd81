"""The package's version (the one place it is written) and the versions a result records."""

from __future__ import annotations

import numpy as np

__version__ = "0.1.0"


def versions() -> dict[str, str]:
    """metroqnet's and numpy's versions, for a result's provenance."""
    return {"metroqnet_version": __version__, "numpy_version": np.__version__}
