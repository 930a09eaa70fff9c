"""The firing rate of an ``IF_cond_exp`` or ``IF_cond_alpha`` neuron from the statistics of its
excitatory and inhibitory conductances: a mean field that the ANN of a conductance network
trains with.

A conductance network's ANN counts each input as a conductance (uS). Its layer computes, from
the input rates ``r`` (Hz) and weights ``w`` (uS; negative: inhibitory, of size ``|w|``), the
mean and standard deviation of each synapse type's conductance, as eq. 8 does for currents:
``g = sum |w| r tau_syn`` and ``s^2 = sum w^2 r tau_syn / 2``, excitatory and inhibitory apart
(``net`` and ``sigma`` stacked as (excitatory, inhibitory) on a first axis of 2).

The membrane (NEST's ``iaf_cond_exp``)::

    C dV/dt = -g_L (V - E_L) - g_e (V - E_e) - g_i (V - E_i) + I_e

with the conductances at their means has the total conductance ``g0 = g_L + g_e + g_i``, the
effective time constant ``tau_eff = C / g0`` and the effective resting potential
``mu = (g_L E_L + g_e E_e + g_i E_i + I_e) / g0`` (Kuhn, Aertsen and Rotter 2004). The
conductances' fluctuations act as a current of standard deviation
``s_I = sqrt((E_e - mu)^2 s_e^2 + (E_i - mu)^2 s_i^2)`` (nA) with the synapses' correlation
time ``tau_syn``. The rate has a closed form in two limits:

* fast synapses (``tau_syn << tau_eff``): the Siegert formula with the effective membrane and
  the Fourcaud-Brunel correction for synaptic filtering, as :func:`lifresponse.response.
  siegert_rate` computes it for the Poisson drive: ``sigma = s_I / g0 sqrt(2 tau_syn /
  tau_eff)``, both bounds raised by ``alpha / 2 sqrt(tau_syn / tau_eff)``;
* slow synapses (``tau_syn >> tau_eff``): the membrane follows its input, and the rate is the
  deterministic rate ``1 / (tau_refrac + tau_eff ln((V - V_reset) / (V - V_th)))`` averaged
  over ``V ~ N(mu, (s_I / g0)^2)`` (Gauss-Hermite, :data:`HERMITE_NODES` nodes).

Both periods are half a step longer than these continuous-time ones: NEST finds a threshold
crossing at the end of the step in which it happened (at 1 ms steps and 1 ms refractory, no
neuron fires above 500 Hz, where the continuous-time rate reaches 1000 Hz). Between the limits
the two rates are blended with the weight ``tau_eff / (tau_eff + tau_syn)`` on the fast limit.
The blend and the half step are this toolkit's approximations, not derived results; how well
the whole predicts NEST is measured (docs/cells.md). Strongly driven layers are shunted: with
tens of times the leak conductance, ``tau_eff`` falls below a millisecond, where the linear
model of the input (Noisy Softplus of the signed sum) fails most.

``IF_cond_alpha``'s conductance after a spike of weight ``w`` is ``w (t / tau) e^(1 - t / tau)``,
whose integral is ``e`` times, and whose square's integral ``e^2 / 2`` times, those of the
exponential ``w e^(-t / tau)``: its conductances have the mean and variance of exponential ones
of weights ``e / 2 w`` and time constant ``2 tau``, which stand for them here (the same means,
deviations ``e / sqrt(2)`` times, correlation time ``2 tau``; :data:`CONDUCTANCE_SHAPES`). That
is an approximation (the alpha shape's spectrum is not an exponential's); docs/cells.md
measures it.

The Siegert integral ``Integral_{y_r}^{y_th} erfcx(-u) du`` is the exact one of
:mod:`lifresponse.response` here; the torch twin (:mod:`lifresponse.training.activations`)
interpolates its antiderivative (:func:`antiderivative_table`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from lifresponse.errors import ParameterError

FOURCAUD_BRUNEL_ALPHA = math.sqrt(2.0) * 1.4603545088095868  # sqrt(2) |zeta(1/2)|
HERMITE_NODES = 8  # as good as 16 or 40 on the IF_cond_exp network of docs/cells.md (0.1 Hz)
# the Siegert bounds are held to [Y_LOW, Y_HIGH]: above Y_HIGH the rate is below 1e-30 Hz;
# below Y_LOW the integrand is 1 / (sqrt(pi) |u|) to 3e-4, added in closed form
Y_LOW, Y_HIGH = -40.0, 9.0
TABLE_STEP = 0.005
SIGMA_FLOOR = 1e-6  # mV: the fast limit's membrane noise is held above it (no 0 / 0)
VARIANCE_FLOOR = 1e-30  # nA^2, added to s_I^2: a finite gradient of s_I where there is no input
# per cell: what its conductances' mean, deviation and correlation time are, as multiples of
# those of exponential conductances of the same weights, rates and tau_syn (module docstring)
CONDUCTANCE_SHAPES = {"IF_cond_exp": (1.0, 1.0, 1.0),
                      "IF_cond_alpha": (math.e, math.e / math.sqrt(2.0), 2.0)}


def require_conductance_lif(cell: str) -> None:
    """Raise unless ``cell`` is one this mean field describes (:data:`CONDUCTANCE_SHAPES`)."""
    if cell not in CONDUCTANCE_SHAPES:
        raise ParameterError("activation", f"conductance-mean-field describes "
                             f"{' and '.join(CONDUCTANCE_SHAPES)} neurons (exponential or "
                             f"alpha conductances, a LIF membrane); the network is of {cell}")


def exp_equivalent(net, sigma, tau_syn: float, cell: str) -> tuple:
    """The mean and deviation (uS) and the correlation time (ms) of the exponential
    conductances that stand for ``cell``'s (:data:`CONDUCTANCE_SHAPES`), from the layer's
    ``net`` and ``sigma`` (computed as for exponential ones, module docstring)."""
    require_conductance_lif(cell)
    mean, deviation, time = CONDUCTANCE_SHAPES[cell]
    return net * mean, sigma * deviation, tau_syn * time


def effective_membrane(net, sigma, neuron) -> tuple:
    """``(g0, tau_eff, mu, s_I)`` (uS, ms, mV, nA) of inputs ``net`` and ``sigma`` (uS, each
    stacked (excitatory, inhibitory)) into ``neuron`` (:class:`~lifresponse.neuron.LIFParams`
    with reversal potentials). Works on numpy arrays and torch tensors alike."""
    g_e, g_i = net[0], net[1]
    g_leak = neuron.cm / neuron.tau_m
    g0 = g_e + g_i + g_leak
    mu = (g_e * neuron.e_rev_E + g_i * neuron.e_rev_I
          + (g_leak * neuron.v_rest + neuron.i_offset)) / g0
    variance = (neuron.e_rev_E - mu) ** 2 * sigma[0] ** 2 \
        + (neuron.e_rev_I - mu) ** 2 * sigma[1] ** 2
    return g0, neuron.cm / g0, mu, (variance + VARIANCE_FLOOR) ** 0.5


def hermite_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the standard normal's Gauss-Hermite rule."""
    z, w = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)
    return z, w / w.sum()


def rate(net, sigma, neuron, tau_syn: float, timestep: float,
         cell: str = "IF_cond_exp") -> np.ndarray:
    """The blended mean-field rate (Hz, module docstring) of inputs ``net`` and ``sigma`` (uS,
    stacked (excitatory, inhibitory) on the first axis; numpy) into ``cell`` neurons with
    synapses of ``tau_syn`` ms, simulated in steps of ``timestep`` ms."""
    from lifresponse.response import _siegert_integral  # scipy.special: imported on use

    net, sigma, tau_syn = exp_equivalent(np.asarray(net, float), np.asarray(sigma, float),
                                         tau_syn, cell)
    g0, tau_eff, mu, s_i = effective_membrane(net, sigma, neuron)
    y_th, y_r = siegert_bounds(mu, s_i, g0, tau_eff, neuron, tau_syn)
    with np.errstate(over="ignore"):
        integral = _siegert_integral(np.clip(y_r, Y_LOW, Y_HIGH), np.clip(y_th, Y_LOW, Y_HIGH))
    integral = integral + below_table(y_r, np) - below_table(y_th, np)
    fast = 1000.0 / (neuron.tau_refrac + timestep / 2 + tau_eff * math.sqrt(math.pi) * integral)
    slow = 0.0
    for z, weight in zip(*hermite_nodes(), strict=True):
        slow = slow + weight * deterministic_rate(mu + z * s_i / g0, tau_eff, neuron, timestep,
                                                  np)
    blend = tau_eff / (tau_eff + tau_syn)
    return blend * fast + (1.0 - blend) * slow


def siegert_bounds(mu, s_i, g0, tau_eff, neuron, tau_syn: float) -> tuple:
    """The Siegert integral's bounds ``(y_th, y_r)`` of the fast limit (module docstring), the
    membrane's noise held at :data:`SIGMA_FLOOR` or above (numpy arrays or torch tensors)."""
    sigma_v = s_i / g0 * (2.0 * tau_syn / tau_eff) ** 0.5 + SIGMA_FLOOR
    shift = 0.5 * FOURCAUD_BRUNEL_ALPHA * (tau_syn / tau_eff) ** 0.5
    return (neuron.v_thresh - mu) / sigma_v + shift, (neuron.v_reset - mu) / sigma_v + shift


def below_table(y, xp):
    """``Integral_{y}^{Y_LOW} erfcx(-u) du`` for ``y < Y_LOW`` in its asymptotic form
    ``ln(y / Y_LOW) / sqrt(pi)``, 0 for ``y >= Y_LOW``; ``xp`` is numpy or torch."""
    return xp.log(xp.clip(y / Y_LOW, 1.0, None)) / math.sqrt(math.pi)


def deterministic_rate(v_inf, tau_eff, neuron, timestep: float, xp):
    """The rate (Hz) of a membrane relaxing with ``tau_eff`` (ms) towards ``v_inf`` (mV), in
    steps of ``timestep`` ms: ``1 / (tau_refrac + timestep / 2 + tau_eff ln((v_inf - v_reset) /
    (v_inf - v_thresh)))`` above threshold, 0 below; ``xp`` is numpy or torch."""
    above = v_inf > neuron.v_thresh
    safe = xp.where(above, v_inf, neuron.v_thresh + 1.0)  # no log of <= 0 in either branch
    period = neuron.tau_refrac + timestep / 2 + tau_eff * xp.log((safe - neuron.v_reset)
                                                                 / (safe - neuron.v_thresh))
    return xp.where(above, 1000.0 / period, 0.0 * period)


@lru_cache(maxsize=1)
def antiderivative_table() -> tuple[float, float, np.ndarray, np.ndarray]:
    """``(start, step, G, dG)``: ``G(u) = Integral_{Y_LOW}^{u} erfcx(-v) dv`` and its derivative
    ``erfcx(-u)`` at ``u = start + step k`` from Y_LOW to Y_HIGH (float64), for cubic Hermite
    interpolation (its relative error is below 1e-6 here)."""
    from scipy.special import erfcx

    from lifresponse.response import _siegert_integral

    u = np.arange(Y_LOW, Y_HIGH + TABLE_STEP / 2, TABLE_STEP)
    return Y_LOW, TABLE_STEP, _siegert_integral(np.full_like(u, Y_LOW), u), erfcx(-u)
