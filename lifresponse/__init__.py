"""lifresponse: spiking networks of current-based LIF neurons trained as ANNs.

The core (``neuron``, ``response``, ``activations``, ``statistics``) needs only numpy and scipy;
simulators are imported by ``backends`` when asked for.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lifresponse")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

from lifresponse.neuron import LIFParams  # noqa: E402

__all__ = ["LIFParams", "__version__"]
