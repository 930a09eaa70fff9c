"""sPyNNaker configuration round trip, constraint checks, mapping."""

import json

import numpy as np
import pytest

from lifresponse.backends.spinnaker import check, configuration
from lifresponse.cli import main
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.network_file import Layer, Network
from lifresponse.neuron import LIFParams


@pytest.mark.parametrize("config", [configuration.BoardConfig("virtual"),
                                    configuration.BoardConfig("board", "192.168.240.1", 5),
                                    configuration.BoardConfig("spalloc", "https://spalloc.example",
                                                          5, "alice"),
                                    configuration.BoardConfig("board", "10.11.12.13", 3)])
def test_config_round_trip(tmp_path, config):
    path = configuration.write_config(config, tmp_path)
    assert path == tmp_path / "spynnaker.cfg"
    assert configuration.read_config(tmp_path) == config
    # a board measures its power: sPyNNaker's own energy report is asked for
    assert ("write_energy_report = True" in path.read_text()) == (config.kind != "virtual")


def test_config_errors(tmp_path):
    with pytest.raises(ParameterError, match="needs a host"):
        configuration.BoardConfig("board")
    with pytest.raises(ParameterError, match="version 3 or 5"):
        configuration.BoardConfig("virtual", version=4)
    with pytest.raises(FileFormatError, match="no such file"):
        configuration.read_config(tmp_path)
    (tmp_path / "spynnaker.cfg").write_text("[Machine]\nversion = 5\n")
    with pytest.raises(FileFormatError, match="names no virtual_board"):
        configuration.read_config(tmp_path)


def test_config_command_writes_only_the_run_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert main(["spinnaker", "config", "--board", "spinn-4.cs.man.ac.uk", "--dir",
                 str(tmp_path / "run")]) == 0
    assert configuration.read_config(tmp_path / "run").host == "spinn-4.cs.man.ac.uk"
    assert "refuses to start without" in capsys.readouterr().out
    assert not (tmp_path / "home" / ".spynnaker.cfg").exists()


def _small_network(timestep=1.0):
    rng = np.random.default_rng(0)
    layers = [Layer("conv", (1, 8, 8), (2, 6, 6), rng.normal(size=(2, 1, 3, 3))),
              Layer("pool", (2, 6, 6), (2, 3, 3), np.full((2, 2), 0.25), 2),
              Layer("dense", (2, 3, 3), (3,), rng.normal(size=(18, 3)))]
    return Network("2c3-2s-3fc", layers, "relu", 0.3, 201.0, 5.0, LIFParams(), timestep)


def test_check_flags_an_unsupported_timestep():
    assert check.check_network(_small_network(1.0)).problems == ()
    report = check.check_network(_small_network(0.5))
    assert not report.timestep_ok and "0.5 ms" in report.problems[0]
    assert report.cores_per_layer == [1, 1, 1, 1]


def test_a_network_too_big_for_a_board_is_one_clear_error(tmp_path, capsys):
    huge = Network("200000fc", [Layer("dense", (1, 8, 8), (200000,), np.zeros((64, 200000)))],
                   "relu", 0.3, 201.0, 5.0, LIFParams(), 1.0)
    with pytest.raises(check.BoardFitError, match="needs 783 cores"):
        check.check_network(huge)
    small = _small_network()
    path = tmp_path / "small.h5"
    network_file.write(small, path)
    assert main(["spinnaker", "check", str(path), "--no-map"]) == 0
    assert "2c3-2s-3fc" in capsys.readouterr().out


@pytest.mark.spinnaker
def test_check_maps_a_small_network_on_a_virtual_board(tmp_path, monkeypatch, capsys):
    pytest.importorskip("spynnaker")
    path = tmp_path / "small.h5"
    network_file.write(_small_network(), path)
    monkeypatch.chdir(tmp_path)
    assert main(["spinnaker", "check", str(path), "--no-forecast", "--out",
                 str(tmp_path / "mapping.json")]) == 0
    printed = capsys.readouterr().out
    assert "mapped on a virtual SpiNN-5 board with native local-only connectors: 1 chip(s)" \
        in printed
    mapping = json.loads((tmp_path / "mapping.json").read_text())
    assert mapping["check"]["connectors"].startswith("native")
    assert main(["spinnaker", "check", str(path), "--no-forecast", "--connectors", "lists"]) == 0
    assert "board with connection lists: 1 chip(s)" in capsys.readouterr().out
    rng = np.random.default_rng(1)
    dense_dense = Network("5fc-2fc", [Layer("dense", (1, 4, 4), (5,), rng.normal(size=(16, 5))),
                                      Layer("dense", (5,), (2,), rng.normal(size=(5, 2)))],
                          "relu", 0.3, 201.0, 5.0, LIFParams(), 1.0)
    network_file.write(dense_dense, tmp_path / "dd.h5")
    assert main(["spinnaker", "check", str(tmp_path / "dd.h5"), "--no-forecast"]) == 0
    assert "with connection lists (layer 1: dense after dense" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists(), "sPyNNaker reports belong in a temporary dir"


@pytest.mark.spinnaker
def test_a_network_that_cannot_map_names_the_populations_and_the_numbers(tmp_path, capsys):
    # each input pixel reaches 64 maps x 25 kernel positions: rows longer than sPyNNaker's
    # connection lists allow (256), as the large MNIST network's pooling layer does
    pytest.importorskip("spynnaker")
    rng = np.random.default_rng(0)
    network = Network("64c5", [Layer("conv", (12, 12, 12), (64, 8, 8),
                                     rng.normal(0, 0.1, (64, 12, 5, 5)))],
                      "relu", 0.3, 200.0, 5.0, LIFParams(), 1.0)
    network_file.write(network, tmp_path / "wide.h5")
    assert main(["spinnaker", "check", str(tmp_path / "wide.h5"), "--connectors", "lists",
                 "--no-forecast"]) == 2
    err = capsys.readouterr().err
    assert "could not map the network on a virtual SpiNN-5 board (with connection lists; the " \
           "native connectors may fit" in err
    assert "between input and layer0_conv with 4096 atoms has more synapses" in err


@pytest.mark.spinnaker
def test_a_graph_network_maps_with_lists_and_its_board_weights_are_forecast(tmp_path,
                                                                            monkeypatch, capsys):
    """A residual network (merges) maps on a virtual board with connection lists, saying why,
    and the forecast with sPyNNaker's scaling runs through its merged layers."""
    pytest.importorskip("spynnaker")
    pytest.importorskip("torch")
    from network_helpers import random_digits, residual_network

    from lifresponse.board_forecast import forecast_board

    rng = np.random.default_rng(4)
    network = residual_network(rng)
    path = tmp_path / "residual.h5"
    network_file.write(network, path)
    monkeypatch.chdir(tmp_path)
    assert main(["spinnaker", "check", str(path), "--no-forecast"]) == 0
    assert "with connection lists (branches or merges (a residual block) need connection " \
        "lists)" in capsys.readouterr().out
    forecast = forecast_board(network, random_digits(rng, 4), random_digits(rng, 4), 30.0,
                              progress=False)
    assert {row.layer for row in forecast.default_table} == set(range(len(network.layers)))
    assert [o.weights for o in forecast.outcomes] == ["float", "sPyNNaker default", "chosen"]
    assert all(len(o.peaks) == len(network.layers) for o in forecast.outcomes)
    assert forecast.default.connectors == "lists"
