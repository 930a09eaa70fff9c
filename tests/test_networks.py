"""Topology, the PyNN builder on NEST against the ANN prediction, run files, bad input."""

import h5py
import numpy as np
import pytest

from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, RunFileExistsError, deploy
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.prediction import predict_rates
from lifresponse.networks.topology import layer_connections
from lifresponse.neuron import LIFParams


def _direct_conv(x, kernel):
    """Valid cross-correlation, the way torch's conv2d computes it, by loops."""
    c_out, c_in, k, _ = kernel.shape
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = np.zeros((c_out, h, w))
    for o in range(c_out):
        for i in range(h):
            for j in range(w):
                out[o, i, j] = np.sum(kernel[o] * x[:, i:i + k, j:j + k])
    return out


def test_conv_pool_dense_connections_equal_direct_computation(rng):
    x = rng.uniform(size=(3, 7, 7))
    kernel = rng.normal(size=(4, 3, 3, 3))
    conv = layer_connections(Layer("conv", (3, 7, 7), (4, 5, 5), kernel))
    np.testing.assert_allclose(x.ravel() @ conv.as_matrix(), _direct_conv(x, kernel).ravel())

    maps = rng.uniform(size=(4, 6, 6))
    pool = layer_connections(Layer("pool", (4, 6, 6), (4, 3, 3), np.full((2, 2), 0.25), 2))
    expected = maps.reshape(4, 3, 2, 3, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(maps.ravel() @ pool.as_matrix(), expected.ravel())
    assert pool.fan_out().tolist() == [1] * 144

    w = rng.normal(size=(36, 5))
    dense = layer_connections(Layer("dense", (4, 3, 3), (5,), w))
    np.testing.assert_allclose(dense.as_matrix(), w)
    excitatory, inhibitory = dense.split_by_sign()
    assert np.all(excitatory.weight > 0) and np.all(inhibitory.weight > 0)
    assert len(excitatory.pre) + len(inhibitory.pre) == np.count_nonzero(w)
    assert dense.fan_out().tolist() == [5] * 36


def _tiny_network(rng, k=0.332, S=186.0):
    """10x10 input -> 6 dense neurons, weights giving rates within the calibrated range
    (0-200 Hz); (k, S) of our 1 ms calibration at tau_syn 5 ms (docs/calibration.md), the
    timestep the SNN runs at."""
    w = rng.normal(0.02, 0.1, size=(100, 6))
    return Network("6fc", [Layer("dense", (1, 10, 10), (6,), w)], "noisy-softplus", k, S, 5.0,
                   LIFParams(), 1.0)


def test_tiny_network_on_nest_matches_the_ann_prediction(tmp_path, rng):
    network = _tiny_network(rng)
    path = tmp_path / "tiny.h5"
    network_file.write(network, path)
    images = rng.uniform(0.2, 1.0, size=(6, 10, 10)).astype(np.float32)
    digits = Digits(images, np.arange(6) % 10, "random")
    run = deploy(path, digits, DeployConfig(window=4000.0, threads=1, block=3, seed=5),
                 tmp_path / "run.h5", progress=False)
    recorded = run.output_counts / 4.0
    predicted = predict_rates(network, images.reshape(6, -1))[-1]
    firing = predicted > 10.0
    assert firing.sum() >= 12
    # Noisy Softplus with the calibrated (k, S): measured within 12 Hz RMS of the prediction
    # (Poisson input over 4 s leaves about 3-5 Hz of sampling noise per neuron).
    rms = np.sqrt(np.mean((recorded[firing] - predicted[firing]) ** 2))
    assert rms < 12.0, (rms, recorded, predicted)
    relu = predict_rates(network, images.reshape(6, -1), activation="relu")[-1]
    assert rms < np.sqrt(np.mean((recorded[firing] - relu[firing]) ** 2))


def test_run_file_contents_and_no_overwrite(tmp_path, rng):
    network = _tiny_network(rng)
    network_file.write(network, tmp_path / "tiny.h5")
    digits = Digits(rng.uniform(0, 1, (3, 10, 10)).astype(np.float32), np.array([0, 1, 2]), "r")
    deploy(tmp_path / "tiny.h5", digits, DeployConfig(window=200.0, threads=1),
           tmp_path / "run.h5", progress=False)
    run = run_file.read(tmp_path / "run.h5")
    assert run.output_counts.shape == (3, 6) and run.input_counts.shape == (3, 100)
    assert run.fan_out[-1].tolist() == [np.count_nonzero(row) for row in network.layers[0].weight]
    assert run.fan_out[0].tolist() == [0] * 6
    assert run.attrs["backend"] == "nest" and run.attrs["window_ms"] == 200.0
    evaluation = run.attrs["evaluation"]
    classified = int(np.sum(run.output_counts.max(axis=1) > 0))
    assert np.asarray(evaluation["confusion"]).sum() == classified
    assert evaluation["accuracy"] == pytest.approx(
        np.mean(np.where(run.output_counts.max(axis=1) > 0,
                         run.output_counts.argmax(axis=1), -1) == run.labels))
    assert run.output_counts_by_time.shape == (3, 20, 6)
    np.testing.assert_array_equal(run.output_counts_by_time[:, -1], run.output_counts)
    # Input spikes generated per image: mean close to 100 Hz x pixel x 0.2 s.
    expected = digits.images.reshape(3, -1) * 20.0
    assert abs(run.input_counts.sum() - expected.sum()) < 4 * np.sqrt(expected.sum())
    with pytest.raises(RunFileExistsError, match="never overwritten"):
        deploy(tmp_path / "tiny.h5", digits, DeployConfig(window=200.0), tmp_path / "run.h5",
               progress=False)


def test_bad_images_and_settings(tmp_path, rng):
    network_file.write(_tiny_network(rng), tmp_path / "tiny.h5")
    wrong_size = Digits(np.zeros((2, 28, 28), np.float32), np.array([0, 1]), "x")
    with pytest.raises(ParameterError, match="do not fit the network's input"):
        deploy(tmp_path / "tiny.h5", wrong_size, DeployConfig(), tmp_path / "a.h5")
    too_bright = Digits(np.full((2, 10, 10), 2.0, np.float32), np.array([0, 1]), "x")
    with pytest.raises(ParameterError, match=r"pixels must lie in \[0, 1\]"):
        deploy(tmp_path / "tiny.h5", too_bright, DeployConfig(), tmp_path / "a.h5")
    with pytest.raises(Exception, match="unknown backend 'loihi'"):
        DeployConfig(backend="loihi")
    with pytest.raises(ParameterError, match=r"window: must be > 0 ms \(got 0\)"):
        DeployConfig(window=0.0)
    assert not (tmp_path / "a.h5").exists()


def test_deploy_cli_bad_files(tmp_path, rng, capsys):
    good = tmp_path / "good.h5"
    network_file.write(_tiny_network(rng), good)
    nan = tmp_path / "nan.h5"
    nan.write_bytes(good.read_bytes())
    with h5py.File(nan, "r+") as f:
        f["layers/0/weight"][0, 0] = np.inf
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = [1]
    for path, message in ((nan, "weights contain NaN or inf"),
                          (foreign, "not a lifresponse network file"),
                          (tmp_path / "absent.h5", "no such file")):
        assert main(["deploy", str(path), "--images", "2", "--out",
                     str(tmp_path / "run.h5")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert main(["deploy", str(good), "--backend", "loihi", "--out",
                 str(tmp_path / "run.h5")]) == 2
    assert "unknown backend 'loihi'" in capsys.readouterr().err
    assert not (tmp_path / "run.h5").exists()
    with pytest.raises(FileFormatError):
        run_file.read(good)


def test_spike_recorder_clear_forgets_what_was_read():
    from lifresponse import backends

    backend = backends.get("nest")
    backend.start(timestep=1.0, threads=1, seed=3)
    sim = backend.sim
    with backends.quiet():
        sim.Population(5, sim.IF_curr_exp(i_offset=3.0))  # NEST ids of `cells` start at 6
        cells = sim.Population(3, sim.IF_curr_exp(i_offset=[1.0, 2.0, 3.0]))
        recorder = backend.spike_recorder(cells)
        sim.run(100.0)
        first_cells, first_times = recorder.read(clear=True)
        sim.run(100.0)
        cells_again, times = recorder.read(clear=True)
        counts_after_clear = recorder.counts()
        sim.end()
    assert len(first_times) > 3 and first_times.max() <= 100.0
    assert abs(len(times) - len(first_times)) <= 1 and times.min() > 100.0
    assert counts_after_clear.tolist() == [0, 0, 0]
    # cells in population order: a larger current fires more often
    per_cell = np.bincount(first_cells, minlength=3)
    assert per_cell[0] < per_cell[1] < per_cell[2]
    assert per_cell.tolist() == np.bincount(cells_again, minlength=3).tolist()
