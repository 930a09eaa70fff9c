"""Build a network file as a PyNN network, on any backend.

Every layer is a population of ``IF_curr_exp`` neurons with the file's neuron parameters; every
layer's synapses are split by sign into an excitatory and an inhibitory projection (sPyNNaker
accepts one sign per projection) built from connection lists
(:func:`lifresponse.backends.connect_list`), with a delay of one timestep. The
input is a ``SpikeSourceArray`` population whose spike times are set block by block.

On sPyNNaker, a network whose layers all fit its native local-only connectors is built instead
with one population per feature map and ``ConvolutionConnector`` / ``PoolDenseConnector``
projections (:mod:`lifresponse.networks.native_spinnaker`), unless connection lists are asked
for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifresponse import backends
from lifresponse.networks import native_spinnaker
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import fan_outs, network_connections

CONNECTORS = ("native", "lists")


@dataclass
class BuiltNetwork:
    """The PyNN objects of a deployed network.

    Attributes
    ----------
    inputs : Population
        ``SpikeSourceArray``, one source per input pixel.
    layers : list of Population or MapLayer
        One population per network layer (one per map with native connectors).
    recorders : dict
        Layer index -> :class:`lifresponse.backends.SpikeRecorder` (or, per map,
        :class:`lifresponse.networks.native_spinnaker.MapRecorder`) of the recorded layers.
    fan_out : dict
        Synapses leaving each neuron, by layer (-1 = input), from
        :func:`lifresponse.networks.topology.fan_outs`.
    n_synapses : int
    connectors : {"native", "lists"}
        How the synapses were built.
    """

    inputs: object
    layers: list
    recorders: dict
    fan_out: dict = field(default_factory=dict)
    n_synapses: int = 0
    connectors: str = "lists"


def build(sim, backend: str, network: Network, record: str = "output",
          input_spike_times=None, connectors: str = "native") -> BuiltNetwork:
    """Create populations and projections for ``network`` on the PyNN module ``sim``.

    Parameters
    ----------
    sim : module
        A PyNN backend after ``setup``.
    backend : str
        Its name ("nest" or "spinnaker").
    network : Network
    record : {"output", "all"}
        Which layers' spikes to record.
    input_spike_times : list of numpy.ndarray, optional
        Initial spike times (ms) of each input neuron. sPyNNaker takes them only here, at
        construction; NEST also accepts new ones between runs.
    connectors : {"native", "lists"}
        On sPyNNaker, "native" uses the local-only connectors where the network allows them
        (:func:`lifresponse.networks.native_spinnaker.unsupported_reason`). NEST always uses
        connection lists.
    """
    if backend == "spinnaker":
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp,
                                          native_spinnaker.NEURONS_PER_CORE)
    connections = network_connections(network)
    n_inputs = int(np.prod(network.input_shape))
    times = [] if input_spike_times is None else backends.spike_times(sim, input_spike_times)
    cell_type = sim.IF_curr_exp(**network.neuron.to_pynn())
    last = len(network.layers) - 1
    if (backend == "spinnaker" and connectors == "native"
            and native_spinnaker.unsupported_reason(network) is None):
        inputs, layers = native_spinnaker.build_native(sim, network, times, cell_type)
        recorders = {i: native_spinnaker.MapRecorder(sim, layer)
                     for i, layer in enumerate(layers) if record == "all" or i == last}
        n_synapses = sum(int(np.count_nonzero(c.weight)) for c in connections)
        return BuiltNetwork(inputs, layers, recorders, fan_outs(connections), n_synapses,
                            "native")
    inputs = sim.Population(n_inputs, sim.SpikeSourceArray(spike_times=times), label="input")
    layers, recorders, previous = [], {}, inputs
    delay = sim.get_time_step()
    n_synapses = 0
    for index, (layer, synapses) in enumerate(zip(network.layers, connections, strict=True)):
        population = sim.Population(layer.n_out, cell_type, label=f"layer{index}_{layer.kind}")
        excitatory, inhibitory = synapses.split_by_sign()
        for part, receptor in ((excitatory, "excitatory"), (inhibitory, "inhibitory")):
            if len(part.pre) == 0:
                continue
            backends.connect_list(sim, previous, population, part.pre, part.post, part.weight,
                                  delay, receptor)
            n_synapses += len(part.pre)
        if record == "all" or index == last:
            recorders[index] = backends.SpikeRecorder(sim, population)
        layers.append(population)
        previous = population
    return BuiltNetwork(inputs, layers, recorders, fan_outs(connections), n_synapses)
