"""Presenting blocks of images to a network built on a PyNN simulator (NEST, sPyNNaker), in
one continuing simulation; the protocols and what a block returns are in
:mod:`lifresponse.networks.blocks`.
"""

from __future__ import annotations

import numpy as np

from lifresponse import backends
from lifresponse.backends.pynn.building import build
from lifresponse.networks.blocks import (
    BlockActivity,
    empty_block,
    input_events,
    n_time_bins,
    time_bin,
)
from lifresponse.networks.encoding import (
    Presentation,
    bias_spike_times,
    input_spikes,
    spike_trains,
)


class PyNNPresenter:
    """A network built once on a PyNN backend, presenting blocks of images one after another
    in one continuing simulation.

    The simulation's clock runs on: the presenter's ``k``-th image occupies the ``k``-th slot of
    ``presentation``, whatever its index in the run (that index seeds its input spikes). With
    the "rest" protocol an image's counts so do not depend on which presenter ran it, or after
    which images.

    Parameters
    ----------
    backend : lifresponse.backends.pynn.backend.PyNNBackend
        Not yet started.
    network : Network
    presentation : Presentation
        With ``settle > 0`` for the "rest" protocol.
    config : DeployConfig
        Seed, threads, recorded layers, connectors.
    """

    def __init__(self, backend, network, presentation: Presentation, config):
        self.backend, self.network, self.presentation = backend, network, presentation
        self.config = config
        self.built = None
        self.slots = 0  # images presented so far
        backend.start(timestep=network.timestep, threads=config.threads, seed=config.seed)

    def present(self, pixels: np.ndarray, first: int) -> BlockActivity:
        """Present ``pixels`` (n, n_inputs), images ``first`` ... of the run."""
        backend, network, presentation = self.backend, self.network, self.presentation
        n_images, n_inputs = pixels.shape
        h = presentation.timestep
        n_bins = n_time_bins(presentation.window)
        inputs = input_spikes(pixels, presentation, network, first,
                                self.config.seed)
        trains = spike_trains(inputs, presentation, self.slots, n_inputs)
        biases = {i: bias_spike_times(presentation, self.slots, n_images, layer.bias_onset)
                  for i, layer in enumerate(network.layers) if layer.bias_onset is not None}
        with backends.quiet():
            if self.built is None:
                self.built = build(backend, network, self.config.record, trains,
                                   self.config.connectors, self.config.spinnaker_weights,
                                   biases)
            else:  # one step before the block: NEST drops spikes under two steps ahead
                backend.run_to(float(presentation.image_start(self.slots)) - h)
                backend.set_input_times(self.built.inputs, trains)
                for index, times in biases.items():
                    backend.set_input_times(self.built.bias_sources[index], [times])
        built = self.built
        info = {"connectors": built.connectors, "version": backend.version()}
        block = empty_block(first, n_images, n_inputs,
                            {i: built.layers[i].size for i in built.recorders},
                            built.layers[-1].size, n_bins, info)
        block.input_counts[:] = inputs.counts
        block.events_by_time[-1] += input_events(inputs, built.fan_out[-1], h, n_bins)
        slots = range(self.slots, self.slots + n_images)
        with backends.quiet():
            for slot in slots:
                if presentation.settle > 0:
                    start = float(presentation.image_start(slot))
                    backend.run_to(start)
                    backend.rest(built.layers, network)
                    backend.run_to(start + presentation.window + presentation.gap)
                    backend.silence(built.layers, network)
            # with "rest", every spike of the block is out a settle time before its end
            end = float(presentation.image_start(slots.stop))
            backend.run_to(end - h if presentation.settle > 0 else end)
        last = len(built.layers) - 1
        for index, recorder in built.recorders.items():
            with backends.quiet():
                cell, times = recorder.read(clear=True)
            slot, offset = presentation.locate(times)
            image = slot - self.slots
            # half a step of slack: at 0.1 ms a spike at a window's end is a rounding error
            # above or below it
            keep = (offset <= presentation.window + 0.5 * h) & (image >= 0) & (image < n_images)
            image, offset, cell = image[keep], offset[keep], cell[keep]
            bins = time_bin(offset, n_bins)
            block.counts[index] += bincount((image, cell), block.counts[index].shape)
            block.events_by_time[index] += np.bincount(
                bins, weights=built.fan_out[index][cell], minlength=n_bins)
            if index == last:
                block.by_time += bincount((image, bins, cell), block.by_time.shape)
        self.slots += n_images
        info.update(virtual=backend.is_virtual_board(),
                    energy_report=backend.energy_report_text(),
                    **backend.run_details(built))
        return block

    def close(self) -> None:
        self.backend.end()


def bincount(index: tuple, shape: tuple) -> np.ndarray:
    """Occurrences of each multi-index, as an array of ``shape`` (much faster than add.at)."""
    flat = np.ravel_multi_index(index, shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.uint16)
