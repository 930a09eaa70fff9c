"""sPyNNaker (SpiNNaker 1) through PyNN, and every sPyNNaker internal lifresponse uses.

Internals used here, guarded by the version check of :class:`SpiNNakerBackend` (written against
sPyNNaker 1!7.4): ``set_number_of_neurons_per_core``, ``set_max_atoms_per_core``, the local-only
``ConvolutionConnector`` / ``PoolDenseConnector``, ``spinn_utilities``' configuration reader,
``FecDataView``'s placements, ``UtilsDataWriter``'s exit hook, and a population's vertex with
its ``get_ring_buffer_shifts`` / ``get_weight_scales`` / ``get_synapse_id_by_target`` and
given ``max_expected_summed_weight`` (:mod:`lifresponse.backends.spinnaker.weights`).
"""

from __future__ import annotations

import atexit
from dataclasses import asdict
from pathlib import Path

from lifresponse.backends import quiet
from lifresponse.backends.pynn.backend import PyNNBackend
from lifresponse.backends.spinnaker.connectors import (
    MapLayer,
    MapRecorder,
    atoms_per_core,
    native_projections,
    unsupported_reason,
)
from lifresponse.backends.spinnaker.hardware import NEURONS_PER_CORE
from lifresponse.backends.spinnaker.weights import (
    LARGEST_SHIFT,
    RECEPTORS,
    BoardScaling,
    PopulationScaling,
)
from lifresponse.errors import BackendError, ParameterError


class SpiNNakerBackend(PyNNBackend):
    """PyNN's sPyNNaker backend: a board, a spalloc server or a virtual board, as its
    ``spynnaker.cfg`` says; :data:`NEURONS_PER_CORE` ``IF_curr_exp`` neurons per core."""

    name = "spinnaker"
    module_name = "pyNN.spiNNaker"
    distribution = "sPyNNaker"
    supported = ((7, 0), (8, 0))
    inputs_fixed_at_build = True  # SpikeSourceArray times are loaded onto the board once
    noisy_current_dt_is_timestep = True
    has_own_connectors = True  # ConvolutionConnector / PoolDenseConnector
    takes_spinnaker_weights = True  # max_expected_summed_weight per population

    def require_cells(self, network) -> None:
        """As :meth:`PyNNBackend.require_cells`, and refuse ``Izhikevich`` networks: their
        weights are NEST's delta synapses (mV), and sPyNNaker's ``Izhikevich`` has exponential
        current synapses (nA)."""
        super().require_cells(network)
        for index, layer in enumerate(network.layers):
            if layer.cell == "Izhikevich":
                raise BackendError(f"layer {index} is of Izhikevich neurons, whose weights are "
                                   "jumps of the membrane (mV, NEST's delta synapses); "
                                   "sPyNNaker's Izhikevich has exponential current synapses "
                                   "(nA): deploy it on NEST")

    def start(self, timestep: float = 1.0, threads: int = 1, seed: int = 42) -> dict:
        """``sim.setup`` (sPyNNaker has no threads and seeds its sources itself), then the
        neurons per core of ``IF_curr_exp``.

        Raises
        ------
        BackendError
            If sPyNNaker cannot start (most often: no configuration).
        """
        try:
            options = super().start(timestep, threads, seed)
        except Exception as error:  # sPyNNaker raises plain ones, e.g. for no configuration
            if isinstance(error, BackendError) and error.__cause__ is None:
                raise  # ours, not sPyNNaker's (quiet() passes sPyNNaker's on as the cause)
            exc = error.__cause__ if isinstance(error, BackendError) else error
            raise BackendError(
                f"sPyNNaker could not start ({type(exc).__name__}: {exc}). It needs "
                "~/.spynnaker.cfg and a spynnaker.cfg in the working directory naming a board, "
                "a spalloc server or '[Machine] virtual_board = True' with 'version = 5'."
            ) from exc
        self.sim.set_number_of_neurons_per_core(self.sim.IF_curr_exp, NEURONS_PER_CORE)
        return options

    def population(self, size: int, cell, label: str, summed_weight=None, structure=None):
        """A population, given sPyNNaker's ``max_expected_summed_weight`` (nA per timestep,
        excitatory and inhibitory) when ``summed_weight`` is: its ring-buffer shifts then come
        from it (:mod:`lifresponse.backends.spinnaker.weights`)."""
        extra = {} if summed_weight is None else {
            "additional_parameters": {"max_expected_summed_weight": list(summed_weight)}}
        return self.sim.Population(size, cell, structure=structure, label=label, **extra)

    def is_virtual_board(self) -> bool:
        from spinn_utilities.config_holder import get_config_bool

        return bool(get_config_bool("Machine", "virtual_board"))

    def run_details(self, built) -> dict:
        """``spinnaker_scaling``: the ring-buffer shifts and weight scales sPyNNaker chose for
        every population (:meth:`read_scaling`), on a board or a virtual one."""
        return {"spinnaker_scaling": asdict(self.read_scaling(built, "sPyNNaker, as run"))}

    def read_scaling(self, built, source: str) -> BoardScaling:
        """The shifts and weight scales sPyNNaker chose for ``built``, a network built on this
        backend (:func:`lifresponse.backends.pynn.building.build`), taken from its own host
        code: each population's vertex's ``get_ring_buffer_shifts``, ``get_weight_scales``,
        ``get_synapse_id_by_target`` and the ``max_expected_summed_weight`` it was given
        (:mod:`lifresponse.backends.spinnaker.weights` says what they mean).

        Raises
        ------
        ParameterError
            If a shift is above :data:`~lifresponse.backends.spinnaker.weights.LARGEST_SHIFT`:
            the layer's weights or sums cannot be represented at any scale.
        """
        populations = []
        for index, layer in enumerate(built.layers):
            first = 0
            for population in getattr(layer, "populations", [layer]):
                vertex = population._vertex  # noqa: SLF001 - behind the version check
                shifts = vertex.get_ring_buffer_shifts()
                if max(shifts) > LARGEST_SHIFT:
                    raise ParameterError(
                        f"layer {index}: sPyNNaker needs a ring-buffer shift of {max(shifts)} "
                        f"for its summed input, above the {LARGEST_SHIFT} the neuron's 16.15 "
                        "fixed point allows: weights or summed inputs of 2^16 nA and more "
                        "cannot be represented at any scale")
                scales = vertex.get_weight_scales(shifts)
                kind = [vertex.get_synapse_id_by_target(r) for r in RECEPTORS]
                given = vertex._PopulationVertex__max_expected_summed_weight  # noqa: SLF001
                populations.append(PopulationScaling(
                    index, first, population.size, tuple(int(shifts[k]) for k in kind),
                    tuple(float(scales[k]) for k in kind),
                    None if given is None else tuple(float(given[k]) for k in kind)))
                first += population.size
        return BoardScaling(source, built.connectors, tuple(populations))

    def energy_report_text(self) -> str:
        """The newest ``energy_report_<n>.rpt`` of this run's report folder: sPyNNaker writes
        one after each run on a real board with ``[Reports] write_energy_report = True``
        (never on a virtual board)."""
        from spinn_front_end_common.data import FecDataView

        reports = sorted(Path(FecDataView.get_run_dir_path()).glob("energy_report_*.rpt"),
                         key=lambda path: path.stat().st_mtime)
        return reports[-1].read_text() if reports else ""

    def build_native(self, network, input_spike_times, cell_types, connectors: str,
                     summed_weight=None):
        """With ``connectors="native"`` and a network that qualifies
        (:func:`~lifresponse.backends.spinnaker.connectors.unsupported_reason`): one ``Grid2D``
        population per map and local-only projections; ``summed_weight(layer, first)``: the
        :meth:`population` argument of the population of ``layer`` from its neuron ``first``.
        Returns (inputs, layers) or None."""
        if connectors != "native" or unsupported_reason(network) is not None:
            return None
        return _build_native(self, network, input_spike_times, cell_types,
                             summed_weight or (lambda layer, first: None))

    def spike_recorder(self, cells):
        """A recorder of every spike of ``cells``: a population, or a layer built as one
        population per map (:class:`~lifresponse.backends.spinnaker.connectors.MapRecorder`)."""
        if isinstance(cells, MapLayer):
            return MapRecorder(self, cells)
        return super().spike_recorder(cells)

    def placements(self) -> tuple[int, int]:
        """(chips, application cores) of the mapped network, after a run."""
        from spinn_front_end_common.data import FecDataView

        placed = [p for p in FecDataView.iterate_placemements() if p.vertex.app_vertex is not None]
        return len({(p.x, p.y) for p in placed}), len(placed)

    def end_in_scratch_folder(self) -> None:
        """End a run whose report folder is about to be deleted.

        sPyNNaker registers an exit hook that writes "errored" into its report folder unless a
        "finished" file is there; the hook is removed with the folder.
        """
        from spinn_utilities.data.utils_data_writer import UtilsDataWriter

        with quiet():
            self.sim.end()
        atexit.unregister(UtilsDataWriter.write_errored_file)


def _build_native(backend, network, input_spike_times, cell_types, summed_weight):
    """Populations and local-only projections of ``network`` (see
    :mod:`~lifresponse.backends.spinnaker.connectors` for the kernel rule).

    Returns
    -------
    inputs : Population
        The input ``SpikeSourceArray``, a ``Grid2D`` map.
    layers : list of MapLayer
    """
    from pyNN.space import Grid2D

    sim = backend.sim

    def grid(shape, label, celltype, layer=None):
        channels, height, width = shape
        maps = [backend.population(height * width, celltype, f"{label}_map{m}",
                                   None if layer is None else summed_weight(
                                       layer, m * height * width),
                                   structure=Grid2D(width / height)) for m in range(channels)]
        for population in maps:
            population.set_max_atoms_per_core(atoms_per_core(width, height))
        return maps

    inputs = grid(network.input_shape, "input",
                  sim.SpikeSourceArray(spike_times=input_spike_times))[0]
    projections = native_projections(network)
    layers, previous = [], [inputs]
    for index, layer in enumerate(network.layers):
        label = f"layer{index}_{layer.kind}"
        if layer.kind == "dense":
            layers.append(MapLayer([backend.population(layer.n_out, cell_types[index], label,
                                                       summed_weight(index, 0))]))
        else:
            layers.append(MapLayer(grid(layer.out_shape, label, cell_types[index], index)))
        for projection in (p for p in projections if p.layer == index):
            source, target = previous[projection.pre_map], layers[-1].populations[
                projection.post_map]
            if projection.connector == "convolution":
                connector = sim.ConvolutionConnector(
                    projection.weights, pool_shape=projection.pool or None)
                dynamics = sim.Convolution(delay=network.timestep)
            else:
                connector = sim.PoolDenseConnector(projection.weights)
                dynamics = sim.PoolDense(delay=network.timestep)
            sim.Projection(source, target, connector, dynamics)
        previous = layers[-1].populations
    return inputs, layers
