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


def snntorch_net(neuron: str, reset: str, bias: bool = False):
    """An snnTorch 1.0.0 network: Conv2d(1->4, 5x5) -> AvgPool2d(2) -> neurons -> Flatten ->
    Linear(64->10) -> neurons, on 12x12 inputs, thresholds 1, ``reset_mechanism`` ``reset``,
    ``Leaky`` or ``Synaptic`` neurons, biases in both linear layers or none."""
    import pytest

    snn = pytest.importorskip("snntorch")
    import torch

    torch.manual_seed(0)

    def neurons(shape, beta, alpha, output=False):
        common = dict(beta=torch.full(shape, beta), threshold=torch.full(shape, 1.0),
                      reset_mechanism=reset, init_hidden=True, output=output)
        if neuron == "Synaptic":
            return snn.Synaptic(alpha=torch.full(shape, alpha), **common)
        return snn.Leaky(**common)

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 5, bias=bias), torch.nn.AvgPool2d((2, 2)),
        neurons((4, 4, 4), 0.9, 0.7), torch.nn.Flatten(), torch.nn.Linear(64, 10, bias=bias),
        neurons((10,), 0.8, 0.6, output=True))
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[4].weight.mul_(3.0)
    return net


SNNTORCH_LAGS = {"Leaky": (1, 2), "Synaptic": (2, 4)}  # steps NEST is later, per layer


def snntorch_counts(net, images: np.ndarray, steps: int, seed: int, lags) -> list:
    """snnTorch's spike counts of both neuron layers of :func:`snntorch_net` on the Bernoulli
    input spikes the toolkit draws for ``images`` (seed ``seed``), step ``s``'s spikes at
    snnTorch's time step ``s - 1``, over the first ``steps - lag`` steps of each layer: NEST
    and the torch simulator deliver every spike one step later (their minimum delay), and a
    current cell's membrane takes its input a step later still (:data:`SNNTORCH_LAGS`)."""
    import torch
    from snntorch import utils

    from lifresponse.networks.encoding import Presentation, bernoulli_inputs

    n = len(images)
    inputs = bernoulli_inputs(images.reshape(n, -1).astype(float),
                              Presentation(steps * 0.1, 0.0, 0.1), 0, seed)
    x = np.zeros((steps, n, images[0].size), np.float32)
    x[inputs.step - 1, inputs.image, inputs.neuron] = 1
    utils.reset(net)
    hidden, output = [], []
    with torch.no_grad():
        for t in range(steps):
            spikes = net[2](net[1](net[0](torch.as_tensor(x[t]).view(n, 1, *images.shape[1:]))))
            hidden.append(spikes.flatten(1).numpy())
            output.append(net[5](net[4](net[3](spikes)))[0].numpy())
    return [np.sum(s[:steps - lag], axis=0) for s, lag in zip((hidden, output), lags,
                                                              strict=True)]


def v2_digits(rng, n=5):
    """``n`` random 3 x 9 x 9 images for the every-feature network of ``test_nir``."""
    return Digits(rng.uniform(0, 1, (n, 3, 9, 9)).astype(np.float32), np.arange(n) % 3,
                  "random")


def on_nest_and_torch(network, digits, window=30.0, seed=2):
    """``network`` deployed on NEST (blocks of 2 images) and on the torch simulator (batches
    of 3), every layer recorded, 1 thread each: (NEST's run, torch's run)."""
    from lifresponse.deployment import DeployConfig, deploy

    config = dict(window=window, record="all", threads=1, seed=seed)
    return (deploy(network, digits, DeployConfig(block=2, **config), progress=False),
            deploy(network, digits, DeployConfig(backend="torch", batch=3, **config),
                   progress=False))


def without_step_kernel(monkeypatch):
    """Switch the CPU step loop off for the rest of the test: the torch backend then runs the
    torch operations (what a GPU runs), logging why."""
    from lifresponse.backends.torch import step_kernel

    def unavailable(*_):
        raise step_kernel.KernelUnavailableError("switched off by the test")

    monkeypatch.setattr(step_kernel, "CompiledNetwork", unavailable)
