"""The ANN forward pass of a network file on given input rates, in numpy (eq. 12-14).

Used to compare recorded SNN rates with what the ANN predicts (the paper's Fig. 12), and to
estimate energy before deploying.
"""

from __future__ import annotations

import numpy as np

from lifresponse.activations import ann_output, get_activation
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import Connections, network_connections


def weight_matrix(connections: Connections):
    """Sparse (n_pre, n_post) weight matrix (nA), a ``scipy.sparse.csr_matrix``."""
    from scipy import sparse  # imported here: 0.13 s that a deployment without them saves

    return sparse.csr_matrix((connections.weight, (connections.pre, connections.post)),
                             shape=(connections.n_pre, connections.n_post))


def layer_input(network: Network, projections: list[Connections], source_rates: dict,
                bias=0.0, by_sign: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean current and its noise (nA, eq. 8), each (n_images, n_post), of one layer; with
    ``by_sign``, those of the excitatory and the inhibitory synapses apart, stacked on a first
    axis of 2 (magnitudes; a layer without a bias).

    ``projections`` are the synapses into the layer (its
    :func:`~lifresponse.networks.topology.network_connections`), ``source_rates`` the rates
    (Hz, (n_images, n_pre)) of each projection's source (-1: the input); their mean currents
    and variances add. ``bias`` (nA, per neuron) adds to the mean current.
    """
    if by_sign:
        split = [c.split_by_sign() for c in projections]
        parts = [layer_input(network, [pair[sign] for pair in split], source_rates)
                 for sign in (0, 1)]
        return np.stack([parts[0][0], parts[1][0]]), np.stack([parts[0][1], parts[1][1]])
    tau_s = network.tau_syn / 1000.0
    net, variance = bias, 0.0
    for connections in projections:
        w = weight_matrix(connections)
        x = np.asarray(source_rates[connections.source], dtype=float) * tau_s
        net = net + np.asarray((w.T @ x.T).T)
        variance = variance + np.asarray((w.multiply(w).T @ x.T).T) * 0.5
    return net, np.sqrt(np.clip(variance, 0.0, None))


def rates_of_input(network: Network, net: np.ndarray, sigma: np.ndarray,
                   activation: str | None = None, by_sign: bool = False) -> np.ndarray:
    """Output rates (Hz) of neurons whose input is ``net`` and ``sigma`` (nA,
    :func:`layer_input`; ``by_sign``: stacked by sign), through ``activation`` (default the
    network's own; another one compares Noisy Softplus, ReLU and Softplus predictions of the
    same weights)."""
    activation = activation or network.activation
    if by_sign and not get_activation(activation).by_sign:  # the signed sum's
        net, sigma = net[0] - net[1], np.sqrt(sigma[0] ** 2 + sigma[1] ** 2)
    y = ann_output(net, sigma, activation, k=network.k, S=network.S,
                   tau_syn=network.tau_syn, softplus_sigma=network.softplus_sigma,
                   neuron=network.neuron, gamma=network.soft_lif_gamma,
                   response=network.response, timestep=network.timestep,
                   cell=network.shared_cell)
    return y / (network.tau_syn / 1000.0)


def layer_rates(network: Network, projections: list[Connections], source_rates: dict,
                activation: str | None = None, bias=0.0) -> np.ndarray:
    """Output rates (Hz) of one layer, shape (n_images, n_post): :func:`layer_input` through
    :func:`rates_of_input`."""
    by_sign = get_activation(activation or network.activation).by_sign
    net, sigma = layer_input(network, projections, source_rates, bias, by_sign)
    return rates_of_input(network, net, sigma, activation, by_sign)


def predict_rates(network: Network, pixels: np.ndarray, activation: str | None = None,
                  connections: list[list[Connections]] | None = None) -> list[np.ndarray]:
    """Rates (Hz) of every layer for images ``pixels`` in [0, 1], shape (n, *input_shape).

    Returns a list with one (n_images, n_neurons) array per layer.

    Raises
    ------
    ParameterError
        For a network without an ANN model (imported from NIR).
    """
    network.require_ann_model("predicting rates")
    connections = connections or network_connections(network)
    rates = {-1: np.asarray(pixels, dtype=float).reshape(len(pixels), -1) * network.input_rate}
    for index, layer in enumerate(network.layers):
        rates[index] = layer_rates(network, connections[index], rates, activation,
                                   layer.bias_per_neuron())
    return [rates[index] for index in range(len(network.layers))]
