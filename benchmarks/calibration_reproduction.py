"""Reproduce the paper's calibrations: five configurations, paper protocol (10 s, 10 trials).

Poisson-driven current with tau_syn = 1, 5, 10 ms and NoisyCurrentSource with dt = 1, 10 ms, on
the grid m = -0.5:1.0:0.05 nA x s = 0.2:1.0:0.2 nA, each fitted with Noisy Softplus (and ReLU,
Softplus, Siegert for comparison). Writes rates files, figures, and
``results/calibration_reproduction_<step>ms.{json,md}``; total wall time and peak memory too.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import backends
from lifresponse.calibration import results
from lifresponse.calibration.drives import NoisyCurrentDrive, PoissonCurrentDrive
from lifresponse.calibration.fit import fit_table
from lifresponse.calibration.plots import write_calibration_figures
from lifresponse.calibration.sweep import SweepConfig, run_sweep
from lifresponse.reproduce.report import PAPER_CALIBRATION

PAPER = {f"poisson-tau{tau:g}": ks for tau, ks in PAPER_CALIBRATION.items()}
CONFIGURATIONS = {
    "poisson-tau1": PoissonCurrentDrive(tau_syn=1.0),
    "poisson-tau5": PoissonCurrentDrive(tau_syn=5.0),
    "poisson-tau10": PoissonCurrentDrive(tau_syn=10.0),
    "noisy-current-dt1": NoisyCurrentDrive(dt_noise=1.0),
    "noisy-current-dt10": NoisyCurrentDrive(dt_noise=10.0),
}
MEANS = np.round(np.arange(-0.5, 1.0 + 1e-9, 0.05), 10)
STDS = np.array([0.2, 0.4, 0.6, 0.8, 1.0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timestep", type=float, default=1.0, help="simulation step (ms)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--figures", type=Path, default=Path("docs/figures/calibration"))
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    tag = f"{args.timestep:g}ms"
    rows = []
    total_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for name, drive in CONFIGURATIONS.items():
            config = SweepConfig(drive, MEANS, STDS, trials=10, duration=10000.0,
                                 timestep=args.timestep, seed=args.seed, threads=args.threads)
            start = time.perf_counter()
            table = results.read(run_sweep(config, Path(work) / f"{name}.h5", progress=False))
            wall = time.perf_counter() - start
            fits = fit_table(table)
            write_calibration_figures(table, fits[0], args.figures / f"{name}_{tag}.png")
            by_model = {f.model: f for f in fits}
            ns = by_model["noisy-softplus"]
            rows.append({
                "configuration": name,
                "drive": drive.to_dict(),
                "k": ns.params["k"], "k_stderr": ns.stderr["k"],
                "S": ns.params["S"], "S_stderr": ns.stderr["S"],
                "rmse": {model: fit.rmse for model, fit in by_model.items()},
                "r2": {model: fit.r2 for model, fit in by_model.items()},
                "softplus_c": by_model["softplus"].params["c"],
                "paper": PAPER.get(name),
                "sweep_wall_s": wall,
            })
            print(f"{name}: k = {ns.params['k']:.3f} +- {ns.stderr['k']:.3f}, "
                  f"S = {ns.params['S']:.1f} +- {ns.stderr['S']:.1f}, RMSE {ns.rmse:.2f} Hz, "
                  f"sweep {wall:.1f} s", flush=True)
    total = time.perf_counter() - total_start
    record = {
        "protocol": {"means_nA": MEANS.tolist(), "stds_nA": STDS.tolist(), "trials": 10,
                     "duration_ms": 10000.0, "timestep_ms": args.timestep,
                     "threads": args.threads, "seed": args.seed,
                     "spike_precision": backends.get("nest").spike_precision},
        "configurations": rows,
        "total_wall_s": total,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    write_result(args.results, f"calibration_reproduction_{tag}", record, _markdown(record))
    print(f"all five: {total:.1f} s wall, peak memory {record['peak_rss_mb']:.0f} MB")


def _markdown(record: dict) -> str:
    p = record["protocol"]
    lines = [
        f"Calibration reproduction, timestep {p['timestep_ms']:g} ms, {p['trials']} trials x "
        f"{p['duration_ms'] / 1000:g} s, {len(p['means_nA'])} means x {len(p['stds_nA'])} stds, "
        f"{p['threads']} threads, seed {p['seed']}.",
        "",
        "| configuration | paper (k, S) | ours k | ours S (Hz/nA) | RMSE NS | RMSE ReLU | "
        "RMSE Softplus | RMSE Siegert | sweep (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in record["configurations"]:
        paper = f"({row['paper'][0]}, {row['paper'][1]})" if row["paper"] else "not reported"
        rmse = row["rmse"]
        lines.append(
            f"| {row['configuration']} | {paper} | {row['k']:.3f} +- {row['k_stderr']:.3f} | "
            f"{row['S']:.1f} +- {row['S_stderr']:.1f} | {rmse['noisy-softplus']:.2f} | "
            f"{rmse['relu']:.2f} | {rmse['softplus']:.2f} | {rmse['siegert']:.2f} | "
            f"{row['sweep_wall_s']:.1f} |")
    lines += ["", f"All five sweeps: {record['total_wall_s']:.1f} s wall (including fits and "
              f"figures); peak memory {record['peak_rss_mb']:.0f} MB. RMSE in Hz over every "
              "trial with s > 0.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
