"""Which digits a network is trained on, validated on and evaluated on: decided here only.

Training draws a validation split out of the training file (:func:`training_split`); every
network records it in its provenance (``n_train``, ``n_validation``, ``split_seed``). Evaluation
(:func:`evaluation_digits`) takes either the official test split (``t10k-*`` files, or
``x_test``/``y_test`` in ``mnist.npz``) or that recorded validation split again, so a network
is never evaluated on the digits it was trained on when its provenance says which they were.

Sizes: 10,000 validation digits out of a 60,000-digit training file (as the papers hold out
10,000), else a fifth of the digits; ``n_validation = 0`` trains on every training digit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lifresponse.datasets import Digits, has_split, load_mnist, validation_split
from lifresponse.errors import FileFormatError, ParameterError

log = logging.getLogger(__name__)

FULL_MNIST = 60000
FULL_MNIST_VALIDATION = 10000


def default_validation_size(n_digits: int) -> int:
    """Validation digits held out of ``n_digits`` when none is asked for."""
    return FULL_MNIST_VALIDATION if n_digits >= FULL_MNIST else n_digits // 5


@dataclass(frozen=True)
class TrainingSplit:
    """Training and validation digits drawn from one training file.

    Attributes
    ----------
    train, validation : Digits
        ``validation`` is empty when ``n_validation`` is 0.
    n_validation : int
    seed : int
        Seed of the shuffle that drew the split.
    """

    train: Digits
    validation: Digits
    n_validation: int
    seed: int

    def provenance(self) -> dict:
        """What every network file records about its data (the provenance schema's part)."""
        return {"data": self.train.source, "n_train": len(self.train),
                "n_validation": self.n_validation, "split_seed": self.seed}


def training_split(digits: Digits, n_validation: int | None = None, seed: int = 0
                   ) -> TrainingSplit:
    """Split a training file into training and validation digits.

    Parameters
    ----------
    digits : Digits
        The whole training file.
    n_validation : int, optional
        Validation digits; None for :func:`default_validation_size`; 0 trains on every digit.
    seed : int
        Shuffle seed (>= 0).
    """
    if seed < 0:
        raise ParameterError("split_seed", f"must be >= 0 (got {seed})")
    if n_validation is None:
        n_validation = default_validation_size(len(digits))
    if n_validation == 0:
        empty = digits.subset(slice(0, 0))
        return TrainingSplit(digits, empty, 0, seed)
    if not 0 < n_validation < len(digits):
        raise ParameterError("n_validation", f"must be between 0 and {len(digits) - 1} for "
                             f"{len(digits)} digits (got {n_validation})")
    train, validation = validation_split(digits, n_validation, seed)
    return TrainingSplit(train, validation, n_validation, seed)


def recorded_split(digits: Digits, provenance: dict, n_validation: int | None = None,
                   seed: int | None = None) -> TrainingSplit:
    """The training split a network was trained with, drawn again from ``digits`` (for fine
    tuning); a split given by hand, or the default one when ``digits`` is not the recorded
    training file."""
    recorded = provenance.get("n_train", 0) + provenance.get("n_validation", 0) == len(digits)
    if n_validation is None and seed is None and recorded:
        return training_split(digits, provenance["n_validation"], provenance.get("split_seed", 0))
    return training_split(digits, n_validation, 0 if seed is None else seed)


def test_digits(data) -> Digits:
    """The official test split of the MNIST folder (or ``.npz`` file) ``data``.

    Raises
    ------
    FileFormatError
        Naming the folder, if it has no test split (or no folder is given: the bundled 5,000
        digits have none).
    """
    if data is None:
        raise FileFormatError("the official test split needs an MNIST folder (data / --data): "
                              "the 5,000 bundled digits have no test split")
    if not (Path(data).is_dir() or Path(data).suffix == ".npz" and Path(data).is_file()):
        raise FileFormatError(f"{data}: no such directory (or .npz file)")
    if not has_split(data, "test"):
        raise FileFormatError(
            f"{data}: no official test split (t10k-images-idx3-ubyte[.gz] with "
            "t10k-labels-idx1-ubyte[.gz], x_test/y_test in mnist.npz, or test_images/"
            "test_labels in an .npz file)")
    return load_mnist(data, split="test")


def evaluation_digits(data=None, provenance: dict | None = None, *, test: bool = False,
                      n_validation: int | None = None, seed: int | None = None) -> Digits:
    """The digits a trained network is evaluated on: the test split or its held-out digits.

    Parameters
    ----------
    data : path-like, optional
        MNIST folder; None for the bundled digits.
    provenance : dict, optional
        The network's provenance (its training split); None if unknown.
    test : bool
        Evaluate on the official test split of ``data``.
    n_validation, seed : int, optional
        A held-out split chosen by hand instead of the recorded one.

    Returns
    -------
    Digits
        When the recorded split applies (the training file has ``n_train + n_validation``
        digits and no split is given by hand), exactly the network's validation digits;
        otherwise a split of ``data`` that may include digits the network was trained on
        (logged as a warning).

    Raises
    ------
    FileFormatError
        ``test`` and ``data`` has no test split.
    ParameterError
        The network was trained on every training digit, so none is held out.
    """
    if test:
        for field, value in (("n_validation", n_validation), ("split_seed", seed)):
            if value is not None:
                raise ParameterError(field, f"chooses held-out training digits, not the official "
                                     f"test split (got {value} with test); give one or the other")
        return test_digits(data)
    if n_validation == 0:
        raise ParameterError("n_validation", "0 holds no digits out to evaluate on; give a "
                             "number, or evaluate on the official test split (--test; test=True "
                             "in Python)")
    return _evaluation_split(load_mnist(data, pixels=False), provenance, n_validation, seed,
                             evaluating=True).validation.as_pixels()


def training_digits(data=None, provenance: dict | None = None, *,
                    n_validation: int | None = None, seed: int | None = None) -> Digits:
    """The training part of the split :func:`evaluation_digits` holds its digits out of (the
    network's own, when it applies): digits to tune on without touching the evaluation's."""
    return _evaluation_split(load_mnist(data, pixels=False), provenance, n_validation,
                             seed).train.as_pixels()


def _evaluation_split(digits: Digits, provenance: dict | None, n_validation: int | None,
                      seed: int | None, evaluating: bool = False) -> TrainingSplit:
    """:func:`evaluation_digits`' split of the training file ``digits``; ``evaluating``:
    refuse the network's own split when it holds nothing out."""
    trained = provenance or {}
    recorded = trained.get("n_train", 0) + trained.get("n_validation", 0) == len(digits)
    if n_validation is None and seed is None and recorded:
        if evaluating and trained["n_validation"] == 0:
            raise ParameterError(
                f"the network was trained on every digit of {digits.source}, so none is held "
                "out: evaluate it on the official test split (--test; test=True in Python), or "
                "on other digits (--data)")
        return training_split(digits, trained["n_validation"], trained.get("split_seed", 0))
    split = training_split(digits, n_validation, trained.get("split_seed", 0)
                           if seed is None else seed)
    if recorded:
        log.warning("a split of %d digits other than the network's own (%d held out, seed %d): "
                    "the held-out digits may include training images", len(digits),
                    trained["n_validation"], trained.get("split_seed", 0))
    else:
        log.warning("these %d digits are not the set the network was trained on (%s); held-out "
                    "digits may include training images", len(digits),
                    trained.get("data", "unknown"))
    return split


def first(digits: Digits, n: int | None) -> Digits:
    """The first ``n`` digits (all for None); :class:`ParameterError` if fewer exist."""
    if n is None:
        return digits
    if n < 1:
        raise ParameterError("images", f"must be >= 1 (got {n})")
    if n > len(digits):
        raise ParameterError("images", f"{n} asked for, but only {len(digits)} evaluation digits "
                             f"exist in {digits.source}")
    return digits.subset(slice(0, n))

