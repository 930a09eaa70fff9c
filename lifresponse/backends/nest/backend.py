"""NEST through PyNN, with NEST's own calls where PyNN's generic path is slow.

Every call into NEST itself (``nest.Create``, ``nest.Connect``, the kernel-level
``llapi_set_nc_status``) is in this module; the version check of :class:`NestBackend` guards
them (written and measured against NEST 3.10).
"""

from __future__ import annotations

import sys

import numpy as np

from lifresponse.backends.nest import subtract_reset
from lifresponse.backends.pynn.backend import PyNNBackend, PyNNSpikeRecorder
from lifresponse.cells import ADEX_CELLS, CONDUCTANCE_CELLS
from lifresponse.propagators import IZHIKEVICH_REST_U, IZHIKEVICH_REST_V, IZHIKEVICH_V_TH

NEST_PA_PER_NA = 1000.0  # PyNN currents and weights are in nA, NEST's in pA
SILENT_V_M = -1e30  # mV: a membrane this far below threshold cannot fire within a step
SILENT_V_TH = 1e6  # mV: a threshold no conductance-based membrane reaches (it stays near E_ex)
# PyNN's initial state of Izhikevich (its default_initial_values, v and u) and NEST's spike
# cutoff of izhikevich, which PyNN leaves at NEST's default
IZHIKEVICH_REST = {"V_m": IZHIKEVICH_REST_V, "U_m": IZHIKEVICH_REST_U, "V_th": IZHIKEVICH_V_TH}
IZHIKEVICH_SILENT = {**IZHIKEVICH_REST, "V_th": sys.float_info.max}


class NestBackend(PyNNBackend):
    """PyNN's NEST backend with ``spike_precision = "on_grid"`` (plain ``iaf_psc_exp``, as on
    SpiNNaker; PyNN's default ``off_grid`` is 4x slower), threads and a kernel seed."""

    name = "nest"
    module_name = "pyNN.nest"
    distribution = "nest-simulator"
    supported = ((3, 10), (4, 0))
    spike_precision = "on_grid"
    run_slices = 10  # a calibration chunk in ten runs, so the progress bar moves
    protocols = ("rest", "continuing")
    takes_bias_arrivals = True  # spike_generator times are set block by block

    def start(self, timestep: float = 1.0, threads: int = 1, seed: int = 42) -> dict:
        """As :meth:`PyNNBackend.start`, after setting torch (if imported) to one thread.

        Measured here (NEST 3.10 wheel and torch 2.13 CPU, each with its own libgomp): once NEST
        has run with 1 thread, ``torch.set_num_threads(2)`` makes the next NEST setup segfault
        in ``ResetKernel``, whatever its thread count; with torch back at 1 thread every order
        of 1 and 2 threads on both sides runs. Train-then-deploy in one process (a notebook,
        ``reproduce``) meets this; training sets torch's threads again when it starts.

        Input spike times are on the grid: PyNN's setup makes NEST's ``spike_generator`` take
        them as precise times, and then a time a rounding error above a grid point (``0.2 + 3 *
        0.1``) is a spike one step later; measured: at 0.1 ms some images' input spikes arrived
        a step late. With ``precise_times`` off NEST rounds each time to its grid point.
        """
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(1)
        info = super().start(timestep, threads, seed)
        import nest

        nest.SetDefaults("spike_generator", {"precise_times": False})
        return info

    def cell_type(self, network, index: int):
        """As :meth:`PyNNBackend.cell_type`; a layer that resets by subtraction gets the NESTML
        model of its cell (:mod:`lifresponse.backends.nest.subtract_reset`, built on first
        use)."""
        layer = network.layers[index]
        if layer.reset != "subtract":
            return super().cell_type(network, index)
        neuron = network.neuron_of(layer)
        i_offset = neuron.i_offset if layer.bias is None else (neuron.i_offset
                                                               + layer.offset_per_neuron())
        return subtract_reset.cell_type(self.sim, neuron, layer.cell, i_offset)

    def setup_options(self, timestep: float, threads: int, seed: int) -> dict:
        """Every delay is one step, so the longest may be short: PyNN's default of 10 ms made
        each step cost more (3.8-4.0 s against 2.7-3.6 s for 50 images x 300 ms, two development
        runs here, not a kept result); NEST
        refuses less than its synapses' default delay, 1 ms."""
        return {"timestep": float(timestep), "min_delay": float(timestep),
                "max_delay": max(float(timestep), 1.0),
                "spike_precision": self.spike_precision, "threads": int(threads),
                "rng_seed": int(seed), "verbosity": "error"}

    def run_to(self, time: float) -> None:
        """Simulate until NEST's clock reads ``time`` (ms): every step ending at or before it
        has run.

        PyNN's NEST clock runs one ``min_delay`` (here one step) ahead of PyNN's time after the
        first run (``pyNN/nest/simulator.py``, ``State.run``), so this is PyNN's
        ``run_until(time - timestep)``. Spike times recorded by NEST and given to a
        ``SpikeSourceArray`` are on NEST's clock.

        After PyNN's first run (which connects its devices and starts its clock), NEST is
        called directly: PyNN's ``run_until`` reads NEST's kernel status about ten times per
        call, 0.4 s of a 100-image deployment (two runs per image) in a development profile here.
        """
        if not self.sim.simulator.state.running:
            self.sim.run_until(float(time) - self.sim.get_time_step())
            return
        import nest

        remaining = float(time) - nest.biological_time
        if remaining > 0:
            nest.Simulate(remaining)

    def rest(self, layers, network) -> None:
        """Membranes at ``v_rest`` and the synaptic time constants back to each layer's neuron's,
        after :meth:`silence` has run at least
        :func:`~lifresponse.networks.blocks.settle_time`.

        Parameter changes take effect at the next run: PyNN calls ``nest.Simulate``, which
        recomputes every neuron's propagators from its parameters.
        """
        for population, layer in zip(layers, network.layers, strict=True):
            neuron = network.neuron_of(layer)
            if layer.cell == "Izhikevich":
                _set_all(population, IZHIKEVICH_REST)
                continue
            values = {"V_m": neuron.v_rest}
            if layer.cell in ("IF_curr_exp", "IF_curr_alpha"):
                values.update(tau_syn_ex=neuron.tau_syn_E, tau_syn_in=neuron.tau_syn_I)
            elif layer.cell == "IF_cond_exp":  # no spike is in flight: empty conductances
                values.update(g_ex=0.0, g_in=0.0, V_th=neuron.v_thresh)
            elif layer.cell == "IF_cond_alpha":  # the same, and their rates of change
                values.update(g_ex=0.0, dg_ex=0.0, g_in=0.0, dg_in=0.0, V_th=neuron.v_thresh)
            elif layer.cell in ADEX_CELLS:  # the same, no adaptation, the spike's peak back
                values.update(g_ex=0.0, g_in=0.0, w=0.0, V_th=neuron.v_thresh,
                              V_peak=neuron.v_spike)
                if layer.cell == "EIF_cond_alpha_isfa_ista":
                    values.update(dg_ex=0.0, dg_in=0.0)
            _set_all(population, values)

    def silence(self, layers, network) -> None:
        """Hold every neuron silent and empty its synaptic currents.

        ``iaf_psc_exp`` does not let its synaptic currents be set (NEST 3.10: "Unaccessed
        elements ... I_syn_ex"). So the membrane is set to :data:`SILENT_V_M`, where no input
        reaches threshold, and the synaptic time constants to a thousandth of a step, so that
        their decay factor ``exp(-h / tau_syn) = exp(-1000)`` is exactly 0.0 in double
        precision: one step later the currents hold only the spikes that arrived in that step,
        two steps later exactly nothing (no neuron fires meanwhile). ``iaf_psc_alpha``'s two
        current terms decay by the same factors (``tests/test_cells.py`` checks that images
        are independent). Refractory counters run down in the same steps. ``iaf_psc_delta``
        has no synaptic currents: its membrane alone. ``iaf_cond_exp`` (and ``iaf_cond_alpha``,
        the same way) lets its conductances be set, but its adaptive solver cannot take a
        membrane at :data:`SILENT_V_M` (it shrinks its substeps without end): its threshold
        goes to :data:`SILENT_V_TH` instead, and :meth:`rest` empties the conductances once
        the last spikes have arrived and puts the threshold back (the solver keeps its last
        substep size from image to image, so an image's spikes may differ from a fresh
        network's within the solver's tolerance). The adaptive exponential cells
        (``aeif_cond_exp``, ``aeif_cond_alpha``) are silenced the same way, their spike's peak
        ``V_peak`` raised with the threshold; :meth:`rest` also empties their adaptation
        current ``w``. ``izhikevich`` has no synaptic currents and no membrane below which it
        stays silent (its quadratic term drives a very negative ``v`` up, and a membrane past
        its unstable point runs off to infinity in a few Euler steps): its ``v`` and ``u`` are
        set to PyNN's initial values and its spike cutoff ``V_th`` to the largest double
        (:data:`IZHIKEVICH_SILENT`), which no membrane reaches within the settle time from
        there, and :meth:`rest` sets ``v``, ``u`` and ``V_th`` again (:data:`IZHIKEVICH_REST`):
        every image starts from the same state. (With ``V_th`` at :data:`SILENT_V_TH` instead,
        measured here: an Izhikevich MNIST network whose jumps reach hundreds of mV fired in
        the silence, after its membranes had been driven to thousands of mV below rest, and
        those spikes reached the next image; one image per NEST run gave the exact simulator's
        counts, eight in one run did not.)
        """
        tiny = network.timestep / 1000.0
        for population, layer in zip(layers, network.layers, strict=True):
            values = {"V_m": SILENT_V_M}
            if layer.cell in ("IF_curr_exp", "IF_curr_alpha"):
                values.update(tau_syn_ex=tiny, tau_syn_in=tiny)
            elif layer.cell in ADEX_CELLS:  # NEST wants V_peak >= V_th
                values = {"V_th": SILENT_V_TH, "V_peak": SILENT_V_TH}
            elif layer.cell == "Izhikevich":
                values = IZHIKEVICH_SILENT
            elif layer.cell in CONDUCTANCE_CELLS:
                values = {"V_th": SILENT_V_TH}
            _set_all(population, values)

    def connect_list(self, pre_cells, post_cells, pre, post, weights, delay: float,
                     receptor: str) -> None:
        """As :meth:`PyNNBackend.connect_list`, in one ``nest.Connect`` call: PyNN's
        ``FromListConnector`` connects post-synaptic neuron by neuron, which took 8 of 9 s to
        build the 200,000 synapses of 6c5-2s-12c5-2s-10fc."""
        import nest

        pre = np.asarray(pre, dtype=np.int64)
        sign = -1.0 if receptor == "inhibitory" else 1.0
        # PyNN's own rule: weights times 1000, times the cell's receptor_scale (1e-3 for
        # IF_curr_delta, whose weights are mV already)
        scale = NEST_PA_PER_NA * getattr(post_cells.celltype, "receptor_scale", 1.0)
        nest.Connect(node_ids(pre_cells)[pre], node_ids(post_cells)[np.asarray(post, np.int64)],
                     "one_to_one",
                     syn_spec={"synapse_model": "static_synapse",
                               "weight": sign * scale * np.asarray(weights, float),
                               "delay": np.full(len(pre), float(delay))})

    def connect_poisson(self, cells, rates, weights, duration: float) -> None:
        """One ``poisson_generator`` per cell, connected straight to it: PyNN's
        ``SpikeSourcePoisson`` relays every spike through a parrot neuron, which made the
        calibration sweep 10x slower (56 s against 5.5 s for 1,550 cells x 10 s at 1 ms)."""
        import nest

        generators = nest.Create("poisson_generator", len(rates),
                                 params={"rate": np.asarray(rates, dtype=float).tolist(),
                                         "stop": float(duration)})
        scale = NEST_PA_PER_NA * getattr(cells.celltype, "receptor_scale", 1.0)  # as above
        nest.Connect(generators, cells.node_collection, "one_to_one",
                     syn_spec={"weight": (scale * np.asarray(weights, float)).tolist(),
                               "delay": float(nest.resolution)})

    def input_sources(self, n_inputs: int, trains=None):
        """``n_inputs`` NEST ``spike_generator`` nodes, which :meth:`connect_list` connects
        straight to the first layer (:class:`SpikeGenerators`)."""
        return SpikeGenerators(n_inputs, trains)

    def set_input_times(self, inputs, trains) -> None:
        inputs.set_times(trains)

    def spike_recorder(self, cells):
        return NestSpikeRecorder(cells)


class SpikeGenerators:
    """The input sources on NEST: one ``spike_generator`` per input, each connected straight to
    its targets, where PyNN's ``SpikeSourceArray`` relays every spike through a parrot neuron
    (``uses_parrot`` in ``pyNN/nest/standardmodels/cells.py``) one step later, its times moved
    a step earlier to make up for it.

    A spike at ``t`` (ms, on the grid) reaches a target after the connection's one-step delay,
    as it does through PyNN's relay.

    Parameters
    ----------
    size : int
        Number of sources.
    trains : list of numpy.ndarray, optional
        Spike times (ms) of each source; None: no spikes yet.
    """

    def __init__(self, size: int, trains=None):
        import nest

        self.size = int(size)
        self.node_collection = nest.Create("spike_generator", self.size)
        self.all_cells = np.asarray(self.node_collection.tolist(), dtype=np.int64)
        if trains is not None:
            self.set_times(trains)

    def set_times(self, trains) -> None:
        """Replace every source's spike times (ms) through the kernel call (as
        :func:`_set_all`). Times are rounded to a microsecond: a time a rounding error off its
        grid point (``0.2 + 3 * 0.1``) is refused otherwise."""
        from nest.ll_api import nestkernel

        if len(trains) != self.size:
            raise ValueError(f"{len(trains)} spike trains for {self.size} input sources")
        nestkernel.llapi_set_nc_status(
            self.node_collection._datum,
            [{"spike_times": np.round(np.asarray(t, dtype=float), 6)} for t in trains])


def _set_all(population, values: dict) -> None:
    """The same ``values`` on every neuron of ``population``, through the kernel call:
    ``NodeCollection.set`` first reads whether every node is local (``get``), which took 8 of
    17 s of a 40-image deployment that sets the state twice per image."""
    from nest.ll_api import nestkernel

    nestkernel.llapi_set_nc_status(population.node_collection._datum, [values])


def node_ids(cells) -> np.ndarray:
    """NEST node ids of a PyNN population on NEST, in population order.

    From PyNN's own id array: ``NodeCollection.tolist`` reads every parameter of every node.
    """
    return np.asarray(cells.all_cells, dtype=np.int64)


class NestSpikeRecorder(PyNNSpikeRecorder):
    """Spikes of every cell of a population from a NEST ``spike_recorder``, as flat arrays.

    PyNN's ``get_data`` builds a Neo spike train per cell, which took 2.4 of 10.6 s in a
    1,860-neuron calibration sweep.
    """

    def __init__(self, cells):
        import nest

        self.cells = cells
        self.size = cells.size
        self._recorder = nest.Create("spike_recorder")
        nest.Connect(cells.node_collection, self._recorder)
        ids = node_ids(cells)
        # NEST node id -> index in the population (-1: not in it); one gather per read.
        self._index = np.full(ids.max() + 1, -1, dtype=np.int64)
        self._index[ids] = np.arange(ids.size)

    def read(self, clear: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(cell index in population order, spike time in ms) of every spike so far.

        ``clear=True`` forgets them, so the next read returns only newer spikes.
        """
        events = self._recorder.get("events")
        senders = np.asarray(events["senders"], dtype=np.int64)
        times = np.asarray(events["times"], dtype=float)
        if clear:
            self._forget_events()
        return self._index[senders], times

    def _forget_events(self) -> None:
        """Empty the recorder through the kernel call.

        ``NodeCollection.set`` first reads the recorder's whole status, its events included,
        which costs as much as reading them (0.2 s per 2 million spikes); the kernel call sets
        ``n_events`` alone (40 us).
        """
        from nest.ll_api import nestkernel

        nestkernel.llapi_set_nc_status(self._recorder._datum, [{"n_events": 0}])
