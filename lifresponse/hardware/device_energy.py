"""Energy of a run on each device, and what accuracy each joule buys.

A spiking device: ``E = events x E_event + neuron updates x E_update`` (per layer, from
:mod:`lifresponse.hardware.activity`). A non-spiking device running the ANN:
``E = MACs x E_mac + neurons x E_neuron`` per inference. Against presentation time ``t``: the
events of the first ``t`` ms of every window (recorded per 10 ms bin) and the updates of
``t / timestep`` steps, so that accuracy after ``t`` ms (from the same run) can be set against
the energy it took.

Left out, by every row: static (idle) power, host and I/O, loading and mapping, off-chip spike
routing, memory traffic; the board-level SpiNNaker model (:mod:`lifresponse.hardware.energy`)
includes static power and routing for SpiNNaker 1.
"""

from __future__ import annotations

import numpy as np

from lifresponse.hardware.activity import RunActivity
from lifresponse.hardware.devices import Device
from lifresponse.networks.run_file import RunRecord

LEFT_OUT = ("static (idle) power of chips and boards", "host computer, I/O and data transfer",
            "mapping, loading and result extraction", "spike routing between chips and boards",
            "memory traffic beyond what the per-operation figures include")


def snn_energy(activity: RunActivity, device: Device) -> dict:
    """A spiking device's energy for the whole run: per layer, per image, per second (W)."""
    per_layer = {layer.name: layer.synaptic_events * device.joules_per_synaptic_event
                 + layer.neuron_updates * device.joules_per_neuron_update
                 for layer in activity.layers}
    joules = float(sum(per_layer.values()))
    return {"device": device.name, "joules": joules, "joules_per_layer": per_layer,
            "joules_per_image": joules / activity.n_images,
            "watts": joules / activity.duration_s}


def ann_energy(activity: RunActivity, device: Device) -> dict:
    """A non-spiking device's energy for one inference of the ANN (J)."""
    macs = activity.total("macs_per_inference")
    neurons = activity.ann_neurons_per_inference
    joules = (macs * device.joules_per_synaptic_event
              + neurons * device.joules_per_neuron_update)
    return {"device": device.name, "macs_per_inference": int(macs),
            "neurons_per_inference": neurons, "joules_per_inference": float(joules)}


def energy_by_time(run: RunRecord, activity: RunActivity, device: Device):
    """(t in ms, J per image spent up to t) at the run's time bins.

    Events up to ``t`` come from the run's per-bin counts (``events_by_time``); a run file
    without them is treated as firing at steady rates over the window (and says so: the
    second value returned is False).
    """
    t = np.asarray(run.time_bins_ms, dtype=float)
    events_total = activity.total("synaptic_events")
    if run.events_by_time:
        per_bin = np.sum([np.asarray(e, float) for e in run.events_by_time.values()], axis=0)
        events = np.cumsum(per_bin) / activity.n_images
        measured = True
    else:
        events = events_total / activity.n_images * t / (activity.window_s * 1000.0)
        measured = False
    simulated = [layer for layer in activity.layers if layer.neuron_updates > 0]
    updates_per_ms = sum(layer.neurons for layer in simulated) / activity.timestep_ms
    joules = (events * device.joules_per_synaptic_event
              + updates_per_ms * t * device.joules_per_neuron_update)
    return t, joules, measured


def tradeoff(run: RunRecord, activity: RunActivity, devices: list[Device],
             fractions=(0.98, 0.99), at_ms: float = 300.0) -> dict:
    """Accuracy against energy per image for each spiking device.

    For each fraction of the final accuracy: the first time bin at which the run reaches it,
    and the energy per image spent by then; and the energy per image, the power and 10,000
    images at ``at_ms`` (the paper's 300 ms), where the window is that long.
    """
    evaluation = run.attrs.get("evaluation") or {}
    accuracy = np.asarray(evaluation.get("accuracy_by_time", []), dtype=float)
    final = float(evaluation.get("accuracy", np.nan))
    rows = []
    for device in (d for d in devices if d.spiking):
        t, joules, measured = energy_by_time(run, activity, device)
        row = {"device": device.name, "source": device.source, "year": device.year,
               "time_ms": t.tolist(), "joules_per_image": joules.tolist(),
               "events_measured_by_time": measured, "reach": {}}
        for fraction in fractions:
            reached = np.flatnonzero(accuracy >= fraction * final) if accuracy.size else []
            if len(reached):
                b = int(reached[0])
                row["reach"][f"{fraction:g}"] = {"time_ms": float(t[b]),
                                                 "accuracy": float(accuracy[b]),
                                                 "joules_per_image": float(joules[b])}
        near = int(np.argmin(np.abs(t - at_ms)))
        if abs(t[near] - at_ms) < 1e-9:
            per_image = float(joules[near])
            row["at"] = {"time_ms": at_ms, "joules_per_image": per_image,
                         "watts": per_image / (at_ms / 1000.0),
                         "joules_10000_images": 10000 * per_image,
                         "accuracy": float(accuracy[near]) if accuracy.size else None}
        rows.append(row)
    return {"final_accuracy": final, "fractions": list(fractions),
            "accuracy_by_time": accuracy.tolist(), "devices": rows}
