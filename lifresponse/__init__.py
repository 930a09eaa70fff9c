"""lifresponse: spiking networks of current-based LIF neurons trained as ANNs.

The whole method from Python, each step an object in and an object out (files optional)::

    import lifresponse as lr

    rates = lr.calibrate(means="-0.4:1.0:0.2", stds="0.3,1.0", trials=2, duration=1000.0)
    network = lr.train(lr.fit(rates), epochs=1)
    run = lr.deploy(network, images=20, window=200.0)
    report = lr.energy(run)

See :mod:`lifresponse.workflow` and docs/python.md. The core (``neuron``, ``response``,
``activations``, ``statistics``) needs only numpy and scipy; simulators are imported by
``backends`` and torch by ``training`` only when a step needs them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lifresponse")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

# The API's names are imported on first use (PEP 562), so that ``import lifresponse`` and a
# Dask worker unpickling one of its functions load only what that function needs: scipy's
# optimisers, h5py or the training code are not paid for by a worker that runs a sweep chunk.
_API = {"Calibration": "lifresponse.calibration.fit", "DeployConfig": "lifresponse.deployment",
        "LIFParams": "lifresponse.neuron", "load_mnist": "lifresponse.datasets",
        **dict.fromkeys(("calibrate", "convert", "deploy", "energy", "evaluate_ann",
                         "export_nir",
                         "finetune", "fit", "forecast_board", "import_nir", "predict_energy",
                         "train"),
                        "lifresponse.workflow")}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    import importlib

    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
    else:  # a submodule, e.g. lifresponse.workflow
        try:
            value = importlib.import_module(f"lifresponse.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lifresponse.{name}":
                raise
            raise AttributeError(f"module 'lifresponse' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
