"""Images as spike trains, one image after another (docs/science.md section 5).

Pixel ``p`` in [0, 1] fires as a Poisson process of ``p * input_rate`` Hz during its image's
window ("poisson", the networks trained here), or, in every timestep of the window, once with
probability ``p`` ("bernoulli", snnTorch's ``spikegen.rate``, for networks from discrete-time
frameworks). Image ``i`` occupies the slot ``[start + i * period, start + (i + 1) * period)`` (ms):
its window, then ``gap`` ms of silence, then ``settle`` ms in which the network is brought back
to rest (:mod:`lifresponse.networks.blocks`). ``start`` is two timesteps, because PyNN + NEST
refuse spikes at t <= one timestep.

An image's spikes depend only on (seed, image index), never on which images were drawn before,
so a run cut into pieces, or spread over processes, sees the same inputs. Every backend draws
them here: the PyNN backends as spike times, the torch simulator as counts per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Presentation:
    """Timing of a presentation.

    Attributes
    ----------
    window : float
        Time each image is shown (ms).
    gap : float
        Silence after each image (ms).
    timestep : float
        Simulation step (ms).
    settle : float
        Time after the gap in which the network is brought back to rest before the next
        image (ms); 0 when images follow one another without a reset.
    """

    window: float = 1000.0
    gap: float = 0.0
    timestep: float = 1.0
    settle: float = 0.0

    @property
    def start(self) -> float:
        return 2.0 * self.timestep

    @property
    def period(self) -> float:
        return self.window + self.gap + self.settle

    @property
    def steps(self) -> int:
        """Timesteps in a window."""
        return int(round(self.window / self.timestep))

    def image_start(self, index) -> np.ndarray:
        """Start time of image(s) ``index`` (ms)."""
        return self.start + np.asarray(index) * self.period

    def locate(self, times: np.ndarray):
        """Image index and time since its slot opened (ms) of each spike time.

        A slot is ``(start_i, start_i + period]``: a spike at the very end of a window belongs to
        that window (spike times are the ends of the steps that emitted them).
        """
        since_start = np.asarray(times, dtype=float) - self.start
        index = np.ceil(since_start / self.period - 1e-9).astype(np.int64) - 1
        return index, since_start - index * self.period


@dataclass(frozen=True)
class InputSpikes:
    """Input spikes of a run of consecutive images, as flat arrays of equal length.

    Attributes
    ----------
    image : numpy.ndarray
        Index of each spike's image within the run (0 = the run's first image), in order.
    step : numpy.ndarray
        Step of the window, 1..steps: the spike is at ``image_start + step * timestep``.
    neuron : numpy.ndarray
        Input neuron (flattened pixel).
    counts : numpy.ndarray
        Spikes per (image, input neuron), shape (n_images, n_inputs).
    """

    image: np.ndarray
    step: np.ndarray
    neuron: np.ndarray
    counts: np.ndarray

    def images(self, lo: int, hi: int) -> InputSpikes:
        """The spikes of images ``lo`` ... ``hi - 1``, numbered from 0 (the spikes are in image
        order, as the encoders draw them)."""
        a, b = np.searchsorted(self.image, [lo, hi])
        return InputSpikes(self.image[a:b] - lo, self.step[a:b], self.neuron[a:b],
                           self.counts[lo:hi])


def poisson_inputs(pixels: np.ndarray, presentation: Presentation, input_rate: float,
                   first_image: int, seed: int) -> InputSpikes:
    """Poisson input spikes of consecutive images; image ``first_image + j`` is ``pixels[j]``.

    Image ``i``'s spikes come from a generator seeded with ``(seed, i)``: each pixel draws its
    count from a Poisson distribution of mean ``p * input_rate * window``, then each spike a
    step in 1..steps, uniformly (so two spikes may share a step).

    Parameters
    ----------
    pixels : numpy.ndarray
        Images in [0, 1], shape (n_images, n_inputs) (flattened).
    presentation : Presentation
    input_rate : float
        Rate of a pixel of value 1 (Hz).
    first_image : int
        Index of ``pixels[0]`` in the whole presentation.
    seed : int
    """
    n_images, n_inputs = pixels.shape
    mean = pixels * input_rate * presentation.window / 1000.0
    counts = np.empty((n_images, n_inputs), dtype=np.int64)
    steps = []
    for j in range(n_images):
        rng = np.random.default_rng([seed, first_image + j])
        counts[j] = rng.poisson(mean[j])
        steps.append(rng.integers(1, presentation.steps + 1, size=int(counts[j].sum())))
    image, neuron = np.nonzero(counts)
    repeats = counts[image, neuron]
    return InputSpikes(np.repeat(image, repeats), np.concatenate(steps) if steps else
                       np.zeros(0, np.int64), np.repeat(neuron, repeats), counts)


def bernoulli_inputs(pixels: np.ndarray, presentation: Presentation, first_image: int,
                     seed: int) -> InputSpikes:
    """Input spikes of consecutive images, one spike per step with probability ``p``.

    Image ``i``'s spikes come from a generator seeded with ``(seed, i)``: one uniform number
    per (step, pixel), steps 1..steps in order; a spike where it is below the pixel's value.
    """
    n_images, n_inputs = pixels.shape
    counts = np.zeros((n_images, n_inputs), dtype=np.int64)
    images, steps, neurons = [], [], []
    for j in range(n_images):
        rng = np.random.default_rng([seed, first_image + j])
        step, neuron = np.nonzero(rng.random((presentation.steps, n_inputs)) < pixels[j])
        counts[j] = np.bincount(neuron, minlength=n_inputs)
        images.append(np.full(len(step), j))
        steps.append(step + 1)
        neurons.append(neuron)
    if not images:
        empty = np.zeros(0, np.int64)
        return InputSpikes(empty, empty, empty, counts)
    return InputSpikes(np.concatenate(images), np.concatenate(steps), np.concatenate(neurons),
                       counts)


def input_spikes(pixels: np.ndarray, presentation: Presentation, network, first_image: int,
                 seed: int) -> InputSpikes:
    """The input spikes of ``network`` (its ``input_encoding`` and ``input_rate``) for
    consecutive images ``first_image``, ... (``pixels`` flattened, in [0, 1])."""
    if network.input_encoding == "bernoulli":
        return bernoulli_inputs(pixels, presentation, first_image, seed)
    return poisson_inputs(pixels, presentation, network.input_rate, first_image, seed)


def bias_spike_times(presentation: Presentation, first_image: int, n_images: int,
                     onset: int) -> np.ndarray:
    """Spike times (ms) of a source whose spikes arrive, after the one-step delay, in every
    step from ``onset`` to the end of each window of images ``first_image`` ... (steps from 0:
    a spike at ``image_start + n h`` arrives in step ``n``, as an input spike of step ``n``)."""
    steps = np.arange(onset, presentation.steps) * presentation.timestep
    starts = presentation.image_start(np.arange(first_image, first_image + n_images))
    return (starts[:, None] + steps[None, :]).ravel()


def spike_trains(inputs: InputSpikes, presentation: Presentation, first_image: int,
                 n_inputs: int) -> list[np.ndarray]:
    """Spike times (ms) of each input neuron, sorted, for a ``SpikeSourceArray``.

    Image ``i``'s spikes fall on the grid points in ``(start_i, start_i + window]``: strictly
    after its slot opens, because NEST takes only spikes in the future.
    """
    times = (presentation.image_start(first_image + inputs.image)
             + inputs.step * presentation.timestep)
    order = np.lexsort((times, inputs.neuron))
    times, neuron = times[order], inputs.neuron[order]
    bounds = np.searchsorted(neuron, np.arange(n_inputs + 1))
    return [times[bounds[i]:bounds[i + 1]] for i in range(n_inputs)]
