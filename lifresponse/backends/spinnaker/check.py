"""Checks of a network before it runs on SpiNNaker: timestep, cores, and a mapping on an
sPyNNaker virtual board, with the ring-buffer shifts sPyNNaker chose for its 16-bit weights
(``lifresponse spinnaker check``; the forecast of what they do is
:mod:`lifresponse.board_forecast`).
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
)
from lifresponse.backends.spinnaker.weights import BoardScaling
from lifresponse.errors import FileFormatError, LifResponseError, ParameterError
from lifresponse.networks.network_file import Network
from lifresponse.paths import write_atomic


class BoardFitError(LifResponseError):
    """The network needs more cores than the board has, or sPyNNaker could not map it."""


@dataclass(frozen=True)
class CheckReport:
    """Everything ``lifresponse spinnaker check`` finds."""

    timestep_ok: bool
    timestep: float
    cores_per_layer: list
    delays_ok: bool
    quantisation: list = ()
    chips: int | None = None
    cores: int | None = None
    mapped: bool = False
    connectors: str = ""
    problems: tuple = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["quantisation"] = [asdict(q) for q in self.quantisation]
        return out


@dataclass(frozen=True)
class BoardMapping:
    """A network mapped on a virtual board (:func:`map_on_virtual_board`).

    Attributes
    ----------
    chips, cores : int
        Chips and application cores of the placement.
    connectors : {"native", "lists"}
        How the builder built it.
    scaling : BoardScaling
        The ring-buffer shifts and weight scales sPyNNaker chose for every population.
    """

    chips: int
    cores: int
    connectors: str
    scaling: BoardScaling


def check_network(network: Network, version: int = 5) -> CheckReport:
    """Constraint checks that need no board: timestep, neurons per core, delays.

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
    return CheckReport(timestep_ok, network.timestep, cores, True, problems=tuple(problems))


def map_on_virtual_board(network: Network, connectors: str = "native",
                         summed: BoardScaling | None = None) -> BoardMapping:
    """Build ``network`` on an sPyNNaker virtual board (version 5), map it, and read the
    weight scaling sPyNNaker chose (:meth:`lifresponse.backends.spinnaker.backend.
    SpiNNakerBackend.read_scaling`).

    ``connectors`` is passed to :func:`lifresponse.backends.pynn.building.build` ("native":
    local-only convolution connectors where the network allows them, else connection lists),
    with ``summed``, whose populations' ``max_expected_summed_weight`` sPyNNaker is given
    (None: it estimates its own).

    Runs in a temporary directory with its own HOME, so nothing is written to the user's home
    or working directory.
    """
    from lifresponse import backends
    from lifresponse.backends.pynn.building import build

    with tempfile.TemporaryDirectory() as work, _isolated(Path(work)):
        write_config(BoardConfig("virtual"), work)
        backend = backends.get("spinnaker")
        backend.start(timestep=network.timestep)
        try:
            backend.require_cells(network)  # the user's network, not the board
            try:
                with backends.quiet():
                    built = build(backend, network, record="output", connectors=connectors,
                                  scaling=summed)
                    backend.sim.run(network.timestep * 10)
            except ParameterError:
                raise  # a scaling made for other connectors: the user's input, not the board
            except Exception as exc:  # sPyNNaker raises many kinds when mapping fails
                cause = exc.__cause__ or exc  # quiet() wraps sPyNNaker's own in a BackendError
                hint = "" if connectors == "native" else (
                    " (with connection lists; the native connectors may fit: --connectors "
                    "native)")
                raise BoardFitError(f"sPyNNaker could not map the network on a virtual "
                                    f"SpiNN-5 board{hint}: {type(cause).__name__}: {cause}"
                                    ) from exc
            chips, cores = backend.placements()
            source = "sPyNNaker's own estimate" if summed is None else summed.source
            return BoardMapping(chips, cores, built.connectors,
                                backend.read_scaling(built, source))
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
