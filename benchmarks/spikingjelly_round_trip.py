"""A SpikingJelly network at SpikingJelly's own accuracy on NEST and the torch simulator.

A SpikingJelly 2.0.0 convolutional SNN of default ``LIFNode`` neurons (tau 2 steps, threshold
1, hard reset to 0: its NIR exporter refuses the soft reset), as a new user writes one:
``Conv2d(1, 12, 5) -> AvgPool2d(2) -> LIFNode -> Conv2d(12, 32, 5) -> AvgPool2d(2) ->
LIFNode -> Flatten -> Linear(512, 10) -> LIFNode``, no biases, trained with its default
surrogate gradient (sigmoid), Bernoulli rate coding (a pixel's value is its spike probability
per step), the mean squared error of output rates against one-hot labels (its tutorials' loss)
and Adam, ``--steps`` steps, for ``--epochs`` on the training part of the toolkit's split of
MNIST's training file (``--validation`` digits held out, split seed 0); exported with its own
``export_to_nir`` (its step, 0.1 ms), imported with ``dt=0.1`` and Bernoulli inputs, and run
on the torch simulator and on NEST on the held-out digits.

The same input spikes everywhere: the toolkit's Bernoulli spikes (seed 1), step ``s`` of the
window fed to SpikingJelly at its time step ``s - 1``. SpikingJelly's own accuracy is its output
spike count over its ``--steps`` steps (ties to the lowest index). Each layer here is one step
later than in SpikingJelly (the synapses' minimum delay), so the window is ``--steps`` plus 3
steps; per layer, the fraction of (image, neuron) counts equal to SpikingJelly's over its first
``steps + extra - lag`` steps, for the lag that agrees best (reported).

Results: ``results/spikingjelly_round_trip.{json,md}``; the graph in
``results/networks/spikingjelly-lif.nir``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from provenance import write_result
from round_trip import (
    DT,
    add_arguments,
    comparison_rows,
    on_both_simulators,
    train,
    training_digits,
)

RESULTS = Path(__file__).parent / "results"
NEURON_LAYERS = (2, 5, 8)  # indices of the LIFNode modules


def spikingjelly_network(torch, neuron):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 12, 5, bias=False), torch.nn.AvgPool2d(2), neuron.LIFNode(),
        torch.nn.Conv2d(12, 32, 5, bias=False), torch.nn.AvgPool2d(2), neuron.LIFNode(),
        torch.nn.Flatten(), torch.nn.Linear(512, 10, bias=False), neuron.LIFNode())


def run_spikingjelly(net, x, functional, torch) -> list:
    """Spikes of the three neuron layers per step, (steps, n, neurons) each, for input ``x``
    (steps, n, 1, 28, 28)."""
    functional.reset_net(net)
    spikes = [[] for _ in NEURON_LAYERS]
    for t in range(len(x)):
        out = x[t]
        for index, module in enumerate(net):
            out = module(out)
            if index in NEURON_LAYERS:
                spikes[NEURON_LAYERS.index(index)].append(out.flatten(1))
    return [torch.stack(s) for s in spikes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "spikingjelly_round_trip")
    args = parser.parse_args()

    import nir
    import torch
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    import lifresponse as lr

    torch.set_num_threads(2)
    split, images, labels = training_digits(args)
    net = spikingjelly_network(torch, neuron)

    def run(x):
        return run_spikingjelly(net, x, functional, torch)

    def rate_error(spikes, classes):  # its tutorials' loss: output rates against one-hot
        return torch.nn.functional.mse_loss(
            spikes.mean(0), torch.nn.functional.one_hot(classes, 10).float())

    training = train(run, net.parameters(), images, labels, args.steps, args.epochs, rate_error,
                     torch, print)
    graph_path = RESULTS / "networks" / "spikingjelly-lif.nir"
    nir.write(graph_path, export_to_nir(net, torch.zeros(1, 1, 28, 28)))
    network = lr.import_nir(graph_path, dt=DT, encoding="bernoulli")
    extra = len(NEURON_LAYERS)  # one step per synapse (measured: reported below)
    rows, own = on_both_simulators(network, run, split, args, extra, torch, print,
                                   "SpikingJelly")
    result = {"training": training, "spikingjelly": own, "steps": args.steps,
              "extra_steps": extra, "dt_ms": DT, "runs": rows}
    write_result(RESULTS, args.name, result, markdown(result))


def markdown(result: dict) -> list[str]:
    training, own = result["training"], result["spikingjelly"]
    lines = [
        "SpikingJelly 2.0.0 conv SNN (12c5-2a-32c5-2a-10fc, no biases, default `LIFNode`: tau "
        f"2 steps, hard reset to 0) trained {training['epochs']} epoch(s) on "
        f"{training['train_images']:,} MNIST training digits ({training['steps']} steps, "
        f"Bernoulli rate coding, MSE of output rates, Adam {training['lr']:g}, "
        f"{training['train_s']:.0f} s), exported with its `export_to_nir` (step 0.1 ms), "
        "imported with `--dt 0.1 --encoding bernoulli`; held-out digits of the training file, "
        "the same Bernoulli input spikes (seed 1) everywhere; window "
        f"{result['steps']} + {result['extra_steps']} steps on NEST and torch (the layers' "
        "lag, module docstring). Accuracy: most output spikes, ties to the lowest index.", "",
        "SpikingJelly's own accuracy: " + "; ".join(
            f"**{100 * o['accuracy']:.2f} %** on the first {o['images']:,} digits "
            f"({o['ties']} ties, {o['silent']} silent)" for o in own.values()) + ".", "",
        "Each row's points are against SpikingJelly on the same digits.", ""]
    return lines + comparison_rows(result["runs"], own["torch"]["accuracy"], "{images} digits")


if __name__ == "__main__":
    main()
