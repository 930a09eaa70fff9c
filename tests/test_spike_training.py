"""Spike-based training (lifresponse/training/spikes.py): its forward pass is the exact
simulator's, it learns, the result deploys on NEST, it resumes exactly, and bad windows and
batches are refused with the minimum said."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from network_helpers import conv_network, random_digits

import lifresponse as lr
from lifresponse.cli import main
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import ParameterError
from lifresponse.networks.encoding import Presentation
from lifresponse.training import spikes
from lifresponse.training.trainer import CheckpointError


def test_forward_pass_is_the_simulation_deployment_runs(rng):
    """Output counts of the training simulation (float64) against the torch backend's, which
    equals NEST's: the same numbers; only the order of summing a step's input differs
    (one signed current where tau_syn_E = tau_syn_I), so a rare threshold tie may flip."""
    network = conv_network(rng)
    digits = random_digits(rng, 6)
    run = deploy(network, digits, DeployConfig(backend="torch", window=60.0, threads=1,
                                               seed=4), progress=False)
    model = spikes.SpikingSimulation(network).double()
    pixels = digits.maps().reshape(len(digits), -1).astype(float)
    inputs = spikes.input_steps(network, pixels, np.arange(len(digits)),
                                Presentation(60.0, 0.0, 1.0), 4, "cpu").double()
    seen = []
    with torch.no_grad():
        counts = model(inputs, on_step=lambda n, layer_spikes: seen.append(
            [s.sum().item() for s in layer_spikes])).numpy()
    assert run.output_counts.sum() > 50
    assert np.mean(counts == run.output_counts) >= 0.99
    # on_step sees every step's spikes of every layer: the output's add up to the counts
    assert len(seen) == inputs.shape[0] and len(seen[0]) == len(network.layers)
    assert sum(step[-1] for step in seen) == counts.sum()


def test_spike_training_learns_and_deploys_on_nest(tmp_path):
    digits = lr.load_mnist().subset(np.arange(0, 5000, 10))  # 500 digits of every class
    network = lr.workflow.train_spikes(architecture="4c5-4s-10fc", digits=digits,
                                       validation=100, window=30.0, epochs=2, batch_size=10,
                                       learning_rate=2e-3, threads=1, out=tmp_path / "s.h5",
                                       progress=False)
    history = network.provenance["history"]
    assert history["loss"][1] < history["loss"][0]
    assert network.provenance["method"] == "spikes"
    assert network.provenance["spikes"]["window_ms"] == 30.0 and network.activation == "none"
    assert network.provenance["spikes"]["loss"] == "rate-mse"
    assert network.provenance["spikes"]["margin"] is None  # a setting of the margin loss only
    run = lr.deploy(tmp_path / "s.h5", digits=digits.subset(np.arange(20)), window=30.0,
                    threads=1, progress=False)
    assert run.attrs["backend"] == "nest" and run.output_counts.sum() > 0
    assert not (tmp_path / "s.h5.ckpt").exists()


def test_interrupted_spike_training_resumes_exactly(tmp_path, monkeypatch):
    digits = lr.load_mnist().subset(np.arange(0, 5000, 25))
    settings = dict(architecture="4c5-4s-10fc", digits=digits, validation=40, window=15.0,
                    epochs=2, batch_size=40, threads=1, progress=False)
    whole = lr.workflow.train_spikes(out=tmp_path / "a.h5", **settings)
    real = spikes.accuracy
    calls = []

    def interrupt_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(spikes, "accuracy", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        lr.workflow.train_spikes(out=tmp_path / "b.h5", **settings)
    monkeypatch.setattr(spikes, "accuracy", real)
    for changed, named in [({"validation": 50}, "training digits: '160 from"),
                           ({"split_seed": 3}, "training digits: '160 from"),
                           ({"window": 20.0}, "window: 15.0 there, 20.0 now"),
                           ({"init": whole}, "start: '4c5-4s-10fc, new weights' there, ")]:
        with pytest.raises(CheckpointError, match=named):
            lr.workflow.train_spikes(out=tmp_path / "b.h5", resume=True,
                                     **{**settings, **changed})
    resumed = lr.workflow.train_spikes(out=tmp_path / "b.h5", resume=True, **settings)
    for a, b in zip(whole.layers, resumed.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)


def test_bad_windows_batches_and_options(rng, tmp_path, capsys):
    network = conv_network(rng)  # 3 layers at 1 ms: the output fires after 7 ms at the soonest
    with pytest.raises(ParameterError, match="window: 5 ms is too short for 3 layers at 1 ms: "
                                             "an input spike reaches the output after 7 ms"):
        spikes.check(network, spikes.SpikeTrainSettings(window=5.0))
    with pytest.raises(ParameterError, match="window: must be a whole number"):
        spikes.check(network, spikes.SpikeTrainSettings(window=10.5))
    with pytest.raises(ParameterError, match=r"batch_size: 1000000 images x 1000 steps .* GB"):
        spikes.check(network, spikes.SpikeTrainSettings(window=1000.0, batch_size=10**6))
    for argv, message in [(["--window", "3"], "--window: 3 ms is too short for 5 layers"),
                          (["--surrogate", "lee", "--train-noise", "5"],
                           "--train-noise: belongs to --method ann"),
                          (["--count-window", "100"], "--count-window: belongs to --method ann"),
                          (["--decay-every", "1"], "--decay-every: belongs to --method ann; "
                                                   "spike training keeps its learning rate"),
                          (["--window", "nan"], "--window: must be > 0 ms and finite"),
                          (["--loss", "margin", "--margin", "0"], "--margin: must be > 0"),
                          (["--skip-clear"], "--skip-clear: only with the margin loss")]:
        assert main(["train", "--method", "spikes", *argv, "--out",
                     str(tmp_path / "n.h5")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "n.h5").exists()
    with pytest.raises(ParameterError,
                       match="loss: must be one of rate-mse, cross-entropy, margin"):
        spikes.SpikeTrainSettings(loss="hinge")
    for option, message in ((["--surrogate", "fast-sigmoid"], "belongs to --method spikes"),
                            (["--init", str(tmp_path / "start.h5")],
                             "belongs to --method spikes"),
                            (["--loss", "cross-entropy"],
                             "cross-entropy reads output spike counts"),
                            (["--margin", "0.5"], "only with the margin loss")):
        assert main(["train", *option, "--epochs", "1", "--out", str(tmp_path / "n.h5")]) == 2
        assert f"{option[0]}: {message}" in capsys.readouterr().err
        assert not (tmp_path / "n.h5").exists()


def test_rate_loss_is_the_ann_loss_on_measured_rates():
    """20 spikes in 100 ms at tau_syn 5 ms is 200 Hz = 1 / tau_syn: the one-hot target."""
    counts = torch.tensor([[20.0, 0.0, 0.0]], dtype=torch.float64)
    right = spikes.image_losses(counts, torch.tensor([0]), "rate-mse", 100.0, 5.0).mean()
    assert float(right) == 0.0
    wrong = spikes.image_losses(counts, torch.tensor([1]), "rate-mse", 100.0, 5.0).mean()
    assert float(wrong) == pytest.approx(2 / 3)
    logits = spikes.image_losses(counts, torch.tensor([0]), "cross-entropy", 100.0, 5.0).mean()
    assert float(logits) == pytest.approx(-torch.log_softmax(counts, 1)[0, 0].item())


def test_margin_loss_moves_only_images_not_clear_by_the_margin():
    """A lead of 5 spikes in 100 ms (50 Hz, 0.25 / tau_syn at 5 ms) costs nothing; a tie costs
    the squared margin per competitor, and its gradient raises the true class and lowers the
    tied rival only."""
    counts = torch.tensor([[20.0, 15.0, 0.0], [10.0, 10.0, 0.0]], dtype=torch.float64,
                          requires_grad=True)
    loss = spikes.image_losses(counts, torch.tensor([0, 0]), "margin", 100.0, 5.0).mean()
    assert float(loss.detach()) == pytest.approx(0.25 ** 2 / 2)
    loss.backward()
    assert torch.all(counts.grad[0] == 0)
    assert counts.grad[1, 0] < 0 < counts.grad[1, 1] and counts.grad[1, 2] == 0
    # asked for a lead of 0.5 (10 spikes in 100 ms): the first image falls 5 spikes short of
    # it, the tied second 10 spikes short of its rival (its lead of 10 over the third suffices)
    wider = spikes.image_losses(counts, torch.tensor([0, 0]), "margin", 100.0, 5.0, margin=0.5)
    assert wider.detach().tolist() == pytest.approx([0.25 ** 2, 0.5 ** 2])


def test_skip_clear_trains_on_the_unclear_images_only_in_full_batches():
    """The screen keeps what it finds unclear, in order, and batches it in full batches with
    the remainder last; a real run through it trains and records the setting."""
    settings = spikes.SpikeTrainSettings(batch_size=3, loss="margin", skip_clear=True)
    order = np.arange(20)
    screened = []

    def unclear(chunk):
        screened.append(chunk.tolist())
        return torch.as_tensor(chunk % 3 == 0)

    batches = [b.tolist() for b in spikes._batches(order, settings, unclear, "", False)]
    assert screened == [list(range(12)), list(range(12, 20))]  # 4 batches' worth at a time
    assert batches == [[0, 3, 6], [9, 12, 15], [18]]
    settings = replace(settings, skip_clear=False)
    assert [len(b) for b in spikes._batches(order, settings, unclear, "", False)] == [3] * 6 + [2]

    digits = lr.load_mnist().subset(np.arange(0, 5000, 50))  # 100 digits, all classes
    start = lr.workflow.train_spikes(architecture="4c5-4s-10fc", digits=digits, validation=0,
                                     window=30.0, epochs=1, batch_size=10, learning_rate=2e-3,
                                     threads=1, progress=False)
    trained = lr.workflow.train_spikes(init=start, digits=digits, validation=0, window=30.0,
                                       epochs=1, batch_size=10, learning_rate=2e-3,
                                       loss="margin", skip_clear=True, threads=1,
                                       progress=False)
    assert trained.provenance["spikes"]["skip_clear"] is True
    assert not np.array_equal(trained.layers[-1].weight, start.layers[-1].weight)
