"""The ``network.h5`` file: a trained network whose weights ARE synaptic weights.

One reader and one writer for training and NIR import (which write) and deployment (which
builds networks from it). Layout (HDF5), format version 4::

    attrs   format="lifresponse.network", version=4, architecture, activation, [k, S],
            tau_syn_ms, softplus_sigma, soft_lif_gamma, timestep_ms, input_rate_hz,
            input_encoding, input_shape, neuron (JSON), provenance (JSON), lifresponse_version
    layers/<i>/  attrs kind ("conv" | "pool" | "dense"), in_shape, out_shape, stride, padding,
                       cell ("IF_curr_exp" | "IF_curr_alpha" | "IF_curr_delta" |
                             "IF_cond_exp" | "IF_cond_alpha" | "EIF_cond_exp_isfa_ista" |
                             "EIF_cond_alpha_isfa_ista" | "Izhikevich"),
                       source (-1: the input, or an earlier layer's index), [neuron (JSON)],
                       [reset ("v_reset" | "subtract")], [bias_onset (step)]
                 weight   conv: (out_channels, in_channels, kh, kw); pool: (ph, pw), the weight
                          of each input of a window (1/(ph pw) for average pooling, 1 for sum
                          pooling); dense: (n_in, n_out)
                 [bias]   conv: (out_channels,); dense: (n_out,)
                 [merges/<j>/]  attrs source, kind, in_shape, stride, padding; weight
                          further projections into the same neurons (a residual ``Add``)
    [response/]  attrs source; means, stds (grid axes), rates (len(means), len(stds)), Hz:
                 the measured response the "measured" activation reads, and only it

Shapes are (channels, height, width) for maps and (n,) for dense layers; neurons are numbered in
C order of their layer's shape. ``stride`` and ``padding`` are (rows, columns); padding adds that
many zero inputs on each side, as torch's ``conv2d`` and ``avg_pool2d`` (with
``count_include_pad``) do. Weights are in nA into ``IF_curr_exp`` neurons (exponential
synaptic currents) and ``IF_curr_alpha`` neurons (alpha-shaped currents of peak ``w``), and in
mV into ``IF_curr_delta`` and ``Izhikevich`` neurons (a jump of the membrane), and in uS into
the conductance cells ``IF_cond_exp``, ``IF_cond_alpha`` and the adaptive exponential
``EIF_cond_exp_isfa_ista``, ``EIF_cond_alpha_isfa_ista`` (exponential or alpha-shaped synaptic
conductances, a negative weight an inhibitory one of that size; its neuron, the layer's or the
network's, has reversal potentials). The neuron JSON holds :class:`LIFParams`' fields for the
``IF_`` cells and the cell's own PyNN parameters for the ``EIF_`` cells and ``Izhikevich``.
A bias
(nA) is a constant current: every neuron of the layer gets its neuron's ``i_offset`` plus its
bias. A layer without ``neuron`` uses the network's. ``activation`` is ``"none"`` and ``k``,
``S`` are absent for a network that was not trained here as an ANN (imported from NIR): it
deploys, but has no ANN model to evaluate, predict or fine-tune.

A network is a graph: each layer's neurons receive the synapses of its own ``kind`` from its
``source``, and, if it has ``merges``, the synapses of each merge from that merge's source, all
summed into the same input currents (a residual block's ``Add`` is two projections into one
population). Sources come before the layers they feed, so the layers are in an order in which
they can be computed, and the last layer is the output.

After a spike a neuron's membrane is set to ``v_reset`` (``reset="v_reset"``, PyNN's cells and
NEST's built-in models), or loses ``v_thresh - v_reset`` and keeps what it had above threshold
(``reset="subtract"``, the default neuron of snnTorch and sinabs; NEST runs it as a NESTML
model, :mod:`lifresponse.backends.nest.subtract_reset`).

A bias is a constant current added to each neuron's ``i_offset`` (nA), or, with
``bias_onset``, a synaptic input: the bias arrives in every step of a presentation from step
``bias_onset`` on (steps numbered from 0 in the window; the layer's weight units, nA or mV),
as the bias of a discrete-time framework's layer is added to its synaptic input every step
(NIR import, docs/nir.md).

Version 3 files (every layer resets to ``v_reset``), version 2 files (every layer fed by the
one before), and version 1 files (no stride for
conv, pooling windows that do not overlap, no padding, no bias, one neuron for all layers,
Poisson inputs), read as the same network in version 4.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import lifresponse
from lifresponse.activations import REGISTRY
from lifresponse.cells import (
    ANN_CELLS,
    CONDUCTANCE_CELLS,
    NON_LIF_CELLS,
    CellParams,
    bias_refusal,
)
from lifresponse.conductance_mean_field import CONDUCTANCE_SHAPES
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.hdf5 import checked_attrs, open_checked, plain
from lifresponse.networks.architecture import parse_architecture
from lifresponse.neuron import LIFParams
from lifresponse.paths import hdf5_file
from lifresponse.propagators import Propagators
from lifresponse.response_surface import ResponseSurface

FORMAT = "lifresponse.network"
_SCHEMA = {"provenance": "json-dict", "architecture": "text", "activation": "text"}  # numbers:
# check()
VERSION = 4
KINDS = ("conv", "pool", "dense")
CELLS = ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", *CONDUCTANCE_CELLS, "Izhikevich")
RESETS = ("v_reset", "subtract")
ENCODINGS = ("poisson", "bernoulli")
NO_ANN_MODEL = "none"
MEASURED = "measured"  # the activation that reads Network.response


def _pair(value) -> tuple[int, int]:
    """``s`` or ``(rows, columns)`` as a (rows, columns) pair of ints."""
    values = np.atleast_1d(np.asarray(value, dtype=np.int64)).tolist()
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _tidy(synapses) -> None:
    """Shapes as tuples of ints, stride and padding as (rows, columns), of a
    :class:`Projection` or :class:`Layer`."""
    synapses.in_shape = tuple(int(n) for n in synapses.in_shape)
    synapses.out_shape = tuple(int(n) for n in synapses.out_shape)
    synapses.stride, synapses.padding = _pair(synapses.stride), _pair(synapses.padding)


@dataclass
class Projection:
    """Synapses of one kind from one source into a layer's neurons.

    Attributes
    ----------
    source : int
        -1 for the input, else the index of the (earlier) layer whose neurons send them.
    kind, in_shape, out_shape, weight, stride, padding
        As :class:`Layer`'s; ``in_shape`` is the source's shape, ``out_shape`` the target's.
    """

    source: int
    kind: str
    in_shape: tuple
    out_shape: tuple
    weight: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)

    def __post_init__(self) -> None:
        _tidy(self)

    @property
    def n_out(self) -> int:
        """Neurons the synapses go into (a layer's: its neurons)."""
        return int(np.prod(self.out_shape))


@dataclass
class Layer:
    """One layer of spiking neurons and the synapses into it: those of its own ``kind`` from
    its ``source``, and those of its ``merges``.

    Attributes
    ----------
    kind : {"conv", "pool", "dense"}
    in_shape, out_shape : tuple of int
        (channels, height, width) for maps, (n,) for dense.
    weight : numpy.ndarray
        Synaptic weights (nA into ``IF_curr_exp`` and ``IF_curr_alpha``, mV into
        ``IF_curr_delta``, uS into ``IF_cond_exp`` and ``IF_cond_alpha``); shapes as in the
        module docstring.
    stride : (int, int)
        Steps of the kernel or window (rows, columns); an int means both.
    padding : (int, int)
        Zero inputs added on each side (rows, columns).
    bias : numpy.ndarray or None
        Per output channel (conv) or neuron (dense): a constant current (nA), or, with
        ``bias_onset``, a synaptic input every step (the layer's weight units).
    cell : str
        One of :data:`CELLS`.
    neuron : LIFParams or CellParams or None
        This layer's neuron parameters (:class:`CellParams` for the ``EIF_`` cells and
        ``Izhikevich``); None for the network's.
    source : int or None
        -1 for the input, else the index of an earlier layer; None: the layer before (the
        input for the first layer).
    merges : tuple of Projection
        Further synapses into the same neurons, from other sources.
    reset : {"v_reset", "subtract"}
        After a spike the membrane is set to ``v_reset``, or ``v_thresh - v_reset`` is
        subtracted from it (module docstring).
    bias_onset : int or None
        None: the bias is a current (nA) added to ``i_offset``; a step (>= 1): the bias is a
        synaptic input that arrives in every step of the window from that step on, in the
        layer's weight units (module docstring).
    """

    kind: str
    in_shape: tuple
    out_shape: tuple
    weight: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    bias: np.ndarray | None = None
    cell: str = "IF_curr_exp"
    neuron: LIFParams | CellParams | None = None
    source: int | None = None
    merges: tuple = ()
    reset: str = "v_reset"
    bias_onset: int | None = None

    def __post_init__(self) -> None:
        _tidy(self)
        self.merges = tuple(self.merges)

    n_out = Projection.n_out  # the same property

    def offset_per_neuron(self) -> np.ndarray:
        """What the bias adds to every neuron's ``i_offset`` (nA): the bias, or zeros when it
        arrives as synaptic input (``bias_onset``)."""
        return np.zeros(self.n_out) if self.bias_onset is not None else self.bias_per_neuron()

    def arriving_bias(self) -> tuple[np.ndarray, np.ndarray]:
        """A bias that arrives as synaptic input (``bias_onset``), per neuron, in the layer's
        weight units, as (excitatory, inhibitory) input: by sign, but all in the one input of an
        ``IF_curr_delta`` layer."""
        bias = self.bias_per_neuron()
        if self.cell == "IF_curr_delta":
            return bias, np.zeros_like(bias)
        return np.maximum(bias, 0.0), np.minimum(bias, 0.0)

    def bias_per_neuron(self) -> np.ndarray:
        """The bias of every neuron of the layer, in neuron order, nA (zeros without bias)."""
        if self.bias is None:
            return np.zeros(self.n_out)
        bias = np.asarray(self.bias, dtype=float)
        if self.kind == "conv":
            return np.repeat(bias, self.n_out // len(bias))
        return bias


@dataclass
class Network:
    """A trained network of spiking neurons (docs/science.md section 5).

    Attributes
    ----------
    architecture : str
        Spec string, e.g. "6c5-2s-12c5-2s-10fc", or a description of an imported graph.
    layers : list of Layer
    activation : str
        "noisy-softplus", "relu", "softplus" or "soft-lif"; "none" without an ANN model.
    k, S : float or None
        Noisy Softplus parameters (dimensionless, Hz/nA); None without an ANN model.
    tau_syn : float
        Synaptic time constant of the ANN model (ms).
    neuron : LIFParams or CellParams
        Neuron parameters of every layer that has none of its own (:class:`CellParams` for
        the ``EIF_`` cells and ``Izhikevich``).
    timestep : float
        Simulation step the network was made for and runs at (ms).
    input_rate : float
        Poisson rate of a pixel of value 1 (Hz), for ``input_encoding="poisson"``.
    input_encoding : {"poisson", "bernoulli"}
        How pixels become input spikes: a Poisson process of ``pixel * input_rate``, or one
        spike per timestep with probability ``pixel`` (snnTorch's ``spikegen.rate``).
    softplus_sigma : float
        Fixed noise of the "softplus" activation (nA).
    soft_lif_gamma : float
        Smoothing of the "soft-lif" activation (nA).
    provenance : dict
        Training data, epochs, seed, validation accuracy, calibration source, import source ...
    input_encoding : {"poisson", "bernoulli"}
    response : ResponseSurface or None
        The measured rates the "measured" activation reads (group ``response``); None for
        every other activation.
    """

    architecture: str
    layers: list[Layer]
    activation: str
    k: float | None
    S: float | None
    tau_syn: float
    neuron: LIFParams | CellParams = field(default_factory=LIFParams)
    timestep: float = 1.0
    input_rate: float = 100.0
    softplus_sigma: float = 0.45
    soft_lif_gamma: float = 0.01
    provenance: dict[str, Any] = field(default_factory=dict)
    input_encoding: str = "poisson"
    response: ResponseSurface | None = None

    @property
    def input_shape(self) -> tuple:
        return self.layers[0].in_shape

    def projections(self, index: int) -> list[Projection]:
        """The synapses into layer ``index``: its own, then its merges'."""
        layer = self.layers[index]
        source = index - 1 if layer.source is None else layer.source
        return [Projection(source, layer.kind, layer.in_shape, layer.out_shape, layer.weight,
                           layer.stride, layer.padding), *layer.merges]

    @property
    def is_chain(self) -> bool:
        """Whether every layer is fed by the layer before it alone (networks before format 3,
        and every network trained here)."""
        return all(len(self.projections(i)) == 1 and self.projections(i)[0].source == i - 1
                   for i in range(len(self.layers)))

    def require_chain(self, what: str) -> None:
        """Refuse ``what`` for a network with branches or merges."""
        if not self.is_chain:
            raise ParameterError("network", f"{what} takes a chain of layers; this network "
                                 f"({self.architecture}) has branches or merges")

    @property
    def has_ann_model(self) -> bool:
        """Whether the network was trained here as an ANN (has an activation, k and S)."""
        return self.activation != NO_ANN_MODEL

    def neuron_of(self, layer: Layer) -> LIFParams | CellParams:
        """``layer``'s neuron parameters."""
        return layer.neuron if layer.neuron is not None else self.neuron

    def propagators(self, layer: Layer) -> Propagators:
        """The per-step constants with which ``layer``'s neurons are integrated."""
        return Propagators.of(self.neuron_of(layer), self.timestep, layer.cell, layer.reset)

    def with_input_rate(self, input_rate: float) -> Network:
        """This network driven at ``input_rate`` (Hz per unit pixel) with the same mean input
        current: the weights of every projection from the input are scaled by old / new rate.
        The mean current they bring (eq. 12) is unchanged and its variance (eq. 13) is scaled
        by old / new: new / old times as many input spikes, each smaller. Poisson inputs only.
        """
        if self.input_encoding != "poisson":
            raise ParameterError("input_rate", f"the network's input encoding is "
                                 f"{self.input_encoding!r}, which has no rate; only 'poisson' "
                                 "inputs can be rescaled")
        if not (math.isfinite(input_rate) and input_rate > 0):
            raise ParameterError("input_rate", f"must be > 0 Hz (got {input_rate})")
        factor = self.input_rate / input_rate
        layers = []
        for index, layer in enumerate(self.layers):  # every projection from the input
            own, *merges = self.projections(index)
            layers.append(replace(
                layer, weight=layer.weight * factor if own.source == -1 else layer.weight,
                merges=tuple(replace(m, weight=m.weight * factor) if m.source == -1 else m
                             for m in merges)))
        return replace(self, input_rate=float(input_rate), layers=layers)

    def require_ann_model(self, what: str) -> None:
        """Refuse ``what`` (e.g. "fine tuning") for a network without an ANN model."""
        if not self.has_ann_model:
            origin = ("trained on spikes" if self.provenance.get("method") == "spikes" else
                      f"imported from {self.provenance.get('source') or self.architecture}")
            raise ParameterError(
                "network", f"{what} needs an ANN model (activation, k, S), and this network "
                f"has none ({origin}); deploy it instead")
        if any(layer.cell not in ANN_CELLS for layer in self.layers):
            raise ParameterError("network", f"{what} models {' and '.join(ANN_CELLS)} neurons "
                                 "only")

    @property
    def cell(self) -> str:
        """The cell of a network whose layers share one (as every trained network's do)."""
        cells = {layer.cell for layer in self.layers}
        if len(cells) != 1:
            raise ParameterError("network", f"layers of several cells ({', '.join(cells)})")
        return cells.pop()

    @property
    def shared_cell(self) -> str | None:
        """:attr:`cell`, or None where the layers are of several (a network imported so)."""
        cells = {layer.cell for layer in self.layers}
        return cells.pop() if len(cells) == 1 else None


def write(network: Network, path) -> None:
    """Write ``network`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    check(network, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with hdf5_file(path) as f:
        f.attrs.update({
            "format": FORMAT, "version": VERSION, "architecture": network.architecture,
            "activation": network.activation, "tau_syn_ms": network.tau_syn,
            "timestep_ms": network.timestep, "input_rate_hz": network.input_rate,
            "input_encoding": network.input_encoding,
            "softplus_sigma": network.softplus_sigma,
            "soft_lif_gamma": network.soft_lif_gamma, "input_shape": list(network.input_shape),
            "neuron": json.dumps(network.neuron.to_dict()),
            "provenance": json.dumps(network.provenance),
            "lifresponse_version": lifresponse.__version__,
        })
        if network.has_ann_model:
            f.attrs.update({"k": network.k, "S": network.S})
        if network.response is not None:
            surface = f.create_group("response")
            surface.attrs["source"] = network.response.source
            for name in ("means", "stds", "rates"):
                surface[name] = np.asarray(getattr(network.response, name), dtype=np.float64)
        group = f.create_group("layers")
        for i, layer in enumerate(network.layers):
            g = group.create_group(str(i))
            own, *merges = network.projections(i)
            _write_projection(g, own)
            g.attrs.update({"out_shape": list(layer.out_shape), "cell": layer.cell,
                            "reset": layer.reset})
            if layer.bias_onset is not None:
                g.attrs["bias_onset"] = int(layer.bias_onset)
            if layer.neuron is not None:
                g.attrs["neuron"] = json.dumps(layer.neuron.to_dict())
            if layer.bias is not None:
                g["bias"] = np.asarray(layer.bias, dtype=np.float64)
            for j, merge in enumerate(merges):
                _write_projection(g.create_group(f"merges/{j}"), merge)


def _write_projection(g, projection: Projection) -> None:
    g.attrs.update({"source": projection.source, "kind": projection.kind,
                    "in_shape": list(projection.in_shape), "stride": list(projection.stride),
                    "padding": list(projection.padding)})
    g["weight"] = np.asarray(projection.weight, dtype=np.float64)


def read(path) -> Network:
    """Read and validate a network file (version 1 to 4).

    Raises
    ------
    FileFormatError
        Missing, foreign, newer, truncated or inconsistent files (NaN/inf weights, shapes that
        do not chain, unknown cells); the message names the file, the layer and the field.
    """
    path = Path(path)
    with open_checked(path, FORMAT, VERSION, "network") as (f, a):
        a = checked_attrs(path, a, _SCHEMA)
        if "layers" not in f:
            raise FileFormatError(f"{path}: missing layers")
        if not hasattr(f["layers"], "keys"):
            raise FileFormatError(f"{path}: layers is a dataset, not a group of layers")
        names = sorted(f["layers"], key=lambda k: (not k.isdigit(), k))
        if names != [str(i) for i in range(len(names))]:
            raise FileFormatError(f"{path}: layers must be named 0 .. {len(names) - 1} (got "
                                  f"{', '.join(names)})")
        layers = [_read_layer(f["layers"][str(i)], f"{path}: layer {i}")
                  for i in range(len(f["layers"]))]
        has_model = a["activation"] != NO_ANN_MODEL
        try:
            network = Network(
                architecture=a["architecture"], layers=layers, activation=a["activation"],
                k=float(a["k"]) if has_model else None, S=float(a["S"]) if has_model else None,
                tau_syn=float(a["tau_syn_ms"]),
                neuron=_neuron(a["neuron"], f"{path}: neuron", _network_cell(layers)),
                timestep=float(a["timestep_ms"]), input_rate=float(a["input_rate_hz"]),
                softplus_sigma=float(a["softplus_sigma"]),
                soft_lif_gamma=float(a["soft_lif_gamma"]),
                provenance=a["provenance"],
                input_encoding=a.get("input_encoding", "poisson"),
                response=_read_response(f, f"{path}: response"))
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}: unreadable attribute ({exc})") from None
        if "input_shape" in a and tuple(a["input_shape"]) != tuple(layers[0].in_shape):
            raise FileFormatError(f"{path}: input_shape {a['input_shape']} is not the first "
                                  f"layer's input {layers[0].in_shape}")
    for key in ("n_train", "n_validation", "split_seed"):
        value = network.provenance.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise FileFormatError(f"{path}: provenance {key} must be a whole number >= 0 "
                                  f"(got {value!r})")
    check(network, str(path))
    return network


def _read_layer(g, where: str) -> Layer:
    attrs = {key: plain(value) for key, value in g.attrs.items()}
    for name in ("kind", "in_shape", "out_shape"):
        if name not in attrs or "weight" not in g:
            raise FileFormatError(f"{where}: missing {name if name in attrs else 'weight'}")
    out_shape = tuple(attrs["out_shape"])
    merges = g.get("merges", {})
    if sorted(merges) != [str(j) for j in range(len(merges))]:
        raise FileFormatError(f"{where}: merges must be named 0 .. {len(merges) - 1}")
    return Layer(attrs["kind"], tuple(attrs["in_shape"]), out_shape, g["weight"][()],
                 attrs.get("stride", 1), attrs.get("padding", 0),
                 g["bias"][()] if "bias" in g else None, attrs.get("cell", "IF_curr_exp"),
                 _neuron(attrs["neuron"], f"{where}: neuron", attrs.get("cell", "IF_curr_exp"))
                 if "neuron" in attrs else None,
                 attrs.get("source"),
                 tuple(_read_merge(merges[str(j)], out_shape, f"{where}: merge {j}")
                       for j in range(len(merges))), attrs.get("reset", "v_reset"),
                 attrs.get("bias_onset"))


def _read_merge(g, out_shape: tuple, where: str) -> Projection:
    attrs = {key: plain(value) for key, value in g.attrs.items()}
    for name in ("source", "kind", "in_shape"):
        if name not in attrs:
            raise FileFormatError(f"{where}: missing {name}")
    if "weight" not in g:
        raise FileFormatError(f"{where}: missing weight")
    return Projection(attrs["source"], attrs["kind"], tuple(attrs["in_shape"]), out_shape,
                      g["weight"][()], attrs.get("stride", 1), attrs.get("padding", 0))


def _read_response(f, where: str) -> ResponseSurface | None:
    if "response" not in f:
        return None
    g = f["response"]
    for name in ("means", "stds", "rates"):
        if name not in g or hasattr(g[name], "keys"):
            raise FileFormatError(f"{where}: missing {name}")
    return ResponseSurface(g["means"][()], g["stds"][()], g["rates"][()],
                           plain(g.attrs.get("source", where)))


def _neuron(text: str, where: str, cell: str) -> LIFParams | CellParams:
    """The neuron JSON of a layer of ``cell`` (or of the network's layers that have none)."""
    try:
        values = json.loads(text)
        if cell in NON_LIF_CELLS:
            return CellParams.of(cell, values)
        return LIFParams.from_dict(values)
    except (ValueError, TypeError, AttributeError, ParameterError) as exc:
        raise FileFormatError(f"{where}: {exc}") from None


def _network_cell(layers: list[Layer]) -> str:
    """The cell of the network's own neuron: that of its first layer without a neuron."""
    return next((layer.cell for layer in layers if layer.neuron is None), layers[0].cell
                if layers else "IF_curr_exp")


def check(network: Network, where: str) -> None:
    """Shapes chain, kinds and cells are known, weights and biases are finite and of the right
    shape."""
    if not network.layers:
        raise FileFormatError(f"{where}: the network has no layers")
    numbers = {"tau_syn_ms": network.tau_syn, "timestep_ms": network.timestep,
               "input_rate_hz": network.input_rate, "softplus_sigma": network.softplus_sigma,
               "soft_lif_gamma": network.soft_lif_gamma}
    if network.has_ann_model:
        numbers.update(k=network.k, S=network.S)
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                math.isfinite(value) and value > 0):
            raise FileFormatError(f"{where}: {name} must be a number > 0 (got {value!r})")
    fastest = min([network.tau_syn] + [value for layer_neuron in map(network.neuron_of,
                                                                     network.layers)
                                       for name, value in layer_neuron.to_dict().items()
                                       if name in ("tau_m", "tau_syn_E", "tau_syn_I")])
    if network.timestep > 100 * fastest:
        raise FileFormatError(f"{where}: timestep {network.timestep:g} ms is over 100 times the "
                              f"shortest time constant ({fastest:g} ms): every current and "
                              "membrane would decay within one step")
    if network.activation != NO_ANN_MODEL and network.activation not in REGISTRY:
        raise FileFormatError(f"{where}: activation {network.activation!r} is not one of "
                              f"{', '.join(REGISTRY)} (or {NO_ANN_MODEL!r})")
    if (network.activation == MEASURED) != (network.response is not None):
        raise FileFormatError(f"{where}: the {MEASURED!r} activation, and only it, comes with "
                              f"a measured response (activation {network.activation!r}, "
                              f"response {'given' if network.response is not None else 'none'})")
    _check_architecture(network, where)
    if network.input_encoding not in ENCODINGS:
        raise FileFormatError(f"{where}: input_encoding {network.input_encoding!r} is not one "
                              f"of {', '.join(ENCODINGS)}")
    if network.activation in REGISTRY and REGISTRY[network.activation].by_sign and \
            network.shared_cell is None:
        cells = sorted({layer.cell for layer in network.layers})
        raise FileFormatError(f"{where}: the {network.activation!r} activation models one cell; "
                              f"the layers are of {', '.join(cells)}")
    for i, layer in enumerate(network.layers):
        name = f"{where}: layer {i} ({layer.kind})"
        if layer.cell not in CELLS:
            raise FileFormatError(f"{name}: cell {layer.cell!r} is not one of {', '.join(CELLS)}")
        if network.activation in REGISTRY and REGISTRY[network.activation].by_sign and \
                layer.cell not in CONDUCTANCE_SHAPES:
            raise FileFormatError(f"{name}: the {network.activation!r} activation models "
                                  f"{' and '.join(CONDUCTANCE_SHAPES)} neurons, not {layer.cell}")
        if layer.reset not in RESETS:
            raise FileFormatError(f"{name}: reset {layer.reset!r} is not one of "
                                  f"{', '.join(RESETS)}")
        onset = layer.bias_onset
        if onset is not None and (layer.bias is None or isinstance(onset, bool) or not
                                  isinstance(onset, (int, np.integer)) or onset < 1):
            raise FileFormatError(f"{name}: bias_onset {onset!r} must be a step >= 1 of a layer "
                                  "with a bias")
        if layer.reset == "subtract" and layer.cell not in ("IF_curr_exp", "IF_curr_delta"):
            raise FileFormatError(f"{name}: reset by subtraction is built for IF_curr_exp and "
                                  f"IF_curr_delta neurons, not {layer.cell}")
        neuron = network.neuron_of(layer)
        if (layer.cell in NON_LIF_CELLS) != isinstance(neuron, CellParams) or (
                isinstance(neuron, CellParams) and not neuron.is_for(layer.cell)):
            wanted = (f"{layer.cell}'s parameters" if layer.cell in NON_LIF_CELLS else
                      "the IF_ cells' parameters (LIFParams)")
            given = neuron.cell if isinstance(neuron, CellParams) else "an IF_ cell"
            raise FileFormatError(f"{name}: {layer.cell} neurons need {wanted} (got the "
                                  f"parameters of {given})")
        conductance = layer.cell in CONDUCTANCE_CELLS
        if conductance != neuron.conductance_based:
            raise FileFormatError(f"{name}: {layer.cell} neurons take "
                                  f"{'' if conductance else 'no '}reversal potentials (e_rev_E, "
                                  "e_rev_I in the neuron)")
        refusal = bias_refusal(layer.cell)  # training refuses IF_curr_delta's; NIR brings some
        if refusal and layer.bias is not None and layer.cell != "IF_curr_delta":
            raise FileFormatError(f"{name}: {refusal}")
        for j, projection in enumerate(network.projections(i)):
            _check_projection(network, i, projection, name if j == 0 else
                              f"{where}: layer {i}, merge {j - 1} ({projection.kind})")
        _check_bias(layer, name)


def _check_projection(network: Network, index: int, projection: Projection, name: str) -> None:
    """A projection into layer ``index`` comes from the input or an earlier layer, of that
    source's shape, with finite weights that give the layer's shape."""
    source = projection.source
    if isinstance(source, bool) or not isinstance(source, (int, np.integer)) or not (
            -1 <= source < index):
        raise FileFormatError(f"{name}: source {source!r} must be -1 (the input) or an "
                              f"earlier layer (0 .. {index - 1})")
    if projection.kind not in KINDS:
        raise FileFormatError(f"{name}: unknown kind; known are {', '.join(KINDS)}")
    feeding = network.input_shape if source == -1 else network.layers[source].out_shape
    if tuple(projection.in_shape) != tuple(feeding):
        what = "the input" if source == -1 else f"layer {source}'s output"
        raise FileFormatError(f"{name}: input shape {projection.in_shape} does not match "
                              f"{what} {feeding}")
    weight = np.asarray(projection.weight)
    if weight.dtype not in (np.float32, np.float64):
        raise FileFormatError(f"{name}: weights must be float32 or float64 (got "
                              f"{weight.dtype})")
    if not np.all(np.isfinite(weight)):
        raise FileFormatError(f"{name}: weights contain NaN or inf")
    if min(projection.stride) < 1 or min(projection.padding) < 0:
        raise FileFormatError(f"{name}: stride {projection.stride} must be >= 1 and padding "
                              f"{projection.padding} >= 0")
    expected = _expected_out_shape(projection)
    if len(expected) == 2 and isinstance(expected[0], str):  # (what, its shape)
        raise FileFormatError(f"{name}: {expected[0]} of shape {expected[1]} does not fit "
                              f"a {projection.kind} layer from {tuple(projection.in_shape)} to "
                              f"{tuple(projection.out_shape)}")
    if expected != tuple(projection.out_shape):
        raise FileFormatError(f"{name}: weight shape {weight.shape}, stride "
                              f"{projection.stride} and padding {projection.padding} on input "
                              f"{projection.in_shape} give output {expected}, not "
                              f"{projection.out_shape}")


def _check_architecture(network: Network, where: str) -> None:
    """An architecture written in the toolkit's notation (``6c5-2s-10fc``) must describe the
    layers the file holds; other names (imported networks) are labels only."""
    try:
        specs = parse_architecture(network.architecture, network.layers[0].in_shape)
    except ParameterError:
        return
    ours = [(s.kind, tuple(s.out_shape)) for s in specs]
    held = [(layer.kind, tuple(layer.out_shape)) for layer in network.layers]
    if ours != held:
        raise FileFormatError(f"{where}: architecture {network.architecture!r} describes "
                              f"layers {ours}, but the file holds {held}")


def _check_bias(layer: Layer, name: str) -> None:
    if layer.bias is None:
        return
    expected = {"conv": (layer.out_shape[0],), "dense": (layer.n_out,)}.get(layer.kind)
    if expected is None:
        raise FileFormatError(f"{name}: a pooling layer has no bias")
    if np.shape(layer.bias) != expected:
        raise FileFormatError(f"{name}: bias shape {np.shape(layer.bias)}, expected {expected}")
    if not np.all(np.isfinite(layer.bias)):
        raise FileFormatError(f"{name}: bias contains NaN or inf")


def _expected_out_shape(layer: Layer | Projection):
    w = np.asarray(layer.weight)
    if layer.kind == "dense":
        n_in = int(np.prod(layer.in_shape))
        if w.ndim != 2 or w.shape[0] != n_in:
            return ("weight", w.shape)
        return (w.shape[1],)
    if len(layer.in_shape) != 3:
        return ("input", layer.in_shape)
    c = layer.in_shape[0]
    if layer.kind == "conv":
        if w.ndim != 4 or w.shape[1] != c:
            return ("weight", w.shape)
        channels, window = w.shape[0], w.shape[2:]
    else:
        if w.ndim != 2:
            return ("weight", w.shape)
        channels, window = c, w.shape
    sides = []
    for size, k, s, p in zip(layer.in_shape[1:], window, layer.stride, layer.padding,
                             strict=True):
        if size + 2 * p < k:
            return ("window", tuple(window))
        sides.append(output_side(size, k, s, p))
    return (channels, *sides)


def output_side(size: int, window: int, stride: int, padding: int) -> int:
    """Output rows (or columns) of a kernel or window of ``window`` over ``size`` inputs."""
    return (size + 2 * padding - window) // stride + 1
