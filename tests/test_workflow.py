"""The library workflow: data splits (held-out and the official test split), the commands that
evaluate on them, one provenance schema, field-named errors and the backend interface.

The MNIST folder here is generated: real digits from the bundled 5,000, written as the four
standard IDX files (600 training, 200 test digits)."""

import gzip
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

import lifresponse as lr
from lifresponse import backends, splits
from lifresponse.cli import main
from lifresponse.datasets import load_mnist
from lifresponse.errors import BackendError, FileFormatError, ParameterError
from lifresponse.networks import network_file, run_file

N_TRAIN, N_TEST = 600, 200
ARCH = "4c5-4s-10fc"


def _write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory):
    """A folder with the four standard MNIST files, from bundled real digits."""
    folder = tmp_path_factory.mktemp("mnist")
    digits = load_mnist()
    pixels = np.round(digits.images * 255).astype(np.uint8)
    for split, part in (("train", slice(0, N_TRAIN)), ("t10k", slice(N_TRAIN, N_TRAIN + N_TEST))):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", 2051, pixels[part])
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", 2049, digits.labels[part])
    return folder


@pytest.fixture(scope="module")
def trained_on_all(mnist_folder, tmp_path_factory):
    """``train --validation 0``: every one of the 600 training digits."""
    out = tmp_path_factory.mktemp("net") / "all.h5"
    assert main(["train", "--arch", ARCH, "--activation", "relu", "--epochs", "1", "--data",
                 str(mnist_folder), "--validation", "0", "--threads", "1", "--quiet",
                 "--out", str(out)]) == 0
    return out


def test_train_on_every_digit_records_no_validation(trained_on_all, capsys):
    provenance = network_file.read(trained_on_all).provenance
    assert provenance["n_train"] == N_TRAIN and provenance["n_validation"] == 0
    assert provenance["validation_accuracy"] is None
    assert provenance["history"]["validation"] == "none: trained on every training digit"
    assert provenance["history"]["validation_accuracy"] == [None]


def test_evaluate_ann_on_the_official_test_split(trained_on_all, mnist_folder, capsys):
    assert main(["evaluate-ann", str(trained_on_all), "--test", "--data",
                 str(mnist_folder)]) == 0
    printed = capsys.readouterr().out
    assert f"{N_TEST} official test digits" in printed and "t10k-images" in printed
    # the same number from the ANN applied by hand to the test files
    from lifresponse.training import trainer
    from lifresponse.training.model import SpikingNetwork

    test = load_mnist(mnist_folder, split="test")
    model = SpikingNetwork.from_network(network_file.read(trained_on_all))
    expected = np.mean(trainer.predict(model, test).argmax(axis=1) == test.labels)
    assert f"accuracy {100 * expected:.2f} %" in printed


def test_deploy_and_energy_on_the_test_split(trained_on_all, mnist_folder, tmp_path, capsys):
    run_path = tmp_path / "run.h5"
    assert main(["deploy", str(trained_on_all), "--test", "--data", str(mnist_folder),
                 "--images", "6", "--duration", "60", "--threads", "1", "--quiet",
                 "--out", str(run_path)]) == 0
    run = run_file.read(run_path)
    test = load_mnist(mnist_folder, split="test")
    np.testing.assert_array_equal(run.labels, test.labels[:6])
    assert "t10k-images" in run.attrs["data"]
    capsys.readouterr()
    assert main(["energy", "--network", str(trained_on_all), "--test", "--data",
                 str(mnist_folder), "--images", "7"]) == 0
    assert "on 7 official test digits" in capsys.readouterr().out


def test_held_out_of_a_network_trained_on_every_digit_is_refused(trained_on_all, mnist_folder,
                                                                 capsys):
    assert main(["evaluate-ann", str(trained_on_all), "--data", str(mnist_folder)]) == 2
    err = capsys.readouterr().err
    assert "the network was trained on every digit" in err and "(--test;" in err
    assert "Traceback" not in err
    assert main(["evaluate-ann", str(trained_on_all), "--data", str(mnist_folder),
                 "--validation", "0"]) == 2
    assert "--validation: 0 holds no digits out" in capsys.readouterr().err


def test_a_folder_without_test_split_is_named(trained_on_all, tmp_path, capsys):
    only_train = tmp_path / "train-only"
    only_train.mkdir()
    assert main(["evaluate-ann", str(trained_on_all), "--test", "--data",
                 str(only_train)]) == 2
    err = capsys.readouterr().err
    assert f"{only_train}: no official test split (t10k-images-idx3-ubyte" in err
    assert main(["deploy", str(trained_on_all), "--test"]) == 2
    assert "needs an MNIST folder" in capsys.readouterr().err


def test_held_out_digits_are_the_recorded_validation_split(mnist_folder):
    """Training, deployment and the energy prediction agree on the held-out digits, whatever
    the split seed (the energy prediction used to draw its own with seed 0)."""
    network = lr.train(data=mnist_folder, architecture=ARCH, activation="relu",
                       validation=150, split_seed=3, epochs=1, threads=1, progress=False)
    assert (network.provenance["n_validation"], network.provenance["split_seed"]) == (150, 3)
    split = splits.training_split(load_mnist(mnist_folder), 150, seed=3)
    held_out = splits.evaluation_digits(mnist_folder, network.provenance)
    np.testing.assert_array_equal(held_out.images, split.validation.images)
    train_images = {image.tobytes() for image in split.train.images}
    assert not any(image.tobytes() in train_images for image in held_out.images)
    # the energy prediction of the first 20 held-out digits, and the same by hand
    from lifresponse.hardware.energy import predicted_event_energy
    from lifresponse.networks.prediction import predict_rates
    from lifresponse.networks.topology import fan_outs, network_connections

    predicted = lr.predict_energy(network, data=mnist_folder, images=20, duration=500.0)
    pixels = split.validation.images[:20].reshape(20, -1).astype(float)
    connections = network_connections(network)
    rates = {"input": pixels * network.input_rate,
             **{f"layer {i}": r for i, r in enumerate(predict_rates(network, pixels))}}
    fan_out = {("input" if i == -1 else f"layer {i}"): f
               for i, f in fan_outs(connections).items()}
    by_hand = predicted_event_energy(rates, fan_out, 0.5, 20, 8e-9)
    assert predicted.events_per_second == pytest.approx(by_hand.events_per_second, rel=1e-12)


def test_too_many_images_is_an_error(trained_on_all, mnist_folder, capsys):
    assert main(["deploy", str(trained_on_all), "--test", "--data", str(mnist_folder),
                 "--images", str(N_TEST + 1)]) == 2
    assert f"--images: {N_TEST + 1} asked for, but only {N_TEST}" in capsys.readouterr().err


def test_library_errors_name_fields_and_the_cli_names_flags(trained_on_all, capsys):
    with pytest.raises(ParameterError, match=r"^window: must be > 0 ms \(got 0\)"):
        lr.DeployConfig(window=0.0)
    assert main(["deploy", str(trained_on_all), "--duration", "0"]) == 2
    assert "error: --duration: must be > 0 ms (got 0)" in capsys.readouterr().err
    assert main(["train", "--lr", "0", "--epochs", "1"]) == 2
    assert "error: --lr: must be > 0" in capsys.readouterr().err
    assert main(["train", "--arch", "6x5"]) == 2
    assert "error: --arch: cannot read '6x5'" in capsys.readouterr().err


def test_one_provenance_schema_for_train_and_finetune(mnist_folder):
    network = lr.train(data=mnist_folder, architecture=ARCH, activation="relu", epochs=1,
                       threads=1, progress=False)
    tuned = lr.finetune(network, data=mnist_folder, threads=1, progress=False)
    assert set(network.provenance) == set(tuned.provenance)
    assert tuned.provenance["fine_tuned_from"]["activation"] == "relu"
    assert tuned.provenance["label_offset"] == 0.01
    # fine tuning draws the network's own split again
    assert (tuned.provenance["n_train"], tuned.provenance["n_validation"]) == (480, 120)
    assert tuned.activation == "noisy-softplus"


def test_calibration_carries_neuron_and_timestep(tmp_path):
    calibration = lr.Calibration.by_hand(k=0.25, S=190.0, tau_syn=10.0, timestep=0.1)
    assert calibration.neuron.tau_syn_E == calibration.neuron.tau_syn_I == 10.0
    network = lr.train(calibration, architecture=ARCH, activation="relu", epochs=1,
                       threads=1, progress=False, digits=load_mnist().subset(slice(0, 300)))
    assert (network.k, network.S, network.tau_syn, network.timestep) == (0.25, 190.0, 10.0, 0.1)
    assert network.neuron.tau_syn_E == 10.0
    with pytest.raises(ParameterError, match=r"tau_syn: must be > 0 \(got -1"):
        lr.Calibration.by_hand(tau_syn=-1.0)


def test_calibration_file_with_bad_fields_is_named(tmp_path):
    import json

    path = tmp_path / "calibration.json"
    good = {"format": "lifresponse.calibration", "version": 1, "k": 0.3, "S": 200.0,
            "tau_syn_ms": 5.0, "timestep_ms": 1.0, "neuron": {}}
    for change, message in (({"k": "0.3"}, "k must be a number > 0 (got '0.3')"),
                            ({"timestep_ms": -1}, "timestep_ms must be a number > 0"),
                            ({"neuron": [1]}, "neuron must be a table")):
        path.write_text(json.dumps({**good, **change}))
        with pytest.raises(FileFormatError, match=re.escape(message)):
            lr.Calibration.read(path)
    del good["timestep_ms"]
    path.write_text(json.dumps(good))
    with pytest.raises(FileFormatError, match="missing 'timestep_ms'"):
        lr.Calibration.read(path)


def test_unsupported_simulator_version_is_one_clear_error():
    backend = backends.get("nest")
    backend.supported = ((99, 0), (100, 0))
    with pytest.raises(BackendError, match=r"nest-simulator 3\.\d+\.\d+ is not supported; "
                                           r"lifresponse needs 99\.0 <= version < 100\.0"):
        backend.load()
    with pytest.raises(BackendError, match="unknown backend 'brian'"):
        backends.get("brian")


def test_backend_branches_live_only_in_the_backend_modules():
    package = Path(lr.__file__).parent
    pattern = re.compile(r"""if .*["']spinnaker["']|is_nest""")  # a branch on the name
    found = [f"{path.relative_to(package)}:{number}"
             for path in package.rglob("*.py") if path.parent.name != "backends"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_one_registry_entry_adds_an_activation(monkeypatch):
    """A new activation is one registry entry: the ANN trains with it, files keep it, and the
    rate predictor uses it."""
    from lifresponse.activations import REGISTRY, Activation, relu
    from lifresponse.networks.prediction import predict_rates

    entry = Activation("half-relu", lambda net, sigma, s: 0.5 * relu(net) * s.S * s.tau_s,
                       lambda net, sigma, s: 0.5 * (np.asarray(net) > 0) * s.S * s.tau_s,
                       f"{__name__}:half_relu_output", False, "ReLU at half slope")
    monkeypatch.setitem(REGISTRY, "half-relu", entry)
    digits = load_mnist().subset(slice(0, 200))
    network = lr.train(architecture=ARCH, activation="half-relu", epochs=1, threads=1,
                       progress=False, digits=digits)
    assert network.activation == "half-relu"
    half = predict_rates(network, digits.images[:5])[-1]
    full = predict_rates(network, digits.images[:5], activation="relu")[-1]
    assert np.all(half <= full) and half.sum() > 0


def half_relu_output(net, sigma, s):
    """The torch twin of the test's "half-relu" registry entry."""
    import torch

    return 0.5 * torch.relu(net) * s.S * s.tau_s


def test_figures_never_select_a_matplotlib_backend(monkeypatch, tmp_path):
    import matplotlib

    from lifresponse.networks.plots import plot_accuracy_by_time

    def refuse(*args, **kwargs):
        raise AssertionError("the library switched the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", refuse)
    plot_accuracy_by_time([("net", np.array([10.0, 20.0]), [0.5, 0.9])], tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_deploy_takes_a_network_object_and_writes_nothing_without_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    digits = load_mnist().subset(slice(0, 200))
    network = lr.train(architecture=ARCH, activation="relu", epochs=1, threads=1,
                       progress=False, digits=digits)
    run = lr.deploy(network, digits=digits.subset(slice(0, 3)), window=50.0, threads=1,
                    progress=False)
    assert run.path is None and run.attrs["network_file"] == "(in memory)"
    assert run.output_counts.shape == (3, 10) and 0.0 <= run.accuracy <= 1.0
    assert list(tmp_path.iterdir()) == []
    with h5py.File(tmp_path / "x.h5", "w"):
        pass
    with pytest.raises(Exception, match="never overwritten"):
        lr.deploy(network, digits=digits.subset(slice(0, 1)), out=tmp_path / "x.h5")


def test_nest_after_torch_training_in_one_process_does_not_crash():
    """NEST once with 1 thread, torch with 2, NEST again: segfaulted in ResetKernel before the
    NEST backend set torch to one thread (run in a subprocess: a segfault kills it)."""
    import subprocess
    import sys

    script = (
        "from lifresponse import backends\n"
        "import torch\n"
        "for threads in (1, 2, 1):\n"
        "    backend = backends.get('nest')\n"
        "    backend.start(timestep=1.0, threads=threads)\n"
        "    backend.end()\n"
        "    torch.set_num_threads(2)\n"
        "    x = torch.randn(300, 300)\n"
        "    (x @ x).sum()\n"
        "print('survived')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-500:]


def test_training_never_overwrites_a_network_or_its_input(trained_on_all, tmp_path, capsys):
    before = trained_on_all.read_bytes()
    base = ["--epochs", "1", "--arch", ARCH, "--activation", "relu", "--threads", "1", "--quiet"]
    assert main(["train", *base, "--out", str(trained_on_all)]) == 2
    assert "already exists; a finished network is not overwritten" in capsys.readouterr().err
    assert main(["finetune", str(trained_on_all), "--epochs", "1", "--quiet",
                 "--out", str(trained_on_all)]) == 2
    assert "is also the input network" in capsys.readouterr().err
    assert main(["finetune", str(trained_on_all), "--epochs", "1", "--quiet", "--force",
                 "--out", str(trained_on_all)]) == 2
    assert trained_on_all.read_bytes() == before
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["train", *base, "--out", str(blocker / "net.h5")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    again = tmp_path / "again.h5"
    again.write_bytes(b"")
    assert main(["train", *base, "--force", "--out", str(again)]) == 0
    assert network_file.read(again).architecture == ARCH
