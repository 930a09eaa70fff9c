"""Bring your own ANN: a PyTorch module or an ONNX file as a spiking network (docs/convert.md).

:func:`convert_graph` takes the model's :class:`~lifresponse.conversion.graph.AnnGraph` (read by
:func:`~lifresponse.conversion.onnx_reader.read_model`; a ``torch.nn.Module`` is exported to ONNX
first, :func:`onnx_of_module`), checks it against ONNX's own evaluation, measures the ANN's
accuracy on held-out digits, normalises it on training digits
(:mod:`~lifresponse.conversion.normalise`) and returns the network file's content.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

from lifresponse.cells import bias_refusal
from lifresponse.conversion.graph import AnnGraph
from lifresponse.conversion.normalise import activation_scales, spiking_network
from lifresponse.conversion.onnx_reader import ConversionError, read_model
from lifresponse.datasets import Digits
from lifresponse.errors import ParameterError
from lifresponse.networks.images import check_images

REFERENCE_IMAGES = 8  # images on which the reading is checked against ONNX's evaluation
REFERENCE_TOLERANCE = 1e-4  # of the largest logit: float32 models, evaluated in float64


@dataclass
class ConversionReport:
    """What a conversion measured.

    Attributes
    ----------
    scales : list of float
        ``lambda`` of every layer (its activation percentile on the sample, ANN units).
    ann_accuracy : float or None
        The model's accuracy on the held-out digits (max pooling as the model has it).
    deployed_ann_accuracy : float or None
        The same as the spiking network computes it (max pooling as average, unless read
        ``"pairwise"``).
    held_out : int
        Held-out digits those accuracies are on.
    reference_difference : float or None
        Largest difference between this reading's logits and ONNX's reference evaluator's on
        :data:`REFERENCE_IMAGES` images, relative to the largest logit.
    max_pools : int
        Max poolings that became average poolings (none with ``max_pool="pairwise"``).
    """

    scales: list
    ann_accuracy: float | None
    deployed_ann_accuracy: float | None
    held_out: int
    reference_difference: float | None
    max_pools: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def convert_graph(graph: AnnGraph, train: Digits, held_out: Digits, calibration, *,
                  percentile: float = 99.9, sample: int = 1000, max_rate: float = 200.0,
                  input_rate: float = 400.0, seed: int = 0,
                  reference=None, provenance: dict | None = None):
    """The spiking network of ``graph`` and a :class:`ConversionReport`.

    Parameters
    ----------
    graph : AnnGraph
    train : Digits
        Training digits; ``sample`` of them, drawn with ``seed``, set the scales.
    held_out : Digits
        Digits the ANN's accuracy is measured on (may be empty).
    calibration : lifresponse.calibration.fit.Calibration
        The neurons, their timestep and (k, S).
    percentile : float
        Of each layer's positive activations, in (0, 100]; 100 is the maximum.
    max_rate : float
        Rate (Hz) of a unit at its layer's scale.
    input_rate : float
        Poisson rate (Hz) of a pixel of 1.
    reference : callable, optional
        ``reference(pixels)``: the model's own logits (ONNX's evaluator), to check the reading.
    provenance : dict, optional
        Added to the network's provenance.
    """
    calibration.require_trainable()
    _check_settings(percentile, sample, max_rate, input_rate)
    _check_weights(graph)
    biased = [p.node for p in graph.populations if p.bias is not None and np.any(p.bias)]
    refusal = bias_refusal(calibration.cell) if biased else None
    if refusal:
        raise ParameterError("calibration", f"{graph.source}: node {biased[0]!r} has a bias, "
                             f"and {refusal}; convert into IF_curr_exp or IF_curr_alpha "
                             "neurons")
    shaped = spiking_network(graph, [1.0] * len(graph.populations), calibration,
                             max_rate=max_rate, input_rate=input_rate, provenance={},
                             architecture="shape check")
    pixels = check_images(train, shaped)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(pixels), min(sample, len(pixels)), replace=False))
    images = pixels[chosen].reshape(len(chosen), *graph.input_shape)
    difference = None
    if reference is not None:
        few = images[:REFERENCE_IMAGES]
        theirs = np.asarray(reference(few), float).reshape(len(few), -1)
        ours = graph.activations(few)[-1].reshape(len(few), -1)
        difference = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-12))
        if difference > REFERENCE_TOLERANCE:
            raise ConversionError(f"{graph.source}: the converted graph's outputs differ from "
                                  f"ONNX's own evaluation by {difference:.2g} of the largest "
                                  "output on the first sample images; this model is not read "
                                  "correctly (please report it)")
    scales = activation_scales(graph, images, percentile)
    accuracy = deployed = None
    if len(held_out):
        test = check_images(held_out, shaped).reshape(len(held_out), *graph.input_shape)
        accuracy = float(np.mean(graph.predict(test) == held_out.labels))
        deployed = float(np.mean(graph.predict(test, as_deployed=True) == held_out.labels))
    max_pools = sum(t.max_pool for p in graph.populations for t in p.terms)
    report = ConversionReport(scales, accuracy, deployed, len(held_out), difference, max_pools)
    record = {"method": "converted", "source": graph.source,
              "normalisation": {"percentile": percentile, "sample": len(chosen),
                                "sample_seed": seed, "max_rate_hz": max_rate,
                                "scales": scales},
              "max_pool": graph.max_pool, "absorb_pooling": graph.absorb_pooling,
              "conversion": report.to_dict(), **(provenance or {})}
    network = spiking_network(graph, scales, calibration, max_rate=max_rate,
                              input_rate=input_rate, provenance=record,
                              architecture=_describe(graph))
    return network, report


def _check_settings(percentile, sample, max_rate, input_rate) -> None:
    if not 0 < percentile <= 100:
        raise ParameterError("percentile", f"must be in (0, 100] (got {percentile})")
    if sample < 1:
        raise ParameterError("sample", f"must be >= 1 image (got {sample})")
    for name, value in (("max_rate", max_rate), ("input_rate", input_rate)):
        if not (np.isfinite(value) and value > 0):
            raise ParameterError(name, f"must be > 0 Hz (got {value})")


def _check_weights(graph: AnnGraph) -> None:
    for population in graph.populations:
        for term in population.terms:
            if not np.all(np.isfinite(term.weight)):
                raise ConversionError(f"{graph.source}: node {population.node!r}: its weights "
                                      "contain NaN or inf")
        if population.bias is not None and not np.all(np.isfinite(population.bias)):
            raise ConversionError(f"{graph.source}: node {population.node!r}: its bias "
                                  "contains NaN or inf")


def _describe(graph: AnnGraph) -> str:
    kinds = [t.kind if not t.max_pool else "maxpool" for p in graph.populations
             for t in p.terms[:1]]
    merges = sum(len(p.terms) - 1 for p in graph.populations)
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("conv", "pool", "maxpool", "dense")
                       if kinds.count(k))
    return f"converted from {graph.source}: {counts}" + (f", {merges} merges" if merges else "")


def onnx_of_module(module, sample) -> bytes:
    """A ``torch.nn.Module`` as an ONNX model (bytes), traced on ``sample`` in eval mode
    (torch's TorchScript exporter, constant folding on; batch norm stays as its nodes or is
    folded by torch, exactly either way)."""
    import torch

    module = module.eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.as_tensor(sample, dtype=torch.float32),), buffer,
                          dynamo=False, input_names=["pixels"], output_names=["logits"])
    return buffer.getvalue()


def reference_evaluator(model):
    """``pixels -> logits`` by ONNX's own reference evaluator (numpy), one image at a time
    (an export traced on one image may reshape to a batch of one)."""
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(model)
    name = [i.name for i in model.graph.input
            if i.name not in {t.name for t in model.graph.initializer}][0]
    return lambda pixels: np.concatenate([
        evaluator.run(None, {name: np.asarray(image[None], np.float32)})[0].reshape(1, -1)
        for image in pixels])


__all__ = ["ConversionError", "ConversionReport", "convert_graph", "onnx_of_module",
           "read_model", "reference_evaluator"]
