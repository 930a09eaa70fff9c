"""SpiNNaker's 16-bit weights: sPyNNaker's own shifts and encoding, the exact simulator with
the board's integer weights and saturating ring buffers, the forecast, the scaling file."""

import json
import math

import numpy as np
import pytest
from network_helpers import conv_network, random_digits

from lifresponse import board_forecast
from lifresponse.backends.spinnaker import weights
from lifresponse.backends.spinnaker.weights import (
    RECEPTORS,
    BoardScaling,
    PopulationScaling,
)
from lifresponse.backends.torch import step_kernel
from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import fan_outs, network_connections
from lifresponse.neuron import LIFParams


def test_integer_weights_by_hand():
    # shift 0: 2^15 units per nA. 0.3 nA -> rint(9830.4) = 9830; 2^-18 nA -> 0.125 -> 0
    w = np.array([1.0, 0.3, 2.0**-18, -0.5])
    np.testing.assert_array_equal(weights.integer_weights(w, 2.0**15, 0),
                                  [32768, 9830, 0, -16384])
    with pytest.raises(ParameterError, match=r"layer 3: weight 2.5 nA is 81920 units"):
        weights.integer_weights(np.array([0.1, 2.5]), 2.0**15, 3)


def _scaling(network, shifts):
    """One population per layer, with the same (excitatory, inhibitory) shifts everywhere."""
    return BoardScaling("test", "lists", tuple(
        PopulationScaling(i, 0, layer.n_out, shifts, tuple(2.0 ** (15 - s) for s in shifts))
        for i, layer in enumerate(network.layers)))


def _one_neuron(weight):
    """Three input pixels, each with ``weight`` (nA) onto one neuron."""
    layers = [Layer("dense", (1, 1, 3), (1,), np.full((3, 1), weight))]
    return Network("1fc", layers, "relu", 0.3, 200.0, 5.0, LIFParams(), 1.0)


def test_a_saturation_built_on_purpose_is_counted_and_held():
    # shift 0 holds sums up to 65535 / 2^15 nA, just under 2 nA: two 1 nA arrivals in one
    # step saturate, one does not
    network = _one_neuron(1.0)
    scales = _scaling(network, (0, 0)).scales(network)
    pixels = np.ones((20, 3))
    presentation = Presentation(200.0, 0.0, 1.0, 0.0)
    compiled = step_kernel.CompiledNetwork(network, "float64", network_connections(network),
                                           scales)
    result = compiled.simulate(lambda lo, hi: input_spikes(pixels[lo:hi], presentation, network,
                                                           lo, 1), 20, presentation, 1)
    inputs = input_spikes(pixels, presentation, network, 0, 1)
    per_step = np.bincount(inputs.image * presentation.steps + inputs.step)
    assert per_step.max() >= 2, "the input must put two spikes in one step somewhere"
    assert result.saturated[0][0, 0] == np.count_nonzero(per_step >= 2)
    assert result.saturated[0][1, 0] == 0  # no inhibitory synapses
    # the largest sum seen is whole spikes' worth of 1 nA, before it is held
    assert result.peaks[0][0, 0] == per_step.max()
    free = step_kernel.CompiledNetwork(network, "float64", network_connections(network),
                                       _scaling(network, (2, 2)).scales(network))
    held = free.simulate(lambda lo, hi: input_spikes(pixels[lo:hi], presentation, network, lo,
                                                     1), 20, presentation, 1)
    assert held.saturated[0].sum() == 0  # shift 2 holds up to 8 nA
    assert held.counts[0].sum() > result.counts[0].sum()  # held input: fewer spikes


@pytest.mark.parametrize("shifts", [None, (1, 2), (0, 0)])
def test_the_cpu_loop_and_the_torch_operations_hold_the_same_sums(rng, shifts):
    from lifresponse.backends.torch.operations import TorchOperations

    network = conv_network(rng)
    pixels = random_digits(rng, 6).images.reshape(6, -1).astype(float)
    presentation = Presentation(100.0, 0.0, 1.0, 0.0)
    scales = None if shifts is None else _scaling(network, shifts).scales(network)
    connections = network_connections(network)
    loop = step_kernel.CompiledNetwork(network, "float64", connections, scales, watch=True
                                       ).simulate(lambda lo, hi: input_spikes(
                                           pixels[lo:hi], presentation, network, lo, 1), 6,
                                           presentation, 1)
    operations = TorchOperations(network, "float64", "cpu", 1, scales, watch=True)
    counts, _, _, peaks, saturated = operations.simulate(
        input_spikes(pixels, presentation, network, 0, 1), 6, presentation,
        fan_outs(connections))
    operations.close()
    for i in range(3):
        np.testing.assert_array_equal(loop.counts[i], counts[i])
        np.testing.assert_array_equal(loop.saturated[i], saturated[i])
        np.testing.assert_allclose(loop.peaks[i], peaks[i], rtol=1e-12)
    if shifts == (0, 0):  # 2 nA hold less than the conv layer's largest sums
        assert sum(s.sum() for s in saturated) > 0


def test_watching_changes_no_spike(rng):
    network = conv_network(rng)
    digits = random_digits(rng, 5)
    plain = deploy(network, digits, DeployConfig(backend="torch", window=100.0), progress=False)
    watched = deploy(network, digits, DeployConfig(backend="torch", window=100.0,
                                                   watch_inputs=True), progress=False)
    for i in plain.layer_counts:
        np.testing.assert_array_equal(plain.layer_counts[i], watched.layer_counts[i])
    assert "input_peaks" not in plain.attrs
    assert [sum(s) for s in watched.attrs["input_saturations"]] == [0, 0, 0]
    # the largest summed input of the pooling layer: at most its four 0.25 nA weights
    assert 0 < max(watched.attrs["input_peaks"][1][0]) <= 1.0


def test_fine_scaling_reproduces_float_weights(rng):
    # with the finest scale that holds every sum, weights round by at most 2^-16 relative:
    # the forecast must find (nearly) the float run's spikes
    network = conv_network(rng)
    digits = random_digits(rng, 5)
    float_run = deploy(network, digits, DeployConfig(backend="torch", window=200.0),
                       progress=False)
    board = deploy(network, digits, DeployConfig(backend="torch", window=200.0,
                                                 spinnaker_weights=_scaling(network, (4, 4))),
                   progress=False)
    assert board.attrs["spinnaker_weights"]["populations"][0]["shifts"] == [4, 4]
    a, b = float_run.layer_counts[2].sum(), board.layer_counts[2].sum()
    assert abs(int(a) - int(b)) <= 0.02 * a


def test_the_scaling_file_round_trip_and_its_errors(rng, tmp_path):
    network = conv_network(rng)
    scaling = _scaling(network, (3, 5))
    path = tmp_path / "scaling.json"
    weights.write(scaling, path)
    assert weights.read(path) == scaling
    data = json.loads(path.read_text())
    for change, message in [
            (lambda d: d["populations"][0].update(shifts=[3, 16]), r"populations\[0\].shifts"),
            (lambda d: d["populations"][0].update(weight_scales=[1.0, 2.0]), "weight_scales"),
            (lambda d: d["populations"][1].update(size=0), r"populations\[1\].size"),
            (lambda d: d["populations"][0].update(colour="red"), "colour"),
            (lambda d: d.update(connectors="wires"), "connectors"),
            (lambda d: d["populations"][0].update(max_expected_summed_weight=[1.0, -2.0]),
             "max_expected_summed_weight")]:
        broken = json.loads(json.dumps(data))
        change(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(FileFormatError, match=message):
            weights.read(path)
    path.write_text("{not json")
    with pytest.raises(FileFormatError, match="not a scaling file"):
        weights.read(path)
    other = Network("2fc", [Layer("dense", (1, 10, 10), (2,), np.ones((100, 2)))], "relu",
                    0.3, 200.0, 5.0, LIFParams(), 1.0)
    with pytest.raises(ParameterError,
                       match=r"layer 0, neurons 0 .. 191, is not in the network \(2fc\)"):
        scaling.scales(other)
    partial = BoardScaling("test", "lists", scaling.populations[:1] + scaling.populations[2:])
    with pytest.raises(ParameterError, match="no population holds neuron 0 of layer 1"):
        partial.scales(network)


def test_spinnaker_weights_are_refused_where_they_mean_nothing(rng, tmp_path, capsys):
    network = conv_network(rng)
    path = tmp_path / "net.h5"
    network_file.write(network, path)
    weights.write(_scaling(network, (3, 3)), tmp_path / "s.json")
    digits = random_digits(rng, 10)
    np.savez(tmp_path / "d.npz", x_train=digits.images, y_train=digits.labels)
    assert main(["deploy", str(path), "--backend", "nest", "--data", str(tmp_path / "d.npz"),
                 "--images", "2",
                 "--spinnaker-weights", str(tmp_path / "s.json"), "--out",
                 str(tmp_path / "r.h5")]) == 2
    assert "--spinnaker-weights: 'nest' neither loads" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()
    with pytest.raises(ParameterError, match="only the torch backend watches"):
        deploy(network, digits, DeployConfig(backend="nest", watch_inputs=True))


def test_a_weight_no_scale_holds_is_named(rng):
    network = _one_neuron(3.0)  # 3 nA at shift 0: 98304 units, more than 16 bits
    with pytest.raises(ParameterError, match="layer 0: weight 3 nA is 98304 units"):
        deploy(network, Digits(np.ones((1, 1, 3)), np.zeros(1, int), "ones"),
               DeployConfig(backend="torch", window=10.0,
                            spinnaker_weights=_scaling(network, (0, 0))), progress=False)


def test_choose_scaling_takes_the_largest_sum_per_population(rng):
    network = conv_network(rng)
    connections = network_connections(network)
    layout = BoardScaling("test", "native", tuple(
        [PopulationScaling(0, 64 * m, 64, (5, 5), (2.0**10, 2.0**10)) for m in range(3)]
        + [PopulationScaling(1, 16 * m, 16, (0, 0), (2.0**15,) * 2) for m in range(3)]
        + [PopulationScaling(2, 0, 10, (6, 6), (2.0**9,) * 2)]))
    peaks = [np.array([[0.5, 3.0, 0.1], [0.2, 0.4, 0.0]]), np.array([[1.0] * 3, [0.0] * 3]),
             np.array([[2.0], [1.5]])]
    chosen = weights.choose_scaling(network, layout, peaks, connections)
    conv = np.asarray(network.layers[0].weight)
    # map 0: its sum 0.5 nA, unless one of its weights is larger
    assert chosen[(0, 0)][0] == max(0.5, conv[0][conv[0] > 0].max())
    assert chosen[(0, 64)][0] == max(3.0, conv[1][conv[1] > 0].max())
    assert chosen[(1, 16)] == (1.0, 0.0)
    assert chosen[(2, 0)] == (2.0, 1.5)


@pytest.mark.spinnaker
def test_spynnaker_encodes_the_weights_as_we_forecast(rng, spinnaker_virtual_board):
    from lifresponse import backends
    from lifresponse.backends.pynn.building import build

    network = conv_network(rng)
    backend = backends.get("spinnaker")
    backend.start(timestep=1.0)
    try:
        with backends.quiet():
            built = build(backend, network, connectors="native")
            backend.sim.run(10.0)
        scaling = backend.read_scaling(built, "sPyNNaker")
        scales = scaling.scales(network)
        from spynnaker.pyNN.data import SpynnakerDataView

        checked = 0
        for projection in SpynnakerDataView.iterate_projections():
            connector = projection._synapse_information.connector
            if not hasattr(connector, "get_encoded_kernel_weights"):
                continue
            edge = projection._projection_edge
            post = edge.post_vertex
            ours = weights.integer_weights(
                np.asarray(connector.kernel_weights), np.where(
                    np.asarray(connector.kernel_weights) < 0,
                    post.get_weight_scales(post.get_ring_buffer_shifts())[1],
                    post.get_weight_scales(post.get_ring_buffer_shifts())[0]), 0)
            np.testing.assert_array_equal(
                connector.get_encoded_kernel_weights(edge, post.get_weight_scales(
                    post.get_ring_buffer_shifts())), ours.ravel())
            checked += 1
        assert checked >= 3  # one convolution per output map
        # what read_scaling gives per neuron is each population's own choice
        for p in scaling.populations:
            assert (scales[p.layer][:, p.first:p.first + p.size]
                    == np.asarray(p.weight_scales)[:, None]).all()
            assert p.weight_scales == tuple(2.0 ** (15 - s) for s in p.shifts)
    finally:
        backend.end_in_scratch_folder()


@pytest.mark.spinnaker
def test_the_forecast_and_spynnaker_take_the_chosen_sums(rng, tmp_path):
    pytest.importorskip("spynnaker")
    network = conv_network(rng)
    digits = random_digits(rng, 8)
    forecast = board_forecast.forecast_board(network, digits.subset(slice(0, 4)),
                                             digits.subset(slice(4, 8)), 100.0,
                                             progress=False)
    assert [o.weights for o in forecast.outcomes] == ["float", "sPyNNaker default", "chosen"]
    plain = deploy(network, digits.subset(slice(4, 8)),
                   DeployConfig(backend="torch", window=100.0, record="output"), progress=False)
    assert forecast.outcomes[0].accuracy_by_time == plain.attrs["evaluation"][
        "accuracy_by_time"]
    for p in forecast.chosen.scaling.populations:
        for given, shift in zip(p.max_expected_summed_weight, p.shifts, strict=True):
            # sPyNNaker's rule for a given sum w: the least s with 2^s > w (s >= 0)
            expected = 0 if given <= 0 else max(0, math.ceil(math.log2(given)))
            expected += 2**expected <= given
            assert shift == expected, p
    default = {(p.layer, p.first): p.shifts for p in forecast.default.scaling.populations}
    assert all(p.shifts <= default[(p.layer, p.first)] for p in forecast.chosen.scaling.populations)
    assert sum(map(sum, forecast.outcomes[2].saturations)) == 0
    rows = board_forecast.table_rows(network, forecast)
    assert {(r["layer"], r["receptor"]) for r in rows} >= {(0, "excitatory"), (2, "inhibitory")}
    # sPyNNaker holds 2^(s + 1) nA for a chosen sum under 2^s: at least twice what the sample
    # put into each population
    for r in rows:
        sign = RECEPTORS.index(r["receptor"])
        assert weights.headroom(network, forecast.chosen.scaling, forecast.sample_peaks,
                                r["layer"], sign) >= 2


@pytest.mark.spinnaker
def test_deploy_gives_spynnaker_the_chosen_sums(rng, tmp_path, spinnaker_virtual_board):
    network = conv_network(rng)
    summed = BoardScaling("chosen", "native", tuple(
        PopulationScaling(p.layer, p.first, p.size, (0, 0), (2.0**15,) * 2, (2.5, 0.75))
        for p in _native_layout(network)))
    run = deploy(network, random_digits(rng, 2),
                 DeployConfig(backend="spinnaker", window=20.0, spinnaker_weights=summed),
                 progress=False)
    assert run.attrs["spinnaker_weights"]["populations"][0]["max_expected_summed_weight"] == [
        2.5, 0.75]
    # what sPyNNaker chose from them, read back from the run: 2^2 > 2.5, 2^0 > 0.75
    used = run.attrs["spinnaker_scaling"]["populations"]
    assert {tuple(p["shifts"]) for p in used} == {(2, 0)}
    assert all(p["max_expected_summed_weight"] == [2.5, 0.75] for p in used)
    with pytest.raises(ParameterError, match="made for lists connectors"):
        deploy(network, random_digits(rng, 2),
               DeployConfig(backend="spinnaker", window=20.0,
                            spinnaker_weights=_scaling(network, (3, 3))), progress=False)


def _native_layout(network):
    """One population per map (dense: one), as the native builder makes them."""
    out = []
    for i, layer in enumerate(network.layers):
        per_map = layer.n_out // layer.out_shape[0]
        maps = layer.out_shape[0] if layer.kind != "dense" else 1
        size = per_map if layer.kind != "dense" else layer.n_out
        out += [PopulationScaling(i, m * size, size, (0, 0), (1.0, 1.0)) for m in range(maps)]
    return out


def test_forecast_command_refuses_options_of_skipped_steps(rng, tmp_path, capsys):
    network = conv_network(rng)
    path = tmp_path / "net.h5"
    network_file.write(network, path)
    assert main(["spinnaker", "check", str(path), "--no-map", "--images", "10"]) == 2
    assert "--images: belongs to the mapping" in capsys.readouterr().err
    assert main(["spinnaker", "check", str(path), "--no-forecast", "--write-scaling",
                 str(tmp_path / "s.json")]) == 2
    assert "--write-scaling: belongs to the forecast" in capsys.readouterr().err


@pytest.mark.spinnaker
def test_a_weight_no_scale_can_hold_is_refused_at_mapping(tmp_path, capsys):
    # three 70,000 nA weights: a worst-case sum of 210,000 nA needs shift 18; the neuron's 16.15
    # input holds shift 15 at most
    pytest.importorskip("spynnaker")
    network_file.write(_one_neuron(70000.0), tmp_path / "huge.h5")
    assert main(["spinnaker", "check", str(tmp_path / "huge.h5"), "--no-forecast"]) == 2
    err = capsys.readouterr().err
    assert "error: layer 0: sPyNNaker needs a ring-buffer shift of 18" in err, err
