"""Small networks, images and run comparisons shared by the deployment tests."""

import numpy as np

from lifresponse.datasets import Digits
from lifresponse.networks.network_file import Layer, Network, Projection
from lifresponse.neuron import LIFParams


def conv_network(rng, neuron=LIFParams(), timestep=1.0):
    """10x10 input -> 3 maps 3x3 (both signs) -> 2x2 pooling -> 10 dense (both signs)."""
    layers = [Layer("conv", (1, 10, 10), (3, 8, 8), rng.normal(0.05, 0.4, (3, 1, 3, 3))),
              Layer("pool", (3, 8, 8), (3, 4, 4), np.full((2, 2), 0.25), 2),
              Layer("dense", (3, 4, 4), (10,), rng.normal(0.05, 0.3, (48, 10)))]
    return Network("3c3-2s-10fc", layers, "noisy-softplus", 0.33, 186.0, neuron.tau_syn_E,
                   neuron, timestep)


def random_digits(rng, n=7):
    return Digits(rng.uniform(0, 1, (n, 10, 10)).astype(np.float32), np.arange(n) % 10,
                  "random")


def assert_same_run(a, b):
    assert sorted(a.layer_counts) == sorted(b.layer_counts)
    for i in a.layer_counts:
        np.testing.assert_array_equal(a.layer_counts[i], b.layer_counts[i], err_msg=f"layer {i}")
    np.testing.assert_array_equal(a.input_counts, b.input_counts)
    np.testing.assert_array_equal(a.output_counts_by_time, b.output_counts_by_time)
    for i in a.events_by_time:
        np.testing.assert_array_equal(a.events_by_time[i], b.events_by_time[i])


def residual_network(rng, neuron=LIFParams(), timestep=1.0):
    """A residual block: 10x10 input -> conv 4 maps 3x3 padded (layer 0) -> conv 4 maps 3x3
    padded (layer 1) -> layer 2 receives a conv from layer 1 and the identity of layer 0 (a
    merge) -> 2x2 pooling -> 10 dense, which also receives layer 0 pooled by a strided conv."""
    conv = dict(padding=1)
    identity = np.zeros((4, 4, 1, 1))
    identity[np.arange(4), np.arange(4)] = 0.6
    layers = [
        Layer("conv", (1, 10, 10), (4, 10, 10), rng.normal(0.1, 0.4, (4, 1, 3, 3)), **conv),
        Layer("conv", (4, 10, 10), (4, 10, 10), rng.normal(0.02, 0.2, (4, 4, 3, 3)), **conv),
        Layer("conv", (4, 10, 10), (4, 10, 10), rng.normal(0.02, 0.2, (4, 4, 3, 3)), **conv,
              merges=(Projection(0, "conv", (4, 10, 10), (4, 10, 10), identity),)),
        Layer("pool", (4, 10, 10), (4, 5, 5), np.full((2, 2), 0.25), 2),
        Layer("dense", (4, 5, 5), (10,), rng.normal(0.05, 0.3, (100, 10)),
              merges=(Projection(0, "dense", (4, 10, 10), (10,),
                                 rng.normal(0.0, 0.05, (400, 10))),))]
    return Network("residual test block", layers, "noisy-softplus", 0.33, 186.0,
                   neuron.tau_syn_E, neuron, timestep)
