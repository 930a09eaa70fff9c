"""Training, fine tuning and evaluation of artificial-spiking-neuron ANNs (docs/science.md
section 5).

Protocol (the paper's): mini-batches of 50, MSE between the output ``y`` (rate * tau_syn) and
binary labels (1 for the true class, i.e. 1/tau_syn = 200 Hz at 5 ms; 0 otherwise), a decaying
learning rate (Adam, x0.9 every two epochs), 20 epochs. Fine tuning: more epochs with Noisy
Softplus in every layer and the labels shifted by +0.01. After every epoch a checkpoint is written
next to the output; ``resume=True`` continues from it.

Our addition, on by default: a penalty on hidden rates above 200 Hz (:func:`rate_penalty`,
``rate_limit = 0`` turns it off), because there the simulated LIF neuron fires well below the
Noisy Softplus prediction (docs/training.md).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lifresponse.cells import CellParams
from lifresponse.cores import available_cores
from lifresponse.datasets import Digits
from lifresponse.errors import LifResponseError, ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.network_file import Network
from lifresponse.neuron import LIFParams
from lifresponse.paths import write_atomic
from lifresponse.training import RATE_LIMIT_HZ
from lifresponse.training.model import SpikingActivation, SpikingNetwork

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """How to train.

    Attributes
    ----------
    epochs : int
    batch_size : int
    learning_rate : float
        Initial Adam learning rate.
    decay : float
        Learning-rate factor applied every ``decay_every`` epochs.
    decay_every : int
    label_offset : float
        Added to every target (0 in training, 0.01 in fine tuning).
    training_noise : float
        Std of Gaussian noise added to positive rates during training (Hz), as Hunsberger &
        Eliasmith; 0 for none.
    count_window : float
        Presentation time (ms) whose spike-count noise is added to the inputs and to every
        layer's rates during training (:meth:`SpikingNetwork._count_noise`): the noise of an SNN
        read after that time; 0 for none.
    rate_limit : float
        Hidden-layer rate ceiling (Hz); 0 for none (the paper's protocol). Every hidden rate
        above it adds ``((rate - rate_limit) tau_syn)^2``, averaged over the layer's neurons, to
        the loss (:func:`rate_penalty`). With the margin loss, which does not bound the
        outputs as the MSE's targets do, the output layer's rates too.
    augment : int
        Largest random shift of a training image (pixels, each axis; :func:`shifted`); 0 for
        none (the paper's protocol).
    loss : {"rate-mse", "margin"}
        The output's loss (:func:`output_loss`): the paper's mean squared difference to the
        labels, or a squared hinge until the true class leads every other by ``margin``.
    margin : float
        The lead the ``"margin"`` loss asks of the true class, in rate x tau_syn (0.25: 50 Hz
        at 5 ms).
    bias : bool
        Give the convolution and dense layers of a network trained from scratch biases (nA,
        each neuron's constant current), trained with the weights; fine tuning trains a
        network's own biases whatever this says.
    seed : int
    unit_gain_init : bool
        Divide the initial weights (and pooling windows) by the activation's gain ``S
        tau_syn``, so that every layer passes its mean input on whatever the cell's ``S``, and
        Adam's learning rates likewise (Adam moves a weight by about its learning rate whatever
        the gradient, so weights ``S tau_syn`` times smaller need steps as much smaller). The
        default start assumes a gain near 1 (``IF_curr_exp``'s Poisson calibration: 0.93);
        ``IF_curr_alpha``'s 1.8 per layer silences the output units in the first updates, and
        ``IF_cond_exp``'s weights are conductances, its gain 65 (docs/cells.md).
    threads : int
        torch CPU threads.
    device : str
        torch device to train on ("cpu", "cuda", "cuda:1", ...).
    """

    epochs: int = 20
    batch_size: int = 50
    learning_rate: float = 1e-3
    decay: float = 0.9
    decay_every: int = 2
    label_offset: float = 0.0
    training_noise: float = 0.0
    count_window: float = 0.0
    rate_limit: float = RATE_LIMIT_HZ
    augment: int = 0
    loss: str = "rate-mse"
    margin: float = 0.25
    bias: bool = False
    seed: int = 0
    unit_gain_init: bool = False
    threads: int = field(default_factory=available_cores)
    device: str = "cpu"

    def __post_init__(self):
        check_common_settings(self)
        for name, unit in (("training_noise", "Hz"), ("rate_limit", "Hz"),
                           ("count_window", "ms")):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ParameterError(name, f"must be >= 0 {unit} and finite (got {value})")
        if isinstance(self.augment, bool) or not isinstance(self.augment, int) \
                or self.augment < 0:
            raise ParameterError("augment", f"must be a whole number of pixels >= 0 (got "
                                 f"{self.augment!r})")
        if not math.isfinite(self.label_offset):
            raise ParameterError("label_offset", f"must be finite (got {self.label_offset})")
        check_loss(self, ANN_LOSSES)
        if self.loss == "margin" and self.label_offset:
            raise ParameterError("label_offset", f"shifts the targets of the rate-mse loss; the "
                                 f"margin loss has none (got {self.label_offset})")
        if not 0 < self.decay <= 1 or self.decay_every < 1:
            raise ParameterError("decay", f"must be in (0, 1] every >= 1 epochs (got "
                                 f"{self.decay} every {self.decay_every})")


ANN_LOSSES = ("rate-mse", "margin")


def check_loss(settings, losses: tuple) -> None:
    """``settings.loss`` one of ``losses``, and a ``margin`` (rate x tau_syn) > 0 given only
    with the margin loss."""
    if settings.loss not in losses:
        raise ParameterError("loss", f"must be one of {', '.join(losses)} (got "
                             f"{settings.loss!r})")
    if not (math.isfinite(settings.margin) and settings.margin > 0):
        raise ParameterError("margin", f"must be > 0 (rate x tau_syn) and finite (got "
                             f"{settings.margin})")
    if settings.margin != type(settings).margin and settings.loss != "margin":
        raise ParameterError("margin", f"only with the margin loss (got loss "
                             f"{settings.loss!r}, which has no margin)")


def check_common_settings(settings) -> None:
    """What every trainer's settings share: whole ``epochs``, ``batch_size``, ``threads`` >= 1,
    a finite ``learning_rate`` > 0, a ``seed`` >= 0 (NaN refused: "not x > 0", not "x <= 0"),
    a torch ``device`` that is there."""
    for name in ("epochs", "batch_size", "threads"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(name, f"must be >= 1, a whole number (got {value!r})")
    if not (settings.learning_rate > 0 and math.isfinite(settings.learning_rate)):
        raise ParameterError("learning_rate", f"must be > 0 and finite (got "
                             f"{settings.learning_rate})")
    if not isinstance(settings.seed, int) or not 0 <= settings.seed < 2**31:
        raise ParameterError("seed", f"must be a whole number in 0 .. 2^31 - 1 (got "
                             f"{settings.seed!r})")
    if not (settings.device == "cpu" or settings.device.startswith("cuda")):
        raise ParameterError("device", f"'cpu', 'cuda', 'cuda:N' (got {settings.device!r})")
    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device", f"torch sees no CUDA GPU here (got {settings.device!r})")


@dataclass
class History:
    """Per-epoch loss (MSE), validation accuracy and wall time (s)."""

    loss: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)


class TrainingDivergedError(LifResponseError):
    """The loss became NaN or infinite."""


class CheckpointError(LifResponseError):
    """A checkpoint exists and ``resume`` was not asked for, or it belongs to another run."""


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".ckpt")


def train(model: SpikingNetwork, train_set: Digits, validation_set: Digits,
          settings: TrainSettings, out: Path | None = None, resume: bool = False,
          progress: bool = True, origin: str | None = None) -> History:
    """Train ``model`` in place; with ``out``, checkpoint after every epoch to ``<out>.ckpt``.

    An empty ``validation_set`` trains without validation: the history's accuracies are None.
    ``origin`` (:func:`network_origin`) names the network training starts from, for the
    checkpoint. Returns the history of all epochs (including those before a resume).

    Raises
    ------
    CheckpointError
        If a checkpoint exists and ``resume`` is False, or it was made with other settings.
    """
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    model.to(settings.device)
    gain = model.activation.S * model.activation.tau_s if settings.unit_gain_init else 1.0
    optimizer = torch.optim.Adam(_parameter_groups(model, settings.learning_rate / gain))
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, settings.decay_every, settings.decay)
    ckpt = None if out is None else checkpoint_path(Path(out))
    data = {**data_identity(train_set, validation_set), "start": origin}
    history, start_epoch = restore_checkpoint(ckpt, resume, settings, data, model, optimizer,
                                              schedule)
    model.training_noise = settings.training_noise
    model.count_window = settings.count_window
    images = torch.as_tensor(train_set.maps()).to(settings.device)
    n_classes = model.layers[-1].out_shape[0]
    targets = torch.nn.functional.one_hot(torch.as_tensor(train_set.labels), n_classes).float()
    targets = (targets + settings.label_offset).to(settings.device)
    labels = torch.as_tensor(train_set.labels, dtype=torch.long).to(settings.device)
    for epoch in range(start_epoch, settings.epochs):
        start = time.perf_counter()
        epoch_generator = torch.Generator().manual_seed(settings.seed * 1000 + epoch)
        order = torch.randperm(len(images), generator=epoch_generator).to(settings.device)
        if settings.augment:  # drawn after the order: without it, training is as before
            shifts = torch.randint(-settings.augment, settings.augment + 1, (len(images), 2),
                                   generator=epoch_generator).to(settings.device)
        model.train()
        total, batches = 0.0, range(0, len(images), settings.batch_size)
        for first in tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}",
                          disable=not progress, leave=False, unit="batch"):
            index = order[first:first + settings.batch_size]
            batch = shifted(images[index], shifts[first:first + len(index)], settings.augment) \
                if settings.augment else images[index]
            outputs = model(batch, return_all=True)
            loss = output_loss(outputs[-1], labels[index], targets[index], settings)
            if settings.rate_limit > 0:  # the margin loss leaves the outputs unbounded too
                ceiling = settings.rate_limit * model.activation.tau_s
                limited = outputs if settings.loss == "margin" else outputs[:-1]
                loss = loss + rate_penalty(limited, ceiling)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)  # stays on the device: no sync per batch
        schedule.step()
        history.loss.append(float(total) / len(images))
        if not math.isfinite(history.loss[-1]):
            raise TrainingDivergedError(
                f"training diverged: the loss of epoch {epoch + 1} is {history.loss[-1]} "
                f"(learning rate {settings.learning_rate:g}; too large a rate, or weights "
                "far from any that train); the network was not written")
        history.validation_accuracy.append(
            accuracy(model, validation_set) if len(validation_set) else None)
        history.epoch_seconds.append(time.perf_counter() - start)
        validation = history.validation_accuracy[-1]
        log.log(logging.INFO if progress else logging.DEBUG,
                "epoch %d/%d: loss %.5f, %s, %.1f s", epoch + 1, settings.epochs,
                history.loss[-1], "no validation split" if validation is None else
                f"validation accuracy {100 * validation:.2f} %", history.epoch_seconds[-1])
        if ckpt is not None:
            save_checkpoint(ckpt, model, optimizer, schedule, history, epoch + 1, settings, data)
    return history


def output_loss(y: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor,
                settings: TrainSettings) -> torch.Tensor:
    """The batch's loss on its outputs ``y`` (rate x tau_syn, (batch, classes)): the mean
    squared difference to ``targets`` (one-hot labels + the label offset; the paper's), or the
    mean of :func:`margin_losses`."""
    if settings.loss == "margin":
        return torch.mean(margin_losses(y, labels, settings.margin))
    return torch.mean((y - targets) ** 2)


def margin_losses(y: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Each image's squared hinge on how far its true class's output ``y`` (rate x tau_syn)
    leads every other output: ``sum_j relu(margin - (y_true - y_j))^2`` over the other classes
    ``j``, zero once the lead is ``margin`` everywhere. Only wrong, tied and close images move
    the weights, and outputs are not pushed higher once every image is clear. A tensor
    (batch,)."""
    lead = y.gather(1, labels[:, None]) - y  # the true class's own lead is 0
    others = 1.0 - torch.nn.functional.one_hot(labels, y.shape[1]).to(y.dtype)
    return torch.sum((torch.relu(margin - lead) * others) ** 2, dim=1)


def shifted(images: torch.Tensor, shifts: torch.Tensor, largest: int) -> torch.Tensor:
    """``images`` (n, channels, height, width) each moved by its own whole-pixel ``shifts``
    (n, 2: down, right; within +-``largest``), zeros moved in: the common MNIST augmentation,
    which lets a network learn that a digit is the same a pixel or two away."""
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (largest,) * 4)
    rows = torch.arange(height, device=images.device) + largest - shifts[:, :1]  # (n, height)
    cols = torch.arange(width, device=images.device) + largest - shifts[:, 1:]  # (n, width)
    picked = padded[torch.arange(n, device=images.device)[:, None, None], :,
                    rows[:, :, None], cols[:, None, :]]  # (n, height, width, channels)
    return picked.permute(0, 3, 1, 2)


def network_origin(network, source) -> str:
    """The network a run starts from, as its checkpoint records it: where it came from and a
    digest of its weights (so another start is told apart on resume)."""
    digest = hashlib.sha256()
    for layer in network.layers:
        digest.update(np.ascontiguousarray(layer.weight, dtype=np.float64).tobytes())
    return f"{source}, weights sha256 {digest.hexdigest()[:16]}"


def data_identity(train_set: Digits, validation_set: Digits) -> dict:
    """What a checkpoint records of the digits it trains and validates on: how many, from
    where, and a digest of their pixels and labels (so another ``--data``, ``--validation`` or
    ``--split-seed`` is told apart on resume)."""
    def describe(digits: Digits) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(digits.images).tobytes())
        digest.update(np.ascontiguousarray(digits.labels).tobytes())
        return f"{len(digits)} from {digits.source}, sha256 {digest.hexdigest()[:16]}"

    return {"training digits": describe(train_set), "validation digits": describe(validation_set)}


def restore_checkpoint(ckpt: Path | None, resume: bool, settings, data: dict, model, optimizer,
                       schedule) -> tuple[History, int]:
    """(history, first epoch to run): a fresh start, or, with ``resume``, the state of the
    checkpoint ``ckpt`` loaded into ``model``, ``optimizer``, ``schedule`` and the random
    generators.

    Raises
    ------
    CheckpointError
        A checkpoint exists and ``resume`` is False, or it is unreadable, older, or was made
        with other ``settings`` (a dataclass), other digits (``data``, from
        :func:`data_identity`), another architecture or another input rate; the message names
        each difference with both values.
    """
    if ckpt is None or not ckpt.exists():
        return History(), 0
    if not resume:
        raise CheckpointError(f"{ckpt} holds an unfinished training run: continue it with "
                              "resume (--resume) or delete it")
    try:
        state = torch.load(ckpt, weights_only=False, map_location=settings.device)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"{ckpt}: not a readable checkpoint ({exc}); delete it") \
            from None
    if "random" not in state:
        raise CheckpointError(f"{ckpt} has no random states (an older lifresponse wrote "
                              "it), so a resumed run would differ; delete it")
    # settings added since a checkpoint was written had their defaults then
    then = {**type(settings)().__dict__, **state["settings"], **state.get("data", {}),
            "architecture": state["architecture"],
            "activation": state.get("activation")}
    now = {**settings.__dict__, **data, "architecture": model.architecture,
           "activation": _activation_identity(model)}
    differ = [key for key in now if then.get(key) != now[key]]
    if differ:
        raise CheckpointError(f"{ckpt} was made with other settings (" + "; ".join(
            f"{key}: {then.get(key)!r} there, {now[key]!r} now" for key in differ)
            + "): resume with the same, or delete it or choose another out")
    made_at = state.get("input_rate_hz", model.input_rate)  # older checkpoints: the file's
    if made_at != model.input_rate:
        raise CheckpointError(f"{ckpt} was made at an input rate of {made_at:g} Hz, not "
                              f"{model.input_rate:g} Hz (--input-rate); give the same rate, "
                              "delete it or choose another out")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    history, start_epoch = state["history"], state["epoch"]
    _set_random_states(state["random"])
    return history, start_epoch


def rate_penalty(hidden: list[torch.Tensor], ceiling: float) -> torch.Tensor:
    """Sum over hidden layers of the mean squared excess of ``y`` over ``ceiling``.

    Why: the LIF neuron on a 1 ms grid fires far below the Noisy Softplus prediction above about
    200 Hz (neurons predicted at 377 Hz on average fired 281 Hz on NEST,
    ``benchmarks/results/rate_saturation.md``), where the fitted curve is extrapolated beyond
    the calibrated currents. Keeping hidden rates below the ceiling keeps
    the ANN inside the range in which it models the SNN.

    Parameters
    ----------
    hidden : list of torch.Tensor
        ``y`` (rate * tau_syn) of each hidden layer.
    ceiling : float
        Rate ceiling times tau_syn (dimensionless).
    """
    return sum(torch.mean(torch.relu(y - ceiling) ** 2) for y in hidden)


WIDE_FAN_IN = 200


def scaled_learning_rate(learning_rate: float, fan_in: int) -> float:
    """The learning rate of a layer of ``fan_in`` inputs: ``lr * min(1, 200 / fan_in)``.

    An Adam step moves every weight by about ``lr``, so a unit's net input moves by about
    ``lr x fan_in x mean input``: in wide layers (the 1,024-input output layer of
    12c5-2s-64c5-2s-10fc) the plain rate pushed whole output units below zero for good (ReLU,
    two classes never predicted, 20 % error). Layers of up to 200 inputs keep ``lr``.
    """
    return learning_rate * min(1.0, WIDE_FAN_IN / fan_in)


def _parameter_groups(model: SpikingNetwork, learning_rate: float) -> list[dict]:
    """One Adam group per trained projection (a layer's own and its merges'; pooling is
    fixed), its weights and the layer's bias, at its :func:`scaled_learning_rate`."""
    groups = []
    for layer, merges in zip(model.layers, model.merges, strict=True):
        for linear in (layer, *merges):
            if linear.kind == "pool":
                continue
            params = [linear.weight] + ([linear.bias] if linear.bias is not None else [])
            groups.append({"params": params,
                           "lr": scaled_learning_rate(learning_rate, linear.fan_in)})
    return groups


def save_checkpoint(path, model, optimizer, schedule, history, epoch, settings,
                    data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # torch.save onto a full disk fails with a RuntimeError of its own
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "history": history, "epoch": epoch,
                "settings": settings.__dict__, "data": data, "architecture": model.architecture,
                "activation": _activation_identity(model),
                "input_rate_hz": model.input_rate, "random": _random_states()}, buffer)
    write_atomic(path, buffer.getvalue())


def _activation_identity(model) -> str | None:
    """The activation a model trains with, as a checkpoint records it (None: a model without
    one, trained on spikes)."""
    activation = getattr(model, "activation", None)
    if activation is None:
        return None
    return (f"{activation.activation}, k = {activation.k!r}, S = {activation.S!r} Hz/nA, "
            f"tau_syn = {1000 * activation.tau_s!r} ms")


def _random_states() -> dict:
    """Every random state training draws from after its start (the global torch generator:
    training noise; CUDA's where used); the batch order is seeded per epoch."""
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])


@torch.no_grad()
def predict(model: SpikingNetwork, digits: Digits, batch_size: int = 500) -> np.ndarray:
    """Output ``y`` (rate * tau_syn) for every image, shape (n, n_classes)."""
    model.eval()
    device = next(model.parameters()).device
    images = torch.as_tensor(digits.maps())
    return torch.cat([model(images[i:i + batch_size].to(device)).cpu()
                      for i in range(0, len(images), batch_size)]).numpy()


def accuracy(model: SpikingNetwork, digits: Digits) -> float:
    """Fraction of images whose largest output is the label (ties to the lowest index)."""
    return float(np.mean(predict(model, digits).argmax(axis=1) == digits.labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int = 10):
    """Counts ``[true, predicted]``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def make_model(architecture: str, activation: str, k: float, S: float, tau_syn: float,
               neuron: LIFParams | CellParams, seed: int, softplus_sigma: float = 0.45,
               input_shape=(1, 28, 28), unit_gain_init: bool = False,
               response=None, bias: bool = False, timestep: float = 1.0,
               cell: str = "IF_curr_exp") -> SpikingNetwork:
    """A freshly initialised network with one activation in every layer, for images of
    ``input_shape`` (channels, height, width); ``unit_gain_init``: initial weights divided by
    the activation's gain ``S tau_syn`` (:class:`TrainSettings`); ``response``: the
    :class:`~lifresponse.response_surface.ResponseSurface` of "measured"; ``bias``: the
    convolution and dense layers get biases, starting at 0; ``timestep`` (ms) and ``cell``:
    the simulation's step and the neurons' PyNN cell, for "conductance-mean-field"."""
    activation = SpikingActivation(activation, k, S, tau_syn, softplus_sigma, neuron,
                                   response=response, timestep=timestep, cell=cell)
    return SpikingNetwork(architecture, activation, seed=seed,
                          input_shape=input_shape,
                          weight_scale=1.0 / (S * tau_syn / 1000.0) if unit_gain_init else 1.0,
                          bias=bias)


def export(model: SpikingNetwork, out: Path | None, neuron: LIFParams | CellParams, timestep: float,
           provenance: dict, cell: str = "IF_curr_exp") -> Network:
    """The trained network, of ``cell`` neurons; with ``out``, also its file written (and the
    checkpoint removed)."""
    network = model.to_network(neuron, timestep, provenance, cell)
    if out is not None:
        network_file.write(network, out)
        checkpoint_path(Path(out)).unlink(missing_ok=True)
    return network
