"""Torch versions of the activations in :mod:`lifresponse.activations` (same names, same units).

They return the unscaled ``f`` (nA), except :func:`soft_lif_rate`, which returns Hz.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from lifresponse import conductance_mean_field as mean_field
from lifresponse.neuron import LIFParams
from lifresponse.response_surface import require_surface

_TINY = 1e-12


def noisy_softplus(x: torch.Tensor, sigma: torch.Tensor, k: float) -> torch.Tensor:
    """``k sigma ln(1 + exp(x / (k sigma)))`` (eq. 9); ReLU where ``sigma = 0``.

    The gradient in ``x`` is the logistic ``1 / (1 + exp(-x / (k sigma)))`` (eq. 10).
    """
    scale = k * sigma.clamp_min(_TINY)
    return scale * F.softplus(x / scale)


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)


def soft_lif_rate(x: torch.Tensor, params: LIFParams, gamma: float) -> torch.Tensor:
    """Soft LIF rate (Hz) of :func:`lifresponse.activations.soft_lif_rate`.

    ``ln(1 + c / rho)`` is taken as ``ln(rho + c) - ln(rho)`` with ``ln(rho)`` from ``z``
    itself far below threshold (``softplus(z) = exp(z)`` there to float precision): the
    gradient of ``c / rho`` holds ``rho**2``, which underflows in float32 for ``rho`` below
    about 1e-19 nA and made training diverge (NaN weights from the first batch).
    """
    z = (x - params.input_rheobase) / gamma
    tail = z < -20.0
    inside = torch.where(tail, torch.zeros_like(z), z)  # no inf or NaN in the branch not taken
    log_rho = math.log(gamma) + torch.where(tail, z, torch.log(F.softplus(inside)))
    reset_current = (params.v_thresh - params.v_reset) / params.r_m
    period = params.tau_refrac + params.tau_m * (
        torch.log(torch.exp(log_rho) + reset_current) - log_rho)
    return 1000.0 / period


# The outputs y = rate * tau_syn that lifresponse.activations.REGISTRY points to; each takes
# (net, sigma, settings) like its numpy twin there.

def noisy_softplus_output(net: torch.Tensor, sigma: torch.Tensor, s) -> torch.Tensor:
    return noisy_softplus(net, sigma, s.k) * s.S * s.tau_s


def relu_output(net: torch.Tensor, sigma, s) -> torch.Tensor:
    return relu(net) * s.S * s.tau_s


def softplus_output(net: torch.Tensor, sigma, s) -> torch.Tensor:
    return noisy_softplus(net, torch.full_like(net, s.softplus_sigma), s.k) * s.S * s.tau_s


def soft_lif_output(net: torch.Tensor, sigma, s) -> torch.Tensor:
    return soft_lif_rate(net, s.neuron, s.gamma) * s.tau_s


def measured_output(net: torch.Tensor, sigma: torch.Tensor, s) -> torch.Tensor:
    """The measured response's rate times ``tau_syn``: the interpolation of
    :meth:`lifresponse.response_surface.ResponseSurface.rate`, in torch (differentiable in
    ``net``)."""
    surface = require_surface(s.response, "measured")
    m, sd, r = (torch.as_tensor(a, dtype=net.dtype, device=net.device)
                for a in (surface.means, surface.stds, surface.rates))
    i = (torch.searchsorted(m, net.contiguous(), right=True) - 1).clamp(0, len(m) - 2)
    j = (torch.searchsorted(sd, sigma.contiguous(), right=True) - 1).clamp(0, len(sd) - 2)
    t = ((net - m[i]) / (m[i + 1] - m[i])).clamp_min(0.0)  # > 1: extrapolated
    u = (sigma - sd[j]) / (sd[j + 1] - sd[j])  # < 0 or > 1: extrapolated
    low = (1 - u) * r[i, j] + u * r[i, j + 1]
    high = (1 - u) * r[i + 1, j] + u * r[i + 1, j + 1]
    return torch.relu(low + t * (high - low)) * s.tau_s


def conductance_mean_field_output(net: torch.Tensor, sigma: torch.Tensor, s) -> torch.Tensor:
    """:func:`lifresponse.conductance_mean_field.rate` times ``tau_syn``, in torch
    (differentiable in ``net``): ``net`` and ``sigma`` (uS) stacked (excitatory, inhibitory).
    The fast limit is computed in float64 (its Siegert integral reaches 1e35), with the
    integral's antiderivative interpolated from :func:`~lifresponse.conductance_mean_field.
    antiderivative_table`."""
    neuron = s.neuron
    net, sigma, tau_syn = mean_field.exp_equivalent(net, sigma, s.tau_syn, s.cell)
    g0, tau_eff, mu, s_i = mean_field.effective_membrane(net, sigma, neuron)
    y_th, y_r = mean_field.siegert_bounds(mu.double(), s_i.double(), g0.double(),
                                          tau_eff.double(), neuron, tau_syn)
    integral = (_siegert_antiderivative(y_th) - _siegert_antiderivative(y_r)
                + mean_field.below_table(y_r, torch) - mean_field.below_table(y_th, torch))
    fast = (1000.0 / (neuron.tau_refrac + s.timestep / 2
                      + tau_eff.double() * math.sqrt(math.pi) * integral)).to(net.dtype)
    slow = 0.0
    for z, weight in zip(*mean_field.hermite_nodes(), strict=True):
        slow = slow + float(weight) * mean_field.deterministic_rate(
            mu + float(z) * s_i / g0, tau_eff, neuron, s.timestep, torch)
    blend = tau_eff / (tau_eff + tau_syn)
    return (blend * fast + (1.0 - blend) * slow) * s.tau_s


def _siegert_antiderivative(y: torch.Tensor) -> torch.Tensor:
    """``G(y) = Integral_{Y_LOW}^{y} erfcx(-u) du`` (float64) at ``y`` held to [Y_LOW, Y_HIGH],
    by cubic Hermite interpolation of the table (values and slopes)."""
    start, step, values, slopes = _table(str(y.device))
    position = (y.clamp(mean_field.Y_LOW, mean_field.Y_HIGH) - start) / step
    k = position.detach().floor().clamp(0, len(values) - 2).long()
    t = position - k
    return ((1 + 2 * t) * (1 - t) ** 2 * values[k] + t * (1 - t) ** 2 * step * slopes[k]
            + t * t * (3 - 2 * t) * values[k + 1] + t * t * (t - 1) * step * slopes[k + 1])


@lru_cache(maxsize=4)
def _table(device: str) -> tuple:
    start, step, values, slopes = mean_field.antiderivative_table()
    return (start, step, torch.as_tensor(values, dtype=torch.float64, device=device),
            torch.as_tensor(slopes, dtype=torch.float64, device=device))
