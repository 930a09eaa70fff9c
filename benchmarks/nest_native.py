"""The deployed network as a plain PyNEST script: the lower bound of the NEST path's time.

Builds 6c5-2s-12c5-2s-10fc (or ``--network``) with ``nest.Create`` / ``nest.Connect`` only:
``iaf_psc_exp`` populations with the network file's neuron (PyNN's names mapped to NEST's:
``cm`` nF -> ``C_m`` pF, ``v_rest`` -> ``E_L``, ``tau_refrac`` -> ``t_ref``, ``i_offset`` nA ->
``I_e`` pA), the weights of :func:`lifresponse.networks.topology.network_connections` in pA
with a one-step delay, one ``spike_generator`` per pixel holding the very input spike times
``lifresponse deploy`` draws, a ``spike_recorder`` on every layer, and either one
``nest.Simulate`` over all images back to back (``--protocol continuing``: no reset between
images, what NEST itself costs, nothing more) or, with ``--protocol rest``, the rest protocol
as a NEST user would write it (``lifresponse/networks/blocks.py``): per image, ``Simulate`` to
its start, ``NodeCollection.set`` of ``V_m = E_L`` and the synaptic time constants on every
layer, ``Simulate`` over its window, then ``V_m`` far below threshold and the time constants a
thousandth of a step until the next image (the settle time). Counts per image and neuron are
then taken from the recorded spike times (timed apart: ``read_s``), as ``deploy`` must. Used
by ``fast_path.py --job nest``, which runs it in a fresh process beside ``lifresponse deploy
--backend nest``.

Prints one JSON line: build and simulate wall times (s), images, and each layer's spikes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nest
import numpy as np

from lifresponse.networks import network_file
from lifresponse.networks.blocks import settle_time
from lifresponse.networks.encoding import Presentation, input_spikes, spike_trains
from lifresponse.networks.topology import network_connections
from lifresponse.splits import evaluation_digits, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", type=Path,
                        default=Path("benchmarks/results/networks/small-ns-limit200-tuned.h5"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protocol", choices=["continuing", "rest"], default="continuing")
    args = parser.parse_args()
    network = network_file.read(args.network)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    pixels = np.asarray(digits.images, float).reshape(len(digits.labels), -1)
    rest = args.protocol == "rest"
    presentation = Presentation(args.window, 0.0, network.timestep,
                                settle_time(network) if rest else 0.0)
    inputs = input_spikes(pixels, presentation, network, 0, args.seed)
    trains = spike_trains(inputs, presentation, 0, pixels.shape[1])

    start = time.perf_counter()
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": network.timestep, "local_num_threads": args.threads,
                          "rng_seed": args.seed})
    generators = nest.Create("spike_generator", len(trains))
    generators.set([{"spike_times": np.round(t, 6).tolist()} for t in trains])
    previous, recorders, populations = generators, [], []
    network.require_chain("this NEST-native script")
    for layer, [connections] in zip(network.layers, network_connections(network), strict=True):
        neuron = network.neuron_of(layer)
        params = {"C_m": 1000.0 * neuron.cm, "tau_m": neuron.tau_m, "t_ref": neuron.tau_refrac,
                  "E_L": neuron.v_rest, "V_reset": neuron.v_reset, "V_th": neuron.v_thresh,
                  "tau_syn_ex": neuron.tau_syn_E, "tau_syn_in": neuron.tau_syn_I,
                  "V_m": neuron.v_rest}
        population = nest.Create("iaf_psc_exp", layer.n_out, params=params)
        population.set({"I_e": (1000.0 * (neuron.i_offset + layer.bias_per_neuron())).tolist()}
                       if layer.bias is not None else {"I_e": 1000.0 * neuron.i_offset})
        keep = connections.weight != 0
        pre = np.asarray(previous.tolist())[connections.pre[keep]]
        post = np.asarray(population.tolist())[connections.post[keep]]
        nest.Connect(pre, post, "one_to_one",
                     syn_spec={"weight": 1000.0 * connections.weight[keep],
                               "delay": np.full(int(keep.sum()), network.timestep)})
        populations.append((population, neuron))
        recorder = nest.Create("spike_recorder")
        nest.Connect(population, recorder)
        recorders.append(recorder)
        previous = population
    built = time.perf_counter() - start

    start = time.perf_counter()
    if rest:
        silent = {"V_m": -1e30, "tau_syn_ex": network.timestep / 1000.0,
                  "tau_syn_in": network.timestep / 1000.0}
        for image in range(args.images):
            nest.Simulate(float(presentation.image_start(image)) - nest.biological_time)
            for population, neuron in populations:
                population.set({"V_m": neuron.v_rest, "tau_syn_ex": neuron.tau_syn_E,
                                "tau_syn_in": neuron.tau_syn_I})
            nest.Simulate(args.window)
            for population, _ in populations:
                population.set(silent)
    nest.Simulate(float(presentation.image_start(args.images)) + network.timestep
                  - nest.biological_time)
    simulated = time.perf_counter() - start
    start = time.perf_counter()
    spikes = []
    for recorder in recorders:
        events = recorder.get("events")
        senders = np.asarray(events["senders"], np.int64)
        image, offset = presentation.locate(np.asarray(events["times"], float))
        inside = (offset <= args.window + 1e-9) & (image < args.images)
        # spike counts per (image, node id)
        np.bincount(image[inside] * (senders.max(initial=0) + 1) + senders[inside])
        spikes.append(int(np.count_nonzero(inside)))
    read = time.perf_counter() - start
    print(json.dumps({"build_s": built, "simulate_s": simulated, "read_s": read,
                      "images": args.images, "spikes_per_layer": spikes}))


if __name__ == "__main__":
    main()
