"""NEST throughput of the deployed 6c5-2s-12c5-2s-10fc SNN at 1 s per image, 1 ms step.

Compared in the same run: one continuing simulation for all images (``lifresponse deploy``)
against one run per image with a reset in between (as snntoolbox and the authors' scripts do:
build once, then for every image set the inputs, ``run(T)``, ``reset()``), and 1 against 2 NEST
threads. A long run of >= 500 images gives images per wall second, the extrapolation to
10,000 images, and peak memory. Writes ``results/deploy_nest.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lifresponse import __version__, backends
from lifresponse.datasets import load_mnist, validation_split
from lifresponse.networks import network_file
from lifresponse.networks.builder import build
from lifresponse.networks.deploy import DeployConfig, deploy
from lifresponse.networks.encoding import Presentation, poisson_spike_times

NETWORK = Path("benchmarks/results/networks/6c5-2s-12c5-2s-10fc_noisy-softplus_tuned.h5")
WINDOW = 1000.0


def one_long_run(digits, threads: int, seed: int, record: str) -> float:
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        deploy(NETWORK, digits, DeployConfig(window=WINDOW, threads=threads, seed=seed,
                                             record=record),
               Path(work) / "run.h5", progress=False)
        return time.perf_counter() - start


def run_per_image_with_reset(digits, threads: int, seed: int) -> float:
    """Build once; for each image: inputs, run(T), count the output, reset()."""
    network = network_file.read(NETWORK)
    sim = backends.load("nest")
    start = time.perf_counter()
    backends.setup(sim, "nest", timestep=network.timestep, threads=threads, seed=seed)
    # PyNN's reset() on NEST needs t_flush: after each reset it simulates that long with the
    # inputs silent, so the previous image cannot leak into the next one.
    sim.simulator.state.t_flush = 100.0
    rng = np.random.default_rng(seed)
    presentation = Presentation(WINDOW, 0.0, network.timestep)
    with backends.quiet():
        built = build(sim, "nest", network, record="output")
        for pixels in digits.images.reshape(len(digits), -1):
            trains, _ = poisson_spike_times(pixels[None], presentation, network.input_rate, 0,
                                            rng)
            built.inputs.set(spike_times=backends.spike_times(sim, trains))
            sim.run(presentation.start + WINDOW)
            built.recorders[len(built.layers) - 1].read(clear=True)
            sim.reset()
        sim.end()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--long-images", type=int, default=500)
    parser.add_argument("--compare-images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    _, held_out = validation_split(load_mnist(args.data), 10000, seed=0)
    long_digits = held_out.subset(slice(0, args.long_images))
    compare = held_out.subset(slice(0, args.compare_images))
    long_wall = one_long_run(long_digits, threads=2, seed=1, record="all")
    print(f"long run, {args.long_images} images, 2 threads: {long_wall:.1f} s", flush=True)
    timings = {"one_run_1_thread": [], "one_run_2_threads": [], "per_image_reset_2_threads": []}
    for repeat in range(args.repeats):
        timings["one_run_1_thread"].append(one_long_run(compare, 1, repeat + 1, "output"))
        timings["one_run_2_threads"].append(one_long_run(compare, 2, repeat + 1, "output"))
        timings["per_image_reset_2_threads"].append(
            run_per_image_with_reset(compare, 2, seed=repeat + 1))
        print({k: round(v[-1], 1) for k, v in timings.items()}, flush=True)
    median = {k: statistics.median(v) for k, v in timings.items()}
    record = {
        "network": str(NETWORK), "window_ms": WINDOW, "timestep_ms": 1.0,
        "spike_precision": backends.SPIKE_PRECISION,
        "long_run": {"images": args.long_images, "threads": 2, "record": "all layers",
                     "wall_s": long_wall,
                     "images_per_wall_s": args.long_images / long_wall,
                     "extrapolated_10000_images_min": 10000 * long_wall / args.long_images
                     / 60.0},
        "comparison": {"images": args.compare_images, "repeats": args.repeats,
                       "record": "output layer",
                       "wall_s": {k: {"median": median[k], "min": min(v), "max": max(v),
                                      "runs": v} for k, v in timings.items()}},
        "speedup_one_run_vs_per_image_reset": median["per_image_reset_2_threads"]
        / median["one_run_2_threads"],
        "speedup_2_vs_1_thread": median["one_run_1_thread"] / median["one_run_2_threads"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "versions": {"lifresponse": __version__, "backend": backends.version("nest"),
                     "python": platform.python_version()},
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "deploy_nest.json").write_text(json.dumps(record, indent=2) + "\n")
    c = record["comparison"]["wall_s"]

    def cell(name):
        return f"{c[name]['median']:.1f} ({c[name]['min']:.1f}-{c[name]['max']:.1f})"

    lr = record["long_run"]
    text = "\n".join([
        f"6c5-2s-12c5-2s-10fc on NEST, {WINDOW:g} ms per image, 1 ms step, on-grid; "
        f"{record['versions']['backend']}, {record['machine']}.", "",
        f"Long run: {lr['images']} images in one simulation, 2 threads, spikes of all layers "
        f"recorded (the default, needed for energy): {lr['wall_s']:.1f} s "
        f"wall, {lr['images_per_wall_s']:.2f} images/s; extrapolated to 10,000 images: "
        f"{lr['extrapolated_10000_images_min']:.0f} min. Peak memory of the benchmark process "
        f"{record['peak_rss_mb']:.0f} MB.", "",
        f"Comparison on {args.compare_images} images, output layer recorded, median (range) of "
        f"{args.repeats} runs, wall seconds including network building:", "",
        "| protocol | wall (s) |", "|---|---|",
        f"| one continuing run, 1 thread | {cell('one_run_1_thread')} |",
        f"| one continuing run, 2 threads | {cell('one_run_2_threads')} |",
        f"| one run per image with reset, 2 threads | {cell('per_image_reset_2_threads')} |", "",
        f"One run against per-image runs: "
        f"{record['speedup_one_run_vs_per_image_reset']:.1f}x; 2 against 1 thread: "
        f"{record['speedup_2_vs_1_thread']:.2f}x.", ""])
    (args.results / "deploy_nest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
