"""sPyNNaker's native local-only connectors for map layers: one population per feature map.

sPyNNaker can run a convolution without a synaptic matrix: a ``ConvolutionConnector`` holds one
shared kernel per (input map, output map) pair and a ``PoolDenseConnector`` one dense block per
input map, each in the DTCM of the receiving core. Their constraints: both
populations have a ``Grid2D`` structure, the projection has one delay, pooling is average
pooling, and every projection into a population is of the same local-only type.

A network file qualifies when its input is one map, every layer is of ``IF_curr_exp`` neurons
without bias, every conv and pool layer maps to maps (stride 1 and no padding for conv,
non-overlapping square windows of equal weights without padding for pool) and every dense layer
follows a map layer. Then :func:`native_projections` lists the projections, in numpy, and the
sPyNNaker backend (:meth:`~lifresponse.backends.spinnaker.backend.SpiNNakerBackend.build_native`)
makes them; otherwise the builder uses connection lists.

How sPyNNaker applies a kernel (``neural_modelling/src/neuron/local_only/local_only_conv_impl.c``,
stride 1, no padding): a spike of pre-synaptic neuron (r, c) reaches post-synaptic neuron
(r - i, c - j) with weight ``K[kh - 1 - i, kw - 1 - j]``. That is a true convolution, so the
kernel handed over is the network's (torch's cross-correlation) kernel flipped in both axes.
With ``pool_shape`` p the pre-synaptic coordinates are first divided by p and the kernel by
p^2: a pool layer is a 1x1 kernel of ``p^2 * w`` with ``pool_shape = p``. Neurons of a map are
numbered row by row (column fastest), as in the network file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifresponse.backends.spinnaker.hardware import NEURONS_PER_CORE
from lifresponse.errors import ParameterError
from lifresponse.networks.network_file import Network


@dataclass(frozen=True)
class NativeProjection:
    """One local-only projection between map populations.

    Attributes
    ----------
    layer : int
        Index of the receiving layer.
    pre_map, post_map : int
        Map (channel) index in the sending and receiving layer; ``post_map`` is 0 for a dense
        layer, which is one population.
    connector : {"convolution", "pool_dense"}
    weights : numpy.ndarray
        "convolution": the kernel (nA) as sPyNNaker takes it (already flipped); "pool_dense":
        (neurons of the pre map, neurons of the dense layer) block of weights (nA).
    pool : int
        ``pool_shape`` of a "convolution" that pools (0 for none).
    """

    layer: int
    pre_map: int
    post_map: int
    connector: str
    weights: np.ndarray
    pool: int = 0


def unsupported_reason(network: Network) -> str | None:
    """Why ``network`` cannot use the native connectors, or None if it can."""
    if len(network.input_shape) != 3 or network.input_shape[0] != 1:
        return f"input shape {network.input_shape} is not a single map"
    if not network.is_chain:
        return "branches or merges (a residual block) need connection lists"
    previous_is_map = True
    for index, layer in enumerate(network.layers):
        reason = _layer_reason(layer)
        if reason:
            return f"layer {index}: {reason}"
        if layer.kind == "dense":
            if not previous_is_map:
                return f"layer {index}: dense after dense has no Grid2D source"
            previous_is_map = False
            continue
        if not previous_is_map:
            return f"layer {index}: a map layer after a dense layer"
        weight = np.asarray(layer.weight)
        if layer.kind == "conv" and (layer.stride != (1, 1) or layer.padding != (0, 0)):
            return f"layer {index}: a convolution with stride or padding"
        if layer.kind == "pool":
            reason = _pool_reason(layer, weight)
            if reason:
                return f"layer {index}: {reason}"
    return None


def _layer_reason(layer) -> str | None:
    if layer.cell != "IF_curr_exp":
        return f"{layer.cell} neurons"
    if layer.bias is not None:
        return "a bias"
    return None


def _pool_reason(layer, weight: np.ndarray) -> str | None:
    if not np.all(weight == weight.flat[0]):
        return "pooling weights differ (sPyNNaker pools by averaging)"
    p = weight.shape[0]
    if weight.shape != (p, p) or layer.stride != (p, p) or layer.padding != (0, 0):
        return "pooling windows that are not square, overlap or pad"
    if layer.in_shape[1] % p or layer.in_shape[2] % p:
        return f"{layer.in_shape[1:]} maps do not tile into {p}x{p} windows"
    return None


def native_projections(network: Network) -> list[NativeProjection]:
    """The local-only projections of ``network`` (which must qualify, see
    :func:`unsupported_reason`), receiving layer by receiving layer."""
    reason = unsupported_reason(network)
    if reason is not None:
        raise ParameterError("connectors", f"no native sPyNNaker connectors: {reason}")
    projections = []
    for index, layer in enumerate(network.layers):
        weight = np.asarray(layer.weight, dtype=float)
        if layer.kind == "conv":  # weight (c_out, c_in, k, k)
            for post in range(weight.shape[0]):
                for pre in range(weight.shape[1]):
                    kernel = np.ascontiguousarray(weight[post, pre, ::-1, ::-1])
                    projections.append(NativeProjection(index, pre, post, "convolution", kernel))
        elif layer.kind == "pool":
            p = weight.shape[0]
            kernel = np.array([[weight.flat[0] * p * p]])
            projections += [NativeProjection(index, m, m, "convolution", kernel, pool=p)
                            for m in range(layer.out_shape[0])]
        else:  # dense after maps: rows in (map, row, column) order, one block per map
            n_maps = layer.in_shape[0]
            per_map = int(np.prod(layer.in_shape[1:]))
            projections += [NativeProjection(index, m, 0, "pool_dense",
                                             weight[m * per_map:(m + 1) * per_map])
                            for m in range(n_maps)]
    return projections


def atoms_per_core(width: int, height: int, limit: int = NEURONS_PER_CORE) -> tuple[int, int]:
    """The largest (columns, rows) block of at most ``limit`` neurons that tiles a map.

    sPyNNaker splits a ``Grid2D`` population into equal rectangles, one per core, so each side
    must divide the map's side (24 x 24 maps: 24 x 8 = 192 neurons per core).
    """
    blocks = [(a, b) for a in range(1, width + 1) if width % a == 0
              for b in range(1, height + 1) if height % b == 0 and a * b <= limit]
    return max(blocks, key=lambda block: (block[0] * block[1], block[0]))


@dataclass
class MapLayer:
    """A layer built as one population per map; neurons in (map, row, column) order."""

    populations: list

    @property
    def size(self) -> int:
        return sum(p.size for p in self.populations)


class MapRecorder:
    """Spikes of a :class:`MapLayer`, read like one population's (cell indices in layer order).
    """

    def __init__(self, backend, layer: MapLayer):
        self.parts = [backend.spike_recorder(population) for population in layer.populations]
        self.offsets = np.cumsum([0] + [part.size for part in self.parts[:-1]])

    def read(self, clear: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(cell index in the layer, spike time in ms) of every spike so far."""
        reads = [part.read(clear) for part in self.parts]
        cells = [cell + offset for (cell, _), offset in zip(reads, self.offsets, strict=True)]
        return np.concatenate(cells), np.concatenate([times for _, times in reads])
