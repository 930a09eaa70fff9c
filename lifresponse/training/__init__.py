"""ANN training of artificial spiking neurons (SCIENCE.md section 5); the only torch user.

``activations`` are the torch twins of :mod:`lifresponse.activations`; ``model`` builds layers
that compute eq. 12-15 from an architecture string and converts to and from the network file;
``trainer`` trains, fine-tunes, checkpoints and evaluates.
"""
