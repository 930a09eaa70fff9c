"""(k, S) fitting on synthetic and simulated data, calibration.json, the fit/calibrate CLI."""

import json

import h5py
import numpy as np
import pytest

from lifresponse.activations import noisy_softplus
from lifresponse.calibration import results
from lifresponse.calibration.drives import NoisyCurrentDrive
from lifresponse.calibration.fit import (
    FitData,
    FitError,
    fit_noisy_softplus,
    fit_relu,
    fit_softplus,
    read_calibration,
)
from lifresponse.calibration.sweep import SweepConfig, run_sweep
from lifresponse.cli import main
from lifresponse.errors import FileFormatError


def _synthetic(rng, k=0.3, S=201.0, noise=2.0):
    m, s = (a.ravel() for a in np.meshgrid(np.linspace(-0.5, 1.0, 31), [0.2, 0.5, 1.0]))
    m, s = np.repeat(m, 10), np.repeat(s, 10)
    rate = S * noisy_softplus(m, s, k) + rng.normal(0.0, noise, m.size)
    return FitData(m, s, rate)


def test_recovers_known_parameters_with_honest_errors(rng):
    data = _synthetic(rng)
    fit = fit_noisy_softplus(data)
    assert fit.params["k"] == pytest.approx(0.3, abs=4 * fit.stderr["k"])
    assert fit.params["S"] == pytest.approx(201.0, abs=4 * fit.stderr["S"])
    assert 0 < fit.stderr["k"] < 0.01 and 0 < fit.stderr["S"] < 1.0
    assert fit.rmse == pytest.approx(2.0, rel=0.1)
    assert fit.r2 > 0.99
    assert fit.rmse < fit_relu(data).rmse and fit.rmse < fit_softplus(data).rmse


def test_relu_and_softplus_fits_are_least_squares(rng):
    m = np.linspace(-0.5, 1.0, 50)
    data = FitData(m, np.full_like(m, 0.5), 150.0 * np.maximum(m, 0) + rng.normal(0, 1, 50))
    relu_fit = fit_relu(data)
    closed_form = np.sum(np.maximum(m, 0) * data.rate) / np.sum(np.maximum(m, 0) ** 2)
    assert relu_fit.params["S"] == pytest.approx(closed_form, rel=1e-6)
    softplus_fit = fit_softplus(FitData(m, np.full_like(m, 0.5),
                                        180.0 * noisy_softplus(m, 0.09, 1.0)))
    assert softplus_fit.params["c"] == pytest.approx(0.09, rel=1e-4)
    assert softplus_fit.params["S"] == pytest.approx(180.0, rel=1e-4)


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "rates.h5"
    config = SweepConfig(NoisyCurrentDrive(1.0), means=np.arange(-0.5, 1.01, 0.1),
                         stds=[0.2, 0.6, 1.0], trials=3, duration=3000.0, seed=1)
    return run_sweep(config, out, progress=False)


def test_fit_command_writes_calibration_and_figures(small_sweep, tmp_path, capsys):
    out = tmp_path / "calibration.json"
    assert main(["fit", str(small_sweep), "--out", str(out), "--plot",
                 str(tmp_path / "fig" / "fit.png")]) == 0
    printed = capsys.readouterr().out
    for model in ("noisy-softplus", "relu", "softplus", "siegert"):
        assert model in printed
    record = read_calibration(out)
    assert 0.05 < record["k"] < 0.6 and 150 < record["S"] < 250
    assert record["tau_syn_ms"] == 5.0 and record["timestep_ms"] == 1.0
    assert record["provenance"]["backend"] == "nest" and len(
        record["provenance"]["rates_sha256"]) == 64
    rmse = {c["model"]: c["rmse"] for c in record["comparison"]}
    assert rmse["noisy-softplus"] < rmse["relu"] and rmse["noisy-softplus"] < rmse["softplus"]
    for stem in ("fit", "fit_rates", "fit_residuals"):
        for suffix in (".png", ".svg"):
            assert (tmp_path / "fig" / f"{stem}{suffix}").stat().st_size > 5000


def test_calibrate_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "rates.h5"
    argv = ["calibrate", "--drive", "poisson", "--tau-syn", "5", "--means", "-0.2:0.6:0.4",
            "--stds", "0.5", "--trials", "2", "--duration", "500", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    table = results.read(out)
    assert table.counts.shape == (3, 2) and table.attrs["drive"]["tau_syn"] == 5.0
    assert main(argv) == 2
    assert "never overwritten" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["calibrate", "--means", "1:0:1"], "--means: the grid '1:0:1' is empty"),
        (["calibrate", "--stds", "-0.5"], "--stds: must be >= 0"),
        (["calibrate", "--trials", "0"], "--trials: must be >= 1"),
        (["calibrate", "--duration", "0"], "--duration: must be > 0"),
        (["calibrate", "--backend", "brian"], "unknown backend 'brian'"),
        (["calibrate", "--weight", "0.05", "--means", "1.0", "--stds", "0.1"],
         "cannot be produced by Poisson input"),
    ],
)
def test_calibrate_bad_input_is_one_message(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "r.h5")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r.h5").exists()


def test_fit_refuses_unusable_files(tmp_path, small_sweep, capsys):
    few = tmp_path / "few.h5"
    run_sweep(SweepConfig(NoisyCurrentDrive(1.0), means=[0.2, 0.5], stds=[0.5], trials=2,
                          duration=200.0), few, progress=False)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "something-else"
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(small_sweep.read_bytes()[:2000])
    for path, message in ((few, "only 4 usable"), (foreign, "not a lifresponse rates file"),
                          (truncated, "not a readable HDF5 file")):
        assert main(["fit", str(path), "--out", str(tmp_path / "c.json")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "c.json").exists()


def test_fit_refuses_a_run_without_spikes(tmp_path, small_sweep):
    copy = tmp_path / "virtual.h5"
    copy.write_bytes(small_sweep.read_bytes())
    with h5py.File(copy, "r+") as f:
        f.attrs["spikes_returned"] = False
        f.attrs["note"] = "virtual board"
    with pytest.raises(FitError, match="no measured spikes"):
        FitData.from_table(results.read(copy))


def test_read_calibration_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError, match="not JSON"):
        read_calibration(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(FileFormatError, match="not a lifresponse calibration file"):
        read_calibration(bad)
    bad.write_text(json.dumps({"format": "lifresponse.calibration", "version": 1, "k": 0.3}))
    with pytest.raises(FileFormatError, match="missing 'S'"):
        read_calibration(bad)
    with pytest.raises(FileFormatError, match="no such file"):
        read_calibration(tmp_path / "absent.json")


def test_the_measured_response_is_judged_at_the_means_it_left_out():
    """Every other grid mean predicts the means between them, linearly: exact on a response
    linear in the mean, off by the chord's error on a curved one; fewer than 5 means, none."""
    from pathlib import Path

    from lifresponse.calibration.fit import measured_response
    from lifresponse.calibration.results import RateTable

    def table(means, rate):  # counts of 1 s trials, 3 per point, two stds
        stds = np.array([0.2, 0.4])
        point_mean, point_std = (a.ravel() for a in np.meshgrid(means, stds, indexing="ij"))
        counts = np.repeat(rate(point_mean, point_std)[:, None], 3, axis=1).round()
        return RateTable(means, stds, point_mean, point_std, counts.astype(np.int64),
                         np.ones(len(point_mean), bool), np.zeros(1),
                         {"duration_ms": 1000.0}, Path("grid"))

    means = np.linspace(-0.5, 1.0, 7)  # steps of 0.25
    linear = measured_response(table(means, lambda m, s: 100.0 + 100.0 * m + 10 * s))
    assert linear.model == "measured" and linear.rmse < 1e-9 and linear.r2 == 1.0
    # a parabola 1600 (m + 0.5)^2: the chord over 2 x 0.25 overshoots its midpoint by 1600 x 0.25^2
    curved = measured_response(table(means, lambda m, s: 1600.0 * (m + 0.5) ** 2))
    assert curved.rmse == pytest.approx(100.0)
    assert measured_response(table(means[:4], lambda m, s: 100.0 + 0 * m)) is None
