"""Dask scale-out on this machine: a calibration sweep and a 500-image deployment with
1 worker x 1 NEST thread, 1 worker x 2 threads and 2 workers x 1 thread.

Every configuration runs on its own ``LocalCluster`` (so the one-worker runs pay the same Dask
overhead as the two-worker ones), given to ``calibrate`` / ``deploy`` as a scheduler address;
wall time includes starting the workers' simulators and building the network. The three
configurations run one after another on the same work in each repeat; speed-ups are ratios
within a repeat. ``sweep_warm`` times the sweep on workers that have run it once already (their
simulators imported, as on a long-lived cluster given with ``--scheduler``): throughput without
the start-up. Peak memory per worker is read on the workers after each run. Results must be
identical across configurations, and the script checks that they are. Nothing else ran on the
machine meanwhile.

Writes ``results/scaling.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from dask.distributed import Client, LocalCluster
from provenance import write_result

from lifresponse import workflow
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file, run_file
from lifresponse.splits import evaluation_digits, first

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")
CONFIGS = {"1 worker x 1 thread": (1, 1), "1 worker x 2 threads": (1, 2),
           "2 workers x 1 thread": (2, 1)}
SWEEP = {"drive": "poisson", "means": "-0.5:1.0:0.05", "stds": "0.2:1.0:0.2", "trials": 10,
         "duration": 10000.0, "max_cells": 200}  # 1,550 neurons x 10 s at 1 ms, 8 chunks
WINDOW = 300.0


def peak_worker_memory_mb(client: Client) -> list[float]:
    return sorted(client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                             / 1024).values())


def timed(job, workers: int, threads: int, warm: bool = False):
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        if warm:  # every worker imports its simulator, as on a cluster that ran a job before
            job(cluster.scheduler_address, threads)
        start = time.perf_counter()
        result = job(cluster.scheduler_address, threads)
        wall = time.perf_counter() - start
        return wall, result, peak_worker_memory_mb(client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", choices=["sweep", "sweep_warm", "sweep_40s", "deployment"],
                        help="measure one job again, keeping the other's results")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    network = network_file.read(NETWORK)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    work = Path(tempfile.mkdtemp())

    def sweep(scheduler, threads):
        out = work / f"rates_{time.perf_counter_ns()}.h5"
        return workflow.calibrate(out=out, progress=False, scheduler=scheduler,
                                  threads=threads, **SWEEP).counts

    def long_sweep(scheduler, threads):
        out = work / f"rates_{time.perf_counter_ns()}.h5"
        return workflow.calibrate(out=out, progress=False, scheduler=scheduler,
                                  threads=threads, **{**SWEEP, "duration": 40000.0}).counts

    def deployment(scheduler, threads):
        out = work / f"run_{time.perf_counter_ns()}.h5"
        deploy(NETWORK, digits, DeployConfig(window=WINDOW, threads=threads, seed=3,
                                             scheduler=scheduler), out, progress=False)
        return run_file.read(out)

    jobs = {"sweep": (sweep, False), "sweep_warm": (sweep, True),
            "sweep_40s": (long_sweep, False), "deployment": (deployment, False)}
    result = {"jobs": {}, "images": len(digits), "window_ms": WINDOW, "sweep": SWEEP,
              "network": str(NETWORK)}
    if args.only:
        result = json.loads((args.out / "scaling.json").read_text())
        jobs = {args.only: jobs[args.only]}
    for name, (job, warm) in jobs.items():
        repeats, memory, outputs = [], {}, {}
        for _ in range(args.repeats):
            walls = {}
            for label, (workers, threads) in CONFIGS.items():
                walls[label], outputs[label], memory[label] = timed(job, workers, threads,
                                                                    warm)
            repeats.append(walls)
        base = "1 worker x 1 thread"
        # any number of workers must give the same numbers; NEST's thread count may not (its
        # Poisson generators draw from one random stream per thread)
        identical_workers = _same(outputs[base], outputs["2 workers x 1 thread"])
        identical_threads = _same(outputs[base], outputs["1 worker x 2 threads"])
        result["jobs"][name] = {
            "wall_s": repeats, "peak_rss_mb_per_worker": memory,
            "identical_1_and_2_workers": identical_workers,
            "identical_1_and_2_threads": identical_threads,
            "speedup_vs_1x1": {label: {"median": statistics.median(r[base] / r[label]
                                                                   for r in repeats),
                                       "each": [r[base] / r[label] for r in repeats]}
                               for label in CONFIGS}}
    text = markdown(result)
    write_result(args.out, "scaling", result, text)
    print(text)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return all(np.array_equal(a.layer_counts[i], b.layer_counts[i]) for i in a.layer_counts) \
        and a.attrs["evaluation"] == b.attrs["evaluation"]


def markdown(r: dict) -> str:
    lines = ["On this machine (Run, below), each configuration on its own Dask LocalCluster, "
             "wall time including worker start-up and network building; nothing else ran "
             "meanwhile.", "",
             "- sweep: Poisson drive, 31 means x 5 stds x 10 trials = 1,550 neurons x 10 s at "
             "1 ms, in 8 chunks of 200 neurons; sweep_warm: the same on workers that ran it "
             "once before (simulators imported); sweep_40s: the same with 40 s trials",
             f"- deployment: `{r['network']}`, {r['images']} held-out digits x "
             f"{r['window_ms']:g} ms, images from rest, blocks of 25", "",
             "| job | configuration | wall (s) | speed-up over 1 x 1 | peak RSS per worker (MB) |",
             "|---|---|---|---|---|"]
    for name, job in r["jobs"].items():
        for label in job["speedup_vs_1x1"]:
            walls = [w[label] for w in job["wall_s"]]
            s = job["speedup_vs_1x1"][label]
            lines.append(f"| {name} | {label} | {statistics.median(walls):.1f} | "
                         f"{s['median']:.2f}x ({', '.join(f'{x:.2f}' for x in s['each'])}) | "
                         + ", ".join(f"{m:.0f}" for m in job["peak_rss_mb_per_worker"][label])
                         + " |")
    lines.append("")
    for name, job in r["jobs"].items():
        lines.append(f"- {name}: 1 and 2 workers give identical results: "
                     f"{'yes' if job['identical_1_and_2_workers'] else 'NO'}; 1 and 2 NEST "
                     f"threads: {'yes' if job['identical_1_and_2_threads'] else 'no'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
