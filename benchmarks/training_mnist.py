"""DNN validation error on full MNIST (50,000 training / 10,000 validation digits of the
60,000-image training set in ../shared/data/mnist), the paper's protocol: batch 50, 20 epochs,
decaying learning rate, then 1 epoch of fine tuning (Noisy Softplus everywhere, labels + 0.01),
with our default penalty on hidden rates above 200 Hz (``--rate-limit 0`` for none).

Runs: 6c5-2s-12c5-2s-10fc with Noisy Softplus, ReLU and Softplus; 12c5-2s-64c5-2s-10fc with
ReLU. Seconds per epoch too. Writes ``results/training_mnist.{json,md}`` and the trained
network files to ``results/networks/`` as ``<size>-<activation>[-tuned].h5`` (``small-ns``,
``large-relu``, ...: ``results/networks/README.md``); with ``--device cuda`` it writes
``results/training_mnist_cuda.{json,md}`` and keeps the networks out of ``results/networks/``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from provenance import network_name, write_result

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.training import trainer

K, S, TAU_SYN = 0.30, 201.0, 5.0  # the paper's calibration for tau_syn = 5 ms
RUNS = [("6c5-2s-12c5-2s-10fc", "noisy-softplus"), ("6c5-2s-12c5-2s-10fc", "relu"),
        ("6c5-2s-12c5-2s-10fc", "softplus"), ("12c5-2s-64c5-2s-10fc", "relu")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--rate-limit", type=float, default=trainer.RATE_LIMIT_HZ,
                        help="hidden-rate ceiling of the training penalty (Hz); 0 for none")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--only", help="run just this architecture_activation, keep the others' "
                        "results from the existing JSON")
    args = parser.parse_args()

    digits = load_mnist(args.data)  # split by lifresponse.splits: 50,000 / 10,000, seed 0
    calibration = Calibration.by_hand(K, S, TAU_SYN)
    rows = []
    name_stem = "training_mnist" if args.device == "cpu" else f"training_mnist_{args.device}"
    previous = args.results / f"{name_stem}.json"
    earlier = {}  # the run records of the results kept from the existing JSON
    if args.only and previous.exists():
        kept = json.loads(previous.read_text())
        rows = [r for r in kept["runs"] if f"{r['architecture']}_{r['activation']}" != args.only]
        earlier = {key: kept[key] for key in ("run", "earlier_runs") if key in kept}
    with tempfile.TemporaryDirectory() as work:
        networks = args.results / "networks" if args.device == "cpu" else Path(work)
        for architecture, activation in RUNS:
            if args.only and f"{architecture}_{activation}" != args.only:
                continue
            name = network_name(architecture, activation)
            settings = {"seed": args.seed, "rate_limit": args.rate_limit,
                        "device": args.device, "progress": False,
                        "force": True}  # refresh the committed networks
            network = workflow.train(calibration, architecture=architecture,
                                     activation=activation, digits=digits, epochs=args.epochs,
                                     out=networks / f"{name}.h5", **settings)
            tuned = workflow.finetune(network, digits=digits, out=networks / f"{name}-tuned.h5",
                                      **settings)
            history = network.provenance["history"]
            rows.append({
                "architecture": architecture, "activation": activation,
                "validation_error": 1 - network.provenance["validation_accuracy"],
                "validation_error_fine_tuned": 1 - tuned.provenance["validation_accuracy"],
                "seconds_per_epoch_median": sorted(history["epoch_seconds"])[
                    len(history["epoch_seconds"]) // 2],
                "history": history,
            })
            print(f"{name}: error {100 * rows[-1]['validation_error']:.2f} %, fine-tuned "
                  f"{100 * rows[-1]['validation_error_fine_tuned']:.2f} %, "
                  f"{rows[-1]['seconds_per_epoch_median']:.1f} s/epoch", flush=True)
    record = {"protocol": {"k": K, "S": S, "tau_syn_ms": TAU_SYN, "epochs": args.epochs,
                           "device": args.device,
                           "batch_size": 50,
                           "optimizer": "Adam 1e-3 (x min(1, 200/fan_in) per layer), x0.9 "
                                        "every 2 epochs",
                           "fine_tuning": "1 epoch, Adam 1e-4, Noisy Softplus, labels + 0.01",
                           "rate_limit_hz": args.rate_limit,
                           "split": "50,000 / 10,000 of the MNIST training set, seed 0",
                           "seed": args.seed},
              "runs": rows, **earlier}
    lines = [f"MNIST DNN validation error, {record['protocol']['split']}; "
             f"{args.epochs} epochs, batch 50; (k, S) = ({K}, {S}), tau_syn {TAU_SYN} ms; "
             f"hidden-rate penalty above {args.rate_limit:g} Hz (0: none); device "
             f"{args.device}.", "",
             "| architecture | activation | paper test error (%) | ours, validation error (%) "
             "| ours after fine tuning (%) | s / epoch |", "|---|---|---|---|---|---|"]
    paper = {("6c5-2s-12c5-2s-10fc", "noisy-softplus"): "1.91 1.79 1.76",
             ("6c5-2s-12c5-2s-10fc", "relu"): "1.36 1.46 1.36",
             ("6c5-2s-12c5-2s-10fc", "softplus"): "2.30 2.75 2.42",
             ("12c5-2s-64c5-2s-10fc", "relu"): "0.95 (after fine tuning)"}
    rows.sort(key=lambda r: RUNS.index((r["architecture"], r["activation"])))
    for r in rows:
        lines.append(f"| {r['architecture']} | {r['activation']} | "
                     f"{paper[(r['architecture'], r['activation'])]} | "
                     f"{100 * r['validation_error']:.2f} | "
                     f"{100 * r['validation_error_fine_tuned']:.2f} | "
                     f"{r['seconds_per_epoch_median']:.1f} |")
    write_result(args.results, name_stem, record, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
