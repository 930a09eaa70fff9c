"""The exact torch simulator against NEST on the MNIST network: equality and speed.

On the CPU the torch backend runs its compiled step loop (``lifresponse/backends/
step_kernel.c``); a GPU runs its torch operations. Both are measured here on the CPU.

1. Equality: the same held-out digits, seed and window on NEST and on ``--backend torch``
   (float64, then float32): identical spike counts per (image, neuron) in every layer,
   identical classifications; identical (image, neuron, step) spikes of every layer on the
   first ``--step-images`` images (NEST's recorded spike times against the compiled loop's and
   the torch operations' steps).
2. Speed: images per second of NEST (2 threads) and of the torch backend (2 threads) with the
   compiled loop and with torch operations, float64 and float32, measured one after another on
   the same digits in each of ``--repeats`` repeats; ratios within a repeat, median and range.
   Nothing else ran on the machine meanwhile.
3. Memory: peak resident memory of a fresh process deploying on torch with batch 100 and 500.

Writes ``results/torch_backend.{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from provenance import write_result

from lifresponse.backends.nest.backend import NestBackend, NestSpikeRecorder
from lifresponse.backends.pynn.presenting import PyNNPresenter
from lifresponse.backends.torch import operations as exact
from lifresponse.backends.torch import step_kernel
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, check_images, deploy
from lifresponse.networks import network_file
from lifresponse.networks.blocks import n_time_bins, settle_time
from lifresponse.networks.encoding import Presentation, poisson_inputs
from lifresponse.networks.topology import network_connections
from lifresponse.splits import evaluation_digits, first

NETWORK = Path("benchmarks/results/networks/small-ns-limit200-tuned.h5")
WINDOW = 300.0
SEED = 3


class KeepingRecorder(NestSpikeRecorder):
    """A NEST spike recorder that also keeps every (cell, time) it has read."""

    def __init__(self, cells):
        super().__init__(cells)
        self.kept = []

    def read(self, clear: bool = False):
        cell, times = super().read(clear)
        self.kept.append((cell, times))
        return cell, times


class KeepingNestBackend(NestBackend):
    def spike_recorder(self, cells):
        recorder = KeepingRecorder(cells)
        self.recorders = [*getattr(self, "recorders", []), recorder]
        return recorder


def nest_spike_steps(network, digits: Digits) -> list[set]:
    """(image, neuron, step) of every spike of every layer on NEST, through deploy's own
    presentation code."""
    backend = KeepingNestBackend()
    presentation = Presentation(WINDOW, 0.0, network.timestep,
                                settle_time(network))
    config = DeployConfig(window=WINDOW, threads=2, seed=SEED, record="all")
    presenter = PyNNPresenter(backend, network, presentation, config)
    presenter.present(check_images(digits, network), 0)
    presenter.close()
    out = []
    for recorder in backend.recorders:
        cell = np.concatenate([c for c, _ in recorder.kept])
        times = np.concatenate([t for _, t in recorder.kept])
        image, offset = presentation.locate(times)
        keep = offset <= WINDOW
        step = np.round(offset[keep] / network.timestep).astype(int) - 1
        out.append(set(zip(image[keep].tolist(), cell[keep].tolist(), step.tolist(), strict=True)))
    return out


def kernel_spike_steps(network, digits: Digits, dtype: str) -> list[set]:
    """The same from the compiled step loop, one batch."""
    pixels = check_images(digits, network)
    presentation = Presentation(WINDOW, 0.0, network.timestep)
    inputs = poisson_inputs(pixels, presentation, network.input_rate, 0, SEED)
    log = step_kernel.CompiledNetwork(
        network, dtype, network_connections(network)).simulate(
        inputs.images, len(pixels), presentation, threads=2, log_spikes=20_000_000).log
    out = [set() for _ in network.layers]
    for image, layer, neuron, step in log.tolist():
        out[layer].add((image, neuron, step))
    return out


@contextlib.contextmanager
def torch_operations():
    """Deployments on torch inside run the torch operations on the CPU, as a GPU would."""
    original = step_kernel.CompiledNetwork

    def unavailable(*_):
        raise step_kernel.KernelUnavailableError("benchmark: torch operations")

    step_kernel.CompiledNetwork = unavailable
    try:
        yield
    finally:
        step_kernel.CompiledNetwork = original


def torch_spike_steps(network, digits: Digits, dtype) -> list[set]:
    """The same from the torch operations, one batch."""
    pixels = check_images(digits, network)
    presentation = Presentation(WINDOW, 0.0, network.timestep)
    inputs = poisson_inputs(pixels, presentation, network.input_rate, 0, SEED)
    layers = exact.layer_neurons(network, [exact.LayerInput(network, i, dtype, "cpu")
                                           for i in range(len(network.layers))], len(pixels),
                                 dtype, "cpu")
    out = [set() for _ in layers]

    def keep(n, spikes):
        for i, s in enumerate(spikes):
            image, neuron = np.nonzero(s.flatten(1).numpy())
            out[i].update(zip(image.tolist(), neuron.tolist(), [n] * len(image), strict=True))

    with torch.no_grad():
        exact.simulate(layers, inputs, network, presentation, n_time_bins(WINDOW), dtype,
                        "cpu", on_step=keep)
    return out


def run(network, digits, backend: str, dtype: str = "float64"):
    start = time.perf_counter()
    record = deploy(network, digits, DeployConfig(backend=backend, window=WINDOW, threads=2,
                                                  seed=SEED, dtype=dtype), progress=False)
    return record, time.perf_counter() - start


def peak_memory_mb(images: int, batch: int, data) -> float:
    """Peak RSS (MB) of a fresh process while it deploys ``images`` on torch with ``batch``,
    above its RSS once the digits are loaded (the peak is reset after loading: MNIST's loading
    peak is not the deployment's)."""
    code = (
        "import gc, sys; sys.path[:0] = ['.', 'benchmarks']\n"
        "import torch\n"
        "from torch_backend import NETWORK, held_out\n"
        "from lifresponse.deployment import DeployConfig, deploy\n"
        f"digits = held_out({data!r}, {images}); gc.collect()\n"
        "def status(key):\n"
        "    return [int(line.split()[1]) for line in open('/proc/self/status')\n"
        "            if line.startswith(key)][0] / 1024\n"
        "rss = status('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # peak := now\n"
        "deploy(NETWORK, digits, DeployConfig(backend='torch', "
        f"window={WINDOW}, batch={batch}, threads=2), progress=False)\n"
        "print(status('VmHWM') - rss)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return float(result.stdout.strip().splitlines()[-1])


def held_out(data, images: int) -> Digits:
    network = network_file.read(NETWORK)
    return first(evaluation_digits(data, network.provenance), images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=1000, help="digits for the equality")
    parser.add_argument("--step-images", type=int, default=100,
                        help="digits whose spike steps are compared")
    parser.add_argument("--speed-images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--memory-only", action="store_true",
                        help="measure memory again, keep the rest of the results file")
    args = parser.parse_args()
    if args.memory_only:
        result = json.loads((args.out / "torch_backend.json").read_text())
        result["peak_rss_mb"] = memory(args.data)
        write(result, args.out)
        return
    network = network_file.read(NETWORK)
    digits = held_out(args.data, args.images)

    nest_run, nest_wall = run(network, digits, "nest")
    equality = {}
    for dtype in ("float64", "float32"):
        torch_run, wall = run(network, digits, "torch", dtype)
        layers = {}
        for i, counts in nest_run.layer_counts.items():
            other = torch_run.layer_counts[i]
            layers[str(i)] = {"identical_counts": float(np.mean(counts == other)),
                              "spikes_nest": int(counts.sum()), "spikes_torch": int(other.sum())}
        same_class = np.mean(nest_run.output_counts.argmax(1) == torch_run.output_counts.argmax(1))
        equality[dtype] = {"layers": layers, "identical_classifications": float(same_class),
                           "accuracy_nest": nest_run.accuracy,
                           "accuracy_torch": torch_run.accuracy, "wall_s": wall}
    equality["nest_wall_s"] = nest_wall

    step_digits = first(digits, args.step_images)
    nest_steps = nest_spike_steps(network, step_digits)
    steps = {}
    for name, ours in (
            ("compiled float64", kernel_spike_steps(network, step_digits, "float64")),
            ("compiled float32", kernel_spike_steps(network, step_digits, "float32")),
            ("torch operations float64", torch_spike_steps(network, step_digits,
                                                           torch.float64)),
            ("torch operations float32", torch_spike_steps(network, step_digits,
                                                           torch.float32))):
        steps[name] = [{"spikes_nest": len(a), "spikes_torch": len(b),
                        "identical": len(a & b) / max(1, len(a | b))}
                       for a, b in zip(nest_steps, ours, strict=True)]

    speed_digits = first(digits, args.speed_images)
    repeats = []
    for _ in range(args.repeats):
        walls = {"nest": run(network, speed_digits, "nest")[1]}
        for dtype in ("float64", "float32"):
            walls[f"torch {dtype}, compiled loop"] = run(network, speed_digits, "torch",
                                                         dtype)[1]
            with torch_operations():
                walls[f"torch {dtype}, torch operations"] = run(network, speed_digits,
                                                                "torch", dtype)[1]
        repeats.append(walls)
    n = len(speed_digits)
    speed = {name: {"images_per_s_median": statistics.median(n / r[name] for r in repeats),
                    "images_per_s_range": [min(n / r[name] for r in repeats),
                                           max(n / r[name] for r in repeats)]}
             for name in repeats[0]}
    ratios = {name: [r["nest"] / r[name] for r in repeats] for name in repeats[0]
              if name != "nest"}
    memory_mb = memory(args.data)
    result = {
        "network": str(NETWORK), "window_ms": WINDOW, "seed": SEED, "images": len(digits),
        "equality": equality, "spike_steps": steps, "step_images": len(step_digits),
        "speed": speed, "speed_images": n, "repeats": repeats,
        "speedup_vs_nest": {k: {"median": statistics.median(v), "each": v}
                            for k, v in ratios.items()},
        "peak_rss_mb": memory_mb,
        "max_rss_mb_this_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    write(result, args.out)


def memory(data) -> dict:
    """Memory above the loaded digits for batches of 100 and 500 (1000 digits each)."""
    return {f"batch_{b}": peak_memory_mb(1000, b, str(data)) for b in (100, 500)}


def write(result: dict, out: Path) -> None:
    write_result(out, "torch_backend", result, markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    lines = [f"`{r['network']}`, {r['window_ms']:g} ms per image, 1 ms step, seed {r['seed']}, "
             f"{r['images']} held-out digits; CPU only (no GPU was lent). Nothing else ran "
             "meanwhile. Equality of counts and classifications: the torch backend as deploy "
             "runs it on the CPU (compiled loop).",
             "",
             "## Equality with NEST", "",
             "| layer | spikes on NEST | float64: identical (image, neuron) counts | "
             "float32: identical counts |", "|---|---|---|---|"]
    e = r["equality"]
    for i, layer in e["float64"]["layers"].items():
        lines.append(f"| {i} | {layer['spikes_nest']:,} | "
                     f"{100 * layer['identical_counts']:.3f} % | "
                     f"{100 * e['float32']['layers'][i]['identical_counts']:.3f} % |")
    lines += ["", f"Identical classifications: float64 "
              f"{100 * e['float64']['identical_classifications']:.2f} %, float32 "
              f"{100 * e['float32']['identical_classifications']:.2f} %. Accuracy: NEST "
              f"{100 * e['float64']['accuracy_nest']:.2f} %, torch float64 "
              f"{100 * e['float64']['accuracy_torch']:.2f} %, float32 "
              f"{100 * e['float32']['accuracy_torch']:.2f} %.", "",
              f"Spikes as (image, neuron, step), first {r['step_images']} digits: identical "
              "fraction (intersection over union) per layer:", "",
              "| layer | spikes on NEST | " + " | ".join(r["spike_steps"]) + " |",
              "|---|---|" + "---|" * len(r["spike_steps"])]
    first_loop = next(iter(r["spike_steps"].values()))
    for i, layer in enumerate(first_loop):
        lines.append(f"| {i} | {layer['spikes_nest']:,} | " + " | ".join(
            f"{100 * loop[i]['identical']:.4f} %" for loop in r["spike_steps"].values())
            + " |")
    lines += ["", f"## Speed ({r['speed_images']} digits, {len(r['repeats'])} repeats)", "",
              "| backend | images/s, median (range) |", "|---|---|"]
    for name, s in r["speed"].items():
        lo, hi = s["images_per_s_range"]
        lines.append(f"| {name} | {s['images_per_s_median']:.1f} ({lo:.1f}-{hi:.1f}) |")
    lines += ["", "Speed-up over NEST within each repeat: " + "; ".join(
        f"{k}: {v['median']:.2f}x ({', '.join(f'{x:.2f}' for x in v['each'])})"
        for k, v in r["speedup_vs_nest"].items()) + ".", "",
        "Memory a deployment of 1000 digits on torch adds to a fresh process (peak RSS during "
        "the deployment above the RSS with the digits loaded): " + ", ".join(
            f"{k.replace('_', ' ')} {v:.0f} MB" for k, v in r["peak_rss_mb"].items()) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
