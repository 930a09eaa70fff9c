"""Layers of artificial spiking neurons (eq. 12-15) and the network they form.

Every layer computes, for inputs ``x = rate * tau_syn`` (dimensionless, >= 0):

* ``net = W * x``, the mean input current (nA), by convolution, pooling or a dense product;
* ``sigma = sqrt((0.5 W^2) * x)``, its standard deviation (nA), the same operation with the
  squared weights halved (only for Noisy Softplus, the only activation that uses it);
* ``y = f(net, sigma) * S * tau_syn``, the output rate times ``tau_syn`` (eq. 14).

``sigma`` enters ``f`` without a gradient (``detach``): as in the authors' training, ``dy/dnet``
is eq. 15 alone. Networks trained here have no biases unless asked (``TrainSettings.bias``); a
network file's biases (nA, a constant current, the neurons' ``i_offset`` in the SNN) add to
``net`` and are fine-tuned with the weights. Average pooling is a layer of
spiking neurons whose synapses all have the fixed weight ``1/p^2`` nA (0.25 for 2x2, as the
authors' SNN), not trained; a file's other pooling windows (overlapping, padded, sum pooling)
keep their fixed weights too.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lifresponse.activations import ActivationSettings, get_activation
from lifresponse.cells import CellParams
from lifresponse.errors import ParameterError
from lifresponse.networks.architecture import parse_architecture
from lifresponse.networks.network_file import MEASURED, Layer, Network, Projection
from lifresponse.neuron import LIFParams
from lifresponse.response_surface import ResponseSurface


class SpikingActivation(nn.Module):
    """``y = f(net, sigma) S tau_syn`` (eq. 14) for one activation of the registry
    (:data:`lifresponse.activations.REGISTRY`).

    Parameters
    ----------
    activation : str
        A registry name.
    k, S : float
        Noisy Softplus parameters (dimensionless, Hz/nA); ``S`` also scales ReLU and Softplus.
    tau_syn : float
        Synaptic time constant (ms).
    softplus_sigma : float
        Fixed noise of "softplus" (nA).
    neuron : LIFParams or CellParams
        For "soft-lif", which refuses any but :class:`LIFParams`.
    gamma : float
        Smoothing of "soft-lif" (nA).
    response : ResponseSurface, optional
        The cell's measured rates, for "measured" (and only it).
    timestep : float
        The simulation's step (ms), for "conductance-mean-field".
    cell : str or None
        The neurons' PyNN cell, for "conductance-mean-field" (the shape of its conductances);
        None for a network of several.
    """

    def __init__(self, activation, k, S, tau_syn, softplus_sigma=0.45, neuron=LIFParams(),
                 gamma=0.01, response: ResponseSurface | None = None, timestep: float = 1.0,
                 cell: str | None = "IF_curr_exp"):
        super().__init__()
        self.entry = get_activation(activation)
        if (activation == MEASURED) != (response is not None):
            raise ParameterError("response", f"a measured response is read by the {MEASURED!r} "
                                 f"activation and only by it (activation {activation!r}, "
                                 f"response {'given' if response is not None else 'none'})")
        if activation == "soft-lif" and not isinstance(neuron, LIFParams):
            raise ParameterError("activation", f"soft-lif is the rate of a LIF membrane; "
                                 f"{neuron.cell} has another (choose another activation)")
        self.activation, self.k, self.S = activation, k, S
        self.tau_s = tau_syn / 1000.0
        self.softplus_sigma, self.neuron, self.gamma = softplus_sigma, neuron, gamma
        self.response = response
        self.settings = ActivationSettings(k, S, tau_syn, softplus_sigma, neuron, gamma,
                                           response, timestep, cell)
        self._output = self.entry.torch_function()

    @property
    def needs_sigma(self) -> bool:
        return self.entry.uses_sigma

    @property
    def by_sign(self) -> bool:
        """Whether it takes the excitatory and inhibitory input apart (stacked)."""
        return self.entry.by_sign

    def forward(self, net: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
        return self._output(net, None if sigma is None else sigma.detach(), self.settings)


class SpikingLayer(nn.Module):
    """One layer: its linear operation on ``x`` and on ``0.5 W^2``, then the activation.

    ``stride``, ``padding`` and ``window`` (the fixed pooling weights, (kh, kw)) are those of
    a network file's layer (:class:`lifresponse.networks.network_file.Layer`); by default
    stride 1 for conv, non-overlapping ``size x size`` average pooling, no padding. ``source``
    is what it reads: -1 the input, else a layer's index. ``weight_scale`` multiplies the
    initial weights, and a pooling layer's window (``TrainSettings.unit_gain_init``).
    """

    def __init__(self, kind: str, in_shape, out_shape, size: int, activation: SpikingActivation,
                 generator: torch.Generator, positive_init: bool = False, stride=None,
                 padding=(0, 0), window=None, source: int = -1, weight_scale: float = 1.0):
        super().__init__()
        self.kind, self.in_shape, self.out_shape, self.size = kind, in_shape, out_shape, size
        self.source = source  # what it reads: -1 the input, else a layer's index
        self.activation = activation
        self.stride = tuple(stride) if stride is not None else (
            (size, size) if kind == "pool" else (1, 1))
        self.padding = tuple(padding)
        self.bias = None
        if kind == "conv":
            self.fan_in = in_shape[0] * size * size
            shape = (out_shape[0], in_shape[0], size, size)
        elif kind == "dense":
            self.fan_in = int(np.prod(in_shape))
            shape = (self.fan_in, out_shape[0])
        else:
            self.fan_in = size * size
            self.register_buffer("pool_weight", torch.tensor(weight_scale / (size * size)))
            self.window = None if window is None else torch.as_tensor(window, dtype=torch.float32)
            if self.window is not None and _plain_average(self.window, self.stride, padding):
                self.pool_weight.fill_(float(self.window.flatten()[0]))
                self.window = None
            return
        fan_in = self.fan_in
        # Inputs are rates, never negative, so zero-mean weights leave about half the units
        # silent for every input, and a silent ReLU unit never recovers. Weights start at mean
        # 1/fan_in (a layer passes its mean input on) with a uniform spread of std
        # 1/sqrt(fan_in); the output layer starts uniform in [0, 2/fan_in], so that no class
        # starts (and stays) silent.
        half_width = 1.0 / fan_in if positive_init else float(np.sqrt(3.0 / fan_in))
        self.weight = nn.Parameter(
            ((torch.rand(shape, generator=generator) * 2 - 1) * half_width + 1.0 / fan_in)
            * weight_scale)

    def moments(self, x: torch.Tensor, with_sigma: bool):
        """``net`` (nA) and ``sigma`` (nA, or None) of eq. 12-13; for an activation that takes
        the excitatory and inhibitory input apart (``by_sign``), each stacked (excitatory,
        inhibitory) on a new first axis, as magnitudes (a layer without a bias: the
        conductance cells take none)."""
        if not self.activation.by_sign:
            return self._moments(x, with_sigma, None if self.kind == "pool" else self.weight)
        if self.kind == "pool":  # fixed, positive windows: nothing inhibitory
            parts = [self._moments(x, with_sigma)]
            parts.append(tuple(None if p is None else torch.zeros_like(p) for p in parts[0]))
        else:
            parts = [self._moments(x, with_sigma, w)
                     for w in (self.weight.clamp_min(0.0), (-self.weight).clamp_min(0.0))]
        return torch.stack([parts[0][0], parts[1][0]]), (
            torch.stack([parts[0][1], parts[1][1]]) if with_sigma else None)

    def _moments(self, x: torch.Tensor, with_sigma: bool, weight: torch.Tensor | None = None):
        """:meth:`moments` of one set of weights (a pooling layer's are its own)."""
        if self.kind == "conv":
            net = F.conv2d(x, weight, self.bias, self.stride, self.padding)
            var = F.conv2d(x, 0.5 * weight**2, None, self.stride, self.padding) \
                if with_sigma else None
        elif self.kind == "dense":
            flat = x.flatten(1)
            net = flat @ weight
            if self.bias is not None:
                net = net + self.bias
            var = flat @ (0.5 * weight**2) if with_sigma else None
        elif self.window is None:
            window_sum = F.avg_pool2d(x, self.size) * (self.size * self.size)
            net = self.pool_weight * window_sum
            var = 0.5 * self.pool_weight**2 * window_sum if with_sigma else None
        else:
            net = self._pool(x, self.window)
            var = self._pool(x, 0.5 * self.window**2) if with_sigma else None
        sigma = torch.sqrt(var.clamp_min(0.0)) if var is not None else None
        return net, sigma

    def _pool(self, x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        kernel = window.to(x.dtype).expand(channels, 1, *window.shape)
        return F.conv2d(x, kernel, None, self.stride, self.padding, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net, sigma = self.moments(x, self.activation.needs_sigma)
        return self.activation(net, sigma)


class SpikingNetwork(nn.Module):
    """A stack of :class:`SpikingLayer` built from an architecture string, or from a network
    file's ``layers`` (then the architecture string is only a name). ``bias``: the convolution
    and dense layers of an architecture string get biases (nA, a constant current; start at 0).

    Input: pixels in [0, 1], shape (batch, 1, 28, 28); they become ``x = p * input_rate *
    tau_syn``. Output: ``y`` of the last layer (batch, n_classes), i.e. rate * tau_syn.
    """

    def __init__(self, architecture: str, activation: SpikingActivation, seed: int = 0,
                 input_rate: float = 100.0, input_shape=(1, 28, 28), layers=None,
                 weight_scale: float = 1.0, bias: bool = False):
        super().__init__()
        self.architecture, self.input_rate = architecture, input_rate
        generator = torch.Generator().manual_seed(seed)
        if layers is None:
            specs = parse_architecture(architecture, input_shape)
            self.layers = nn.ModuleList(
                SpikingLayer(spec.kind, spec.in_shape, spec.out_shape, spec.size, activation,
                             generator, positive_init=i == len(specs) - 1, source=i - 1,
                             padding=(spec.padding, spec.padding), weight_scale=weight_scale)
                for i, spec in enumerate(specs))
            for layer in self.layers:
                if bias and layer.kind != "pool":
                    layer.bias = nn.Parameter(torch.zeros(layer.out_shape[0]))
        else:  # a network file's layers, whatever its architecture string says
            self.layers = nn.ModuleList(
                _linear(layer, activation, generator, i - 1 if layer.source is None
                        else layer.source) for i, layer in enumerate(layers))
        # a graph (network file format 3): each layer's merges, with their own sources
        self.merges = nn.ModuleList(nn.ModuleList(
            _linear(m, activation, generator, m.source) for m in (() if layers is None else
                                                                   layers[i].merges))
            for i in range(len(self.layers)))
        self.activation = activation
        self.training_noise = 0.0  # std of Gaussian noise added to rates in training (Hz)
        self.count_window = 0.0  # window (ms) whose spike-count noise training adds; 0: none

    def set_activation(self, activation: SpikingActivation) -> None:
        """Use ``activation`` in every layer (fine tuning switches to Noisy Softplus)."""
        self.activation = activation
        for layer in self.layers:
            layer.activation = activation

    def forward(self, pixels: torch.Tensor, return_all: bool = False):
        values = {-1: self._count_noise(pixels * (self.input_rate * self.activation.tau_s))}
        for i, layer in enumerate(self.layers):
            source = values[layer.source]
            y = self._merged(i, source, values) if self.merges[i] else layer(source)
            if self.training and self.training_noise > 0:
                noise = torch.randn_like(y) * (self.training_noise * self.activation.tau_s)
                y = torch.where(y > 0, y + noise, y)
            values[i] = self._count_noise(y)
        outputs = [values[i] for i in range(len(self.layers))]
        return outputs if return_all else outputs[-1]

    def _merged(self, index: int, source: torch.Tensor, values: dict) -> torch.Tensor:
        """Layer ``index``'s output with its merges: the mean currents of all its projections
        add, and so do their variances."""
        with_sigma = self.activation.needs_sigma
        net, sigma = self.layers[index].moments(source, with_sigma)
        variance = sigma**2 if with_sigma else None
        for merge in self.merges[index]:
            more, more_sigma = merge.moments(values[merge.source], with_sigma)
            net = net + more
            if with_sigma:
                variance = variance + more_sigma**2
        return self.activation(net, None if variance is None else torch.sqrt(variance))

    def _count_noise(self, y: torch.Tensor) -> torch.Tensor:
        """In training with ``count_window`` T > 0: ``y`` (rate * tau_syn) read as the spikes a
        Poisson neuron of that rate fires in T, divided by T: ``y + sqrt(y tau_syn / T) *
        N(0, 1)``, kept >= 0 (the Gaussian approximation of the count; the gradient passes
        through the mean only). The inputs are such Poisson trains; a LIF layer's count usually
        varies less (its refractoriness), so there this is more noise than an SNN read after T
        sees."""
        if not (self.training and self.count_window > 0):
            return y
        std = torch.sqrt(y.detach().clamp_min(0.0) * (self.activation.tau_s * 1000.0
                                                       / self.count_window))
        return (y + std * torch.randn_like(y)).clamp_min(0.0)

    def to_network(self, neuron: LIFParams | CellParams, timestep: float, provenance: dict,
                   cell: str = "IF_curr_exp") -> Network:
        """The network file content: layers of ``cell`` neurons with weights in nA, and the
        activation's settings."""
        layers = []
        for i, layer in enumerate(self.layers):
            bias = None if layer.bias is None else layer.bias.detach().cpu().double().numpy()
            merges = tuple(Projection(m.source, m.kind, m.in_shape, m.out_shape, _weight(m),
                                      m.stride, m.padding) for m in self.merges[i])
            layers.append(Layer(layer.kind, tuple(layer.in_shape), tuple(layer.out_shape),
                                _weight(layer), layer.stride, layer.padding, bias, cell,
                                source=None if layer.source == i - 1 else layer.source,
                                merges=merges))
        a = self.activation
        return Network(self.architecture, layers, a.activation, a.k, a.S, a.tau_s * 1000.0,
                       neuron, timestep, self.input_rate, a.softplus_sigma, a.gamma,
                       provenance, response=a.response)

    @classmethod
    def from_network(cls, network: Network) -> SpikingNetwork:
        """Rebuild the torch model of a network file (weights and biases copied).

        Raises
        ------
        ParameterError
            For a network without an ANN model (imported from NIR) or with other neurons than
            ``IF_curr_exp``.
        """
        network.require_ann_model("the ANN (evaluate-ann, finetune)")
        activation = SpikingActivation(network.activation, network.k, network.S,
                                       network.tau_syn, network.softplus_sigma, network.neuron,
                                       network.soft_lif_gamma, network.response,
                                       network.timestep, network.shared_cell)
        model = cls(network.architecture, activation, input_rate=network.input_rate,
                    input_shape=network.input_shape, layers=network.layers)
        for layer, merges, stored in zip(model.layers, model.merges, network.layers,
                                         strict=True):
            for linear, projection in zip([layer, *merges], [stored, *stored.merges],
                                          strict=True):
                if linear.kind != "pool":
                    linear.weight.data = torch.as_tensor(projection.weight,
                                                         dtype=torch.float32).clone()
            if stored.bias is not None:
                layer.bias = nn.Parameter(torch.as_tensor(stored.bias, dtype=torch.float32))
        return model


def _linear(layer, activation: SpikingActivation, generator: torch.Generator,
            source: int) -> SpikingLayer:
    """The :class:`SpikingLayer` of a network file's layer or projection reading ``source``
    (weights copied by :meth:`SpikingNetwork.from_network`)."""
    return SpikingLayer(layer.kind, layer.in_shape, layer.out_shape, np.shape(layer.weight)[-1],
                        activation, generator, stride=layer.stride, padding=layer.padding,
                        window=layer.weight if layer.kind == "pool" else None, source=source)


def _weight(layer: SpikingLayer) -> np.ndarray:
    """A layer's weights for the network file (a pooling layer's fixed window)."""
    if layer.kind == "pool":
        return (layer.window.double().numpy() if layer.window is not None
                else np.full((layer.size, layer.size), float(layer.pool_weight)))
    return layer.weight.detach().cpu().double().numpy()


def _plain_average(window: torch.Tensor, stride, padding) -> bool:
    """Whether a pooling window is the plain kind: square, equal weights, non-overlapping."""
    p = window.shape[0]
    return (tuple(window.shape) == (p, p) and bool((window == window.flatten()[0]).all())
            and tuple(stride) == (p, p) and tuple(padding) == (0, 0))
