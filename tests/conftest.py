"""Shared fixtures: a seeded random generator and a fresh NEST kernel."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded numpy generator, so every test is reproducible."""
    return np.random.default_rng(12345)


@pytest.fixture
def nest_kernel():
    """The ``nest`` module with a freshly reset kernel, quiet, 0.1 ms resolution."""
    nest = pytest.importorskip("nest")
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = 0.1
    return nest
