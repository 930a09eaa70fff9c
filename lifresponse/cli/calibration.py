"""The calibration commands: ``response`` (analytic curves), ``calibrate`` (a sweep on a
simulator) and ``fit`` (Noisy Softplus k, S from a sweep).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cells import CELLS as CELL_NAMES
from lifresponse.cli.options import (
    NEURON_HELP,
    add_force_option,
    add_worker_options,
    output_file,
    refuse_changed,
)


def add_response(commands) -> None:
    parser = commands.add_parser(
        "response",
        help="analytic response curves: constant current, Siegert, Noisy Softplus (Fig. 1)",
        description=(
            "Compute the LIF firing rate against input mean current for several noise levels: "
            "eq. 2 (constant current), eq. 7 (Siegert) and S * Noisy Softplus (eq. 9). "
            "Prints a table; optionally writes a CSV and a plot. " + NEURON_HELP + "."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--means", default="-0.5:1.0:0.01",
                        help="input mean currents in nA, start:stop:step or a,b,c")
    parser.add_argument("--stds", default="0.1,0.2,0.5,1.0",
                        help="input current standard deviations in nA")
    parser.add_argument("--dt-noise", type=float, default=1.0,
                        help="noise sampling interval in ms (defines sigma of eq. 7)")
    parser.add_argument("--k", type=float, default=0.30, help="Noisy Softplus k")
    parser.add_argument("--S", type=float, default=201.0, help="Noisy Softplus scale S in Hz/nA")
    parser.add_argument("--csv", type=output_file, help="write every curve to this CSV file")
    parser.add_argument("--plot", type=output_file, help="write the figure here (.png or .svg)")
    add_force_option(parser)
    parser.set_defaults(run=_run_response, parser=parser)


def _run_response(args) -> None:
    from lifresponse.curves import compute_response_curves, plot_response_curves, write_csv
    from lifresponse.grids import parse_grid

    means = parse_grid(args.means, "--means")
    stds = parse_grid(args.stds, "--stds")
    curves = compute_response_curves(means, stds, dt_noise=args.dt_noise, k=args.k, S=args.S)
    print(f"LIF response, {len(means)} means from {means[0]:g} to {means[-1]:g} nA, "
          f"noise interval {args.dt_noise:g} ms, "
          f"Noisy Softplus k = {args.k:g}, S = {args.S:g} Hz/nA")
    step = max(1, len(means) // 10)
    header = f"{'m (nA)':>8} {'eq.2':>8}" + "".join(
        f" {'Sieg s=' + format(s, 'g'):>11} {'NS s=' + format(s, 'g'):>10}" for s in stds)
    print(header)
    for j in range(0, len(means), step):
        row = f"{means[j]:8.3f} {curves.constant[j]:8.2f}"
        row += "".join(f" {curves.siegert[i, j]:11.2f} {curves.noisy_softplus[i, j]:10.2f}"
                       for i in range(len(stds)))
        print(row)
    if args.csv:
        write_csv(curves, args.csv)
        print(f"wrote {args.csv}")
    if args.plot:
        plot_response_curves(curves, args.plot)
        print(f"wrote {args.plot}")


def add_calibrate(commands) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="sweep a simulated neuron over noisy inputs and record its rates (rates.h5)",
        description=(
            "Simulate every (mean, std, trial) as its own neuron (--cell, a PyNN standard "
            "cell; default IF_curr_exp) with independent noise, all in one run (chunked above "
            "--max-cells cells), and store spike counts in an HDF5 file. For conductance-based "
            "cells the Poisson drive's weights are conductances (uS) and --means/--stds are "
            "computed from rates and weights as for current cells (eq. 8). An interrupted "
            "sweep continues with --resume; a finished file is never overwritten. "
            + NEURON_HELP + "; the IF_ cells share them, the EIF_ cells and Izhikevich keep "
            "PyNN's defaults (docs/cells.md)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--cell", default="IF_curr_exp", choices=sorted(CELL_NAMES),
                        help="the PyNN standard cell to calibrate")
    parser.add_argument("--neuron", type=Path, metavar="FILE",
                        help="JSON of the cell's parameters that differ from its defaults "
                             "(PyNN names and units)")
    parser.add_argument("--drive", choices=["noisy-current", "poisson", "dc"],
                        default="poisson", help="the kind of input current")
    parser.add_argument("--tau-syn", type=float, default=5.0,
                        help="synaptic time constant of the Poisson drive (ms); into delta "
                             "synapses (IF_curr_delta, Izhikevich: weights in mV) the "
                             "window of its statistics, eq. 8")
    parser.add_argument("--dt-noise", type=float, default=1.0,
                        help="noise interval of the noisy-current drive (ms)")
    parser.add_argument("--weight", type=float, default=None,
                        help="fixed |w| of every Poisson train (nA; uS into conductance "
                             "cells, mV into delta synapses); default: chosen per point, at "
                             "most 0.05")
    parser.add_argument("--means", default="-0.5:1.0:0.05", help="input means (nA)")
    parser.add_argument("--stds", default="0.2:1.0:0.2",
                        help="input stds (nA); use 0 with --drive dc")
    parser.add_argument("--trials", type=int, default=10, help="neurons per grid point")
    parser.add_argument("--duration", type=float, default=10000.0, help="simulated ms per trial")
    parser.add_argument("--timestep", type=float, default=1.0, help="simulation step (ms)")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--threads", type=int, default=1, help="NEST threads")
    parser.add_argument("--backend", default="nest", help="PyNN backend: nest or spinnaker")
    parser.add_argument("--max-cells", type=int, default=4000,
                        help="most neurons in one simulation run (bounds memory)")
    add_worker_options(parser, "chunks")
    parser.add_argument("--out", type=output_file, default=Path("rates.h5"), help="results file")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted sweep from <out>.partial")
    parser.add_argument("--yes", action="store_true",
                        help="run a sweep of more than about a day of simulation here")
    add_force_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_calibrate, parser=parser)


def _run_calibrate(args) -> None:
    from lifresponse import workflow
    from lifresponse.calibration.sweep import check_output

    if args.drive != "noisy-current":
        refuse_changed(args, ("--dt-noise",), f"belongs to --drive noisy-current, not "
                                              f"--drive {args.drive}")
    if args.drive != "poisson":
        refuse_changed(args, ("--tau-syn", "--weight"), f"belongs to --drive poisson, not "
                                                        f"--drive {args.drive}")

    neuron = None if args.neuron is None else _read_neuron(args.neuron)
    config = workflow.sweep_config(args.drive, args.means, args.stds, tau_syn=args.tau_syn,
                                   dt_noise=args.dt_noise, weight=args.weight,
                                   trials=args.trials, duration=args.duration,
                                   timestep=args.timestep, seed=args.seed, threads=args.threads,
                                   backend=args.backend, cell=args.cell, neuron=neuron,
                                   max_cells=args.max_cells,
                                   long_ok=args.yes, workers=args.workers,
                                   scheduler=args.scheduler)
    check_output(args.out, args.resume, args.force)
    n_cells = config.means.size * config.stds.size * config.trials
    print(f"calibrate: {args.cell}, {args.drive} drive, {config.means.size} means x "
          f"{config.stds.size} stds x {config.trials} trials = {n_cells} neurons x "
          f"{config.duration:g} ms on "
          f"{args.backend}, step {config.timestep:g} ms, {len(config.chunks())} chunk(s)")
    table = workflow.calibrate(config, out=args.out, resume=args.resume,
                               progress=not args.quiet, force=args.force)
    print(f"wrote {args.out} ({table.attrs['wall_time_s']:.1f} s of simulation)")
    if table.attrs["note"]:
        print(f"NOTE: {table.attrs['note']}")


def _read_neuron(path: Path) -> dict:
    """The ``--neuron`` file: a JSON object of parameter values."""
    import json

    from lifresponse.errors import FileFormatError

    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a JSON file of neuron parameters ({exc})") from None
    if not isinstance(values, dict):
        raise FileFormatError(f"{path}: must hold a JSON object of parameter values (got "
                              f"{type(values).__name__})")
    return values


def add_fit(commands) -> None:
    parser = commands.add_parser(
        "fit",
        help="fit Noisy Softplus (k, S) to a rates.h5 sweep; compare ReLU, Softplus, Siegert",
        description=(
            "Least-squares fit of rate = S k s ln(1 + exp(m / (k s))) over every trial with "
            "s > 0, with standard errors, RMSE and R^2, beside the best ReLU, the best Softplus "
            "(one fitted noise level) and the Siegert prediction. Writes calibration.json, "
            "which training reads."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("rates", type=Path, help="results file of 'lifresponse calibrate'")
    parser.add_argument("--out", type=output_file, default=Path("calibration.json"),
                        help="where to write the calibration")
    parser.add_argument("--plot", type=output_file,
                        help="write the fit figure here, with _rates and _residuals beside it "
                             "(PNG and SVG)")
    parser.add_argument("--partial", action="store_true",
                        help="fit an unfinished sweep (rates.h5.partial) on its finished points; "
                             "the calibration is marked partial")
    add_force_option(parser)
    parser.set_defaults(run=_run_fit, parser=parser, out_checked_here=True,
                        writes={"plot": _fit_figures})


def _run_fit(args) -> None:
    from lifresponse import workflow

    calibration = workflow.fit(args.rates, out=args.out, plot=args.plot, partial=args.partial)
    if "partial" in calibration.record:
        p = calibration.record["partial"]
        print(f"PARTIAL: fitted {p['points_simulated']} of {p['points']} grid points of an "
              "unfinished sweep")
    print(f"{'model':<15} {'parameters':<36} {'RMSE (Hz)':>10} {'R^2':>7}")
    for fit in calibration.record["comparison"]:
        params = ", ".join(
            f"{name} = {value:.4g}" + (f" +- {fit['stderr'][name]:.2g}"
                                       if name in fit["stderr"] else "")
            for name, value in fit["params"].items())
        print(f"{fit['model']:<15} {params:<36} {fit['rmse']:10.2f} {fit['r2']:7.4f}")


def _fit_figures(path: Path) -> list[Path]:
    from lifresponse.calibration.plots import figure_paths

    return figure_paths(path)
