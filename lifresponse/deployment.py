"""Run a network file as an SNN on a backend; spike counts per (image, neuron) into ``run.h5``.

A run is a list of blocks of images, the unit of work, of distribution and of resumption. A
presenter builds the network once and presents blocks one after another in one continuing
simulation, each image from rest by default (:mod:`lifresponse.networks.blocks` has the
protocols): on a PyNN backend the input sources get their spike times block by block (default
25 images), so memory stays bounded and nothing is rebuilt; the torch backend simulates a block
(its batch) at once (:mod:`lifresponse.backends.torch.backend`). Blocks run in this process
or on Dask workers (:mod:`lifresponse.distributed`); each finished block is kept at once
(:mod:`lifresponse.networks.partial_run`), written into the run file at its images' rows and
added to the evaluation (:class:`lifresponse.networks.evaluation.Evaluator`), so a run needs the
memory of a block, whatever its number of images; the run file is the same whoever ran the
blocks, in whatever order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

import lifresponse
from lifresponse import backends, distributed
from lifresponse.backends.pynn.building import CONNECTORS
from lifresponse.backends.spinnaker.weights import BoardScaling
from lifresponse.cores import available_cores
from lifresponse.datasets import Digits
from lifresponse.errors import LifResponseError, ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.blocks import PROTOCOLS, TIME_BIN_MS, n_time_bins, settle_time
from lifresponse.networks.encoding import Presentation
from lifresponse.networks.evaluation import Evaluator
from lifresponse.networks.images import check_images
from lifresponse.networks.partial_run import PartialRun
from lifresponse.networks.run_file import RunRecord
from lifresponse.networks.topology import fan_outs, network_connections
from lifresponse.paths import sha256_of


class RunFileExistsError(LifResponseError):
    """The run file exists already."""

VIRTUAL_BOARD_NOTE = backends.virtual_board_note("the network")


@dataclass(frozen=True)
class DeployConfig:
    """How to run.

    Attributes
    ----------
    backend : str
    window : float
        Presentation time per image (ms).
    gap : float
        Silence after each image (ms).
    block : int
        Images per block of input spike times.
    seed : int
        Seed of the Poisson inputs and the simulator.
    threads : int
        NEST or torch threads (per worker); default the cores this process may use.
    record : {"output", "all"}
        Layers whose spikes are counted (all are needed for the energy report).
    connectors : {"native", "lists"}
        sPyNNaker's local-only connectors where possible, or connection lists
        (:func:`lifresponse.backends.pynn.building.build`).
    protocol : {"rest", "continuing"}, optional
        Whether every image starts from rest; None: the backend's default ("rest" on NEST and
        torch, "continuing" on SpiNNaker, which cannot set its state during a run).
    device : str
        torch device of the torch backend ("cpu", "cuda", "cuda:1").
    dtype : {"float64", "float32"}
        Precision of the torch backend (float64 reproduces NEST).
    batch : int
        Images simulated at once by the torch backend (its block).
    workers : int
        Processes the blocks are spread over (Dask ``LocalCluster``); 1 runs in this process.
        Does not change the counts (with the "rest" protocol).
    scheduler : str, optional
        Address of a running Dask scheduler to send the blocks to instead.
    long_ok : bool
        Allow a run of more than about a day on NEST (:func:`check_size`).
    spinnaker_weights : BoardScaling, optional
        SpiNNaker's weight storage (:mod:`lifresponse.backends.spinnaker.weights`): the torch
        backend runs with the 16-bit weights and saturating input sums it gives (a forecast
        of the board); sPyNNaker is given its ``max_expected_summed_weight`` per population.
    watch_inputs : bool
        torch backend: record every layer's largest summed input per step and its
        saturations (``input_peaks``, ``input_saturations`` of the run).
    """

    backend: str = "nest"
    window: float = 1000.0
    gap: float = 0.0
    block: int = 25
    seed: int = 1
    threads: int = field(default_factory=available_cores)
    record: str = "all"
    connectors: str = "native"
    protocol: str | None = None
    device: str = "cpu"
    dtype: str = "float64"
    batch: int = 100
    workers: int = 1
    scheduler: str | None = None
    long_ok: bool = False
    spinnaker_weights: BoardScaling | None = None
    watch_inputs: bool = False

    def __post_init__(self):
        for name in ("window", "gap"):
            if not math.isfinite(getattr(self, name)):
                raise ParameterError(name, f"must be finite (got {getattr(self, name)})")
        if not self.window > 0:
            raise ParameterError("window", f"must be > 0 ms (got {self.window:g})")
        if not self.gap >= 0:
            raise ParameterError("gap", f"must be >= 0 ms (got {self.gap:g})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not (
                1 <= self.seed < 2**31):
            raise ParameterError("seed", f"must be a whole number in 1 .. 2^31 - 1 (got "
                                 f"{self.seed!r})")
        if self.block < 1:
            raise ParameterError("block", f"must be >= 1 (got {self.block})")
        if self.threads < 1:
            raise ParameterError("threads", f"must be >= 1 (got {self.threads})")
        if self.record not in ("output", "all"):
            raise ParameterError("record", f"'output' or 'all' (got {self.record!r})")
        if self.connectors not in CONNECTORS:
            raise ParameterError("connectors", f"one of {', '.join(CONNECTORS)} "
                                 f"(got {self.connectors!r})")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ParameterError("protocol", f"one of {', '.join(PROTOCOLS)} (got "
                                 f"{self.protocol!r})")
        if self.dtype not in ("float64", "float32"):
            raise ParameterError("dtype", f"'float64' or 'float32' (got {self.dtype!r})")
        if self.batch < 1:
            raise ParameterError("batch", f"must be >= 1 (got {self.batch})")
        distributed.check_workers(self.workers, self.scheduler)
        backends.check_name(self.backend)


# NEST, 2 threads, here: 5.5 images/s of 300 steps for 6c5-2s-12c5-2s-10fc's 5,290 neurons
# (benchmarks/results/torch_backend.md), so a day is about 7.5e11 neuron-timesteps
NEURON_STEPS_PER_HOUR = 5.5 * 300 * 5290 * 3600
LONG_RUN_NEURON_STEPS = 24 * NEURON_STEPS_PER_HOUR


def check_size(network: network_file.Network, n_images: int, config: DeployConfig) -> None:
    """Refuse, unless ``config.long_ok``, a run of more than about a day of simulation on
    NEST here (neurons x timesteps x images)."""
    steps = (config.window + config.gap) / network.timestep
    neurons = sum(layer.n_out for layer in network.layers)
    work = neurons * steps * n_images
    if work > LONG_RUN_NEURON_STEPS and not config.long_ok:
        raise ParameterError(
            "window", f"{n_images} images x {steps:.3g} steps x {neurons} neurons = {work:.3g} "
            f"neuron-timesteps, about {work / NEURON_STEPS_PER_HOUR:.3g} h on NEST here (more "
            "than a day); make it smaller or confirm it (--yes)")


def deploy(network, digits: Digits, config: DeployConfig = DeployConfig(), out=None,
           progress: bool = True, resume: bool = False, force: bool = False) -> RunRecord:
    """Simulate ``digits`` on ``network``; return the run, and write it to ``out`` if given.

    Parameters
    ----------
    network : Network or path-like
        The network, or its file.
    digits : Digits
        Images to present, one after another, in this order.
    config : DeployConfig
    out : path-like, optional
        Run file to write, block by block under a temporary name, put in place when the whole
        run is done; an existing one is never overwritten. Every finished block is also kept in
        ``<out>.partial/`` until then (:mod:`lifresponse.networks.partial_run`). None: the run
        is kept in memory and returned.
    progress : bool
        Show a progress bar.
    resume : bool
        Continue the unfinished run in ``<out>.partial/`` (same settings only).
    force : bool
        Replace an existing ``out`` once the new run is complete.
    """
    if out is not None and Path(out).exists() and not force:
        raise RunFileExistsError(f"{out} already exists; it is never overwritten: choose another "
                                 "out, delete it, or replace it (--force)")
    network_path = None
    if not isinstance(network, network_file.Network):
        network_path, network = Path(network), network_file.read(network)
    pixels = check_images(digits, network, dtype=None)  # float64 block by block (_present)
    for name, value in (("window", config.window), ("gap", config.gap)):
        steps = value / network.timestep
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ParameterError(name, f"must be a whole number of the network's "
                                 f"{network.timestep:g} ms timesteps (got {value:g} ms)")
    backend = backends.get(config.backend)
    protocol = config.protocol or backend.protocols[0]
    if protocol not in backend.protocols:
        raise ParameterError("protocol", f"backend {config.backend!r} runs "
                             f"{' or '.join(map(repr, backend.protocols))}, not {protocol!r}")
    if config.device != "cpu" and not backend.runs_on_devices:
        raise ParameterError("device", f"backend {config.backend!r} runs on its own simulator, "
                             f"not on a torch device (got {config.device!r}); use --backend "
                             "torch")
    if config.connectors != DeployConfig.connectors and not backend.has_own_connectors:
        raise ParameterError("connectors", f"{config.backend!r} has no connectors of its own "
                             f"(got {config.connectors!r}): it builds from connection lists; "
                             "leave it out")
    if config.spinnaker_weights is not None and not backend.takes_spinnaker_weights:
        raise ParameterError("spinnaker_weights", f"{config.backend!r} neither loads SpiNNaker's "
                             "16-bit weights nor forecasts them; use --backend spinnaker or "
                             "torch")
    if config.watch_inputs and not backend.runs_on_devices:
        raise ParameterError("watch_inputs", f"only the torch backend watches its inputs (got "
                             f"{config.backend!r})")
    for name in ("dtype", "batch"):  # the exact simulator's own settings
        if getattr(config, name) != getattr(DeployConfig, name) and not backend.runs_on_devices:
            raise ParameterError(name, f"belongs to the torch backend; {config.backend!r} "
                                 f"simulates in its own precision and batches (got "
                                 f"{getattr(config, name)!r}): leave it out, or use --backend "
                                 "torch")
    n_images = len(pixels)
    check_size(network, n_images, config)
    # "continuing" carries each image's state into the next, block boundaries included: one
    # block in one process (what a SpiNNaker board does anyway)
    whole = protocol == "continuing" or backend.inputs_fixed_at_build
    if whole and distributed.wanted(config.workers, config.scheduler):
        raise ParameterError("workers", f"the {protocol!r} protocol on {config.backend!r} runs "
                             "as one block in one process; use --protocol rest on NEST")
    size = n_images if whole else min(backend.images_per_block(config), n_images)
    config = replace(config, block=min(config.block, size), batch=min(config.batch, size))
    settle = settle_time(network) if protocol == "rest" else 0.0
    presentation = Presentation(config.window, config.gap, network.timestep, settle)
    token = _network_token(network_path, network)
    connections = network_connections(network)
    fan_out = fan_outs(connections)
    last = len(network.layers) - 1
    recorded = range(last + 1) if config.record == "all" else [last]
    time_bins = TIME_BIN_MS * np.arange(1, n_time_bins(config.window) + 1)
    evaluator = Evaluator(network, digits.labels, pixels, config.window, time_bins)
    partial = None  # from here on, whatever fails leaves only what finished
    if out is not None:
        partial = PartialRun(out, _settings(token, digits, pixels, config, protocol, size),
                             resume)
    done = partial.firsts(_block_shapes(network, recorded, pixels.shape[1], len(time_bins))) \
        if partial else set()
    todo = [(first, pixels[first:first + size]) for first in range(0, n_images, size)
            if first not in done]
    info, watched = None, None
    start = time.perf_counter()
    try:
        writer = run_file.RunWriter(out, digits.labels, {i: network.layers[i].n_out
                                                         for i in recorded},
                                    fan_out, pixels.shape[1], network.layers[-1].n_out,
                                    time_bins, size)
        with writer, tqdm(total=n_images, initial=n_images - sum(len(p) for _, p in todo),
                          unit="image", disable=not progress, desc="deploy") as bar:
            kept = partial.finished() if partial else ()
            presented = _present(backend, network, token, presentation, config, todo)
            if backend.simulates_without_gil:
                presented = _one_ahead(presented)
            for block in itertools.chain(kept, presented):
                if partial and block.first not in done:
                    partial.keep(block)
                writer.add(block)
                evaluator.add(block)
                info = block.info
                watched = _add_watched(watched, info)
                bar.update(block.n_images if block.first not in done else 0)
            attrs = _run_attrs(network, network_path, token, digits, config, backend, protocol,
                               settle, size, len(done), connections, list(recorded), info,
                               time.perf_counter() - start)
            if not info["virtual"]:
                attrs["evaluation"] = evaluator.result().summary()
            if config.spinnaker_weights is not None:
                attrs["spinnaker_weights"] = json.loads(config.spinnaker_weights.to_json())
            attrs.update(watched or {})
            record = writer.finish(attrs)
    except BaseException:
        if partial:  # what was kept stays for --resume; an empty store is no run at all
            partial.remove_if_empty()
        raise
    if partial:
        partial.remove()
    return record


def _add_watched(watched: dict | None, info: dict) -> dict | None:
    """The watched inputs of the blocks so far (:func:`lifresponse.backends.torch.backend.
    watched_inputs`) with one more block's ``info``: the larger peaks, the saturations added.
    """
    if "input_peaks" not in info:
        return watched
    if watched is None:
        return {key: info[key] for key in ("input_peaks", "input_saturations")}
    return {"input_peaks": [np.maximum(a, b).tolist() for a, b in
                            zip(watched["input_peaks"], info["input_peaks"], strict=True)],
            "input_saturations": [np.add(a, b).tolist() for a, b in
                                  zip(watched["input_saturations"], info["input_saturations"],
                                      strict=True)]}


def _block_shapes(network, recorded, n_inputs: int, n_bins: int) -> dict:
    """What every array of a kept block must look like, by its name in the block file
    (:meth:`~lifresponse.networks.partial_run.PartialRun.firsts`): one image's row of the
    per-image arrays, and the whole shape of the events by time (one value per time bin)."""
    rows = {"input_counts": (n_inputs,), "by_time": (n_bins, network.layers[-1].n_out)}
    rows.update({f"counts_{i}": (network.layers[i].n_out,) for i in recorded})
    return {"rows": rows, "whole": {f"events_{i}": (n_bins,) for i in [-1, *recorded]}}


def _present(backend, network, token, presentation, config, todo):
    """Each block of ``todo`` [(first, pixels)] presented, as it finishes: in this process, or
    on Dask workers (:mod:`lifresponse.distributed`)."""
    if not todo:
        return
    if distributed.wanted(config.workers, config.scheduler):
        yield from distributed.run_tasks(
            distributed.present_block,
            [(token, config.backend, presentation, config, p, first) for first, p in todo],
            config.workers, config.scheduler, config.threads, shared=(network,))
        return
    presenter = backend.presenter(network, presentation, config)
    blocks = ((first, np.asarray(chunk, dtype=float)) for first, chunk in todo)
    try:
        if hasattr(presenter, "present_blocks"):  # overlaps each block with the next
            yield from presenter.present_blocks(blocks)
        else:
            for first, pixels in blocks:
                yield presenter.present(pixels, first)
    finally:
        presenter.close()


def _run_attrs(network, network_path, token: str, digits: Digits, config: DeployConfig,
               backend, protocol: str, settle: float, size: int, resumed: int, connections,
               recorded: list, info: dict, wall: float) -> dict:
    """What ``run.h5`` records of the run besides its counts and evaluation."""
    virtual = info["virtual"]
    return {
        "network_file": str(network_path) if network_path else "(in memory)",
        "network_sha256": token if network_path else "",
        "architecture": network.architecture, "activation": network.activation,
        "backend": config.backend, "backend_version": info["version"],
        "lifresponse_version": lifresponse.__version__, "timestep_ms": network.timestep,
        "window_ms": config.window, "gap_ms": config.gap, "protocol": protocol,
        "settle_ms": settle, "input_rate_hz": network.input_rate,
        "tau_syn_ms": network.tau_syn, "seed": config.seed, "threads": config.threads,
        "n_images": len(digits.labels), "spike_precision": backend.spike_precision,
        "spikes_returned": not virtual, "note": VIRTUAL_BOARD_NOTE if virtual else "",
        "wall_time_s": wall, "blocks_resumed": resumed, "block_images": size,
        "workers": config.workers if config.scheduler is None else "scheduler",
        "data": digits.source,
        "n_synapses": sum(int(np.count_nonzero(c.weight)) for into in connections
                          for c in into),
        "synapses_into_layers": [sum(int(np.count_nonzero(c.weight)) for c in into)
                                 for into in connections],
        "recorded_layers": recorded, "connectors": info["connectors"],
        "spinnaker_energy_report": info["energy_report"],
        **{k: info[k] for k in ("device", "dtype", "batch", "step_loop", "spinnaker_scaling")
           if k in info},
    }


def _one_ahead(blocks):
    """The items of the iterator ``blocks``, each computed in a background thread while the
    caller works on the one before (the next block simulates while this one is written and
    evaluated). An exception in the thread is raised here; leaving early stops the thread
    after its current block and closes ``blocks``."""
    handover = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for block in blocks:
                handover.put(block)
                if stop.is_set():
                    break
            else:
                handover.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            handover.put(exc)
        finally:
            blocks.close()

    thread = threading.Thread(target=produce, name="lifresponse-present", daemon=True)
    thread.start()
    try:
        while (item := handover.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                handover.get(timeout=0.1)  # unblock a waiting put
            except queue.Empty:
                pass
        thread.join()


def _settings(token: str, digits: Digits, pixels: np.ndarray, config: DeployConfig,
              protocol: str, size: int) -> dict:
    """What changes a run's counts, to check a resumed run against (JSON-able)."""
    seen = hashlib.sha256()  # of the float64 pixels, a block at a time
    for first in range(0, len(pixels), 1000):
        seen.update(np.ascontiguousarray(pixels[first:first + 1000], dtype=np.float64).tobytes())
    seen.update(np.asarray(digits.labels, np.int64).tobytes())
    return {"network_sha256": token, "digits_sha256": seen.hexdigest(),
            "n_images": len(pixels), "backend": config.backend, "window_ms": config.window,
            "gap_ms": config.gap, "protocol": protocol, "seed": config.seed,
            "threads": config.threads, "record": config.record,
            "connectors": config.connectors, "device": config.device, "dtype": config.dtype,
            "block_images": size, "watch_inputs": config.watch_inputs,
            "spinnaker_weights": None if config.spinnaker_weights is None
            else json.loads(config.spinnaker_weights.to_json())}


def _network_token(path, network: network_file.Network) -> str:
    """SHA-256 of the network file, or of the weights of a network in memory."""
    if path is not None:
        return sha256_of(path)
    digest = hashlib.sha256(network.architecture.encode())
    for layer in network.layers:
        digest.update(np.ascontiguousarray(layer.weight, dtype=np.float64).tobytes())
    digest.update(repr(network.neuron).encode())
    return digest.hexdigest()
