"""The ``rates.h5`` file: a calibration sweep's grid, spike counts per trial and provenance.

Layout (HDF5, root attributes hold the scalars)::

    attrs   format="lifresponse.rates", version=1, drive (JSON), neuron (JSON), duration_ms,
            timestep_ms, trials, seed, threads, backend, backend_version, spike_precision,
            lifresponse_version, max_cells_per_chunk, complete, spikes_returned, note,
            wall_time_s
    means   (n_means,)  input means (nA)
    stds    (n_stds,)   input stds (nA)
    point_mean, point_std  (n_points,)  every (mean, std) pair, mean-major
    counts  (n_points, trials) int64   spikes per trial; -1 = not simulated (yet)
    rates_hz (n_points, trials)        counts / duration (Hz); NaN = not measured
    done    (n_points,) bool           which points are finished
    chunk_wall_s (n_chunks,)           wall time of each chunk (s), NaN until run

While a sweep runs the file is ``<out>.partial``; each finished chunk is written and flushed, so
an interrupted sweep resumes from it. When the last chunk is done it is renamed to ``<out>``.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lifresponse.calibration.drives import drive_from_dict
from lifresponse.cells import CellParams, cell_type
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.hdf5 import checked_attrs, open_checked
from lifresponse.neuron import LIFParams
from lifresponse.paths import hdf5_file, write_atomic

FORMAT = "lifresponse.rates"
VERSION = 1
_ATTRS = ("drive", "neuron", "duration_ms", "timestep_ms", "trials", "seed", "threads",
          "backend", "backend_version", "spike_precision", "lifresponse_version",
          "max_cells_per_chunk", "complete", "spikes_returned", "note", "wall_time_s")
_SCHEMA = {"drive": "json-dict", "neuron": "json-dict", "complete": "flag", "cell": "text",
           "spikes_returned": "flag",
           **dict.fromkeys(("duration_ms", "timestep_ms", "wall_time_s"), "number"),
           **dict.fromkeys(("trials", "seed", "threads", "max_cells_per_chunk"), "integer")}
_DATASETS = ("means", "stds", "point_mean", "point_std", "counts", "done", "chunk_wall_s")


@dataclass
class RateTable:
    """A sweep as read from ``rates.h5``.

    Attributes
    ----------
    means, stds : numpy.ndarray
        The grid axes (nA).
    point_mean, point_std : numpy.ndarray
        Input mean and std of every point (nA), shape (n_points,).
    counts : numpy.ndarray
        Spike counts, shape (n_points, trials); -1 where not simulated.
    done : numpy.ndarray
        Finished points, shape (n_points,).
    chunk_wall_s : numpy.ndarray
        Wall time per chunk (s).
    attrs : dict
        Root attributes; ``drive`` and ``neuron`` decoded from JSON.
    path : pathlib.Path
        Where it was read from.
    """

    means: np.ndarray
    stds: np.ndarray
    point_mean: np.ndarray
    point_std: np.ndarray
    counts: np.ndarray
    done: np.ndarray
    chunk_wall_s: np.ndarray
    attrs: dict[str, Any]
    path: Path

    @property
    def duration_ms(self) -> float:
        return float(self.attrs["duration_ms"])

    @property
    def rates(self) -> np.ndarray:
        """Firing rate per trial (Hz), shape (n_points, trials); NaN where not measured."""
        rates = self.counts / (self.duration_ms / 1000.0)
        return np.where(self.counts >= 0, rates, np.nan)


def create(path: Path, means, stds, trials: int, n_chunks: int, attrs: dict[str, Any]) -> None:
    """Write an empty sweep file with its grid and provenance (``complete`` = False)."""
    point_mean, point_std = (a.ravel() for a in np.meshgrid(means, stds, indexing="ij"))
    with hdf5_file(path) as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if key in ("drive", "neuron") else value
        f.attrs["complete"] = False
        f["means"] = np.asarray(means, dtype=float)
        f["stds"] = np.asarray(stds, dtype=float)
        f["point_mean"] = point_mean
        f["point_std"] = point_std
        f["counts"] = np.full((len(point_mean), trials), -1, dtype=np.int64)
        f["rates_hz"] = np.full((len(point_mean), trials), np.nan)
        f["done"] = np.zeros(len(point_mean), dtype=bool)
        f["chunk_wall_s"] = np.full(n_chunks, np.nan)


@contextlib.contextmanager
def _changed(path: Path):
    """The sweep file opened for changes in memory and written back whole, atomically: a full
    disk or an interruption leaves the last good file (HDF5 writing in place could leave a
    broken one), and someone reading the file meanwhile never blocks the sweep with a lock.
    Sweep files are small (a count per grid point and trial)."""
    buffer = io.BytesIO(Path(path).read_bytes())
    with h5py.File(buffer, "r+") as f:
        yield f
    write_atomic(path, buffer.getvalue())


def write_chunk(path: Path, chunk: int, points: np.ndarray, counts: np.ndarray,
                wall_s: float, spikes_returned: bool) -> None:
    """Store one finished chunk's counts (n_chunk_points, trials) on disk."""
    with _changed(path) as f:
        f["counts"][points, :] = counts
        seconds = float(f.attrs["duration_ms"]) / 1000.0
        f["rates_hz"][points, :] = np.where(counts >= 0, counts / seconds, np.nan)
        f["done"][points] = True
        f["chunk_wall_s"][chunk] = wall_s
        f.attrs["wall_time_s"] = float(np.nansum(f["chunk_wall_s"][()]))
        f.attrs["spikes_returned"] = bool(spikes_returned)


def mark_complete(path: Path, note: str) -> None:
    with _changed(path) as f:
        f.attrs["complete"] = True
        f.attrs["note"] = note


def _check_setup(path: Path, attrs: dict, data: dict) -> None:
    """The drive and neuron a sweep records are whole and valid, and its grid finite; the
    message names the file."""
    cell = attrs.setdefault("cell", "IF_curr_exp")  # files before other cells: IF_curr_exp
    try:
        names = LIFParams().to_dict() if cell == "IF_curr_exp" else cell_type(cell).units
    except ParameterError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    missing = sorted(set(names) - set(attrs["neuron"]))
    if missing:
        raise FileFormatError(f"{path}: neuron lacks {', '.join(missing)}")
    try:
        drive_from_dict(dict(attrs["drive"]))
        if cell == "IF_curr_exp":
            LIFParams.from_dict(attrs["neuron"])
        else:
            CellParams.of(cell, attrs["neuron"])
    except (ParameterError, TypeError, ValueError) as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    for name in ("means", "stds"):
        if data[name].dtype.kind != "f" or not np.all(np.isfinite(data[name])):
            raise FileFormatError(f"{path}: {name} must be finite numbers (got "
                                  f"{data[name].dtype}: {str(data[name].tolist())[:60]})")
    if data["counts"].dtype.kind != "i":
        raise FileFormatError(f"{path}: counts must be whole numbers (got "
                              f"{data['counts'].dtype})")
    for name in ("duration_ms", "timestep_ms"):
        if not attrs[name] > 0:
            raise FileFormatError(f"{path}: {name} must be > 0 (got {attrs[name]})")


def read(path) -> RateTable:
    """Read and validate a sweep file.

    Raises
    ------
    FileFormatError
        If the file is missing, not HDF5 or truncated, of another format or a newer version, or
        lacks a dataset or attribute; the message names the file and what is wrong.
    """
    path = Path(path)
    with open_checked(path, FORMAT, VERSION, "rates") as (f, attrs):
        missing = [k for k in _ATTRS if k not in f.attrs and k != "note"]
        missing += [k for k in _DATASETS if k not in f]
        if missing:
            raise FileFormatError(f"{path}: missing {', '.join(missing)}")
        data = {k: f[k][()] for k in _DATASETS}
    attrs = checked_attrs(path, attrs, _SCHEMA)
    _check_setup(path, attrs, data)
    n_points, trials = len(data["point_mean"]), int(attrs["trials"])
    if data["counts"].shape != (n_points, trials) or len(data["point_mean"]) != len(
            data["means"]) * len(data["stds"]) or data["done"].shape != (n_points,):
        raise FileFormatError(f"{path}: dataset shapes do not match the grid")
    return RateTable(path=path, attrs=attrs, **data)

