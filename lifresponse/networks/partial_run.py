"""The finished blocks of an unfinished deployment, kept in ``<run>.partial/``.

One file per block, ``block_<first>_<n>.npz``, written to a temporary name and renamed, so a
process killed at any moment leaves only whole blocks; ``settings.json`` holds everything that
changes the counts (network and digits by SHA-256, window, gap, protocol, seed, threads,
backend, precision, block size). ``deploy --resume`` runs only the missing blocks, and only for
the same settings; the finished run file is written when every block is there, then the folder
is removed.
"""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np

from lifresponse.errors import LifResponseError
from lifresponse.networks.blocks import BlockActivity
from lifresponse.paths import atomic, write_atomic

log = logging.getLogger(__name__)


class PartialRunError(LifResponseError):
    """An unfinished run is in the way, or belongs to other settings."""


class OtherSettingsError(PartialRunError):
    """The unfinished run was made with other settings (its ``folder`` is named)."""

    def __init__(self, message: str, folder: Path):
        super().__init__(message)
        self.folder = folder


def partial_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


class PartialRun:
    """The block store of the run that will be written to ``out``.

    Parameters
    ----------
    out : path-like
        The run file.
    settings : dict
        JSON-able settings that identify the run.
    resume : bool
        Continue an existing store (else an existing one is an error).

    Raises
    ------
    PartialRunError
        A store exists and ``resume`` is False, or it holds a run with other settings (the
        message names the settings that differ).
    """

    def __init__(self, out, settings: dict, resume: bool):
        self.folder = partial_path(out)
        settings_file = self.folder / "settings.json"
        if self.folder.exists():
            if not resume:
                raise PartialRunError(f"{self.folder} holds an unfinished run: continue it with "
                                      "--resume, or delete it")
            try:
                saved = json.loads(settings_file.read_text())
            except (OSError, ValueError) as exc:
                raise PartialRunError(f"{settings_file}: unreadable ({exc}); delete "
                                      f"{self.folder}") from None
            differ = sorted(k for k in set(settings) | set(saved)
                            if saved.get(k) != settings.get(k))
            if differ:
                raise OtherSettingsError(
                    f"{self.folder} is a run with other settings ("
                    + ", ".join(f"{k}: {saved.get(k)!r} there, {settings.get(k)!r} now"
                                for k in differ)
                    + "): resume with the same settings, or delete it", self.folder)
        else:
            self.folder.mkdir(parents=True)
            try:
                write_atomic(settings_file, json.dumps(settings, indent=1).encode())
            except BaseException:  # a full disk: no store without its settings
                self.remove()
                raise

    def firsts(self, shapes: dict) -> set[int]:
        """The first image of every block kept so far. A block file that cannot be read whole
        or whose arrays are not of ``shapes`` (``{"rows": {name: one image's row shape},
        "whole": {name: shape}}``, for the number of images its name says) was damaged after
        it was written (this store writes whole files only): it is removed with a warning
        naming it, so that its images run again."""
        firsts = set()
        for path in sorted(self.folder.glob("block_*.npz")):
            try:
                _, first, n = path.stem.split("_")
                with np.load(path) as f:
                    found = {name: f[name].shape for name in f.files if name != "info"}
                    json.loads(str(f["info"]))
                wanted = {name: (int(n), *row) for name, row in shapes["rows"].items()}
                wanted.update(shapes["whole"])
                if found != wanted:
                    raise ValueError(f"arrays {found}, not {wanted}")
            except (zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError) as exc:
                log.warning("%s is damaged (%s): removed; its images run again", path, exc)
                path.unlink()
                continue
            firsts.add(int(first))
        return firsts

    def finished(self):
        """Every block kept so far, read one at a time (a generator)."""
        for path in sorted(self.folder.glob("block_*.npz")):
            yield read_block(path)

    def keep(self, block: BlockActivity) -> None:
        """Store ``block`` (atomically)."""
        arrays = {"input_counts": block.input_counts, "by_time": block.by_time,
                  "info": np.array(json.dumps(block.info))}
        arrays.update({f"counts_{i}": c for i, c in block.counts.items()})
        arrays.update({f"events_{i}": e for i, e in block.events_by_time.items()})
        path = self.folder / f"block_{block.first:07d}_{block.n_images}.npz"
        with atomic(path) as tmp, open(tmp, "wb") as f:  # straight to the file: no copy
            np.savez(f, **arrays)

    def remove(self) -> None:
        shutil.rmtree(self.folder)

    def remove_if_empty(self) -> None:
        """Remove the store if it holds no block (a run that failed before its first)."""
        if not any(self.folder.glob("block_*.npz")):
            self.remove()


def read_block(path: Path) -> BlockActivity:
    with np.load(path) as f:
        counts = {int(k.split("_")[1]): f[k] for k in f.files if k.startswith("counts_")}
        events = {int(k.split("_")[1]): f[k] for k in f.files if k.startswith("events_")}
        return BlockActivity(int(path.stem.split("_")[1]), counts, f["input_counts"],
                             f["by_time"], events, json.loads(str(f["info"])))
