"""The ``spinnaker`` commands: ``spinnaker config`` and ``spinnaker check``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import (
    add_connectors_option,
    add_force_option,
    output_file,
    output_folder,
    refuse_changed,
)


def add_spinnaker(commands) -> None:
    parser = commands.add_parser(
        "spinnaker", help="SpiNNaker: write the board configuration, check a network",
        description="Configure sPyNNaker for a board, and check a network before running it.")
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    config = actions.add_parser(
        "config", help="write spynnaker.cfg for a virtual board, a board or a spalloc server",
        description=("Write spynnaker.cfg in --dir (the directory you will run in); sPyNNaker "
                     "reads it over ~/.spynnaker.cfg, which it insists exists."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    where = config.add_mutually_exclusive_group(required=True)
    where.add_argument("--virtual", action="store_true", help="a virtual board (maps, no spikes)")
    where.add_argument("--board", metavar="HOST", help="a board by address (machine_name)")
    where.add_argument("--spalloc", metavar="URL", help="a spalloc server")
    config.add_argument("--version", type=int, default=5, help="board version (5 or 3)")
    config.add_argument("--user", default="", help="spalloc user name")
    config.add_argument("--dir", type=output_folder, default=Path("."),
                        help="where to write it")
    config.add_argument("--home-stub", action="store_true",
                        help="also create an empty ~/.spynnaker.cfg if it is missing")
    add_force_option(config)
    config.set_defaults(run=_run_spinnaker_config, parser=config,
                        writes={"dir": _config_file})
    check = actions.add_parser(
        "check", help="timestep, neurons per core, delays, weight quantisation; map it",
        description=("Check a network file against SpiNNaker's constraints (timestep 1.0 or "
                     "0.1 ms, 256 neurons per core, one-timestep delays, 16-bit fixed-point "
                     "weights: max and RMS relative error, saturations per projection), then "
                     "map it on a virtual board (in a temporary directory) and report the "
                     "chips and cores used."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    check.add_argument("network", type=Path)
    check.add_argument("--no-map", action="store_true", help="skip the virtual-board mapping")
    add_connectors_option(check)
    check.add_argument("--out", type=output_file,
                       help="write mapping.json (for 'energy --mapping')")
    add_force_option(check)
    check.set_defaults(run=_run_spinnaker_check, parser=check, out_checked_here=True)
    parser.set_defaults(run=lambda args: parser.print_help())


def _run_spinnaker_config(args) -> None:
    from lifresponse.backends.spinnaker import configuration

    kind = "virtual" if args.virtual else "board" if args.board is not None else "spalloc"
    if kind != "spalloc":
        refuse_changed(args, ("--user",), f"belongs to --spalloc; a {kind} board has no user")
    config = configuration.BoardConfig(kind, args.board or args.spalloc or "", args.version,
                                   args.user)
    path = configuration.write_config(config, args.dir)
    print(f"wrote {path} ({kind}{': ' + config.host if config.host else ''}, version "
          f"{config.version})")
    message = configuration.ensure_home_config(create=args.home_stub)
    if message:
        print(message)


def _run_spinnaker_check(args) -> None:
    import dataclasses

    from lifresponse.backends.spinnaker import check
    from lifresponse.networks import network_file

    if args.no_map:
        refuse_changed(args, ("--connectors", "--out"), "belongs to the mapping, which --no-map "
                                                        "skips")
    network = network_file.read(args.network)
    report = check.check_network(network)
    print(f"{args.network}: {network.architecture}")
    print(f"timestep {report.timestep:g} ms: {'ok' if report.timestep_ok else 'NOT SUPPORTED'}")
    print("cores with connection lists at 256 neurons per core (input first): " + ", ".join(
        map(str, report.cores_per_layer)))
    print("delays: one timestep everywhere: ok")
    print(f"{'layer':>5} {'receptor':>11} {'weights':>8} {'LSB (nA)':>10} {'max rel err':>12} "
          f"{'RMS rel err':>12} {'zeroed':>7} {'saturated':>9}")
    for q in report.quantisation:
        print(f"{q.layer:>5} {q.receptor:>11} {q.n_weights:>8} {q.lsb:>10.3g} "
              f"{q.max_relative_error:>12.3g} {q.rms_relative_error:>12.3g} {q.zeroed:>7} "
              f"{q.saturated:>9}")
    if not args.no_map:
        from lifresponse.backends.spinnaker.connectors import unsupported_reason

        chips, cores, used = check.map_on_virtual_board(network, args.connectors)
        if used == "native":
            connectors = "native local-only connectors"
        elif args.connectors == "native":
            connectors = f"connection lists ({unsupported_reason(network)})"
        else:
            connectors = "connection lists"
        report = dataclasses.replace(report, chips=chips, cores=cores, mapped=True,
                                     connectors=connectors)
        print(f"mapped on a virtual SpiNN-5 board with {report.connectors}: {chips} chip(s), "
              f"{cores} application cores (mapping only: nothing was run on hardware)")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    if args.out:
        check.write_mapping(report, args.out)
        print(f"wrote {args.out}")


def _config_file(folder: Path) -> list[Path]:
    from lifresponse.backends.spinnaker.configuration import CONFIG_NAME

    return [folder / CONFIG_NAME]
