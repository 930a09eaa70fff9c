"""Training on the measured response: an IF_curr_alpha network fine-tuned with the cell's
measured rate surface as its activation, beside the same network fine-tuned with the Noisy
Softplus fit of the same calibration, both deployed on NEST.

1. Calibrate IF_curr_alpha under the Poisson drive (tau_syn 5 ms) on NEST on a grid that covers
   what a network's neurons receive: means -0.5 .. 1.5 nA by 0.05, stds 0.02, 0.05, 0.1, 0.2,
   0.4, 0.6, 0.8, 1.0 nA (the default grid stops at 0.2 nA; a trained network's sigma is mostly
   0.01-0.1 nA), 10 trials x 10 s per point, seed 42; fit it
   (``results/measured_response/rates.h5``, ``calibration.json``).
2. Start from ``networks/small-ns-alpha-limit200-tuned.h5`` (6c5-2s-12c5-2s-10fc of
   IF_curr_alpha, cell_networks.py) and fine-tune it ``--epochs`` epochs (learning rate 1e-4,
   hidden-rate limit 200 Hz, seed 0) twice: with Noisy Softplus at this calibration's (k, S),
   and with the measured response (``--activation measured``). Writes
   ``networks/small-{ns,measured}-alpha-grid-tuned.h5``.
3. Deploy both on NEST (2 threads, seed 1, every layer recorded) on the first ``--images``
   held-out digits x 300 ms: accuracy against time, and how well each activation predicts the
   recorded rates layer by layer (RMS difference, first 100 digits).

Writes ``results/measured_response.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import workflow
from lifresponse.calibration import results
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.response_surface import ResponseSurface
from lifresponse.splits import evaluation_digits, first

NETWORKS = Path("benchmarks/results/networks")
START = NETWORKS / "small-ns-alpha-limit200-tuned.h5"
MEANS = np.round(np.arange(-10, 31) * 0.05, 2)  # nA
STDS = [0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]  # nA
CHECKPOINTS_MS = (50, 100, 200, 300)
SHORT = {"noisy-softplus": "ns", "measured": "measured"}


GRID = {"means_na": MEANS.tolist(), "stds_na": STDS, "trials": 10, "duration_ms": 10000.0}


def calibrate_on_grid(folder: Path, cell: str):
    """``cell`` calibrated under the Poisson drive on NEST on :data:`GRID` (tau_syn 5 ms, 1 ms
    steps, seed 42) into ``folder/rates.h5`` unless it is there, and fitted into
    ``folder/calibration.json``. Returns the calibration, the RMSE and R^2 of Noisy Softplus
    and of the measured response, the response surface and the seconds it took."""
    folder.mkdir(parents=True, exist_ok=True)
    rates = folder / "rates.h5"
    start = time.perf_counter()
    if not rates.exists():
        workflow.calibrate(out=rates, cell=cell, drive="poisson", means=MEANS, stds=STDS,
                           trials=GRID["trials"], duration=GRID["duration_ms"], timestep=1.0,
                           threads=2, progress=False)
    calibration = workflow.fit(rates, out=folder / "calibration.json")
    comparison = {row["model"]: row for row in calibration.record["comparison"]}
    fits = {name: {"rmse_hz": comparison[name]["rmse"], "r2": comparison[name]["r2"]}
            for name in ("noisy-softplus", "measured") if name in comparison}
    return (calibration, fits, ResponseSurface.from_table(results.read(rates)),
            time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    calibration, fits, surface, calibration_s = calibrate_on_grid(
        args.out / "measured_response", "IF_curr_alpha")
    training_file = load_mnist(args.data)
    rows = []
    for activation in ("noisy-softplus", "measured"):
        start_network = network_file.read(START)
        network = dataclasses.replace(
            start_network, activation=activation, k=calibration.k, S=calibration.S,
            response=surface if activation == "measured" else None)
        path = NETWORKS / f"small-{SHORT[activation]}-alpha-grid-tuned.h5"
        start = time.perf_counter()
        tuned = workflow.finetune(network, digits=training_file, rate_limit=200.0, out=path,
                                  epochs=args.epochs, learning_rate=1e-4, progress=False,
                                  force=True)
        tuning_s = time.perf_counter() - start
        digits = first(evaluation_digits(args.data, tuned.provenance), args.images)
        run = deploy(tuned, digits, DeployConfig(backend="nest", window=300.0, threads=2,
                                                 seed=1, record="all"), progress=False)
        ev = run.attrs["evaluation"]
        times = np.asarray(ev["time_ms"])
        rows.append({
            "activation": activation, "network": str(path), "tuning_s": tuning_s,
            "ann_validation_accuracy": tuned.provenance["validation_accuracy"],
            "images": len(digits), "snn_accuracy": ev["accuracy"],
            "accuracy_by_time": {str(t): ev["accuracy_by_time"][
                int(np.argmin(np.abs(times - t)))] for t in CHECKPOINTS_MS},
            "layer_rates_hz": ev["layer_rates_hz"],
            "layer_rms_difference_hz": ev["layer_rms_difference_hz"],
            "wall_s": run.attrs["wall_time_s"]})
        print(json.dumps(rows[-1]), flush=True)
    write_result(args.out, "measured_response", {
        "grid": GRID,
        "calibration": {"k": calibration.k, "S": calibration.S, "fits": fits,
                        "wall_s": calibration_s},
        "epochs": args.epochs, "networks": rows}, markdown(rows, fits, calibration, args))


def markdown(rows: list, fits: dict, calibration, args) -> list[str]:
    lines = [
        "IF_curr_alpha under the Poisson drive on NEST, means -0.5 .. 1.5 nA by 0.05, stds "
        f"{', '.join(map(str, STDS))} nA, 10 trials x 10 s: Noisy Softplus k = "
        f"{calibration.k:.3f}, S = {calibration.S:.1f} Hz/nA, RMSE "
        f"{fits['noisy-softplus']['rmse_hz']:.2f} Hz (R^2 {fits['noisy-softplus']['r2']:.4f}); "
        f"the measured response at the means it left out RMSE {fits['measured']['rmse_hz']:.2f}"
        f" Hz (R^2 {fits['measured']['r2']:.4f}).", "",
        f"6c5-2s-12c5-2s-10fc from `{START.name}`, fine-tuned {args.epochs} epochs with each "
        "activation (learning rate 1e-4, 200 Hz hidden-rate limit, seed 0); on NEST (2 "
        f"threads, seed 1), the first {rows[0]['images']} held-out digits x 300 ms. Ties: the "
        "lowest class index wins. Nothing else ran on the machine.", "",
        "| activation | ANN validation | SNN " + " | SNN ".join(
            f"{t} ms" for t in CHECKPOINTS_MS) + " | tuning (s) | NEST wall (s) |",
        "|---|---|" + "---|" * len(CHECKPOINTS_MS) + "---|---|"]
    for r in rows:
        lines.append(f"| {r['activation']} | {100 * r['ann_validation_accuracy']:.2f} % | "
                     + " | ".join(f"{100 * r['accuracy_by_time'][str(t)]:.2f} %"
                                  for t in CHECKPOINTS_MS)
                     + f" | {r['tuning_s']:.0f} | {r['wall_s']:.0f} |")
    return lines + prediction_table(rows, "activation", "digits")


def prediction_table(rows: list, label: str, images: str) -> list[str]:
    """Markdown: each row's (``row[label]``) recorded rates per layer against the Noisy
    Softplus and measured-response predictions from the layer before."""
    layers = sorted(rows[0]["layer_rates_hz"], key=int)
    lines = ["", "Recorded rates against each activation's prediction from the recorded "
             f"rates of the layer before (RMS difference over neurons and the first 100 {images}"
             ", Hz; mean recorded rate in brackets):", "",
             "| network | predictor | " + " | ".join(f"layer {i}" for i in layers) + " |",
             "|---|---|" + "---|" * len(layers)]
    for r in rows:
        for name, by_layer in r["layer_rms_difference_hz"].items():
            if by_layer and name in ("noisy-softplus", "measured"):
                lines.append(f"| {r[label]} | {name} | " + " | ".join(
                    f"{by_layer[i]:.1f} ({r['layer_rates_hz'][i]:.1f})" for i in layers) + " |")
    return lines


if __name__ == "__main__":
    main()
