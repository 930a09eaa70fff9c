"""Moments of synaptic input current from firing rates and weights (eq. 8, 12-13), and back.

Units: rates in Hz, weights in nA, ``tau_syn`` in ms (converted to seconds here, the one place
eq. 8 needs it), currents in nA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifresponse.errors import ParameterError

_MS_PER_S = 1000.0
# nA; the |w| of the authors' calibration code (docs/science.md section 8)
DEFAULT_MAX_WEIGHT = 0.05


def current_moments(rates, weights, tau_syn: float):
    """Mean and standard deviation of the current from Poisson trains (eq. 8).

    ``m = tau_syn sum_i w_i lambda_i`` and ``s^2 = 0.5 tau_syn sum_i w_i^2 lambda_i``, the sums
    over the last axis.

    Parameters
    ----------
    rates : array_like
        Firing rates of the trains (Hz), shape (..., n).
    weights : array_like
        Signed synaptic weights (nA), broadcast with ``rates``.
    tau_syn : float
        Synaptic time constant (ms).

    Returns
    -------
    mean, std : numpy.ndarray
        Mean (nA) and standard deviation (nA) of the current, shape (...).
    """
    rates = np.asarray(rates, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if np.any(rates < 0):
        raise ParameterError("current_moments", f"rates must be >= 0 (got min {rates.min()})")
    tau_s = tau_syn / _MS_PER_S
    mean = tau_s * np.sum(weights * rates, axis=-1)
    var = 0.5 * tau_s * np.sum(weights**2 * rates, axis=-1)
    return mean, np.sqrt(var)


def ann_moments(x, weights):
    """Net input and its standard deviation in an artificial spiking neuron (eq. 12-13).

    ``net_j = sum_i w_ij x_i`` and ``sigma_j^2 = sum_i 0.5 w_ij^2 x_i``, with
    ``x_i = lambda_i tau_syn`` the dimensionless inputs.

    Parameters
    ----------
    x : array_like
        Inputs ``lambda tau_syn`` (dimensionless, >= 0), shape (..., n_in).
    weights : array_like
        Weights (nA), shape (n_in, n_out).

    Returns
    -------
    net, sigma : numpy.ndarray
        Mean (nA) and standard deviation (nA) of the input current, shape (..., n_out).
    """
    x = np.asarray(x, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if np.any(x < 0):
        raise ParameterError("ann_moments", f"inputs x must be >= 0 (got min {x.min()})")
    return x @ weights, np.sqrt(x @ (0.5 * weights**2))


class UnreachableTargetError(ParameterError):
    """Some (m, s) targets cannot be produced by the Poisson drive; ``points`` lists them."""

    def __init__(self, message: str, points: list[tuple[float, float]]):
        super().__init__(message)
        self.points = points


@dataclass(frozen=True)
class PoissonDrive:
    """Poisson inputs that give a target current: two groups of trains with weights +-``weight``.

    Attributes
    ----------
    rate_exc, rate_inh : numpy.ndarray
        Rate of *each* excitatory / inhibitory train (Hz).
    weight : numpy.ndarray
        The |w| shared by all trains of a point (nA).
    n_exc, n_inh : int
        Number of excitatory and inhibitory trains.
    """

    rate_exc: np.ndarray
    rate_inh: np.ndarray
    weight: np.ndarray
    n_exc: int
    n_inh: int


def poisson_drive(m, s, tau_syn: float, n_trains: int = 100, weight=None,
                  max_weight: float = DEFAULT_MAX_WEIGHT) -> PoissonDrive:
    """Rates of ``n_trains`` Poisson trains (half excitatory) that give mean ``m``, std ``s``.

    Inverts eq. 8 with all trains at the same |w|: with ``A = m / (tau_syn w)`` and
    ``B = 2 s^2 / (tau_syn w^2)``, ``n_exc rate_exc = (B + A) / 2`` and
    ``n_inh rate_inh = (B - A) / 2``. Rates are non-negative only if ``w <= 2 s^2 / |m|``.

    Parameters
    ----------
    m, s : array_like
        Target mean and standard deviation of the current (nA); they broadcast.
    tau_syn : float
        Synaptic time constant (ms).
    n_trains : int
        Total trains, split evenly (odd: one more excitatory).
    weight : array_like, optional
        |w| to use (nA). If given, targets it cannot reach raise :class:`UnreachableTargetError`.
    max_weight : float
        If ``weight`` is None, each point uses ``|w| = min(max_weight, s^2 / |m|)`` (nA): the
        largest weight up to ``max_weight`` that keeps the weaker group at no less than a third
        of the stronger group's rate.

    Raises
    ------
    UnreachableTargetError
        For ``s = 0`` (never reachable with spikes) or points beyond a given ``weight``; the
        message lists the offending (m, s).
    """
    m, s = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(s, dtype=float))
    if n_trains < 2:
        raise ParameterError("poisson_drive", f"n_trains must be >= 2 (got {n_trains})")
    if tau_syn <= 0:
        raise ParameterError("poisson_drive", f"tau_syn must be > 0 ms (got {tau_syn})")
    if np.any(s < 0):
        raise ParameterError("poisson_drive", f"s must be >= 0 nA (got min {s.min()})")
    abs_m = np.abs(m)
    if weight is None:
        if max_weight <= 0:
            raise ParameterError("poisson_drive", f"max_weight must be > 0 nA (got {max_weight})")
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.minimum(max_weight, np.where(abs_m > 0, s**2 / abs_m, np.inf))
    else:
        w = np.broadcast_to(np.asarray(weight, dtype=float), m.shape)
        if np.any(w <= 0):
            raise ParameterError("poisson_drive", f"weight must be > 0 nA (got {weight})")
    bad = (s <= 0) | (abs_m * w > 2 * s**2 * (1 + 1e-12))
    if np.any(bad):
        points = [(float(a), float(b)) for a, b in zip(m[bad], s[bad], strict=True)]
        shown = ", ".join(f"(m={a:g}, s={b:g})" for a, b in points[:8])
        more = f" and {len(points) - 8} more" if len(points) > 8 else ""
        raise UnreachableTargetError(
            f"{len(points)} target(s) cannot be produced by Poisson input "
            f"(need s > 0 and |w| <= 2 s^2 / |m|): {shown}{more}",
            points,
        )
    tau_s = tau_syn / _MS_PER_S
    total_a = m / (tau_s * w)
    total_b = 2 * s**2 / (tau_s * w**2)
    n_exc = n_trains - n_trains // 2
    n_inh = n_trains // 2
    rate_exc = np.maximum((total_b + total_a) / (2 * n_exc), 0.0)
    rate_inh = np.maximum((total_b - total_a) / (2 * n_inh), 0.0)
    return PoissonDrive(rate_exc, rate_inh, np.array(w), n_exc, n_inh)
