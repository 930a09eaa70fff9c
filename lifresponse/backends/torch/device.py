"""The torch device a simulation or training runs on: is it there, how much memory is free,
does a batch fit. torch is imported only to look at a GPU: the CPU needs none.
"""

from __future__ import annotations

import os

import numpy as np

from lifresponse.errors import BackendError, ParameterError
from lifresponse.networks.network_file import Network

STATE_TENSORS = 8   # per neuron and image: V, currents, refractory count, spikes, temporaries


def check_device(name: str):
    """The ``torch.device`` ``name``, or a message naming it if it is not there."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError("device", f"{name!r} is not a torch device ({exc})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendError("device", f"{name!r} is not available here (torch "
                               f"{torch.__version__} sees no CUDA device)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise BackendError("device", f"{name!r} is not available here (there are "
                               f"{torch.cuda.device_count()} CUDA devices)")
    elif device.type != "cpu":
        raise BackendError("device", f"{name!r}: the torch backend runs on 'cpu' or 'cuda'")
    return device


def batch_bytes(network: Network, batch: int, dtype: str) -> int:
    """Memory a batch of ``batch`` images needs on the device in ``dtype`` ("float64" or
    "float32"), about (bytes)."""
    neurons = sum(layer.n_out for layer in network.layers)
    return batch * neurons * STATE_TENSORS * np.dtype(dtype).itemsize


def free_memory(device) -> int:
    """Bytes free on ``device`` (a ``torch.device`` or "cpu"): the GPU's, or the machine's for
    the CPU."""
    if getattr(device, "type", device) == "cuda":
        import torch

        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(network: Network, batch: int, dtype: str, device) -> None:
    """Refuse a batch that would not fit in the device's free memory."""
    free = free_memory(device)
    need = batch_bytes(network, batch, dtype)
    if need > 0.8 * free:
        raise ParameterError(
            "batch", f"{batch} images need about {need / 1e9:.1f} GB on {device}, more than "
            f"80 % of the {free / 1e9:.1f} GB free; use a smaller batch")
