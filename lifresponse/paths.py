"""Output paths and how files are written.

Checked before any work starts: the folder that will hold a file must be a folder this process
may write (a file where a folder must be, or a read-only folder, is refused), an output is
never one of the inputs, and never a device; so no simulation or training runs only to fail
when it writes. Written: whole or not at all (:func:`write_atomic`, :func:`hdf5_file`), and a
writer that streams onto the disk checks the free space first (:func:`require_space`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
from pathlib import Path

from lifresponse.errors import ParameterError


def check_writable(path, field: str = "out", folder: bool = False) -> None:
    """Refuse ``path`` (a file, or with ``folder`` a folder to create or fill) if it cannot be
    written; the message names ``field`` and the part of the path in the way."""
    path = Path(path)
    if not folder and str(path) in ("", "."):
        raise ParameterError(field, "give a file name (got the current folder)")
    if folder and path.exists() and not path.is_dir():
        raise ParameterError(field, f"{path} is a file, not a folder")
    if not folder and path.is_dir():
        raise ParameterError(field, f"{path} is a folder, not a file")
    refuse_special(path, field)
    start = path if folder else path.parent
    existing = next((p for p in (start, *start.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise ParameterError(field, f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(field, f"cannot write {path}: the folder {existing} is not "
                             "writable")


def refuse_special(path, field: str = "out") -> None:
    """Refuse an output that exists and is neither a regular file nor a folder (a device such
    as ``/dev/null``, a pipe, a socket): writing through a temporary file and renaming it would
    replace the device itself."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ParameterError(field, f"{path} is not a regular file (a device, pipe or socket); "
                             "give a file name")


def refuse_input_as_output(path, inputs: dict, field: str = "out") -> None:
    """Refuse ``path`` as an output if it is one of ``inputs`` ({what: path}, e.g.
    ``{"--init": "net.h5"}``; values that are not paths are skipped): an input is never
    replaced, whatever ``--force`` says."""
    if path is None or not Path(path).exists():
        return
    for what, source in inputs.items():
        if not isinstance(source, (str, os.PathLike)) or not Path(source).exists():
            continue  # not a file (an object given in Python, or nothing)
        if os.path.samefile(path, source):
            raise ParameterError(field, f"{path} is also the input {what} ({source}); an input "
                                 "is never replaced, not even with --force: choose another "
                                 "output")


@contextlib.contextmanager
def atomic(path):
    """Write ``path`` all at once: yields a temporary name beside it (``.<name>.tmp``); renames
    it to ``path`` when the block ends, removes it if the block fails (a full disk, an
    interruption), so no half-written file is ever under ``path``."""
    path = Path(path)
    refuse_special(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. an immutable file: name it, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through :func:`atomic`: all or nothing."""
    with atomic(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


@contextlib.contextmanager
def hdf5_file(path):
    """An HDF5 file built in memory, then written to ``path`` by :func:`write_atomic`: HDF5
    never writes onto the disk itself, where a full disk ends in errors it cannot recover from
    (a ``RuntimeError`` on closing, measured here; a crash, reported)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        yield f
    write_atomic(path, buffer.getvalue())


def require_space(folder, nbytes: int) -> None:
    """Raise ``OSError(ENOSPC)`` naming ``folder`` unless it has ``nbytes`` free: for writers
    that stream onto the disk (HDF5 cannot recover from a full disk mid-write)."""
    free = shutil.disk_usage(folder).free
    if free < nbytes:
        raise OSError(errno.ENOSPC, f"No space left on device ({free:,} bytes free, "
                      f"{nbytes:,} needed)", str(folder))


def sha256_of(path) -> str:
    """The SHA-256 of the file ``path`` (hex), read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
