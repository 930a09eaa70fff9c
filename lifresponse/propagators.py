"""The per-step constants with which NEST 3.10 integrates ``iaf_psc_exp``, ``iaf_psc_delta`` and
``iaf_psc_alpha`` exactly, computed as NEST's PyPI wheel computes them (the same expressions,
in the same order; Python's ``math`` is the C library, as NEST's; ``expm1`` is NEST's own,
:func:`nest_expm1`), and the constants of ``izhikevich``'s forward Euler steps.

``iaf_psc_exp`` (PyNN ``IF_curr_exp``), ``V`` relative to ``v_rest`` (mV), currents in pA::

    V <- ((V P22 + I_ex P21ex) + I_in P21in) + I_e P20;   I <- I P11 + arriving weights

``iaf_psc_delta`` (PyNN ``IF_curr_delta``), weights in mV::

    V <- (I_e P30 + V P33) + arriving weights

``iaf_psc_alpha`` (PyNN ``IF_curr_alpha``), each synapse type a current ``I`` and its
derivative ``dI`` (:class:`AlphaTerms`)::

    V <- I_e P30 + P31ex dI_ex + P32ex I_ex + P31in dI_in + P32in I_in + expm1(-h/tau_m) V + V
    I <- P21 dI + P11 I;   dI <- dI P11 + e / tau_syn * arriving weights

with ``P11 = exp(-h / tau_syn)``, ``P22 = P33 = exp(-h / tau_m)``, ``P20 = tau_m / C (1 -
P22)``, ``iaf_psc_delta``'s ``P30 = 1 / C (1 - P33) tau_m``, ``iaf_psc_alpha``'s ``P30 = -tau_m
/ C expm1(-h / tau_m)`` and ``P21 = h P11``, ``C = 1000 cm`` pF, ``I_e = 1000 i_offset`` pA,
``iaf_psc_exp``'s ``P21`` :func:`p21` and ``iaf_psc_alpha``'s ``P31``, ``P32`` :func:`p31_p32`.

``izhikevich`` (PyNN ``Izhikevich``, NEST's default ``consistent_integration``: one forward
Euler step from the old ``v`` and ``u``; ``v`` in mV, not relative; weights in mV;
:class:`IzhikevichTerms`)::

    v <- v + (h (((((0.04 v) v + 5 v) + 140) - u) + I_e) + arriving weights)
    u <- u + (h a) ((b v_old) - u_old);   v <- max(v, V_min)
    if v >= V_th:  v <- c;  u <- u + d;  spike

with ``I_e = 1000 i_offset`` (``u`` and ``I_e`` in mV/ms: the model's "current").
Kept apart from the torch backend so that code without torch (the NIR importer) computes the
same numbers.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from lifresponse.cells import CellParams, one_input
from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams

PA_PER_NA = 1000.0  # as PyNN converts weights, i_offset and cm for NEST
# the cells whose NEST models integrate with constant propagators; NEST integrates the
# conductance-based ones (iaf_cond_exp) with GSL's adaptive Runge-Kutta-Fehlberg 4(5) solver,
# whose substeps depend on each neuron's state, so no batch of fixed-step operations gives its
# spikes: those run on NEST only
EXACT_CELLS = ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "Izhikevich")
# NEST's izhikevich: its spike cutoff and lower bound of v (mV), which PyNN leaves at NEST's
# defaults, and PyNN's initial state (default_initial_values: v in mV, u in mV/ms), where the
# rest protocol starts every image
IZHIKEVICH_V_TH, IZHIKEVICH_V_MIN = 30.0, -sys.float_info.max
IZHIKEVICH_REST_V, IZHIKEVICH_REST_U = -70.0, -14.0


def input_unit(cell: str) -> float:
    """What one unit of a network file's weight (nA, or mV into the cells with delta synapses)
    is in a ``cell`` neuron's input: pA for the current cells, mV for ``IF_curr_delta`` and
    ``Izhikevich``."""
    return 1.0 if one_input(cell) else PA_PER_NA


@dataclass(frozen=True)
class AlphaTerms:
    """``iaf_psc_alpha``'s constants beyond those it shares (module docstring): ``P21``
    (current derivative to current, ms), ``P31`` and ``P32`` (derivative and current to the
    membrane, mV per pA ms and mV per pA), ``expm1_tau_m`` (``expm1(-h / tau_m)``), and
    ``epsc`` (``e / tau_syn``, 1/ms: an arriving weight of ``w`` pA makes a current of peak
    ``w``), per synapse type."""

    P21ex: float
    P21in: float
    P31ex: float
    P31in: float
    P32ex: float
    P32in: float
    expm1_tau_m: float
    epsc_ex: float
    epsc_in: float


@dataclass(frozen=True)
class IzhikevichTerms:
    """``izhikevich``'s constants (module docstring): the step ``h`` (ms), ``h a`` (as NEST
    multiplies them first), ``b`` (1/ms), ``d`` (mV/ms), ``V_min`` (mV), and the quadratic's
    coefficients (1/(mV ms), 1/ms, mV/ms), kept as numbers so that a float32 simulation rounds
    them once."""

    h: float
    h_a: float
    b: float
    d: float
    v_min: float = IZHIKEVICH_V_MIN
    k2: float = 0.04
    k1: float = 5.0
    k0: float = 140.0


@dataclass(frozen=True)
class Propagators:
    """Per-step constants of one layer's neurons (module docstring), float64.

    ``P11ex`` ... ``P21in`` are those of ``iaf_psc_exp`` (0 for ``iaf_psc_delta``; for
    ``iaf_psc_alpha`` ``P11`` the currents' decay, ``P21`` 0 and the rest in ``alpha``);
    ``P22`` is the membrane's decay; ``i_offset`` the neuron's (nA, without any bias); ``drive``
    the factor of ``I_e`` (``P20`` or ``P30``); ``theta`` and ``v_reset`` relative to
    ``v_rest`` (mV); ``subtract``: a spike takes ``reset_jump = v_thresh - v_reset`` (mV) off
    the membrane instead of setting it to ``v_reset``. ``Izhikevich``: ``drive`` 1 (``I_e`` in
    mV/ms), ``theta`` ``V_th`` and ``v_reset`` ``c`` (mV, absolute), no refractory period, no
    current terms, and ``izhikevich`` its constants.
    """

    cell: str
    P11ex: float
    P11in: float
    P22: float
    P21ex: float
    P21in: float
    i_offset: float
    drive: float
    theta: float
    v_reset: float
    refractory_steps: int
    subtract: bool = False
    reset_jump: float = 0.0
    alpha: AlphaTerms | None = None
    izhikevich: IzhikevichTerms | None = None

    @property
    def offset_drive(self) -> float:
        """The constant drive of ``i_offset`` per step (mV)."""
        return self.drive_of(self.i_offset)

    def drive_of(self, i_offset):
        """The constant drive per step (mV) of ``i_offset`` (nA; a number or an array)."""
        return (i_offset * PA_PER_NA + 0.0) * self.drive

    @classmethod
    def of(cls, neuron: LIFParams | CellParams, h: float, cell: str = "IF_curr_exp",
           reset: str = "v_reset") -> Propagators:
        """The constants of ``neuron`` (an ``Izhikevich`` cell's :class:`CellParams`) as a
        ``cell`` at timestep ``h`` (ms) that resets its membrane to ``v_reset`` or by
        subtraction (``reset="subtract"``).

        Raises
        ------
        ParameterError
            A cell not in :data:`EXACT_CELLS`.
        """
        if cell not in EXACT_CELLS:
            raise ParameterError("cell", f"{cell} has no exact per-step constants (NEST "
                                 "integrates it with an adaptive solver); exact are "
                                 f"{', '.join(EXACT_CELLS)}")
        if cell == "Izhikevich":
            if reset != "v_reset":
                raise ParameterError("reset", "Izhikevich neurons reset to c, not by "
                                     "subtraction")
            return cls(cell, 0.0, 0.0, P22=1.0, P21ex=0.0, P21in=0.0, i_offset=neuron.i_offset,
                       drive=1.0, theta=IZHIKEVICH_V_TH, v_reset=neuron.c, refractory_steps=0,
                       izhikevich=IzhikevichTerms(h, h * neuron.a, neuron.b, neuron.d))
        c_m = neuron.cm * PA_PER_NA
        p22 = math.exp(-h / neuron.tau_m)
        common = dict(P22=p22, i_offset=neuron.i_offset,
                      theta=neuron.v_thresh - neuron.v_rest,
                      v_reset=neuron.v_reset - neuron.v_rest,
                      refractory_steps=int(round(neuron.tau_refrac / h)),
                      subtract=reset == "subtract",
                      reset_jump=neuron.v_thresh - neuron.v_reset)
        if cell == "IF_curr_delta":
            return cls(cell, 0.0, 0.0, P21ex=0.0, P21in=0.0,
                       drive=1 / c_m * (1 - p22) * neuron.tau_m, **common)
        p11ex, p11in = math.exp(-h / neuron.tau_syn_E), math.exp(-h / neuron.tau_syn_I)
        if cell == "IF_curr_alpha":
            (p31ex, p32ex), (p31in, p32in) = (p31_p32(tau, neuron.tau_m, c_m, h) for tau in
                                              (neuron.tau_syn_E, neuron.tau_syn_I))
            expm1_tau_m = nest_expm1(-h / neuron.tau_m)
            alpha = AlphaTerms(h * p11ex, h * p11in, p31ex, p31in, p32ex, p32in, expm1_tau_m,
                               1.0 * math.e / neuron.tau_syn_E, 1.0 * math.e / neuron.tau_syn_I)
            return cls(cell, p11ex, p11in, P21ex=0.0, P21in=0.0,
                       drive=-neuron.tau_m / c_m * expm1_tau_m, alpha=alpha, **common)
        return cls(cell, p11ex, p11in,
                   P21ex=p21(neuron.tau_syn_E, neuron.tau_m, c_m, h),
                   P21in=p21(neuron.tau_syn_I, neuron.tau_m, c_m, h),
                   drive=neuron.tau_m / c_m * (1.0 - p22), **common)


def nest_expm1(x: float) -> float:
    """NEST 3.10's ``numerics::expm1`` as the PyPI wheel computes it: the wheel was built
    without the C library's ``expm1`` (``HAVE_EXPM1`` undefined), so NEST sums its own Taylor
    series for ``|x| <= ln 2`` (``exp(x) - 1`` beyond). It differs from ``math.expm1`` in the
    last bit for most arguments."""
    if x == 0:
        return 0.0
    if abs(x) > math.log(2.0):
        return math.exp(x) - 1
    total, term, n = x, x * x / 2, 2
    while abs(term) > abs(total) * sys.float_info.epsilon:
        total += term
        n += 1
        term *= x / n
    return total


def _iaf_propagator(tau_syn: float, tau_m: float, c_m: float, h: float) -> tuple:
    """NEST 3.10's ``IAFPropagator::evaluate_P32_`` (``libnestutil/iaf_propagator.cpp``):
    ``(P32, exp(-h / tau_syn), expm1(h / beta), beta, gamma)``, with ``beta = tau_syn tau_m /
    (tau_m - tau_syn)`` and ``gamma = beta / c_m``; ``P32`` (how much a synaptic current of 1
    pA at a step's start moves the membrane by its end, mV) falls back to its limit ``h / c_m
    exp(-h / tau_m)`` where the regular expression is not a normal positive number (``tau_m``
    at or near ``tau_syn``). Inverses are taken first, as NEST takes them."""
    inv_tau_syn = 1 / tau_syn
    inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    exp_h_tau_syn = math.exp(-h * inv_tau_syn)
    expm1_h_tau = nest_expm1(h * inv_beta)
    if tau_m == tau_syn:  # NEST's beta is inf there and P32 not a number: the limit
        return h * (1 / c_m) * math.exp(-h * (1 / tau_m)), exp_h_tau_syn, expm1_h_tau, \
            math.inf, math.inf
    beta = tau_syn * tau_m / (tau_m - tau_syn)
    gamma = beta / c_m
    p32 = gamma * exp_h_tau_syn * expm1_h_tau
    if not (p32 > 0 and math.isfinite(p32) and p32 >= sys.float_info.min):
        p32 = h * (1 / c_m) * math.exp(-h * (1 / tau_m))
    return p32, exp_h_tau_syn, expm1_h_tau, beta, gamma


def p21(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """``iaf_psc_exp``'s ``P21`` (NEST 3.10's ``IAFPropagatorExp``): how much a synaptic
    current of 1 pA at a step's start moves the membrane by the step's end (mV); ``c_m`` in
    pF, times in ms."""
    return _iaf_propagator(tau_syn, tau_m, c_m, h)[0]


def p31_p32(tau_syn: float, tau_m: float, c_m: float, h: float) -> tuple[float, float]:
    """``iaf_psc_alpha``'s ``(P31, P32)`` (NEST 3.10's ``IAFPropagatorAlpha``): how much the
    alpha current's derivative and the current at a step's start move the membrane by its end;
    ``P31`` takes its singular limit ``h^2 / (2 c_m) exp(-h / tau_m)`` where ``h`` is below
    ``1e-7 tau_m^2 / |tau_m - tau_syn|``."""
    p32, exp_h_tau_syn, expm1_h_tau, beta, gamma = _iaf_propagator(tau_syn, tau_m, c_m, h)
    h_min_regular = (1e-7 * tau_m * tau_m / abs(tau_m - tau_syn) if tau_m != tau_syn
                     else math.inf)
    if h > h_min_regular:
        return gamma * exp_h_tau_syn * (beta * expm1_h_tau - h), p32
    return 0.5 * h * h * (1 / c_m) * math.exp(-h * (1 / tau_m)), p32
