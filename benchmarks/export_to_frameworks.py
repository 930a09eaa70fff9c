"""Our exported MNIST network run by SpikingJelly and snnTorch, against the toolkit's own run.

``networks/small-ns-limit200-tuned.h5`` (6c5-2s-12c5-2s-10fc of IF_curr_exp, Noisy Softplus)
exported with ``lifresponse nir export --dt 0.1`` (a discrete-time graph: each of our 1 ms
steps one of their 0.1 ms steps, their importers' default; docs/nir.md), imported with each
framework's own importer (SpikingJelly 2.0.0 ``import_from_nir(dt=1e-4)``, snnTorch 1.0.0
``import_from_nir``) and run on the first ``--images`` held-out digits, fed the Poisson input
spikes the toolkit draws (seed 1) for 300 steps. The toolkit's run: the torch simulator,
300 ms, and NEST on the first ``--nest-images`` of the digits (the fraction of output counts
equal to the torch simulator's is reported: docs/torch.md has them equal). A framework's
layer ``i`` is ``2 (i + 1)`` steps earlier than ours (our synapses' one-step delay, and NEST's
membrane taking its current a step later), so its output is counted over its first 290 steps,
the part of its run our window holds.

What a framework cannot hold is measured beside: our neurons' 1 ms refractory period (NIR has
no field for it) by running our network without it too. snnTorch's importer turns NIR's
``Flatten(start_dim=0)`` into torch's ``Flatten(0)``, which flattens the batch as well; its
``Flatten`` modules are set to ``start_dim=1`` after import here (the one change to what a
framework built).

Results: ``results/export_to_frameworks.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from provenance import write_result
from round_trip import accuracy

RESULTS = Path(__file__).parent / "results"
NETWORK = RESULTS / "networks" / "small-ns-limit200-tuned.h5"
STEPS = 300
SEED = 1


def output_counts(model, frames, torch, batch: int = 500) -> np.ndarray:
    """Output spikes per (image, class) of a framework's imported model over its first
    ``STEPS - 10`` steps, fed ``frames`` (steps, images, 784)."""
    counts = []
    for first in range(0, frames.shape[1], batch):
        chunk = torch.as_tensor(frames[:, first:first + batch])
        state, total = None, 0
        with torch.no_grad():
            for t in range(STEPS - 10):
                out, state = model(chunk[t].view(-1, 1, 28, 28), state)
                total = total + (out[0] if isinstance(out, tuple) else out).numpy()
        counts.append(total)
    return np.concatenate(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--nest-images", type=int, default=1_000)
    args = parser.parse_args()

    import torch
    from snntorch.import_nir import import_from_nir as snntorch_import
    from spikingjelly.activation_based.nir_exchange import import_from_nir as sj_import

    import lifresponse as lr
    from lifresponse.networks import network_file
    from lifresponse.networks.encoding import Presentation, input_spikes
    from lifresponse.splits import evaluation_digits, first

    torch.set_num_threads(2)
    network = network_file.read(NETWORK)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    n = len(digits.labels)
    inputs = input_spikes(np.asarray(digits.images, float).reshape(n, -1),
                          Presentation(float(STEPS), 0.0, network.timestep), network, 0, SEED)
    frames = np.zeros((STEPS, n, 784), np.float32)
    np.add.at(frames, (inputs.step - 1, inputs.image, inputs.neuron), 1)
    rows = []
    no_refractory = dataclasses.replace(network, neuron=dataclasses.replace(
        network.neuron, tau_refrac=0.0))
    for label, ours in (("lifresponse (torch simulator)", network),
                        ("lifresponse, refractory period 0", no_refractory)):
        start = time.perf_counter()
        run = lr.deploy(ours, digits=digits, backend="torch", window=float(STEPS),
                        record="output", seed=SEED, threads=2, progress=False)
        np.testing.assert_array_equal(run.input_counts, inputs.counts)  # the same spikes
        counts = run.layer_counts[len(ours.layers) - 1]
        rows.append({"run": label, **accuracy(counts, digits.labels),
                     "output_spikes": int(counts.sum()), "wall_s": time.perf_counter() - start})
        print(rows[-1], flush=True)
        if ours is network:
            torch_counts = counts
    checked = first(digits, args.nest_images)
    start = time.perf_counter()
    nest = lr.deploy(network, digits=checked, backend="nest", window=float(STEPS),
                     record="output", seed=SEED, threads=2, progress=False)
    counts = nest.layer_counts[len(network.layers) - 1]
    nest_check = {"images": len(checked.labels), **accuracy(counts, checked.labels),
                  "equal_output_counts": float(np.mean(counts == torch_counts[:len(counts)])),
                  "torch_accuracy_same_digits": accuracy(torch_counts[:len(counts)],
                                                         checked.labels)["accuracy"],
                  "wall_s": time.perf_counter() - start}
    print("NEST", nest_check, flush=True)
    graph = lr.export_nir(network, dt=0.1)
    imported = {"SpikingJelly 2.0.0": sj_import(graph, dt=1e-4),
                "snnTorch 1.0.0": snntorch_import(graph)}
    for module in imported["snnTorch 1.0.0"].modules():
        if isinstance(module, torch.nn.Flatten) and module.start_dim == 0:
            module.start_dim = 1  # keep the batch (module docstring)
    for label, model in imported.items():
        start = time.perf_counter()
        counts = output_counts(model, frames, torch)
        rows.append({"run": label, **accuracy(counts, digits.labels),
                     "output_spikes": int(counts.sum()), "wall_s": time.perf_counter() - start})
        print(rows[-1], flush=True)
    write_result(RESULTS, "export_to_frameworks", {"network": str(NETWORK), "images": n,
                                                    "steps": STEPS, "runs": rows,
                                                    "nest_check": nest_check},
                 markdown(rows, n, nest_check))


def markdown(rows: list, n: int, nest_check: dict) -> list[str]:
    reference = rows[0]["accuracy"]
    lines = [f"`{NETWORK.name}` exported with `nir export --dt 0.1`, run on the first {n:,} "
             f"held-out digits, the same Poisson input spikes (seed 1) for {STEPS} steps "
             "everywhere (module docstring: the frameworks' output over their first 290 steps). "
             "Accuracy: most output spikes, ties to the lowest index.", "",
             "| run | accuracy | vs lifresponse (points) | ties | silent | output spikes | "
             "wall (s) |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['run']} | {100 * row['accuracy']:.2f} % | "
                     f"{100 * (row['accuracy'] - reference):+.2f} | {row['ties']} | "
                     f"{row['silent']} | {row['output_spikes']:,} | {row['wall_s']:.0f} |")
    return lines + [
        "", f"NEST on the first {nest_check['images']:,} of these digits: "
        f"{100 * nest_check['accuracy']:.2f} % (the torch simulator on the same digits "
        f"{100 * nest_check['torch_accuracy_same_digits']:.2f} %); "
        f"{100 * nest_check['equal_output_counts']:.4f} % of the (image, class) output counts "
        f"equal to the torch simulator's ({nest_check['wall_s']:.0f} s)."]


if __name__ == "__main__":
    main()
