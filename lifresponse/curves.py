"""Response curves of the LIF neuron side by side (the paper's Fig. 1): table, CSV and plot."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifresponse.activations import noisy_softplus
from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams
from lifresponse.paths import write_atomic
from lifresponse.response import constant_current_rate, siegert_rate


@dataclass(frozen=True)
class ResponseCurves:
    """Rates (Hz) on a grid of input means (nA) and stds (nA).

    Attributes
    ----------
    means : numpy.ndarray
        Input mean currents (nA), shape (n_means,).
    stds : numpy.ndarray
        Input current standard deviations (nA), shape (n_stds,).
    constant : numpy.ndarray
        Eq. 2 at each mean (Hz), shape (n_means,).
    siegert : numpy.ndarray
        Eq. 7 (Hz), shape (n_stds, n_means).
    noisy_softplus : numpy.ndarray
        ``S f_ns(m, s)`` (Hz), shape (n_stds, n_means).
    k, S, dt_noise : float
        The Noisy Softplus parameters (dimensionless, Hz/nA) and noise interval (ms) used.
    """

    means: np.ndarray
    stds: np.ndarray
    constant: np.ndarray
    siegert: np.ndarray
    noisy_softplus: np.ndarray
    k: float
    S: float
    dt_noise: float


def compute_response_curves(means, stds, params: LIFParams = LIFParams(), dt_noise=1.0,
                            k=0.30, S=201.0) -> ResponseCurves:
    """Evaluate eq. 2, eq. 7 and Noisy Softplus (eq. 9 times S) on the grid ``means x stds``
    (nA); ``dt_noise`` in ms, ``S`` in Hz/nA."""
    means = np.asarray(means, dtype=float)
    stds = np.asarray(stds, dtype=float)
    if (stds < 0).any():
        raise ParameterError("stds", f"standard deviations must be >= 0 (got {stds.min():g})")
    if not dt_noise > 0:
        raise ParameterError("dt_noise", f"must be > 0 ms (got {dt_noise})")
    for name, value in (("k", k), ("S", S)):
        if not (value > 0 and np.isfinite(value)):
            raise ParameterError(name, f"must be > 0 and finite (got {value})")
    return ResponseCurves(
        means=means,
        stds=stds,
        constant=constant_current_rate(means, params),
        siegert=siegert_rate(means[None, :], stds[:, None], params, dt_noise),
        noisy_softplus=S * noisy_softplus(means[None, :], stds[:, None], k),
        k=k, S=S, dt_noise=dt_noise,
    )


def write_csv(curves: ResponseCurves, path) -> None:
    """One row per (std, mean): ``std_nA, mean_nA, constant_Hz, siegert_Hz, noisy_softplus_Hz``;
    the folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["std_nA", "mean_nA", "constant_Hz", "siegert_Hz", "noisy_softplus_Hz"])
    for i, s in enumerate(curves.stds):
        for j, m in enumerate(curves.means):
            writer.writerow([f"{s:.6g}", f"{m:.6g}", f"{curves.constant[j]:.6g}",
                             f"{curves.siegert[i, j]:.6g}", f"{curves.noisy_softplus[i, j]:.6g}"])
    write_atomic(path, text.getvalue())


def plot_response_curves(curves: ResponseCurves, path) -> None:
    """Siegert (solid) and Noisy Softplus (dashed) per noise level, eq. 2 in black; PNG or SVG."""
    from lifresponse.plotting import colours, new_figure, save_figure

    fig, ax = new_figure()
    palette = colours(len(curves.stds))
    ax.plot(curves.means, curves.constant, color="black", lw=2, label="constant current (eq. 2)")
    rows = zip(palette, curves.stds, curves.siegert, curves.noisy_softplus, strict=True)
    for colour, s, siegert, ns in rows:
        ax.plot(curves.means, siegert, color=colour, lw=1.5, label=f"Siegert, s = {s:g} nA")
        ax.plot(curves.means, ns, color=colour, lw=1.2, ls="--")
    ax.plot([], [], color="grey", ls="--",
            label=f"Noisy Softplus x S (k = {curves.k:g}, S = {curves.S:g} Hz/nA)")
    ax.set_xlabel("input mean current m (nA, on top of i_offset)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(f"LIF response to noisy current (noise interval {curves.dt_noise:g} ms)")
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, Path(path))

