"""Analytic responses against NEST: IF_curr_exp with DC input (eq. 2), siegert_neuron (eq. 7)."""

import warnings

import numpy as np
import pytest

from lifresponse import backends
from lifresponse.neuron import LIFParams
from lifresponse.response import constant_current_rate, noise_sigma, siegert_rate

PARAMS = LIFParams()


def _simulated_dc_rates(currents, params, timestep=0.01, duration=3000.0):
    """Rates of PyNN IF_curr_exp cells on NEST, each with its own DCSource, from their ISIs."""
    backend = backends.get("nest")
    backend.start(timestep=timestep)
    sim = backend.sim
    try:
        cells = sim.Population(len(currents), sim.IF_curr_exp(**params.to_pynn()))
        for i, amplitude in enumerate(currents):
            sim.DCSource(amplitude=float(amplitude), start=0.0, stop=duration + 1).inject_into(
                cells[i : i + 1]
            )
        cells.record("spikes")
        sim.run(duration)
        trains = cells.get_data().segments[0].spiketrains
    finally:
        sim.end()
    rates = []
    for train in trains:
        times = np.asarray(train.magnitude)
        rates.append(0.0 if len(times) < 3 else 1000.0 * (len(times) - 1) / (times[-1] - times[0]))
    return np.array(rates)


@pytest.mark.parametrize("params", [PARAMS, LIFParams(v_reset=-70.0, tau_refrac=2.0)])
def test_constant_current_matches_nest_if_curr_exp(params):
    currents = np.array([-0.2, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
    measured = _simulated_dc_rates(currents, params)
    predicted = constant_current_rate(currents, params)
    assert np.all(measured[predicted == 0] == 0)
    firing = predicted > 0
    assert firing.sum() >= 5
    np.testing.assert_allclose(measured[firing], predicted[firing], rtol=0.01)


def _nest_siegert_rates(nest, means, stds, params, dt_noise=1.0, tau_syn=0.0):
    """NEST's siegert_neuron driven through diffusion_connection (recipe of NEST's own tests)."""
    nest.use_wfr = False
    source = nest.Create("siegert_neuron", params={"rate": 1.0, "mean": 1.0})
    targets = nest.Create(
        "siegert_neuron",
        len(means),
        params={
            "tau_m": params.tau_m,
            "t_ref": params.tau_refrac,
            "theta": params.v_thresh - params.v_rest,
            "V_reset": params.v_reset - params.v_rest,
            "tau_syn": tau_syn,
            "tau": 1.0,
            "mean": 0.0,
        },
    )
    nest.Connect(source, targets, "all_to_all", {"synapse_model": "diffusion_connection"})
    connections = nest.GetConnections(source, targets)
    mu = params.r_m * (np.asarray(means) + params.i_offset)
    sigma = noise_sigma(stds, params, dt_noise)
    order = np.asarray(connections.get("target")) - targets[0].global_id
    connections.set(drift_factor=list(mu[order]), diffusion_factor=list(sigma[order] ** 2))
    nest.Simulate(50.0)  # 50 time constants: the rate has relaxed to the gain function
    return np.array(targets.get("rate"))


@pytest.mark.parametrize("dt_noise, tau_syn", [(1.0, 0.0), (10.0, 0.0), (1.0, 5.0)])
def test_siegert_matches_nest_siegert_neuron(nest_kernel, dt_noise, tau_syn):
    means, stds = np.meshgrid(np.linspace(-0.5, 1.0, 7), [0.05, 0.2, 0.5, 1.0, 2.0])
    means, stds = means.ravel(), stds.ravel()
    reference = _nest_siegert_rates(nest_kernel, means, stds, PARAMS, dt_noise, tau_syn)
    ours = siegert_rate(means, stds, PARAMS, dt_noise=dt_noise, tau_syn=tau_syn)
    compared = reference > 1.0
    assert compared.sum() >= 20
    np.testing.assert_allclose(ours[compared], reference[compared], rtol=1e-3)


def test_sigma_to_zero_recovers_constant_current():
    means = np.linspace(-1.0, 2.0, 61)
    for s in (1e-6, 1e-9, 1e-12):
        np.testing.assert_allclose(siegert_rate(means, s), constant_current_rate(means),
                                   rtol=1e-4, atol=1e-9)
    np.testing.assert_array_equal(siegert_rate(means, 0.0), constant_current_rate(means))


def test_stable_without_warnings_over_the_whole_range():
    means = np.linspace(-5.0, 5.0, 201)[:, None]
    stds = np.concatenate([[0.0], np.logspace(-12, np.log10(5.0), 60)])[None, :]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates = siegert_rate(means, stds)
    assert rates.shape == (201, 61)
    assert np.all(np.isfinite(rates)) and np.all(rates >= 0)
    assert np.all(np.diff(rates, axis=0) >= -1e-9), "rate must not fall as the mean rises"
    assert np.all(rates <= 1000.0 / PARAMS.tau_refrac)


def test_constant_current_known_value_and_threshold():
    # Hand computation: V_inf = -65 + 80 * 0.3 = -41 mV; T = 1 + 20 ln(24 / 9) ms.
    expected = 1000.0 / (1.0 + 20.0 * np.log(24.0 / 9.0))
    assert constant_current_rate(0.2) == pytest.approx(expected, rel=1e-12)
    assert constant_current_rate(PARAMS.input_rheobase) == 0.0
    assert constant_current_rate(PARAMS.input_rheobase + 1e-6) > 0.0


def test_negative_std_and_bad_interval_are_errors():
    with pytest.raises(ValueError, match="s: must be >= 0 nA"):
        siegert_rate(0.1, -0.1)
    with pytest.raises(ValueError, match="dt_noise: must be > 0 ms"):
        siegert_rate(0.1, 0.1, dt_noise=0.0)
