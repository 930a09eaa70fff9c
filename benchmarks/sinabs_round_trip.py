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
from pathlib import Path

from provenance import write_result
from round_trip import (
    DT,
    add_arguments,
    comparison_rows,
    count_cross_entropy,
    on_both_simulators,
    train,
    training_digits,
)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "sinabs_round_trip")
    args = parser.parse_args()

    import sinabs.layers as sl
    import torch
    from sinabs.activation import SingleSpike

    import lifresponse as lr

    torch.set_num_threads(2)
    split, images, labels = training_digits(args)
    net = SinabsNetwork(torch, sl, SingleSpike)
    training = train(net.run, net.parameters(), images, labels, args.steps, args.epochs,
                     count_cross_entropy(torch), torch, print)
    # the graph cannot be written as sinabs exports it (its Conv2d input_shape and Flatten
    # input_type are None, which nir.write refuses): imported from memory, the import kept
    network = lr.import_nir(net.graph(), timestep=DT, encoding="bernoulli", reset="subtract",
                            out=RESULTS / "networks" / "sinabs-iaf.h5", force=True)
    rows, own = on_both_simulators(network, net.run, split, args, len(SHAPES), torch, print,
                                   "sinabs")
    result = {"training": training, "sinabs": own, "steps": args.steps,
              "extra_steps": len(SHAPES), "dt_ms": DT, "runs": rows}
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
