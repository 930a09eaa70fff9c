"""SIGKILL, then --resume: a calibration sweep and a training run with training noise end
bit for bit as uninterrupted runs do (the deployment's test is in test_distributed.py)."""

import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch

from lifresponse.calibration import results
from lifresponse.cli import main
from lifresponse.datasets import load_mnist
from lifresponse.networks import network_file


def _kill_when(argv, ready, timeout=240.0):
    """Run ``lifresponse argv`` in a subprocess and SIGKILL it as soon as ``ready()``;
    returns the exit status (-9 when it was killed, as it must be)."""
    code = f"import sys; from lifresponse.cli import main; sys.exit(main({argv!r}))"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    return process.wait()


def test_sigkilled_sweep_resumed_equals_an_uninterrupted_one(tmp_path):
    sweep = ["calibrate", "--means", "0:0.8:0.2", "--stds", "0.4,1.0", "--trials", "3",
             "--duration", "10000", "--max-cells", "6", "--threads", "1", "--quiet"]
    killed, whole = tmp_path / "killed.h5", tmp_path / "whole.h5"
    partial = killed.with_name(killed.name + ".partial")

    def one_chunk_kept():
        try:
            with h5py.File(partial, "r") as f:
                return int(np.sum(~np.isnan(f["chunk_wall_s"][()]))) >= 1
        except (OSError, KeyError):  # not written yet, or being written: keep waiting
            return False

    assert _kill_when([*sweep, "--out", str(killed)], one_chunk_kept) == -signal.SIGKILL
    assert partial.exists() and not killed.exists()
    assert main([*sweep, "--out", str(killed), "--resume"]) == 0
    assert main([*sweep, "--out", str(whole)]) == 0
    a, b = results.read(killed), results.read(whole)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not partial.exists()


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    """800 bundled digits of every class, as an npz file."""
    digits = load_mnist()
    pick = np.random.default_rng(0).permutation(len(digits))[:800]
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, images=np.round(digits.images[pick] * 255).astype(np.uint8),
             labels=digits.labels[pick])
    return path


def test_sigkilled_training_with_noise_resumed_equals_an_uninterrupted_one(digits_file,
                                                                           tmp_path):
    train = ["train", "--arch", "4c5-4s-10fc", "--activation", "noisy-softplus", "--epochs",
             "5", "--train-noise", "30", "--validation", "100", "--threads", "1", "--data",
             str(digits_file), "--quiet"]
    killed, whole = tmp_path / "killed.h5", tmp_path / "whole.h5"
    checkpoint = killed.with_name(killed.name + ".ckpt")
    assert _kill_when([*train, "--out", str(killed)], checkpoint.exists) == -signal.SIGKILL
    assert checkpoint.exists() and not killed.exists()
    epochs_done = torch.load(checkpoint, weights_only=False)["epoch"]
    assert 1 <= epochs_done < 5
    assert main([*train, "--out", str(killed), "--resume"]) == 0
    assert main([*train, "--out", str(whole)]) == 0
    a, b = network_file.read(killed), network_file.read(whole)
    for x, y in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(x.weight, y.weight)
    for key in ("loss", "validation_accuracy"):  # epoch_seconds are wall times
        assert a.provenance["history"][key] == b.provenance["history"][key]
    assert not checkpoint.exists()
