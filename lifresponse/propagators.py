"""The per-step constants with which NEST 3.10 integrates ``iaf_psc_exp`` and ``iaf_psc_delta``
exactly, computed as NEST computes them (Python's ``math`` is the C library, as NEST's).

``iaf_psc_exp`` (PyNN ``IF_curr_exp``), ``V`` relative to ``v_rest`` (mV), currents in pA::

    V <- ((V P22 + I_ex P21ex) + I_in P21in) + I_e P20;   I <- I P11 + arriving weights

``iaf_psc_delta`` (PyNN ``IF_curr_delta``), weights in mV::

    V <- (I_e P30 + V P33) + arriving weights

with ``P11 = exp(-h / tau_syn)``, ``P22 = P33 = exp(-h / tau_m)``, ``P20 = tau_m / C (1 - P22)``,
``P30 = -tau_m / C expm1(-h / tau_m)``, ``C = 1000 cm`` pF, ``I_e = 1000 i_offset`` pA, and
``P21`` NEST 3.10's ``propagator_32`` (:func:`p21`). Kept apart from the torch backend so that
code without torch (the NIR importer) computes the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lifresponse.neuron import LIFParams

PA_PER_NA = 1000.0  # as PyNN converts weights, i_offset and cm for NEST


@dataclass(frozen=True)
class Propagators:
    """Per-step constants of one layer's neurons (module docstring), float64.

    ``P11ex`` ... ``P21in`` are those of ``iaf_psc_exp`` (0 for ``iaf_psc_delta``); ``P22`` is
    the membrane's decay in both; ``i_offset`` the neuron's (nA, without any bias); ``drive``
    the factor of ``I_e`` (``P20`` or ``P30``); ``theta`` and ``v_reset`` relative to
    ``v_rest`` (mV); ``subtract``: a spike takes ``reset_jump = v_thresh - v_reset`` (mV) off
    the membrane instead of setting it to ``v_reset``.
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

    @property
    def offset_drive(self) -> float:
        """The constant drive of ``i_offset`` per step (mV)."""
        return self.drive_of(self.i_offset)

    def drive_of(self, i_offset):
        """The constant drive per step (mV) of ``i_offset`` (nA; a number or an array)."""
        return (i_offset * PA_PER_NA + 0.0) * self.drive

    @classmethod
    def of(cls, neuron: LIFParams, h: float, cell: str = "IF_curr_exp",
           reset: str = "v_reset") -> Propagators:
        """The constants of ``neuron`` as a ``cell`` at timestep ``h`` (ms) that resets its
        membrane to ``v_reset`` or by subtraction (``reset="subtract"``)."""
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
                       drive=-neuron.tau_m / c_m * math.expm1(-h / neuron.tau_m), **common)
        return cls(cell, math.exp(-h / neuron.tau_syn_E), math.exp(-h / neuron.tau_syn_I),
                   P21ex=p21(neuron.tau_syn_E, neuron.tau_m, c_m, h),
                   P21in=p21(neuron.tau_syn_I, neuron.tau_m, c_m, h),
                   drive=neuron.tau_m / c_m * (1.0 - p22), **common)


def p21(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """NEST 3.10's ``propagator_32`` (``libnestutil/propagator_stability.cpp``): how much a
    synaptic current of 1 pA at a step's start moves the membrane by the step's end (mV); the
    regular expression, or its limit near ``tau_m = tau_syn``. ``c_m`` in pF, times in ms."""
    linear = 1.0 / (2.0 * c_m * tau_m * tau_m) * h * h * (tau_syn - tau_m) * math.exp(-h / tau_m)
    singular = h / c_m * math.exp(-h / tau_m)
    if tau_m == tau_syn:
        return singular
    regular = (-tau_m / (c_m * (1.0 - tau_m / tau_syn)) * math.exp(-h / tau_syn)
               * math.expm1(h * (1.0 / tau_syn - 1.0 / tau_m)))
    if abs(tau_m - tau_syn) < 0.1 and abs(regular - singular) > 2.0 * abs(linear):
        return singular
    return regular
