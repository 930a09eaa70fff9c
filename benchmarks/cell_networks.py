"""MNIST networks of another cell: 6c5-2s-12c5-2s-10fc of IF_curr_alpha neurons, trained on
that cell's own calibration, deployed on NEST beside the IF_curr_exp network of the same recipe.

The IF_curr_alpha network: Noisy Softplus with the cell's Poisson calibration from
``results/cell_calibration.json`` (k, S of ``IF_curr_alpha`` under ``--drive poisson``), 20
epochs, the 200 Hz hidden-rate limit, seed 0, then one epoch of fine tuning: the recipe of
``snn_dnn_gap.py``, which wrote the IF_curr_exp network (``networks/small-ns-limit200-tuned.h5``,
its own calibration 0.332, 186.3). Writes ``networks/small-ns-alpha-limit200-tuned.h5``. Both
run on NEST (2 threads, seed 1) on the same held-out digits x 300 ms, one after the other;
``results/cell_networks.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first

NETWORKS = Path("benchmarks/results/networks")
EXP_NETWORK = NETWORKS / "small-ns-limit200-tuned.h5"
ALPHA_NETWORK = NETWORKS / "small-ns-alpha-limit200-tuned.h5"
WINDOW_MS = 300.0
CHECKPOINTS_MS = (50, 100, 200, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    k, S = alpha_calibration(args.out / "cell_calibration.json")
    if not ALPHA_NETWORK.exists():
        training_file = load_mnist(args.data)
        start = time.perf_counter()
        network = workflow.train(Calibration.by_hand(k, S, 5.0, cell="IF_curr_alpha"),
                                 architecture="6c5-2s-12c5-2s-10fc", digits=training_file,
                                 epochs=args.epochs, rate_limit=200.0, progress=False)
        workflow.finetune(network, digits=training_file, rate_limit=200.0, out=ALPHA_NETWORK,
                          progress=False)
        print(f"trained {ALPHA_NETWORK} in {time.perf_counter() - start:.0f} s", flush=True)
    rows = []
    for label, path in (("IF_curr_exp", EXP_NETWORK), ("IF_curr_alpha", ALPHA_NETWORK)):
        network = network_file.read(path)
        digits = first(evaluation_digits(args.data, network.provenance), args.images)
        run = deploy(network, digits, DeployConfig(window=WINDOW_MS, threads=2, seed=1,
                                                   record="output"), progress=False)
        ev = run.attrs["evaluation"]
        times = np.asarray(ev["time_ms"])
        rows.append({"cell": label, "network": str(path), "k": network.k, "S": network.S,
                     "ann_validation_accuracy": network.provenance["validation_accuracy"],
                     "images": len(digits), "snn_accuracy": ev["accuracy"],
                     "accuracy_by_time": {str(t): ev["accuracy_by_time"][
                         int(np.argmin(np.abs(times - t)))] for t in CHECKPOINTS_MS},
                     "output_rate_hz": ev["layer_rates_hz"], "wall_s": run.attrs["wall_time_s"]})
        print(json.dumps(rows[-1]), flush=True)
    write_result(args.out, "cell_networks", {"window_ms": WINDOW_MS, "networks": rows},
                 markdown(rows))


def alpha_calibration(path: Path) -> tuple[float, float]:
    """(k, S) of IF_curr_alpha under the Poisson drive, from the cell calibration result."""
    for row in json.loads(path.read_text())["cells"]:
        if row["cell"] == "IF_curr_alpha" and row["drive"] == "poisson":
            fit = row["fits"]["noisy-softplus"]["params"]
            return fit["k"], fit["S"]
    raise SystemExit(f"{path}: no IF_curr_alpha Poisson calibration; run cell_calibration.py")


def markdown(rows: list) -> list[str]:
    lines = ["6c5-2s-12c5-2s-10fc, Noisy Softplus with each cell's own Poisson calibration, 20 "
             "epochs + 1 of fine tuning, 200 Hz hidden-rate limit, seed 0; on NEST (2 threads, "
             f"seed 1), the first {rows[0]['images']} of each network's held-out digits x "
             f"{WINDOW_MS:g} ms (the same digits: both networks hold out the same split). Ties: "
             "the lowest class index wins. Nothing else ran on the machine.", "",
             "| cell | k | S (Hz/nA) | ANN validation | SNN " + " | SNN ".join(
                 f"{t} ms" for t in CHECKPOINTS_MS) + " | wall (s) |",
             "|---|---|---|---|" + "---|" * len(CHECKPOINTS_MS) + "---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['k']:.3f} | {r['S']:.1f} | "
                     f"{100 * r['ann_validation_accuracy']:.2f} % | " + " | ".join(
                         f"{100 * r['accuracy_by_time'][str(t)]:.2f} %" for t in CHECKPOINTS_MS)
                     + f" | {r['wall_s']:.0f} |")
    return lines


if __name__ == "__main__":
    main()
