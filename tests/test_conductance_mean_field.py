"""The conductance mean field (lifresponse.conductance_mean_field): its effective membrane by
hand, its torch twin against numpy, its prediction of NEST's iaf_cond_exp, and networks trained
with it."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from lifresponse import conductance_mean_field as mean_field
from lifresponse import workflow
from lifresponse.activations import ActivationSettings, ann_output, ann_output_dnet
from lifresponse.calibration.fit import Calibration
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.neuron import LIFParams

NEURON = LIFParams(e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.0)


def test_effective_membrane_by_hand():
    """g0 = g_L + g_e + g_i, tau_eff = C / g0, mu the conductance-weighted mean of the reversal
    potentials, s_I the fluctuations through their driving forces at mu."""
    net, sigma = np.array([0.05, 0.02]), np.array([0.004, 0.003])
    g0, tau_eff, mu, s_i = mean_field.effective_membrane(net, sigma, NEURON)
    g_leak = 0.25 / 20.0  # cm / tau_m, uS
    assert g0 == pytest.approx(g_leak + 0.07)
    assert tau_eff == pytest.approx(0.25 / (g_leak + 0.07))
    assert mu == pytest.approx((g_leak * -65.0 + 0.05 * 0.0 + 0.02 * -80.0) / (g_leak + 0.07))
    assert s_i == pytest.approx(math.hypot((0.0 - mu) * 0.004, (-80.0 - mu) * 0.003))


def test_alpha_conductances_stand_as_exponential_ones_of_their_integrals():
    """CONDUCTANCE_SHAPES from the kernels integrated numerically (tau 5 ms, 0.001 ms steps):
    an alpha conductance's integral (its mean per spike) is e times an exponential one's, its
    square's integral (its variance per spike) e^2 / 2 times; the exponential with both has
    time constant (integral)^2 / (2 integral of the square), 2 tau."""
    tau, t = 5.0, np.arange(0.0, 200.0, 0.001)
    kernels = {"IF_cond_exp": np.exp(-t / tau), "IF_cond_alpha": t / tau * np.exp(1 - t / tau)}
    area = {cell: np.trapezoid(k, t) for cell, k in kernels.items()}
    power = {cell: np.trapezoid(k ** 2, t) for cell, k in kernels.items()}
    for cell in kernels:
        mean, deviation, time = mean_field.CONDUCTANCE_SHAPES[cell]
        assert mean == pytest.approx(area[cell] / area["IF_cond_exp"], rel=1e-4)
        assert deviation == pytest.approx(math.sqrt(power[cell] / power["IF_cond_exp"]),
                                          rel=1e-4)
        assert time * tau == pytest.approx(area[cell] ** 2 / (2 * power[cell]), rel=1e-4)


def test_limits_of_the_blend():
    """Without noise and far above threshold the rate is the deterministic one of the effective
    membrane in both limits, its period half a step (0.1 ms) longer; without input, the leak
    alone: silent."""
    strong = np.array([2.0, 0.0])  # 2 uS: tau_eff 0.12 ms
    quiet = np.zeros(2)
    g0, tau_eff, mu, _ = mean_field.effective_membrane(strong, quiet, NEURON)
    expected = 1000.0 / (NEURON.tau_refrac + 0.05 + tau_eff * math.log(
        (mu - NEURON.v_reset) / (mu - NEURON.v_thresh)))
    assert mean_field.rate(strong, quiet, NEURON, 5.0, 0.1) == pytest.approx(expected, rel=1e-3)
    assert mean_field.rate(quiet, quiet, NEURON, 5.0, 0.1) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("cell", ["IF_cond_exp", "IF_cond_alpha"])
def test_torch_twin_equals_numpy_and_has_finite_gradients(rng, cell):
    """The training activation (float64 and float32) against the numpy rate, over inputs from
    silent to shunted, zeros included; its gradient finite everywhere."""
    from lifresponse.training.activations import conductance_mean_field_output

    net = np.stack([rng.uniform(0, 0.4, 3000), rng.uniform(0, 0.4, 3000)])
    sigma = np.stack([rng.uniform(0, 0.03, 3000), rng.uniform(0, 0.03, 3000)])
    net[:, :10], sigma[:, :10] = 0.0, 0.0
    settings = ActivationSettings(neuron=NEURON, tau_syn=5.0, timestep=0.1, cell=cell)
    expected = ann_output(net, sigma, "conductance-mean-field", neuron=NEURON, tau_syn=5.0,
                          timestep=0.1, cell=cell)
    assert expected.max() > 1.0 and (expected < 1e-3).any()  # rates above 200 Hz and silent
    for dtype, rtol in ((torch.float64, 1e-6), (torch.float32, 1e-3)):
        x = torch.tensor(net, dtype=dtype, requires_grad=True)
        y = conductance_mean_field_output(x, torch.tensor(sigma, dtype=dtype), settings)
        np.testing.assert_allclose(y.detach().numpy(), expected, rtol=rtol, atol=1e-6)
        y.sum().backward()
        assert torch.isfinite(x.grad).all() and (x.grad[0] > 0).any() and (x.grad[1] < 0).any()
    with pytest.raises(ParameterError, match="takes the excitatory and inhibitory input apart"):
        ann_output_dnet(net, sigma, "conductance-mean-field", neuron=NEURON)


@pytest.mark.parametrize("cell, weight_scale", [("IF_cond_exp", 1.0),
                                                 ("IF_cond_alpha", 1 / math.e)])
def test_it_predicts_nest_where_the_linear_model_fails(cell, weight_scale):
    """A 784-16-10 network of random conductances of both signs on NEST's iaf_cond_exp or
    iaf_cond_alpha (weights / e: the same mean conductances; its layers shunted to tau_eff of a
    few ms), every layer recorded (its evaluation predicts with the mean field beside Noisy
    Softplus): from each layer's recorded input rates the mean field predicts its recorded
    rates within 12 % RMS of their mean and at most half Noisy Softplus's error (of the signed
    sum). Measured: 8.3 and 23.5 Hz at 220 and 284 Hz, Noisy Softplus 44.8 and 151.5 Hz
    (IF_cond_exp)."""
    from test_cells import _random_network

    from lifresponse.datasets import load_mnist
    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.networks.prediction import layer_input, rates_of_input
    from lifresponse.networks.topology import network_connections

    network = dataclasses.replace(_random_network(cell), k=0.279, S=12916.0)
    network = dataclasses.replace(network, layers=[
        dataclasses.replace(layer, weight=layer.weight * scale * weight_scale)
        for layer, scale in zip(network.layers, (0.3, 0.5), strict=True)])
    run = deploy(network, load_mnist().subset(slice(0, 4)),
                 DeployConfig(window=1000.0, threads=1, seed=2, record="all"), progress=False)
    # the evaluation of any such network compares its layers with the mean field too, and not
    # with Softplus, whose fixed noise level is a current (nA)
    compared = run.attrs["evaluation"]["layer_rms_difference_hz"]
    assert set(compared) == {"noisy-softplus", "relu", "conductance-mean-field"}
    assert set(compared["conductance-mean-field"]) == {"0", "1"}
    rates = {-1: run.input_counts / 1.0, 0: run.layer_counts[0] / 1.0,
             1: run.layer_counts[1] / 1.0}  # a 1 s window: Hz
    connections = network_connections(network)
    for index in (0, 1):
        net, sigma = layer_input(network, connections[index], rates, by_sign=True)
        error = {name: np.sqrt(np.mean((rates_of_input(network, net, sigma, name, by_sign=True)
                                        - rates[index]) ** 2))
                 for name in ("conductance-mean-field", "noisy-softplus")}
        assert rates[index].mean() > 50.0
        assert error["conductance-mean-field"] < 0.12 * rates[index].mean()
        assert error["conductance-mean-field"] < 0.5 * error["noisy-softplus"]


@pytest.fixture(scope="module")
def mean_field_network():
    """A small IF_cond_exp network trained with the mean field, one epoch on 300 bundled
    digits, from weights divided by S tau_syn."""
    from lifresponse.datasets import load_mnist

    return workflow.train(Calibration.by_hand(0.279, 12916.0, 5.0, cell="IF_cond_exp"),
                          architecture="4c5-4s-10fc", activation="conductance-mean-field",
                          epochs=1, threads=1, progress=False, unit_gain_init=True,
                          digits=load_mnist().subset(slice(0, 300)))


def test_a_network_trained_with_it_is_kept_deployed_and_fine_tuned(mean_field_network,
                                                                   tmp_path):
    """Written and read back with its activation; on NEST its evaluation compares each layer
    with the mean field's prediction; fine tuning keeps the mean field."""
    from lifresponse.datasets import load_mnist
    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.networks import network_file

    network_file.write(mean_field_network, tmp_path / "net.h5")
    again = network_file.read(tmp_path / "net.h5")
    assert again.activation == "conductance-mean-field" and again.cell == "IF_cond_exp"
    run = deploy(again, load_mnist().subset(slice(300, 303)),
                 DeployConfig(window=100.0, threads=1, seed=3, record="all"), progress=False)
    predicted = run.attrs["evaluation"]["layer_rms_difference_hz"]["conductance-mean-field"]
    assert set(predicted) == {"0", "1", "2"} and all(np.isfinite(list(predicted.values())))
    tuned = workflow.finetune(again, digits=load_mnist().subset(slice(0, 300)), epochs=1,
                              threads=1, progress=False)
    assert tuned.activation == "conductance-mean-field"
    assert not np.array_equal(tuned.layers[0].weight, again.layers[0].weight)


def test_what_it_cannot_model_is_refused(mean_field_network, tmp_path):
    from lifresponse.datasets import load_mnist
    from lifresponse.networks import network_file

    with pytest.raises(ParameterError, match="conductance-mean-field describes IF_cond_exp and "
                                             "IF_cond_alpha neurons .* the network is of "
                                             "IF_curr_exp"):
        workflow.train(Calibration.by_hand(), architecture="4c5-4s-10fc", epochs=1,
                       activation="conductance-mean-field", progress=False,
                       digits=load_mnist().subset(slice(0, 50)))
    as_current = dataclasses.replace(mean_field_network, layers=[
        dataclasses.replace(layer, cell="IF_curr_alpha") for layer in mean_field_network.layers])
    with pytest.raises(FileFormatError, match="layer 0 \\(conv\\): the 'conductance-mean-field' "
                                              "activation models IF_cond_exp and IF_cond_alpha "
                                              "neurons, not IF_curr_alpha"):
        network_file.write(as_current, tmp_path / "x.h5")
    mixed = dataclasses.replace(mean_field_network, layers=[
        dataclasses.replace(layer, cell="IF_cond_alpha") if i == 1 else layer
        for i, layer in enumerate(mean_field_network.layers)])
    with pytest.raises(FileFormatError, match="the 'conductance-mean-field' activation models "
                                              "one cell; the layers are of IF_cond_alpha, "
                                              "IF_cond_exp"):
        network_file.write(mixed, tmp_path / "x.h5")


@pytest.mark.parametrize("cell, scale", [("IF_cond_exp", 1.0), ("IF_cond_alpha", 1 / math.e)])
def test_fit_compares_it_on_a_poisson_sweep(cell, scale):
    """``fit`` of a conductance cell's sweep under the Poisson drive puts the parameter-free
    mean field beside the fits: on this small sweep it is closer to NEST than Noisy Softplus
    with its two fitted parameters (measured: RMSE 7.1 against 14.0 Hz for IF_cond_exp, 7.9
    against 14.0 for IF_cond_alpha, whose grid is 1/e of the other's: the same mean
    conductances, rates up to 250 Hz both)."""
    from lifresponse.calibration.fit import fit_table

    table = workflow.calibrate(drive="poisson", stds=[0.002 * scale, 0.006 * scale],
                               means=list(np.arange(-0.004, 0.0201, 0.004) * scale), trials=2,
                               duration=2000.0, cell=cell, progress=False)
    fits = {f.model: f for f in fit_table(table)}
    assert table.rates.max() > 150.0
    assert fits["conductance-mean-field"].rmse < 10.0
    assert fits["conductance-mean-field"].rmse < fits["noisy-softplus"].rmse
