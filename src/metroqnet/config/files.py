"""Reading a user's text file with a refusal that names it, instead of a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from metroqnet.config.errors import ConfigError


def read_text_file(path: str | os.PathLike[str], *, what: str) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file is refused naming ``what``."""
    file_path = Path(path)
    if not file_path.is_file():
        raise ConfigError(f"{what}: file {str(file_path)!r} does not exist")
    try:
        return file_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{what}: cannot read {str(file_path)!r} ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{what}: {str(file_path)!r} is not UTF-8 text ({error.reason})") from None
