"""The simulators ``fast_path.py --job peers`` compares, each as ``PEERS[name](network, dtype)
-> simulate(pixels, presentation) -> output spikes``, fed the same input spikes
(:func:`lifresponse.networks.encoding.input_spikes`, seed 1, drawn in the timed part), 100
images at a time, 2 threads.

What each computes, and how its neurons map to NEST's ``iaf_psc_exp``:

- ``numba loop``, ``torch operations``: the exact simulator (NEST's update, same
  propagators, refractory period, one-step delay), on the CPU.
- ``snntorch``: snnTorch 1.0.0's ``Synaptic`` neuron per layer, fed by the same torch
  convolutions / matrix products of the same weights (:class:`lifresponse.backends.torch.
  operations.Synapses`): ``syn <- alpha syn + input; mem <- beta mem + syn``, spike where
  ``mem > threshold``, reset to zero; alpha = exp(-h / tau_syn) (NEST's P11), beta =
  exp(-h / tau_m) (P22), input in pA times P21 (mV per pA), threshold ``v_thresh - v_rest``.
  No refractory period and no separate inhibitory current: close to, not equal to, NEST's
  neuron (the spike counts differ a little); the work per step is the same.
- ``nest``: ``lifresponse deploy --backend nest`` (rest protocol) in this process.
"""

from __future__ import annotations

import numpy as np

from lifresponse.networks.encoding import input_spikes
from lifresponse.networks.topology import fan_outs, network_connections

BLOCK = 100
SEED = 1


def numba_loop(network, dtype):
    from lifresponse.backends.torch.step_kernel import CompiledNetwork

    compiled = CompiledNetwork(network, dtype, network_connections(network))

    def simulate(pixels, presentation):
        total = 0
        for first in range(0, len(pixels), BLOCK):
            chunk = pixels[first:first + BLOCK]

            def encode(lo, hi, chunk=chunk, first=first):
                return input_spikes(chunk[lo:hi], presentation, network, first + lo, SEED)

            result = compiled.simulate(encode, len(chunk), presentation, threads=2)
            total += int(result.counts[-1].sum())
        return total

    return simulate


def torch_operations(network, dtype, device="cpu"):
    from lifresponse.backends.torch.operations import TorchOperations

    operations = TorchOperations(network, dtype, device, threads=2)
    fan_out = fan_outs(network_connections(network))

    def simulate(pixels, presentation):
        total = 0
        for first in range(0, len(pixels), BLOCK):
            chunk = pixels[first:first + BLOCK]
            inputs = input_spikes(chunk, presentation, network, first, SEED)
            counts, *_ = operations.simulate(inputs, len(chunk), presentation, fan_out)
            total += int(counts[-1].sum())
        return total

    return simulate


def snntorch_peer(network, dtype):
    import snntorch as snn
    import torch

    from lifresponse.backends.torch.operations import LayerInput
    from lifresponse.propagators import Propagators

    torch.set_num_threads(2)
    real = torch.float64 if dtype == "float64" else torch.float32
    network.require_chain("the snnTorch peer")
    synapses = [LayerInput(network, i, real, "cpu") for i in range(len(network.layers))]
    neurons, scales = [], []
    for layer in network.layers:
        p = Propagators.of(network.neuron_of(layer), network.timestep, layer.cell)
        neurons.append(snn.Synaptic(alpha=p.P11ex, beta=p.P22, threshold=p.theta,
                                    reset_mechanism="zero"))
        scales.append(p.P21ex)
    n_inputs = int(np.prod(network.input_shape))

    def simulate(pixels, presentation):
        total = 0
        with torch.no_grad():
            for first in range(0, len(pixels), BLOCK):
                chunk = pixels[first:first + BLOCK]
                n = len(chunk)
                inputs = input_spikes(chunk, presentation, network, first, SEED)
                dense = torch.zeros((presentation.steps + 1, n * n_inputs), dtype=real)
                dense.index_put_((torch.as_tensor(inputs.step),
                                  torch.as_tensor(inputs.image * n_inputs + inputs.neuron)),
                                 torch.ones(len(inputs.step), dtype=real), accumulate=True)
                dense = dense.view(presentation.steps + 1, n, *network.input_shape)
                state = [(torch.zeros((), dtype=real), torch.zeros((), dtype=real))
                         for _ in neurons]
                previous = [None] * len(neurons)
                for step in range(presentation.steps):
                    spikes = []
                    for i, (neuron, synapse) in enumerate(zip(neurons, synapses, strict=True)):
                        source = dense[step] if i == 0 else previous[i - 1]
                        if source is None:  # nothing has reached this layer yet
                            source = torch.zeros((n, *network.layers[i].in_shape), dtype=real)
                        excitatory, inhibitory = synapse({i - 1: source})
                        current = excitatory if inhibitory is None else excitatory + inhibitory
                        spike, syn, mem = neuron(current * scales[i], *state[i])
                        state[i] = (syn, mem)
                        spikes.append(spike.to(real))  # snnTorch's spikes are float32
                    previous = spikes
                    total += int(spikes[-1].sum())
        return total

    return simulate


def nest_peer(network, dtype):
    from lifresponse.datasets import Digits
    from lifresponse.deployment import DeployConfig, deploy

    def simulate(pixels, presentation):
        digits = Digits(pixels.reshape(len(pixels), *network.input_shape[1:]),
                        np.zeros(len(pixels), np.int64), "benchmark")
        run = deploy(network, digits, DeployConfig(window=presentation.window, threads=2,
                                                   seed=SEED, record="all"), progress=False)
        return int(run.output_counts.sum())

    return simulate


PEERS = {"numba loop": numba_loop, "torch operations": torch_operations,
         "torch operations on the GPU": lambda network, dtype: torch_operations(network, dtype,
                                                                               "cuda"),
         "snntorch": snntorch_peer, "nest": nest_peer}
