"""NIR graphs in and out: networks from snnTorch, Norse, sinabs, ... as lifresponse networks
that deploy on NEST, sPyNNaker and the torch simulator, and ours as NIR graphs.

A NIR graph maps when it is feed-forward: ``Input -> (linear nodes -> neuron node) x n ->
Output``, where a neuron node may take several paths of linear nodes (from the input or earlier
neuron nodes; their inputs add: a residual block's merge) and may feed several (a branch), but a
linear node has one input and one output. Each neuron node becomes a layer (network file format
3: its first path its own projection, the others its merges). The linear nodes of a path
(``Conv2d``, ``Affine``, ``Linear``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Scale``) are
composed into the synapses of one layer: a convolution followed by pooling becomes one
convolution with a larger kernel and a larger stride (exact), anything followed by ``Affine`` /
``Linear`` one dense layer (exact), ``Scale`` is folded into the neighbouring weights. Neuron
nodes: ``CubaLIF`` becomes ``IF_curr_exp``, ``LIF`` and ``IF`` (no synaptic current)
``IF_curr_delta``.

The mapping (``docs/nir.md`` derives it), with NIR's times in seconds (``tau``), ours in ms,
``C`` the capacitance we choose (``cm``, nF; NIR has none: it only scales weights), and NIR's
voltages taken as mV:

* ``tau_m = 1000 tau_mem``, ``tau_syn_E = tau_syn_I = 1000 tau_syn``, ``v_rest = v_leak``,
  ``v_thresh = v_threshold``, ``v_reset = v_reset``; ``tau_refrac`` and ``i_offset`` come from
  the options (NIR has neither), ``IF`` gets ``tau_m`` = :data:`LEAKLESS_TAU_MS`.
* Continuous time (the default), a spike being a delta function of unit area:
  ``CubaLIF``: weight ``C r w_in W / (1000 tau_mem tau_syn)`` nA, bias ``C r w_in b /
  (1000 tau_mem)`` nA (exact for the weights; for the bias the steady state, since NIR filters
  it through the synapse and PyNN's ``i_offset`` is not filtered); ``LIF``: weight
  ``r W / tau`` mV, bias ``C r b / (1000 tau)`` nA (exact); ``IF``: weight ``r W`` mV, bias
  ``C r b / 1000`` nA.
* Discrete time (``dt`` given: graphs exported from discrete-time frameworks; snnTorch's
  exporter assumes dt = 0.1 ms): the graph is read as the Euler update with that step, a spike
  worth 1 for one step, as those frameworks run it: per step the membrane decays by
  ``beta = 1 - dt / tau_mem`` and the current by ``alpha = 1 - dt / tau_syn``; a spike moves
  the current by ``J = dt / tau_syn w_in W`` and a unit of current the membrane by
  ``G = dt / tau_mem r`` per step. On our ``timestep`` ``h`` (by default ``dt``; another value
  stretches time by ``h / dt``) NEST's exact decays are made equal: ``tau_m = -h / ln(beta)``,
  ``tau_syn = -h / ln(alpha)``; ``LIF``: weight ``dt r W / tau`` mV (exact: NEST's
  ``iaf_psc_delta`` then does snnTorch's ``Leaky`` update), bias ``dt r b / tau / P30`` pA;
  ``CubaLIF``: weight ``G J / P21`` pA (NEST's membrane then follows snnTorch's ``Synaptic``
  one step later, exact), bias: the same steady state as above.

What cannot map is refused with one message naming the node and why: recurrent edges, linear
nodes that branch or merge, nested graphs, ``Delay``, nodes without spikes or other kinds, a
parameter that differs between the neurons of one node (a layer here has one value per
parameter), a linear node after the last neuron node, two convolutions without neurons between
them.

Export writes ``CubaLIF`` (``IF_curr_exp``) or ``LIF`` (``IF_curr_delta``) nodes after
``Conv2d`` / ``AvgPool2d`` / ``Flatten`` + ``Affine`` nodes (one path per projection, a merge's
nodes named with its number: ``conv2_1``), chosen so that a unit of NIR weight
is 1 nA (``r = tau_m / cm``, ``w_in = tau_syn``) or 1 mV (``r = tau``). What NIR has no field
for (``cm``, ``tau_refrac``, ``i_offset``, the ANN model's activation, k and S, the timestep,
the input encoding) is in node and graph metadata under ``"lifresponse"``, with our exact
values, which the importer uses where they agree with the node's fields.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace

import numpy as np

from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.network_file import Layer, Network, Projection
from lifresponse.networks.topology import layer_connections
from lifresponse.neuron import LIFParams
from lifresponse.propagators import PA_PER_NA, Propagators

log = logging.getLogger(__name__)

NEURON_NODES = ("CubaLIF", "LIF", "IF")
LINEAR_NODES = ("Conv2d", "Affine", "Linear", "SumPool2d", "AvgPool2d", "Flatten", "Scale")
LEAKLESS_TAU_MS = 1e12  # IF: a leak of 1e-12 per ms, below double precision's reach in a run
RESET_CHOICES = ("v_reset", "subtract", "subtract-next-step")
BIAS_CHOICES = ("arrivals", "current")
AGREEMENT = 1e-9        # relative: metadata values are used where they agree this well
WHY_NOT = {
    "Delay": "synaptic delays are one timestep here; a Delay node cannot map",
    "Threshold": "a threshold without membrane dynamics is not a LIF neuron",
    "I": "an integrator without spikes cannot be a layer of spiking neurons",
    "LI": "a leaky integrator without spikes cannot be a layer of spiking neurons",
    "CubaLI": "a leaky integrator without spikes cannot be a layer of spiking neurons",
    "Conv1d": "1-D convolutions are not supported (maps are 2-D here)",
    "NIRGraph": "nested graphs (e.g. recurrent layers) cannot map onto feed-forward layers",
}
_NOT_IN_NIR = {"IF_curr_alpha": "alpha-shaped synaptic currents",  # cells export refuses
               "IF_cond_exp": "synaptic conductances",
               "IF_cond_alpha": "synaptic conductances",
               "EIF_cond_exp_isfa_ista": "synaptic conductances and an adaptive exponential "
                                         "membrane",
               "EIF_cond_alpha_isfa_ista": "synaptic conductances and an adaptive "
                                           "exponential membrane",
               "Izhikevich": "a quadratic membrane with a recovery variable"}


@dataclass(frozen=True)
class ImportOptions:
    """How to read a NIR graph (module docstring).

    Attributes
    ----------
    dt : float or None
        Step (ms) of the discrete-time framework the graph came from; None reads the graph in
        continuous time.
    timestep : float or None
        The network's simulation step (ms); default ``dt``, or 0.1 ms in continuous time.
    encoding : {"poisson", "bernoulli"}
        Input spikes: Poisson at ``input_rate`` per unit input, or one spike per step with
        probability = input (snnTorch's ``spikegen.rate``).
    input_rate : float
        Hz per unit input, for "poisson".
    cm : float
        Capacitance of every neuron (nF); NIR has none, it scales the weights in nA.
    tau_refrac : float
        Refractory period (ms); NIR's neurons have none.
    reset : {"v_reset", "subtract", "subtract-next-step"} or None
        What a spike does to the membrane (NIR has no field for it): set it to ``v_reset``
        (NIR's own semantics, snnTorch's ``reset_mechanism="zero"``); take ``v_threshold -
        v_reset`` off it at once (sinabs, SpikingJelly's soft reset); or take it off the next
        step's update, after the decay (snnTorch's default ``"subtract"``; needs ``dt``). None:
        what the graph's metadata says, else ``v_reset``.
    bias : {"arrivals", "current"} or None
        A bias as a synaptic input that arrives every step from the step the layer's first
        input arrives in (as a discrete-time framework adds it to the synaptic input, exact),
        or as a current added to ``i_offset`` (its steady state for ``CubaLIF``; sPyNNaker
        builds only this). None: "arrivals" with ``dt``, else "current".
    tau_scale : float
        Every time constant of the graph's neuron nodes is multiplied by this before it is
        read: 1 for graphs that follow NIR (seconds); ``1000 / dt`` (dt in ms) for Norse
        1.1.0's, whose exporter writes ``dt / tau_mem_inv``, its time constant times its step
        in seconds (norse/norse#411; docs/nir.md).
    """

    dt: float | None = None
    timestep: float | None = None
    encoding: str = "poisson"
    input_rate: float = 100.0
    cm: float = 1.0
    tau_refrac: float = 0.0
    reset: str | None = None
    bias: str | None = None
    tau_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("dt", "timestep", "input_rate", "cm", "tau_scale"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ParameterError(name, f"must be a finite number > 0 (got {value})")
        if not (math.isfinite(self.tau_refrac) and self.tau_refrac >= 0):
            raise ParameterError("tau_refrac", f"must be >= 0 ms (got {self.tau_refrac})")
        if self.encoding not in network_file.ENCODINGS:
            raise ParameterError("encoding", f"must be one of {', '.join(network_file.ENCODINGS)}"
                                 f" (got {self.encoding!r})")
        if self.reset is not None and self.reset not in RESET_CHOICES:
            raise ParameterError("reset", f"must be one of {', '.join(RESET_CHOICES)} (got "
                                 f"{self.reset!r})")
        if self.bias is not None and self.bias not in BIAS_CHOICES:
            raise ParameterError("bias", f"must be one of {', '.join(BIAS_CHOICES)} (got "
                                 f"{self.bias!r})")
        if self.bias == "arrivals" and self.dt is None:
            raise ParameterError("bias", "arrivals are a discrete-time framework's bias, one "
                                 "per step; give the graph's step with dt (--dt)")
        if self.reset == "subtract-next-step" and self.dt is None:
            raise ParameterError("reset", "subtract-next-step is a discrete-time framework's "
                                 "reset (snnTorch's); give the graph's step with dt (--dt)")
        if self.encoding != "poisson" and self.input_rate != type(self).input_rate:
            raise ParameterError("input_rate", f"belongs to the poisson encoding; "
                                 f"{self.encoding!r} fires with probability = input each step")

    @property
    def bias_arrives(self) -> bool:
        """Whether biases become synaptic input every step (``bias``)."""
        return self.bias == "arrivals" or (self.bias is None and self.dt is not None)

    @property
    def step(self) -> float:
        """The network's timestep (ms)."""
        if self.timestep is not None:
            return self.timestep
        return self.dt if self.dt is not None else 0.1


def read_graph(path):
    """``nir.read(path)`` with errors that name the file, after :func:`_check_nir_file`."""
    import nir

    _check_nir_file(path)
    try:
        return nir.read(path)
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (OSError, KeyError, ValueError, TypeError, AssertionError, OverflowError,
            ZeroDivisionError, IndexError) as exc:
        raise FileFormatError(f"{path}: not a readable NIR graph ({type(exc).__name__}: "
                              f"{exc})") from None


def _check_nir_file(path) -> None:
    """Refuse, naming the file, a NIR file newer than the installed ``nir`` package (major and
    minor version) or holding a node type that package does not know (``nir.read`` asserts
    with no message)."""
    import h5py
    import nir
    from nir.ir import str2NIRNode

    def version(text: str) -> tuple:
        return tuple(int(part) for part in re.findall(r"\d+", text)[:2])

    try:
        with h5py.File(path, "r") as f:
            written = f["version"][()] if "version" in f else b"0"
            written = written.decode() if isinstance(written, bytes) else str(written)
            if version(written) > version(nir.__version__):
                raise FileFormatError(f"{path}: written by NIR {written}; the installed nir "
                                      f"{nir.__version__} reads older graphs only (pip install "
                                      "-U nir)")
            stack = [("", f["node"])] if "node" in f else []
            while stack:
                name, node = stack.pop()
                kind = node["type"][()] if "type" in node else b""
                kind = kind.decode() if isinstance(kind, bytes) else str(kind)
                try:
                    str2NIRNode(kind)
                except (AssertionError, KeyError):
                    raise FileFormatError(f"{path}: node {name or '(graph)'!r} has type "
                                          f"{kind!r}, which NIR {nir.__version__} does not "
                                          "know") from None
                if "nodes" in node:
                    stack += [(f"{name}.{k}" if name else k, v) for k, v in node["nodes"].items()]
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise FileFormatError(f"{path}: not a readable NIR graph ({exc})") from None


# -- import -------------------------------------------------------------------------------------


def import_graph(graph, options: ImportOptions = ImportOptions(), source: str = "") -> Network:
    """The lifresponse network of a NIR graph (module docstring).

    Raises
    ------
    ParameterError
        For a graph or node that cannot map; the message names the node and why.
    """
    input_name, order = _layers_of(graph)
    shapes = {input_name: _input_shape((input_name, graph.nodes[input_name]))}
    ours = (graph.metadata or {}).get("lifresponse", {})
    if ours:  # our own export: every option below is in the graph, exactly
        for name in ("dt", "timestep", "encoding", "input_rate", "cm", "tau_refrac"):
            if getattr(options, name) != getattr(ImportOptions, name):
                raise ParameterError(name, f"the graph was exported by lifresponse and holds "
                                     "its own timestep, input encoding and rate and neuron; "
                                     f"leave it out (got {getattr(options, name)!r})")
    written = ours.get("format_version", 1)
    if not isinstance(written, (int, np.integer)) or written > network_file.VERSION:
        shown = int(written) if isinstance(written, (int, np.integer)) else repr(written)
        raise FileFormatError(f"{source or 'graph'}: lifresponse metadata of network format "
                              f"{shown}; this lifresponse writes and reads up to "
                              f"{network_file.VERSION}")
    layers, names, index = [], [], {input_name: -1}
    first_arrival = {-1: 0}  # the step each layer's first input arrives in (input: its spikes)
    for name, node, paths in order:
        composed = [(index[origin], path, *_compose(path, shapes[origin]))
                    for origin, path in paths]
        origin, path, synapses, shape = composed[0]
        layer, weight_gain, bias_gain = _neuron_layer(name, node, synapses, shape, options)
        layer.source = None if origin == len(layers) - 1 else origin
        layer.merges = tuple(_merge(layer, name, node, merge, weight_gain, bias_gain)
                             for merge in composed[1:])
        first_arrival[len(layers)] = first_arrival[origin] + _first_spike_step(layers, origin)
        if options.bias_arrives and layer.bias is not None:
            layer.bias_onset = first_arrival[len(layers)]
        index[name], shapes[name] = len(layers), shape
        layers.append(layer)
        names.append("-".join([*(n for n, _ in path), name]))
    if not layers:
        raise ParameterError("graph", "no neuron node between input and output")
    first = layers[0].neuron
    network = Network(
        architecture=str(ours.get("architecture", "nir: " + " | ".join(names))), layers=layers,
        activation=str(ours.get("activation", network_file.NO_ANN_MODEL)),
        k=_float_or_none(ours.get("k")), S=_float_or_none(ours.get("S")),
        tau_syn=float(ours.get("tau_syn_ms", first.tau_syn_E)), neuron=first,
        timestep=float(ours.get("timestep_ms", options.step)),
        input_rate=float(ours.get("input_rate_hz", options.input_rate)),
        input_encoding=str(ours.get("input_encoding", options.encoding)),
        softplus_sigma=float(ours.get("softplus_sigma", 0.45)),
        soft_lif_gamma=float(ours.get("soft_lif_gamma", 0.01)),
        provenance={"source": source, "imported_from": "NIR",
                    "import": {"dt_ms": options.dt, "timestep_ms": options.step,
                               "cm_nF": options.cm, "tau_refrac_ms": options.tau_refrac,
                               "time": "discrete" if options.dt else "continuous"}})
    if network.has_ann_model and network.k is None:
        raise ParameterError("graph metadata: an activation without k and S")
    if "neuron" in ours:  # the network-wide neuron of a lifresponse export
        network.neuron = LIFParams.from_dict(dict(ours["neuron"]))
    for layer in network.layers:
        if layer.neuron == network.neuron:
            layer.neuron = None
    network_file.check(network, "graph")
    return network


def _first_spike_step(layers: list, origin: int) -> int:
    """Steps from an input's arrival at layer ``origin`` to its arrival at the next layer: a
    spike is sent in the step it fires and arrives one step later; a ``IF_curr_delta``
    membrane takes an arrival in its own step, a current cell's membrane one step later. The
    input's first spikes (step 1) arrive in step 1."""
    if origin == -1:
        return 1
    return 1 if layers[origin].cell == "IF_curr_delta" else 2


def _layers_of(graph) -> tuple:
    """The neuron nodes of ``graph`` in an order in which they can be computed, each with the
    paths of linear nodes into it: ``(input name, [(name, neuron node, [(source, [(name, linear
    node), ...]), ...]), ...])``, a source being the input's name or an earlier neuron node's.
    Refuses anything that is not a feed-forward graph of supported nodes in which linear nodes
    neither branch nor merge (merges go into neuron nodes, branches leave them)."""
    import nir

    nodes = graph.nodes
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind in WHY_NOT:
            raise ParameterError(f"node {name!r} ({kind}): {WHY_NOT[kind]}")
        if kind not in (*NEURON_NODES, *LINEAR_NODES, "Input", "Output"):
            raise ParameterError(f"node {name!r} ({kind}): not supported; lifresponse maps "
                                 f"{', '.join(('Input', 'Output', *LINEAR_NODES, *NEURON_NODES))}")
    successors = {name: [] for name in nodes}
    predecessors = {name: [] for name in nodes}
    for source, target in graph.edges:
        for end in (source, target):
            if end not in nodes:
                raise ParameterError(f"edge ({source!r}, {target!r}): no node {end!r}")
        successors[source].append(target)
        predecessors[target].append(source)
    inputs = [n for n, node in nodes.items() if isinstance(node, nir.Input)]
    outputs = [n for n, node in nodes.items() if isinstance(node, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ParameterError("graph", f"needs one Input and one Output node (has {len(inputs)} "
                             "inputs)")
    neuron = lambda name: type(nodes[name]).__name__ in NEURON_NODES  # noqa: E731
    for name in nodes:
        if name not in inputs and not neuron(name) and len(predecessors[name]) > 1:
            raise ParameterError(f"node {name!r}: input from {', '.join(predecessors[name])}; "
                                 "recurrent edges, or a merge before a linear node, cannot map "
                                 "onto feed-forward layers (merges go into neuron nodes)")
        if not neuron(name) and name not in inputs and len(successors[name]) > 1:
            raise ParameterError(f"node {name!r}: output to {', '.join(successors[name])}; "
                                 "a linear node cannot branch (branches leave neuron nodes)")
        if name not in outputs and not successors[name]:
            raise ParameterError(f"node {name!r}: leads nowhere (no edge to the output)")
    last = predecessors[outputs[0]]
    if len(last) != 1:
        raise ParameterError(f"node {outputs[0]!r} (Output): input from {', '.join(last)}; "
                             "the output is one neuron node's spikes")
    incoming = {}
    for name in nodes:
        if neuron(name):
            incoming[name] = [_path_back(p, name, nodes, predecessors, neuron, inputs[0])
                              for p in predecessors[name]]
            if not incoming[name]:
                raise ParameterError(f"node {name!r} ({type(nodes[name]).__name__}): no input")
    order, placed = [], {inputs[0]}
    while len(order) < len(incoming):
        ready = [n for n in incoming if n not in placed
                 and all(source in placed for source, _ in incoming[n])]
        if not ready:
            stuck = next(n for n in incoming if n not in placed)
            raise ParameterError(f"node {stuck!r}: on a cycle; recurrent graphs cannot map")
        for n in ready:
            order.append((n, nodes[n], incoming[n]))
            placed.add(n)
    if not neuron(last[0]):
        first = _path_back(last[0], outputs[0], nodes, predecessors, neuron, inputs[0])[1]
        raise ParameterError(f"node {first[0][0]!r} ({type(first[0][1]).__name__}): linear "
                             "nodes after the last neuron node; the output must be spikes")
    if order[-1][0] != last[0]:
        raise ParameterError(f"node {order[-1][0]!r}: computed after the output's node "
                             f"{last[0]!r}; the output must be the last layer")
    reached = {inputs[0], outputs[0], *incoming}
    reached |= {n for _, _, paths in order for _, path in paths for n, _ in path}
    unused = sorted(set(nodes) - reached)
    if unused:
        raise ParameterError(f"node {unused[0]!r}: not on the path from input to output")
    return inputs[0], order


def _path_back(name, target, nodes, predecessors, neuron, input_name) -> tuple:
    """(source, linear nodes in order) of the path that ends at ``name`` and goes on to
    ``target``."""
    path = []
    while not neuron(name) and name != input_name:
        path.append((name, nodes[name]))
        if not predecessors[name]:
            raise ParameterError(f"node {name!r}: no input (not on the path from the input)")
        name = predecessors[name][0]
        if len(path) > len(nodes):
            raise ParameterError(f"node {name!r}: on a cycle; recurrent graphs cannot map")
    if not path and neuron(target):
        kind = type(nodes[target]).__name__
        raise ParameterError(f"node {target!r} ({kind}): follows another neuron node or the "
                             "input without synapses between")
    return name, path[::-1]


def _merge(layer: Layer, name: str, node, merge: tuple, weight_gain: float,
           bias_gain: float) -> Projection:
    """A further path of linear nodes into neuron node ``name`` as a projection of ``layer``
    (its weights in the same units; a bias it carries added to the layer's)."""
    origin, path, synapses, shape = merge
    where = f"node {name!r} ({type(node).__name__})"
    if tuple(shape) != tuple(layer.out_shape) and int(np.prod(shape)) != layer.n_out:
        raise ParameterError(f"{where}: input of shape {shape} from {path[0][0]!r}, but "
                             f"{layer.out_shape} from its other input")
    if synapses.bias is not None and np.any(synapses.bias):
        if synapses.kind != layer.kind:
            raise ParameterError(f"{where}: biases on inputs of different kinds "
                                 f"({layer.kind}, {synapses.kind})")
        layer.bias = (0.0 if layer.bias is None else layer.bias) + synapses.bias * bias_gain
    return Projection(origin, synapses.kind, synapses.in_shape, layer.out_shape,
                      synapses.weight * weight_gain, synapses.stride, synapses.padding)


def _input_shape(entry) -> tuple:
    name, node = entry
    shape = tuple(int(n) for n in np.atleast_1d(node.input_type["input"]))
    if len(shape) == 4 and shape[0] == 1:  # a batch dimension of one
        shape = shape[1:]
    if len(shape) not in (1, 3) or 0 in shape:
        raise ParameterError(f"node {name!r} (Input): shape {shape}; lifresponse takes (n,) or "
                             "(channels, height, width), none of them 0")
    return shape


def _compose(pending: list, shape: tuple):
    """One layer's synapses from the linear nodes ``pending`` acting on ``shape``; returns
    (synapses, output shape as the neuron node sees it)."""
    synapses, in_scale, in_shape = None, None, shape
    for name, node in pending:
        kind = type(node).__name__
        where = f"node {name!r} ({kind})"
        if kind == "Flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "Scale":
            scale = np.broadcast_to(np.asarray(node.scale, float), shape) if np.ndim(
                node.scale) <= len(shape) else None
            if scale is None:
                raise ParameterError(f"{where}: scale of shape {np.shape(node.scale)} does not "
                                     f"fit {shape}")
            if synapses is None:
                in_scale = scale if in_scale is None else in_scale * scale
            else:
                _scale_outputs(synapses, scale, where)
        elif kind == "Conv2d":
            if synapses is not None:
                raise ParameterError(f"{where}: follows another linear node without neurons "
                                     "between; only pooling and dense layers compose with a "
                                     "convolution")
            synapses = _conv(node, shape, where)
            shape = synapses.out_shape
        elif kind in ("SumPool2d", "AvgPool2d"):
            synapses = _pool(node, kind, shape, synapses, where)
            shape = synapses.out_shape
        else:  # Affine, Linear
            synapses = _dense(node, shape, synapses, in_shape, where)
            shape = synapses.out_shape
        if in_scale is not None and synapses is not None:
            _scale_inputs(synapses, in_scale.reshape(in_shape), where)
            in_scale = None
    if synapses is None:
        raise ParameterError(f"node {pending[-1][0]!r}: no weights (only Flatten / Scale) "
                             "between two neuron layers")
    return synapses, shape


def _pair(value, name: str, where: str) -> tuple:
    values = np.atleast_1d(np.asarray(value)).astype(np.int64).tolist()
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise ParameterError(f"{where}: {name} {value!r} is not one or two numbers")
    return tuple(values)


def _real(values, where: str) -> np.ndarray:
    """A node's weights as float64, refusing complex or non-numeric ones."""
    values = np.asarray(values)
    if values.dtype.kind not in "fiu":
        raise ParameterError(f"{where}: weights of type {values.dtype} (real numbers expected)")
    return values.astype(float)


def _conv(node, shape: tuple, where: str) -> Layer:
    weight = _real(node.weight, where)
    if len(shape) != 3 or weight.ndim != 4 or weight.shape[1] != shape[0]:
        raise ParameterError(f"{where}: weight {weight.shape} does not fit input {shape}")
    if int(node.groups) != 1:
        raise ParameterError(f"{where}: groups = {node.groups}; only groups = 1 maps")
    if _pair(node.dilation, "dilation", where) != (1, 1):
        raise ParameterError(f"{where}: dilation {node.dilation}; only 1 maps")
    stride = _pair(node.stride, "stride", where)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            padding = (0, 0)
        elif node.padding == "same" and stride == (1, 1) and all(k % 2 for k in
                                                                 weight.shape[2:]):
            padding = (weight.shape[2] // 2, weight.shape[3] // 2)
        else:
            raise ParameterError(f"{where}: padding {node.padding!r} with stride {stride} and "
                                 f"kernel {weight.shape[2:]} has no symmetric equivalent")
    else:
        padding = _pair(node.padding, "padding", where)
    out = (weight.shape[0], *(network_file.output_side(n, k, s, p) for n, k, s, p in zip(
        shape[1:], weight.shape[2:], stride, padding, strict=True)))
    if min(out[1:]) < 1:
        raise ParameterError(f"{where}: kernel {weight.shape[2:]} does not fit {shape[1:]}")
    bias = None if node.bias is None else np.asarray(node.bias, dtype=float)
    if bias is not None and np.ndim(bias) == 0:
        bias = np.full(weight.shape[0], float(bias))
    return Layer("conv", shape, out, weight, stride, padding, bias)


def _pool(node, kind: str, shape: tuple, synapses, where: str) -> Layer:
    kernel = _pair(node.kernel_size, "kernel_size", where)
    stride = _pair(node.stride if node.stride is not None else node.kernel_size, "stride",
                   where)
    padding = _pair(node.padding if node.padding is not None else 0, "padding", where)
    if padding != (0, 0):
        raise ParameterError(f"{where}: padding {padding}; pooling with padding is not mapped")
    window = np.full(kernel, 1.0 / (kernel[0] * kernel[1]) if kind == "AvgPool2d" else 1.0)
    if len(shape) != 3:
        raise ParameterError(f"{where}: needs maps, got shape {shape}")
    out = (shape[0], *(network_file.output_side(n, k, s, 0) for n, k, s in zip(
        shape[1:], kernel, stride, strict=True)))
    if min(out[1:]) < 1:
        raise ParameterError(f"{where}: window {kernel} does not fit {shape[1:]}")
    if synapses is None:
        return Layer("pool", shape, out, window, stride)
    if synapses.kind != "conv":
        raise ParameterError(f"{where}: pooling after {synapses.kind} synapses without neurons "
                             "between; only a convolution composes with pooling")
    return _conv_then_pool(synapses, window, stride, out)


def _conv_then_pool(conv: Layer, window: np.ndarray, stride: tuple, out: tuple) -> Layer:
    """A convolution followed by pooling without padding, as one convolution: kernel
    ``k + (p - 1) s``, stride ``q s``, the same padding; every window's pooled outputs keep the
    convolution's bias, times the sum of the window's weights."""
    (sh, sw), (ph, pw) = conv.stride, window.shape
    c_out, c_in, kh, kw = conv.weight.shape
    kernel = np.zeros((c_out, c_in, kh + (ph - 1) * sh, kw + (pw - 1) * sw))
    for a in range(ph):
        for b in range(pw):
            kernel[:, :, a * sh:a * sh + kh, b * sw:b * sw + kw] += window[a, b] * conv.weight
    bias = None if conv.bias is None else conv.bias * window.sum()
    return Layer("conv", conv.in_shape, out, kernel, (stride[0] * sh, stride[1] * sw),
                     conv.padding, bias)


def _dense(node, shape: tuple, synapses, in_shape: tuple, where: str) -> Layer:
    weight = _real(node.weight, where)
    n_in = int(np.prod(shape))
    if weight.ndim != 2 or weight.shape[1] != n_in:
        raise ParameterError(f"{where}: weight {weight.shape} does not take {n_in} inputs "
                             f"(shape {shape})")
    bias = np.asarray(node.bias, dtype=float) if getattr(node, "bias", None) is not None \
        else None
    if synapses is None:
        return Layer("dense", in_shape, (weight.shape[0],), weight.T.copy(), bias=bias)
    matrix = layer_connections(synapses).as_matrix() if synapses.kind != "dense" \
        else synapses.weight
    previous_bias = synapses.bias_per_neuron()
    total = previous_bias @ weight.T + (0.0 if bias is None else bias)
    has_bias = synapses.bias is not None or bias is not None
    return Layer("dense", synapses.in_shape, (weight.shape[0],), matrix @ weight.T,
                     bias=total if has_bias else None)


def _scale_outputs(synapses: Layer, scale: np.ndarray, where: str) -> None:
    flat = scale.reshape(synapses.out_shape)
    if synapses.kind == "dense":
        synapses.weight = synapses.weight * flat[None, :]
        per_output = flat
    else:
        per_channel = flat.reshape(flat.shape[0], -1)
        if not np.all(per_channel == per_channel[:, :1]):
            raise ParameterError(f"{where}: a scale that differs within a map cannot fold into "
                                 "shared kernels")
        per_output = per_channel[:, 0]
        if synapses.kind == "conv":
            synapses.weight = synapses.weight * per_output[:, None, None, None]
        elif np.all(per_output == per_output[0]):
            synapses.weight = synapses.weight * per_output[0]
        else:
            raise ParameterError(f"{where}: a scale that differs between maps cannot fold into "
                                 "pooling")
    if synapses.bias is not None:
        synapses.bias = synapses.bias * per_output


def _scale_inputs(synapses: Layer, scale: np.ndarray, where: str) -> None:
    if synapses.kind == "dense":
        synapses.weight = synapses.weight * scale.reshape(-1)[:, None]
        return
    per_channel = scale.reshape(scale.shape[0], -1)
    if not np.all(per_channel == per_channel[:, :1]):
        raise ParameterError(f"{where}: a scale of its input that differs within a map cannot "
                             "fold into shared kernels")
    if synapses.kind == "conv":
        synapses.weight = synapses.weight * per_channel[None, :, 0, None, None]
    elif np.all(per_channel == per_channel[0, 0]):
        synapses.weight = synapses.weight * per_channel[0, 0]
    else:
        raise ParameterError(f"{where}: a scale that differs between maps cannot fold into "
                             "pooling")


def _uniform(node, field: str, where: str, n: int) -> float:
    values = np.asarray(getattr(node, field), dtype=float).ravel()
    if values.size not in (1, n):
        raise ParameterError(f"{where}: {field} has {values.size} values for {n} neurons")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{where}: {field} is not finite")
    if not np.all(values == values[0]):
        raise ParameterError(f"{where}: {field} differs between its neurons ({values.min():g} "
                             f".. {values.max():g}); a lifresponse layer has one value per "
                             "parameter")
    return float(values[0])


def _neuron_layer(name: str, node, synapses: Layer, shape: tuple,
                  options: ImportOptions) -> tuple:
    """The layer of neuron node ``name`` with ``synapses`` in its units, and the gains (nA or
    mV per unit of the graph's weight and bias) its other inputs take."""
    kind = type(node).__name__
    where = f"node {name!r} ({kind})"
    n = int(np.prod(shape))
    if n == 0:
        raise ParameterError(f"{where}: a layer of 0 neurons")
    if n != int(np.prod(synapses.out_shape)):
        raise ParameterError(f"{where}: {n} neurons, but the synapses before it have "
                             f"{int(np.prod(synapses.out_shape))} outputs")
    p = {f: _uniform(node, f, where, n) * (options.tau_scale if f.startswith("tau") else 1.0)
         for f in _FIELDS[kind]}
    if not p["r"] > 0:
        raise ParameterError(f"{where}: r = {p['r']:g}; a resistance > 0 is needed (with 0 no "
                             "input moves the membrane)")
    ours = (node.metadata or {}).get("lifresponse", {})
    cell = "IF_curr_exp" if kind == "CubaLIF" else "IF_curr_delta"
    if ours.get("cell", cell) != cell:
        raise ParameterError(f"{where}: metadata cell {ours['cell']!r}, but a {kind} node is "
                             f"{cell}")
    h, dt = options.step, options.dt
    tau_m_s = p["tau_mem"] if kind == "CubaLIF" else p.get("tau")
    tau_syn_s = p.get("tau_syn")
    if dt is None:
        tau_m = LEAKLESS_TAU_MS if kind == "IF" else 1000.0 * tau_m_s
        tau_syn = 1000.0 * tau_syn_s if tau_syn_s else 5.0
    else:
        tau_m = LEAKLESS_TAU_MS if kind == "IF" else _discrete_tau(
            tau_m_s, dt, h, where, "tau_mem" if kind == "CubaLIF" else "tau")
        tau_syn = _discrete_tau(tau_syn_s, dt, h, where, "tau_syn") if tau_syn_s else 5.0
    tau_m = _ours(ours, "tau_m_ms", tau_m)
    tau_syn = _ours(ours, "tau_syn_ms", tau_syn)
    cm = float(ours.get("cm_nF", options.cm))
    v_rest = p.get("v_leak", 0.0)
    try:
        neuron = LIFParams(cm=cm, tau_m=tau_m, tau_refrac=float(ours.get(
            "tau_refrac_ms", options.tau_refrac)), v_reset=p["v_reset"], v_rest=v_rest,
            v_thresh=p["v_threshold"], i_offset=float(ours.get("i_offset_nA", 0.0)),
            tau_syn_E=tau_syn, tau_syn_I=tau_syn)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None
    weight_gain, bias_gain = _gains(kind, p, neuron, options)
    weight_gain = _ours(ours, "weight_per_unit", weight_gain)
    bias_gain = weight_gain if options.bias_arrives else _ours(ours, "bias_nA_per_unit",
                                                               bias_gain)
    layer = synapses
    layer.weight = layer.weight * weight_gain
    if layer.bias is not None:
        layer.bias = layer.bias * bias_gain
        if "bias_nA" in ours and _agrees(np.asarray(ours["bias_nA"]), layer.bias):
            layer.bias = np.asarray(ours["bias_nA"], dtype=float)
        if not np.any(layer.bias):
            layer.bias = None
    layer.cell, layer.neuron = cell, neuron
    layer.reset = _reset(ours, options, p, where)
    if options.reset == "subtract-next-step":
        layer.neuron = _subtracting_next_step(neuron, kind, p, options.dt, where)
    return layer, weight_gain, bias_gain


def _reset(ours: dict, options: ImportOptions, p: dict, where: str) -> str:
    """The layer's reset: the option's, else the node's metadata's, else ``v_reset``."""
    written = ours.get("reset")
    if written is not None and written not in network_file.RESETS:
        raise ParameterError(f"{where}: metadata reset {written!r} is not one of "
                             f"{', '.join(network_file.RESETS)}")
    chosen = options.reset or written or "v_reset"
    if chosen != "v_reset" and not p["v_threshold"] > p["v_reset"]:
        raise ParameterError(f"{where}: reset by subtraction takes v_threshold - v_reset = "
                             f"{p['v_threshold'] - p['v_reset']:g} off the membrane; it must be "
                             "> 0")
    return "v_reset" if chosen == "v_reset" else "subtract"


def _subtracting_next_step(neuron: LIFParams, kind: str, p: dict, dt: float, where: str
                           ) -> LIFParams:
    """``neuron`` resetting at once by what snnTorch subtracts at the next step, after the
    decay ``beta``: taking ``(v_threshold - v_reset) / beta`` off at the spike leaves
    ``beta`` times that, the threshold, off the next step's membrane (exact in exact
    arithmetic; NEST and snnTorch may round differently). ``v_reset`` is moved to give that
    jump."""
    tau_s = p["tau_mem"] if kind == "CubaLIF" else p.get("tau")
    beta = 1.0 if tau_s is None else 1.0 - dt / (1000.0 * tau_s)
    jump = (neuron.v_thresh - neuron.v_reset) / beta
    try:
        return replace(neuron, v_reset=neuron.v_thresh - jump)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


_FIELDS = {"CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
           "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
           "IF": ("r", "v_threshold", "v_reset")}


def _discrete_tau(tau_s: float, dt_ms: float, h: float, where: str, field: str) -> float:
    """Our time constant (ms) whose exact decay per step ``h`` is the graph's Euler decay
    ``1 - dt / tau``."""
    decay = 1.0 - dt_ms / (1000.0 * tau_s)
    if not 0.0 < decay < 1.0:
        raise ParameterError(f"{where}: {field} = {tau_s:g} s gives a per-step decay "
                             f"1 - dt/tau = {decay:g} with dt = {dt_ms:g} ms; it must lie in "
                             "(0, 1)")
    return -h / math.log(decay)


def _gains(kind: str, p: dict, neuron: LIFParams, options: ImportOptions) -> tuple:
    """(weight per NIR unit: nA for IF_curr_exp, mV for IF_curr_delta; bias nA per unit)."""
    C = neuron.cm
    if options.dt is None:
        if kind == "CubaLIF":
            bias = C * p["r"] * p["w_in"] / (1000.0 * p["tau_mem"])
            return bias / p["tau_syn"], bias
        if kind == "LIF":
            return p["r"] / p["tau"], C * p["r"] / (1000.0 * p["tau"])
        return p["r"], C * p["r"] / 1000.0
    dt_s, h = options.dt / 1000.0, options.step
    props = Propagators.of(neuron, h, "IF_curr_exp" if kind == "CubaLIF" else "IF_curr_delta")
    if kind == "CubaLIF":
        jump = dt_s / p["tau_syn"] * p["w_in"]  # current per unit weight and spike
        gain = dt_s / p["tau_mem"] * p["r"]     # membrane per unit current and step
        alpha = 1.0 - dt_s / p["tau_syn"]
        return gain * jump / props.P21ex / PA_PER_NA, \
            gain * jump / (1.0 - alpha) / props.drive / PA_PER_NA
    jump = dt_s * p["r"] / (p["tau"] if kind == "LIF" else 1.0)
    return jump, jump / props.drive / PA_PER_NA


def _ours(metadata: dict, key: str, computed: float) -> float:
    """Our exact value from the node's metadata where it agrees with the computed one."""
    if key not in metadata:
        return computed
    exact = float(metadata[key])
    if _agrees(np.asarray(exact), np.asarray(computed)):
        return exact
    log.warning("NIR metadata %s = %r disagrees with the node's fields (%r); using the fields",
                key, exact, computed)
    return computed


def _agrees(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= AGREEMENT * np.abs(b) + 1e-300))


def _float_or_none(value):
    return None if value is None else float(value)


# -- export -------------------------------------------------------------------------------------


def export_network(network: Network, dt: float | None = None):
    """``network`` as a NIR graph (module docstring): for each layer its linear nodes and a
    ``CubaLIF`` (or ``LIF``) node, with what NIR has no field for in metadata.

    Parameters
    ----------
    network : Network
    dt : float, optional
        Write a discrete-time graph for frameworks that step it (ms): each of our timesteps
        becomes one of their steps of ``dt`` (:func:`_discrete_layer`); None: continuous time.

    Raises
    ------
    ParameterError
        For what NIR cannot hold: different excitatory and inhibitory synaptic time constants,
        pooling windows of unequal weights, alpha-shaped synaptic currents, synaptic
        conductances, biases that arrive
        as synaptic input; with ``dt``, any neuron but ``IF_curr_exp`` resetting to
        ``v_reset``.
    """
    import nir

    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ParameterError("dt", f"must be a finite number > 0 (got {dt})")
    for index, layer in enumerate(network.layers):
        if layer.cell in _NOT_IN_NIR:
            raise ParameterError(f"layer {index}: {layer.cell} neurons have "
                                 f"{_NOT_IN_NIR[layer.cell]}, which no NIR neuron node "
                                 "describes")
        if layer.bias_onset is not None:
            raise ParameterError(f"layer {index}: its bias arrives as synaptic input every "
                                 "step from a given step (a discrete-time import); the export "
                                 "writes biases as currents only")
    nodes = {"input": nir.Input(input_type={"input": np.array(network.input_shape)})}
    edges = []
    for i, layer in enumerate(network.layers):
        projections = network.projections(i)
        if dt is not None:
            neuron_node, projections, bias = _discrete_layer(network, i, dt / 1000.0)
        else:
            gains = {_weight_unit(p, i) for p in projections}
            if len(gains) > 1:
                raise ParameterError(f"layer {i}: its projections' pooling windows need weight "
                                     f"units {sorted(gains)}; a NIR neuron node has one")
            neuron_node, bias_unit = _neuron_node(layer, network.neuron_of(layer), gains.pop(),
                                                  i)
            bias = np.zeros(layer.out_shape[0] if layer.kind == "conv" else layer.n_out) \
                if layer.bias is None else np.asarray(layer.bias) / bias_unit
        for j, projection in enumerate(projections):
            previous = "input" if projection.source == -1 else f"lif{projection.source}"
            suffix = "" if j == 0 else f"_{j}"  # a merge's nodes
            for name, node in _linear_nodes(projection, bias if j == 0 else None,
                                            f"{i}{suffix}"):
                nodes[name] = node
                edges.append((previous, name))
                previous = name
            edges.append((previous, f"lif{i}"))
        nodes[f"lif{i}"] = neuron_node
    previous = f"lif{len(network.layers) - 1}"
    nodes["output"] = nir.Output(output_type={"output": np.array(network.layers[-1].out_shape)})
    edges.append((previous, "output"))
    metadata = {"lifresponse": {
        "architecture": network.architecture, "activation": network.activation,
        "tau_syn_ms": network.tau_syn, "timestep_ms": network.timestep,
        "input_rate_hz": network.input_rate, "input_encoding": network.input_encoding,
        "softplus_sigma": network.softplus_sigma, "soft_lif_gamma": network.soft_lif_gamma,
        "neuron": network.neuron.to_dict(), "format_version": network_file.VERSION}}
    if network.has_ann_model:
        metadata["lifresponse"].update(k=network.k, S=network.S)
    if dt is not None:
        metadata["lifresponse"]["discrete_dt_ms"] = dt
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _discrete_layer(network: Network, index: int, dt_s: float) -> tuple:
    """Layer ``index`` for a framework that steps the graph as Euler updates with step ``dt_s``
    (s), as snnTorch's and SpikingJelly's importers read a ``CubaLIF`` (they require ``r =
    tau_mem / dt``, ``w_in = tau_syn / dt`` and ``v_leak = 0``): per step ``i <- (1 - dt /
    tau_syn) i + x``, ``v <- (1 - dt / tau_mem) v + i``. (neuron node, projections, bias).

    The time constants are chosen so that those decays are NEST's exact ones over our timestep
    (``P11``, ``P22``); voltages are relative to ``v_rest``; a weight is its current's step in
    the membrane, ``P21 w`` (mV); pooling becomes a convolution with one-channel kernels (a
    weighted ``AvgPool2d`` cannot be written); ``i_offset`` and a bias become the linear node's
    bias ``(1 - P11) P20 I``, which the current turns into ``P20 I`` per step once it has
    built up (about ``tau_syn``; NEST adds it from the first step). What no NIR neuron has:
    the refractory period (our neurons skip its steps after a spike; theirs integrate at
    once), and the one step by which NEST's membrane takes its current later.
    """
    import nir

    layer = network.layers[index]
    neuron = network.neuron_of(layer)
    if layer.cell != "IF_curr_exp" or layer.reset != "v_reset":
        raise ParameterError(f"layer {index}: the discrete export writes IF_curr_exp neurons "
                             f"that reset to v_reset (got {layer.cell}, reset {layer.reset})")
    if neuron.tau_syn_E != neuron.tau_syn_I:
        raise ParameterError(f"layer {index}: tau_syn_E {neuron.tau_syn_E} and tau_syn_I "
                             f"{neuron.tau_syn_I} differ; a NIR CubaLIF has one tau_syn")
    p = network.propagators(layer)
    tau_syn, tau_mem = dt_s / (1.0 - p.P11ex), dt_s / (1.0 - p.P22)
    full = lambda value: np.full(layer.out_shape, float(value))  # noqa: E731
    node = nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(tau_mem / dt_s),
                       w_in=full(tau_syn / dt_s), v_leak=full(0.0),
                       v_threshold=full(neuron.v_thresh - neuron.v_rest),
                       v_reset=full(neuron.v_reset - neuron.v_rest),
                       metadata={"lifresponse": {"discrete_dt_s": dt_s,
                                                 "tau_refrac_ms": neuron.tau_refrac}})
    step = PA_PER_NA * p.P21ex  # mV of membrane per step per nA of weight
    projections = []
    for projection in network.projections(index):
        weight = np.asarray(projection.weight, dtype=float) * step
        if projection.kind == "pool":
            channels = projection.in_shape[0]
            kernel = np.zeros((channels, channels, *weight.shape))
            kernel[np.arange(channels), np.arange(channels)] = weight
            projection = replace(projection, kind="conv", weight=kernel)
        else:
            projection = replace(projection, weight=weight)
        projections.append(projection)
    current = (neuron.i_offset + (0.0 if layer.bias is None else np.asarray(layer.bias)))
    bias = np.broadcast_to((1.0 - p.P11ex) * p.drive * PA_PER_NA * current,
                           (layer.out_shape[0] if layer.kind != "dense" else layer.n_out,))
    return node, projections, np.array(bias, dtype=float)


def _weight_unit(projection: Projection, index: int) -> float:
    """nA (or mV) per unit of a projection's NIR weight: 1, or for pooling the window's weight
    times its size (``AvgPool2d`` averages)."""
    if projection.kind != "pool":
        return 1.0
    window = np.asarray(projection.weight)
    if not np.all(window == window.flat[0]):
        raise ParameterError(f"layer {index} (pool): its window's weights differ; NIR pooling "
                             "has equal weights")
    return float(window.flat[0]) * window.size


def _linear_nodes(projection: Projection, bias, suffix: str) -> list:
    """(name, node) of the NIR linear nodes of one projection, in order."""
    import nir

    if projection.kind == "conv":
        return [(f"conv{suffix}", nir.Conv2d(
            input_shape=np.array(projection.in_shape[1:]),
            weight=np.asarray(projection.weight), stride=np.array(projection.stride),
            padding=np.array(projection.padding), dilation=np.array([1, 1]), groups=1,
            bias=np.zeros(projection.out_shape[0]) if bias is None else bias))]
    if projection.kind == "pool":
        return [(f"pool{suffix}", nir.AvgPool2d(
            kernel_size=np.array(np.shape(projection.weight)),
            stride=np.array(projection.stride), padding=np.array(projection.padding)))]
    nodes = []
    if len(projection.in_shape) > 1:
        nodes.append((f"flatten{suffix}", nir.Flatten(
            input_type={"input": np.array(projection.in_shape)}, start_dim=0)))
    return nodes + [(f"dense{suffix}", nir.Affine(
        weight=np.asarray(projection.weight).T.copy(),
        bias=np.zeros(projection.n_out) if bias is None else bias))]


def _neuron_node(layer: Layer, neuron: LIFParams, gain: float, index: int):
    """A NIR neuron node in which a unit of weight is ``gain`` nA (or mV), and the nA that a
    unit of bias before it stands for."""
    import nir

    if layer.cell == "IF_curr_exp" and neuron.tau_syn_E != neuron.tau_syn_I:
        raise ParameterError(f"layer {index}: tau_syn_E {neuron.tau_syn_E} and tau_syn_I "
                             f"{neuron.tau_syn_I} differ; a NIR CubaLIF has one tau_syn")
    shape = layer.out_shape
    full = lambda value: np.full(shape, float(value))  # noqa: E731
    tau_m_s = neuron.tau_m / 1000.0
    metadata = {"cell": layer.cell, "reset": layer.reset, "cm_nF": neuron.cm,
                "tau_refrac_ms": neuron.tau_refrac,
                "i_offset_nA": neuron.i_offset, "tau_m_ms": neuron.tau_m,
                "weight_per_unit": gain}
    if layer.bias is not None:
        metadata["bias_nA"] = np.asarray(layer.bias, dtype=float)
    if layer.cell == "IF_curr_exp":
        tau_syn_s = neuron.tau_syn_E / 1000.0
        metadata.update(tau_syn_ms=neuron.tau_syn_E, bias_nA_per_unit=tau_syn_s * gain)
        return nir.CubaLIF(tau_syn=full(tau_syn_s), tau_mem=full(tau_m_s),
                           r=full(neuron.tau_m / neuron.cm * gain), v_leak=full(neuron.v_rest),
                           v_threshold=full(neuron.v_thresh), v_reset=full(neuron.v_reset),
                           w_in=full(tau_syn_s), metadata={"lifresponse": metadata}), \
            tau_syn_s * gain
    metadata.update(bias_nA_per_unit=neuron.cm / 1000.0 * gain)
    return nir.LIF(tau=full(tau_m_s), r=full(tau_m_s * gain), v_leak=full(neuron.v_rest),
                   v_threshold=full(neuron.v_thresh), v_reset=full(neuron.v_reset),
                   metadata={"lifresponse": metadata}), neuron.cm / 1000.0 * gain
