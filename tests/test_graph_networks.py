"""Networks that are graphs (network file format 3): a layer with several projections (a
residual block's merge) runs with the same spikes on NEST, the torch operations and the CPU step
loop, reads back from its file, and is checked like a chain."""

import h5py
import numpy as np
import pytest
from network_helpers import (
    assert_same_run,
    conv_network,
    random_digits,
    residual_network,
    without_step_kernel,
)

from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.network_file import Projection
from lifresponse.networks.prediction import predict_rates
from lifresponse.networks.topology import fan_outs, network_connections


def test_graph_round_trips_and_chains_stay_chains(tmp_path, rng):
    network = residual_network(rng)
    assert not network.is_chain and conv_network(rng).is_chain
    network_file.write(network, tmp_path / "net.h5")
    back = network_file.read(tmp_path / "net.h5")
    assert [len(back.projections(i)) for i in range(5)] == [1, 1, 2, 1, 2]
    assert [p.source for p in back.projections(2)] == [1, 0]
    np.testing.assert_array_equal(back.layers[2].merges[0].weight,
                                  network.layers[2].merges[0].weight)
    with h5py.File(tmp_path / "net.h5") as f:
        assert f.attrs["version"] == 4 and f["layers/4/merges/0"].attrs["source"] == 0


def test_fan_out_counts_every_projection(rng):
    network = residual_network(rng)
    connections = network_connections(network)
    fan_out = fan_outs(connections)
    # layer 0 feeds layer 1 (conv 3x3 padded), layer 2 (identity) and layer 4 (dense)
    expected = (connections[1][0].fan_out() + connections[2][1].fan_out()
                + connections[4][1].fan_out())
    np.testing.assert_array_equal(fan_out[0], expected)
    assert fan_out[4].sum() == 0 and fan_out[3].sum() == np.count_nonzero(
        network.layers[4].weight)


@pytest.mark.parametrize("change, message", [
    (lambda n: setattr(n.layers[2].merges[0], "source", 2), "source 2 must be -1"),
    (lambda n: setattr(n.layers[2].merges[0], "source", 3), "source 3 must be -1"),
    (lambda n: setattr(n.layers[2].merges[0], "in_shape", (4, 9, 9)),
     "does not match layer 0's output"),
    (lambda n: setattr(n.layers[2].merges[0], "weight", np.zeros((4, 3, 1, 1))),
     "merge 0 (conv): weight of shape (4, 3, 1, 1) does not fit"),
    (lambda n: n.layers[2].merges[0].weight.__setitem__((0, 0, 0, 0), np.nan),
     "layer 2, merge 0 (conv): weights contain NaN"),
    (lambda n: setattr(n.layers[1], "source", 5), "layer 1 (conv): source 5"),
])
def test_bad_graphs_are_refused_naming_layer_and_merge(tmp_path, rng, change, message):
    network = residual_network(rng)
    change(network)
    with pytest.raises(FileFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        network_file.write(network, tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()


def test_merged_projections_add_currents_in_the_ann_prediction(rng):
    """The numpy prediction of a merged layer equals the model with the merge's input added
    by hand (one dense layer fed by the input twice is the same as one with the summed
    weights)."""
    from lifresponse.networks.network_file import Layer, Network

    w1, w2 = rng.normal(0.1, 0.3, (100, 10)), rng.normal(0.1, 0.3, (100, 10))
    twice = Network("twice", [Layer("dense", (1, 10, 10), (10,), w1, merges=(
        Projection(-1, "dense", (1, 10, 10), (10,), w2),))], "relu", 0.3, 186.0, 5.0)
    once = Network("once", [Layer("dense", (1, 10, 10), (10,), w1 + w2)], "relu", 0.3, 186.0,
                   5.0)
    pixels = rng.uniform(0, 1, (3, 1, 10, 10))
    np.testing.assert_allclose(predict_rates(twice, pixels)[0], predict_rates(once, pixels)[0])


def test_residual_network_same_spikes_on_nest_torch_and_the_step_loop(rng, monkeypatch):
    network = residual_network(rng)
    digits = random_digits(rng, 5)
    nest_run = deploy(network, digits, DeployConfig(window=50.0, record="all", block=3,
                                                    threads=1, seed=2), progress=False)
    config = DeployConfig(backend="torch", window=50.0, record="all", batch=4, threads=1,
                          seed=2)
    loop_run = deploy(network, digits, config, progress=False)
    assert loop_run.attrs["step_loop"] == "numba step loop"
    assert min(c.sum() for c in nest_run.layer_counts.values()) > 50  # every layer is active
    assert_same_run(nest_run, loop_run)

    without_step_kernel(monkeypatch)
    operations_run = deploy(network, digits, config, progress=False)
    assert operations_run.attrs["step_loop"] == "torch operations"
    assert_same_run(nest_run, operations_run)
    assert nest_run.attrs["synapses_into_layers"] == [
        sum(int(np.count_nonzero(c.weight)) for c in into)
        for into in network_connections(network)]


def test_graphs_go_through_nir_and_back_with_the_same_spikes(rng):
    """Export writes one path of linear nodes per projection into each neuron node; import
    reads paths that merge at a neuron node back as merges, and the network runs the same."""
    from lifresponse.interop.nir import export_network, import_graph

    network = residual_network(rng)
    graph = export_network(network)
    assert ("lif0", "conv2_1") in graph.edges and ("conv2_1", "lif2") in graph.edges
    back = import_graph(graph)
    for i in range(len(network.layers)):
        ours, theirs = network.projections(i), back.projections(i)
        assert [p.source for p in theirs] == [p.source for p in ours]
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(b.weight, a.weight, rtol=1e-12, err_msg=f"layer {i}")
    digits = random_digits(rng, 3)
    config = DeployConfig(backend="torch", window=40.0, record="all", seed=3)
    assert_same_run(deploy(network, digits, config, progress=False),
                    deploy(back, digits, config, progress=False))


def test_a_foreign_nir_graph_that_merges_at_a_neuron_node_imports(rng):
    nir = pytest.importorskip("nir")
    w1, w2, w3 = (rng.normal(size=(4, 4)) for _ in range(3))
    lif = {n: nir.LIF(tau=np.full(4, 0.01), r=np.ones(4), v_leak=np.zeros(4),
                      v_threshold=np.ones(4), v_reset=np.zeros(4)) for n in ("l1", "l2")}
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([4])}), "a": nir.Linear(w1),
               "l1": lif["l1"], "b": nir.Linear(w2), "skip": nir.Linear(w3), "l2": lif["l2"],
               "output": nir.Output(output_type={"output": np.array([4])})},
        edges=[("input", "a"), ("a", "l1"), ("l1", "b"), ("b", "l2"), ("input", "skip"),
               ("skip", "l2"), ("l2", "output")], type_check=False)
    from lifresponse.interop.nir import import_graph

    network = import_graph(graph)
    assert [p.source for p in network.projections(1)] == [0, -1]
    np.testing.assert_allclose(network.layers[1].merges[0].weight / w3.T,
                               network.layers[1].weight / w2.T)  # the same gain


def test_spike_training_refuses_graphs(rng):
    pytest.importorskip("torch")
    from lifresponse.training.spikes import SpikeTrainSettings, check

    with pytest.raises(ParameterError, match="spike training takes a chain of layers"):
        check(residual_network(rng), SpikeTrainSettings())


def test_ann_model_of_a_graph_equals_the_numpy_prediction_and_writes_it_back(rng):
    torch = pytest.importorskip("torch")
    from lifresponse.training.model import SpikingNetwork

    network = residual_network(rng)
    model = SpikingNetwork.from_network(network).eval()
    pixels = rng.uniform(0, 1, (3, 1, 10, 10))
    with torch.no_grad():
        ours = model(torch.as_tensor(pixels, dtype=torch.float32), return_all=True)
    tau_s = network.tau_syn / 1000.0
    for layer, (y, rates) in enumerate(zip(ours, predict_rates(network, pixels), strict=True)):
        np.testing.assert_allclose(y.flatten(1).numpy() / tau_s, rates, rtol=2e-4, atol=1e-2,
                                   err_msg=f"layer {layer}")
    back = model.to_network(network.neuron, network.timestep, {})
    assert [p.source for i in range(5) for p in back.projections(i)] == \
        [p.source for i in range(5) for p in network.projections(i)]
    np.testing.assert_allclose(back.layers[4].merges[0].weight,
                               network.layers[4].merges[0].weight, rtol=1e-6)


def test_a_new_input_rate_rescales_every_projection_from_the_input(rng):
    network = residual_network(rng)
    network.layers[4].merges = (Projection(-1, "dense", (1, 10, 10), (10,),
                                           rng.normal(size=(100, 10))),)
    faster = network.with_input_rate(400.0)
    np.testing.assert_allclose(faster.layers[0].weight, network.layers[0].weight / 4)
    np.testing.assert_allclose(faster.layers[4].merges[0].weight,
                               network.layers[4].merges[0].weight / 4)
    np.testing.assert_array_equal(faster.layers[2].merges[0].weight,
                                  network.layers[2].merges[0].weight)  # from layer 0
