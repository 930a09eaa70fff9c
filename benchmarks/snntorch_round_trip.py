"""snnTorch's default neurons at snnTorch's own accuracy on NEST and the torch simulator.

An snnTorch 1.0.0 convolutional SNN of ``Synaptic`` neurons with their default reset
(``reset_mechanism="subtract"``): ``Conv2d(1, 12, 5) -> AvgPool2d(2) -> Synaptic ->
Conv2d(12, 32, 5) -> AvgPool2d(2) -> Synaptic -> Flatten -> Linear(512, 10) -> Synaptic``,
alpha 0.8, beta 0.9, thresholds 1, without biases (``--bias``: with), trained with snnTorch's
own rate coding (``spikegen.rate``), ``ce_rate_loss`` and Adam for ``--epochs`` on the
training part of the toolkit's split of MNIST's training file (``--validation`` digits held
out, split seed 0); then exported with snnTorch's ``export_to_nir``, imported with ``dt=0.1``,
Bernoulli inputs and each ``--resets``, and run on the torch simulator (every reset) and NEST
(``--nest-resets``) on the held-out digits.

The same input spikes everywhere: the toolkit's Bernoulli spikes (seed 1), step ``s`` of the
window fed to snnTorch at its time step ``s - 1``. snnTorch's own accuracy is its output
spike count over its ``--steps`` steps (ties to the lowest index, as ``argmax`` and the
toolkit decide them). NEST and the torch simulator deliver every spike one step later per
synapse (NEST's minimum delay) and a ``Synaptic`` layer's current moves its membrane one step
later still, so the window is ``--steps`` plus the output layer's lag: the output then counts
exactly the spikes snnTorch's output fires in its steps, and input after snnTorch's last step
reaches no output spike within the window. Per layer, the fraction of (image, neuron) counts
equal to snnTorch's over its first ``steps + extra - lag`` steps, for the lag that agrees best
(reported).

Biases (``--bias``): snnTorch adds a bias to ``syn`` every step; imported with ``--dt`` a
bias arrives as synaptic input every step from the step the layer's first input arrives in
(docs/nir.md), which is the same. (Before that import existed, a bias became a current added to
``i_offset``, a ``CubaLIF`` bias's steady state: ``git show 3e34cb7:benchmarks/results/
snntorch_round_trip_bias.md``.)

Results: ``results/<--name>.{json,md}``; the trained snnTorch network's NIR graph in
``results/networks/snntorch-synaptic-subtract[-bias].nir``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_result
from round_trip import DT, accuracy, comparison_rows, deployed_against, framework_counts

RESULTS = Path(__file__).parent / "results"


def snntorch_network(torch, snn, bias: bool):
    torch.manual_seed(0)

    def neurons(shape, output=False):
        return snn.Synaptic(alpha=torch.full(shape, 0.8), beta=torch.full(shape, 0.9),
                            threshold=torch.full(shape, 1.0), init_hidden=True, output=output)

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 12, 5, bias=bias), torch.nn.AvgPool2d(2), neurons((12, 12, 12)),
        torch.nn.Conv2d(12, 32, 5, bias=bias), torch.nn.AvgPool2d(2), neurons((32, 4, 4)),
        torch.nn.Flatten(), torch.nn.Linear(512, 10, bias=bias), neurons((10,), output=True))


NEURON_LAYERS = (2, 5, 8)  # indices of the Synaptic modules


def run_snntorch(net, x, torch):
    """Spikes of the three neuron layers per step, (steps, n, neurons) each, for input ``x``
    (steps, n, 1, 28, 28)."""
    from snntorch import utils

    utils.reset(net)
    spikes = [[] for _ in NEURON_LAYERS]
    for t in range(len(x)):
        out = x[t]
        for index, module in enumerate(net):
            out = module(out)
            if index == NEURON_LAYERS[-1]:
                out = out[0]
            if index in NEURON_LAYERS:
                spikes[NEURON_LAYERS.index(index)].append(out.flatten(1))
    return [torch.stack(s) for s in spikes]


def train(net, images, labels, steps: int, epochs: int, torch, log) -> dict:
    from snntorch import functional as SF
    from snntorch import spikegen

    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_of = SF.ce_rate_loss()
    generator = np.random.default_rng(0)
    start = time.perf_counter()
    net.train()
    for epoch in range(epochs):
        order = generator.permutation(len(images))
        for first in range(0, len(order), 128):
            batch = order[first:first + 128]
            x = spikegen.rate(torch.as_tensor(images[batch]).unsqueeze(1), num_steps=steps)
            output = run_snntorch(net, x, torch)[-1]
            loss = loss_of(output, torch.as_tensor(labels[batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if first % (128 * 50) == 0:
                log(f"epoch {epoch} image {first}: loss {loss.item():.3f} "
                    f"({time.perf_counter() - start:.0f} s)")
    net.eval()
    return {"train_s": time.perf_counter() - start, "epochs": epochs, "train_images": len(images),
            "steps": steps, "batch": 128, "lr": 2e-3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--validation", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=10_000, help="held-out digits evaluated")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-images", type=int, help="first N training digits only")
    parser.add_argument("--resets", default="subtract-next-step,subtract,v_reset")
    parser.add_argument("--nest-resets", default="subtract-next-step,v_reset")
    parser.add_argument("--bias", action="store_true",
                        help="biases in the convolutions and the dense layer (module docstring)")
    parser.add_argument("--name", default="snntorch_round_trip")
    args = parser.parse_args()

    import nir
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    import lifresponse as lr
    from lifresponse.datasets import Digits, load_mnist
    from lifresponse.splits import training_split

    torch.set_num_threads(2)
    log = print
    split = training_split(load_mnist(args.data), args.validation, 0)
    train_images = split.train.images[:args.train_images]
    net = snntorch_network(torch, snn, args.bias)
    training = train(net, train_images, split.train.labels[:len(train_images)], args.steps,
                     args.epochs, torch, log)
    tag = "-bias" if args.bias else ""
    graph_path = RESULTS / "networks" / f"snntorch-synaptic-subtract{tag}.nir"
    nir.write(graph_path, export_to_nir(net, torch.zeros(1, 1, 28, 28), ignore_dims=[0]))
    held_out = split.validation.images[:args.images]
    labels = split.validation.labels[:args.images]
    extra = 2 * len(NEURON_LAYERS)  # enough for the output's lag (measured: reported below)
    lags = range(extra + 1)
    start = time.perf_counter()
    theirs = framework_counts(lambda x: run_snntorch(net, x, torch), held_out, args.steps, extra,
                              lags, torch)
    own = accuracy(theirs["own_counts"], labels)
    log(f"snnTorch: {own} ({time.perf_counter() - start:.0f} s)")
    digits = Digits(held_out, labels, "held-out MNIST training digits")
    rows = []
    runs = [(reset, "torch") for reset in args.resets.split(",")] + [
        (reset, "nest") for reset in args.nest_resets.split(",") if reset]
    for reset, backend in runs:
        network = lr.import_nir(graph_path, dt=DT, encoding="bernoulli", reset=reset)
        rows.append({"reset": reset, **deployed_against(network, digits, theirs, backend,
                                                        args.steps + extra, lags)})
        log(f"{backend} {reset}: {rows[-1]}")
    result = {"training": training, "bias": args.bias, "snntorch": own, "images": len(labels),
              "steps": args.steps, "extra_steps": extra, "dt_ms": DT, "runs": rows}
    write_result(RESULTS, args.name, result, markdown(result))


def markdown(result: dict) -> list[str]:
    own, training = result["snntorch"], result["training"]
    lines = [
        f"snnTorch 1.0.0 conv SNN (12c5-2a-32c5-2a-10fc, {'with' if result['bias'] else 'no'} "
        "biases, `Synaptic` alpha 0.8 beta 0.9, default "
        f"`reset_mechanism=\"subtract\"`) trained {training['epochs']} epoch(s) on "
        f"{training['train_images']:,} MNIST training digits ({training['steps']} steps, "
        f"{training['train_s']:.0f} s), exported with `export_to_nir`, imported with "
        f"`--dt 0.1 --encoding bernoulli --reset R`; {result['images']:,} held-out digits of "
        "the training file, the same Bernoulli input spikes (seed 1) everywhere; window "
        f"{result['steps']} + {result['extra_steps']} steps on NEST and torch (the output's "
        "lag, module docstring). Accuracy: most output spikes, ties to the lowest index.", "",
        f"snnTorch's own accuracy: **{100 * own['accuracy']:.2f} %** ({own['ties']} ties, "
        f"{own['silent']} silent).", ""]
    return lines + comparison_rows(result["runs"], own["accuracy"], "`--reset {reset}`")


if __name__ == "__main__":
    main()
