"""The issue's speed target for the torch backend: 10,000 held-out digits x 300 ms in <= 45 s on
this 2-core CPU, as a user runs it (the whole command: start, loading MNIST, simulating,
writing run.h5).

Runs ``lifresponse deploy NETWORK --backend torch --images 10000 --duration 300`` with float64
and float32, ``--repeats`` times each, one after another; records the command's wall time, the
deployment's own (``wall_time_s`` in run.h5), peak memory and accuracy. Nothing else ran on the
machine meanwhile. Writes ``results/torch_test_set.{json,md}``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_result

from lifresponse.networks import run_file

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")


def deploy(data: Path, images: int, dtype: str, out: Path) -> dict:
    command = [sys.executable, "-m", "lifresponse.cli", "deploy", str(NETWORK), "--backend",
               "torch", "--dtype", dtype, "--data", str(data), "--images", str(images),
               "--duration", "300", "--seed", "1", "--record", "output", "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    run = run_file.read(out)
    return {"command_wall_s": wall, "deploy_wall_s": float(run.attrs["wall_time_s"]),
            "accuracy": run.accuracy, "step_loop": run.attrs["step_loop"],
            "peak_rss_mb_children": max(before, resource.getrusage(
                resource.RUSAGE_CHILDREN).ru_maxrss) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    runs = {"float64": [], "float32": []}
    for repeat in range(args.repeats):
        for dtype in runs:
            runs[dtype].append(deploy(args.data, args.images, dtype,
                                      work / f"run_{dtype}_{repeat}.h5"))
            print(dtype, runs[dtype][-1], flush=True)
    result = {"network": str(NETWORK), "images": args.images, "window_ms": 300.0, "runs": runs}
    lines = [f"`lifresponse deploy {NETWORK} --backend torch --dtype D --images {args.images} "
             "--duration 300 --seed 1 --record output` (held-out digits of the training set), "
             f"{args.repeats} runs each, one after another; nothing else ran meanwhile.", "",
             "| dtype | command wall (s), median (range) | deployment (s) | images/s "
             "(command) | accuracy | peak RSS (MB) | step loop |", "|---|---|---|---|---|---|---|"]
    for dtype, rs in runs.items():
        walls = [r["command_wall_s"] for r in rs]
        wall = statistics.median(walls)
        lines.append(f"| {dtype} | {wall:.1f} ({min(walls):.1f}-{max(walls):.1f}) | "
                     f"{statistics.median(r['deploy_wall_s'] for r in rs):.1f} | "
                     f"{args.images / wall:.0f} | {100 * rs[0]['accuracy']:.2f} % | "
                     f"{max(r['peak_rss_mb_children'] for r in rs):.0f} | {rs[0]['step_loop']} |")
    write_result(args.out, "torch_test_set", result, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
