"""Read an ONNX model (``onnx`` package) as an :class:`~lifresponse.conversion.graph.AnnGraph`.

Operators: ``Conv`` (stride, symmetric padding, groups), ``Gemm`` and ``MatMul`` (+ ``Add`` of
a constant) as dense layers, ``BatchNormalization`` folded into the linear layer before it,
``Relu``, ``AveragePool`` and ``GlobalAveragePool``, ``MaxPool`` (read as its window's average,
or as a small network of ReLU populations computing the maximum exactly:
``max(x, y) = y + relu(x - y)``, pairwise over the window), ``Flatten`` and a ``Reshape``
to (batch, -1), ``Dropout`` and ``Identity`` (removed), ``Add`` of two branches (a residual
block: two terms of one population), ``Concat`` of channels (each consumer's weights split by
part), and a final ``Softmax`` / ``LogSoftmax`` (dropped: the largest output is the class).
Anything else is refused with a :class:`ConversionError` naming the operator, its node and why.

An average pooling whose windows tile its map is absorbed, exactly, by the convolution, dense
layer or average pooling that reads it (a convolution of kernel ``k`` and stride ``s`` after
``p x p`` windows is one of kernel ``k p`` and stride ``s p`` on the pooling's input, each weight
spread over its window): a layer of neurons fewer, and its noise, for more synapses (a 2x2
pooling absorbed into a 5x5 convolution makes a 10x10 kernel: four times that layer's synapses).
``absorb_pooling=False`` keeps every pooling a layer.

What the reader tracks for every tensor of the graph is one of: the input; a population
(values after a ReLU, or pooled non-negative values, that a layer of neurons will hold); a
linear sum not yet through a ReLU (terms and bias); a channel concatenation of those; or a
constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lifresponse.conversion.graph import (
    MAX_POOL_CHOICES,
    AnnGraph,
    Population,
    Term,
    fold_batch_norm,
)
from lifresponse.errors import FileFormatError, LifResponseError, ParameterError
from lifresponse.networks.network_file import Projection, output_side
from lifresponse.networks.topology import layer_connections


class ConversionError(LifResponseError, ValueError):
    """A model that cannot become a spiking network; the message names the operator and its
    node."""


@dataclass
class _Input:
    shape: tuple


@dataclass
class _Pop:
    index: int
    shape: tuple


@dataclass
class _Linear:
    terms: list
    shape: tuple
    bias: np.ndarray | None = None
    nonnegative: bool = False  # pooled populations: a ReLU would change nothing
    node: str = ""
    relu_owed: bool = False  # a max pooling moved before the ReLU that follows it
    materialised: object = None  # the population it became, once a consumer needed one


@dataclass
class _Concat:
    parts: list
    shape: tuple


@dataclass
class _Flat:
    """A value read flat: a dense layer's input (C order, as every source is numbered)."""

    value: object

    @property
    def shape(self) -> tuple:
        return (int(np.prod(self.value.shape)),)


def _unflat(value):
    """The value a flattened one reads (anything else as it is)."""
    return value.value if isinstance(value, _Flat) else value


@dataclass
class _Reader:
    graph: AnnGraph
    values: dict = field(default_factory=dict)
    consumers: dict = field(default_factory=dict)


SKIPPED = ("Dropout", "Identity")
FINAL = ("Softmax", "LogSoftmax")


def load_onnx(path):
    """The checked ``onnx.ModelProto`` of a file.

    Raises
    ------
    FileFormatError
        A file that is missing or not an ONNX model.
    """
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        raise FileFormatError(f"{path}: not an ONNX model ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return model


def read_model(model, source: str, max_pool: str = "average",
               absorb_pooling: bool = True) -> AnnGraph:
    """The ANN of an ``onnx.ModelProto`` (``source`` names it in messages), its max poolings
    read as ``max_pool`` (one of :data:`~lifresponse.conversion.graph.MAX_POOL_CHOICES`) and
    its tiling average poolings absorbed by what reads them unless ``absorb_pooling`` is False
    (module docstring).

    Raises
    ------
    ConversionError
        An operator or attribute the conversion does not take (named with its node).
    """
    from onnx import numpy_helper

    if max_pool not in MAX_POOL_CHOICES:
        raise ParameterError("max_pool", f"must be one of {', '.join(MAX_POOL_CHOICES)} (got "
                             f"{max_pool!r})")
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ConversionError(f"{source}: the model must have one input and one output (has "
                              f"{len(inputs)} and {len(graph.output)})")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) not in (2, 4) or any(d <= 0 for d in dims[1:]):
        raise ConversionError(f"{source}: input {inputs[0].name!r} has shape {dims}; expected "
                              "(batch, channels, height, width) or (batch, features)")
    reader = _Reader(AnnGraph(tuple(dims[1:]), source=source, max_pool=max_pool,
                              absorb_pooling=absorb_pooling))
    reader.values = dict(constants)
    reader.values[inputs[0].name] = _Input(tuple(dims[1:]))
    for node in graph.node:
        for name in node.input:
            reader.consumers.setdefault(name, []).append(node)
    output = graph.output[0].name
    for node in graph.node:
        _read_node(reader, node, node.output[0] == output, source)
    result = reader.values[output]
    result = _unflat(result)
    if isinstance(result, _Linear):
        _owe_nothing(result, "the output")
        _population(reader, result, relu=False)
    elif not (isinstance(result, _Pop) and result.index == len(reader.graph.populations) - 1):
        raise ConversionError(f"{source}: the output is not the last layer the graph computes")
    return reader.graph


def _read_node(reader: _Reader, node, is_output: bool, source: str) -> None:
    op, name = node.op_type, node.name or node.output[0]
    where = f"{source}: {op} node {name!r}"
    values = reader.values
    attrs = {a.name: _attribute(a) for a in node.attribute}
    if op == "Constant":
        values[node.output[0]] = attrs["value"]
        return
    args = []
    for i in node.input:
        if i and i not in values:
            raise ConversionError(f"{where}: its input {i!r} comes from nothing the "
                                  "conversion read")
        args.append(values.get(i) if i else None)
    if op in SKIPPED:
        values[node.output[0]] = args[0]
        return
    if op in FINAL:
        if not is_output:
            raise ConversionError(f"{where}: {op} is taken only as the model's last operation "
                                  "(the largest output is the class either way)")
        values[node.output[0]] = args[0]
        return
    if op not in HANDLERS:
        raise ConversionError(f"{where}: the operator {op} has no spiking counterpart here; "
                              "the conversion takes " + ", ".join(sorted(
                                  [*HANDLERS, *SKIPPED, *FINAL])))
    if all(isinstance(a, np.ndarray) for a in args if a is not None):
        raise ConversionError(f"{where}: an operation on constants only (shape arithmetic "
                              "of a dynamic export); export with constant folding")
    values[node.output[0]] = HANDLERS[op](reader, args, attrs, where, node)


def _attribute(a):
    from onnx import helper, numpy_helper

    value = helper.get_attribute_value(a)
    if hasattr(value, "data_type") and hasattr(value, "dims"):  # a TensorProto
        return numpy_helper.to_array(value)
    if isinstance(value, bytes):
        return value.decode()
    return value


def _source(reader: _Reader, value, where: str):
    """(source index, shape) of a value a linear operation may read: the input or a
    population (a pooled linear sum becomes one here)."""
    if isinstance(value, _Input):
        return -1, value.shape
    if isinstance(value, _Pop):
        return value.index, value.shape
    if isinstance(value, _Linear) and value.nonnegative and not value.relu_owed:
        if value.materialised is None:  # one population, however many read it
            value.materialised = _population(reader, value, relu=False)
        return value.materialised.index, value.materialised.shape
    if isinstance(value, _Linear):
        raise ConversionError(f"{where}: its input has no ReLU since the linear operation "
                              f"{value.node!r}; two linear operations in a row are not a "
                              "layer of neurons each")
    raise ConversionError(f"{where}: an input of type {type(value).__name__.strip('_')} "
                          "is not taken here")


def _population(reader: _Reader, value: _Linear, relu: bool) -> _Pop:
    graph = reader.graph
    graph.populations.append(Population(value.terms, value.shape, value.bias, relu,
                                        value.node))
    return _Pop(len(graph.populations) - 1, value.shape)


def _owe_nothing(value: _Linear, where: str) -> None:
    if value.relu_owed:
        raise ConversionError(f"{where}: a max pooling of values before their ReLU "
                              f"({value.node!r}) must be followed by that ReLU")


def _parts(reader: _Reader, value, where: str) -> list:
    """[(source, shape)] of a value a linear operation reads, in channel (or flat) order."""
    value = _unflat(value)
    if isinstance(value, _Concat):
        return [part for v in value.parts for part in _parts(reader, v, where)]
    return [_source(reader, value, where)]


def _absorbable(reader: _Reader, value):
    """(pooling term, its source, the source's shape, the pooled shape) if ``value`` is a plain
    average pooling of a population that the linear operation reading it can absorb exactly:
    equal weights, windows that tile the map (window = stride, no padding, the map a whole
    number of windows); else None."""
    value = _unflat(value)
    if not reader.graph.absorb_pooling:
        return None
    if not (isinstance(value, _Linear) and value.nonnegative and len(value.terms) == 1
            and value.bias is None and not value.relu_owed and value.materialised is None):
        return None
    term = value.terms[0]
    window = np.asarray(term.weight)
    if term.kind != "pool" or term.max_pool or tuple(window.shape) != tuple(term.stride) \
            or term.padding != (0, 0) or not np.all(window == window.flat[0]):
        return None
    shape = reader.graph.shape_of(term.source)
    if any(n % w for n, w in zip(shape[1:], window.shape, strict=True)):
        return None
    return term, term.source, tuple(shape), tuple(value.shape)


def _pads(attrs: dict, where: str) -> tuple:
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ConversionError(f"{where}: auto_pad {attrs['auto_pad']!r}; export with explicit "
                              "pads")
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise ConversionError(f"{where}: pads {pads} differ between sides; the spiking layers "
                              "pad both sides alike")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise ConversionError(f"{where}: dilations {list(attrs['dilations'])} are not taken")
    return tuple(pads[:2])


def _conv(reader, args, attrs, where, node) -> _Linear:
    x, weight, bias = (args + [None])[:3]
    weight = np.asarray(weight, float)
    if weight.ndim != 4:
        raise ConversionError(f"{where}: only 2-D convolutions (weight of shape "
                              f"{weight.shape})")
    padding, stride = _pads(attrs, where), tuple(attrs.get("strides", [1, 1]))
    groups = int(attrs.get("group", 1))
    if groups > 1:  # each group's kernel, zero elsewhere (zero weights make no synapses)
        c_out, c_per = weight.shape[0], weight.shape[1]
        full = np.zeros((c_out, c_per * groups, *weight.shape[2:]))
        for g in range(groups):
            rows = slice(g * c_out // groups, (g + 1) * c_out // groups)
            full[rows, g * c_per:(g + 1) * c_per] = weight[rows]
        weight = full
    if isinstance(x, _Flat):
        raise ConversionError(f"{where}: a convolution of flat values")
    absorbed = _absorbable(reader, x)
    if absorbed is not None and weight.shape[1] == absorbed[2][0]:
        # conv(pool(x)) as one convolution of x: each kernel weight spread over its window
        pool, source, _, pooled = absorbed
        kernel = np.kron(weight, np.asarray(pool.weight))  # (c_out, c_in, k s, k s)
        step = tuple(int(a * b) for a, b in zip(stride, pool.stride, strict=True))
        pad = tuple(int(a * b) for a, b in zip(padding, pool.stride, strict=True))
        return _Linear([Term(source, "conv", kernel, step, pad)],
                       _out_shape(weight.shape[0], pooled, weight.shape[2:], stride, padding),
                       None if bias is None else np.asarray(bias, float), node=node.name)
    parts = _parts(reader, x, where)
    if sum(in_shape[0] for _, in_shape in parts) != weight.shape[1]:
        raise ConversionError(f"{where}: weight of {weight.shape[1]} input channels on "
                              f"{sum(in_shape[0] for _, in_shape in parts)} channels")
    terms, shape, first = [], None, 0
    for source, in_shape in parts:
        if len(in_shape) != 3:
            raise ConversionError(f"{where}: a convolution of flat values {in_shape}")
        kernel = weight[:, first:first + in_shape[0]]
        first += in_shape[0]
        terms.append(Term(source, "conv", kernel, stride, padding))
        shape = _out_shape(weight.shape[0], in_shape, weight.shape[2:], stride, padding)
    return _Linear(terms, shape, None if bias is None else np.asarray(bias, float),
                   node=node.name)


def _dense(reader, x, weight: np.ndarray, bias, where, node) -> _Linear:
    absorbed = _absorbable(reader, x)
    if absorbed is not None and weight.shape[0] == int(np.prod(absorbed[3])):
        # dense(pool(x)) as one dense layer on x: each pooled input's row to its window
        pool, source, in_shape, pooled = absorbed
        pooling = layer_connections(Projection(source, "pool", in_shape, pooled,
                                               np.asarray(pool.weight), pool.stride))
        matrix = np.zeros((int(np.prod(in_shape)), weight.shape[1]))
        np.add.at(matrix, pooling.pre, pooling.weight[:, None] * weight[pooling.post])
        return _Linear([Term(source, "dense", matrix)], (weight.shape[1],), bias,
                       node=node.name)
    parts = _parts(reader, x, where)
    n_in = sum(int(np.prod(shape)) for _, shape in parts)
    if weight.shape[0] != n_in:
        raise ConversionError(f"{where}: weight of {weight.shape[0]} inputs on {n_in} values")
    terms, row = [], 0
    for source, shape in parts:
        size = int(np.prod(shape))
        terms.append(Term(source, "dense", weight[row:row + size]))
        row += size
    return _Linear(terms, (weight.shape[1],), bias, node=node.name)


def _gemm(reader, args, attrs, where, node) -> _Linear:
    x, b, c = (args + [None])[:3]
    if attrs.get("transA", 0):
        raise ConversionError(f"{where}: transA is not taken")
    weight = np.asarray(b, float) * float(attrs.get("alpha", 1.0))
    weight = weight.T if attrs.get("transB", 0) else weight
    bias = None if c is None else np.broadcast_to(np.asarray(c, float) * float(
        attrs.get("beta", 1.0)), (weight.shape[1],)).copy()
    return _dense(reader, x, weight, bias, where, node)


def _matmul(reader, args, attrs, where, node) -> _Linear:
    x, weight = args
    if not isinstance(weight, np.ndarray) or weight.ndim != 2:
        raise ConversionError(f"{where}: only a product with a constant matrix")
    return _dense(reader, x, np.asarray(weight, float), None, where, node)


def _batch_norm(reader, args, attrs, where, node) -> _Linear:
    x, scale, shift, mean, variance = args[:5]
    if not isinstance(x, _Linear) or x.nonnegative:
        raise ConversionError(f"{where}: batch normalisation is folded into the convolution "
                              "or dense layer right before it; here it follows "
                              f"{'a ReLU or pooling' if x is not None else 'nothing'}")
    bias = fold_batch_norm(x.terms, x.bias, scale, shift, mean, variance,
                           float(attrs.get("epsilon", 1e-5)))
    return _Linear(x.terms, x.shape, bias, node=x.node)


def _relu(reader, args, attrs, where, node):
    x = args[0]
    if isinstance(x, _Flat):
        return _Flat(_relu(reader, [x.value], attrs, where, node))
    if isinstance(x, _Concat):
        return _Concat([_relu(reader, [p], attrs, where, node) for p in x.parts], x.shape)
    if isinstance(x, (_Input, _Pop)):
        return x
    if x.nonnegative:  # a pooling: the ReLU changes nothing (and pays a max pooling's debt)
        x.relu_owed = False
        return _Pop(*_source(reader, x, where))
    return _population(reader, x, relu=True)


def _pool(reader, args, attrs, where, node) -> _Linear:
    x, op = args[0], node.op_type
    if isinstance(x, _Flat):
        raise ConversionError(f"{where}: pooling flat values")
    if isinstance(x, _Concat):
        raise ConversionError(f"{where}: pooling a channel concatenation; pool each branch "
                              "before concatenating")
    owed = False
    if isinstance(x, _Linear) and op == "MaxPool" and not x.nonnegative:
        follow = reader.consumers.get(node.output[0], [])
        if [n.op_type for n in follow] != ["Relu"]:
            raise ConversionError(f"{where}: a max pooling of values before their ReLU, not "
                                  "followed by one ReLU")
        x, owed = _population(reader, x, relu=True), True  # max and ReLU commute
    absorbed = _absorbable(reader, x) if op != "MaxPool" else None
    if absorbed is None:
        source, shape = _source(reader, x, where)
    else:  # an average of averages: one pooling of the inner one's source
        inner, source, _, shape = absorbed
    if len(shape) != 3:
        raise ConversionError(f"{where}: pooling flat values {shape}")
    if op == "GlobalAveragePool":
        window, stride, padding = shape[1:], shape[1:], (0, 0)
    else:
        window = tuple(attrs["kernel_shape"])
        stride, padding = tuple(attrs.get("strides", [1, 1])), _pads(attrs, where)
        if attrs.get("ceil_mode", 0):
            raise ConversionError(f"{where}: ceil_mode 1 is not taken")
        if op == "AveragePool" and padding != (0, 0) and not attrs.get("count_include_pad", 0):
            raise ConversionError(f"{where}: padded average pooling without "
                                  "count_include_pad: the spiking layer's window weights "
                                  "are fixed")
    out = _out_shape(shape[0], shape, window, stride, padding)
    if op == "MaxPool" and reader.graph.max_pool == "pairwise":
        return _pairwise_max(reader, source, out, window, stride, padding, node, owed)
    if absorbed is not None:  # in the inner pooling's source: every size times its stride
        window, stride, padding = (tuple(int(a * b) for a, b in zip(v, inner.stride,
                                                                     strict=True))
                                   for v in (window, stride, padding))
    weight = np.full(window, 1.0 / (window[0] * window[1]))
    return _Linear([Term(source, "pool", weight, stride, padding, op == "MaxPool")], out,
                   nonnegative=True, node=node.name, relu_owed=owed)


def _out_shape(channels: int, in_shape: tuple, window, stride, padding) -> tuple:
    """(channels, rows, columns) of a kernel or window over maps of ``in_shape``."""
    return (int(channels), *[output_side(n, k, s, p) for n, k, s, p in zip(
        in_shape[1:], window, stride, padding, strict=True)])


def _pairwise_max(reader, source: int, out: tuple, window, stride, padding, node,
                  owed: bool) -> _Linear:
    """A max pooling of non-negative values (zero padding gives the same maximum) as ReLU
    populations: each input of a window is a pooling term with a one-hot window;
    ``max(P, Q) = Q + relu(P - Q)`` joins them pairwise, each ``relu(P - Q)`` a population;
    the result is the sum that the next layer reads."""

    def one_hot(i: int, j: int) -> list:
        weight = np.zeros(window)
        weight[i, j] = 1.0
        return [Term(source, "pool", weight, stride, padding)]

    candidates = [one_hot(i, j) for i in range(window[0]) for j in range(window[1])]
    while len(candidates) > 1:
        joined = []
        for p, q in zip(candidates[::2], candidates[1::2], strict=False):
            difference = _combined(p + [_negated(t) for t in q])
            pop = _population(reader, _Linear(difference, out, node=f"{node.name} (max)"),
                              relu=True)
            joined.append(q + [_identity(pop.index, out)])
        candidates = joined + ([candidates[-1]] if len(candidates) % 2 else [])
    return _Linear(_combined(candidates[0]), out, nonnegative=True, node=node.name,
                   relu_owed=owed)


def _negated(term: Term) -> Term:
    return Term(term.source, term.kind, -term.weight, term.stride, term.padding)


def _combined(terms: list) -> list:
    """``terms`` with the pooling terms of one source, stride and padding summed into one
    window (the same synapses, one projection)."""
    out, index = [], {}
    for term in terms:
        key = (term.source, term.stride, term.padding) if term.kind == "pool" else None
        if key is not None and key in index:
            kept = out[index[key]]
            kept.weight = kept.weight + term.weight
        else:
            if key is not None:
                index[key] = len(out)
            out.append(Term(term.source, term.kind, np.array(term.weight), term.stride,
                            term.padding))
    return out


def _flatten(reader, args, attrs, where, node):
    if attrs.get("axis", 1) != 1:
        raise ConversionError(f"{where}: only Flatten(axis=1)")
    return _flat(args[0], where)


def _flat(x, where):
    if isinstance(x, _Flat):
        return x
    if isinstance(x, np.ndarray) or x is None:
        raise ConversionError(f"{where}: flattening a constant")
    return _Flat(x)


def _reshape(reader, args, attrs, where, node):
    x, shape = args[:2]
    shape = [int(s) for s in np.asarray(shape).ravel()]
    size = int(np.prod(x.shape)) if hasattr(x, "shape") else None
    if len(shape) != 2 or shape[0] not in (0, 1, -1) or shape[1] not in (-1, size):
        raise ConversionError(f"{where}: Reshape to {shape}; only to (batch, -1) (a flatten)")
    return _flat(x, where)


def _add(reader, args, attrs, where, node) -> _Linear:
    terms, bias, shape, nodes = [], None, None, []
    for value in args:
        value = _unflat(value)
        if isinstance(value, np.ndarray):
            continue
        if isinstance(value, _Linear):
            _owe_nothing(value, where)
            if not value.nonnegative:
                terms.extend(value.terms)
                bias = _sum(bias, value.bias)
                shape, nodes = value.shape, nodes + [value.node]
                continue
        source, pop_shape = _source(reader, value, where)  # a pooling: its population
        terms.append(_identity(source, pop_shape))
        shape = pop_shape
    if not terms:
        raise ConversionError(f"{where}: adds constants only")
    for value in args:
        if isinstance(value, np.ndarray):
            bias = _sum(bias, _constant_bias(value, shape, where))
    return _Linear(terms, shape, bias, node=node.name or "+".join(nodes))


def _identity(source: int, shape: tuple) -> Term:
    """A term passing a population on unchanged (the skip of a residual block)."""
    if len(shape) == 3:
        kernel = np.zeros((shape[0], shape[0], 1, 1))
        kernel[np.arange(shape[0]), np.arange(shape[0])] = 1.0
        return Term(source, "conv", kernel)
    return Term(source, "dense", np.eye(int(np.prod(shape))))


def _constant_bias(value: np.ndarray, shape: tuple, where: str) -> np.ndarray:
    squeezed = np.asarray(value, float).reshape(-1)
    channels = shape[0]
    if squeezed.size == channels and (len(shape) == 1 or value.ndim <= 1 or
                                      value.shape[-2:] in ((1, 1),)):
        return squeezed
    if squeezed.size == 1:
        return np.full(channels, float(squeezed[0]))
    raise ConversionError(f"{where}: a constant of shape {value.shape} is not one value per "
                          "channel")


def _sum(a, b):
    if a is None:
        return None if b is None else np.asarray(b, float)
    return a if b is None else a + b


def _concat(reader, args, attrs, where, node) -> _Concat:
    if attrs.get("axis") != 1:
        raise ConversionError(f"{where}: Concat along axis {attrs.get('axis')}; only "
                              "channels (axis 1)")
    if any(isinstance(value, np.ndarray) or value is None for value in args):
        raise ConversionError(f"{where}: concatenating constants")
    flat = [isinstance(value, _Flat) for value in args]
    if any(flat):  # a dense layer's input: values one after another
        if not all(flat):
            raise ConversionError(f"{where}: concatenating flat values and maps")
        return _Flat(_Concat(list(args), (sum(v.shape[0] for v in args),)))
    shapes = [value.shape for value in args]
    if len({s[1:] for s in shapes}) != 1:
        raise ConversionError(f"{where}: concatenating maps of sizes {shapes}")
    return _Concat(list(args), (sum(s[0] for s in shapes), *shapes[0][1:]))


HANDLERS = {"Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "BatchNormalization": _batch_norm,
            "Relu": _relu, "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _pool,
            "Flatten": _flatten, "Reshape": _reshape, "Add": _add, "Concat": _concat}
