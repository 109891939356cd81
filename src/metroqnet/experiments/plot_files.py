"""Drawing a figure file where matplotlib is installed, and saying how to get it where it is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def plot_or_note(plot: Callable[[T, Path], Path], data: T, path: Path) -> tuple[list[Path], list[str]]:
    """``([plot(data, path)], [])``, or ``([], [note])`` without matplotlib (an optional extra)."""
    try:
        return [plot(data, path)], []
    except ImportError:
        return [], [f"matplotlib not installed, no {path.name} (pip install 'metroqnet[plot]')"]
