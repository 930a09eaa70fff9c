"""The ``run.h5`` file: spike counts of a deployed network per (image, neuron), for evaluation
and the energy report.

Layout (HDF5)::

    attrs   format="lifresponse.run", version=1, network_file, network_sha256, architecture,
            activation, backend, backend_version, lifresponse_version, timestep_ms,
            window_ms, gap_ms, input_rate_hz, tau_syn_ms, seed, threads, n_images,
            spike_precision, spikes_returned, note, wall_time_s, data, connectors
            ("native" or "lists": how the synapses were built, see networks/builder.py)
    labels                  (n_images,)             true class of every image
    layers/<i>/counts       (n_images, n_neurons)   spikes of layer i in each image's window
                                                    (recorded layers only)
    layers/<i>/fan_out      (n_neurons,)            synapses leaving each neuron of layer i
    input/counts            (n_images, n_inputs)    input spikes generated per image
    input/fan_out           (n_inputs,)
    output_counts_by_time   (n_images, n_bins, n_out)  output spikes in the first t ms,
    time_bins_ms            (n_bins,)                  cumulative, at these t
    layers/<i>/events_by_time, input/events_by_time  (n_bins,)  synaptic events caused by the
                            layer's spikes in each time bin of the window, summed over images
                            (recorded layers; absent in run files written before them)

A deployment writes it block by block as the blocks finish (:class:`RunWriter`; HDF5 chunks of
one block's images, uncompressed), and reading it loads the
per-image arrays only when they are used, so neither needs memory that grows with the number
of images.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from lifresponse.errors import FileFormatError
from lifresponse.hdf5 import checked_attrs, open_checked, plain
from lifresponse.networks.blocks import BlockActivity
from lifresponse.paths import refuse_special, require_space

FORMAT = "lifresponse.run"
_SCHEMA = {"evaluation": "json-dict", "recorded_layers": "json-list", "spikes_returned": "flag",
           "spinnaker_weights": "json-dict", "spinnaker_scaling": "json-dict",
           "input_peaks": "json-list",
           "input_saturations": "json-list", "synapses_into_layers": "json-list",
           **dict.fromkeys(("window_ms", "gap_ms", "timestep_ms", "tau_syn_ms", "input_rate_hz",
                            "settle_ms", "wall_time_s"), "number"),
           **dict.fromkeys(("n_images", "seed", "threads", "batch", "block_images",
                            "blocks_resumed", "n_synapses"), "integer")}
VERSION = 1
MARGIN_BYTES = 1 << 20  # free space kept beyond a block's data: HDF5's metadata and chunk index


class RunRecord:
    """A deployment run: what ``run.h5`` holds.

    The per-image arrays (``layer_counts``, ``input_counts``, ``output_counts_by_time``) of a
    record read from a file stay in the file until first used, so a run of any number of
    images can be opened, and its attributes and evaluation read, in little memory.

    Parameters
    ----------
    attrs : dict
    labels : numpy.ndarray
        True class of every image.
    layer_counts : Mapping
        Layer index -> spikes per (image, neuron), recorded layers only.
    fan_out : dict
        Layer index (-1 = input) -> synapses leaving each neuron.
    input_counts : numpy.ndarray or None
        Input spikes per (image, input neuron); None: read from ``path`` when first used.
    output_counts_by_time : numpy.ndarray or None
        Output spikes in the first t ms of each window, (image, bin, neuron), cumulative;
        None: read from ``path`` when first used.
    time_bins_ms : numpy.ndarray
        The t of each bin (ms).
    path : Path, optional
        The file it was read from.
    events_by_time : dict, optional
        Layer index (-1 = input) -> synaptic events caused in each bin, summed over images.
    """

    def __init__(self, attrs: dict, labels: np.ndarray, layer_counts: Mapping, fan_out: dict,
                 input_counts: np.ndarray | None, output_counts_by_time: np.ndarray | None,
                 time_bins_ms: np.ndarray, path: Path | None = None,
                 events_by_time: dict | None = None):
        self.attrs, self.labels, self.layer_counts = attrs, labels, layer_counts
        self.fan_out, self.time_bins_ms = fan_out, time_bins_ms
        self.path, self.events_by_time = path, events_by_time
        self._input_counts, self._by_time = input_counts, output_counts_by_time

    @property
    def input_counts(self) -> np.ndarray:
        if self._input_counts is None:
            self._input_counts = _load(self.path, "input/counts")
        return self._input_counts

    @property
    def output_counts_by_time(self) -> np.ndarray:
        if self._by_time is None:
            self._by_time = _load(self.path, "output_counts_by_time")
        return self._by_time

    @property
    def output_counts(self) -> np.ndarray:
        return self.layer_counts[max(self.layer_counts)]

    @property
    def accuracy(self) -> float | None:
        """SNN accuracy over the run's images (None where no spikes were returned)."""
        return self.attrs.get("evaluation", {}).get("accuracy")


class StoredCounts(Mapping):
    """Layer index -> spike counts of the layers recorded in a run file, each read from the
    file when it is asked for (and kept)."""

    def __init__(self, path: Path, layers: list[int]):
        self.path, self._layers, self._loaded = path, layers, {}

    def __getitem__(self, index: int) -> np.ndarray:
        if index not in self._layers:
            raise KeyError(index)
        if index not in self._loaded:
            self._loaded[index] = _load(self.path, f"layers/{index}/counts")
        return self._loaded[index]

    def __iter__(self):
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)


def _load(path: Path, name: str) -> np.ndarray:
    try:
        with h5py.File(path, "r") as f:
            return f[name][()]
    except (OSError, KeyError) as exc:
        raise FileFormatError(f"{path}: cannot read {name} ({exc})") from None


class RunWriter:
    """Writes a run file block by block, as blocks finish, so that a run of any number of
    images needs the memory of one block.

    The file is written under a temporary name beside ``path`` and renamed by :meth:`finish`
    (a reader never sees half a run file); :meth:`discard` (or leaving a ``with`` block by an
    exception) removes it. With ``path`` None the file is kept in memory and :meth:`finish`
    returns its arrays.

    Parameters
    ----------
    path : path-like or None
    labels : numpy.ndarray
        True class of every image of the run.
    layer_sizes : dict
        Recorded layer index -> its neurons.
    fan_out : dict
        Layer index (-1 = input) -> synapses leaving each neuron.
    n_inputs, n_out : int
        Input and output neurons.
    time_bins_ms : numpy.ndarray
        End of each time bin (ms).
    block_images : int
        Images per block: the HDF5 chunk's rows.
    """

    def __init__(self, path, labels: np.ndarray, layer_sizes: dict, fan_out: dict,
                 n_inputs: int, n_out: int, time_bins_ms: np.ndarray, block_images: int):
        self.path = None if path is None else Path(path)
        n = len(labels)
        if self.path is None:
            self.file = h5py.File(f"run-{id(self)}.h5", "w", driver="core", backing_store=False)
        else:
            refuse_special(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = self.path.with_name(f".{self.path.name}.tmp")
            self.file = h5py.File(self.tmp, "w")
        f = self.file
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        f["labels"] = np.asarray(labels, np.int64)
        rows = max(1, min(block_images, n))
        self.layer_counts = {  # the datasets, looked up once (a lookup per block costs)
            index: _per_image(f, f"layers/{index}/counts", (n, size), np.uint16, rows)
            for index, size in layer_sizes.items()}
        for index, fan in fan_out.items():
            f["input/fan_out" if index == -1 else f"layers/{index}/fan_out"] = fan
        self.input_counts = _per_image(f, "input/counts", (n, n_inputs), np.uint16, rows)
        self.counts_by_time = _per_image(f, "output_counts_by_time",
                                         (n, len(time_bins_ms), n_out), np.uint32, rows)
        f["time_bins_ms"] = time_bins_ms
        self.events = {}

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, kind, *_):
        if kind is not None:
            self.discard()

    def add(self, block: BlockActivity) -> None:
        """Write ``block`` at its images' rows, if the disk has room for it uncompressed."""
        rows = slice(block.first, block.first + block.n_images)
        if self.path is not None:
            require_space(self.tmp.parent, sum(c.nbytes for c in block.counts.values())
                          + block.input_counts.nbytes + 2 * block.by_time.nbytes + MARGIN_BYTES)
        for index, counts in block.counts.items():
            self.layer_counts[index][rows] = counts
        self.input_counts[rows] = block.input_counts
        self.counts_by_time[rows] = block.cumulative_by_time
        for index, events in block.events_by_time.items():  # whole numbers: exact in any order
            self.events[index] = self.events.get(index, 0) + np.asarray(events, float)

    def finish(self, attrs: dict) -> RunRecord:
        """Write ``attrs`` and the events by time, close the file and put it in place.
        Returns the run, its per-image arrays left in the file (in memory without a path)."""
        f = self.file
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        for index, events in self.events.items():
            f[f"{'input' if index == -1 else f'layers/{index}'}/events_by_time"] = events
        if self.path is None:
            record = _record(f, None, arrays=True)
            f.close()
            return record
        require_space(self.tmp.parent, MARGIN_BYTES)
        f.close()
        os.replace(self.tmp, self.path)
        return read(self.path)

    def discard(self) -> None:
        """Close and remove the unfinished file (closing may fail on a full disk)."""
        try:
            self.file.close()
        except (OSError, RuntimeError):
            pass
        finally:
            if self.path is not None:
                self.tmp.unlink(missing_ok=True)


def _check_consistent(f: h5py.File, path, attrs: dict, recorded: list, fan_out: dict) -> None:
    """What a damaged or hand-edited run file could get wrong and the energy report would
    silently use: the labels and counts are whole numbers, one row per image, and every
    neuron's fan-out belongs to a neuron of the counts."""
    labels = f["labels"]
    n = len(labels)
    if labels.dtype.kind not in "iu":
        raise FileFormatError(f"{path}: labels must be whole numbers (got {labels.dtype})")
    if attrs.get("n_images", n) != n:
        raise FileFormatError(f"{path}: n_images = {attrs['n_images']} but {n} labels")
    arrays = {"input/counts": f["input/counts"], "output_counts_by_time":
              f["output_counts_by_time"]}
    arrays.update({f"layers/{i}/counts": f[f"layers/{i}/counts"] for i in recorded})
    for name, array in arrays.items():
        if array.dtype.kind != "u" or array.shape[:1] != (n,):
            raise FileFormatError(f"{path}: {name} must hold unsigned counts, one row per "
                                  f"image (got {array.dtype}, shape {array.shape})")
    if sorted(attrs.get("recorded_layers", recorded)) != recorded:
        raise FileFormatError(f"{path}: recorded_layers {attrs['recorded_layers']} but counts "
                              f"of layers {recorded}")
    if n and labels[()].min() < 0:
        raise FileFormatError(f"{path}: labels must be classes from 0 (got {labels[()].min()})")
    for index, fan in fan_out.items():
        name = "input/counts" if index == -1 else f"layers/{index}/counts"
        if name in arrays and len(fan) != arrays[name].shape[1]:
            raise FileFormatError(f"{path}: {len(fan)} fan-outs for the "
                                  f"{arrays[name].shape[1]} neurons of {name}")
    for key in ("window_ms", "timestep_ms"):
        if key in attrs and not attrs[key] > 0:
            raise FileFormatError(f"{path}: {key} must be > 0 (got {attrs[key]})")
    evaluation = attrs.get("evaluation", {})
    for key in ("accuracy", "accuracy_by_time"):
        values = np.atleast_1d(np.asarray(evaluation.get(key, []), dtype=object))
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                   for v in values):
            raise FileFormatError(f"{path}: evaluation {key} must be fractions in [0, 1] (got "
                                  f"{str(evaluation[key])[:60]})")


def _per_image(f: h5py.File, name: str, shape: tuple, dtype, rows: int) -> h5py.Dataset:
    """An empty per-image dataset in chunks of ``rows`` images (an empty one can have none).

    Uncompressed: writing the 134 MB of counts of 10,000 digits with every layer of
    6c5-2s-12c5-2s-10fc recorded took 1.00 s with gzip level 1 after the shuffle filter (26 MB)
    and 0.4 s plain (``benchmarks/results/fast_path_command.md`` before and after; docs/torch.md);
    ``h5repack -f GZIP=1`` compresses a finished file, and readers take either."""
    if np.prod(shape):
        return f.create_dataset(name, shape, dtype, chunks=(rows, *shape[1:]))
    return f.create_dataset(name, shape, dtype)


def write(record: RunRecord, path) -> None:
    """Write a whole run at once (atomically)."""
    sizes = {index: counts.shape[1] for index, counts in record.layer_counts.items()}
    with RunWriter(path, record.labels, sizes, record.fan_out, record.input_counts.shape[1],
                   record.output_counts_by_time.shape[2], record.time_bins_ms,
                   len(record.labels)) as writer:
        by_time = np.diff(record.output_counts_by_time, axis=1,
                          prepend=np.zeros_like(record.output_counts_by_time[:, :1]))
        writer.add(BlockActivity(0, dict(record.layer_counts), record.input_counts, by_time,
                                 dict(record.events_by_time or {})))
        writer.finish(record.attrs)


def read(path) -> RunRecord:
    """Open and validate a run file; errors name the file and the problem. The per-image
    arrays are read when first used."""
    path = Path(path)
    with open_checked(path, FORMAT, VERSION, "run") as (f, attrs):
        return _record(f, path, arrays=False, attrs=attrs)


def _record(f: h5py.File, path: Path | None, arrays: bool, attrs: dict | None = None
            ) -> RunRecord:
    if attrs is None:
        attrs = {key: plain(value) for key, value in f.attrs.items()}
    if "layers" not in f or "labels" not in f:
        raise FileFormatError(f"{path}: holds no spike counts (no layers/labels)")
    missing = [name for name in ("input/counts", "input/fan_out", "output_counts_by_time",
                                 "time_bins_ms") if name not in f]
    if missing:
        raise FileFormatError(f"{path}: missing dataset(s) {', '.join(missing)}")
    attrs = checked_attrs(path, attrs, _SCHEMA)
    recorded = sorted(int(name) for name, group in f["layers"].items() if "counts" in group)
    if not recorded:
        raise FileFormatError(f"{path}: holds no spike counts")
    fan_out = {-1: f["input/fan_out"][()]}
    fan_out.update({int(name): group["fan_out"][()] for name, group in f["layers"].items()})
    _check_consistent(f, path, attrs, recorded, fan_out)
    events = {int(name): group["events_by_time"][()] for name, group in f["layers"].items()
              if "events_by_time" in group}
    if "events_by_time" in f["input"]:
        events[-1] = f["input/events_by_time"][()]
    if arrays:
        counts = {i: f[f"layers/{i}/counts"][()] for i in recorded}
        inputs, by_time = f["input/counts"][()], f["output_counts_by_time"][()]
    else:
        counts, inputs, by_time = StoredCounts(path, recorded), None, None
    return RunRecord(attrs, f["labels"][()], counts, fan_out, inputs, by_time,
                     f["time_bins_ms"][()], path, events or None)
