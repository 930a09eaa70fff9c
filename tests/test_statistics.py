"""Current moments (eq. 8, 12-13) by hand and against synaptic currents recorded in NEST."""

import numpy as np
import pytest

from lifresponse.errors import ParameterError
from lifresponse.statistics import (
    UnreachableTargetError,
    ann_moments,
    current_moments,
    poisson_drive,
)


def test_eq8_by_hand():
    # Two trains: 100 Hz at +0.1 nA and 50 Hz at -0.2 nA, tau_syn = 5 ms.
    mean, std = current_moments([100.0, 50.0], [0.1, -0.2], tau_syn=5.0)
    assert mean == pytest.approx(0.005 * (10.0 - 10.0))
    assert std == pytest.approx(np.sqrt(0.5 * 0.005 * (0.01 * 100 + 0.04 * 50)))


def test_ann_moments_by_hand():
    x = np.array([[0.5, 1.0, 0.0]])
    w = np.array([[0.2, -1.0], [0.4, 0.3], [5.0, 5.0]])
    net, sigma = ann_moments(x, w)
    np.testing.assert_allclose(net, [[0.5 * 0.2 + 0.4, -0.5 + 0.3]])
    np.testing.assert_allclose(
        sigma, [[np.sqrt(0.5 * (0.04 * 0.5 + 0.16)), np.sqrt(0.5 * (0.5 + 0.09))]]
    )


def test_ann_moments_equal_eq8_with_x_as_rate_times_tau():
    rates = np.array([20.0, 80.0, 150.0])
    w = np.array([[0.3], [-0.1], [0.05]])
    net, sigma = ann_moments(rates * 0.005, w)
    mean, std = current_moments(rates, w[:, 0], tau_syn=5.0)
    assert net[0] == pytest.approx(mean) and sigma[0] == pytest.approx(std)


@pytest.mark.parametrize("tau_syn", [1.0, 5.0, 10.0])
def test_poisson_drive_inverts_eq8(tau_syn):
    m, s = np.meshgrid(np.linspace(-0.5, 1.0, 16), [0.1, 0.3, 1.0])
    drive = poisson_drive(m, s, tau_syn)
    assert drive.n_exc == drive.n_inh == 50
    assert np.all(drive.rate_exc >= 0) and np.all(drive.rate_inh >= 0)
    assert np.all(drive.weight <= 0.05 + 1e-15)
    rates = np.stack([drive.rate_exc, drive.rate_inh], axis=-1)
    weights = np.stack([drive.weight, -drive.weight], axis=-1)
    # One group of n equal trains = sum of their rates (x n); eq. 8 on the two groups.
    mean, std = current_moments(rates * 50, weights, tau_syn)
    np.testing.assert_allclose(mean, m, atol=1e-12)
    np.testing.assert_allclose(std, s, rtol=1e-12)


def test_unreachable_targets_are_listed():
    with pytest.raises(UnreachableTargetError) as info:
        poisson_drive([0.0, 1.0, 0.2], [0.0, 0.1, 0.5], tau_syn=5.0, weight=0.05)
    assert info.value.points == [(0.0, 0.0), (1.0, 0.1)]
    assert "(m=0, s=0)" in str(info.value) and "(m=1, s=0.1)" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"n_trains": 1}, "n_trains must be >= 2"),
        ({"tau_syn": 0.0}, "tau_syn must be > 0"),
        ({"weight": -0.1}, "weight must be > 0"),
        ({"max_weight": 0.0}, "max_weight must be > 0"),
    ],
)
def test_poisson_drive_parameter_errors(kwargs, fragment):
    arguments = {"m": 0.1, "s": 0.2, "tau_syn": 5.0} | kwargs
    with pytest.raises(ParameterError, match=fragment):
        poisson_drive(**arguments)


def test_negative_rates_or_inputs_are_errors():
    with pytest.raises(ParameterError, match="rates must be >= 0"):
        current_moments([-1.0], [0.1], 5.0)
    with pytest.raises(ParameterError, match="inputs x must be >= 0"):
        ann_moments([[-0.1]], [[1.0]])
    with pytest.raises(ParameterError, match="s must be >= 0"):
        poisson_drive(0.1, -0.2, 5.0)


def test_eq8_matches_synaptic_current_recorded_in_nest(nest_kernel):
    """Each neuron gets one excitatory and one inhibitory poisson_generator (a group of 50 equal
    trains is one train of the summed rate); I_syn_ex + I_syn_in is recorded every 1 ms for 20 s,
    in 5 neurons per target, pooled: 100 s of current per target."""
    nest = nest_kernel
    nest.rng_seed = 7
    tau_syn, repeats = 5.0, 5
    targets_m = np.array([0.0, 0.4, -0.3, 0.8])
    targets_s = np.array([0.2, 0.5, 0.3, 1.0])
    m, s = np.repeat(targets_m, repeats), np.repeat(targets_s, repeats)
    drive = poisson_drive(m, s, tau_syn)
    neurons = nest.Create("iaf_psc_exp", len(m),
                          params={"tau_syn_ex": tau_syn, "tau_syn_in": tau_syn, "C_m": 250.0,
                                  "V_th": 1e9})  # never spikes; the current is all we look at
    for rates, sign, n in ((drive.rate_exc, 1.0, drive.n_exc), (drive.rate_inh, -1.0, drive.n_inh)):
        generators = nest.Create("poisson_generator", len(m), params={"rate": list(rates * n)})
        nest.Connect(generators, neurons, "one_to_one",
                     syn_spec={"weight": list(sign * 1000.0 * drive.weight)})  # nA -> pA
    meter = nest.Create("multimeter", params={"record_from": ["I_syn_ex", "I_syn_in"],
                                              "interval": 1.0, "start": 100.0})
    nest.Connect(meter, neurons)
    nest.Simulate(20100.0)
    events = meter.events
    current = (np.asarray(events["I_syn_ex"]) + np.asarray(events["I_syn_in"])) / 1000.0  # nA
    target_of_sample = (np.asarray(events["senders"]) - neurons[0].global_id) // repeats
    for i in range(len(targets_m)):
        trace = current[target_of_sample == i]
        assert len(trace) >= repeats * 19999
        assert trace.mean() == pytest.approx(targets_m[i], abs=0.03 * targets_s[i])
        assert trace.std() == pytest.approx(targets_s[i], rel=0.03)
