"""Exceptions shared by the whole package.

Every error a user can cause by bad input is a :class:`LifResponseError`, so the command line can
print its message (which names the file, field or value at fault) instead of a traceback.
"""


class LifResponseError(Exception):
    """Base class of the errors lifresponse raises for bad input or unusable files."""


class ParameterError(LifResponseError, ValueError):
    """A parameter value is out of its valid range; the message names the field and the value."""


class FileFormatError(LifResponseError, ValueError):
    """A file is missing, truncated, foreign or of an unsupported version; the message names it."""


class BackendError(LifResponseError):
    """A backend name is unknown, or its simulator is missing, of an unsupported version, or
    cannot be started."""
