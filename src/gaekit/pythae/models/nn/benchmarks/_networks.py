"""Pythae's benchmark network classes as builders of gaekit's paper networks."""

from __future__ import annotations

from typing import Any

from torch import nn

from gaekit.errors import ConfigError
from gaekit.nn import create_network

# Pythae's model family in a network name -> gaekit's encoder kind
_KINDS = {"AE": "deterministic", "VAE": "variational", "SVAE": "hyperspherical", "VQVAE": "vq"}
_FAMILIES = {"Conv": "convnet", "ResNet": "resnet"}


class _BenchmarkNetwork:
    """Calling the class with a model config (Pythae's ``args``) builds the gaekit network."""

    family: str = "convnet"
    role: str = "encoder"
    kind: str | None = None

    def __new__(cls, args: Any) -> nn.Module:
        input_dim = getattr(args, "input_dim", None)
        if input_dim is None:
            raise ConfigError(f"{cls.__name__}(model_config): the config needs its input_dim")
        if cls.role == "discriminator":
            return create_network(cls.family, tuple(input_dim), "discriminator")
        return create_network(cls.family, tuple(input_dim), cls.role, args.latent_dim,
                              kind=cls.kind or "deterministic")


def benchmark_classes(dataset: str) -> dict[str, type]:
    """Every Pythae benchmark network class of ``dataset`` (``"MNIST"``, ``"CIFAR"``, ``"CELEBA"``)."""
    out: dict[str, type] = {}
    for pythae_family, family in _FAMILIES.items():
        for model, kind in _KINDS.items():
            if model == "VQVAE" and family == "convnet":
                continue
            name = f"Encoder_{pythae_family}_{model}_{dataset}"
            out[name] = type(name, (_BenchmarkNetwork,), {"family": family, "role": "encoder", "kind": kind})
        for model in ("AE", "VQVAE") if family == "resnet" else ("AE",):
            name = f"Decoder_{pythae_family}_{model}_{dataset}"
            out[name] = type(name, (_BenchmarkNetwork,), {"family": family, "role": "decoder",
                                                          "kind": "vq" if model == "VQVAE" else None})
    name = f"Discriminator_Conv_{dataset}"
    out[name] = type(name, (_BenchmarkNetwork,), {"family": "convnet", "role": "discriminator"})
    return out
