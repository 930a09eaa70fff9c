"""Why Noisy Softplus training stops near 83 % on Fashion-MNIST, measured one change at a time.

Every variant trains through the library workflow (as ``lifresponse train`` runs it) on the
Fashion-MNIST training file of ``--data``, 50,000 images, with 10,000 held out (split seed 0,
never trained on); Noisy Softplus with our 1 ms-step Poisson calibration (k, S) = (0.332,
186.3) at tau_syn 5 ms unless the variant says otherwise. The baseline is the network and
protocol the issue measured: 12c5-2s-64c5-2s-10fc, the hidden-rate limit (200 Hz), Adam 1e-3
decayed x0.9 every 2 epochs, batch 50, ``--epochs`` epochs (12), seed 0. Each other variant
changes one thing from the baseline (``VARIANTS``). ``--snn N`` also runs each trained network
on the torch simulator (equal to NEST) for 300 ms on the first N held-out images (seed 1).

Writes ``results/fashion_training.{json,md}``; a run of some ``--variants`` replaces their rows
and keeps the others (each row records its own commit and date).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from provenance import run_record, write_result

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.splits import training_split

K, S, TAU_SYN = 0.332, 186.3, 5.0  # our Poisson calibration at a 1 ms step (docs/calibration.md)
BASELINE = "12c5-2s-64c5-2s-10fc"
HELD_OUT, SPLIT_SEED = 10000, 0
WINDOW_MS, CHECKPOINTS_MS = 300.0, (100, 200, 300)

# name: (what changes, architecture, workflow.train keywords)
VARIANTS = {
    "baseline": ("none (the issue's protocol)", BASELINE, {}),
    "no-rate-limit": ("no hidden-rate limit (`--rate-limit 0`)", BASELINE, {"rate_limit": 0.0}),
    "relu": ("ReLU instead of Noisy Softplus", BASELINE, {"activation": "relu"}),
    "lr3e-3": ("learning rate 3e-3", BASELINE, {"learning_rate": 3e-3}),
    "augment1": ("shifted images (`--augment 1`)", BASELINE, {"augment": 1}),
    "wider": ("wider: 32c5-2s-64c5-2s-10fc", "32c5-2s-64c5-2s-10fc", {}),
    "hidden-fc": ("a hidden dense layer: 12c5-2s-64c5-2s-128fc-10fc",
                  "12c5-2s-64c5-2s-128fc-10fc", {}),
    "bias": ("biases (`--bias`)", BASELINE, {"bias": True}),
    "margin": ("the margin loss (`--loss margin`)", BASELINE, {"loss": "margin"}),
    "padded": ("padded convolutions: 12c5p2-2s-64c5p2-2s-10fc", "12c5p2-2s-64c5p2-2s-10fc",
               {}),
    "count-window": ("spike-count noise of a 300 ms read in training (`--count-window 300`)",
                     BASELINE, {"count_window": 300.0}),
    "combined": ("the four that lifted the ANN, together: padded, a hidden dense layer of 128, "
                 "biases, the margin loss", "12c5p2-2s-64c5p2-2s-128fc-10fc",
                 {"bias": True, "loss": "margin"}),
    "combined-count": ("combined, with the count noise of a 300 ms read",
                       "12c5p2-2s-64c5p2-2s-128fc-10fc",
                       {"bias": True, "loss": "margin", "count_window": 300.0}),
    "final": ("combined-count with a hidden layer of 256, trained 24 epochs",
              "12c5p2-2s-64c5p2-2s-256fc-10fc",
              {"bias": True, "loss": "margin", "count_window": 300.0, "epochs": 24}),
    "combined-count-24": ("combined-count trained 24 epochs (the hidden layer of 128 kept)",
                          "12c5p2-2s-64c5p2-2s-128fc-10fc",
                          {"bias": True, "loss": "margin", "count_window": 300.0,
                           "epochs": 24}),
}


def snn_accuracy(network, images) -> dict:
    run = deploy(network, images, DeployConfig(backend="torch", window=WINDOW_MS, seed=1),
                 progress=False)
    ev = run.attrs["evaluation"]
    by_time = dict(zip([round(t) for t in ev["time_ms"]], ev["accuracy_by_time"], strict=True))
    return {"accuracy": {t: by_time[t] for t in CHECKPOINTS_MS},
            "mean_rate_hz": float(np.mean(list(ev["layer_rates_hz"].values())))}


def spiking_row(network, validation, snn_images: int) -> dict:
    """The network run as an SNN on the first ``snn_images`` held-out images, beside its ANN
    on the same images."""
    images = validation.subset(slice(0, snn_images))
    return {"images": snn_images, **snn_accuracy(network, images),
            "ann_accuracy_same_images": workflow.evaluate_ann(network, digits=images).accuracy}


def run_variant(name: str, training_file, validation, epochs: int, snn_images: int,
                finetune: int, save: Path | None) -> dict:
    change, architecture, keywords = VARIANTS[name]
    keywords = dict(keywords)
    epochs = keywords.pop("epochs", epochs)  # a variant that trains longer says so
    start = time.perf_counter()
    out = None if save is None else save / f"fashion-{name}.h5"
    network = workflow.train(Calibration.by_hand(K, S, TAU_SYN), architecture=architecture,
                             digits=training_file, validation=HELD_OUT, split_seed=SPLIT_SEED,
                             epochs=epochs, threads=2, progress=False, out=out, force=True,
                             **keywords)
    history = network.provenance["history"]
    row = {"variant": name, "change": change, "architecture": architecture,
           "settings": keywords, "epochs": epochs,
           "ann_accuracy": network.provenance["validation_accuracy"],
           "ann_accuracy_by_epoch": history["validation_accuracy"],
           "seconds_per_epoch": float(np.median(history["epoch_seconds"])),
           "wall_s": time.perf_counter() - start, "run": run_record()}
    if snn_images:
        row["snn"] = spiking_row(network, validation, snn_images)
    if finetune:  # the paper's fine tuning: Noisy Softplus, labels + 0.01, 1e-4
        tuned = workflow.finetune(network, digits=training_file, epochs=finetune, threads=2,
                                  progress=False, force=True, out=None if save is None else
                                  save / f"fashion-{name}-tuned.h5")
        row["tuned"] = {"epochs": finetune,
                        "ann_accuracy": tuned.provenance["validation_accuracy"],
                        "snn": spiking_row(tuned, validation, snn_images) if snn_images
                        else None}
    print(json.dumps({k: v for k, v in row.items() if k != "run"}), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fashion-mnist"))
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--snn", type=int, default=2000, metavar="N",
                        help="held-out images each network runs as an SNN (0: none)")
    parser.add_argument("--finetune", type=int, default=0, metavar="EPOCHS",
                        help="also fine-tune each network (the paper's protocol) and run it")
    parser.add_argument("--save", action="store_true",
                        help="keep the networks as results/networks/fashion-<variant>[-tuned].h5")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    training_file = load_mnist(args.data)
    validation = training_split(training_file, HELD_OUT, SPLIT_SEED).validation
    previous = args.results / "fashion_training.json"
    rows = {r["variant"]: r for r in json.loads(previous.read_text())["rows"]} \
        if previous.exists() else {}
    for name in names:
        rows[name] = run_variant(name, training_file, validation, args.epochs, args.snn,
                                 args.finetune, args.results / "networks" if args.save
                                 else None)
    # rows of variants since removed (their commit has the code) after the others
    ordered = [rows[n] for n in VARIANTS if n in rows] + [
        r for n, r in rows.items() if n not in VARIANTS]
    write_result(args.results, "fashion_training",
                 {"k": K, "S": S, "tau_syn_ms": TAU_SYN, "held_out": HELD_OUT,
                  "split_seed": SPLIT_SEED, "window_ms": WINDOW_MS, "rows": ordered},
                 markdown(ordered))


def markdown(rows: list) -> list[str]:
    base = rows[0]["ann_accuracy"] if rows and rows[0]["variant"] == "baseline" else None
    lines = ["# Noisy Softplus training on Fashion-MNIST, one change at a time", "",
             f"`benchmarks/fashion_training.py`: 50,000 training images, ANN accuracy on the "
             f"{HELD_OUT:,} held-out ones (split seed {SPLIT_SEED}); SNN on the torch "
             f"simulator (seed 1), {WINDOW_MS:g} ms per image, on the first held-out images "
             "(a tie goes to the lowest class; no output spike counts as wrong). Each row "
             "changes one thing from the baseline.", "",
             "| variant | change | epochs | ANN | vs baseline | SNN images | their ANN | "
             "SNN 100 ms | 200 ms | 300 ms | mean rate | s / epoch | commit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        delta = "-" if base is None else f"{100 * (r['ann_accuracy'] - base):+.2f}"
        commit = r["run"]["git"]["commit"][:7]
        lines.append(_row([r["variant"], r["change"], str(r["epochs"]),
                           _percent(r["ann_accuracy"]), delta], r.get("snn"),
                          [f"{r['seconds_per_epoch']:.1f}", commit]))
        if r.get("tuned"):
            t = r["tuned"]
            lines.append(_row([f"{r['variant']}, fine-tuned", f"then {t['epochs']} epoch(s) "
                               "of the paper's fine tuning", str(t["epochs"]),
                               _percent(t["ann_accuracy"]), "-"], t["snn"], ["-", commit]))
    return lines


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _row(first: list, snn: dict | None, last: list) -> str:
    if snn:  # JSON keys are strings once read back
        acc = {int(t): v for t, v in snn["accuracy"].items()}
        spiking = [str(snn["images"]), _percent(snn.get("ann_accuracy_same_images")),
                   *(_percent(acc[t]) for t in CHECKPOINTS_MS), f"{snn['mean_rate_hz']:.1f} Hz"]
    else:
        spiking = ["-"] * (len(CHECKPOINTS_MS) + 3)
    return "| " + " | ".join([*first, *spiking, *last]) + " |"


if __name__ == "__main__":
    main()
