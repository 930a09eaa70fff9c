"""The exact simulator: a deployed network of ``IF_curr_exp`` (and ``IF_curr_delta``) neurons,
time-stepped in PyTorch on batches of images, as NEST's ``iaf_psc_exp`` (``iaf_psc_delta``)
integrates it.

Per neuron, each step does what ``iaf_psc_exp::update`` (``iaf_psc_delta::update``) does in
NEST 3.10, in the same order and with the same floating-point operations: the one functional
step :func:`lifresponse.backends.torch.neuron_step.neuron_step`, with the constants of
:class:`lifresponse.propagators.Propagators` (computed with Python's ``math``, the C library,
as NEST does, in float64; their form of ``P21``, NEST 3.10's ``propagator_32``, reproduces a
NEST 3.10 membrane trace bit for bit: ``tests/test_torch_backend.py``). A bias adds to ``I_e``
neuron by neuron.

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

import numpy as np
import torch
import torch.nn.functional as F

from lifresponse.backends.torch import step_kernel
from lifresponse.backends.torch.device import check_device, check_memory
from lifresponse.backends.torch.neuron_step import NeuronState, neuron_step
from lifresponse.networks.blocks import (
    BlockActivity,
    empty_block,
    input_events,
    n_time_bins,
    step_bins,
)
from lifresponse.networks.encoding import InputSpikes, Presentation, input_spikes
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import fan_outs, network_connections
from lifresponse.propagators import PA_PER_NA, Propagators


class _Synapses:
    """One layer's synapses as a torch operation giving its input in one step from the previous
    layer's spikes (0/1 per neuron, or counts for the input): excitatory and inhibitory
    currents (pA) into ``IF_curr_exp``, or one sum of membrane jumps (mV) into
    ``IF_curr_delta`` (NEST adds both signs into one buffer)."""

    def __init__(self, layer: Layer, dtype, device):
        self.layer = layer
        scale = PA_PER_NA if layer.cell == "IF_curr_exp" else 1.0
        weight = np.asarray(layer.weight, dtype=np.float64) * scale
        self.has_inhibitory = layer.cell == "IF_curr_exp" and bool((weight < 0).any())
        parts = ([np.where(weight > 0, weight, 0.0), np.where(weight < 0, weight, 0.0)]
                 if self.has_inhibitory else [weight])
        if layer.kind == "dense":
            w = np.concatenate(parts, axis=1)
        elif layer.kind == "conv":
            w = np.concatenate(parts, axis=0)
        else:  # pool: each channel's window, one group per channel
            c = layer.in_shape[0]
            w = np.concatenate([np.broadcast_to(p, (c, 1) + p.shape) for p in parts], axis=0)
        self.weight = torch.as_tensor(np.ascontiguousarray(w), dtype=dtype, device=device)

    def __call__(self, spikes: torch.Tensor):
        """(excitatory or all, inhibitory or None), each of the layer's output shape per
        image."""
        layer = self.layer
        if layer.kind == "dense":
            out = spikes.flatten(1) @ self.weight
        elif layer.kind == "conv":
            out = F.conv2d(spikes, self.weight, stride=layer.stride, padding=layer.padding)
        else:
            groups = layer.in_shape[0]
            if self.has_inhibitory:
                spikes, groups = spikes.repeat(1, 2, 1, 1), 2 * groups
            out = F.conv2d(spikes, self.weight, stride=layer.stride, padding=layer.padding,
                           groups=groups)
        if not self.has_inhibitory:
            return out, None
        excitatory, inhibitory = out.chunk(2, dim=1)
        return excitatory, inhibitory


class _Neurons:
    """One layer's neurons for a batch of images, stepped by
    :func:`~lifresponse.backends.torch.neuron_step.neuron_step`.

    ``p`` are the layer's propagators; a bias makes the constant drive ``I_e P20`` (or
    ``I_e P30``) a tensor of one value per neuron, computed in float64 as NEST does.
    """

    def __init__(self, synapses: _Synapses, p: Propagators, batch: int, dtype, device):
        layer = synapses.layer
        self.synapses, self.p = synapses, p
        if layer.bias is None:
            self.drive = p.offset_drive
        else:
            drive = p.drive_of(p.i_offset + layer.bias_per_neuron())
            self.drive = torch.as_tensor(drive.reshape(layer.out_shape), dtype=dtype,
                                         device=device)
        self.state = NeuronState.at_rest((batch,) + tuple(layer.out_shape), p, dtype, device)

    def step(self, incoming: torch.Tensor) -> torch.Tensor:
        """One timestep; ``incoming`` are the spikes arriving in it. Returns this step's
        spikes (0/1, the state's dtype)."""
        excitatory, inhibitory = self.synapses(incoming)
        self.state, spikes = neuron_step(self.state, self.p, self.drive, excitatory, inhibitory)
        return spikes


def layer_neurons(network: Network, synapses: list[_Synapses], batch: int, dtype,
                  device) -> list[_Neurons]:
    """Every layer's neurons at rest, for a batch of ``batch`` images."""
    return [_Neurons(s, Propagators.of(network.neuron_of(s.layer), network.timestep,
                                       s.layer.cell), batch, dtype, device)
            for s in synapses]


class TorchBackend:
    """Deployment on the exact simulator (module docstring), on a torch device."""

    name = "torch"
    implements = ("deployment",)  # lifresponse.backends.base
    protocols = ("rest",)
    spike_precision = "on_grid"
    runs_on_devices = True
    inputs_fixed_at_build = False

    def version(self) -> str:
        return f"lifresponse exact simulator, torch {importlib.metadata.version('torch')}"

    def images_per_block(self, config) -> int:
        """Images simulated at once: the batch."""
        return config.batch

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
        self.device = check_device(config.device)
        self.dtype = torch.float64 if config.dtype == "float64" else torch.float32
        check_memory(network, config.batch, self.dtype, self.device)
        self._threads = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        connections = network_connections(network)
        self.fan_out = fan_outs(connections)
        # the CPU runs the Numba step loop, a GPU (or a layer too large for that loop) the
        # torch operations (module docstring of step_kernel: what may differ)
        self.compiled, self.synapses, loop = None, None, "numba step loop"
        if self.device.type == "cpu":
            try:
                self.compiled = step_kernel.CompiledNetwork(network, config.dtype,
                                                            connections)
            except step_kernel.KernelUnavailableError as exc:
                logging.getLogger("lifresponse").warning(
                    "the CPU step kernel is unavailable (%s): running torch operations, "
                    "several times slower", exc)
        if self.compiled is None:
            self.synapses = [_Synapses(layer, self.dtype, self.device)
                             for layer in network.layers]
            loop = "torch operations"
        last = len(network.layers) - 1
        self.recorded = range(last + 1) if config.record == "all" else [last]
        self.info = {"connectors": "tensors", "version": version, "virtual": False,
                     "energy_report": "", "device": str(self.device), "dtype": config.dtype,
                     "batch": config.batch, "step_loop": loop}

    def present(self, pixels: np.ndarray, first: int) -> BlockActivity:
        """Simulate ``pixels`` (n, n_inputs), images ``first`` ... of the run, as one batch."""
        network, presentation = self.network, self.presentation
        n_images, n_inputs = pixels.shape
        n_bins = n_time_bins(presentation.window)
        block = empty_block(first, n_images, n_inputs,
                            {i: network.layers[i].n_out for i in self.recorded},
                            network.layers[-1].n_out, n_bins, self.info)
        inputs = input_spikes(pixels, presentation, network, first,
                                self.config.seed)
        block.input_counts[:] = inputs.counts
        block.events_by_time[-1] += input_events(inputs, self.fan_out[-1],
                                                 presentation.timestep, n_bins)
        if self.compiled is not None:
            counts, by_time, events = self.compiled.simulate(inputs, n_images, presentation,
                                                             self.config.threads)
        else:
            layers = layer_neurons(network, self.synapses, n_images, self.dtype, self.device)
            with torch.no_grad():
                counts, by_time, binned = _simulate(layers, inputs, network, presentation,
                                                    n_bins, self.dtype, self.device)
            events = [binned[i] @ self.fan_out[i] for i in range(len(counts))]
        for i in self.recorded:
            block.counts[i][:] = counts[i]
            block.events_by_time[i] += events[i]
        block.by_time[:] = by_time
        return block

    def close(self) -> None:
        torch.set_num_threads(self._threads)


def _simulate(layers: list[_Neurons], inputs: InputSpikes, network: Network,
              presentation: Presentation, n_bins: int, dtype, device, on_step=None):
    """Run one batch through the window. Returns every layer's spikes per (image, neuron)
    (uint16), the output's per (image, bin, neuron), and every layer's per (bin, neuron) summed
    over the batch. ``on_step(n, spikes)``, if given, sees every layer's spikes of step ``n``
    (a list of tensors), e.g. to compare spike times."""
    steps = presentation.steps
    batch = layers[0].state.v.shape[0]
    in_shape = (batch,) + tuple(network.input_shape)
    order = np.argsort(inputs.step, kind="stable")
    step_of = inputs.step[order]
    bounds = np.searchsorted(step_of, np.arange(steps + 1))
    flat = torch.as_tensor(inputs.image[order] * int(np.prod(network.input_shape))
                           + inputs.neuron[order], device=device)
    totals = [torch.zeros(layer.state.v.shape, dtype=torch.int32, device=device)
              for layer in layers]
    last_bin = [torch.zeros_like(t) for t in totals]
    binned = [np.zeros((n_bins, int(np.prod(layer.state.v.shape[1:])))) for layer in layers]
    by_time = np.zeros((batch, n_bins, int(np.prod(layers[-1].state.v.shape[1:]))), dtype=np.uint16)
    spikes = [torch.zeros(layer.state.v.shape, dtype=dtype, device=device) for layer in layers]
    bin_of_step = step_bins(presentation, n_bins)
    for n in range(steps):
        incoming = torch.zeros(int(np.prod(in_shape)), dtype=dtype, device=device)
        if bounds[n + 1] > bounds[n]:
            incoming.index_add_(0, flat[bounds[n]:bounds[n + 1]],
                                torch.ones(int(bounds[n + 1] - bounds[n]), dtype=dtype,
                                           device=device))
        incoming = incoming.view(in_shape)
        previous = spikes
        spikes = []
        for i, layer in enumerate(layers):
            spiked = layer.step(incoming if i == 0 else previous[i - 1])
            totals[i] += spiked.to(torch.int32)
            spikes.append(spiked)
        if on_step is not None:
            on_step(n, spikes)
        if n == steps - 1 or bin_of_step[n + 1] != bin_of_step[n]:
            b = bin_of_step[n]
            for i, total in enumerate(totals):
                delta = (total - last_bin[i]).flatten(1)
                binned[i][b] = delta.sum(0).cpu().numpy()
                if i == len(layers) - 1:
                    by_time[:, b] = delta.cpu().numpy()
                last_bin[i] = total.clone()
    counts = [t.flatten(1).cpu().numpy().astype(np.uint16) for t in totals]
    return counts, by_time, binned
