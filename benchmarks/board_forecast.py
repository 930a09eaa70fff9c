"""What SpiNNaker's 16-bit weights and saturating ring buffers do to the MNIST networks, forecast
on the exact simulator (``lifresponse spinnaker check``; :mod:`lifresponse.board_forecast`).

For each network: mapped on an sPyNNaker virtual board (native connectors where the network
allows them), sPyNNaker's own shifts read; the largest summed input per timestep of 200 training
digits chooses a ``max_expected_summed_weight`` per population, sPyNNaker maps again with it;
then the held-out digits run three times on the exact simulator (float64, the CPU loop): float
weights, sPyNNaker's default storage, the chosen storage. The networks: the small and large
Noisy Softplus networks, a spike-trained one of each size, and an snnTorch SNN trained here for
a few minutes, exported with snnTorch's ``export_to_nir`` and imported (``nir import --dt 0.1
--encoding bernoulli``). Writes ``results/board_forecast.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_result

from lifresponse import board_forecast, workflow
from lifresponse.deployment import DeployConfig
from lifresponse.networks import network_file
from lifresponse.splits import evaluation_digits, first, training_digits

NETWORKS = Path("benchmarks/results/networks")
MNIST = [("small Noisy Softplus", "small-ns-limit200-tuned.h5"),
         ("small spike-trained (cross-entropy, 1 epoch)", "small-ns-limit200-tuned-spike-ce1.h5"),
         ("large Noisy Softplus", "large-ns-aug1-60ep-seed1-tuned.h5"),
         ("large spike-trained (margin, 1 epoch)",
          "large-ns-aug1-60ep-seed1-tuned-spike-margin1.h5")]
WINDOW_MS = 300.0
NIR_STEPS = 100  # the snnTorch network's window: 100 steps of 0.1 ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--snntorch-batches", type=int, default=400)
    parser.add_argument("--only", help="run only the networks whose file name contains this")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    config = DeployConfig(backend="torch", threads=2, seed=1)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        cases = [(label, NETWORKS / name, WINDOW_MS) for label, name in MNIST]
        if args.only is None or "nir" in args.only:
            cases.append(("snnTorch SNN via NIR (Leaky, reset to zero)",
                          snntorch_network(args.data, Path(work), args.snntorch_batches),
                          NIR_STEPS * 0.1))
        for label, path, window in cases:
            if args.only is not None and args.only not in path.name:
                continue
            rows.append(forecast_one(label, path, window, args, config))
            print(rows[-1]["summary"], flush=True)
    write_result(args.out, "board_forecast", {"window_ms": WINDOW_MS, "images": args.images,
                                              "sample": args.sample, "networks": rows},
                 markdown(rows, args))


def forecast_one(label: str, path: Path, window: float, args, config) -> dict:
    network = network_file.read(path)
    start = time.perf_counter()
    evaluation = first(evaluation_digits(args.data, network.provenance), args.images)
    sample = first(training_digits(args.data, network.provenance), args.sample)
    forecast = board_forecast.forecast_board(network, sample, evaluation, window,
                                             config=config, progress=False)
    accuracy = {o.weights: o.accuracy_at(window) for o in forecast.outcomes}
    table = board_forecast.table_rows(network, forecast)
    return {"label": label, "network": str(path), "architecture": network.architecture,
            "timestep_ms": network.timestep, "window_ms": window, "images": len(evaluation),
            "connectors": forecast.default.connectors, "chips": forecast.default.chips,
            "cores": forecast.default.cores, "accuracy": accuracy,
            "saturations": {o.weights: int(sum(map(sum, o.saturations)))
                            for o in forecast.outcomes},
            "layers": table, "wall_s": time.perf_counter() - start,
            "summary": f"{label}: " + ", ".join(f"{k} {100 * v:.2f} %"
                                                for k, v in accuracy.items())}


def snntorch_network(data: Path, work: Path, batches: int) -> Path:
    """An snnTorch SNN (``Conv2d(1, 8, 5) - AvgPool2d(2) - Leaky - Conv2d(8, 16, 5) -
    AvgPool2d(2) - Leaky - Linear(256, 10) - Leaky``, reset to zero, beta 0.9, threshold 1, a
    bias in the first layer only) trained for
    ``batches`` batches of 64 training digits (25 steps of Bernoulli input spikes, snnTorch's
    rate cross-entropy), exported with snnTorch's ``export_to_nir`` and imported with dt 0.1 ms
    and Bernoulli inputs."""
    import nir
    import snntorch as snn
    import torch
    from snntorch import functional, spikegen, utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    torch.set_num_threads(2)
    grad = snn.surrogate.fast_sigmoid()

    def leaky(shape, output=False):  # per-neuron tensors: NIR's export needs the shapes
        return snn.Leaky(beta=torch.full(shape, 0.9), threshold=torch.full(shape, 1.0),
                         spike_grad=grad, init_hidden=True, reset_mechanism="zero",
                         output=output)

    # no bias after the first layer: NEST's one-step delays would shift it (docs/nir.md)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5), torch.nn.AvgPool2d(2), leaky((8, 12, 12)),
        torch.nn.Conv2d(8, 16, 5, bias=False), torch.nn.AvgPool2d(2), leaky((16, 4, 4)),
        torch.nn.Flatten(), torch.nn.Linear(256, 10, bias=False), leaky((10,), output=True))
    train = training_digits(data, {})
    images = torch.as_tensor(np.asarray(train.images, np.float32)).unsqueeze(1)
    labels = torch.as_tensor(np.asarray(train.labels, np.int64))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_of = functional.ce_rate_loss()
    order = torch.randperm(len(labels))
    for b in range(batches):
        index = order[b * 64:(b + 1) * 64]
        spikes = spikegen.rate(images[index], num_steps=25)
        utils.reset(net)
        out = torch.stack([net(spikes[t])[0] for t in range(25)])
        loss = loss_of(out, labels[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    graph = export_to_nir(net.eval(), torch.zeros(1, 1, 28, 28), ignore_dims=[0])
    nir.write(work / "snntorch.nir", graph)
    network = workflow.import_nir(work / "snntorch.nir", dt=0.1, encoding="bernoulli",
                                  tau_refrac=0.0)
    path = work / "snntorch-nir.h5"
    network_file.write(network, path)
    return path


def markdown(rows: list, args) -> list[str]:
    lines = [f"Forecast accuracy on held-out MNIST digits (the first {args.images} of each "
             f"network's own held-out split; `--data {args.data}`), exact simulator in float64 "
             f"(CPU loop, 2 threads, seed 1); the scaling chosen from the first {args.sample} "
             "training digits. Ties: the lowest class index wins (as the evaluation decides "
             "them). Nothing else ran on the machine. No board was used: the board's "
             "fixed-point neuron update is not modelled.", "",
             "| network | window | connectors (chips, cores) | float | sPyNNaker default | "
             "chosen | chosen - float | saturated sums (default / chosen) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        a = row["accuracy"]
        lines.append(
            f"| {row['label']} (`{Path(row['network']).name}`) | {row['window_ms']:g} ms | "
            f"{row['connectors']} ({row['chips']}, {row['cores']}) | {100 * a['float']:.2f} % "
            f"| {100 * a['sPyNNaker default']:.2f} % | {100 * a['chosen']:.2f} % | "
            f"{100 * (a['chosen'] - a['float']):+.2f} | "
            f"{row['saturations']['sPyNNaker default']} / {row['saturations']['chosen']} |")
    for row in rows:
        lines += ["", f"### {row['label']}", "",
                  "| layer | receptor | weights | largest sum (nA; mV into IF_curr_delta) | "
                  "default: shifts, headroom, zeroed, max error | chosen: shifts, headroom, "
                  "zeroed, max error |",
                  "|---|---|---|---|---|---|"]
        for r in row["layers"]:
            lines.append(f"| {r['layer']} | {r['receptor']} | {r['weights']} | "
                         f"{r['largest_sum_nA']:.3g} | " + " | ".join(
                             f"{'-'.join(map(str, sorted(set(s['shifts']))))}, "
                             f"{s['headroom']:.3g}x, {100 * s['zeroed']:.2f} %, "
                             f"{100 * s['max_relative_error']:.1f} %"
                             for s in (r["default"], r["chosen"])) + " |")
    return lines


if __name__ == "__main__":
    main()
