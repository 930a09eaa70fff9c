"""Output paths, checked before any work starts: the folder that will hold a file must be a
folder this process may write (a file where a folder must be, or a read-only folder, is
refused), so that no simulation or training runs only to fail when it writes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from lifresponse.errors import ParameterError


def check_writable(path, field: str = "out", folder: bool = False) -> None:
    """Refuse ``path`` (a file, or with ``folder`` a folder to create or fill) if it cannot be
    written; the message names ``field`` and the part of the path in the way."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ParameterError(field, f"{path} is a file, not a folder")
    if not folder and path.is_dir():
        raise ParameterError(field, f"{path} is a folder, not a file")
    start = path if folder else path.parent
    existing = next((p for p in (start, *start.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise ParameterError(field, f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(field, f"cannot write {path}: the folder {existing} is not "
                             "writable")


@contextlib.contextmanager
def atomic(path, suffix: str = ""):
    """Write ``path`` all at once: yields a temporary name beside it (``.<name>.tmp``, plus
    ``suffix`` for writers that insist on one); renames it to ``path`` when the block ends,
    removes it if the block fails (a full disk, an interruption), so no half-written file is
    ever under ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{suffix}")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
