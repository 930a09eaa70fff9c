"""ANN training of artificial spiking neurons (docs/science.md section 5); with
:mod:`lifresponse.backends.torch`, the only torch user.

``activations`` are the torch twins of :mod:`lifresponse.activations`; ``model`` builds layers
that compute eq. 12-15 from an architecture string and converts to and from the network file;
``trainer`` trains, fine-tunes, checkpoints and evaluates.
"""

RATE_LIMIT_HZ = 200.0
"""Default training penalty threshold on hidden rates (Hz): where NEST's LIF neuron on a 1 ms
grid starts to fire well below the Noisy Softplus prediction (docs/training.md). Defined here,
without torch, so that the command line's defaults need no torch import."""
