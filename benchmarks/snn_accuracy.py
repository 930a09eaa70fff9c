"""SNN accuracy on NEST of the networks trained by ``training_mnist.py``, beside their DNN
accuracy on the same held-out digits; Fig. 12 rate-prediction distances; accuracy against
presentation time (Fig. 16). 1 s per image, 1 ms step, the first ``--images`` digits of the
10,000-digit validation split (seed 0) of ../shared/data/mnist. Writes
``results/snn_accuracy.{json,md}`` and ``docs/figures/networks/accuracy_by_time.png``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from lifresponse import __version__, backends
from lifresponse.datasets import load_mnist, validation_split
from lifresponse.networks import network_file
from lifresponse.networks.deploy import DeployConfig, deploy
from lifresponse.networks.plots import plot_accuracy_by_time
from lifresponse.reproduction_report import PAPER_MNIST as PAPER
from lifresponse.training import trainer
from lifresponse.training.model import SpikingNetwork

NETWORKS = ["6c5-2s-12c5-2s-10fc_noisy-softplus", "6c5-2s-12c5-2s-10fc_relu",
            "6c5-2s-12c5-2s-10fc_softplus"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--window", type=float, default=1000.0)
    parser.add_argument("--networks", type=Path, default=Path("benchmarks/results/networks"))
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--figures", type=Path, default=Path("docs/figures/networks"))
    args = parser.parse_args()

    _, held_out = validation_split(load_mnist(args.data), 10000, seed=0)
    digits = held_out.subset(slice(0, args.images))
    rows, curves = [], []
    with tempfile.TemporaryDirectory() as work:
        for name in NETWORKS:
            for suffix in ("", "_tuned"):
                path = args.networks / f"{name}{suffix}.h5"
                network = network_file.read(path)
                dnn = trainer.accuracy(SpikingNetwork.from_network(network), digits)
                run = deploy(path, digits, DeployConfig(window=args.window, threads=2, seed=1),
                             Path(work) / f"{name}{suffix}.h5", progress=False)
                ev = run.attrs["evaluation"]
                rows.append({"network": f"{name}{suffix}", "trained_with": name.split("_")[1],
                             "fine_tuned": bool(suffix), "dnn_accuracy": dnn,
                             "snn_accuracy": ev["accuracy"],
                             "wall_s": run.attrs["wall_time_s"], **ev})
                curves.append((f"{name.split('_')[1]}{' fine-tuned' if suffix else ''}",
                               np.asarray(ev["time_ms"]), ev["accuracy_by_time"]))
                print(f"{name}{suffix}: DNN {100 * dnn:.2f} %, SNN {100 * ev['accuracy']:.2f} %,"
                      f" Fig.12 {ev['fig12_distance_hz']}, {run.attrs['wall_time_s']:.0f} s",
                      flush=True)
    plot_accuracy_by_time(curves, args.figures / "accuracy_by_time.png")
    record = {"images": args.images, "window_ms": args.window, "timestep_ms": 1.0,
              "split": "first images of the 10,000 validation digits (seed 0)",
              "runs": rows, "versions": {"lifresponse": __version__,
                                         "backend": backends.version("nest")}}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "snn_accuracy.json").write_text(json.dumps(record, indent=2) + "\n")
    by_name = {r["network"]: r for r in rows}
    lines = [f"{args.images} held-out digits, {args.window:g} ms each, NEST 1 ms step, on-grid "
             f"({record['versions']['backend']}). Error in %.", "",
             "| trained with | paper DNN | paper SNN | paper SNN fine-tuned | ours DNN | ours SNN "
             "| ours DNN fine-tuned | ours SNN fine-tuned |", "|---|---|---|---|---|---|---|---|"]
    for name in NETWORKS:
        activation = name.split("_")[1]
        plain, tuned = by_name[name], by_name[f"{name}_tuned"]
        paper = PAPER[activation]
        lines.append(
            f"| {activation} | {paper[0]} | {paper[1]} | {paper[2]} | "
            f"{100 * (1 - plain['dnn_accuracy']):.2f} | {100 * (1 - plain['snn_accuracy']):.2f} "
            f"| {100 * (1 - tuned['dnn_accuracy']):.2f} | "
            f"{100 * (1 - tuned['snn_accuracy']):.2f} |")
    lines += ["", "Fig. 12 distances (Hz; first conv map, first 10 digits; recorded rates "
              "against each activation's prediction from the input rates, same weights):", "",
              "| network | Noisy Softplus | ReLU | Softplus |", "|---|---|---|---|"]
    for r in rows:
        d = r["fig12_distance_hz"]
        lines.append(f"| {r['network']} | {d['noisy-softplus']:.1f} | {d['relu']:.1f} | "
                     f"{d['softplus']:.1f} |")
    (args.results / "snn_accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
