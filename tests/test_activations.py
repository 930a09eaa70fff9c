import warnings

import numpy as np
import pytest

from lifresponse import activations as act
from lifresponse.neuron import LIFParams
from lifresponse.response import constant_current_rate


def _central_difference(func, x, h=1e-6):
    return (func(x + h) - func(x - h)) / (2 * h)


def test_noisy_softplus_known_values():
    assert act.noisy_softplus(0.0, 0.5, k=0.3) == pytest.approx(0.15 * np.log(2.0))
    assert act.noisy_softplus(0.3, 1.0, k=0.3) == pytest.approx(0.3 * np.log1p(np.e))
    assert act.noisy_softplus_dx(0.0, 0.7) == pytest.approx(0.5)


def test_noisy_softplus_derivatives_match_finite_differences(rng):
    x = rng.uniform(-1.0, 1.0, 200)
    sigma = rng.uniform(0.05, 1.0, 200)
    for k in (0.19, 0.30, 0.35):
        np.testing.assert_allclose(
            act.noisy_softplus_dx(x, sigma, k),
            _central_difference(lambda v, k=k: act.noisy_softplus(v, sigma, k), x), rtol=1e-6,
            atol=1e-9)
        np.testing.assert_allclose(
            act.noisy_softplus_dsigma(x, sigma, k),
            _central_difference(lambda v, k=k: act.noisy_softplus(x, v, k), sigma), rtol=1e-6,
            atol=1e-9)


def test_sigma_to_zero_is_relu():
    x = np.linspace(-2.0, 2.0, 41)
    np.testing.assert_allclose(act.noisy_softplus(x, 1e-9), act.relu(x), atol=1e-9)
    np.testing.assert_array_equal(act.noisy_softplus(x, 0.0), act.relu(x))
    np.testing.assert_array_equal(act.noisy_softplus_dx(x, 0.0), act.relu_dx(x))
    np.testing.assert_allclose(act.noisy_softplus_dx(x[x != 0], 1e-9), act.relu_dx(x[x != 0]))


@pytest.mark.parametrize("ratio", [1e2, 1e3, 1e4, 1e6])
def test_stable_for_large_scaled_inputs(ratio):
    k, sigma = 0.3, 0.2
    x = np.array([-ratio, ratio]) * k * sigma
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = act.noisy_softplus(x, sigma, k)
        dx = act.noisy_softplus_dx(x, sigma, k)
        dsigma = act.noisy_softplus_dsigma(x, sigma, k)
    np.testing.assert_allclose(values, [0.0, x[1]], atol=1e-12)
    np.testing.assert_allclose(dx, [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(dsigma, [0.0, 0.0], atol=1e-12)


def test_softplus_is_noisy_softplus_at_fixed_sigma(rng):
    x = rng.normal(size=50)
    np.testing.assert_allclose(act.softplus(x, 0.45), act.noisy_softplus(x, 0.45))
    np.testing.assert_allclose(act.softplus_dx(x, 0.45), act.noisy_softplus_dx(x, 0.45))


def test_soft_lif_limits_and_derivative():
    params = LIFParams()
    x = np.linspace(-0.5, 1.5, 81)
    np.testing.assert_allclose(act.soft_lif_rate(x, params, gamma=1e-9),
                               constant_current_rate(x, params), atol=1e-6)
    smooth = x[np.abs(x - params.input_rheobase) > 0.01]
    np.testing.assert_allclose(
        act.soft_lif_rate_dx(smooth, params, 0.02),
        _central_difference(lambda v: act.soft_lif_rate(v, params, 0.02), smooth), rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far = act.soft_lif_rate(np.array([-1e4, 1e4]), params, 0.01)
        slope = act.soft_lif_rate_dx(np.array([-1e4, 1e4]), params, 0.01)
    assert far[0] == 0.0 and far[1] < 1000.0 / params.tau_refrac
    assert np.all(np.isfinite(slope))


def test_ann_output_is_eq14_and_its_derivative_eq15(rng):
    net = rng.uniform(-0.5, 1.0, 100)
    sigma = rng.uniform(0.0, 1.0, 100)
    y = act.ann_output(net, sigma, "noisy-softplus", k=0.3, S=201.0, tau_syn=5.0)
    np.testing.assert_allclose(y, act.noisy_softplus(net, sigma, 0.3) * 201.0 * 0.005)
    for name in ("noisy-softplus", "relu", "softplus", "soft-lif"):
        moved = net[np.abs(net) > 1e-3]
        sig = sigma[np.abs(net) > 1e-3]
        np.testing.assert_allclose(
            act.ann_output_dnet(moved, sig, name),
            _central_difference(lambda v, name=name, sig=sig: act.ann_output(v, sig, name),
                                moved, h=1e-7),
            rtol=1e-4, atol=1e-7)
    # 1 nA into a ReLU unit with S = 200 Hz/nA at 5 ms: 200 Hz, y = 1.
    assert act.ann_output(1.0, 0.0, "relu", S=200.0, tau_syn=5.0) == pytest.approx(1.0)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        act.noisy_softplus(0.1, -0.1)
    with pytest.raises(ValueError, match="fixed sigma must be > 0"):
        act.softplus(0.1, 0.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        act.soft_lif_rate(0.1, gamma=0.0)
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        act.ann_output(0.1, 0.1, "tanh")
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        act.ann_output_dnet(0.1, 0.1, "tanh")
