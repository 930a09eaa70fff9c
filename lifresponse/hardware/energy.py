"""Energy of a spiking network on SpiNNaker, two ways.

1. **Synaptic-event model** (the paper's eq. 17-18): every spike of neuron ``j`` causes ``N_j``
   synaptic events (its fan-out), each costing ``E_syn`` (about 8 nJ on SpiNNaker):
   ``E = sum_j lambda_j N_j T E_syn``. This is the *marginal* cost of the computation.
2. **Board-level model**, the constants of sPyNNaker's own energy report
   (``spinn_machine.version.version_spin1``): every chip in use draws 0.35 W idle, every active
   core 0.034 W more, and every spike packet routed costs 1 nJ (25 pJ per router bit x 40 bits);
   one multicast packet per spike of a neuron with targets. This includes the static power that
   the first model leaves out, so it is far larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lifresponse.backends.spinnaker.hardware import (
    APPLICATION_CORES_PER_CHIP,
    JOULES_PER_PACKET,
    NEURONS_PER_CORE,
    WATTS_PER_ACTIVE_CORE,
    WATTS_PER_IDLE_CHIP,
)
from lifresponse.errors import ParameterError

E_SYN_J = 8e-9                  # J per synaptic event on SpiNNaker (the paper's figure)


class _Averages:
    """Mean power and energy per image of a model's ``joules`` over ``duration_s`` and
    ``n_images``."""

    @property
    def watts(self) -> float:
        return self.joules / self.duration_s

    @property
    def joules_per_image(self) -> float:
        return self.joules / self.n_images


@dataclass(frozen=True)
class EventEnergy(_Averages):
    """Result of the synaptic-event model.

    Attributes
    ----------
    events_per_layer : dict
        Layer name -> synaptic events caused by that layer's spikes (whole run).
    events : float
        Total synaptic events.
    duration_s : float
        Simulated time (s).
    n_images : int
    e_syn : float
        J per event.
    """

    events_per_layer: dict
    events: float
    duration_s: float
    n_images: int
    e_syn: float = E_SYN_J

    @property
    def events_per_second(self) -> float:
        return self.events / self.duration_s

    @property
    def joules(self) -> float:
        return self.events * self.e_syn


def check_e_syn(e_syn: float) -> float:
    if not (isinstance(e_syn, (int, float)) and math.isfinite(e_syn) and e_syn > 0):
        raise ParameterError("e_syn", f"must be > 0 J (got {e_syn})")
    return float(e_syn)


def event_energy(spike_counts: dict, fan_out: dict, duration_s: float, n_images: int,
                 e_syn: float = E_SYN_J) -> EventEnergy:
    """Eq. 17-18 from recorded spikes.

    Parameters
    ----------
    spike_counts : dict
        Layer name -> spikes per neuron over the whole run, shape (n_neurons,) (or per image,
        (n_images, n_neurons): summed).
    fan_out : dict
        Layer name -> synapses leaving each neuron, shape (n_neurons,).
    duration_s : float
        Time the run covers (s).
    n_images : int
    e_syn : float
        Energy of one synaptic event (J).
    """
    e_syn = check_e_syn(e_syn)
    if duration_s <= 0:
        raise ParameterError("duration", f"must be > 0 s (got {duration_s})")
    events = {name: float(_per_neuron(counts) @ np.asarray(fan_out[name], dtype=float))
              for name, counts in spike_counts.items()}
    return EventEnergy(events, float(sum(events.values())), duration_s, n_images, e_syn)


def predicted_event_energy(rates: dict, fan_out: dict, seconds_per_image: float, n_images: int,
                           e_syn: float = E_SYN_J) -> EventEnergy:
    """Eq. 17 from predicted rates (Hz) per layer, shape (n_images, n_neurons) or
    (n_neurons,) for one image, before deploying: ``E = sum_j lambda_j N_j T E_syn``."""
    counts = {}
    for name, r in rates.items():
        r = np.asarray(r, dtype=float)
        per_image = r if r.ndim == 2 else r[None]
        counts[name] = per_image.sum(axis=0) * seconds_per_image * (
            n_images / per_image.shape[0])
    return event_energy(counts, fan_out, seconds_per_image * n_images, n_images, e_syn)


@dataclass(frozen=True)
class BoardEnergy(_Averages):
    """Result of the board-level model."""

    chips: int
    cores: int
    packets: float
    duration_s: float
    n_images: int
    source: str

    @property
    def static_watts(self) -> float:
        return self.chips * WATTS_PER_IDLE_CHIP + self.cores * WATTS_PER_ACTIVE_CORE

    @property
    def joules(self) -> float:
        return self.static_watts * self.duration_s + self.packets * JOULES_PER_PACKET


def estimate_cores(population_sizes: list[int]) -> tuple[int, int]:
    """(chips, cores) if every population is split into cores of 256 neurons and chips hold 16
    application cores: an estimate, for when no mapping is at hand."""
    if any(n < 0 for n in population_sizes):
        raise ParameterError("population sizes must be >= 0")
    cores = sum(math.ceil(n / NEURONS_PER_CORE) for n in population_sizes)
    return max(1, math.ceil(cores / APPLICATION_CORES_PER_CHIP)), cores


def board_energy(spike_counts: dict, fan_out: dict, duration_s: float, n_images: int,
                 chips: int, cores: int, source: str) -> BoardEnergy:
    """The board-level model for a run; ``source`` says where chips and cores came from."""
    if chips < 1 or cores < 1:
        raise ParameterError(f"chips and cores must be >= 1 (got {chips}, {cores})")
    packets = sum(float(_per_neuron(counts)[np.asarray(fan_out[name]) > 0].sum())
                  for name, counts in spike_counts.items())
    return BoardEnergy(chips, cores, packets, duration_s, n_images, source)


def _per_neuron(counts) -> np.ndarray:
    """Spikes per neuron over the run, from (n_neurons,) or per-image (n_images, n_neurons)."""
    total = np.asarray(counts, dtype=float)
    return total.sum(axis=0) if total.ndim == 2 else total
