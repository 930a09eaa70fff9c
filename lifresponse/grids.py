"""Parsing the value grids users type on the command line: ``start:stop:step`` or ``a,b,c``."""

from __future__ import annotations

import numpy as np

from lifresponse.errors import ParameterError

MAX_POINTS = 1_000_000  # a grid is a list of simulated or plotted values, not a sampling


def parse_grid(text: str, name: str = "grid") -> np.ndarray:
    """Values from ``"start:stop:step"`` (stop included when on the grid) or ``"a,b,c"``.

    Parameters
    ----------
    text : str
        The grid as typed.
    name : str
        The option name, for error messages (e.g. ``"--means"``).

    Returns
    -------
    numpy.ndarray
        The values, float, in the order given.

    Raises
    ------
    ParameterError
        If the text is empty, malformed, has a non-positive step, gives no values or one
        twice.
    """
    text = text.strip()
    separator = ":" if ":" in text else ","
    try:
        numbers = [float(p) for p in text.split(separator) if p.strip() != ""]
    except ValueError:
        numbers = None
    if numbers is None or (separator == ":" and len(numbers) != 3):
        raise ParameterError(
            name, f"cannot read {text!r}; write start:stop:step (e.g. -0.5:1.0:0.05) "
            "or a comma-separated list"
        )
    if separator == ":":
        start, stop, step = numbers
        if step <= 0:
            raise ParameterError(name, f"step must be > 0 (got {text!r})")
        if not all(np.isfinite(numbers)):
            raise ParameterError(name, f"values must be finite (got {text!r})")
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_POINTS:
            raise ParameterError(name, f"the grid {text!r} has {count:.3g} points; at most "
                                 f"{MAX_POINTS:,}")
        values = np.round(start + step * np.arange(max(count, 0)), 12)
    else:
        values = np.array(numbers)
    if values.size == 0:
        raise ParameterError(name, f"the grid {text!r} is empty")
    if not np.all(np.isfinite(values)):
        raise ParameterError(name, f"values must be finite (got {text!r})")
    if np.unique(values).size != values.size:
        raise ParameterError(name, f"a value given twice in {text!r}: every grid point once")
    return values
