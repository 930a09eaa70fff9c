"""Speed of a paper-size calibration sweep: batched (one run) against the naive protocol (one
``setup/run/end`` per point and trial, as older scripts do), and 1 against 2 NEST threads.

Poisson-driven current, tau_syn = 5 ms, 1 ms step, 10 s per trial. The batched sweep is
31 means x 6 stds x 10 trials (1,860 neurons). The naive protocol runs on a subset of the same
points and is compared per neuron-second simulated, in two forms:

* ``naive_same_settings``: one neuron per run, but otherwise our settings (on-grid neurons,
  generators straight into the cell): isolates the gain from batching alone;
* ``naive_pynn_defaults``: as older scripts wrote it, with PyNN's defaults (``off_grid``
  precise-spike neurons, ``SpikeSourcePoisson`` relayed through parrot neurons).

Each measurement is repeated; medians and ranges go to ``results/calibration_sweep.{json,md}``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import backends
from lifresponse.calibration.drives import PoissonCurrentDrive
from lifresponse.calibration.sweep import SweepConfig, run_sweep
from lifresponse.neuron import LIFParams
from lifresponse.statistics import poisson_drive

DRIVE = PoissonCurrentDrive(tau_syn=5.0)
MEANS = np.round(np.arange(-0.5, 1.0 + 1e-9, 0.05), 10)
STDS = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
DURATION = 10000.0
TIMESTEP = 1.0


def batched(threads: int, seed: int) -> float:
    """Wall seconds of the whole grid in one simulation."""
    config = SweepConfig(DRIVE, MEANS, STDS, trials=10, duration=DURATION, timestep=TIMESTEP,
                         seed=seed, threads=threads)
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        run_sweep(config, Path(work) / "rates.h5", progress=False)
        return time.perf_counter() - start


def naive(points: list[tuple[float, float]], seed: int, pynn_defaults: bool) -> float:
    """Wall seconds of one ``setup/run/end`` per point, one neuron each, 1 thread."""
    backend = backends.get("nest")
    sim = backend.load()
    params = LIFParams(tau_syn_E=DRIVE.tau_syn, tau_syn_I=DRIVE.tau_syn).to_pynn()
    start = time.perf_counter()
    for i, (m, s) in enumerate(points):
        with backends.quiet():
            if pynn_defaults:
                sim.setup(timestep=TIMESTEP, min_delay=TIMESTEP, rng_seed=seed + i)
            else:
                backend.start(timestep=TIMESTEP, threads=1, seed=seed + i)
            cell = sim.Population(1, sim.IF_curr_exp(**params))
            if pynn_defaults:
                _pynn_poisson(sim, cell, m, s)
            else:
                DRIVE.attach(backend, cell, np.array([m]), np.array([s]), 1, DURATION)
            cell.record("spikes")
            sim.run(DURATION)
            cell.get_data("spikes")
            sim.end()
    return time.perf_counter() - start


def _pynn_poisson(sim, cell, m: float, s: float) -> None:
    """The same two summed trains as PyNN SpikeSourcePoisson populations, plain PyNN."""
    drive = poisson_drive(m, s, DRIVE.tau_syn)
    for rate, n, sign, receptor in ((drive.rate_exc, drive.n_exc, 1, "excitatory"),
                                    (drive.rate_inh, drive.n_inh, -1, "inhibitory")):
        source = sim.Population(1, sim.SpikeSourcePoisson(rate=float(rate[()] * n)))
        sim.Projection(source, cell, sim.AllToAllConnector(),  # PyNN 0.13 OneToOne fails 1x1
                       sim.StaticSynapse(weight=sign * float(drive.weight[()]), delay=TIMESTEP),
                       receptor_type=receptor)


def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    n_cells = MEANS.size * STDS.size * 10
    subset = [(m, s) for m in (-0.2, 0.2, 0.6, 1.0) for s in (0.4, 1.0)]
    timings = {"batched_1_thread": [], "batched_2_threads": [], "naive_same_settings": [],
               "naive_pynn_defaults": []}
    for repeat in range(args.repeats):
        timings["batched_1_thread"].append(batched(1, seed=repeat + 1))
        timings["batched_2_threads"].append(batched(2, seed=repeat + 1))
        timings["naive_same_settings"].append(naive(subset, repeat + 1, pynn_defaults=False))
        timings["naive_pynn_defaults"].append(naive(subset, repeat + 1, pynn_defaults=True))
        print({k: round(v[-1], 2) for k, v in timings.items()}, flush=True)
    summary = {name: _summary(values) for name, values in timings.items()}
    batched_neuron_s = n_cells * DURATION / 1000.0
    naive_neuron_s = len(subset) * DURATION / 1000.0
    per_neuron_s = {
        "batched_1_thread": summary["batched_1_thread"]["median"] / batched_neuron_s,
        "batched_2_threads": summary["batched_2_threads"]["median"] / batched_neuron_s,
        "naive_same_settings": summary["naive_same_settings"]["median"] / naive_neuron_s,
        "naive_pynn_defaults": summary["naive_pynn_defaults"]["median"] / naive_neuron_s,
    }
    record = {
        "what": "Poisson-driven calibration sweep, tau_syn 5 ms, 1 ms step, 10 s per trial",
        "grid": {"means": MEANS.size, "stds": STDS.size, "trials": 10, "neurons": n_cells},
        "naive_subset": {"points": subset, "trials": 1},
        "wall_s": summary,
        "neuron_seconds_per_wall_second": {k: 1.0 / v for k, v in per_neuron_s.items()},
        "speedup_vs_naive": {
            f"{batch}_vs_{naive_kind}": per_neuron_s[naive_kind] / per_neuron_s[batch]
            for batch in ("batched_1_thread", "batched_2_threads")
            for naive_kind in ("naive_same_settings", "naive_pynn_defaults")},
        "speedup_2_vs_1_thread": summary["batched_1_thread"]["median"]
        / summary["batched_2_threads"]["median"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "repeats": args.repeats,
        "spike_precision": backends.get("nest").spike_precision,
    }
    write_result(args.results, "calibration_sweep", record, _markdown(record))
    print(_markdown(record))


def _markdown(r: dict) -> str:
    w = r["wall_s"]
    rate = r["neuron_seconds_per_wall_second"]
    speed = r["speedup_vs_naive"]
    n_naive = len(r["naive_subset"]["points"])

    def cell(name):
        return f"{w[name]['median']:.2f} ({w[name]['min']:.2f}-{w[name]['max']:.2f})"

    return "\n".join([
        f"{r['what']}; {r['grid']['means']} means x {r['grid']['stds']} stds x "
        f"{r['grid']['trials']} trials = {r['grid']['neurons']} neurons; median (range) of "
        f"{r['repeats']} runs.",
        "",
        "| protocol | neurons | wall (s) | neuron-seconds per wall second |",
        "|---|---|---|---|",
        f"| batched, 1 thread | {r['grid']['neurons']} | {cell('batched_1_thread')} | "
        f"{rate['batched_1_thread']:.0f} |",
        f"| batched, 2 threads | {r['grid']['neurons']} | {cell('batched_2_threads')} | "
        f"{rate['batched_2_threads']:.0f} |",
        f"| naive, our settings (on-grid, direct generators), 1 thread | {n_naive} | "
        f"{cell('naive_same_settings')} | {rate['naive_same_settings']:.0f} |",
        f"| naive, PyNN defaults (off-grid, SpikeSourcePoisson + parrots), 1 thread | {n_naive} | "
        f"{cell('naive_pynn_defaults')} | {rate['naive_pynn_defaults']:.0f} |",
        "",
        "Speed-up per neuron-second, batched against naive: "
        + "; ".join(f"{k.replace('_', ' ')} {v:.1f}x" for k, v in speed.items())
        + f". 2 vs 1 thread (batched): {r['speedup_2_vs_1_thread']:.2f}x. Peak memory of the "
        f"benchmark process: {r['peak_rss_mb']:.0f} MB.",
        "",
    ])


if __name__ == "__main__":
    main()
