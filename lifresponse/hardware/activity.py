"""What a deployed network did, counted the way energy models charge for it.

Per layer of a run (the input included): spikes, synaptic events (each spike times its
neuron's fan-out), neuron updates (every neuron of a simulated layer, every timestep: the input
is a spike source and has none), mean rate and peak rate. For the ANN of the same network:
multiply-accumulates and neuron activations per inference. All per image and per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifresponse.errors import FileFormatError
from lifresponse.networks.run_file import RunRecord


@dataclass(frozen=True)
class LayerActivity:
    """One layer over a whole run (``per_image`` and ``per_second`` divide by images and
    seconds).

    Attributes
    ----------
    name : str
    neurons : int
    spikes : float
    synaptic_events : float
        Spikes x fan-out.
    neuron_updates : float
        Neurons x timesteps (0 for the input, a spike source).
    mean_rate_hz : float
        Over neurons and images, within the presentation windows.
    peak_rate_hz : float
        The highest rate of one neuron in one image's window.
    macs_per_inference : int
        The ANN: connections into this layer (2 per connection for Noisy Softplus, whose
        noise term is a second weighted sum); 0 for the input.
    """

    name: str
    neurons: int
    spikes: float
    synaptic_events: float
    neuron_updates: float
    mean_rate_hz: float
    peak_rate_hz: float
    macs_per_inference: int


@dataclass(frozen=True)
class RunActivity:
    """Every layer of a run, with its duration.

    Attributes
    ----------
    layers : list of LayerActivity
        Input first.
    n_images : int
    duration_s : float
        Simulated time of the run (images x (window + gap)).
    window_s : float
        Presentation time per image.
    timestep_ms : float
    """

    layers: list
    n_images: int
    duration_s: float
    window_s: float
    timestep_ms: float

    def total(self, field: str) -> float:
        return float(sum(getattr(layer, field) for layer in self.layers))

    @property
    def ann_neurons_per_inference(self) -> int:
        return int(sum(layer.neurons for layer in self.layers[1:]))

    def to_dict(self) -> dict:
        per_image = 1.0 / self.n_images
        per_second = 1.0 / self.duration_s
        return {
            "n_images": self.n_images, "duration_s": self.duration_s,
            "window_s": self.window_s, "timestep_ms": self.timestep_ms,
            "layers": [{**layer.__dict__,
                        "synaptic_events_per_image": layer.synaptic_events * per_image,
                        "synaptic_events_per_s": layer.synaptic_events * per_second,
                        "neuron_updates_per_image": layer.neuron_updates * per_image,
                        "neuron_updates_per_s": layer.neuron_updates * per_second}
                       for layer in self.layers],
            "synaptic_events_per_image": self.total("synaptic_events") * per_image,
            "synaptic_events_per_s": self.total("synaptic_events") * per_second,
            "neuron_updates_per_image": self.total("neuron_updates") * per_image,
            "neuron_updates_per_s": self.total("neuron_updates") * per_second,
            "ann_macs_per_inference": int(self.total("macs_per_inference")),
            "ann_neurons_per_inference": self.ann_neurons_per_inference,
        }


def check_every_layer_recorded(run: RunRecord) -> None:
    """:class:`FileFormatError` unless the run holds spike counts of every layer."""
    missing = [f"layer {i}" for i in sorted(run.fan_out) if i >= 0 and i not in run.layer_counts]
    if missing:
        raise FileFormatError(f"{run.path}: no spike counts for {', '.join(missing)}; deploy "
                              "with --record all for an energy report")


def run_activity(run: RunRecord) -> RunActivity:
    """Count a run's activity (every layer must have been recorded: ``record="all"``).

    Raises
    ------
    FileFormatError
        If a layer with synapses has no recorded counts.
    """
    check_every_layer_recorded(run)
    layer_indices = sorted(i for i in run.fan_out if i >= 0)
    n_images = int(run.attrs["n_images"])
    window_ms, gap_ms = float(run.attrs["window_ms"]), float(run.attrs["gap_ms"])
    timestep = float(run.attrs["timestep_ms"])
    steps = n_images * int(round((window_ms + gap_ms) / timestep))
    sigma_pass = 2 if run.attrs.get("activation") == "noisy-softplus" else 1
    counts = {-1: run.input_counts, **run.layer_counts}
    # synapses into each layer; runs before graph networks were chains: those leaving the one
    # before
    into = [int(n) for n in run.attrs.get("synapses_into_layers", [])] or [
        int(run.fan_out[index - 1].sum()) for index in layer_indices]
    layers = []
    for index in [-1, *layer_indices]:
        per_image = np.asarray(counts[index], dtype=float)
        spikes_per_neuron = per_image.sum(axis=0)
        fan_out = np.asarray(run.fan_out[index], dtype=float)
        synapses_in = 0 if index == -1 else into[index]
        layers.append(LayerActivity(
            name="input" if index == -1 else f"layer {index}",
            neurons=int(per_image.shape[1]),
            spikes=float(spikes_per_neuron.sum()),
            synaptic_events=float(spikes_per_neuron @ fan_out),
            neuron_updates=0.0 if index == -1 else float(per_image.shape[1] * steps),
            mean_rate_hz=float(per_image.mean() / (window_ms / 1000.0)),
            peak_rate_hz=float(per_image.max(initial=0.0) / (window_ms / 1000.0)),
            macs_per_inference=sigma_pass * synapses_in))
    return RunActivity(layers, n_images, n_images * (window_ms + gap_ms) / 1000.0,
                       window_ms / 1000.0, timestep)
