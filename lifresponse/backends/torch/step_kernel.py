"""The exact simulator's step loop for the CPU, compiled by Numba.

The torch backend runs a batch on the CPU through this loop: the same neuron update, in the
same order and with the same floating-point operations, as its torch tensor operations
(:mod:`lifresponse.backends.torch.neuron_step`, which a GPU runs), but one image at a time per
thread with the image's whole state in the core's cache, and synapses as a table of each
neuron's targets, visited only for the neurons that spiked. The weights arriving in a step are
summed presynaptic neuron by neuron (torch sums them in its convolution's or matrix product's
order, NEST in delivery order), so a current may differ by a rounding error;
``tests/test_torch_backend.py`` finds the same spikes as the torch operations and as NEST, and
so did 38 million spikes of the MNIST network (docs/torch.md).

Numba compiles the loop from this file's Python (LLVM, for the CPU it runs on) on first use; no
C compiler is needed. ``cache=True`` keeps the machine code beside this module's own bytecode,
in its ``__pycache__`` (Numba checks the source file's time stamp and the CPU before it uses
it). Numba adds no fused multiply-adds (each product is rounded, as in NEST and in torch) and no
fast-math unless asked. The images of a batch are split into chunks that ``threads`` Python
threads run at once (the loop releases the GIL); there is no OpenMP runtime. The network is
passed as flat arrays that Numba types itself: no structure is mirrored by hand.

Layout: the neurons of all layers are numbered one after another (layer ``i`` from
``first[i]``); the synapses of each projection into layer ``i`` (one in a chain, more where a
residual block merges) are a table over its source's neurons (the input's, or an earlier
layer's): row ``s`` lists the targets of neuron ``s`` and their weights (pA into
``IF_curr_exp``, an inhibitory target numbered ``n_out + post``; mV into ``IF_curr_delta`` and
``Izhikevich``).
Within a step the layers are updated from the last to the first, so each layer reads its
sources' spikes of the step before (the one-step delay; sources come before the layers they
feed) before those layers overwrite them.

With SpiNNaker's weights (``scales``, :mod:`lifresponse.backends.spinnaker.weights`), the
table holds each weight as the signed whole number sPyNNaker stores, the arrivals of a step are
summed in those units per synapse type (exactly: whole numbers), every sum is held to the
65535 a ring-buffer entry holds, and only then turned into pA (mV) by the population's scale.
Watching the inputs (with or without those weights) also records the largest summed arrival of
each neuron and synapse type, and how many sums saturated.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from lifresponse.backends.spinnaker.weights import RING_BUFFER_MAX, integer_weights
from lifresponse.cells import one_input
from lifresponse.networks.blocks import n_time_bins, step_bins
from lifresponse.networks.encoding import Presentation
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import Connections, fan_outs
from lifresponse.propagators import IZHIKEVICH_REST_U, IZHIKEVICH_REST_V, input_unit

REALS = {"float64": np.float64, "float32": np.float32}
# columns of the constants; SUBTRACT: 1 where a spike subtracts RESET_JUMP instead of setting
# V_RESET; ALPHA: 1 for IF_curr_alpha, whose own constants follow (propagators.AlphaTerms);
# IZHIKEVICH: 1 for Izhikevich, whose own follow (propagators.IzhikevichTerms; THETA is its
# V_th, V_RESET its c)
(P22, P21EX, P21IN, P11EX, P11IN, THETA, V_RESET, SUBTRACT, RESET_JUMP, ALPHA, A_P21EX,
 A_P21IN, P31EX, P31IN, P32EX, P32IN, EXPM1_TAU_M, EPSC_EX, EPSC_IN, IZHIKEVICH, IZ_H, IZ_H_A,
 IZ_B, IZ_D, IZ_V_MIN, IZ_K2, IZ_K1, IZ_K0) = range(28)
IMAGES_PER_CHUNK = 4  # a thread's unit of work: small, so that threads finish together


class KernelUnavailableError(RuntimeError):
    """The loop cannot run this network (the message says why)."""


class CompiledNetwork:
    """A network's synapse tables and constants in the loop's layout, for ``dtype``; built once
    per presenter and used for every block.

    Parameters
    ----------
    network : Network
    dtype : str
        "float64" (exact) or "float32".
    connections : list of list of Connections
        The network's :func:`~lifresponse.networks.topology.network_connections`.
    scales : list of numpy.ndarray, optional
        SpiNNaker's weights: per layer, the weight scale of each neuron's excitatory and
        inhibitory input, (2, n_out) whole-number units per nA
        (:meth:`lifresponse.backends.spinnaker.weights.BoardScaling.scales`); None: the
        weights as they are.
    watch : bool
        Record each neuron's largest summed input per synapse type, and the saturations
        (always, with ``scales``).

    Raises
    ------
    KernelUnavailableError
        A layer too large for the loop's 32-bit neuron numbers.
    """

    def __init__(self, network: Network, dtype: str, connections: list[Connections],
                 scales: list | None = None, watch: bool = False):
        real = REALS[dtype]
        self.network = network
        layers = network.layers
        sizes = [layer.n_out for layer in layers]
        self.first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.watch = scales is not None or watch
        tables = [_table(layer, c, real, index, None if scales is None else scales[index],
                         self.watch)
                  for index, (layer, into) in enumerate(zip(layers, connections, strict=True))
                  for c in into]
        # the projections into layer i are numbered from projection_first[i]
        self.projection_first = np.concatenate(
            [[0], np.cumsum([len(into) for into in connections])]).astype(np.int64)
        self.source = np.array([c.source for into in connections for c in into], np.int64)
        # one table for all projections: rows of projection p from row_first[p], edges
        # numbered on
        self.row_first = np.concatenate([[0], np.cumsum([len(r) for r, _, _ in tables])])
        edge_first = np.concatenate([[0], np.cumsum([len(t) for _, t, _ in tables])])
        # unsigned, as the arrival offsets (_arrivals) and targets: an edge number from a signed
        # range costs each array access Numba's check for a negative (wrapping) index, 14 % of
        # the float64 loop's time here (1.94 s against 1.67 s for 1000 digits, a development
        # measurement, not kept)
        self.row = np.concatenate([r + e for (r, _, _), e in zip(tables, edge_first,
                                                                  strict=False)]).astype(np.uint64)
        self.target = np.concatenate([t for _, t, _ in tables])
        self.weight = np.concatenate([w for _, _, w in tables]).astype(real)
        fan_out = fan_outs(connections)
        self.fan_out = np.concatenate([fan_out[i] for i in range(len(layers))]
                                      ).astype(np.float64)  # synaptic events per spike
        propagators = [network.propagators(layer) for layer in layers]
        # a layer with delta synapses adds its arrivals to V (into_v 1) and has no current terms
        delta = np.array([one_input(layer.cell) for layer in layers])
        self.into_v = delta.astype(real)
        # each neuron's state at rest, where every image starts: the membrane (relative to
        # v_rest: 0; Izhikevich's v, absolute) and Izhikevich's recovery variable u (else 0)
        izhikevich = np.concatenate([np.full(layer.n_out, p.izhikevich is not None)
                                     for layer, p in zip(layers, propagators, strict=True)])
        self.rest_v = np.where(izhikevich, IZHIKEVICH_REST_V, 0.0).astype(real)
        self.rest_u = np.where(izhikevich, IZHIKEVICH_REST_U, 0.0).astype(real)
        # refractory counters are whole numbers in the real dtype (exact), so that every
        # select of the neuron update is of one width (float32 vectorises twice as wide)
        self.refractory_steps = np.array([p.refractory_steps for p in propagators], real)
        self.constants = np.array([[p.P22, 0.0 if d else p.P21ex, 0.0 if d else p.P21in,
                                    p.P11ex, p.P11in, p.theta, p.v_reset, p.subtract,
                                    p.reset_jump, *_alpha_columns(p),
                                    *_izhikevich_columns(p, real)]
                                   for p, d in zip(propagators, delta, strict=True)], dtype=real)
        # the constant drive per neuron and step, computed in float64 as NEST does (a bias's
        # zeros add exactly nothing)
        self.drive = np.concatenate([p.drive_of(p.i_offset + layer.offset_per_neuron())
                                     for layer, p in zip(layers, propagators, strict=True)]
                                    ).astype(real)
        # a bias that arrives as synaptic input (bias_onset): per neuron, into the excitatory
        # input, or for a current cell's negative bias the inhibitory one, in pA (mV), in every
        # step from bias_first[i] (never: the largest step number)
        self.bias_into = np.zeros(2 * self.first[-1], real)
        self.bias_first = np.full(len(layers), np.iinfo(np.int64).max, np.int64)
        for i, layer in enumerate(layers):
            if layer.bias_onset is None:
                continue
            a, n = self.first[i], layer.n_out
            excitatory, inhibitory = layer.arriving_bias()
            self.bias_into[2 * a:2 * a + n] = excitatory * input_unit(layer.cell)
            self.bias_into[2 * a + n:2 * a + 2 * n] = inhibitory * input_unit(layer.cell)
            self.bias_first[i] = layer.bias_onset
        # what one unit of a summed arrival is in the neuron's input (pA or mV), per layer
        # (excitatory, inhibitory) and neuron; the unit of the peaks, in weight units (nA, mV)
        weight_unit = [input_unit(layer.cell) for layer in layers]
        if scales is None:
            self.unit = np.ones(2 * self.first[-1], real)
            self.peak_unit = [np.full((2, n), u) for n, u in zip(sizes, weight_unit,
                                                                   strict=True)]
            self.limit = real(np.inf)
        else:
            self.peak_unit = list(scales)
            self.unit = np.concatenate([(u / s).ravel() for s, u in zip(scales, weight_unit,
                                                                         strict=True)]).astype(real)
            self.limit = real(RING_BUFFER_MAX)

    def simulate(self, encode, n_images: int, presentation: Presentation, threads: int,
                 log_spikes: int = 0) -> LoopResult:
        """Run ``n_images`` images through ``presentation``'s window from rest.

        Parameters
        ----------
        encode : callable
            ``encode(lo, hi)``: the input spikes of images ``lo`` ... ``hi - 1`` as
            :class:`~lifresponse.networks.encoding.InputSpikes`, numbered from 0 (e.g.
            ``InputSpikes.images``). Each thread encodes its own chunks, so the encoding runs
            in parallel with the other threads' simulation.
        n_images : int
        presentation : Presentation
        threads : int
        log_spikes : int
            > 0: log every spike, up to that many (the images then run in one thread); raises
            if there were more.
        """
        if log_spikes or threads == 1:
            batch = _Batch(self, encode, n_images, presentation, log_spikes)
            return batch.result([batch.run(0, n_images)])
        with ThreadPoolExecutor(threads) as pool:
            return self.start(pool, encode, n_images, presentation)()

    def start(self, pool: ThreadPoolExecutor, encode, n_images: int,
              presentation: Presentation) -> Callable[[], LoopResult]:
        """Hand ``n_images`` images (``encode`` as in :meth:`simulate`) to ``pool``'s threads
        in chunks of :data:`IMAGES_PER_CHUNK`, and return at once a function that waits for
        them and returns their :class:`LoopResult`.

        The pool takes chunks in the order they were handed to it, so a batch started before
        the last one's result is asked for keeps every thread busy across the batches' boundary
        (no thread waits for the slowest chunk of a batch)."""
        batch = _Batch(self, encode, n_images, presentation, 0)
        parts = [pool.submit(batch.run, lo, min(lo + IMAGES_PER_CHUNK, n_images))
                 for lo in range(0, n_images, IMAGES_PER_CHUNK)]
        return lambda: batch.result([part.result() for part in parts])


class _Batch:
    """The arrays one batch of images fills, and the loop over one chunk of them (any
    thread)."""

    def __init__(self, compiled: CompiledNetwork, encode, n_images: int,
                 presentation: Presentation, log_spikes: int):
        self.compiled, self.encode, self.log_spikes = compiled, encode, log_spikes
        self.steps, self.n_bins = presentation.steps, n_time_bins(presentation.window)
        network = compiled.network
        self.n_inputs = int(np.prod(network.input_shape))
        self.counts = np.zeros((n_images, compiled.first[-1]), dtype=np.int32)
        self.by_time = np.zeros((n_images, self.n_bins, network.layers[-1].n_out),
                                dtype=np.uint16)
        self.bins = step_bins(presentation, self.n_bins).astype(np.int64)
        self.log = np.zeros((log_spikes, 4), dtype=np.int32)
        self.logged = np.zeros(1, dtype=np.int64)
        self.watched = np.full(len(network.layers), compiled.watch)

    def run(self, lo: int, hi: int) -> tuple:
        """Encode and simulate images ``lo`` ... ``hi - 1``; their synaptic events per layer
        and bin, and the watched peaks and saturations."""
        c, inputs = self.compiled, self.encode(lo, hi)
        arrival_first, arrival_pixel, arrival_count = _arrivals(
            inputs.image, inputs.step, inputs.neuron, hi - lo, self.steps, self.n_inputs)
        watched_size = 2 * c.first[-1] if c.watch else 0  # unused unless watching
        peak = np.zeros(watched_size)
        saturated = np.zeros(watched_size, np.int64)
        events = _run_images(
            lo, hi, self.steps, self.bins, self.n_bins, arrival_first, arrival_pixel,
            arrival_count.astype(c.drive.dtype),  # weight x number, in dtype
            c.first, c.projection_first, c.source, c.row_first, c.row, c.target, c.weight,
            c.into_v, c.refractory_steps, c.constants, c.drive, c.rest_v, c.rest_u, c.fan_out,
            self.counts, self.by_time, self.log, self.logged, self.watched, c.unit, c.limit,
            peak, saturated, c.bias_into, c.bias_first)
        return events, peak, saturated

    def result(self, parts: list) -> LoopResult:
        """The batch's :class:`LoopResult` from the :meth:`run` of all its chunks."""
        c, log_spikes = self.compiled, self.log_spikes
        if self.logged[0] > log_spikes > 0:
            raise ValueError(f"log_spikes: {self.logged[0]} spikes, more than {log_spikes}")
        layers = list(zip(c.first[:-1], c.first[1:], strict=True))
        peak = np.max([part[1] for part in parts], axis=0)
        saturated = np.sum([part[2] for part in parts], axis=0)
        return LoopResult(
            [self.counts[:, a:b] for a, b in layers],
            self.by_time, np.sum([part[0] for part in parts], axis=0),  # whole numbers: exact
            self.log[:self.logged[0]],
            [peak[2 * a:2 * b].reshape(2, -1) / u for (a, b), u in zip(layers, c.peak_unit,
                                                                        strict=True)]
            if c.watch else None,
            [saturated[2 * a:2 * b].reshape(2, -1) for a, b in layers] if c.watch else None)


@dataclass
class LoopResult:
    """What :meth:`CompiledNetwork.simulate` returns.

    Attributes
    ----------
    counts : list of numpy.ndarray
        Every layer's spikes per (image, neuron), int32.
    by_time : numpy.ndarray
        The last layer's spikes per (image, 10 ms bin, neuron), uint16.
    events : numpy.ndarray
        Synaptic events every layer's spikes cause per bin, summed over the images
        (n_layers, n_bins).
    log : numpy.ndarray
        Every spike as a row (image, layer, neuron, step), in no particular order (empty
        unless ``log_spikes``).
    peaks : list of numpy.ndarray, optional
        Watching the inputs: per layer, each neuron's largest summed excitatory and inhibitory
        arrival in one step, (2, n_out), in weight units (nA into ``IF_curr_exp``, mV into
        ``IF_curr_delta``), magnitudes.
    saturated : list of numpy.ndarray, optional
        Watching the inputs: per layer, how many steps each neuron's summed excitatory and
        inhibitory arrival was held at the ring buffer's limit, (2, n_out).
    """

    counts: list
    by_time: np.ndarray
    events: np.ndarray
    log: np.ndarray
    peaks: list | None = None
    saturated: list | None = None


def _table(layer: Layer, connections: Connections, real, index: int, scale, split: bool
           ) -> tuple:
    """(row offsets, targets, weights) of the synapses into ``layer`` (number ``index``) by
    source neuron; zero weights have no synapse (as on NEST). With ``scale`` (2, n_out), the
    weights are SpiNNaker's whole numbers; ``split`` gives inhibitory synapses their own
    targets in any cell (for watching the inputs of each synapse type)."""
    keep = connections.weight != 0
    pre, post = connections.pre[keep], connections.post[keep]
    weight = np.asarray(connections.weight[keep], dtype=np.float64)  # as the torch path
    inhibitory = weight < 0
    if scale is not None:
        weight = integer_weights(weight, scale[inhibitory.astype(int), post], index)
    else:
        weight = weight * input_unit(layer.cell)
    if split or not one_input(layer.cell):
        post = np.where(inhibitory, post + layer.n_out, post)
    if 2 * layer.n_out > np.iinfo(np.int32).max:
        raise KernelUnavailableError(f"a layer of {layer.n_out} neurons is too large for the "
                                     "loop's 32-bit neuron numbers")
    order = np.lexsort((post, pre))
    row = np.zeros(connections.n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=connections.n_pre), out=row[1:])
    return row, post[order].astype(np.uint32), weight[order].astype(real)


@njit(cache=True, nogil=True)
def _arrivals(image, step, neuron, n_images, steps, n_inputs):
    """Input spikes grouped by (image, step): for slot ``b (steps + 1) + t``, the pixels that
    spike in step ``t`` of image ``b`` are ``pixel[first[slot]:first[slot + 1]]``, in pixel
    order, each with its number of spikes ``count`` (several spikes of a pixel in one step
    arrive together, weight x number, as in the torch operations)."""
    n = len(image)
    slots = n_images * (steps + 1)
    first = np.zeros(slots + 1, np.int64)
    in_pixel_order = True  # (image, pixel) order: how the encoders give the spikes
    for k in range(n):
        first[image[k] * (steps + 1) + step[k] + 1] += 1
        if k > 0 and (image[k] < image[k - 1]
                      or image[k] == image[k - 1] and neuron[k] < neuron[k - 1]):
            in_pixel_order = False
    by_pixel = np.arange(n) if in_pixel_order else np.argsort(image * n_inputs + neuron,
                                                               kind="mergesort")
    for slot in range(slots):  # prefix sums in place (a key array and np.cumsum made the
        first[slot + 1] += first[slot]  # grouping 3x slower, development measurement)
    fill = first[:-1].copy()
    by_slot = np.empty(n, np.uint32)  # a stable counting sort by slot keeps the pixel order
    for k in by_pixel:
        slot = image[k] * (steps + 1) + step[k]
        by_slot[fill[slot]] = neuron[k]
        fill[slot] += 1
    pixel = np.empty(n, np.uint32)
    count = np.empty(n, np.int32)
    grouped = np.zeros(slots + 1, np.uint64)  # unsigned: see CompiledNetwork.row
    m = 0
    for slot in range(slots):
        for e in range(first[slot], first[slot + 1]):
            p = by_slot[e]
            if e > first[slot] and p == pixel[m - 1]:
                count[m - 1] += 1
            else:
                pixel[m] = p
                count[m] = 1
                m += 1
        grouped[slot + 1] = m
    return grouped, pixel[:m], count[:m]


def start_numba() -> None:
    """Set up Numba's CPU target and load :func:`_arrivals` from its cache: about 0.3 s the
    first time in a process, almost all Numba's own set-up, done once before the first block
    (``TorchBackend.prepare``)."""
    empty = np.zeros(0, np.int64)
    _arrivals(empty, empty, empty, 0, 1, 1)


@njit(cache=True, nogil=True)
def _run_images(lo, hi, steps, bins, n_bins, arrival_first, arrival_pixel, arrival_count,
                first, projection_first, source_of, row_first, row, target, weight, into_v,
                refractory_steps, constants, drive, rest_v, rest_u, fan_out, counts, by_time,
                log, logged, watched, unit, limit, peak, saturated, bias_into, bias_first):
    """Simulate images ``lo`` ... ``hi - 1`` from rest (``rest_v``, ``rest_u``; module
    docstring: the layout), their input arrivals numbered from ``lo``; writes their rows of
    ``counts`` and ``by_time``, logs spikes into ``log`` if it has rows, watches the arrivals
    of the ``watched`` layers (:func:`_hold`), adds the biases that arrive as synaptic input,
    and returns the synaptic events every layer's spikes caused per bin, (n_layers, n_bins)."""
    n_layers = len(first) - 1
    n_neurons = first[-1]
    v = np.zeros_like(drive)
    i_ex = np.zeros_like(drive)
    i_in = np.zeros_like(drive)
    di_ex = np.zeros_like(drive)  # IF_curr_alpha: the currents' derivatives
    di_in = np.zeros_like(drive)
    u = np.zeros_like(drive)  # Izhikevich: the recovery variable
    arriving = np.concatenate((v, v))  # layer i: excitatory, then inhibitory, from 2 first[i]
    refractory = np.zeros_like(drive)  # steps left, whole numbers in the real dtype
    zero, one = drive.dtype.type(0), drive.dtype.type(1)
    widest = np.max(first[1:] - first[:-1])
    flag = np.zeros(widest + 8 - widest % 8, np.uint8)  # one layer's spikes of the step
    words = flag.view(np.uint64)  # read eight flags at a time: most are zero
    spiked = np.zeros(n_neurons, np.uint32)  # each layer's spikes of the step, from first[i]
    n_spiked = np.zeros(n_layers, np.int64)
    events = np.zeros((n_layers, n_bins))
    for b in range(lo, hi):
        v[:] = rest_v
        u[:] = rest_u
        i_ex[:] = 0
        i_in[:] = 0
        di_ex[:] = 0
        di_in[:] = 0
        arriving[:] = 0
        refractory[:] = 0
        n_spiked[:] = 0
        for t in range(steps):
            for i in range(n_layers - 1, -1, -1):
                a, n = first[i], first[i + 1] - first[i]
                into = arriving[2 * a:2 * a + 2 * n]
                for p in range(projection_first[i], projection_first[i + 1]):
                    rows = row[row_first[p]:]
                    origin = source_of[p]
                    if origin < 0:
                        slot = (b - lo) * (steps + 1) + t  # arrivals numbered from lo
                        for k in range(arrival_first[slot], arrival_first[slot + 1]):
                            s, times = arrival_pixel[k], arrival_count[k]
                            for e in range(rows[s], rows[s + 1]):
                                into[target[e]] += weight[e] * times
                    else:  # not yet updated in this step: its spikes of the step before
                        source = spiked[first[origin]:]
                        for k in range(n_spiked[origin]):
                            s = source[k]
                            for e in range(rows[s], rows[s + 1]):
                                into[target[e]] += weight[e]
                if watched[i]:
                    _hold(into[:2 * n], unit[2 * a:2 * a + 2 * n], limit,
                          peak[2 * a:2 * a + 2 * n], saturated[2 * a:2 * a + 2 * n],
                          into_v[i] > zero)
                if t >= bias_first[i]:
                    bias = bias_into[2 * a:2 * a + 2 * n]
                    for j in range(2 * n):
                        into[j] += bias[j]
                c = constants[i]
                if c[IZHIKEVICH] > zero:
                    _update_izhikevich(v[a:a + n], u[a:a + n], into[:n], flag[:n],
                                       drive[a:a + n], c)
                elif c[ALPHA] > zero:
                    _update_alpha((v[a:a + n], i_ex[a:a + n], i_in[a:a + n], di_ex[a:a + n],
                                   di_in[a:a + n], into[:n], into[n:], refractory[a:a + n],
                                   flag[:n], drive[a:a + n], c, refractory_steps[i], zero,
                                   one))
                else:
                    layer = (v[a:a + n], i_ex[a:a + n], i_in[a:a + n], into[:n], into[n:],
                             refractory[a:a + n], flag[:n], drive[a:a + n], c[P22], c[P21EX],
                             c[P21IN], c[P11EX], c[P11IN], c[THETA], c[V_RESET],
                             c[RESET_JUMP], into_v[i], refractory_steps[i], zero, one)
                    if c[SUBTRACT] > zero:
                        _update_subtracting(layer)
                    else:
                        _update_resetting(layer)
                m = 0
                for w in range((n + 7) // 8):
                    if words[w] != 0:
                        for j in range(8 * w, min(8 * w + 8, n)):
                            if flag[j]:
                                spiked[a + m] = j
                                m += 1
                n_spiked[i] = m
                caused = 0.0
                for k in range(m):
                    j = spiked[a + k]
                    counts[b, a + j] += 1
                    caused += fan_out[a + j]
                events[i, bins[t]] += caused
                if i == n_layers - 1:
                    for k in range(m):
                        by_time[b, bins[t], spiked[a + k]] += 1
                for k in range(m):
                    at = logged[0]
                    logged[0] += 1
                    if at < len(log):
                        log[at, 0], log[at, 1], log[at, 2], log[at, 3] = b, i, spiked[a + k], t
    return events


@njit(cache=True, nogil=True)
def _hold(into, unit, limit, peak, saturated, one_input):
    """A watched layer's summed arrivals of the step (excitatory, then inhibitory): record the
    largest magnitudes in ``peak``, hold each at +-``limit`` (counted in ``saturated``), turn
    them into the neuron's input (x ``unit``), and, for a neuron with ``one_input``
    (delta synapses), add the inhibitory sum to the excitatory one."""
    n = len(into) // 2
    for j in range(2 * n):
        x = into[j]
        size = abs(x)
        if size > peak[j]:
            peak[j] = size
        if size > limit:
            x = limit if x > 0 else -limit
            saturated[j] += 1
        into[j] = x * unit[j]
    if one_input:
        for j in range(n):
            into[j] += into[n + j]
            into[n + j] = 0


def _layer_update(subtract: bool):
    """One step of a layer's neurons that reset to ``v_reset`` or, with ``subtract``, by
    subtraction (module docstring of neuron_step: the equations); ``ex`` and ``inh``, what
    arrived, are read and cleared. No branches, so that LLVM vectorises the loop: refractory
    and spiking neurons are chosen by selects; an ``IF_curr_delta`` layer adds its arrivals to
    V (``into_v`` 1, its p21 0, so the current terms add exactly 0). ``subtract`` is a constant
    of the compiled function (Numba freezes a closure's variables), so each reset compiles to a
    loop of its own: as fast as one without the other. ``layer`` is the tuple of its arrays
    and constants (Numba calls no closure with ``*args``)."""

    @njit(nogil=True, inline="always")
    def update(layer):
        (v, i_ex, i_in, ex, inh, refractory, flag, drive, p22, p21ex, p21in, p11ex, p11in, theta,
         v_reset, reset_jump, into_v, refractory_steps, zero, one) = layer
        for j in range(len(v)):
            old = v[j]
            after = (((old * p22 + i_ex[j] * p21ex) + i_in[j] * p21in) + drive[j]
                     ) + ex[j] * into_v
            r = refractory[j]
            after = old if r > zero else after
            i_ex[j] = i_ex[j] * p11ex + ex[j]
            i_in[j] = i_in[j] * p11in + inh[j]
            spike = after >= theta
            if subtract:
                spike = spike & (r <= one)  # fires only when no longer refractory
                v[j] = after - reset_jump if spike else after
            else:  # held at v_reset while refractory: below threshold
                v[j] = v_reset if spike else after
            refractory[j] = refractory_steps if spike else (r - one if r > zero else zero)
            flag[j] = spike
            ex[j] = 0
            inh[j] = 0

    return update


_update_resetting = _layer_update(subtract=False)
_update_subtracting = _layer_update(subtract=True)


@njit(nogil=True, inline="always")
def _update_alpha(layer):
    """One step of an ``IF_curr_alpha`` layer's neurons (module docstring of neuron_step: the
    equations; ``c`` the layer's row of the constants), ``ex`` and ``inh`` read and cleared,
    branch-free as the other updates."""
    (v, i_ex, i_in, di_ex, di_in, ex, inh, refractory, flag, drive, c, refractory_steps, zero,
     one) = layer
    p11ex, p11in, p21ex, p21in = c[P11EX], c[P11IN], c[A_P21EX], c[A_P21IN]
    p31ex, p31in, p32ex, p32in = c[P31EX], c[P31IN], c[P32EX], c[P32IN]
    expm1_tau_m, epsc_ex, epsc_in, theta, v_reset = (c[EXPM1_TAU_M], c[EPSC_EX], c[EPSC_IN],
                                                     c[THETA], c[V_RESET])
    for j in range(len(v)):
        old = v[j]
        dex, din, iex, iin = di_ex[j], di_in[j], i_ex[j], i_in[j]
        after = ((((drive[j] + dex * p31ex) + iex * p32ex) + din * p31in) + iin * p32in)
        after = (after + old * expm1_tau_m) + old
        r = refractory[j]
        after = old if r > zero else after
        i_ex[j] = dex * p21ex + iex * p11ex
        i_in[j] = din * p21in + iin * p11in
        di_ex[j] = dex * p11ex + ex[j] * epsc_ex
        di_in[j] = din * p11in + inh[j] * epsc_in
        spike = after >= theta
        v[j] = v_reset if spike else after
        refractory[j] = refractory_steps if spike else (r - one if r > zero else zero)
        flag[j] = spike
        ex[j] = 0
        inh[j] = 0


@njit(nogil=True, inline="always")
def _update_izhikevich(v, u, arriving, flag, drive, c):
    """One step of an ``Izhikevich`` layer's neurons (module docstring of
    :mod:`lifresponse.propagators`: the equations; ``c`` the layer's row of the constants,
    ``drive`` its ``I_e``), ``arriving`` (the summed jumps, mV) read and cleared."""
    h, h_a, b, d, v_min = c[IZ_H], c[IZ_H_A], c[IZ_B], c[IZ_D], c[IZ_V_MIN]
    k2, k1, k0, v_th, reset = c[IZ_K2], c[IZ_K1], c[IZ_K0], c[THETA], c[V_RESET]
    for j in range(len(v)):
        v_old, u_old = v[j], u[j]
        slope = ((((v_old * k2) * v_old + v_old * k1) + k0) - u_old) + drive[j]
        after = v_old + (slope * h + arriving[j])
        recovery = u_old + ((v_old * b) - u_old) * h_a
        after = v_min if after < v_min else after
        spike = after >= v_th
        v[j] = reset if spike else after
        u[j] = recovery + d if spike else recovery
        flag[j] = spike
        arriving[j] = 0


def _izhikevich_columns(p, real) -> list:
    """The IZHIKEVICH ... IZ_K0 columns of the constants for propagators ``p`` (zeros but for
    Izhikevich), ``V_min`` held to the finite range of ``real`` (NEST's -DBL_MAX, which only
    -inf is below, is -inf in float32)."""
    z = p.izhikevich
    if z is None:
        return [0.0] * 9
    return [1.0, z.h, z.h_a, z.b, z.d, max(z.v_min, float(np.finfo(real).min)), z.k2, z.k1,
            z.k0]


def _alpha_columns(p) -> list:
    """The ALPHA ... EPSC_IN columns of the constants for propagators ``p`` (zeros but for
    IF_curr_alpha)."""
    a = p.alpha
    if a is None:
        return [0.0] * 10
    return [1.0, a.P21ex, a.P21in, a.P31ex, a.P31in, a.P32ex, a.P32in, a.expm1_tau_m, a.epsc_ex,
            a.epsc_in]
