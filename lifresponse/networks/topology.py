"""Layers of a network file as connection lists between neuron indices, in numpy.

Neurons of a layer are numbered in C order of its shape (channel, row, column), the order in
which torch flattens maps, so a dense layer after a map sees the same inputs in the SNN as in the
ANN. Everything is vectorised: no Python loop per synapse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lifresponse.networks.network_file import Layer, Network, Projection


@dataclass(frozen=True)
class Connections:
    """Synapses of one projection: ``pre[i] -> post[i]`` with signed ``weight[i]`` (nA);
    ``pre`` numbers the neurons of ``source`` (-1: the input, else a layer's index; None where
    unknown)."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    n_pre: int
    n_post: int
    source: int | None = None

    def split_by_sign(self) -> tuple[Connections, Connections]:
        """(excitatory, inhibitory), both with positive magnitudes; zero weights dropped."""
        parts = []
        for mask in (self.weight > 0, self.weight < 0):
            parts.append(Connections(self.pre[mask], self.post[mask], np.abs(self.weight[mask]),
                                     self.n_pre, self.n_post, self.source))
        return parts[0], parts[1]

    def fan_out(self) -> np.ndarray:
        """Number of non-zero synapses leaving each pre-synaptic neuron, shape (n_pre,)."""
        return np.bincount(self.pre[self.weight != 0], minlength=self.n_pre)

    def as_matrix(self) -> np.ndarray:
        """Dense weight matrix (n_pre, n_post) in nA; for tests and small layers."""
        matrix = np.zeros((self.n_pre, self.n_post))
        np.add.at(matrix, (self.pre, self.post), self.weight)
        return matrix


def layer_connections(layer: Layer | Projection) -> Connections:
    """All synapses of ``layer``'s own kind, or of a projection (conv, pool or dense); inputs
    that padding adds are zeros and have no synapses."""
    n_pre = int(np.prod(layer.in_shape))
    if layer.kind == "dense":
        pre, post = np.meshgrid(np.arange(n_pre), np.arange(layer.out_shape[0]), indexing="ij")
        return Connections(pre.ravel(), post.ravel(), np.asarray(layer.weight).ravel(), n_pre,
                           layer.n_out)
    c_in, h, w = layer.in_shape
    c_out, h_out, w_out = layer.out_shape
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    if layer.kind == "conv":
        kernel = np.asarray(layer.weight)  # (c_out, c_in, kh, kw)
        kh, kw = kernel.shape[2:]
        co, ci, di, dj, i, j = np.meshgrid(np.arange(c_out), np.arange(c_in), np.arange(kh),
                                           np.arange(kw), np.arange(h_out), np.arange(w_out),
                                           indexing="ij", sparse=True)
        weight = np.broadcast_to(kernel[:, :, :, :, None, None],
                                 (c_out, c_in, kh, kw, h_out, w_out))
    else:  # pool: input channel c feeds output channel c only
        window = np.asarray(layer.weight)  # (kh, kw)
        kh, kw = window.shape
        co, di, dj, i, j = np.meshgrid(np.arange(c_out), np.arange(kh), np.arange(kw),
                                       np.arange(h_out), np.arange(w_out), indexing="ij",
                                       sparse=True)
        ci = co
        weight = np.broadcast_to(window[None, :, :, None, None], (c_out, kh, kw, h_out, w_out))
    shape = weight.shape
    row = np.broadcast_to(i * sh + di - ph, shape).ravel()
    col = np.broadcast_to(j * sw + dj - pw, shape).ravel()
    inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
    pre = (np.broadcast_to(ci, shape).ravel() * h + row) * w + col
    post = np.broadcast_to((co * h_out + i) * w_out + j, shape).ravel()
    return Connections(pre[inside], post[inside], np.ascontiguousarray(weight).ravel()[inside],
                       n_pre, layer.n_out)


def incoming(into: list[Connections]) -> tuple[np.ndarray, np.ndarray]:
    """(post, weight) of every synapse into one layer, all its projections together."""
    return (np.concatenate([c.post for c in into]),
            np.concatenate([np.asarray(c.weight, dtype=float) for c in into]))


def fan_outs(connections: list[list[Connections]]) -> dict[int, np.ndarray]:
    """Synapses leaving each neuron, by layer: -1 is the input, ``i`` is layer ``i`` (a layer
    that feeds none has none). The indexing of ``run.h5``."""
    out = {-1: np.zeros(connections[0][0].n_pre, dtype=np.int64)}
    out.update({i: np.zeros(into[0].n_post, dtype=np.int64)
                for i, into in enumerate(connections)})
    for into in connections:
        for projection in into:
            out[projection.source] = out[projection.source] + projection.fan_out()
    return out


def network_connections(network: Network) -> list[list[Connections]]:
    """The synapses into every layer, per projection (:meth:`Network.projections`), each
    :func:`layer_connections` with its ``source``."""
    return [[replace(layer_connections(p), source=p.source) for p in network.projections(i)]
            for i in range(len(network.layers))]
