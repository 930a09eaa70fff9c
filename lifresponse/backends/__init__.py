"""Simulator backends as objects, chosen by name: ``backends.get("nest")``.

One subpackage per simulator, and only it imports that simulator:

- :mod:`~lifresponse.backends.pynn`: what NEST and sPyNNaker share, written once against the
  PyNN API (:class:`~lifresponse.backends.pynn.backend.PyNNBackend`, building a network file as
  populations and projections, presenting blocks of images);
- :mod:`~lifresponse.backends.nest`: NEST's own calls where PyNN's path is slow or lacking;
- :mod:`~lifresponse.backends.spinnaker`: everything sPyNNaker (native connectors, board
  configuration, checks and mapping, its energy report, the board's constants);
- :mod:`~lifresponse.backends.torch`: the exact simulator (one functional neuron step, the CPU
  step loop).

A backend class implements one or both interfaces of :mod:`lifresponse.backends.base` (a
calibration simulator, a deployment simulator) and names them in ``implements``; :func:`get`
checks it. Every simulator-internal call is in its backend's subpackage, behind a version check.
Callers hold a backend object and never ask which simulator it is.

Importing this package imports no simulator; a backend's simulator is imported when it starts.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings

from lifresponse.errors import BackendError, LifResponseError

# name -> the class, by module path; each module is imported only when its backend is chosen
BACKENDS = {"nest": ("lifresponse.backends.nest.backend", "NestBackend"),
            "spinnaker": ("lifresponse.backends.spinnaker.backend", "SpiNNakerBackend"),
            "torch": ("lifresponse.backends.torch.backend", "TorchBackend")}
PYNN_BACKENDS = ("nest", "spinnaker")  # the calibration simulators, for messages and --help

__all__ = ["BACKENDS", "PYNN_BACKENDS", "BackendError", "get", "quiet", "virtual_board_note"]


def get(name: str, pynn: bool = False):
    """A new backend object for ``name`` ("nest", "spinnaker" or "torch"); its simulator is
    not started. ``pynn=True`` asks for a calibration simulator (a PyNN one, for sweeps).

    The backend class names the interfaces it implements (``implements``: "calibration",
    "deployment"; :mod:`lifresponse.backends.base`); the object is checked against each.

    Raises
    ------
    BackendError
        If the name is unknown, the backend is not a calibration simulator when one is needed,
        or it lacks a method or attribute of an interface it declares.
    """
    from lifresponse.backends.base import INTERFACES

    module_name, class_name = BACKENDS[check_name(name)]
    backend = getattr(importlib.import_module(module_name), class_name)()
    if pynn and "calibration" not in backend.implements:
        raise BackendError("backend", f"{name!r} simulates deployed networks only; choose one of "
                           f"{', '.join(PYNN_BACKENDS)}")
    for role in backend.implements:
        interface = INTERFACES[role]
        if not isinstance(backend, interface):
            missing = sorted(m for m in _members(interface) if not hasattr(backend, m))
            raise BackendError(f"backend {name!r} declares the {role} interface but lacks "
                               f"{', '.join(missing)}")
    return backend


def _members(interface) -> set:
    """The methods and attributes an interface asks for."""
    return {m for m in dir(interface) if not m.startswith("_")} | set(
        getattr(interface, "__annotations__", {}))


def check_name(name: str) -> str:
    """``name`` if it is a known backend, else :class:`BackendError`."""
    if name not in BACKENDS:
        raise BackendError("backend", f"unknown backend {name!r}; choose one of "
                           f"{', '.join(BACKENDS)}")
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
