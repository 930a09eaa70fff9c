"""How well Noisy Softplus describes the response of each PyNN standard cell, under noisy
current and under Poisson-driven synaptic input.

Every cell of :data:`lifresponse.cells.CELLS` with its default parameters (docs/cells.md), on
NEST, 1 ms steps, 2 threads, 10 trials x 10 s per point, on the default grid (means -0.5 .. 1.0
by 0.05, stds 0.2 .. 1.0 by 0.2):

- noisy current (``NoisyCurrentSource``, dt 1 ms, nA) into every cell; Izhikevich, whose model
  takes its current in pA as mV/ms, on the grid x 0.01;
- Poisson-driven synapses (``--drive poisson``, tau_syn 5 ms, eq. 8) into every cell with
  synaptic time constants; for conductance cells the weights are uS and the grid is x 0.02 (a
  50 mV driving force turns 0.02 uS into 1 nA); and into Izhikevich's delta synapses (weights
  in mV, tau_syn the window of eq. 8's statistics), means x 50 and stds x 15: the noisy
  current's grid x 0.01 nA is 10 mV/ms, 50 mV over 5 ms, and a noise of the same diffusion
  (``s^2 dt_noise = sum w^2 r``) is 1.58x (15.8) larger in eq. 8's ``s``; and into
  IF_curr_delta's, means x 20 and stds x 6.3 (1 nA into 0.25 nF is 4 mV/ms, 20 mV over 5 ms,
  and 4 x 1.58 = 6.3 mV of noise).

For each: the fitted (k, S) with standard errors, RMSE and R^2 of Noisy Softplus, ReLU and
Softplus, those of the analytic Siegert rate where it is the cell's response
(:func:`lifresponse.calibration.fit.siegert_applies`: every IF cell under the noisy current,
IF_curr_exp under both drives; no free parameter), those of the measured response at the means
it left out (:func:`lifresponse.calibration.fit.measured_response`), and the noise floor: the
measured rates
of the odd trials predicting those of the even trials point by point (close to what any
model of the mean response can reach). Writes
``results/cell_calibration.{json,md}`` (with ``--only CELL``: ``results/cell_calibration-CELL``).
Run alone.
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

CURRENT_GRID = {"Izhikevich": 0.01}  # grid factor where the current is in other units
CONDUCTANCE_GRID = 0.02  # uS per nA-equivalent at a 50 mV driving force
# means, stds factors (module docstring): Izhikevich's current is in mV/ms; 1 nA into
# IF_curr_delta's 0.25 nF is 4 mV/ms, 20 mV over tau_syn, and its noise 4 x sqrt(5 / 2) = 6.3 mV
DELTA_POISSON_GRID = {"Izhikevich": (50.0, 15.0), "IF_curr_delta": (20.0, 6.3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10000.0)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--only", help="one cell")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    rows = []
    for drive in ("noisy-current", "poisson"):
        for cell, kind in CELLS.items():
            if args.only and cell != args.only or drive == "poisson" and \
                    kind.synapse == "delta" and cell not in DELTA_POISSON_GRID:
                continue
            factor = CURRENT_GRID.get(cell, 1.0) if drive == "noisy-current" else (
                CONDUCTANCE_GRID if kind.input == "conductance" else 1.0)
            factors = DELTA_POISSON_GRID[cell] if drive == "poisson" and \
                kind.synapse == "delta" else (factor, factor)
            rows.append(calibrate_one(cell, drive, factors, args))
            print(drive, cell, {k: round(v["rmse"], 2) for k, v in rows[-1]["fits"].items()},
                  rows[-1]["noise_floor"], flush=True)
    name = f"cell_calibration{'-' + args.only if args.only else ''}"
    write_result(args.out, name, {"duration_ms": args.duration, "trials": args.trials,
                                  "cells": rows}, markdown(rows, args))


def calibrate_one(cell: str, drive: str, factors: tuple[float, float], args) -> dict:
    start = time.perf_counter()
    table = workflow.calibrate(drive=drive,
                               means=np.round(np.arange(-0.5, 1.0001, 0.05), 10) * factors[0],
                               stds=np.round(np.arange(0.2, 1.0001, 0.2), 10) * factors[1],
                               trials=args.trials, duration=args.duration, threads=2,
                               cell=cell, progress=False)
    wall = time.perf_counter() - start
    fits = {f.model: f for f in fit_table(table)}
    return {"cell": cell, "drive": drive, "grid_factor": factors[0],
            "std_grid_factor": factors[1], "wall_s": wall,
            "max_rate_hz": float(np.nanmax(table.rates)),
            "fits": {name: {"params": f.params, "stderr": f.stderr, "rmse": f.rmse,
                            "r2": f.r2} for name, f in fits.items()},
            "noise_floor": noise_floor(table)}


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
    text = ("Each cell with its default parameters, on NEST (1 ms steps, 2 threads): 31 means x "
            f"5 stds x {args.trials} trials x {args.duration / 1000:g} s. k, S fitted by least "
            "squares on every trial (s > 0); S per unit of the grid (nA, uS for conductance "
            "cells and mV for Izhikevich under the Poisson drive); RMSE in Hz. Noise floor: the "
            "odd trials' mean predicting the even trials. Siegert: eq. 7 with no free parameter "
            "(Fourcaud-Brunel's correction under the Poisson drive), where it is the cell's "
            "response; '-' where none is. Measured response: the mean rates of every other grid "
            "mean, interpolated linearly in the mean, predicting the trials at the 15 means "
            "between them. Nothing else ran on the machine.")
    lines = [text, "",
             "| drive | cell | NEST model | synapse, input | k | S | Noisy Softplus RMSE, R^2 "
             "| Softplus RMSE | ReLU RMSE | Siegert RMSE, R^2 | measured response RMSE, R^2 | "
             "noise floor RMSE, R^2 | max rate (Hz) | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cell = CELLS[row["cell"]]
        ns = row["fits"]["noisy-softplus"]
        std = row.get("std_grid_factor", row["grid_factor"])
        grid = "" if row["grid_factor"] == std == 1 else (
            f" (grid x {row['grid_factor']:g})" if std == row["grid_factor"] else
            f" (means x {row['grid_factor']:g}, stds x {std:g})")
        siegert = row["fits"].get("siegert")
        siegert = "-" if siegert is None else f"{siegert['rmse']:.2f}, {siegert['r2']:.4f}"
        measured = row["fits"]["measured"]
        lines.append(
            f"| {row['drive']} | {row['cell']}{grid} | `{cell.nest_model}` | {cell.synapse}, "
            f"{cell.input} | "
            f"{ns['params']['k']:.3f} +- {ns['stderr']['k']:.3f} | "
            f"{ns['params']['S']:.{1 if ns['params']['S'] >= 100 else 3}f} +- "
            f"{ns['stderr']['S']:.{1 if ns['params']['S'] >= 100 else 3}f} | "
            f"{ns['rmse']:.2f}, {ns['r2']:.4f} | {row['fits']['softplus']['rmse']:.2f} | "
            f"{row['fits']['relu']['rmse']:.2f} | {siegert} | {measured['rmse']:.2f}, "
            f"{measured['r2']:.4f} | {row['noise_floor']['rmse']:.2f}, "
            f"{row['noise_floor']['r2']:.4f} | {row['max_rate_hz']:.0f} | {row['wall_s']:.0f} |")
    return lines


if __name__ == "__main__":
    main()
