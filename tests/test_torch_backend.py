"""The exact torch simulator against NEST: the same network and input spikes give the same
spikes; the rest protocol makes an image's counts independent of how the run is cut up."""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from network_helpers import assert_same_run, conv_network, random_digits, without_step_kernel

from lifresponse.backends.torch import step_kernel
from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import BackendError, ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.network_file import Layer, Network
from lifresponse.neuron import LIFParams
from lifresponse.propagators import Propagators

torch = pytest.importorskip("torch")
operations = pytest.importorskip("lifresponse.backends.torch.operations")
device = pytest.importorskip("lifresponse.backends.torch.device")


@pytest.mark.parametrize("neuron, timestep", [
    (LIFParams(), 1.0),
    # refractory period of 4 steps, tau_syn = 2 ms: another settle time and other propagators
    (LIFParams(tau_refrac=2.0, tau_syn_E=2.0, tau_syn_I=2.0, i_offset=0.05), 0.5),
], ids=["1ms", "0.5ms-refractory-4-steps"])
def test_torch_equals_nest_spike_for_spike(rng, neuron, timestep):
    network = conv_network(rng, neuron, timestep)
    digits = random_digits(rng)
    # blocks of 3 on NEST: the hand-over of input spikes between blocks is exercised
    nest_run = deploy(network, digits, DeployConfig(window=60.0, gap=2.0, block=3, threads=1,
                                                    seed=4), progress=False)
    torch_run = deploy(network, digits, DeployConfig(backend="torch", window=60.0, gap=2.0,
                                                     batch=4, threads=1, seed=4),
                       progress=False)
    assert nest_run.layer_counts[0].sum() > 500  # the network is active
    assert_same_run(nest_run, torch_run)
    assert nest_run.attrs["evaluation"] == torch_run.attrs["evaluation"]
    assert torch_run.attrs["protocol"] == nest_run.attrs["protocol"] == "rest"


@pytest.mark.parametrize("neuron, h", [
    (LIFParams(cm=0.2, tau_m=15.0, tau_refrac=2.0, v_reset=-3.0, v_rest=0.0, v_thresh=12.0,
               i_offset=0.15, tau_syn_E=3.0, tau_syn_I=7.0), 0.5),
    # constants where NEST's forms (IAFPropagatorExp, its own expm1) and the textbook ones
    # (propagator_32, math.expm1) differ in the last bit
    (LIFParams(cm=0.25, tau_m=20.0, tau_refrac=2.0, v_reset=-3.0, v_rest=0.0, v_thresh=12.0,
               i_offset=0.25, tau_syn_E=2.0, tau_syn_I=5.0), 1.0),
], ids=["0.5ms", "1ms"])
@pytest.mark.parametrize("cell, model", [("IF_curr_exp", "iaf_psc_exp"),
                                         ("IF_curr_delta", "iaf_psc_delta"),
                                         ("IF_curr_alpha", "iaf_psc_alpha")])
def test_neuron_step_reproduces_nest_membrane_traces(nest_kernel, cell, model, neuron, h):
    """The torch neuron step of each cell against NEST's V_m (E_L = 0, so NEST records its
    internal V exactly) under spikes of both signs, refractoriness and I_e, bit for bit."""
    from lifresponse.backends.torch.neuron_step import NeuronState, neuron_step

    nest = nest_kernel
    nest.resolution = h
    params = {"C_m": 1000.0 * neuron.cm, "tau_m": neuron.tau_m, "t_ref": neuron.tau_refrac,
              "V_reset": neuron.v_reset, "E_L": 0.0, "V_th": neuron.v_thresh,
              "I_e": 1000.0 * neuron.i_offset, "V_m": 0.0}
    if cell != "IF_curr_delta":
        params.update(tau_syn_ex=neuron.tau_syn_E, tau_syn_in=neuron.tau_syn_I)
    cell_node = nest.Create(model, params=params)
    times = np.round(np.sort(np.random.default_rng(2).uniform(1, 99, 120)) / h) * h
    scale = 1.0 if cell != "IF_curr_delta" else 1 / 150.0  # pA, or mV
    weights = np.where(np.arange(120) % 3 == 0, -400.0, 900.0) * scale
    source = nest.Create("spike_generator", params={"spike_times": times.tolist(),
                                                    "spike_weights": weights.tolist()})
    nest.Connect(source, cell_node, syn_spec={"weight": 1.0, "delay": h})
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": h})
    nest.Connect(meter, cell_node)
    nest.Simulate(100.0)
    recorded = np.asarray(meter.get("events")["V_m"])
    p = Propagators.of(neuron, h, cell)
    arriving = np.zeros((2, len(recorded) + 2))
    for t, w in zip(times, weights, strict=True):
        # sent at t with a delay of h: arrives in the step (t, t + h]
        arriving[0 if w > 0 else 1, int(round(t / h))] += w
    state = NeuronState.at_rest((1,), p, torch.float64, "cpu")
    trace, spikes = [], 0
    for n in range(len(recorded)):
        ex, inh = (torch.tensor([arriving[k, n]], dtype=torch.float64) for k in (0, 1))
        if cell == "IF_curr_delta":
            ex, inh = ex + inh, None
        state, s = neuron_step(state, p, p.offset_drive, ex, inh)
        spikes += int(s.item())
        trace.append(state.v.item())
    assert spikes >= 3 and p.refractory_steps == round(2.0 / h) and math.isclose(p.theta, 12.0)
    np.testing.assert_array_equal(np.asarray(trace), recorded)


def test_rest_protocol_counts_do_not_depend_on_blocks_or_batches(rng):
    network = conv_network(rng)
    digits = random_digits(rng, 5)
    one_block = deploy(network, digits, DeployConfig(window=50.0, block=5, threads=1, seed=2),
                       progress=False)
    per_image = deploy(network, digits, DeployConfig(window=50.0, block=1, threads=1, seed=2),
                       progress=False)
    assert_same_run(one_block, per_image)
    for threads in (1, 2):  # 2: one pool of threads takes each block before the last is done
        batches = deploy(network, digits, DeployConfig(backend="torch", window=50.0, batch=2,
                                                       threads=threads, seed=2), progress=False)
        assert_same_run(one_block, batches)
    continuing = deploy(network, digits, DeployConfig(window=50.0, block=5, threads=1, seed=2,
                                                      protocol="continuing"), progress=False)
    assert continuing.attrs["protocol"] == "continuing" and continuing.attrs["settle_ms"] == 0
    assert not np.array_equal(continuing.layer_counts[0], one_block.layer_counts[0])


def test_float32_runs_and_is_recorded(rng):
    network = conv_network(rng)
    digits = random_digits(rng, 3)
    run = deploy(network, digits, DeployConfig(backend="torch", window=50.0, dtype="float32",
                                               threads=1), progress=False)
    assert run.attrs["dtype"] == "float32" and run.attrs["device"] == "cpu"
    assert run.layer_counts[0].sum() > 100


def test_bad_device_and_batch(rng):
    network = conv_network(rng)
    digits = random_digits(rng, 2)
    with pytest.raises(ParameterError, match="device: 'gpu0' is not a torch device"):
        deploy(network, digits, DeployConfig(backend="torch", device="gpu0"), progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="device: 'cuda' is not available here"):
            deploy(network, digits, DeployConfig(backend="torch", device="cuda"),
                   progress=False)
    with pytest.raises(ParameterError, match=r"batch: 10000000000 images need about .* GB"):
        device.check_memory(network, 10**10, "float64", "cpu")


def test_cli_deploy_on_torch_feeds_the_energy_report(tmp_path, rng, capsys):
    layers = [Layer("conv", (1, 28, 28), (2, 24, 24), rng.normal(0.1, 0.3, (2, 1, 5, 5))),
              Layer("pool", (2, 24, 24), (2, 6, 6), np.full((4, 4), 1 / 16), 4),
              Layer("dense", (2, 6, 6), (10,), rng.normal(0.05, 0.3, (72, 10)))]
    network = Network("2c5-4s-10fc", layers, "relu", 0.33, 186.0, 5.0, LIFParams(), 1.0)
    path = tmp_path / "net.h5"
    network_file.write(network, path)
    digits = Digits(rng.uniform(0, 1, (4, 28, 28)).astype(np.float32), np.arange(4), "random")
    np.savez(tmp_path / "mnist.npz", x_train=digits.images, y_train=digits.labels,
             x_test=digits.images, y_test=digits.labels)
    assert main(["deploy", str(path), "--backend", "torch", "--data", str(tmp_path), "--test",
                 "--images", "4", "--duration", "50", "--out", str(tmp_path / "run.h5"),
                 "--quiet"]) == 0
    assert "SNN accuracy" in capsys.readouterr().out
    run = run_file.read(tmp_path / "run.h5")
    assert run.attrs["backend"] == "torch" and run.attrs["protocol"] == "rest"
    assert main(["energy", str(tmp_path / "run.h5"), "--out", str(tmp_path / "report")]) == 0
    from_file = json.loads((tmp_path / "report" / "energy.json").read_text())
    # energy --network --backend simulates the same digits with the same defaults
    assert main(["energy", "--network", str(path), "--backend", "torch", "--data", str(tmp_path),
                 "--test", "--images", "4", "--duration", "50", "--out",
                 str(tmp_path / "report2")]) == 0
    simulated = json.loads((tmp_path / "report2" / "energy.json").read_text())
    assert simulated["synaptic_event_model"] == from_file["synaptic_event_model"]
    assert from_file["synaptic_event_model"]["joules"] > 0


def test_torch_equals_nest_on_every_layer_of_format_2(rng):
    """Strided, padded convolutions with bias, overlapping pooling, a delta-synapse layer with
    bias and its own neuron, three input channels, at 0.1 ms: identical on NEST and torch."""
    from network_helpers import on_nest_and_torch, v2_digits
    from test_nir import _v2_network

    network = _v2_network(rng)
    network.timestep = 0.1
    nest_run, torch_run = on_nest_and_torch(network, v2_digits(rng))
    assert min(c.sum() for c in nest_run.layer_counts.values()) > 20  # every layer fires
    assert_same_run(nest_run, torch_run)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_step_kernel_equals_torch_operations(rng, monkeypatch, caplog, dtype):
    """The CPU's compiled step loop and the torch operations a GPU runs give the same run
    (float64: spike for spike; float32: the same classifications on this small network)."""
    from test_nir import _v2_network

    network = _v2_network(rng)
    network.timestep = 0.1
    digits = Digits(rng.uniform(0, 1, (6, 3, 9, 9)).astype(np.float32), np.arange(6) % 3,
                    "random")
    config = DeployConfig(backend="torch", window=30.0, record="all", threads=2, batch=4,
                          seed=5, dtype=dtype)
    compiled = deploy(network, digits, config, progress=False)
    assert compiled.attrs["step_loop"] == "numba step loop"
    without_step_kernel(monkeypatch)
    operations = deploy(network, digits, config, progress=False)
    assert operations.attrs["step_loop"] == "torch operations"
    assert "step loop is unavailable (switched off by the test)" in caplog.text
    assert min(c.sum() for c in compiled.layer_counts.values()) > 20
    if dtype == "float64":
        assert_same_run(compiled, operations)
    else:
        assert compiled.attrs["evaluation"]["accuracy"] == \
            operations.attrs["evaluation"]["accuracy"]


def test_step_kernel_spikes_fall_in_the_same_steps_as_torch_operations(rng):
    """Every spike of every layer, as (image, layer, neuron, step), from the compiled loop and
    from the torch operations (float64), 2 threads."""
    from lifresponse.networks.blocks import n_time_bins
    from lifresponse.networks.encoding import Presentation, poisson_inputs
    from lifresponse.networks.topology import network_connections

    network = conv_network(rng)
    pixels = random_digits(rng, 5).images.reshape(5, -1)
    presentation = Presentation(60.0, 0.0, network.timestep)
    inputs = poisson_inputs(pixels, presentation, network.input_rate, 0, 7)
    log = step_kernel.CompiledNetwork(
        network, "float64", network_connections(network)).simulate(
        inputs.images, 5, presentation, threads=2, log_spikes=100_000).log
    layers = operations.layer_neurons(
        network, [operations.LayerInput(network, i, torch.float64, "cpu")
                  for i in range(len(network.layers))], 5, torch.float64, "cpu")
    expected = set()

    def keep(step, spikes):
        for layer, s in enumerate(spikes):
            for image, neuron in zip(*np.nonzero(s.flatten(1).numpy()), strict=True):
                expected.add((int(image), layer, int(neuron), step))

    with torch.no_grad():
        operations.simulate(layers, inputs, network, presentation,
                                n_time_bins(presentation.window), torch.float64, "cpu",
                                on_step=keep)
    assert len(expected) > 500
    assert set(map(tuple, log.tolist())) == expected and len(log) == len(expected)


def test_step_loop_needs_no_c_compiler(tmp_path):
    """A process that finds no C compiler on its PATH and no compiled loop in its Numba cache
    compiles the loop (Numba, in-process LLVM) and runs it."""
    script = tmp_path / "run.py"
    script.write_text(
        "import numpy as np\n"
        "from lifresponse.backends.torch.step_kernel import CompiledNetwork\n"
        "from lifresponse.networks.encoding import Presentation, poisson_inputs\n"
        "from lifresponse.networks.topology import network_connections\n"
        "from network_helpers import conv_network\n"
        "network = conv_network(np.random.default_rng(1))\n"
        "pixels = np.random.default_rng(2).uniform(0, 1, (3, 100))\n"
        "presentation = Presentation(40.0, 0.0, network.timestep)\n"
        "inputs = poisson_inputs(pixels, presentation, network.input_rate, 0, 3)\n"
        "result = CompiledNetwork(network, 'float32', network_connections(network))"
        ".simulate(inputs.images, 3, presentation, threads=2)\n"
        "print('spikes', sum(int(c.sum()) for c in result.counts))\n")
    env = {"PATH": str(tmp_path / "no-compilers-here"), "CC": "no-such-compiler",
           "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
           "PYTHONPATH": str(Path(__file__).parent)}
    assert shutil.which("cc", path=env["PATH"]) is None
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 0


def test_input_arrivals_are_grouped_by_step_in_pixel_order(rng):
    """The CPU loop's grouping of input spikes (image, step) -> the pixels that spike then, in
    pixel order, with their numbers of spikes: against a plain count, from spikes in the
    encoders' (image, pixel) order and from the same spikes shuffled (the sort's branch)."""
    n_images, steps, n_inputs = 3, 7, 5
    counts = rng.integers(0, 4, size=(n_images, n_inputs))
    image, pixel = np.nonzero(counts)
    image, pixel = np.repeat(image, counts[image, pixel]), np.repeat(pixel, counts[image, pixel])
    step = rng.integers(1, steps + 1, size=len(image))
    expected = np.zeros((n_images, steps + 1, n_inputs), int)
    np.add.at(expected, (image, step, pixel), 1)
    for order in (np.arange(len(image)), rng.permutation(len(image))):
        first, pixels, numbers = step_kernel._arrivals(image[order], step[order], pixel[order],
                                                       n_images, steps, n_inputs)
        got = np.zeros_like(expected)
        for slot in range(n_images * (steps + 1)):
            b, t = divmod(slot, steps + 1)
            these = pixels[first[slot]:first[slot + 1]]
            assert np.all(np.diff(these.astype(int)) > 0)  # pixel order, each pixel once
            got[b, t, these] = numbers[first[slot]:first[slot + 1]]
        np.testing.assert_array_equal(got, expected)
