"""The ANN forward pass of a network file on given input rates, in numpy (eq. 12-14).

Used to compare recorded SNN rates with what the ANN predicts (the paper's Fig. 12), and to
estimate energy before deploying.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from lifresponse.activations import ann_output
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import Connections, network_connections


def weight_matrix(connections: Connections) -> sparse.csr_matrix:
    """Sparse (n_pre, n_post) weight matrix (nA)."""
    return sparse.csr_matrix((connections.weight, (connections.pre, connections.post)),
                             shape=(connections.n_pre, connections.n_post))


def layer_rates(network: Network, connections: Connections, input_rates: np.ndarray,
                activation: str | None = None, bias=0.0) -> np.ndarray:
    """Output rates (Hz) of one layer for input rates (Hz), shape (n_images, n_pre).

    ``activation`` overrides the network's (to compare Noisy Softplus, ReLU and Softplus
    predictions of the same weights); ``bias`` (nA, per neuron) adds to the mean current.
    """
    tau_s = network.tau_syn / 1000.0
    w = weight_matrix(connections)
    x = np.asarray(input_rates, dtype=float) * tau_s
    net = np.asarray((w.T @ x.T).T) + bias
    sigma = np.sqrt(np.clip(np.asarray((w.multiply(w).T @ x.T).T) * 0.5, 0.0, None))
    y = ann_output(net, sigma, activation or network.activation, k=network.k, S=network.S,
                   tau_syn=network.tau_syn, softplus_sigma=network.softplus_sigma,
                   neuron=network.neuron, gamma=network.soft_lif_gamma)
    return y / tau_s


def predict_rates(network: Network, pixels: np.ndarray, activation: str | None = None,
                  connections: list[Connections] | None = None) -> list[np.ndarray]:
    """Rates (Hz) of every layer for images ``pixels`` in [0, 1], shape (n, *input_shape).

    Returns a list with one (n_images, n_neurons) array per layer.

    Raises
    ------
    ParameterError
        For a network without an ANN model (imported from NIR).
    """
    network.require_ann_model("predicting rates")
    connections = connections or network_connections(network)
    rates = np.asarray(pixels, dtype=float).reshape(len(pixels), -1) * network.input_rate
    out = []
    for layer, layer_connections in zip(network.layers, connections, strict=True):
        rates = layer_rates(network, layer_connections, rates, activation,
                            layer.bias_per_neuron())
        out.append(rates)
    return out
