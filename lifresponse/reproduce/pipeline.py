"""``lifresponse reproduce``: the whole method, stage by stage, resumable.

calibrate (NEST) -> fit -> train (Noisy Softplus, ReLU, Softplus) -> fine-tune -> deploy (NEST)
-> energy -> report, each stage a call of :mod:`lifresponse.workflow`. Every stage writes its
outputs under ``out/`` plus ``<stage>.done.json`` with the configuration it ran and its wall
time; a stage whose record exists with the same configuration is skipped, so an interrupted
reproduction continues where it stopped.

Evaluation: the quick preset (and the full one on a folder without a test split) holds
validation digits out of the training file, as the network records; the full preset on a
folder with the official test split trains on every training digit and reports test-set errors
(the papers' protocol), unless the held-out protocol is asked for.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lifresponse import workflow
from lifresponse.calibration.fit import Calibration
from lifresponse.datasets import has_split, load_mnist
from lifresponse.errors import ParameterError
from lifresponse.networks.partial_run import OtherSettingsError
from lifresponse.paths import write_atomic
from lifresponse.splits import first, test_digits, training_split
from lifresponse.training import RATE_LIMIT_HZ

log = logging.getLogger(__name__)

PAPER_ACTIVATIONS = ("noisy-softplus", "relu", "softplus")  # the networks the papers compare
ARCHITECTURE = "6c5-2s-12c5-2s-10fc"
LARGE_ARCHITECTURE = "12c5-2s-64c5-2s-10fc"  # the papers' best: ReLU, then Noisy Softplus tuning
ENERGY_NETWORK = "noisy-softplus_tuned"  # its run records every layer: energy and Fig. 12


@dataclass(frozen=True)
class Plan:
    """Sizes of a reproduction. :func:`quick_plan` and :func:`full_plan` are the two presets.

    ``validation`` is the number of held-out training digits (None: the default of
    :mod:`lifresponse.splits`, 0: none); ``evaluation`` is "held-out" (DNN and SNN errors on
    them) or "test" (on the official test split); ``training_tau_syn`` (ms) picks the
    calibration the networks are trained with, one of ``tau_syns``. ``large_architecture``, if
    given, adds the papers' larger network: trained with ReLU, fine-tuned with Noisy Softplus,
    deployed like the others (stages ``train_large``, ``finetune_large``,
    ``deploy_large_tuned``). ``workers`` and
    ``scheduler`` spread the sweeps and deployments over Dask workers
    (:mod:`lifresponse.distributed`); they do not change any result.
    """

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
    evaluation: str = "held-out"
    training_tau_syn: float = 5.0
    large_architecture: str | None = None
    workers: int = 1
    scheduler: str | None = None

    def __post_init__(self):
        if self.training_tau_syn not in self.tau_syns:
            raise ParameterError("training_tau_syn", f"{self.training_tau_syn:g} ms is not one of "
                                 f"the calibrations ({', '.join(map(str, self.tau_syns))} ms)")
        if self.evaluation not in ("held-out", "test"):
            raise ParameterError("evaluation", f"'held-out' or 'test' (got {self.evaluation!r})")
        if self.evaluation == "test" and self.data is None:
            raise ParameterError("evaluation", "the test split needs a data folder (data)")
        if self.rate_limit < 0:
            raise ParameterError("rate_limit", f"must be >= 0 Hz (got {self.rate_limit})")


def quick_plan(data=None) -> Plan:
    """A few minutes on 2 cores: small calibration grid, 10 epochs, 200 digits x 500 ms."""
    return Plan("quick", (5.0,), "-0.5:1.0:0.1", "0.2,0.6,1.0", 3, 2000.0, 1.0, 10, None, 200,
                500.0, data=None if data is None else str(data))


def full_plan(data=None, held_out: bool = False) -> Plan:
    """The paper's protocol: tau_syn 1, 5, 10 ms calibrations (31 x 5 grid, 10 trials x 10 s),
    20 epochs; 500 digits x 1 s on NEST per network (the paper tested 10,000: six networks at
    that size take about 3 hours here); and the larger 12c5-2s-64c5-2s-10fc network.

    With a ``data`` folder that holds the official test split (and not ``held_out``): trained
    on all 60,000 training digits, errors measured on the test split. Otherwise 50,000
    training digits and errors on the 10,000 held out."""
    test = data is not None and not held_out and has_split(data, "test")
    return Plan("full", (1.0, 5.0, 10.0), "-0.5:1.0:0.05", "0.2:1.0:0.2", 10, 10000.0, 1.0, 20,
                0 if test else 10000, 500, 1000.0, data=None if data is None else str(data),
                evaluation="test" if test else "held-out",
                large_architecture=LARGE_ARCHITECTURE)


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
                log.info("[%s] done before, skipped", name)
                self.walls[name] = record["wall_s"]
                return record["result"]
        log.info("[%s] running", name)
        start = time.perf_counter()
        result = work()
        wall = time.perf_counter() - start
        write_atomic(record_path, json.dumps({"config": config, "wall_s": wall,
                                              "result": result}, indent=2, default=_plain) + "\n")
        self.walls[name] = wall
        log.info("[%s] finished in %.1f s", name, wall)
        return result


def reproduce(plan: Plan, out: Path, progress: bool = True) -> Path:
    """Run every stage of ``plan`` into ``out``; returns the path of the HTML report."""
    from lifresponse.reproduce.report import write_reproduction_report

    if plan.data is not None and not Path(plan.data).is_dir():
        raise ParameterError("data", f"{plan.data} is not a directory")
    out = Path(out)
    stages = Stages(out)
    calibrations = {tau: stages.run(f"calibrate_tau{tau:g}", _calibration_config(plan, tau),
                                    lambda tau=tau: _calibrate(plan, tau, out))
                    for tau in plan.tau_syns}
    digits = load_mnist(plan.data)
    evaluated = (test_digits(plan.data) if plan.evaluation == "test" else
                 training_split(digits, plan.validation, seed=0).validation)
    shown = first(evaluated, plan.images)
    calibration = Calibration.from_record(
        calibrations[plan.training_tau_syn],
        str(out / "calibration" / f"calibration_tau{plan.training_tau_syn:g}.json"))
    training, deployments = {}, {}
    for activation in PAPER_ACTIVATIONS:
        base = {"plan": _results_plan(plan), "activation": activation, "k": calibration.k,
                "S": calibration.S}
        training[activation] = stages.run(
            f"train_{activation}", base,
            lambda a=activation: _train(plan, a, a, ARCHITECTURE, calibration, digits,
                                        evaluated, out, progress))
        training[f"{activation}_tuned"] = stages.run(
            f"finetune_{activation}", base,
            lambda a=activation: _finetune(plan, a, digits, evaluated, out, progress))
        for suffix in ("", "_tuned"):
            name = f"{activation}{suffix}"
            # images from rest since this release: deployments made before run again
            deployments[name] = stages.run(
                f"deploy_{name}", {**base, "protocol": "rest"},
                lambda n=name: _deploy(plan, n, shown, out, progress))
    if plan.large_architecture:
        base = {"plan": _results_plan(plan), "architecture": plan.large_architecture,
                "activation": "relu", "k": calibration.k, "S": calibration.S}
        training["large"] = stages.run(
            "train_large", base,
            lambda: _train(plan, "large", "relu", plan.large_architecture, calibration, digits,
                           evaluated, out, progress))
        training["large_tuned"] = stages.run(
            "finetune_large", base,
            lambda: _finetune(plan, "large", digits, evaluated, out, progress))
        deployments["large_tuned"] = stages.run(
            "deploy_large_tuned", {**base, "protocol": "rest"},
            lambda: _deploy(plan, "large_tuned", shown, out, progress))
    energy = stages.run("energy", {"plan": _results_plan(plan), "protocol": "rest"},
                        lambda: workflow.energy(out / "runs" / f"{ENERGY_NETWORK}.h5",
                                                out=out / "energy"))
    return write_reproduction_report(out, plan, calibrations, training, deployments, energy,
                                     stages.walls)


def _results_plan(plan: Plan) -> dict:
    """The plan's fields that change results (where the work ran does not)."""
    return {k: v for k, v in asdict(plan).items() if k not in ("workers", "scheduler")}


def _calibration_config(plan: Plan, tau: float) -> dict:
    return {"tau_syn": tau, "means": plan.means, "stds": plan.stds, "trials": plan.trials,
            "duration": plan.sweep_ms, "timestep": plan.timestep, "seed": plan.seed}


def _calibrate(plan: Plan, tau: float, out: Path) -> dict:
    from lifresponse.calibration.sweep import partial_path

    rates = out / "calibration" / f"rates_tau{tau:g}.h5"
    config = workflow.sweep_config("poisson", plan.means, plan.stds, tau_syn=tau,
                                   trials=plan.trials, duration=plan.sweep_ms,
                                   timestep=plan.timestep, seed=plan.seed, threads=plan.threads,
                                   workers=plan.workers, scheduler=plan.scheduler)
    if rates.exists():  # a rates file of an earlier, different configuration
        rates.unlink()
    table = workflow.calibrate(config, out=rates, resume=partial_path(rates).exists(),
                               progress=False)
    calibration = workflow.fit(table, out=out / "calibration" / f"calibration_tau{tau:g}.json",
                               plot=out / "calibration" / f"fit_tau{tau:g}.png")
    return calibration.record


def _settings(plan: Plan) -> dict:
    return {"seed": plan.seed, "threads": plan.threads, "rate_limit": plan.rate_limit}


def _train(plan, name, activation, architecture, calibration, digits, evaluated, out,
           progress) -> dict:
    path = out / "networks" / f"{name}.h5"
    network = workflow.train(calibration, architecture=architecture, activation=activation,
                             digits=digits, validation=plan.validation, split_seed=0, out=path,
                             resume=True, force=True, progress=progress, epochs=plan.epochs,
                             **_settings(plan))
    ann = workflow.evaluate_ann(network, digits=evaluated)
    return {"ann_error": 1 - ann.accuracy, "network": str(path),
            "epoch_seconds": network.provenance["history"]["epoch_seconds"]}


def _finetune(plan, name, digits, evaluated, out, progress) -> dict:
    path = out / "networks" / f"{name}_tuned.h5"
    network = workflow.finetune(out / "networks" / f"{name}.h5", digits=digits, out=path,
                                resume=True, force=True, progress=progress, **_settings(plan))
    ann = workflow.evaluate_ann(network, digits=evaluated)
    return {"ann_error": 1 - ann.accuracy, "network": str(path)}


def _deploy(plan, name, shown, out, progress) -> dict:
    path = out / "runs" / f"{name}.h5"
    path.unlink(missing_ok=True)  # an earlier configuration's run
    # Every layer's spikes only where they are used (energy, Fig. 12): recording them all
    # doubles NEST's wall time.
    record = "all" if name == ENERGY_NETWORK else "output"
    options = dict(digits=shown, out=path, progress=progress, resume=True, window=plan.window_ms,
                   threads=plan.threads, seed=plan.seed, record=record, workers=plan.workers,
                   scheduler=plan.scheduler)
    try:
        run = workflow.deploy(out / "networks" / f"{name}.h5", **options)
    except OtherSettingsError as exc:  # an earlier configuration's unfinished run: superseded
        log.warning("%s: an unfinished run of an earlier configuration, removed", exc.folder)
        shutil.rmtree(exc.folder)
        run = workflow.deploy(out / "networks" / f"{name}.h5", **options)
    return {"run": str(path), "wall_s": run.attrs["wall_time_s"], **run.attrs["evaluation"]}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__}")
