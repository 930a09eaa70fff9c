"""Recorded against predicted rates, binned by the predicted rate, layer by layer: where the
simulated LIF neuron stops following Noisy Softplus.

For the fine-tuned networks of ``snn_dnn_gap.py`` (trained without and with the hidden-rate
limit): the first ``--images`` validation digits on NEST (1 s each, 1 ms step, every layer
recorded, seed 1); each layer's rates predicted by Noisy Softplus from the previous layer's
recorded rates (the input's nominal rates for the first layer). Writes
``results/rate_saturation.{json,md}``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.networks.prediction import layer_rates
from lifresponse.networks.topology import network_connections
from lifresponse.splits import training_split

NETWORKS = {limit: Path(f"benchmarks/results/networks/small-ns-limit{limit}-tuned.h5")
            for limit in ("0", "200")}
BINS_HZ = (0, 1, 10, 50, 100, 150, 200, 300, 500, 2000)


def binned(path: Path, digits) -> list[dict]:
    network = network_file.read(path)
    with tempfile.TemporaryDirectory() as work:
        run = deploy(path, digits, DeployConfig(record="all", threads=2, seed=1),
                     Path(work) / "run.h5", progress=False)
    window_s = run.attrs["window_ms"] / 1000.0
    recorded = {i: counts / window_s for i, counts in run.layer_counts.items()}
    pixels = digits.images.reshape(len(digits), -1)
    rows = []
    sources = {-1: pixels * network.input_rate, **recorded}
    for index, into in enumerate(network_connections(network)):
        predicted = layer_rates(network, into, sources).ravel()
        measured = recorded[index].ravel()
        which = np.digitize(predicted, BINS_HZ)
        for b in range(1, len(BINS_HZ)):
            inside = which == b
            if inside.any():
                rows.append({"layer": index, "bin_hz": [BINS_HZ[b - 1], BINS_HZ[b]],
                             "n": int(inside.sum()),
                             "predicted_hz": float(predicted[inside].mean()),
                             "recorded_hz": float(measured[inside].mean())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    validation_set = training_split(load_mnist(args.data)).validation  # the networks' split
    digits = validation_set.subset(slice(0, args.images))
    record = {"images": args.images, "window_ms": 1000.0, "timestep_ms": 1.0, "seed": 1,
              "networks": {limit: {"file": str(path), "bins": binned(path, digits)}
                           for limit, path in NETWORKS.items()}}
    lines = [f"Mean recorded against mean Noisy Softplus-predicted rate (Hz) per bin of predicted "
             f"rate, first {args.images} validation digits, NEST, 1 s per image, 1 ms step.", ""]
    for limit, result in record["networks"].items():
        lines += [f"Trained with hidden-rate limit {limit} Hz" + (" (none)" if limit == "0"
                                                                  else "") + ":", "",
                  "| layer | predicted (Hz) | neurons x images | mean predicted | mean recorded |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['layer']} | {r['bin_hz'][0]}-{r['bin_hz'][1]} | {r['n']} | "
                  f"{r['predicted_hz']:.1f} | {r['recorded_hz']:.1f} |" for r in result["bins"]]
        lines.append("")
    write_result(args.results, "rate_saturation", record, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
