"""What every lifresponse HDF5 file shares: ``format`` and ``version`` attributes, checked on
read with errors that name the file."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import h5py
import numpy as np

from lifresponse.errors import FileFormatError


@contextlib.contextmanager
def open_checked(path, fmt: str, version: int, what: str):
    """Open ``path`` for reading after checking its format and version.

    Yields the open ``h5py.File`` and its root attributes as plain Python values. A missing,
    truncated, foreign or newer file, or a missing dataset or attribute (``KeyError``), becomes a
    :class:`FileFormatError` naming the file.

    Parameters
    ----------
    path : path-like
    fmt : str
        Expected ``format`` attribute.
    version : int
        Newest version this code reads.
    what : str
        Name of the kind of file, for messages ("rates", "network", "run").
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != fmt:
                raise FileFormatError(f"{path}: not a lifresponse {what} file (format = "
                                      f"{plain(f.attrs.get('format'))!r})")
            try:
                found = int(f.attrs.get("version", -1))
            except (TypeError, ValueError):
                raise FileFormatError(f"{path}: version {plain(f.attrs['version'])!r} is not a "
                                      "whole number") from None
            if not 1 <= found <= version:
                raise FileFormatError(f"{path}: {what} file version {found}; this lifresponse "
                                      f"reads up to {version}")
            yield f, {key: plain(value) for key, value in f.attrs.items()}
    except OSError as exc:
        raise FileFormatError(f"{path}: not a readable HDF5 file (truncated or foreign): {exc}") \
            from None
    except KeyError as exc:
        raise FileFormatError(f"{path}: missing {exc}") from None


def plain(value):
    """HDF5 attribute values as Python values: bytes to str, numpy scalars and arrays to
    numbers and lists."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if hasattr(value, "item") else value


# the kinds of attribute :func:`checked_attrs` knows: a check and what it is called in messages
_KINDS = {
    "text": (lambda v: isinstance(v, str), "text"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
               and math.isfinite(v), "a finite number"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
    "json-dict": (lambda v: isinstance(v, dict), "a JSON object"),
    "json-list": (lambda v: isinstance(v, list), "a JSON list"),
}


def checked_attrs(path, attrs: dict, schema: dict) -> dict:
    """``attrs`` (plain values, from :func:`open_checked`) with every attribute of ``schema``
    ({name: kind}, kinds of :data:`_KINDS`) that is present checked, and the ``json-*`` ones
    decoded; a broken or mistyped attribute is a :class:`FileFormatError` naming the file, the
    attribute and the value. Missing attributes are the caller's to report."""
    attrs = dict(attrs)
    for name, kind in schema.items():
        if name not in attrs:
            continue
        value = attrs[name]
        if kind.startswith("json"):
            try:
                value = json.loads(value)
            except (TypeError, ValueError) as exc:
                raise FileFormatError(f"{path}: attribute {name!r} is not JSON ({exc}; got "
                                      f"{str(value)[:60]!r})") from None
        ok, wanted = _KINDS[kind]
        if not ok(value):
            raise FileFormatError(f"{path}: attribute {name!r} must be {wanted} (got "
                                  f"{str(value)[:60]!r})")
        attrs[name] = value
    return attrs
