"""The Numba step loop against the C step loop it replaced, in one paired run.

The C loop (``step_kernel.c`` and its ctypes loader ``step_kernel.py``) is taken from git at
commit ``--c-commit`` (the last one that had it) into a temporary folder and compiled there with
the system's C compiler, as it was at run time; this benchmark needs one, the toolkit does not.
Both loops get the same network, weights and input spikes (drawn outside the timing; each
loop groups them per step inside it, as in a deployment), 2 threads, blocks of 100 images, and
must give the same counts of every layer, the same output bins and the same events by time.
Each repeat runs C, then Numba, for float64 and float32; median and range of the wall times,
and the ratio within each repeat. Writes ``results/step_loop_vs_c.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse.backends.torch.step_kernel import CompiledNetwork
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.networks.topology import fan_outs, network_connections
from lifresponse.splits import evaluation_digits, first

BLOCK = 100


def c_loop_module(commit: str):
    """The C loop's Python loader from ``commit``, importable, with its C source beside it."""
    folder = Path(tempfile.mkdtemp(prefix="c_step_loop_"))
    for name in ("step_kernel.py", "step_kernel.c"):
        source = subprocess.run(["git", "show", f"{commit}:lifresponse/backends/torch/{name}"],
                                check=True, capture_output=True).stdout
        (folder / name).write_bytes(source)
    spec = importlib.util.spec_from_file_location("c_step_kernel", folder / "step_kernel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # the loader predates graph networks: it takes one Connections per layer and counts the
    # fan-out of that chain, where fan_outs now takes each layer's list of projections
    module.fan_outs = lambda chain: fan_outs([[c] for c in chain])
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="benchmarks/results/networks/small-ns-limit200-"
                                             "tuned.h5")
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--c-commit", default="a27287c")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    c_module = c_loop_module(args.c_commit)
    network = network_file.read(args.network)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    pixels = np.asarray(digits.images, float).reshape(args.images, -1)
    presentation = Presentation(args.window, 0.0, network.timestep)
    blocks = [input_spikes(pixels[f:f + BLOCK], presentation, network, f, 1)
              for f in range(0, args.images, BLOCK)]
    network.require_chain("the C loop")
    connections = network_connections(network)
    chain = [into[0] for into in connections]  # the C loop predates graphs: one per layer
    runs = {f"{loop} {dtype}": [] for dtype in ("float64", "float32") for loop in ("C", "Numba")}
    same = {}
    for _ in range(args.repeats):
        for dtype in ("float64", "float32"):
            c_loop = c_module.CompiledNetwork(network, dtype, chain)
            numba_loop = CompiledNetwork(network, dtype, connections)
            start, c_out = time.perf_counter(), []
            for inputs in blocks:
                c_out.append(c_loop.simulate(inputs, len(inputs.counts), presentation, 2))
            runs[f"C {dtype}"].append(time.perf_counter() - start)
            start, numba_out = time.perf_counter(), []
            for inputs in blocks:
                numba_out.append(numba_loop.simulate(inputs.images, len(inputs.counts),
                                                     presentation, 2))
            runs[f"Numba {dtype}"].append(time.perf_counter() - start)
            same[dtype] = all(
                all(np.array_equal(a, b) for a, b in zip(c[0], n.counts, strict=True))
                and np.array_equal(c[1], n.by_time) and np.array_equal(c[2], n.events)
                for c, n in zip(c_out, numba_out, strict=True))
            print(dtype, {k: v[-1] for k, v in runs.items() if dtype in k}, same[dtype],
                  flush=True)
    compiler = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout
    ratio = {dtype: [c / n for c, n in zip(runs[f"C {dtype}"], runs[f"Numba {dtype}"],
                                           strict=True)] for dtype in ("float64", "float32")}
    result = {"network": args.network, "images": args.images, "window_ms": args.window,
              "c_commit": args.c_commit, "compiler": compiler.splitlines()[0],
              "walls_s": runs, "c_over_numba": ratio, "identical": same,
              "threads": 2, "block": BLOCK}
    lines = [f"{args.images} held-out digits x {args.window:g} ms of {args.network}, 2 "
             f"threads, blocks of {BLOCK}; the C loop of commit {args.c_commit} "
             f"({compiler.splitlines()[0]}, -O3 -march=native) against the Numba loop, C "
             f"first in each of {args.repeats} repeats; wall seconds of the loops (input "
             "spikes drawn beforehand), median (range):", "",
             "| dtype | C loop (s) | Numba loop (s) | C / Numba within a repeat | identical "
             "counts, bins, events |", "|---|---|---|---|---|"]
    for dtype in ("float64", "float32"):
        c, n, r = runs[f"C {dtype}"], runs[f"Numba {dtype}"], ratio[dtype]
        lines.append(f"| {dtype} | {statistics.median(c):.2f} ({min(c):.2f}-{max(c):.2f}) | "
                     f"{statistics.median(n):.2f} ({min(n):.2f}-{max(n):.2f}) | "
                     f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f}) | "
                     f"{same[dtype]} |")
    write_result(args.out, "step_loop_vs_c", result, "\n".join(lines))


if __name__ == "__main__":
    main()
