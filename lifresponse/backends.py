"""PyNN backends by name: import, set up, and describe them.

The simulator module is always passed explicitly to the code that builds networks; this module only
knows how to obtain and start one. Backends are imported lazily, so the core package never pays for
(or depends on) a simulator it does not use.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import io
import os
import warnings
from types import ModuleType

import numpy as np

from lifresponse.errors import LifResponseError

BACKENDS = {"nest": ("pyNN.nest", "nest-simulator"), "spinnaker": ("pyNN.spiNNaker", "sPyNNaker")}
SPIKE_PRECISION = "on_grid"  # plain iaf_psc_exp, as SpiNNaker; PyNN's default off_grid is 4x slower


class BackendError(LifResponseError):
    """A backend name is unknown, or its simulator cannot be imported or started."""


def load(name: str) -> ModuleType:
    """Import the PyNN module of backend ``name`` ("nest" or "spinnaker").

    PyNN prints a harmless CMake error about its optional NEST extension on first import; it is
    silenced here.

    Raises
    ------
    BackendError
        If the name is unknown or the simulator is not installed.
    """
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module_name, distribution = BACKENDS[name]
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        with quiet():
            return importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(
            f"backend {name!r} needs {module_name} (pip install {distribution}): {exc}"
        ) from exc


def setup(sim: ModuleType, name: str, timestep: float = 1.0, threads: int = 1,
          seed: int = 42) -> dict:
    """Call ``sim.setup`` with the options lifresponse uses on backend ``name``.

    On NEST: ``spike_precision = "on_grid"`` (:data:`SPIKE_PRECISION`), ``threads`` and the
    kernel seed. sPyNNaker takes only the timestep (it has no threads, and seeds its sources
    itself).

    Parameters
    ----------
    sim : module
        The PyNN backend module from :func:`load`.
    name : str
        Its backend name.
    timestep : float
        Simulation resolution (ms).
    threads : int
        NEST threads (>= 1).
    seed : int
        NEST kernel random seed.

    Returns
    -------
    dict
        The options used, to be recorded in output files.
    """
    if threads < 1:
        raise BackendError(f"threads must be >= 1 (got {threads})")
    options = {"timestep": float(timestep), "min_delay": float(timestep)}
    if name == "nest":
        options.update(spike_precision=SPIKE_PRECISION, threads=int(threads),
                       rng_seed=int(seed), verbosity="error")
    try:
        with quiet():
            sim.setup(**options)
    except Exception as exc:  # sPyNNaker raises plain exceptions for a missing configuration
        if name != "spinnaker":
            raise
        raise BackendError(
            f"sPyNNaker could not start ({type(exc).__name__}: {exc}). It needs ~/.spynnaker.cfg "
            "and a spynnaker.cfg in the working directory naming a board, a spalloc server or "
            "'[Machine] virtual_board = True' with 'version = 5'."
        ) from exc
    return {k: v for k, v in options.items() if k != "verbosity"}


NEST_PA_PER_NA = 1000.0  # PyNN currents and weights are in nA, NEST's in pA


def is_nest(sim: ModuleType) -> bool:
    """True if ``sim`` is PyNN's NEST backend module."""
    return sim.__name__ == BACKENDS["nest"][0]


def connect_nest_poisson(cells, rates, weights, duration: float) -> None:
    """Drive each cell of a PyNN population on NEST with its own ``poisson_generator``.

    NEST-only shortcut around PyNN's ``SpikeSourcePoisson``, which relays every spike through a
    parrot neuron (10x slower for the high rates of calibration drives).

    Parameters
    ----------
    cells : pyNN.nest.Population
        Target cells.
    rates : numpy.ndarray
        Rate of each cell's generator (Hz), shape (cells.size,).
    weights : numpy.ndarray
        Signed weight of each connection (nA), shape (cells.size,).
    duration : float
        Generators stop after this time (ms).
    """
    import nest

    generators = nest.Create("poisson_generator", len(rates),
                             params={"rate": np.asarray(rates, dtype=float).tolist(),
                                     "stop": float(duration)})
    nest.Connect(generators, cells.node_collection, "one_to_one",
                 syn_spec={"weight": (NEST_PA_PER_NA * np.asarray(weights, float)).tolist(),
                           "delay": float(nest.resolution)})


def nest_ids(cells) -> np.ndarray:
    """NEST node ids of a PyNN population on NEST, in population order.

    From PyNN's own id array: ``NodeCollection.tolist`` reads every parameter of every node.
    """
    return np.asarray(cells.all_cells, dtype=np.int64)


def connect_list(sim: ModuleType, pre_cells, post_cells, pre, post, weights, delay: float,
                 receptor: str) -> None:
    """Synapses ``pre[i] -> post[i]`` (population indices) with weight magnitudes (nA).

    One sign per call: ``receptor`` is "excitatory" or "inhibitory" and ``weights`` are
    positive. On NEST one ``nest.Connect`` call makes them all: PyNN's ``FromListConnector``
    connects post-synaptic neuron by neuron, which took 8 of 9 s to build the 200,000 synapses
    of 6c5-2s-12c5-2s-10fc. Elsewhere (sPyNNaker) a PyNN ``Projection`` with a
    ``FromListConnector`` is made.
    """
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    if is_nest(sim):
        import nest

        sign = -1.0 if receptor == "inhibitory" else 1.0
        pre_ids = nest_ids(pre_cells)[pre]
        post_ids = nest_ids(post_cells)[post]
        nest.Connect(pre_ids, post_ids, "one_to_one",
                     syn_spec={"synapse_model": "static_synapse",
                               "weight": sign * NEST_PA_PER_NA * weights,
                               "delay": np.full(len(pre), float(delay))})
        return
    pairs = np.column_stack([pre, post, weights, np.full(len(pre), float(delay))])
    sim.Projection(pre_cells, post_cells, sim.FromListConnector(pairs), sim.StaticSynapse(),
                   receptor_type=receptor)


def spike_times(sim: ModuleType, trains) -> list:
    """Per-neuron spike times (ms) in the form ``SpikeSourceArray(spike_times=...)`` takes:
    PyNN ``Sequence`` objects on NEST, plain lists on sPyNNaker."""
    if is_nest(sim):
        from pyNN.parameters import Sequence

        return [Sequence(np.asarray(t, dtype=float)) for t in trains]
    return [np.asarray(t, dtype=float).tolist() for t in trains]


class SpikeRecorder:
    """Spikes of every cell of a population, read as flat arrays.

    On NEST a ``spike_recorder`` is read directly: PyNN's ``get_data`` builds a Neo spike train
    per cell, which took 2.4 of 10.6 s in a 1,860-neuron calibration sweep. Elsewhere PyNN's own
    recording is used.
    """

    def __init__(self, sim: ModuleType, cells):
        self.cells = cells
        self.size = cells.size
        self._recorder = None
        if is_nest(sim):
            import nest

            self._recorder = nest.Create("spike_recorder")
            nest.Connect(cells.node_collection, self._recorder)
            ids = nest_ids(cells)
            # NEST node id -> index in the population (-1: not in it); one gather per read.
            self._index = np.full(ids.max() + 1, -1, dtype=np.int64)
            self._index[ids] = np.arange(ids.size)
        else:
            cells.record("spikes")

    def read(self, clear: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(cell index in population order, spike time in ms) of every spike so far.

        ``clear=True`` forgets them, so the next read returns only newer spikes.
        """
        if self._recorder is not None:
            events = self._recorder.get("events")
            senders = np.asarray(events["senders"], dtype=np.int64)
            times = np.asarray(events["times"], dtype=float)
            if clear:
                self._forget_events()
            return self._index[senders], times
        trains = self.cells.get_data("spikes", clear=clear).segments[-1].spiketrains
        index = [np.full(len(t), int(t.annotations["source_index"])) for t in trains]
        times = [np.asarray(t.magnitude, dtype=float) for t in trains]
        if not index:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(index).astype(np.int64), np.concatenate(times)

    def _forget_events(self) -> None:
        """Empty NEST's recorder through the kernel call.

        ``NodeCollection.set`` first reads the recorder's whole status, its events included,
        which costs as much as reading them (0.2 s per 2 million spikes); the kernel call sets
        ``n_events`` alone (40 us).
        """
        from nest.ll_api import nestkernel

        nestkernel.llapi_set_nc_status(self._recorder._datum, [{"n_events": 0}])

    def counts(self) -> np.ndarray:
        """Spikes per cell so far, shape (cells.size,)."""
        return np.bincount(self.read()[0], minlength=self.size).astype(np.int64)


def virtual_board_note(what: str) -> str:
    """The sentence every output made on a virtual board carries."""
    return (f"sPyNNaker virtual board: {what} was mapped, but a virtual board returns no "
            "spikes; counts are not measurements")


def is_virtual_board(name: str) -> bool:
    """True if backend ``name`` maps onto a virtual SpiNNaker board, which returns no spikes.

    Only meaningful after ``setup``; always False for NEST.
    """
    if name != "spinnaker":
        return False
    from spinn_utilities.config_holder import get_config_bool

    return bool(get_config_bool("Machine", "virtual_board"))


def version(name: str) -> str:
    """Version of the simulator distribution behind backend ``name``, and of PyNN."""
    _, distribution = BACKENDS[name]
    return (f"{distribution} {importlib.metadata.version(distribution)}, "
            f"PyNN {importlib.metadata.version('PyNN')}")


@contextlib.contextmanager
def quiet():
    """Silence the simulators' start-up banners and deprecation chatter."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
