"""Direct spike-based training (Lee et al. 2016, 2019; docs/science.md section 7) through the very
dynamics NEST runs.

The forward pass is the exact simulator's: its one neuron step
(:func:`lifresponse.backends.torch.neuron_step.neuron_step`, constants from
:mod:`lifresponse.propagators`): ``IF_curr_exp`` neurons updated in NEST's order, synapses with
one step of delay, refractory counting, reset, ``i_offset`` and biases, on the input spikes
deployment draws (:func:`lifresponse.networks.encoding.input_spikes`, seeded per image and
epoch). Only the derivative of a spike with respect to the membrane, which is zero almost
everywhere, is replaced in the backward pass by a surrogate:

* ``"lee"``: Lee et al.'s pseudo-derivative, ``1 / theta`` (theta = ``v_thresh - v_rest``):
  the spike count of a LIF neuron grows about as its input charge over the threshold;
* ``"fast-sigmoid"``: ``1 / (1 + |V - theta|)^2`` (V in mV), as in SuperSpike and snnTorch.

The reset does not pass gradients (the spike is detached there). The loss is on the output
layer's spike counts over the window:

* ``"rate-mse"`` (default): the ANN trainer's loss on measured rates, the mean squared
  difference between ``rate x tau_syn`` and the one-hot labels (the true class at
  ``1 / tau_syn``, 200 Hz at 5 ms; the others silent). A network trained as an ANN starts where
  this loss expects it, and the outputs are held near 200 Hz instead of rising without bound;
* ``"cross-entropy"``: the counts read as logits. It keeps rewarding larger count differences;
  measured, it drove a Noisy Softplus network's outputs from 23 to 98 Hz on average and cost
  2-3 points of accuracy in one epoch (docs/experiments.md);
* ``"margin"``: aimed at the errors. A squared hinge on how far the true class's rate leads
  each other output's, in the units of ``"rate-mse"`` (rate x tau_syn): zero once it leads by
  the settings' ``margin`` (default 0.25: 50 Hz at 5 ms, 5 spikes in 100 ms), so only the
  wrong, tied and close images move the weights, and the rates are not driven up once every
  image is clear. With ``skip_clear`` a forward pass without gradient (several times faster
  than one with it) first screens every few batches at the current weights, and only the
  images it leaves unclear are trained on, in full batches: an epoch then costs little more
  than a forward pass over the training digits. Not the same optimisation as without it:
  Adam takes fewer steps, each on unclear images only.

The trained weights (nA) are written as a network file that deploys unchanged on NEST,
sPyNNaker and the torch simulator; it records the method, window, timestep, neuron, surrogate
and loss it was trained with, and has no ANN model (``activation = "none"``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from lifresponse.backends.torch.device import free_memory
from lifresponse.backends.torch.neuron_step import NeuronState, neuron_step
from lifresponse.cores import available_cores
from lifresponse.datasets import Digits
from lifresponse.errors import ParameterError
from lifresponse.networks import network_file
from lifresponse.networks.encoding import Presentation, input_spikes
from lifresponse.networks.evaluation import classify
from lifresponse.networks.network_file import Network
from lifresponse.propagators import PA_PER_NA
from lifresponse.training.trainer import (
    check_common_settings,
    check_loss,
    checkpoint_path,
    data_identity,
    margin_losses,
    restore_checkpoint,
    save_checkpoint,
    scaled_learning_rate,
)

log = logging.getLogger(__name__)

SURROGATES = ("lee", "fast-sigmoid")
LOSSES = ("rate-mse", "cross-entropy", "margin")
STATE_TENSORS = 6  # kept per neuron, image and step for the backward pass, about


@dataclass
class SpikeTrainSettings:
    """How to train on spikes.

    Attributes
    ----------
    window : float
        Presentation time per image (ms), a whole number of the network's timesteps.
    epochs, batch_size : int
    learning_rate : float
        Adam's.
    surrogate : {"lee", "fast-sigmoid"}
    loss : {"rate-mse", "cross-entropy", "margin"}
        On the output spike counts (module docstring).
    margin : float
        The ``"margin"`` loss's lead of the true class over every other output, in rate x
        tau_syn (0.25: 50 Hz at tau_syn = 5 ms, 5 spikes in 100 ms).
    skip_clear : bool
        ``"margin"`` loss only: train only on the images a forward pass at the current weights
        finds not clear by the margin (module docstring).
    seed : int
        Seeds the batch order and, with the epoch, the input spikes.
    threads : int
    device : str
    """

    window: float = 100.0
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    surrogate: str = "lee"
    loss: str = "rate-mse"
    margin: float = 0.25
    skip_clear: bool = False
    seed: int = 0
    threads: int = field(default_factory=available_cores)
    device: str = "cpu"

    def __post_init__(self):
        check_common_settings(self)
        if not (math.isfinite(self.window) and self.window > 0):
            raise ParameterError("window", f"must be > 0 ms and finite (got {self.window})")
        if self.surrogate not in SURROGATES:
            raise ParameterError("surrogate", f"one of {', '.join(SURROGATES)} (got "
                                 f"{self.surrogate!r})")
        check_loss(self, LOSSES)
        if self.skip_clear and self.loss != "margin":
            raise ParameterError("skip_clear", f"only with the margin loss, whose clear images "
                                 f"have no gradient (got loss {self.loss!r})")


class _Spike(torch.autograd.Function):
    """Heaviside (``V >= theta``, NEST's comparison) forward, a surrogate backward."""

    @staticmethod
    def forward(ctx, above, surrogate: str, theta: float):
        ctx.save_for_backward(above)
        ctx.surrogate, ctx.theta = surrogate, theta
        return (above >= 0).to(above.dtype)

    @staticmethod
    def backward(ctx, grad):
        (above,) = ctx.saved_tensors
        if ctx.surrogate == "lee":
            local = torch.full_like(above, 1.0 / ctx.theta)
        else:
            local = 1.0 / (1.0 + above.abs()) ** 2
        return grad * local, None, None


class SpikingSimulation(nn.Module):
    """A network file's layers as trainable synapses of ``IF_curr_exp`` neurons, simulated step
    by step as NEST does (module docstring).

    Raises
    ------
    ParameterError
        For layers of other cells than ``IF_curr_exp``.
    """

    def __init__(self, network: Network, surrogate: str = "lee"):
        super().__init__()
        if any(layer.cell != "IF_curr_exp" for layer in network.layers):
            raise ParameterError("network", "spike training models IF_curr_exp layers only")
        self.network, self.surrogate = network, surrogate
        self.architecture = network.architecture
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for layer in network.layers:
            self.weights.append(nn.Parameter(torch.as_tensor(layer.weight, dtype=torch.float32),
                                             requires_grad=layer.kind != "pool"))
            self.biases.append(nn.Parameter(torch.as_tensor(
                layer.bias if layer.bias is not None else np.zeros(0), dtype=torch.float32)))
        self.propagators = [network.propagators(layer) for layer in network.layers]
        # equal synapses: both signs in one current, one operation per step
        self.one_current = [p.P11ex == p.P11in and p.P21ex == p.P21in for p in self.propagators]

    @property
    def input_rate(self) -> float:
        """The network's input rate (Hz per unit pixel), which a checkpoint records."""
        return self.network.input_rate

    def parameter_groups(self, learning_rate: float) -> list[dict]:
        """One Adam group per trained layer (weights and bias; pooling is fixed), at the
        rate the ANN trainer gives a layer of its width (wide layers learn more slowly:
        :func:`lifresponse.training.trainer.scaled_learning_rate`)."""
        groups = []
        for layer, weight, bias in zip(self.network.layers, self.weights, self.biases,
                                       strict=True):
            if layer.kind == "pool":
                continue
            fan_in = int(np.prod(weight.shape[1:])) if layer.kind == "conv" else weight.shape[0]
            groups.append({"params": [weight, bias],
                           "lr": scaled_learning_rate(learning_rate, fan_in)})
        return groups

    def _input(self, index: int, spikes: torch.Tensor, weight: torch.Tensor):
        """Synaptic input (nA) of layer ``index`` from ``spikes`` through ``weight``."""
        layer = self.network.layers[index]
        if layer.kind == "dense":
            return spikes.flatten(1) @ weight
        if layer.kind == "conv":
            return F.conv2d(spikes, weight, stride=layer.stride, padding=layer.padding)
        channels = layer.in_shape[0]
        kernel = weight.expand(channels, 1, *weight.shape)
        return F.conv2d(spikes, kernel, stride=layer.stride, padding=layer.padding,
                        groups=channels)

    def forward(self, inputs: torch.Tensor, on_step=None) -> torch.Tensor:
        """Output spike counts (batch, n_out) for input spikes per step ``inputs`` (steps,
        batch, *input_shape). ``on_step(n, spikes)``, if given, sees every layer's spikes of
        step ``n`` (a list of tensors), e.g. to read spike times."""
        batch = inputs.shape[1]
        layers = self.network.layers
        states, drives = [], []
        for layer, p, bias in zip(layers, self.propagators, self.biases, strict=True):
            drive = p.offset_drive
            if bias.numel():
                per_neuron = bias.repeat_interleave(layer.n_out // bias.numel()) \
                    if layer.kind == "conv" else bias
                drive = (p.i_offset + per_neuron.view(layer.out_shape)) * PA_PER_NA * p.drive
            drives.append(drive)
            states.append(NeuronState.at_rest((batch, *layer.out_shape), p, inputs.dtype,
                                              inputs.device))
        spikes = [inputs.new_zeros((batch, *layer.out_shape)) for layer in layers]
        counts = inputs.new_zeros((batch, layers[-1].n_out))
        for step in range(inputs.shape[0]):
            previous, spikes = spikes, []
            for i, p in enumerate(self.propagators):
                source = inputs[step] if i == 0 else previous[i - 1]
                weight = self.weights[i]
                if self.one_current[i]:
                    excitatory = self._input(i, source, weight) * PA_PER_NA
                    inhibitory = None
                else:
                    excitatory = self._input(i, source, weight.clamp(min=0)) * PA_PER_NA
                    inhibitory = self._input(i, source, weight.clamp(max=0)) * PA_PER_NA
                states[i], spiked = neuron_step(
                    states[i], p, drives[i], excitatory, inhibitory,
                    lambda above, theta=p.theta: _Spike.apply(above, self.surrogate, theta))
                spikes.append(spiked)
            if on_step is not None:
                on_step(step, spikes)
            counts = counts + spikes[-1].flatten(1)
        return counts

    def to_network(self, provenance: dict) -> Network:
        """The network file of the trained weights (and biases)."""
        layers = []
        for layer, weight, bias in zip(self.network.layers, self.weights, self.biases,
                                       strict=True):
            layers.append(replace(
                layer, weight=weight.detach().cpu().double().numpy(),
                bias=bias.detach().cpu().double().numpy() if bias.numel() else None))
        return replace(self.network, layers=layers, activation=network_file.NO_ANN_MODEL,
                       k=None, S=None, provenance=provenance)


SCREENED_BATCHES = 4  # skip_clear: batches screened at a time, at the same weights


def _batches(order: np.ndarray, settings: SpikeTrainSettings, unclear, description: str,
             progress: bool):
    """The training batches of image indices in ``order``: every ``batch_size`` of them, or
    with ``settings.skip_clear`` those ``unclear(chunk)`` (a boolean tensor, computed without
    gradient) keeps of every ``SCREENED_BATCHES`` batches' worth, gathered into full batches
    (the last one with what remains)."""
    size = settings.batch_size
    step = size * SCREENED_BATCHES if settings.skip_clear else size
    pending = order[:0]
    for first in tqdm(range(0, len(order), step), desc=description, disable=not progress,
                      leave=False, unit="batch" if step == size else "screen"):
        chunk = order[first:first + step]
        if not settings.skip_clear:
            yield chunk
            continue
        with torch.no_grad():
            pending = np.concatenate([pending, chunk[unclear(chunk).cpu().numpy()]])
        last = first + step >= len(order)
        while len(pending) >= size or (last and len(pending)):
            yield pending[:size]
            pending = pending[size:]


def minimum_window(network: Network) -> float:
    """The shortest window (ms) in which an input spike can make the output fire: the first
    input arrives in step 1, and every layer adds a step of synaptic delay and a step from
    current to membrane."""
    return (2 * len(network.layers) + 1) * network.timestep


def check(network: Network, settings: SpikeTrainSettings) -> None:
    """Refuse a window too short for the network's depth, not a whole number of its timesteps,
    or a batch x window that does not fit in memory."""
    network.require_chain("spike training")
    shortest = minimum_window(network)
    if settings.window < shortest:
        raise ParameterError("window", f"{settings.window:g} ms is too short for "
                             f"{len(network.layers)} layers at {network.timestep:g} ms: an "
                             f"input spike reaches the output after {shortest:g} ms at the "
                             "earliest; give at least that")
    steps = settings.window / network.timestep
    if abs(steps - round(steps)) > 1e-9 * steps:
        raise ParameterError("window", f"must be a whole number of the network's "
                             f"{network.timestep:g} ms timesteps (got {settings.window:g} ms)")
    neurons = sum(layer.n_out for layer in network.layers)
    need = settings.batch_size * round(steps) * neurons * STATE_TENSORS * 4
    free = free_memory(torch.device(settings.device))
    if need > 0.8 * free:
        raise ParameterError("batch_size", f"{settings.batch_size} images x {round(steps)} steps "
                             f"x {neurons} neurons need about {need / 1e9:.1f} GB for the "
                             f"backward pass, more than 80 % of the {free / 1e9:.1f} GB free; "
                             "use a smaller batch or window")


def input_steps(network: Network, pixels: np.ndarray, images: np.ndarray,
                presentation: Presentation, seed: int, device) -> torch.Tensor:
    """Input spikes per step (steps, batch, *input_shape) of images ``images`` (their indices,
    which seed their spikes with ``seed``), as deployment draws them."""
    counts = np.zeros((presentation.steps, len(images), pixels.shape[1]), dtype=np.float32)
    for j, index in enumerate(images):
        drawn = input_spikes(pixels[index:index + 1], presentation, network, int(index), seed)
        inside = drawn.step < presentation.steps  # a last-step spike arrives after the window
        np.add.at(counts, (drawn.step[inside], j, drawn.neuron[inside]), 1.0)
    return torch.as_tensor(counts.reshape(presentation.steps, len(images),
                                          *network.input_shape), device=device)


@torch.no_grad()
def accuracy(model: SpikingSimulation, digits: Digits, window: float, seed: int,
             batch_size: int = 100) -> float:
    """Fraction of ``digits`` whose most active output neuron is the label (ties to the
    lowest index; nothing fired counts as wrong), on inputs seeded with ``seed``."""
    if not len(digits):
        return float("nan")
    network = model.network
    presentation = Presentation(window, 0.0, network.timestep)
    pixels = digits.maps().reshape(len(digits), -1).astype(float)
    device = next(model.parameters()).device
    right = 0
    for first in range(0, len(digits), batch_size):
        images = np.arange(first, min(first + batch_size, len(digits)))
        counts = model(input_steps(network, pixels, images, presentation, seed, device))
        right += int(np.sum(classify(counts.cpu().numpy()) == digits.labels[images]))
    return right / len(digits)


def image_losses(counts: torch.Tensor, labels: torch.Tensor, loss: str, window: float,
                 tau_syn: float, margin: float = 0.25) -> torch.Tensor:
    """The training loss of each image's output spike counts (batch, n_out) over ``window``
    ms for class ``labels`` (module docstring; ``tau_syn`` in ms; ``margin`` in rate x
    tau_syn, for the ``"margin"`` loss): a tensor (batch,)."""
    if loss == "cross-entropy":
        return F.cross_entropy(counts, labels, reduction="none")
    rates = counts * (tau_syn / window)  # rate x tau_syn, 1 at 1 / tau_syn
    if loss == "margin":
        return margin_losses(rates, labels, margin)
    true = F.one_hot(labels, counts.shape[1]).to(rates.dtype)
    return torch.mean((rates - true) ** 2, dim=1)


def train(network: Network, train_set: Digits, validation_set: Digits,
          settings: SpikeTrainSettings, out: Path | None = None, resume: bool = False,
          progress: bool = True, origin: str | None = None) -> tuple[Network, object]:
    """Train ``network``'s weights on spikes; returns (trained network, history). With ``out``,
    a checkpoint ``<out>.ckpt`` after every epoch (every random state in it), so ``resume``
    continues exactly."""
    check(network, settings)
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    model = SpikingSimulation(network, settings.surrogate).to(settings.device)
    optimizer = torch.optim.Adam(model.parameter_groups(settings.learning_rate))
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, 1, 1.0)  # constant rate
    ckpt = None if out is None else checkpoint_path(Path(out))
    data = {**data_identity(train_set, validation_set), "start": origin}
    history, start_epoch = restore_checkpoint(ckpt, resume, settings, data, model, optimizer,
                                              schedule)
    presentation = Presentation(settings.window, 0.0, network.timestep)
    pixels = train_set.maps().reshape(len(train_set), -1).astype(float)
    labels = torch.as_tensor(train_set.labels, device=settings.device)

    def losses(images: np.ndarray, input_seed: int) -> torch.Tensor:
        inputs = input_steps(network, pixels, images, presentation, input_seed, settings.device)
        return image_losses(model(inputs), labels[images], settings.loss, settings.window,
                            network.tau_syn, settings.margin)

    for epoch in range(start_epoch, settings.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(
            settings.seed * 1000 + epoch)).numpy()
        input_seed = settings.seed * 1000 + epoch + 1
        total, trained = 0.0, 0
        for images in _batches(order, settings,
                               lambda chunk, seed=input_seed: losses(chunk, seed) > 0,
                               f"epoch {epoch + 1}/{settings.epochs}", progress):
            loss = torch.mean(losses(images, input_seed))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(images)
            trained += len(images)
        schedule.step()
        if settings.skip_clear:
            log.log(logging.INFO if progress else logging.DEBUG,
                    "epoch %d: trained on the %d of %d images not clear by the margin",
                    epoch + 1, trained, len(order))
        history.loss.append(total / len(order))  # clear images count, with a loss of 0
        history.validation_accuracy.append(
            accuracy(model, validation_set, settings.window, settings.seed)
            if len(validation_set) else None)
        history.epoch_seconds.append(time.perf_counter() - start)
        log.log(logging.INFO if progress else logging.DEBUG,
                "epoch %d/%d: loss %.4f, validation accuracy %s, %.1f s", epoch + 1,
                settings.epochs, history.loss[-1], history.validation_accuracy[-1],
                history.epoch_seconds[-1])
        if ckpt is not None:
            save_checkpoint(ckpt, model, optimizer, schedule, history, epoch + 1, settings, data)
    return model.to_network(network.provenance), history
