"""Matplotlib set-up shared by every figure: one style, atomic saves.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: the library never selects
a matplotlib backend (a notebook keeps its inline figures) and needs no display.
"""

from __future__ import annotations

import io
from pathlib import Path

from lifresponse.errors import ParameterError
from lifresponse.paths import check_writable, write_atomic


def new_figure(width: float = 7.0, height: float = 4.5):
    """A figure (not registered with pyplot) and its axes; size in inches."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.grid(alpha=0.3)
    return fig, ax


def colours(n: int) -> list:
    """``n`` distinguishable colours from viridis, dark to light (the yellow end left out)."""
    import matplotlib
    import numpy as np

    return [matplotlib.colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, max(n, 1))]


FIGURE_FORMATS = ("png", "svg", "pdf")


def check_figure_path(path) -> str:
    """The format of a figure to write at ``path`` (from its suffix), after checking that it
    is one we write and that its folder can be written."""
    path = Path(path)
    kind = path.suffix.lstrip(".").lower()
    if not kind:
        raise ParameterError("plot", f"{path} has no suffix; end it with one of "
                             f"{', '.join('.' + k for k in FIGURE_FORMATS)}")
    if kind not in FIGURE_FORMATS:
        raise ParameterError("plot", f"cannot write a .{kind} figure ({path}); use one of "
                             f"{', '.join('.' + k for k in FIGURE_FORMATS)}")
    check_writable(path, "plot")
    return kind


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf).

    Written to a temporary file first and renamed, so an interrupted save leaves no half file.
    """
    path = Path(path)
    kind = check_figure_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = io.BytesIO()
    fig.savefig(image, dpi=120, format=kind)
    write_atomic(path, image.getvalue())
