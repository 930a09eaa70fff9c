"""The measured response as an activation: the rate surface, its torch twin, training on a real
NEST calibration, the network file, and every refusal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lifresponse import workflow
from lifresponse.activations import ActivationSettings, ann_output, ann_output_dnet
from lifresponse.calibration.fit import Calibration
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.response_surface import ResponseSurface
from lifresponse.training.activations import measured_output

MEANS = np.array([-0.5, 0.0, 0.5, 1.0])
STDS = np.array([0.2, 0.6])
RATES = np.array([[0.0, 2.0], [10.0, 30.0], [80.0, 90.0], [150.0, 160.0]])  # Hz


@pytest.fixture
def surface():
    return ResponseSurface(MEANS, STDS, RATES, "by hand")


def test_the_surface_is_the_grid_at_its_points_and_bilinear_between(surface):
    m, s = np.meshgrid(MEANS, STDS, indexing="ij")
    np.testing.assert_allclose(surface.rate(m, s), RATES, atol=1e-12)
    # halfway in both: the mean of the four corners; a quarter along the mean at std 0.2
    assert surface.rate(0.25, 0.4) == pytest.approx((10 + 30 + 80 + 90) / 4)
    assert surface.rate(0.125, 0.2) == pytest.approx(10 + 0.25 * 70)
    assert surface.rate_dnet(0.125, 0.2) == pytest.approx(70 / 0.5)  # Hz/nA
    as_lists = ResponseSurface(MEANS.tolist(), STDS.tolist(), RATES.tolist())
    assert as_lists.rate(0.25, 0.4) == surface.rate(0.25, 0.4)


def test_off_the_grid(surface):
    # above the largest mean: the last two means' line; below the smallest: its rate
    assert surface.rate(1.5, 0.2) == pytest.approx(150 + 70)
    assert surface.rate(-3.0, 0.6) == pytest.approx(2.0)
    assert surface.rate_dnet(-3.0, 0.6) == 0.0
    # a noise below the smallest std: the two smallest stds' line, not below 0 Hz
    assert surface.rate(0.0, 0.0) == pytest.approx(10 - 0.5 * 20)
    assert surface.rate(0.0, -1.0) == 0.0 and surface.rate_dnet(0.0, -1.0) == 0.0
    assert surface.rate(0.5, 1.0) == pytest.approx(90 + 10)


def test_the_torch_twin_and_its_gradient_equal_numpy(surface, rng):
    net = rng.uniform(-1.0, 2.0, 500)
    sigma = rng.uniform(0.0, 1.0, 500)
    settings = ActivationSettings(tau_syn=5.0, response=surface)
    x = torch.tensor(net, requires_grad=True)
    y = measured_output(x, torch.tensor(sigma), settings)
    np.testing.assert_allclose(y.detach().numpy(), ann_output(net, sigma, "measured",
                                                              response=surface), rtol=1e-12)
    np.testing.assert_allclose(ann_output(net, sigma, "measured", response=surface),
                               surface.rate(net, sigma) * 0.005, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ann_output_dnet(net, sigma, "measured",
                                                               response=surface), atol=1e-9)


@pytest.mark.parametrize("change, message", [
    ({"means": MEANS[::-1]}, "means must be finite and increasing"),
    ({"stds": STDS[:1], "rates": RATES[:, :1]}, "stds must be a list of at least 2 values"),
    ({"rates": RATES[:3]}, r"rates has shape \(3, 2\), the grid \(4, 2\)"),
    ({"rates": np.where(RATES == 30.0, np.nan, RATES)}, "rates must be finite and >= 0"),
])
def test_a_surface_that_cannot_be_interpolated_is_refused(change, message):
    fields = {"means": MEANS, "stds": STDS, "rates": RATES, **change}
    with pytest.raises(FileFormatError, match=f"bad: {message}"):
        ResponseSurface(fields["means"], fields["stds"], fields["rates"], "bad")


def test_the_measured_activation_needs_a_surface():
    with pytest.raises(ParameterError, match="reads a cell's measured response"):
        ann_output(0.1, 0.2, "measured")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A small IF_curr_exp calibration on NEST (Poisson drive) and its fit."""
    folder = tmp_path_factory.mktemp("measured")
    workflow.calibrate(out=folder / "rates.h5", drive="poisson", means=np.arange(-4, 11) * 0.1,
                       stds=[0.05, 0.3, 0.6], trials=2, duration=1000.0, progress=False)
    workflow.fit(folder / "rates.h5", out=folder / "calibration.json")
    return folder


def test_a_network_trains_on_the_measured_response_and_deploys_on_nest(calibrated, tmp_path):
    from lifresponse.calibration import results
    from lifresponse.datasets import load_mnist
    from lifresponse.deployment import DeployConfig, deploy

    digits = load_mnist().subset(slice(0, 600))
    # the rates file is found through the calibration's provenance
    network = workflow.train(calibrated / "calibration.json", architecture="4c5-4s-10fc",
                             activation="measured", epochs=2, threads=1, progress=False,
                             digits=digits, validation=200, unit_gain_init=True,
                             out=tmp_path / "net.h5")
    table = results.read(calibrated / "rates.h5")
    expected = np.nanmean(table.rates, axis=1).reshape(15, 3)
    again = network_file.read(tmp_path / "net.h5")
    assert again.activation == "measured"
    np.testing.assert_array_equal(again.response.rates, expected)
    np.testing.assert_array_equal(again.response.stds, [0.05, 0.3, 0.6])
    assert network.provenance["validation_accuracy"] > 0.5  # chance is 0.1
    tuned = workflow.finetune(again, digits=digits, epochs=1, threads=1, progress=False)
    assert tuned.activation == "measured" and tuned.response is again.response
    run = deploy(again, load_mnist().subset(slice(600, 610)), DeployConfig(window=100.0,
                                                                          threads=1),
                 progress=False)
    assert run.layer_counts[2].sum() > 0
    distances = run.attrs["evaluation"]["layer_rms_difference_hz"]
    assert set(distances) == {"noisy-softplus", "relu", "softplus", "measured"}
    assert np.isfinite(distances["measured"]["0"])


def test_bad_measured_responses_are_refused(calibrated, tmp_path):
    import shutil

    from lifresponse.datasets import load_mnist

    digits = load_mnist().subset(slice(0, 50))

    def train(calibration, **options):
        return workflow.train(calibration, architecture="4c5-4s-10fc", epochs=1, threads=1,
                              progress=False, digits=digits, **options)

    with pytest.raises(ParameterError, match="give a calibration's rates.h5 \\(--response\\)"):
        train(None, activation="measured")  # by hand: no rates file to read
    with pytest.raises(ParameterError, match="only the 'measured' activation reads"):
        train(calibrated / "calibration.json", response=calibrated / "rates.h5")
    with pytest.raises(ParameterError, match="nowhere.h5: no such rates file"):
        train(calibrated / "calibration.json", activation="measured",
              response=tmp_path / "nowhere.h5")
    alpha = Calibration.by_hand(0.323, 360.1, 5.0, cell="IF_curr_alpha")
    with pytest.raises(ParameterError, match="measured IF_curr_exp, but the calibration is of "
                                             "IF_curr_alpha"):
        train(alpha, activation="measured", response=calibrated / "rates.h5")
    # a calibration whose recorded rates file was replaced by another
    moved = tmp_path / "moved"
    shutil.copytree(calibrated, moved)
    (moved / "rates.h5").unlink()
    workflow.calibrate(out=moved / "rates.h5", drive="poisson", means=[0.0, 0.5],
                       stds=[0.3, 0.6], trials=1, duration=200.0, progress=False)
    calibration = Calibration.read(moved / "calibration.json")
    calibration.record["provenance"]["rates_file"] = str(moved / "rates.h5")
    with pytest.raises(ParameterError, match="is not the rates file .* was fitted from"):
        train(calibration, activation="measured")


def test_a_network_file_keeps_its_response_with_the_measured_activation_only(surface,
                                                                             tmp_path):
    from lifresponse.training import trainer

    model = trainer.make_model("4c5-4s-10fc", "measured", 0.3, 200.0, 5.0,
                               workflow.LIFParams(), seed=0, response=surface)
    network = model.to_network(workflow.LIFParams(), 1.0, {})
    network_file.write(network, tmp_path / "m.h5")
    np.testing.assert_array_equal(network_file.read(tmp_path / "m.h5").response.rates, RATES)
    for changed, what in ((dataclasses.replace(network, response=None), "response none"),
                          (dataclasses.replace(network, activation="relu"), "response given")):
        with pytest.raises(FileFormatError, match=f"comes with a measured response .*{what}"):
            network_file.write(changed, tmp_path / "bad.h5")
    with pytest.raises(ParameterError, match="read by the 'measured' activation and only"):
        trainer.make_model("4c5-4s-10fc", "relu", 0.3, 200.0, 5.0, workflow.LIFParams(),
                           seed=0, response=surface)
