"""Artificial-spiking-neuron layers against eq. 12-15, training, checkpoints, the CLI."""

import numpy as np
import pytest
import torch

from lifresponse import activations
from lifresponse.cli import main
from lifresponse.datasets import load_mnist, validation_split
from lifresponse.errors import ParameterError
from lifresponse.networks import network_file
from lifresponse.neuron import LIFParams
from lifresponse.training import trainer
from lifresponse.training.model import SpikingActivation, SpikingNetwork

K, S, TAU = 0.3, 201.0, 5.0


def _tiny(architecture, activation, input_shape, seed=0):
    return SpikingNetwork(architecture, SpikingActivation(activation, K, S, TAU), seed=seed,
                          input_shape=input_shape)


@pytest.mark.parametrize("activation", ["noisy-softplus", "relu", "softplus"])
def test_dense_layer_is_eq12_to_eq14(rng, activation):
    model = _tiny("3fc", activation, (1, 2, 2))
    pixels = rng.uniform(0, 1, (5, 1, 2, 2)).astype(np.float32)
    w = model.layers[0].weight.detach().double().numpy()
    x = pixels.reshape(5, 4) * 100.0 * TAU / 1000.0  # rate * tau_syn
    net = x @ w  # eq. 12, by hand
    sigma = np.sqrt(x @ (0.5 * w**2))  # eq. 13
    expected = activations.ann_output(net, sigma, activation, k=K, S=S, tau_syn=TAU)
    got = model(torch.as_tensor(pixels)).detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_conv_and_pool_layers_by_hand(rng):
    model = _tiny("2c2-2s", "noisy-softplus", (1, 3, 3))
    pixels = rng.uniform(0, 1, (1, 1, 3, 3)).astype(np.float32)
    w = model.layers[0].weight.detach().double().numpy()
    x = pixels[0, 0] * 0.5
    net = np.zeros((2, 2, 2))
    var = np.zeros((2, 2, 2))
    for c in range(2):
        for i in range(2):
            for j in range(2):
                patch = x[i:i + 2, j:j + 2]
                net[c, i, j] = np.sum(w[c, 0] * patch)
                var[c, i, j] = np.sum(0.5 * w[c, 0] ** 2 * patch)
    conv_y = activations.ann_output(net, np.sqrt(var), k=K, S=S, tau_syn=TAU)
    # 2x2 average pooling neurons: four synapses of 0.25 nA each.
    pool_net = 0.25 * conv_y.sum(axis=(1, 2))
    pool_sigma = np.sqrt(0.5 * 0.25**2 * conv_y.sum(axis=(1, 2)))
    expected = activations.ann_output(pool_net, pool_sigma, k=K, S=S, tau_syn=TAU)
    outputs = model(torch.as_tensor(pixels), return_all=True)
    np.testing.assert_allclose(outputs[0].detach().numpy()[0], conv_y, rtol=1e-5)
    np.testing.assert_allclose(outputs[1].detach().numpy()[0, :, 0, 0], expected, rtol=1e-5)


@pytest.mark.parametrize("activation", ["noisy-softplus", "relu", "softplus", "soft-lif"])
def test_autograd_gradient_is_eq15(rng, activation):
    model = _tiny("4fc", activation, (1, 3, 3))
    pixels = torch.as_tensor(rng.uniform(0, 1, (1, 1, 3, 3)).astype(np.float32))
    model(pixels).sum().backward()
    w = model.layers[0].weight.detach().double().numpy()
    x = pixels.numpy().reshape(1, 9).astype(float) * 0.5
    net, sigma = x @ w, np.sqrt(x @ (0.5 * w**2))
    slope = activations.ann_output_dnet(net, sigma, activation, k=K, S=S, tau_syn=TAU)
    expected = x.T * slope  # dy_j/dw_ij = x_i * f'(net_j) S tau_syn, sigma held fixed
    np.testing.assert_allclose(model.layers[0].weight.grad.double().numpy(), expected,
                               rtol=1e-4, atol=1e-8)


def test_export_import_gives_the_same_network(tmp_path, rng):
    model = _tiny("2c3-2s-5fc", "noisy-softplus", (1, 8, 8), seed=4)
    network = trainer.export(model, tmp_path / "n.h5", LIFParams(), 1.0, {"seed": 4})
    assert network.layers[1].weight.tolist() == [[0.25, 0.25], [0.25, 0.25]]
    back = SpikingNetwork.from_network(network_file.read(tmp_path / "n.h5"))
    pixels = torch.as_tensor(rng.uniform(0, 1, (3, 1, 8, 8)).astype(np.float32))
    np.testing.assert_allclose(back(pixels).detach().numpy(), model(pixels).detach().numpy(),
                               rtol=1e-6)


@pytest.fixture(scope="module")
def digits():
    return validation_split(load_mnist(), 1000, seed=0)


def test_short_training_learns_the_bundled_digits(digits, tmp_path):
    train_set, validation_set = digits
    model = trainer.make_model("6c5-2s-12c5-2s-10fc", "noisy-softplus", K, S, TAU,
                               LIFParams(), seed=0)
    before = trainer.accuracy(model, validation_set)
    history = trainer.train(model, train_set, validation_set,
                            trainer.TrainSettings(epochs=4, seed=0), tmp_path / "n.h5",
                            progress=False)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.validation_accuracy[-1] > 0.80 > before + 0.3


@pytest.mark.parametrize("augment", [0, 2])
def test_resume_after_interruption_equals_an_uninterrupted_run(digits, tmp_path, monkeypatch,
                                                               augment):
    train_set, validation_set = digits
    small_train = train_set.subset(np.arange(1000))
    settings = trainer.TrainSettings(epochs=2, seed=1, augment=augment)

    def fresh():
        return trainer.make_model("4c5-4s-10fc", "relu", K, S, TAU, LIFParams(), seed=1)

    whole = fresh()
    trainer.train(whole, small_train, validation_set, settings, tmp_path / "a.h5",
                  progress=False)

    real_accuracy = trainer.accuracy
    calls = []

    def interrupt_in_second_epoch(model, digits):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_accuracy(model, digits)

    monkeypatch.setattr(trainer, "accuracy", interrupt_in_second_epoch)
    cut = fresh()
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cut, small_train, validation_set, settings, tmp_path / "b.h5",
                      progress=False)
    monkeypatch.setattr(trainer, "accuracy", real_accuracy)
    with pytest.raises(trainer.CheckpointError, match="--resume"):
        trainer.train(fresh(), small_train, validation_set, settings, tmp_path / "b.h5",
                      progress=False)
    faster = fresh()
    faster.input_rate = 200.0  # as finetune --input-rate 200 would make it
    with pytest.raises(trainer.CheckpointError, match="input rate of 100 Hz, not 200 Hz"):
        trainer.train(faster, small_train, validation_set, settings, tmp_path / "b.h5",
                      resume=True, progress=False)
    other_split = [(train_set.subset(np.arange(1, 1001)), validation_set),  # --split-seed
                   (small_train, validation_set.subset(np.arange(50)))]  # --validation
    other_k = trainer.make_model("4c5-4s-10fc", "relu", 0.2, S, TAU, LIFParams(), seed=1)
    with pytest.raises(trainer.CheckpointError, match="activation: 'relu, k = 0.3, S = 201.0 "
                                                      "Hz/nA, tau_syn = 5.0 ms' there, 'relu, "
                                                      "k = 0.2"):
        trainer.train(other_k, small_train, validation_set, settings, tmp_path / "b.h5",
                      resume=True, progress=False)
    for training, validation in other_split:  # the same settings, other digits: refused
        with pytest.raises(trainer.CheckpointError, match=r"digits: '\d+ from .* there, "):
            trainer.train(fresh(), training, validation, settings, tmp_path / "b.h5",
                          resume=True, progress=False)
    resumed = fresh()
    history = trainer.train(resumed, small_train, validation_set, settings, tmp_path / "b.h5",
                            resume=True, progress=False)
    assert len(history.loss) == 2
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_soft_lif_trains_in_float32_without_nan(digits):
    """Far below threshold the soft LIF's ``ln(1 + c / rho)`` had a gradient through
    ``rho**2``, which underflows in float32: the first batch gave NaN weights."""
    x = torch.linspace(-50.0, 50.0, 20001, requires_grad=True)
    from lifresponse.training.activations import soft_lif_rate

    rate = soft_lif_rate(x, LIFParams(), 0.01)
    rate.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(rate).all()
    reference = activations.soft_lif_rate(x.detach().double().numpy(), LIFParams(), 0.01)
    firing = reference > 1e-3
    np.testing.assert_allclose(rate.detach().numpy()[firing], reference[firing], rtol=1e-5)
    train_set, validation_set = digits
    model = trainer.make_model("10fc", "soft-lif", K, S, TAU, LIFParams(), seed=0)
    history = trainer.train(model, train_set.subset(np.arange(500)), validation_set,
                            trainer.TrainSettings(epochs=1, seed=0), progress=False)
    assert np.isfinite(history.loss[0]) and history.validation_accuracy[0] > 0.5


def test_cli_train_finetune_evaluate(tmp_path, capsys):
    out, tuned = tmp_path / "n.h5", tmp_path / "t.h5"
    assert main(["train", "--arch", "4c5-4s-10fc", "--activation", "relu", "--epochs", "1",
                 "--augment", "1", "--decay", "0.5", "--decay-every", "1", "--out", str(out),
                 "--quiet"]) == 0
    made = network_file.read(out).provenance
    assert (made["augment_px"], made["decay"], made["decay_every"]) == (1, 0.5, 1)
    assert main(["finetune", str(out), "--out", str(tuned), "--count-window", "300",
                 "--quiet"]) == 0
    network = network_file.read(tuned)
    assert network.provenance["count_window_ms"] == 300.0
    assert network.activation == "noisy-softplus"
    assert network.provenance["label_offset"] == 0.01
    assert network.provenance["rate_limit_hz"] == 200.0
    assert network.provenance["fine_tuned_from"]["activation"] == "relu"
    assert not (tmp_path / "t.h5.ckpt").exists()
    capsys.readouterr()
    assert main(["evaluate-ann", str(tuned)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "confusion matrix" in printed
    assert main(["train", "--arch", "6x5", "--out", str(tmp_path / "x.h5")]) == 2
    assert "cannot read '6x5'" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "x.h5")]) == 2
    assert "no such folder or file" in capsys.readouterr().err


def test_shifted_moves_each_image_by_its_own_whole_pixels():
    images = torch.zeros((3, 1, 6, 5))
    images[:, 0, 2, 2] = 1.0
    images[2, 0, 0, 4] = 2.0  # moved out of the frame by its shift
    moved = trainer.shifted(images, torch.tensor([[0, 0], [1, -2], [-2, 1]]), 2)
    assert torch.equal(moved[0], images[0])
    assert torch.nonzero(moved[1, 0]).tolist() == [[3, 0]]
    assert torch.nonzero(moved[2, 0]).tolist() == [[0, 3]]
    assert float(moved[2].sum()) == 1.0


def test_rate_penalty_counts_only_the_excess_over_the_ceiling():
    ceiling = 200.0 * TAU / 1000.0  # 200 Hz as y = rate * tau_syn
    below = torch.full((2, 3), 0.9)
    above = torch.tensor([[1.0, 1.5], [0.5, 2.0]])
    # layer means of the squared excess: 0 and (0.5^2 + 1.0^2) / 4
    assert float(trainer.rate_penalty([below, above], ceiling)) == pytest.approx(0.3125)


def test_rate_limit_keeps_hidden_rates_below_the_ceiling(digits, tmp_path):
    train_set, validation_set = digits
    fraction_above = {}
    for limit in (0.0, 100.0):
        model = trainer.make_model("6c5-2s-12c5-2s-10fc", "noisy-softplus", K, S, TAU,
                                   LIFParams(), seed=0)
        trainer.train(model, train_set, validation_set,
                      trainer.TrainSettings(epochs=2, seed=0, rate_limit=limit),
                      tmp_path / f"n{limit:g}.h5", progress=False)
        model.eval()
        with torch.no_grad():
            hidden = model(torch.as_tensor(validation_set.images[:200, None]),
                           return_all=True)[:-1]
        rates = torch.cat([y.flatten() for y in hidden]) / (TAU / 1000.0)
        fraction_above[limit] = float(torch.mean((rates > 100.0).float()))
    assert fraction_above[100.0] < 0.5 * fraction_above[0.0]


def test_count_noise_is_that_of_a_poisson_count_in_the_window():
    model = trainer.make_model("4c5-4s-10fc", "relu", K, S, TAU, LIFParams(), seed=0)
    y = torch.full((200_000,), 0.5, requires_grad=True)  # 100 Hz at tau_syn 5 ms
    model.count_window = 100.0  # 10 spikes expected: std sqrt(10) / 100 ms = 31.6 Hz
    model.train()
    noisy = model._count_noise(y)
    assert float(noisy.std()) == pytest.approx(np.sqrt(10.0) / 0.1 * TAU / 1000.0, rel=0.02)
    assert float(noisy.mean()) == pytest.approx(0.5, abs=0.002)
    assert float(noisy.min()) >= 0.0
    noisy.sum().backward()  # the gradient passes through the mean, except where clipped at 0
    assert float(y.grad.sum()) == float((noisy > 0).sum())
    model.eval()
    assert torch.equal(model._count_noise(y), y)
    model.train()
    model.count_window = 0.0
    assert torch.equal(model._count_noise(y), y)


def test_bad_settings():
    with pytest.raises(ParameterError, match="epochs: must be >= 1"):
        trainer.TrainSettings(epochs=0)
    with pytest.raises(ParameterError, match="rate_limit: must be >= 0 Hz"):
        trainer.TrainSettings(rate_limit=-1.0)
    with pytest.raises(ParameterError, match="augment: must be a whole number of pixels"):
        trainer.TrainSettings(augment=-1)
    with pytest.raises(ParameterError, match="count_window: must be >= 0 ms and finite"):
        trainer.TrainSettings(count_window=float("nan"))
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no CUDA GPU"):
            trainer.TrainSettings(device="cuda")
    with pytest.raises(ParameterError, match="activation: unknown activation 'tanh'"):
        SpikingActivation("tanh", K, S, TAU)


def test_training_reads_format_2_layers_and_other_images(rng):
    """Fine tuning keeps strides, padding, overlapping pooling and biases (and trains the
    biases); training runs on 3-channel 8x8 images of 3 classes."""
    import lifresponse as lr
    from lifresponse.calibration.fit import Calibration
    from lifresponse.datasets import Digits
    from lifresponse.networks.network_file import Layer, Network

    layers = [Layer("conv", (3, 8, 8), (4, 4, 4), rng.normal(0.1, 0.2, (4, 3, 3, 3)), 2, 1,
                    np.full(4, 0.05)),
              Layer("pool", (4, 4, 4), (4, 3, 3), np.full((2, 2), 0.25), 1),
              Layer("dense", (4, 3, 3), (3,), rng.normal(0.05, 0.1, (36, 3)),
                    bias=np.zeros(3))]
    network = Network("v2", layers, "noisy-softplus", 0.3, 201.0, 5.0, LIFParams(), 1.0)
    images = rng.uniform(0, 1, (60, 3, 8, 8)).astype(np.float32)
    digits = Digits(images, np.arange(60) % 3, "colour")
    tuned = lr.finetune(network, digits=digits, validation=10, epochs=1, progress=False)
    for before, after in zip(network.layers, tuned.layers, strict=True):
        assert (after.kind, after.stride, after.padding, after.out_shape) == (
            before.kind, before.stride, before.padding, before.out_shape)
    np.testing.assert_array_equal(tuned.layers[1].weight, network.layers[1].weight)
    assert not np.array_equal(tuned.layers[0].bias, network.layers[0].bias)
    trained = lr.train(Calibration.by_hand(), architecture="4c3-2s-3fc", digits=digits,
                       validation=10, epochs=1, progress=False)
    assert trained.input_shape == (3, 8, 8) and trained.layers[-1].out_shape == (3,)


def test_a_new_input_rate_keeps_the_mean_current_and_shrinks_the_noise(rng):
    import lifresponse as lr
    from lifresponse.datasets import Digits
    from lifresponse.networks.network_file import Layer, Network

    weight = rng.normal(0.5, 0.3, (4, 3))
    network = Network("3fc", [Layer("dense", (1, 2, 2), (3,), weight)], "noisy-softplus",
                      K, S, TAU, LIFParams(), 1.0)
    faster = network.with_input_rate(400.0)
    assert faster.input_rate == 400.0
    np.testing.assert_allclose(faster.layers[0].weight, weight / 4)
    pixels = rng.uniform(0, 1, (5, 1, 2, 2)).astype(np.float32)
    x = pixels.reshape(5, 4) * 100.0 * TAU / 1000.0  # rate * tau_syn at the file's 100 Hz
    expected = activations.ann_output(x @ weight, np.sqrt(x @ (0.5 * weight**2) / 4),
                                      "noisy-softplus", k=K, S=S, tau_syn=TAU)
    got = SpikingNetwork.from_network(faster)(torch.as_tensor(pixels)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ParameterError, match=r"input_rate: must be > 0 Hz \(got -1"):
        network.with_input_rate(-1.0)
    snntorch_coded = Network("3fc", network.layers, "noisy-softplus", K, S, TAU,
                             input_encoding="bernoulli")
    with pytest.raises(ParameterError, match="'bernoulli', which has no rate"):
        snntorch_coded.with_input_rate(200.0)
    images = rng.uniform(0, 1, (40, 1, 2, 2)).astype(np.float32)
    tuned = lr.finetune(network, digits=Digits(images, np.arange(40) % 3, "random"),
                        validation=10, input_rate=200.0, epochs=1, progress=False)
    assert tuned.input_rate == 200.0
    assert tuned.provenance["fine_tuned_from"]["input_rate_hz"] == 100.0


def test_unit_gain_init_divides_the_initial_weights_by_the_gain(tmp_path, capsys):
    """With ``unit_gain_init`` every initial weight and pooling window is the default one
    divided by the activation's gain S tau_syn (here IF_curr_alpha's S, 360 Hz/nA, and 5 ms:
    1.8), so each layer starts passing its mean input on; spike training refuses the flag."""
    args = ("4c5-2s-10fc", "noisy-softplus", 0.32, 360.0, 5.0, LIFParams(), 0)
    plain = trainer.make_model(*args)
    unit = trainer.make_model(*args, unit_gain_init=True)
    gain = 360.0 * 0.005
    for a, b in zip(plain.layers, unit.layers, strict=True):
        if a.kind == "pool":
            torch.testing.assert_close(b.pool_weight, a.pool_weight / gain)
        else:
            torch.testing.assert_close(b.weight, a.weight / gain)
    x = torch.full((1, 1, 28, 28), 0.5)
    with torch.no_grad():  # less amplified from the start
        assert unit(x).mean().item() < plain(x).mean().item()
    assert main(["train", "--method", "spikes", "--unit-gain-init", "--epochs", "1",
                 "--out", str(tmp_path / "n.h5")]) == 2
    assert "--unit-gain-init: belongs to --method ann" in capsys.readouterr().err
    from lifresponse import workflow

    with pytest.raises(ParameterError, match="unit_gain_init: chooses the initial layers"):
        workflow.finetune(tmp_path / "any.h5", unit_gain_init=True)


def test_unit_gain_init_divides_the_learning_rates_by_the_gain(monkeypatch):
    """Adam moves a weight by about its learning rate: with weights S tau_syn times smaller,
    ``unit_gain_init`` gives every layer's Adam group a rate S tau_syn times smaller."""
    groups = []
    adam = torch.optim.Adam

    def recording(params, *args, **kwargs):
        groups.append([group["lr"] for group in params])
        return adam(params, *args, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", recording)
    digits = load_mnist().subset(slice(0, 20))
    for unit in (False, True):
        model = trainer.make_model("4c5-2s-10fc", "noisy-softplus", 0.32, 360.0, 5.0,
                                   LIFParams(), 0, unit_gain_init=unit)
        trainer.train(model, digits, digits.subset(slice(0, 0)),
                      trainer.TrainSettings(epochs=1, batch_size=10, unit_gain_init=unit,
                                            threads=1), progress=False)
    np.testing.assert_allclose(np.array(groups[1]) * 360.0 * 0.005, groups[0])
    assert len(groups[0]) == 2 and groups[0][0] == 1e-3


def test_padded_convolutions_keep_their_maps_in_the_model_and_the_file(tmp_path):
    from lifresponse.networks.architecture import parse_architecture

    specs = parse_architecture("4c3p1-2s-6c5p2-2s-10fc")
    assert [s.out_shape for s in specs] == [(4, 28, 28), (4, 14, 14), (6, 14, 14), (6, 7, 7),
                                            (10,)]
    with pytest.raises(ParameterError, match="'4c3p3'.*padding 3 must be below the kernel 3"):
        parse_architecture("4c3p3-10fc")
    model = _tiny("4c3p1-2s-10fc", "relu", (1, 28, 28))
    x = torch.rand(2, 1, 28, 28)
    net, _ = model.layers[0].moments(x, with_sigma=False)
    torch.testing.assert_close(net, torch.nn.functional.conv2d(x, model.layers[0].weight,
                                                               padding=1))
    network = model.to_network(LIFParams(), 1.0, {})
    network_file.write(network, tmp_path / "padded.h5")
    back = network_file.read(tmp_path / "padded.h5")
    assert back.layers[0].padding == (1, 1) and back.layers[0].out_shape == (4, 28, 28)


def test_margin_loss_by_hand():
    y = torch.tensor([[0.5, 0.4, 0.0], [0.1, 0.9, 0.95]])
    labels = torch.tensor([0, 2])
    # image 0 leads class 1 by 0.1 (short of 0.25 by 0.15) and class 2 by 0.5; image 1 leads
    # class 0 by 0.85 and class 1 by 0.05 (short by 0.2)
    torch.testing.assert_close(trainer.margin_losses(y, labels, 0.25),
                               torch.tensor([0.15**2, 0.2**2]))
    settings = trainer.TrainSettings(loss="margin", margin=0.25)
    torch.testing.assert_close(trainer.output_loss(y, labels, None, settings),
                               torch.tensor((0.15**2 + 0.2**2) / 2))


def test_loss_and_bias_settings_are_checked(capsys):
    with pytest.raises(ParameterError, match="loss: must be one of rate-mse, margin"):
        trainer.TrainSettings(loss="cross-entropy")
    with pytest.raises(ParameterError, match="margin: only with the margin loss"):
        trainer.TrainSettings(margin=0.5)
    with pytest.raises(ParameterError, match="label_offset: shifts the targets of the rate-mse"):
        trainer.TrainSettings(loss="margin", label_offset=0.01)
    assert main(["train", "--method", "spikes", "--bias", "--epochs", "1"]) == 2
    assert "--bias: belongs to --method ann" in capsys.readouterr().err
    from lifresponse import workflow
    with pytest.raises(ParameterError, match="bias: chooses the initial layers"):
        workflow.finetune("any.h5", bias=True)


def test_every_projection_and_bias_is_trained(rng):
    from network_helpers import residual_network

    network = residual_network(rng)
    network.layers[4].bias = rng.normal(0, 0.1, 10)
    model = SpikingNetwork.from_network(network)
    trained = {id(p) for group in trainer._parameter_groups(model, 1e-3)
               for p in group["params"]}
    expected = [model.layers[i].weight for i in (0, 1, 2, 4)] + [
        model.merges[2][0].weight, model.merges[4][0].weight, model.layers[4].bias]
    assert trained == {id(p) for p in expected}


def test_a_network_trained_with_biases_padding_and_the_margin_loss_deploys_on_nest(
        digits, tmp_path):
    from network_helpers import assert_same_run

    from lifresponse import workflow
    from lifresponse.calibration.fit import Calibration
    from lifresponse.deployment import DeployConfig, deploy

    train_set, validation_set = digits
    network = workflow.train(Calibration.by_hand(K, S, TAU),
                             architecture="4c3p1-2s-8c5-2s-10fc", digits=train_set,
                             validation=500, epochs=2, bias=True, loss="margin",
                             out=tmp_path / "n.h5", progress=False)
    assert network.provenance["loss"] == "margin" and network.provenance["margin"] == 0.25
    assert network.provenance["validation_accuracy"] > 0.75
    back = network_file.read(tmp_path / "n.h5")
    for layer in back.layers:
        if layer.kind != "pool":  # biases trained away from their start at 0
            assert layer.bias is not None and np.abs(layer.bias).max() > 1e-4
    images = validation_set.subset(slice(0, 3))
    config = dict(window=60.0, seed=1, record="all")
    assert_same_run(deploy(back, images, DeployConfig(**config), progress=False),
                    deploy(back, images, DeployConfig(backend="torch", **config),
                           progress=False))


def test_the_margin_loss_holds_the_outputs_under_the_rate_limit_too(digits, monkeypatch):
    train_set, validation_set = digits
    penalised = {}
    real = trainer.rate_penalty

    def recording(layers, ceiling):
        penalised[loss] = [tuple(y.shape[1:]) for y in layers]
        return real(layers, ceiling)

    monkeypatch.setattr(trainer, "rate_penalty", recording)
    for loss in ("rate-mse", "margin"):
        model = _tiny("6c5-2s-10fc", "noisy-softplus", (1, 28, 28))
        trainer.train(model, train_set.subset(slice(0, 50)), validation_set.subset(slice(0, 0)),
                      trainer.TrainSettings(epochs=1, loss=loss), progress=False)
    assert penalised["rate-mse"] == [(6, 24, 24), (6, 12, 12)]  # the hidden layers
    assert penalised["margin"] == [(6, 24, 24), (6, 12, 12), (10,)]  # and the outputs
