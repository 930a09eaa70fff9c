"""The ``energy`` command: energy reports from a run file, per device.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import (
    add_data_options,
    add_force_option,
    output_folder,
    refuse_changed,
)
from lifresponse.hardware.devices import BUILT_IN, DEFAULT_DEVICES


def add_energy(commands) -> None:
    parser = commands.add_parser(
        "energy",
        help="energy report of a deployment run: synaptic-event model and board-level model",
        description=(
            "Energy on SpiNNaker from a run file's spike counts: the paper's eq. 17-18 (spikes x "
            "fan-out x E_syn, 8 nJ per synaptic event by default) and, beside it, a board-level "
            "estimate with sPyNNaker's constants (0.35 W per chip, 0.034 W per active core, "
            "1 nJ per spike packet), and for each device of --hardware (its energy per synaptic "
            "event and per neuron update, with the source of each constant; the ANN on CPU or "
            "GPU per inference) the energy per image and the accuracy it buys against "
            "presentation time. Writes energy.json, report.md, report.html and figures."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("run_file", metavar="run", type=Path, nargs="?",
                        help="run.h5 from 'lifresponse deploy --record all'")
    parser.add_argument("--network", type=Path,
                        help="instead of a run: estimate from the ANN's predicted rates of this "
                             "network file on held-out digits (before deploying)")
    parser.add_argument("--images", type=int, default=100, help="digits for --network")
    parser.add_argument("--duration", type=float, default=1000.0,
                        help="presentation time per image for --network (ms)")
    parser.add_argument("--backend",
                        help="with --network: simulate it on this backend (nest, torch) and "
                             "report the measured run instead of the ANN's prediction; no run "
                             "file is kept")
    add_data_options(parser, test=True)
    parser.add_argument("--out", type=output_folder, default=Path("report"),
                        help="report folder")
    parser.add_argument("--e-syn", type=float, default=8e-9, help="J per synaptic event")
    parser.add_argument("--mapping", type=Path,
                        help="mapping.json from 'lifresponse spinnaker check' (chips, cores); "
                             "default: an estimate at 256 neurons per core")
    parser.add_argument("--hardware", default=",".join(DEFAULT_DEVICES),
                        help="devices, comma-separated: " + "; ".join(
                            f"{d.name} ({'SNN' if d.spiking else 'ANN'}, {d.year})"
                            for d in BUILT_IN) + "; or names from --devices")
    parser.add_argument("--devices", type=Path,
                        help="JSON or TOML file of more devices ([[devices]] with name, spiking, "
                             "joules_per_synaptic_event, joules_per_neuron_update, source, year)")
    add_force_option(parser)
    parser.set_defaults(run=_run_energy, parser=parser, out_is_folder=True,
                        writes={"out": _report_files})


def _run_energy(args) -> None:
    from lifresponse import workflow
    from lifresponse.backends.spinnaker.check import read_mapping
    from lifresponse.errors import FileFormatError, ParameterError

    if args.run_file is not None and args.network:
        raise ParameterError("network", f"a run file ({args.run_file}) and a network to "
                             "simulate: give one or the other")
    if args.run_file is not None:
        refuse_changed(args, ("--backend", "--images", "--duration", "--data", "--test",
                              "--validation", "--split-seed"),
                       f"belongs to --network; the run file {args.run_file} holds its digits "
                       "and window")
    if args.network and not args.backend:
        _predict_energy(args)
        return
    if args.run_file is None and not args.network:
        raise FileFormatError("give a run file (from 'lifresponse deploy') or --network")
    run = args.run_file
    if args.network:
        run = workflow.deploy(args.network, data=args.data, test=args.test, images=args.images,
                              validation=args.validation, split_seed=args.split_seed,
                              backend=args.backend, window=args.duration, record="all")
        print(f"simulated {args.network} on {args.backend}: {len(run.labels)} digits x "
              f"{args.duration:g} ms, SNN accuracy {100 * run.accuracy:.2f} %")
    mapping = read_mapping(args.mapping) if args.mapping else None
    report = workflow.energy(run, out=args.out, e_syn=args.e_syn, mapping=mapping,
                             hardware=args.hardware, devices=args.devices)
    e, b = report["synaptic_event_model"], report["board_model"]
    print(f"synaptic-event model (eq. 17-18, E_syn = {e['e_syn_J']:.3g} J): "
          f"{e['events_per_s']:.4g} events/s, {e['watts']:.4g} W, {e['joules']:.4g} J, "
          f"{e['joules_per_image']:.4g} J per image")
    for name, n in e["events_per_layer"].items():
        print(f"  {name:>8}: {n / report['n_images']:.4g} events per image")
    print(f"board-level model ({b['chips']} chips, {b['cores']} cores, {b['cores_source']}): "
          f"{b['watts']:.4g} W, {b['joules']:.4g} J, {b['joules_per_image']:.4g} J per image")
    at = {row["device"]: row.get("at") for row in report["tradeoff"]["devices"]}
    for row in report["snn_energy"]:
        extra = (f"; at 300 ms: {at[row['device']]['joules_per_image']:.3g} J per image, "
                 f"{at[row['device']]['watts']:.3g} W" if at.get(row["device"]) else "")
        print(f"  {row['device']:>16}: {row['joules_per_image']:.3g} J per image, "
              f"{row['watts']:.3g} W{extra}")
    for row in report["ann_energy"]:
        print(f"  {row['device']:>16}: the ANN, {row['joules_per_inference']:.3g} J per "
              f"inference ({row['macs_per_inference']:,} MACs)")


def _predict_energy(args) -> None:
    from lifresponse import workflow
    from lifresponse.networks import network_file

    refuse_changed(args, ("--mapping", "--devices", "--hardware", "--out"),
                    "belongs to the report of a run; with --network alone the ANN's predicted "
                    "rates give the synaptic-event model only (add --backend nest or torch to "
                    "simulate it and report every device)")

    result = workflow.predict_energy(args.network, data=args.data, test=args.test,
                                     images=args.images, duration=args.duration,
                                     e_syn=args.e_syn, validation=args.validation,
                                     split_seed=args.split_seed)
    network = network_file.read(args.network)
    kind = "official test" if args.test else "held-out"
    print(f"predicted from the ANN ({network.activation}) on {result.n_images} {kind} digits x "
          f"{args.duration:g} ms: {result.events_per_second:.4g} synaptic events/s, "
          f"{result.watts:.4g} W, {result.joules_per_image:.4g} J per image "
          f"(E_syn = {args.e_syn:.3g} J)")
    for name, n in result.events_per_layer.items():
        print(f"  {name:>8}: {n / result.n_images:.4g} events per image")


def _report_files(folder: Path) -> list[Path]:
    from lifresponse.hardware.report import REPORT_FILES

    return [folder / name for name in REPORT_FILES]
