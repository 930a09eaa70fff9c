"""One timestep of NEST's ``iaf_psc_exp``, ``iaf_psc_delta``, ``iaf_psc_alpha`` and
``izhikevich`` neurons as a function of torch tensors: ``state, input -> state, spikes``.

The update is NEST 3.10's (``models/iaf_psc_exp.cpp``, ``iaf_psc_delta.cpp``,
``iaf_psc_alpha.cpp``, ``izhikevich.cpp``), in the same order and with the same floating-point
operations, ``V`` relative to ``v_rest`` (mV; ``izhikevich``'s ``v`` absolute, its equations in
:mod:`lifresponse.propagators`), currents in pA, constants from
:class:`lifresponse.propagators.Propagators`::

    IF_curr_exp:    if r == 0:  V <- ((V P22 + I_ex P21ex) + I_in P21in) + drive
                    I_ex <- I_ex P11ex + excitatory;   I_in <- I_in P11in + inhibitory
    IF_curr_delta:  if r == 0:  V <- (V P22 + drive) + arriving jumps (mV)
    IF_curr_alpha:  if r == 0:  V <- drive + P31ex dI_ex + P32ex I_ex + P31in dI_in
                                     + P32in I_in + expm1(-h/tau_m) V + V
                    I <- P21 dI + P11 I;   dI <- dI P11 + e/tau_syn arriving weights
    both:           r <- r - 1 (down to 0);
                    if V >= theta:  V <- v_reset;  r <- refractory steps;  spike

or, for neurons that reset by subtraction (``p.subtract``, the NESTML models of
:mod:`lifresponse.backends.nest.subtract_reset`), ``V <- V - (v_thresh - v_reset)``, and only
where ``r`` is 0 after the decrement: NEST's built-in models check the threshold in refractory
steps too, where a membrane held at ``v_reset`` cannot cross it; after a subtraction it may
still be above, and the NESTML models (and this step) let such a neuron fire only when it is
no longer refractory.

``drive`` is ``I_e P20`` (``I_e P30``), a number or one value per neuron. Input arriving at an
``IF_curr_delta`` neuron in a refractory step is lost, as in NEST.

The same function serves the exact simulator (:mod:`lifresponse.backends.torch.backend`, no
gradient) and spike training (:mod:`lifresponse.training.spikes`), which passes a surrogate
``spike`` function; the reset then passes no gradient (the spike is detached there). The CPU
step loop (:mod:`lifresponse.backends.torch.step_kernel`) implements the same equations in Numba,
and ``tests/test_torch_backend.py`` holds the two equal spike for spike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lifresponse.propagators import IZHIKEVICH_REST_U, IZHIKEVICH_REST_V, Propagators


@dataclass
class NeuronState:
    """The state of a layer's neurons for a batch of images.

    Attributes
    ----------
    v : torch.Tensor
        Membrane potential relative to ``v_rest`` (mV), shape (batch, *neurons).
    i_ex, i_in : torch.Tensor
        Excitatory and inhibitory synaptic currents (pA), the shape of ``v`` (zeros, unused, for
        ``IF_curr_delta``).
    refractory : torch.Tensor or None
        Refractory steps left (int16), or None for neurons without a refractory period.
    di_ex, di_in : torch.Tensor or None
        ``IF_curr_alpha``: the currents' derivatives (pA/ms); None for the other cells.
    u : torch.Tensor or None
        ``Izhikevich``: the recovery variable (mV/ms); None for the other cells.
    """

    v: torch.Tensor
    i_ex: torch.Tensor
    i_in: torch.Tensor
    refractory: torch.Tensor | None
    di_ex: torch.Tensor | None = None
    di_in: torch.Tensor | None = None
    u: torch.Tensor | None = None

    @classmethod
    def at_rest(cls, shape: tuple, p: Propagators, dtype, device) -> NeuronState:
        """Neurons at rest: membrane at ``v_rest``, no current, not refractory (``Izhikevich``:
        PyNN's initial ``v`` and ``u``, where NEST's rest protocol starts every image)."""
        zeros = torch.zeros(shape, dtype=dtype, device=device)
        if p.izhikevich is not None:
            return cls(torch.full_like(zeros, IZHIKEVICH_REST_V), zeros, zeros, None,
                       u=torch.full_like(zeros, IZHIKEVICH_REST_U))
        refractory = (torch.zeros(shape, dtype=torch.int16, device=device)
                      if p.refractory_steps > 0 else None)
        derivative = zeros if p.alpha is not None else None
        return cls(zeros, zeros, zeros, refractory, derivative, derivative)


def threshold(above: torch.Tensor) -> torch.Tensor:
    """NEST's spike condition ``V >= theta``, given ``V - theta``: 1.0 or 0.0."""
    return (above >= 0).to(above.dtype)


def neuron_step(state: NeuronState, p: Propagators, drive, excitatory: torch.Tensor,
                inhibitory: torch.Tensor | None = None, spike=threshold
                ) -> tuple[NeuronState, torch.Tensor]:
    """Advance neurons of cell ``p.cell`` by one timestep.

    Parameters
    ----------
    state : NeuronState
    p : Propagators
        The layer's constants (float64 numbers).
    drive : float or torch.Tensor
        The constant drive per step (mV): ``i_offset`` (and any bias) times ``P20`` or ``P30``.
    excitatory : torch.Tensor
        What arrives in this step: the summed excitatory weights (pA) for ``IF_curr_exp`` (all
        weights when inhibitory is None), the summed membrane jumps (mV) for ``IF_curr_delta``.
    inhibitory : torch.Tensor, optional
        The summed inhibitory weights (pA, negative) for ``IF_curr_exp`` with a separate
        inhibitory current; None when there is none.
    spike : callable
        ``V - theta -> spikes``; :func:`threshold`, or a surrogate-gradient function whose
        forward pass equals it.

    Returns
    -------
    state : NeuronState
        The state after the step (new tensors; ``state`` is not changed).
    spikes : torch.Tensor
        This step's spikes, 1.0 or 0.0 per neuron, in ``v``'s dtype.
    """
    if p.izhikevich is not None:
        return _izhikevich_step(state, p, drive, excitatory, spike)
    a = p.alpha
    if p.cell == "IF_curr_delta":
        v = (state.v * p.P22 + drive) + excitatory
    elif a is not None:
        v = ((((drive + state.di_ex * a.P31ex) + state.i_ex * a.P32ex) + state.di_in * a.P31in)
             + state.i_in * a.P32in)
        v = (v + state.v * a.expm1_tau_m) + state.v
    else:
        v = state.v * p.P22 + state.i_ex * p.P21ex
        if inhibitory is not None:
            v = v + state.i_in * p.P21in
        v = v + drive
    refractory = state.refractory
    if refractory is not None:
        v = torch.where(refractory > 0, state.v, v)
    i_ex, i_in, di_ex, di_in = state.i_ex, state.i_in, state.di_ex, state.di_in
    if a is not None:
        i_ex = di_ex * a.P21ex + i_ex * p.P11ex
        i_in = di_in * a.P21in + i_in * p.P11in
        di_ex = di_ex * p.P11ex + excitatory * a.epsc_ex
        if inhibitory is not None:
            di_in = di_in * p.P11in + inhibitory * a.epsc_in
    elif p.cell != "IF_curr_delta":
        i_ex = i_ex * p.P11ex + excitatory
        if inhibitory is not None:
            i_in = i_in * p.P11in + inhibitory
    spikes = spike(v - p.theta)
    if p.subtract and refractory is not None:  # the counter after the decrement must be 0
        spikes = spikes * (refractory <= 1)
    fired = spikes.detach() > 0
    v = torch.where(fired, v - p.reset_jump if p.subtract else torch.full_like(v, p.v_reset), v)
    if refractory is not None:
        refractory = torch.where(fired, torch.full_like(refractory, p.refractory_steps),
                                 (refractory - 1).clamp(min=0))
    return NeuronState(v, i_ex, i_in, refractory, di_ex, di_in), spikes


def _izhikevich_step(state: NeuronState, p: Propagators, drive, arriving: torch.Tensor, spike
                     ) -> tuple[NeuronState, torch.Tensor]:
    """:func:`neuron_step` for ``Izhikevich`` neurons (``drive`` is ``I_e``, mV/ms;
    ``arriving`` the summed jumps, mV)."""
    z, v_old, u_old = p.izhikevich, state.v, state.u
    slope = ((((v_old * z.k2) * v_old + v_old * z.k1) + z.k0) - u_old) + drive
    v = v_old + (slope * z.h + arriving)
    u = u_old + ((v_old * z.b) - u_old) * z.h_a
    v = torch.where(v < z.v_min, torch.full_like(v, z.v_min), v)
    spikes = spike(v - p.theta)
    fired = spikes.detach() > 0
    v = torch.where(fired, torch.full_like(v, p.v_reset), v)
    u = torch.where(fired, u + z.d, u)
    return NeuronState(v, state.i_ex, state.i_in, None, u=u), spikes
