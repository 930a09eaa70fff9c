"""What the framework round trips share (``snntorch_round_trip.py``, ``norse_round_trip.py``,
``sinabs_round_trip.py``, ``spikingjelly_round_trip.py``): their options, training on Bernoulli
rate-coded digits, the framework's counts on the toolkit's Bernoulli input spikes, accuracy
with ties counted, and each imported network deployed and compared layer by layer with the
framework's counts.
"""

from __future__ import annotations

import time

import numpy as np

SEED = 1
DT = 0.1  # ms: the step snnTorch's exporter assumes and SpikingJelly's default


def add_arguments(parser, name: str) -> None:
    """The options every round trip but snnTorch's takes; results ``results/<--name>``."""
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--validation", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=10_000, help="held-out digits evaluated")
    parser.add_argument("--nest-images", type=int, default=10_000,
                        help="the first N of them also on NEST")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-images", type=int, help="first N training digits only")
    parser.add_argument("--name", default=name)


def training_digits(args) -> tuple:
    """The toolkit's split of MNIST's training file (``--validation`` digits held out, split
    seed 0) and the digits trained on (the first ``--train-images``): (split, images,
    labels)."""
    from lifresponse.datasets import load_mnist
    from lifresponse.splits import training_split

    split = training_split(load_mnist(args.data), args.validation, 0)
    images = split.train.images[:args.train_images]
    return split, images, split.train.labels[:len(images)]


def train(run, parameters, images, labels, steps: int, epochs: int, loss_of, torch, log,
          lr: float = 1e-3) -> dict:
    """Adam on batches of 128 digits, each pixel a Bernoulli spike per step with probability
    its value; ``run(x)`` gives every layer's spikes per step (:func:`framework_counts`),
    ``loss_of(output spikes, labels)`` the loss."""
    optimiser = torch.optim.Adam(parameters, lr=lr)
    generator = np.random.default_rng(0)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = generator.permutation(len(images))
        for first in range(0, len(order), 128):
            batch = order[first:first + 128]
            pixels = torch.as_tensor(images[batch]).unsqueeze(1)
            x = (torch.rand((steps, *pixels.shape)) < pixels).float()
            loss = loss_of(run(x)[-1], torch.as_tensor(labels[batch]).long())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if first % (128 * 50) == 0:
                log(f"epoch {epoch} image {first}: loss {loss.item():.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
    return {"train_s": time.perf_counter() - start, "epochs": epochs, "train_images": len(images),
            "steps": steps, "batch": 128, "lr": lr}


def count_cross_entropy(torch):
    """The cross entropy of the output spike counts."""
    return lambda spikes, labels: torch.nn.functional.cross_entropy(spikes.sum(0), labels)


def on_both_simulators(network, run, split, args, extra: int, torch, log,
                       framework: str) -> tuple:
    """The framework (``run``) and ``network`` on the torch simulator (``--images`` held-out
    digits) and on NEST (the first ``--nest-images``): (rows of :func:`deployed_against`,
    each with the framework's accuracy on its digits; the framework's accuracy per
    backend)."""
    from lifresponse.datasets import Digits

    lags = range(extra + 2)
    rows, own = [], {}
    for backend, n in (("torch", args.images), ("nest", args.nest_images)):
        if n == 0:
            continue
        held_out, labels = split.validation.images[:n], split.validation.labels[:n]
        start = time.perf_counter()
        theirs = framework_counts(run, held_out, args.steps, extra, lags, torch)
        own[backend] = {**accuracy(theirs["own_counts"], labels), "images": n}
        log(f"{framework} on {n} digits: {own[backend]} ({time.perf_counter() - start:.0f} s)")
        digits = Digits(held_out, labels, "held-out MNIST training digits")
        rows.append({"images": n, "framework_accuracy": own[backend]["accuracy"],
                     **deployed_against(network, digits, theirs, backend, args.steps + extra,
                                        lags)})
        log(f"{backend}: {rows[-1]}")
    return rows, own


def framework_counts(run, images, steps: int, extra: int, lags: range, torch) -> dict:
    """A framework on the toolkit's Bernoulli spikes of ``steps + extra`` steps, step ``s``
    at its time step ``s - 1``: its output counts over its first ``steps`` (its own figure),
    and every layer's counts over the first ``steps + extra - lag`` steps for each lag.

    ``run(x)`` takes ``x`` (steps, n, 1, 28, 28) and returns every neuron layer's spikes per
    step, (steps, n, neurons) each.
    """
    from lifresponse.networks.encoding import Presentation, bernoulli_inputs

    window = steps + extra
    predicted, per_lag = [], {lag: None for lag in lags}
    with torch.no_grad():
        for first in range(0, len(images), 500):
            chunk = images[first:first + 500]
            n = len(chunk)
            inputs = bernoulli_inputs(chunk.reshape(n, -1).astype(float),
                                      Presentation(window * DT, 0.0, DT), first, SEED)
            x = np.zeros((window, n, 784), np.float32)
            x[inputs.step - 1, inputs.image, inputs.neuron] = 1  # step s at time s - 1
            spikes = run(torch.as_tensor(x).view(window, n, 1, 28, 28))
            predicted.append(spikes[-1][:steps].sum(0).numpy())
            for lag in lags:
                if per_lag[lag] is None:
                    per_lag[lag] = [[] for _ in spikes]
                for i, s in enumerate(spikes):
                    per_lag[lag][i].append(s[:window - lag].sum(0).numpy().astype(np.int64))
    return {"own_counts": np.concatenate(predicted),
            "per_lag": {lag: [np.concatenate(c) for c in layers]
                        for lag, layers in per_lag.items()}}


def accuracy(counts: np.ndarray, labels: np.ndarray) -> dict:
    """Most spikes wins, ties to the lowest index; how many were tied, how many silent."""
    winner = counts.argmax(axis=1)
    top = counts.max(axis=1, keepdims=True)
    tied = ((counts == top).sum(axis=1) > 1) & (top[:, 0] > 0)
    return {"accuracy": float(np.mean(winner == labels)), "ties": int(tied.sum()),
            "silent": int(np.sum(top[:, 0] == 0))}


def deployed_against(network, digits, theirs: dict, backend: str, window_steps: int,
                     lags: range) -> dict:
    """``network`` on ``backend`` over ``window_steps`` steps of :data:`DT`, every layer
    recorded: accuracy, wall, and per layer the lag at which most (image, neuron) counts equal
    the framework's (``theirs``, :func:`framework_counts`)."""
    import lifresponse as lr

    start = time.perf_counter()
    run = lr.deploy(network, digits=digits, backend=backend, window=window_steps * DT,
                    record="all", threads=2, seed=SEED, progress=False)
    wall = time.perf_counter() - start
    layers = []
    for i in range(len(network.layers)):
        by_lag = {lag: float(np.mean(theirs["per_lag"][lag][i] == run.layer_counts[i]))
                  for lag in lags}
        best = max(by_lag, key=by_lag.get)
        layers.append({"layer": i, "lag_steps": best, "equal_counts": by_lag[best],
                       "spikes": int(run.layer_counts[i].sum())})
    return {"backend": backend, "wall_s": wall,
            **accuracy(run.layer_counts[len(network.layers) - 1], digits.labels),
            "layers": layers}


def comparison_rows(runs: list, own_accuracy: float, label: str) -> list[str]:
    """Markdown rows of :func:`deployed_against` results, ``label`` naming each row's
    import; a row's points are against its ``framework_accuracy`` if it has one (the
    framework on the same digits), else ``own_accuracy``."""
    lines = ["| simulator | import | accuracy | vs the framework (points) | ties | equal counts "
             "per layer (lag, steps) | wall (s) |", "|---|---|---|---|---|---|---|"]
    for row in runs:
        layers = ", ".join(f"{100 * layer['equal_counts']:.4f} % ({layer['lag_steps']})"
                           for layer in row["layers"])
        lines.append(f"| {row['backend']} | {label.format(**row)} | "
                     f"{100 * row['accuracy']:.2f} % | "
                     f"{100 * (row['accuracy'] - row.get('framework_accuracy', own_accuracy)):+.2f}"
                     f" | {row['ties']} | "
                     f"{layers} | {row['wall_s']:.0f} |")
    return lines
