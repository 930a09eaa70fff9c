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

from lifresponse.cores import use_passive_wait_policy

use_passive_wait_policy()  # before NEST or torch start OpenMP (lifresponse/cores.py says why)

try:
    __version__ = version("lifresponse")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

from lifresponse.calibration.fit import Calibration  # noqa: E402, I001
from lifresponse.datasets import load_mnist  # noqa: E402
from lifresponse.networks.deploy import DeployConfig  # noqa: E402
from lifresponse.neuron import LIFParams  # noqa: E402
from lifresponse.workflow import (  # noqa: E402
    calibrate,
    deploy,
    energy,
    evaluate_ann,
    export_nir,
    finetune,
    fit,
    import_nir,
    predict_energy,
    train,
)

__all__ = ["Calibration", "DeployConfig", "LIFParams", "__version__", "calibrate", "deploy",
           "energy", "evaluate_ann", "export_nir", "finetune", "fit", "import_nir", "load_mnist",
           "predict_energy", "train"]
