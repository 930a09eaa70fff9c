"""Spike-based training (``train --method spikes``): seconds per epoch and memory for both
architectures, and what it does to accuracy against presentation time on NEST.

``--job speed``: each architecture in a fresh process (peak RSS is then its own), one epoch on
``--digits`` training digits at a ``--window`` ms window, batches of 25, 2 threads,
``--repeats`` times (median and range); seconds per image, and an extrapolation to an epoch of
50,000 digits. ``--job accuracy``: a trained network (``--init``; default the rate-limited,
fine-tuned Noisy Softplus one) trained on spikes for one epoch on ``--digits`` of its own
training digits, then both networks deployed on NEST on ``--images`` of its held-out digits x
``--eval-window`` ms (and, with ``--torch-images``, on that many on the torch backend, equal to
NEST in float64), accuracy after 50, 100, 200, 300 ms. ``--job time-table``: accuracy after
50-1000 ms of ``--networks`` on ``--images`` held-out digits (torch backend, float64), and how
many images a tie cost (the label among the most active outputs, a lower index chosen). ``--job
input-draws``: the accuracy of ``--networks`` over several draws of input spikes (``--seeds``)
on the same held-out digits, and each network's gain over the first one draw by draw; with
``--input-rate-factors``, each network also at other input rates (first-layer weights scaled to
keep the mean current). Nothing else ran meanwhile. Writes ``results/spike_training_speed.*``,
``results/spike_training_accuracy_<architecture>_<digits>_<loss>[_lr<lr>][_<surrogate>]``
``[_trainseed<n>]<suffix>.*`` with the trained network as
``results/networks/<start>-spike-<loss><n><tag>.h5`` (:func:`spike_network_name`), and
``results/spike_training_time_table.*``.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from provenance import write_result

SPEED_JOB = """
import resource, sys, time
sys.path.insert(0, '.')
import numpy as np
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import load_mnist
from lifresponse.training import spikes, trainer
digits = load_mnist({data!r}).subset(np.arange({digits}))
c = Calibration.by_hand()
network = trainer.make_model({arch!r}, "relu", c.k, c.S, c.tau_syn, c.neuron, 0).to_network(
    c.neuron, c.timestep, {{}})
settings = spikes.SpikeTrainSettings(window={window}, epochs=1, batch_size=25, threads=2)
_, history = spikes.train(network, digits, digits.subset(np.arange(0)), settings,
                          progress=False)
print(history.epoch_seconds[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

ARCHITECTURES = ("6c5-2s-12c5-2s-10fc", "12c5-2s-64c5-2s-10fc")
LOSS_NAMES = {"rate-mse": "mse", "cross-entropy": "ce", "margin": "margin"}
CHECKPOINTS_MS = (50, 100, 200, 300)


def speed(args) -> None:
    rows = []
    for arch in ARCHITECTURES:
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", SPEED_JOB.format(
                data=args.data, digits=args.digits, arch=arch, window=args.window)],
                capture_output=True, text=True, check=True, timeout=3600)
            seconds, rss = map(float, out.stdout.strip().splitlines()[-1].split())
            runs.append((seconds, rss))
        seconds = [s for s, _ in runs]
        rows.append({"architecture": arch, "epoch_s": seconds,
                     "per_image_s": statistics.median(seconds) / args.digits,
                     "peak_rss_mb": max(r for _, r in runs)})
        print(rows[-1], flush=True)
    lines = [f"One epoch of spike-based training on {args.digits} digits, {args.window:g} ms "
             f"window at 1 ms ({int(args.window)} steps), batches of 25, 2 threads, this "
             f"2-core CPU, {args.repeats} runs: median (range). 50,000 digits: the per-image "
             "time x 50,000.", "",
             "| architecture | epoch (s) | s per image | 50,000 digits (h) | peak RSS (MB) |",
             "|---|---|---|---|---|"]
    for r in rows:
        e = r["epoch_s"]
        lines.append(f"| {r['architecture']} | {statistics.median(e):.1f} ({min(e):.1f}-"
                     f"{max(e):.1f}) | {r['per_image_s']:.3f} | "
                     f"{r['per_image_s'] * 50000 / 3600:.1f} | {r['peak_rss_mb']:.0f} |")
    _write(args.out, "spike_training_speed", {"rows": rows, **vars(args)}, lines)


def accuracy(args) -> None:
    import numpy as np

    from lifresponse.datasets import load_mnist
    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.networks import network_file
    from lifresponse.splits import recorded_split
    from lifresponse.training import spikes

    start = network_file.read(args.init)
    split = recorded_split(load_mnist(args.data), start.provenance)
    train_digits = split.train.subset(np.arange(args.first_digit,
                                                args.first_digit + args.digits))
    held_out = split.validation.subset(np.arange(args.images))
    settings = spikes.SpikeTrainSettings(window=args.window, epochs=1, batch_size=25,
                                         threads=2, learning_rate=args.lr, loss=args.loss,
                                         margin=args.margin, skip_clear=args.skip_clear,
                                         surrogate=args.surrogate,
                                         seed=args.train_seed)
    training_log = _LogLines()  # e.g. how many images --skip-clear trained on
    logging.getLogger("lifresponse").addHandler(training_log)
    logging.getLogger("lifresponse").setLevel(logging.INFO)
    began = time.perf_counter()
    trained, history = spikes.train(start, train_digits, split.train.subset(np.arange(0)),
                                    settings, progress=True)
    train_s = time.perf_counter() - began
    name = f"spike_training_accuracy_{start.architecture}_{args.digits}_{args.loss}" + (
        "" if args.lr == 1e-4 else f"_lr{args.lr:g}") + (
        "" if args.surrogate == "lee" else f"_{args.surrogate}") + (
        "" if args.margin == 0.25 else f"_margin{args.margin:g}") + (
        "" if args.first_digit == 0 else f"_first{args.first_digit}") + (
        "_skipclear" if args.skip_clear else "") + (
        "" if args.train_seed == 0 else f"_trainseed{args.train_seed}") + args.suffix
    network_name = spike_network_name(args.init, args.loss, args.network_tag)
    network_file.write(trained, args.out / "networks" / f"{network_name}.h5")
    rows = []
    evaluations = [] if args.skip_nest else [
        ("NEST", held_out, DeployConfig(window=args.eval_window, threads=2, seed=3))]
    if args.torch_images:  # the exact simulator, equal to NEST in float64: more digits
        evaluations.append(("torch float64", split.validation.subset(np.arange(
            args.torch_images)), DeployConfig(backend="torch", window=args.eval_window,
                                              threads=2, seed=3)))
    for backend, digits, config in evaluations:
        for label, network in ((f"{start.activation} (start)", start),
                               ("+ spike training", trained)):
            run = deploy(network, digits, config, progress=True)
            ev = run.attrs["evaluation"]
            rows.append({"network": label, "backend": backend, "images": len(digits.labels),
                         "accuracy": ev["accuracy"],
                         "by_time": _checkpoint_accuracy(ev, args.eval_window)})
            print(rows[-1], flush=True)
    lines = [f"{args.init}, then one epoch of spike-based training on {args.digits} of its "
             f"training digits (from number {args.first_digit}) at a {args.window:g} ms window "
             f"({args.loss} loss" + (f", margin {args.margin:g}" if args.loss == "margin" else "")
             + (", clear images skipped" if args.skip_clear else "")
             + f", {args.surrogate} surrogate, lr "
             f"{args.lr:g}, {train_s:.0f} s, "
             f"loss {history.loss[0]:.3f}; the trained network: networks/{network_name}.h5); both "
             f"deployed on held-out digits x {args.eval_window:g} ms, rest protocol, seed 3. "
             f"Training log: {'; '.join(training_log.lines)}",
             "", "| network | backend | held-out digits | " + " | ".join(
                 f"{t} ms" for t in CHECKPOINTS_MS) + " |",
             "|---|---|---|" + "---|" * len(CHECKPOINTS_MS)]
    for r in rows:
        lines.append(f"| {r['network']} | {r['backend']} | {r['images']} | " + " | ".join(
            f"{100 * r['by_time'][t]:.1f} %" if t in r["by_time"] else "" for t in
            CHECKPOINTS_MS) + " |")
    result = {"rows": rows, "train_s": train_s, "training_log": training_log.lines,
              **{k: str(v) for k, v in vars(args).items()}}
    _write(args.out, name, result, lines)


def spike_network_name(init, loss: str, tag: str) -> str:
    """``<start>-spike-<loss><n><tag>``: the ``n``-th spike-training epoch with ``loss``
    (``LOSS_NAMES``) from the ANN-trained ``<start>``, counted along a chain of ``--init`` files
    that this function named (a start's own tag, e.g. ``-m0.5``, carries on)."""
    short = LOSS_NAMES[loss]
    chain = re.fullmatch(rf"(.+)-spike-{short}(\d+)(-.+)?", Path(init).stem)
    if chain is None:
        return f"{Path(init).stem}-spike-{short}1{tag}"
    return f"{chain[1]}-spike-{short}{int(chain[2]) + 1}{chain[3] or ''}{tag}"


class _LogLines(logging.Handler):
    """Keeps the messages logged to it."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


TABLE_MS = (50, 100, 200, 300, 500, 1000)


def time_table(args) -> None:
    """Accuracy against presentation time, 50-1000 ms, of every network in ``--networks`` on
    the torch backend in float64 (equal to NEST spike for spike, docs/torch.md): each of
    ``--images`` held-out digits shown for 1000 ms from rest, the accuracy read after t ms."""
    import numpy as np

    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.networks import network_file
    from lifresponse.splits import evaluation_digits, first

    rows = []
    for path in args.networks:
        network = network_file.read(path)
        digits = first(evaluation_digits(args.data, network.provenance), args.images)
        began = time.perf_counter()
        run = deploy(network, digits, DeployConfig(backend="torch", window=max(TABLE_MS),
                                                    threads=2, seed=3), progress=False)
        ev = run.attrs["evaluation"]
        times = np.asarray(ev["time_ms"])
        bins = {t: int(np.argmin(np.abs(times - t))) for t in TABLE_MS}
        rows.append({"network": str(path), "architecture": network.architecture,
                     "wall_s": time.perf_counter() - began,
                     "by_time": {t: float(ev["accuracy_by_time"][b]) for t, b in bins.items()},
                     "lost_ties_by_time": {t: _lost_ties(run.output_counts_by_time[:, b],
                                                         run.labels) for t, b in bins.items()}})
        print(rows[-1], flush=True)
    lines = [f"Accuracy against presentation time on {args.images} held-out digits per network "
             "(the validation split each network records), 1 ms steps, every image from rest, "
             "seed 3, on `--backend torch` float64 (equal to NEST spike for spike: "
             "docs/torch.md); this 2-core CPU.", "",
             "| network | " + " | ".join(f"{t} ms" for t in TABLE_MS) + " |",
             "|---|" + "---|" * len(TABLE_MS)]
    for r in rows:
        lines.append(f"| `{Path(r['network']).name}` | " + " | ".join(
            f"{100 * r['by_time'][t]:.2f} %" for t in TABLE_MS) + " |")
    lines += ["", "Images lost to ties (the label among the most active outputs, the lowest "
              "index of them chosen and not the label):", "",
              "| network | " + " | ".join(f"{t} ms" for t in TABLE_MS) + " |",
              "|---|" + "---|" * len(TABLE_MS)]
    for r in rows:
        lines.append(f"| `{Path(r['network']).name}` | " + " | ".join(
            str(r["lost_ties_by_time"][t]) for t in TABLE_MS) + " |")
    _write(args.out, args.name, {"rows": rows, "images": args.images}, lines)


def input_draws(args) -> None:
    """Accuracy of every network in ``--networks`` on the same ``--images`` held-out digits x
    ``--eval-window`` ms over several draws of input spikes (``--seeds``), torch backend in
    float64: its mean and spread over draws, and each network's gain over the first one paired
    draw by draw (the same input spikes on both)."""
    import numpy as np

    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.networks import network_file
    from lifresponse.splits import evaluation_digits, first

    rows = []
    for path, factor in [(p, f) for p in args.networks for f in args.input_rate_factors]:
        network = _input_rate_scaled(network_file.read(path), factor)
        digits = first(evaluation_digits(args.data, network.provenance), args.images)
        by_seed = {}
        for seed in args.seeds:
            run = deploy(network, digits, DeployConfig(backend="torch", window=args.eval_window,
                                                        threads=2, seed=seed), progress=False)
            by_seed[seed] = _checkpoint_accuracy(run.attrs["evaluation"], args.eval_window)
            print(path.name, factor, seed, by_seed[seed], flush=True)
        rows.append({"network": str(path), "input_rate_factor": factor,
                     "input_rate_hz": network.input_rate, "by_seed": by_seed})
    times = sorted(rows[0]["by_seed"][args.seeds[0]])
    lines = [f"Accuracy on the same {args.images} held-out digits per network (the validation "
             f"split each records) x {args.eval_window:g} ms, every image from rest, torch "
             f"backend float64 (equal to NEST spike for spike), over {len(args.seeds)} draws of "
             f"input spikes (seeds {', '.join(map(str, args.seeds))}): mean (min-max) over the "
             "draws, and the gain over the first network, draw by draw on the same input "
             "spikes: mean +- its standard error over the draws. This 2-core CPU, nothing else "
             "running.", "",
             "| network | " + " | ".join(f"{t} ms" for t in times) + " | " + " | ".join(
                 f"gain at {t} ms" for t in times) + " |",
             "|---|" + "---|" * (2 * len(times))]
    for r in rows:
        cells = []
        for t in times:
            a = 100 * np.array([r["by_seed"][s][t] for s in args.seeds])
            cells.append(f"{a.mean():.2f} % ({a.min():.2f}-{a.max():.2f})")
        for t in times:
            d = 100 * np.array([r["by_seed"][s][t] - rows[0]["by_seed"][s][t]
                                for s in args.seeds])
            cells.append("" if r is rows[0] else
                         f"{d.mean():+.3f} +- {d.std(ddof=1) / np.sqrt(len(d)):.3f}")
        rate = "" if r["input_rate_factor"] == 1 else f", inputs at {r['input_rate_hz']:g} Hz"
        lines.append(f"| `{Path(r['network']).name}`{rate} | " + " | ".join(cells) + " |")
    _write(args.out, args.name, {"rows": rows, "images": args.images, "seeds": args.seeds,
                                 "eval_window": args.eval_window}, lines)


def _input_rate_scaled(network, factor: float):
    """``network`` at ``factor`` times its input rate, with the same mean input current
    (:meth:`~lifresponse.networks.network_file.Network.with_input_rate`)."""
    return network if factor == 1 else network.with_input_rate(network.input_rate * factor)


def _checkpoint_accuracy(evaluation: dict, window_ms: float) -> dict:
    """The accuracy after each of ``CHECKPOINTS_MS`` within ``window_ms`` (ms), read from a
    run's evaluation (its accuracy at the nearest recorded time)."""
    import numpy as np

    times = np.asarray(evaluation["time_ms"])
    return {t: float(evaluation["accuracy_by_time"][int(np.argmin(np.abs(times - t)))])
            for t in CHECKPOINTS_MS if t <= window_ms}


def _lost_ties(counts, labels) -> int:
    """Images whose label shares the most spikes with another output and loses the tie to a
    lower index (:func:`lifresponse.networks.evaluation.classify`)."""
    import numpy as np

    from lifresponse.networks.evaluation import classify

    top = counts.max(axis=1)
    label_on_top = counts[np.arange(len(labels)), labels] == top
    tied = (counts == top[:, None]).sum(axis=1) > 1
    return int(np.sum(label_on_top & tied & (top > 0) & (classify(counts) != labels)))


def _write(folder: Path, name: str, result: dict, lines: list) -> None:
    write_result(folder, name, result, lines)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", choices=("speed", "accuracy", "time-table", "input-draws"),
                        default="speed")
    parser.add_argument("--networks", nargs="*", type=Path, default=[],
                        help="time-table, input-draws: the network files to evaluate")
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3, 4, 5, 6, 7, 8],
                        help="input-draws: seeds of the input spikes")
    parser.add_argument("--input-rate-factors", nargs="*", type=float, default=[1.0],
                        metavar="F",
                        help="input-draws: evaluate every network at each of these multiples "
                             "of its input rate, its first layer's weights divided by the same "
                             "(mean input current unchanged; default 1)")
    parser.add_argument("--name", default="spike_training_time_table",
                        help="time-table: the results' file name")
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--digits", type=int, default=200)
    parser.add_argument("--window", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--init",
                        default="benchmarks/results/networks/small-ns-limit200-tuned.h5")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--torch-images", type=int, default=0,
                        help="also evaluate on this many held-out digits on the torch backend")
    parser.add_argument("--eval-window", type=float, default=300.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--loss", choices=("rate-mse", "cross-entropy", "margin"),
                        default="rate-mse",
                        help="accuracy: the spike-training loss")
    parser.add_argument("--margin", type=float, default=0.25,
                        help="accuracy: the margin loss's lead (rate x tau_syn)")
    parser.add_argument("--skip-clear", action="store_true",
                        help="accuracy: train only on images not clear by the margin")
    parser.add_argument("--first-digit", type=int, default=0,
                        help="accuracy: train on training digits from this one on (another "
                             "--digits of them for a further epoch)")
    parser.add_argument("--surrogate", choices=("lee", "fast-sigmoid"), default="lee",
                        help="accuracy: the spike's surrogate derivative")
    parser.add_argument("--train-seed", type=int, default=0,
                        help="accuracy: seeds the batch order and the training input spikes "
                             "(another draw for a further epoch from a spike-trained --init)")
    parser.add_argument("--skip-nest", action="store_true",
                        help="accuracy: evaluate on the torch backend only (--torch-images)")
    parser.add_argument("--suffix", default="",
                        help="accuracy: appended to the results' names (runs of one "
                             "architecture from different --init)")
    parser.add_argument("--network-tag", default="",
                        help="accuracy: appended to the trained network's name, to tell apart "
                             "two runs from the same --init (e.g. -lr3e-4)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if args.job == "input-draws" and (not args.networks or len(args.seeds) < 2):
        parser.error("--job input-draws needs --networks and at least 2 --seeds (the spread "
                     f"over draws); got {len(args.networks)} networks, seeds {args.seeds}")
    {"speed": speed, "accuracy": accuracy, "time-table": time_table,
     "input-draws": input_draws}[args.job](args)


if __name__ == "__main__":
    main()
