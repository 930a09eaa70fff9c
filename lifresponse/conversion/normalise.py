"""Weights to firing rates: an ANN's populations as layers of spiking neurons (docs/convert.md).

An ANN's activations ``a`` are in arbitrary units; the spiking network's are rates. Each
population ``l`` gets a scale ``lambda_l``: the ``percentile`` of its positive activations on a
sample of training images (Rueckauer et al. 2017; 100 is Diehl et al. 2015's maximum), and is
meant to fire at ``r_l = R a_l / lambda_l`` (``R``, ``max_rate``, in Hz; the input fires at
``input_rate`` per unit pixel, its ``lambda`` 1). The neuron's calibrated response in its
linear range, ``r = S I`` with ``I = sum_j w_j r_j tau_syn + b`` (nA; ``S`` in Hz/nA from the
calibration, Noisy Softplus's scale), then asks for each term from a source ``s`` with rate
``R_s``::

    w = V R lambda_s / (lambda_l R_s S tau_syn)        b = c R / (lambda_l S)

for the ANN's weights ``V`` and bias ``c``. The scales are measured on the ANN as the spiking
network computes it (a max pooling read as an average, :mod:`~lifresponse.conversion.graph`).
The network keeps the calibration's Noisy Softplus (k, S) as its ANN model, so that deploy's
predictions (Fig. 12, per-layer distances) compare its rates with what the calibrated neuron
should do, and ``finetune`` can train it further with the neuron's noise.
"""

from __future__ import annotations

import numpy as np

from lifresponse.conversion.graph import AnnGraph
from lifresponse.conversion.onnx_reader import ConversionError
from lifresponse.networks.network_file import Layer, Network, Projection


def activation_scales(graph: AnnGraph, pixels: np.ndarray, percentile: float) -> list[float]:
    """``lambda_l`` of every population (module docstring) on images ``pixels``.

    Raises
    ------
    ConversionError
        For a population that is silent on every image of the sample.
    """
    scales = []
    for index, values in enumerate(graph.activations(pixels, as_deployed=True)):
        positive = values[values > 0]
        if positive.size == 0:
            population = graph.populations[index]
            raise ConversionError(f"{graph.source}: population {index} (node "
                                  f"{population.node!r}) is silent on all {len(pixels)} "
                                  "sample images: no rate can represent it")
        scales.append(float(np.percentile(positive, percentile)))
    return scales


def spiking_network(graph: AnnGraph, scales: list[float], calibration, *, max_rate: float,
                    input_rate: float, provenance: dict, architecture: str) -> Network:
    """The network file of ``graph`` with populations scaled by ``scales`` (module
    docstring), of ``calibration``'s neurons, timestep and (k, S)."""
    tau_s = calibration.tau_syn / 1000.0
    layers = []
    for index, population in enumerate(graph.populations):
        own = scales[index]
        projections = []
        for term in population.terms:
            source_scale, source_rate = (1.0, input_rate) if term.source == -1 else (
                scales[term.source], max_rate)
            gain = max_rate * source_scale / (own * source_rate * calibration.S * tau_s)
            projections.append(Projection(term.source, term.kind, graph.shape_of(term.source),
                                          population.shape, np.asarray(term.weight) * gain,
                                          term.stride, term.padding))
        bias = None if population.bias is None else \
            np.asarray(population.bias, float) * max_rate / (own * calibration.S)
        main, *merges = projections
        layers.append(Layer(main.kind, main.in_shape, main.out_shape, main.weight, main.stride,
                            main.padding, bias, calibration.cell, source=main.source,
                            merges=tuple(merges)))
    return Network(architecture, layers, "noisy-softplus", calibration.k, calibration.S,
                   calibration.tau_syn, calibration.neuron, calibration.timestep,
                   input_rate, provenance=provenance)
