"""The ``spinnaker`` commands: ``spinnaker config`` and ``spinnaker check``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import (
    add_connectors_option,
    add_data_options,
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
        "check", help="constraints, mapping, and what 16-bit weights will do (a forecast)",
        description=(
            "Check a network file against SpiNNaker's constraints (timestep 1.0 or 0.1 ms, "
            "256 neurons per core, one-timestep delays), map it on a virtual board (in a "
            "temporary directory: chips and cores), and forecast what the board's 16-bit "
            "weights and saturating ring buffers will do. sPyNNaker picks a power-of-two "
            "scale per population and synapse type; the table gives, per layer, the shifts "
            "(sPyNNaker's own choice, and the one chosen here from the largest summed input "
            "--sample training images give on the exact simulator), the weights stored as 0, "
            "the largest rounding error, and the input sums that would saturate; then the "
            "exact simulator's accuracy on --images held-out digits with float weights, "
            "sPyNNaker's scaling and the chosen one. Nothing runs on a board."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    check.add_argument("network", type=Path)
    check.add_argument("--no-map", action="store_true",
                       help="skip the virtual-board mapping and the forecast")
    check.add_argument("--no-forecast", action="store_true",
                       help="map, but forecast nothing (no exact-simulator runs)")
    add_connectors_option(check)
    add_data_options(check, test=True)
    check.add_argument("--images", type=int, default=1000,
                       help="held-out digits the forecast accuracies are measured on")
    check.add_argument("--sample", type=int, default=200,
                       help="training digits whose summed inputs choose the scaling")
    check.add_argument("--duration", type=float, default=300.0,
                       help="presentation time per image (ms)")
    check.add_argument("--max-drop", type=float, default=0.5,
                       help="warn when a forecast accuracy is more than this many points "
                            "below float weights'")
    check.add_argument("--seed", type=int, default=1, help="input seed of the forecast runs")
    check.add_argument("--write-scaling", type=output_file, metavar="FILE",
                       help="write the chosen scaling (JSON) for 'deploy --spinnaker-weights'")
    check.add_argument("--out", type=output_file,
                       help="write mapping.json (for 'energy --mapping')")
    check.add_argument("--quiet", action="store_true", help="no progress bars")
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

    forecast_flags = ("--images", "--sample", "--duration", "--max-drop", "--seed", "--data",
                      "--test", "--validation", "--split-seed", "--write-scaling")
    if args.no_map:
        refuse_changed(args, ("--connectors", "--out", "--no-forecast") + forecast_flags,
                       "belongs to the mapping, which --no-map skips")
    elif args.no_forecast:
        refuse_changed(args, forecast_flags, "belongs to the forecast, which --no-forecast "
                                             "skips")
    network = network_file.read(args.network)
    report = check.check_network(network)
    print(f"{args.network}: {network.architecture}")
    print(f"timestep {report.timestep:g} ms: {'ok' if report.timestep_ok else 'NOT SUPPORTED'}")
    print("cores with connection lists at 256 neurons per core (input first): " + ", ".join(
        map(str, report.cores_per_layer)))
    print("delays: one timestep everywhere: ok")
    if not args.no_map:
        from lifresponse.backends.spinnaker.connectors import unsupported_reason

        if args.no_forecast:
            mapping, forecast = check.map_on_virtual_board(network, args.connectors), None
        else:
            forecast = _forecast(args)
            mapping = forecast.default
        if mapping.connectors == "native":
            connectors = "native local-only connectors"
        elif args.connectors == "native":
            connectors = f"connection lists ({unsupported_reason(network)})"
        else:
            connectors = "connection lists"
        report = dataclasses.replace(report, chips=mapping.chips, cores=mapping.cores,
                                     mapped=True, connectors=connectors)
        print(f"mapped on a virtual SpiNN-5 board with {report.connectors}: {mapping.chips} "
              f"chip(s), {mapping.cores} application cores (mapping only: nothing was run on "
              "hardware)")
        if forecast is None:
            _print_shifts(mapping.scaling)
        else:
            report = dataclasses.replace(report, quantisation=forecast.chosen_table)
            _print_forecast(network, forecast, args)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    if args.out:
        check.write_mapping(report, args.out)
        print(f"wrote {args.out}")


def _forecast(args):
    import math

    from lifresponse import workflow
    from lifresponse.errors import ParameterError

    if not (math.isfinite(args.max_drop) and args.max_drop >= 0):
        raise ParameterError("max_drop", f"must be a number of points >= 0 (got "
                                         f"{args.max_drop:g})")
    return workflow.forecast_board(
        args.network, data=args.data, test=args.test, images=args.images, sample=args.sample,
        validation=args.validation, split_seed=args.split_seed, window=args.duration,
        connectors=args.connectors, progress=not args.quiet, seed=args.seed)


def _print_shifts(scaling) -> None:
    print("ring-buffer shifts sPyNNaker chose (excitatory/inhibitory; weights are whole "
          "numbers at 2^(15 - shift) per nA):")
    for p in scaling.populations:
        print(f"  layer {p.layer} neurons {p.first}..{p.first + p.size - 1}: "
              f"{p.shifts[0]}/{p.shifts[1]}")


def _print_forecast(network, forecast, args) -> None:
    from lifresponse.backends.spinnaker import weights
    from lifresponse.board_forecast import table_rows

    print(f"16-bit weights: sPyNNaker's own scaling, and one chosen from the largest summed "
          f"input of {forecast.sample_images} training images. Largest sum: of one step, float "
          "weights, evaluation images; shifts: smallest-largest over the layer's populations; "
          "headroom: how many times its own largest sum the smallest population's ring "
          "buffers hold; max err: of the weights not stored as 0")
    side = f"{'shifts':>6} {'headroom':>8} {'zeroed':>7} {'max err':>8} {'saturated':>9}"
    print(f"{'':>38} | {'sPyNNaker default':^42} | {'chosen':^42}")
    print(f"{'layer':>5} {'receptor':>10} {'weights':>8} {'largest sum':>11} | {side} | {side}")
    for row in table_rows(network, forecast):
        unit = "mV" if network.layers[row["layer"]].cell == "IF_curr_delta" else "nA"
        print(f"{row['layer']:>5} {row['receptor']:>10} {row['weights']:>8} "
              f"{row['largest_sum_nA']:>8.3g} {unit} | " + " | ".join(
                  f"{'-'.join(map(str, sorted(set(s['shifts'])))):>6} {s['headroom']:>7.3g}x "
                  f"{100 * s['zeroed']:>6.2f}% {100 * s['max_relative_error']:>7.1f}% "
                  f"{s['saturations']:>9}" for s in (row["default"], row["chosen"])))
    window = args.duration
    accuracy = {o.weights: 100 * o.accuracy_at(window) for o in forecast.outcomes}
    print(f"forecast accuracy at {window:g} ms on {args.images} digits (exact simulator; the "
          "board's fixed-point neuron update is not modelled): " + ", ".join(
              f"{k} {v:.2f} %" for k, v in accuracy.items()))
    for label in ("sPyNNaker default", "chosen"):
        drop = accuracy["float"] - accuracy[label]
        if drop > args.max_drop:
            print(f"WARNING: with {label} weights the forecast accuracy is {drop:.2f} points "
                  f"below float weights' (more than --max-drop {args.max_drop:g})")
    if args.write_scaling:
        weights.write(forecast.chosen.scaling, args.write_scaling)
        print(f"wrote {args.write_scaling} (deploy --spinnaker-weights {args.write_scaling})")


def _config_file(folder: Path) -> list[Path]:
    from lifresponse.backends.spinnaker.configuration import CONFIG_NAME

    return [folder / CONFIG_NAME]
