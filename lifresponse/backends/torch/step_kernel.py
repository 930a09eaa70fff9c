"""The exact simulator's step loop compiled for the CPU (``step_kernel.c``), loaded with ctypes.

The torch backend runs a batch on the CPU through this kernel: the same neuron update, in the
same order and with the same floating-point operations, as its torch tensor operations
(``lifresponse/backends/torch.py``, which a GPU runs), but one image at a time per core with the
image's whole state in the core's cache, and synapses as a table of each neuron's targets,
visited only for the neurons that spiked. The weights arriving in a step are summed presynaptic
neuron by neuron (torch sums them in its convolution's or matrix product's order, NEST in
delivery order), so a current may differ by a rounding error; ``tests/test_torch_backend.py``
finds the same spikes as the torch operations and as NEST, and so did 38 million spikes of the
MNIST network (docs/torch.md).

The C source is compiled on first use with the system's C compiler (``$CC``, else ``cc``) for
this CPU (``-march=native``) into the user's cache (``$XDG_CACHE_HOME/lifresponse`` or
``~/.cache/lifresponse``), under a name holding the hash of the source, flags and CPU, so a
changed kernel or another kind of CPU gets its own library, and concurrent processes (Dask
workers) never see half a file. Without a compiler :func:`load` says why and the
backend runs its torch operations instead.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from lifresponse.networks.blocks import n_time_bins, step_bins
from lifresponse.networks.encoding import Presentation
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import Connections, fan_outs
from lifresponse.propagators import PA_PER_NA, Propagators

SOURCE = Path(__file__).with_name("step_kernel.c")
# no fused multiply-adds (each product is rounded, as in NEST and in torch); no fast-math
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno",
         "-fno-trapping-math", "-fopenmp", "-fPIC", "-shared")
COMPILE_TIMEOUT_S = 300
REALS = {"float64": ("double", ctypes.c_double, np.float64),
         "float32": ("float", ctypes.c_float, np.float32)}
N_CONSTANTS = 7  # P22, P21ex, P21in, P11ex, P11in, theta, v_reset (step_kernel.c)


class KernelUnavailableError(RuntimeError):
    """The kernel could not be compiled or loaded here (the message says why)."""


def _layer_struct(real):
    class CLayer(ctypes.Structure):
        _fields_ = [("n_out", ctypes.c_int64), ("n_pre", ctypes.c_int64),
                    ("delta", ctypes.c_int32), ("refractory_steps", ctypes.c_int32),
                    ("c", real * N_CONSTANTS), ("drive", ctypes.c_void_p),
                    ("row", ctypes.c_void_p), ("target", ctypes.c_void_p),
                    ("weight", ctypes.c_void_p), ("fan_out", ctypes.c_void_p),
                    ("counts", ctypes.c_void_p)]
    return CLayer


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$XDG_CACHE_HOME/lifresponse`` or
    ``~/.cache/lifresponse``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lifresponse"


@functools.cache
def load(dtype: str):
    """The compiled kernel for ``dtype`` ("float64" or "float32"), compiling it if needed.

    Raises
    ------
    KernelUnavailableError
        No C compiler, it failed (its message is kept), or the cache cannot be written.
    """
    c_name, real, _ = REALS[dtype]
    compiler = shlex.split(os.environ.get("CC", "cc")) or ["cc"]
    if shutil.which(compiler[0]) is None:
        raise KernelUnavailableError(f"no C compiler ({compiler[0]!r} not found; set CC)")
    command = [*compiler, *FLAGS, f"-DREAL={c_name}"]
    try:
        key = hashlib.sha256(SOURCE.read_bytes() + " ".join([*command, _cpu()]).encode())
        library = cache_dir() / f"step_kernel_{dtype}_{key.hexdigest()[:16]}.so"
        if not library.exists():
            _compile(command, library)
        try:
            kernel = ctypes.CDLL(str(library))
        except OSError:  # a damaged library in the cache: build it once more
            _compile(command, library)
            kernel = ctypes.CDLL(str(library))
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        raise KernelUnavailableError(f"cannot build or load the kernel: {exc}") from None
    kernel.simulate.restype = ctypes.c_int
    kernel.simulate.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                ctypes.c_void_p, ctypes.c_int]
    return kernel, _layer_struct(real)


def _compile(command: list[str], library: Path) -> None:
    """Compile the source with ``command`` into ``library``, atomically (concurrent processes
    each build in their own folder and the last rename wins)."""
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as work:
        built = Path(work) / library.name
        result = subprocess.run([*command, str(SOURCE), "-o", str(built)], capture_output=True,
                                text=True, timeout=COMPILE_TIMEOUT_S)
        if result.returncode != 0:
            raise KernelUnavailableError(f"{command[0]} failed: {result.stderr.strip()[:500]}")
        os.replace(built, library)


def _cpu() -> str:
    """What -march=native compiles for: the machine and, on Linux, the CPU's model and
    features (a cache shared by the nodes of a cluster holds one library per kind of CPU)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    keys = ("model name", "flags", "Features", "CPU implementer", "CPU part", "cpu model",
            "isa", "vendor_id")
    described = sorted({line.strip() for line in lines if line.startswith(keys)})
    return " ".join([platform.machine(), platform.processor(), *described])


class CompiledNetwork:
    """A network's synapse tables and constants in the kernel's layout, for ``dtype``; built
    once per presenter and used for every block.

    Parameters
    ----------
    network : Network
    dtype : str
        "float64" (exact) or "float32".
    connections : list of Connections
        The network's :func:`~lifresponse.networks.topology.network_connections`.
    """

    def __init__(self, network: Network, dtype: str, connections: list[Connections]):
        self.kernel, self.layer_struct = load(dtype)
        self.real = REALS[dtype][2]
        self.network = network
        self.tables = [self._table(layer, c)
                       for layer, c in zip(network.layers, connections, strict=True)]
        fan_out = fan_outs(connections)  # synaptic events one spike of each layer causes
        self.fan_out = [fan_out[i].astype(np.float64) for i in range(len(network.layers))]
        self.constants = [Propagators.of(network.neuron_of(layer), network.timestep, layer.cell)
                          for layer in network.layers]
        # the constant drive per neuron and step (the bias's zeros add exactly nothing)
        self.drives = [np.ascontiguousarray(p.drive_of(p.i_offset + layer.bias_per_neuron()),
                                            dtype=self.real)
                       for layer, p in zip(network.layers, self.constants, strict=True)]

    def _table(self, layer: Layer, connections: Connections) -> tuple:
        """(row offsets, targets, weights) of the synapses into ``layer`` by source neuron;
        zero weights have no synapse (as on NEST)."""
        keep = connections.weight != 0
        pre, post = connections.pre[keep], connections.post[keep]
        weight = np.asarray(connections.weight[keep], dtype=np.float64)  # as the torch path
        if layer.cell == "IF_curr_exp":
            weight = weight * PA_PER_NA
            post = np.where(weight < 0, post + layer.n_out, post)
        if 2 * layer.n_out > np.iinfo(np.int32).max:
            raise KernelUnavailableError(f"a layer of {layer.n_out} neurons is too large for "
                                         "the kernel's 32-bit neuron numbers")
        order = np.lexsort((post, pre))
        row = np.zeros(connections.n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=connections.n_pre), out=row[1:])
        return (row, np.ascontiguousarray(post[order], dtype=np.int32),
                np.ascontiguousarray(weight[order], dtype=self.real))

    def simulate(self, inputs, n_images: int, presentation: Presentation, threads: int,
                 log_spikes: int = 0) -> tuple:
        """Run ``n_images`` images (input spikes ``inputs``) through ``presentation``'s window
        from rest. Returns every layer's spike counts (n_images, n_out) int32, the last layer's
        per (image, 10 ms bin, neuron) uint16, and the synaptic events every layer's spikes
        cause per bin (n_layers, n_bins), summed over the images. With ``log_spikes`` > 0 a
        fourth item: up to that many spikes as rows (image, layer, neuron, step), in no
        particular order (raises if there were more)."""
        layers = self.network.layers
        steps, n_bins = presentation.steps, n_time_bins(presentation.window)
        n_inputs = int(np.prod(self.network.input_shape))
        # input arrivals of (image, step), pixels in order; several spikes of a pixel in one
        # step arrive together (as in the torch operations, weight x number)
        key = (inputs.image * (steps + 1) + inputs.step) * n_inputs + inputs.neuron
        unique, spikes = np.unique(key, return_counts=True)
        slot, neuron = np.divmod(unique, n_inputs)
        in_ptr = np.searchsorted(slot, np.arange(n_images * (steps + 1) + 1)).astype(np.int64)
        neuron = np.ascontiguousarray(neuron, dtype=np.int32)
        spikes = np.ascontiguousarray(spikes, dtype=np.int32)
        counts = [np.zeros((n_images, layer.n_out), dtype=np.int32) for layer in layers]
        by_time = np.zeros((n_images, n_bins, layers[-1].n_out), dtype=np.uint16)
        events = np.zeros((len(layers), n_bins))
        structs = (self.layer_struct * len(layers))()
        for s, layer, (row, target, weight), p, drive, fan_out, count in zip(
                structs, layers, self.tables, self.constants, self.drives, self.fan_out,
                counts, strict=True):
            s.n_out, s.n_pre = layer.n_out, len(row) - 1
            s.delta = int(layer.cell == "IF_curr_delta")
            s.refractory_steps = p.refractory_steps
            s.c[:] = [p.P22, p.P21ex, p.P21in, p.P11ex, p.P11in, p.theta, p.v_reset]
            s.drive, s.row, s.target = drive.ctypes.data, row.ctypes.data, target.ctypes.data
            s.weight, s.fan_out, s.counts = weight.ctypes.data, fan_out.ctypes.data, \
                count.ctypes.data
        bins = np.ascontiguousarray(step_bins(presentation, n_bins), dtype=np.int32)
        log = np.zeros((log_spikes, 4), dtype=np.int32)
        logged = np.zeros(1, dtype=np.int64)
        status = self.kernel.simulate(len(layers), ctypes.cast(structs, ctypes.c_void_p),
                                      n_images, steps, in_ptr.ctypes.data, neuron.ctypes.data,
                                      spikes.ctypes.data, bins.ctypes.data, n_bins,
                                      by_time.ctypes.data, events.ctypes.data,
                                      log.ctypes.data if log_spikes else None, log_spikes,
                                      logged.ctypes.data, int(threads))
        if status != 0:
            raise MemoryError("the step kernel ran out of memory")
        if not log_spikes:
            return counts, by_time, events
        if logged[0] > log_spikes:
            raise ValueError(f"log_spikes: {logged[0]} spikes, more than {log_spikes}")
        return counts, by_time, events, log[:logged[0]]
