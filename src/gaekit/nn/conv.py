"""Convolutional encoder, decoder and discriminator for images of any size ``(C, H, W)``.

Each of the ``len(channels)`` stages is ``Conv(c, 4, 2)`` with padding 1 (the downsampling layer of the
Pythae ConvNet, Chadebec et al. 2022, arXiv:2206.08309, Table 5), optional BatchNorm, ReLU; it maps a
side ``n`` to ``floor(n / 2)``. The decoder mirrors it with ``ConvT(c, 4, 2)``, padding 1, which maps
``m`` to ``2 m + p``: the output padding ``p`` (0 or 1, per axis and stage) is computed from the
encoder's sizes, so any ``H x W`` round-trips exactly (e.g. 37 -> 18 -> 9 -> 4 and back 4 -> 9 -> 18 ->
37), with no crop. The number of stages is limited by the smaller side: ``min(H, W) >= 2 ** stages``.

``dense_dim`` adds one fully connected ReLU layer of that width between the last stage and the latent head
(and ``Linear(latent, dense_dim)``, ReLU, ``Linear(dense_dim, C_n h w)``, ReLU before the decoder's stages):
the network of Locatello et al. 2019 (arXiv:1811.12359, Table 1 of their appendix: channels 32, 32, 64, 64
and a 256-unit layer) with ``channels=(32, 32, 64, 64), dense_dim=256, batch_norm=False``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from gaekit.errors import ConfigError
from gaekit.nn.layers import LayeredDecoder, LayeredDiscriminator, LayeredEncoder

DEFAULT_CHANNELS = (32, 64, 128)


def conv_stage_sizes(input_dim: Sequence[int], channels: Sequence[int]) -> list[tuple[int, int]]:
    """Spatial sizes ``[(H, W), (H1, W1), ...]`` before and after every stride-2 stage; checks the input."""
    input_dim = tuple(input_dim)
    if len(input_dim) != 3 or min(input_dim) < 1:
        raise ConfigError(f"input_dim={input_dim} is invalid for a convolutional network: expected (C, H, W)")
    if not channels or min(channels) < 1:
        raise ConfigError(f"channels={tuple(channels)} is invalid: expected one positive int per stage")
    _, height, width = input_dim
    max_stages = min(height, width).bit_length() - 1
    if len(channels) > max_stages:
        raise ConfigError(f"channels={tuple(channels)} asks for {len(channels)} stride-2 stages, too many for a "
                          f"{height}x{width} image: at most {max_stages} (min(H, W) >= 2 ** stages)")
    sizes = [(height, width)]
    for _ in channels:
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    return sizes


def _check_dense_dim(dense_dim: int | None, kind: str) -> None:
    if dense_dim is None:
        return
    if isinstance(dense_dim, bool) or not isinstance(dense_dim, int) or dense_dim < 1:
        raise ConfigError(f"dense_dim={dense_dim!r} is invalid: expected a positive int or None")
    if kind == "vq":
        raise ConfigError("dense_dim is not available for kind='vq': its latent is a feature map, not a vector")


def _dense(in_features: int, dense_dim: int) -> nn.Sequential:
    """``Flatten``, ``Linear(in_features, dense_dim)``, ReLU: the fully connected layer after the stages."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, dense_dim), nn.ReLU())


def _stages(in_channels: int, channels: Sequence[int], batch_norm: bool,
            activations: Sequence[type[nn.Module]]) -> list[nn.Module]:
    widths = (in_channels, *channels)
    return [nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), *([nn.BatchNorm2d(cout)] if batch_norm else []), act())
            for cin, cout, act in zip(widths[:-1], widths[1:], activations)]


class ConvEncoder(LayeredEncoder):
    """``len(channels)`` stride-2 convolution stages, then the latent head of ``kind``.

    Parameters
    ----------
    input_dim : tuple of int
        ``(C, H, W)``, any size with ``min(H, W) >= 2 ** len(channels)``.
    latent_dim : int
    kind : {"deterministic", "variational", "hyperspherical", "vq"}, default "variational"
        ``"vq"`` returns the ``(B, latent_dim, H / 2**n, W / 2**n)`` map (sizes rounded down per stage).
    channels : sequence of int, default (32, 64, 128)
        Output channels of each stage; its length is the number of stages.
    batch_norm : bool, default True
    dense_dim : int or None, default None
        Width of a fully connected ReLU layer between the last stage and the latent head (not for ``"vq"``).
    """

    def __init__(self, input_dim: Sequence[int], latent_dim: int, kind: str = "variational",
                 channels: Sequence[int] = DEFAULT_CHANNELS, batch_norm: bool = True,
                 dense_dim: int | None = None):
        sizes = conv_stage_sizes(input_dim, channels)
        _check_dense_dim(dense_dim, kind)
        self.channels = tuple(channels)
        self.dense_dim = dense_dim
        layers = _stages(input_dim[0], channels, batch_norm, [nn.ReLU] * len(channels))
        if dense_dim is not None:
            layers.append(_dense(channels[-1] * sizes[-1][0] * sizes[-1][1], dense_dim))
        super().__init__(input_dim, latent_dim, kind, layers)


class ConvDecoder(LayeredDecoder):
    """Mirror of ``ConvEncoder``: ``Linear(latent_dim, C_n * h * w)`` (or, for ``kind="vq"``, a 1x1
    convolution of the ``(latent_dim, h, w)`` map), then ``ConvT(c, 4, 2)`` stages with the output
    paddings that give back exactly ``(H, W)``; BatchNorm and ReLU after all but the last. Returns logits.

    Parameters are those of ``ConvEncoder`` (use the same ``channels`` and ``dense_dim`` for a mirrored pair);
    with ``dense_dim`` the input layer is ``Linear(latent_dim, dense_dim)``, ReLU, ``Linear(dense_dim, C_n h w)``,
    ReLU.
    """

    def __init__(self, input_dim: Sequence[int], latent_dim: int, kind: str = "variational",
                 channels: Sequence[int] = DEFAULT_CHANNELS, batch_norm: bool = True,
                 dense_dim: int | None = None):
        sizes = conv_stage_sizes(input_dim, channels)
        _check_dense_dim(dense_dim, kind)
        self.channels = tuple(channels)
        self.dense_dim = dense_dim
        widths = (input_dim[0], *channels)
        layers: list[nn.Module] = []
        for stage in reversed(range(len(channels))):  # from the coarsest map back to the input
            (big_h, big_w), (small_h, small_w) = sizes[stage], sizes[stage + 1]
            pad = (big_h - 2 * small_h, big_w - 2 * small_w)
            conv = nn.ConvTranspose2d(widths[stage + 1], widths[stage], 4, 2, 1, output_padding=pad)
            if stage == 0:
                layers.append(conv)
            else:
                layers.append(nn.Sequential(conv, *([nn.BatchNorm2d(widths[stage])] if batch_norm else []),
                                            nn.ReLU()))
        start = (channels[-1], *sizes[-1])
        super().__init__(input_dim, latent_dim, kind, start, layers, latent_map=sizes[-1])
        if dense_dim is not None:
            self.input_layer = nn.Sequential(nn.Linear(latent_dim, dense_dim), nn.ReLU(),
                                             nn.Linear(dense_dim, math.prod(start)), nn.ReLU())


class ConvDiscriminator(LayeredDiscriminator):
    """``ConvEncoder``'s stages turned into a discriminator by the Pythae paper's recipe for VAEGAN
    (Appendix D): ``Tanh`` instead of ``ReLU`` at stage 2, one output unit (the logit ``(B, 1)``).
    ``features(x)`` gives every stage's output.

    Parameters
    ----------
    input_dim : tuple of int
    channels : sequence of int, default (32, 64, 128)
    batch_norm : bool, default False
        Off by default, as the paper's MNIST and CIFAR-10 discriminators.
    dense_dim : int or None, default None
        Width of a fully connected ReLU layer (one more body layer) before the output unit.
    """

    def __init__(self, input_dim: Sequence[int], channels: Sequence[int] = DEFAULT_CHANNELS,
                 batch_norm: bool = False, dense_dim: int | None = None):
        sizes = conv_stage_sizes(input_dim, channels)
        _check_dense_dim(dense_dim, "deterministic")
        self.channels = tuple(channels)
        self.dense_dim = dense_dim
        activations = [nn.Tanh if i == 1 else nn.ReLU for i in range(len(channels))]
        layers = _stages(input_dim[0], channels, batch_norm, activations)
        if dense_dim is not None:
            layers.append(_dense(channels[-1] * sizes[-1][0] * sizes[-1][1], dense_dim))
        super().__init__(input_dim, layers)
