"""ANNs trained in plain PyTorch, converted (``lifresponse convert``) and run as spiking networks.

Jobs (one at a time, nothing else running):

* ``--job mnist``: on MNIST (the training file of ``--data``, 10,000 digits held out with split
  seed 0, never trained on), a LeNet-like CNN with batch norm and max pooling
  (16c5-BN-ReLU-max2-32c5-BN-ReLU-max2-10fc, biases) and the same with average pooling, each
  trained ``--epochs`` epochs (Adam 1e-3, batch 64, seed 0). Each is converted with the
  default normalisation (99.9th percentile, 200 Hz, input 400 Hz) and, for max pooling, both
  ``--max-pool`` choices; then run on the torch simulator on ``--images`` held-out digits x
  300 ms (accuracy at 100, 200 and 300 ms from the same runs), directly and after
  ``--finetune`` epochs of ``lifresponse finetune`` (Noisy Softplus, its default settings;
  with ``--count-window MS``, also the spike-count noise of a read after that time; with
  ``--loss margin``, the margin loss; with ``--response RATES``, the measured response of
  that calibration's ``rates.h5`` as the activation instead of Noisy Softplus).
  The average-pooling model also runs normalisation choices (input rate 100 to 800 Hz, the
  percentile, the maximum rate) on the first 2,000 of those digits. The first converted
  network runs on NEST too, on the first 200 digits, and its counts are compared with the
  torch simulator's.
* ``--job fashion``: the same on Fashion-MNIST with a small ResNet (16c3-BN-ReLU, two residual
  blocks of 16 and 32 channels with batch norm and a 1x1 projection, global average pooling,
  10fc) and the average-pooling LeNet-like CNN.

``--models`` runs some of the job's models only, ``--tag`` names the result files for such a
run (and its models, unless ``--model-tag`` names those of an earlier run); ``--input-rate``
converts at another input rate; ``--start NETWORK`` fine-tunes a network this script wrote
further instead of converting (the result's row and NEST check only; with ``--finetune 0``
NETWORK's own). Writes
``results/convert_<job>[-<tag>].{json,md}``, and each fine-tuned network as
``results/networks/<model>-<tag>-finetuned-<max pool>.h5``. The models are trained once and
kept as ``results/networks/<model>.onnx``; later runs convert those files (``--retrain``
trains again).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from provenance import write_result
from torch import nn

from lifresponse import workflow
from lifresponse.calibration import results
from lifresponse.conversion import onnx_of_module
from lifresponse.conversion.onnx_reader import read_model
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import network_file
from lifresponse.response_surface import ResponseSurface
from lifresponse.splits import training_split

NETWORKS = Path("benchmarks/results/networks")
HELD_OUT, SPLIT_SEED = 10000, 0
WINDOW_MS = 300.0
CHECKPOINTS_MS = (100, 200, 300)
GRID = [(99.9, 200.0, i) for i in (100.0, 200.0, 400.0, 800.0)] + [
    (99.0, 200.0, 400.0), (100.0, 200.0, 400.0), (99.9, 400.0, 400.0)]
NEST_IMAGES = 200
TRAINING_EPOCHS = 3  # the models committed before their .training.json records


def lenet(pool) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), pool(2),
                         nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), pool(2),
                         nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


class Block(nn.Module):
    """conv3-BN-ReLU-conv3-BN, plus the input (through a 1x1 conv with batch norm where the
    channels change), then ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                               nn.ReLU(), nn.Conv2d(c_out, c_out, 3, padding=1),
                               nn.BatchNorm2d(c_out))
        self.skip = nn.Identity() if c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return torch.relu(self.a(x) + self.skip(x))


def resnet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         Block(16, 16), nn.AvgPool2d(2), Block(16, 32), nn.AvgPool2d(2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


JOBS = {
    "mnist": (Path("../shared/data/mnist"), {"lenet-bn-maxpool": lambda: lenet(nn.MaxPool2d),
                                             "lenet-bn-avgpool": lambda: lenet(nn.AvgPool2d)}),
    "fashion": (Path("../shared/data/fashion-mnist"), {
        "resnet-bn": resnet, "lenet-bn-avgpool-fashion": lambda: lenet(nn.AvgPool2d)}),
}


def train(module: nn.Module, digits, epochs: int) -> tuple[nn.Module, float]:
    torch.manual_seed(0)
    x = torch.as_tensor(digits.images, dtype=torch.float32).reshape(-1, 1, 28, 28)
    y = torch.as_tensor(digits.labels, dtype=torch.long)
    optimiser = torch.optim.Adam(module.parameters(), 1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        module.train()
        for batch in torch.randperm(len(x)).split(64):
            optimiser.zero_grad()
            nn.functional.cross_entropy(module(x[batch]), y[batch]).backward()
            optimiser.step()
    return module.eval(), time.perf_counter() - start


def ann_accuracy(path: Path, max_pool: str, digits, images: int) -> float:
    """The original ANN (the model as read from its ONNX file) on the first ``images``
    held-out ``digits``."""
    held_out = digits.subset(slice(0, images))
    graph = read_model(onnx.load(path), str(path), max_pool)
    return float(np.mean(graph.predict(held_out.maps().astype(np.float64)) == held_out.labels))


def snn_row(network, digits, images: int, label: str, model: str, ann_same: float) -> dict:
    """The network on the torch simulator on the first ``images`` held-out digits, beside
    ``ann_same``, the original ANN's accuracy on them (:func:`ann_accuracy`)."""
    held_out = digits.subset(slice(0, images))
    start = time.perf_counter()
    run = deploy(network, held_out, DeployConfig(backend="torch", window=WINDOW_MS, seed=1),
                 progress=False)
    ev = run.attrs["evaluation"]
    by_time = dict(zip([round(t) for t in ev["time_ms"]], ev["accuracy_by_time"],
                       strict=True))
    tuned = network.provenance.get("fine_tuned_from")
    origin = network.provenance  # fine tuned once or more: the conversion's provenance
    while "conversion" not in origin:
        origin = origin["fine_tuned_from"]
    conversion = origin["conversion"]
    row = {"model": model, "variant": label, "images": images,
           "ann_accuracy": conversion.get("ann_accuracy"),
           "deployed_ann_accuracy": conversion.get("deployed_ann_accuracy"),
           "ann_accuracy_same_images": ann_same,
           "finetuned_ann_accuracy": network.provenance["validation_accuracy"] if tuned
           else None,
           "network_ann_accuracy_same_images": workflow.evaluate_ann(
               network, digits=held_out).accuracy,  # the network's own ANN, the SNN's images
           "snn_accuracy": {t: by_time[t] for t in CHECKPOINTS_MS},
           "layers": len(network.layers),
           "mean_rate_hz": float(np.mean(list(ev["layer_rates_hz"].values()))),
           "wall_s": time.perf_counter() - start}
    print(row, flush=True)
    return row


def nest_check(network, digits) -> dict:
    images = digits.subset(slice(0, NEST_IMAGES))
    config = dict(window=WINDOW_MS, seed=1, record="all")
    start = time.perf_counter()
    nest_run = deploy(network, images, DeployConfig(threads=2, **config), progress=False)
    nest_wall = time.perf_counter() - start
    torch_run = deploy(network, images, DeployConfig(backend="torch", **config), progress=False)
    same = all(np.array_equal(nest_run.layer_counts[i], torch_run.layer_counts[i])
               for i in nest_run.layer_counts)
    return {"images": NEST_IMAGES, "identical_counts": bool(same),
            "nest_accuracy": nest_run.attrs["evaluation"]["accuracy"],
            "torch_accuracy": torch_run.attrs["evaluation"]["accuracy"], "nest_wall_s": nest_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", choices=JOBS, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--finetune", type=int, default=2)
    parser.add_argument("--count-window", type=float, default=0.0, metavar="MS",
                        help="fine tune with the spike-count noise of a read after MS")
    parser.add_argument("--loss", choices=("rate-mse", "margin"), default="rate-mse",
                        help="the fine tuning's loss (rate-mse: the paper's, labels + 0.01)")
    parser.add_argument("--response", type=Path, metavar="RATES",
                        help="fine tune with the measured response of this rates.h5 (of the "
                             "networks' cell, tau_syn and step) instead of Noisy Softplus")
    parser.add_argument("--models", help="comma-separated, some of the job's models")
    parser.add_argument("--model-tag", help="convert networks/<model>-<model-tag>.onnx "
                                            "(default: --tag's models; '' the untagged ones)")
    parser.add_argument("--input-rate", type=float, default=400.0, metavar="HZ",
                        help="the converted networks' rate of a pixel of 1 (the grid has its "
                             "own)")
    parser.add_argument("--tag", help="results/convert_<job>-<tag>.{json,md}, and the models "
                             "it trains as networks/<model>-<tag>.onnx")
    parser.add_argument("--start", type=Path, metavar="NETWORK",
                        help="fine tune this network file further (one this script wrote for "
                             "the one model of --models) instead of converting: only the "
                             "result's row, and its NEST check (--finetune 0: NETWORK's own)")
    parser.add_argument("--images", type=int, default=HELD_OUT)
    parser.add_argument("--retrain", action="store_true",
                        help="train the models again (default: convert the committed ONNX "
                             "files of results/networks/ where they exist)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    data, models = JOBS[args.job]
    if args.models:
        unknown = set(args.models.split(",")) - set(models)
        if unknown:
            parser.error(f"--models: {sorted(unknown)} not in {args.job}'s {list(models)}")
        models = {name: models[name] for name in args.models.split(",")}
    if args.start and len(models) != 1:
        parser.error("--start: name the one model it was converted from with --models")
    surface = ResponseSurface.from_table(results.read(args.response)) if args.response \
        else None
    training_file = load_mnist(data)
    split = training_split(training_file, HELD_OUT, SPLIT_SEED)
    rows, grid, nest, trained = [], [], None, {}
    for name, make in models.items():
        model_tag = args.tag if args.model_tag is None else args.model_tag
        path = NETWORKS / (f"{name}-{model_tag}.onnx" if model_tag else f"{name}.onnx")
        record = path.with_suffix(".training.json")  # how the committed model was trained
        if args.retrain or not path.exists():
            module, seconds = train(make(), split.train, args.epochs)
            path.write_bytes(onnx_of_module(module, torch.zeros(1, 1, 28, 28)))
            trained[name] = {"epochs": args.epochs, "train_s": seconds, "onnx": str(path)}
            record.write_text(json.dumps(trained[name]))
        else:  # the committed model: conversions compared on the same weights
            earlier = json.loads(record.read_text()) if record.exists() else {
                "epochs": TRAINING_EPOCHS}  # the models committed before the records
            trained[name] = {"reused": str(path), "epochs_then": earlier["epochs"]}
        choices = ("average", "pairwise") if "maxpool" in name else ("average",)
        for max_pool in choices:
            ann_same = ann_accuracy(path, max_pool, split.validation, args.images)
            if args.start:
                network = network_file.read(args.start)
            else:
                network = workflow.convert(path, digits=training_file, validation=HELD_OUT,
                                           split_seed=SPLIT_SEED, max_pool=max_pool,
                                           input_rate=args.input_rate)
            if args.start is None or not args.finetune:  # the network as it comes
                nest = nest or {"model": name, "max_pool": max_pool,
                                **nest_check(network, split.validation)}
                rows.append(snn_row(network, split.validation, args.images,
                                    f"`{args.start}`" if args.start else
                                    f"converted, max pool {max_pool}", name, ann_same))
            if args.finetune:
                start = network if surface is None else dataclasses.replace(
                    network, activation="measured", response=surface)
                tuned = workflow.finetune(start, digits=training_file, epochs=args.finetune,
                                          count_window=args.count_window, loss=args.loss,
                                          progress=False, **({"label_offset": 0.0} if
                                                             args.loss == "margin" else {}))
                network_file.write(tuned, NETWORKS / (
                    f"{name}-{args.tag or 'untagged'}-finetuned-{max_pool}.h5"))
                if args.start:
                    nest = {"model": name, "max_pool": max_pool,
                            **nest_check(tuned, split.validation)}
                rows.append(snn_row(tuned, split.validation, args.images,
                                    f"converted, max pool {max_pool}, finetuned "
                                    + (f"further (from `{args.start}`) " if args.start else "")
                                    + f"{args.finetune} epochs" + (
                                        f" with {args.count_window:g} ms count noise"
                                        if args.count_window else "") + (
                                        ", margin loss" if args.loss == "margin" else "") + (
                                        ", measured response" if surface else ""),
                                    name, ann_same))
        if name == "lenet-bn-avgpool":
            grid_images = min(2000, args.images)
            ann_same = ann_accuracy(path, "average", split.validation, grid_images)
            for percentile, max_rate, input_rate in GRID:
                network = workflow.convert(path, digits=training_file, validation=HELD_OUT,
                                           split_seed=SPLIT_SEED, percentile=percentile,
                                           max_rate=max_rate, input_rate=input_rate)
                row = snn_row(network, split.validation, grid_images,
                              f"p{percentile:g} {max_rate:g} Hz in {input_rate:g} Hz", name,
                              ann_same)
                grid.append({"percentile": percentile, "max_rate_hz": max_rate,
                             "input_rate_hz": input_rate, **row})
    write_result(args.out, f"convert_{args.job}" + (f"-{args.tag}" if args.tag else ""),
                 {"job": args.job, "held_out": HELD_OUT, "split_seed": SPLIT_SEED,
                  "window_ms": WINDOW_MS, "trained": trained, "rows": rows, "grid": grid,
                  "nest_check": nest, "input_rate_hz": args.input_rate},
                 markdown(args.job, rows, grid, nest, trained, args.input_rate))


def markdown(job: str, rows: list, grid: list, nest: dict, trained: dict,
             input_rate: float) -> list[str]:
    percent = lambda v: "-" if v is None else f"{100 * v:.2f} %"  # noqa: E731
    lines = [f"# Converted PyTorch models on {job} (ANN on {HELD_OUT:,} held-out digits, SNN "
             f"on the first {rows[0]['images']:,} of them; split seed {SPLIT_SEED})", "",
             "`benchmarks/convert_models.py --job " + job + "`: models trained in plain "
             "PyTorch here, converted by `lifresponse convert` (99.9th percentile, 200 Hz, "
             f"input {input_rate:g} Hz), run on the torch simulator (seed 1) for 300 ms per "
             "image; "
             "accuracy at 100 / 200 / 300 ms from the same runs (a tie goes to the lowest class; "
             "an image without output spikes counts as wrong).", "",
             "| model | variant | layers | ANN | ANN as the SNN computes it | fine-tuned ANN "
             "(validation) | ANN on the SNN's images | the network's ANN on them | SNN 100 ms | "
             "200 ms | 300 ms | mean rate |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['variant']} | {r['layers']} | "
                     f"{percent(r['ann_accuracy'])} | {percent(r['deployed_ann_accuracy'])} | "
                     f"{percent(r['finetuned_ann_accuracy'])} | "
                     f"{percent(r.get('ann_accuracy_same_images'))} | "
                     f"{percent(r.get('network_ann_accuracy_same_images'))} | "
                     + " | ".join(percent(r["snn_accuracy"][t]) for t in CHECKPOINTS_MS)
                     + f" | {r['mean_rate_hz']:.1f} Hz |")
    if grid:
        lines += ["", "## Normalisation choices (average-pooling model, first 2,000 digits)",
                  "", "| percentile | max rate | input rate | SNN 100 ms | 200 ms | 300 ms | "
                  "mean rate |", "|---|---|---|---|---|---|---|"]
        for g in grid:
            lines.append(f"| {g['percentile']:g} | {g['max_rate_hz']:g} Hz | "
                         f"{g['input_rate_hz']:g} Hz | " + " | ".join(
                             percent(g["snn_accuracy"][t]) for t in CHECKPOINTS_MS)
                         + f" | {g['mean_rate_hz']:.1f} Hz |")
    if nest:
        lines += ["", f"NEST check ({nest['model']}, max pool {nest['max_pool']}, first "
                  f"{nest['images']} digits, every layer): identical counts to the torch "
                  f"simulator: {'yes' if nest['identical_counts'] else 'NO'}; accuracy NEST "
                  f"{percent(nest['nest_accuracy'])}, torch {percent(nest['torch_accuracy'])}."]
    lines += ["", "Models: " + "; ".join(
        f"{k} trained {v['epochs']} epochs in {v['train_s']:.0f} s" if "epochs" in v
        else f"{k} the committed {v['reused']} (trained {v['epochs_then']} epochs in an "
        "earlier run of this script)" for k, v in trained.items()) + "."]
    return lines


if __name__ == "__main__":
    main()
