"""What every lifresponse HDF5 file shares: ``format`` and ``version`` attributes, checked on
read with errors that name the file."""

from __future__ import annotations

import contextlib
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
            found = int(f.attrs.get("version", -1))
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
