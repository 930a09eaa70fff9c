"""NIR import and export (lifresponse/interop/nir.py): round trips, each node's mapping by hand,
every refusal, and a graph from snnTorch run on NEST against snnTorch's own simulation."""

import dataclasses
import math

import h5py
import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from network_helpers import conv_network, random_digits

import lifresponse as lr
from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.errors import BackendError, FileFormatError, ParameterError
from lifresponse.interop import nir as nir_interop
from lifresponse.interop.nir import ImportOptions, import_graph
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, bernoulli_inputs
from lifresponse.networks.network_file import Layer, Network
from lifresponse.networks.topology import layer_connections
from lifresponse.neuron import LIFParams
from lifresponse.propagators import Propagators


def _v2_network(rng):
    """Every new layer feature: stride, padding, bias, sum pooling, overlapping windows, a
    delta-synapse layer, per-layer neurons, three input channels."""
    delta = LIFParams(cm=0.5, tau_m=8.0, tau_refrac=0.0, v_reset=0.0, v_rest=0.0,
                      v_thresh=1.0, i_offset=0.0)
    layers = [Layer("conv", (3, 9, 9), (4, 5, 5), rng.normal(0.1, 0.4, (4, 3, 3, 3)), 2, 1,
                    rng.normal(0, 0.05, 4)),
              Layer("pool", (4, 5, 5), (4, 4, 4), np.full((2, 2), 0.25), 1),
              Layer("dense", (4, 4, 4), (6,), rng.normal(0.05, 0.3, (64, 6)),
                    bias=rng.normal(0, 0.02, 6), cell="IF_curr_delta", neuron=delta),
              Layer("dense", (6,), (3,), rng.normal(0.6, 0.3, (6, 3)),
                    neuron=LIFParams(tau_m=10.0, tau_syn_E=2.0, tau_syn_I=2.0))]
    return Network("v2-test", layers, "noisy-softplus", 0.3, 190.0, 5.0, LIFParams(), 1.0)


def _assert_same_network(a: Network, b: Network):
    for name in ("architecture", "activation", "k", "S", "tau_syn", "neuron", "timestep",
                 "input_rate", "input_encoding", "softplus_sigma", "soft_lif_gamma"):
        assert getattr(a, name) == getattr(b, name), name
    for i, (x, y) in enumerate(zip(a.layers, b.layers, strict=True)):
        for name in ("kind", "in_shape", "out_shape", "stride", "padding", "cell", "neuron",
                     "reset"):
            assert getattr(x, name) == getattr(y, name), (i, name)
        np.testing.assert_array_equal(x.weight, y.weight, err_msg=f"layer {i} weight")
        assert (x.bias is None) == (y.bias is None), f"layer {i} bias"
        if x.bias is not None:
            np.testing.assert_array_equal(x.bias, y.bias, err_msg=f"layer {i} bias")


@pytest.mark.parametrize("make", [conv_network, _v2_network], ids=["trained-here", "v2"])
def test_export_then_import_gives_back_the_same_network(make, rng, tmp_path):
    network = make(rng)
    lr.export_nir(network, out=tmp_path / "g.nir")
    graph = nir.read(tmp_path / "g.nir", type_check=True)  # NIR's own type check passes
    kinds = [type(node).__name__ for node in graph.nodes.values()]
    assert set(kinds) <= {"Input", "Output", "Conv2d", "AvgPool2d", "Flatten", "Affine",
                          "CubaLIF", "LIF"}
    assert graph.metadata["lifresponse"]["timestep_ms"] == network.timestep
    _assert_same_network(network, lr.import_nir(tmp_path / "g.nir"))


def test_network_file_v2_round_trip_and_v1_files_still_read(rng, tmp_path):
    network = _v2_network(rng)
    network_file.write(network, tmp_path / "v2.h5")
    _assert_same_network(network, network_file.read(tmp_path / "v2.h5"))
    old = conv_network(rng)
    network_file.write(old, tmp_path / "v1.h5")
    with h5py.File(tmp_path / "v1.h5", "r+") as f:  # as version 1 wrote it
        f.attrs["version"] = 1
        del f.attrs["input_encoding"]
        for g in f["layers"].values():
            g.attrs["stride"] = int(g.attrs["stride"][0])
            del g.attrs["padding"], g.attrs["cell"]
    _assert_same_network(old, network_file.read(tmp_path / "v1.h5"))


def _graph(*nodes, metadata=None):
    """A chain graph input -> nodes... -> output of named (name, node) pairs."""
    names = ["input", *(name for name, _ in nodes), "output"]
    first, last = nodes[0][1], nodes[-1][1]
    shape = next(iter(first.input_type.values()))
    out = next(iter(last.output_type.values()))
    all_nodes = {"input": nir.Input(input_type={"input": np.array(shape)}), **dict(nodes),
                 "output": nir.Output(output_type={"output": np.array(out)})}
    return nir.NIRGraph(nodes=all_nodes, edges=list(zip(names[:-1], names[1:], strict=True)),
                        metadata=metadata or {}, type_check=False)


def _cuba(n, tau_syn=0.004, tau_mem=0.02, r=2.0, w_in=1.5, v_leak=0.0, v_th=1.0):
    full = lambda v: np.full(n, v)  # noqa: E731
    return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(r),
                       v_leak=full(v_leak), v_threshold=full(v_th), v_reset=full(0.0),
                       w_in=full(w_in))


def _lif(n, tau=0.01, r=3.0, v_th=1.0):
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n),
                   v_threshold=np.full(n, v_th), v_reset=np.zeros(n))


def test_cubalif_affine_continuous_by_hand(rng):
    w, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    network = import_graph(_graph(("fc", nir.Affine(w, b)), ("lif", _cuba(3))),
                           ImportOptions(cm=0.25, timestep=0.5))
    layer = network.layers[0]
    neuron = network.neuron_of(layer)
    assert (layer.kind, layer.cell, layer.in_shape, layer.out_shape) == (
        "dense", "IF_curr_exp", (4,), (3,))
    assert (neuron.tau_m, neuron.tau_syn_E, neuron.tau_syn_I, neuron.cm) == (20.0, 4.0, 4.0,
                                                                            0.25)
    assert (neuron.v_rest, neuron.v_thresh, neuron.v_reset, neuron.tau_refrac) == (0, 1, 0, 0)
    # weight C r w_in W / (1000 tau_mem tau_syn) nA, bias C r w_in b / (1000 tau_mem) nA
    np.testing.assert_allclose(layer.weight, 0.25 * 2.0 * 1.5 * w.T / (1000 * 0.02 * 0.004),
                               rtol=1e-14)
    np.testing.assert_allclose(layer.bias, 0.25 * 2.0 * 1.5 * b / (1000 * 0.02), rtol=1e-14)
    assert network.timestep == 0.5 and network.activation == "none"


def test_lif_linear_and_if_continuous_by_hand(rng):
    w = rng.normal(size=(2, 5))
    lif = import_graph(_graph(("fc", nir.Linear(w)), ("lif", _lif(2))), ImportOptions())
    layer = lif.layers[0]
    assert layer.cell == "IF_curr_delta" and layer.bias is None
    assert lif.neuron_of(layer).tau_m == pytest.approx(10.0, rel=1e-15)
    np.testing.assert_allclose(layer.weight, 3.0 * w.T / 0.01, rtol=1e-14)  # r W / tau mV
    integrate = nir.IF(r=np.full(2, 0.5), v_threshold=np.full(2, 2.0), v_reset=np.zeros(2))
    network_if = import_graph(_graph(("fc", nir.Linear(w)), ("if", integrate)))
    layer_if = network_if.layers[0]
    assert network_if.neuron_of(layer_if).tau_m == nir_interop.LEAKLESS_TAU_MS
    np.testing.assert_allclose(layer_if.weight, 0.5 * w.T, rtol=1e-15)  # r W mV


def test_discrete_time_maps_the_euler_decays_exactly(rng):
    dt, h = 0.1, 1.0  # graph step 0.1 ms, simulated at 1 ms: time stretched 10x
    w = rng.normal(size=(3, 4))
    options = ImportOptions(dt=dt, timestep=h, cm=2.0)
    lif = import_graph(_graph(("fc", nir.Linear(w)), ("lif", _lif(3, tau=0.001, r=10.0))),
                       options)
    neuron = lif.neuron_of(lif.layers[0])
    beta = 1 - 0.1 / 1.0  # 1 - dt / tau
    assert math.exp(-h / neuron.tau_m) == pytest.approx(beta, rel=1e-15)
    np.testing.assert_allclose(lif.layers[0].weight, 1e-4 * 10.0 * w.T / 0.001, rtol=1e-14)
    cuba = import_graph(_graph(("fc", nir.Linear(w)), ("lif", _cuba(3, tau_syn=0.0005,
                                                                    tau_mem=0.001))), options)
    neuron = cuba.neuron_of(cuba.layers[0])
    p = Propagators.of(neuron, h)
    assert p.P11ex == pytest.approx(1 - 0.1 / 0.5, rel=1e-15)
    assert p.P22 == pytest.approx(1 - 0.1 / 1.0, rel=1e-15)
    jump, gain = 1e-4 / 0.0005 * 1.5, 1e-4 / 0.001 * 2.0  # dt/tau_syn w_in, dt/tau_mem r
    np.testing.assert_allclose(cuba.layers[0].weight * 1000 * p.P21ex, gain * jump * w.T,
                               rtol=1e-13)


def test_conv_stride_padding_and_same_padding(rng):
    kernel = rng.normal(size=(2, 1, 3, 3))
    conv = nir.Conv2d(input_shape=(7, 7), weight=kernel, stride=2, padding=1, dilation=1,
                      groups=1, bias=np.array([0.1, -0.2]))
    layer = import_graph(_graph(("conv", conv), ("lif", _lif((2, 4, 4)))), ImportOptions())\
        .layers[0]
    assert (layer.kind, layer.stride, layer.padding, layer.out_shape) == (
        "conv", (2, 2), (1, 1), (2, 4, 4))
    np.testing.assert_allclose(layer.weight, kernel * 3.0 / 0.01, rtol=1e-14)
    same = nir.Conv2d(input_shape=(7, 7), weight=kernel, stride=1, padding="same",
                      dilation=1, groups=1, bias=np.zeros(2))
    layer = import_graph(_graph(("conv", same), ("lif", _lif((2, 7, 7))))).layers[0]
    assert layer.padding == (1, 1) and layer.out_shape == (2, 7, 7) and layer.bias is None


@pytest.mark.parametrize("pool", ["AvgPool2d", "SumPool2d"])
def test_conv_then_pooling_composes_into_one_convolution(pool, rng):
    """Against torch: conv2d (stride 1, padding 1, bias) then pooling 2x2 / stride 2, on
    random inputs, equals the imported layer's synapses (and bias times the window's sum)."""
    kernel, bias = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    conv = nir.Conv2d(input_shape=(8, 8), weight=kernel, stride=1, padding=1, dilation=1,
                      groups=1, bias=bias)
    pooling = getattr(nir, pool)(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                 padding=np.array([0, 0]))
    layer = import_graph(_graph(("conv", conv), ("pool", pooling), ("lif", _lif((3, 4, 4)))),
                         ImportOptions()).layers[0]
    x = rng.uniform(size=(5, 2, 8, 8))
    out = F.conv2d(torch.as_tensor(x), torch.as_tensor(kernel), torch.as_tensor(bias),
                   padding=1)
    out = F.avg_pool2d(out, 2) * (4 if pool == "SumPool2d" else 1)
    synapses = layer_connections(layer).as_matrix()
    # the LIF's gains: weights r / tau = 300 mV per unit, bias C r / (1000 tau) = 0.3 nA
    ours = x.reshape(5, -1) @ synapses / 300.0 + layer.bias_per_neuron() / 0.3
    np.testing.assert_allclose(ours, out.numpy().reshape(5, -1), rtol=1e-12)


def test_pooling_after_neurons_flatten_scale_and_conv_then_affine(rng):
    pooling = nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]),
                            padding=np.array([0, 0]))
    scale = nir.Scale(np.full((2, 2, 2), 2.0))
    kernel = rng.normal(size=(2, 1, 2, 2))
    conv = nir.Conv2d(input_shape=(4, 4), weight=kernel, stride=1, padding=0, dilation=1,
                      groups=1, bias=np.zeros(2))
    graph = _graph(("conv", conv), ("lif0", _lif((2, 3, 3))), ("pool", pooling),
                   ("scale", scale), ("lif1", _lif((2, 2, 2))), ("conv2", nir.Conv2d(
                       input_shape=(2, 2), weight=rng.normal(size=(2, 2, 1, 1)), stride=1,
                       padding=0, dilation=1, groups=1, bias=np.zeros(2))),
                   ("flat", nir.Flatten(input_type={"input": np.array([2, 2, 2])},
                                        start_dim=0)),
                   ("fc", nir.Affine(rng.normal(size=(3, 8)), np.ones(3))),
                   ("lif2", _lif(3)))
    network = import_graph(graph)
    pool, dense = network.layers[1], network.layers[2]
    assert (pool.kind, pool.stride, pool.out_shape) == ("pool", (1, 1), (2, 2, 2))
    np.testing.assert_allclose(pool.weight, np.full((2, 2), 0.25 * 2.0 * 300.0), rtol=1e-14)
    assert dense.kind == "dense" and dense.in_shape == (2, 2, 2) and dense.out_shape == (3,)
    np.testing.assert_allclose(dense.bias, np.full(3, 1.0 * 3.0 / (1000 * 0.01)), rtol=1e-12)


def _refusal(graph, fragment):
    with pytest.raises(ParameterError, match=fragment):
        import_graph(graph)


def test_every_refused_graph_names_the_node_and_why(rng):
    w = rng.normal(size=(3, 3))
    lif = _lif(3)
    recurrent = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}), "fc": nir.Linear(w),
               "lif": lif, "back": nir.Linear(w),
               "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "back"), ("back", "fc"),
               ("lif", "output")], type_check=False)
    _refusal(recurrent, "node 'fc': input from input, back; recurrent")
    delay = nir.Delay(np.full(3, 0.002))
    _refusal(_graph(("fc", nir.Linear(w)), ("d", delay), ("lif", lif)),
             r"node 'd' \(Delay\): synaptic delays")
    _refusal(_graph(("fc", nir.Linear(w)), ("li", nir.LI(np.full(3, 0.01), np.ones(3),
                                                         np.zeros(3)))),
             r"node 'li' \(LI\): a leaky integrator without spikes")
    uneven = nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                     v_threshold=np.array([1.0, 1.0, 2.0]), v_reset=np.zeros(3))
    _refusal(_graph(("fc", nir.Linear(w)), ("lif", uneven)),
             r"node 'lif' \(LIF\): v_threshold differs between its neurons \(1 .. 2\)")
    _refusal(_graph(("fc", nir.Linear(w)), ("lif", lif), ("fc2", nir.Linear(w))),
             r"node 'fc2' \(Linear\): linear nodes after the last neuron node")
    _refusal(_graph(("lif", lif)), r"node 'lif' \(LIF\): follows another neuron node or the "
                                   "input")
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0,
                      dilation=1, groups=1, bias=np.zeros(1))
    _refusal(_graph(("c1", conv), ("c2", nir.Conv2d(
        input_shape=(3, 3), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
        groups=1, bias=np.zeros(1))), ("lif", _lif((1, 2, 2)))),
        r"node 'c2' \(Conv2d\): follows another linear node without neurons")
    grouped = nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 1, 2, 2)), stride=1,
                         padding=0, dilation=1, groups=2, bias=np.zeros(2))
    _refusal(_graph(("c", grouped), ("lif", _lif((2, 3, 3)))), "groups = 2")
    padded = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                           padding=np.array([1, 1]))
    _refusal(_graph(("c", conv), ("p", padded), ("lif", _lif((1, 2, 2)))),
             r"node 'p' \(SumPool2d\): padding \(1, 1\)")
    nested = _graph(("fc", nir.Linear(w)), ("lif", lif))
    _refusal(_graph(("sub", nested)), r"node 'sub' \(NIRGraph\): nested graphs")
    with pytest.raises(ParameterError, match=r"node 'lif' \(LIF\): tau = 0.0001 s gives a "
                                             r"per-step decay 1 - dt/tau = 0"):
        import_graph(_graph(("fc", nir.Linear(w)), ("lif", _lif(3, tau=1e-4))),
                     ImportOptions(dt=0.1))
    branching = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}), "a": nir.Linear(w),
               "b": nir.Linear(w), "lif": lif,
               "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "a"), ("input", "b"), ("a", "lif"), ("lif", "output")],
        type_check=False)
    _refusal(branching, "node 'b': leads nowhere")
    split = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}), "a": nir.Linear(w),
               "lif": lif, "b": nir.Linear(w), "c": nir.Linear(w), "lif2": _lif(3),
               "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "a"), ("a", "lif"), ("lif", "b"), ("b", "c"), ("b", "lif2"),
               ("c", "lif2"), ("lif2", "output")], type_check=False)
    _refusal(split, "node 'b': output to c, lif2; a linear node cannot branch")


def test_command_line_import_export_and_their_errors(rng, tmp_path, capsys):
    network_file.write(conv_network(rng), tmp_path / "net.h5")
    assert main(["nir", "export", str(tmp_path / "net.h5"), "--out", str(tmp_path / "g.nir")]) \
        == 0
    assert main(["nir", "import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "b.h5")]) \
        == 0
    assert "layer 2: dense (3, 4, 4) -> (10,), IF_curr_exp" in capsys.readouterr().out
    assert main(["nir", "import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "b.h5")]) \
        == 2
    assert "--out: " in capsys.readouterr().err
    (tmp_path / "junk.nir").write_bytes(b"not hdf5")
    assert main(["nir", "import", str(tmp_path / "junk.nir"), "--out",
                 str(tmp_path / "c.h5")]) == 2
    assert "junk.nir: not a readable NIR graph" in capsys.readouterr().err
    assert not (tmp_path / "c.h5").exists()
    assert main(["nir", "import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "d.h5"),
                 "--dt", "-1"]) == 2
    assert "--dt: must be a finite number > 0 (got -1.0)" in capsys.readouterr().err
    assert main(["nir", "import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "d.h5"),
                 "--tau-scale", "0"]) == 2
    assert "--tau-scale: must be a finite number > 0 (got 0.0)" in capsys.readouterr().err
    assert main(["nir", "export", str(tmp_path / "net.h5"), "--out", str(tmp_path / "d.nir"),
                 "--dt", "0.1"]) == 0
    assert nir.read(tmp_path / "d.nir").metadata["lifresponse"]["discrete_dt_ms"] == 0.1
    assert main(["nir", "export", str(tmp_path / "net.h5"), "--out", str(tmp_path / "e.nir"),
                 "--dt", "-1"]) == 2
    assert "--dt: must be a finite number > 0 (got -1.0)" in capsys.readouterr().err
    assert not (tmp_path / "e.nir").exists()
    assert not (tmp_path / "d.h5").exists()
    with pytest.raises(FileFormatError, match="no such file"):
        nir_interop.read_graph(tmp_path / "missing.nir")


def test_imported_networks_have_no_ann_model_to_fine_tune(rng, tmp_path):
    network = import_graph(_graph(("fc", nir.Linear(rng.normal(size=(3, 100)))),
                                  ("lif", _cuba(3))))
    with pytest.raises(ParameterError, match="fine tuning needs an ANN model"):
        lr.finetune(network, digits=random_digits(rng, 20), epochs=1, progress=False)


# -- a graph from snnTorch, run on NEST against snnTorch's own simulation ------------------


@pytest.mark.parametrize("neuron, refractory", [("Leaky", 0.0), ("Synaptic", 0.1)])
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_snntorch_graph_on_nest_equals_snntorch(neuron, refractory, bias, tmp_path):
    """snnTorch's graph, exported with its own ``export_to_nir`` (dt = 0.1 ms), imported with
    ``dt=0.1`` and Bernoulli inputs, deployed on NEST; snnTorch runs the same input spikes.

    Expected equal, and measured equal: NEST's exact decays are set to snnTorch's per-step
    ones, a ``Leaky`` with reset to zero is ``iaf_psc_delta`` without refractory period, a
    ``Synaptic`` one ``iaf_psc_exp`` with one refractory step; biases arrive as synaptic input
    every step from the step a layer's first input arrives in, as snnTorch adds them. NEST is
    later by one step per synapse (its minimum delay) and, for current synapses, one more per
    layer, so snnTorch's counts are over the first ``steps - lag`` steps. Tolerance: 99 % of
    (image, neuron) counts equal, because snnTorch computes in float32 and NEST in float64, so
    a membrane within rounding of the threshold can cross in one and not the other (none did
    here).
    """
    from network_helpers import SNNTORCH_LAGS, snntorch_counts, snntorch_net
    from snntorch.export_nir import export_to_nir

    net = snntorch_net(neuron, "zero", bias)
    nir.write(tmp_path / "snn.nir", export_to_nir(net, torch.zeros(1, 1, 12, 12),
                                                   ignore_dims=[0]))
    network = lr.import_nir(tmp_path / "snn.nir", dt=0.1, encoding="bernoulli",
                            tau_refrac=refractory)
    assert [layer.bias_onset for layer in network.layers] == (
        [1, 2 if neuron == "Leaky" else 3] if bias else [None, None])
    rng = np.random.default_rng(1)
    n, steps = 12, 80
    images = (rng.random((n, 12, 12)) * 0.6).astype(np.float32)
    run = lr.deploy(network, digits=Digits(images, np.arange(n) % 10, "random"),
                    window=steps * 0.1, record="all", threads=1, seed=4, progress=False)
    inputs = bernoulli_inputs(images.reshape(n, -1).astype(float),
                              Presentation(steps * 0.1, 0.0, 0.1), 0, 4)
    np.testing.assert_array_equal(inputs.counts, run.input_counts)
    for index, theirs in enumerate(snntorch_counts(net, images, steps, 4,
                                                   SNNTORCH_LAGS[neuron])):
        assert np.mean(theirs == run.layer_counts[index]) >= 0.99, index
        assert theirs.sum() > 100  # the layers are active, so the comparison means something
    events = lr.energy(run)["synaptic_event_model"]["events_per_layer"]  # the report reads it
    assert events["layer 0"] == run.layer_counts[0].sum(0) @ run.fan_out[0] > 0


# -- graphs from Norse, sinabs and SpikingJelly, each against the framework's own simulation --

FRAMEWORK_STEPS = 60


def _framework_inputs(timestep: float) -> tuple:
    """12 random 12 x 12 images and the Bernoulli input spikes the toolkit draws for them
    (seed 4), as frames (steps, images, 1, 12, 12) of 0 and 1 for a framework to run."""
    n = 12
    images = (np.random.default_rng(1).random((n, 12, 12)) * 0.6).astype(np.float32)
    inputs = bernoulli_inputs(images.reshape(n, -1).astype(float),
                              Presentation(FRAMEWORK_STEPS * timestep, 0.0, timestep), 0, 4)
    frames = np.zeros((FRAMEWORK_STEPS, n, 144), np.float32)
    frames[inputs.step - 1, inputs.image, inputs.neuron] = 1
    return images, torch.as_tensor(frames.reshape(FRAMEWORK_STEPS, n, 1, 12, 12))


def _assert_equal_counts(network, images, timestep: float, backend: str, spikes: list) -> None:
    """``network`` on ``backend`` against a framework's spikes per layer ((steps, images, ...)
    each): 99 % of (image, neuron) counts equal, over the framework's first ``steps - lag``
    steps, layer ``i`` being ``i + 1`` steps later here (one minimum delay per synapse).
    Tolerance: the frameworks compute in float32 and NEST in float64, so a membrane within
    rounding of the threshold can cross in one and not the other (all were equal here)."""
    run = lr.deploy(network, digits=Digits(images, np.arange(len(images)) % 10, "random"),
                    window=FRAMEWORK_STEPS * timestep, record="all", threads=1, seed=4,
                    backend=backend, progress=False)
    for index, layer in enumerate(spikes):
        theirs = layer[:FRAMEWORK_STEPS - index - 1].reshape(
            FRAMEWORK_STEPS - index - 1, len(images), -1).sum(axis=0)
        assert np.mean(theirs == run.layer_counts[index]) >= 0.99, index
        assert theirs.sum() > 50  # the layer is active, so the comparison means something


@pytest.mark.parametrize("backend", ["nest", "torch"])
def test_norse_graph_equals_norse(backend):
    """Norse 1.1.0's graph of ``LIFBoxCell`` neurons (NIR ``LIF``: no synaptic current, reset
    to 0), exported with its own ``to_nir`` (its step 1 ms), imported with ``dt=1``,
    ``tau_scale=1000`` (its exporter writes ``dt / tau_mem_inv``, the time constant times the
    step in seconds: norse/norse#411) and Bernoulli inputs. Norse's forward Euler step
    ``v += dt tau_mem_inv (v_leak - v + i)`` is a per-step decay ``1 - dt / tau`` and a jump
    ``dt / tau`` per unit input, which the discrete-time import gives ``iaf_psc_delta``
    exactly. Dense layers only: Norse's exporter has no ``Flatten`` (the node comes out None).
    The graph stays in memory: Norse writes its time constants as 0-d tensors, which
    ``nir.write`` (nir 1.0.8) cannot store."""
    norse = pytest.importorskip("norse.torch")
    torch.manual_seed(0)
    neurons = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(100.0), v_th=torch.tensor(1.0))
    linears = torch.nn.Linear(144, 32), torch.nn.Linear(32, 10)
    with torch.no_grad():  # Norse's exporter needs biases; these are 0
        for linear in linears:
            linear.weight.mul_(14.0)
            linear.bias.zero_()
    cells = norse.LIFBoxCell(neurons), norse.LIFBoxCell(neurons)
    graph = norse.to_nir(norse.SequentialState(linears[0], cells[0], linears[1], cells[1]),
                         torch.zeros(144))
    network = lr.import_nir(graph, dt=1.0, encoding="bernoulli", tau_scale=1000.0)
    assert network.neuron_of(network.layers[0]).tau_m == pytest.approx(-1.0 / math.log(0.9))
    images, frames = _framework_inputs(1.0)
    states, spikes = [None, None], [[], []]
    with torch.no_grad():
        for frame in frames:
            z = frame.flatten(1)
            for i, (linear, cell) in enumerate(zip(linears, cells, strict=True)):
                z, states[i] = cell(linear(z), states[i])
                spikes[i].append(z.numpy())
    _assert_equal_counts(network, images, 1.0, backend, [np.array(s) for s in spikes])


@pytest.mark.parametrize("backend", ["nest", "torch"])
def test_sinabs_graph_equals_sinabs(backend, request):
    """sinabs 2.0.3's graph of ``IAFSqueeze`` neurons with single spikes (NIR ``IF``: no leak,
    reset by subtraction), conv -> neurons -> ``SumPool2d`` -> ``Flatten`` -> dense ->
    neurons, exported with its own ``to_nir``, imported in continuous time on a 1 ms step with
    ``reset="subtract"`` (NIR cannot say it; sinabs' ``MembraneSubtract``): sinabs adds each
    step's input to the membrane, which is NIR's ``IF`` with a spike of unit area, and NEST
    subtracts through the NESTML model. sinabs' default ``MultiSpike`` (several spikes in a
    step) has no PyNN neuron."""
    sinabs = pytest.importorskip("sinabs")
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    if backend == "nest":
        request.getfixturevalue("nestml_models")  # NEST subtracts through the NESTML model

    torch.manual_seed(0)
    conv, dense = torch.nn.Conv2d(1, 4, 5, bias=False), torch.nn.Linear(64, 10, bias=False)
    with torch.no_grad():
        conv.weight.mul_(2.0)
        dense.weight.mul_(2.0)

    def model(batch):
        return torch.nn.Sequential(conv, sl.IAFSqueeze(batch_size=batch, spike_fn=SingleSpike),
                                   sl.SumPool2d(2), torch.nn.Flatten(), dense,
                                   sl.IAFSqueeze(batch_size=batch, spike_fn=SingleSpike))

    exported = model(1)
    exported(torch.zeros(1, 1, 12, 12))  # sinabs reads its layers' shapes from their states
    network = lr.import_nir(sinabs.to_nir(exported, torch.zeros(1, 1, 12, 12)), timestep=1.0,
                            encoding="bernoulli", reset="subtract")
    assert [layer.reset for layer in network.layers] == ["subtract", "subtract"]
    images, frames = _framework_inputs(1.0)
    running = model(len(images))
    with torch.no_grad():  # a Squeeze layer takes (images x steps, ...), image-major
        hidden = running[1](running[0](frames.transpose(0, 1).reshape(-1, 1, 12, 12)))
        output = running[5](running[4](running[3](running[2](hidden))))
    spikes = [layer.reshape(len(images), FRAMEWORK_STEPS, -1).transpose(0, 1).numpy()
              for layer in (hidden, output)]
    _assert_equal_counts(network, images, 1.0, backend, spikes)


@pytest.mark.parametrize("backend", ["nest", "torch"])
def test_spikingjelly_graph_equals_spikingjelly(backend):
    """SpikingJelly 2.0.0's graph of ``LIFNode`` neurons (tau 5 steps, hard reset to 0: its
    exporter refuses the soft reset), conv -> neurons -> ``AvgPool2d`` -> ``Flatten`` -> dense
    -> neurons, exported with its own ``export_to_nir`` (its step 0.1 ms), imported with
    ``dt=0.1``: its update ``v += (x - (v - v_reset)) / tau`` is NIR's ``LIF`` read as the
    Euler step, which the discrete-time import gives ``iaf_psc_delta`` exactly."""
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    torch.manual_seed(0)
    conv, dense = torch.nn.Conv2d(1, 4, 5, bias=False), torch.nn.Linear(64, 10, bias=False)
    with torch.no_grad():
        conv.weight.mul_(4.0)
        dense.weight.mul_(30.0)
    net = torch.nn.Sequential(conv, neuron.LIFNode(tau=5.0), torch.nn.AvgPool2d(2),
                              torch.nn.Flatten(), dense, neuron.LIFNode(tau=5.0))
    network = lr.import_nir(export_to_nir(net, torch.zeros(1, 1, 12, 12)), dt=0.1,
                            encoding="bernoulli")
    images, frames = _framework_inputs(0.1)
    functional.reset_net(net)
    spikes = [[], []]
    with torch.no_grad():
        for frame in frames:
            hidden = net[1](net[0](frame))
            spikes[0].append(hidden.numpy())
            spikes[1].append(net[5](net[4](net[3](net[2](hidden)))).numpy())
    _assert_equal_counts(network, images, 0.1, backend, [np.array(s) for s in spikes])


def test_discrete_export_runs_in_spikingjelly_as_here(rng):
    """``export_network(dt=...)`` for frameworks that step a graph: SpikingJelly 2.0.0's own
    importer (which takes a ``CubaLIF`` only with ``r = tau_mem / dt``, ``w_in = tau_syn /
    dt``, ``v_leak = 0``) runs a network without refractory period and ``i_offset`` (what no
    NIR neuron holds exactly) on the same Poisson input spikes as the torch simulator: equal
    counts, each layer two steps earlier there (our synapses' one-step delay, and NEST's
    membrane taking its current a step later). Tolerance 99 %: float32 against float64."""
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    from lifresponse.networks.encoding import poisson_inputs

    network = conv_network(rng, LIFParams(tau_refrac=0.0, i_offset=0.0))
    network = dataclasses.replace(network, layers=[
        dataclasses.replace(layer, weight=np.asarray(layer.weight) * 3.0)
        for layer in network.layers])
    digits, steps = random_digits(rng, 12), 60
    run = lr.deploy(network, digits=digits, backend="torch", window=float(steps),
                    record="all", seed=3, threads=1, progress=False)
    inputs = poisson_inputs(np.asarray(digits.images, float).reshape(12, -1),
                            Presentation(float(steps), 0.0, 1.0), network.input_rate, 0, 3)
    frames = np.zeros((steps, 12, 100), np.float32)
    np.add.at(frames, (inputs.step - 1, inputs.image, inputs.neuron), 1)
    model = import_from_nir(nir_interop.export_network(network, dt=0.1), dt=1e-4)
    names = [name for name, _ in model.named_children() if name.startswith("lif")]
    spikes = {name: [] for name in names}
    for name in names:
        getattr(model, name).register_forward_hook(
            lambda module, args, out, name=name: spikes[name].append(out[0].flatten(1).numpy()))
    state = None
    with torch.no_grad():
        for frame in frames:
            _, state = model(torch.as_tensor(frame).view(12, 1, 10, 10), state)
    for index, name in enumerate(names):
        theirs = np.sum(spikes[name][:steps - 2 * (index + 1)], axis=0)
        assert np.mean(theirs == run.layer_counts[index]) >= 0.99, index
        assert theirs.sum() > 100


def test_the_discrete_export_refuses_what_it_cannot_write(rng):
    network = conv_network(rng)
    delta = dataclasses.replace(network, layers=[
        dataclasses.replace(network.layers[0], cell="IF_curr_delta"), *network.layers[1:]])
    with pytest.raises(ParameterError, match="layer 0: the discrete export writes IF_curr_exp "
                                             "neurons that reset to v_reset"):
        nir_interop.export_network(delta, dt=0.1)
    with pytest.raises(ParameterError, match="dt: must be a finite number > 0"):
        nir_interop.export_network(network, dt=0.0)
    graph = nir_interop.export_network(network, dt=0.1)
    lif = graph.nodes["lif0"]
    np.testing.assert_allclose(lif.r, lif.tau_mem / 1e-4)  # what frameworks' importers check
    np.testing.assert_allclose(lif.w_in, lif.tau_syn / 1e-4)
    assert np.all(lif.v_leak == 0) and np.all(lif.v_threshold == 15.0)


def test_snntorch_graph_maps_on_a_virtual_spinnaker_board(tmp_path, spinnaker_virtual_board):
    pytest.importorskip("snntorch")
    from network_helpers import snntorch_net
    from snntorch.export_nir import export_to_nir

    nir.write(tmp_path / "snn.nir", export_to_nir(snntorch_net("Leaky", "zero", bias=True),
                                                   torch.zeros(1, 1, 12, 12), ignore_dims=[0]))
    images = (np.random.default_rng(0).random((2, 12, 12)) * 0.6).astype(np.float32)
    digits = Digits(images, np.arange(2), "random")
    arriving = lr.import_nir(tmp_path / "snn.nir", dt=0.1, encoding="bernoulli")
    with pytest.raises(BackendError, match="layer 0's bias arrives as synaptic input every "
                                           "step .* import the graph with its biases as "
                                           "currents"):
        lr.deploy(arriving, digits=digits, window=5.0, backend="spinnaker", progress=False)
    network = lr.import_nir(tmp_path / "snn.nir", dt=0.1, encoding="bernoulli", bias="current")
    run = lr.deploy(network, digits=digits, window=5.0, backend="spinnaker", progress=False)
    assert run.attrs["backend"] == "spinnaker" and not run.attrs["spikes_returned"]
    assert run.attrs["connectors"] == "lists"  # delta cells and a bias: no native connectors


def test_biases_arriving_as_synaptic_input_run_alike_everywhere(rng, tmp_path, monkeypatch):
    """Layers whose bias arrives as synaptic input every step from a given step (what a
    discrete-time import makes): NEST, the CPU loop and the torch operations give the same
    spikes; the network file keeps the step; export and bad steps are refused by name."""
    from network_helpers import assert_same_run, on_nest_and_torch, v2_digits, without_step_kernel

    from lifresponse.deployment import DeployConfig, deploy

    network = _v2_network(rng)  # biases of both signs in layer 0 (conv) and 2 (delta)
    network.timestep = 0.1
    network.layers[0].bias_onset, network.layers[2].bias_onset = 1, 5
    network.layers[2].bias = np.abs(network.layers[2].bias)  # one sign: no inhibitory part
    network_file.write(network, tmp_path / "n.h5")
    assert [layer.bias_onset for layer in network_file.read(tmp_path / "n.h5").layers] == [
        1, None, 5, None]
    digits = v2_digits(rng)
    config = dict(window=30.0, record="all", seed=2)
    on_nest, on_loop = on_nest_and_torch(network, digits)
    assert on_loop.attrs["step_loop"] == "numba step loop"
    assert min(c.sum() for c in on_nest.layer_counts.values()) > 20
    assert_same_run(on_nest, on_loop)

    without_step_kernel(monkeypatch)
    assert_same_run(on_nest, deploy(network, digits, DeployConfig(backend="torch", batch=3,
                                                                  **config), progress=False))
    currents = deploy(dataclasses.replace(network, layers=[dataclasses.replace(
        layer, bias_onset=None) for layer in network.layers]), digits,
        DeployConfig(backend="torch", batch=3, **config), progress=False)
    assert not np.array_equal(currents.layer_counts[0], on_nest.layer_counts[0])
    with pytest.raises(ParameterError, match="layer 0: its bias arrives as synaptic input"):
        lr.export_nir(network)
    network.layers[1].bias_onset = 3  # a pooling layer without bias
    with pytest.raises(FileFormatError, match=r"layer 1 \(pool\): bias_onset 3 must be a step "
                                              ">= 1 of a layer with a bias"):
        network_file.write(network, tmp_path / "bad.h5")
    with pytest.raises(ParameterError, match=r"bias: arrivals are a discrete-time .* \(--dt\)"):
        ImportOptions(bias="arrivals")
