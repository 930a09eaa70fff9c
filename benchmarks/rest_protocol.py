"""What starting every image from rest changes on NEST: accuracy against presentation time and
wall time, against the previous protocol (each image from the state the previous one left).

The same network, held-out digits, seed and window (300 ms) under ``--protocol rest`` and
``--protocol continuing``, one after the other in one process; nothing else ran meanwhile.
Both draw an image's input spikes from (seed, image index). Writes
``results/rest_protocol.{json,md}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")
WINDOW = 300.0
CHECKPOINTS_MS = (50, 100, 150, 200, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    network = network_file.read(NETWORK)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    rows = {}
    for protocol in ("rest", "continuing"):
        start = time.perf_counter()
        run = deploy(network, digits, DeployConfig(window=WINDOW, threads=2, seed=3,
                                                   protocol=protocol), progress=False)
        wall = time.perf_counter() - start
        ev = run.attrs["evaluation"]
        times = np.asarray(ev["time_ms"])
        rows[protocol] = {
            "accuracy": ev["accuracy"], "wall_s": wall, "images_per_s": len(digits) / wall,
            "accuracy_by_time": {str(t): ev["accuracy_by_time"][int(np.argmin(np.abs(times - t)))]
                                 for t in CHECKPOINTS_MS},
            "layer_rates_hz": ev["layer_rates_hz"], "output": run.output_counts}
    changed = float(np.mean(np.any(rows["rest"].pop("output") != rows["continuing"].pop(
        "output"), axis=1)))
    result = {"network": str(NETWORK), "window_ms": WINDOW, "images": len(digits),
              "protocols": rows, "images_with_other_output_counts": changed}
    lines = [f"`{NETWORK}` on NEST (2 threads), {len(digits)} held-out digits x {WINDOW:g} ms, "
             "seed 3; one process, nothing else running.", "",
             "| protocol | accuracy | " + " | ".join(f"after {t} ms" for t in CHECKPOINTS_MS)
             + " | wall (s) | images/s |", "|---" * (4 + len(CHECKPOINTS_MS)) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {100 * row['accuracy']:.2f} % | " + " | ".join(
            f"{100 * row['accuracy_by_time'][str(t)]:.1f} %" for t in CHECKPOINTS_MS)
            + f" | {row['wall_s']:.1f} | {row['images_per_s']:.2f} |")
    lines += ["", f"Images whose output counts differ between the protocols: "
              f"{100 * changed:.1f} %.", "", "Mean rates per layer (Hz): " + "; ".join(
                  f"{name}: " + ", ".join(f"{v:.1f}" for v in row["layer_rates_hz"].values())
                  for name, row in rows.items()) + "."]
    write_result(args.out, "rest_protocol", result, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
