"""Calibration sweeps on real NEST (small grids), their results file, resume, bad input."""

import dataclasses

import h5py
import numpy as np
import pytest

from lifresponse.calibration import results, sweep
from lifresponse.calibration.drives import DCDrive, NoisyCurrentDrive, PoissonCurrentDrive
from lifresponse.calibration.sweep import SweepConfig, SweepFileError, run_sweep
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.response import constant_current_rate
from lifresponse.statistics import UnreachableTargetError


def _config(drive, **kwargs):
    values = dict(means=[-0.2, 0.2, 0.6], stds=[0.3, 0.8], trials=3, duration=2000.0)
    values.update(kwargs)
    return SweepConfig(drive, **values)


def test_dc_sweep_reproduces_eq2_in_the_right_cells(tmp_path):
    """Every point's trials land in that point's row: DC rates equal eq. 2 point by point."""
    means = np.array([-0.1, 0.15, 0.3, 0.5, 0.8])
    config = _config(DCDrive(), means=means, stds=[0.0], timestep=0.01, duration=2000.0)
    table = results.read(run_sweep(config, tmp_path / "dc.h5", progress=False))
    assert table.attrs["complete"] and table.attrs["spikes_returned"]
    predicted = constant_current_rate(table.point_mean)
    rates = table.rates
    # Counting spikes in a 2 s window: within one spike (0.5 Hz) plus 1 % (grid rounding).
    for trial in range(config.trials):
        np.testing.assert_allclose(rates[:, trial], predicted, rtol=0.01, atol=0.5)


def test_noisy_current_trials_are_independent_and_seeded(tmp_path):
    config = _config(NoisyCurrentDrive(1.0), seed=3)
    first = results.read(run_sweep(config, tmp_path / "a.h5", progress=False))
    again = results.read(run_sweep(config, tmp_path / "b.h5", progress=False))
    other = results.read(run_sweep(_config(NoisyCurrentDrive(1.0), seed=4), tmp_path / "c.h5",
                                   progress=False))
    np.testing.assert_array_equal(first.counts, again.counts)
    assert not np.array_equal(first.counts, other.counts)
    firing = first.counts[first.point_mean > 0]
    assert np.all(firing > 0)
    assert np.any(firing.min(axis=1) != firing.max(axis=1)), "trials must not be copies"
    assert first.attrs["drive"] == {"kind": "noisy-current", "dt_noise": 1.0}
    assert first.attrs["backend"] == "nest" and "nest-simulator 3" in first.attrs[
        "backend_version"]
    assert first.attrs["spike_precision"] == "on_grid"


def test_poisson_sweep_rates_rise_with_the_mean(tmp_path):
    config = _config(PoissonCurrentDrive(tau_syn=5.0), means=[-0.3, 0.1, 0.4, 0.8], stds=[0.5])
    table = results.read(run_sweep(config, tmp_path / "p.h5", progress=False))
    mean_rate = np.nanmean(table.rates, axis=1)
    assert np.all(np.diff(mean_rate) > 0)
    assert table.attrs["neuron"]["tau_syn_E"] == 5.0
    assert 40.0 < mean_rate[-1] < 250.0


def test_chunks_and_resume_after_interruption(tmp_path, monkeypatch):
    config = _config(NoisyCurrentDrive(1.0), max_cells_per_chunk=6)  # 2 points per chunk
    assert len(config.chunks()) == 3
    whole = results.read(run_sweep(config, tmp_path / "whole.h5", progress=False))

    out = tmp_path / "cut.h5"
    real_chunk = sweep._simulate_chunk
    calls = []

    def interrupted_on_third_chunk(cfg, chunk, points, bar):
        calls.append(chunk)
        if chunk == 2:
            raise KeyboardInterrupt
        return real_chunk(cfg, chunk, points, bar)

    monkeypatch.setattr(sweep, "_simulate_chunk", interrupted_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, out, progress=False)
    partial = results.read(sweep.partial_path(out))
    assert not out.exists() and not partial.attrs["complete"]
    assert partial.done.tolist() == [True, True, True, True, False, False]
    with pytest.raises(SweepFileError, match="--resume"):
        run_sweep(config, out, progress=False)
    # a partial file is never fitted as if it were a result, unless asked, and then it says so
    from lifresponse import workflow
    from lifresponse.errors import FileFormatError

    with pytest.raises(FileFormatError, match=r"unfinished sweep \(4 of 6 grid points"):
        workflow.fit(sweep.partial_path(out), out=tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()
    fitted = workflow.fit(sweep.partial_path(out), partial=True)
    assert fitted.record["partial"] == {"points_simulated": 4, "points": 6}
    with pytest.raises(SweepFileError, match="threads"):  # chunks of other threads differ
        run_sweep(dataclasses.replace(config, threads=2), out, resume=True, progress=False)

    monkeypatch.setattr(sweep, "_simulate_chunk", real_chunk)
    resumed = results.read(run_sweep(config, out, resume=True, progress=False))
    assert resumed.attrs["complete"] and not sweep.partial_path(out).exists()
    np.testing.assert_array_equal(resumed.counts, whole.counts)


def test_finished_file_is_never_overwritten(tmp_path):
    out = tmp_path / "r.h5"
    run_sweep(_config(DCDrive(), stds=[0.0], duration=200.0), out, progress=False)
    before = out.read_bytes()
    with pytest.raises(SweepFileError, match="never overwritten"):
        run_sweep(_config(DCDrive(), stds=[0.0], duration=300.0), out, progress=False)
    assert out.read_bytes() == before


def test_force_replaces_a_finished_file_from_the_command_line(tmp_path, capsys):
    """``calibrate --force`` replaces a finished sweep (it used to be refused every time)."""
    from lifresponse.cli import main

    argv = ["calibrate", "--drive", "dc", "--means", "0.5:1.0:0.5", "--stds", "0",
            "--trials", "1", "--duration", "100", "--quiet", "--out", str(tmp_path / "r.h5")]
    assert main(argv) == 0
    assert main(argv) == 2 and "never overwritten" in capsys.readouterr().err
    assert main([*argv, "--duration", "200", "--force"]) == 0
    assert results.read(tmp_path / "r.h5").duration_ms == 200.0


def test_resume_refuses_a_different_sweep(tmp_path):
    out = tmp_path / "r.h5"
    config = _config(DCDrive(), stds=[0.0], duration=200.0)
    results.create(sweep.partial_path(out), config.means, config.stds, config.trials, 1,
                   config.header())
    other = _config(DCDrive(), stds=[0.0], duration=400.0)
    with pytest.raises(SweepFileError, match="duration_ms: 200.0 there, 400.0 now"):
        run_sweep(other, out, resume=True, progress=False)
    wider = _config(DCDrive(), stds=[0.0], duration=200.0, means=[0.5, 1.0, 1.5])
    with pytest.raises(SweepFileError,
                       match=r"means: \d+ values .* there, 3 values 0.5 .. 1.5 now"):
        run_sweep(wider, out, resume=True, progress=False)


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"means": []}, ParameterError, "grid is empty"),
        ({"stds": [-0.1]}, ParameterError, "stds: must be >= 0"),
        ({"trials": 0}, ParameterError, "trials: must be >= 1"),
        ({"duration": 0.0}, ParameterError, "duration: must be > 0"),
        ({"seed": 0}, ParameterError, "seed: must be in 1"),
        ({"backend": "brian"}, Exception, "unknown backend 'brian'"),
    ],
)
def test_bad_sweep_configuration(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        _config(NoisyCurrentDrive(1.0), **kwargs)


def test_unreachable_poisson_points_are_reported():
    with pytest.raises(UnreachableTargetError, match=r"\(m=0.8, s=0.1\)"):
        _config(PoissonCurrentDrive(5.0, weight=0.05), means=[0.0, 0.8], stds=[0.1])
    with pytest.raises(UnreachableTargetError, match="s=0"):
        _config(PoissonCurrentDrive(5.0), stds=[0.0, 0.5])


def test_dc_drive_refuses_noise_and_noise_interval_must_fit_the_step():
    with pytest.raises(ParameterError, match="dc drive has no noise"):
        _config(DCDrive(), stds=[0.5])
    with pytest.raises(ParameterError, match="multiple of the timestep"):
        _config(NoisyCurrentDrive(1.5), timestep=1.0)


def test_reader_rejects_truncated_foreign_and_newer_files(tmp_path):
    good = tmp_path / "good.h5"
    run_sweep(_config(DCDrive(), stds=[0.0], duration=100.0), good, progress=False)

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:1500])
    with pytest.raises(FileFormatError, match="truncated.h5: not a readable HDF5 file"):
        results.read(truncated)

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(FileFormatError, match="foreign.h5: not a lifresponse rates file"):
        results.read(foreign)

    newer = tmp_path / "newer.h5"
    newer.write_bytes(good.read_bytes())
    with h5py.File(newer, "r+") as f:
        f.attrs["version"] = 99
    with pytest.raises(FileFormatError, match="version 99"):
        results.read(newer)

    gutted = tmp_path / "gutted.h5"
    gutted.write_bytes(good.read_bytes())
    with h5py.File(gutted, "r+") as f:
        del f["counts"]
    with pytest.raises(FileFormatError, match="missing counts"):
        results.read(gutted)

    with pytest.raises(FileFormatError, match="no such file"):
        results.read(tmp_path / "absent.h5")


def test_a_reader_of_the_partial_file_does_not_stop_the_sweep(tmp_path):
    """Another process that has the partial file open (someone watching the sweep) holds
    HDF5's shared lock; the sweep's next chunk is written all the same."""
    import subprocess
    import sys

    from lifresponse.calibration import results

    partial = tmp_path / "rates.h5.partial"
    results.create(partial, np.array([0.0, 0.5]), np.array([0.4]), 2, 1,
                   {"duration_ms": 1000.0})
    hold = (f"import h5py, time; f = h5py.File({str(partial)!r}, 'r'); print('open', "
            "flush=True); time.sleep(30)")
    reader = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        results.write_chunk(partial, 0, np.array([0, 1]), np.full((2, 2), 7), 1.0, True)
    finally:
        reader.kill()
        reader.wait()
    with h5py.File(partial, "r") as f:
        assert (f["counts"][()] == 7).all() and f["done"][()].all()


def test_workers_left_without_a_chunk_are_warned_of_with_the_max_cells_that_fills_them(caplog):
    """6 points x 3 trials in one chunk of 18 cells: two workers would leave one idle; at most
    9 cells per chunk (3 points) makes two chunks."""
    config = _config(PoissonCurrentDrive(tau_syn=5.0), workers=2)
    assert len(config.chunks()) == 1
    with caplog.at_level("WARNING", logger="lifresponse.calibration.sweep"):
        sweep.warn_idle_workers(config)
    assert "the sweep has 1 chunk(s) for 2 workers: 1 of them will idle. --max-cells 9 or fewer" \
        in caplog.text
    assert len(dataclasses.replace(config, max_cells_per_chunk=9).chunks()) == 2
    caplog.clear()
    for enough in (dataclasses.replace(config, max_cells_per_chunk=9),
                   dataclasses.replace(config, scheduler="tcp://elsewhere:8786")):
        sweep.warn_idle_workers(enough)
    assert caplog.text == ""
