"""Build a network file as a PyNN network, on any backend.

Every layer is a population of its cell type (the backend's ``cell_type``: ``IF_curr_exp``,
``IF_curr_alpha`` or ``IF_curr_delta``; on NEST a NESTML model for a layer that resets by
subtraction) with its neuron parameters, a bias added to each neuron's ``i_offset``; the synapses
of every projection into it (one from the layer before in a chain; a residual block's merge adds
one from its source) are split by sign into an excitatory and an inhibitory PyNN projection
(sPyNNaker accepts one sign per projection) built from connection lists (the backend's
``connect_list``), with a delay of one timestep. The input is the backend's population of spike
sources (PyNN's ``SpikeSourceArray``; on NEST its own ``spike_generator`` nodes), whose spike times
are set block by block. A bias that arrives as synaptic input (``bias_onset``) comes from one more
source per such layer, which spikes in every step of each window from that step on, through
synapses of the bias's weights (NEST only: ``takes_bias_arrivals``).

A backend with connectors of its own builds the network with them where it can
(sPyNNaker: one population per feature map and ``ConvolutionConnector`` / ``PoolDenseConnector``
projections, :mod:`lifresponse.backends.spinnaker.connectors`), unless connection lists are asked
for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifresponse.errors import BackendError, ParameterError
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import fan_outs, network_connections

CONNECTORS = ("native", "lists")


@dataclass
class BuiltNetwork:
    """The PyNN objects of a deployed network.

    Attributes
    ----------
    inputs : Population or lifresponse.backends.nest.backend.SpikeGenerators
        The backend's :meth:`input_sources`, one source per input pixel.
    layers : list of Population or MapLayer
        One population per network layer (one per map with native connectors).
    recorders : dict
        Layer index -> the backend's spike recorder (or, per map,
        :class:`lifresponse.backends.spinnaker.connectors.MapRecorder`) of the recorded layers.
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
    bias_sources: dict = field(default_factory=dict)


def build(backend, network: Network, record: str = "output", input_spike_times=None,
          connectors: str = "native", scaling=None, bias_spike_times=None) -> BuiltNetwork:
    """Create populations and projections for ``network`` on a started backend.

    Parameters
    ----------
    backend : lifresponse.backends.pynn.backend.PyNNBackend
        A backend after :meth:`~lifresponse.backends.pynn.backend.PyNNBackend.start`.
    network : Network
    record : {"output", "all"}
        Which layers' spikes to record.
    input_spike_times : list of numpy.ndarray, optional
        Initial spike times (ms) of each input neuron. Where the backend takes them only at
        construction (``inputs_fixed_at_build``), these are the run's inputs.
    connectors : {"native", "lists"}
        "native" uses the backend's own connectors where it has them and the network allows
        them (sPyNNaker's local-only convolution connectors); otherwise connection lists.
    scaling : lifresponse.backends.spinnaker.weights.BoardScaling, optional
        The ``max_expected_summed_weight`` of each population, for a backend that takes it
        (``takes_spinnaker_weights``).
    bias_spike_times : dict, optional
        Layer index -> the spike times (ms) of its bias source, for the layers whose bias
        arrives as synaptic input (module docstring).

    Raises
    ------
    ParameterError
        If ``scaling`` was made for the other kind of connectors.
    """
    sim = backend.sim
    connections = network_connections(network)
    arriving = [i for i, layer in enumerate(network.layers) if layer.bias_onset is not None]
    if arriving and not backend.takes_bias_arrivals:
        raise BackendError(f"layer {arriving[0]}'s bias arrives as synaptic input every step "
                           f"(bias_onset, a discrete-time import); {backend.name} does not "
                           "build that: deploy on NEST or the torch simulator, or import the "
                           "graph with its biases as currents (bias='current')")
    n_inputs = int(np.prod(network.input_shape))
    times = [] if input_spike_times is None else backend.spike_times(input_spike_times)
    cell_types = [backend.cell_type(network, index) for index in range(len(network.layers))]
    last = len(network.layers) - 1
    given = {} if scaling is None else {(p.layer, p.first): p.max_expected_summed_weight
                                        for p in scaling.populations}

    def summed_weight(layer: int, first: int):
        return given.get((layer, first))

    native = backend.build_native(network, times, cell_types, connectors, summed_weight)
    if scaling is not None and scaling.connectors != ("native" if native else "lists"):
        raise ParameterError("spinnaker_weights", f"{scaling.source}: made for "
                             f"{scaling.connectors} connectors, but the network is built with "
                             f"{'native' if native else 'lists'} connectors (--connectors)")
    if native is not None:
        inputs, layers = native
        recorders = {i: backend.spike_recorder(layer)
                     for i, layer in enumerate(layers) if record == "all" or i == last}
        n_synapses = sum(int(np.count_nonzero(c.weight)) for into in connections for c in into)
        return BuiltNetwork(inputs, layers, recorders, fan_outs(connections), n_synapses,
                            "native")
    inputs = backend.input_sources(n_inputs, input_spike_times)
    layers, recorders = [], {}
    delay = sim.get_time_step()
    n_synapses = 0
    for index, (layer, into) in enumerate(zip(network.layers, connections, strict=True)):
        population = backend.population(layer.n_out, cell_types[index],
                                        f"layer{index}_{layer.kind}", summed_weight(index, 0))
        for projection in into:
            source = inputs if projection.source == -1 else layers[projection.source]
            excitatory, inhibitory = projection.split_by_sign()
            for part, receptor in ((excitatory, "excitatory"), (inhibitory, "inhibitory")):
                if len(part.pre) == 0:
                    continue
                backend.connect_list(source, population, part.pre, part.post, part.weight,
                                     delay, receptor)
                n_synapses += len(part.pre)
        if record == "all" or index == last:
            recorders[index] = backend.spike_recorder(population)
        layers.append(population)
    bias_sources = {}
    for index in arriving:
        bias = network.layers[index].bias_per_neuron()
        bias_sources[index] = backend.input_sources(1, [(bias_spike_times or {}).get(
            index, np.zeros(0))])
        for part, receptor in ((bias > 0, "excitatory"), (bias < 0, "inhibitory")):
            post = np.flatnonzero(part)
            if len(post) == 0:
                continue
            backend.connect_list(bias_sources[index], layers[index], np.zeros(len(post), int),
                                 post, np.abs(bias[post]), delay, receptor)
    return BuiltNetwork(inputs, layers, recorders, fan_outs(connections), n_synapses,
                        bias_sources=bias_sources)
