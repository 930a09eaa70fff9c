"""The exact simulator: a deployed network of ``IF_curr_exp``, ``IF_curr_delta``,
``IF_curr_alpha`` and ``Izhikevich`` neurons, time-stepped in PyTorch on batches of images, as
NEST integrates ``iaf_psc_exp``, ``iaf_psc_delta``, ``iaf_psc_alpha`` and ``izhikevich``.

Per neuron, each step does what the model's ``update`` does in NEST 3.10, in the same order
and with the same floating-point operations: the one functional step
:func:`lifresponse.backends.torch.neuron_step.neuron_step`, with the constants of
:class:`lifresponse.propagators.Propagators` (computed as NEST's wheel computes them, in
float64; the membrane traces of the four models are reproduced bit for bit:
``tests/test_torch_backend.py``, Izhikevich's in ``tests/test_cells.py``). A bias adds to
``I_e`` neuron by neuron.

Timing follows NEST's: a spike emitted in step ``n`` (stamp ``(n + 1) h``) reaches the next
layer after the one-step delay the builder gives every synapse, i.e. in that layer's step
``n + 1``; an input spike at ``step * h`` after its image's start arrives in step ``step``.
Every image starts from rest (the "rest" protocol of :mod:`lifresponse.networks.blocks`),
so a batch holds independent images and only the window itself need be simulated.

The presenter runs these operations on a GPU; on the CPU it runs the same step compiled by
Numba (:mod:`lifresponse.backends.torch.step_kernel`), image by image, with the same neuron
update and the same spikes in every test (``tests/test_torch_backend.py``), or these
operations for a layer too large for its 32-bit neuron numbers.

What can differ from NEST: the order in which the weights of spikes arriving in the same step
are summed (NEST adds them in delivery order, torch in its convolution's or matrix product's),
which changes a current by a rounding error and, rarely, decides a threshold crossing. float32
changes far more (``docs/torch.md`` has the measured agreement).
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lifresponse.backends.torch import step_kernel
from lifresponse.backends.torch.device import check_device, check_memory
from lifresponse.errors import BackendError
from lifresponse.networks.blocks import BlockActivity, empty_block, input_events, n_time_bins
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import fan_outs, network_connections
from lifresponse.propagators import EXACT_CELLS


class TorchBackend:
    """Deployment on the exact simulator (module docstring), on a torch device."""

    name = "torch"
    implements = ("deployment",)  # lifresponse.backends.base
    protocols = ("rest",)
    spike_precision = "on_grid"
    runs_on_devices = True
    inputs_fixed_at_build = False
    simulates_without_gil = True  # Numba's loop and torch's operations release the GIL
    has_own_connectors = False
    takes_spinnaker_weights = True  # forecasts them

    def version(self) -> str:
        return f"lifresponse exact simulator, torch {importlib.metadata.version('torch')}"

    def images_per_block(self, config) -> int:
        """Images simulated at once: the batch."""
        return config.batch

    def prepare(self, config) -> None:
        """On the CPU, start Numba (0.3 s on first use: :func:`step_kernel.start_numba`)."""
        if config.device == "cpu":
            step_kernel.start_numba()

    def presenter(self, network: Network, presentation: Presentation, config) -> TorchPresenter:
        return TorchPresenter(network, presentation, config, self.version())


class TorchPresenter:
    """Simulates blocks of images, each block as one batch, with ``config``'s device, dtype,
    threads and seed (:class:`lifresponse.deployment.DeployConfig`).

    Raises
    ------
    ParameterError, BackendError
        A device that is not there, or a batch that does not fit in its memory.
    """

    def __init__(self, network: Network, presentation: Presentation, config, version: str):
        self.network, self.presentation, self.config = network, presentation, config
        for index, layer in enumerate(network.layers):
            if layer.cell not in EXACT_CELLS:
                raise BackendError(
                    f"layer {index} is of {layer.cell} neurons, which NEST integrates with an "
                    "adaptive Runge-Kutta solver whose steps depend on each neuron's state: "
                    "the exact simulator cannot give its spikes. Deploy it on NEST "
                    "(--backend nest)")
        device = "cpu" if config.device == "cpu" else check_device(config.device)
        on_cpu = getattr(device, "type", device) == "cpu"  # the CPU needs no torch
        check_memory(network, config.batch, config.dtype, device)
        connections = network_connections(network)
        self.fan_out = fan_outs(connections)
        scaling = config.spinnaker_weights
        scales = None if scaling is None else scaling.scales(network)
        watch = config.watch_inputs
        # the CPU runs the Numba step loop, a GPU (or a layer too large for that loop) the
        # torch operations (module docstring of step_kernel: what may differ)
        self.compiled, self.operations, loop = None, None, "numba step loop"
        if on_cpu:
            try:
                self.compiled = step_kernel.CompiledNetwork(network, config.dtype,
                                                            connections, scales, watch)
            except step_kernel.KernelUnavailableError as exc:
                logging.getLogger("lifresponse").warning(
                    "the CPU step loop is unavailable (%s): running torch operations, "
                    "several times slower", exc)
        if self.compiled is None:
            from lifresponse.backends.torch.operations import TorchOperations

            self.operations = TorchOperations(network, config.dtype, device, config.threads,
                                              scales, watch)
            loop = "torch operations"
        # the loop's threads, kept for every block (present_blocks starts one before the last
        # is collected)
        self.pool = ThreadPoolExecutor(config.threads, thread_name_prefix="lifresponse-loop") \
            if self.compiled is not None and config.threads > 1 else None
        last = len(network.layers) - 1
        self.recorded = range(last + 1) if config.record == "all" else [last]
        self.info = {"connectors": "tensors", "version": version, "virtual": False,
                     "energy_report": "", "device": str(device), "dtype": config.dtype,
                     "batch": config.batch, "step_loop": loop}

    def present(self, pixels: np.ndarray, first: int) -> BlockActivity:
        """Simulate ``pixels`` (n, n_inputs), images ``first`` ... of the run, as one batch."""
        return self._start(pixels, first)()

    def present_blocks(self, blocks) -> Iterator[BlockActivity]:
        """Each of ``blocks`` [(first, pixels)] presented, in order. On the CPU the next block
        is handed to the loop's threads before this one is collected, so that no thread waits
        at a block's end for the others (3-7 % of the loop's time in blocks of 100 images, a
        development measurement in docs/torch.md)."""
        pending = None
        for first, pixels in blocks:
            started = self._start(pixels, first)
            if pending is not None:
                yield pending()
            pending = started
        if pending is not None:
            yield pending()

    def _start(self, pixels: np.ndarray, first: int) -> Callable[[], BlockActivity]:
        """Start simulating a block (on the CPU: hand it to the loop's threads); return a
        function that waits for it and returns its :class:`BlockActivity`."""
        network, presentation = self.network, self.presentation
        n_images, n_inputs = pixels.shape
        n_bins = n_time_bins(presentation.window)
        block = empty_block(first, n_images, n_inputs,
                            {i: network.layers[i].n_out for i in self.recorded},
                            network.layers[-1].n_out, n_bins, self.info)
        seed = self.config.seed
        caused = []  # the synaptic events of each chunk's input spikes, per time bin

        def encode(lo: int, hi: int):  # in the thread that simulates these images
            inputs = input_spikes(pixels[lo:hi], presentation, network, first + lo, seed)
            block.input_counts[lo:hi] = inputs.counts
            caused.append(input_events(inputs, self.fan_out[-1], presentation.timestep,
                                       n_bins))
            return inputs

        if self.compiled is None:
            simulated = self.operations.simulate(encode(0, n_images), n_images, presentation,
                                                 self.fan_out)
            return lambda: self._fill(block, caused, *simulated)
        if self.pool is None:
            result = self.compiled.simulate(encode, n_images, presentation, 1)
            return lambda: self._fill(block, caused, *_loop_arrays(result))
        collect = self.compiled.start(self.pool, encode, n_images, presentation)
        return lambda: self._fill(block, caused, *_loop_arrays(collect()))

    def _fill(self, block: BlockActivity, caused: list, counts, by_time, events, peaks,
              saturated) -> BlockActivity:
        """``block`` with a simulation's counts and events, and its input spikes' events."""
        if peaks is not None:
            block.info = {**block.info, **watched_inputs(self.network, peaks, saturated)}
        block.events_by_time[-1] += np.sum(caused, axis=0)  # whole numbers: exact
        for i in self.recorded:
            block.counts[i][:] = counts[i]
            block.events_by_time[i] += events[i]
        block.by_time[:] = by_time
        return block

    def close(self) -> None:
        if self.operations is not None:
            self.operations.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _loop_arrays(result: step_kernel.LoopResult) -> tuple:
    """What :meth:`TorchPresenter._fill` takes of the CPU loop's result."""
    return result.counts, result.by_time, result.events, result.peaks, result.saturated


def watched_inputs(network: Network, peaks: list, saturated: list) -> dict:
    """What a block records of its watched inputs (JSON-able, for ``BlockActivity.info``):
    ``input_peaks``, per layer and synapse type (excitatory, inhibitory), the largest summed
    arrival of one step in each map (nA, or mV into ``IF_curr_delta``); ``input_saturations``,
    per layer and synapse type, the (image, neuron, step) sums held at the ring buffer's
    limit."""
    return {
        "input_peaks": [peak.reshape(2, layer.out_shape[0], -1).max(axis=2).tolist()
                        for peak, layer in zip(peaks, network.layers, strict=True)],
        "input_saturations": [held.sum(axis=1).astype(int).tolist() for held in saturated]}
