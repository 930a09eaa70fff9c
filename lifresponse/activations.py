"""Activation functions that model the LIF response, in numpy (docs/science.md sections 4, 5, 7).

Arguments ``x`` are input mean currents and ``sigma`` input current standard deviations, both in
nA; these functions return the *unscaled* activation ``f`` (nA). Multiply by ``S`` (Hz/nA) for a
firing rate, or use :func:`ann_output` for the ANN value ``y = f S tau_syn`` of eq. 14.

All are stable for ``|x / (k sigma)|`` up to 1e4 and beyond: softplus is ``logaddexp(0, z)`` and
the logistic is ``scipy.special.expit``; nothing overflows or warns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lifresponse import conductance_mean_field
from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams
from lifresponse.response_surface import ResponseSurface, require_surface

_MS_PER_S = 1000.0


def _softplus(z):
    return np.logaddexp(0.0, z)


def _scaled_input(x, sigma, k):
    """``z = x / (k sigma)`` and a mask of where ``sigma > 0`` (elsewhere ``z`` is meaningless)."""
    x, sigma = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(sigma, dtype=float))
    if np.any(sigma < 0):
        raise ParameterError(
            "sigma", f"the input noise sigma must be >= 0 nA (got min {sigma.min()})")
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
    return np.where(noisy, _logistic(z), (x > 0).astype(float))


def noisy_softplus_dsigma(x, sigma, k: float = 0.30):
    """Derivative of :func:`noisy_softplus` in ``sigma``: ``k (softplus(z) - z logistic(z))``,
    ``z = x / (k sigma)`` (dimensionless).

    At ``sigma = 0`` it is the limit: 0, or ``k ln 2`` at ``x = 0``."""
    x, sigma, z, noisy = _scaled_input(x, sigma, k)
    # softplus(z) - z logistic(z) -> 0 for |z| -> inf; for z > 0 use the form without cancellation:
    # log1p(e^-z) + z e^-z / (1 + e^-z), i.e. softplus(-z) + z logistic(-z).
    stable = np.where(z > 0, _softplus(-z) + z * _logistic(-z), _softplus(z) - z * _logistic(z))
    limit = np.where(x == 0, k * np.log(2.0), 0.0)
    return np.where(noisy, k * stable, limit)


def softplus(x, sigma: float = 0.45, k: float = 0.30):
    """Softplus with a fixed noise level: :func:`noisy_softplus` at a constant ``sigma`` (nA)."""
    if sigma <= 0:
        raise ParameterError("softplus_sigma", f"the fixed sigma must be > 0 nA (got {sigma})")
    return noisy_softplus(x, sigma, k)


def softplus_dx(x, sigma: float = 0.45, k: float = 0.30):
    """Derivative of :func:`softplus` in ``x`` (dimensionless)."""
    if sigma <= 0:
        raise ParameterError("softplus_sigma", f"the fixed sigma must be > 0 nA (got {sigma})")
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
    with np.errstate(divide="ignore", over="ignore"):
        period = params.tau_refrac + params.tau_m * np.log1p(reset_current / rho)
    return _MS_PER_S / period


def soft_lif_rate_dx(x, params: LIFParams = LIFParams(), gamma: float = 0.01):
    """Derivative of :func:`soft_lif_rate` in ``x`` (Hz/nA)."""
    rho, slope_over_rho, reset_current = _soft_lif_terms(x, params, gamma)
    with np.errstate(divide="ignore", over="ignore"):
        period = params.tau_refrac + params.tau_m * np.log1p(reset_current / rho)
        # d period / dx = -tau_m c / (rho (rho + c)) * d rho / dx, c = reset_current.
        dperiod = -params.tau_m * reset_current * slope_over_rho / (rho + reset_current)
        result = -_MS_PER_S * dperiod / period**2
    return np.where(np.isfinite(period), result, 0.0)


def _logistic(z):
    """``1 / (1 + exp(-z))`` for any ``z`` (``scipy.special.expit``, imported on first use:
    importing ``scipy.special`` takes 0.2 s of every command, and most never need it)."""
    from scipy.special import expit

    return expit(z)


def _soft_lif_terms(x, params: LIFParams, gamma: float):
    """``rho`` (nA), ``rho'/rho`` (1/nA) and ``(v_thresh - v_reset) / R_m`` (nA)."""
    if gamma <= 0:
        raise ParameterError("gamma", f"the soft LIF smoothing gamma must be > 0 nA (got {gamma})")
    z = (np.asarray(x, dtype=float) - params.input_rheobase) / gamma
    rho = gamma * _softplus(z)
    # logistic(z) / softplus(z) -> 1 for z -> -inf, where both underflow.
    sp = _softplus(z)
    slope_over_rho = np.where(z < -700, 1.0, _logistic(z) / np.where(sp > 0, sp, 1.0)) / gamma
    reset_current = (params.v_thresh - params.v_reset) / params.r_m
    return rho, slope_over_rho, reset_current


@dataclass(frozen=True)
class ActivationSettings:
    """Everything an activation's output may depend on besides its input.

    Attributes
    ----------
    k : float
        Noisy Softplus shape (dimensionless).
    S : float
        Scale from activation to rate (Hz/nA); scales ReLU and Softplus too.
    tau_syn : float
        Synaptic time constant (ms).
    softplus_sigma : float
        The fixed noise level of "softplus" (nA).
    neuron : LIFParams
        Neuron parameters of "soft-lif".
    gamma : float
        Smoothing current of "soft-lif" (nA).
    response : ResponseSurface or None
        The cell's measured rates, read by "measured" (:mod:`lifresponse.response_surface`).
    timestep : float
        The simulation's step (ms), read by "conductance-mean-field" (a spike is found at the
        end of the step in which the membrane crossed threshold).
    cell : str or None
        The neurons' PyNN cell, read by "conductance-mean-field" (the shape of their
        conductances); None for a network of several.
    """

    k: float = 0.30
    S: float = 201.0
    tau_syn: float = 5.0
    softplus_sigma: float = 0.45
    neuron: LIFParams = LIFParams()
    gamma: float = 0.01
    response: ResponseSurface | None = None
    timestep: float = 1.0
    cell: str | None = "IF_curr_exp"

    @property
    def tau_s(self) -> float:
        """``tau_syn`` in seconds."""
        return self.tau_syn / _MS_PER_S


@dataclass(frozen=True)
class Activation:
    """One activation of the registry: its name (the CLI choice and the value stored in network
    files), its numpy output ``y = rate * tau_syn`` and slope ``dy/dnet`` (eq. 14-15; also the
    predictor of SNN rates, :mod:`lifresponse.networks.prediction`), and where its torch twin
    is (``"module:function"``, imported only by training).

    Every function takes ``(net, sigma, settings)``: net and sigma in nA, settings an
    :class:`ActivationSettings`. With ``by_sign``, net and sigma are the excitatory and the
    inhibitory input apart, stacked on a first axis of 2 (magnitudes; in uS for the
    conductance cells), and there is no slope of one input (``slope`` None). ``models_cell``:
    the activation is the cell's own response (measured, or its mean field), which fine tuning
    keeps instead of switching to Noisy Softplus.
    """

    name: str
    output: Callable
    slope: Callable | None
    torch_output: str
    uses_sigma: bool
    summary: str
    by_sign: bool = False
    models_cell: bool = False

    def torch_function(self) -> Callable:
        """The torch output function (imports torch)."""
        module, function = self.torch_output.split(":")
        return getattr(importlib.import_module(module), function)


_TORCH = "lifresponse.training.activations"

REGISTRY = {entry.name: entry for entry in (
    Activation("noisy-softplus",
               lambda net, sigma, s: noisy_softplus(net, sigma, s.k) * s.S * s.tau_s,
               lambda net, sigma, s: noisy_softplus_dx(net, sigma, s.k) * s.S * s.tau_s,
               f"{_TORCH}:noisy_softplus_output", True,
               "Noisy Softplus of the input's mean and noise (eq. 9)"),
    Activation("relu",
               lambda net, sigma, s: relu(net) * s.S * s.tau_s,
               lambda net, sigma, s: relu_dx(net) * s.S * s.tau_s,
               f"{_TORCH}:relu_output", False, "ReLU, scaled by S"),
    Activation("softplus",
               lambda net, sigma, s: softplus(net, s.softplus_sigma, s.k) * s.S * s.tau_s,
               lambda net, sigma, s: softplus_dx(net, s.softplus_sigma, s.k) * s.S * s.tau_s,
               f"{_TORCH}:softplus_output", False,
               "Noisy Softplus at one fixed noise level (softplus_sigma)"),
    Activation("soft-lif",
               lambda net, sigma, s: soft_lif_rate(net, s.neuron, s.gamma) * s.tau_s,
               lambda net, sigma, s: soft_lif_rate_dx(net, s.neuron, s.gamma) * s.tau_s,
               f"{_TORCH}:soft_lif_output", False,
               "soft LIF rate (Hunsberger & Eliasmith 2015); S unused"),
    Activation("measured",
               lambda net, sigma, s: require_surface(s.response, "measured").rate(net, sigma)
               * s.tau_s,
               lambda net, sigma, s: require_surface(s.response, "measured").rate_dnet(
                   net, sigma) * s.tau_s,
               f"{_TORCH}:measured_output", True,
               "the cell's measured rates over mean and noise, interpolated (--response); "
               "k and S unused", models_cell=True),
    Activation("conductance-mean-field",
               lambda net, sigma, s: conductance_mean_field.rate(
                   net, sigma, s.neuron, s.tau_syn, s.timestep, s.cell) * s.tau_s,
               None, f"{_TORCH}:conductance_mean_field_output", True,
               "IF_cond_exp's or IF_cond_alpha's rate from its excitatory and inhibitory "
               "conductances apart, an "
               "effective-membrane mean field (lifresponse.conductance_mean_field); k and S "
               "unused", by_sign=True, models_cell=True),
)}
"""Every activation, by name: adding one is one entry here (and its torch twin)."""


def get_activation(name: str) -> Activation:
    """The registry entry of ``name``; :class:`ParameterError` naming the choices otherwise."""
    if name not in REGISTRY:
        raise ParameterError("activation", f"unknown activation {name!r}; choose one of "
                             f"{', '.join(REGISTRY)}")
    return REGISTRY[name]


def ann_output(net, sigma, activation: str = "noisy-softplus", **settings):
    """The artificial spiking neuron's output ``y = f(net, sigma) S tau_syn`` (eq. 14).

    ``y`` is the firing rate times ``tau_syn``, i.e. the next layer's input ``x``
    (dimensionless; 200 Hz at 5 ms is 1).

    Parameters
    ----------
    net : array_like
        Weighted input sum, the mean input current (nA), eq. 12.
    sigma : array_like
        Input current standard deviation (nA), eq. 13; used by Noisy Softplus only.
    activation : str
        A name of :data:`REGISTRY`.
    **settings
        Fields of :class:`ActivationSettings` (``k``, ``S``, ``tau_syn``, ``softplus_sigma``,
        ``neuron``, ``gamma``, ``response``, ``timestep``, ``cell``).
    """
    return get_activation(activation).output(net, sigma, ActivationSettings(**settings))


def ann_output_dnet(net, sigma, activation: str = "noisy-softplus", **settings):
    """``dy / dnet = f'(net) S tau_syn`` (eq. 15), in 1/nA; arguments as :func:`ann_output`.

    Raises
    ------
    ParameterError
        For an activation of the excitatory and inhibitory input apart (no slope of one net
        input)."""
    entry = get_activation(activation)
    if entry.slope is None:
        raise ParameterError("activation", f"{activation} takes the excitatory and inhibitory "
                             "input apart: it has no slope of one net input")
    return entry.slope(net, sigma, ActivationSettings(**settings))
