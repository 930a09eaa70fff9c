"""The 16-bit weights sPyNNaker loads onto the board, and the input its ring buffers can hold.

sPyNNaker (1!7.4) does not load the weights of a network file as they are. Per population and
synapse type (excitatory, inhibitory) its host code picks a left shift ``s``
(``PopulationVertex.get_ring_buffer_shifts``: from the user's ``max_expected_summed_weight``
when given, else from the incoming projections' weights and the expected input rate
``spikes_per_second`` / ``ring_buffer_sigma``; with every delay one timestep, as here, it takes
the worst case, all presynaptic neurons spiking with the largest weight in one step) and a
weight scale ``2^(15 - s)`` per nA (``get_weight_scales``, for current inputs, whose global
weight scale is 1). Each weight is stored as the whole number ``rint(|w| x scale)``, in 16 bits
(``synapse_io``; the local-only connectors' ``get_encoded_kernel_weights`` round the same way).

On the board (sPyNNaker's C source, ``synapses.c`` ``process_fixed_synapses`` and
``local_only.c``), every (delay slot, synapse type, neuron) has a 16-bit ring-buffer entry to
which each arriving weight is added, saturating at 65535; the neuron receives it shifted left by
``s`` as a 16.15 fixed-point number, i.e. ``x 2^(s - 15)`` nA. So one timestep's summed input of
one synapse type saturates at ``65535 / scale`` nA. Static synapses count saturations in their
provenance (``Times_synaptic_weights_have_saturated``); the local-only connectors do not.

:class:`BoardScaling` is the shift and scale of every population of a network as built on
sPyNNaker, stored as JSON; the exact simulator
runs with these integer weights and saturating sums (``deploy --backend torch
--spinnaker-weights``) and :func:`choose_scaling` picks a ``max_expected_summed_weight`` per
population from the largest sums a run of the exact simulator saw. sPyNNaker's own choice is
read by :meth:`lifresponse.backends.spinnaker.backend.SpiNNakerBackend.read_scaling`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import incoming
from lifresponse.paths import write_atomic

RING_BUFFER_MAX = 2**16 - 1  # a ring-buffer entry and a stored weight: 16 bits unsigned
LARGEST_SHIFT = 15  # 65535 << 16 no longer fits the neuron's signed 32-bit 16.15 input
RECEPTORS = ("excitatory", "inhibitory")


@dataclass(frozen=True)
class PopulationScaling:
    """How one population's incoming weights are stored.

    Attributes
    ----------
    layer : int
        The network layer the population belongs to.
    first, size : int
        Its neurons: ``first`` ... ``first + size - 1`` of the layer, in (map, row, column)
        order (one population per map with native connectors, the whole layer otherwise).
    shifts : tuple of int
        Ring-buffer left shift of the excitatory and inhibitory synapse type.
    weight_scales : tuple of float
        Whole-number units per nA of each synapse type (``2^(15 - shift)``).
    max_expected_summed_weight : tuple of float, optional
        What sPyNNaker was given (nA per timestep and synapse type); None: its own estimate.
    """

    layer: int
    first: int
    size: int
    shifts: tuple
    weight_scales: tuple
    max_expected_summed_weight: tuple | None = None

    def largest_sum(self) -> tuple:
        """The largest summed input (nA per timestep) each synapse type's entries hold."""
        return tuple(RING_BUFFER_MAX / scale for scale in self.weight_scales)


@dataclass(frozen=True)
class BoardScaling:
    """The weight storage of every population of a network built on sPyNNaker.

    Attributes
    ----------
    source : str
        Where the shifts came from (sPyNNaker's default estimate, or a chosen maximum).
    connectors : {"native", "lists"}
        How the network was built (this decides the populations).
    populations : tuple of PopulationScaling
    """

    source: str
    connectors: str
    populations: tuple

    def scales(self, network: Network) -> list[np.ndarray]:
        """Per layer, the weight scale of each neuron's excitatory and inhibitory input, an
        array (2, n_out) (units per nA).

        Raises
        ------
        ParameterError
            If the populations do not cover the network's layers exactly.
        """
        scales = [np.full((2, layer.n_out), np.nan) for layer in network.layers]
        for p in self.populations:
            if not 0 <= p.layer < len(scales) or p.first + p.size > scales[p.layer].shape[1]:
                raise ParameterError("spinnaker_weights", f"{self.source}: population of layer "
                                     f"{p.layer}, neurons {p.first} .. {p.first + p.size - 1}, "
                                     f"is not in the network ({network.architecture})")
            scales[p.layer][:, p.first:p.first + p.size] = np.asarray(p.weight_scales)[:, None]
        for index, s in enumerate(scales):
            if np.isnan(s).any():
                raise ParameterError("spinnaker_weights", f"{self.source}: no population holds "
                                     f"neuron {int(np.isnan(s).any(0).argmax())} of layer "
                                     f"{index} ({network.architecture})")
        return scales

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def read(path) -> BoardScaling:
    """A scaling file written by :func:`write` (``spinnaker check --write-scaling``).

    Raises
    ------
    FileFormatError
        If it is not one, naming the file and the field.
    """
    if not Path(path).is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a scaling file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("populations"), list) or \
            data.get("connectors") not in ("native", "lists"):
        raise FileFormatError(f"{path}: a scaling file has 'source', 'connectors' (native or "
                              "lists) and a list of 'populations'")
    populations = []
    for n, p in enumerate(data["populations"]):
        where = f"{path}: populations[{n}]"
        try:
            entry = PopulationScaling(**p)
        except TypeError as exc:
            raise FileFormatError(f"{where}: {exc}") from None
        for name in ("layer", "first", "size"):
            value = getattr(entry, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (
                    1 if name == "size" else 0):
                raise FileFormatError(f"{where}.{name}: must be a whole number >= "
                                      f"{1 if name == 'size' else 0} (got {value!r})")
        shifts, scales = entry.shifts, entry.weight_scales
        if not (isinstance(shifts, list) and len(shifts) == 2 and all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= LARGEST_SHIFT
                for s in shifts)):
            raise FileFormatError(f"{where}.shifts: two whole numbers 0 .. {LARGEST_SHIFT} "
                                  f"(got {shifts!r})")
        if not (isinstance(scales, list) and scales == [2.0 ** (15 - s) for s in shifts]):
            raise FileFormatError(f"{where}.weight_scales: must be 2^(15 - shift) for the "
                                  f"shifts {shifts} (got {scales!r})")
        given = entry.max_expected_summed_weight
        if given is not None and not (isinstance(given, list) and len(given) == 2 and all(
                isinstance(g, (int, float)) and not isinstance(g, bool) and math.isfinite(g)
                and g >= 0 for g in given)):
            raise FileFormatError(f"{where}.max_expected_summed_weight: two numbers >= 0 (nA) "
                                  f"or null (got {given!r})")
        populations.append(PopulationScaling(
            entry.layer, entry.first, entry.size, tuple(shifts), tuple(scales),
            None if given is None else tuple(float(g) for g in given)))
    return BoardScaling(str(data.get("source", path)), data["connectors"], tuple(populations))


def write(scaling: BoardScaling, path) -> None:
    write_atomic(path, scaling.to_json() + "\n")


def integer_weights(weight: np.ndarray, scale: np.ndarray, layer: int) -> np.ndarray:
    """``weight`` (nA) as the signed whole numbers sPyNNaker stores, ``rint(|w| scale)`` with
    the sign of ``w``; ``scale`` broadcasts against ``weight`` (the scale of each weight's
    synapse type and target).

    Raises
    ------
    ParameterError
        If a weight does not fit in 16 bits at its scale (sPyNNaker would wrap it around),
        naming the layer and the weight.
    """
    magnitude = np.rint(np.abs(weight) * scale)
    if magnitude.size and magnitude.max() > RING_BUFFER_MAX:
        k = np.unravel_index(int(np.argmax(magnitude)), magnitude.shape)
        w, s = float(np.broadcast_to(weight, magnitude.shape)[k]), float(
            np.broadcast_to(scale, magnitude.shape)[k])
        raise ParameterError("spinnaker_weights", f"layer {layer}: weight {w:.6g} nA is "
                             f"{abs(w) * s:.6g} units at {s:g} units per nA, more than the "
                             f"{RING_BUFFER_MAX} 16 bits hold; its population needs a larger "
                             "max_expected_summed_weight")
    return np.sign(weight) * magnitude


@dataclass(frozen=True)
class LayerQuantisation:
    """What 16-bit storage does to one layer's weights of one sign.

    Attributes
    ----------
    layer : int
    receptor : {"excitatory", "inhibitory"}
    n_weights : int
        Non-zero weights of that sign.
    shifts : tuple of int
        The smallest and largest shift among the layer's populations.
    zeroed : float
        Share of the weights stored as 0 (lost).
    max_relative_error : float
        Largest |stored - w| / |w| among the weights not stored as 0.
    """

    layer: int
    receptor: str
    n_weights: int
    shifts: tuple
    zeroed: float
    max_relative_error: float


def quantisation_table(network: Network, scaling: BoardScaling,
                       connections: list) -> list[LayerQuantisation]:
    """Per layer and sign, the effect of storing ``network``'s weights as ``scaling`` says
    (``connections``: its :func:`~lifresponse.networks.topology.network_connections`)."""
    scales = scaling.scales(network)
    rows = []
    for index, into in enumerate(connections):
        post, weight = incoming(into)
        for sign, receptor in enumerate(RECEPTORS):
            keep = weight > 0 if sign == 0 else weight < 0
            if not keep.any():
                continue
            w, s = weight[keep], scales[index][sign, post[keep]]
            stored = integer_weights(w, s, index) / s
            kept = stored != 0
            error = np.abs(stored[kept] - w[kept]) / np.abs(w[kept])
            shifts = [p.shifts[sign] for p in scaling.populations if p.layer == index]
            rows.append(LayerQuantisation(index, receptor, int(keep.sum()),
                                          (min(shifts), max(shifts)), float(np.mean(~kept)),
                                          float(error.max()) if error.size else 0.0))
    return rows


def choose_scaling(network: Network, layout: BoardScaling, peaks: list,
                   connections: list) -> dict:
    """A ``max_expected_summed_weight`` for every population of ``layout``: the largest summed
    input of each synapse type that a run of the exact simulator saw in one timestep
    (``peaks``: per layer, an array (2, channels) of nA, the maximum over images, steps and the
    neurons of each map), but never less than the population's largest single incoming weight
    (which must fit in 16 bits by itself).

    sPyNNaker then picks the shift ``s`` with ``2^s`` above that value, so its ring buffers
    hold up to ``2^(s + 1)`` nA, between two and four times the largest sum seen.

    Returns
    -------
    dict
        ``(layer, first)`` -> (excitatory, inhibitory) nA, for
        :meth:`lifresponse.backends.pynn.backend.PyNNBackend.population`.
    """
    chosen = {}
    for p in layout.populations:
        maps = population_maps(network, p)
        post, weight = incoming(connections[p.layer])
        into = (post >= p.first) & (post < p.first + p.size)
        values = []
        for sign in range(2):
            seen = float(np.max(peaks[p.layer][sign, maps], initial=0.0))
            w = weight[into & ((weight > 0) if sign == 0 else (weight < 0))]
            values.append(max(seen, float(np.abs(w).max(initial=0.0))))
        chosen[(p.layer, p.first)] = tuple(values)
    return chosen


def population_maps(network: Network, population: PopulationScaling) -> slice:
    """The maps (channels) of its layer that ``population`` holds (a dense layer: one)."""
    layer = network.layers[population.layer]
    per_map = layer.n_out // layer.out_shape[0]
    return slice(population.first // per_map, (population.first + population.size - 1)
                 // per_map + 1)


def headroom(network: Network, scaling: BoardScaling, peaks: list, layer: int,
             sign: int) -> float:
    """How many times the largest summed input it saw (``peaks``, as for
    :func:`choose_scaling`) the ring buffers of ``layer``'s populations hold, for synapse type
    ``sign`` (0 excitatory, 1 inhibitory): the smallest ratio over the populations (inf where a
    population saw no input)."""
    ratios = [p.largest_sum()[sign] / seen if (seen := float(
        np.max(peaks[layer][sign, population_maps(network, p)], initial=0.0))) > 0
        else np.inf for p in scaling.populations if p.layer == layer]
    return float(min(ratios))
