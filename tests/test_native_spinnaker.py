"""sPyNNaker's native local-only connectors: the kernels we hand over, expanded by sPyNNaker's
own rule, give exactly the network's synapses; networks that do not fit fall back to lists."""

import numpy as np
import pytest

from lifresponse.backends.spinnaker.connectors import (
    atoms_per_core,
    native_projections,
    unsupported_reason,
)
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import network_connections
from lifresponse.neuron import LIFParams


def _network(rng, layers):
    return Network("test", layers, "noisy-softplus", 0.3, 201.0, 5.0, LIFParams(), 1.0)


def _conv_pool_dense(rng):
    """1x10x10 -> 3c3 (3x8x8) -> 2s (3x4x4) -> 2c3 (2x2x2) -> 4fc, random signed weights."""
    return _network(rng, [
        Layer("conv", (1, 10, 10), (3, 8, 8), rng.normal(size=(3, 1, 3, 3))),
        Layer("pool", (3, 8, 8), (3, 4, 4), np.full((2, 2), 0.25), 2),
        Layer("conv", (3, 4, 4), (2, 2, 2), rng.normal(size=(2, 3, 3, 3))),
        Layer("dense", (2, 2, 2), (4,), rng.normal(size=(8, 4))),
    ])


def _expand_as_spinnaker(projection, pre_shape, post_shape):
    """Synapses (pre, post) -> weight of one projection, by the rule of sPyNNaker's
    local_only_conv_impl.c (stride 1, no padding): a spike of pre (r, c), pooled to
    (r // p, c // p), reaches post (r - i, c - j) with weight K[kh-1-i, kw-1-j] / p^2.
    PoolDense: pre neuron n of the map (row-major) to post m with weight W[n, m]."""
    matrix = np.zeros((int(np.prod(pre_shape)), int(np.prod(post_shape))))
    if projection.connector == "pool_dense":
        matrix[:] = projection.weights
        return matrix
    kernel = projection.weights
    p = projection.pool or 1
    kh, kw = kernel.shape
    h, w = pre_shape
    for r in range(h):
        for c in range(w):
            pr, pc = r // p, c // p
            for i in range(kh):
                for j in range(kw):
                    post_r, post_c = pr - i, pc - j
                    if 0 <= post_r < post_shape[0] and 0 <= post_c < post_shape[1]:
                        matrix[r * w + c, post_r * post_shape[1] + post_c] += (
                            kernel[kh - 1 - i, kw - 1 - j] / (p * p))
    return matrix


def test_native_projections_reproduce_every_synapse(rng):
    network = _conv_pool_dense(rng)
    projections = native_projections(network)
    for index, (layer, [connections]) in enumerate(zip(network.layers,
                                                     network_connections(network),
                                                     strict=True)):
        pre_maps, pre_shape = layer.in_shape[0], layer.in_shape[1:]
        post_maps = 1 if layer.kind == "dense" else layer.out_shape[0]
        post_shape = layer.out_shape if layer.kind == "dense" else layer.out_shape[1:]
        n_pre, n_post = int(np.prod(pre_shape)), int(np.prod(post_shape))
        expanded = np.zeros((pre_maps * n_pre, post_maps * n_post))
        for projection in (p for p in projections if p.layer == index):
            block = _expand_as_spinnaker(projection, pre_shape, post_shape)
            rows = slice(projection.pre_map * n_pre, (projection.pre_map + 1) * n_pre)
            cols = slice(projection.post_map * n_post, (projection.post_map + 1) * n_post)
            expanded[rows, cols] += block
        np.testing.assert_allclose(expanded, connections.as_matrix(), atol=1e-12,
                                   err_msg=f"layer {index} ({layer.kind})")
    assert len(projections) == 3 + 3 + 6 + 2


def test_networks_outside_the_native_constraints_are_named(rng):
    assert unsupported_reason(_conv_pool_dense(rng)) is None
    two_dense = _network(rng, [Layer("dense", (1, 4, 4), (5,), rng.normal(size=(16, 5))),
                               Layer("dense", (5,), (2,), rng.normal(size=(5, 2)))])
    assert "dense after dense" in unsupported_reason(two_dense)
    weighted_pool = _network(rng, [Layer("pool", (1, 4, 4), (1, 2, 2),
                                         np.array([[0.1, 0.2], [0.3, 0.4]]), 2)])
    assert "pooling weights differ" in unsupported_reason(weighted_pool)
    strided = _network(rng, [Layer("conv", (1, 5, 5), (1, 2, 2), rng.normal(size=(1, 1, 3, 3)),
                                   stride=2)])
    assert "a convolution with stride or padding" in unsupported_reason(strided)
    biased = _network(rng, [Layer("dense", (1, 4, 4), (5,), rng.normal(size=(16, 5)),
                                  bias=np.zeros(5))])
    assert "layer 0: a bias" in unsupported_reason(biased)
    delta = _network(rng, [Layer("dense", (1, 4, 4), (5,), rng.normal(size=(16, 5)),
                                 cell="IF_curr_delta")])
    assert "IF_curr_delta neurons" in unsupported_reason(delta)
    overlapping = _network(rng, [Layer("pool", (1, 4, 4), (1, 3, 3), np.full((2, 2), 0.25), 1)])
    assert "overlap" in unsupported_reason(overlapping)
    colour = _network(rng, [Layer("conv", (3, 5, 5), (1, 3, 3), rng.normal(size=(1, 3, 3, 3)))])
    assert "not a single map" in unsupported_reason(colour)
    with pytest.raises(ValueError, match="not a single map"):
        native_projections(colour)


@pytest.mark.parametrize("side, expected", [(24, (24, 8)), (12, (12, 12)), (28, (28, 7)),
                                            (8, (8, 8)), (17, (17, 1))])
def test_atoms_per_core_tile_the_map(side, expected):
    columns, rows = atoms_per_core(side, side)
    assert (columns, rows) == expected
    assert side % columns == 0 and side % rows == 0 and columns * rows <= 256
