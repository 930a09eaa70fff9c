"""What a deployment run shows: accuracy, confusion, accuracy against presentation time,
per-layer rates, and recorded rates against the ANN's predictions (the paper's Fig. 12)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifresponse.activations import get_activation
from lifresponse.cells import cell_type
from lifresponse.conductance_mean_field import CONDUCTANCE_SHAPES
from lifresponse.networks.network_file import Network
from lifresponse.networks.prediction import layer_input, rates_of_input
from lifresponse.networks.topology import network_connections

FIG12_IMAGES = 10
PREDICTION_IMAGES = 100  # images whose rates are predicted: predicting every digit's took as
# long as simulating it (19 s for 10,000 digits of 6c5-2s-12c5-2s-10fc against 21 s, in a
# development profile here, not a kept result)
PREDICTORS = ("noisy-softplus", "relu", "softplus")


@dataclass
class Evaluation:
    """Summary of a run.

    Attributes
    ----------
    accuracy : float
        Fraction of images whose output neuron with most spikes is the label (ties to the
        lowest index; an image with no output spike counts as wrong).
    confusion : numpy.ndarray
        (10, 10) counts, [true, predicted].
    time_ms, accuracy_by_time : numpy.ndarray
        Accuracy using only the spikes in the first ``t`` ms of each window.
    layer_rates : dict
        Layer index -> mean rate over neurons and images (Hz).
    fig12_distance : dict
        Activation -> Euclidean distance (Hz) between recorded rates of the first layer's
        first map and the rates that activation predicts from the input rates, over the first
        10 images.
    layer_distance : dict
        Activation -> per recorded layer, RMS difference (Hz) between recorded rates and the
        one-layer prediction from the recorded (or, for layer 0, the input) rates, over the
        first ``prediction_images`` images.
    prediction_images : int
        How many images the rate predictions were made for.
    """

    accuracy: float
    confusion: np.ndarray
    time_ms: np.ndarray
    accuracy_by_time: np.ndarray
    layer_rates: dict
    fig12_distance: dict
    layer_distance: dict
    prediction_images: int

    def summary(self) -> dict:
        """JSON-ready version (stored in ``run.h5`` as the ``evaluation`` attribute)."""
        return {"accuracy": self.accuracy, "confusion": self.confusion.tolist(),
                "time_ms": self.time_ms.tolist(),
                "accuracy_by_time": self.accuracy_by_time.tolist(),
                "layer_rates_hz": {str(k): v for k, v in self.layer_rates.items()},
                "fig12_distance_hz": self.fig12_distance,
                "layer_rms_difference_hz": {name: {str(k): v for k, v in d.items()}
                                            for name, d in self.layer_distance.items()},
                "prediction_images": self.prediction_images}


def classify(counts: np.ndarray) -> np.ndarray:
    """Winner per image (most spikes along the last axis; ties to the lowest index); -1 where
    nothing fired."""
    winner = counts.argmax(axis=-1)
    return np.where(counts.max(axis=-1) > 0, winner, -1)


class Evaluator:
    """The evaluation of a run, gathered block by block as the blocks finish (in any order),
    so that it needs the memory of one block.

    Rates are predicted only for the run's first :data:`PREDICTION_IMAGES` images (the Fig. 12
    distance uses the first :data:`FIG12_IMAGES` of them).

    Parameters
    ----------
    network : Network
    labels : numpy.ndarray
        True class of every image of the run.
    pixels : numpy.ndarray
        The run's images, flattened, in [0, 1] (only the first ``PREDICTION_IMAGES`` are used).
    window_ms : float
    time_bins_ms : numpy.ndarray
        End of each time bin of the window (ms).
    """

    def __init__(self, network: Network, labels: np.ndarray, pixels: np.ndarray,
                 window_ms: float, time_bins_ms: np.ndarray):
        self.network, self.labels = network, np.asarray(labels)
        self.window_s, self.time_bins_ms = window_ms / 1000.0, time_bins_ms
        n = len(labels)
        self.n_predicted = min(PREDICTION_IMAGES, n)
        self.input_rates = np.asarray(pixels[:self.n_predicted], float) * network.input_rate
        self.predicted = np.full(n, -1, np.int64)
        self.correct_by_time = np.zeros(len(time_bins_ms), np.int64)
        self.spikes = {}  # layer -> spikes of all its neurons in all images so far
        self.sizes = {}
        own = (network.activation,) if network.has_ann_model and get_activation(
            network.activation).models_cell else ()  # measured, or the conductance mean field
        if network.shared_cell in CONDUCTANCE_SHAPES and \
                "conductance-mean-field" not in own:  # whatever the network trained with
            own += ("conductance-mean-field",)
        # Softplus's fixed noise level is a current (softplus_sigma, nA): it predicts nothing
        # of inputs in other units (uS, mV)
        general = tuple(name for name in PREDICTORS if name != "softplus" or all(
            cell_type(layer.cell).weight_unit == "nA" for layer in network.layers))
        self.predictors = (*general, *own) if network.has_ann_model and \
            network.input_encoding == "poisson" else ()  # without an ANN model: nothing to predict
        self.by_sign = any(get_activation(name).by_sign for name in self.predictors)
        self.connections = network_connections(network) if self.predictors else None
        self.prediction_rates = {}  # layer -> recorded rates of the first images (Hz)
        self.images_predicted = 0  # of the first n_predicted images, how many were added
        self.distances = None  # (fig12, per_layer) once the first images are in

    def add(self, block) -> None:
        """Take a :class:`~lifresponse.networks.blocks.BlockActivity`."""
        images = slice(block.first, block.first + block.n_images)
        labels = self.labels[images]
        last = max(block.counts)
        self.predicted[images] = classify(block.counts[last])
        self.correct_by_time += np.count_nonzero(  # classify: (image, bin, output)
            classify(block.cumulative_by_time) == labels[:, None], axis=0)
        kept = max(0, min(self.n_predicted - block.first, block.n_images))  # of the first ones
        for index, counts in block.counts.items():
            self.spikes[index] = self.spikes.get(index, 0) + int(counts.sum(dtype=np.int64))
            self.sizes[index] = counts.shape[1]
            if self.predictors and kept > 0:
                rates = self.prediction_rates.setdefault(
                    index, np.zeros((self.n_predicted, counts.shape[1])))
                rates[block.first:block.first + kept] = counts[:kept] / self.window_s
        self.images_predicted += kept
        if self.images_predicted == self.n_predicted and self.distances is None:
            self.distances = self._distances()  # now, while the later blocks simulate

    def result(self) -> Evaluation:
        """The evaluation of every image added."""
        labels, predicted = self.labels, self.predicted
        n_classes = self.network.layers[-1].n_out
        confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
        shown = predicted >= 0
        np.add.at(confusion, (labels[shown], predicted[shown]), 1)
        n = len(labels)
        rates = {i: self.spikes[i] / (n * self.sizes[i] * self.window_s) for i in self.spikes}
        fig12, per_layer = self.distances or self._distances()
        return Evaluation(float(np.mean(predicted == labels)), confusion, self.time_bins_ms,
                          self.correct_by_time / n, rates, fig12, per_layer, self.n_predicted)

    def _distances(self) -> tuple[dict, dict]:
        """The Fig. 12 distance and the per-layer RMS differences (``Evaluation``) of the
        first images' recorded rates from each predictor's."""
        fig12, per_layer = {}, {name: {} for name in self.predictors or PREDICTORS}
        if not self.predictors:
            return fig12, per_layer
        sources = {-1: self.input_rates, **self.prediction_rates}
        first_map = slice(0, int(np.prod(self.network.layers[0].out_shape[1:])))
        m = min(FIG12_IMAGES, len(self.labels))
        for index, recorded in self.prediction_rates.items():
            into = self.connections[index]
            if any(c.source not in sources for c in into):
                continue
            net, sigma = layer_input(self.network, into, sources,
                                     self.network.layers[index].bias_per_neuron(), self.by_sign)
            for name in self.predictors:  # one input, each predictor's rates of it
                predicted_rates = rates_of_input(self.network, net, sigma, name, self.by_sign)
                per_layer[name][index] = float(np.sqrt(np.mean((recorded - predicted_rates)
                                                               ** 2)))
                if index == 0:
                    fig12[name] = float(np.linalg.norm(recorded[:m, first_map]
                                                       - predicted_rates[:m, first_map]))
        return fig12, per_layer
