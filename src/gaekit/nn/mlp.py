"""Default fully connected encoder and decoder, sized from any ``input_dim``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from gaekit.config import check_count
from gaekit.errors import ConfigError
from gaekit.nn.activations import activation_layer
from gaekit.nn.base import BaseDecoder, BaseEncoder, EncoderOutput


def check_widths(hidden_dims: Any, where: str = "hidden_dims") -> tuple[int, ...]:
    """``hidden_dims`` as a tuple if it is a sequence of positive ints, else raise ``ConfigError``."""
    if isinstance(hidden_dims, (str, bytes)) or not isinstance(hidden_dims, Sequence):
        raise ConfigError(f"{where}={hidden_dims!r} is invalid: expected a sequence of positive ints")
    return tuple(check_count(width, f"{where}[{i}]") for i, width in enumerate(hidden_dims))


def _mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation_layer(activation)]
    return nn.Sequential(*layers)


class MLPEncoder(BaseEncoder):
    """Flatten -> ``hidden_dims`` layers (ReLU, or ``activation``) -> linear head.

    With ``variational=True`` one fused head of width ``2 * latent_dim`` gives the
    posterior mean and log-variance (one matmul instead of two).

    Parameters
    ----------
    input_dim : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)`` or ``(64,)``.
    latent_dim : int
    hidden_dims : sequence of int, default (512,)
    variational : bool, default True
    activation : {"relu", "softplus", "tanh"}, default "relu"
        The hidden layers' activation (``gaekit.nn.activations.ACTIVATIONS``).
    """

    def __init__(self, input_dim, latent_dim: int, hidden_dims: Sequence[int] = (512,), variational=True,
                 activation: str = "relu"):
        super().__init__()
        self.input_dim = tuple(input_dim)
        self.latent_dim = latent_dim
        self.variational = variational
        sizes = [math.prod(self.input_dim), *check_widths(hidden_dims)]
        self.body = _mlp(sizes, activation)
        self.head = nn.Linear(sizes[-1], latent_dim * (2 if variational else 1))

    def forward(self, x: Tensor) -> EncoderOutput:
        out = self.head(self.body(x.flatten(1)))
        if self.variational:
            mean, log_var = out.chunk(2, dim=-1)
            return EncoderOutput(embedding=mean, log_covariance=log_var)
        return EncoderOutput(embedding=out)


class MLPDecoder(BaseDecoder):
    """``latent_dim`` -> ``hidden_dims`` layers (ReLU, or ``activation``: one of
    ``gaekit.nn.activations.ACTIVATIONS``) -> linear output reshaped to ``input_dim`` (logits)."""

    def __init__(self, input_dim, latent_dim: int, hidden_dims: Sequence[int] = (512,), activation: str = "relu"):
        super().__init__()
        self.input_dim = tuple(input_dim)
        self.latent_dim = latent_dim
        sizes = [latent_dim, *check_widths(hidden_dims)]
        self.body = _mlp(sizes, activation)
        self.out = nn.Linear(sizes[-1], math.prod(self.input_dim))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent sample this decoder takes: ``(latent_dim,)``."""
        return (self.latent_dim,)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(self.body(z)).view(z.shape[0], *self.input_dim)
