"""NEST throughput of the deployed 6c5-2s-12c5-2s-10fc SNN at 1 s per image, 1 ms step.

Compared on the same images, each measurement in a fresh Python process (imports excluded):
wall seconds including building the network, median and range over repeats; each speed-up is
the ratio of two wall times within a repeat (median over repeats), the order of the protocols
reversed every other repeat:

* ``lifresponse deploy``: one network, one continuing simulation, spike counts read from NEST's
  ``spike_recorder`` block by block; every layer recorded (what the energy report needs), or
  only the output; 2 and 1 threads.
* per image with reset, as snntoolbox's pyNN target does (build once; for every image set the
  input spike times, ``run(T)``, read every layer's spikes with PyNN's ``get_data``,
  ``reset()``), with PyNN's API throughout.
* per image with reset, but with lifresponse's recorder on the output only: the cost of the
  per-image protocol alone.

PyNN's ``reset()`` on NEST first simulates ``t_flush`` (100 ms here) so that spikes in flight
cannot leak into the next image. Both protocols use our on-grid setup and our one-call
``nest.Connect`` builder, so they differ only in how images are run and spikes read.

A long run of 500 images (all layers recorded) gives images per wall second, the extrapolation
to 10,000 images, and peak memory. Writes ``results/deploy_nest.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_result

from lifresponse import backends
from lifresponse.backends.pynn.building import build
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, poisson_inputs, spike_trains
from lifresponse.splits import training_split

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")
WINDOW = 1000.0
T_FLUSH = 100.0

def one_long_run(digits, threads: int, seed: int, record: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        run = deploy(NETWORK, digits, DeployConfig(window=WINDOW, threads=threads, seed=seed,
                                                   record=record),
                     Path(work) / "run.h5", progress=False)
        return time.perf_counter() - start, run.attrs["evaluation"]


def per_image_with_reset(digits, threads: int, seed: int, pynn_api: bool) -> float:
    """Build once; for each image: inputs, run(T), read spikes, reset()."""
    network = network_file.read(NETWORK)
    backend = backends.get("nest")
    backend.load()
    sim = backend.sim
    start = time.perf_counter()
    backend.start(timestep=network.timestep, threads=threads, seed=seed)
    sim.simulator.state.t_flush = T_FLUSH
    presentation = Presentation(WINDOW, 0.0, network.timestep)
    counted = 0
    with backends.quiet():
        built = build(backend, network, record="output")
        if pynn_api:
            for layer in built.layers:
                layer.record("spikes")
        for index, pixels in enumerate(digits.images.reshape(len(digits), -1)):
            inputs = poisson_inputs(pixels[None], presentation, network.input_rate, index, seed)
            trains = spike_trains(inputs, presentation, 0, pixels.size)
            backend.set_input_times(built.inputs, trains)
            sim.run(presentation.start + WINDOW)
            if pynn_api:
                for layer in built.layers:
                    trains_out = layer.get_data("spikes", clear=True).segments[-1].spiketrains
                    counted += sum(len(t) for t in trains_out)
            else:
                counted += len(built.recorders[len(built.layers) - 1].read(clear=True)[0])
            sim.reset()
        sim.end()
    if counted == 0:
        raise RuntimeError("the per-image runs recorded no spikes")
    return time.perf_counter() - start


# name -> (description, wall seconds of one repeat on ``digits`` with ``seed``); the pairs whose
# ratios are reported sit next to each other, so that both see the machine in the same state.
PROTOCOLS = {
    "per_image_pynn_all_2_threads": (
        "per image with reset, PyNN get_data of every layer (snntoolbox), 2 threads",
        lambda digits, seed: per_image_with_reset(digits, 2, seed, pynn_api=True)),
    "one_run_all_2_threads": (
        "one continuing run, every layer recorded, 2 threads",
        lambda digits, seed: one_long_run(digits, 2, seed, "all")[0]),
    "one_run_output_2_threads": (
        "one continuing run, output recorded, 2 threads",
        lambda digits, seed: one_long_run(digits, 2, seed, "output")[0]),
    "one_run_output_1_thread": (
        "one continuing run, output recorded, 1 thread",
        lambda digits, seed: one_long_run(digits, 1, seed, "output")[0]),
    "per_image_output_2_threads": (
        "per image with reset, lifresponse recorder on the output, 2 threads",
        lambda digits, seed: per_image_with_reset(digits, 2, seed, pynn_api=False)),
}

# speed-up name -> (slower protocol, faster protocol), as a ratio of wall times within a repeat
SPEEDUPS = {
    "vs_snntoolbox_protocol": ("per_image_pynn_all_2_threads", "one_run_all_2_threads"),
    "vs_per_image_same_recorder": ("per_image_output_2_threads", "one_run_output_2_threads"),
    "2_vs_1_thread": ("one_run_output_1_thread", "one_run_output_2_threads"),
}


def in_fresh_process(args, protocol: str, seed: int) -> float:
    """Wall seconds of one repeat of ``protocol``, run in a new Python process.

    In one process, NEST simulated the same network more slowly after per-image runs
    (measured: 16.7 s, then 18.7 and 23.4 s), which would charge each protocol for the ones
    before it.
    """
    command = [sys.executable, __file__, "--protocol", protocol, "--seed", str(seed),
               "--data", str(args.data), "--compare-images", str(args.compare_images)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--long-images", type=int, default=500)
    parser.add_argument("--compare-images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="run one repeat of this protocol (on --compare-images images, "
                             "with --seed) and print its wall time: what each measurement of "
                             "the comparison runs in a fresh process")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    held_out = training_split(load_mnist(args.data)).validation  # the networks' split
    compare = held_out.subset(slice(0, args.compare_images))
    backends.get("nest").load()  # imported before any clock starts
    if args.protocol:
        print(json.dumps({"wall_s": PROTOCOLS[args.protocol][1](compare, args.seed)}))
        return
    long_wall, evaluation = one_long_run(held_out.subset(slice(0, args.long_images)),
                                         threads=2, seed=1, record="all")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"long run, {args.long_images} images, 2 threads: {long_wall:.1f} s", flush=True)
    timings = {name: [] for name in PROTOCOLS}
    for repeat in range(args.repeats):
        # every other repeat in reverse order, so that a slow drift of the machine's speed
        # favours neither side of a pair
        order = list(PROTOCOLS) if repeat % 2 == 0 else list(reversed(PROTOCOLS))
        for name in order:
            timings[name].append(in_fresh_process(args, name, seed=repeat + 1))
        print({k: round(v[-1], 1) for k, v in timings.items()}, flush=True)
    median = {k: statistics.median(v) for k, v in timings.items()}
    speedups = {}
    for key, (slower, faster) in SPEEDUPS.items():
        paired = [a / b for a, b in zip(timings[slower], timings[faster], strict=True)]
        speedups[key] = {"median": statistics.median(paired), "per_repeat": paired,
                         "slower": slower, "faster": faster}
    record = {
        "network": str(NETWORK), "window_ms": WINDOW, "timestep_ms": 1.0,
        "spike_precision": backends.get("nest").spike_precision, "t_flush_ms": T_FLUSH,
        "long_run": {"images": args.long_images, "threads": 2, "record": "all layers",
                     "wall_s": long_wall, "images_per_wall_s": args.long_images / long_wall,
                     "extrapolated_10000_images_min": 10000 * long_wall / args.long_images
                     / 60.0,
                     "layer_rates_hz": evaluation["layer_rates_hz"],
                     "accuracy": evaluation["accuracy"], "peak_rss_mb": peak_mb},
        "comparison": {"images": args.compare_images, "repeats": args.repeats,
                       "wall_s": {k: {"median": median[k], "min": min(v), "max": max(v),
                                      "runs": v, "protocol": PROTOCOLS[k][0]}
                                  for k, v in timings.items()}},
        "speedups": speedups,
    }
    write_result(args.results, "deploy_nest", record, markdown(record))
    print(markdown(record))


def markdown(record: dict) -> str:
    lr, c = record["long_run"], record["comparison"]
    rows = [f"| {v['protocol']} | {v['median']:.1f} ({v['min']:.1f}-{v['max']:.1f}) |"
            for v in c["wall_s"].values()]
    return "\n".join([
        f"6c5-2s-12c5-2s-10fc ({record['network']}) on NEST, {record['window_ms']:g} ms per "
        "image, 1 ms step, on-grid.",
        "",
        f"Long run: {lr['images']} images in one simulation, 2 threads, spikes of every layer "
        f"recorded: {lr['wall_s']:.1f} s wall, {lr['images_per_wall_s']:.2f} images/s; "
        f"extrapolated to 10,000 images: {lr['extrapolated_10000_images_min']:.0f} min. Mean "
        "rates per layer (Hz): " + ", ".join(f"{float(v):.1f}" for v in
                                             lr["layer_rates_hz"].values())
        + f". Peak memory of the benchmark process {lr['peak_rss_mb']:.0f} MB.", "",
        f"Comparison on {c['images']} images, median (range) of {c['repeats']} runs, each in a "
        f"fresh process, wall seconds including network building (reset simulates t_flush = "
        f"{record['t_flush_ms']:g} ms):", "",
        "| protocol | wall (s) |", "|---|---|", *rows, "",
        "Speed-ups, as the ratio of the two wall times within each repeat: median (each "
        "repeat).", "",
        f"- One run against per-image runs the snntoolbox way (both recording every layer): "
        f"{_speedup(record, 'vs_snntoolbox_protocol')}",
        f"- Against per-image runs with our output recorder (the protocol alone): "
        f"{_speedup(record, 'vs_per_image_same_recorder')}",
        f"- 2 against 1 thread: {_speedup(record, '2_vs_1_thread')}", ""])


def _speedup(record: dict, key: str) -> str:
    speedup = record["speedups"][key]
    each = ", ".join(f"{r:.2f}" for r in speedup["per_repeat"])
    return f"{speedup['median']:.2f}x ({each})"


if __name__ == "__main__":
    main()
