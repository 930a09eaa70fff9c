"""What a deployment run shows: accuracy, confusion, accuracy against presentation time,
per-layer rates, and recorded rates against the ANN's predictions (the paper's Fig. 12)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifresponse.networks.network_file import Network
from lifresponse.networks.prediction import layer_rates
from lifresponse.networks.run_file import RunRecord
from lifresponse.networks.topology import network_connections

FIG12_IMAGES = 10
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
        one-layer prediction from the recorded (or, for layer 0, the input) rates.
    """

    accuracy: float
    confusion: np.ndarray
    time_ms: np.ndarray
    accuracy_by_time: np.ndarray
    layer_rates: dict
    fig12_distance: dict
    layer_distance: dict


    def summary(self) -> dict:
        """JSON-ready version (stored in ``run.h5`` as the ``evaluation`` attribute)."""
        return {"accuracy": self.accuracy, "confusion": self.confusion.tolist(),
                "time_ms": self.time_ms.tolist(),
                "accuracy_by_time": self.accuracy_by_time.tolist(),
                "layer_rates_hz": {str(k): v for k, v in self.layer_rates.items()},
                "fig12_distance_hz": self.fig12_distance,
                "layer_rms_difference_hz": {name: {str(k): v for k, v in d.items()}
                                            for name, d in self.layer_distance.items()}}


def classify(counts: np.ndarray) -> np.ndarray:
    """Winner per image (most spikes; ties to the lowest index); -1 where nothing fired."""
    winner = counts.argmax(axis=1)
    return np.where(counts.max(axis=1) > 0, winner, -1)


def evaluate(run: RunRecord, network: Network, pixels: np.ndarray) -> Evaluation:
    """Evaluate ``run`` of ``network`` on flattened ``pixels`` (the images it was shown)."""
    labels = run.labels
    predicted = classify(run.output_counts)
    n_classes = network.layers[-1].n_out
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    shown = predicted >= 0
    np.add.at(confusion, (labels[shown], predicted[shown]), 1)
    by_time = np.array([np.mean(classify(run.output_counts_by_time[:, b]) == labels)
                        for b in range(run.output_counts_by_time.shape[1])])
    window_s = run.attrs["window_ms"] / 1000.0
    rates = {i: c / window_s for i, c in run.layer_counts.items()}
    connections = network_connections(network)
    input_rates = pixels * network.input_rate
    fig12, per_layer = {}, {name: {} for name in PREDICTORS}
    predictors = PREDICTORS if network.has_ann_model and network.input_encoding == "poisson" \
        else ()  # without an ANN model there is nothing to predict rates with
    for name in predictors:
        for index, recorded in rates.items():
            source = input_rates if index == 0 else rates.get(index - 1)
            if source is None:
                continue
            predicted_rates = layer_rates(network, connections[index], source, name)
            per_layer[name][index] = float(np.sqrt(np.mean((recorded - predicted_rates) ** 2)))
            if index == 0:
                first_map = slice(0, int(np.prod(network.layers[0].out_shape[1:])))
                n = min(FIG12_IMAGES, len(recorded))
                fig12[name] = float(np.linalg.norm(recorded[:n, first_map]
                                                   - predicted_rates[:n, first_map]))
    return Evaluation(float(np.mean(predicted == labels)), confusion, run.time_bins_ms, by_time,
                      {i: float(r.mean()) for i, r in rates.items()}, fig12, per_layer)
