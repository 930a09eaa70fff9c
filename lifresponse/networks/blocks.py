"""How images are presented (the protocols, the time bins) and what every backend returns for a
block of images; no simulator is needed here (the PyNN presenter is
:mod:`lifresponse.backends.pynn.presenting`, the exact simulator
:mod:`lifresponse.backends.torch.backend`).

Two protocols (recorded in ``run.h5`` as ``protocol``):

- ``"rest"`` (NEST's default): every image starts from the resting state, membrane at
  ``v_rest`` and synaptic currents zero, set in one continuing simulation without rebuilding.
  After an image's window and gap the network is silenced for ``settle`` ms
  (:func:`settle_time`): NEST cannot set synaptic currents, so the backend holds every
  membrane far below threshold and shortens the synaptic time constants until the currents
  are exactly zero, the last spikes have arrived and no neuron is refractory
  (:meth:`~lifresponse.backends.nest.backend.NestBackend.silence`); then it sets ``v_rest`` and
  the time constants back (:meth:`~lifresponse.backends.nest.backend.NestBackend.rest`). An
  image's counts so depend on that image alone (and its seed), whatever ran before, as in the
  ANN and in the batched torch simulator.
- ``"continuing"``: images follow one another without a reset (what a SpiNNaker board
  runs: its state cannot be set during a run); an image starts from what the previous one
  left. Such a run is one block (its last input spike may fall on the step at which the next
  block would have to be handed over), in one process.

Spikes are counted per image in its window ``(start_i, start_i + window]``, and binned in
10 ms bins ``(10 b, 10 (b + 1)]`` for accuracy against time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

TIME_BIN_MS = 10.0
PROTOCOLS = ("rest", "continuing")


def settle_time(network) -> float:
    """Time to bring ``network`` to rest between images (ms): two steps (the currents are
    zeroed in one, the spikes emitted at the gap's last step arrive in it, with one step of
    delay), or the longest refractory period of its layers if longer."""
    h = network.timestep
    refractory = max(network.neuron_of(layer).to_dict().get("tau_refrac", 0.0)
                     for layer in network.layers)  # Izhikevich has none
    return max(2, int(round(refractory / h))) * h


def n_time_bins(window: float) -> int:
    return int(np.ceil(window / TIME_BIN_MS - 1e-9))


def time_bin(offset: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each time since the window opened, in ``(0, window]`` (ms): bin ``b`` holds
    ``(10 b, 10 (b + 1)]``."""
    bins = np.ceil(np.asarray(offset, float) / TIME_BIN_MS - 1e-9).astype(np.int64) - 1
    return np.clip(bins, 0, n_bins - 1)


def step_bins(presentation, n_bins: int) -> np.ndarray:
    """The time bin of each step of the window (a spike of step ``n`` is stamped
    ``(n + 1) h``), shape (steps,)."""
    return time_bin((np.arange(presentation.steps) + 1) * presentation.timestep, n_bins)


@dataclass
class BlockActivity:
    """Spike counts of one block of consecutive images, as every backend's presenter returns
    them.

    Attributes
    ----------
    first : int
        Index of the block's first image in the run.
    counts : dict
        Layer index -> spikes per (image, neuron) in each window, uint16 (recorded layers).
    input_counts : numpy.ndarray
        Input spikes per (image, input neuron), uint16.
    by_time : numpy.ndarray
        Output spikes per (image, 10 ms bin, output neuron), not cumulative, uint16.
    events_by_time : dict
        Layer index (-1 = input) -> synaptic events caused in each bin, summed over the block's
        images (whole numbers, so blocks add up exactly in any order).
    info : dict
        What the run file records of the backend: ``connectors``, ``version``, ``virtual``,
        ``energy_report`` and backend-specific entries (device, dtype, batch).
    """

    first: int
    counts: dict
    input_counts: np.ndarray
    by_time: np.ndarray
    events_by_time: dict
    info: dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return len(self.input_counts)

    @cached_property
    def cumulative_by_time(self) -> np.ndarray:
        """Output spikes per (image, 10 ms bin, output neuron) up to each bin's end, uint32
        (computed once for the run file and the evaluation)."""
        return np.cumsum(self.by_time, axis=1, dtype=np.uint32)


def empty_block(first: int, n_images: int, n_inputs: int, layer_sizes: dict, n_out: int,
                n_bins: int, info: dict) -> BlockActivity:
    """A block of zero counts, to be filled."""
    counts = {i: np.zeros((n_images, size), dtype=np.uint16) for i, size in layer_sizes.items()}
    events = {i: np.zeros(n_bins) for i in (-1, *layer_sizes)}
    return BlockActivity(first, counts, np.zeros((n_images, n_inputs), dtype=np.uint16),
                         np.zeros((n_images, n_bins, n_out), dtype=np.uint16), events, info)


def input_events(inputs, fan_out: np.ndarray, timestep: float, n_bins: int) -> np.ndarray:
    """Synaptic events the input spikes cause in each time bin, summed over images."""
    return np.bincount(time_bin(inputs.step * timestep, n_bins),
                       weights=np.asarray(fan_out, float)[inputs.neuron], minlength=n_bins)
