"""The test-split commands at full size: ``evaluate-ann --test`` and ``deploy --test --images
10000 --duration 300`` on a folder holding the four standard MNIST files.

``../shared/data/mnist`` has no test split (on purpose), so the folder is generated: the two
training files as they are, and as ``t10k-*`` the 10,000 digits the network held out of them
(its recorded split). So the "test" figures here are held-out figures, and ``evaluate-ann
--test`` must equal ``evaluate-ann`` on the held-out digits exactly: a check that the test-split
path reads what it should. Nothing else ran on the machine meanwhile.

Writes ``results/test_split_at_scale.{json,md}``.
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse.datasets import load_mnist
from lifresponse.networks import network_file, run_file
from lifresponse.splits import evaluation_digits

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def lifresponse(*argv: str) -> tuple[str, float]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lifresponse.cli", *argv],
                            capture_output=True, text=True, check=True)
    return result.stdout, time.perf_counter() - start


def accuracy_line(printed: str) -> float:
    return float(re.search(r"accuracy ([\d.]+) %", printed).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    network = network_file.read(NETWORK)
    held_out = evaluation_digits(args.data, network.provenance)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "mnist"
        folder.mkdir()
        for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
            shutil.copy(args.data / name, folder / name)
        write_idx(folder / "t10k-images-idx3-ubyte.gz", 2051,
                  np.round(held_out.images * 255))
        write_idx(folder / "t10k-labels-idx1-ubyte.gz", 2049, held_out.labels)
        assert np.array_equal(load_mnist(folder, "test").images, held_out.images)
        test_printed, test_wall = lifresponse("evaluate-ann", str(NETWORK), "--test", "--data",
                                              str(folder))
        held_printed, _ = lifresponse("evaluate-ann", str(NETWORK), "--data", str(folder))
        run_path = Path(work) / "test_run.h5"
        deploy_printed, deploy_wall = lifresponse(
            "deploy", str(NETWORK), "--test", "--data", str(folder), "--images",
            str(args.images), "--duration", f"{args.duration:g}", "--record", "output",
            "--threads", "2", "--quiet", "--out", str(run_path))
        run = run_file.read(run_path)
        evaluation = run.attrs["evaluation"]
    times = np.asarray(evaluation["time_ms"])
    by_time = {t: evaluation["accuracy_by_time"][int(np.argmin(np.abs(times - t)))]
               for t in (50, 100, 200, 300) if t <= args.duration}
    record = {
        "network": str(NETWORK), "images": args.images, "duration_ms": args.duration,
        "test_split": "generated: the network's 10,000 held-out training digits as t10k-*",
        "ann_accuracy_test_flag": accuracy_line(test_printed) / 100,
        "ann_accuracy_held_out": accuracy_line(held_printed) / 100,
        "snn_accuracy": evaluation["accuracy"], "snn_accuracy_by_time": by_time,
        "deploy_wall_s": deploy_wall, "evaluate_ann_wall_s": test_wall,
        "simulation_wall_s": run.attrs["wall_time_s"], "threads": 2, "record": "output",
    }
    lines = [f"`deploy --test --images {args.images} --duration {args.duration:g}` and "
             "`evaluate-ann --test` on a generated four-file MNIST folder (t10k = the network's "
             f"10,000 held-out digits), `{NETWORK.name}`, NEST 2 threads, output layer recorded.",
             "", "| quantity | value |", "|---|---|",
             "| ANN accuracy, `evaluate-ann --test` | "
             f"{100 * record['ann_accuracy_test_flag']:.2f} % |",
             "| ANN accuracy, `evaluate-ann` (held-out) | "
             f"{100 * record['ann_accuracy_held_out']:.2f} % |",
             f"| SNN accuracy, {args.images} images x {args.duration:g} ms | "
             f"{100 * record['snn_accuracy']:.2f} % |"]
    lines += [f"| SNN accuracy after {t} ms | {100 * a:.2f} % |" for t, a in by_time.items()]
    lines += [f"| deploy wall time (whole command) | {deploy_wall:.0f} s |",
              f"| of which simulation and readout | {record['simulation_wall_s']:.0f} s |"]
    write_result(args.results, "test_split_at_scale", record, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
