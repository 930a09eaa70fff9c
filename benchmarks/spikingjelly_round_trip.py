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
import time
from pathlib import Path

import numpy as np
from provenance import write_result
from round_trip import DT, accuracy, comparison_rows, deployed_against, framework_counts

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


def train(net, images, labels, steps: int, epochs: int, functional, torch, log) -> dict:
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = np.random.default_rng(0)
    start = time.perf_counter()
    net.train()
    for epoch in range(epochs):
        order = generator.permutation(len(images))
        for first in range(0, len(order), 128):
            batch = order[first:first + 128]
            pixels = torch.as_tensor(images[batch]).unsqueeze(1)
            x = (torch.rand((steps, *pixels.shape)) < pixels).float()
            rate = run_spikingjelly(net, x, functional, torch)[-1].mean(0)
            target = torch.nn.functional.one_hot(torch.as_tensor(labels[batch]).long(),
                                                 10).float()
            loss = torch.nn.functional.mse_loss(rate, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if first % (128 * 50) == 0:
                log(f"epoch {epoch} image {first}: loss {loss.item():.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
    net.eval()
    return {"train_s": time.perf_counter() - start, "epochs": epochs, "train_images": len(images),
            "steps": steps, "batch": 128, "lr": 1e-3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--validation", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=10_000, help="held-out digits evaluated")
    parser.add_argument("--nest-images", type=int, default=10_000,
                        help="the first N of them also on NEST")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-images", type=int, help="first N training digits only")
    parser.add_argument("--name", default="spikingjelly_round_trip")
    args = parser.parse_args()

    import nir
    import torch
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    import lifresponse as lr
    from lifresponse.datasets import Digits, load_mnist
    from lifresponse.splits import training_split

    torch.set_num_threads(2)
    log = print
    split = training_split(load_mnist(args.data), args.validation, 0)
    train_images = split.train.images[:args.train_images]
    net = spikingjelly_network(torch, neuron)
    training = train(net, train_images, split.train.labels[:len(train_images)], args.steps,
                     args.epochs, functional, torch, log)
    graph_path = RESULTS / "networks" / "spikingjelly-lif.nir"
    nir.write(graph_path, export_to_nir(net, torch.zeros(1, 1, 28, 28)))
    network = lr.import_nir(graph_path, dt=DT, encoding="bernoulli")
    extra = len(NEURON_LAYERS)  # one step per synapse (measured: reported below)
    lags = range(extra + 2)
    rows, own = [], {}
    for backend, n in (("torch", args.images), ("nest", args.nest_images)):
        if n == 0:
            continue
        held_out, labels = split.validation.images[:n], split.validation.labels[:n]
        start = time.perf_counter()
        theirs = framework_counts(lambda x: run_spikingjelly(net, x, functional, torch),
                                  held_out, args.steps, extra, lags, torch)
        own[backend] = {**accuracy(theirs["own_counts"], labels), "images": n}
        log(f"SpikingJelly on {n} digits: {own[backend]} ({time.perf_counter() - start:.0f} s)")
        digits = Digits(held_out, labels, "held-out MNIST training digits")
        rows.append({"images": n, "framework_accuracy": own[backend]["accuracy"],
                     **deployed_against(network, digits, theirs, backend, args.steps + extra,
                                        lags)})
        log(f"{backend}: {rows[-1]}")
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
