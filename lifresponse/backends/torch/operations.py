"""The exact simulator as torch tensor operations on a whole batch: what a GPU runs
(:mod:`lifresponse.backends.torch.backend` says what is simulated and how it matches NEST; on
the CPU the same step runs compiled by Numba, :mod:`lifresponse.backends.torch.step_kernel`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lifresponse.backends.spinnaker.weights import RING_BUFFER_MAX, integer_weights
from lifresponse.backends.torch.neuron_step import NeuronState, neuron_step
from lifresponse.cells import one_input
from lifresponse.networks.blocks import n_time_bins, step_bins
from lifresponse.networks.encoding import InputSpikes, Presentation
from lifresponse.networks.network_file import Network, Projection
from lifresponse.propagators import Propagators, input_unit


class TorchOperations:
    """A network's synapses as torch operations on ``device``, in ``dtype``, simulating one
    batch at a time with ``threads`` CPU threads (restored by :meth:`close`); with SpiNNaker's
    weights (``scales``) or watching the inputs as the CPU loop does
    (:class:`~lifresponse.backends.torch.step_kernel.CompiledNetwork`)."""

    def __init__(self, network: Network, dtype: str, device, threads: int,
                 scales: list | None = None, watch: bool = False):
        self.network, self.device = network, device
        self.dtype = torch.float64 if dtype == "float64" else torch.float32
        self.inputs = [LayerInput(network, index, self.dtype, device,
                                  None if scales is None else scales[index],
                                  watch or scales is not None)
                       for index in range(len(network.layers))]
        self._threads = torch.get_num_threads()
        torch.set_num_threads(threads)

    def simulate(self, inputs: InputSpikes, n_images: int, presentation: Presentation,
                 fan_out: dict) -> tuple:
        """Every layer's spikes per (image, neuron), the output's per (image, 10 ms bin,
        neuron), the synaptic events every layer's spikes cause per bin (``fan_out``: the
        synapses leaving each neuron), summed over the images, and, watching the inputs, the
        peaks and saturations of :class:`~lifresponse.backends.torch.step_kernel.LoopResult`
        (else None, None)."""
        layers = layer_neurons(self.network, self.inputs, n_images, self.dtype, self.device)
        with torch.no_grad():
            counts, by_time, binned = simulate(layers, inputs, self.network, presentation,
                                               n_time_bins(presentation.window), self.dtype,
                                               self.device)
        watched = [s.watched() for s in self.inputs] if self.inputs[0].watch else None
        return (counts, by_time, [binned[i] @ fan_out[i] for i in range(len(counts))],
                None if watched is None else [peak for peak, _ in watched],
                None if watched is None else [held for _, held in watched])

    def close(self) -> None:
        torch.set_num_threads(self._threads)


class Synapses:
    """One projection's synapses (:meth:`Network.projections`) as a torch operation giving
    what arrives in one step from its source's spikes (0/1 per neuron, or counts for the
    input): excitatory and inhibitory sums (pA into ``IF_curr_exp``), or, for ``split`` False,
    one sum of both signs (mV into ``IF_curr_delta``, where NEST adds both signs into one
    buffer).

    With ``scale`` (2, n_out; SpiNNaker's weights, module docstring of
    :mod:`~lifresponse.backends.torch.step_kernel`) the weights are sPyNNaker's whole numbers,
    to be summed over the layer's projections and held at the ring buffer's limit
    (:class:`LayerInput`)."""

    def __init__(self, projection: Projection, cell: str, dtype, device, index: int = 0,
                 scale=None, split: bool = True):
        self.projection, self.source = projection, projection.source
        unit = input_unit(cell)
        weight = np.asarray(projection.weight, dtype=np.float64)
        self.has_inhibitory = split and bool((weight < 0).any())
        if scale is None:
            weight = weight * unit
        else:
            if projection.kind == "pool":  # one kernel per map: maps may differ in scale
                weight = np.broadcast_to(weight, (projection.in_shape[0],) + weight.shape)
            shape = (2,) + tuple(projection.out_shape)
            weight = integer_weights(weight, self._per_weight(scale.reshape(shape), weight),
                                     index)
        parts = ([np.where(weight > 0, weight, 0.0), np.where(weight < 0, weight, 0.0)]
                 if self.has_inhibitory else [weight])
        if projection.kind == "dense":
            w = np.concatenate(parts, axis=1)
        elif projection.kind == "conv":
            w = np.concatenate(parts, axis=0)
        else:  # pool: each channel's window, one group per channel
            c = projection.in_shape[0]
            w = np.concatenate([np.broadcast_to(p.reshape((-1, 1) + p.shape[-2:]),
                                                   (c, 1) + p.shape[-2:]) for p in parts],
                               axis=0)
        self.weight = torch.as_tensor(np.ascontiguousarray(w), dtype=dtype, device=device)

    def _per_weight(self, scale: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Each weight's scale, by its sign and target, from ``scale`` (2, *out_shape), which
        is the same across a map (a population holds whole maps, or one map)."""
        projection = self.projection
        sign = (weight < 0).astype(int)
        if projection.kind == "dense":  # weight (n_in, n_out)
            return scale.reshape(2, -1)[sign, np.arange(projection.n_out)[None, :]]
        per_map = scale[:, :, 0, 0]
        if projection.kind == "conv":  # weight (c_out, c_in, kh, kw)
            return per_map[sign, np.arange(weight.shape[0])[:, None, None, None]]
        return per_map[sign, np.arange(weight.shape[0])[:, None, None]]  # pool (c, kh, kw)

    def __call__(self, spikes: torch.Tensor):
        """(excitatory or all, inhibitory or None), each of the layer's output shape per
        image."""
        projection = self.projection
        if projection.kind == "dense":
            out = spikes.flatten(1) @ self.weight
        elif projection.kind == "conv":
            out = F.conv2d(spikes, self.weight, stride=projection.stride,
                           padding=projection.padding)
        else:
            groups = projection.in_shape[0]
            if self.has_inhibitory:
                spikes, groups = spikes.repeat(1, 2, 1, 1), 2 * groups
            out = F.conv2d(spikes, self.weight, stride=projection.stride,
                           padding=projection.padding, groups=groups)
        if not self.has_inhibitory:
            return out, None
        excitatory, inhibitory = out.chunk(2, dim=1)
        return excitatory, inhibitory


class LayerInput:
    """What arrives at one layer's neurons in a step: the sums of its projections'
    :class:`Synapses`, per synapse type; with SpiNNaker's weights (``scale``) each sum held at
    the ring buffer's limit before it is scaled, and, with ``watch``, the largest sums and the
    saturations recorded (:meth:`watched`)."""

    def __init__(self, network: Network, index: int, dtype, device, scale=None,
                 watch: bool = False):
        layer = network.layers[index]
        self.layer, self.watch = layer, watch
        self.one_input = one_input(layer.cell)  # both signs' jumps into one buffer
        self.synapses = [Synapses(p, layer.cell, dtype, device, index, scale,
                                  watch or not self.one_input)
                         for p in network.projections(index)]
        unit = input_unit(layer.cell)
        shape = (2,) + tuple(layer.out_shape)
        if scale is None:
            to_input, self.limit, peak_unit = np.full(shape, 1.0), np.inf, np.full(shape, unit)
        else:
            to_input, self.limit = unit / scale.reshape(shape), RING_BUFFER_MAX
            peak_unit = scale.reshape(shape)
        self.to_input = torch.as_tensor(to_input, dtype=dtype, device=device)
        self.peak_unit = peak_unit.reshape(2, -1)
        self.peak = torch.zeros(shape, dtype=torch.float64, device=device)
        self.held = torch.zeros(shape, dtype=torch.int64, device=device)

    def watched(self) -> tuple:
        """(peaks, saturations) since the last call, each (2, n_out) per neuron: the largest
        summed arrival per synapse type in weight units (nA, mV), and the steps it was held at
        the limit."""
        peak = self.peak.reshape(2, -1).cpu().numpy() / self.peak_unit
        held = self.held.reshape(2, -1).cpu().numpy().copy()
        self.peak.zero_()
        self.held.zero_()
        return peak, held

    def _hold(self, out: torch.Tensor, sign: int) -> torch.Tensor:
        """A summed arrival (batch, *out_shape) of one synapse type: its peaks and
        saturations recorded, held at the limit, in the neuron's units."""
        size = out.abs()
        self.peak[sign] = torch.maximum(self.peak[sign], size.amax(0).to(torch.float64))
        self.held[sign] += (size > self.limit).sum(0)
        return out.clamp(-self.limit, self.limit) * self.to_input[sign]

    def __call__(self, spikes: dict):
        """(excitatory or all, inhibitory or None) for the spikes of every source
        (``spikes[-1]`` the input's), each of the layer's output shape per image."""
        excitatory, inhibitory = None, None
        for synapses in self.synapses:
            ex, inh = synapses(spikes[synapses.source])
            excitatory = ex if excitatory is None else excitatory + ex
            if inh is not None:
                inhibitory = inh if inhibitory is None else inhibitory + inh
        if not self.watch:
            return excitatory, inhibitory
        excitatory = self._hold(excitatory, 0)
        if inhibitory is None:
            return excitatory, None
        inhibitory = self._hold(inhibitory, 1)
        if self.one_input:
            return excitatory + inhibitory, None
        return excitatory, inhibitory


class Neurons:
    """One layer's neurons for a batch of images, stepped by
    :func:`~lifresponse.backends.torch.neuron_step.neuron_step`.

    ``p`` are the layer's propagators; a bias makes the constant drive ``I_e P20`` (or
    ``I_e P30``) a tensor of one value per neuron, computed in float64 as NEST does.
    """

    def __init__(self, inputs: LayerInput, p: Propagators, batch: int, dtype, device):
        layer = inputs.layer
        self.inputs, self.p = inputs, p
        if layer.bias is None:
            self.drive = p.offset_drive
        else:
            drive = p.drive_of(p.i_offset + layer.offset_per_neuron())
            self.drive = torch.as_tensor(drive.reshape(layer.out_shape), dtype=dtype,
                                         device=device)
        self.state = NeuronState.at_rest((batch,) + tuple(layer.out_shape), p, dtype, device)
        self.bias_onset, self.bias = layer.bias_onset, None
        if layer.bias_onset is not None:  # a synaptic input every step
            excitatory, inhibitory = (torch.as_tensor(
                part.reshape(layer.out_shape) * input_unit(layer.cell), dtype=dtype,
                device=device) for part in layer.arriving_bias())
            self.bias = [excitatory, None if inputs.one_input else inhibitory]

    def step(self, incoming: dict, n: int) -> torch.Tensor:
        """Step ``n`` of the window (from 0); ``incoming`` are the spikes arriving in it, by
        source (-1: the input). Returns this step's spikes (0/1, the state's dtype)."""
        excitatory, inhibitory = self.inputs(incoming)
        if self.bias is not None and n >= self.bias_onset:
            excitatory = excitatory + self.bias[0]
            if self.bias[1] is not None:
                inhibitory = self.bias[1] if inhibitory is None else inhibitory + self.bias[1]
        self.state, spikes = neuron_step(self.state, self.p, self.drive, excitatory, inhibitory)
        return spikes


def layer_neurons(network: Network, inputs: list[LayerInput], batch: int, dtype,
                  device) -> list[Neurons]:
    """Every layer's neurons at rest, for a batch of ``batch`` images."""
    return [Neurons(i, network.propagators(i.layer), batch, dtype, device) for i in inputs]


def simulate(layers: list[Neurons], inputs: InputSpikes, network: Network,
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
        previous = {-1: incoming, **dict(enumerate(spikes))}  # the step before's
        spikes = []
        for i, layer in enumerate(layers):
            spiked = layer.step(previous, n)
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
