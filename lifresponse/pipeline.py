"""``lifresponse reproduce``: the whole method, stage by stage, resumable.

calibrate (NEST) -> fit -> train (Noisy Softplus, ReLU, Softplus) -> fine-tune -> deploy (NEST)
-> energy -> report. Every stage writes its outputs under ``out/`` plus ``<stage>.done.json``
with the configuration it ran and its wall time; a stage whose record exists with the same
configuration is skipped, so an interrupted reproduction continues where it stopped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lifresponse.errors import ParameterError
from lifresponse.training import RATE_LIMIT_HZ

ACTIVATIONS = ("noisy-softplus", "relu", "softplus")
ARCHITECTURE = "6c5-2s-12c5-2s-10fc"
ENERGY_NETWORK = "noisy-softplus_tuned"  # its run records every layer: energy and Fig. 12


@dataclass(frozen=True)
class Plan:
    """Sizes of a reproduction. :func:`quick_plan` and :func:`full_plan` are the two presets."""

    name: str
    tau_syns: tuple
    means: str
    stds: str
    trials: int
    sweep_ms: float
    timestep: float
    epochs: int
    validation: int | None
    images: int
    window_ms: float
    seed: int = 1
    threads: int = 2
    data: str | None = None
    rate_limit: float = RATE_LIMIT_HZ


def quick_plan(data=None) -> Plan:
    """A few minutes on 2 cores: small calibration grid, 10 epochs, 200 digits x 500 ms."""
    return Plan("quick", (5.0,), "-0.5:1.0:0.1", "0.2,0.6,1.0", 3, 2000.0, 1.0, 10, None, 200,
                500.0, data=None if data is None else str(data))


def full_plan(data=None) -> Plan:
    """The paper's protocol: tau_syn 1, 5, 10 ms calibrations (31 x 5 grid, 10 trials x 10 s),
    20 epochs on 50,000 digits; 500 held-out digits x 1 s on NEST per network (the paper
    tested 10,000: six networks at that size take about 3 hours here)."""
    return Plan("full", (1.0, 5.0, 10.0), "-0.5:1.0:0.05", "0.2:1.0:0.2", 10, 10000.0, 1.0, 20,
                10000, 500, 1000.0, data=None if data is None else str(data))


class Stages:
    """Runs stages and remembers what is done (``<out>/<stage>.done.json``)."""

    def __init__(self, out: Path):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.walls: dict[str, float] = {}

    def run(self, name: str, config: dict, work) -> dict:
        """Run ``work()`` unless ``name`` is recorded as done with this ``config``."""
        record_path = self.out / f"{name}.done.json"
        config = json.loads(json.dumps(config, default=_plain))  # as it reads back from disk
        if record_path.exists():
            record = json.loads(record_path.read_text())
            if record.get("config") == config:
                print(f"[{name}] done before, skipped", flush=True)
                self.walls[name] = record["wall_s"]
                return record["result"]
        print(f"[{name}] running", flush=True)
        start = time.perf_counter()
        result = work()
        wall = time.perf_counter() - start
        tmp = record_path.with_name(f".{record_path.name}.tmp")
        tmp.write_text(json.dumps({"config": config, "wall_s": wall, "result": result},
                                  indent=2, default=_plain) + "\n")
        os.replace(tmp, record_path)
        self.walls[name] = wall
        print(f"[{name}] finished in {wall:.1f} s", flush=True)
        return result


def reproduce(plan: Plan, out: Path, progress: bool = True) -> Path:
    """Run every stage of ``plan`` into ``out``; returns the path of the HTML report."""
    from lifresponse.datasets import load_mnist, validation_split
    from lifresponse.reproduction_report import write_reproduction_report

    if plan.data is not None and not Path(plan.data).is_dir():
        raise ParameterError(f"--data: {plan.data} is not a directory")
    stages = Stages(out)
    calibrations = {tau: stages.run(f"calibrate_tau{tau:g}", _calibration_config(plan, tau),
                                    lambda tau=tau: _calibrate(plan, tau, out))
                    for tau in plan.tau_syns}
    digits = load_mnist(plan.data)
    n_validation = plan.validation or len(digits) // 5
    train_set, validation_set = validation_split(digits, n_validation, seed=0)
    held_out = validation_set.subset(slice(0, plan.images))
    training = {}
    deployments = {}
    calibration = calibrations[5.0]
    for activation in ACTIVATIONS:
        base = {"plan": asdict(plan), "activation": activation, "k": calibration["k"],
                "S": calibration["S"]}
        training[activation] = stages.run(
            f"train_{activation}", base,
            lambda a=activation: _train(plan, a, calibration, train_set, validation_set, out,
                                        progress))
        training[f"{activation}_tuned"] = stages.run(
            f"finetune_{activation}", base,
            lambda a=activation: _finetune(plan, a, train_set, validation_set, out, progress))
        for suffix in ("", "_tuned"):
            name = f"{activation}{suffix}"
            deployments[name] = stages.run(
                f"deploy_{name}", base,
                lambda n=name: _deploy(plan, n, held_out, out, progress))
    energy = stages.run("energy", {"plan": asdict(plan)},
                        lambda: _energy(out / "runs" / f"{ENERGY_NETWORK}.h5",
                                        out / "energy"))
    return write_reproduction_report(out, plan, calibrations, training, deployments, energy,
                                     stages.walls)


def _calibration_config(plan: Plan, tau: float) -> dict:
    return {"tau_syn": tau, "means": plan.means, "stds": plan.stds, "trials": plan.trials,
            "duration": plan.sweep_ms, "timestep": plan.timestep, "seed": plan.seed}


def _calibrate(plan: Plan, tau: float, out: Path) -> dict:
    from lifresponse.calibration import results
    from lifresponse.calibration.drives import PoissonCurrentDrive
    from lifresponse.calibration.fit import calibration_record, fit_table, write_calibration
    from lifresponse.calibration.plots import write_calibration_figures
    from lifresponse.calibration.sweep import SweepConfig, partial_path, run_sweep
    from lifresponse.grids import parse_grid

    rates = out / "calibration" / f"rates_tau{tau:g}.h5"
    config = SweepConfig(PoissonCurrentDrive(tau_syn=tau), parse_grid(plan.means, "means"),
                         parse_grid(plan.stds, "stds"), trials=plan.trials,
                         duration=plan.sweep_ms, timestep=plan.timestep, seed=plan.seed,
                         threads=plan.threads)
    if rates.exists():  # a rates file of an earlier, different configuration
        rates.unlink()
    run_sweep(config, rates, resume=partial_path(rates).exists(), progress=False)
    table = results.read(rates)
    fits = fit_table(table)
    record = calibration_record(table, fits)
    write_calibration(record, out / "calibration" / f"calibration_tau{tau:g}.json")
    write_calibration_figures(table, fits[0], out / "calibration" / f"fit_tau{tau:g}.png")
    return record


def _train(plan, activation, calibration, train_set, validation_set, out, progress) -> dict:
    from lifresponse.neuron import LIFParams
    from lifresponse.training import trainer

    tau = calibration["tau_syn_ms"]
    neuron = LIFParams.from_dict({**calibration["neuron"], "tau_syn_E": tau, "tau_syn_I": tau})
    model = trainer.make_model(ARCHITECTURE, activation, calibration["k"], calibration["S"],
                               tau, neuron, plan.seed)
    settings = trainer.TrainSettings(epochs=plan.epochs, seed=plan.seed, threads=plan.threads,
                                     rate_limit=plan.rate_limit)
    path = out / "networks" / f"{activation}.h5"
    history = trainer.train(model, train_set, validation_set, settings, path, resume=True,
                            progress=progress)
    trainer.export(model, path, neuron, calibration["timestep_ms"],
                   _provenance(train_set, validation_set, settings, history))
    return {"validation_error": 1 - history.validation_accuracy[-1], "network": str(path),
            "epoch_seconds": history.epoch_seconds}


def _finetune(plan, activation, train_set, validation_set, out, progress) -> dict:
    from lifresponse.networks import network_file
    from lifresponse.training import trainer
    from lifresponse.training.model import SpikingActivation, SpikingNetwork

    network = network_file.read(out / "networks" / f"{activation}.h5")
    model = SpikingNetwork.from_network(network)
    model.set_activation(SpikingActivation("noisy-softplus", network.k, network.S,
                                           network.tau_syn, network.softplus_sigma,
                                           network.neuron))
    settings = trainer.TrainSettings(epochs=1, learning_rate=1e-4, label_offset=0.01,
                                     seed=plan.seed, threads=plan.threads,
                                     rate_limit=plan.rate_limit)
    path = out / "networks" / f"{activation}_tuned.h5"
    history = trainer.train(model, train_set, validation_set, settings, path, resume=True,
                            progress=progress)
    trainer.export(model, path, network.neuron, network.timestep,
                   {**_provenance(train_set, validation_set, settings, history),
                    "fine_tuned_from": activation})
    return {"validation_error": 1 - history.validation_accuracy[-1], "network": str(path)}


def _provenance(train_set, validation_set, settings, history) -> dict:
    return {"data": train_set.source, "n_train": len(train_set),
            "n_validation": len(validation_set), "split_seed": 0, "epochs": settings.epochs,
            "seed": settings.seed, "label_offset": settings.label_offset,
            "rate_limit_hz": settings.rate_limit,
            "validation_accuracy": history.validation_accuracy[-1]}


def _deploy(plan, name, held_out, out, progress) -> dict:
    from lifresponse.networks.deploy import DeployConfig, deploy

    path = out / "runs" / f"{name}.h5"
    path.unlink(missing_ok=True)  # an earlier configuration's run
    # Every layer's spikes only where they are used (energy, Fig. 12): recording them all
    # doubles NEST's wall time.
    record = "all" if name == ENERGY_NETWORK else "output"
    run = deploy(out / "networks" / f"{name}.h5", held_out,
                 DeployConfig(window=plan.window_ms, threads=plan.threads, seed=plan.seed,
                              record=record),
                 path, progress=progress)
    return {"run": str(path), "wall_s": run.attrs["wall_time_s"], **run.attrs["evaluation"]}


def _energy(run_path: Path, out: Path) -> dict:
    from lifresponse.hardware.report import write_report
    from lifresponse.networks import run_file

    return write_report(run_file.read(run_path), out)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__}")
