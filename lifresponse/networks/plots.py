"""Figures of deployment runs."""

from __future__ import annotations

from pathlib import Path

from lifresponse.plotting import new_figure, save_figure


def plot_accuracy_by_time(curves, path) -> None:
    """Accuracy (%) against presentation time (ms), one line per ``(label, time, accuracy)``
    (the paper's Fig. 16)."""
    fig, ax = new_figure()
    for label, time_ms, accuracy in curves:
        ax.plot(time_ms, [100 * a for a in accuracy], lw=1.8, label=label)
    ax.set_xlabel("presentation time (ms)")
    ax.set_ylabel("SNN accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, Path(path))
