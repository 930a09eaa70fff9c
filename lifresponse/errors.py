"""Exceptions shared by the whole package.

Every error a user can cause by bad input is a :class:`LifResponseError`, so the command line can
print its message (which names the file, field or value at fault) instead of a traceback. An
error about one setting carries the setting's name in :attr:`LifResponseError.field`, so the
command line can name the flag instead (``window`` -> ``--duration``) without reading the text.
"""

from __future__ import annotations


class LifResponseError(Exception):
    """Base class of the errors lifresponse raises for bad input or unusable files.

    ``LifResponseError("window", "must be > 0 (got -1)")`` is about the setting ``window``: its
    message reads ``"window: must be > 0 (got -1)"``. With one argument there is no field.

    Attributes
    ----------
    field : str or None
        The library's name of the setting at fault (a parameter or dataclass field).
    detail : str
        The message without the field.
    """

    def __init__(self, *args):
        if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
            self.field, self.detail = args
            super().__init__(f"{self.field}: {self.detail}")
        else:
            self.field, self.detail = None, " ".join(map(str, args))
            super().__init__(*args)


class ParameterError(LifResponseError, ValueError):
    """A parameter value is out of its valid range; the message names the field and the value."""


class FileFormatError(LifResponseError, ValueError):
    """A file is missing, truncated, foreign or of an unsupported version; the message names it."""


class BackendError(LifResponseError):
    """A backend name is unknown, or its simulator is missing, of an unsupported version, or
    cannot be started."""
