"""Calibration figures: measured rates against Siegert (the paper's Fig. 2 and 4), the Noisy
Softplus fit over the points (Fig. 7), and its residuals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifresponse.activations import noisy_softplus
from lifresponse.calibration.drives import drive_from_dict
from lifresponse.calibration.fit import ModelFit
from lifresponse.calibration.results import RateTable
from lifresponse.neuron import LIFParams
from lifresponse.plotting import colours, new_figure, save_figure
from lifresponse.response import siegert_rate

MAX_CURVES = 6


def _shown_stds(table: RateTable) -> np.ndarray:
    """At most :data:`MAX_CURVES` noise levels, spread over the grid, so a figure stays legible."""
    stds = table.stds
    if len(stds) <= MAX_CURVES:
        return stds
    return stds[np.unique(np.linspace(0, len(stds) - 1, MAX_CURVES).round().astype(int))]


def _per_std(table: RateTable, s: float):
    """Means (nA), and mean / min / max rate over trials (Hz), for noise level ``s``."""
    rows = np.isclose(table.point_std, s)
    rates = table.rates[rows]
    return table.point_mean[rows], np.nanmean(rates, 1), np.nanmin(rates, 1), np.nanmax(rates, 1)


def _title(table: RateTable) -> str:
    drive = table.attrs["drive"]
    detail = {"poisson": f"Poisson-driven, tau_syn = {drive.get('tau_syn')} ms",
              "noisy-current": f"NoisyCurrentSource, dt = {drive.get('dt_noise')} ms",
              "dc": "DC"}[drive["kind"]]
    return (f"{detail}; {table.attrs['trials']} trials x {table.duration_ms / 1000:g} s, "
            f"step {table.attrs['timestep_ms']} ms")


def plot_rates(table: RateTable, path) -> None:
    """Mean rate over trials (line) with the min-max band (shade) against Siegert (thin)."""
    drive = drive_from_dict(table.attrs["drive"])
    neuron = LIFParams.from_dict(table.attrs["neuron"])
    dt_noise, tau_syn = drive.siegert_dt_noise()
    fig, ax = new_figure()
    stds = _shown_stds(table)
    fine = np.linspace(table.means.min(), table.means.max(), 300)
    for colour, s in zip(colours(len(stds)), stds, strict=True):
        m, mean, low, high = _per_std(table, s)
        ax.fill_between(m, low, high, color=colour, alpha=0.25, lw=0)
        ax.plot(m, mean, color=colour, lw=2, label=f"measured, s = {s:g} nA")
        ax.plot(fine, siegert_rate(fine, s, neuron, dt_noise, tau_syn), color=colour, lw=0.8,
                ls=":")
    ax.plot([], [], color="grey", lw=0.8, ls=":",
            label=f"Siegert (dt_noise {dt_noise:g} ms, tau_syn {tau_syn:g} ms)")
    ax.set_xlabel("input mean current m (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(_title(table), fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, Path(path))


def plot_fit(table: RateTable, fit: ModelFit, path) -> None:
    """Mean measured rate (markers) and the fitted ``S f_ns(m, s)`` (lines), per noise level."""
    k, S = fit.params["k"], fit.params["S"]
    fig, ax = new_figure()
    stds = _shown_stds(table)
    fine = np.linspace(table.means.min(), table.means.max(), 300)
    for colour, s in zip(colours(len(stds)), stds, strict=True):
        m, mean, _, _ = _per_std(table, s)
        ax.plot(m, mean, "o", color=colour, ms=3.5, label=f"measured, s = {s:g} nA")
        ax.plot(fine, S * noisy_softplus(fine, s, k), color=colour, lw=1.5)
    ax.plot([], [], color="grey", lw=1.5,
            label=f"Noisy Softplus k = {k:.3f}, S = {S:.1f} Hz/nA (RMSE {fit.rmse:.2f} Hz)")
    ax.set_xlabel("input mean current m (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(_title(table), fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, Path(path))


def plot_residuals(table: RateTable, fit: ModelFit, path) -> None:
    """Mean measured rate minus the Noisy Softplus fit (Hz), per noise level."""
    k, S = fit.params["k"], fit.params["S"]
    fig, ax = new_figure(height=3.5)
    stds = _shown_stds(table)
    for colour, s in zip(colours(len(stds)), stds, strict=True):
        m, mean, _, _ = _per_std(table, s)
        ax.plot(m, mean - S * noisy_softplus(m, s, k), "o-", color=colour, ms=3, lw=1,
                label=f"s = {s:g} nA")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("input mean current m (nA)")
    ax.set_ylabel("measured - fit (Hz)")
    ax.set_title("Noisy Softplus residuals (mean over trials)", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, Path(path))


def figure_paths(path) -> list[Path]:
    """The files :func:`write_calibration_figures` writes for ``path``: ``<stem>`` (fit),
    ``<stem>_rates`` and ``<stem>_residuals``, each as PNG and SVG."""
    path = Path(path)
    return [path.with_name(f"{path.stem}{part}{suffix}") for suffix in (".png", ".svg")
            for part in ("", "_rates", "_residuals")]


def write_calibration_figures(table: RateTable, fit: ModelFit, path) -> list[Path]:
    """The three figures as PNG and SVG (:func:`figure_paths`); returns the paths written."""
    written = figure_paths(path)
    for suffix_paths in (written[:3], written[3:]):
        fit_path, rates_path, residual_path = suffix_paths
        plot_fit(table, fit, fit_path)
        plot_rates(table, rates_path)
        plot_residuals(table, fit, residual_path)
    return written
