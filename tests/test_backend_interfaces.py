"""The registry hands out only backends that implement the interfaces they declare
(lifresponse/backends/base.py)."""

import sys
import types

import pytest

from lifresponse import backends
from lifresponse.backends.base import INTERFACES
from lifresponse.errors import BackendError


@pytest.mark.parametrize("name", sorted(backends.BACKENDS))
def test_every_backend_implements_what_it_declares(name):
    backend = backends.get(name)
    assert backend.implements, name
    for role in backend.implements:
        assert isinstance(backend, INTERFACES[role]), (name, role)


def test_calibration_needs_a_calibration_simulator():
    assert backends.get("nest", pynn=True).name == "nest"
    with pytest.raises(BackendError, match="'torch' simulates deployed networks only"):
        backends.get("torch", pynn=True)


def test_a_backend_missing_a_member_of_its_interface_is_refused(monkeypatch):
    class HalfBackend:  # declares deployment but has no presenter()
        name, implements, protocols = "half", ("deployment",), ("rest",)
        spike_precision, runs_on_devices, inputs_fixed_at_build = "on_grid", False, False
        simulates_without_gil, has_own_connectors, takes_spinnaker_weights = False, False, False

        def version(self):
            return "half"

        def images_per_block(self, config):
            return 1

        def prepare(self, config):
            pass

    module = types.ModuleType("half_backend")
    module.HalfBackend = HalfBackend
    monkeypatch.setitem(sys.modules, "half_backend", module)
    monkeypatch.setitem(backends.BACKENDS, "half", ("half_backend", "HalfBackend"))
    with pytest.raises(BackendError, match="declares the deployment interface but lacks "
                                           "presenter$"):
        backends.get("half")
