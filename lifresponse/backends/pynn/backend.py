"""The backend interface, implemented once with the plain PyNN API.

A backend subclass names its PyNN module and distribution, the versions it supports, and
overrides a method only where its simulator offers a faster or necessary path (NEST) or needs
something PyNN does not say (sPyNNaker).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
from types import ModuleType

import numpy as np

from lifresponse.backends import quiet
from lifresponse.backends.pynn.presenting import PyNNPresenter
from lifresponse.errors import BackendError


def release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: ``"1!7.4.1"`` -> (7, 4, 1), ``"3.10.0"`` ->
    (3, 10, 0) (an epoch and any suffix such as ``rc1`` are dropped)."""
    version = version.split("!")[-1]
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


class PyNNBackend:
    """A PyNN simulator, started with the options lifresponse uses.

    Attributes
    ----------
    name : str
        The backend's name ("nest", "spinnaker").
    module_name : str
        The PyNN module to import.
    distribution : str
        The PyPI distribution of the simulator.
    supported : tuple
        ``(lowest, below)`` releases of ``distribution`` this code supports.
    spike_precision : str
        How spikes are timed: "on_grid" (every spike on the timestep grid).
    run_slices : int
        Pieces a calibration chunk is run in so a progress bar moves.
    inputs_fixed_at_build : bool
        True if ``SpikeSourceArray`` times can only be given when the network is built (so a
        deployment presents all its images as one block).
    noisy_current_dt_is_timestep : bool
        True if ``NoisyCurrentSource`` requires ``dt`` equal to the timestep.
    protocols : tuple of str
        Presentation protocols it can run, its default first
        (:mod:`lifresponse.networks.blocks`): "rest" needs :meth:`rest` and
        :meth:`silence`.
    runs_on_devices : bool
        True if it runs on a torch device (``DeployConfig.device``).
    simulates_without_gil : bool
        False: PyNN's simulators are driven from one thread.
    has_own_connectors : bool
        True if :meth:`build_native` builds with the simulator's own connectors.
    takes_spinnaker_weights : bool
        True if :meth:`population` passes a ``max_expected_summed_weight`` on (sPyNNaker).
    takes_bias_arrivals : bool
        True if it builds biases that arrive as synaptic input every step (``bias_onset``):
        a source per layer whose spike times are set block by block.
    sim : module
        The PyNN module, once :meth:`start` has run.
    """

    name = "pynn"
    implements = ("calibration", "deployment")  # lifresponse.backends.base
    module_name = ""
    distribution = ""
    supported: tuple = ((0,), (10**6,))
    spike_precision = "on_grid"
    run_slices = 1
    inputs_fixed_at_build = False
    noisy_current_dt_is_timestep = False
    protocols: tuple = ("continuing",)
    runs_on_devices = False
    simulates_without_gil = False
    has_own_connectors = False
    takes_spinnaker_weights = False
    takes_bias_arrivals = False

    def __init__(self):
        self.sim: ModuleType | None = None

    # -- starting and stopping -------------------------------------------------------------

    def installed_version(self) -> str:
        """Version of the simulator distribution, checked against :attr:`supported`.

        Raises
        ------
        BackendError
            If it is not installed or of a version outside :attr:`supported`.
        """
        try:
            found = importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise BackendError(f"backend {self.name!r} needs {self.distribution} "
                               f"(pip install {self.distribution})") from None
        lowest, below = self.supported
        if not lowest <= release(found) < below:
            raise BackendError(
                f"backend {self.name!r}: {self.distribution} {found} is not supported; "
                f"lifresponse needs {_dotted(lowest)} <= version < {_dotted(below)}")
        return found

    def load(self) -> ModuleType:
        """Import the PyNN module (after the version check), silencing PyNN's harmless CMake
        message about its optional NEST extension."""
        if self.sim is None:
            self.installed_version()
            os.environ.setdefault("PYNEST_QUIET", "1")
            try:
                with quiet():
                    self.sim = importlib.import_module(self.module_name)
            except ImportError as exc:
                raise BackendError(f"backend {self.name!r} needs {self.module_name} (pip "
                                   f"install {self.distribution}): {exc}") from exc
        return self.sim

    def setup_options(self, timestep: float, threads: int, seed: int) -> dict:
        """Keyword arguments of ``sim.setup``."""
        return {"timestep": float(timestep), "min_delay": float(timestep)}

    def start(self, timestep: float = 1.0, threads: int = 1, seed: int = 42) -> dict:
        """Import and set up the simulator: ``sim.setup`` with lifresponse's options.

        Parameters
        ----------
        timestep : float
            Simulation resolution (ms).
        threads : int
            Threads (>= 1), where the simulator has them.
        seed : int
            Kernel random seed, where the simulator takes one.

        Returns
        -------
        dict
            The options used, to be recorded in output files.
        """
        if threads < 1:
            raise BackendError("threads", f"must be >= 1 (got {threads})")
        sim = self.load()
        options = self.setup_options(timestep, threads, seed)
        with quiet():
            sim.setup(**options)
        return {k: v for k, v in options.items() if k != "verbosity"}

    def end(self) -> None:
        """``sim.end()``, quietly."""
        with quiet():
            self.sim.end()

    def version(self) -> str:
        """Version of the simulator distribution and of PyNN, for output files."""
        return (f"{self.distribution} {self.installed_version()}, "
                f"PyNN {importlib.metadata.version('PyNN')}")

    def is_virtual_board(self) -> bool:
        """True if the simulation ran on a virtual board, which returns no spikes."""
        return False

    def run_details(self, built) -> dict:
        """What the run file records of how the simulator holds the network ``built``, beyond
        the common entries (JSON-able; none here)."""
        return {}

    def energy_report_text(self) -> str:
        """The simulator's own measured energy report of the last run ("" if it wrote none)."""
        return ""

    # -- running -------------------------------------------------------------------------------

    def images_per_block(self, config) -> int:
        """Images whose input spikes are handed over at once (``DeployConfig.block``)."""
        return config.block

    def prepare(self, config) -> None:
        """Nothing: the simulator is imported and set up when the presenter starts."""

    def presenter(self, network, presentation, config):
        """Start the simulator for ``network``: a
        :class:`~lifresponse.backends.pynn.presenting.PyNNPresenter`, which builds it with its
        first block."""
        return PyNNPresenter(self, network, presentation, config)

    def run_to(self, time: float) -> None:
        """Simulate until every spike with a time stamp up to ``time`` (ms) has been emitted
        and recorded."""
        self.sim.run_until(float(time))

    def rest(self, layers, network) -> None:
        """Set every neuron of ``layers`` (the populations of ``network``'s layers) to rest now
        (only with "rest" in :attr:`protocols`)."""
        raise self._cannot_rest()

    def silence(self, layers, network) -> None:
        """Hold ``layers`` silent until :meth:`rest` (only with "rest" in :attr:`protocols`)."""
        raise self._cannot_rest()

    def _cannot_rest(self) -> BackendError:
        return BackendError(f"backend {self.name!r} cannot set a network to rest during a run; "
                            "use the 'continuing' protocol")

    # -- building ----------------------------------------------------------------------------

    def connect_list(self, pre_cells, post_cells, pre, post, weights, delay: float,
                     receptor: str) -> None:
        """Synapses ``pre[i] -> post[i]`` (population indices) with weight magnitudes (nA into
        ``IF_curr_exp``, mV into ``IF_curr_delta``).

        One sign per call: ``receptor`` is "excitatory" or "inhibitory" and ``weights`` are
        positive. A PyNN ``Projection`` with a ``FromListConnector``.
        """
        pairs = np.column_stack([np.asarray(pre, float), np.asarray(post, float),
                                 np.asarray(weights, float), np.full(len(pre), float(delay))])
        self.sim.Projection(pre_cells, post_cells, self.sim.FromListConnector(pairs),
                            self.sim.StaticSynapse(), receptor_type=receptor)

    def connect_poisson(self, cells, rates, weights, duration: float) -> None:
        """Drive cell ``i`` with its own Poisson train of ``rates[i]`` (Hz) through a synapse of
        signed weight ``weights[i]`` (nA), from time 0 to ``duration`` (ms)."""
        rates = np.asarray(rates, dtype=float)
        weights = np.asarray(weights, dtype=float)
        sources = self.sim.Population(len(rates), self.sim.SpikeSourcePoisson(
            rate=rates.tolist(), start=0.0, duration=float(duration)))
        for receptor, chosen in (("excitatory", weights >= 0), ("inhibitory", weights < 0)):
            if not chosen.any():
                continue
            index = np.flatnonzero(chosen)
            self.connect_list(sources, cells, index, index, np.abs(weights[index]),
                              self.sim.get_time_step(), receptor)

    def spike_times(self, trains) -> list:
        """Per-neuron spike times (ms) in the form ``SpikeSourceArray(spike_times=...)``
        takes."""
        return [np.asarray(t, dtype=float).tolist() for t in trains]

    def require_cells(self, network) -> None:
        """Refuse, naming the first layer, a network of a cell the started simulator does not
        have (sPyNNaker 1!7.4.1 has no ``IF_cond_alpha``)."""
        for index, layer in enumerate(network.layers):
            if not hasattr(self.sim, layer.cell):
                raise BackendError(f"layer {index} is of {layer.cell} neurons, which "
                                   f"{self.name} does not have; deploy it on NEST")

    def cell_type(self, network, index: int):
        """The PyNN cell type of layer ``index``'s neurons: its cell, its neuron's parameters,
        and, with a bias, ``i_offset`` per neuron (the neuron's plus the bias, nA).

        Raises
        ------
        BackendError
            The layer resets by subtraction, which no PyNN standard cell does (NEST runs it as
            a NESTML model: :class:`lifresponse.backends.nest.backend.NestBackend`).
        """
        layer = network.layers[index]
        if layer.reset == "subtract":
            raise BackendError(f"layer {index} resets by subtraction, which no built-in neuron "
                               f"of {self.name} does; deploy it on NEST (a NESTML model) or "
                               "the torch simulator")
        self.require_cells(network)
        parameters = network.neuron_of(layer).to_pynn(layer.cell)
        if layer.bias is not None:
            parameters["i_offset"] = parameters["i_offset"] + layer.offset_per_neuron()
        return getattr(self.sim, layer.cell)(**parameters)

    def population(self, size: int, cell, label: str, summed_weight=None, structure=None):
        """A population of ``size`` neurons of the PyNN cell type ``cell``.

        Parameters
        ----------
        summed_weight : tuple of float, optional
            The largest summed input expected per timestep, excitatory and inhibitory (nA), for
            a simulator that scales its weights by it (``takes_spinnaker_weights``).
        structure : pyNN.space.Structure, optional

        Raises
        ------
        BackendError
            If ``summed_weight`` is given to a simulator that does not scale its weights.
        """
        if summed_weight is not None:
            raise BackendError(f"{self.name!r} stores its weights as they are; it takes no "
                               "max_expected_summed_weight")
        return self.sim.Population(size, cell, structure=structure, label=label)

    def input_sources(self, n_inputs: int, trains=None):
        """The input population: ``n_inputs`` ``SpikeSourceArray`` sources, each firing at its
        train of ``trains`` (spike times, ms; None: no spikes yet)."""
        times = [] if trains is None else self.spike_times(trains)
        return self.sim.Population(n_inputs, self.sim.SpikeSourceArray(spike_times=times),
                                   label="input")

    def set_input_times(self, inputs, trains) -> None:
        """Give the sources of :meth:`input_sources` new spike times (ms), one train each."""
        inputs.set(spike_times=self.spike_times(trains))

    def spike_recorder(self, cells):
        """A recorder of every spike of ``cells`` (:class:`PyNNSpikeRecorder`)."""
        return PyNNSpikeRecorder(cells)

    def build_native(self, network, input_spike_times, cell_types, connectors: str,
                     summed_weight=None):
        """Populations and projections built with the simulator's own connectors, or None
        where there are none (then the builder uses connection lists)."""
        return None


class PyNNSpikeRecorder:
    """Spikes of every cell of a population through PyNN's own recording, as flat arrays."""

    def __init__(self, cells):
        self.cells = cells
        self.size = cells.size
        cells.record("spikes")

    def read(self, clear: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(cell index in population order, spike time in ms) of every spike so far.

        ``clear=True`` forgets them, so the next read returns only newer spikes.
        """
        trains = self.cells.get_data("spikes", clear=clear).segments[-1].spiketrains
        index = [np.full(len(t), int(t.annotations["source_index"])) for t in trains]
        times = [np.asarray(t.magnitude, dtype=float) for t in trains]
        if not index:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(index).astype(np.int64), np.concatenate(times)

    def counts(self) -> np.ndarray:
        """Spikes per cell so far, shape (cells.size,)."""
        return np.bincount(self.read()[0], minlength=self.size).astype(np.int64)


def _dotted(parts: tuple) -> str:
    return ".".join(map(str, parts))
