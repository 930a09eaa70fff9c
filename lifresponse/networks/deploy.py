"""Run a network file as an SNN on a PyNN backend: images back to back, one network, one
continuing simulation; spike counts per (image, neuron) into ``run.h5``.

The network is built once. Images are presented in blocks (default 100): before each block the
input sources get that block's spike times and the simulation continues for the block's
duration, so memory stays bounded and nothing is rebuilt or reset between images.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

import lifresponse
from lifresponse import backends
from lifresponse.datasets import Digits
from lifresponse.errors import LifResponseError, ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.builder import CONNECTORS, build
from lifresponse.networks.encoding import Presentation, poisson_spike_times
from lifresponse.networks.evaluation import evaluate
from lifresponse.networks.run_file import RunRecord

TIME_BIN_MS = 10.0


class RunFileExistsError(LifResponseError):
    """The run file exists already."""

VIRTUAL_BOARD_NOTE = backends.virtual_board_note("the network")


@dataclass(frozen=True)
class DeployConfig:
    """How to run.

    Attributes
    ----------
    backend : str
    window : float
        Presentation time per image (ms).
    gap : float
        Silence after each image (ms).
    block : int
        Images per block of input spike times.
    seed : int
        Seed of the Poisson inputs and the simulator.
    threads : int
        NEST threads.
    record : {"output", "all"}
        Layers whose spikes are counted (all are needed for the energy report).
    connectors : {"native", "lists"}
        sPyNNaker's local-only connectors where possible, or connection lists
        (:func:`lifresponse.networks.builder.build`).
    """

    backend: str = "nest"
    window: float = 1000.0
    gap: float = 0.0
    block: int = 25
    seed: int = 1
    threads: int = 2
    record: str = "all"
    connectors: str = "native"

    def __post_init__(self):
        if not self.window > 0:
            raise ParameterError(f"window: must be > 0 ms (got {self.window:g})")
        if not self.gap >= 0:
            raise ParameterError(f"gap: must be >= 0 ms (got {self.gap:g})")
        if self.block < 1:
            raise ParameterError(f"block: must be >= 1 (got {self.block})")
        if self.threads < 1:
            raise ParameterError(f"threads: must be >= 1 (got {self.threads})")
        if self.record not in ("output", "all"):
            raise ParameterError(f"record: 'output' or 'all' (got {self.record!r})")
        if self.connectors not in CONNECTORS:
            raise ParameterError(f"connectors: one of {', '.join(CONNECTORS)} "
                                 f"(got {self.connectors!r})")
        backends.check_name(self.backend)


def check_images(digits: Digits, network: network_file.Network) -> np.ndarray:
    """Flattened pixels, after checking their shape and range against the network."""
    pixels = np.asarray(digits.images, dtype=float)
    expected = int(np.prod(network.input_shape))
    if pixels[0].size != expected:
        raise ParameterError(f"images of {pixels.shape[1:]} pixels do not fit the network's "
                             f"input {network.input_shape}")
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise ParameterError(f"pixels must lie in [0, 1] (got {np.nanmin(pixels):g} .. "
                             f"{np.nanmax(pixels):g})")
    return pixels.reshape(len(pixels), -1)


def deploy(network, digits: Digits, config: DeployConfig = DeployConfig(), out=None,
           progress: bool = True) -> RunRecord:
    """Simulate ``digits`` on ``network``; return the run, and write it to ``out`` if given.

    Parameters
    ----------
    network : Network or path-like
        The network, or its file.
    digits : Digits
        Images to present, back to back, in this order.
    config : DeployConfig
    out : path-like, optional
        Run file to write, only when the whole run is done (atomically); an existing one is
        never overwritten. None: nothing is written.
    progress : bool
        Show a progress bar.
    """
    if out is not None and Path(out).exists():
        raise RunFileExistsError(f"{out} already exists; it is never overwritten: choose another "
                                 "out or delete it")
    network_path = None
    if not isinstance(network, network_file.Network):
        network_path, network = Path(network), network_file.read(network)
    pixels = check_images(digits, network)
    for name, value in (("window", config.window), ("gap", config.gap)):
        steps = value / network.timestep
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ParameterError(f"{name}: must be a whole number of the network's "
                                 f"{network.timestep:g} ms timesteps (got {value:g} ms)")
    presentation = Presentation(config.window, config.gap, network.timestep)
    backend = backends.get(config.backend)
    backend.start(timestep=network.timestep, threads=config.threads, seed=config.seed)
    sim = backend.sim
    rng = np.random.default_rng(config.seed)
    n_images = len(pixels)
    block = n_images if backend.inputs_fixed_at_build else config.block
    start = time.perf_counter()
    trains, generated = poisson_spike_times(pixels[:block], presentation, network.input_rate,
                                            0, rng)
    try:
        with backends.quiet():
            built = build(backend, network, config.record, trains, config.connectors)
        counts = {i: np.zeros((n_images, layer.size), dtype=np.uint16)
                  for i, layer in enumerate(built.layers) if i in built.recorders}
        input_counts = np.zeros((n_images, pixels.shape[1]), dtype=np.uint16)
        n_bins = int(np.ceil(config.window / TIME_BIN_MS))
        by_time = np.zeros((n_images, n_bins, built.layers[-1].size), dtype=np.uint16)
        last = len(built.layers) - 1
        events_by_time = {i: np.zeros(n_bins) for i in (-1, *built.recorders)}
        with tqdm(total=n_images, unit="image", disable=not progress, desc="deploy") as bar:
            for first in range(0, n_images, block):
                chunk = pixels[first:first + block]
                if first > 0:  # the first block's trains were given when the inputs were built
                    trains, generated = poisson_spike_times(chunk, presentation,
                                                            network.input_rate, first, rng)
                    with backends.quiet():
                        built.inputs.set(spike_times=backend.spike_times(trains))
                input_counts[first:first + len(chunk)] = generated
                events_by_time[-1] += _input_events_by_time(trains, presentation, n_bins,
                                                            built.fan_out[-1])
                with backends.quiet():
                    sim.run_until(float(presentation.image_start(first + len(chunk))))
                for index, recorder in built.recorders.items():
                    with backends.quiet():
                        cell, times = recorder.read(clear=True)
                    image, offset = presentation.locate(times)
                    keep = (offset < config.window) & (image < n_images) & (image >= 0)
                    image, offset, cell = image[keep], offset[keep], cell[keep]
                    counts[index] += _bincount((image, cell), counts[index].shape)
                    events_by_time[index] += np.bincount(
                        (offset // TIME_BIN_MS).astype(np.int64),
                        weights=built.fan_out[index][cell], minlength=n_bins)
                    if index == last:
                        bins = (offset // TIME_BIN_MS).astype(np.int64)
                        by_time += _bincount((image, bins, cell), by_time.shape)
                bar.update(len(chunk))
        virtual = backend.is_virtual_board()
        measured_energy = backend.energy_report_text()
    finally:
        backend.end()
    wall = time.perf_counter() - start
    attrs = {
        "network_file": str(network_path) if network_path else "(in memory)",
        "network_sha256": _sha256(network_path) if network_path else "",
        "architecture": network.architecture, "activation": network.activation,
        "backend": config.backend, "backend_version": backend.version(),
        "lifresponse_version": lifresponse.__version__, "timestep_ms": network.timestep,
        "window_ms": config.window, "gap_ms": config.gap, "input_rate_hz": network.input_rate,
        "tau_syn_ms": network.tau_syn, "seed": config.seed, "threads": config.threads,
        "n_images": n_images, "spike_precision": backend.spike_precision,
        "spikes_returned": not virtual, "note": VIRTUAL_BOARD_NOTE if virtual else "",
        "wall_time_s": wall, "data": digits.source, "n_synapses": built.n_synapses,
        "recorded_layers": sorted(counts), "connectors": built.connectors,
        "spinnaker_energy_report": measured_energy,
    }
    record = RunRecord(attrs, digits.labels.astype(np.int64), counts, built.fan_out, input_counts,
                       np.cumsum(by_time, axis=1, dtype=np.uint32),
                       TIME_BIN_MS * np.arange(1, n_bins + 1), events_by_time=events_by_time)
    if not virtual:
        record.attrs["evaluation"] = evaluate(record, network, pixels).summary()
    if out is not None:
        run_file.write(record, out)
        record.path = Path(out)
    return record


def _input_events_by_time(trains, presentation: Presentation, n_bins: int,
                          fan_out: np.ndarray) -> np.ndarray:
    """Synaptic events caused by input spikes in each time bin of the window, summed over the
    block's images. An input spike lies in ``(start_i, start_i + window]`` of its image ``i``
    (:func:`~lifresponse.networks.encoding.poisson_spike_times`); one at the window's very end
    counts in the last bin."""
    lengths = np.array([len(t) for t in trains])
    if lengths.sum() == 0:
        return np.zeros(n_bins)
    since_start = np.concatenate(trains) - presentation.start
    image = np.ceil(since_start / presentation.period - 1e-9) - 1
    offset = since_start - image * presentation.period
    bins = np.minimum((offset // TIME_BIN_MS).astype(np.int64), n_bins - 1)
    neuron = np.repeat(np.arange(len(trains)), lengths)
    return np.bincount(bins, weights=np.asarray(fan_out, float)[neuron], minlength=n_bins)


def _bincount(index: tuple, shape: tuple) -> np.ndarray:
    """Occurrences of each multi-index, as an array of ``shape`` (much faster than add.at)."""
    flat = np.ravel_multi_index(index, shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.uint16)


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
