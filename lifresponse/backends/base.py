"""The two things a backend can be, written down: a calibration simulator and a deployment
simulator.

- A **calibration simulator** is a PyNN simulator (NEST, sPyNNaker) that a calibration sweep
  (:mod:`lifresponse.calibration.sweep`) and the response checks start, drive with PyNN's
  current and spike sources, record and end. The sweep writes PyNN calls against
  :attr:`CalibrationSimulator.sim`, the PyNN module.
- A **deployment simulator** runs a network file on blocks of images
  (:func:`lifresponse.deployment.deploy`): it says which presentation protocols it runs, how
  many images it takes at once, and starts a :class:`Presenter` for a network.

Every backend class names what it implements in ``implements``; the registry
(:func:`lifresponse.backends.get`) checks the class against these protocols before handing one
out, so a backend that forgets a method fails when it is chosen, naming what is missing.
"""

from __future__ import annotations

from types import ModuleType
from typing import Protocol, runtime_checkable

import numpy as np

from lifresponse.networks.blocks import BlockActivity


@runtime_checkable
class CalibrationSimulator(Protocol):
    """A PyNN simulator for calibration sweeps.

    Attributes
    ----------
    name : str
    sim : module or None
        The PyNN module once started.
    spike_precision : str
        "on_grid": every spike on the timestep grid (recorded in every output file).
    run_slices : int
        Pieces a calibration chunk is run in, so a progress bar moves.
    noisy_current_dt_is_timestep : bool
        True if ``NoisyCurrentSource`` requires ``dt`` equal to the timestep.
    """

    name: str
    sim: ModuleType | None
    spike_precision: str
    run_slices: int
    noisy_current_dt_is_timestep: bool

    def start(self, timestep: float = 1.0, threads: int = 1, seed: int = 42) -> dict:
        """Import and set up the simulator; returns the options used."""

    def end(self) -> None:
        """End the simulation."""

    def version(self) -> str:
        """Versions of the simulator and PyNN, for output files."""

    def is_virtual_board(self) -> bool:
        """True if the run returns no spikes (an sPyNNaker virtual board)."""

    def connect_poisson(self, cells, rates, weights, duration: float) -> None:
        """Drive each cell with its own Poisson train (Hz) through a synapse (nA)."""

    def spike_recorder(self, cells):
        """A recorder of every spike of ``cells`` with ``read(clear)`` and ``counts()``."""


class Presenter(Protocol):
    """A network started on a deployment simulator, presenting blocks of images."""

    def present(self, pixels: np.ndarray, first: int) -> BlockActivity:
        """Present ``pixels`` (n_images, n_inputs), images ``first`` ... of the run."""

    # optional: ``present_blocks(blocks)``, each of ``blocks`` [(first, pixels)] presented in
    # order, for a presenter that starts a block before the last one is done (the deployment
    # uses it where there is one; ``TorchPresenter``)

    def close(self) -> None:
        """Release the simulator."""


@runtime_checkable
class DeploymentSimulator(Protocol):
    """A simulator that runs deployed networks.

    Attributes
    ----------
    name : str
    protocols : tuple of str
        Presentation protocols it runs, its default first
        (:mod:`lifresponse.networks.blocks`).
    spike_precision : str
    runs_on_devices : bool
        True if it runs on a torch device (``DeployConfig.device``).
    inputs_fixed_at_build : bool
        True if input spike times can only be given when the network is built (a deployment
        is then one block).
    simulates_without_gil : bool
        True if its presenter's simulation releases Python's GIL, so the deployment presents
        the next block in a background thread while it writes and evaluates the last.
    has_own_connectors : bool
        True if it builds networks with connectors of its own where it can
        (``DeployConfig.connectors`` "native"), else always from connection lists.
    takes_spinnaker_weights : bool
        True if ``DeployConfig.spinnaker_weights`` means something to it (sPyNNaker loads
        them; the exact simulator forecasts them).
    """

    name: str
    protocols: tuple
    spike_precision: str
    runs_on_devices: bool
    inputs_fixed_at_build: bool
    simulates_without_gil: bool
    has_own_connectors: bool
    takes_spinnaker_weights: bool

    def version(self) -> str:
        """What ran, for the run file."""

    def images_per_block(self, config) -> int:
        """Images handed to the presenter at once."""

    def prepare(self, config) -> None:
        """Get ready for a deployment with ``config`` (import, compile) while another thread
        loads the images; nothing that depends on the network or the images."""

    def presenter(self, network, presentation, config) -> Presenter:
        """Start the simulator for ``network``."""


INTERFACES = {"calibration": CalibrationSimulator, "deployment": DeploymentSimulator}
