"""``pythae.models.nn.default_architectures``: Pythae's default MLPs as builders of gaekit's ``"mlp"`` networks.

``Encoder_AE_MLP(config)``, ``Encoder_VAE_MLP``, ``Encoder_SVAE_MLP`` and ``Decoder_AE_MLP`` build gaekit's MLP of
one hidden layer of 512 ReLU units (Pythae's default, and gaekit's); ``Discriminator_MLP`` one of 256 units on
``discriminator_input_dim`` (else ``latent_dim``, the AAE's input); ``Metric_MLP`` RHVAE's default metric network
(``metric_hidden_dim`` units, 400 as Pythae's). The model built with one counts it as a custom
network (pass it again to load the model); leaving ``encoder=``/``decoder=`` out builds the same default network.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gaekit.errors import ConfigError
from gaekit.nn import create_network

__all__ = ["Decoder_AE_MLP", "Discriminator_MLP", "Encoder_AE_MLP", "Encoder_SVAE_MLP", "Encoder_VAE_MLP", "Metric_MLP"]


def _input_dim(args: Any, name: str) -> tuple[int, ...]:
    input_dim = getattr(args, "input_dim", None)
    if input_dim is None:
        raise ConfigError(f"{name}(model_config): the config needs its input_dim")
    return tuple(input_dim)


class _MLP:
    role: str = "encoder"
    kind: str = "deterministic"

    def __new__(cls, args: Any) -> nn.Module:
        return create_network("mlp", _input_dim(args, cls.__name__), cls.role, args.latent_dim, kind=cls.kind,
                              hidden_dims=(512,))


class Encoder_AE_MLP(_MLP):
    """Pythae's deterministic MLP encoder."""


class Encoder_VAE_MLP(_MLP):
    """Pythae's variational MLP encoder (``embedding``, ``log_covariance``)."""

    kind = "variational"


class Encoder_SVAE_MLP(_MLP):
    """Pythae's hyperspherical MLP encoder (``embedding``, ``log_concentration``)."""

    kind = "hyperspherical"


class Decoder_AE_MLP(_MLP):
    """Pythae's MLP decoder (gaekit's model applies the sigmoid Pythae's decoder ends with)."""

    role = "decoder"


class Discriminator_MLP:
    """Pythae's MLP discriminator: 256 ReLU units on ``discriminator_input_dim`` (else ``latent_dim``)."""

    def __new__(cls, args: Any) -> nn.Module:
        dim = getattr(args, "discriminator_input_dim", None) or (args.latent_dim,)
        return create_network("mlp", tuple(dim) if isinstance(dim, (list, tuple)) else (dim,), "discriminator",
                              hidden_dims=(256,))


class Metric_MLP:
    """Pythae's RHVAE metric network: gaekit's RHVAE default metric network (``metric_hidden_dim`` units, 400 as
    Pythae's, giving the lower-triangular ``L``)."""

    def __new__(cls, args: Any) -> nn.Module:
        from gaekit.models.rhvae import MetricNetwork

        return MetricNetwork(_input_dim(args, cls.__name__), args.latent_dim, getattr(args, "metric_hidden_dim", 400))
