"""Calibration: sweep a simulated LIF neuron over noisy inputs, record rates, fit (k, S).

``drives`` builds the input of each kind, ``sweep`` runs a whole grid in one simulation and stores
it through ``results`` (the ``rates.h5`` format), ``fit`` finds Noisy Softplus's (k, S) and the
alternatives, ``plots`` draws the paper's Fig. 2, 4 and 7.
"""
