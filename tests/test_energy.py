"""Energy models by hand and against the paper's examples; the report; bad input."""

import json

import numpy as np
import pytest

from lifresponse.cli import main
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.hardware import energy
from lifresponse.hardware.report import run_energy
from lifresponse.networks import run_file
from lifresponse.networks.run_file import RunRecord


def test_paper_examples_exactly():
    # 8e6 synaptic events per second at 8 nJ -> 0.064 W; 10,000 images x 0.3 s -> 192 J.
    one_second = energy.event_energy({"all": np.array([8e6])}, {"all": np.array([1])}, 1.0, 1)
    assert one_second.watts == pytest.approx(0.064, rel=1e-12)
    rate = energy.predicted_event_energy({"all": np.array([8e6])}, {"all": np.array([1])},
                                         seconds_per_image=0.3, n_images=10000)
    assert rate.joules == pytest.approx(192.0, rel=1e-12)
    assert rate.watts == pytest.approx(0.064, rel=1e-12)
    big = energy.predicted_event_energy({"all": np.array([5.34e7])}, {"all": np.array([1])},
                                        seconds_per_image=1.0, n_images=10000)
    assert big.watts == pytest.approx(0.43, abs=0.005)
    assert big.joules == pytest.approx(4271.6, abs=1.0)  # the paper rounds 5.3395e7 events/s


def test_tiny_network_by_hand():
    # Two layers: 3 inputs spike 10, 0, 5 times with fan-outs 2, 2, 1; 2 hidden neurons spike
    # 4 and 6 times with fan-out 3 each; 2 images of 0.5 s.
    counts = {"input": np.array([[6, 0, 5], [4, 0, 0]]), "hidden": np.array([[4, 1], [0, 5]])}
    fan_out = {"input": np.array([2, 2, 1]), "hidden": np.array([3, 3])}
    result = energy.event_energy(counts, fan_out, duration_s=1.0, n_images=2, e_syn=1e-9)
    assert result.events_per_layer == {"input": 10 * 2 + 5 * 1, "hidden": 10 * 3}
    assert result.events == 55 and result.joules == pytest.approx(55e-9)
    assert result.joules_per_image == pytest.approx(27.5e-9)
    board = energy.board_energy(counts, fan_out, 1.0, 2, chips=1, cores=2, source="test")
    assert board.packets == 10 + 5 + 10
    assert board.joules == pytest.approx(0.35 + 2 * 0.034 + 25e-9)
    assert energy.estimate_cores([784, 3456, 10]) == (2, 4 + 14 + 1)  # 16 cores per chip


@pytest.mark.parametrize("e_syn", [0.0, -8e-9, float("nan")])
def test_bad_e_syn(e_syn):
    with pytest.raises(ParameterError, match="e_syn: must be > 0"):
        energy.check_e_syn(e_syn)


def tiny_run(tmp_path, with_hidden=True, returned=True):
    """A hand-made run file: 3 inputs -> 2 -> 1 neurons, 2 images x 20 ms at 1 ms."""
    evaluation = {"accuracy": 0.5, "time_ms": [10.0, 20.0], "accuracy_by_time": [0.2, 0.5]}
    counts = {0: np.array([[3, 1], [0, 2]], np.uint16), 1: np.array([[2], [1]], np.uint16)}
    if not with_hidden:
        del counts[0]
    record = RunRecord(
        {"window_ms": 20.0, "gap_ms": 0.0, "n_images": 2, "architecture": "2fc-1fc",
         "backend": "nest", "spikes_returned": returned, "note": "", "evaluation": evaluation,
         "timestep_ms": 1.0, "activation": "relu"},
        np.array([0, 1]), counts, {-1: np.array([2, 2, 2]), 0: np.array([1, 1]),
                                   1: np.array([0])},
        np.array([[5, 0, 1], [2, 2, 2]], np.uint16), np.zeros((2, 2, 1), np.uint32),
        np.array([10.0, 20.0]),
        events_by_time={-1: np.array([20.0, 4.0]), 0: np.array([5.0, 1.0]),
                        1: np.array([0.0, 0.0])})
    path = tmp_path / "run.h5"
    run_file.write(record, path)
    return path


def test_energy_command_writes_the_report(tmp_path, capsys):
    path = tiny_run(tmp_path)
    assert main(["energy", str(path), "--out", str(tmp_path / "report"), "--e-syn", "1e-9"]) == 0
    report = json.loads((tmp_path / "report" / "energy.json").read_text())
    events = report["synaptic_event_model"]
    assert events["events_per_layer"] == {"input": 24.0, "layer 0": 6.0, "layer 1": 0.0}
    assert events["joules"] == pytest.approx(30e-9)
    assert events["watts"] == pytest.approx(30e-9 / 0.04)
    assert report["board_model"]["cores"] == 3 and report["board_model"]["chips"] == 1
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "Board-level model" in html
    assert "What these estimates leave out" in html and "Hoeppner et al. 2019" in html
    assert "synaptic-event model" in capsys.readouterr().out
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"chips": 2, "cores": 24}))
    assert main(["energy", str(path), "--out", str(tmp_path / "r2"), "--mapping",
                 str(mapping)]) == 0
    assert json.loads((tmp_path / "r2" / "energy.json").read_text())["board_model"][
        "cores"] == 24


def test_energy_bad_input(tmp_path, capsys):
    no_hidden = tiny_run(tmp_path, with_hidden=False)
    assert main(["energy", str(no_hidden), "--out", str(tmp_path / "r")]) == 2
    assert "no spike counts for layer 0" in capsys.readouterr().err
    (tmp_path / "foreign.h5").write_bytes(b"not hdf5 at all")
    assert main(["energy", str(tmp_path / "foreign.h5"), "--out", str(tmp_path / "r")]) == 2
    assert "not a readable HDF5 file" in capsys.readouterr().err
    (tmp_path / "g").mkdir()
    good = tiny_run(tmp_path / "g")
    assert main(["energy", str(good), "--e-syn", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--e-syn: must be > 0" in capsys.readouterr().err
    virtual_dir = tmp_path / "v"
    virtual_dir.mkdir()
    virtual = tiny_run(virtual_dir, returned=False)
    with pytest.raises(FileFormatError, match="no measured spikes"):
        run_energy(run_file.read(virtual), 8e-9, None)


def test_energy_estimate_from_the_ann_before_deploying(tmp_path, capsys):
    from lifresponse.neuron import LIFParams
    from lifresponse.training import trainer

    model = trainer.make_model("4c5-4s-10fc", "noisy-softplus", 0.3, 201.0, 5.0, LIFParams(), 0)
    trainer.export(model, tmp_path / "net.h5", LIFParams(), 1.0, {})
    assert main(["energy", "--network", str(tmp_path / "net.h5"), "--images", "5"]) == 0
    printed = capsys.readouterr().out
    assert "predicted from the ANN" in printed and "input:" in printed
    events_per_s = float(printed.split("ms: ")[1].split(" synaptic")[0])
    assert events_per_s > 0
    assert main(["energy"]) == 2
    assert "give a run file" in capsys.readouterr().err
