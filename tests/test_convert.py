"""Converting ANNs from PyTorch and ONNX: every operator against the framework's own forward
pass, batch-norm folding and the normalisation against hand computations, a converted residual
network with the same spikes on NEST and the torch simulator, and every refusal."""

import numpy as np
import pytest
from network_helpers import assert_same_run

from lifresponse.calibration.fit import Calibration
from lifresponse.cli import main
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import FileFormatError, ParameterError

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

from lifresponse.conversion import (  # noqa: E402
    ConversionError,
    convert_graph,
    onnx_of_module,
    read_model,
    reference_evaluator,
)
from lifresponse.conversion.graph import Term, fold_batch_norm  # noqa: E402


def _graph(module, shape=(1, 8, 8), max_pool="average"):
    module.eval()
    return read_model(onnx.load_from_string(onnx_of_module(module, torch.zeros(1, *shape))),
                      "test model", max_pool)


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.b2 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        y = torch.relu(self.c1(x))
        z = torch.relu(self.b2(self.c2(y)) + y)
        return self.fc(torch.flatten(nn.functional.avg_pool2d(z, 2), 1))


class _Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 3, 3, padding=1), nn.Conv2d(1, 2, 5, padding=2)
        self.c = nn.Conv2d(5, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 3 * 3 + 5 * 8 * 8, 10)

    def forward(self, x):
        joined = torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], 1)
        flat = torch.cat([torch.flatten(torch.relu(self.c(joined)), 1),
                          torch.flatten(joined, 1)], 1)
        return self.fc(flat)


def _randomise_batch_norms(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)
    return module


MODULES = {
    "conv stride padding, max pooling, dense": lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16, 10)),
    "grouped conv, overlapping padded average pooling": lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3, groups=2), nn.ReLU(),
        nn.AvgPool2d(3, stride=1, padding=1), nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(64, 10)),
    "batch norm after conv and dense, global average pooling": lambda: nn.Sequential(
        nn.Conv2d(1, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 10)),
    "max pooling before its ReLU": lambda: nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(27, 10),
        nn.Identity(), nn.LogSoftmax(1)),
    "residual Add": _Residual,
    "channel Concat": _Concat,
}


@pytest.mark.parametrize("name", MODULES)
def test_every_operator_reads_as_the_framework_computes(name, rng):
    torch.manual_seed(1)
    module = _randomise_batch_norms(MODULES[name]()).eval()
    graph = _graph(module)
    pixels = rng.uniform(0, 1, (5, 1, 8, 8))
    with torch.no_grad():
        theirs = module(torch.as_tensor(pixels, dtype=torch.float32)).double().numpy()
    if name.startswith("max pooling before"):  # LogSoftmax is dropped: compare the logits
        theirs = theirs - theirs.max(1, keepdims=True)
        ours = graph.activations(pixels)[-1]
        ours = ours - np.log(np.exp(ours).sum(1, keepdims=True)) - theirs
        np.testing.assert_allclose(ours - ours.max(1, keepdims=True), 0.0, atol=1e-5)
        return
    np.testing.assert_allclose(graph.activations(pixels)[-1], theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool", [nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1),
                                  nn.MaxPool2d((2, 3), stride=(2, 1))],
                         ids=["2x2", "3x3-stride-2-padded", "2x3-stride-2x1"])
def test_pairwise_max_pooling_computes_the_maximum_exactly(pool, rng):
    torch.manual_seed(2)
    module = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), pool, nn.Flatten(),
                           nn.LazyLinear(10))
    module(torch.zeros(1, 1, 8, 8))
    graph = _graph(module, max_pool="pairwise")
    pixels = rng.uniform(0, 1, (4, 1, 8, 8))
    with torch.no_grad():
        theirs = module(torch.as_tensor(pixels, dtype=torch.float32)).double().numpy()
    for as_deployed in (False, True):  # no average anywhere: the network is the maximum
        np.testing.assert_allclose(graph.activations(pixels, as_deployed)[-1], theirs,
                                   rtol=1e-5, atol=1e-5)
    window = int(np.prod(pool.kernel_size if isinstance(pool.kernel_size, tuple)
                         else (pool.kernel_size,) * 2))
    # one ReLU population per pairwise maximum, and the pooled sum the dense layer reads
    assert len(graph.populations) == 1 + (window - 1) + 1 + 1


def test_batch_norm_folding_is_the_hand_computation(rng):
    weight, bias = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    scale, shift = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    mean, variance = rng.normal(size=3), rng.uniform(0.5, 2, 3)
    term = Term(-1, "conv", weight.copy())
    folded = fold_batch_norm([term], bias, scale, shift, mean, variance, 1e-3)
    gamma = scale / np.sqrt(variance + 1e-3)
    np.testing.assert_allclose(term.weight[1], weight[1] * gamma[1])
    np.testing.assert_allclose(folded, (bias - mean) * gamma + shift)
    dense = Term(-1, "dense", rng.normal(size=(5, 3)))
    before = dense.weight.copy()
    fold_batch_norm([dense], None, scale, shift, mean, variance, 1e-3)
    np.testing.assert_allclose(dense.weight, before * gamma[None, :])


def _onnx_model(nodes, initializers, shape=(1, 1, 4, 4), out=2):
    graph = helper.make_graph(
        nodes, "hand made", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_batch_normalization_node_folds_exactly_against_onnx_evaluation(rng):
    model = _onnx_model(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"],
                          epsilon=1e-3),
         helper.make_node("Relu", ["n"], ["r"]),
         helper.make_node("Flatten", ["r"], ["f"]),
         helper.make_node("Gemm", ["f", "d", "e"], ["y"], transB=1)],
        {"w": rng.normal(size=(3, 1, 3, 3)), "s": rng.uniform(0.5, 2, 3),
         "b": rng.normal(size=3), "m": rng.normal(size=3), "v": rng.uniform(0.5, 2, 3),
         "d": rng.normal(size=(2, 48)), "e": rng.normal(size=2)})
    graph = read_model(model, "hand made")
    pixels = rng.uniform(0, 1, (3, 1, 4, 4))
    np.testing.assert_allclose(graph.activations(pixels)[-1],
                               reference_evaluator(model)(pixels), rtol=1e-5, atol=1e-5)
    assert len(graph.populations) == 2 and graph.populations[0].bias is not None


def _digits(rng, n=60, shape=(8, 8)):
    return Digits(rng.uniform(0, 1, (n, *shape)).astype(np.float32), np.arange(n) % 10,
                  "random")


def test_normalisation_is_the_hand_computation(rng):
    """One dense layer with a bias: w = V R / (lambda R_in S tau_s), b = c R / (lambda S),
    lambda the percentile of the positive activations on the sample."""
    v, c = rng.uniform(0, 1, (64, 10)), rng.uniform(0, 0.5, 10)
    model = _onnx_model([helper.make_node("Flatten", ["x"], ["f"]),
                         helper.make_node("Gemm", ["f", "d", "e"], ["y"])],
                        {"d": v, "e": c}, shape=(1, 1, 8, 8))
    digits = _digits(rng)
    calibration = Calibration.by_hand(k=0.3, S=150.0, tau_syn=4.0)
    network, report = convert_graph(read_model(model, "m"), digits, digits.subset(
        slice(0, 0)), calibration, percentile=90.0, sample=40, max_rate=120.0,
        input_rate=80.0, seed=3)
    chosen = np.sort(np.random.default_rng(3).choice(60, 40, replace=False))
    z = digits.images[chosen].reshape(40, -1) @ v + c
    scale = np.percentile(z[z > 0], 90.0)
    assert report.scales == [pytest.approx(scale)]
    np.testing.assert_allclose(network.layers[0].weight, v * 120.0 / (scale * 80.0 * 150.0
                                                                      * 0.004))
    np.testing.assert_allclose(network.layers[0].bias, c * 120.0 / (scale * 150.0))
    assert network.provenance["normalisation"]["percentile"] == 90.0


def test_converted_residual_network_same_spikes_on_nest_and_torch(rng):
    torch.manual_seed(0)
    module = _randomise_batch_norms(_Residual()).eval()
    graph = _graph(module)
    digits = _digits(rng, 40)
    network, report = convert_graph(graph, digits, digits.subset(slice(0, 0)),
                                    Calibration.by_hand(), sample=40)
    assert not network.is_chain and report.reference_difference is None
    images = digits.subset(slice(0, 4))
    nest_run = deploy(network, images, DeployConfig(window=60.0, record="all", threads=1,
                                                    seed=1), progress=False)
    torch_run = deploy(network, images, DeployConfig(backend="torch", window=60.0,
                                                     record="all", threads=1, seed=1),
                       progress=False)
    assert min(c.sum() for c in nest_run.layer_counts.values()) > 20
    assert_same_run(nest_run, torch_run)


def _write(module, path, shape=(1, 8, 8)):
    path.write_bytes(onnx_of_module(module.eval(), torch.zeros(1, *shape)))
    return path


def _data(tmp_path, rng, n=80, side=8):
    """An MNIST-format folder of random images of ``side`` x ``side``."""
    import gzip
    import struct

    folder = tmp_path / "data"
    folder.mkdir()
    images = (rng.uniform(0, 1, (n, side, side)) * 255).astype(np.uint8)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, side, side) + images.tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes())
    return folder


def test_cli_convert_writes_a_network_that_deploys(tmp_path, rng, capsys):
    torch.manual_seed(0)
    model = _write(_randomise_batch_norms(_Residual()), tmp_path / "model.onnx")
    data = _data(tmp_path, rng)
    out = tmp_path / "net.h5"
    assert main(["convert", str(model), "--data", str(data), "--validation", "20", "--sample",
                 "30", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer 1: conv (4, 8, 8) from layer 0, layer 0" in text  # the residual merge
    assert "ANN accuracy on 20 held-out digits" in text
    from lifresponse.networks import network_file

    network = network_file.read(out)
    assert network.provenance["n_validation"] == 20 and network.provenance["method"] == \
        "converted"
    run = deploy(network, Digits(np.zeros((2, 8, 8), np.float32), np.zeros(2, int), "zeros"),
                 DeployConfig(backend="torch", window=20.0), progress=False)
    assert run.attrs["n_images"] == 2


def _refused(tmp_path, capsys, argv) -> str:
    out = tmp_path / "refused.h5"
    assert main([*argv, "--out", str(out)]) != 0
    assert not out.exists()
    return capsys.readouterr().err


def test_refusals_name_the_operator_file_or_value(tmp_path, rng, capsys):
    data = _data(tmp_path, rng)
    base = ["--data", str(data), "--validation", "20"]
    sigmoid = _write(nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Sigmoid()),
                     tmp_path / "sigmoid.onnx")
    err = _refused(tmp_path, capsys, ["convert", str(sigmoid), *base])
    assert "Sigmoid node" in err and "has no spiking counterpart" in err
    wide = _write(nn.Sequential(nn.Flatten(), nn.Linear(100, 10)), tmp_path / "wide.onnx",
                  (1, 10, 10))
    err = _refused(tmp_path, capsys, ["convert", str(wide), *base])
    assert "images of shape (8, 8) do not fit the network's input (1, 10, 10)" in err
    text = tmp_path / "text.onnx"
    text.write_text("not a model")
    err = _refused(tmp_path, capsys, ["convert", str(text), *base])
    assert "text.onnx: not an ONNX model" in err
    broken = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    broken[1].weight.data[3, 5] = float("nan")
    err = _refused(tmp_path, capsys, ["convert", str(_write(broken, tmp_path / "nan.onnx")),
                                      *base])
    assert "weights contain NaN" in err and "Gemm" in err
    after_relu = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2), nn.Flatten(),
                               nn.Linear(72, 10))
    err = _refused(tmp_path, capsys, ["convert", str(_write(after_relu, tmp_path / "bn.onnx")),
                                      *base])
    assert "BatchNormalization node" in err and "follows a ReLU" in err
    twice = nn.Sequential(nn.Flatten(), nn.Linear(64, 20), nn.Linear(20, 10))
    err = _refused(tmp_path, capsys, ["convert", str(_write(twice, tmp_path / "lin.onnx")),
                                      *base])
    assert "no ReLU since the linear operation" in err
    err = _refused(tmp_path, capsys, ["convert", str(tmp_path / "missing.onnx"), *base])
    assert "missing.onnx: no such file" in err
    err = _refused(tmp_path, capsys, ["convert", str(wide), *base, "--percentile", "0"])
    assert "--percentile: must be in (0, 100]" in err


def test_python_convert_of_a_module_and_bad_settings(rng):
    import lifresponse as lr

    digits = _digits(rng, 50)
    module = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(108, 10))
    network = lr.convert(module, digits=digits, validation=10, sample_images=20)
    assert network.provenance["conversion"]["held_out"] == 10
    assert network.provenance["conversion"]["reference_difference"] < 1e-4
    with pytest.raises(ParameterError, match="max_pool: must be one of average, pairwise"):
        lr.convert(module, digits=digits, validation=10, max_pool="maximum")
    with pytest.raises(ParameterError, match="has a bias, and IF_curr_delta neurons take no "
                                             "bias"):
        lr.convert(module, digits=digits, validation=10,
                   calibration=lr.Calibration.by_hand(0.61, 10.1, cell="IF_curr_delta"))
    with pytest.raises(FileFormatError):
        lr.convert("/nonexistent/model.onnx", digits=digits)
    dead = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Linear(10, 10))
    dead[1].weight.data.fill_(-1.0)
    dead[1].bias.data.fill_(-1.0)
    with pytest.raises(ConversionError, match="is silent on all 40 sample images"):
        lr.convert(dead, digits=digits, validation=10)


def test_a_view_to_batch_by_features_is_a_flatten_and_other_reshapes_are_refused(rng):
    class Viewed(nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape, self.conv = shape, nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(shape[-1] if shape[-1] > 0 else 72, 10)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).reshape(*self.shape))

    graph = _graph(Viewed((1, -1)).eval())
    assert [p.terms[0].kind for p in graph.populations] == ["conv", "dense"]
    with pytest.raises(ConversionError, match=r"Reshape node .*: Reshape to \[1, 2, 36\]; only "
                                              r"to \(batch, -1\)"):
        _graph(Viewed((1, 2, 36)).eval())


def test_tiling_average_poolings_are_absorbed_exactly_by_what_reads_them(rng):
    """conv(avgpool(x)) becomes one strided convolution, avgpool(avgpool(x)) one pooling and
    dense(global average) one dense layer: three layers of neurons where the model has six
    operations, and the same outputs; a pooling that two layers read and an Add also reads is
    one population."""
    torch.manual_seed(3)
    module = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                           nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    graph = _graph(module)
    assert [(p.terms[0].kind, np.shape(p.terms[0].weight)) for p in graph.populations] == [
        ("conv", (3, 1, 3, 3)), ("conv", (4, 3, 6, 6)), ("dense", (64, 10))]
    pixels = rng.uniform(0, 1, (4, 1, 8, 8))
    with torch.no_grad():
        theirs = module(torch.as_tensor(pixels, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(graph.activations(pixels)[-1], theirs, rtol=1e-5, atol=1e-5)
    kept = read_model(onnx.load_from_string(onnx_of_module(module, torch.zeros(1, 1, 8, 8))),
                      "kept", absorb_pooling=False)
    assert [p.terms[0].kind for p in kept.populations] == ["conv", "pool", "conv", "pool",
                                                            "pool", "dense"]
    np.testing.assert_allclose(kept.activations(pixels)[-1], theirs, rtol=1e-5, atol=1e-5)

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.c, self.a, self.b = (nn.Conv2d(1, 2, 3, padding=1),
                                      nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1))
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            pooled = nn.functional.avg_pool2d(torch.relu(self.c(x)), 2)
            y = torch.relu(self.a(pooled) + self.b(pooled) + pooled)  # the Add reads it too
            return self.fc(torch.flatten(y, 1))

    shared = Shared().eval()
    graph = _graph(shared)
    assert sum(p.terms[0].kind == "pool" for p in graph.populations) == 1
    with torch.no_grad():
        theirs = shared(torch.as_tensor(pixels, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(graph.activations(pixels)[-1], theirs, rtol=1e-5, atol=1e-5)
