"""The one exception type for refused input."""

from __future__ import annotations


class ConfigError(ValueError):
    """A parameter, file or argument was refused.

    The message names the field, the value given and what is allowed. ``field``
    and ``detail`` hold the two halves of ``"field: detail"`` when the refusal is
    about one field, so a caller that knows where the value came from (a key
    path in a file, a command-line option) can name that instead
    (:meth:`renamed`).
    """

    def __init__(self, message: str, *, field: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.detail = detail

    @classmethod
    def at(cls, field: str, detail: str) -> ConfigError:
        """The refusal ``"field: detail"``."""
        return cls(f"{field}: {detail}", field=field, detail=detail)

    def renamed(self, field: str) -> ConfigError:
        """The same refusal naming ``field`` (e.g. a file's key path) instead of the parameter's name."""
        if self.detail is None:
            return ConfigError(f"{field}: {self}", field=field, detail=str(self))
        return ConfigError.at(field, self.detail)
