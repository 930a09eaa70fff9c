"""sPyNNaker on a virtual board: the sweep maps, and the output says no spikes came back."""

import numpy as np
import pytest

from lifresponse.calibration import results
from lifresponse.calibration.drives import NoisyCurrentDrive, PoissonCurrentDrive
from lifresponse.calibration.fit import FitData, FitError
from lifresponse.calibration.sweep import VIRTUAL_BOARD_NOTE, SweepConfig, run_sweep
from lifresponse.errors import ParameterError

pytestmark = pytest.mark.spinnaker


@pytest.mark.parametrize("drive", [NoisyCurrentDrive(1.0), PoissonCurrentDrive(5.0)])
def test_sweep_maps_on_a_virtual_board(spinnaker_virtual_board, drive):
    config = SweepConfig(drive, means=[0.0, 0.4], stds=[0.5, 1.0], trials=3, duration=100.0,
                         backend="spinnaker")
    out = run_sweep(config, spinnaker_virtual_board / "rates.h5", progress=False)
    table = results.read(out)
    assert table.attrs["complete"] and table.attrs["backend"] == "spinnaker"
    assert table.attrs["spikes_returned"] is False or table.attrs["spikes_returned"] == 0
    assert table.attrs["note"] == VIRTUAL_BOARD_NOTE
    assert "sPyNNaker" in table.attrs["backend_version"]
    assert np.all(table.counts == -1) and np.all(np.isnan(table.rates))
    with pytest.raises(FitError, match="no measured spikes"):
        FitData.from_table(table)


def test_spinnaker_noise_interval_must_equal_the_timestep():
    with pytest.raises(ParameterError, match="needs dt equal to the timestep"):
        SweepConfig(NoisyCurrentDrive(2.0), means=[0.1], stds=[0.5], backend="spinnaker")


def test_mnist_network_maps_on_a_virtual_board(spinnaker_virtual_board, tmp_path):
    from lifresponse.datasets import load_mnist
    from lifresponse.deployment import DeployConfig, deploy
    from lifresponse.neuron import LIFParams
    from lifresponse.training import trainer

    model = trainer.make_model("6c5-2s-12c5-2s-10fc", "noisy-softplus", 0.3, 201.0, 5.0,
                               LIFParams(), seed=0)
    trainer.export(model, tmp_path / "net.h5", LIFParams(), 1.0, {})
    digits = load_mnist().subset(slice(0, 2))
    run = deploy(tmp_path / "net.h5", digits, DeployConfig(backend="spinnaker", window=50.0),
                 tmp_path / "run.h5", progress=False)
    assert run.attrs["backend"] == "spinnaker" and not run.attrs["spikes_returned"]
    assert run.attrs["connectors"] == "native"  # ConvolutionConnector / PoolDenseConnector
    assert "virtual board" in run.attrs["note"]
    assert run.attrs["n_synapses"] > 150000
    assert "evaluation" not in run.attrs


def test_unconfigured_spinnaker_is_one_clear_error(tmp_path, monkeypatch):
    from lifresponse import backends

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    backend = backends.get("spinnaker")
    with pytest.raises(backends.BackendError, match="sPyNNaker could not start"):
        backend.start()


@pytest.mark.parametrize("cell", ["IF_curr_alpha", "IF_cond_exp"])
def test_other_cells_map_on_a_virtual_board(spinnaker_virtual_board, cell):
    from lifresponse.cells import CellParams

    config = SweepConfig(PoissonCurrentDrive(5.0), means=[0.0, 0.01], stds=[0.01], trials=2,
                         duration=50.0, backend="spinnaker", neuron=CellParams.of(cell))
    table = results.read(run_sweep(config, spinnaker_virtual_board / "rates.h5",
                                   progress=False))
    assert table.attrs["cell"] == cell and table.attrs["complete"]
    assert table.attrs["note"] == VIRTUAL_BOARD_NOTE


def test_a_cell_spynnaker_lacks_is_refused_by_name(spinnaker_virtual_board):
    from lifresponse.cells import CellParams
    from lifresponse.errors import BackendError

    config = SweepConfig(NoisyCurrentDrive(1.0), means=[0.1], stds=[0.2], trials=1,
                         duration=50.0, backend="spinnaker",
                         neuron=CellParams.of("EIF_cond_exp_isfa_ista"))
    with pytest.raises(BackendError, match="sPyNNaker has no EIF_cond_exp_isfa_ista"):
        run_sweep(config, spinnaker_virtual_board / "rates.h5", progress=False)
    assert not (spinnaker_virtual_board / "rates.h5.partial").exists()
