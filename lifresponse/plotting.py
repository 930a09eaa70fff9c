"""Matplotlib set-up shared by every figure: a headless backend, one style, atomic saves."""

from __future__ import annotations

import os
from pathlib import Path


def new_figure(width: float = 7.0, height: float = 4.5):
    """A figure and axes on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.grid(alpha=0.3)
    return fig, ax


def colours(n: int) -> list:
    """``n`` distinguishable colours from viridis, dark to light (the yellow end left out)."""
    import matplotlib
    import numpy as np

    return [matplotlib.colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, max(n, 1))]


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf) and close it.

    Written to a temporary file first and renamed, so an interrupted save leaves no half file.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    os.replace(tmp, path)
