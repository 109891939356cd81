"""Progress on the terminal: done, rate and time left, for runs that take a while."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import TextIO


@contextlib.contextmanager
def progress_bar(description: str, *, total: int, unit: str = "trial", stream: TextIO | None = None,
                 unit_scale: bool = True) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on ``stream`` (stderr) fed by ``advance(n)``; hidden when the stream is not a terminal.

    tqdm shows the count, the rate and the estimated time left (``[elapsed<left, rate]``); ``unit_scale``
    writes large counts as 1.2M (for trials; tasks are counted one by one).
    """
    from tqdm import tqdm

    stream = stream if stream is not None else sys.stderr
    shown = bool(getattr(stream, "isatty", lambda: False)())
    # A terminal that reports no width (0 columns) still gets a bar of a usual width.
    size = shutil.get_terminal_size((100, 24))
    with tqdm(total=total, unit=unit, unit_scale=unit_scale, disable=not shown, file=stream, leave=False,
              desc=description, ncols=size.columns or 100, nrows=size.lines or 24, smoothing=0.05) as bar:
        yield bar.update


def done_total(advance: Callable[[int], None]) -> Callable[[int, int], None]:
    """Adapt ``advance(n)`` to the sampler's ``progress(done, total)`` calls."""
    state = {"done": 0}

    def report(done: int, total: int) -> None:
        advance(done - state["done"])
        state["done"] = done

    return report
