"""SNN against DNN error of 6c5-2s-12c5-2s-10fc Noisy Softplus after fine tuning, with and
without the training penalty on hidden rates above 200 Hz.

For each rate limit (0 = none, the paper's protocol; 200 Hz, our default): train 20 epochs on
50,000 MNIST digits with our 1 ms-step calibration (k, S) at tau_syn 5 ms, fine-tune 1 epoch
(labels + 0.01), then classify the first ``--images`` digits of the 10,000-digit validation
split twice: with the ANN (numpy forward pass) and as an SNN on NEST (1 s per image, 1 ms step,
one continuing run, seed 1). Also: the fraction of hidden neurons the ANN drives above 200 Hz
on those digits. Writes ``results/snn_dnn_gap.{json,md}`` and the networks to
``results/networks/small-ns-limit<L>-tuned.h5``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from provenance import network_name, write_result

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.networks.prediction import predict_rates
from lifresponse.splits import training_split

ARCHITECTURE = "6c5-2s-12c5-2s-10fc"
K, S, TAU_SYN = 0.332, 186.3, 5.0  # our Poisson calibration at a 1 ms step (docs/calibration.md)
LIMITS = (0.0, 200.0)


def train_tuned(limit, digits, out: Path, epochs: int) -> dict:
    """Train (seed 0) and fine-tune through the library workflow; DNN validation errors."""
    network = workflow.train(Calibration.by_hand(K, S, TAU_SYN), architecture=ARCHITECTURE,
                             digits=digits, epochs=epochs, rate_limit=limit, progress=False)
    tuned = workflow.finetune(network, digits=digits, rate_limit=limit, out=out, force=True,
                              progress=False)
    return {"dnn_validation_error": 1 - network.provenance["validation_accuracy"],
            "dnn_validation_error_tuned": 1 - tuned.provenance["validation_accuracy"]}


def compare(network_path: Path, digits) -> dict:
    network = network_file.read(network_path)
    rates = predict_rates(network, digits.images)
    dnn = rates[-1].argmax(axis=1)
    hidden = np.concatenate([r.ravel() for r in rates[:-1]])
    with tempfile.TemporaryDirectory() as work:
        run = deploy(network_path, digits, DeployConfig(record="output", threads=2, seed=1),
                     Path(work) / "run.h5", progress=True)
    evaluation = run.attrs["evaluation"]
    snn = run.output_counts.argmax(axis=1)
    at_300 = evaluation["time_ms"].index(300.0)
    return {"dnn_error": float(np.mean(dnn != digits.labels)),
            "snn_error": 1 - evaluation["accuracy"],
            "snn_error_300ms": 1 - evaluation["accuracy_by_time"][at_300],
            "snn_dnn_disagreement": float(np.mean(snn != dnn)),
            "hidden_fraction_above_200hz": float(np.mean(hidden > 200.0)),
            "deploy_wall_s": run.attrs["wall_time_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    training_file = load_mnist(args.data)  # 50,000 / 10,000 by lifresponse.splits, seed 0
    digits = training_split(training_file).validation.subset(slice(0, args.images))
    rows = []
    for limit in LIMITS:
        path = (args.results / "networks"
                / f"{network_name(ARCHITECTURE, 'noisy-softplus')}-limit{limit:g}-tuned.h5")
        row = {"rate_limit_hz": limit, "network": str(path),
               **train_tuned(limit, training_file, path, args.epochs),
               **compare(path, digits)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    record = {"architecture": ARCHITECTURE, "k": K, "S": S, "tau_syn_ms": TAU_SYN,
              "epochs": args.epochs, "images": args.images, "window_ms": 1000.0,
              "timestep_ms": 1.0, "seed_snn": 1, "runs": rows}
    lines = [f"{ARCHITECTURE}, Noisy Softplus (k, S) = ({K}, {S}), tau_syn {TAU_SYN:g} ms, "
             f"{args.epochs} epochs + 1 epoch fine tuning; first {args.images} validation "
             "digits, ANN (numpy) against NEST SNN (1 s per image, 1 ms step, seed 1). "
             "Errors in %.", "",
             "| hidden-rate limit | DNN validation error (10,000) | DNN error | SNN error (1 s) "
             "| SNN error (300 ms) | SNN - DNN | SNN/DNN disagree | hidden units > 200 Hz |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        limit = "none (paper)" if r["rate_limit_hz"] == 0 else f"{r['rate_limit_hz']:g} Hz"
        lines.append(
            f"| {limit} | {100 * r['dnn_validation_error_tuned']:.2f} | "
            f"{100 * r['dnn_error']:.2f} | {100 * r['snn_error']:.2f} | "
            f"{100 * r['snn_error_300ms']:.2f} | {100 * (r['snn_error'] - r['dnn_error']):+.2f} "
            f"| {100 * r['snn_dnn_disagreement']:.2f} | "
            f"{100 * r['hidden_fraction_above_200hz']:.1f} |")
    write_result(args.results, "snn_dnn_gap", record, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
