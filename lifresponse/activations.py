"""Activation functions that model the LIF response, in numpy (SCIENCE.md sections 4, 5, 7).

Arguments ``x`` are input mean currents and ``sigma`` input current standard deviations, both in
nA; these functions return the *unscaled* activation ``f`` (nA). Multiply by ``S`` (Hz/nA) for a
firing rate, or use :func:`ann_output` for the ANN value ``y = f S tau_syn`` of eq. 14.

All are stable for ``|x / (k sigma)|`` up to 1e4 and beyond: softplus is ``logaddexp(0, z)`` and
the logistic is ``scipy.special.expit``; nothing overflows or warns.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lifresponse.neuron import LIFParams

_MS_PER_S = 1000.0


def _softplus(z):
    return np.logaddexp(0.0, z)


def _scaled_input(x, sigma, k):
    """``z = x / (k sigma)`` and a mask of where ``sigma > 0`` (elsewhere ``z`` is meaningless)."""
    x, sigma = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(sigma, dtype=float))
    if np.any(sigma < 0):
        raise ValueError(f"sigma must be >= 0 (got min {sigma.min()})")
    noisy = sigma > 0
    z = x / (k * np.where(noisy, sigma, 1.0))
    return x, sigma, z, noisy


def noisy_softplus(x, sigma, k: float = 0.30):
    """Noisy Softplus ``f_ns(x, sigma) = k sigma ln(1 + exp(x / (k sigma)))`` (eq. 9).

    ``sigma = 0`` gives ReLU ``max(0, x)``, its limit.

    Parameters
    ----------
    x : array_like
        Input mean current (nA).
    sigma : array_like
        Input current standard deviation (nA), >= 0; broadcasts with ``x``.
    k : float
        Shape parameter fitted in calibration (dimensionless).

    Returns
    -------
    numpy.ndarray
        Activation (nA); times ``S`` it is the predicted firing rate (Hz).
    """
    x, sigma, z, noisy = _scaled_input(x, sigma, k)
    return np.where(noisy, k * sigma * _softplus(z), np.maximum(x, 0.0))


def noisy_softplus_dx(x, sigma, k: float = 0.30):
    """Derivative of :func:`noisy_softplus` in ``x``: the logistic ``1 / (1 + exp(-x/(k sigma)))``
    (eq. 10); the step function where ``sigma = 0`` (dimensionless)."""
    x, sigma, z, noisy = _scaled_input(x, sigma, k)
    return np.where(noisy, expit(z), (x > 0).astype(float))


def noisy_softplus_dsigma(x, sigma, k: float = 0.30):
    """Derivative of :func:`noisy_softplus` in ``sigma``: ``k (softplus(z) - z logistic(z))``,
    ``z = x / (k sigma)`` (dimensionless).

    At ``sigma = 0`` it is the limit: 0, or ``k ln 2`` at ``x = 0``."""
    x, sigma, z, noisy = _scaled_input(x, sigma, k)
    # softplus(z) - z expit(z) -> 0 for |z| -> inf; for z > 0 use the form without cancellation:
    # log1p(e^-z) + z e^-z / (1 + e^-z), i.e. softplus(-z) + z expit(-z).
    stable = np.where(z > 0, _softplus(-z) + z * expit(-z), _softplus(z) - z * expit(z))
    limit = np.where(x == 0, k * np.log(2.0), 0.0)
    return np.where(noisy, k * stable, limit)


def softplus(x, sigma: float = 0.45, k: float = 0.30):
    """Softplus with a fixed noise level: :func:`noisy_softplus` at a constant ``sigma`` (nA)."""
    if sigma <= 0:
        raise ValueError(f"softplus: the fixed sigma must be > 0 (got {sigma})")
    return noisy_softplus(x, sigma, k)


def softplus_dx(x, sigma: float = 0.45, k: float = 0.30):
    """Derivative of :func:`softplus` in ``x`` (dimensionless)."""
    if sigma <= 0:
        raise ValueError(f"softplus_dx: the fixed sigma must be > 0 (got {sigma})")
    return noisy_softplus_dx(x, sigma, k)


def relu(x):
    """``max(0, x)`` (nA in, nA out)."""
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def relu_dx(x):
    """Derivative of :func:`relu`: 1 where ``x > 0``, else 0."""
    return (np.asarray(x, dtype=float) > 0).astype(float)


def soft_lif_rate(x, params: LIFParams = LIFParams(), gamma: float = 0.01):
    """Soft LIF rate (Hunsberger & Eliasmith 2015) in the units of this package (Hz).

    The constant-current rate of eq. 2 with the suprathreshold current ``j = x - input_rheobase``
    replaced by ``rho(j) = gamma ln(1 + exp(j / gamma))``:
    ``rate = 1 / (tau_refrac + tau_m ln(1 + (v_thresh - v_reset) / (R_m rho(j))))``.
    ``gamma -> 0`` recovers eq. 2 exactly.

    Parameters
    ----------
    x : array_like
        Input current on top of ``i_offset`` (nA).
    params : LIFParams
        Neuron parameters.
    gamma : float
        Smoothing current (nA), > 0.
    """
    rho, _, reset_current = _soft_lif_terms(x, params, gamma)
    with np.errstate(divide="ignore"):
        period = params.tau_refrac + params.tau_m * np.log1p(reset_current / rho)
    return _MS_PER_S / period


def soft_lif_rate_dx(x, params: LIFParams = LIFParams(), gamma: float = 0.01):
    """Derivative of :func:`soft_lif_rate` in ``x`` (Hz/nA)."""
    rho, slope_over_rho, reset_current = _soft_lif_terms(x, params, gamma)
    with np.errstate(divide="ignore"):
        period = params.tau_refrac + params.tau_m * np.log1p(reset_current / rho)
        # d period / dx = -tau_m c / (rho (rho + c)) * d rho / dx, c = reset_current.
        dperiod = -params.tau_m * reset_current * slope_over_rho / (rho + reset_current)
        result = -_MS_PER_S * dperiod / period**2
    return np.where(np.isfinite(period), result, 0.0)


def _soft_lif_terms(x, params: LIFParams, gamma: float):
    """``rho`` (nA), ``rho'/rho`` (1/nA) and ``(v_thresh - v_reset) / R_m`` (nA)."""
    if gamma <= 0:
        raise ValueError(f"soft LIF: gamma must be > 0 (got {gamma})")
    z = (np.asarray(x, dtype=float) - params.input_rheobase) / gamma
    rho = gamma * _softplus(z)
    # expit(z) / softplus(z) -> 1 for z -> -inf, where both underflow.
    sp = _softplus(z)
    slope_over_rho = np.where(z < -700, 1.0, expit(z) / np.where(sp > 0, sp, 1.0)) / gamma
    reset_current = (params.v_thresh - params.v_reset) / params.r_m
    return rho, slope_over_rho, reset_current


ACTIVATIONS = ("noisy-softplus", "relu", "softplus", "soft-lif")


def ann_output(net, sigma, activation: str = "noisy-softplus", *, k=0.30, S=201.0,
               tau_syn=5.0, softplus_sigma=0.45, params: LIFParams = LIFParams(), gamma=0.01):
    """The artificial spiking neuron's output ``y = f(net, sigma) S tau_syn`` (eq. 14).

    ``y`` is the firing rate times ``tau_syn``, i.e. the next layer's input ``x``
    (dimensionless; 200 Hz at 5 ms is 1).

    Parameters
    ----------
    net : array_like
        Weighted input sum, the mean input current (nA), eq. 12.
    sigma : array_like
        Input current standard deviation (nA), eq. 13; used by Noisy Softplus only.
    activation : {"noisy-softplus", "relu", "softplus", "soft-lif"}
        Which ``f``. For "soft-lif" the rate is :func:`soft_lif_rate` itself and ``S`` is unused.
    k, S : float
        Noisy Softplus parameters (dimensionless, Hz/nA).
    tau_syn : float
        Synaptic time constant (ms).
    softplus_sigma : float
        The fixed noise level of "softplus" (nA).
    params, gamma
        Neuron parameters and smoothing current (nA) of "soft-lif".
    """
    tau_s = tau_syn / _MS_PER_S
    if activation == "soft-lif":
        return soft_lif_rate(net, params, gamma) * tau_s
    return _unscaled(net, sigma, activation, k, softplus_sigma) * S * tau_s


def ann_output_dnet(net, sigma, activation: str = "noisy-softplus", *, k=0.30, S=201.0,
                    tau_syn=5.0, softplus_sigma=0.45, params: LIFParams = LIFParams(),
                    gamma=0.01):
    """``dy / dnet = f'(net) S tau_syn`` (eq. 15), in 1/nA; arguments as :func:`ann_output`."""
    tau_s = tau_syn / _MS_PER_S
    if activation == "soft-lif":
        return soft_lif_rate_dx(net, params, gamma) * tau_s
    if activation == "noisy-softplus":
        slope = noisy_softplus_dx(net, sigma, k)
    elif activation == "softplus":
        slope = softplus_dx(net, softplus_sigma, k)
    elif activation == "relu":
        slope = relu_dx(net)
    else:
        raise ValueError(_unknown(activation))
    return slope * S * tau_s


def _unscaled(net, sigma, activation, k, softplus_sigma):
    if activation == "noisy-softplus":
        return noisy_softplus(net, sigma, k)
    if activation == "softplus":
        return softplus(net, softplus_sigma, k)
    if activation == "relu":
        return relu(net)
    raise ValueError(_unknown(activation))


def _unknown(activation):
    return f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
