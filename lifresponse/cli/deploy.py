"""The ``deploy`` command: a network file run as an SNN on NEST, sPyNNaker or the exact
simulator.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lifresponse.cli.options import (
    add_connectors_option,
    add_data_options,
    add_force_option,
    add_worker_options,
    output_file,
)
from lifresponse.cores import available_cores


def add_deploy(commands) -> None:
    parser = commands.add_parser(
        "deploy",
        help="run a trained network as an SNN of IF_curr_exp neurons on NEST, sPyNNaker or "
             "the exact torch simulator",
        description=(
            "Build the network file's layers as PyNN populations (weights unchanged, in nA), "
            "present held-out digits one after another as Poisson spike trains (100 Hz per "
            "unit pixel) in one continuing simulation, each from rest on NEST (--protocol), and "
            "write spike counts per image and neuron, with accuracy, accuracy against "
            "presentation time, per-layer rates and the rate-prediction distances (Fig. 12), to "
            "run.h5. By default the digits are the validation split recorded in the network "
            "file. --backend torch runs the same network and input spikes on the exact "
            "simulator (equal to NEST's iaf_psc_exp spike for spike in float64, docs/torch.md), "
            "batch by batch on --device: on the CPU a loop compiled by Numba on first use "
            "(tens of times faster than NEST; no C compiler needed), on a GPU torch "
            "operations."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("network", type=Path, help="network.h5 from 'lifresponse train'")
    parser.add_argument("--backend", default="nest", help="nest, spinnaker or torch")
    add_data_options(parser, test=True)
    parser.add_argument("--images", type=int, default=1000, help="how many digits to present")
    parser.add_argument("--duration", type=float, default=1000.0,
                        help="presentation time per image (ms)")
    parser.add_argument("--gap", type=float, default=0.0, help="silence after each image (ms)")
    parser.add_argument("--block", type=int, default=25,
                        help="images whose input spikes are generated at once (memory)")
    parser.add_argument("--record", choices=["all", "output"], default="all",
                        help="layers whose spikes are counted (the energy report needs all)")
    parser.add_argument("--seed", type=int, default=1, help="input and simulator seed")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="NEST or torch CPU threads (default: the cores this process may "
                             "use)")
    parser.add_argument("--protocol", choices=["rest", "continuing"],
                        help="'rest': every image starts from rest; 'continuing': from the "
                             "state the previous image left (default: the backend's own, rest "
                             "on NEST and torch, continuing on SpiNNaker)")
    parser.add_argument("--device", default="cpu", help="torch only: cpu, cuda or cuda:N")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="torch only: float64 reproduces NEST; float32 is faster")
    parser.add_argument("--batch", type=int, default=100,
                        help="torch only: images simulated at once (memory)")
    add_worker_options(parser, "blocks")
    add_connectors_option(parser)
    parser.add_argument("--spinnaker-weights", type=Path, metavar="FILE",
                        help="SpiNNaker's 16-bit weight scaling (from 'spinnaker check "
                             "--write-scaling'): torch runs with the weights and saturating "
                             "input sums the board would have (a forecast); spinnaker gives "
                             "sPyNNaker its max_expected_summed_weight per population")
    parser.add_argument("--out", type=output_file, default=Path("run.h5"), help="run file")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from the blocks kept in <out>.partial")
    parser.add_argument("--plot", type=output_file, help="accuracy against presentation time (PNG)")
    parser.add_argument("--yes", action="store_true",
                        help="run a deployment of more than about a day of simulation here")
    add_force_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_deploy, parser=parser)


def _run_deploy(args) -> None:
    from lifresponse import workflow
    from lifresponse.backends.spinnaker import weights

    scaling = None if args.spinnaker_weights is None else weights.read(args.spinnaker_weights)
    record = workflow.deploy(
        args.network, data=args.data, test=args.test, images=args.images,
        validation=args.validation, split_seed=args.split_seed, out=args.out,
        progress=not args.quiet, backend=args.backend, window=args.duration, gap=args.gap,
        block=args.block, seed=args.seed, threads=args.threads, record=args.record,
        connectors=args.connectors, protocol=args.protocol, device=args.device,
        dtype=args.dtype, batch=args.batch, workers=args.workers, scheduler=args.scheduler,
        long_ok=args.yes, resume=args.resume, force=args.force, spinnaker_weights=scaling)
    if not record.attrs["spikes_returned"]:
        print(f"NOTE: {record.attrs['note']}")
        print(f"wrote {args.out}")
        return
    ev = record.attrs["evaluation"]
    print(f"SNN accuracy {100 * ev['accuracy']:.2f} % ({record.attrs['wall_time_s']:.1f} s wall)")
    checkpoints = [t for t in (10, 50, 100, 200, 300, 500, 1000) if t <= args.duration] or [
        args.duration]
    times = np.asarray(ev["time_ms"])
    print("accuracy after " + ", ".join(
        f"{t} ms: {100 * ev['accuracy_by_time'][int(np.argmin(np.abs(times - t)))]:.1f} %"
        for t in checkpoints))
    print("mean rate per layer (Hz): " + ", ".join(
        f"{k}: {v:.1f}" for k, v in ev["layer_rates_hz"].items()))
    if ev["fig12_distance_hz"]:  # networks with an ANN model only
        shown = ev.get("prediction_images", 10)
        print(f"Fig. 12 distance, first map, first {min(10, shown)} digits (Hz): " + ", ".join(
            f"{k} {v:.1f}" for k, v in ev["fig12_distance_hz"].items()))
    if "input_saturations" in record.attrs:
        print("input sums held at the ring buffers' limit (excitatory/inhibitory) per layer: "
              + ", ".join(f"{i}: {e}/{n}" for i, (e, n) in
                          enumerate(record.attrs["input_saturations"])))
    print(f"wrote {args.out}")
    if args.plot:
        from lifresponse.networks.plots import plot_accuracy_by_time

        plot_accuracy_by_time([(args.network.stem, times, ev["accuracy_by_time"])], args.plot)
        print(f"wrote {args.plot}")
