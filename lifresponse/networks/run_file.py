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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from lifresponse.errors import FileFormatError
from lifresponse.hdf5 import open_checked
from lifresponse.paths import atomic

FORMAT = "lifresponse.run"
_JSON_ATTRS = ("evaluation", "recorded_layers")
VERSION = 1


@dataclass
class RunRecord:
    """A deployment run as read from ``run.h5``."""

    attrs: dict
    labels: np.ndarray
    layer_counts: dict          # layer index -> (n_images, n_neurons)
    fan_out: dict               # layer index (-1 = input) -> (n_neurons,)
    input_counts: np.ndarray
    output_counts_by_time: np.ndarray
    time_bins_ms: np.ndarray
    path: Path | None = None
    events_by_time: dict | None = None  # layer index (-1 = input) -> (n_bins,), per bin

    @property
    def output_counts(self) -> np.ndarray:
        return self.layer_counts[max(self.layer_counts)]

    @property
    def accuracy(self) -> float | None:
        """SNN accuracy over the run's images (None where no spikes were returned)."""
        return self.attrs.get("evaluation", {}).get("accuracy")


def write(record: RunRecord, path) -> None:
    """Write atomically: a reader never sees a half-written run file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        for key, value in record.attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        f["labels"] = record.labels
        for index, counts in record.layer_counts.items():
            f.create_dataset(f"layers/{index}/counts", data=counts, compression="gzip")
        for index, fan in record.fan_out.items():
            name = "input/fan_out" if index == -1 else f"layers/{index}/fan_out"
            f[name] = fan
        f.create_dataset("input/counts", data=record.input_counts, compression="gzip")
        f.create_dataset("output_counts_by_time", data=record.output_counts_by_time,
                         compression="gzip")
        f["time_bins_ms"] = record.time_bins_ms
        for index, events in (record.events_by_time or {}).items():
            f[f"{'input' if index == -1 else f'layers/{index}'}/events_by_time"] = events


def read(path) -> RunRecord:
    """Read and validate a run file; errors name the file and the problem."""
    path = Path(path)
    with open_checked(path, FORMAT, VERSION, "run") as (f, attrs):
        if "layers" not in f or "labels" not in f:
            raise FileFormatError(f"{path}: holds no spike counts (no layers/labels)")
        missing = [name for name in ("input/counts", "input/fan_out", "output_counts_by_time",
                                     "time_bins_ms") if name not in f]
        if missing:
            raise FileFormatError(f"{path}: missing dataset(s) {', '.join(missing)}")
        for key in _JSON_ATTRS:
            if key in attrs:
                attrs[key] = json.loads(attrs[key])
        counts, fan_out = {}, {-1: f["input/fan_out"][()]}
        for name, group in f["layers"].items():
            if "counts" in group:
                counts[int(name)] = group["counts"][()]
            fan_out[int(name)] = group["fan_out"][()]
        if not counts:
            raise FileFormatError(f"{path}: holds no spike counts")
        events = {int(name): group["events_by_time"][()] for name, group in f["layers"].items()
                  if "events_by_time" in group}
        if "events_by_time" in f["input"]:
            events[-1] = f["input/events_by_time"][()]
        return RunRecord(attrs, f["labels"][()], counts, fan_out, f["input/counts"][()],
                         f["output_counts_by_time"][()], f["time_bins_ms"][()], path,
                         events or None)
