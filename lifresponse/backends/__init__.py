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

from lifresponse.errors import BackendError

BACKENDS = {"nest": "NestBackend", "spinnaker": "SpiNNakerBackend", "torch": "TorchBackend"}

__all__ = ["BACKENDS", "BackendError", "get", "quiet", "virtual_board_note"]


def get(name: str):
    """A new backend object for ``name`` ("nest" or "spinnaker"); its simulator is not started.

    Raises
    ------
    BackendError
        If the name is unknown.
    """
    module = importlib.import_module(f"lifresponse.backends.{check_name(name)}")
    return getattr(module, BACKENDS[name])()


def check_name(name: str) -> str:
    """``name`` if it is a known backend, else :class:`BackendError`."""
    if name not in BACKENDS:
        raise BackendError(f"backend: unknown backend {name!r}; choose one of "
                           f"{', '.join(BACKENDS)}")
    return name


def virtual_board_note(what: str) -> str:
    """The sentence every output made on a virtual board carries."""
    return (f"sPyNNaker virtual board: {what} was mapped, but a virtual board returns no "
            "spikes; counts are not measurements")


@contextlib.contextmanager
def quiet():
    """Silence the simulators' start-up banners and deprecation chatter."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
