"""A sinabs network at sinabs' own accuracy on NEST and the torch simulator.

A sinabs 2.0.3 convolutional SNN of integrate-and-fire neurons (``IAF``: no leak, threshold
1, sinabs' default reset by subtraction) with single spikes per step (``SingleSpike``: sinabs'
default ``MultiSpike`` fires several in a step, which no PyNN neuron does): ``Conv2d(1, 12, 5)
-> SumPool2d(2) -> IAF -> Conv2d(12, 32, 5) -> SumPool2d(2) -> IAF -> Flatten -> Linear(512,
10) -> IAF``, no biases, trained with sinabs' default surrogate gradient, Bernoulli rate coding
(a pixel's value is its spike probability per step), the cross entropy of output spike counts
and Adam, ``--steps`` steps, for ``--epochs`` on the training part of the toolkit's split of
MNIST's training file (``--validation`` digits held out, split seed 0). Exported with its own
``sinabs.to_nir`` (through ``IAFSqueeze`` layers sharing the weights, which its exporter
needs), imported in continuous time (NIR's ``IF`` with a spike of unit area adds the weight to
the membrane, as sinabs does each step) on a 0.1 ms step with ``reset="subtract"``, and run on
the torch simulator and on NEST (through the NESTML model that subtracts) on the held-out
digits.

The same input spikes everywhere (``round_trip.py``); each layer here is one step later than in
sinabs (the synapses' minimum delay), so the window is ``--steps`` plus 3 steps.

Results: ``results/sinabs_round_trip.{json,md}``; the imported network in
``results/networks/sinabs-iaf.h5`` (sinabs' graph itself cannot be written: its ``Conv2d``
``input_shape`` and ``Flatten`` ``input_type`` are None, which ``nir.write`` refuses).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_result
from round_trip import DT, accuracy, comparison_rows, deployed_against, framework_counts

RESULTS = Path(__file__).parent / "results"
SHAPES = ((12, 12, 12), (32, 4, 4), (10,))  # the three neuron layers


class SinabsNetwork:
    """The weights (torch modules) and two ways to run them: over (images, steps) with
    ``IAF`` layers, and one image at a time with ``IAFSqueeze`` layers for the exporter."""

    def __init__(self, torch, sl, single_spike):
        torch.manual_seed(0)
        self.torch, self.sl, self.single_spike = torch, sl, single_spike
        self.synapses = [
            torch.nn.Sequential(torch.nn.Conv2d(1, 12, 5, bias=False), sl.SumPool2d(2)),
            torch.nn.Sequential(torch.nn.Conv2d(12, 32, 5, bias=False), sl.SumPool2d(2)),
            torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(512, 10, bias=False))]
        self.neurons = [sl.IAF(spike_fn=single_spike) for _ in SHAPES]

    def parameters(self):
        return [p for synapses in self.synapses for p in synapses.parameters()]

    def run(self, x) -> list:
        """Every neuron layer's spikes per step, (steps, n, neurons) each, for ``x`` (steps,
        n, 1, 28, 28)."""
        steps, n = x.shape[:2]
        for layer in self.neurons:
            layer.reset_states()
        out, spikes = x.transpose(0, 1).reshape(n * steps, *x.shape[2:]), []
        for synapses, layer, shape in zip(self.synapses, self.neurons, SHAPES, strict=True):
            fired = layer(synapses(out).reshape(n, steps, *shape))  # (n, steps, ...)
            spikes.append(fired.reshape(n, steps, -1).transpose(0, 1))
            out = fired.reshape(n * steps, *shape)
        return spikes

    def graph(self):
        """``sinabs.to_nir`` of the same weights as ``IAFSqueeze`` layers."""
        import sinabs

        modules = []
        for synapses in self.synapses:
            modules += [*synapses, self.sl.IAFSqueeze(batch_size=1, spike_fn=self.single_spike)]
        model = self.torch.nn.Sequential(*modules)
        sample = self.torch.zeros(1, 1, 28, 28)
        with self.torch.no_grad():
            model(sample)  # sinabs reads its layers' shapes from their states
        return sinabs.to_nir(model, sample)


def train(net: SinabsNetwork, images, labels, steps: int, epochs: int, torch, log) -> dict:
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = np.random.default_rng(0)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = generator.permutation(len(images))
        for first in range(0, len(order), 128):
            batch = order[first:first + 128]
            pixels = torch.as_tensor(images[batch]).unsqueeze(1)
            x = (torch.rand((steps, *pixels.shape)) < pixels).float()
            counts = net.run(x)[-1].sum(0)
            loss = torch.nn.functional.cross_entropy(counts, torch.as_tensor(labels[batch])
                                                     .long())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if first % (128 * 50) == 0:
                log(f"epoch {epoch} image {first}: loss {loss.item():.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
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
    parser.add_argument("--name", default="sinabs_round_trip")
    args = parser.parse_args()

    import sinabs.layers as sl
    import torch
    from sinabs.activation import SingleSpike

    import lifresponse as lr
    from lifresponse.datasets import Digits, load_mnist
    from lifresponse.splits import training_split

    torch.set_num_threads(2)
    log = print
    split = training_split(load_mnist(args.data), args.validation, 0)
    train_images = split.train.images[:args.train_images]
    net = SinabsNetwork(torch, sl, SingleSpike)
    training = train(net, train_images, split.train.labels[:len(train_images)], args.steps,
                     args.epochs, torch, log)
    # the graph cannot be written as sinabs exports it (its Conv2d input_shape and Flatten
    # input_type are None, which nir.write refuses): imported from memory, the import kept
    network = lr.import_nir(net.graph(), timestep=DT, encoding="bernoulli", reset="subtract",
                            out=RESULTS / "networks" / "sinabs-iaf.h5", force=True)
    extra = len(SHAPES)  # one step per synapse (measured: reported below)
    lags = range(extra + 2)
    rows, own = [], {}
    for backend, n in (("torch", args.images), ("nest", args.nest_images)):
        if n == 0:
            continue
        held_out, labels = split.validation.images[:n], split.validation.labels[:n]
        start = time.perf_counter()
        theirs = framework_counts(net.run, held_out, args.steps, extra, lags, torch)
        own[backend] = {**accuracy(theirs["own_counts"], labels), "images": n}
        log(f"sinabs on {n} digits: {own[backend]} ({time.perf_counter() - start:.0f} s)")
        digits = Digits(held_out, labels, "held-out MNIST training digits")
        rows.append({"images": n, "framework_accuracy": own[backend]["accuracy"],
                     **deployed_against(network, digits, theirs, backend, args.steps + extra,
                                        lags)})
        log(f"{backend}: {rows[-1]}")
    result = {"training": training, "sinabs": own, "steps": args.steps, "extra_steps": extra,
              "dt_ms": DT, "runs": rows}
    write_result(RESULTS, args.name, result, markdown(result))


def markdown(result: dict) -> list[str]:
    training, own = result["training"], result["sinabs"]
    lines = [
        "sinabs 2.0.3 conv SNN (12c5-2s-32c5-2s-10fc with sum pooling, no biases, `IAF` with "
        "`SingleSpike`, threshold 1, reset by subtraction) trained "
        f"{training['epochs']} epoch(s) on {training['train_images']:,} MNIST training digits "
        f"({training['steps']} steps, Bernoulli rate coding, cross entropy of output counts, "
        f"Adam {training['lr']:g}, {training['train_s']:.0f} s), exported with `sinabs.to_nir`, "
        "imported with `--timestep 0.1 --reset subtract --encoding bernoulli`; held-out digits "
        "of the training file, the same Bernoulli input spikes (seed 1) everywhere; window "
        f"{result['steps']} + {result['extra_steps']} steps on NEST and torch. Accuracy: most "
        "output spikes, ties to the lowest index.", "",
        "sinabs' own accuracy: " + "; ".join(
            f"**{100 * o['accuracy']:.2f} %** on the first {o['images']:,} digits "
            f"({o['ties']} ties, {o['silent']} silent)" for o in own.values()) + ".", "",
        "Each row's points are against sinabs on the same digits.", ""]
    return lines + comparison_rows(result["runs"], own["torch"]["accuracy"], "{images} digits")


if __name__ == "__main__":
    main()
