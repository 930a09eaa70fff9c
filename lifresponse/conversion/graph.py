"""An ANN read from another framework, as the populations a spiking network will have.

Every population is what one layer of spiking neurons will compute: the sum of its ``terms``
(a convolution, a dense product or a pooling window, each applied to the activations of a
source: the input, -1, or an earlier population), plus a bias, through a ReLU (``relu``) or not
(pooling of non-negative activations, and the output's logits). Batch normalisation is already
folded into the terms and bias (:func:`fold_batch_norm`); a residual ``Add`` is a population
with two terms. Weights are in the toolkit's layouts (:mod:`lifresponse.networks.network_file`):
conv (c_out, c_in, kh, kw); dense (n_in, n_out) on the source flattened in C order; pooling
(kh, kw), the weight of each input of a window.

:meth:`AnnGraph.activations` runs the ANN forward in float64 torch, with max pooling as the
model has it or as the average pooling the spiking network will do
(docs/convert.md: why).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

# what a max pooling becomes in the spiking network: the average of its window, or a small
# network of ReLU neurons computing the maximum exactly, max(x, y) = y + relu(x - y) pairwise
MAX_POOL_CHOICES = ("average", "pairwise")


@dataclass
class Term:
    """One linear operation on one source.

    Attributes
    ----------
    source : int
        -1 for the input, else an earlier population's index.
    kind : {"conv", "dense", "pool"}
    weight : numpy.ndarray
        Toolkit layout (module docstring).
    stride, padding : (int, int)
    max_pool : bool
        A pooling term that the model computes as a maximum and the spiking network as the
        average (its ``weight``, 1 / (kh kw)).
    """

    source: int
    kind: str
    weight: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    max_pool: bool = False

    def apply(self, x: torch.Tensor, as_deployed: bool) -> torch.Tensor:
        """This term on activations ``x`` (n, *source shape), as the model computes it or
        ``as_deployed`` in the spiking network."""
        if self.kind == "dense":
            return x.flatten(1) @ torch.as_tensor(self.weight, dtype=x.dtype)
        if self.kind == "conv":
            return F.conv2d(x, torch.as_tensor(self.weight, dtype=x.dtype), None, self.stride,
                            self.padding)
        window = torch.as_tensor(self.weight, dtype=x.dtype)
        if self.max_pool and not as_deployed:
            return F.max_pool2d(x, tuple(window.shape), self.stride, self.padding)
        channels = x.shape[1]
        kernel = window.expand(channels, 1, *window.shape)
        return F.conv2d(x, kernel, None, self.stride, self.padding, groups=channels)


@dataclass
class Population:
    """One future layer of spiking neurons (module docstring).

    Attributes
    ----------
    terms : list of Term
    shape : tuple of int
        (channels, height, width) or (n,).
    bias : numpy.ndarray or None
        Per channel (maps) or per neuron (dense).
    relu : bool
    node : str
        The ONNX node that made it, for messages.
    """

    terms: list
    shape: tuple
    bias: np.ndarray | None = None
    relu: bool = True
    node: str = ""

    def bias_per_neuron(self) -> np.ndarray | None:
        if self.bias is None:
            return None
        if len(self.shape) == 3 and len(self.bias) == self.shape[0]:
            return np.asarray(self.bias, float)[:, None, None]
        return np.asarray(self.bias, float).reshape(self.shape)


@dataclass
class AnnGraph:
    """The populations of a converted ANN, in an order in which they can be computed; the last
    is the output (its values are the model's logits). ``max_pool`` and ``absorb_pooling`` are
    how it was read (:func:`~lifresponse.conversion.onnx_reader.read_model`)."""

    input_shape: tuple
    populations: list = field(default_factory=list)
    source: str = ""
    max_pool: str = "average"
    absorb_pooling: bool = True

    def shape_of(self, source: int) -> tuple:
        """The shape of a term's source: the input (-1) or a population."""
        return tuple(self.input_shape if source == -1 else self.populations[source].shape)

    def activations(self, pixels: np.ndarray, as_deployed: bool = False,
                    batch: int = 500) -> list[np.ndarray]:
        """Every population's activations (n, *shape), float64, for images ``pixels`` (n,
        *input_shape) in [0, 1], as the model computes them or ``as_deployed``
        (:meth:`Term.apply`)."""
        outputs = [[] for _ in self.populations]
        with torch.no_grad():
            for first in range(0, len(pixels), batch):
                x = torch.as_tensor(np.asarray(pixels[first:first + batch], dtype=np.float64)
                                    .reshape(-1, *self.input_shape))
                for i, values in enumerate(self._forward(x, as_deployed)):
                    outputs[i].append(values.numpy())
        return [np.concatenate(o) for o in outputs]

    def _forward(self, x: torch.Tensor, as_deployed: bool) -> list[torch.Tensor]:
        values = {-1: x}
        for i, population in enumerate(self.populations):
            total = sum(term.apply(values[term.source], as_deployed)
                        for term in population.terms)
            bias = population.bias_per_neuron()
            if bias is not None:
                total = total + torch.as_tensor(bias, dtype=x.dtype)
            values[i] = torch.relu(total) if population.relu else total
        return [values[i] for i in range(len(self.populations))]

    def predict(self, pixels: np.ndarray, as_deployed: bool = False) -> np.ndarray:
        """The class of each image: the largest output (ties to the lowest class)."""
        return np.argmax(self.activations(pixels, as_deployed)[-1].reshape(len(pixels), -1),
                         axis=1)


def fold_batch_norm(terms: list, bias, scale: np.ndarray, shift: np.ndarray,
                    mean: np.ndarray, variance: np.ndarray, epsilon: float) -> np.ndarray:
    """Fold ``y = (x - mean) / sqrt(variance + epsilon) * scale + shift`` (per channel) into
    the linear ``terms`` that compute ``x`` (their weights are scaled in place) and their
    ``bias`` (None: zero). Returns the new bias.

    Exact up to rounding: ``gamma W x + gamma (b - mean) + shift`` with
    ``gamma = scale / sqrt(variance + epsilon)``.
    """
    gamma = np.asarray(scale, float) / np.sqrt(np.asarray(variance, float) + epsilon)
    for term in terms:
        if term.kind == "conv":
            term.weight = term.weight * gamma[:, None, None, None]
        else:  # dense: (n_in, n_out)
            term.weight = term.weight * gamma[None, :]
    bias = np.zeros(len(gamma)) if bias is None else np.asarray(bias, float)
    return gamma * (bias - np.asarray(mean, float)) + np.asarray(shift, float)
