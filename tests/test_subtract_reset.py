"""Reset by subtraction: the torch step against a hand-computed trace, the CPU loop against the
torch operations, the NESTML models against NEST's built-ins and against the torch step, a
subtracting network on NEST against the torch simulator, the network file and NIR import
options, snnTorch's default (``reset_mechanism="subtract"``) neurons on the torch simulator and
on NEST against snnTorch's own run, and how a NESTML build fails or a cached module is refused."""

import os

import nir
import numpy as np
import pytest
from network_helpers import (
    SNNTORCH_LAGS,
    assert_same_run,
    on_nest_and_torch,
    snntorch_counts,
    snntorch_net,
    v2_digits,
    without_step_kernel,
)

import lifresponse as lr
from lifresponse.backends.nest import subtract_reset
from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import BackendError, FileFormatError, ParameterError
from lifresponse.interop.nir import ImportOptions
from lifresponse.networks import network_file
from lifresponse.neuron import LIFParams
from lifresponse.propagators import Propagators

torch = pytest.importorskip("torch")
neuron_step = pytest.importorskip("lifresponse.backends.torch.neuron_step")


def subtracting(network):
    """``network`` with every layer resetting by subtraction."""
    for layer in network.layers:
        layer.reset = "subtract"
    return network


def test_a_subtracting_neuron_keeps_what_it_had_above_threshold():
    """One all-but-leakless IF_curr_delta neuron (tau_m 1e12 ms), v_rest 0, v_reset 0,
    v_thresh 1, a jump of 0.65 mV per step: by hand the membrane after step t is 0.65 t minus
    one per spike so far, so it fires in 6 of 10 steps (none closer than 0.05 mV to the
    threshold), where a reset to v_reset fires every second step (0.65, 1.3 -> 0, ...)."""
    neuron = LIFParams(tau_m=1e12, v_rest=0.0, v_reset=0.0, v_thresh=1.0, tau_refrac=0.0,
                       i_offset=0.0)
    by_hand, fired = [], 0
    for t in range(1, 11):
        fired += 0.65 * t - fired >= 1.0
        by_hand.append(0.65 * t - fired)
    spikes = {}
    for reset in ("subtract", "v_reset"):
        p = Propagators.of(neuron, 1.0, "IF_curr_delta", reset)
        state = neuron_step.NeuronState.at_rest((1,), p, torch.float64, "cpu")
        spikes[reset], trace = [], []
        for _ in range(10):
            state, s = neuron_step.neuron_step(state, p, p.offset_drive,
                                               torch.tensor([0.65], dtype=torch.float64))
            spikes[reset].append(int(s.item()))
            trace.append(state.v.item())
        if reset == "subtract":
            np.testing.assert_allclose(trace, by_hand, atol=1e-9)
    assert sum(spikes["subtract"]) == fired == 6 and spikes["v_reset"] == [0, 1] * 5


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_step_loop_equals_torch_operations_when_resetting_by_subtraction(rng, monkeypatch, dtype):
    """Every layer subtracting (conv with bias, pooling, a delta layer, a refractory dense
    layer): the CPU loop and the torch operations give the same spikes (float64), the same
    classifications (float32), and other counts than the same network resetting to v_reset."""
    from test_nir import _v2_network

    network = subtracting(_v2_network(rng))
    network.timestep = 0.1
    digits = Digits(rng.uniform(0, 1, (6, 3, 9, 9)).astype(np.float32), np.arange(6) % 3,
                    "random")
    config = DeployConfig(backend="torch", window=30.0, record="all", threads=2, batch=4,
                          seed=5, dtype=dtype)
    loop = deploy(network, digits, config, progress=False)

    without_step_kernel(monkeypatch)
    operations = deploy(network, digits, config, progress=False)
    assert (loop.attrs["step_loop"], operations.attrs["step_loop"]) == (
        "numba step loop", "torch operations")
    if dtype == "float64":
        assert_same_run(loop, operations)
    else:
        assert loop.attrs["evaluation"]["accuracy"] == operations.attrs["evaluation"]["accuracy"]
    for layer in network.layers:
        layer.reset = "v_reset"
    resetting = deploy(network, digits, config, progress=False)
    assert any(not np.array_equal(loop.layer_counts[i], resetting.layer_counts[i])
               for i in loop.layer_counts)


def test_network_file_records_the_reset_per_layer(rng, tmp_path):
    from test_nir import _v2_network

    network = _v2_network(rng)
    network.layers[2].reset = "subtract"
    network_file.write(network, tmp_path / "n.h5")
    read = network_file.read(tmp_path / "n.h5")
    assert [layer.reset for layer in read.layers] == ["v_reset", "v_reset", "subtract", "v_reset"]
    network.layers[2].reset = "halve"
    with pytest.raises(FileFormatError, match=r"layer 2 \(dense\): reset 'halve' is not one of "
                                              "v_reset, subtract"):
        network_file.write(network, tmp_path / "bad.h5")
    network.layers[2].reset = "subtract"
    network.layers[2].cell = "IF_curr_alpha"
    with pytest.raises(FileFormatError, match="layer 2 .*not IF_curr_alpha"):
        network_file.write(network, tmp_path / "bad.h5")


def test_nir_export_carries_the_reset_and_import_options_refuse_what_cannot_be(rng, tmp_path):
    from test_nir import _v2_network

    network = subtracting(_v2_network(rng))
    lr.export_nir(network, out=tmp_path / "g.nir")
    back = lr.import_nir(tmp_path / "g.nir")  # from our metadata
    assert [layer.reset for layer in back.layers] == ["subtract"] * 4
    assert [layer.reset for layer in lr.import_nir(tmp_path / "g.nir", reset="v_reset").layers
            ] == ["v_reset"] * 4  # the option wins over the metadata
    with pytest.raises(ParameterError, match="reset: must be one of v_reset, subtract, "
                                             "subtract-next-step"):
        ImportOptions(reset="zero")
    with pytest.raises(ParameterError, match=r"subtract-next-step .* \(--dt\)"):
        ImportOptions(reset="subtract-next-step")


# -- snnTorch's default neurons -------------------------------------------------------------


@pytest.mark.parametrize("neuron", ["Leaky", "Synaptic"])
def test_snntorch_subtracting_neurons_on_the_torch_simulator(neuron, tmp_path):
    """snnTorch's default reset subtracts the threshold from the next step's update, after
    the decay; imported with ``reset="subtract-next-step"`` (a jump of threshold / beta at
    the spike) the torch simulator gives snnTorch's counts. Tolerance 99 % of (image, neuron)
    counts equal: snnTorch computes in float32, the simulator in float64 (measured: 100 %).
    The plain ``subtract`` (at the spike) and ``v_reset`` give other counts, measured far
    below that."""
    from snntorch.export_nir import export_to_nir

    net = snntorch_net(neuron, "subtract", bias=True)
    nir.write(tmp_path / "snn.nir", export_to_nir(net, torch.zeros(1, 1, 12, 12),
                                                   ignore_dims=[0]))
    n, steps = 12, 80
    images = (np.random.default_rng(1).random((n, 12, 12)) * 0.6).astype(np.float32)
    theirs = snntorch_counts(net, images, steps, 4, SNNTORCH_LAGS[neuron])
    agreement = {}
    for reset in ("subtract-next-step", "subtract", "v_reset"):
        network = lr.import_nir(tmp_path / "snn.nir", dt=0.1, encoding="bernoulli", reset=reset)
        if reset != "v_reset":
            beta = network.propagators(network.layers[0]).P22
            jump = network.neuron_of(network.layers[0]).v_thresh - network.neuron_of(
                network.layers[0]).v_reset
            assert jump == pytest.approx(1.0 / beta if reset == "subtract-next-step" else 1.0,
                                         rel=1e-9)
        run = lr.deploy(network, digits=Digits(images, np.arange(n) % 10, "random"),
                        backend="torch", window=steps * 0.1, record="all", threads=1, seed=4,
                        progress=False)
        agreement[reset] = [np.mean(t == run.layer_counts[i]) for i, t in enumerate(theirs)]
    assert min(agreement["subtract-next-step"]) >= 0.99
    assert max(agreement["subtract"] + agreement["v_reset"]) < 0.99
    assert min(t.sum() for t in theirs) > 1000  # active layers: the comparison means something


# -- NEST: the NESTML models --------------------------------------------------------------


def _nest_neuron(nest, model: str, params: dict, weights, times, h: float):
    """One neuron of ``model`` driven by one spike generator (``weights[i]`` at ``times[i]``,
    one connection per spike), its V_m recorded every step: (V_m, spike times)."""
    cell = nest.Create(model, params=params)
    for weight, time in zip(weights, times, strict=True):
        source = nest.Create("spike_generator", params={"spike_times": [time]})
        nest.Connect(source, cell, syn_spec={"weight": weight, "delay": h})
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": h})
    recorder = nest.Create("spike_recorder")
    nest.Connect(meter, cell)
    nest.Connect(cell, recorder)
    return meter, recorder


@pytest.mark.parametrize("cell", ["IF_curr_exp", "IF_curr_delta"])
def test_nestml_models_equal_nests_own_when_resetting_to_v_reset(nestml_models, nest_kernel,
                                                                   cell, rng):
    """With ``reset_by_subtraction`` false the NESTML model is NEST's built-in, membrane and
    spike times bit for bit: 300 spikes of both signs into one neuron over 200 ms at 0.1 ms,
    with a refractory period and I_e, beside the built-in on the same input."""
    nest = nest_kernel
    nest.Install(str(nestml_models))
    h = 0.1
    params = {"C_m": 200.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -65.0, "V_reset": -68.0,
              "V_th": -50.0, "I_e": 250.0, "V_m": -65.0}
    if cell == "IF_curr_exp":
        params.update(tau_syn_ex=2.0, tau_syn_in=5.0)
    scale = 400.0 if cell == "IF_curr_exp" else 4.0
    weights = rng.choice([-1, 1], 300, p=[0.3, 0.7]) * rng.uniform(0.2, 1.0, 300) * scale
    times = np.round(rng.uniform(1, 199, 300) / h) * h
    built_in = _nest_neuron(nest, "iaf_psc_exp" if cell == "IF_curr_exp" else "iaf_psc_delta",
                            params, weights, times, h)
    ours = _nest_neuron(nest, subtract_reset.MODELS[cell],
                        dict(params, reset_by_subtraction=False), weights, times, h)
    nest.Simulate(200.0)
    (v_a, spikes_a), (v_b, spikes_b) = [
        (meter.get("events")["V_m"], recorder.get("events")["times"])
        for meter, recorder in (built_in, ours)]
    assert len(spikes_a) > 5
    np.testing.assert_array_equal(spikes_a, spikes_b)
    np.testing.assert_array_equal(v_a, v_b)


def test_nestml_subtraction_equals_the_torch_step_through_refractoriness(nestml_models,
                                                                         nest_kernel):
    """An iaf_psc_exp_subtract neuron (2 steps refractory) that one large input drives far
    above threshold, so that after a subtraction it is still above: it fires again only when
    no longer refractory. Its membrane every step equals the torch step's, bit for bit."""
    nest = nest_kernel
    h = 0.5
    nest.resolution = h
    nest.Install(str(nestml_models))
    neuron = LIFParams(cm=0.25, tau_m=20.0, tau_refrac=1.0, v_rest=-65.0, v_reset=-70.0,
                       v_thresh=-55.0, i_offset=0.2, tau_syn_E=2.0, tau_syn_I=4.0)
    weights, times = [12000.0, 6000.0, -800.0, 1500.0], [2.0, 8.0, 9.0, 20.0]  # pA
    meter, recorder = _nest_neuron(nest, "iaf_psc_exp_subtract", {
        "C_m": 250.0, "tau_m": 20.0, "t_ref": 1.0, "E_L": -65.0, "V_reset": -70.0,
        "V_th": -55.0, "I_e": 200.0, "tau_syn_ex": 2.0, "tau_syn_in": 4.0, "V_m": -65.0},
        weights, times, h)
    nest.Simulate(40.0)
    p = Propagators.of(neuron, h, "IF_curr_exp", "subtract")
    state = neuron_step.NeuronState.at_rest((1,), p, torch.float64, "cpu")
    trace, spikes = [], []
    for step in range(1, round(40.0 / h)):
        # a spike sent at t arrives after the one-step delay, in the step that ends at t + 2h
        arriving = [w for w, t in zip(weights, times, strict=True) if round(t / h) + 1 == step]
        ex = torch.tensor([sum(w for w in arriving if w > 0)], dtype=torch.float64)
        inh = torch.tensor([sum(w for w in arriving if w < 0)], dtype=torch.float64)
        state, s = neuron_step.neuron_step(state, p, p.offset_drive, ex, inh)
        trace.append(state.v.item() + neuron.v_rest)
        if s.item():
            spikes.append(step * h)
    np.testing.assert_array_equal(recorder.get("events")["times"], spikes)
    # still above threshold after a subtraction, it fired again as soon as it was no longer
    # refractory (2 steps), 3 steps after the spike before, and never sooner
    assert np.isclose(np.diff(spikes), 3 * h).any() and min(np.diff(spikes)) > 2.5 * h
    recorded = meter.get("events")["V_m"]  # every step but the last (the multimeter's lag)
    np.testing.assert_array_equal(recorded, trace[:len(recorded)])


def test_subtracting_network_on_nest_equals_the_torch_simulator(nestml_models, rng):
    """Every layer subtracting (conv with bias, pooling, a delta layer, a refractory dense
    layer) at 0.1 ms: NEST's NESTML models and the torch simulator, spike for spike."""
    from test_nir import _v2_network

    network = subtracting(_v2_network(rng))
    network.timestep = 0.1
    on_nest, on_torch = on_nest_and_torch(network, v2_digits(rng))
    assert min(c.sum() for c in on_nest.layer_counts.values()) > 100
    assert_same_run(on_nest, on_torch)


@pytest.mark.parametrize("neuron", ["Leaky", "Synaptic"])
def test_snntorch_subtracting_neurons_on_nest(nestml_models, neuron, tmp_path):
    """As on the torch simulator: snnTorch's default neurons imported with
    ``reset="subtract-next-step"`` run on NEST as the NESTML models and give snnTorch's counts
    (99 % of (image, neuron) counts equal, float32 against float64)."""
    from snntorch.export_nir import export_to_nir

    net = snntorch_net(neuron, "subtract", bias=True)
    nir.write(tmp_path / "snn.nir", export_to_nir(net, torch.zeros(1, 1, 12, 12),
                                                   ignore_dims=[0]))
    n, steps = 12, 80
    images = (np.random.default_rng(1).random((n, 12, 12)) * 0.6).astype(np.float32)
    network = lr.import_nir(tmp_path / "snn.nir", dt=0.1, encoding="bernoulli",
                            reset="subtract-next-step")
    run = lr.deploy(network, digits=Digits(images, np.arange(n) % 10, "random"),
                    window=steps * 0.1, record="all", threads=1, seed=4, progress=False)
    for i, theirs in enumerate(snntorch_counts(net, images, steps, 4, SNNTORCH_LAGS[neuron])):
        assert np.mean(theirs == run.layer_counts[i]) >= 0.99, i


def test_a_missing_build_tool_is_named_and_nothing_is_half_written(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFRESPONSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no compiler, no CMake
    with pytest.raises(subtract_reset.NestmlBuildError,
                       match=r"lacks a C\+\+ compiler \(g\+\+\), CMake \(.*apt install g\+\+ "
                             r"cmake libboost-dev"):
        subtract_reset.module_file()
    assert not (tmp_path / "cache").exists()


def test_a_module_others_can_write_or_own_is_not_loaded(nestml_models):
    folder = nestml_models.parent
    mode = folder.stat().st_mode
    folder.chmod(mode | 0o020)
    try:
        with pytest.raises(BackendError, match=r"others can write to it .*chmod go-w"):
            subtract_reset.module_file()
    finally:
        folder.chmod(mode)
    if os.getuid() == 0:  # only root can give a file away
        os.chown(nestml_models, 4321, -1)
        try:
            with pytest.raises(BackendError, match=r"owned by user 4321, not by you"):
                subtract_reset.module_file()
        finally:
            os.chown(nestml_models, 0, -1)
    assert subtract_reset.module_file() == nestml_models


@pytest.mark.spinnaker
def test_spinnaker_refuses_reset_by_subtraction(rng, spinnaker_virtual_board):
    from test_nir import _v2_network

    network = _v2_network(rng)
    network.layers[2].reset = "subtract"
    digits = Digits(rng.uniform(0, 1, (2, 3, 9, 9)).astype(np.float32), np.arange(2), "random")
    with pytest.raises(BackendError, match="layer 2 resets by subtraction, which no built-in "
                                           "neuron of spinnaker does; deploy it on NEST"):
        lr.deploy(network, digits=digits, window=5.0, backend="spinnaker", progress=False)


def test_cli_import_says_which_layers_subtract(rng, tmp_path, capsys):
    from test_nir import _v2_network

    lr.export_nir(_v2_network(rng), out=tmp_path / "g.nir")
    main(["nir", "import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "n.h5"),
          "--reset", "subtract"])
    out = capsys.readouterr().out
    assert out.count("resets by subtracting") == 4 and "subtracting 15 mV" in out
    assert [layer.reset for layer in network_file.read(tmp_path / "n.h5").layers] == [
        "subtract"] * 4


def test_a_broken_compiler_is_named_with_its_message(tmp_path, monkeypatch):
    """A compiler that fails on an empty program is reported as such, with what it said, not
    as missing headers."""
    broken = tmp_path / "g++"
    broken.write_text("#!/bin/sh\necho 'licence server unreachable' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CXX", str(broken))
    monkeypatch.setenv("LIFRESPONSE_CACHE", str(tmp_path / "cache"))
    absent = subtract_reset.missing()
    assert absent[-1].startswith(f"a working C++ compiler ({broken} failed on an empty program")
    assert "licence server unreachable" in absent[-1]
    assert not any("libboost-dev" in entry for entry in absent)
    with pytest.raises(subtract_reset.NestmlBuildError, match="licence server unreachable"):
        subtract_reset.module_file()
