"""The three kinds of input a calibration sweep injects, written once against the PyNN API.

Every drive attaches to a population laid out point-major: cell ``p * trials + t`` is trial ``t``
of grid point ``p``, which has input mean ``means[p]`` and std ``stds[p]`` (nA). Every cell gets
its own independent noise (NEST's ``noise_generator`` and ``poisson_generator`` draw separately
for each target; on sPyNNaker each source neuron or current source is per cell too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lifresponse.errors import ParameterError
from lifresponse.statistics import DEFAULT_MAX_WEIGHT, poisson_drive


@dataclass(frozen=True)
class NoisyCurrentDrive:
    """PyNN ``NoisyCurrentSource(mean=m, stdev=s, dt=dt_noise)``: Gaussian noise redrawn every
    ``dt_noise`` ms (a multiple of the timestep; on sPyNNaker it must equal the timestep)."""

    dt_noise: float = 1.0
    kind = "noisy-current"

    def check(self, means, stds, timestep: float) -> None:
        """Raise :class:`ParameterError` if the drive cannot produce this grid."""
        if self.dt_noise <= 0:
            raise ParameterError("dt_noise", f"must be > 0 ms (got {self.dt_noise})")
        ratio = self.dt_noise / timestep
        if abs(ratio - round(ratio)) > 1e-9:
            raise ParameterError(
                "dt_noise",
                f"must be a multiple of the timestep {timestep} ms (got {self.dt_noise})")

    def attach(self, backend, cells, means, stds, trials: int, duration: float) -> None:
        """Inject one ``NoisyCurrentSource`` per grid point into that point's ``trials`` cells."""
        for p, (m, s) in enumerate(zip(means, stds, strict=True)):
            source = backend.sim.NoisyCurrentSource(mean=float(m), stdev=float(s), dt=self.dt_noise,
                                            start=0.0, stop=float(duration))
            source.inject_into(cells[p * trials:(p + 1) * trials])

    def siegert_dt_noise(self) -> tuple[float, float]:
        """``(dt_noise, tau_syn)`` for the Siegert prediction of this drive (ms)."""
        return self.dt_noise, 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class PoissonCurrentDrive:
    """Poisson-driven synaptic current (eq. 8): ``n_trains`` trains, half excitatory, half
    inhibitory, all with the same |w| per point, into exponential synapses of ``tau_syn`` ms.
    Into a cell with delta synapses (a weight is a jump of the membrane, mV) ``tau_syn`` is
    the window of eq. 8's statistics only, ``m = sum w r tau_syn``, ``s^2 = sum w^2 r
    tau_syn / 2`` (mV): a one-to-one naming of the input's summed rates ``sum w r`` and
    ``sum w^2 r``, the one the ANN layer of such a network computes with.

    A group of equal-weight Poisson trains is statistically one Poisson train of the summed rate,
    so each cell gets ONE excitatory and ONE inhibitory ``SpikeSourcePoisson`` firing at
    ``n_exc * rate_exc`` and ``n_inh * rate_inh``. |w| per point: ``weight`` if given (points it
    cannot reach are an error), else ``min(max_weight, s^2 / |m|)`` (see
    :func:`lifresponse.statistics.poisson_drive`).
    """

    tau_syn: float = 5.0
    n_trains: int = 100
    weight: float | None = None
    max_weight: float = DEFAULT_MAX_WEIGHT
    kind = "poisson"

    def check(self, means, stds, timestep: float) -> None:
        """Raise if a point is unreachable (the message lists them) or a setting is invalid."""
        poisson_drive(means, stds, self.tau_syn, self.n_trains, self.weight, self.max_weight)

    def neuron_overrides(self) -> dict[str, float]:
        return {"tau_syn_E": self.tau_syn, "tau_syn_I": self.tau_syn}

    def attach(self, backend, cells, means, stds, trials: int, duration: float) -> None:
        """Connect one excitatory and one inhibitory Poisson source to every cell
        (the backend's ``connect_poisson``)."""
        drive = poisson_drive(means, stds, self.tau_syn, self.n_trains, self.weight,
                              self.max_weight)
        weight = np.repeat(drive.weight, trials)
        backend.connect_poisson(cells, np.repeat(drive.rate_exc * drive.n_exc, trials), weight,
                                duration)
        backend.connect_poisson(cells, np.repeat(drive.rate_inh * drive.n_inh, trials), -weight,
                                duration)

    def siegert_dt_noise(self) -> tuple[float, float]:
        """White noise of the same low-frequency power: ``dt_noise = 2 tau_syn``, plus the
        Fourcaud-Brunel correction for ``tau_syn`` (ms)."""
        return 2.0 * self.tau_syn, self.tau_syn

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class DCDrive:
    """A constant current ``m`` (PyNN ``DCSource``): the noiseless reference, s = 0."""

    kind = "dc"

    def check(self, means, stds, timestep: float) -> None:
        if np.any(np.asarray(stds) != 0):
            raise ParameterError("stds", "the dc drive has no noise; use stds 0")

    def attach(self, backend, cells, means, stds, trials: int, duration: float) -> None:
        for p, m in enumerate(means):
            source = backend.sim.DCSource(amplitude=float(m), start=0.0, stop=float(duration))
            source.inject_into(cells[p * trials:(p + 1) * trials])

    def siegert_dt_noise(self) -> tuple[float, float]:
        return 1.0, 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


DRIVES = {"noisy-current": NoisyCurrentDrive, "poisson": PoissonCurrentDrive, "dc": DCDrive}


def drive_from_dict(values: dict[str, Any]):
    """Rebuild a drive from :meth:`to_dict` output (as stored in ``rates.h5``)."""
    values = dict(values)
    kind = values.pop("kind", None)
    if kind not in DRIVES:
        raise ParameterError("drive", f"unknown kind {kind!r}; known are {', '.join(DRIVES)}")
    return DRIVES[kind](**values)

