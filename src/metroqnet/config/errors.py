"""The one exception type for refused input."""


class ConfigError(ValueError):
    """A parameter, file or argument was refused.

    The message names the field, the value given and what is allowed.
    """
