"""The gated MLP of the VampPrior paper: Tomczak and Welling, "VAE with a VampPrior", AISTATS 2018,
arXiv:1705.07120, Sec. 4 ("we use the gating mechanism as an element-wise non-linearity", the gated dense
layers of Dauphin et al. 2017, arXiv:1612.08083, Eq. 1).

A gated dense layer computes ``h(x) = (W x + b) * sigmoid(V x + c)``. The paper's MNIST networks (its
"VAE" and "VampPrior" rows, latent 40) have two gated layers of 300 units in the encoder and two in the
decoder. As in the authors' code, the encoder's log-variance head is a linear layer clipped by a hard tanh
to ``[-6, 2]`` (``log_var_bounds``) and every linear layer is initialised He-normal (``init="he_normal"``);
the paper does not state either, so both are options.

Registered in ``gaekit.nn.NETWORKS`` as ``"gated_mlp"`` (``gaekit.nn.factory``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.nn.base import BaseDecoder, EncoderOutput
from gaekit.nn.layers import LatentHead, LayeredDiscriminator, LayeredEncoder
from gaekit.nn.mlp import check_widths


class GatedDense(nn.Module):
    """``h(x) = (W x + b) * sigmoid(V x + c)`` (Dauphin et al. 2017, Eq. 1; Tomczak and Welling 2018, Sec. 4).

    Parameters
    ----------
    in_features, out_features : int
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.h = nn.Linear(in_features, out_features)
        self.g = nn.Linear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.h(x) * torch.sigmoid(self.g(x))


def check_gated_widths(widths: Any, where: str = "hidden_dims") -> tuple[int, ...]:
    """``widths`` as a tuple of positive ints, at least one (``ConfigError`` otherwise)."""
    widths = check_widths(widths, where)
    if not widths:
        raise ConfigError(f"network 'gated_mlp': {where}=[] is invalid: expected at least one gated layer")
    return widths


def gated_layers(in_features: int, widths: Sequence[int], where: str = "hidden_dims") -> list[nn.Module]:
    """One ``GatedDense`` per width, the first taking ``in_features`` inputs (``ConfigError`` for no width)."""
    sizes = [in_features, *check_gated_widths(widths, where)]
    return [GatedDense(a, b) for a, b in zip(sizes[:-1], sizes[1:])]


def check_log_var_bounds(bounds: Any, where: str = "log_var_bounds") -> tuple[float, float] | None:
    """``None``, or ``bounds`` as ``(low, high)``: two finite numbers with ``low < high`` (``ConfigError``
    otherwise)."""
    if bounds is None:
        return None
    ok = (isinstance(bounds, Sequence) and not isinstance(bounds, (str, bytes)) and len(bounds) == 2
          and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
          and bounds[0] < bounds[1])
    if not ok:
        raise ConfigError(f"{where}={bounds!r} is invalid: expected null or [low, high], two finite numbers with "
                          "low < high (the paper's code: [-6, 2])")
    return float(bounds[0]), float(bounds[1])


class BoundedLogVarHead(LatentHead):
    """A variational ``LatentHead`` whose log-variance is clipped by a hard tanh to ``[low, high]`` (the
    VampPrior code's ``Hardtanh(-6, 2)``: posterior standard deviations between ``e^-3`` and ``e``)."""

    def __init__(self, latent_dim: int, feature_shape: Sequence[int], bounds: tuple[float, float]):
        super().__init__("variational", latent_dim, feature_shape)
        self.bounds = tuple(bounds)

    def forward(self, h: Tensor) -> EncoderOutput:
        out = super().forward(h)
        return EncoderOutput(embedding=out.embedding, log_covariance=F.hardtanh(out.log_covariance, *self.bounds))

    def extra_repr(self) -> str:
        return f"log_var_bounds={self.bounds}"


class GatedMLPEncoder(LayeredEncoder):
    """Flatten -> ``hidden_dims`` gated dense layers -> a latent head of ``kind``.

    ``kind="vq"`` gives a flat deterministic code (as the ``"mlp"`` network does), which a VQ-VAE reads as
    consecutive embedding vectors. ``features(x)`` gives every gated layer's output.

    Parameters
    ----------
    input_dim : tuple of int
    latent_dim : int
    kind : {"deterministic", "variational", "hyperspherical", "vq"}
    hidden_dims : sequence of int, default (300, 300)
    log_var_bounds : (float, float) or None, default (-6.0, 2.0)
        Hard-tanh range of a variational head's log-variance; None leaves it unclipped.
    """

    def __init__(self, input_dim: Sequence[int], latent_dim: int, kind: str,
                 hidden_dims: Sequence[int] = (300, 300), log_var_bounds: tuple[float, float] | None = (-6.0, 2.0)):
        first, *rest = gated_layers(math.prod(input_dim), hidden_dims)
        super().__init__(input_dim, latent_dim, "deterministic" if kind == "vq" else kind,
                         [nn.Sequential(nn.Flatten(), first), *rest])
        if self.kind == "variational" and log_var_bounds is not None:
            self.head = BoundedLogVarHead(latent_dim, self.feature_shape, log_var_bounds)


class GatedMLPDecoder(BaseDecoder):
    """``latent_dim`` -> ``hidden_dims`` gated dense layers -> linear output reshaped to ``input_dim``
    (logits; the model applies the output activation, the paper's sigmoid for a Bernoulli decoder)."""

    def __init__(self, input_dim: Sequence[int], latent_dim: int, hidden_dims: Sequence[int] = (300, 300)):
        super().__init__()
        self.input_dim = tuple(input_dim)
        self.latent_dim = latent_dim
        self.body = nn.Sequential(*gated_layers(latent_dim, hidden_dims, "decoder_hidden_dims"))
        self.out = nn.Linear(hidden_dims[-1], math.prod(self.input_dim))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent sample this decoder takes: ``(latent_dim,)``."""
        return (self.latent_dim,)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(self.body(z)).view(z.shape[0], *self.input_dim)


def gated_discriminator(input_dim: Sequence[int], hidden_dims: Sequence[int] = (300, 300)) -> LayeredDiscriminator:
    """A discriminator of the same gated body, returning a logit ``(B, 1)``."""
    first, *rest = gated_layers(math.prod(input_dim), hidden_dims)
    return LayeredDiscriminator(input_dim, [nn.Sequential(nn.Flatten(), first), *rest])
