"""The ``network.h5`` file: a trained network whose weights ARE synaptic weights in nA.

One reader and one writer for training (which exports) and deployment (which builds PyNN
networks from it). Layout (HDF5)::

    attrs   format="lifresponse.network", version=1, architecture, activation, k, S,
            tau_syn_ms, softplus_sigma, soft_lif_gamma, timestep_ms, input_rate_hz,
            input_shape, neuron (JSON), provenance (JSON), lifresponse_version
    layers/<i>/  attrs kind ("conv" | "pool" | "dense"), in_shape, out_shape, stride
                 weight   conv: (out_channels, in_channels, k, k); pool: (p, p), the weight of
                          each input of a window (1/p^2 nA: 0.25 for 2x2); dense: (n_in, n_out)

Shapes are (channels, height, width) for maps and (n,) for dense layers; conv layers use no
padding and stride 1, pooling windows do not overlap (stride = p). No biases anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import lifresponse
from lifresponse.errors import FileFormatError
from lifresponse.hdf5 import open_checked, plain
from lifresponse.neuron import LIFParams

FORMAT = "lifresponse.network"
VERSION = 1
KINDS = ("conv", "pool", "dense")


@dataclass
class Layer:
    """One layer of spiking neurons.

    Attributes
    ----------
    kind : {"conv", "pool", "dense"}
    in_shape, out_shape : tuple of int
        (channels, height, width) for maps, (n,) for dense.
    weight : numpy.ndarray
        Synaptic weights (nA); shape as in the module docstring.
    stride : int
        1 for conv, the window size for pool, 1 for dense.
    """

    kind: str
    in_shape: tuple
    out_shape: tuple
    weight: np.ndarray
    stride: int = 1

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))


@dataclass
class Network:
    """A trained network of artificial spiking neurons (SCIENCE.md section 5).

    Attributes
    ----------
    architecture : str
        Spec string, e.g. "6c5-2s-12c5-2s-10fc".
    layers : list of Layer
    activation : str
        "noisy-softplus", "relu", "softplus" or "soft-lif".
    k, S : float
        Noisy Softplus parameters (dimensionless, Hz/nA).
    tau_syn : float
        Synaptic time constant (ms).
    neuron : LIFParams
    timestep : float
        Simulation step the calibration used and the SNN should run at (ms).
    input_rate : float
        Poisson rate of a pixel of value 1 (Hz).
    softplus_sigma : float
        Fixed noise of the "softplus" activation (nA).
    soft_lif_gamma : float
        Smoothing of the "soft-lif" activation (nA).
    provenance : dict
        Training data, epochs, seed, validation accuracy, calibration source, ...
    """

    architecture: str
    layers: list[Layer]
    activation: str
    k: float
    S: float
    tau_syn: float
    neuron: LIFParams = field(default_factory=LIFParams)
    timestep: float = 1.0
    input_rate: float = 100.0
    softplus_sigma: float = 0.45
    soft_lif_gamma: float = 0.01
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple:
        return self.layers[0].in_shape


def write(network: Network, path) -> None:
    """Write ``network`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    _check(network, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs.update({
            "format": FORMAT, "version": VERSION, "architecture": network.architecture,
            "activation": network.activation, "k": network.k, "S": network.S,
            "tau_syn_ms": network.tau_syn, "timestep_ms": network.timestep,
            "input_rate_hz": network.input_rate, "softplus_sigma": network.softplus_sigma,
            "soft_lif_gamma": network.soft_lif_gamma, "input_shape": list(network.input_shape),
            "neuron": json.dumps(network.neuron.to_dict()),
            "provenance": json.dumps(network.provenance),
            "lifresponse_version": lifresponse.__version__,
        })
        group = f.create_group("layers")
        for i, layer in enumerate(network.layers):
            g = group.create_group(str(i))
            g.attrs.update({"kind": layer.kind, "in_shape": list(layer.in_shape),
                            "out_shape": list(layer.out_shape), "stride": layer.stride})
            g["weight"] = np.asarray(layer.weight, dtype=np.float64)
    os.replace(tmp, path)


def read(path) -> Network:
    """Read and validate a network file.

    Raises
    ------
    FileFormatError
        Missing, foreign, newer, truncated or inconsistent files (NaN/inf weights, shapes that
        do not chain); the message names the file and the problem.
    """
    path = Path(path)
    with open_checked(path, FORMAT, VERSION, "network") as (f, a):
        if "layers" not in f:
            raise FileFormatError(f"{path}: missing layers")
        layers = []
        for i in range(len(f["layers"])):
            g = f["layers"][str(i)]
            layers.append(Layer(plain(g.attrs["kind"]), tuple(int(n) for n in g.attrs[
                "in_shape"]), tuple(int(n) for n in g.attrs["out_shape"]), g["weight"][()],
                int(g.attrs["stride"])))
        network = Network(
            architecture=a["architecture"], layers=layers, activation=a["activation"],
            k=float(a["k"]), S=float(a["S"]), tau_syn=float(a["tau_syn_ms"]),
            neuron=LIFParams.from_dict(json.loads(a["neuron"])),
            timestep=float(a["timestep_ms"]), input_rate=float(a["input_rate_hz"]),
            softplus_sigma=float(a["softplus_sigma"]),
            soft_lif_gamma=float(a["soft_lif_gamma"]),
            provenance=json.loads(a["provenance"]))
    _check(network, str(path))
    return network


def _check(network: Network, where: str) -> None:
    """Shapes chain, kinds are known, weights are finite and of the right shape."""
    if not network.layers:
        raise FileFormatError(f"{where}: the network has no layers")
    previous = network.layers[0].in_shape
    for i, layer in enumerate(network.layers):
        name = f"{where}: layer {i} ({layer.kind})"
        if layer.kind not in KINDS:
            raise FileFormatError(f"{name}: unknown kind; known are {', '.join(KINDS)}")
        if tuple(layer.in_shape) != tuple(previous):
            raise FileFormatError(f"{name}: input shape {layer.in_shape} does not match the "
                                  f"previous layer's output {previous}")
        if not np.all(np.isfinite(layer.weight)):
            raise FileFormatError(f"{name}: weights contain NaN or inf")
        expected = _expected_out_shape(layer)
        if expected != tuple(layer.out_shape):
            raise FileFormatError(f"{name}: weight shape {layer.weight.shape} and input "
                                  f"{layer.in_shape} give output {expected}, not "
                                  f"{layer.out_shape}")
        previous = layer.out_shape


def _expected_out_shape(layer: Layer):
    w = np.asarray(layer.weight)
    if layer.kind == "conv":
        c, h, width = layer.in_shape
        if w.ndim != 4 or w.shape[1] != c:
            return ("weight", w.shape)
        return (w.shape[0], h - w.shape[2] + 1, width - w.shape[3] + 1)
    if layer.kind == "pool":
        c, h, width = layer.in_shape
        p = layer.stride
        if w.shape != (p, p) or h % p or width % p:
            return ("weight", w.shape)
        return (c, h // p, width // p)
    n_in = int(np.prod(layer.in_shape))
    if w.ndim != 2 or w.shape[0] != n_in:
        return ("weight", w.shape)
    return (w.shape[1],)

