"""SpiNNaker: the sPyNNaker configuration file, and checks of a network before it runs there.

sPyNNaker reads ``spynnaker.cfg`` in the working directory (over ``~/.spynnaker.cfg``, which it
insists exists). lifresponse writes the working-directory file only, and says so when the home
file is missing instead of creating it behind the user's back.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lifresponse.backends.spinnaker import NEURONS_PER_CORE
from lifresponse.errors import FileFormatError, LifResponseError, ParameterError
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import network_connections

CONFIG_NAME = "spynnaker.cfg"
SUPPORTED_TIMESTEPS = (1.0, 0.1)
WEIGHT_BITS = 16
APPLICATION_CORES = {5: 48 * 16, 3: 4 * 16}  # chips x application cores per chip, by version


class BoardFitError(LifResponseError):
    """The network needs more cores than the board has, or sPyNNaker could not map it."""


@dataclass(frozen=True)
class BoardConfig:
    """Where sPyNNaker runs: ``kind`` is "virtual", "board" or "spalloc".

    Attributes
    ----------
    kind : str
    host : str
        Board address (``machine_name``) for "board"; spalloc server URL for "spalloc".
    version : int
        Board version (5 for a 48-chip SpiNN-5 board, 3 for a 4-chip SpiNN-3).
    user : str
        spalloc user name.
    """

    kind: str = "virtual"
    host: str = ""
    version: int = 5
    user: str = ""

    def __post_init__(self):
        if self.kind not in ("virtual", "board", "spalloc"):
            raise ParameterError(f"board kind must be virtual, board or spalloc (got "
                                 f"{self.kind!r})")
        if self.kind != "virtual" and not self.host:
            raise ParameterError(f"{self.kind}: a {self.kind} configuration needs a host or "
                                 f"URL (got {self.host!r})")
        if self.version not in (3, 5):
            raise ParameterError(f"version: SpiNNaker board version 3 or 5 (got "
                                 f"{self.version})")


def write_config(config: BoardConfig, directory=".") -> Path:
    """Write ``spynnaker.cfg`` for ``config`` into ``directory``; returns its path."""
    parser = configparser.ConfigParser()
    machine = {"version": str(config.version)}
    if config.kind == "virtual":
        machine["virtual_board"] = "True"
    elif config.kind == "board":
        machine["machine_name"] = config.host
    else:
        machine["spalloc_server"] = config.host
        if config.user:
            machine["spalloc_user"] = config.user
    parser["Machine"] = machine
    if config.kind != "virtual":  # a board measures its power: keep sPyNNaker's own report
        parser["Reports"] = {"write_energy_report": "True"}
    path = Path(directory) / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        parser.write(handle)
    return path


def read_config(directory=".") -> BoardConfig:
    """The configuration in ``directory/spynnaker.cfg``.

    Raises
    ------
    FileFormatError
        If the file is missing or names no machine.
    """
    path = Path(directory) / CONFIG_NAME
    parser = configparser.ConfigParser()
    try:
        if not parser.read(path):
            raise FileFormatError(f"{path}: no such file; write one with 'lifresponse spinnaker "
                                  "config'")
    except configparser.Error as exc:
        raise FileFormatError(f"{path}: not a configuration file ({exc})") from None
    machine = parser["Machine"] if parser.has_section("Machine") else {}
    version = int(machine.get("version", 5))
    if str(machine.get("virtual_board", "False")).lower() == "true":
        return BoardConfig("virtual", version=version)
    if machine.get("machine_name"):
        return BoardConfig("board", machine["machine_name"], version)
    if machine.get("spalloc_server"):
        return BoardConfig("spalloc", machine["spalloc_server"], version,
                           machine.get("spalloc_user", ""))
    raise FileFormatError(f"{path}: [Machine] names no virtual_board, machine_name or "
                          "spalloc_server")


def ensure_home_config(create: bool) -> str | None:
    """What to tell the user about ``~/.spynnaker.cfg``, which sPyNNaker insists exists:
    None if it does; with ``create``, an empty one is written."""
    home = Path.home() / ".spynnaker.cfg"
    if home.exists():
        return None
    if create:
        home.write_text("[Machine]\n")
        return f"wrote an empty {home} (sPyNNaker requires it)"
    return (f"note: sPyNNaker refuses to start without {home}; create it (it may be empty), or "
            "run again with --home-stub")


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

    ``connectors`` is passed to :func:`lifresponse.networks.builder.build` ("native": local-only
    convolution connectors where the network allows them, else connection lists).

    Runs in a temporary directory with its own HOME, so nothing is written to the user's home
    or working directory. Returns (chips, application cores) of the placement and the
    connectors the builder used ("native" or "lists").
    """
    from lifresponse import backends
    from lifresponse.networks.builder import build

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
    """``{"chips", "cores", "source"}`` of a ``mapping.json`` (:func:`write_mapping`)."""
    try:
        mapping = json.loads(Path(path).read_text())
        return {"chips": int(mapping["chips"]), "cores": int(mapping["cores"]),
                "source": f"mapping {path}"}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a mapping file with chips and cores ({exc})") \
            from None


def write_mapping(report: CheckReport, path) -> None:
    """``mapping.json`` for ``lifresponse energy --mapping``."""
    if report.chips is None:
        raise FileFormatError("the network was not mapped; nothing to write")
    Path(path).write_text(json.dumps({"chips": report.chips, "cores": report.cores,
                                      "source": "sPyNNaker virtual-board mapping",
                                      "check": report.to_dict()}, indent=2) + "\n")
