"""Analytic firing rates of the LIF neuron: constant current (eq. 2) and Siegert (eq. 6-7).

All functions broadcast over numpy arrays of input mean ``m`` and std ``s`` (nA) and return rates
in Hz. The input is what arrives on top of the neuron's own ``i_offset`` (docs/science.md
section 1).

Numerics of the Siegert integral
--------------------------------
The mean first-passage time is ``T = tau_m sqrt(pi) * I(y_r, y_th)`` with
``I = Integral_{y_r}^{y_th} erfcx(-u) du``. Everything is reduced to two pieces that stay finite:

* on ``u <= 0`` the integrand is ``erfcx(|u|)``, smooth and below 1;
* on ``u >= 0``, ``erfcx(-u) = 2 exp(u^2) - erfcx(u)`` and ``Integral exp(u^2) = exp(u^2) D(u)``
  with Dawson's function ``D``, so only ``erfcx`` on non-negative arguments is integrated.

``Integral_a^b erfcx(u) du`` (``0 <= a <= b``) is Gauss-Legendre quadrature on ``[0, 1]``, and on
``[1, inf)`` the exact integral of the asymptote ``1 / (sqrt(pi) u)`` (a logarithm) plus the
quadrature of the remainder in ``t = 1/u``. The logarithm is what makes ``sigma -> 0`` reproduce
eq. 2 exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.special import dawsn, erfcx, zeta

from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams

_SQRT_PI = np.sqrt(np.pi)
_MS_PER_S = 1000.0
# Fourcaud & Brunel (2002): thresholds shift by alpha/2 * sqrt(tau_syn / tau_m), in units of sigma.
_FOURCAUD_BRUNEL_ALPHA = np.sqrt(2.0) * abs(zeta(0.5))
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)


def constant_current_rate(m, params: LIFParams = LIFParams()):
    """Firing rate for a constant input current (eq. 2, any ``v_reset``).

    ``rate = 1 / (tau_refrac + tau_m ln((V_inf - v_reset) / (V_inf - v_thresh)))`` when
    ``V_inf = v_rest + R_m (m + i_offset)`` is above threshold, else 0.

    Parameters
    ----------
    m : array_like
        Input current on top of ``i_offset`` (nA).
    params : LIFParams
        Neuron parameters.

    Returns
    -------
    numpy.ndarray
        Firing rate (Hz), the shape of ``m``.
    """
    v_inf = params.v_rest + params.r_m * (np.asarray(m, dtype=float) + params.i_offset)
    above = v_inf > params.v_thresh
    safe_v = np.where(above, v_inf, params.v_thresh + 1.0)
    period = params.tau_refrac + params.tau_m * np.log(
        (safe_v - params.v_reset) / (safe_v - params.v_thresh)
    )
    return np.where(above, _MS_PER_S / period, 0.0)


def noise_sigma(s, params: LIFParams = LIFParams(), dt_noise: float = 1.0):
    """Membrane-potential noise amplitude of a current redrawn every ``dt_noise`` ms.

    ``sigma = R_m * s * sqrt(dt_noise / tau_m)`` (mV), the ``sigma`` of eq. 7.

    Parameters
    ----------
    s : array_like
        Standard deviation of the input current (nA).
    params : LIFParams
        Neuron parameters.
    dt_noise : float
        Interval at which the noise is redrawn (ms), PyNN ``NoisyCurrentSource(dt=...)``.
    """
    return params.r_m * np.asarray(s, dtype=float) * np.sqrt(dt_noise / params.tau_m)


def siegert_rate(
    m,
    s,
    params: LIFParams = LIFParams(),
    dt_noise: float = 1.0,
    tau_syn: float = 0.0,
):
    """Firing rate for a noisy input current by the Siegert formula (eq. 6-7).

    ``rate = 1 / (tau_refrac + tau_m sqrt(pi) Integral_{y_r}^{y_th} exp(u^2)(1 + erf(u)) du)``
    with ``y = (V - v_rest - mu) / sigma``, ``mu = R_m (m + i_offset)`` and ``sigma`` from
    :func:`noise_sigma`. ``s = 0`` gives :func:`constant_current_rate`.

    Parameters
    ----------
    m : array_like
        Input mean current on top of ``i_offset`` (nA).
    s : array_like
        Input current standard deviation (nA), >= 0; broadcasts with ``m``.
    params : LIFParams
        Neuron parameters.
    dt_noise : float
        Noise sampling interval (ms) that defines ``sigma``.
    tau_syn : float
        Synaptic time constant (ms). If > 0, applies the Fourcaud-Brunel (2002) correction for
        synaptic filtering: both bounds move up by ``alpha/2 sqrt(tau_syn/tau_m)``,
        ``alpha = sqrt(2) |zeta(1/2)|`` (as NEST's ``siegert_neuron``). Not in the papers.

    Returns
    -------
    numpy.ndarray
        Firing rate (Hz), the broadcast shape of ``m`` and ``s``.
    """
    m, s = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(s, dtype=float))
    if np.any(s < 0):
        raise ParameterError("s", f"must be >= 0 nA (got min {s.min()})")
    if not dt_noise > 0:
        raise ParameterError("dt_noise", f"must be > 0 ms (got {dt_noise})")
    if not tau_syn >= 0:
        raise ParameterError("tau_syn", f"must be >= 0 ms (got {tau_syn})")
    mu = params.r_m * (m + params.i_offset)
    sigma = noise_sigma(s, params, dt_noise)
    noisy = sigma > 0
    safe_sigma = np.where(noisy, sigma, 1.0)
    shift = 0.5 * _FOURCAUD_BRUNEL_ALPHA * np.sqrt(tau_syn / params.tau_m)
    y_th = (params.v_thresh - params.v_rest - mu) / safe_sigma + shift
    y_r = (params.v_reset - params.v_rest - mu) / safe_sigma + shift
    with np.errstate(over="ignore", invalid="ignore"):
        integral = _siegert_integral(y_r, y_th)
        period = params.tau_refrac + params.tau_m * _SQRT_PI * integral
        rate = np.where(np.isfinite(period), _MS_PER_S / period, 0.0)
    return np.where(noisy, rate, constant_current_rate(m, params))


def _siegert_integral(y_r, y_th):
    """``Integral_{y_r}^{y_th} erfcx(-u) du`` for ``y_r < y_th``; ``inf`` where it overflows."""
    # Part below zero: Integral_{y_r}^{min(y_th, 0)} erfcx(-u) du = Integral erfcx(v) dv, v = -u.
    negative = _erfcx_integral(np.maximum(-y_th, 0.0), np.maximum(-y_r, 0.0))
    # Part above zero: Integral_a^b (2 exp(u^2) - erfcx(u)) du, a = max(y_r, 0), b = max(y_th, 0).
    a = np.maximum(y_r, 0.0)
    b = np.maximum(y_th, 0.0)
    dawson_part = 2.0 * np.exp(b * b) * (dawsn(b) - np.exp(a * a - b * b) * dawsn(a))
    positive = dawson_part - _erfcx_integral(a, b)
    return negative + positive


def _erfcx_integral(a, b):
    """``Integral_a^b erfcx(u) du`` for ``0 <= a <= b`` (``b`` may be huge), elementwise."""
    return _erfcx_antiderivative(b) - _erfcx_antiderivative(a)


def _erfcx_antiderivative(u):
    """``H(u) = Integral_0^u erfcx(v) dv`` for ``u >= 0``, accurate to ~1e-13 relative."""
    u = np.asarray(u, dtype=float)
    low = np.minimum(u, 1.0)
    head = _gauss_legendre(erfcx, 0.0, low)
    # For u > 1: Integral_1^u erfcx = ln(u)/sqrt(pi) + Integral_{1/u}^{1} r(1/t)/t^2 dt, with
    # r(v) = erfcx(v) - 1/(sqrt(pi) v), which is smooth and bounded in t.
    big = np.maximum(u, 1.0)
    tail = np.log(big) / _SQRT_PI + _gauss_legendre(_remainder_in_t, 1.0 / big, 1.0)
    return head + np.where(u > 1.0, tail, 0.0)


def _remainder_in_t(t):
    v = 1.0 / t
    return (erfcx(v) - 1.0 / (_SQRT_PI * v)) / (t * t)


def _gauss_legendre(func, lo, hi):
    """Integral of ``func`` from ``lo`` to ``hi`` (arrays) by 48-point Gauss-Legendre."""
    lo = np.asarray(lo, dtype=float)[..., None]
    hi = np.asarray(hi, dtype=float)[..., None]
    half = 0.5 * (hi - lo)
    points = lo + half * (_NODES + 1.0)
    return np.sum(_WEIGHTS * func(points), axis=-1) * half[..., 0]
