"""Run a network file as an SNN on a backend; spike counts per (image, neuron) into ``run.h5``.

The network is built once, and images are presented one after another in one continuing
simulation, each from rest by default (:mod:`lifresponse.networks.presenting` has the
protocols). On a PyNN backend the input sources get their spike times block by block (default
25 images), so memory stays bounded and nothing is rebuilt; the torch backend simulates a batch
of images at once (:mod:`lifresponse.backends.torch`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import lifresponse
from lifresponse import backends
from lifresponse.datasets import Digits
from lifresponse.errors import LifResponseError, ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.builder import CONNECTORS
from lifresponse.networks.encoding import Presentation
from lifresponse.networks.evaluation import evaluate
from lifresponse.networks.presenting import PROTOCOLS, TIME_BIN_MS, settle_time
from lifresponse.networks.run_file import RunRecord


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
        NEST threads.
    record : {"output", "all"}
        Layers whose spikes are counted (all are needed for the energy report).
    connectors : {"native", "lists"}
        sPyNNaker's local-only connectors where possible, or connection lists
        (:func:`lifresponse.networks.builder.build`).
    protocol : {"rest", "continuing"}, optional
        Whether every image starts from rest; None: the backend's default ("rest" on NEST and
        torch, "continuing" on SpiNNaker, which cannot set its state during a run).
    device : str
        torch device of the torch backend ("cpu", "cuda", "cuda:1").
    dtype : {"float64", "float32"}
        Precision of the torch backend (float64 reproduces NEST).
    batch : int
        Images simulated at once by the torch backend.
    """

    backend: str = "nest"
    window: float = 1000.0
    gap: float = 0.0
    block: int = 25
    seed: int = 1
    threads: int = 2
    record: str = "all"
    connectors: str = "native"
    protocol: str | None = None
    device: str = "cpu"
    dtype: str = "float64"
    batch: int = 500

    def __post_init__(self):
        if not self.window > 0:
            raise ParameterError(f"window: must be > 0 ms (got {self.window:g})")
        if not self.gap >= 0:
            raise ParameterError(f"gap: must be >= 0 ms (got {self.gap:g})")
        if self.block < 1:
            raise ParameterError(f"block: must be >= 1 (got {self.block})")
        if self.threads < 1:
            raise ParameterError(f"threads: must be >= 1 (got {self.threads})")
        if self.record not in ("output", "all"):
            raise ParameterError(f"record: 'output' or 'all' (got {self.record!r})")
        if self.connectors not in CONNECTORS:
            raise ParameterError(f"connectors: one of {', '.join(CONNECTORS)} "
                                 f"(got {self.connectors!r})")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ParameterError(f"protocol: one of {', '.join(PROTOCOLS)} (got "
                                 f"{self.protocol!r})")
        if self.dtype not in ("float64", "float32"):
            raise ParameterError(f"dtype: 'float64' or 'float32' (got {self.dtype!r})")
        if self.batch < 1:
            raise ParameterError(f"batch: must be >= 1 (got {self.batch})")
        backends.check_name(self.backend)


def check_images(digits: Digits, network: network_file.Network) -> np.ndarray:
    """Flattened pixels, after checking their shape and range against the network."""
    pixels = np.asarray(digits.images, dtype=float)
    expected = int(np.prod(network.input_shape))
    if pixels[0].size != expected:
        raise ParameterError(f"images of {pixels.shape[1:]} pixels do not fit the network's "
                             f"input {network.input_shape}")
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise ParameterError(f"pixels must lie in [0, 1] (got {np.nanmin(pixels):g} .. "
                             f"{np.nanmax(pixels):g})")
    return pixels.reshape(len(pixels), -1)


def deploy(network, digits: Digits, config: DeployConfig = DeployConfig(), out=None,
           progress: bool = True) -> RunRecord:
    """Simulate ``digits`` on ``network``; return the run, and write it to ``out`` if given.

    Parameters
    ----------
    network : Network or path-like
        The network, or its file.
    digits : Digits
        Images to present, one after another, in this order.
    config : DeployConfig
    out : path-like, optional
        Run file to write, only when the whole run is done (atomically); an existing one is
        never overwritten. None: nothing is written.
    progress : bool
        Show a progress bar.
    """
    if out is not None and Path(out).exists():
        raise RunFileExistsError(f"{out} already exists; it is never overwritten: choose another "
                                 "out or delete it")
    network_path = None
    if not isinstance(network, network_file.Network):
        network_path, network = Path(network), network_file.read(network)
    pixels = check_images(digits, network)
    for name, value in (("window", config.window), ("gap", config.gap)):
        steps = value / network.timestep
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ParameterError(f"{name}: must be a whole number of the network's "
                                 f"{network.timestep:g} ms timesteps (got {value:g} ms)")
    backend = backends.get(config.backend)
    protocol = config.protocol or backend.protocols[0]
    if protocol not in backend.protocols:
        raise ParameterError(f"protocol: backend {config.backend!r} runs "
                             f"{' or '.join(map(repr, backend.protocols))}, not {protocol!r}")
    if config.device != "cpu" and not backend.runs_on_devices:
        raise ParameterError(f"device: backend {config.backend!r} runs on its own simulator, "
                             f"not on a torch device (got {config.device!r}); use --backend "
                             "torch")
    settle = settle_time(network.neuron, network.timestep) if protocol == "rest" else 0.0
    presentation = Presentation(config.window, config.gap, network.timestep, settle)
    start = time.perf_counter()
    activity = backend.present(network, pixels, presentation, config, progress)
    wall = time.perf_counter() - start
    virtual = activity.virtual
    attrs = {
        "network_file": str(network_path) if network_path else "(in memory)",
        "network_sha256": _sha256(network_path) if network_path else "",
        "architecture": network.architecture, "activation": network.activation,
        "backend": config.backend, "backend_version": activity.version,
        "lifresponse_version": lifresponse.__version__, "timestep_ms": network.timestep,
        "window_ms": config.window, "gap_ms": config.gap, "protocol": protocol,
        "settle_ms": settle, "input_rate_hz": network.input_rate,
        "tau_syn_ms": network.tau_syn, "seed": config.seed, "threads": config.threads,
        "n_images": len(pixels), "spike_precision": backend.spike_precision,
        "spikes_returned": not virtual, "note": VIRTUAL_BOARD_NOTE if virtual else "",
        "wall_time_s": wall, "data": digits.source, "n_synapses": activity.n_synapses,
        "recorded_layers": sorted(activity.counts), "connectors": activity.connectors,
        "spinnaker_energy_report": activity.energy_report, **activity.extra,
    }
    n_bins = activity.by_time.shape[1]
    record = RunRecord(attrs, digits.labels.astype(np.int64), activity.counts,
                       activity.fan_out, activity.input_counts,
                       np.cumsum(activity.by_time, axis=1, dtype=np.uint32),
                       TIME_BIN_MS * np.arange(1, n_bins + 1),
                       events_by_time=activity.events_by_time)
    if not virtual:
        record.attrs["evaluation"] = evaluate(record, network, pixels).summary()
    if out is not None:
        run_file.write(record, out)
        record.path = Path(out)
    return record


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
