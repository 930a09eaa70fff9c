"""A Norse network at Norse's own accuracy on NEST and the torch simulator.

A Norse 1.1.0 SNN of default ``LIFBoxCell`` neurons (leaky integrate-and-fire without a
synaptic current: tau_mem_inv 100/s, threshold 1, reset to 0, Norse's step 1 ms): ``Linear(784,
128) -> LIFBoxCell -> Linear(128, 10) -> LIFBoxCell``, zero biases (Norse's exporter writes
one), dense because Norse's exporter has no ``Flatten``, PyTorch's initial weights x 10
(:data:`WEIGHT_SCALE`); trained with Norse's default surrogate
gradient (SuperSpike), Bernoulli rate coding (a pixel's value is its spike probability per
step), the cross entropy of output spike counts and Adam, ``--steps`` steps, for ``--epochs``
on the training part of the toolkit's split of MNIST's training file (``--validation`` digits
held out, split seed 0). Exported with Norse's ``to_nir`` and imported from memory (Norse's
0-d time constants cannot be written by ``nir.write``) with ``dt=1``, ``tau_scale=1000``
(its exporter writes the time constant times its step in seconds, norse/norse#411) and
Bernoulli inputs; run on the torch simulator and on NEST on the held-out digits.

The same input spikes everywhere (``round_trip.py``, steps of 0.1 ms there: the spikes per step
do not depend on the step's length); each layer here is one step later than in Norse (the
synapses' minimum delay), so the window is ``--steps`` plus 2 steps.

Results: ``results/norse_round_trip.{json,md}``; the imported network in
``results/networks/norse-lifbox.h5``.
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
NORSE_DT_MS = 1.0
WEIGHT_SCALE = 10.0  # PyTorch's initial weights x this: as they are, no neuron reaches the
# threshold, the output stays silent and the loss stays at ln 10 (a development run)


class NorseNetwork:
    """Two dense layers of ``LIFBoxCell`` neurons, run step by step."""

    def __init__(self, torch, norse):
        torch.manual_seed(0)
        self.torch, self.norse = torch, norse
        self.linears = [torch.nn.Linear(784, 128), torch.nn.Linear(128, 10)]
        with torch.no_grad():
            for linear in self.linears:
                linear.weight.mul_(WEIGHT_SCALE)
                linear.bias.zero_()
                linear.bias.requires_grad_(False)  # the graph's biases stay 0
        self.cells = [norse.LIFBoxCell(), norse.LIFBoxCell()]

    def parameters(self):
        return [linear.weight for linear in self.linears]

    def run(self, x) -> list:
        """Every neuron layer's spikes per step, (steps, n, neurons) each, for ``x`` (steps,
        n, 1, 28, 28)."""
        states, spikes = [None, None], [[], []]
        for frame in x:
            z = frame.flatten(1)
            for i, (linear, cell) in enumerate(zip(self.linears, self.cells, strict=True)):
                z, states[i] = cell(linear(z), states[i])
                spikes[i].append(z)
        return [self.torch.stack(s) for s in spikes]

    def graph(self):
        model = self.norse.SequentialState(self.linears[0], self.cells[0], self.linears[1],
                                           self.cells[1])
        return self.norse.to_nir(model, self.torch.zeros(784))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, "norse_round_trip")
    args = parser.parse_args()

    import norse.torch as norse
    import torch

    import lifresponse as lr

    torch.set_num_threads(2)
    split, images, labels = training_digits(args)
    net = NorseNetwork(torch, norse)
    training = train(net.run, net.parameters(), images, labels, args.steps, args.epochs,
                     count_cross_entropy(torch), torch, print)
    network = lr.import_nir(net.graph(), dt=NORSE_DT_MS, timestep=DT, encoding="bernoulli",
                            tau_scale=1000.0 / NORSE_DT_MS,
                            out=RESULTS / "networks" / "norse-lifbox.h5", force=True)
    rows, own = on_both_simulators(network, net.run, split, args, len(net.cells), torch, print,
                                   "Norse")
    result = {"training": training, "norse": own, "steps": args.steps,
              "extra_steps": len(net.cells), "dt_ms": DT, "runs": rows}
    write_result(RESULTS, args.name, result, markdown(result))


def markdown(result: dict) -> list[str]:
    training, own = result["training"], result["norse"]
    lines = [
        "Norse 1.1.0 SNN (784-128-10 dense, zero biases, default `LIFBoxCell`: tau_mem_inv "
        f"100/s, threshold 1, reset to 0, step 1 ms) trained {training['epochs']} epoch(s) on "
        f"{training['train_images']:,} MNIST training digits ({training['steps']} steps, "
        f"Bernoulli rate coding, cross entropy of output counts, Adam {training['lr']:g}, "
        f"{training['train_s']:.0f} s), exported with `norse.torch.to_nir`, imported from "
        "memory with `dt=1, tau_scale=1000, encoding=\"bernoulli\"` (on a 0.1 ms step: the "
        "same per-step decays); held-out digits of the training file, the same Bernoulli input "
        f"spikes (seed 1) everywhere; window {result['steps']} + {result['extra_steps']} steps "
        "on NEST and torch. Accuracy: most output spikes, ties to the lowest index.", "",
        "Norse's own accuracy: " + "; ".join(
            f"**{100 * o['accuracy']:.2f} %** on the first {o['images']:,} digits "
            f"({o['ties']} ties, {o['silent']} silent)" for o in own.values()) + ".", "",
        "Each row's points are against Norse on the same digits.", ""]
    return lines + comparison_rows(result["runs"], own["torch"]["accuracy"], "{images} digits")


if __name__ == "__main__":
    main()
