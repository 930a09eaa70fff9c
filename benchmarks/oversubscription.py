"""NEST and torch beside a competing CPU-bound process: how much slower, and what helps.

Each measurement runs in a fresh process (OpenMP reads ``OMP_WAIT_POLICY`` when it starts): a
deployment of the MNIST network on NEST (``--images`` held-out digits x 300 ms) and the same
on the torch simulator, with 2 or 1 threads, alone or beside one busy-looping Python process,
with OpenMP's default wait policy or ``OMP_WAIT_POLICY=PASSIVE``. Slow-down = wall with the
competitor / wall alone for the same threads and policy. On 2 cores a competitor takes half the
machine, so about 2x is the fair share; far above that is oversubscription collapse.

Writes ``results/oversubscription.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NETWORK = "benchmarks/results/networks/6c5-2s-12c5-2s-10fc_noisy-softplus_limit200_tuned.h5"

JOB = """
import sys, time
sys.path.insert(0, '.')
from lifresponse.networks.deploy import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first
network = network_file.read({network!r})
digits = first(evaluation_digits({data!r}, network.provenance), {images})
start = time.perf_counter()
deploy(network, digits, DeployConfig(backend={backend!r}, window=300.0, threads={threads},
                                      seed=3), progress=False)
print(time.perf_counter() - start)
"""


def wall(backend: str, threads: int, policy: str | None, competitor: bool, data: str,
         images: int) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if competitor else None
    try:
        out = subprocess.run([sys.executable, "-c", JOB.format(
            network=NETWORK, data=data, images=images, backend=backend, threads=threads)],
            env=env, capture_output=True, text=True, check=True, timeout=3600)
    finally:
        if hog:
            hog.kill()
            hog.wait()
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
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
              "cores": len(os.sched_getaffinity(0)), "date": time.strftime("%Y-%m-%d")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "oversubscription.json").write_text(json.dumps(result, indent=1))
    lines = [f"{args.images} held-out digits x 300 ms, MNIST network, {result['cores']} cores; "
             "each wall in a fresh process; competitor: one busy-looping Python process.", "",
             "| backend | threads | OMP_WAIT_POLICY | alone (s) | beside a competitor (s) | "
             "slow-down |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['threads']} | {r['omp_wait_policy']} | "
                     f"{r['alone_s']:.1f} | {r['with_competitor_s']:.1f} | "
                     f"{r['slowdown']:.2f}x |")
    (args.out / "oversubscription.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
