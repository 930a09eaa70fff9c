"""Checks of a network before it runs on SpiNNaker: timestep, cores, 16-bit weights, and a
mapping on an sPyNNaker virtual board (``lifresponse spinnaker check``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lifresponse.backends.spinnaker.configuration import BoardConfig, write_config
from lifresponse.backends.spinnaker.hardware import (
    APPLICATION_CORES,
    NEURONS_PER_CORE,
    SUPPORTED_TIMESTEPS,
    WEIGHT_BITS,
)
from lifresponse.errors import FileFormatError, LifResponseError
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import network_connections
from lifresponse.paths import write_atomic


class BoardFitError(LifResponseError):
    """The network needs more cores than the board has, or sPyNNaker could not map it."""


@dataclass(frozen=True)
class QuantisationReport:
    """Effect of 16-bit fixed-point weights on one projection (layer, sign).

    The scale is the power of two that just fits the largest |w| in 16 bits: the finest
    sPyNNaker can choose (the headroom it leaves for summed input in its ring buffers can make
    it coarser), so these errors are lower bounds. ``saturated`` counts weights beyond the
    representable range (none at this scale); ``zeroed`` those that round to 0.
    """

    layer: int
    receptor: str
    n_weights: int
    lsb: float
    max_relative_error: float
    rms_relative_error: float
    zeroed: int
    saturated: int


def quantisation(weights: np.ndarray, layer: int, receptor: str) -> QuantisationReport:
    """Quantise positive weight magnitudes (nA) to 16 bits with a power-of-two scale."""
    w = np.abs(np.asarray(weights, dtype=float))
    largest = float(w.max()) if w.size else 0.0
    if largest == 0.0:
        return QuantisationReport(layer, receptor, int(w.size), 0.0, 0.0, 0.0, 0, 0)
    top = 2**WEIGHT_BITS - 1
    lsb = 2.0 ** np.ceil(np.log2(largest / top))
    steps = np.round(w / lsb)
    saturated = int(np.count_nonzero(steps > top))
    quantised = np.minimum(steps, top) * lsb
    relative = np.abs(quantised - w) / w
    return QuantisationReport(layer, receptor, int(w.size), float(lsb), float(relative.max()),
                              float(np.sqrt(np.mean(relative**2))),
                              int(np.count_nonzero(quantised == 0)), saturated)


@dataclass(frozen=True)
class CheckReport:
    """Everything ``lifresponse spinnaker check`` finds."""

    timestep_ok: bool
    timestep: float
    cores_per_layer: list
    delays_ok: bool
    quantisation: list
    chips: int | None = None
    cores: int | None = None
    mapped: bool = False
    connectors: str = ""
    problems: tuple = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["quantisation"] = [asdict(q) for q in self.quantisation]
        return out


def check_network(network: Network, version: int = 5) -> CheckReport:
    """Constraint checks that need no board: timestep, neurons per core, delays, weights.

    Raises
    ------
    BoardFitError
        If the populations need more cores than a board of ``version`` has.
    """
    problems = []
    timestep_ok = any(abs(network.timestep - t) < 1e-12 for t in SUPPORTED_TIMESTEPS)
    if not timestep_ok:
        problems.append(f"timestep {network.timestep} ms: sPyNNaker runs 1.0 or 0.1 ms")
    sizes = [int(np.prod(network.input_shape))] + [layer.n_out for layer in network.layers]
    cores = [int(np.ceil(n / NEURONS_PER_CORE)) for n in sizes]
    if sum(cores) > APPLICATION_CORES[version]:
        raise BoardFitError(
            f"the network needs {sum(cores)} cores at {NEURONS_PER_CORE} neurons per core; a "
            f"SpiNN-{version} board has about {APPLICATION_CORES[version]} application cores")
    reports = []
    for index, connections in enumerate(network_connections(network)):
        excitatory, inhibitory = connections.split_by_sign()
        for part, receptor in ((excitatory, "excitatory"), (inhibitory, "inhibitory")):
            if len(part.weight):
                reports.append(quantisation(part.weight, index, receptor))
    for q in reports:
        if q.saturated:
            problems.append(f"layer {q.layer} {q.receptor}: {q.saturated} weights saturate")
    return CheckReport(timestep_ok, network.timestep, cores, True, reports,
                       problems=tuple(problems))


def map_on_virtual_board(network: Network, connectors: str = "native") -> tuple[int, int, str]:
    """Build ``network`` on an sPyNNaker virtual board (version 5) and map it.

    ``connectors`` is passed to :func:`lifresponse.backends.pynn.building.build` ("native":
    local-only convolution connectors where the network allows them, else connection lists).

    Runs in a temporary directory with its own HOME, so nothing is written to the user's home
    or working directory. Returns (chips, application cores) of the placement and the
    connectors the builder used ("native" or "lists").
    """
    from lifresponse import backends
    from lifresponse.backends.pynn.building import build

    with tempfile.TemporaryDirectory() as work, _isolated(Path(work)):
        write_config(BoardConfig("virtual"), work)
        backend = backends.get("spinnaker")
        backend.start(timestep=network.timestep)
        try:
            try:
                with backends.quiet():
                    built = build(backend, network, record="output", connectors=connectors)
                    backend.sim.run(network.timestep * 10)
            except Exception as exc:  # sPyNNaker raises many kinds when mapping fails
                raise BoardFitError(f"sPyNNaker could not map the network on a virtual "
                                    f"SpiNN-5 board: {type(exc).__name__}: {exc}") from exc
            chips, cores = backend.placements()
            return chips, cores, built.connectors
        finally:
            backend.end_in_scratch_folder()


@contextlib.contextmanager
def _isolated(work: Path):
    home, cwd = os.environ.get("HOME"), os.getcwd()
    (work / "home").mkdir()
    (work / "home" / ".spynnaker.cfg").write_text("[Machine]\n")
    os.environ["HOME"] = str(work / "home")
    os.chdir(work)
    try:
        yield
    finally:
        os.chdir(cwd)
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home


def read_mapping(path) -> dict:
    """``{"chips", "cores", "source", "populations"}`` of a ``mapping.json``
    (:func:`write_mapping`); ``populations``: the input and every layer, as mapped (None in a
    mapping written by hand)."""
    try:
        mapping = json.loads(Path(path).read_text())
        counts = {key: mapping[key] for key in ("chips", "cores")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a mapping file with chips and cores ({exc})") \
            from None
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FileFormatError(f"{path}: {key} must be a whole number >= 1 (got {value!r})")
    if counts["cores"] < counts["chips"]:
        raise FileFormatError(f"{path}: {counts['cores']} cores on {counts['chips']} chips "
                              "(every chip mapped holds at least one core)")
    check = mapping.get("check")
    populations = len(check["cores_per_layer"]) if isinstance(check, dict) and isinstance(
        check.get("cores_per_layer"), list) else None
    return {**counts, "source": f"mapping {path}", "populations": populations}


def write_mapping(report: CheckReport, path) -> None:
    """``mapping.json`` for ``lifresponse energy --mapping``."""
    if report.chips is None:
        raise FileFormatError("the network was not mapped; nothing to write")
    write_atomic(path, json.dumps({"chips": report.chips, "cores": report.cores,
                                   "source": "sPyNNaker virtual-board mapping",
                                   "check": report.to_dict()}, indent=2) + "\n")
