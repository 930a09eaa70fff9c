"""One network on NEST and on ``--backend torch`` (float64): identical spike counts per
(image, neuron) in every layer, accuracy against time on NEST, and both wall times.

Used for networks the equality benchmark (``torch_backend.py``) does not cover, e.g. a
spike-trained 12c5-2s-64c5-2s-10fc. Both on 2 threads, one after the other; nothing else ran
meanwhile. Writes ``results/torch_nest_check_<network name>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("network", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    network = network_file.read(args.network)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    result = {"network": str(args.network), "images": args.images, "window_ms": args.window,
              "seed": 3}
    runs = {}
    for backend in ("nest", "torch"):
        start = time.perf_counter()
        runs[backend] = deploy(network, digits, DeployConfig(
            backend=backend, window=args.window, threads=2, seed=3, record="all"),
            progress=False)
        result[f"{backend}_wall_s"] = time.perf_counter() - start
        result[f"{backend}_accuracy"] = runs[backend].accuracy
    nest, torch = runs["nest"], runs["torch"]
    result["identical_counts_per_layer"] = {
        str(i): float(np.mean(nest.layer_counts[i] == torch.layer_counts[i]))
        for i in nest.layer_counts}
    result["spikes_nest"] = {str(i): int(c.sum()) for i, c in nest.layer_counts.items()}
    evaluation = nest.attrs["evaluation"]
    times = np.asarray(evaluation["time_ms"])
    result["nest_accuracy_by_time"] = {
        t: float(evaluation["accuracy_by_time"][int(np.argmin(np.abs(times - t)))])
        for t in (50, 100, 200, 300, 500, 1000) if t <= args.window}
    written = write_result(args.out, f"torch_nest_check_{args.network.stem}", result, None)
    print(json.dumps(written, indent=1, default=str))


if __name__ == "__main__":
    main()
