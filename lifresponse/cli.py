"""The ``lifresponse`` command: one sub-command per job, each a thin layer over the library."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from lifresponse import __version__
from lifresponse.errors import LifResponseError

_NEURON_HELP = "neuron parameters are Table 1 of the Noisy Softplus papers (see LIFParams)"


def _add_response(commands) -> None:
    parser = commands.add_parser(
        "response",
        help="analytic response curves: constant current, Siegert, Noisy Softplus (Fig. 1)",
        description=(
            "Compute the LIF firing rate against input mean current for several noise levels: "
            "eq. 2 (constant current), eq. 7 (Siegert) and S * Noisy Softplus (eq. 9). "
            "Prints a table; optionally writes a CSV and a plot. " + _NEURON_HELP + "."
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
    parser.add_argument("--csv", type=Path, help="write every curve to this CSV file")
    parser.add_argument("--plot", type=Path, help="write the figure here (.png or .svg)")
    parser.set_defaults(run=_run_response)


def _run_response(args) -> None:
    from lifresponse.curves import compute_response_curves, plot_response_curves, write_csv
    from lifresponse.errors import ParameterError
    from lifresponse.grids import parse_grid

    means = parse_grid(args.means, "--means")
    stds = parse_grid(args.stds, "--stds")
    if (stds < 0).any():
        raise ParameterError(f"--stds: standard deviations must be >= 0 (got {stds.min():g})")
    if args.dt_noise <= 0:
        raise ParameterError(f"--dt-noise: must be > 0 ms (got {args.dt_noise})")
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


def _add_calibrate(commands) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="sweep a simulated LIF neuron over noisy inputs and record its rates (rates.h5)",
        description=(
            "Simulate every (mean, std, trial) as its own IF_curr_exp neuron with independent "
            "noise, all in one run (chunked above --max-cells cells), and store spike counts in "
            "an HDF5 file. An interrupted sweep continues with --resume; a finished file is "
            "never overwritten. " + _NEURON_HELP + "."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--drive", choices=["noisy-current", "poisson", "dc"],
                        default="poisson", help="the kind of input current")
    parser.add_argument("--tau-syn", type=float, default=5.0,
                        help="synaptic time constant of the Poisson drive (ms)")
    parser.add_argument("--dt-noise", type=float, default=1.0,
                        help="noise interval of the noisy-current drive (ms)")
    parser.add_argument("--weight", type=float, default=None,
                        help="fixed |w| of every Poisson train (nA); default: chosen per point, "
                             "at most 0.05 nA")
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
    parser.add_argument("--out", type=Path, default=Path("rates.h5"), help="results file")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted sweep from <out>.partial")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_calibrate)


def _run_calibrate(args) -> None:
    from lifresponse.calibration import results
    from lifresponse.calibration.drives import DCDrive, NoisyCurrentDrive, PoissonCurrentDrive
    from lifresponse.calibration.sweep import SweepConfig, check_output, run_sweep
    from lifresponse.grids import parse_grid

    drive = {"noisy-current": lambda: NoisyCurrentDrive(args.dt_noise),
             "poisson": lambda: PoissonCurrentDrive(args.tau_syn, weight=args.weight),
             "dc": DCDrive}[args.drive]()
    config = SweepConfig(drive, parse_grid(args.means, "--means"), parse_grid(args.stds, "--stds"),
                         trials=args.trials, duration=args.duration, timestep=args.timestep,
                         seed=args.seed, threads=args.threads, backend=args.backend,
                         max_cells_per_chunk=args.max_cells)
    check_output(args.out, args.resume)
    n_cells = config.means.size * config.stds.size * config.trials
    print(f"calibrate: {args.drive} drive, {config.means.size} means x {config.stds.size} stds x "
          f"{config.trials} trials = {n_cells} neurons x {config.duration:g} ms on "
          f"{args.backend}, step {config.timestep:g} ms, {len(config.chunks())} chunk(s)")
    out = run_sweep(config, args.out, resume=args.resume, progress=not args.quiet)
    table = results.read(out)
    print(f"wrote {out} ({table.attrs['wall_time_s']:.1f} s of simulation)")
    if table.attrs["note"]:
        print(f"NOTE: {table.attrs['note']}")


def _add_fit(commands) -> None:
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
    parser.add_argument("--out", type=Path, default=Path("calibration.json"),
                        help="where to write the calibration")
    parser.add_argument("--plot", type=Path,
                        help="write the fit figure here, with _rates and _residuals beside it "
                             "(PNG and SVG)")
    parser.set_defaults(run=_run_fit)


def _run_fit(args) -> None:
    from lifresponse.calibration import results
    from lifresponse.calibration.fit import calibration_record, fit_table, write_calibration

    table = results.read(args.rates)
    if not table.attrs["complete"]:
        print(f"warning: {args.rates} is an unfinished sweep; fitting the finished points")
    fits = fit_table(table)
    print(f"{'model':<15} {'parameters':<36} {'RMSE (Hz)':>10} {'R^2':>7}")
    for fit in fits:
        params = ", ".join(
            f"{name} = {value:.4g}" + (f" +- {fit.stderr[name]:.2g}" if name in fit.stderr else "")
            for name, value in fit.params.items())
        print(f"{fit.model:<15} {params:<36} {fit.rmse:10.2f} {fit.r2:7.4f}")
    write_calibration(calibration_record(table, fits), args.out)
    print(f"wrote {args.out}")
    if args.plot:
        from lifresponse.calibration.plots import write_calibration_figures

        for path in write_calibration_figures(table, fits[0], args.plot):
            print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lifresponse`` command with all its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="lifresponse",
        description=(
            "Spiking networks of current-based LIF neurons (PyNN IF_curr_exp) trained as ANNs "
            "with Noisy Softplus and run unchanged on NEST or SpiNNaker. "
            "Run 'lifresponse COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lifresponse {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_response(commands)
    _add_calibrate(commands)
    _add_fit(commands)
    return parser


def _attach_negative_values(argv: list[str]) -> list[str]:
    """Write ``--means -0.5:1:0.1`` as ``--means=-0.5:1:0.1``.

    argparse takes a value that starts with "-" and is not a plain number for an option; grid
    values such as ``-0.5:1.0:0.05`` are joined to their option so they parse as typed.
    """
    joined: list[str] = []
    for token in argv:
        previous = joined[-1] if joined else ""
        if re.match(r"-\.?\d", token) and previous.startswith("--") and "=" not in previous:
            joined[-1] = f"{previous}={token}"
        else:
            joined.append(token)
    return joined


def main(argv=None) -> int:
    """Entry point of the ``lifresponse`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(_attach_negative_values(sys.argv[1:] if argv is None else argv))
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        args.run(args)
    except LifResponseError as exc:
        print(f"lifresponse: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
