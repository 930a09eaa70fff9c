"""Images as Poisson spike trains, presented back to back (SCIENCE.md section 5).

Pixel ``p`` in [0, 1] fires as a Poisson process of ``p * input_rate`` Hz during its image's
window. Image ``i`` occupies ``[start + i (window + gap), start + i (window + gap) + window)``
(ms); ``start`` is two timesteps, because PyNN + NEST refuse spikes at t <= one timestep. Spike
times lie on the simulation grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Presentation:
    """Timing of a back-to-back presentation.

    Attributes
    ----------
    window : float
        Time each image is shown (ms).
    gap : float
        Silence after each image (ms).
    timestep : float
        Simulation step (ms).
    """

    window: float = 1000.0
    gap: float = 0.0
    timestep: float = 1.0

    @property
    def start(self) -> float:
        return 2.0 * self.timestep

    @property
    def period(self) -> float:
        return self.window + self.gap

    def image_start(self, index) -> np.ndarray:
        """Start time of image(s) ``index`` (ms)."""
        return self.start + np.asarray(index) * self.period

    def locate(self, times: np.ndarray):
        """Image index and time since its window opened (ms) of each spike time."""
        since_start = np.asarray(times, dtype=float) - self.start
        index = np.floor(since_start / self.period + 1e-9).astype(np.int64)
        return index, since_start - index * self.period


def poisson_spike_times(pixels: np.ndarray, presentation: Presentation, input_rate: float,
                        first_image: int, rng: np.random.Generator):
    """Spike times (ms) of each input neuron for a block of consecutive images.

    Image ``i``'s spikes fall on the grid points in ``(start_i, start_i + window]``: strictly
    after its window opens, because a block is handed to the simulator at that very time and
    NEST takes only spikes in the future.

    Parameters
    ----------
    pixels : numpy.ndarray
        Images in [0, 1], shape (n_images, n_inputs) (flattened).
    presentation : Presentation
    input_rate : float
        Rate of a pixel of value 1 (Hz).
    first_image : int
        Index of ``pixels[0]`` in the whole presentation (sets the windows).
    rng : numpy.random.Generator

    Returns
    -------
    trains : list of numpy.ndarray
        One sorted array of times per input neuron.
    counts : numpy.ndarray
        Spikes per (image, input neuron), shape (n_images, n_inputs).
    """
    n_images, n_inputs = pixels.shape
    steps = int(round(presentation.window / presentation.timestep))
    counts = rng.poisson(pixels * input_rate * presentation.window / 1000.0)
    image, neuron = np.nonzero(counts)
    repeats = counts[image, neuron]
    image = np.repeat(image, repeats)
    neuron = np.repeat(neuron, repeats)
    step = rng.integers(1, steps + 1, size=image.size)
    times = presentation.image_start(first_image + image) + step * presentation.timestep
    order = np.lexsort((times, neuron))
    times, neuron = times[order], neuron[order]
    bounds = np.searchsorted(neuron, np.arange(n_inputs + 1))
    return [times[bounds[i]:bounds[i + 1]] for i in range(n_inputs)], counts
