"""``metroqnet preset show``: every value of a preset with its tag, as text."""

from __future__ import annotations

import textwrap

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.listing import ValueRow

WIDTH = 100


def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_value_rows(network: NetworkHardware, rows: list[ValueRow]) -> str:
    """One block per value: ``key = value  [source]`` and, indented, its quote, place, reason and reservation."""
    lines = [f"{network.name}" + (f": {network.description}" if network.description else ""), ""]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.source or "structure"] = counts.get(row.source or "structure", 0) + 1
        lines.append(f"{row.key} = {_value_text(row.value)}   [{row.source or 'structure'}]")
        notes = []
        if row.quote:
            notes.append(f'"{row.quote}"' + (f" ({row.where})" if row.where else ""))
        elif row.where:
            notes.append(f"({row.where})")
        if row.reason:
            notes.append(row.reason)
        if row.reserved:
            notes.append(f"reserved: {row.reserved}")
        for note in notes:
            lines += textwrap.wrap(note, WIDTH, initial_indent="    ", subsequent_indent="    ")
    summary = ", ".join(f"{count} {source}" for source, count in sorted(counts.items()))
    lines += ["", f"{len(rows)} values: {summary}. nodes.* = the same value at every node; structure = an experiment's kind or node pair (no tag)."]
    return "\n".join(lines)
