"""What the board will do, before the board: a network's accuracy with SpiNNaker's 16-bit
weights and saturating ring buffers, forecast by the exact simulator, with sPyNNaker's own
weight scaling and with one chosen from the inputs the network really receives.

Steps (:func:`forecast_board`):

1. map the network on a virtual board and read the shifts sPyNNaker chooses itself
   (:func:`lifresponse.backends.spinnaker.check.map_on_virtual_board`);
2. run the exact simulator with float weights on a sample of *training* images, watching every
   population's largest summed input per timestep and synapse type;
3. give sPyNNaker those sums as ``max_expected_summed_weight``
   (:func:`lifresponse.backends.spinnaker.weights.choose_scaling`), map again, and read the
   shifts it then chooses;
4. run the evaluation images three times on the exact simulator: float weights, sPyNNaker's
   default storage, the chosen storage (weights and saturation as the board stores and sums
   them; :mod:`lifresponse.backends.torch.step_kernel`).

Not modelled: the board's neuron update in 16.15 fixed point, and sPyNNaker's own
exponential-synapse update (its input is multiplied by ``tau/h (1 - exp(-h/tau))`` on arrival,
``exp_synapse_utils.h``); both differ from NEST's float update, which the exact simulator
reproduces. The forecast isolates what the weight storage does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lifresponse.backends.spinnaker.check import BoardMapping, map_on_virtual_board
from lifresponse.backends.spinnaker.weights import (
    BoardScaling,
    choose_scaling,
    headroom,
    quantisation_table,
)
from lifresponse.datasets import Digits
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks.network_file import Network
from lifresponse.networks.topology import network_connections


@dataclass(frozen=True)
class Outcome:
    """One evaluation run of the forecast.

    Attributes
    ----------
    weights : str
        "float", "sPyNNaker default" or "chosen".
    time_ms, accuracy_by_time : list of float
        Accuracy (ties as the evaluation decides them) after each 10 ms.
    saturations : list
        Per layer, (excitatory, inhibitory) (image, neuron, step) input sums held at the ring
        buffer's limit (0 for float weights: nothing limits them).
    peaks : list of numpy.ndarray
        Per layer, (excitatory, inhibitory) x maps: the largest summed input of one step (nA)
        into each map.
    """

    weights: str
    time_ms: list
    accuracy_by_time: list
    saturations: list
    peaks: list

    def accuracy_at(self, ms: float) -> float:
        """Accuracy after ``ms`` of presentation (the nearest 10 ms bin)."""
        times = np.asarray(self.time_ms)
        return float(self.accuracy_by_time[int(np.argmin(np.abs(times - ms)))])


@dataclass(frozen=True)
class BoardForecast:
    """Everything :func:`forecast_board` found.

    Attributes
    ----------
    default, chosen : BoardMapping
        The mapping and sPyNNaker's scaling, on its own and given the chosen sums.
    default_table, chosen_table : list of LayerQuantisation
    outcomes : list of Outcome
        float, sPyNNaker default, chosen.
    sample_images : int
        Training images the chosen sums come from.
    sample_peaks : list of numpy.ndarray
        Their largest summed input per layer, (excitatory, inhibitory) x maps (nA, mV into
        ``IF_curr_delta``): what the choice was made from.
    """

    default: BoardMapping
    chosen: BoardMapping
    default_table: list
    chosen_table: list
    outcomes: list
    sample_images: int
    sample_peaks: list


def forecast_board(network: Network, sample: Digits, evaluation: Digits, window: float,
                   connectors: str = "native", config: DeployConfig | None = None,
                   progress: bool = True) -> BoardForecast:
    """The module docstring's four steps for ``network``.

    Parameters
    ----------
    network : Network
    sample : Digits
        Training images whose summed inputs choose the scaling.
    evaluation : Digits
        Held-out images the accuracies are measured on.
    window : float
        Presentation time per image (ms).
    connectors : {"native", "lists"}
        How the network would be built on sPyNNaker.
    config : DeployConfig, optional
        The exact simulator's settings (seed, threads, batch); its backend, window, record and
        weights are set here.
    progress : bool
    """
    base = replace(config or DeployConfig(), backend="torch", window=window, record="output",
                   watch_inputs=True, spinnaker_weights=None)
    connections = network_connections(network)
    default = map_on_virtual_board(network, connectors)
    seen = deploy(network, sample, base, progress=progress).attrs["input_peaks"]
    peaks = [np.asarray(p) for p in seen]
    wanted = choose_scaling(network, default.scaling, peaks, connections)
    summed = BoardScaling(chosen_source(len(sample)), default.scaling.connectors, tuple(
        replace(p, max_expected_summed_weight=wanted[(p.layer, p.first)])
        for p in default.scaling.populations))
    chosen = map_on_virtual_board(network, connectors, summed)
    outcomes = []
    for label, scaling in (("float", None), ("sPyNNaker default", default.scaling),
                           ("chosen", chosen.scaling)):
        run = deploy(network, evaluation, replace(base, spinnaker_weights=scaling),
                     progress=progress)
        evaluation_summary = run.attrs["evaluation"]
        outcomes.append(Outcome(
            label, list(evaluation_summary["time_ms"]),
            list(evaluation_summary["accuracy_by_time"]), run.attrs["input_saturations"],
            [np.asarray(p) for p in run.attrs["input_peaks"]]))
    return BoardForecast(default, chosen, quantisation_table(network, default.scaling,
                                                             connections),
                         quantisation_table(network, chosen.scaling, connections), outcomes,
                         len(sample), peaks)


def chosen_source(images: int) -> str:
    """How the chosen scaling was made, as recorded in its file."""
    return (f"max_expected_summed_weight: the largest summed input per timestep of {images} "
            "training images on the exact simulator")


def table_rows(network: Network, forecast: BoardForecast) -> list[dict]:
    """Per layer and synapse type: the largest summed input of one step with float weights
    (on the evaluation images), and for both scalings the shifts, the headroom above that sum
    (:func:`~lifresponse.backends.spinnaker.weights.headroom`), the weights stored as 0, the
    largest rounding error, and the saturations each forecast."""
    rows = []
    float_run, default, chosen = forecast.outcomes
    for d, c in zip(forecast.default_table, forecast.chosen_table, strict=True):
        sign = 0 if d.receptor == "excitatory" else 1
        sides = {}
        for q, outcome, mapping in ((d, default, forecast.default),
                                    (c, chosen, forecast.chosen)):
            sides[outcome.weights] = {
                "shifts": list(q.shifts), "zeroed": q.zeroed,
                "max_relative_error": q.max_relative_error,
                "headroom": headroom(network, mapping.scaling, float_run.peaks, d.layer, sign),
                "saturations": int(outcome.saturations[d.layer][sign])}
        rows.append({"layer": d.layer, "receptor": d.receptor, "weights": d.n_weights,
                     "largest_sum_nA": float(float_run.peaks[d.layer][sign].max()),
                     "default": sides[default.weights], "chosen": sides[chosen.weights]})
    return rows
