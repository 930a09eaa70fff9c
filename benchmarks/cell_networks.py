"""MNIST networks of another cell: 6c5-2s-12c5-2s-10fc of IF_curr_alpha (or, with ``--cell``,
IF_cond_exp) neurons, trained on that cell's own calibration, deployed on NEST beside the
IF_curr_exp network of the same recipe.

The IF_curr_alpha network uses the cell's Poisson calibration from
``results/cell_calibration.json`` (k, S of ``IF_curr_alpha`` under ``--drive poisson``: S is
360 Hz/nA, twice IF_curr_exp's 186). Trained from scratch with the recipe of ``snn_dnn_gap.py``
(20 epochs, 200 Hz hidden-rate limit, seed 0) it does not learn: every layer then amplifies its
input about twice (S tau_syn = 1.8 where the initial weights assume about 1), the first steps
drive the output units silent and the loss stays at 0.1, the value of all-zero outputs
(``--from-scratch`` runs that recipe again). So it starts instead from the IF_curr_exp network
of that recipe (``networks/small-ns-limit200-tuned.h5``, calibration 0.332, 186.3) with every
weight (pooling windows too) and bias scaled by 186.3 / 360.1 (the same currents then give the
same Noisy Softplus rates, up to the two k), its cells set to IF_curr_alpha and its (k, S) to
the cell's, and is
fine-tuned with that calibration for ``--epochs`` epochs (hidden-rate limit 200 Hz). Writes
``networks/small-ns-alpha-limit200-tuned.h5``. Both run on NEST (2 threads, seed 1) on the same
held-out digits x 300 ms, one after the other; ``results/cell_networks.{json,md}``. Run alone.

With ``--unit-gain-init`` the learning rates of training and of fine tuning are divided by
``S tau_syn`` too (:class:`lifresponse.training.trainer.TrainSettings`).

``--cell IF_cond_exp``: the same with the cell's Poisson calibration (k 0.279, S 12916 Hz/uS:
the ANN's mean and noise are conductances, weights in uS), ``--from-scratch --unit-gain-init``
being the recipe that learns; writes ``networks/small-ns-cond-scratch-unitgain-limit200-
tuned.h5`` and ``results/cell_networks-cond-scratch-unitgain.{json,md}``. It runs on NEST only
(the exact simulator does not integrate conductances: docs/cells.md).

``--cell EIF_cond_exp_isfa_ista``: the adaptive exponential cell with PyNN's defaults, the same
way as IF_cond_exp (its Poisson calibration k 0.437, S 2029.9 Hz/uS); writes
``networks/small-ns-eif-scratch-unitgain-limit200-tuned.h5`` and
``results/cell_networks-eif-scratch-unitgain.{json,md}``.

``--cell Izhikevich``: PyNN's Izhikevich (regular spiking) with NEST's delta synapses, weights
in mV, on its Poisson calibration (``results/cell_calibration-Izhikevich.json``, written by
``cell_calibration.py --only Izhikevich``); on NEST or the torch simulator. With the default
loss its outputs go silent and it does not learn; ``--loss margin`` (training and fine tuning;
files ``-margin``).

``--cell IF_curr_delta``: the LIF neuron with delta synapses (weights in mV), on its Poisson
calibration (``cell_calibration.py --only IF_curr_delta``); on NEST or the torch simulator.

``--cell IF_cond_exp --activation conductance-mean-field``: the IF_cond_exp network of the
``--from-scratch --unit-gain-init`` run above (which must exist), its activation switched to the
conductance mean field (:mod:`lifresponse.conductance_mean_field`: excitatory and inhibitory
conductances apart, through an effective membrane), fine-tuned ``--epochs`` epochs with it at
1e-3 / (S tau_syn), ten times the Noisy Softplus fine tuning's rate (development runs on 5,000
digits, not kept: at 1e-4 / (S tau_syn) one epoch left the ANN at 20.5 %, its outputs still
firing about 430 Hz for every class as the start's do on NEST; at 1e-3 two epochs reached
53.6 %; from random weights the mean field does not learn, 8.8 % after two epochs: its units
start below threshold, where its rate and gradient are nearly 0); every layer recorded, so the
result has each layer's recorded rates against each activation's prediction. Writes
``networks/small-cmf-cond-limit200-tuned.h5`` and
``results/cell_networks-cond-meanfield.{json,md}``; with ``--start FILE --tag TAG`` it
fine-tunes FILE instead (e.g. that network, for more epochs) and writes
``networks/small-cmf-cond-limit200-tuned-TAG.h5`` and ``results/cell_networks-cond-meanfield-TAG``;
``--loss margin`` fine-tunes with the margin loss (no label shift).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.propagators import EXACT_CELLS
from lifresponse.splits import evaluation_digits, first

NETWORKS = Path("benchmarks/results/networks")
EXP_NETWORK = NETWORKS / "small-ns-limit200-tuned.h5"
SHORT = {"IF_curr_alpha": "alpha", "IF_cond_exp": "cond", "EIF_cond_exp_isfa_ista": "eif",
         "Izhikevich": "izh", "IF_curr_delta": "delta", "IF_cond_alpha": "condalpha"}  # in names
WINDOW_MS = 300.0
TAU_SYN_MS = 5.0  # the cells' Poisson calibrations (cell_calibration.py)
CHECKPOINTS_MS = (50, 100, 200, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--from-scratch", action="store_true",
                        help="train 20 epochs from random weights instead (does not learn "
                             "without --unit-gain-init); writes its own network and result")
    parser.add_argument("--unit-gain-init", action="store_true",
                        help="with --from-scratch: initial weights divided by S tau_syn")
    parser.add_argument("--backend", choices=("nest", "torch"), default="nest",
                        help="where both networks run (the torch simulator gives NEST's "
                             "counts for IF_curr_exp and IF_curr_alpha)")
    parser.add_argument("--cell", choices=tuple(SHORT), default="IF_curr_alpha")
    parser.add_argument("--loss", choices=("mse", "margin"), default="mse",
                        help="training and fine-tuning loss (margin: the squared hinge, fine "
                             "tuning without label shift)")
    parser.add_argument("--activation", choices=("noisy-softplus", "conductance-mean-field"),
                        default="noisy-softplus",
                        help="conductance-mean-field: fine-tune the IF_cond_exp network of "
                             "--from-scratch --unit-gain-init with it (docstring)")
    parser.add_argument("--start", type=Path,
                        help="with --activation conductance-mean-field: fine-tune this network "
                             "(default: the IF_cond_exp network of --from-scratch "
                             "--unit-gain-init)")
    parser.add_argument("--tag", help="with --start: names the network and result written")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if (args.start is None) != (args.tag is None) or (
            args.start is not None and args.activation == "noisy-softplus"):
        parser.error("--start and --tag go together, with --activation conductance-mean-field")
    if args.cell not in EXACT_CELLS and args.backend != "nest":
        parser.error(f"{args.cell} networks run on NEST only")
    if args.activation != "noisy-softplus" and (
            args.cell not in ("IF_cond_exp", "IF_cond_alpha") or args.from_scratch
            or (args.cell == "IF_cond_alpha" and args.start is None)):
        parser.error("--activation conductance-mean-field fine-tunes the IF_cond_exp network "
                     "of --from-scratch --unit-gain-init (alone, with --cell IF_cond_exp), or "
                     "an IF_cond_exp mean-field network (--start) as IF_cond_alpha")
    if args.activation != "noisy-softplus":
        return mean_field_run(args)
    scratch = f"-scratch{'-unitgain' if args.unit_gain_init else ''}" if args.from_scratch else ""
    scratch += "-margin" if args.loss == "margin" else ""
    margin = {"loss": "margin"} if args.loss == "margin" else {}
    alpha_path = NETWORKS / f"small-ns-{SHORT[args.cell]}{scratch}-limit200-tuned.h5"
    k, S = cell_calibration(args.out / "cell_calibration.json", args.cell)
    training_file = load_mnist(args.data)
    start = time.perf_counter()
    if args.from_scratch:
        network = workflow.train(Calibration.by_hand(k, S, TAU_SYN_MS, cell=args.cell),
                                 architecture="6c5-2s-12c5-2s-10fc", digits=training_file,
                                 epochs=20, rate_limit=200.0, progress=False,
                                 unit_gain_init=args.unit_gain_init, **margin)
    else:
        network = rescaled(network_file.read(EXP_NETWORK), k, S, args.cell)
    # Adam moves a weight by about its learning rate: weights S tau_syn times smaller (unit-gain
    # start) are tuned at a rate as much smaller than finetune's default 1e-4
    gain = S * TAU_SYN_MS / 1000.0 if args.unit_gain_init else 1.0
    workflow.finetune(network, digits=training_file, rate_limit=200.0, out=alpha_path,
                      epochs=args.epochs, learning_rate=1e-4 / gain, progress=False,
                      force=True, **finetune_loss(args.loss))
    print(f"trained {alpha_path} in {time.perf_counter() - start:.0f} s", flush=True)
    rows = [deployed(label, path, args) for label, path in (("IF_curr_exp", EXP_NETWORK),
                                                             (args.cell, alpha_path))]
    cell = "" if args.cell == "IF_curr_alpha" else f"-{SHORT[args.cell]}"
    write_result(args.out, f"cell_networks{cell}{scratch}", {
        "window_ms": WINDOW_MS, "backend": args.backend, "cell": args.cell,
        "from_scratch": args.from_scratch,
        "unit_gain_init": args.unit_gain_init, "loss": args.loss, "networks": rows},
        markdown(rows, args))


def deployed(label: str, path: Path, args, record: str = "output") -> dict:
    """The network of ``path`` on ``args.backend``, the first ``args.images`` of its held-out
    digits x 300 ms: its row of the result."""
    network = network_file.read(path)
    digits = first(evaluation_digits(args.data, network.provenance), args.images)
    run = deploy(network, digits, DeployConfig(backend=args.backend, window=WINDOW_MS,
                                               threads=2, seed=1, record=record),
                 progress=False)
    ev = run.attrs["evaluation"]
    times = np.asarray(ev["time_ms"])
    row = {"cell": label, "network": str(path), "k": network.k, "S": network.S,
           "activation": network.activation,
           "ann_validation_accuracy": network.provenance["validation_accuracy"],
           "images": len(digits), "snn_accuracy": ev["accuracy"],
           "accuracy_by_time": {str(t): ev["accuracy_by_time"][
               int(np.argmin(np.abs(times - t)))] for t in CHECKPOINTS_MS},
           "output_rate_hz": ev["layer_rates_hz"],
           "prediction_rms_hz": ev.get("layer_rms_difference_hz", {}),
           "wall_s": run.attrs["wall_time_s"]}
    print(json.dumps(row), flush=True)
    return row


def timed_header(first: list[str]) -> list[str]:
    """A table's header and rule: the ``first`` columns, then the SNN at each checkpoint and
    the wall time."""
    return ["| " + " | ".join(first) + " | SNN " + " | SNN ".join(
        f"{t} ms" for t in CHECKPOINTS_MS) + " | wall (s) |",
            "|" + "---|" * (len(first) + len(CHECKPOINTS_MS) + 1)]


def timed_row(first: list[str], row: dict) -> str:
    """A table's row: the ``first`` cells, then the ``deployed`` row's SNN accuracy at each
    checkpoint and its wall time."""
    return "| " + " | ".join([*first, *(f"{100 * row['accuracy_by_time'][str(t)]:.2f} %"
                                        for t in CHECKPOINTS_MS), f"{row['wall_s']:.0f}"]) + " |"


def finetune_loss(loss: str) -> dict:
    """``finetune``'s settings for ``--loss``: the margin loss without the label shift."""
    return {"loss": "margin", "label_offset": 0.0} if loss == "margin" else {}


def mean_field_run(args) -> None:
    """``--activation conductance-mean-field`` (module docstring)."""
    start_path = args.start or NETWORKS / "small-ns-cond-scratch-unitgain-limit200-tuned.h5"
    tag = f"-{args.tag}" if args.tag else ""
    tuned_path = NETWORKS / f"small-cmf-{SHORT[args.cell]}-limit200-tuned{tag}.h5"
    start = network_file.read(start_path)
    training_file = load_mnist(args.data)
    converted = start.cell != args.cell
    if converted:  # IF_cond_exp -> IF_cond_alpha
        start = as_alpha_conductances(start, *cell_calibration(
            args.out / "cell_calibration.json", args.cell), start_path)
        start_ann = workflow.evaluate_ann(start, data=args.data).accuracy
        print(f"{start_path} as {args.cell}: ANN {start_ann:.4f} on its held-out digits",
              flush=True)
    began = time.perf_counter()
    workflow.finetune(dataclasses.replace(start, activation=args.activation),
                      digits=training_file, rate_limit=200.0, out=tuned_path,
                      epochs=args.epochs, learning_rate=1e-3 / (start.S * TAU_SYN_MS / 1000.0),
                      progress=False, force=True, **finetune_loss(args.loss))
    tuned_s = time.perf_counter() - began
    print(f"tuned {tuned_path} in {tuned_s:.0f} s", flush=True)
    rows = [deployed("IF_curr_exp", EXP_NETWORK, args)]
    if not converted:  # the converted start is not deployed: its ANN accuracy is recorded
        rows.append(deployed(f"IF_cond_exp, {start.activation} (the start)", start_path, args,
                             record="all"))
    rows.append(deployed(f"{args.cell}, conductance mean field", tuned_path, args,
                         record="all"))
    write_result(args.out, f"cell_networks-{SHORT[args.cell]}-meanfield{tag}", {
        "window_ms": WINDOW_MS, "backend": args.backend, "cell": args.cell,
        "activation": args.activation, "epochs": args.epochs, "loss": args.loss, "tune_s": tuned_s,
        "start_as_cell_ann_accuracy": start_ann if converted else None,
        "networks": rows}, mean_field_markdown(rows, args, tuned_s,
                                               start_ann if converted else None))


def mean_field_markdown(rows: list, args, tuned_s: float, start_ann: float | None) -> list[str]:
    start = f"`{args.start}`" if args.start else (
        "the IF_cond_exp network of `cell_networks.py --cell IF_cond_exp --from-scratch "
        "--unit-gain-init` (Noisy Softplus of the signed conductances)")
    if start_ann is not None:
        start += (f" as {args.cell} (weights / e: the same mean conductances; its ANN "
                  f"{100 * start_ann:.2f} % on all its held-out digits before tuning)")
    lines = [f"{start[0].upper()}{start[1:]} fine-tuned "
             f"{args.epochs} epochs with the conductance mean field at 1e-3 / (S tau_syn) "
             f"({tuned_s:.0f} s{', margin loss' if args.loss == 'margin' else ''}), beside "
             f"it and the IF_curr_exp network, on NEST (2 threads, seed 1), the first "
             f"{rows[0]['images']} held-out digits x {WINDOW_MS:g} ms. Ties: the lowest class "
             "index wins. Nothing else ran on the machine.", "",
             *timed_header(["network", "ANN validation"])]
    lines += [timed_row([r["cell"], f"{100 * r['ann_validation_accuracy']:.2f} %"], r)
              for r in rows]
    lines += ["", "Each layer's recorded rates (first digits, every layer recorded) against "
              "each activation's prediction from the layer before, RMS (Hz); recorded mean "
              "rates in brackets:", "", "| network | predictor | " + " | ".join(
                  f"layer {i}" for i in sorted(rows[1]["output_rate_hz"], key=int)) + " |",
              "|---|---|" + "---|" * len(rows[1]["output_rate_hz"])]
    for r in rows[1:]:
        for name, by_layer in r["prediction_rms_hz"].items():
            lines.append(f"| {r['cell']} | {name} | " + " | ".join(
                f"{by_layer[i]:.1f} ({r['output_rate_hz'][i]:.1f})"
                for i in sorted(by_layer, key=int)) + " |")
    return lines


def rescaled(network, k: float, S: float, cell: str):
    """``network`` as ``cell`` neurons of calibration (k, S): weights and biases x
    network.S / S, so that a layer's Noisy Softplus rates stay about where they were."""
    factor = network.S / S
    layers = [dataclasses.replace(
        layer, cell=cell,
        weight=np.asarray(layer.weight) * factor,  # pooling windows are synapses too
        bias=None if layer.bias is None else np.asarray(layer.bias) * factor)
        for layer in network.layers]
    provenance = {**network.provenance, "rescaled_from": {
        "file": str(EXP_NETWORK), "factor": factor, "k": network.k, "S": network.S}}
    return dataclasses.replace(network, layers=layers, k=k, S=S, provenance=provenance)


def as_alpha_conductances(network, k: float, S: float, source: Path):
    """An IF_cond_exp ``network`` as IF_cond_alpha neurons of calibration (k, S): every weight
    (pooling windows too) divided by e, so that each conductance's mean (an alpha
    conductance's integral is e times an exponential one's of the same weight) stays where it
    was."""
    layers = [dataclasses.replace(layer, cell="IF_cond_alpha", weight=np.asarray(layer.weight)
                                  / np.e) for layer in network.layers]
    provenance = {**network.provenance, "converted_from": {
        "file": str(source), "cell": network.cell, "weights_divided_by": float(np.e)}}
    return dataclasses.replace(network, layers=layers, k=k, S=S, provenance=provenance)


def cell_calibration(path: Path, cell: str) -> tuple[float, float]:
    """(k, S) of ``cell`` under the Poisson drive, from the cell calibration result (or that
    of ``cell_calibration.py --only CELL`` beside it)."""
    for source in (path, path.with_name(f"{path.stem}-{cell}.json")):
        rows = json.loads(source.read_text())["cells"] if source.is_file() else []
        for row in rows:
            if row["cell"] == cell and row["drive"] == "poisson":
                fit = row["fits"]["noisy-softplus"]["params"]
                return fit["k"], fit["S"]
    raise SystemExit(f"{path}: no {cell} Poisson calibration; run cell_calibration.py")


def markdown(rows: list, args) -> list[str]:
    alpha = (f"{args.cell} trained from random weights like it (20 epochs, seed 0"
             + (", initial weights divided by S tau_syn" if args.unit_gain_init else "")
             + f") and fine-tuned {args.epochs} epochs"
             + (", both with the margin loss" if args.loss == "margin" else "")
             if args.from_scratch else
             f"{args.cell} from that network rescaled to its calibration, then fine-tuned")
    where = "NEST" if args.backend == "nest" else "the torch simulator (float64, CPU loop)"
    lines = ["6c5-2s-12c5-2s-10fc, Noisy Softplus with each cell's own Poisson calibration, "
             "200 Hz hidden-rate limit: IF_curr_exp 20 epochs + 1 of fine tuning (seed 0); "
             f"{alpha} (script docstring); on {where} (2 threads, "
             f"seed 1), the first {rows[0]['images']} of each network's held-out digits x "
             f"{WINDOW_MS:g} ms (the same digits: both networks hold out the same split). Ties: "
             "the lowest class index wins. Nothing else ran on the machine.", "",
             *timed_header(["cell", "k", "S (Hz/nA; conductance cells Hz/uS; delta synapses "
                            "Hz/mV)", "ANN validation"])]
    lines += [timed_row([r["cell"], f"{r['k']:.3f}", f"{r['S']:.{1 if r['S'] >= 100 else 3}f}",
                         f"{100 * r['ann_validation_accuracy']:.2f} %"], r) for r in rows]
    return lines


if __name__ == "__main__":
    main()
