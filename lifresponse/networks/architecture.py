"""Architecture spec strings such as ``6c5-2s-12c5-2s-10fc``.

Tokens, separated by ``-``: ``<n>c<k>`` a convolution to ``n`` maps with ``k x k`` kernels (no
padding, stride 1), ``<n>c<k>p<q>`` the same with ``q`` zeros padded on every side (``32c3p1``
keeps the maps' size); ``<p>s`` average pooling over non-overlapping ``p x p`` windows; ``<n>fc`` a
dense layer of ``n`` neurons. Every layer is a layer of spiking neurons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lifresponse.errors import ParameterError

_TOKEN = re.compile(r"^(?:(?P<conv>\d+)c(?P<kernel>\d+)(?:p(?P<pad>\d+))?|(?P<pool>\d+)s"
                    r"|(?P<dense>\d+)fc)$")


@dataclass(frozen=True)
class LayerSpec:
    """Kind, input and output shapes, and size parameter of one layer.

    ``size`` is the kernel width for conv, the window width for pool, 0 for dense;
    ``padding`` the zeros a convolution adds on every side.
    """

    kind: str
    in_shape: tuple
    out_shape: tuple
    size: int
    padding: int = 0


def parse_architecture(spec: str, input_shape=(1, 28, 28)) -> list[LayerSpec]:
    """Layers of ``spec`` applied to ``input_shape`` (channels, height, width).

    Raises
    ------
    ParameterError
        For an unknown token, a kernel or window that does not fit, or maps after a dense layer;
        the message names the token.
    """
    if not spec or not spec.strip():
        raise ParameterError("architecture", "empty")
    shape = tuple(input_shape)
    layers = []
    for token in spec.strip().split("-"):
        match = _TOKEN.match(token)
        if not match:
            raise ParameterError("architecture", f"cannot read {token!r} in {spec!r}; use "
                                 "<n>c<k> (convolution; <n>c<k>p<q> padded by q), <p>s "
                                 "(average pooling) or <n>fc (dense)")
        if match["dense"]:
            n = int(match["dense"])
            if n < 1:
                raise ParameterError("architecture", f"{token!r} needs at least one neuron")
            layers.append(LayerSpec("dense", shape, (n,), 0))
            shape = (n,)
            continue
        if len(shape) != 3:
            raise ParameterError("architecture", f"{token!r} needs maps, but follows "
                                 + ("a dense layer" if layers else
                                    f"flat input data of {shape[0]} pixels per image"))
        c, h, w = shape
        if match["conv"]:
            n, k, q = int(match["conv"]), int(match["kernel"]), int(match["pad"] or 0)
            if n < 1 or not 1 <= k <= min(h, w) + 2 * q or q >= k:
                raise ParameterError("architecture", f"{token!r} does not fit a {h}x{w} input"
                                     + (f" (padding {q} must be below the kernel {k})"
                                        if q >= k else ""))
            out = (n, h + 2 * q - k + 1, w + 2 * q - k + 1)
            layers.append(LayerSpec("conv", shape, out, k, q))
        else:
            p = int(match["pool"])
            if p < 1 or h % p or w % p:
                raise ParameterError("architecture", f"{token!r}: {h}x{w} maps do not divide into "
                                     f"{p}x{p} windows")
            out = (c, h // p, w // p)
            layers.append(LayerSpec("pool", shape, out, p))
        shape = out
    return layers
