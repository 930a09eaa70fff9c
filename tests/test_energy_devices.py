"""Devices with sourced constants, counts by hand, the accuracy-energy trade-off, and
sPyNNaker's own energy report."""

import json

import pytest
from test_energy import tiny_run

from lifresponse import workflow
from lifresponse.backends.spinnaker.energy_report import parse_energy_report
from lifresponse.cli import main
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.hardware import devices
from lifresponse.hardware.activity import run_activity
from lifresponse.hardware.device_energy import ann_energy, snn_energy, tradeoff
from lifresponse.networks import run_file


def test_built_in_devices_carry_their_sources():
    table = {d.name: d for d in devices.BUILT_IN}
    assert table["spinnaker-paper"].joules_per_synaptic_event == 8e-9
    assert table["spinnaker-paper"].joules_per_neuron_update == 0.0
    assert (table["spinnaker1"].joules_per_synaptic_event,
            table["spinnaker1"].joules_per_neuron_update) == (13.3e-9, 26e-9)
    assert (table["spinnaker2"].joules_per_synaptic_event,
            table["spinnaker2"].joules_per_neuron_update) == (450e-12, 2.19e-9)
    assert "1903.08941" in table["spinnaker2"].source and "Davies" in table["loihi"].source
    assert not table["cpu"].spiking and not table["gpu"].spiking
    assert all(d.source and 2000 < d.year < 2030 for d in devices.BUILT_IN)


def test_counts_and_energy_by_hand(tmp_path):
    run = run_file.read(tiny_run(tmp_path))
    activity = run_activity(run)
    inp, hidden, out = activity.layers
    # inputs spike 7, 2, 3 times with fan-out 2 each; hidden 3 and 3 times with fan-out 1
    assert (inp.spikes, inp.synaptic_events, inp.neuron_updates) == (12, 24, 0)
    assert (hidden.synaptic_events, out.synaptic_events) == (6, 0)
    # 2 images x 20 ms at 1 ms = 40 steps; 2 and 1 neurons
    assert (hidden.neuron_updates, out.neuron_updates) == (80, 40)
    # hidden counts [[3, 1], [0, 2]] in 20 ms windows: mean 1.5 spikes = 75 Hz, peak 150 Hz
    assert hidden.mean_rate_hz == pytest.approx(75.0) and hidden.peak_rate_hz == 150.0
    # the ANN: 6 connections into the hidden layer, 2 into the output (ReLU: one MAC each)
    assert (hidden.macs_per_inference, out.macs_per_inference) == (6, 2)
    assert activity.ann_neurons_per_inference == 3
    table = {d.name: d for d in devices.BUILT_IN}
    spinnaker1 = snn_energy(activity, table["spinnaker1"])
    assert spinnaker1["joules"] == pytest.approx(30 * 13.3e-9 + 120 * 26e-9)
    assert spinnaker1["watts"] == pytest.approx(spinnaker1["joules"] / 0.04)
    assert spinnaker1["joules_per_image"] == pytest.approx(spinnaker1["joules"] / 2)
    cpu = ann_energy(activity, table["cpu"])
    assert cpu["joules_per_inference"] == pytest.approx(8 * 8.6e-9 + 3 * 8.6e-9)


def test_tradeoff_from_events_by_time(tmp_path):
    run = run_file.read(tiny_run(tmp_path))
    activity = run_activity(run)
    row = tradeoff(run, activity, [d for d in devices.BUILT_IN if d.name == "spinnaker1"],
                   at_ms=10.0)["devices"][0]
    # first 10 ms: events 20 + 5 over 2 images, updates 3 neurons x 10 steps per image
    expected_10 = 12.5 * 13.3e-9 + 30 * 26e-9
    assert row["joules_per_image"][0] == pytest.approx(expected_10)
    assert row["joules_per_image"][1] == pytest.approx(15 * 13.3e-9 + 60 * 26e-9)
    assert row["events_measured_by_time"]
    # accuracy 0.2 then 0.5 (final): 98 % of it is first reached at 20 ms
    assert row["reach"]["0.98"]["time_ms"] == 20.0
    assert row["at"]["watts"] == pytest.approx(expected_10 / 0.01)


def test_device_file_errors_name_file_device_and_field(tmp_path):
    path = tmp_path / "devices.json"
    good = {"name": "board", "spiking": True, "joules_per_synaptic_event": 1e-9,
            "joules_per_neuron_update": 2e-9, "source": "ours", "year": 2026}
    for change, message in (
            ({"joules_per_neuron_update": -1e-9},
             "device 1: board: joules_per_neuron_update must be a number from 0 to 1 J"),
            ({"source": None, "extra": 1}, "unknown extra"),
            ({"year": "2026"}, "year must be a whole number")):
        row = {k: v for k, v in {**good, **change}.items() if v is not None}
        path.write_text(json.dumps({"devices": [row]}))
        with pytest.raises(FileFormatError, match=message):
            devices.read_devices(path)
    path.write_text(json.dumps({"devices": [{k: v for k, v in good.items() if k != "year"}]}))
    with pytest.raises(FileFormatError, match=r"devices.json: device 1 \(board\): missing year"):
        devices.read_devices(path)
    with pytest.raises(ParameterError, match="unknown device 'tpu'; known are spinnaker-paper"):
        devices.select("spinnaker1,tpu")


def test_a_device_from_a_toml_file_in_the_report(tmp_path, capsys):
    path = tmp_path / "devices.toml"
    path.write_text('[[devices]]\nname = "my-board"\nspiking = true\n'
                    'joules_per_synaptic_event = 1e-9\njoules_per_neuron_update = 0.0\n'
                    'source = "a measurement"\nyear = 2026\n')
    run = tiny_run(tmp_path)
    report = workflow.energy(run, hardware="my-board,gpu", devices=path)
    assert [d["name"] for d in report["devices"]] == ["my-board", "gpu"]
    assert report["snn_energy"][0]["joules"] == pytest.approx(30e-9)
    assert report["ann_energy"][0]["joules_per_inference"] == pytest.approx(11 * 0.3e-9)
    assert main(["energy", str(run), "--hardware", "loihi,tpu", "--out",
                 str(tmp_path / "r")]) == 2
    assert "--hardware: unknown device 'tpu'" in capsys.readouterr().err


def test_spynnakers_own_energy_report_is_read_and_shown(tmp_path):
    """A report written by sPyNNaker's own writer (spinn_front_end_common's EnergyReport), as
    a board run leaves it; no board was used here."""
    import io

    from spinn_front_end_common.utilities.report_functions.energy_report import EnergyReport
    from spinn_front_end_common.utilities.utility_objs import PowerUsed

    power = PowerUsed(n_chips=48, n_cores=800, exec_time_s=3.0, mapping_time_s=1.0,
                      loading_time_s=2.0, saving_time_s=0.5, other_time_s=0.25,
                      exec_energy_j=60.0, exec_energy_cores_j=20.0, exec_energy_boards_j=55.0,
                      mapping_energy_j=5.0, loading_energy_j=4.0, saving_energy_j=1.0,
                      other_energy_j=0.5, n_active_chips=5, n_active_cores=53, n_boards=1,
                      n_frames=1)
    text = io.StringIO()
    EnergyReport._write_summary_report(text, power)
    parsed = parse_energy_report(text.getvalue())
    assert (parsed["n_chips"], parsed["n_active_cores"], parsed["n_boards"]) == (48, 53, 1)
    assert parsed["exec_energy_j"] == 60.0 and parsed["exec_time_s"] == 3.0
    assert parsed["total_energy_j"] == pytest.approx(power.total_energy_j)
    run = run_file.read(tiny_run(tmp_path))
    run.attrs["spinnaker_energy_report"] = text.getvalue()
    run_file.write(run, tmp_path / "board_run.h5")
    report = workflow.energy(tmp_path / "board_run.h5", out=tmp_path / "report")
    assert report["spynnaker_energy_report"]["exec_energy_j"] == 60.0
    assert "Measured by sPyNNaker on the board" in (tmp_path / "report" / "report.md").read_text()
    with pytest.raises(FileFormatError, match="not an sPyNNaker energy report"):
        parse_energy_report("Something else")
