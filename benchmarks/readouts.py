"""What limits accuracy at short presentation times: the same spikes read out five ways.

Every network of ``--networks`` sees ``--images`` of its held-out digits (the validation split
it records) for the longest of ``--at`` ms, from rest, with the input spikes deployment draws
(seed 3), in the training simulation in float64 (which gives the torch backend's counts, and so
NEST's: tests/test_spike_training.py). After each of ``--at`` ms the winner is read as:

* ``count``: most output spikes, ties to the lowest index (the library's readout);
* ``count, tie to first spike``: a tie goes to the output that fired first;
* ``count, tie to first to reach it``: a tie goes to the output whose last spike came first;
* ``count, tie shared``: a tie of ``m`` outputs counts ``1 / m`` if the label is among them
  (the expectation of a coin toss);
* ``charge``: no output spikes at all; the most charge sent to an output by the last hidden
  layer's spikes (weight x tau_syn per spike, plus its bias over the time), which is the output
  layer's input current before the output neurons turn it into spikes.

Nothing else ran meanwhile. Writes ``results/<--name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_result

READOUTS = ("count", "count, tie to first spike", "count, tie to first to reach it",
            "count, tie shared", "charge")


def read_out(network, digits, at_ms, seed: int, batch: int = 100) -> dict:
    """Fraction right per readout and time (``READOUTS``, module docstring)."""
    import torch

    from lifresponse.networks.encoding import Presentation
    from lifresponse.networks.prediction import weight_matrix
    from lifresponse.networks.topology import network_connections
    from lifresponse.training import spikes

    h = network.timestep
    window = max(at_ms)
    last_step = {round(t / h) - 1: t for t in at_ms}  # a spike of step n is stamped (n + 1) h
    weights = weight_matrix(network_connections(network)[-1][0]).toarray()  # (n_hidden, n_out)
    bias = network.layers[-1].bias_per_neuron()
    model = spikes.SpikingSimulation(network).double()
    pixels = digits.maps().reshape(len(digits), -1).astype(float)
    n_out = network.layers[-1].n_out
    right = {t: dict.fromkeys(READOUTS, 0.0) for t in at_ms}
    for first in range(0, len(digits), batch):
        images = np.arange(first, min(first + batch, len(digits)))
        state = {"counts": np.zeros((len(images), n_out)),
                 "first": np.full((len(images), n_out), np.inf),
                 "latest": np.full((len(images), n_out), np.inf),
                 "hidden": 0.0}
        snapshots = {}

        def on_step(n, layer_spikes, state=state, snapshots=snapshots):
            fired = layer_spikes[-1].detach().flatten(1).numpy() > 0
            state["counts"] += fired
            state["first"] = np.where(fired & np.isinf(state["first"]), n, state["first"])
            state["latest"] = np.where(fired, n, state["latest"])
            state["hidden"] = state["hidden"] + layer_spikes[-2].detach().flatten(1).numpy()
            if n in last_step:
                snapshots[last_step[n]] = {k: np.copy(v) for k, v in state.items()}

        inputs = spikes.input_steps(network, pixels, images, Presentation(window, 0.0, h),
                                    seed, "cpu").double()
        with torch.no_grad():
            model(inputs, on_step=on_step)
        labels = digits.labels[images]
        for t, snap in snapshots.items():
            charge = snap["hidden"] @ weights * network.tau_syn + bias * t  # pC
            for readout, score in winners(snap, charge, labels).items():
                right[t][readout] += score
    return {t: {r: v / len(digits) for r, v in by.items()} for t, by in right.items()}


def winners(snap: dict, charge: np.ndarray, labels: np.ndarray) -> dict:
    """Images right per readout, from one time's counts, spike steps and charges."""
    from lifresponse.networks.evaluation import classify

    counts = snap["counts"]
    top = counts.max(axis=1, keepdims=True)
    tied = (counts == top) & (top > 0)
    rows = np.arange(len(labels))

    def tie_to_earliest(steps):
        return np.argmin(np.where(tied, steps, np.inf), axis=1)

    fired = top[:, 0] > 0
    return {"count": np.sum(classify(counts) == labels),
            "count, tie to first spike": np.sum(fired & (tie_to_earliest(snap["first"])
                                                         == labels)),
            "count, tie to first to reach it": np.sum(
                fired & (tie_to_earliest(snap["latest"]) == labels)),
            "count, tie shared": np.sum(tied[rows, labels] / np.maximum(tied.sum(axis=1), 1)),
            "charge": np.sum(charge.argmax(axis=1) == labels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", type=Path, required=True)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--at", type=float, nargs="+", default=[50.0, 100.0], metavar="MS")
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="readouts")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    import torch

    from lifresponse.networks import network_file
    from lifresponse.splits import evaluation_digits, first

    torch.set_num_threads(args.threads)
    rows = []
    for path in args.networks:
        network = network_file.read(path)
        digits = first(evaluation_digits(args.data, network.provenance), args.images)
        began = time.perf_counter()
        accuracy = read_out(network, digits, args.at, seed=3)
        rows.append({"network": str(path), "images": len(digits.labels),
                     "accuracy": {str(t): a for t, a in accuracy.items()},
                     "seconds": time.perf_counter() - began})
        print(rows[-1], flush=True)
    lines = [f"The same spikes read out five ways (benchmarks/readouts.py docstring): "
             f"{args.images} held-out digits per network, every image from rest, input spikes "
             "of seed 3, the training simulation in float64 (the torch backend's and NEST's "
             "counts); this 2-core CPU, nothing else running.", "",
             "| network | time | " + " | ".join(READOUTS) + " |",
             "|---|---|" + "---|" * len(READOUTS)]
    for r in rows:
        for t, by in r["accuracy"].items():
            lines.append(f"| `{Path(r['network']).name}` | {float(t):g} ms | " + " | ".join(
                f"{100 * by[name]:.2f} %" for name in READOUTS) + " |")
    result = {"rows": rows, **{k: str(v) for k, v in vars(args).items()}}
    write_result(args.out, args.name, result, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
