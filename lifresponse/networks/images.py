"""Images against the network that will see them: the one check of image data that every
command presenting images to a network uses (deploy, evaluate-ann, energy --network), after
:mod:`lifresponse.datasets` has checked the data itself."""

from __future__ import annotations

import numpy as np

from lifresponse.datasets import Digits
from lifresponse.errors import ParameterError
from lifresponse.networks.network_file import Network


def check_images(digits: Digits, network: Network, dtype=float) -> np.ndarray:
    """Flattened pixels, after checking their shape, range and labels against the network.

    Images fit a network whose input shape (channels, height, width) they have; images of
    (height, width) fit one map of that size; any images fit a network with a flat input
    (``(n_inputs,)``, e.g. imported from NIR) of as many pixels, read row by row. ``dtype``
    None keeps the digits' own (no copy: a deployment converts block by block).

    Raises
    ------
    ParameterError
        Field "data", naming the data's source, the shapes, the label or the pixel values.
    """
    pixels = np.asarray(digits.images, dtype=dtype)
    shape, wanted = tuple(pixels.shape[1:]), tuple(network.input_shape)
    flat_fit = len(wanted) == 1 and int(np.prod(shape)) == wanted[0]
    if shape != wanted and (1, *shape) != wanted and not flat_fit:
        raise ParameterError("data", f"{digits.source}: images of shape {shape} do not fit the "
                             f"network's input {wanted} (channels, height, width)")
    n_classes = network.layers[-1].n_out
    if len(digits.labels) and digits.labels.max() >= n_classes:
        raise ParameterError("data", f"{digits.source}: label {int(digits.labels.max())} but "
                             f"the network has {n_classes} output neurons (classes 0-"
                             f"{n_classes - 1})")
    bad = int(np.count_nonzero(~np.isfinite(pixels)))
    if bad:
        raise ParameterError("data", f"{digits.source}: {bad} pixel(s) are NaN or infinite")
    if pixels.size and (pixels.min() < 0 or pixels.max() > 1):
        raise ParameterError("data", f"{digits.source}: pixels must lie in [0, 1] (got "
                             f"{pixels.min():g} .. {pixels.max():g})")
    return pixels.reshape(len(pixels), -1)
