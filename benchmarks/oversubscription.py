"""NEST and torch beside a competing CPU-bound process: how much slower, and what helps.

Each measurement runs in a fresh process (OpenMP reads ``OMP_WAIT_POLICY`` when it starts): a
deployment of the MNIST network on NEST (``--images`` held-out digits x 300 ms) and the same
on the torch simulator, with 2 or 1 threads, alone or beside one busy-looping Python process,
with OpenMP's default wait policy or ``OMP_WAIT_POLICY=PASSIVE``. Slow-down = wall with the
competitor / wall alone for the same threads and policy. On 2 cores a competitor takes half the
machine, so about 2x is the fair share; far above that is oversubscription collapse.

``--job training`` measures one training epoch instead (6c5-2s-12c5-2s-10fc, Noisy Softplus,
``--digits`` training digits, 2 threads, each case ``--repeats`` times, median and range).

Writes ``results/oversubscription.{json,md}`` (``oversubscription_training.*``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from provenance import write_result

NETWORK = "benchmarks/results/networks/small-ns-limit200-tuned.h5"

JOB = """
import sys, time
sys.path.insert(0, '.')
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first
network = network_file.read({network!r})
digits = first(evaluation_digits({data!r}, network.provenance), {images})
start = time.perf_counter()
deploy(network, digits, DeployConfig(backend={backend!r}, window=300.0, threads={threads},
                                      seed=3), progress=False)
print(time.perf_counter() - start)
"""


TRAINING_JOB = """
import sys, time
sys.path.insert(0, '.')
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.training import trainer
digits = load_mnist({data!r}).subset(slice(0, {digits}))
model = trainer.make_model("6c5-2s-12c5-2s-10fc", "noisy-softplus", 0.30, 201.0, 5.0,
                           Calibration.by_hand().neuron, 0)
settings = trainer.TrainSettings(epochs=1, threads={threads}, seed=0)
history = trainer.train(model, digits, digits.subset(slice(0, 0)), settings, progress=False)
print(history.epoch_seconds[0])
"""


def run_job(code: str, policy: str | None, competitor: bool) -> float:
    """Wall (s) the job prints, in a fresh process, beside a busy loop if ``competitor``."""
    # "default" is OpenMP's own: an empty value, which OpenMP ignores and which keeps
    # lifresponse from choosing PASSIVE at import
    env = dict(os.environ, OMP_WAIT_POLICY=policy or "")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if competitor else None
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True, timeout=3600)
    finally:
        if hog:
            hog.kill()
            hog.wait()
    return float(out.stdout.strip().splitlines()[-1])


def wall(backend: str, threads: int, policy: str | None, competitor: bool, data: str,
         images: int) -> float:
    return run_job(JOB.format(network=NETWORK, data=data, images=images, backend=backend,
                              threads=threads), policy, competitor)


def training(args) -> None:
    """One epoch, 2 threads, both wait policies, alone and beside a competitor."""
    rows = []
    for policy in (None, "PASSIVE"):
        code = TRAINING_JOB.format(data=args.data, digits=args.digits, threads=2)
        alone = [run_job(code, policy, False) for _ in range(args.repeats)]
        busy = [run_job(code, policy, True) for _ in range(args.repeats)]
        rows.append({"omp_wait_policy": policy or "default", "alone_s": alone,
                     "with_competitor_s": busy,
                     "slowdown": statistics.median(busy) / statistics.median(alone)})
        print(rows[-1], flush=True)
    result = {"digits": args.digits, "network": "6c5-2s-12c5-2s-10fc", "threads": 2,
              "repeats": args.repeats, "rows": rows, "cores": len(os.sched_getaffinity(0))}
    lines = [f"One training epoch of 6c5-2s-12c5-2s-10fc (Noisy Softplus) on {args.digits} "
             f"digits, 2 threads, {result['cores']} cores; each epoch in a fresh process, "
             f"{args.repeats} times: median (range); competitor: one busy-looping Python "
             "process.", "",
             "| OMP_WAIT_POLICY | alone (s) | beside a competitor (s) | slow-down |",
             "|---|---|---|---|"]
    for r in rows:
        cells = [f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
                 for v in (r["alone_s"], r["with_competitor_s"])]
        lines.append(f"| {r['omp_wait_policy']} | {cells[0]} | {cells[1]} | "
                     f"{r['slowdown']:.2f}x |")
    write_result(args.out, "oversubscription_training", result, lines)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--job", choices=("deployment", "training"), default="deployment")
    parser.add_argument("--digits", type=int, default=10000, help="training digits (training)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (training)")
    args = parser.parse_args()
    if args.job == "training":
        training(args)
        return
    rows = []
    for backend in ("nest", "torch"):
        for threads in (2, 1):
            for policy in (None, "PASSIVE"):
                alone = wall(backend, threads, policy, False, args.data, args.images)
                busy = wall(backend, threads, policy, True, args.data, args.images)
                rows.append({"backend": backend, "threads": threads,
                             "omp_wait_policy": policy or "default", "alone_s": alone,
                             "with_competitor_s": busy, "slowdown": busy / alone})
                print(rows[-1], flush=True)
    result = {"images": args.images, "window_ms": 300.0, "network": NETWORK, "rows": rows,
              "cores": len(os.sched_getaffinity(0))}
    lines = [f"{args.images} held-out digits x 300 ms, MNIST network, {result['cores']} cores; "
             "each wall in a fresh process; competitor: one busy-looping Python process.", "",
             "| backend | threads | OMP_WAIT_POLICY | alone (s) | beside a competitor (s) | "
             "slow-down |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['threads']} | {r['omp_wait_policy']} | "
                     f"{r['alone_s']:.1f} | {r['with_competitor_s']:.1f} | "
                     f"{r['slowdown']:.2f}x |")
    write_result(args.out, "oversubscription", result, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
