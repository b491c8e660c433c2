"""Building blocks shared by the convolutional networks: latent heads, layered encoders, decoders and
discriminators that expose their per-layer features, and the residual block of the Pythae ResNets.

An encoder's *kind* says what its head returns (``EncoderOutput`` fields):

- ``"deterministic"``: ``embedding`` ``(B, latent_dim)``;
- ``"variational"``: ``embedding`` (posterior mean) and ``log_covariance`` ``(B, latent_dim)``, from one
  head of width ``2 * latent_dim`` split in two (the "doubled" last layer of Chadebec et al. 2022,
  arXiv:2206.08309, Tables 5-6);
- ``"hyperspherical"``: ``embedding`` a mean direction on the unit sphere ``S^{latent_dim - 1}``
  (``(B, latent_dim)``, unit norm) and ``log_concentration`` ``(B, 1)``, the log of the von Mises-Fisher
  concentration ``kappa`` (Davidson et al. 2018, arXiv:1804.00891), from one head of width
  ``latent_dim + 1``; the model maps it to ``kappa`` (e.g. ``exp`` or ``softplus`` of it);
- ``"vq"``: ``embedding`` a spatial map ``(B, latent_dim, h, w)``, a 1x1 convolution of the last
  feature map, to be quantized position by position (van den Oord et al. 2017, arXiv:1711.00937).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.nn.base import BaseDecoder, BaseEncoder, EncoderOutput

ENCODER_KINDS = ("deterministic", "variational", "hyperspherical", "vq")


def check_choice(what: str, value: object, allowed: Sequence[object]) -> None:
    """Raise ``ConfigError`` naming ``value`` and the ``allowed`` ones unless ``value`` is among them."""
    if value not in allowed:
        raise ConfigError(f"{what}={value!r} is invalid: expected one of {', '.join(repr(a) for a in allowed)}")


_SHAPE_KEEPING = (nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity)


def _conv_size(size: int, i: int, m: nn.Conv2d | nn.ConvTranspose2d) -> int:
    k, s, d = m.kernel_size[i], m.stride[i], m.dilation[i]
    if isinstance(m, nn.ConvTranspose2d):
        return (size - 1) * s - 2 * m.padding[i] + d * (k - 1) + m.output_padding[i] + 1
    if isinstance(m.padding, str):  # "same" (stride 1) or "valid"
        return size if m.padding == "same" else (size - d * (k - 1) - 1) // s + 1
    return (size + 2 * m.padding[i] - d * (k - 1) - 1) // s + 1


def probe_shape(layers: nn.Module | Sequence[nn.Module], in_shape: Sequence[int]) -> tuple[int, ...]:
    """Output shape (without the batch axis) of ``layers`` (a module, or modules run in turn) on inputs
    of shape ``in_shape``.

    Worked out from the layers' hyper-parameters for the layer types used here (no computation); any
    other module is run on the ``meta`` device with stand-in parameters (no arithmetic either).
    """
    shape = tuple(in_shape)
    if isinstance(layers, (nn.Sequential, nn.ModuleList)):
        layers = list(layers)
    for m in [layers] if isinstance(layers, nn.Module) else layers:
        if isinstance(m, (nn.Sequential, nn.ModuleList)):
            shape = probe_shape(list(m), shape)
        elif isinstance(m, (ResBlock, *_SHAPE_KEEPING)):
            pass
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            shape = (m.out_channels, _conv_size(shape[1], 0, m), _conv_size(shape[2], 1, m))
        elif isinstance(m, nn.ZeroPad2d):
            left, right, top, bottom = m.padding
            shape = (shape[0], shape[1] + top + bottom, shape[2] + left + right)
        elif isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1:
            shape = (math.prod(shape),)
        elif isinstance(m, nn.Linear):
            shape = (*shape[:-1], m.out_features)
        else:
            shape = _meta_shape(m, shape)
    return shape


def _meta_shape(module: nn.Module, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    stand_ins = {name: torch.empty_like(t, device="meta")
                 for name, t in (*module.named_parameters(), *module.named_buffers())}
    out = torch.func.functional_call(module, stand_ins, (torch.empty(2, *in_shape, device="meta"),))
    return tuple(out.shape[1:])


class ResBlock(nn.Module):
    """Residual block of the Pythae ResNets (Chadebec et al. 2022, Table 6, footnote **): "one
    Conv(32, 3, 1) followed by Conv(128, 1, 1) with ReLU".

    Read as the residual block of van den Oord et al. (2017, arXiv:1711.00937, Sec. 4.1), "ReLU, 3x3 conv,
    ReLU, 1x1 conv" added to the input: ``x + conv1x1(relu(conv3x3(relu(x))))``, the 3x3 convolution
    padded by 1 so the map keeps its size.

    Parameters
    ----------
    channels : int, default 128
        Channels in and out.
    hidden_channels : int, default 32
        Channels of the inner 3x3 convolution.
    """

    def __init__(self, channels: int = 128, hidden_channels: int = 32):
        super().__init__()
        self.conv3 = nn.Conv2d(channels, hidden_channels, 3, 1, padding=1)
        self.conv1 = nn.Conv2d(hidden_channels, channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1(F.relu(self.conv3(F.relu(x))))


class LatentHead(nn.Module):
    """The last layer of an encoder: body features to an ``EncoderOutput`` of the given kind.

    Parameters
    ----------
    kind : {"deterministic", "variational", "hyperspherical", "vq"}
    latent_dim : int
    feature_shape : tuple of int
        Shape of one sample's body features: ``(C, h, w)`` for a feature map (required for ``"vq"``),
        anything for the flat kinds (flattened, then one linear layer).
    """

    def __init__(self, kind: str, latent_dim: int, feature_shape: Sequence[int]):
        super().__init__()
        check_choice("kind", kind, ENCODER_KINDS)
        self.kind = kind
        self.latent_dim = latent_dim
        self.feature_shape = tuple(feature_shape)
        if kind == "vq":
            if len(self.feature_shape) != 3:
                raise ConfigError(f"a 'vq' encoder needs a (C, h, w) feature map; the body gives {self.feature_shape}")
            self.proj: nn.Module = nn.Conv2d(self.feature_shape[0], latent_dim, 1)
        else:
            width = {"deterministic": latent_dim, "variational": 2 * latent_dim,
                     "hyperspherical": latent_dim + 1}[kind]
            self.proj = nn.Linear(math.prod(self.feature_shape), width)

    def forward(self, h: Tensor) -> EncoderOutput:
        if self.kind == "vq":
            return EncoderOutput(embedding=self.proj(h))
        out = self.proj(h.flatten(1))
        if self.kind == "variational":
            mean, log_var = out.chunk(2, dim=-1)
            return EncoderOutput(embedding=mean, log_covariance=log_var)
        if self.kind == "hyperspherical":
            direction, log_kappa = out.split([self.latent_dim, 1], dim=-1)
            return EncoderOutput(embedding=F.normalize(direction, dim=-1), log_concentration=log_kappa)
        return EncoderOutput(embedding=out)


def _run_layers(layers: nn.ModuleList, x: Tensor, keep: bool) -> tuple[Tensor, list[Tensor]]:
    features = []
    for layer in layers:
        x = layer(x)
        if keep:
            features.append(x)
    return x, features


class LayeredEncoder(BaseEncoder):
    """An encoder made of body ``layers`` (one per row of an architecture table) and a ``LatentHead``.

    ``features(x)`` gives the output of every body layer (for feature-matching losses); ``forward`` returns
    the ``EncoderOutput`` of ``kind``; for ``kind="vq"`` ``latent_shape`` is ``(latent_dim, h, w)``.

    Parameters
    ----------
    input_dim : tuple of int
    latent_dim : int
    kind : {"deterministic", "variational", "hyperspherical", "vq"}
    layers : sequence of nn.Module
    """

    def __init__(self, input_dim: Sequence[int], latent_dim: int, kind: str, layers: Sequence[nn.Module]):
        super().__init__()
        check_choice("kind", kind, ENCODER_KINDS)
        self.input_dim = tuple(input_dim)
        self.latent_dim = latent_dim
        self.kind = kind
        self.layers = nn.ModuleList(layers)
        self.feature_shape = probe_shape(self.layers, self.input_dim) if layers else self.input_dim
        self.head = LatentHead(kind, latent_dim, self.feature_shape)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one sample's ``embedding``: ``(latent_dim,)``, or ``(latent_dim, h, w)`` for ``"vq"``."""
        if self.kind == "vq":
            return (self.latent_dim, *self.feature_shape[1:])
        return (self.latent_dim,)

    def forward_with_features(self, x: Tensor) -> tuple[EncoderOutput, list[Tensor]]:
        """``(EncoderOutput, [output of body layer 1, 2, ...])`` in one pass."""
        h, features = _run_layers(self.layers, x, keep=True)
        return self.head(h), features

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs of every body layer, in order."""
        return _run_layers(self.layers, x, keep=True)[1]

    def forward(self, x: Tensor) -> EncoderOutput:
        return self.head(_run_layers(self.layers, x, keep=False)[0])


class LayeredDiscriminator(nn.Module):
    """A discriminator: body ``layers`` then one linear unit, returning the *logit* ``(B, 1)``.

    The probability is ``sigmoid(logit)``, applied by the model (stable BCE from logits). ``features(x)``
    gives every body layer's output, the ``D_l(x)`` of a feature-matching loss (Larsen et al. 2016,
    arXiv:1512.09300, Eq. 9).
    """

    def __init__(self, input_dim: Sequence[int], layers: Sequence[nn.Module]):
        super().__init__()
        self.input_dim = tuple(input_dim)
        self.layers = nn.ModuleList(layers)
        self.feature_shape = probe_shape(self.layers, self.input_dim)
        self.head = nn.Linear(math.prod(self.feature_shape), 1)

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """``(logit (B, 1), [output of body layer 1, 2, ...])`` in one pass."""
        h, features = _run_layers(self.layers, x, keep=True)
        return self.head(h.flatten(1)), features

    def features(self, x: Tensor) -> list[Tensor]:
        """Outputs of every body layer, in order."""
        return _run_layers(self.layers, x, keep=True)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(_run_layers(self.layers, x, keep=False)[0].flatten(1))


class LayeredDecoder(BaseDecoder):
    """A decoder: an input layer to a ``start_shape`` feature map, then ``layers``; returns logits.

    Flat latents ``(B, latent_dim)`` go through ``Linear(latent_dim, prod(start_shape))``. For
    ``kind="vq"`` the latent is a map ``(B, latent_dim, h, w)`` (a flat ``(B, latent_dim * h * w)`` is
    reshaped to it, channel-major); the input layer is a transposed convolution with kernel = stride =
    ``(H0 / h, W0 / w)`` to the ``(C0, H0, W0)`` start map -- the table's linear layer applied to each latent
    position (for a 1x1 map it *is* ``Linear(latent_dim, C0 * H0 * W0)``; for ``h = H0`` a 1x1 convolution).

    The output shape is checked against ``input_dim`` at construction.
    """

    def __init__(self, input_dim: Sequence[int], latent_dim: int, kind: str, start_shape: Sequence[int],
                 layers: Sequence[nn.Module], latent_map: Sequence[int] | None = None):
        super().__init__()
        check_choice("kind", kind, ENCODER_KINDS)
        self.input_dim = tuple(input_dim)
        self.latent_dim = latent_dim
        self.kind = kind
        self.start_shape = tuple(start_shape)
        channels, height, width = self.start_shape
        if kind == "vq":
            if latent_map is None:
                raise ConfigError("a 'vq' decoder needs the (h, w) size of the latent map")
            self.latent_map = tuple(latent_map)
            h, w = self.latent_map
            if height % h or width % w:
                raise ConfigError(f"a 'vq' decoder cannot map a {h}x{w} latent to its {height}x{width} start map "
                                  "(sizes must divide)")
            ratio = (height // h, width // w)
            self.input_layer: nn.Module = nn.ConvTranspose2d(latent_dim, channels, ratio, stride=ratio)
        else:
            self.latent_map = None
            self.input_layer = nn.Linear(latent_dim, math.prod(self.start_shape))
        self.layers = nn.Sequential(*layers)
        out_shape = probe_shape(self.layers, self.start_shape)
        if out_shape != self.input_dim:  # pragma: no cover - a wrong architecture table
            raise ConfigError(f"decoder layers give {out_shape}, not input_dim {self.input_dim}")

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent sample this decoder takes."""
        return (self.latent_dim, *self.latent_map) if self.kind == "vq" else (self.latent_dim,)

    def forward(self, z: Tensor) -> Tensor:
        if self.kind == "vq":
            if z.dim() == 2:
                z = z.view(z.shape[0], *self.latent_shape)
            h = self.input_layer(z)
        else:
            h = self.input_layer(z).view(z.shape[0], *self.start_shape)
        return self.layers(h)
