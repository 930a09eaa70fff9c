import h5py
import numpy as np
import pytest

from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.architecture import parse_architecture
from lifresponse.networks.network_file import Layer, Network
from lifresponse.neuron import LIFParams


def _network(rng):
    layers = [Layer("conv", (1, 6, 6), (2, 4, 4), rng.normal(size=(2, 1, 3, 3))),
              Layer("pool", (2, 4, 4), (2, 2, 2), np.full((2, 2), 0.25), stride=2),
              Layer("dense", (2, 2, 2), (3,), rng.normal(size=(8, 3)))]
    return Network("2c3-2s-3fc", layers, "noisy-softplus", 0.3, 201.0, 5.0,
                   LIFParams(tau_syn_E=5.0, tau_syn_I=5.0), 1.0,
                   provenance={"seed": 1, "validation_accuracy": 0.9})


def test_round_trip(tmp_path, rng):
    network = _network(rng)
    network_file.write(network, tmp_path / "n.h5")
    back = network_file.read(tmp_path / "n.h5")
    assert (back.architecture, back.activation, back.k, back.S, back.tau_syn) == (
        "2c3-2s-3fc", "noisy-softplus", 0.3, 201.0, 5.0)
    assert back.neuron == network.neuron and back.provenance == network.provenance
    assert back.input_rate == 100.0 and back.input_shape == (1, 6, 6)
    for a, b in zip(network.layers, back.layers, strict=True):
        assert (a.kind, a.in_shape, a.out_shape, a.stride) == (b.kind, b.in_shape, b.out_shape,
                                                                b.stride)
        np.testing.assert_array_equal(a.weight, b.weight)


def test_bad_files(tmp_path, rng):
    good = tmp_path / "good.h5"
    network_file.write(_network(rng), good)

    def variant(name, change):
        path = tmp_path / name
        path.write_bytes(good.read_bytes())
        with h5py.File(path, "r+") as f:
            change(f)
        return path

    newer = variant("newer.h5", lambda f: f.attrs.__setitem__("version", 7))
    with pytest.raises(FileFormatError, match="newer.h5: network file version 7"):
        network_file.read(newer)
    foreign = variant("foreign.h5", lambda f: f.attrs.__setitem__("format", "keras"))
    with pytest.raises(FileFormatError, match="not a lifresponse network file"):
        network_file.read(foreign)

    def poison(f):
        w = f["layers/2/weight"][()]
        w[0, 0] = np.nan
        f["layers/2/weight"][...] = w

    with pytest.raises(FileFormatError, match="layer 2 \\(dense\\): weights contain NaN"):
        network_file.read(variant("nan.h5", poison))

    def break_chain(f):
        del f["layers/2/weight"]
        f["layers/2/weight"] = np.zeros((5, 3))

    with pytest.raises(FileFormatError,
                       match=r"layer 2 \(dense\): weight of shape \(5, 3\) does not fit"):
        network_file.read(variant("chain.h5", break_chain))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(FileFormatError, match="not a readable HDF5 file"):
        network_file.read(truncated)


def test_architectures():
    shapes = [(s.kind, s.out_shape) for s in parse_architecture("6c5-2s-12c5-2s-10fc")]
    assert shapes == [("conv", (6, 24, 24)), ("pool", (6, 12, 12)), ("conv", (12, 8, 8)),
                      ("pool", (12, 4, 4)), ("dense", (10,))]
    assert parse_architecture("12c5-2s-64c5-2s-10fc")[3].out_shape == (64, 4, 4)
    for bad, message in (("6c5-5s-10fc", "do not divide"), ("6x5", "cannot read '6x5'"),
                         ("10fc-2s", "follows a dense layer"), ("6c30", "does not fit"),
                         ("", "empty")):
        with pytest.raises(ParameterError, match=message):
            parse_architecture(bad)


def test_malformed_attributes_name_the_field(tmp_path, rng):
    good = tmp_path / "good.h5"
    network_file.write(_network(rng), good)
    for name, value, message in [("k", -1.0, "k must be a number > 0"),
                                 ("timestep_ms", float("nan"), "timestep_ms must be a number"),
                                 ("neuron", "[1, 2]", "neuron"),
                                 ("input_encoding", "morse", "input_encoding 'morse'")]:
        path = tmp_path / f"{name}.h5"
        path.write_bytes(good.read_bytes())
        with h5py.File(path, "r+") as f:
            f.attrs[name] = value
        with pytest.raises(FileFormatError, match=message):
            network_file.read(path)
    path = tmp_path / "missing.h5"
    path.write_bytes(good.read_bytes())
    with h5py.File(path, "r+") as f:
        del f.attrs["timestep_ms"]
    with pytest.raises(FileFormatError, match="missing 'timestep_ms'"):
        network_file.read(path)
