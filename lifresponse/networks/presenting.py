"""Presenting images to a network on a PyNN backend, and what every backend returns.

Two protocols (recorded in ``run.h5`` as ``protocol``):

- ``"rest"`` (NEST's default): every image starts from the resting state, membrane at
  ``v_rest`` and synaptic currents zero, set in one continuing simulation without rebuilding.
  After an image's window and gap the network is silenced for ``settle`` ms
  (:func:`settle_time`): NEST cannot set synaptic currents, so the backend holds every
  membrane far below threshold and shortens the synaptic time constants until the currents
  are exactly zero, the last spikes have arrived and no neuron is refractory
  (:meth:`lifresponse.backends.nest.NestBackend.silence`); then it sets ``v_rest`` and the time
  constants back (:meth:`~lifresponse.backends.nest.NestBackend.rest`). An image's counts so
  depend on that image alone (and its seed), whatever ran before, as in the ANN and in the
  batched torch simulator.
- ``"continuing"``: images follow one another without a reset (what a SpiNNaker board
  runs: its state cannot be set during a run); an image starts from what the previous one
  left.

Spikes are counted per image in its window ``(start_i, start_i + window]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from lifresponse import backends
from lifresponse.networks.builder import build
from lifresponse.networks.encoding import Presentation, poisson_inputs, spike_trains
from lifresponse.neuron import LIFParams

TIME_BIN_MS = 10.0
PROTOCOLS = ("rest", "continuing")


def settle_time(neuron: LIFParams, timestep: float) -> float:
    """Time to bring a network to rest between images (ms): two steps (the currents are
    zeroed in one, the spikes emitted at the gap's last step arrive in it, with one step of
    delay), or the refractory period if longer."""
    refractory_steps = int(round(neuron.tau_refrac / timestep))
    return max(2, refractory_steps) * timestep


def n_time_bins(window: float) -> int:
    return int(np.ceil(window / TIME_BIN_MS - 1e-9))


def time_bin(offset: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each time since the window opened, in ``(0, window]`` (ms): bin ``b`` holds
    ``(10 b, 10 (b + 1)]``."""
    bins = np.ceil(np.asarray(offset, float) / TIME_BIN_MS - 1e-9).astype(np.int64) - 1
    return np.clip(bins, 0, n_bins - 1)


@dataclass
class Activity:
    """Spike counts of a presentation, as any backend returns them.

    Attributes
    ----------
    counts : dict
        Layer index -> spikes per (image, neuron) in each window, uint16 (recorded layers).
    input_counts : numpy.ndarray
        Input spikes per (image, input neuron).
    by_time : numpy.ndarray
        Output spikes per (image, 10 ms bin, output neuron), not cumulative.
    events_by_time : dict
        Layer index (-1 = input) -> synaptic events caused in each bin, summed over images.
    fan_out : dict
        Synapses leaving each neuron, by layer (-1 = input).
    n_synapses : int
    connectors : str
        How the synapses were built ("native", "lists", or "tensors" for torch).
    virtual : bool
        True on a virtual board (no spikes).
    energy_report : str
        The simulator's own energy report ("" if none).
    version : str
        Backend version, for the run file.
    extra : dict
        Backend-specific attributes for the run file (device, dtype, batch).
    """

    counts: dict
    input_counts: np.ndarray
    by_time: np.ndarray
    events_by_time: dict
    fan_out: dict
    n_synapses: int
    connectors: str
    virtual: bool = False
    energy_report: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)


def empty_activity(n_images: int, n_inputs: int, layer_sizes: dict, n_out: int,
                   n_bins: int) -> tuple:
    """Zeroed (counts, input_counts, by_time, events_by_time) for a run."""
    counts = {i: np.zeros((n_images, size), dtype=np.uint16) for i, size in layer_sizes.items()}
    events = {i: np.zeros(n_bins) for i in (-1, *layer_sizes)}
    return (counts, np.zeros((n_images, n_inputs), dtype=np.uint16),
            np.zeros((n_images, n_bins, n_out), dtype=np.uint16), events)


def present_on_pynn(backend, network, pixels: np.ndarray, presentation: Presentation,
                    config, progress: bool = True) -> Activity:
    """Build ``network`` on a PyNN ``backend`` and present ``pixels`` with ``config``'s
    protocol, seed, threads, recording and connectors
    (:class:`lifresponse.networks.deploy.DeployConfig`)."""
    rest = presentation.settle > 0
    backend.start(timestep=network.timestep, threads=config.threads, seed=config.seed)
    n_images, n_inputs = pixels.shape
    block = n_images if backend.inputs_fixed_at_build else config.block
    n_bins = n_time_bins(presentation.window)
    inputs = poisson_inputs(pixels[:block], presentation, network.input_rate, 0, config.seed)
    try:
        with backends.quiet():
            built = build(backend, network, config.record,
                          spike_trains(inputs, presentation, 0, n_inputs), config.connectors)
        counts, input_counts, by_time, events = empty_activity(
            n_images, n_inputs, {i: built.layers[i].size for i in built.recorders},
            built.layers[-1].size, n_bins)
        last = len(built.layers) - 1
        trains = spike_trains(inputs, presentation, 0, n_inputs)
        h = presentation.timestep
        with tqdm(total=n_images, unit="image", disable=not progress, desc="deploy") as bar:
            for first in range(0, n_images, block):
                chunk = pixels[first:first + block]
                if first > 0:  # the first block's trains were given when the inputs were built
                    inputs = poisson_inputs(chunk, presentation, network.input_rate, first,
                                            config.seed)
                    trains = _hand_over(trains, spike_trains(inputs, presentation, first,
                                                             n_inputs),
                                        float(presentation.image_start(first)) - h)
                    with backends.quiet():
                        built.inputs.set(spike_times=backend.spike_times(trains))
                input_counts[first:first + len(chunk)] = inputs.counts
                events[-1] += np.bincount(time_bin(inputs.step * h, n_bins),
                                          weights=built.fan_out[-1][inputs.neuron],
                                          minlength=n_bins)
                end = float(presentation.image_start(first + len(chunk)))
                with backends.quiet():
                    for image in range(first, first + len(chunk)):
                        if rest:
                            start = float(presentation.image_start(image))
                            backend.run_to(start)
                            backend.rest(built.layers, network.neuron)
                            backend.run_to(start + presentation.window + presentation.gap)
                            backend.silence(built.layers, h)
                    backend.run_to(end - h if first + block < n_images else end)
                for index, recorder in built.recorders.items():
                    with backends.quiet():
                        cell, times = recorder.read(clear=True)
                    image, offset = presentation.locate(times)
                    keep = (offset <= presentation.window) & (image < n_images) & (image >= 0)
                    image, offset, cell = image[keep], offset[keep], cell[keep]
                    bins = time_bin(offset, n_bins)
                    counts[index] += bincount((image, cell), counts[index].shape)
                    events[index] += np.bincount(bins, weights=built.fan_out[index][cell],
                                                 minlength=n_bins)
                    if index == last:
                        by_time += bincount((image, bins, cell), by_time.shape)
                bar.update(len(chunk))
        activity = Activity(counts, input_counts, by_time, events, built.fan_out,
                            built.n_synapses, built.connectors, backend.is_virtual_board(),
                            backend.energy_report_text(), backend.version())
    finally:
        backend.end()
    return activity


def _hand_over(current: list, following: list, now: float) -> list:
    """Spike times for the input sources when the next block's are given at time ``now``
    (ms): the current block's not yet emitted, then the next block's.

    NEST takes a ``SpikeSourceArray`` spike only if it is at least two steps ahead of its
    clock (measured with PyNN 0.13 / NEST 3.10: with the clock at 10 ms, a spike set for 11 ms
    is dropped, one for 12 ms is emitted); so the next block is handed over one step before it
    starts, while the current block may still hold a spike at its very last step.
    """
    return [np.concatenate([c[c > now], f]) for c, f in zip(current, following, strict=True)]


def bincount(index: tuple, shape: tuple) -> np.ndarray:
    """Occurrences of each multi-index, as an array of ``shape`` (much faster than add.at)."""
    flat = np.ravel_multi_index(index, shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.uint16)
