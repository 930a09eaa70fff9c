"""A cell's measured response as an activation: the calibrated rate surface over the input's
mean and noise, interpolated (docs/cells.md, "Training on the measured response").

A calibration sweep (``rates.h5``) measures the firing rate of a cell at every point of a grid
of input means ``m`` and standard deviations ``s`` (nA; uS for a conductance cell under the
Poisson drive). :class:`ResponseSurface` keeps the trial-mean rates and reads the rate
anywhere by bilinear interpolation: continuous, piecewise linear, its slope in ``m`` that of
the grid cell it falls in. Off the grid:

- above the largest mean, linear extrapolation from the last two means (rates keep growing
  with the mean; the network's rate limit keeps training near the grid);
- below the smallest mean, the smallest mean's rate (zero or nearly, far below threshold);
- a noise outside the measured stds, linear extrapolation from the nearest two stds, held at
  0 Hz or above. Below the smallest std this continues the trend of less noise, fewer
  subthreshold spikes; holding the smallest std's rate instead made every layer of a small
  network fire at 50-130 Hz from the start (sigma there is 0.01-0.1 nA, the default grid's
  smallest std 0.2 nA) and it did not learn (31 % after an epoch, Noisy Softplus 80 %; a
  development run).

The numpy functions here are the predictor of SNN rates; their torch twin
(:func:`lifresponse.training.activations.measured_output`) is what training differentiates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifresponse.errors import FileFormatError, ParameterError


@dataclass(frozen=True, eq=False)
class ResponseSurface:
    """Trial-mean firing rates of one cell on a grid of input means and noises.

    Attributes
    ----------
    means : numpy.ndarray
        Input means, increasing, at least 2 (nA; uS for conductance input).
    stds : numpy.ndarray
        Input standard deviations, increasing, at least 2 (same unit).
    rates : numpy.ndarray
        Rate at every (mean, std), shape (len(means), len(stds)) (Hz), finite and >= 0.
    source : str
        Where it was measured (the cell, the drive and the file), for provenance.
    """

    means: np.ndarray
    stds: np.ndarray
    rates: np.ndarray
    source: str = field(default="")

    def __post_init__(self):
        for name in ("means", "stds", "rates"):  # lists too: indexed as arrays below
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))
        self.check(self.source or "response surface")

    def check(self, where: str) -> None:
        """Raise :class:`FileFormatError` naming ``where`` and the field if the surface
        cannot be interpolated."""
        means, stds, rates = self.means, self.stds, self.rates
        for name, axis in (("means", means), ("stds", stds)):
            if axis.ndim != 1 or len(axis) < 2:
                raise FileFormatError(f"{where}: {name} must be a list of at least 2 values "
                                      f"(got shape {axis.shape})")
            if not np.all(np.isfinite(axis)) or np.any(np.diff(axis) <= 0):
                raise FileFormatError(f"{where}: {name} must be finite and increasing")
        if rates.shape != (len(means), len(stds)):
            raise FileFormatError(f"{where}: rates has shape {rates.shape}, the grid "
                                  f"({len(means)}, {len(stds)})")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise FileFormatError(f"{where}: rates must be finite and >= 0 (a point not "
                                  "measured, or a negative rate)")

    @classmethod
    def from_table(cls, table) -> ResponseSurface:
        """The surface of a finished sweep (:class:`lifresponse.calibration.results.
        RateTable`): the trial mean at every grid point."""
        where = str(table.path)
        if not np.all(table.done):
            raise FileFormatError(f"{where}: the sweep is unfinished ({int(np.sum(~table.done))} "
                                  "grid points not measured); finish it (calibrate --resume)")
        means, stds = np.asarray(table.means, float), np.asarray(table.stds, float)
        rates = np.nanmean(table.rates, axis=1).reshape(len(means), len(stds))
        drive = table.attrs.get("drive", {})
        cell = table.attrs.get("cell", "IF_curr_exp")
        kind = drive.get("kind", "?") if isinstance(drive, dict) else "?"
        return cls(means, stds, rates, f"{cell} under the {kind} drive, {where}")

    def _bracket(self, net, sigma) -> tuple:
        """For each (net, sigma): the index ``i`` of the grid mean below it, its fraction ``t``
        of the way to the next (> 1: extrapolated), and the rates at those two means, each
        interpolated in the noise (``low``, ``high``)."""
        m, s, r = self.means, self.stds, self.rates
        net, sigma = (np.asarray(a, float) for a in np.broadcast_arrays(net, sigma))
        i = np.clip(np.searchsorted(m, net, side="right") - 1, 0, len(m) - 2)
        j = np.clip(np.searchsorted(s, sigma, side="right") - 1, 0, len(s) - 2)
        t = np.maximum((net - m[i]) / (m[i + 1] - m[i]), 0.0)
        u = (sigma - s[j]) / (s[j + 1] - s[j])  # < 0 or > 1: extrapolated
        low = (1 - u) * r[i, j] + u * r[i, j + 1]
        high = (1 - u) * r[i + 1, j] + u * r[i + 1, j + 1]
        return i, t, low, high

    def rate(self, net, sigma) -> np.ndarray:
        """Firing rate (Hz) at input mean ``net`` and noise ``sigma`` (arrays, broadcast)."""
        _, t, low, high = self._bracket(net, sigma)
        return np.maximum(low + t * (high - low), 0.0)

    def rate_dnet(self, net, sigma) -> np.ndarray:
        """``d rate / d net`` (Hz/nA) of :meth:`rate` (0 below the grid and where the rate is
        held at 0)."""
        i, t, low, high = self._bracket(net, sigma)
        slope = (high - low) / (self.means[i + 1] - self.means[i])
        inside = (np.broadcast_arrays(net, sigma)[0] >= self.means[0]) \
            & (low + t * (high - low) > 0)
        return np.where(inside, slope, 0.0)


def require_surface(response: ResponseSurface | None, activation: str) -> ResponseSurface:
    """``response``, which the "measured" activation cannot do without."""
    if response is None:
        raise ParameterError("response", f"the {activation!r} activation reads a cell's "
                             "measured response: give a calibration's rates.h5 (--response)")
    return response
