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
