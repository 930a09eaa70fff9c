"""The fast path at scale: the whole ``lifresponse deploy`` command, its memory against the
number of images, the NEST path against a plain PyNEST script, and the peers in one session.

Jobs (``--job``, each run alone on the machine; results ``results/fast_path_<job>.{json,md}``):

``command``
    ``lifresponse deploy`` of 10,000 held-out digits x 300 ms of 6c5-2s-12c5-2s-10fc on
    ``--backend torch``, float64, every layer recorded, ``--repeats`` times, each in a fresh
    process: the command's wall time, the deployment's own (``wall_time_s``) and peak memory,
    against the step loop alone on the same digits' input spikes (a fresh process each: in one
    batch of all the digits, and in batches of 100); then each part alone in this process:
    load, encode, simulate (the step loop), present (both, as the deployment runs them),
    evaluate, write.
``memory``
    Peak resident memory (and wall) of ``lifresponse deploy --backend torch``, every layer
    recorded, for 1,000 / 3,000 / 10,000 digits, of 6c5-2s-12c5-2s-10fc at 300 ms and
    12c5-2s-64c5-2s-10fc at 500 ms; one fresh process each.
``nest``
    ``deploy --backend nest`` against ``nest_native.py`` (the same network, weights and input
    spikes as a plain PyNEST script) under the same protocol, rest and continuing, on the same
    ``--nest-images`` digits x 300 ms, 2 threads, each in a fresh process, wall including
    building; with OpenMP's default wait policy and with ``OMP_WAIT_POLICY=PASSIVE``.
``peers``
    The same network, weights, input spikes and 300 ms window in every simulator, each in a
    fresh process (imports and loading the digits not timed; encoding timed): the Numba loop and
    the torch operations (float64, float32), snnTorch 1.0.0 (float32, float64) and NEST (rest
    protocol); images per second and the process's peak memory, median (range) of
    ``--repeats``. With ``--gpu`` (where torch sees a CUDA device): the torch operations on the
    GPU against the CPU loop, float64 and float32, and one spike-training epoch on the CPU and
    on the GPU; results ``results/fast_path_peers_gpu.{json,md}``.

Peak memory is each child's own ``ru_maxrss`` (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_result

from lifresponse.networks import run_file

SMALL = "benchmarks/results/networks/small-ns-limit200-tuned.h5"
LARGE = "benchmarks/results/networks/large-ns-aug1-60ep-seed1-tuned.h5"


def measured(command: list[str], env: dict | None = None) -> dict:
    """``command`` in a child process: wall (s) and the child's own peak memory (MB)."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()  # output to files: a full pipe would stall the child
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode()
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err[-2000:]}")
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": out}


def deploy_command(network: str, data: str, images: int, window: float, out: Path,
                   backend: str = "torch", extra=()) -> list[str]:
    return [sys.executable, "-m", "lifresponse.cli", "deploy", network, "--backend", backend,
            "--data", data, "--images", str(images), "--duration", str(window), "--seed", "1",
            "--record", "all", "--quiet", "--out", str(out), *extra]


def run_wall(path: Path) -> float:
    return float(run_file.read(path).attrs["wall_time_s"])


def job_command(args, work: Path) -> tuple[dict, str]:
    runs = []
    for repeat in range(args.repeats):
        out = work / f"command_{repeat}.h5"
        result = measured(deploy_command(SMALL, args.data, args.images, 300.0, out))
        result["deploy_wall_s"] = run_wall(out)
        result.pop("stdout")
        for name, block in (("loop_alone_s", args.images), ("loop_in_blocks_s", 100)):
            loop = measured([sys.executable, "-c", LOOP_ALONE.format(
                network=SMALL, data=args.data, images=args.images, block=block)])
            result[name] = float(loop["stdout"].strip().splitlines()[-1])
        result["command_over_loop"] = result["wall_s"] / result["loop_alone_s"]
        runs.append(result)
        print("command", result, flush=True)
    split = component_split(args, work)
    walls = [r["wall_s"] for r in runs]
    result = {"network": SMALL, "images": args.images, "window_ms": 300.0, "runs": runs,
              "split_s": split}
    lines = [f"`lifresponse deploy {SMALL} --backend torch --images {args.images} --duration "
             "300 --record all` (float64, held-out digits of the training set), each run a "
             "fresh process:", "",
             "| run | command wall (s) | deployment wall (s) | images/s (command) | peak memory "
             "(MB) | step loop alone, one batch (s) | in batches of 100 (s) | command / loop "
             "(one batch) |", "|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(runs):
        lines.append(f"| {i + 1} | {r['wall_s']:.1f} | {r['deploy_wall_s']:.1f} | "
                     f"{args.images / r['wall_s']:.0f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['loop_alone_s']:.1f} | {r['loop_in_blocks_s']:.1f} | "
                     f"{r['command_over_loop']:.2f} |")
    median = statistics.median(walls)
    ratios = [r["command_over_loop"] for r in runs]
    lines += ["", f"Median command wall {median:.1f} s ({min(walls):.1f}-{max(walls):.1f}). "
              "The step loop alone (a fresh process each, right after the command: the same "
              "digits' input spikes drawn first, then only the loop timed, 2 threads): in one "
              "batch of all the digits (no thread waits at a batch's end: the command's blocks "
              "overlap so, `TorchPresenter.present_blocks`), and in batches of 100 one after "
              "another (what the command ran before its blocks overlapped). The command against "
              f"the loop in one batch: {statistics.median(ratios):.2f}x ({min(ratios):.2f}-"
              f"{max(ratios):.2f}) within a repeat, median (range).", "",
              "Each part alone, one after another in one process after the runs above (the "
              "command overlaps them: each loop thread draws its own images' input spikes, and "
              "the next block simulates while the last is written and evaluated):", "",
              "| part | s |", "|---|---|"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in split.items()]
    return result, "\n".join(lines)


LOOP_ALONE = """
import sys, time
import numpy as np
from lifresponse.backends.torch.step_kernel import CompiledNetwork
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.networks.topology import network_connections
from lifresponse.splits import evaluation_digits, first
network = network_file.read({network!r})
digits = first(evaluation_digits({data!r}, network.provenance), {images})
pixels = np.asarray(digits.images, float).reshape({images}, -1)
presentation = Presentation(300.0, 0.0, network.timestep)
blocks = [input_spikes(pixels[f:f + {block}], presentation, network, f, 1)
          for f in range(0, {images}, {block})]
loop = CompiledNetwork(network, "float64", network_connections(network))
start = time.perf_counter()
for spikes in blocks:
    loop.simulate(spikes.images, len(spikes.counts), presentation, 2)
print(time.perf_counter() - start)
"""


def component_split(args, work: Path) -> dict:
    """Seconds of each part of the command done alone, in this process, on the same digits:
    load, encode (input spikes, one thread), simulate (the step loop on those spikes, 2
    threads), present (encode and simulate as the presenter runs them), evaluate, write."""
    import numpy as np

    from lifresponse.backends.torch.backend import TorchBackend
    from lifresponse.backends.torch.step_kernel import CompiledNetwork
    from lifresponse.deployment import DeployConfig, check_images
    from lifresponse.networks import network_file
    from lifresponse.networks.blocks import TIME_BIN_MS, n_time_bins
    from lifresponse.networks.encoding import Presentation, input_spikes
    from lifresponse.networks.evaluation import Evaluator
    from lifresponse.networks.topology import fan_outs, network_connections
    from lifresponse.splits import evaluation_digits, first

    network = network_file.read(SMALL)
    split = {}
    start = time.perf_counter()
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    split["load"] = time.perf_counter() - start
    pixels = check_images(digits, network)
    presentation = Presentation(300.0, 0.0, network.timestep)
    firsts = range(0, args.images, 100)
    start = time.perf_counter()
    inputs = [input_spikes(pixels[f:f + 100], presentation, network, f, 1) for f in firsts]
    split["encode"] = time.perf_counter() - start
    compiled = CompiledNetwork(network, "float64", network_connections(network))
    start = time.perf_counter()
    for spikes in inputs:
        compiled.simulate(spikes.images, len(spikes.counts), presentation, 2)
    split["simulate (batches of 100, one after another)"] = time.perf_counter() - start
    config = DeployConfig(backend="torch", window=300.0, threads=2, seed=1)
    presenter = TorchBackend().presenter(network, presentation, config)
    start = time.perf_counter()
    blocks = list(presenter.present_blocks((f, pixels[f:f + 100]) for f in firsts))
    split["present (encode + simulate, as deploy runs them)"] = time.perf_counter() - start
    presenter.close()
    time_bins = TIME_BIN_MS * np.arange(1, n_time_bins(300.0) + 1)
    start = time.perf_counter()
    evaluator = Evaluator(network, digits.labels, pixels, 300.0, time_bins)
    for block in blocks:
        evaluator.add(block)
    evaluator.result()
    split["evaluate"] = time.perf_counter() - start
    start = time.perf_counter()
    sizes = {i: layer.n_out for i, layer in enumerate(network.layers)}
    with run_file.RunWriter(work / "split.h5", digits.labels, sizes,
                            fan_outs(network_connections(network)), pixels.shape[1],
                            network.layers[-1].n_out, time_bins, 100) as writer:
        for block in blocks:
            writer.add(block)
        writer.finish({"n_images": args.images})
    split["write"] = time.perf_counter() - start
    return split


def job_memory(args, work: Path) -> tuple[dict, str]:
    rows = []
    for network, window in ((SMALL, 300.0), (LARGE, 500.0)):
        for images in (1000, 3000, 10000):
            out = work / f"memory_{Path(network).stem}_{images}.h5"
            result = measured(deploy_command(network, args.data, images, window, out))
            result.pop("stdout")
            result.update(network=network, window_ms=window, images=images,
                          deploy_wall_s=run_wall(out))
            rows.append(result)
            out.unlink()
            print("memory", result, flush=True)
    lines = ["`lifresponse deploy NET --backend torch --record all` (float64), one fresh "
             "process per row; peak memory is the process's own maximum resident set:", "",
             "| network | window (ms) | images | peak memory (MB) | command wall (s) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {Path(r['network']).stem} | {r['window_ms']:.0f} | {r['images']:,} | "
                     f"{r['peak_rss_mb']:.0f} | {r['wall_s']:.1f} |")
    return {"runs": rows}, "\n".join(lines)


def job_nest(args, work: Path) -> tuple[dict, str]:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    runs = []
    for repeat in range(args.repeats):
        for policy in args.policies.split(","):
            env = base if policy == "default" else {**base, "OMP_WAIT_POLICY": policy}
            row = {"repeat": repeat, "policy": policy}
            for protocol in ("rest", "continuing"):
                native = measured([sys.executable, "benchmarks/nest_native.py", "--network",
                                   SMALL, "--data", args.data, "--images", str(args.nest_images),
                                   "--protocol", protocol], env)
                numbers = json.loads(native["stdout"].strip().splitlines()[-1])
                row[f"native_{protocol}_s"] = numbers["build_s"] + numbers["simulate_s"]
                row[f"native_{protocol}_read_s"] = numbers["read_s"]
                row[f"native_{protocol}_spikes"] = numbers["spikes_per_layer"]
                out = work / f"nest_{repeat}_{policy}_{protocol}.h5"
                measured(deploy_command(SMALL, args.data, args.nest_images, 300.0, out,
                                        "nest", ("--protocol", protocol)), env)
                run = run_file.read(out)
                row[f"{protocol}_s"] = float(run.attrs["wall_time_s"])
                row[f"{protocol}_spikes"] = [int(run.layer_counts[i].sum())
                                             for i in sorted(run.layer_counts)]
                out.unlink()
            runs.append(row)
            print("nest", row, flush=True)

    def cell(values):
        return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    lines = [f"{args.nest_images} held-out digits x 300 ms of {SMALL}, 2 threads, each run in a "
             "fresh process, one after another; wall including building the network (the "
             "deployment's `wall_time_s`, which also holds setting up PyNN, reading the spikes, "
             "counting them per image and writing the run; the script's build + simulation, "
             "and separately its reading and counting of the spikes, which `deploy` must do "
             "too); median (range) over "
             f"{args.repeats} repeats of the ratio within a repeat:", "",
             "| OMP_WAIT_POLICY | protocol | NEST-native script: build + simulate (s) | "
             "+ read spikes (s) | lifresponse deploy (s) | deploy / native | "
             "deploy / (native + read) |", "|---|---|---|---|---|---|---|"]
    for policy in args.policies.split(","):
        rows = [r for r in runs if r["policy"] == policy]
        for protocol in ("rest", "continuing"):
            native = [r[f"native_{protocol}_s"] for r in rows]
            read = [r[f"native_{protocol}_read_s"] for r in rows]
            ours = [r[f"{protocol}_s"] for r in rows]
            ratio = [o / n for o, n in zip(ours, native, strict=True)]
            with_read = [o / (n + r) for o, n, r in zip(ours, native, read, strict=True)]
            lines.append(f"| {policy} | {protocol} | {cell(native)} | {cell(read)} | "
                         f"{cell(ours)} | {cell(ratio)} | {cell(with_read)} |")
    same = {protocol: all(r[f"native_{protocol}_spikes"] == r[f"{protocol}_spikes"]
                          for r in runs) for protocol in ("rest", "continuing")}
    lines += ["", "Spikes per layer of the native script and of `lifresponse deploy`, same "
              f"protocol, identical in every run: rest {same['rest']} "
              f"({runs[0]['native_rest_spikes']}), continuing {same['continuing']} "
              f"({runs[0]['native_continuing_spikes']})."]
    return {"images": args.nest_images, "runs": runs, "identical_spikes": same}, \
        "\n".join(lines)


PEER = """
import json, sys, time
import numpy as np
sys.path[:0] = ['.', 'benchmarks']
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.splits import evaluation_digits, first
peer, dtype, images, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
network = network_file.read({network!r})
digits = first(evaluation_digits(data, network.provenance), images)
pixels = np.asarray(digits.images, float).reshape(images, -1)
from peers import PEERS
def status(key):
    return [int(line.split()[1]) for line in open('/proc/self/status')
            if line.startswith(key)][0] / 1024
loaded = status('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')  # peak := now: loading MNIST is not the peer's
simulate = PEERS[peer](network, dtype)
start = time.perf_counter()
spikes = simulate(pixels, Presentation(300.0, 0.0, network.timestep))
wall = time.perf_counter() - start
gpu = sys.modules.get("torch") is not None and sys.modules["torch"].cuda.is_available()
print(json.dumps({{"wall_s": wall, "output_spikes": int(spikes),
                  "above_loaded_mb": status('VmHWM') - loaded,
                  "gpu_peak_mb": sys.modules["torch"].cuda.max_memory_allocated() / 2**20
                  if gpu else None}}))
"""


def job_peers(args, work: Path) -> tuple[dict, str]:
    if args.gpu:
        peers = [("numba loop", "float64", args.images), ("numba loop", "float32", args.images),
                 ("torch operations on the GPU", "float64", args.images),
                 ("torch operations on the GPU", "float32", args.images)]
    else:
        peers = [("numba loop", "float64", args.images), ("numba loop", "float32", args.images),
                 ("torch operations", "float64", args.slow_images),
                 ("torch operations", "float32", args.slow_images),
                 ("snntorch", "float32", args.slow_images),
                 ("snntorch", "float64", args.slow_images),
                 ("nest", "float64", args.nest_images)]
    runs = []
    for repeat in range(args.repeats):
        for peer, dtype, images in peers:
            result = measured([sys.executable, "-c", PEER.format(network=SMALL), peer, dtype,
                               str(images), args.data])
            numbers = json.loads(result["stdout"].strip().splitlines()[-1])
            row = {"repeat": repeat, "peer": peer, "dtype": dtype, "images": images,
                   "images_per_s": images / numbers["wall_s"],
                   "peak_rss_mb": result["peak_rss_mb"], "gpu_peak_mb": numbers["gpu_peak_mb"],
                   "above_loaded_mb": numbers["above_loaded_mb"],
                   "output_spikes": numbers["output_spikes"]}
            runs.append(row)
            print("peers", row, flush=True)
    lines = [f"{SMALL} (6c5-2s-12c5-2s-10fc), 300 ms, the same input spikes (seed 1) in every "
             "simulator, 2 threads, each in a fresh process; images per second of encoding "
             "and simulation (imports and loading the digits not timed), median (range) of "
             f"{args.repeats}; memory: the process's peak from the moment the digits were "
             "loaded (its peak is reset there: loading MNIST's 60,000 digits would set it for "
             "all), and that peak above the process's size at that moment (the peer's own "
             "imports, network and simulation):", "",
             "| simulator | dtype | images | images/s | peak after loading (MB) | above loaded "
             "digits (MB) | GPU memory (MB) |", "|---|---|---|---|---|---|---|"]
    for peer, dtype, images in peers:
        rows = [r for r in runs if r["peer"] == peer and r["dtype"] == dtype]
        rates = [r["images_per_s"] for r in rows]
        lines.append(f"| {peer} | {dtype} | {images} | {statistics.median(rates):.1f} "
                     f"({min(rates):.1f}-{max(rates):.1f}) | "
                     f"{statistics.median(r['peak_rss_mb'] for r in rows):.0f} | "
                     f"{statistics.median(r['above_loaded_mb'] for r in rows):.0f} | "
                     + (f"{max(r['gpu_peak_mb'] for r in rows):.0f} |" if rows[0]["gpu_peak_mb"]
                        else "- |"))
    if args.gpu:
        lines += [*spike_training(args), "", gpu_name()]
    return {"runs": runs}, "\n".join(lines)


TRAINING = """
import json, sys, time
import numpy as np
import torch
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.training import spikes, trainer
digits = load_mnist({data!r}).subset(np.arange({digits}))
c = Calibration.by_hand()
network = trainer.make_model("6c5-2s-12c5-2s-10fc", "relu", c.k, c.S, c.tau_syn, c.neuron,
                             0).to_network(c.neuron, c.timestep, {{}})
settings = spikes.SpikeTrainSettings(window=300.0, epochs=1, batch_size=25, threads=2,
                                     device={device!r})
_, history = spikes.train(network, digits, digits.subset(np.arange(0)), settings,
                          progress=False)
gpu = torch.cuda.max_memory_allocated() / 2**20 if {device!r} != "cpu" else None
print(json.dumps({{"epoch_s": history.epoch_seconds[0], "gpu_peak_mb": gpu}}))
"""


def spike_training(args) -> list[str]:
    """One spike-training epoch (float32) on the CPU and on the GPU."""
    lines = ["", f"One spike-training epoch, {args.training_digits} digits x 300 ms, "
             "6c5-2s-12c5-2s-10fc, batches of 25, float32:", "",
             "| device | epoch (s) | images/s | peak memory (MB) | GPU memory (MB) |",
             "|---|---|---|---|---|"]
    for device in ("cpu", "cuda"):
        result = measured([sys.executable, "-c", TRAINING.format(
            data=args.data, digits=args.training_digits, device=device)])
        numbers = json.loads(result["stdout"].strip().splitlines()[-1])
        gpu = f"{numbers['gpu_peak_mb']:.0f}" if numbers["gpu_peak_mb"] else "-"
        lines.append(f"| {device} | {numbers['epoch_s']:.1f} | "
                     f"{args.training_digits / numbers['epoch_s']:.1f} | "
                     f"{result['peak_rss_mb']:.0f} | {gpu} |")
    return lines


def gpu_name() -> str:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--gpu: torch sees no CUDA device here")
    return f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}."



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", choices=["command", "memory", "nest", "peers"], required=True)
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--slow-images", type=int, default=300,
                        help="peers: images for the torch operations and snnTorch")
    parser.add_argument("--nest-images", type=int, default=100)
    parser.add_argument("--policies", default="default,PASSIVE",
                        help="nest: OMP_WAIT_POLICY values to run under ('default': unset)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--training-digits", type=int, default=500,
                        help="peers --gpu: digits of the spike-training epoch")
    parser.add_argument("--gpu", action="store_true",
                        help="peers: the torch operations on the GPU against the CPU loop")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if args.gpu:
        gpu_name()  # refuse at once where there is no GPU
    if args.job == "peers" and args.images == 10000:
        args.images = 2000
    work = Path(tempfile.mkdtemp(prefix="fast_path_"))
    job = {"command": job_command, "memory": job_memory, "nest": job_nest,
           "peers": job_peers}[args.job]
    result, markdown = job(args, work)
    write_result(args.out, f"fast_path_{args.job}{'_gpu' if args.gpu else ''}", result,
                 markdown)


if __name__ == "__main__":
    main()
