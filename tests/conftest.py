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


@pytest.fixture
def spinnaker_virtual_board(tmp_path, monkeypatch):
    """A working directory configured for an sPyNNaker virtual board (version 5), with HOME
    pointed at a temporary folder that holds the ``~/.spynnaker.cfg`` sPyNNaker insists on."""
    pytest.importorskip("spynnaker")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".spynnaker.cfg").write_text("[Machine]\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "spynnaker.cfg").write_text("[Machine]\nvirtual_board = True\nversion = 5\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def nestml_models(tmp_path_factory):
    """The NESTML models of reset by subtraction, built once for the test session into a
    private cache folder of its own (about 15 s); skipped, with what is missing, on a machine
    that cannot build them."""
    pytest.importorskip("nest")
    from lifresponse.backends.nest import subtract_reset

    absent = subtract_reset.missing()
    if absent:
        pytest.skip(f"cannot build NESTML models here: missing {', '.join(absent)}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIFRESPONSE_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield subtract_reset.module_file()
