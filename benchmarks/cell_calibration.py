"""How well Noisy Softplus describes the response of each PyNN standard cell to noisy current.

Every cell of :data:`lifresponse.cells.CELLS` with its default parameters (docs/cells.md), on
NEST, under the same noisy current (``NoisyCurrentSource``, dt 1 ms): the default grid (means
-0.5 .. 1.0 nA by 0.05, stds 0.2 .. 1.0 nA by 0.2), 10 trials x 10 s per point, 1 ms steps, 2
threads; Izhikevich, whose model takes its current in pA as mV/ms, on the grid divided by 100.
For each: the fitted (k, S) with standard errors, RMSE and R^2 of Noisy Softplus, ReLU and
Softplus, and the noise floor: the measured rates of the odd trials predicting those of the
even trials point by point (what any model of the mean response can at best reach). Writes
``results/cell_calibration.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import workflow
from lifresponse.calibration.fit import FitData, fit_table
from lifresponse.cells import CELLS

SCALED = {"Izhikevich": 0.01}  # grid factor for cells whose current is in other units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10000.0)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--only", help="one cell")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    rows = []
    for cell in CELLS:
        if args.only and cell != args.only:
            continue
        factor = SCALED.get(cell, 1.0)
        start = time.perf_counter()
        table = workflow.calibrate(drive="noisy-current",
                                   means=np.round(np.arange(-0.5, 1.0001, 0.05), 10) * factor,
                                   stds=np.round(np.arange(0.2, 1.0001, 0.2), 10) * factor,
                                   trials=args.trials, duration=args.duration, threads=2,
                                   cell=cell, progress=False)
        wall = time.perf_counter() - start
        fits = {f.model: f for f in fit_table(table)}
        rows.append({"cell": cell, "grid_factor": factor, "wall_s": wall,
                     "max_rate_hz": float(np.nanmax(table.rates)),
                     "fits": {name: {"params": f.params, "stderr": f.stderr, "rmse": f.rmse,
                                     "r2": f.r2} for name, f in fits.items()},
                     "noise_floor": noise_floor(table)})
        print(cell, {k: round(v.rmse, 2) for k, v in fits.items()}, rows[-1]["noise_floor"],
              flush=True)
    write_result(args.out, "cell_calibration", {"duration_ms": args.duration,
                                                "trials": args.trials, "cells": rows},
                 markdown(rows, args))


def noise_floor(table) -> dict:
    """RMSE and R^2 of the odd trials' mean rate per point as the prediction of each even
    trial (s > 0 points): the scatter no model of the mean response removes."""
    rates = table.rates
    usable = table.point_std > 0
    odd, even = rates[usable, 1::2].mean(axis=1), rates[usable, 0::2]
    residual = (even - odd[:, None]).ravel()
    data = FitData(np.repeat(table.point_mean[usable], even.shape[1]),
                   np.repeat(table.point_std[usable], even.shape[1]), even.ravel())
    rss = float(residual @ residual)
    tss = float(np.sum((data.rate - data.rate.mean()) ** 2))
    return {"rmse": float(np.sqrt(rss / residual.size)), "r2": 1 - rss / tss}


def markdown(rows: list, args) -> list[str]:
    lines = [f"Noisy current (dt 1 ms) into each cell with its default parameters, on NEST "
             f"(1 ms steps, 2 threads): 31 means x 5 stds x {args.trials} trials x "
             f"{args.duration / 1000:g} s. k, S fitted by least squares on every trial (s > 0); "
             "RMSE in Hz. Noise floor: the odd trials' mean predicting the even trials.", "",
             "| cell | NEST model | synapse, input | k | S (Hz/nA) | Noisy Softplus RMSE, R^2 | "
             "Softplus RMSE | ReLU RMSE | noise floor RMSE, R^2 | max rate (Hz) | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cell = CELLS[row["cell"]]
        ns = row["fits"]["noisy-softplus"]
        grid = "" if row["grid_factor"] == 1 else f" (grid x {row['grid_factor']:g})"
        lines.append(
            f"| {row['cell']}{grid} | `{cell.nest_model}` | {cell.synapse}, {cell.input} | "
            f"{ns['params']['k']:.3f} +- {ns['stderr']['k']:.3f} | "
            f"{ns['params']['S']:.1f} +- {ns['stderr']['S']:.1f} | "
            f"{ns['rmse']:.2f}, {ns['r2']:.4f} | {row['fits']['softplus']['rmse']:.2f} | "
            f"{row['fits']['relu']['rmse']:.2f} | {row['noise_floor']['rmse']:.2f}, "
            f"{row['noise_floor']['r2']:.4f} | {row['max_rate_hz']:.0f} | {row['wall_s']:.0f} |")
    return lines


if __name__ == "__main__":
    main()
