"""Simulator backends as objects, chosen by name: ``backends.get("nest")``.

Each backend lives in its own module (:mod:`~lifresponse.backends.nest`,
:mod:`~lifresponse.backends.spinnaker`) and implements the one interface of
:class:`~lifresponse.backends.pynn.PyNNBackend`: start (setup) and end, connection lists,
per-cell Poisson sources, spike times for a ``SpikeSourceArray``, a spike recorder,
virtual-board detection and the version. Every simulator-internal call (NEST's kernel-level API,
sPyNNaker's data views and configuration) is in its backend's module, behind a version check.
Callers hold a backend object and never ask which simulator it is.

Importing this package imports no simulator; a backend's simulator is imported when it starts.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings

from lifresponse.errors import BackendError, LifResponseError

BACKENDS = {"nest": "NestBackend", "spinnaker": "SpiNNakerBackend", "torch": "TorchBackend"}
PYNN_BACKENDS = ("nest", "spinnaker")  # the torch simulator runs deployed networks only

__all__ = ["BACKENDS", "PYNN_BACKENDS", "BackendError", "get", "quiet", "virtual_board_note"]


def get(name: str, pynn: bool = False):
    """A new backend object for ``name`` ("nest", "spinnaker" or "torch"); its simulator is
    not started. ``pynn=True`` asks for a PyNN simulator (calibration sweeps).

    Raises
    ------
    BackendError
        If the name is unknown (or not a PyNN simulator when one is needed).
    """
    module = importlib.import_module(f"lifresponse.backends.{check_name(name, pynn)}")
    return getattr(module, BACKENDS[name])()


def check_name(name: str, pynn: bool = False) -> str:
    """``name`` if it is a known backend (a PyNN one with ``pynn``), else
    :class:`BackendError`."""
    known = PYNN_BACKENDS if pynn else tuple(BACKENDS)
    if name not in BACKENDS:
        raise BackendError(f"backend: unknown backend {name!r}; choose one of "
                           f"{', '.join(known)}")
    if name not in known:
        raise BackendError(f"backend: {name!r} simulates deployed networks only; choose one of "
                           f"{', '.join(known)}")
    return name


def virtual_board_note(what: str) -> str:
    """The sentence every output made on a virtual board carries."""
    return (f"sPyNNaker virtual board: {what} was mapped, but a virtual board returns no "
            "spikes; counts are not measurements")


SIMULATOR_PACKAGES = ("nest", "NESTErrors", "pyNN", "spynnaker", "spinn_", "pacman", "spalloc")


@contextlib.contextmanager
def quiet():
    """Silence the simulators' start-up banners and deprecation chatter, and turn an error
    raised inside a simulator (NEST, PyNN, sPyNNaker) into one :class:`BackendError` that
    says which and what (errors of lifresponse's own code stay as they are)."""
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    except LifResponseError:
        raise
    except Exception as exc:
        package = type(exc).__module__.split(".")[0]
        if not package.startswith(SIMULATOR_PACKAGES):
            raise
        raise BackendError(f"the simulator failed ({package}, {type(exc).__name__}): "
                           f"{str(exc).strip()[:400]}") from exc
